#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/err.h"
#include "vmm/log.h"

#define SIG_KICK SIGUSR1

static __thread struct vcpu *current_vcpu;

struct vcpu *vcpu_current(void)
{
	return current_vcpu;
}

int vcpu_create(struct vm *vm, int id, struct vcpu **out)
{
	struct kvm *kvm = vm->kvm;
	struct vcpu *v;
	int r, i;

	if (vm->nr_vcpus == VM_MAX_VCPUS)
		return err_set(-ENOSPC, "too many vCPUs (max %d)", VM_MAX_VCPUS);
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	v->fd = -1;
	v->ioctx.cpu = id;
	r = vm_ioctl(vm, KVM_CREATE_VCPU, (void *)(uintptr_t)id);
	if (r < 0) {
		err_set(r, "KVM_CREATE_VCPU(%d) failed: %s", id, strerror(-r));
		goto fail;
	}
	v->fd = r;
	v->run_size = (size_t)kvm->vcpu_mmap_size;
	v->run = kvm->be->mmap_run(kvm->be, v->fd, v->run_size);
	if (!v->run) {
		r = -errno ? -errno : -ENOMEM;
		err_set(r, "cannot map kvm_run of vCPU %d: %s", id, strerror(-r));
		goto fail;
	}
	vm->vcpus[vm->nr_vcpus++] = v;
	for (i = 0; i < vm->nr_hooks; i++) {
		const struct vcpu_hooks *h = vm->hooks[i].ops;

		if (h->vcpu_init) {
			r = h->vcpu_init(vm->hooks[i].opaque, v);
			if (r < 0) {
				vm->nr_vcpus--;
				err_prefix(r, "vCPU %d: %s", id, h->name);
				goto fail;
			}
		}
	}
	*out = v;
	return 0;
fail:
	if (v->run)
		kvm->be->munmap_run(kvm->be, v->run, v->run_size);
	if (v->fd >= 0)
		kvm->be->close(kvm->be, v->fd);
	free(v);
	return r;
}

void vcpu_destroy(struct vcpu *v)
{
	struct kvm *kvm;

	if (!v)
		return;
	free(v->reset_state);
	kvm = v->vm->kvm;
	if (v->thread_started) {
		atomic_store(&v->stop, true);
		vcpu_kick(v);
		vcpu_join(v);
	}
	if (v->run)
		kvm->be->munmap_run(kvm->be, v->run, v->run_size);
	if (v->fd >= 0)
		kvm->be->close(kvm->be, v->fd);
	free(v);
}

int vcpu_run_once(struct vcpu *v)
{
	return vcpu_ioctl(v, KVM_RUN, NULL);
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_KICK, &sa, NULL) < 0)
		return -errno;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	struct vm *vm = v->vm;
	int i;

	if (v->run)
		v->run->immediate_exit = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < vm->nr_hooks; i++)
		if (vm->hooks[i].ops->kick)
			vm->hooks[i].ops->kick(vm->hooks[i].opaque, v);
	if (v->thread_started && !pthread_equal(pthread_self(), v->thread))
		pthread_kill(v->thread, SIG_KICK);
}

static void call_pre_run(struct vcpu *v, int *stop)
{
	struct vm *vm = v->vm;
	int i;

	for (i = 0; i < vm->nr_hooks; i++) {
		const struct vcpu_hooks *h = vm->hooks[i].ops;

		if (h->pre_run && h->pre_run(vm->hooks[i].opaque, v) < 0) {
			*stop = 1;
			return;
		}
	}
}

static void call_post_run(struct vcpu *v)
{
	struct vm *vm = v->vm;
	int i;

	for (i = 0; i < vm->nr_hooks; i++)
		if (vm->hooks[i].ops->post_run)
			vm->hooks[i].ops->post_run(vm->hooks[i].opaque, v);
}

static void wait_halt(struct vcpu *v)
{
	struct vm *vm = v->vm;
	int i;

	for (i = 0; i < vm->nr_hooks; i++) {
		if (vm->hooks[i].ops->wait_halt) {
			vm->hooks[i].ops->wait_halt(vm->hooks[i].opaque, v);
			return;
		}
	}
	/* No irqchip in userspace: nothing can wake a halted vCPU but a stop. */
	while (!atomic_load(&v->stop))
		pause();
}

static void report(struct vcpu *v, enum vm_stop_reason why, int code)
{
	struct vm *vm = v->vm;

	if (vm_stop_reason(vm) == VM_RUNNING && (why == VM_STOP_SHUTDOWN || why == VM_STOP_ERROR)) {
		log_error("cpu%d: %s", v->id, v->exit_msg[0] ? v->exit_msg : "error");
		vcpu_dump(v, stderr);
	}
	vm_request_stop(vm, why, code, "cpu%d: %s", v->id, v->exit_msg);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t set;
	char name[16];

	current_vcpu = v;
	snprintf(name, sizeof(name), "vcpu%d", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!atomic_load(&v->stop)) {
		enum vcpu_action act;
		int stop = 0, r;

		v->run->immediate_exit = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (atomic_load(&v->stop))
			break;
		call_pre_run(v, &stop);
		if (stop || atomic_load(&v->stop))
			break;
		r = vcpu_run_once(v);
		call_post_run(v);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r == -EFAULT && v->run->exit_reason == 39 /* KVM_EXIT_MEMORY_FAULT */)
			r = 0;
		if (r < 0) {
			snprintf(v->exit_msg, sizeof(v->exit_msg), "KVM_RUN failed: %s", strerror(-r));
			report(v, VM_STOP_ERROR, 2);
			break;
		}
		act = vcpu_handle_exit(v, v->run);
		/*
		 * A device stopped the machine (debug-exit, power-off, reset): this
		 * vCPU must not run another instruction, as with QEMU's exit().
		 */
		if (act == VCPU_CONTINUE && vm_stopping(v->vm))
			break;
		switch (act) {
		case VCPU_CONTINUE:
			break;
		case VCPU_HALT:
			wait_halt(v);
			break;
		case VCPU_STOP:
			atomic_store(&v->stop, true);
			break;
		case VCPU_SHUTDOWN:
			report(v, VM_STOP_SHUTDOWN, 2);
			atomic_store(&v->stop, true);
			break;
		case VCPU_RESET:
			vm_request_stop(v->vm, VM_STOP_RESET, 0, "cpu%d: guest requested reset", v->id);
			atomic_store(&v->stop, true);
			break;
		case VCPU_POWEROFF:
			vm_request_stop(v->vm, VM_STOP_POWEROFF, 0, "cpu%d: guest powered off", v->id);
			atomic_store(&v->stop, true);
			break;
		case VCPU_ERROR:
			report(v, VM_STOP_ERROR, 2);
			atomic_store(&v->stop, true);
			break;
		}
	}
	current_vcpu = NULL;
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int r;

	atomic_store(&v->stop, false);
	r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (r)
		return err_set(-r, "cannot start vCPU %d thread: %s", v->id, strerror(r));
	v->thread_started = true;
	return 0;
}

void vcpu_join(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	if (!pthread_equal(pthread_self(), v->thread))
		pthread_join(v->thread, NULL);
	v->thread_started = false;
}

int vcpu_translate(struct vcpu *v, uint64_t lin, uint64_t *gpa)
{
	struct kvm_translation t = { .linear_address = lin };
	int r = vcpu_ioctl(v, KVM_TRANSLATE, &t);

	if (r < 0)
		return r;
	if (!t.valid)
		return -EFAULT;
	*gpa = t.physical_address;
	return 0;
}

static void dump_seg(FILE *f, const char *n, const struct kvm_segment *s)
{
	fprintf(f, "%-3s=%04x %016llx %08x type=%x s=%u dpl=%u p=%u db=%u l=%u g=%u%s\n", n,
		s->selector, (unsigned long long)s->base, s->limit, s->type, s->s, s->dpl,
		s->present, s->db, s->l, s->g, s->unusable ? " unusable" : "");
}

void vcpu_dump(struct vcpu *v, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	uint64_t lin, gpa;
	uint8_t code[16];
	int i;

	if (vcpu_ioctl(v, KVM_GET_REGS, &r) < 0 || vcpu_ioctl(v, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "cpu%d: registers unavailable\n", v->id);
		return;
	}
	fprintf(f, "cpu%d registers:\n", v->id);
	fprintf(f, "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", r.rax, r.rbx, r.rcx,
		r.rdx);
	fprintf(f, "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n", r.rsi, r.rdi, r.rbp,
		r.rsp);
	fprintf(f, "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n", r.r8, r.r9, r.r10,
		r.r11);
	fprintf(f, "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n", r.r12, r.r13, r.r14,
		r.r15);
	fprintf(f, "RIP=%016llx RFL=%08llx\n", r.rip, r.rflags);
	dump_seg(f, "CS", &s.cs);
	dump_seg(f, "DS", &s.ds);
	dump_seg(f, "ES", &s.es);
	dump_seg(f, "SS", &s.ss);
	dump_seg(f, "FS", &s.fs);
	dump_seg(f, "GS", &s.gs);
	dump_seg(f, "TR", &s.tr);
	dump_seg(f, "LDT", &s.ldt);
	fprintf(f, "GDT=%016llx %04x IDT=%016llx %04x\n", (unsigned long long)s.gdt.base,
		s.gdt.limit, (unsigned long long)s.idt.base, s.idt.limit);
	fprintf(f, "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx EFER=%08llx APIC=%llx\n",
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.apic_base);
	if (s.cs.selector == 0xf000 && r.rip == 0xfff0 && s.cs.base == 0xffff0000ULL)
		fprintf(f, "(this is the reset state: on AMD hosts KVM reinitialises the vCPU "
			   "after a shutdown, so the faulting state is lost)\n");
	lin = s.cs.base + r.rip;
	if (!(s.cr0 & 1))
		lin &= 0xffffffffULL;
	if (vcpu_translate(v, lin, &gpa) == 0 && vm_read(v->vm, gpa, code, sizeof(code)) == 0) {
		fprintf(f, "Code at %016llx (gpa %llx):", (unsigned long long)lin,
			(unsigned long long)gpa);
		for (i = 0; i < (int)sizeof(code); i++)
			fprintf(f, " %02x", code[i]);
		fputc('\n', f);
	} else {
		fprintf(f, "Code at %016llx: not readable\n", (unsigned long long)lin);
	}
}

/* KVM paravirt feature bits that need the in-kernel local APIC. */
#define KVM_PV_NEEDS_LAPIC ((1u << 6) | (1u << 7) | (1u << 11) | (1u << 13) | (1u << 14) | \
			    (1u << 15))

int vcpu_setup_cpuid(struct vcpu *v, int nr_cpus, bool userspace_lapic)
{
	const struct kvm_cpuid2 *sup = v->vm->kvm->supported_cpuid;
	struct kvm_cpuid2 *c;
	uint32_t i;
	int r;

	if (!sup)
		return -EINVAL;
	c = malloc(sizeof(*c) + sup->nent * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	memcpy(c, sup, sizeof(*c) + sup->nent * sizeof(c->entries[0]));
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)v->id << 24) |
				 ((uint32_t)(nr_cpus > 255 ? 255 : nr_cpus) << 16);
			if (nr_cpus > 1)
				e->edx |= 1u << 28;                /* HTT */
			e->ecx |= 1u << 31;                        /* hypervisor */
			if (userspace_lapic)
				e->ecx &= ~((1u << 21) | (1u << 24)); /* x2APIC, TSC-deadline */
			break;
		case 0xb:
		case 0x1f:
			e->edx = (uint32_t)v->id;
			break;
		case 0x40000001:
			if (userspace_lapic)
				e->eax &= ~KVM_PV_NEEDS_LAPIC;
			break;
		}
	}
	r = vcpu_ioctl(v, KVM_SET_CPUID2, c);
	free(c);
	if (r < 0)
		return err_set(r, "KVM_SET_CPUID2 on vCPU %d: %s", v->id, strerror(-r));
	return 0;
}

/* ---- power-on snapshot ---- */

/* MSRs whose power-on values matter after a reset (those KVM lists). */
static const uint32_t reset_msrs[] = {
	0x174, 0x175, 0x176,                    /* SYSENTER_CS/ESP/EIP */
	0x277,                                  /* PAT */
	0x2ff, 0x250, 0x258, 0x259,             /* MTRR def type, fixed */
	0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, /* variable MTRRs */
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
	0x1a0,                                  /* MISC_ENABLE */
	0x3a,                                   /* FEATURE_CONTROL */
	0x9e,                                   /* SMBASE (host-writable only) */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR LSTAR CSTAR SFMASK */
	0xc0000102, 0xc0000103,                 /* KERNEL_GS_BASE, TSC_AUX */
	0x11, 0x12,                             /* old kvmclock */
	0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04, 0x4b564d05,
};

#define SNAP_MAX_MSRS (sizeof(reset_msrs) / sizeof(reset_msrs[0]))

struct vcpu_snapshot {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	bool has_xcrs, has_events, has_dregs, has_lapic;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[SNAP_MAX_MSRS];
	} msrs;
};

static bool msr_listed(const struct kvm_msr_list *l, uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < l->nmsrs; i++)
		if (l->indices[i] == idx)
			return true;
	return false;
}

int vcpu_snapshot_save(struct vcpu *v)
{
	struct kvm_msr_list *list;
	struct vcpu_snapshot *s;
	struct kvm *kvm = v->vm->kvm;
	size_t i;
	int r;

	s = calloc(1, sizeof(*s));
	list = calloc(1, sizeof(*list) + 1024 * sizeof(uint32_t));
	if (!s || !list) {
		free(s);
		free(list);
		return -ENOMEM;
	}
	list->nmsrs = 1024;
	r = kvm_ioctl(kvm, kvm->fd, KVM_GET_MSR_INDEX_LIST, list);
	if (r < 0)
		list->nmsrs = 0;
	if ((r = vcpu_ioctl(v, KVM_GET_REGS, &s->regs)) < 0 ||
	    (r = vcpu_ioctl(v, KVM_GET_SREGS, &s->sregs)) < 0 ||
	    (r = vcpu_ioctl(v, KVM_GET_FPU, &s->fpu)) < 0 ||
	    (r = vcpu_ioctl(v, KVM_GET_MP_STATE, &s->mp)) < 0)
		goto fail;
	s->has_xcrs = kvm->caps.xcrs && vcpu_ioctl(v, KVM_GET_XCRS, &s->xcrs) == 0;
	s->has_events = kvm->caps.vcpu_events && vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &s->events) == 0;
	s->has_dregs = kvm->caps.debugregs && vcpu_ioctl(v, KVM_GET_DEBUGREGS, &s->dregs) == 0;
	s->has_lapic = vcpu_ioctl(v, KVM_GET_LAPIC, &s->lapic) == 0;
	for (i = 0; i < SNAP_MAX_MSRS; i++) {
		if (!msr_listed(list, reset_msrs[i]))
			continue;
		s->msrs.e[s->msrs.hdr.nmsrs].index = reset_msrs[i];
		s->msrs.hdr.nmsrs++;
	}
	if (s->msrs.hdr.nmsrs) {
		r = vcpu_ioctl(v, KVM_GET_MSRS, &s->msrs);
		if (r < 0)
			goto fail;
		s->msrs.hdr.nmsrs = (uint32_t)r;   /* only those actually read */
	}
	free(list);
	free(v->reset_state);
	v->reset_state = s;
	return 0;
fail:
	free(list);
	free(s);
	return err_set(r, "vCPU %d: cannot read its power-on state: %s", v->id, strerror(-r));
}

int vcpu_snapshot_restore(struct vcpu *v)
{
	struct vcpu_snapshot *s = v->reset_state;
	struct kvm_vcpu_events ev;
	int r;

	if (!s)
		return -EINVAL;
	if ((r = vcpu_ioctl(v, KVM_SET_SREGS, &s->sregs)) < 0 ||
	    (r = vcpu_ioctl(v, KVM_SET_REGS, &s->regs)) < 0 ||
	    (r = vcpu_ioctl(v, KVM_SET_FPU, &s->fpu)) < 0)
		goto fail;
	if (s->has_xcrs && (r = vcpu_ioctl(v, KVM_SET_XCRS, &s->xcrs)) < 0)
		goto fail;
	if (s->msrs.hdr.nmsrs) {
		r = vcpu_ioctl(v, KVM_SET_MSRS, &s->msrs);
		if (r >= 0 && (uint32_t)r != s->msrs.hdr.nmsrs)
			r = -EINVAL;
		if (r < 0)
			goto fail;
	}
	if (s->has_lapic && (r = vcpu_ioctl(v, KVM_SET_LAPIC, &s->lapic)) < 0)
		goto fail;
	if (s->has_dregs && (r = vcpu_ioctl(v, KVM_SET_DEBUGREGS, &s->dregs)) < 0)
		goto fail;
	if (s->has_events) {
		/* Leave SMM state alone here: the SMM module resets it deliberately. */
		ev = s->events;
		ev.flags &= ~(uint32_t)KVM_VCPUEVENT_VALID_SMM;
		if ((r = vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev)) < 0)
			goto fail;
	}
	if ((r = vcpu_ioctl(v, KVM_SET_MP_STATE, &s->mp)) < 0)
		goto fail;
	return 0;
fail:
	return err_set(r, "vCPU %d: cannot restore its power-on state: %s", v->id, strerror(-r));
}
