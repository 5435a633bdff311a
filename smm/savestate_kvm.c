#include "smm/savestate_kvm.h"

#include <string.h>

#include "vmm/kvm.h"

void smm_seg_from_kvm(struct smm_seg *d, const struct kvm_segment *s)
{
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->selector;
	d->type = s->type & 15;
	d->dpl = s->dpl & 3;
	d->s = s->s;
	d->present = s->present;
	d->db = s->db;
	d->l = s->l;
	d->g = s->g;
	d->avl = s->avl;
	d->unusable = s->unusable;
}

void smm_seg_to_kvm(struct kvm_segment *d, const struct smm_seg *s)
{
	memset(d, 0, sizeof(*d));
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->selector;
	d->type = s->type & 15;
	d->dpl = s->dpl & 3;
	d->s = s->s;
	d->present = s->present;
	d->db = s->db;
	d->l = s->l;
	d->g = s->g;
	d->avl = s->avl;
	d->unusable = s->unusable;
}

void smm_state_from_kvm(struct smm_cpu_state *st, const struct kvm_regs *r,
			const struct kvm_sregs *s, const struct kvm_debugregs *dbg,
			const struct kvm_vcpu_events *ev)
{
	memset(st, 0, sizeof(*st));
	st->gpr[SMM_RAX] = r->rax;
	st->gpr[SMM_RCX] = r->rcx;
	st->gpr[SMM_RDX] = r->rdx;
	st->gpr[SMM_RBX] = r->rbx;
	st->gpr[SMM_RSP] = r->rsp;
	st->gpr[SMM_RBP] = r->rbp;
	st->gpr[SMM_RSI] = r->rsi;
	st->gpr[SMM_RDI] = r->rdi;
	st->gpr[SMM_R8] = r->r8;
	st->gpr[SMM_R9] = r->r9;
	st->gpr[SMM_R10] = r->r10;
	st->gpr[SMM_R11] = r->r11;
	st->gpr[SMM_R12] = r->r12;
	st->gpr[SMM_R13] = r->r13;
	st->gpr[SMM_R14] = r->r14;
	st->gpr[SMM_R15] = r->r15;
	st->rip = r->rip;
	st->rflags = r->rflags;
	smm_seg_from_kvm(&st->seg[SMM_ES], &s->es);
	smm_seg_from_kvm(&st->seg[SMM_CS], &s->cs);
	smm_seg_from_kvm(&st->seg[SMM_SS], &s->ss);
	smm_seg_from_kvm(&st->seg[SMM_DS], &s->ds);
	smm_seg_from_kvm(&st->seg[SMM_FS], &s->fs);
	smm_seg_from_kvm(&st->seg[SMM_GS], &s->gs);
	smm_seg_from_kvm(&st->seg[SMM_TR], &s->tr);
	smm_seg_from_kvm(&st->seg[SMM_LDTR], &s->ldt);
	st->gdtr.base = s->gdt.base;
	st->gdtr.limit = s->gdt.limit;
	st->idtr.base = s->idt.base;
	st->idtr.limit = s->idt.limit;
	st->cr0 = s->cr0;
	st->cr3 = s->cr3;
	st->cr4 = s->cr4;
	st->efer = s->efer;
	if (dbg) {
		st->dr6 = dbg->dr6;
		st->dr7 = dbg->dr7;
	}
	if (ev)
		st->int_shadow = ev->interrupt.shadow &
				 (KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI);
}

void smm_state_to_kvm(const struct smm_cpu_state *st, enum smm_layout layout,
		      struct kvm_regs *r, struct kvm_sregs *s)
{
	uint64_t efer = s->efer;
	bool code64;

	r->rax = st->gpr[SMM_RAX];
	r->rcx = st->gpr[SMM_RCX];
	r->rdx = st->gpr[SMM_RDX];
	r->rbx = st->gpr[SMM_RBX];
	r->rsp = st->gpr[SMM_RSP];
	r->rbp = st->gpr[SMM_RBP];
	r->rsi = st->gpr[SMM_RSI];
	r->rdi = st->gpr[SMM_RDI];
	r->r8 = st->gpr[SMM_R8];
	r->r9 = st->gpr[SMM_R9];
	r->r10 = st->gpr[SMM_R10];
	r->r11 = st->gpr[SMM_R11];
	r->r12 = st->gpr[SMM_R12];
	r->r13 = st->gpr[SMM_R13];
	r->r14 = st->gpr[SMM_R14];
	r->r15 = st->gpr[SMM_R15];
	r->rflags = st->rflags | SMM_RFLAGS_FIXED;
	smm_seg_to_kvm(&s->es, &st->seg[SMM_ES]);
	smm_seg_to_kvm(&s->cs, &st->seg[SMM_CS]);
	smm_seg_to_kvm(&s->ss, &st->seg[SMM_SS]);
	smm_seg_to_kvm(&s->ds, &st->seg[SMM_DS]);
	smm_seg_to_kvm(&s->fs, &st->seg[SMM_FS]);
	smm_seg_to_kvm(&s->gs, &st->seg[SMM_GS]);
	smm_seg_to_kvm(&s->tr, &st->seg[SMM_TR]);
	smm_seg_to_kvm(&s->ldt, &st->seg[SMM_LDTR]);
	s->gdt.base = st->gdtr.base;
	s->gdt.limit = st->gdtr.limit;
	s->idt.base = st->idtr.base;
	s->idt.limit = st->idtr.limit;
	/* kvm_set_cr0(): reserved low bits are dropped, ET reads as one. */
	s->cr0 = (st->cr0 & SMM_CR0_VALID) | SMM_CR0_ET;
	s->cr3 = st->cr3;
	s->cr4 = st->cr4;
	if (layout == SMM_LAYOUT_64) {
		/* RSM writes EFER without LMA; CR0.PG then derives it. */
		efer = st->efer & ~SMM_EFER_LMA;
		if ((efer & SMM_EFER_LME) && (s->cr0 & SMM_CR0_PG))
			efer |= SMM_EFER_LMA;
		s->efer = efer;
	}
	/* The emulator writes EIP back truncated unless in 64-bit code. */
	code64 = (efer & SMM_EFER_LMA) && st->seg[SMM_CS].l;
	r->rip = code64 ? st->rip : (uint32_t)st->rip;
}

void smm_caps_from_cpuid(struct smm_cpu_caps *caps, const struct kvm_cpuid2 *cpuid)
{
	const struct kvm_cpuid_entry2 *e;
	uint32_t ecx1 = 0, ebx7 = 0, ecx7 = 0, edx7 = 0;

	smm_caps_default(caps);
	if (!cpuid)
		return;
	caps->lm = false;
	caps->maxphyaddr = 36;
	caps->efer_valid = SMM_EFER_SCE;
	e = kvm_find_cpuid(cpuid, 0x80000001, 0);
	if (e) {
		if (e->edx & (1u << 29))
			caps->lm = true;
		if (e->edx & (1u << 20))
			caps->efer_valid |= SMM_EFER_NX;
		if (e->edx & (1u << 25))
			caps->efer_valid |= SMM_EFER_FFXSR;
		if (e->ecx & (1u << 2))
			caps->efer_valid |= SMM_EFER_SVME;
	}
	if (caps->lm)
		caps->efer_valid |= SMM_EFER_LME | SMM_EFER_LMA;
	e = kvm_find_cpuid(cpuid, 0x80000021, 0);
	if (e && (e->eax & (1u << 8)))
		caps->efer_valid |= SMM_EFER_AUTOIBRS;
	e = kvm_find_cpuid(cpuid, 0x80000008, 0);
	if (e && (e->eax & 0xff) >= 32 && (e->eax & 0xff) <= 52)
		caps->maxphyaddr = e->eax & 0xff;
	e = kvm_find_cpuid(cpuid, 1, 0);
	if (e)
		ecx1 = e->ecx;
	e = kvm_find_cpuid(cpuid, 7, 0);
	if (e) {
		ebx7 = e->ebx;
		ecx7 = e->ecx;
		edx7 = e->edx;
	}
	/* __cr4_reserved_bits(): the feature-dependent CR4 bits. */
	caps->cr4_valid = 0x7ff;
	if (ecx7 & (1u << 2))
		caps->cr4_valid |= 1ULL << 11;          /* UMIP */
	if (ecx7 & (1u << 16))
		caps->cr4_valid |= SMM_CR4_LA57;
	if (ecx1 & (1u << 5))
		caps->cr4_valid |= 1ULL << 13;          /* VMXE */
	if (ebx7 & (1u << 0))
		caps->cr4_valid |= 1ULL << 16;          /* FSGSBASE */
	if (ecx1 & (1u << 17))
		caps->cr4_valid |= SMM_CR4_PCIDE;
	if (ecx1 & (1u << 26))
		caps->cr4_valid |= 1ULL << 18;          /* OSXSAVE */
	if (ebx7 & (1u << 7))
		caps->cr4_valid |= 1ULL << 20;          /* SMEP */
	if (ebx7 & (1u << 20))
		caps->cr4_valid |= 1ULL << 21;          /* SMAP */
	if (ecx7 & (1u << 3))
		caps->cr4_valid |= 1ULL << 22;          /* PKE */
	if ((ecx7 & (1u << 7)) || (edx7 & (1u << 20)))
		caps->cr4_valid |= 1ULL << 23;          /* CET (SHSTK or IBT) */
	e = kvm_find_cpuid(cpuid, 7, 1);
	if (e && (e->eax & (1u << 26)))
		caps->cr4_valid |= 1ULL << 28;          /* LAM_SUP */
}
