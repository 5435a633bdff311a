/*
 * Unit tests for smm/smm.c, smm/smm_kvm.c and smm/smm_user.c, driven
 * through the struct kvm_backend seam by a small model of the KVM ioctls
 * SMM uses (registers, events, guest debug, memslots, KVM_RUN returning
 * scripted exits). The vCPU loop is stepped by hand, the way vcpu.c runs
 * it, so every hook call and ioctl is deterministic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smm/savestate.h"
#include "smm/savestate_kvm.h"
#include "smm/smm.h"
#include "smm/smm_kvm.h"
#include "smm/smm_user.h"
#include "tests/unit/support.h"
#include "vmm/err.h"
#include "vmm/kvm.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

/* ---- the fake KVM ---- */

#define FD_SYS   100
#define FD_VM    101
#define FD_VCPU0 200
#define NSLOT    64
#define NEXIT    16
#define RUN_SIZE 8192

enum fexit {
	FX_NONE = 0,
	FX_IO_OUT,        /* OUT to .port; completion advances RIP by 2 */
	FX_MMIO_WRITE,
	FX_DEBUG_BP,      /* #DB at the armed DR0 breakpoint */
	FX_DEBUG_AT,      /* #DB (single step) with pc = .pc */
	FX_HLT,
	FX_SMM_ON,        /* kernel backend: an exit with KVM_RUN_X86_SMM set */
	FX_SMM_OFF,
};

struct fexit_item {
	enum fexit kind;
	uint16_t port;
	uint8_t val;
	uint64_t pc;
};

struct fvcpu {
	bool used;
	struct kvm_run *run;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dbg;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_guest_debug gdbg;
	uint64_t smbase_msr;
	int smi_ioctls;
	bool io_pending;
	int io_completions;
	struct fexit_item q[NEXIT];
	int qhead, qtail;
};

struct fake {
	struct kvm_backend be;
	bool cap_smm;
	int nr_as;
	bool lm;
	struct kvm_userspace_memory_region slot[2][NSLOT];
	struct fvcpu vcpu[4];
	unsigned long ioctls;            /* vCPU ioctls other than KVM_RUN */
	unsigned long runs;
	int fail_req_count;              /* make this many calls of fail_req fail */
	unsigned long fail_req;
};

static struct fake F;

static struct fvcpu *fv_of(int fd)
{
	if (fd < FD_VCPU0 || fd >= FD_VCPU0 + 4 || !F.vcpu[fd - FD_VCPU0].used)
		return NULL;
	return &F.vcpu[fd - FD_VCPU0];
}

static int f_open(struct kvm_backend *b, const char *path)
{
	return FD_SYS;
}

static int f_close(struct kvm_backend *b, int fd)
{
	return 0;
}

static void *f_mmap_run(struct kvm_backend *b, int fd, size_t len)
{
	struct fvcpu *fv = fv_of(fd);

	if (!fv)
		return NULL;
	fv->run = calloc(1, len);
	return fv->run;
}

static int f_munmap_run(struct kvm_backend *b, void *p, size_t len)
{
	free(p);
	return 0;
}

static int f_check_ext(long cap)
{
	switch (cap) {
	case KVM_CAP_X86_SMM: return F.cap_smm;
	case KVM_CAP_MULTI_ADDRESS_SPACE: return F.nr_as;
	case KVM_CAP_IMMEDIATE_EXIT: case KVM_CAP_SET_GUEST_DEBUG: case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_DEBUGREGS: case KVM_CAP_USER_MEMORY:
		return 1;
	case KVM_CAP_NR_MEMSLOTS: return 509;
	case KVM_CAP_MAX_VCPUS: return 4;
	default: return 0;
	}
}

static int f_cpuid(struct kvm_cpuid2 *c)
{
	if (c->nent < 3)
		return -E2BIG;
	c->nent = 3;
	memset(c->entries, 0, 3 * sizeof(c->entries[0]));
	c->entries[0].function = 0x80000001;
	c->entries[0].edx = (F.lm ? 1u << 29 : 0) | (1u << 20);
	c->entries[1].function = 0x80000008;
	c->entries[1].eax = 40;
	c->entries[2].function = 1;
	return 0;
}

static bool overlaps_slot(int as, const struct kvm_userspace_memory_region *r, int id)
{
	int i;

	for (i = 0; i < NSLOT; i++)
		if (i != id && F.slot[as][i].memory_size &&
		    ranges_overlap(F.slot[as][i].guest_phys_addr, F.slot[as][i].memory_size,
				   r->guest_phys_addr, r->memory_size))
			return true;
	return false;
}

static int f_vm_ioctl(unsigned long req, void *arg)
{
	struct kvm_userspace_memory_region *r = arg;
	int as, id;

	switch (req) {
	case KVM_CHECK_EXTENSION:
		return f_check_ext((long)(uintptr_t)arg);
	case KVM_CREATE_VCPU:
		id = (int)(uintptr_t)arg;
		if (id < 0 || id >= 4)
			return -EINVAL;
		memset(&F.vcpu[id], 0, sizeof(F.vcpu[id]));
		F.vcpu[id].used = true;
		F.vcpu[id].smbase_msr = MM_SMBASE_DEFAULT;
		F.vcpu[id].mp.mp_state = KVM_MP_STATE_RUNNABLE;
		F.vcpu[id].dbg.dr7 = 0x400;
		F.vcpu[id].dbg.dr6 = 0xffff0ff0;
		return FD_VCPU0 + id;
	case KVM_SET_USER_MEMORY_REGION:
		as = (int)(r->slot >> 16);
		id = (int)(r->slot & 0xffff);
		if (as >= F.nr_as || id >= NSLOT)
			return -EINVAL;
		if (r->memory_size && overlaps_slot(as, r, id))
			return -EEXIST;
		F.slot[as][id] = *r;
		return 0;
	default:
		return -ENOTTY;
	}
}

static void deliver_exit(struct fvcpu *fv, const struct fexit_item *x)
{
	struct kvm_run *run = fv->run;

	run->flags = 0;
	switch (x->kind) {
	case FX_IO_OUT:
		run->exit_reason = KVM_EXIT_IO;
		run->io.direction = KVM_EXIT_IO_OUT;
		run->io.size = 1;
		run->io.port = x->port;
		run->io.count = 1;
		run->io.data_offset = 4096;
		((uint8_t *)run)[4096] = x->val;
		fv->io_pending = true;
		break;
	case FX_MMIO_WRITE:
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = x->pc;
		run->mmio.len = 4;
		run->mmio.is_write = 1;
		fv->io_pending = true;
		break;
	case FX_DEBUG_BP:
		run->exit_reason = KVM_EXIT_DEBUG;
		run->debug.arch.exception = 1;
		run->debug.arch.pc = fv->gdbg.arch.debugreg[0];
		run->debug.arch.dr6 = 0xffff0ff1;
		break;
	case FX_DEBUG_AT:
		run->exit_reason = KVM_EXIT_DEBUG;
		run->debug.arch.exception = 1;
		run->debug.arch.pc = x->pc;
		run->debug.arch.dr6 = 0xffff4ff0;
		break;
	case FX_HLT:
		run->exit_reason = KVM_EXIT_HLT;
		break;
	case FX_SMM_ON:
	case FX_SMM_OFF:
		run->exit_reason = KVM_EXIT_IO;
		run->io.direction = KVM_EXIT_IO_OUT;
		run->io.size = 1;
		run->io.port = 0x80;
		run->io.count = 1;
		run->io.data_offset = 4096;
		if (x->kind == FX_SMM_ON)
			run->flags = KVM_RUN_X86_SMM;
		fv->ev.smi.smm = x->kind == FX_SMM_ON;
		fv->ev.smi.pending = 0;
		break;
	default:
		break;
	}
}

static int f_run(struct fvcpu *fv)
{
	F.runs++;
	/* KVM finishes the pending I/O before looking at immediate_exit. */
	if (fv->io_pending) {
		fv->io_pending = false;
		fv->io_completions++;
		fv->regs.rip += 2;
	}
	if (fv->run->immediate_exit)
		return -EINTR;
	if (fv->qhead == fv->qtail) {
		fv->run->exit_reason = KVM_EXIT_INTR;
		return -EINTR;
	}
	deliver_exit(fv, &fv->q[fv->qhead++ % NEXIT]);
	return 0;
}

static int f_vcpu_ioctl(struct fvcpu *fv, unsigned long req, void *arg)
{
	if (req == KVM_RUN)
		return f_run(fv);
	F.ioctls++;
	if (F.fail_req == req && F.fail_req_count > 0) {
		F.fail_req_count--;
		return -EIO;
	}
	switch (req) {
	case KVM_GET_REGS: memcpy(arg, &fv->regs, sizeof(fv->regs)); return 0;
	case KVM_SET_REGS:
		memcpy(&fv->regs, arg, sizeof(fv->regs));
		fv->regs.rflags |= 2;
		return 0;
	case KVM_GET_SREGS: memcpy(arg, &fv->sregs, sizeof(fv->sregs)); return 0;
	case KVM_SET_SREGS: {
		const struct kvm_sregs *s = arg;

		/* kvm_is_valid_sregs() */
		if ((s->efer & SMM_EFER_LME) && (s->cr0 & SMM_CR0_PG)) {
			if (!(s->cr4 & SMM_CR4_PAE) || !(s->efer & SMM_EFER_LMA))
				return -EINVAL;
		} else if ((s->efer & SMM_EFER_LMA) || s->cs.l) {
			return -EINVAL;
		}
		memcpy(&fv->sregs, arg, sizeof(fv->sregs));
		return 0;
	}
	case KVM_GET_DEBUGREGS: memcpy(arg, &fv->dbg, sizeof(fv->dbg)); return 0;
	case KVM_SET_DEBUGREGS: {
		const struct kvm_debugregs *d = arg;

		if ((d->dr6 | d->dr7) >> 32 || d->flags)
			return -EINVAL;
		memcpy(&fv->dbg, arg, sizeof(fv->dbg));
		return 0;
	}
	case KVM_GET_VCPU_EVENTS:
		memcpy(arg, &fv->ev, sizeof(fv->ev));
		((struct kvm_vcpu_events *)arg)->flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
			KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
		return 0;
	case KVM_SET_VCPU_EVENTS: {
		const struct kvm_vcpu_events *e = arg;

		/* What KVM applies unconditionally, and what needs a flag. */
		fv->ev.exception = e->exception;
		fv->ev.interrupt.injected = e->interrupt.injected;
		fv->ev.interrupt.nr = e->interrupt.nr;
		fv->ev.interrupt.soft = e->interrupt.soft;
		fv->ev.nmi.injected = e->nmi.injected;
		fv->ev.nmi.masked = e->nmi.masked;
		if (e->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
			fv->ev.nmi.pending = e->nmi.pending;
		if (e->flags & KVM_VCPUEVENT_VALID_SHADOW)
			fv->ev.interrupt.shadow = e->interrupt.shadow;
		if (e->flags & KVM_VCPUEVENT_VALID_SMM) {
			if (!F.cap_smm && (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi))
				return -EINVAL;
			fv->ev.smi = e->smi;
		}
		return 0;
	}
	case KVM_GET_MP_STATE: memcpy(arg, &fv->mp, sizeof(fv->mp)); return 0;
	case KVM_SET_MP_STATE: memcpy(&fv->mp, arg, sizeof(fv->mp)); return 0;
	case KVM_SET_GUEST_DEBUG: memcpy(&fv->gdbg, arg, sizeof(fv->gdbg)); return 0;
	case KVM_SMI:
		if (!F.cap_smm)
			return -ENOTTY;
		fv->smi_ioctls++;
		fv->ev.smi.pending = 1;
		return 0;
	case KVM_GET_MSRS:
	case KVM_SET_MSRS: {
		struct kvm_msrs *m = arg;

		if (m->nmsrs != 1 || m->entries[0].index != SMM_MSR_IA32_SMBASE)
			return 0;
		if (req == KVM_SET_MSRS)
			fv->smbase_msr = m->entries[0].data;
		else
			m->entries[0].data = fv->smbase_msr;
		return 1;
	}
	default:
		return -ENOTTY;
	}
}

static int f_ioctl(struct kvm_backend *b, int fd, unsigned long req, void *arg)
{
	struct fvcpu *fv;

	if (fd == FD_SYS) {
		switch (req) {
		case KVM_GET_API_VERSION: return KVM_API_VERSION;
		case KVM_GET_VCPU_MMAP_SIZE: return RUN_SIZE;
		case KVM_CHECK_EXTENSION: return f_check_ext((long)(uintptr_t)arg);
		case KVM_GET_SUPPORTED_CPUID: return f_cpuid(arg);
		case KVM_CREATE_VM: return FD_VM;
		default: return -ENOTTY;
		}
	}
	if (fd == FD_VM)
		return f_vm_ioctl(req, arg);
	fv = fv_of(fd);
	return fv ? f_vcpu_ioctl(fv, req, arg) : -EBADF;
}

static void fake_reset(bool cap_smm, int nr_as)
{
	memset(&F, 0, sizeof(F));
	F.be = (struct kvm_backend){ .name = "fake", .open = f_open, .close = f_close,
				     .ioctl = f_ioctl, .mmap_run = f_mmap_run,
				     .munmap_run = f_munmap_run };
	F.cap_smm = cap_smm;
	F.nr_as = nr_as;
	F.lm = true;
}

static void push_exit(int cpu, struct fexit_item x)
{
	struct fvcpu *fv = &F.vcpu[cpu];

	fv->q[fv->qtail++ % NEXIT] = x;
}

/* The memslot of address space @as covering @gpa, or -1. */
static int slot_at(int as, uint64_t gpa)
{
	int i;

	for (i = 0; i < NSLOT; i++)
		if (F.slot[as][i].memory_size && gpa >= F.slot[as][i].guest_phys_addr &&
		    gpa - F.slot[as][i].guest_phys_addr < F.slot[as][i].memory_size)
			return i;
	return -1;
}

static uint64_t slot_uaddr(int as, uint64_t gpa)
{
	int i = slot_at(as, gpa);

	ck_assert_int_ge(i, 0);
	return F.slot[as][i].userspace_addr + (gpa - F.slot[as][i].guest_phys_addr);
}

/* ---- a machine around the fake ---- */

#define LOWRAM   (16 * MiB)
#define TSEG     (LOWRAM - 1 * MiB)
#define NEWBASE  0xf00000u          /* a relocated SMBASE inside TSEG */

struct rig {
	struct kvm kvm;
	struct vm *vm;
	uint8_t *ram;
	uint8_t *bios;
	struct vcpu *v[4];
	struct smm *smm;
	int smm_cb[4];                   /* last set_smm() value per cpu, -1 none */
	int smm_cb_calls;
	bool sipi_wait[4];               /* what smi_blocked() answers per cpu */
	int blocked_calls;
};

static struct rig R;

static void set_smm_cb(void *opaque, int cpu, bool in)
{
	struct rig *r = opaque;

	if (cpu >= 0 && cpu < 4)
		r->smm_cb[cpu] = in;
	r->smm_cb_calls++;
}

static bool smi_blocked_cb(void *opaque, int cpu)
{
	struct rig *r = opaque;

	r->blocked_calls++;
	return cpu >= 0 && cpu < 4 && r->sipi_wait[cpu];
}

/* A plausible 64-bit guest: paging on, distinct GPRs. */
static void long_mode_regs(struct fvcpu *fv)
{
	struct kvm_regs *r = &fv->regs;
	struct kvm_sregs *s = &fv->sregs;
	__u64 *g = &r->rax;
	int i;

	for (i = 0; i < 16; i++)
		g[i] = 0x0101010101010101ULL * (uint64_t)(i + 1);
	r->rip = 0x401000;
	r->rflags = 0x246;
	memset(s, 0, sizeof(*s));
	s->cs = (struct kvm_segment){ .selector = 0x38, .type = 0xb, .s = 1, .present = 1,
				      .l = 1, .g = 1, .limit = 0xffffffff };
	s->ds = s->es = s->ss = (struct kvm_segment){ .selector = 0x30, .type = 3, .s = 1,
						       .present = 1, .db = 1, .g = 1,
						       .limit = 0xffffffff };
	s->fs = s->gs = s->ds;
	s->fs.base = 0x7f0000001000ULL;
	s->tr = (struct kvm_segment){ .type = 11, .present = 1, .limit = 0x67, .base = 0x3000 };
	s->ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
	s->gdt.base = 0x2000;
	s->gdt.limit = 0x4f;
	s->idt.base = 0x5000;
	s->idt.limit = 0xfff;
	s->cr0 = 0x80050033;
	s->cr3 = 0x100000;
	s->cr4 = 0x6a0;
	s->efer = SMM_EFER_LME | SMM_EFER_LMA | SMM_EFER_NX | SMM_EFER_SCE;
	s->apic_base = 0xfee00900;
	s->cr8 = 3;
	fv->dbg.dr7 = 0x401;
}

static void rig_up(enum smm_backend_sel sel, int ncpu, bool cap_smm, int nr_as)
{
	struct smm_cfg cfg;
	int i, r;

	fake_reset(cap_smm, nr_as);
	memset(&R, 0, sizeof(R));
	for (i = 0; i < 4; i++)
		R.smm_cb[i] = -1;
	ck_assert_int_eq(kvm_open(&R.kvm, &F.be, "fake"), 0);
	ck_assert_int_eq(vm_create(&R.kvm, 0, &R.vm), 0);
	ck_assert_int_eq(vm_alloc_ram(R.vm, "low", 0, LOWRAM, true, &R.ram), 0);
	ck_assert_int_eq(vm_alloc_ram(R.vm, "bios", 0xfffe0000ULL, 128 * KiB, false, &R.bios), 0);
	/* The machine's own mappings: all low RAM, the BIOS and its ISA alias. */
	ck_assert_int_ge(vm_map(R.vm, 0, 0, LOWRAM, R.ram, 0), 0);
	ck_assert_int_ge(vm_map(R.vm, 0, 0xfffe0000ULL, 128 * KiB, R.bios, KVM_MEM_READONLY), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.backend = sel;
	cfg.nr_cpus = ncpu;
	cfg.lowram_gpa = 0;
	cfg.lowram_size = LOWRAM;
	cfg.lowram_hva = R.ram;
	cfg.set_smm = set_smm_cb;
	cfg.smi_blocked = smi_blocked_cb;
	cfg.opaque = &R;
	/* The alias replaces low RAM there: drop that part of the machine's slot first. */
	vm_unmap_range(R.vm, 0, 0, LOWRAM);
	ck_assert_int_ge(vm_map(R.vm, 0, 0, 0xe0000, R.ram, 0), 0);
	ck_assert_int_ge(vm_map(R.vm, 0, 0xe0000, 0x20000, R.bios, KVM_MEM_READONLY), 0);
	ck_assert_int_ge(vm_map(R.vm, 0, 0x100000, LOWRAM - 0x100000, R.ram + 0x100000, 0), 0);
	r = smm_create(R.vm, &cfg, &R.smm);
	ck_assert_msg(r == 0, "smm_create: %s", err_get());
	for (i = 0; i < ncpu; i++) {
		ck_assert_int_eq(vcpu_create(R.vm, i, &R.v[i]), 0);
		long_mode_regs(&F.vcpu[i]);
	}
}

static void rig_down(void)
{
	smm_destroy(R.smm);
	vm_destroy(R.vm);
	kvm_close(&R.kvm);
}

static void close_tseg(bool closed)
{
	struct smm_smram_cfg c = { .tseg_base = TSEG, .tseg_size = 1 * MiB,
				   .tseg_closed = closed };

	smm_set_smram(R.smm, &c);
}

/* One iteration of vcpu.c's loop. Returns the action, or -1 if pre_run stopped. */
static int step(struct vcpu *v)
{
	struct vm *vm = v->vm;
	int i, r;

	v->run->immediate_exit = 0;
	for (i = 0; i < vm->nr_hooks; i++)
		if (vm->hooks[i].ops->pre_run &&
		    vm->hooks[i].ops->pre_run(vm->hooks[i].opaque, v) < 0)
			return -1;
	r = vcpu_run_once(v);
	for (i = 0; i < vm->nr_hooks; i++)
		if (vm->hooks[i].ops->post_run)
			vm->hooks[i].ops->post_run(vm->hooks[i].opaque, v);
	if (r == -EINTR)
		return VCPU_CONTINUE;
	return vcpu_handle_exit(v, v->run);
}

/* Put a handler ending in OVMF's "add rsp,0x100; rsm" at SMBASE+0x8000. */
static uint64_t put_handler(uint32_t smbase, bool signature)
{
	static const uint8_t body[] = { 0x90, 0x90, 0x48, 0x81, 0xc4, 0x00, 0x01, 0x00, 0x00,
					0x0f, 0xaa };
	uint8_t *h = R.ram + smbase + 0x8000;

	memset(h, 0x90, 64);
	if (signature) {
		memcpy(h + 16, body, sizeof(body));
		return smbase + 0x8000 + 16 + sizeof(body) - 2;
	}
	h[40] = 0x0f;        /* a bare RSM: only single-stepping finds it */
	h[41] = 0xaa;
	return smbase + 0x8000 + 40;
}

static struct smm_cpu_state saved_state(uint32_t smbase, enum smm_layout layout)
{
	struct smm_cpu_state st;

	ck_assert_int_eq(smm_save_decode(R.ram + smbase + 0xfe00, layout, &st), 0);
	return st;
}

/* ---- front end ---- */

START_TEST(test_select)
{
	struct kvm kvm;
	enum smm_impl impl = 0;

	memset(&kvm, 0, sizeof(kvm));
	kvm.caps.smm = true;
	kvm.caps.nr_as = 2;
	kvm.caps.immediate_exit = kvm.caps.guest_debug = kvm.caps.vcpu_events = true;
	kvm.caps.debugregs = true;
	ck_assert_int_eq(smm_select(&kvm, SMM_BACKEND_AUTO, &impl), 0);
	ck_assert_int_eq(impl, SMM_IMPL_KVM);
	ck_assert_int_eq(smm_select(&kvm, SMM_BACKEND_USER, &impl), 0);
	ck_assert_int_eq(impl, SMM_IMPL_USER);
	/* No kernel SMM: auto falls back, kvm is refused with a reason. */
	kvm.caps.smm = false;
	ck_assert_int_eq(smm_select(&kvm, SMM_BACKEND_AUTO, &impl), 0);
	ck_assert_int_eq(impl, SMM_IMPL_USER);
	ck_assert_int_eq(smm_select(&kvm, SMM_BACKEND_KVM, &impl), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err_get(), "KVM_CAP_X86_SMM"));
	kvm.caps.smm = true;
	kvm.caps.nr_as = 1;
	ck_assert_int_eq(smm_select(&kvm, SMM_BACKEND_KVM, &impl), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err_get(), "address space"));
	/* guest_debug2 that lacks hardware breakpoints rules out the user backend. */
	kvm.caps.guest_debug2 = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	ck_assert_int_eq(smm_select(&kvm, SMM_BACKEND_USER, &impl), -ENOTSUP);
	ck_assert_int_eq(smm_select(&kvm, SMM_BACKEND_AUTO, &impl), -ENOTSUP);
	kvm.caps.guest_debug2 = 0;
	kvm.caps.immediate_exit = false;
	ck_assert_int_eq(smm_select(&kvm, SMM_BACKEND_USER, &impl), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err_get(), "IMMEDIATE_EXIT"));
	ck_assert_int_eq(smm_select(&kvm, (enum smm_backend_sel)9, &impl), -EINVAL);

	/* -machine smm= */
	kvm.caps.immediate_exit = true;
	ck_assert_int_eq(smm_machine_enable(&kvm, OOA_OFF, true, SMM_BACKEND_AUTO), 0);
	ck_assert_int_eq(smm_machine_enable(&kvm, OOA_AUTO, true, SMM_BACKEND_AUTO), 1);
	ck_assert_int_eq(smm_machine_enable(&kvm, OOA_AUTO, false, SMM_BACKEND_AUTO), 0);
	ck_assert_int_eq(smm_machine_enable(&kvm, OOA_ON, false, SMM_BACKEND_AUTO), -ENOTSUP);
	ck_assert_int_eq(smm_machine_enable(&kvm, OOA_ON, true, SMM_BACKEND_AUTO), 1);
	kvm.caps.debugregs = false;
	ck_assert_int_eq(smm_machine_enable(&kvm, OOA_ON, true, SMM_BACKEND_USER), -ENOTSUP);
	ck_assert_int_eq(smm_machine_enable(&kvm, OOA_AUTO, true, SMM_BACKEND_USER), 0);
	ck_assert_int_eq(smm_machine_enable(&kvm, (enum onoffauto)5, true, 0), -EINVAL);
}
END_TEST

START_TEST(test_create_bad_cfg)
{
	struct smm_cfg cfg = { .nr_cpus = 1, .lowram_size = LOWRAM };
	struct smm *smm = NULL;

	rig_up(SMM_BACKEND_KVM, 1, true, 2);
	ck_assert_int_eq(smm_create(R.vm, &cfg, &smm), -EINVAL);      /* no hva */
	cfg.lowram_hva = R.ram;
	cfg.nr_cpus = 0;
	ck_assert_int_eq(smm_create(R.vm, &cfg, &smm), -EINVAL);
	cfg.nr_cpus = 1;
	cfg.lowram_size = 12345;
	ck_assert_int_eq(smm_create(R.vm, &cfg, &smm), -EINVAL);
	cfg.lowram_size = LOWRAM;
	cfg.nr_holes = 99;
	ck_assert_int_eq(smm_create(R.vm, &cfg, &smm), -EINVAL);
	cfg.nr_holes = 0;
	cfg.lowram_gpa = ~0ULL & ~0xfffULL;
	ck_assert_int_eq(smm_create(R.vm, &cfg, &smm), -EINVAL);      /* wraps */
	ck_assert_ptr_null(smm);
	/* A VM with one address space cannot use kernel SMM. */
	R.vm->nr_as = 1;
	cfg.lowram_gpa = 0;
	cfg.backend = SMM_BACKEND_KVM;
	ck_assert_int_eq(smm_create(R.vm, &cfg, &smm), -ENOTSUP);
	R.vm->nr_as = 2;
	rig_down();
}
END_TEST

START_TEST(test_views_kvm)
{
	struct io_ctx ctx = { .cpu = 0 };
	uint8_t buf[4];
	int ram_slot, tseg_slot;

	rig_up(SMM_BACKEND_KVM, 1, true, 2);
	ck_assert_str_eq(smm_backend_name(R.smm), "kvm");
	/* Low RAM is SMM's now; the BIOS alias in the middle stays a hole. */
	ck_assert_uint_eq(slot_uaddr(0, 0x1000), (uintptr_t)R.ram + 0x1000);
	ck_assert_uint_eq(slot_uaddr(0, 0xe0000), (uintptr_t)R.bios);
	ck_assert_uint_eq(slot_uaddr(0, TSEG), (uintptr_t)R.ram + TSEG);
	/* Address space 1: the same low RAM plus copies of the other slots. */
	ck_assert_uint_eq(slot_uaddr(1, 0x1000), (uintptr_t)R.ram + 0x1000);
	ck_assert_uint_eq(slot_uaddr(1, 0xe0000), (uintptr_t)R.bios);
	ck_assert_uint_eq(slot_uaddr(1, 0xfffe0000ULL), (uintptr_t)R.bios);
	ck_assert_uint_eq(F.slot[1][slot_at(1, 0xfffe0000ULL)].flags, KVM_MEM_READONLY);

	ram_slot = slot_at(0, TSEG - 4096);
	close_tseg(true);
	/* Closed: TSEG is a hole in AS0 that reads all-ones; AS1 still has it. */
	ck_assert_int_eq(slot_at(0, TSEG), -1);
	ck_assert_int_eq(slot_at(0, LOWRAM - 1), -1);
	ck_assert_uint_eq(slot_uaddr(1, TSEG + 0x800), (uintptr_t)R.ram + TSEG + 0x800);
	R.ram[TSEG] = 0x5a;
	ck_assert_int_eq(bus_read(&R.vm->mmio, &ctx, TSEG, buf, 4), 0);
	ck_assert_uint_eq(ld_le32(buf), 0xffffffff);
	st_le32(buf, 0x12345678);
	ck_assert_int_eq(bus_write(&R.vm->mmio, &ctx, TSEG, buf, 4), 0);
	ck_assert_uint_eq(R.ram[TSEG], 0x5a);
	ck_assert_ptr_null(vm_dma_ptr(R.vm, TSEG + 16, 16));
	ck_assert_ptr_nonnull(vm_dma_ptr(R.vm, TSEG - 16, 16));
	/* The RAM below TSEG kept its slot: toggling never remaps it. */
	ck_assert_int_eq(slot_at(0, TSEG - 4096), ram_slot);
	tseg_slot = slot_at(1, TSEG);
	close_tseg(false);
	ck_assert_int_ge(slot_at(0, TSEG), 0);
	ck_assert_int_eq(slot_at(0, TSEG - 4096), ram_slot);
	ck_assert_int_eq(slot_at(1, TSEG), tseg_slot);
	ck_assert_int_eq(bus_read(&R.vm->mmio, &ctx, TSEG, buf, 4), -ENOENT);
	ck_assert_ptr_nonnull(vm_dma_ptr(R.vm, TSEG + 16, 16));
	rig_down();
}
END_TEST

START_TEST(test_views_hostile_smram)
{
	struct smm_smram_cfg c;

	rig_up(SMM_BACKEND_KVM, 1, true, 2);
	/* TSEG outside low RAM, or wrapping: ignored, nothing hidden. */
	c = (struct smm_smram_cfg){ .tseg_base = LOWRAM, .tseg_size = MiB, .tseg_closed = true };
	smm_set_smram(R.smm, &c);
	ck_assert_int_ge(slot_at(0, LOWRAM - 1), 0);
	c = (struct smm_smram_cfg){ .tseg_base = ~0ULL - 4095, .tseg_size = 8192,
				    .tseg_closed = true };
	smm_set_smram(R.smm, &c);
	ck_assert_int_ge(slot_at(0, LOWRAM - 1), 0);
	smm_set_smram(R.smm, NULL);
	smm_set_smram(NULL, &c);
	/* An unusual TSEG (not at the top): split once, then toggles cleanly. */
	c = (struct smm_smram_cfg){ .tseg_base = 0x400000, .tseg_size = 0x80000,
				    .tseg_closed = true };
	smm_set_smram(R.smm, &c);
	ck_assert_int_eq(slot_at(0, 0x400000), -1);
	ck_assert_int_eq(slot_at(0, 0x47ffff), -1);
	ck_assert_int_ge(slot_at(0, 0x3fffff), 0);
	ck_assert_int_ge(slot_at(0, 0x480000), 0);
	ck_assert_int_ge(slot_at(1, 0x400000), 0);
	/* A-segment SMRAM: hidden unless D_OPEN. */
	c = (struct smm_smram_cfg){ .low_smram = true };
	smm_set_smram(R.smm, &c);
	ck_assert_int_eq(slot_at(0, 0xa0000), -1);
	ck_assert_int_eq(slot_at(0, 0xbffff), -1);
	ck_assert_int_ge(slot_at(0, 0x9ffff), 0);
	ck_assert_int_ge(slot_at(1, 0xa0000), 0);
	ck_assert_ptr_null(vm_dma_ptr(R.vm, 0xa0000, 1));
	c.d_open = true;
	smm_set_smram(R.smm, &c);
	ck_assert_int_ge(slot_at(0, 0xa0000), 0);
	rig_down();
}
END_TEST

START_TEST(test_sync_memslots)
{
	uint8_t *flash;
	int idx;

	rig_up(SMM_BACKEND_KVM, 1, true, 2);
	ck_assert_int_eq(vm_alloc_ram(R.vm, "flash", 0xffc00000ULL, 64 * KiB, false, &flash), 0);
	idx = vm_map(R.vm, 0, 0xffc00000ULL, 64 * KiB, flash, KVM_MEM_READONLY);
	ck_assert_int_ge(idx, 0);
	ck_assert_int_eq(slot_at(1, 0xffc00000ULL), -1);
	ck_assert_int_eq(smm_sync_memslots(R.smm), 0);
	ck_assert_uint_eq(slot_uaddr(1, 0xffc00000ULL), (uintptr_t)flash);
	/* Flash leaves array mode: the copy goes too. */
	vm_unmap(R.vm, idx);
	ck_assert_int_eq(smm_sync_memslots(R.smm), 0);
	ck_assert_int_eq(slot_at(1, 0xffc00000ULL), -1);
	/* Back, with different flags: copied with those. */
	idx = vm_map(R.vm, 0, 0xffc00000ULL, 64 * KiB, flash, 0);
	ck_assert_int_eq(smm_sync_memslots(R.smm), 0);
	ck_assert_uint_eq(F.slot[1][slot_at(1, 0xffc00000ULL)].flags, 0);
	/* Idempotent. */
	ck_assert_int_eq(smm_sync_memslots(R.smm), 0);
	ck_assert_int_eq(smm_sync_memslots(R.smm), 0);
	rig_down();
}
END_TEST

START_TEST(test_test_port_and_raise)
{
	struct io_ctx c1 = { .cpu = 1 }, vmm = { .cpu = -1 };
	uint8_t v = 0x01, ff = 0xff, buf[2];
	struct smm_stats st;

	rig_up(SMM_BACKEND_USER, 2, false, 1);
	ck_assert_int_eq(bus_write(&R.vm->pio, &c1, PORT_TEST_SMI, &v, 1), -ENOENT);
	ck_assert_int_eq(smm_register_test_port(R.smm), 0);
	ck_assert_int_eq(smm_register_test_port(R.smm), 0);    /* twice is fine */
	ck_assert_int_eq(bus_write(&R.vm->pio, &c1, PORT_TEST_SMI, &v, 1), 0);
	ck_assert(!atomic_load(&R.smm->vcpus[0].pending));
	ck_assert(atomic_load(&R.smm->vcpus[1].pending));
	atomic_store(&R.smm->vcpus[1].pending, false);
	ck_assert_int_eq(bus_write(&R.vm->pio, &c1, PORT_TEST_SMI, &ff, 1), 0);
	ck_assert(atomic_load(&R.smm->vcpus[0].pending) && atomic_load(&R.smm->vcpus[1].pending));
	atomic_store(&R.smm->vcpus[0].pending, false);
	atomic_store(&R.smm->vcpus[1].pending, false);
	/* The VMM itself (no vCPU) writing: everyone. */
	ck_assert_int_eq(bus_write(&R.vm->pio, &vmm, PORT_TEST_SMI, &v, 1), 0);
	ck_assert(atomic_load(&R.smm->vcpus[0].pending) && atomic_load(&R.smm->vcpus[1].pending));
	ck_assert_int_eq(bus_read(&R.vm->pio, &c1, PORT_TEST_SMI, buf, 1), 0);
	ck_assert_uint_eq(buf[0], 0);
	/* Hostile targets are dropped. */
	smm_raise(R.smm, 7);
	smm_raise(R.smm, 1000000);
	smm_raise(NULL, 0);
	smm_ipi_smi(R.smm, -5);
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.raised, 5);
	ck_assert(!smm_vcpu_in_smm(R.smm, 7));
	ck_assert(!smm_vcpu_in_smm(R.smm, -1));
	ck_assert(!smm_vcpu_in_smm(NULL, 0));
	ck_assert(smm_smi_pending(R.smm, 1));
	ck_assert(!smm_smi_pending(R.smm, 2));
	ck_assert(!smm_smi_pending(R.smm, -1));
	ck_assert(!smm_smi_pending(NULL, 0));
	/* The APM form outside any vCPU thread broadcasts. */
	atomic_store(&R.smm->vcpus[0].pending, false);
	atomic_store(&R.smm->vcpus[1].pending, false);
	smm_apm_smi(R.smm, false);
	ck_assert(atomic_load(&R.smm->vcpus[0].pending) && atomic_load(&R.smm->vcpus[1].pending));
	smm_ipi_smi(R.smm, 0);
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.raised, 8);
	rig_down();
}
END_TEST

/* ---- user backend ---- */

START_TEST(test_user_entry_state)
{
	struct fvcpu *fv;
	struct kvm_regs before_r;
	struct kvm_sregs before_s;
	struct smm_cpu_state st;
	uint64_t rsm;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	ck_assert_str_eq(smm_backend_name(R.smm), "user");
	fv = &F.vcpu[0];
	fv->ev.nmi.masked = 0;
	fv->ev.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	close_tseg(true);
	rsm = put_handler(MM_SMBASE_DEFAULT, true);
	before_r = fv->regs;
	before_s = fv->sregs;
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);

	/* The image is the pre-SMI state, 64-bit layout. */
	st = saved_state(MM_SMBASE_DEFAULT, SMM_LAYOUT_64);
	ck_assert_uint_eq(st.revision, SMM_REVISION_64);
	ck_assert_uint_eq(st.smbase, MM_SMBASE_DEFAULT);
	ck_assert_uint_eq(st.rip, before_r.rip);
	ck_assert_uint_eq(st.rflags, before_r.rflags);
	ck_assert_uint_eq(st.gpr[SMM_RAX], before_r.rax);
	ck_assert_uint_eq(st.gpr[SMM_R15], before_r.r15);
	ck_assert_uint_eq(st.cr0, before_s.cr0);
	ck_assert_uint_eq(st.cr3, before_s.cr3);
	ck_assert_uint_eq(st.cr4, before_s.cr4);
	ck_assert_uint_eq(st.efer, before_s.efer);
	ck_assert_uint_eq(st.dr7, 0x401);
	ck_assert_uint_eq(st.seg[SMM_FS].base, before_s.fs.base);
	ck_assert_uint_eq(st.idtr.base, 0x5000);
	ck_assert_uint_eq(st.int_shadow, KVM_X86_SHADOW_INT_MOV_SS);

	/* KVM's enter_smm() state. */
	ck_assert_uint_eq(fv->regs.rip, 0x8000);
	ck_assert_uint_eq(fv->regs.rflags, 2);
	ck_assert_uint_eq(fv->regs.rax, before_r.rax);
	ck_assert_uint_eq(fv->sregs.cr0, before_s.cr0 & ~(SMM_CR0_PE | SMM_CR0_EM | SMM_CR0_TS |
							  SMM_CR0_PG));
	ck_assert_uint_eq(fv->sregs.cr4, 0);
	ck_assert_uint_eq(fv->sregs.efer, 0);
	ck_assert_uint_eq(fv->sregs.cr3, before_s.cr3);
	ck_assert_uint_eq(fv->sregs.idt.base, 0);
	ck_assert_uint_eq(fv->sregs.idt.limit, 0);
	ck_assert_uint_eq(fv->sregs.gdt.base, before_s.gdt.base);
	ck_assert_uint_eq(fv->sregs.cs.selector, 0x3000);
	ck_assert_uint_eq(fv->sregs.cs.base, 0x30000);
	ck_assert_uint_eq(fv->sregs.cs.limit, 0xffffffff);
	ck_assert(fv->sregs.cs.type == 3 && fv->sregs.cs.s && fv->sregs.cs.present &&
		  fv->sregs.cs.g && !fv->sregs.cs.db && !fv->sregs.cs.l && !fv->sregs.cs.dpl);
	ck_assert_uint_eq(fv->sregs.ss.base, 0);
	ck_assert_uint_eq(fv->sregs.ds.selector, 0);
	ck_assert_uint_eq(fv->sregs.gs.limit, 0xffffffff);
	ck_assert_uint_eq(fv->sregs.tr.base, before_s.tr.base);
	ck_assert_uint_eq(fv->sregs.apic_base, 0xfee00900);
	ck_assert_uint_eq(fv->dbg.dr7, 0x400);
	ck_assert_uint_eq(fv->ev.nmi.masked, 1);
	ck_assert_uint_eq(fv->ev.interrupt.shadow, 0);
	/* SMM bookkeeping and SMRAM. */
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	ck_assert(R.v[0]->ioctx.smm);
	ck_assert_int_eq(R.smm_cb[0], 1);
	ck_assert_int_ge(slot_at(0, TSEG), 0);
	/* The RSM catch: one hardware breakpoint on the signature's RSM. */
	ck_assert_uint_eq(fv->gdbg.control, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP);
	ck_assert_uint_eq(fv->gdbg.arch.debugreg[0], rsm);
	ck_assert_uint_eq(fv->gdbg.arch.debugreg[7], 0x602);
	ck_assert_uint_eq(R.v[0]->run->if_flag, 0);
	rig_down();
}
END_TEST

static void do_round_trip(int cpu, bool expect_same)
{
	struct fvcpu *fv = &F.vcpu[cpu];

	push_exit(cpu, (struct fexit_item){ .kind = FX_DEBUG_BP });
	ck_assert_int_eq(step(R.v[cpu]), VCPU_CONTINUE);     /* enters, runs, hits the BP */
	if (expect_same)
		ck_assert(!smm_vcpu_in_smm(R.smm, cpu));
	(void)fv;
}

START_TEST(test_user_round_trip)
{
	struct fvcpu *fv;
	struct kvm_regs before_r;
	struct kvm_sregs before_s;
	struct kvm_debugregs before_d;
	struct smm_stats st;
	unsigned long ioctls;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	fv = &F.vcpu[0];
	close_tseg(true);
	put_handler(MM_SMBASE_DEFAULT, true);
	fv->ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	before_r = fv->regs;
	before_s = fv->sregs;
	before_d = fv->dbg;
	smm_raise(R.smm, 0);
	ioctls = F.ioctls;
	do_round_trip(0, true);
	/* A handful of ioctls for the whole SMI -> RSM round trip. */
	ck_assert_uint_le(F.ioctls - ioctls, 18);
	ck_assert_mem_eq(&fv->regs, &before_r, sizeof(before_r));
	ck_assert_mem_eq(&fv->sregs.cs, &before_s.cs, sizeof(before_s.cs));
	ck_assert_mem_eq(&fv->sregs.ss, &before_s.ss, sizeof(before_s.ss));
	ck_assert_mem_eq(&fv->sregs.fs, &before_s.fs, sizeof(before_s.fs));
	ck_assert_mem_eq(&fv->sregs.tr, &before_s.tr, sizeof(before_s.tr));
	ck_assert_mem_eq(&fv->sregs.ldt, &before_s.ldt, sizeof(before_s.ldt));
	ck_assert_uint_eq(fv->sregs.cr0, before_s.cr0);
	ck_assert_uint_eq(fv->sregs.cr3, before_s.cr3);
	ck_assert_uint_eq(fv->sregs.cr4, before_s.cr4);
	ck_assert_uint_eq(fv->sregs.efer, before_s.efer);
	ck_assert_uint_eq(fv->sregs.idt.base, before_s.idt.base);
	ck_assert_uint_eq(fv->sregs.idt.limit, before_s.idt.limit);
	ck_assert_uint_eq(fv->sregs.apic_base, before_s.apic_base);
	ck_assert_uint_eq(fv->dbg.dr7, before_d.dr7);
	ck_assert_uint_eq(fv->dbg.dr6, before_d.dr6);
	ck_assert_uint_eq(fv->ev.nmi.masked, 0);
	ck_assert_uint_eq(fv->ev.interrupt.shadow, KVM_X86_SHADOW_INT_STI);
	ck_assert_uint_eq(fv->gdbg.control, 0);
	ck_assert(!R.v[0]->ioctx.smm);
	ck_assert_int_eq(R.smm_cb[0], 0);
	ck_assert_int_eq(slot_at(0, TSEG), -1);              /* closed again */
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert_uint_eq(st.rsms, 1);
	ck_assert_uint_eq(st.hwbp_hits, 1);
	ck_assert_uint_eq(st.steps, 0);
	ck_assert_uint_gt(st.roundtrip_ns, 0);
	/* Entered from an NMI handler: NMIs stay blocked after RSM. */
	fv->ev.nmi.masked = 1;
	smm_raise(R.smm, 0);
	do_round_trip(0, true);
	ck_assert_uint_eq(fv->ev.nmi.masked, 1);
	rig_down();
}
END_TEST

START_TEST(test_user_io_completion)
{
	struct fvcpu *fv;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	ck_assert_int_eq(smm_register_test_port(R.smm), 0);
	fv = &F.vcpu[0];
	put_handler(MM_SMBASE_DEFAULT, true);
	/* The guest writes the test port: the SMI is raised during the exit. */
	push_exit(0, (struct fexit_item){ .kind = FX_IO_OUT, .port = PORT_TEST_SMI, .val = 1 });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(atomic_load(&R.smm->vcpus[0].pending));
	ck_assert_int_eq(fv->io_completions, 0);
	ck_assert_uint_eq(fv->regs.rip, 0x401000);
	/* Next iteration: complete the OUT first, so the image has RIP after it. */
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_int_eq(fv->io_completions, 1);
	ck_assert_uint_eq(saved_state(MM_SMBASE_DEFAULT, SMM_LAYOUT_64).rip, 0x401002);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_BP });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_uint_eq(fv->regs.rip, 0x401002);
	ck_assert(!smm_vcpu_in_smm(R.smm, 0));
	/* An MMIO exit is completed the same way. */
	push_exit(0, (struct fexit_item){ .kind = FX_MMIO_WRITE, .pc = 0xfee00300 });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_int_eq(fv->io_completions, 2);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	rig_down();
}
END_TEST

START_TEST(test_user_held_event)
{
	struct fvcpu *fv;
	struct smm_stats st;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	fv = &F.vcpu[0];
	put_handler(MM_SMBASE_DEFAULT, true);
	/* The irqchip has just queued vector 0x30: SMM is entered first ... */
	fv->ev.interrupt.injected = 1;
	fv->ev.interrupt.nr = 0x30;
	fv->sregs.interrupt_bitmap[0] = 1ULL << 0x30;
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	ck_assert_uint_eq(fv->ev.interrupt.injected, 0);    /* not into the handler */
	ck_assert_uint_eq(fv->sregs.interrupt_bitmap[0], 0);
	ck_assert_uint_eq(fv->gdbg.control & KVM_GUESTDBG_SINGLESTEP, 0);
	/* ... and RSM hands the interrupt back to KVM. */
	do_round_trip(0, true);
	ck_assert_uint_eq(fv->ev.interrupt.injected, 1);
	ck_assert_uint_eq(fv->ev.interrupt.nr, 0x30);
	/* An exception with its error code, likewise. */
	fv->ev.interrupt.injected = 0;
	fv->ev.exception.injected = 1;
	fv->ev.exception.nr = 14;
	fv->ev.exception.has_error_code = 1;
	fv->ev.exception.error_code = 0x6;
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_uint_eq(fv->ev.exception.injected, 0);
	do_round_trip(0, true);
	ck_assert_uint_eq(fv->ev.exception.injected, 1);
	ck_assert_uint_eq(fv->ev.exception.nr, 14);
	ck_assert_uint_eq(fv->ev.exception.error_code, 0x6);
	fv->ev.exception.injected = 0;
	/* An NMI being delivered postpones the entry; no single-stepping. */
	fv->ev.nmi.injected = 1;
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(!smm_vcpu_in_smm(R.smm, 0));
	ck_assert(atomic_load(&R.smm->vcpus[0].pending));
	ck_assert_uint_eq(fv->gdbg.control, 0);
	ck_assert_uint_eq(R.v[0]->run->request_interrupt_window, 1);
	/* So does a software interrupt (its instruction length is not ours). */
	fv->ev.nmi.injected = 0;
	fv->ev.interrupt.injected = 1;
	fv->ev.interrupt.soft = 1;
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(!smm_vcpu_in_smm(R.smm, 0));
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.deferred, 2);
	/* Once delivered, the SMI goes in. */
	fv->ev.interrupt.injected = 0;
	fv->ev.interrupt.soft = 0;
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	rig_down();
}
END_TEST

START_TEST(test_user_relocation_and_latch)
{
	struct fvcpu *fv;
	struct smm_stats st;
	uint64_t rsm;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	fv = &F.vcpu[0];
	close_tseg(true);
	put_handler(MM_SMBASE_DEFAULT, true);
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	/* The handler relocates SMBASE (like OVMF's SmmInitHandler) ... */
	st_le32(R.ram + MM_SMBASE_DEFAULT + 0xff00, NEWBASE);
	/* ... and another SMI arrives while in SMM: latched. */
	smm_raise(R.smm, 0);
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.latched, 1);
	rsm = put_handler(NEWBASE, true);
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_BP });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(!smm_vcpu_in_smm(R.smm, 0));
	ck_assert_uint_eq(R.smm->vcpus[0].smbase, NEWBASE);
	/* The latched SMI is taken right away, at the new SMBASE. */
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	ck_assert_uint_eq(fv->sregs.cs.base, NEWBASE);
	ck_assert_uint_eq(fv->sregs.cs.selector, (uint16_t)(NEWBASE >> 4));
	ck_assert_uint_eq(saved_state(NEWBASE, SMM_LAYOUT_64).smbase, NEWBASE);
	ck_assert_uint_eq(fv->gdbg.arch.debugreg[0], rsm);
	ck_assert_int_ge(slot_at(0, TSEG), 0);
	rig_down();
}
END_TEST

START_TEST(test_user_invalid_image)
{
	struct fvcpu *fv;
	int act;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	fv = &F.vcpu[0];
	put_handler(MM_SMBASE_DEFAULT, true);
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	/* The handler corrupts the saved CR0: PG without PE. */
	st_le64(R.ram + MM_SMBASE_DEFAULT + 0xff58, 0x80000010);
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_BP });
	act = step(R.v[0]);
	ck_assert_int_eq(act, VCPU_SHUTDOWN);
	ck_assert_ptr_nonnull(strstr(R.v[0]->exit_msg, "CR0.PG"));
	ck_assert_ptr_nonnull(strstr(R.v[0]->exit_msg, "triple fault"));
	/* Nothing was loaded into the vCPU. */
	ck_assert_uint_eq(fv->regs.rip, 0x8000);
	rig_down();
}
END_TEST

START_TEST(test_user_singlestep_fallback)
{
	struct fvcpu *fv;
	struct smm_stats st;
	uint64_t rsm;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	fv = &F.vcpu[0];
	rsm = put_handler(MM_SMBASE_DEFAULT, false);
	smm_raise(R.smm, 0);
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_AT, .pc = 0x38001 });
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_AT, .pc = 0x38002 });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	ck_assert_uint_eq(fv->gdbg.control & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP),
			  KVM_GUESTDBG_SINGLESTEP);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_AT, .pc = rsm });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(!smm_vcpu_in_smm(R.smm, 0));
	ck_assert_uint_eq(fv->regs.rip, 0x401000);
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.steps, 2);
	/* Next time the cached address gets a hardware breakpoint. */
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_uint_eq(fv->gdbg.control, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP);
	ck_assert_uint_eq(fv->gdbg.arch.debugreg[0], rsm);
	/* A breakpoint that lands on something else falls back to stepping. */
	R.ram[rsm] = 0x90;
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_BP });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	ck_assert_uint_eq(fv->gdbg.control & KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_SINGLESTEP);
	/* ... and the stale cache entry is not used again. */
	R.ram[rsm + 4] = 0x0f;
	R.ram[rsm + 5] = 0xaa;
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_AT, .pc = rsm + 4 });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(!smm_vcpu_in_smm(R.smm, 0));
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_uint_eq(fv->gdbg.arch.debugreg[0], rsm + 4);
	rig_down();
}
END_TEST

START_TEST(test_user_smp_broadcast)
{
	rig_up(SMM_BACKEND_USER, 2, false, 1);
	close_tseg(true);
	put_handler(MM_SMBASE_DEFAULT, true);
	smm_raise(R.smm, -1);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_int_eq(step(R.v[1]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0) && smm_vcpu_in_smm(R.smm, 1));
	ck_assert_int_eq(R.smm->nr_in_smm, 2);
	/* SMRAM stays mapped until the last vCPU leaves SMM. */
	do_round_trip(0, true);
	ck_assert_int_ge(slot_at(0, TSEG), 0);
	do_round_trip(1, true);
	ck_assert_int_eq(slot_at(0, TSEG), -1);
	ck_assert_int_eq(R.smm_cb[0], 0);
	ck_assert_int_eq(R.smm_cb[1], 0);
	rig_down();
}
END_TEST

/* An AP the userspace irqchip holds in wait-for-SIPI keeps its SMI pending. */
START_TEST(test_smi_blocked_in_wait_for_sipi)
{
	struct smm_backend_case { enum smm_backend_sel sel; bool cap; int nr_as; } c[2] = {
		{ SMM_BACKEND_USER, false, 1 }, { SMM_BACKEND_KVM, true, 2 },
	};
	int i, k;

	for (i = 0; i < 2; i++) {
		rig_up(c[i].sel, 2, c[i].cap, c[i].nr_as);
		close_tseg(true);
		put_handler(MM_SMBASE_DEFAULT, true);
		R.sipi_wait[1] = true;
		smm_raise(R.smm, -1);
		/* Several trips round the loop (kicks): never delivered to cpu1. */
		for (k = 0; k < 3; k++)
			ck_assert_int_eq(step(R.v[1]), VCPU_CONTINUE);
		ck_assert(R.blocked_calls >= 3);
		ck_assert(smm_smi_pending(R.smm, 1));
		ck_assert(!smm_vcpu_in_smm(R.smm, 1));
		ck_assert_int_eq(F.vcpu[1].smi_ioctls, 0);
		ck_assert_int_eq(R.smm_cb[1], -1);
		/* cpu0 is not held: it takes its SMI at once. */
		ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
		ck_assert(!smm_smi_pending(R.smm, 0));
		if (c[i].sel == SMM_BACKEND_USER)
			ck_assert(smm_vcpu_in_smm(R.smm, 0));
		else
			ck_assert_int_eq(F.vcpu[0].smi_ioctls, 1);
		/* The SIPI came: the SMI goes in on the next entry. */
		R.sipi_wait[1] = false;
		ck_assert_int_eq(step(R.v[1]), VCPU_CONTINUE);
		ck_assert(!smm_smi_pending(R.smm, 1));
		if (c[i].sel == SMM_BACKEND_USER)
			ck_assert(smm_vcpu_in_smm(R.smm, 1));
		else
			ck_assert_int_eq(F.vcpu[1].smi_ioctls, 1);
		rig_down();
	}
}
END_TEST

START_TEST(test_user_aseg_lazy)
{
	struct smm_smram_cfg c = { .tseg_base = TSEG, .tseg_size = MiB, .tseg_closed = true,
				   .low_smram = true };
	struct io_ctx in = { .cpu = 0, .smm = true }, out = { .cpu = 0, .smm = false };
	uint8_t buf[4];

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	smm_set_smram(R.smm, &c);
	put_handler(MM_SMBASE_DEFAULT, true);
	R.ram[0xa0000] = 0x11;
	ck_assert_int_eq(slot_at(0, 0xa0000), -1);
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	/* In SMM: TSEG mapped at once, the A-segment only when used. */
	ck_assert_int_ge(slot_at(0, TSEG), 0);
	ck_assert_int_eq(slot_at(0, 0xa0000), -1);
	ck_assert_int_eq(bus_read(&R.vm->mmio, &out, 0xa0000, buf, 1), 0);
	ck_assert_uint_eq(buf[0], 0xff);
	ck_assert_int_eq(slot_at(0, 0xa0000), -1);
	ck_assert_int_eq(bus_read(&R.vm->mmio, &in, 0xa0000, buf, 1), 0);
	ck_assert_uint_eq(buf[0], 0x11);
	ck_assert_int_ge(slot_at(0, 0xa0000), 0);
	st_le32(buf, 0xcafef00d);
	ck_assert_int_eq(bus_write(&R.vm->mmio, &in, 0xa0004, buf, 4), 0);
	ck_assert_uint_eq(ld_le32(R.ram + 0xa0004), 0xcafef00d);
	/* A non-SMM access through the blackhole still changes nothing. */
	ck_assert_int_eq(bus_write(&R.vm->mmio, &out, 0xa0004, buf, 1), 0);
	ck_assert_int_eq(bus_read(&R.vm->mmio, &out, 0xa0004, buf, 4), 0);
	ck_assert_uint_eq(ld_le32(buf), 0xffffffff);
	do_round_trip(0, true);
	ck_assert_int_eq(slot_at(0, 0xa0000), -1);
	ck_assert_int_eq(slot_at(0, TSEG), -1);
	/* A handler in the A-segment (SMBASE 0xA0000) needs it mapped on entry. */
	R.smm->vcpus[0].smbase = 0xa0000;
	put_handler(0xa0000, true);
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_int_ge(slot_at(0, 0xa8000), 0);
	do_round_trip(0, true);
	ck_assert_int_eq(slot_at(0, 0xa8000), -1);
	rig_down();
}
END_TEST

START_TEST(test_user_reset)
{
	struct fvcpu *fv;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	fv = &F.vcpu[0];
	close_tseg(true);
	put_handler(MM_SMBASE_DEFAULT, true);
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	st_le32(R.ram + MM_SMBASE_DEFAULT + 0xff00, NEWBASE);
	smm_raise(R.smm, 0);
	pthread_mutex_lock(&R.vm->bql);
	smm_reset(R.smm);
	pthread_mutex_unlock(&R.vm->bql);
	ck_assert(!smm_vcpu_in_smm(R.smm, 0));
	ck_assert(!atomic_load(&R.smm->vcpus[0].pending));
	ck_assert_uint_eq(R.smm->vcpus[0].smbase, MM_SMBASE_DEFAULT);
	ck_assert_uint_eq(fv->gdbg.control, 0);
	ck_assert_int_eq(slot_at(0, TSEG), -1);
	ck_assert_int_eq(R.smm_cb[0], 0);
	ck_assert(!R.v[0]->ioctx.smm);
	/* The per-vCPU hook alone is harmless afterwards. */
	R.vm->hooks[0].ops->vcpu_reset(R.vm->hooks[0].opaque, R.v[0]);
	ck_assert_int_eq(R.smm->nr_in_smm, 0);
	smm_reset(NULL);
	rig_down();
}
END_TEST

START_TEST(test_user_kernel_irqchip_states)
{
	struct fvcpu *fv;
	struct smm_cfg cfg;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	fv = &F.vcpu[0];
	R.smm->cfg.kernel_irqchip = true;
	put_handler(MM_SMBASE_DEFAULT, true);
	/* An AP still waiting for SIPI keeps its SMI pending. */
	fv->mp.mp_state = KVM_MP_STATE_INIT_RECEIVED;
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(!smm_vcpu_in_smm(R.smm, 0));
	ck_assert(atomic_load(&R.smm->vcpus[0].pending));
	/* A halted vCPU is woken by the SMI. */
	fv->mp.mp_state = KVM_MP_STATE_HALTED;
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	ck_assert_uint_eq(fv->mp.mp_state, KVM_MP_STATE_RUNNABLE);
	memset(&cfg, 0, sizeof(cfg));
	(void)cfg;
	rig_down();
}
END_TEST

START_TEST(test_user_32bit_layout)
{
	struct fvcpu *fv;
	struct smm_cpu_state st;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	rig_down();
	/* Again, on a CPU without long mode. */
	fake_reset(false, 1);
	F.lm = false;
	{
		struct smm_cfg cfg = { .backend = SMM_BACKEND_USER, .nr_cpus = 1,
				       .lowram_size = LOWRAM };

		memset(&R, 0, sizeof(R));
		ck_assert_int_eq(kvm_open(&R.kvm, &F.be, "fake"), 0);
		ck_assert_int_eq(vm_create(&R.kvm, 0, &R.vm), 0);
		ck_assert_int_eq(vm_alloc_ram(R.vm, "low", 0, LOWRAM, true, &R.ram), 0);
		cfg.lowram_hva = R.ram;
		ck_assert_int_eq(smm_create(R.vm, &cfg, &R.smm), 0);
		ck_assert_int_eq(vcpu_create(R.vm, 0, &R.v[0]), 0);
	}
	fv = &F.vcpu[0];
	fv->regs.rip = 0x1234;
	fv->regs.rax = 0xaaaa5555;
	fv->sregs.cr0 = 0x11;
	fv->sregs.efer = SMM_EFER_NX;
	fv->sregs.cs = (struct kvm_segment){ .selector = 8, .type = 0xb, .s = 1, .present = 1,
					     .db = 1, .g = 1, .limit = 0xffffffff };
	put_handler(MM_SMBASE_DEFAULT, true);
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	st = saved_state(MM_SMBASE_DEFAULT, SMM_LAYOUT_32);
	ck_assert_uint_eq(st.revision, SMM_REVISION_32);
	ck_assert_uint_eq(st.rip, 0x1234);
	ck_assert_uint_eq(st.gpr[SMM_RAX], 0xaaaa5555);
	ck_assert_uint_eq(fv->sregs.efer, SMM_EFER_NX);      /* not a long-mode CPU: kept */
	do_round_trip(0, true);
	ck_assert_uint_eq(fv->regs.rip, 0x1234);
	ck_assert_uint_eq(fv->sregs.efer, SMM_EFER_NX);
	ck_assert_uint_eq(fv->sregs.cs.selector, 8);
	rig_down();
}
END_TEST

START_TEST(test_user_host_errors)
{
	struct fvcpu *fv;

	rig_up(SMM_BACKEND_USER, 1, false, 1);
	fv = &F.vcpu[0];
	put_handler(MM_SMBASE_DEFAULT, true);
	/* A failing ioctl during entry stops the VM with a message, no crash. */
	F.fail_req = KVM_GET_SREGS;
	F.fail_req_count = 1;
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), -1);
	ck_assert_int_eq(vm_stop_reason(R.vm), VM_STOP_ERROR);
	ck_assert_ptr_nonnull(strstr(R.v[0]->exit_msg, "registers"));
	vm_clear_stop(R.vm);
	/* SMBASE outside RAM (a bogus relocation). */
	R.smm->vcpus[0].smbase = 0x7ffff000;
	ck_assert_int_eq(step(R.v[0]), -1);
	ck_assert_ptr_nonnull(strstr(R.v[0]->exit_msg, "SMBASE"));
	vm_clear_stop(R.vm);
	/* A #DB that is not ours outside SMM is left to others. */
	R.smm->vcpus[0].smbase = MM_SMBASE_DEFAULT;
	atomic_store(&R.smm->vcpus[0].pending, false);
	push_exit(0, (struct fexit_item){ .kind = FX_DEBUG_AT, .pc = 0x1000 });
	ck_assert_int_eq(step(R.v[0]), VCPU_ERROR);
	(void)fv;
	rig_down();
}
END_TEST

/* ---- kernel backend ---- */

START_TEST(test_kvm_backend)
{
	struct fvcpu *fv;
	struct smm_stats st;

	rig_up(SMM_BACKEND_AUTO, 1, true, 2);
	fv = &F.vcpu[0];
	ck_assert_str_eq(smm_backend_name(R.smm), "kvm");
	smm_raise(R.smm, 0);
	smm_raise(R.smm, 0);             /* coalesces like a level */
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_int_eq(fv->smi_ioctls, 1);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert_int_eq(fv->smi_ioctls, 1);
	/* An exit inside SMM: the bus sees a secure access, the irqchip knows. */
	push_exit(0, (struct fexit_item){ .kind = FX_SMM_ON });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(R.v[0]->ioctx.smm);
	ck_assert(smm_vcpu_in_smm(R.smm, 0));
	ck_assert_int_eq(R.smm_cb[0], 1);
	push_exit(0, (struct fexit_item){ .kind = FX_SMM_OFF });
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);
	ck_assert(!R.v[0]->ioctx.smm);
	ck_assert_int_eq(R.smm_cb[0], 0);
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert_uint_eq(st.rsms, 1);
	/* An SMI that comes and goes between two exits is counted once KVM says so. */
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), VCPU_CONTINUE);       /* -EINTR: still pending */
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.rsms, 1);
	fv->ev.smi.pending = 0;
	push_exit(0, (struct fexit_item){ .kind = FX_HLT });
	ck_assert_int_eq(step(R.v[0]), VCPU_HALT);
	smm_get_stats(R.smm, &st);
	ck_assert_uint_eq(st.rsms, 2);
	/* Reset: SMBASE back to 0x30000, SMM left on purpose (VALID_SMM). */
	fv->smbase_msr = NEWBASE;
	fv->ev.smi.smm = 1;
	fv->ev.smi.pending = 1;
	pthread_mutex_lock(&R.vm->bql);
	smm_reset(R.smm);
	pthread_mutex_unlock(&R.vm->bql);
	ck_assert_uint_eq(fv->smbase_msr, MM_SMBASE_DEFAULT);
	ck_assert_uint_eq(fv->ev.smi.smm, 0);
	ck_assert_uint_eq(fv->ev.smi.pending, 0);
	/* KVM_SMI failing stops the VM. */
	F.fail_req = KVM_SMI;
	F.fail_req_count = 1;
	smm_raise(R.smm, 0);
	ck_assert_int_eq(step(R.v[0]), -1);
	ck_assert_int_eq(vm_stop_reason(R.vm), VM_STOP_ERROR);
	rig_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("smm");
	TCase *tf = tcase_create("frontend");
	TCase *tu = tcase_create("user");
	TCase *tk = tcase_create("kvm");

	tcase_add_test(tf, test_select);
	tcase_add_test(tf, test_create_bad_cfg);
	tcase_add_test(tf, test_views_kvm);
	tcase_add_test(tf, test_views_hostile_smram);
	tcase_add_test(tf, test_sync_memslots);
	tcase_add_test(tf, test_test_port_and_raise);
	suite_add_tcase(s, tf);
	tcase_add_test(tu, test_user_entry_state);
	tcase_add_test(tu, test_user_round_trip);
	tcase_add_test(tu, test_user_io_completion);
	tcase_add_test(tu, test_user_held_event);
	tcase_add_test(tu, test_user_relocation_and_latch);
	tcase_add_test(tu, test_user_invalid_image);
	tcase_add_test(tu, test_user_singlestep_fallback);
	tcase_add_test(tu, test_user_smp_broadcast);
	tcase_add_test(tu, test_smi_blocked_in_wait_for_sipi);
	tcase_add_test(tu, test_user_aseg_lazy);
	tcase_add_test(tu, test_user_reset);
	tcase_add_test(tu, test_user_kernel_irqchip_states);
	tcase_add_test(tu, test_user_32bit_layout);
	tcase_add_test(tu, test_user_host_errors);
	suite_add_tcase(s, tu);
	tcase_add_test(tk, test_kvm_backend);
	suite_add_tcase(s, tk);
	return run_suite(s);
}
