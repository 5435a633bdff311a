#include "vmm/vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/err.h"
#include "vmm/vcpu.h"

static void *dma_ptr_cb(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	return vm_dma_ptr(opaque, gpa, len);
}

int vm_create(struct kvm *kvm, unsigned long type, struct vm **out)
{
	struct vm *vm;
	int r;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->kvm = kvm;
	vm->type = type;
	vm->fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->bql, NULL);
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	vm->dma.ptr = dma_ptr_cb;
	vm->dma.opaque = vm;

	r = kvm_ioctl_val(kvm, kvm->fd, KVM_CREATE_VM, type);
	if (r < 0) {
		err_set(r, "KVM_CREATE_VM(type %lu) failed: %s", type, strerror(-r));
		goto fail;
	}
	vm->fd = r;
	r = kvm_check_extension(kvm, vm->fd, KVM_CAP_MULTI_ADDRESS_SPACE);
	vm->nr_as = r > 0 ? r : 1;
	*out = vm;
	return 0;
fail:
	vm_destroy(vm);
	return r;
}

void vm_destroy(struct vm *vm)
{
	int i;

	if (!vm)
		return;
	for (i = vm->nr_vcpus - 1; i >= 0; i--)
		vcpu_destroy(vm->vcpus[i]);
	vm->nr_vcpus = 0;
	for (i = 0; i < VM_MAX_SLOTS; i++)
		if (vm->slots[i].used)
			vm_unmap(vm, i);
	if (vm->fd >= 0)
		vm->kvm->be->close(vm->kvm->be, vm->fd);
	for (i = 0; i < vm->nr_ram; i++)
		munmap(vm->ram[i].hva, vm->ram[i].size);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	pthread_mutex_destroy(&vm->bql);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->stop_cond);
	free(vm);
}

int vm_alloc_ram(struct vm *vm, const char *name, uint64_t gpa, uint64_t size, bool dma_ok,
		 uint8_t **hva)
{
	struct vm_ram *r;
	void *p;

	if (vm->nr_ram == VM_MAX_RAM)
		return err_set(-ENOSPC, "too many RAM blocks");
	if (!size || !IS_ALIGNED(size, 4096) || !IS_ALIGNED(gpa, 4096))
		return err_set(-EINVAL, "RAM block %s: unaligned", name);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return err_set(-errno, "cannot allocate %llu MiB of guest memory: %s",
			       (unsigned long long)(size >> 20), strerror(errno));
	madvise(p, size, MADV_MERGEABLE);
	r = &vm->ram[vm->nr_ram++];
	r->gpa = gpa;
	r->size = size;
	r->hva = p;
	r->name = name;
	r->dma_ok = dma_ok;
	*hva = p;
	return 0;
}

int vm_map(struct vm *vm, int as, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	struct kvm_userspace_memory_region reg;
	int i, r, idx = -1, id;
	bool id_used[VM_MAX_SLOTS] = { 0 };

	if (as < 0 || as >= vm->nr_as)
		return err_set(-EINVAL, "memslot address space %d not available", as);
	for (i = 0; i < VM_MAX_SLOTS; i++) {
		if (!vm->slots[i].used) {
			if (idx < 0)
				idx = i;
			continue;
		}
		if ((int)(vm->slots[i].slot >> 16) == as)
			id_used[vm->slots[i].slot & 0xffff] = true;
	}
	if (idx < 0)
		return err_set(-ENOSPC, "out of memory slots");
	for (id = 0; id < VM_MAX_SLOTS && id_used[id]; id++)
		;
	if (id == VM_MAX_SLOTS || (vm->kvm->caps.nr_memslots && id >= vm->kvm->caps.nr_memslots))
		return err_set(-ENOSPC, "out of KVM memory slots");
	reg = (struct kvm_userspace_memory_region){
		.slot = ((uint32_t)as << 16) | (uint32_t)id,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	r = vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg);
	if (r < 0)
		return err_set(r, "KVM_SET_USER_MEMORY_REGION(as %d, gpa 0x%llx, size 0x%llx): %s",
			       as, (unsigned long long)gpa, (unsigned long long)size, strerror(-r));
	vm->slots[idx] = (struct vm_slot){ .used = true, .slot = reg.slot, .gpa = gpa,
					   .size = size, .hva = hva, .flags = flags };
	return idx;
}

int vm_unmap(struct vm *vm, int idx)
{
	struct kvm_userspace_memory_region reg;
	int r;

	if (idx < 0 || idx >= VM_MAX_SLOTS || !vm->slots[idx].used)
		return -ENOENT;
	reg = (struct kvm_userspace_memory_region){ .slot = vm->slots[idx].slot };
	r = vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg);
	vm->slots[idx].used = false;
	return r;
}

int vm_map_all(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags,
	       struct vm_mapping *m)
{
	int r;

	m->idx[0] = m->idx[1] = -1;
	r = vm_map(vm, 0, gpa, size, hva, flags);
	if (r < 0)
		return r;
	m->idx[0] = r;
	if (vm->mirror_as1) {
		r = vm_map(vm, 1, gpa, size, hva, flags);
		if (r < 0) {
			vm_unmap(vm, m->idx[0]);
			m->idx[0] = -1;
			return r;
		}
		m->idx[1] = r;
	}
	return 0;
}

void vm_unmap_all(struct vm *vm, struct vm_mapping *m)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (m->idx[i] >= 0)
			vm_unmap(vm, m->idx[i]);
		m->idx[i] = -1;
	}
}

void vm_unmap_range(struct vm *vm, int as, uint64_t gpa, uint64_t size)
{
	int i;

	for (i = 0; i < VM_MAX_SLOTS; i++) {
		struct vm_slot *s = &vm->slots[i];

		if (s->used && (int)(s->slot >> 16) == as &&
		    ranges_overlap(s->gpa, s->size, gpa, size))
			vm_unmap(vm, i);
	}
}

void *vm_gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
	int i;

	if (!len || gpa + len < gpa)
		return NULL;
	for (i = 0; i < vm->nr_ram; i++) {
		struct vm_ram *r = &vm->ram[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int vm_read(struct vm *vm, uint64_t gpa, void *buf, uint64_t len)
{
	void *p = vm_gpa_ptr(vm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int vm_write(struct vm *vm, uint64_t gpa, const void *buf, uint64_t len)
{
	void *p = vm_gpa_ptr(vm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

void *vm_dma_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
	int i;

	if (!len || gpa + len < gpa)
		return NULL;
	for (i = 0; i < VM_MAX_PROTECTED; i++) {
		struct vm_protected *p = &vm->protected_ranges[i];

		if (p->used && ranges_overlap(p->gpa, p->size, gpa, len))
			return NULL;
	}
	for (i = 0; i < vm->nr_ram; i++) {
		struct vm_ram *r = &vm->ram[i];

		if (!r->dma_ok)
			continue;
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

void vm_set_protected(struct vm *vm, int idx, uint64_t gpa, uint64_t size, bool on)
{
	if (idx < 0 || idx >= VM_MAX_PROTECTED)
		return;
	vm->protected_ranges[idx] = (struct vm_protected){ .used = on && size, .gpa = gpa,
							   .size = size };
}

int vm_add_hooks(struct vm *vm, const struct vcpu_hooks *ops, void *opaque)
{
	if (vm->nr_hooks == VM_MAX_HOOKS)
		return -ENOSPC;
	vm->hooks[vm->nr_hooks].ops = ops;
	vm->hooks[vm->nr_hooks].opaque = opaque;
	vm->nr_hooks++;
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int exit_code, const char *fmt,
		     ...)
{
	void (*cb)(void *) = NULL;
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == VM_RUNNING) {
		vm->stop_reason = why;
		atomic_store_explicit(&vm->stop_pending, 1, memory_order_release);
		vm->exit_code = exit_code;
		vm->stop_msg[0] = 0;
		if (fmt) {
			va_start(ap, fmt);
			vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
			va_end(ap);
		}
		cb = vm->on_stop;
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (cb)
		cb(vm->on_stop_opaque);
}

enum vm_stop_reason vm_stop_reason(struct vm *vm)
{
	enum vm_stop_reason r;

	pthread_mutex_lock(&vm->stop_lock);
	r = vm->stop_reason;
	pthread_mutex_unlock(&vm->stop_lock);
	return r;
}

void vm_clear_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	vm->stop_reason = VM_RUNNING;
	atomic_store(&vm->stop_pending, 0);
	vm->exit_code = 0;
	vm->stop_msg[0] = 0;
	pthread_mutex_unlock(&vm->stop_lock);
}
