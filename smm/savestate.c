#include "smm/savestate.h"

#include <errno.h>
#include <string.h>

#include "vmm/util.h"

/*
 * Offsets below are relative to the start of the 512-byte area, i.e. to
 * SMBASE + 0xFE00. KVM's CHECK_SMRAM{32,64}_OFFSET asserts (and OVMF's
 * QemuSmramSaveStateMap.h, which adds 0x8000 and starts at 0x7C00) give
 * the same map as SMBASE-relative numbers: subtract 0xFE00.
 */

/* ---- 32-bit layout (revision 0x00020000) ---- */
#define S32_SMBASE          0x0f8
#define S32_REVISION        0x0fc
#define S32_IO_INST_RESTART 0x100   /* u16 */
#define S32_AUTO_HLT        0x102   /* u16 */
#define S32_IO_RDI          0x104
#define S32_IO_RCX          0x108
#define S32_IO_RSI          0x10c
#define S32_IO_RIP          0x110
#define S32_CR4             0x114
#define S32_INT_SHADOW      0x11a   /* u8, KVM extension */
#define S32_IDTR            0x150   /* {flags, limit, base} records */
#define S32_GDTR            0x16c
#define S32_SEL             0x1a8   /* es, cs, ss, ds, fs, gs selectors (u32 each) */
#define S32_LDTR_SEL        0x1c0
#define S32_TR_SEL          0x1c4
#define S32_DR7             0x1c8
#define S32_DR6             0x1cc
#define S32_GPRS            0x1d0   /* EAX..EDI */
#define S32_EIP             0x1f0
#define S32_EFLAGS          0x1f4
#define S32_CR3             0x1f8
#define S32_CR0             0x1fc

/* Where each segment's {flags, limit, base} record lives in the 32-bit layout. */
static const uint16_t s32_seg_rec[SMM_NR_SEGS] = {
	[SMM_ES] = 0x184, [SMM_CS] = 0x190, [SMM_SS] = 0x19c,
	[SMM_DS] = 0x12c, [SMM_FS] = 0x138, [SMM_GS] = 0x144,
	[SMM_TR] = 0x15c, [SMM_LDTR] = 0x178,
};

/* ---- 64-bit layout (revision 0x00020064) ---- */
#define S64_GDTR            0x060   /* limit at +4, base at +8 */
#define S64_LDTR            0x070
#define S64_IDTR            0x080
#define S64_TR              0x090
#define S64_IO_RIP          0x0a0
#define S64_IO_RCX          0x0a8
#define S64_IO_RSI          0x0b0
#define S64_IO_RDI          0x0b8
#define S64_IO_DWORD        0x0c0
#define S64_IO_INST_RESTART 0x0c8   /* u8 */
#define S64_AUTO_HLT        0x0c9   /* u8 */
#define S64_INT_SHADOW      0x0cb   /* u8, KVM extension */
#define S64_EFER            0x0d0
#define S64_REVISION        0x0fc
#define S64_SMBASE          0x100
#define S64_CR4             0x148
#define S64_CR3             0x150
#define S64_CR0             0x158
#define S64_DR7             0x160
#define S64_DR6             0x168
#define S64_RFLAGS          0x170
#define S64_RIP             0x178
#define S64_GPRS            0x180   /* R15 first, RAX last */

static uint16_t s64_seg_rec(enum smm_seg_idx i)
{
	if (i == SMM_TR)
		return S64_TR;
	if (i == SMM_LDTR)
		return S64_LDTR;
	return (uint16_t)(i * 16);     /* ES, CS, SS, DS, FS, GS from 0 */
}

uint32_t smm_seg_flags(const struct smm_seg *s)
{
	return (uint32_t)s->g << 23 | (uint32_t)s->db << 22 | (uint32_t)s->l << 21 |
	       (uint32_t)s->avl << 20 | (uint32_t)s->present << 15 |
	       (uint32_t)(s->dpl & 3) << 13 | (uint32_t)s->s << 12 |
	       (uint32_t)(s->type & 15) << 8;
}

void smm_seg_set_flags(struct smm_seg *s, uint32_t flags)
{
	s->g = (flags >> 23) & 1;
	s->db = (flags >> 22) & 1;
	s->l = (flags >> 21) & 1;
	s->avl = (flags >> 20) & 1;
	s->present = (flags >> 15) & 1;
	s->dpl = (flags >> 13) & 3;
	s->s = (flags >> 12) & 1;
	s->type = (flags >> 8) & 15;
	/* RSM has no other notion of a null segment than "not present". */
	s->unusable = !s->present;
}

static void encode32(const struct smm_cpu_state *st, uint8_t *b)
{
	int i;

	st_le32(b + S32_CR0, (uint32_t)st->cr0);
	st_le32(b + S32_CR3, (uint32_t)st->cr3);
	st_le32(b + S32_EFLAGS, (uint32_t)st->rflags);
	st_le32(b + S32_EIP, (uint32_t)st->rip);
	for (i = 0; i < 8; i++)
		st_le32(b + S32_GPRS + 4 * i, (uint32_t)st->gpr[i]);
	st_le32(b + S32_DR6, (uint32_t)st->dr6);
	st_le32(b + S32_DR7, (uint32_t)st->dr7);
	for (i = 0; i < SMM_NR_SEGS; i++) {
		const struct smm_seg *s = &st->seg[i];
		uint8_t *rec = b + s32_seg_rec[i];

		st_le32(rec, smm_seg_flags(s));
		st_le32(rec + 4, s->limit);
		st_le32(rec + 8, (uint32_t)s->base);
	}
	for (i = SMM_ES; i <= SMM_GS; i++)
		st_le32(b + S32_SEL + 4 * i, st->seg[i].selector);
	st_le32(b + S32_LDTR_SEL, st->seg[SMM_LDTR].selector);
	st_le32(b + S32_TR_SEL, st->seg[SMM_TR].selector);
	st_le32(b + S32_GDTR + 4, st->gdtr.limit);
	st_le32(b + S32_GDTR + 8, (uint32_t)st->gdtr.base);
	st_le32(b + S32_IDTR + 4, st->idtr.limit);
	st_le32(b + S32_IDTR + 8, (uint32_t)st->idtr.base);
	st_le32(b + S32_CR4, (uint32_t)st->cr4);
	st_le32(b + S32_REVISION, SMM_REVISION_32);
	st_le32(b + S32_SMBASE, st->smbase);
	st_le16(b + S32_IO_INST_RESTART, st->io_inst_restart);
	st_le16(b + S32_AUTO_HLT, st->auto_hlt_restart);
	st_le32(b + S32_IO_RDI, (uint32_t)st->io_restart_rdi);
	st_le32(b + S32_IO_RCX, (uint32_t)st->io_restart_rcx);
	st_le32(b + S32_IO_RSI, (uint32_t)st->io_restart_rsi);
	st_le32(b + S32_IO_RIP, (uint32_t)st->io_restart_rip);
	b[S32_INT_SHADOW] = st->int_shadow;
}

static void decode32(const uint8_t *b, struct smm_cpu_state *st)
{
	int i;

	st->cr0 = ld_le32(b + S32_CR0);
	st->cr3 = ld_le32(b + S32_CR3);
	st->rflags = ld_le32(b + S32_EFLAGS);
	st->rip = ld_le32(b + S32_EIP);
	for (i = 0; i < 8; i++)
		st->gpr[i] = ld_le32(b + S32_GPRS + 4 * i);
	st->dr6 = ld_le32(b + S32_DR6);
	st->dr7 = ld_le32(b + S32_DR7);
	for (i = 0; i < SMM_NR_SEGS; i++) {
		struct smm_seg *s = &st->seg[i];
		const uint8_t *rec = b + s32_seg_rec[i];

		smm_seg_set_flags(s, ld_le32(rec));
		s->limit = ld_le32(rec + 4);
		s->base = ld_le32(rec + 8);
	}
	for (i = SMM_ES; i <= SMM_GS; i++)
		st->seg[i].selector = (uint16_t)ld_le32(b + S32_SEL + 4 * i);
	st->seg[SMM_LDTR].selector = (uint16_t)ld_le32(b + S32_LDTR_SEL);
	st->seg[SMM_TR].selector = (uint16_t)ld_le32(b + S32_TR_SEL);
	st->gdtr.limit = (uint16_t)ld_le32(b + S32_GDTR + 4);
	st->gdtr.base = ld_le32(b + S32_GDTR + 8);
	st->idtr.limit = (uint16_t)ld_le32(b + S32_IDTR + 4);
	st->idtr.base = ld_le32(b + S32_IDTR + 8);
	st->cr4 = ld_le32(b + S32_CR4);
	st->revision = ld_le32(b + S32_REVISION);
	st->smbase = ld_le32(b + S32_SMBASE);
	st->io_inst_restart = (uint8_t)ld_le16(b + S32_IO_INST_RESTART);
	st->auto_hlt_restart = (uint8_t)ld_le16(b + S32_AUTO_HLT);
	st->io_restart_rdi = ld_le32(b + S32_IO_RDI);
	st->io_restart_rcx = ld_le32(b + S32_IO_RCX);
	st->io_restart_rsi = ld_le32(b + S32_IO_RSI);
	st->io_restart_rip = ld_le32(b + S32_IO_RIP);
	st->int_shadow = b[S32_INT_SHADOW];
}

static void encode_seg64(uint8_t *rec, const struct smm_seg *s)
{
	st_le16(rec, s->selector);
	st_le16(rec + 2, (uint16_t)(smm_seg_flags(s) >> 8));
	st_le32(rec + 4, s->limit);
	st_le64(rec + 8, s->base);
}

static void decode_seg64(const uint8_t *rec, struct smm_seg *s)
{
	s->selector = ld_le16(rec);
	smm_seg_set_flags(s, (uint32_t)ld_le16(rec + 2) << 8);
	s->limit = ld_le32(rec + 4);
	s->base = ld_le64(rec + 8);
}

static void encode64(const struct smm_cpu_state *st, uint8_t *b)
{
	int i;

	for (i = 0; i < SMM_NR_SEGS; i++)
		encode_seg64(b + s64_seg_rec(i), &st->seg[i]);
	st_le32(b + S64_GDTR + 4, st->gdtr.limit);
	st_le64(b + S64_GDTR + 8, st->gdtr.base);
	st_le32(b + S64_IDTR + 4, st->idtr.limit);
	st_le64(b + S64_IDTR + 8, st->idtr.base);
	st_le64(b + S64_IO_RIP, st->io_restart_rip);
	st_le64(b + S64_IO_RCX, st->io_restart_rcx);
	st_le64(b + S64_IO_RSI, st->io_restart_rsi);
	st_le64(b + S64_IO_RDI, st->io_restart_rdi);
	st_le32(b + S64_IO_DWORD, st->io_restart_dword);
	b[S64_IO_INST_RESTART] = st->io_inst_restart;
	b[S64_AUTO_HLT] = st->auto_hlt_restart;
	b[S64_INT_SHADOW] = st->int_shadow;
	st_le64(b + S64_EFER, st->efer);
	st_le32(b + S64_REVISION, SMM_REVISION_64);
	st_le32(b + S64_SMBASE, st->smbase);
	st_le64(b + S64_CR4, st->cr4);
	st_le64(b + S64_CR3, st->cr3);
	st_le64(b + S64_CR0, st->cr0);
	st_le64(b + S64_DR7, st->dr7);
	st_le64(b + S64_DR6, st->dr6);
	st_le64(b + S64_RFLAGS, st->rflags);
	st_le64(b + S64_RIP, st->rip);
	for (i = 0; i < SMM_NR_GPRS; i++)
		st_le64(b + S64_GPRS + 8 * (15 - i), st->gpr[i]);
}

static void decode64(const uint8_t *b, struct smm_cpu_state *st)
{
	int i;

	for (i = 0; i < SMM_NR_SEGS; i++)
		decode_seg64(b + s64_seg_rec(i), &st->seg[i]);
	st->gdtr.limit = (uint16_t)ld_le32(b + S64_GDTR + 4);
	st->gdtr.base = ld_le64(b + S64_GDTR + 8);
	st->idtr.limit = (uint16_t)ld_le32(b + S64_IDTR + 4);
	st->idtr.base = ld_le64(b + S64_IDTR + 8);
	st->io_restart_rip = ld_le64(b + S64_IO_RIP);
	st->io_restart_rcx = ld_le64(b + S64_IO_RCX);
	st->io_restart_rsi = ld_le64(b + S64_IO_RSI);
	st->io_restart_rdi = ld_le64(b + S64_IO_RDI);
	st->io_restart_dword = ld_le32(b + S64_IO_DWORD);
	st->io_inst_restart = b[S64_IO_INST_RESTART];
	st->auto_hlt_restart = b[S64_AUTO_HLT];
	st->int_shadow = b[S64_INT_SHADOW];
	st->efer = ld_le64(b + S64_EFER);
	st->revision = ld_le32(b + S64_REVISION);
	st->smbase = ld_le32(b + S64_SMBASE);
	st->cr4 = ld_le64(b + S64_CR4);
	st->cr3 = ld_le64(b + S64_CR3);
	st->cr0 = ld_le64(b + S64_CR0);
	st->dr7 = ld_le64(b + S64_DR7);
	st->dr6 = ld_le64(b + S64_DR6);
	st->rflags = ld_le64(b + S64_RFLAGS);
	st->rip = ld_le64(b + S64_RIP);
	for (i = 0; i < SMM_NR_GPRS; i++)
		st->gpr[i] = ld_le64(b + S64_GPRS + 8 * (15 - i));
}

int smm_save_encode(const struct smm_cpu_state *st, enum smm_layout layout,
		    uint8_t buf[SMM_SAVE_SIZE])
{
	if (layout != SMM_LAYOUT_32 && layout != SMM_LAYOUT_64)
		return -EINVAL;
	/* Reserved and unimplemented fields (SVM, SSP) read as zero, as in KVM. */
	memset(buf, 0, SMM_SAVE_SIZE);
	if (layout == SMM_LAYOUT_64)
		encode64(st, buf);
	else
		encode32(st, buf);
	return 0;
}

int smm_save_decode(const uint8_t buf[SMM_SAVE_SIZE], enum smm_layout layout,
		    struct smm_cpu_state *st)
{
	if (layout != SMM_LAYOUT_32 && layout != SMM_LAYOUT_64)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if (layout == SMM_LAYOUT_64)
		decode64(buf, st);
	else
		decode32(buf, st);
	return 0;
}

uint32_t smm_save_smbase(const uint8_t buf[SMM_SAVE_SIZE], enum smm_layout layout)
{
	return ld_le32(buf + (layout == SMM_LAYOUT_64 ? S64_SMBASE : S32_SMBASE));
}

void smm_caps_default(struct smm_cpu_caps *caps)
{
	caps->lm = true;
	caps->maxphyaddr = 40;
	caps->efer_valid = SMM_EFER_SCE | SMM_EFER_LME | SMM_EFER_LMA | SMM_EFER_NX;
	/* VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT: always allowed. */
	caps->cr4_valid = 0x7ff;
}

/* Bits 63:N of @v all equal bit N-1. */
static bool canonical(uint64_t v, unsigned bits)
{
	int64_t s = (int64_t)(v << (64 - bits)) >> (64 - bits);

	return (uint64_t)s == v;
}

/*
 * KVM's load_pdptrs(): with PAE paging outside long mode, RSM's CR0 write
 * reloads the four PDPTEs from CR3; a present entry with a reserved bit
 * (2:1, 8:5, or at/above MAXPHYADDR) makes the write fail.
 */
static const char *check_pdptes(const struct smm_cpu_state *st, const struct smm_cpu_caps *caps,
				const struct guest_mem *mem)
{
	uint64_t rsvd = (~0ULL << caps->maxphyaddr) | 0x1e6;
	uint8_t raw[32];
	int i;

	if (gmem_read(mem, st->cr3 & 0xffffffe0ULL, raw, sizeof(raw)) < 0)
		return "CR3: PAE page-directory-pointer table not in RAM";
	for (i = 0; i < 4; i++) {
		uint64_t e = ld_le64(raw + 8 * i);

		if ((e & 1) && (e & rsvd))
			return "CR3: PAE PDPTE with reserved bits set";
	}
	return NULL;
}

static const char *check_segments(const struct smm_cpu_state *st, bool long_mode,
				  bool layout64, unsigned vabits)
{
	const struct smm_seg *cs = &st->seg[SMM_CS];
	int i;

	if (cs->l && !long_mode)
		return "CS.L set outside long mode";
	if (cs->l && cs->db && long_mode)
		return "CS.L and CS.D both set";
	if (!layout64)
		return NULL;     /* 32-bit bases cannot be non-canonical */
	if (st->seg[SMM_CS].base >> 32)
		return "CS base above 4 GiB";
	for (i = SMM_ES; i <= SMM_DS; i++)
		if (!st->seg[i].unusable && (st->seg[i].base >> 32))
			return i == SMM_SS ? "SS base above 4 GiB" :
			       i == SMM_DS ? "DS base above 4 GiB" : "ES base above 4 GiB";
	if (!canonical(st->seg[SMM_FS].base, vabits))
		return "FS base not canonical";
	if (!canonical(st->seg[SMM_GS].base, vabits))
		return "GS base not canonical";
	if (!canonical(st->seg[SMM_TR].base, vabits))
		return "TR base not canonical";
	if (!st->seg[SMM_LDTR].unusable && !canonical(st->seg[SMM_LDTR].base, vabits))
		return "LDTR base not canonical";
	if (!canonical(st->gdtr.base, vabits))
		return "GDTR base not canonical";
	if (!canonical(st->idtr.base, vabits))
		return "IDTR base not canonical";
	return NULL;
}

const char *smm_rsm_validate(const struct smm_cpu_state *st, enum smm_layout layout,
			     const struct smm_cpu_caps *caps, const struct guest_mem *mem)
{
	bool layout64 = layout == SMM_LAYOUT_64;
	uint64_t efer = layout64 ? st->efer : 0;
	bool paging = st->cr0 & SMM_CR0_PG;
	bool long_mode = (efer & SMM_EFER_LME) && paging;
	unsigned vabits = (st->cr4 & SMM_CR4_LA57) ? 57 : 48;
	const char *why;

	if (layout != SMM_LAYOUT_32 && layout != SMM_LAYOUT_64)
		return "unknown save-state layout";
	/* kvm_set_dr(): DR6/DR7 bits 63:32 must be clear. */
	if (st->dr6 >> 32)
		return "DR6 bits 63:32 set";
	if (st->dr7 >> 32)
		return "DR7 bits 63:32 set";
	/* kvm_set_msr(EFER, saved & ~LMA): only bits CPUID allows. */
	if (layout64 && ((efer & ~SMM_EFER_LMA) & ~caps->efer_valid))
		return "EFER reserved bit set (not allowed by CPUID)";
	/* kvm_set_cr3(): no bits at or above MAXPHYADDR. */
	if (caps->maxphyaddr < 64 && (st->cr3 >> caps->maxphyaddr))
		return "CR3 beyond MAXPHYADDR";
	/* kvm_set_cr4() / kvm_is_valid_cr4(). */
	if (st->cr4 & ~caps->cr4_valid)
		return "CR4 reserved bit set (not allowed by CPUID)";
	/* kvm_is_valid_cr0(). */
	if (st->cr0 >> 32)
		return "CR0 bits 63:32 set";
	if ((st->cr0 & SMM_CR0_PG) && !(st->cr0 & SMM_CR0_PE))
		return "CR0.PG set without CR0.PE";
	if ((st->cr0 & SMM_CR0_NW) && !(st->cr0 & SMM_CR0_CD))
		return "CR0.NW set without CR0.CD";
	/* kvm_set_cr0() with EFER.LME: long mode needs PAE first. */
	if (long_mode && !(st->cr4 & SMM_CR4_PAE))
		return "EFER.LME and CR0.PG set without CR4.PAE";
	/* kvm_set_cr4(): PCIDE only with EFER.LMA. */
	if ((st->cr4 & SMM_CR4_PCIDE) && !long_mode)
		return "CR4.PCIDE set outside long mode";
	if (paging && (st->cr4 & SMM_CR4_PAE) && !long_mode && mem) {
		why = check_pdptes(st, caps, mem);
		if (why)
			return why;
	}
	/* What KVM_SET_SREGS and VM entry would refuse. */
	why = check_segments(st, long_mode, layout64, vabits);
	if (why)
		return why;
	if (st->rflags & ~0x3f7fd7ULL)
		return "RFLAGS reserved bit set";
	if ((st->rflags & SMM_RFLAGS_VM) && (long_mode || !(st->cr0 & SMM_CR0_PE)))
		return "RFLAGS.VM set in long mode or real mode";
	if (long_mode && st->seg[SMM_CS].l && !canonical(st->rip, vabits))
		return "RIP not canonical";
	return NULL;
}
