#include "smm/smm_user.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smm/savestate.h"
#include "smm/savestate_kvm.h"
#include "vmm/exit.h"
#include "vmm/log.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"

#ifndef KVM_GUESTDBG_BLOCKIRQ
#define KVM_GUESTDBG_BLOCKIRQ 0x00100000
#endif

#define DR6_BS            (1ULL << 14)
#define DR7_GE_FIXED      0x600ULL   /* GE | bit 10 (reads as one) */
#define STEP_WARN         1000000
#define PTE_P             1ULL
#define PTE_PS            (1ULL << 7)
#define PTE_ADDR          0x000ffffffffff000ULL

/* The bytes before RSM in edk2's StuffRsb64 / StuffRsb32 (add rsp,0x100 / add esp,0x80). */
static const uint8_t sig64[] = { 0x48, 0x81, 0xc4, 0x00, 0x01, 0x00, 0x00, 0x0f, 0xaa };
static const uint8_t sig32[] = { 0x81, 0xc4, 0x80, 0x00, 0x00, 0x00, 0x0f, 0xaa };

/* ---- pure helpers (unit-tested) ---- */

static int add_unique(uint64_t *lin, int n, int max, uint64_t a)
{
	int i;

	for (i = 0; i < n; i++)
		if (lin[i] == a)
			return n;
	if (n < max)
		lin[n++] = a;
	return n;
}

static int scan(const struct guest_mem *mem, uint64_t from, uint64_t *lin, int n, int max)
{
	const uint8_t *p = NULL;
	uint64_t len = SMM_RSM_SCAN_LEN;
	uint64_t i;

	/* Near the end of RAM, scan what there is. */
	while (len >= sizeof(sig64) && !(p = gmem_ptr(mem, from, len, false)))
		len /= 2;
	if (!p)
		return n;
	for (i = 0; i + sizeof(sig32) <= len && n < max; i++) {
		if (i + sizeof(sig64) <= len && !memcmp(p + i, sig64, sizeof(sig64)))
			n = add_unique(lin, n, max, from + i + sizeof(sig64) - 2);
		else if (!memcmp(p + i, sig32, sizeof(sig32)))
			n = add_unique(lin, n, max, from + i + sizeof(sig32) - 2);
	}
	return n;
}

/*
 * OVMF's SMBASE relocation entry (PiSmmCpuDxeSmm SmmInit.nasm), copied to
 * 0x38000: "mov ebp, [cs:disp16]" (X64, the pointer to SmmStartup follows)
 * or "mov ebp, imm32" (IA32), then "sub ebp, 0x30000; jmp ebp". Returns
 * the linear address it jumps to, or 0.
 */
static uint64_t reloc_target(const struct guest_mem *mem, uint32_t smbase)
{
	const uint8_t *p = gmem_ptr(mem, (uint64_t)smbase + MM_SMM_HANDLER_OFF, 8, false);
	uint64_t target, seg_base = 0;
	uint8_t q[8];
	int i = 0;

	if (!p)
		return 0;
	/* Prefixes: operand size (required) and an optional CS override. */
	if (p[i] == 0x2e) {
		seg_base = smbase;
		i++;
	}
	if (p[i++] != 0x66)
		return 0;
	if (p[i] == 0x2e && !seg_base) {
		seg_base = smbase;
		i++;
	}
	if (p[i] == 0xbd && i == 1) {
		target = ld_le32(p + 2);                     /* mov ebp, imm32 */
	} else if (p[i] == 0x8b && p[i + 1] == 0x2e) {       /* mov ebp, [disp16] */
		if (gmem_read(mem, seg_base + ld_le16(p + i + 2), q, sizeof(q)) < 0)
			return 0;
		target = ld_le32(q);
	} else {
		return 0;
	}
	/* jmp ebp with CS.base = SMBASE, after subtracting the default SMBASE. */
	return (uint32_t)(target - MM_SMBASE_DEFAULT + smbase);
}

int smm_user_find_rsm(const struct guest_mem *mem, uint32_t smbase, uint64_t *lin, int max)
{
	const uint8_t *entry = gmem_ptr(mem, (uint64_t)smbase + MM_SMM_HANDLER_OFF, 2, false);
	uint64_t t;
	int n = 0;

	if (max <= 0)
		return 0;
	/* A handler that is just RSM: single-stepping would execute it unseen. */
	if (entry && entry[0] == 0x0f && entry[1] == 0xaa)
		n = add_unique(lin, n, max, (uint64_t)smbase + MM_SMM_HANDLER_OFF);
	n = scan(mem, (uint64_t)smbase + MM_SMM_HANDLER_OFF, lin, n, max);
	t = reloc_target(mem, smbase);
	if (t)
		n = scan(mem, t, lin, n, max);
	return n;
}

static int rd_pte(const struct guest_mem *mem, uint64_t gpa, bool wide, uint64_t *e)
{
	uint8_t b[8];

	if (gmem_read(mem, gpa, b, wide ? 8 : 4) < 0)
		return -EFAULT;
	*e = wide ? ld_le64(b) : ld_le32(b);
	return (*e & PTE_P) ? 0 : -EFAULT;
}

int smm_user_translate(const struct guest_mem *mem, uint64_t cr0, uint64_t cr3, uint64_t cr4,
		       uint64_t efer, uint64_t lin, uint64_t *gpa)
{
	uint64_t e, table;
	int level, shift;

	if (!(cr0 & SMM_CR0_PG)) {
		*gpa = (efer & SMM_EFER_LMA) ? lin : (uint32_t)lin;
		return 0;
	}
	if (efer & SMM_EFER_LMA) {
		table = cr3 & PTE_ADDR;
		for (level = (cr4 & SMM_CR4_LA57) ? 5 : 4; level >= 1; level--) {
			shift = 12 + 9 * (level - 1);
			if (rd_pte(mem, table + ((lin >> shift) & 511) * 8, true, &e) < 0)
				return -EFAULT;
			if ((level == 2 || level == 3) && (e & PTE_PS)) {
				*gpa = (e & PTE_ADDR & ~((1ULL << shift) - 1)) |
				       (lin & ((1ULL << shift) - 1));
				return 0;
			}
			table = e & PTE_ADDR;
		}
		*gpa = table | (lin & 0xfff);
		return 0;
	}
	lin = (uint32_t)lin;
	if (cr4 & SMM_CR4_PAE) {
		if (rd_pte(mem, (cr3 & 0xffffffe0ULL) + ((lin >> 30) & 3) * 8, true, &e) < 0 ||
		    rd_pte(mem, (e & PTE_ADDR) + ((lin >> 21) & 511) * 8, true, &e) < 0)
			return -EFAULT;
		if (e & PTE_PS) {
			*gpa = (e & PTE_ADDR & ~0x1fffffULL) | (lin & 0x1fffff);
			return 0;
		}
		if (rd_pte(mem, (e & PTE_ADDR) + ((lin >> 12) & 511) * 8, true, &e) < 0)
			return -EFAULT;
		*gpa = (e & PTE_ADDR) | (lin & 0xfff);
		return 0;
	}
	if (rd_pte(mem, (cr3 & 0xfffff000ULL) + (lin >> 22) * 4, false, &e) < 0)
		return -EFAULT;
	if ((e & PTE_PS) && (cr4 & SMM_CR4_PSE)) {
		/* 4 MiB page; PSE-36 puts address bits 39:32 in bits 20:13. */
		*gpa = (e & 0xffc00000ULL) | (((e >> 13) & 0xff) << 32) | (lin & 0x3fffff);
		return 0;
	}
	if (rd_pte(mem, (e & 0xfffff000ULL) + ((lin >> 12) & 1023) * 4, false, &e) < 0)
		return -EFAULT;
	*gpa = (e & 0xfffff000ULL) | (lin & 0xfff);
	return 0;
}

void smm_user_entry_state(struct kvm_regs *r, struct kvm_sregs *s, uint32_t smbase, bool lm)
{
	struct kvm_segment seg = {
		.limit = 0xffffffff, .type = 3, .s = 1, .dpl = 0, .db = 0, .l = 0, .g = 1,
		.avl = 0, .present = 1, .unusable = 0,
	};

	r->rip = MM_SMM_HANDLER_OFF;
	r->rflags = SMM_RFLAGS_FIXED;
	s->cr0 &= ~(SMM_CR0_PE | SMM_CR0_EM | SMM_CR0_TS | SMM_CR0_PG);
	s->cr4 = 0;
	if (lm)
		s->efer = 0;
	/* Undocumented but what KVM does: the IDT limit is zero in SMM. */
	s->idt.base = 0;
	s->idt.limit = 0;
	s->ds = s->es = s->fs = s->gs = s->ss = seg;
	seg.selector = (uint16_t)(smbase >> 4);
	seg.base = smbase;
	s->cs = seg;
}

/* ---- guest memory views ---- */

static void *ram_ptr(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	return vm_gpa_ptr(opaque, gpa, len);
}

/* Memory as the vCPU will see it after RSM, when no vCPU stays in SMM. */
static void *after_rsm_ptr(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	struct smm *smm = opaque;

	if (smm->nr_in_smm <= 1 && smm_gpa_hidden(smm, gpa, len))
		return NULL;
	return vm_gpa_ptr(smm->vm, gpa, len);
}

/* ---- RSM address cache (single-step discoveries, per SMBASE) ---- */

static bool cache_lookup(struct smm *smm, uint32_t smbase, uint64_t *lin)
{
	bool hit = false;
	int i;

	pthread_mutex_lock(&smm->cache_lock);
	for (i = 0; i < SMM_RSM_CACHE && !hit; i++) {
		if (smm->rsm_cache[i].valid && smm->rsm_cache[i].smbase == smbase) {
			*lin = smm->rsm_cache[i].lin;
			hit = true;
		}
	}
	pthread_mutex_unlock(&smm->cache_lock);
	return hit;
}

static void cache_set(struct smm *smm, uint32_t smbase, uint64_t lin, bool valid)
{
	int i, slot = -1;

	pthread_mutex_lock(&smm->cache_lock);
	for (i = 0; i < SMM_RSM_CACHE; i++)
		if (smm->rsm_cache[i].valid && smm->rsm_cache[i].smbase == smbase)
			slot = i;
	if (slot < 0 && valid)
		slot = (int)(smm->rsm_cache_next++ % SMM_RSM_CACHE);
	if (slot >= 0) {
		smm->rsm_cache[slot].valid = valid;
		smm->rsm_cache[slot].smbase = smbase;
		smm->rsm_cache[slot].lin = lin;
	}
	pthread_mutex_unlock(&smm->cache_lock);
}

/* ---- KVM plumbing ---- */

static int set_guest_debug(struct smm *smm, struct vcpu *v, uint32_t control,
			   const uint64_t *bp, int nr)
{
	struct kvm_guest_debug dbg;
	int i;

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = control;
	if ((control & KVM_GUESTDBG_SINGLESTEP) &&
	    (v->vm->kvm->caps.guest_debug2 & KVM_GUESTDBG_BLOCKIRQ))
		dbg.control |= KVM_GUESTDBG_BLOCKIRQ;
	if (nr > 0) {
		/* Execution breakpoints: R/W = 00, LEN = 00, Gn enabled. */
		dbg.arch.debugreg[7] = DR7_GE_FIXED;
		for (i = 0; i < nr && i < 4; i++) {
			dbg.arch.debugreg[i] = bp[i];
			dbg.arch.debugreg[7] |= 2ULL << (2 * i);
		}
	}
	return vcpu_ioctl(v, KVM_SET_GUEST_DEBUG, &dbg);
}

static bool is_rsm_at(struct smm *smm, uint64_t gpa)
{
	const uint8_t *p = vm_gpa_ptr(smm->vm, gpa, 2);

	return p && p[0] == 0x0f && p[1] == 0xaa;
}

static int arm_catch(struct smm *smm, struct smm_vcpu *sv, struct vcpu *v)
{
	struct guest_mem ram = { .ptr = ram_ptr, .opaque = smm->vm };
	uint64_t lin[SMM_MAX_BP];
	int n;

	n = smm_user_find_rsm(&ram, sv->smbase, lin, SMM_MAX_BP);
	if (n == 0 && cache_lookup(smm, sv->smbase, &lin[0])) {
		if (is_rsm_at(smm, lin[0]))
			n = 1;
		else
			cache_set(smm, sv->smbase, 0, false);    /* the handler changed */
	}
	sv->steps = 0;
	if (n > 0) {
		memcpy(sv->bp, lin, sizeof(lin[0]) * (size_t)n);
		sv->nr_bp = n;
		sv->catch_mode = SMM_CATCH_HWBP;
		return set_guest_debug(smm, v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, lin, n);
	}
	sv->nr_bp = 0;
	sv->catch_mode = SMM_CATCH_STEP;
	return set_guest_debug(smm, v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, NULL, 0);
}

/*
 * The vCPU stopped on an I/O or MMIO exit whose instruction is not
 * finished yet (RIP still points at it). Re-enter with immediate_exit:
 * KVM completes the access and returns -EINTR without running the guest.
 */
static int complete_io(struct vcpu *v)
{
	int i, r;

	for (i = 0; i < 16; i++) {
		v->run->immediate_exit = 1;
		r = vcpu_run_once(v);
		v->run->immediate_exit = 0;
		if (r == -EINTR || r == -EAGAIN)
			return 0;
		if (r < 0)
			return smm_fail(v, "completing I/O before SMI entry: KVM_RUN: %s",
					strerror(-r));
		/* Completion needed another round trip (e.g. a split MMIO access). */
		if (v->run->exit_reason != KVM_EXIT_IO && v->run->exit_reason != KVM_EXIT_MMIO)
			return smm_fail(v, "unexpected exit %u while completing I/O before SMI",
					v->run->exit_reason);
		if (vcpu_handle_exit(v, v->run) != VCPU_CONTINUE)
			return smm_fail(v, "I/O before SMI entry failed: %s", v->exit_msg);
	}
	return smm_fail(v, "I/O before SMI entry does not complete");
}

static bool vcpu_waiting_for_sipi(struct smm *smm, struct vcpu *v)
{
	struct kvm_mp_state mp;

	if (!smm->cfg.kernel_irqchip || vcpu_ioctl(v, KVM_GET_MP_STATE, &mp) < 0)
		return false;
	if (mp.mp_state == KVM_MP_STATE_HALTED) {
		/* An SMI wakes a halted CPU; KVM does not restart the HLT either. */
		mp.mp_state = KVM_MP_STATE_RUNNABLE;
		vcpu_ioctl(v, KVM_SET_MP_STATE, &mp);
		return false;
	}
	return mp.mp_state == KVM_MP_STATE_INIT_RECEIVED ||
	       mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
	       mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED;
}

static const char *catch_name(const struct smm_vcpu *sv)
{
	return sv->catch_mode == SMM_CATCH_HWBP ? "hw-breakpoint" : "single-step";
}

/* ---- SMI entry ---- */

static int enter_smm(struct smm *smm, struct smm_vcpu *sv, struct vcpu *v)
{
	struct kvm_vcpu_events ev;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dbg;
	struct smm_cpu_state st;
	uint8_t *save;
	uint64_t t0 = smm_now_ns();
	int r;

	if (sv->need_complete) {
		if (complete_io(v) < 0)
			return -1;
		sv->need_complete = false;
	}
	r = vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &ev);
	if (r < 0)
		return smm_fail(v, "KVM_GET_VCPU_EVENTS: %s", strerror(-r));
	if (ev.nmi.injected || ev.exception.pending ||
	    (ev.interrupt.injected && ev.interrupt.soft)) {
		/*
		 * An NMI (or a software interrupt, or a payload exception)
		 * cannot be held back and handed over again faithfully: let
		 * the guest take it and enter at the next exit, which the
		 * interrupt window brings soon. (Single-stepping instead would
		 * leak TF into the frame the event pushes.)
		 */
		v->run->request_interrupt_window = 1;
		smm_stat_add(&smm->stats.deferred, 1);
		return 0;
	}
	if (vcpu_waiting_for_sipi(smm, v))
		return 0;        /* the SMI stays pending until the AP runs */
	if ((r = vcpu_ioctl(v, KVM_GET_REGS, &regs)) < 0 ||
	    (r = vcpu_ioctl(v, KVM_GET_SREGS, &sregs)) < 0 ||
	    (r = vcpu_ioctl(v, KVM_GET_DEBUGREGS, &dbg)) < 0)
		return smm_fail(v, "reading registers for SMI entry: %s", strerror(-r));
	save = vm_gpa_ptr(smm->vm, (uint64_t)sv->smbase + SMM_SAVE_BASE, SMM_SAVE_SIZE);
	if (!save)
		return smm_fail(v, "SMBASE 0x%x puts the state-save area outside RAM", sv->smbase);
	smm_state_from_kvm(&st, &regs, &sregs, &dbg, &ev);
	st.smbase = sv->smbase;
	smm_save_encode(&st, smm->layout, save);

	/* Committed: an SMI raised from now on is latched until RSM. */
	atomic_store(&sv->pending, false);
	sv->held = ev.interrupt.injected || ev.exception.injected;
	if (sv->held) {
		sv->held_ev = ev;
		ev.interrupt.injected = 0;
		ev.exception.injected = 0;
	}
	pthread_mutex_lock(&smm->vm->bql);
	smm->nr_in_smm++;
	smm_views_update(smm, sv->smbase);
	pthread_mutex_unlock(&smm->vm->bql);

	smm_user_entry_state(&regs, &sregs, sv->smbase, smm->caps.lm);
	/* With a userspace irqchip a bit here would queue that interrupt again. */
	memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
	if ((r = vcpu_ioctl(v, KVM_SET_SREGS, &sregs)) < 0 ||
	    (r = vcpu_ioctl(v, KVM_SET_REGS, &regs)) < 0)
		return smm_fail(v, "loading the SMM entry state: %s", strerror(-r));
	if (dbg.dr7 != SMM_DR7_FIXED) {
		dbg.dr7 = SMM_DR7_FIXED;
		r = vcpu_ioctl(v, KVM_SET_DEBUGREGS, &dbg);
		if (r < 0)
			return smm_fail(v, "KVM_SET_DEBUGREGS: %s", strerror(-r));
	}
	sv->inside_nmi = ev.nmi.masked;
	ev.nmi.masked = 1;
	ev.interrupt.shadow = 0;
	ev.flags = KVM_VCPUEVENT_VALID_SHADOW | (ev.flags & KVM_VCPUEVENT_VALID_PAYLOAD);
	r = vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev);
	if (r < 0)
		return smm_fail(v, "KVM_SET_VCPU_EVENTS at SMI entry: %s", strerror(-r));
	smm_set_vcpu_smm(sv, true);
	r = arm_catch(smm, sv, v);
	if (r < 0)
		return smm_fail(v, "cannot catch RSM (KVM_SET_GUEST_DEBUG): %s", strerror(-r));
	/*
	 * These describe the state before the SMI; hooks that still run in
	 * this iteration must not inject an interrupt into the handler.
	 */
	v->run->if_flag = 0;
	v->run->ready_for_interrupt_injection = 0;

	sv->t_entry = t0;
	sv->entry_ns = smm_now_ns() - t0;
	smm_stat_add(&smm->stats.entries, 1);
	smm_stat_add(&smm->stats.entry_ns, sv->entry_ns);
	TRACE(TRACE_SMM, "smm: cpu%d SMI entry (user): smbase=0x%x rev=0x%08x entry_rip=0x%llx "
	      "saved_rip=0x%llx catch=%s%s0x%llx", v->id, sv->smbase,
	      smm_layout_revision(smm->layout), (unsigned long long)MM_SMM_HANDLER_OFF,
	      (unsigned long long)st.rip, catch_name(sv), sv->nr_bp ? "@" : " ",
	      (unsigned long long)(sv->nr_bp ? sv->bp[0] : 0));
	return 0;
}

/* ---- RSM ---- */

static int triple_fault(struct vcpu *v, uint32_t smbase, const char *why)
{
	snprintf(v->exit_msg, sizeof(v->exit_msg),
		 "RSM: invalid SMRAM state-save area at 0x%x: %s (triple fault)",
		 smbase + SMM_SAVE_BASE, why);
	TRACE(TRACE_SMM, "smm: cpu%d %s", v->id, v->exit_msg);
	return VCPU_SHUTDOWN;
}

static int do_rsm(struct smm *smm, struct smm_vcpu *sv, struct vcpu *v, struct kvm_sregs *sregs)
{
	struct guest_mem after = { .ptr = after_rsm_ptr, .opaque = smm };
	uint8_t img[SMM_SAVE_SIZE];
	const uint8_t *save;
	struct smm_cpu_state st;
	struct kvm_regs regs;
	struct kvm_debugregs dbg;
	struct kvm_vcpu_events ev;
	uint32_t old_smbase = sv->smbase;
	uint64_t t0 = smm_now_ns(), rt;
	const char *why;
	int r;

	save = vm_gpa_ptr(smm->vm, (uint64_t)old_smbase + SMM_SAVE_BASE, SMM_SAVE_SIZE);
	if (!save)
		return triple_fault(v, old_smbase, "not in RAM");
	memcpy(img, save, sizeof(img));
	smm_save_decode(img, smm->layout, &st);
	why = smm_rsm_validate(&st, smm->layout, &smm->caps, &after);
	if (why)
		return triple_fault(v, old_smbase, why);

	r = vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &ev);
	if (r < 0)
		goto fail;
	/* Disarm first: with single-step on, KVM would hide a restored RFLAGS.TF. */
	r = set_guest_debug(smm, v, 0, NULL, 0);
	if (r < 0)
		goto fail;
	memset(&regs, 0, sizeof(regs));
	smm_state_to_kvm(&st, smm->layout, &regs, sregs);
	r = vcpu_ioctl(v, KVM_SET_SREGS, sregs);
	if (r == -EINVAL)
		return triple_fault(v, old_smbase, "KVM rejected the restored segment/control "
				    "registers");
	if (r < 0)
		goto fail;
	r = vcpu_ioctl(v, KVM_SET_REGS, &regs);
	if (r < 0)
		goto fail;
	r = vcpu_ioctl(v, KVM_GET_DEBUGREGS, &dbg);
	if (r < 0)
		goto fail;
	if (dbg.dr6 != st.dr6 || dbg.dr7 != st.dr7) {
		dbg.dr6 = st.dr6;
		dbg.dr7 = st.dr7;
		r = vcpu_ioctl(v, KVM_SET_DEBUGREGS, &dbg);
		if (r < 0)
			goto fail;
	}
	/* NMIs stay blocked if SMM was entered from an NMI handler. */
	ev.nmi.masked = sv->inside_nmi;
	if (sv->held) {
		ev.interrupt.injected = sv->held_ev.interrupt.injected;
		ev.interrupt.nr = sv->held_ev.interrupt.nr;
		ev.interrupt.soft = 0;
		ev.exception = sv->held_ev.exception;
		sv->held = false;
	}
	ev.interrupt.shadow = st.int_shadow & (KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI);
	ev.flags = KVM_VCPUEVENT_VALID_SHADOW | (ev.flags & KVM_VCPUEVENT_VALID_PAYLOAD);
	r = vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev);
	if (r < 0)
		goto fail;

	/* SMBASE relocation takes effect here, whatever the revision says. */
	sv->smbase = st.smbase;
	sv->catch_mode = SMM_CATCH_NONE;
	pthread_mutex_lock(&smm->vm->bql);
	smm->nr_in_smm--;
	smm_set_vcpu_smm(sv, false);         /* releases a latched INIT */
	smm_views_update(smm, 0);
	pthread_mutex_unlock(&smm->vm->bql);

	rt = smm_now_ns() - sv->t_entry;
	smm_stat_add(&smm->stats.rsms, 1);
	smm_stat_add(&smm->stats.exit_ns, smm_now_ns() - t0);
	smm_stat_add(&smm->stats.roundtrip_ns, rt);
	smm_stat_max(&smm->stats.roundtrip_max_ns, rt);
	if (trace_on(TRACE_SMM)) {
		char reloc[40] = "";

		if (st.smbase != old_smbase)
			snprintf(reloc, sizeof(reloc), " relocated to 0x%x", st.smbase);
		trace_printf("smm: cpu%d RSM (user): smbase=0x%x%s rev=0x%08x rip=0x%llx "
			     "entry=%lluns rsm=%lluns rt=%lluns", v->id, old_smbase, reloc,
			     st.revision, (unsigned long long)regs.rip,
			     (unsigned long long)sv->entry_ns,
			     (unsigned long long)(smm_now_ns() - t0), (unsigned long long)rt);
	}
	/* A latched SMI is still pending: the next pre_run enters SMM again. */
	return VCPU_CONTINUE;
fail:
	snprintf(v->exit_msg, sizeof(v->exit_msg), "RSM emulation failed: %s", strerror(-r));
	return VCPU_ERROR;
}

static int rsm_catch(struct smm *smm, struct smm_vcpu *sv, struct vcpu *v, struct kvm_run *run)
{
	struct guest_mem ram = { .ptr = ram_ptr, .opaque = smm->vm };
	struct kvm_sregs sregs;
	uint64_t pc = run->debug.arch.pc, gpa;
	bool ours_bp = run->debug.arch.dr6 & 0xf;
	int r;

	if (run->debug.arch.exception != 1)
		return -1;
	r = vcpu_ioctl(v, KVM_GET_SREGS, &sregs);
	if (r < 0) {
		snprintf(v->exit_msg, sizeof(v->exit_msg), "KVM_GET_SREGS in SMM: %s",
			 strerror(-r));
		return VCPU_ERROR;
	}
	if (smm_user_translate(&ram, sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer, pc, &gpa) == 0 &&
	    is_rsm_at(smm, gpa)) {
		if (sv->catch_mode == SMM_CATCH_STEP)
			cache_set(smm, sv->smbase, pc, true);
		else
			smm_stat_add(&smm->stats.hwbp_hits, 1);
		return do_rsm(smm, sv, v, &sregs);
	}
	if (sv->catch_mode == SMM_CATCH_HWBP) {
		/*
		 * Our breakpoint, but no RSM there (the page tables do not
		 * identity-map it, or the handler changed): find it by stepping.
		 */
		if (ours_bp) {
			TRACE(TRACE_SMM, "smm: cpu%d breakpoint at 0x%llx is not RSM; single-stepping",
			      v->id, (unsigned long long)pc);
			sv->catch_mode = SMM_CATCH_STEP;
			sv->nr_bp = 0;
			r = set_guest_debug(smm, v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
					    NULL, 0);
			if (r < 0) {
				snprintf(v->exit_msg, sizeof(v->exit_msg),
					 "KVM_SET_GUEST_DEBUG: %s", strerror(-r));
				return VCPU_ERROR;
			}
		}
		return VCPU_CONTINUE;
	}
	sv->steps++;
	smm_stat_add(&smm->stats.steps, 1);
	if (sv->steps == STEP_WARN)
		log_warn("cpu%d: smm: %d single steps and no RSM yet (SMBASE 0x%x); the handler "
			 "has no known RSM signature", v->id, STEP_WARN, sv->smbase);
	return VCPU_CONTINUE;
}

/* ---- hooks ---- */

static int user_pre_run(void *opaque, struct vcpu *v)
{
	struct smm_vcpu *sv = v->smm;

	struct smm *smm = opaque;

	if (!sv || sv->in_smm || !atomic_load_explicit(&sv->pending, memory_order_relaxed))
		return 0;
	if (smm->cfg.smi_blocked && smm->cfg.smi_blocked(smm->cfg.opaque, v->id))
		return 0;        /* delivered once the SIPI has started the AP */
	return enter_smm(smm, sv, v);
}

static void user_post_run(void *opaque, struct vcpu *v)
{
	struct smm_vcpu *sv = v->smm;

	/* -EINTR returns leave a stale reason: completing twice is harmless. */
	if (sv)
		sv->need_complete = v->run->exit_reason == KVM_EXIT_IO ||
				    v->run->exit_reason == KVM_EXIT_MMIO;
}

static int user_handle_exit(void *opaque, struct vcpu *v, struct kvm_run *run)
{
	struct smm_vcpu *sv = v->smm;

	if (!sv || run->exit_reason != KVM_EXIT_DEBUG)
		return -1;
	if (sv->in_smm)
		return rsm_catch(opaque, sv, v, run);
	return -1;
}

static void user_vcpu_reset(struct smm *smm, struct smm_vcpu *sv)
{
	if (sv->v && (sv->in_smm || sv->catch_mode != SMM_CATCH_NONE))
		set_guest_debug(smm, sv->v, 0, NULL, 0);
	if (sv->in_smm) {
		smm_set_vcpu_smm(sv, false);
		if (smm->nr_in_smm > 0)
			smm->nr_in_smm--;
	}
	atomic_store(&sv->pending, false);
	sv->smbase = MM_SMBASE_DEFAULT;
	sv->held = false;
	sv->need_complete = false;
	sv->catch_mode = SMM_CATCH_NONE;
	sv->nr_bp = 0;
}

static void user_hook_reset(void *opaque, struct vcpu *v)
{
	if (v->smm)
		user_vcpu_reset(opaque, v->smm);
}

static const struct vcpu_hooks user_hooks = {
	.name = "smm-user",
	.vcpu_init = smm_hook_vcpu_init,
	.pre_run = user_pre_run,
	.post_run = user_post_run,
	.handle_exit = user_handle_exit,
	.vcpu_reset = user_hook_reset,
};

const struct smm_impl_ops smm_user_ops = {
	.name = "user",
	.hooks = &user_hooks,
	.vcpu_reset = user_vcpu_reset,
};
