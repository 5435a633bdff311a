#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/err.h"

static int host_open(struct kvm_backend *b, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int host_close(struct kvm_backend *b, int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static int host_ioctl(struct kvm_backend *b, int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static void *host_mmap_run(struct kvm_backend *b, int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int host_munmap_run(struct kvm_backend *b, void *p, size_t len)
{
	return munmap(p, len) < 0 ? -errno : 0;
}

struct kvm_backend kvm_backend_host = {
	.name = "host",
	.open = host_open,
	.close = host_close,
	.ioctl = host_ioctl,
	.mmap_run = host_mmap_run,
	.munmap_run = host_munmap_run,
};

int kvm_check_extension(const struct kvm *kvm, int fd, long cap)
{
	int r = kvm_ioctl_val(kvm, fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif
#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#endif

static void probe_caps(struct kvm *kvm)
{
	struct kvm_caps *c = &kvm->caps;
	int fd = kvm->fd;
	int r;

	c->nr_memslots = kvm_check_extension(kvm, fd, KVM_CAP_NR_MEMSLOTS);
	c->max_vcpus = kvm_check_extension(kvm, fd, KVM_CAP_MAX_VCPUS);
	if (!c->max_vcpus)
		c->max_vcpus = kvm_check_extension(kvm, fd, KVM_CAP_NR_VCPUS);
	r = kvm_check_extension(kvm, fd, KVM_CAP_MULTI_ADDRESS_SPACE);
	c->nr_as = r > 0 ? r : 1;
	c->irqchip = kvm_check_extension(kvm, fd, KVM_CAP_IRQCHIP);
	c->pit2 = kvm_check_extension(kvm, fd, KVM_CAP_PIT2);
	c->irq_routing = kvm_check_extension(kvm, fd, KVM_CAP_IRQ_ROUTING);
	c->irqfd = kvm_check_extension(kvm, fd, KVM_CAP_IRQFD);
	c->ioeventfd = kvm_check_extension(kvm, fd, KVM_CAP_IOEVENTFD);
	c->signal_msi = kvm_check_extension(kvm, fd, KVM_CAP_SIGNAL_MSI);
	c->split_irqchip = kvm_check_extension(kvm, fd, KVM_CAP_SPLIT_IRQCHIP);
	c->immediate_exit = kvm_check_extension(kvm, fd, KVM_CAP_IMMEDIATE_EXIT);
	c->readonly_mem = kvm_check_extension(kvm, fd, KVM_CAP_READONLY_MEM);
	c->smm = kvm_check_extension(kvm, fd, KVM_CAP_X86_SMM);
	c->guest_debug = kvm_check_extension(kvm, fd, KVM_CAP_SET_GUEST_DEBUG);
#ifdef KVM_CAP_SET_GUEST_DEBUG2
	c->guest_debug2 = (unsigned)kvm_check_extension(kvm, fd, KVM_CAP_SET_GUEST_DEBUG2);
#endif
	c->vcpu_events = kvm_check_extension(kvm, fd, KVM_CAP_VCPU_EVENTS);
	c->debugregs = kvm_check_extension(kvm, fd, KVM_CAP_DEBUGREGS);
	c->xsave = kvm_check_extension(kvm, fd, KVM_CAP_XSAVE);
	c->xcrs = kvm_check_extension(kvm, fd, KVM_CAP_XCRS);
	c->tsc_control = kvm_check_extension(kvm, fd, KVM_CAP_TSC_CONTROL);
	c->user_memory2 = kvm_check_extension(kvm, fd, KVM_CAP_USER_MEMORY2);
	c->guest_memfd = kvm_check_extension(kvm, fd, KVM_CAP_GUEST_MEMFD);
	c->memory_attributes = kvm_check_extension(kvm, fd, KVM_CAP_MEMORY_ATTRIBUTES);
	r = kvm_check_extension(kvm, fd, KVM_CAP_VM_TYPES);
	c->vm_types = r > 0 ? (uint64_t)r : 0;
	c->exit_hypercall = kvm_check_extension(kvm, fd, KVM_CAP_EXIT_HYPERCALL);
	c->apic_bus_cycles_ns = kvm_check_extension(kvm, fd, KVM_CAP_X86_APIC_BUS_CYCLES_NS);
	c->x2apic_api = kvm_check_extension(kvm, fd, KVM_CAP_X2APIC_API);
	c->coalesced_pio = kvm_check_extension(kvm, fd, KVM_CAP_COALESCED_PIO);
	c->system_event_data = kvm_check_extension(kvm, fd, KVM_CAP_SYSTEM_EVENT_DATA);
}

static int get_supported_cpuid(struct kvm *kvm)
{
	unsigned nent = 64;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		int r;

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		r = kvm_ioctl(kvm, kvm->fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == -E2BIG && nent < 4096) {
			free(c);
			nent *= 2;
			continue;
		}
		if (r < 0) {
			free(c);
			return r;
		}
		kvm->supported_cpuid = c;
		return 0;
	}
}

int kvm_open(struct kvm *kvm, struct kvm_backend *be, const char *path)
{
	int r;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = -1;
	kvm->be = be ? be : &kvm_backend_host;
	if (!path)
		path = "/dev/kvm";
	r = kvm->be->open(kvm->be, path);
	if (r < 0) {
		if (r == -ENOENT)
			return err_set(r, "%s does not exist: this host has no KVM (load kvm_intel "
					  "or kvm_amd, or run inside tests/sandbox/run)", path);
		if (r == -EACCES)
			return err_set(r, "%s: permission denied (add yourself to group 'kvm')",
				       path);
		return err_set(r, "cannot open %s: %s", path, strerror(-r));
	}
	kvm->fd = r;
	r = kvm_ioctl(kvm, kvm->fd, KVM_GET_API_VERSION, NULL);
	if (r != KVM_API_VERSION) {
		err_set(-ENOTSUP, "%s: KVM API version %d, expected %d", path, r, KVM_API_VERSION);
		goto fail;
	}
	kvm->api_version = r;
	r = kvm_ioctl(kvm, kvm->fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < (int)sizeof(struct kvm_run)) {
		err_set(r < 0 ? r : -ENOTSUP, "%s: KVM_GET_VCPU_MMAP_SIZE returned %d", path, r);
		goto fail;
	}
	kvm->vcpu_mmap_size = r;
	probe_caps(kvm);
	r = get_supported_cpuid(kvm);
	if (r < 0) {
		err_set(r, "%s: KVM_GET_SUPPORTED_CPUID failed: %s", path, strerror(-r));
		goto fail;
	}
	return 0;
fail:
	kvm_close(kvm);
	return -ENOTSUP;
}

void kvm_close(struct kvm *kvm)
{
	if (!kvm)
		return;
	free(kvm->supported_cpuid);
	kvm->supported_cpuid = NULL;
	if (kvm->fd >= 0)
		kvm->be->close(kvm->be, kvm->fd);
	kvm->fd = -1;
}

int kvm_require_basic(const struct kvm *kvm, bool need_irqchip)
{
	static const struct {
		long cap;
		const char *name;
		const char *why;
	} req[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "real-mode guests" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "guest CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs" },
		{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS", "memory slots" },
		{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "SMP bring-up" },
	};
	static const struct {
		long cap;
		const char *name;
	} req_irqchip[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
		{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(req); i++)
		if (!kvm_check_extension(kvm, kvm->fd, req[i].cap))
			return err_set(-ENOTSUP, "host KVM lacks %s (needed for %s)", req[i].name,
				       req[i].why);
	if (need_irqchip)
		for (i = 0; i < ARRAY_SIZE(req_irqchip); i++)
			if (!kvm_check_extension(kvm, kvm->fd, req_irqchip[i].cap))
				return err_set(-ENOTSUP,
					       "host KVM lacks %s (needed for the in-kernel "
					       "irqchip; try -machine kernel-irqchip=off)",
					       req_irqchip[i].name);
	return 0;
}

const struct kvm_cpuid_entry2 *kvm_find_cpuid(const struct kvm_cpuid2 *c, uint32_t fn,
					      uint32_t idx)
{
	uint32_t i;

	if (!c)
		return NULL;
	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != fn)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != idx)
			continue;
		return e;
	}
	return NULL;
}

const char *kvm_exit_reason_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};

	if (reason == 39)
		return "MEMORY_FAULT";
	if (reason == 40)
		return "TDX";
	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "?";
}
