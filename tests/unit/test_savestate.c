/*
 * Unit tests for smm/savestate.c and smm/savestate_kvm.c: the SMRAM
 * state-save area layouts (every field at the offset KVM's
 * CHECK_SMRAM*_OFFSET asserts and OVMF's QemuSmramSaveStateMap.h give),
 * round trips, RSM validation and the KVM struct conversions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smm/savestate.h"
#include "smm/savestate_kvm.h"
#include "tests/unit/support.h"

/* SMBASE-relative offset -> index into the 512-byte buffer. */
#define O(x) ((x) - 0xfe00)

static uint64_t rd(const uint8_t *b, unsigned off, unsigned size)
{
	switch (size) {
	case 1: return b[O(off)];
	case 2: return ld_le16(b + O(off));
	case 4: return ld_le32(b + O(off));
	default: return ld_le64(b + O(off));
	}
}

/* A state whose every field holds a distinct, recognisable value. */
static void distinct_state(struct smm_cpu_state *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < SMM_NR_GPRS; i++)
		st->gpr[i] = 0x1111111100000000ULL * (uint64_t)(i + 1) + 0x10 + (uint64_t)i;
	st->rip = 0xffffffff81000123ULL;
	st->rflags = 0x246;
	for (i = 0; i < SMM_NR_SEGS; i++) {
		struct smm_seg *s = &st->seg[i];

		s->base = 0x1000ULL * (uint64_t)(i + 1) + 0xa0000000ULL;
		s->limit = 0xfff00 + (uint32_t)i;
		s->selector = (uint16_t)(0x08 * (i + 1));
		s->type = (uint8_t)(3 + i);
		s->dpl = (uint8_t)(i & 3);
		s->s = true;
		s->present = true;
		s->db = i & 1;
		s->g = true;
	}
	st->gdtr.base = 0xfffffe0000001000ULL;
	st->gdtr.limit = 0x7f;
	st->idtr.base = 0xfffffe0000002000ULL;
	st->idtr.limit = 0xfff;
	st->cr0 = 0x80050033;
	st->cr3 = 0x12345000;
	st->cr4 = 0x3606f0;
	st->efer = 0xd01;
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x401;
	st->smbase = 0x7ffaf000;
	st->int_shadow = 2;
	st->auto_hlt_restart = 1;
	st->io_inst_restart = 0xff;
	st->io_restart_rip = 0xaaaa0001;
	st->io_restart_rcx = 0xaaaa0002;
	st->io_restart_rsi = 0xaaaa0003;
	st->io_restart_rdi = 0xaaaa0004;
	st->io_restart_dword = 0xaaaa0005;
}

START_TEST(test_layout64_offsets)
{
	static const unsigned seg_off[SMM_NR_SEGS] = {
		[SMM_ES] = 0xfe00, [SMM_CS] = 0xfe10, [SMM_SS] = 0xfe20, [SMM_DS] = 0xfe30,
		[SMM_FS] = 0xfe40, [SMM_GS] = 0xfe50, [SMM_LDTR] = 0xfe70, [SMM_TR] = 0xfe90,
	};
	struct smm_cpu_state st;
	uint8_t b[SMM_SAVE_SIZE];
	int i;

	distinct_state(&st);
	ck_assert_int_eq(smm_save_encode(&st, SMM_LAYOUT_64, b), 0);
	for (i = 0; i < SMM_NR_SEGS; i++) {
		ck_assert_uint_eq(rd(b, seg_off[i], 2), st.seg[i].selector);
		ck_assert_uint_eq(rd(b, seg_off[i] + 2, 2), smm_seg_flags(&st.seg[i]) >> 8);
		ck_assert_uint_eq(rd(b, seg_off[i] + 4, 4), st.seg[i].limit);
		ck_assert_uint_eq(rd(b, seg_off[i] + 8, 8), st.seg[i].base);
	}
	ck_assert_uint_eq(rd(b, 0xfe64, 4), st.gdtr.limit);
	ck_assert_uint_eq(rd(b, 0xfe68, 8), st.gdtr.base);
	ck_assert_uint_eq(rd(b, 0xfe84, 4), st.idtr.limit);
	ck_assert_uint_eq(rd(b, 0xfe88, 8), st.idtr.base);
	ck_assert_uint_eq(rd(b, 0xfea0, 8), st.io_restart_rip);
	ck_assert_uint_eq(rd(b, 0xfea8, 8), st.io_restart_rcx);
	ck_assert_uint_eq(rd(b, 0xfeb0, 8), st.io_restart_rsi);
	ck_assert_uint_eq(rd(b, 0xfeb8, 8), st.io_restart_rdi);
	ck_assert_uint_eq(rd(b, 0xfec0, 4), st.io_restart_dword);
	ck_assert_uint_eq(rd(b, 0xfec8, 1), st.io_inst_restart);
	ck_assert_uint_eq(rd(b, 0xfec9, 1), st.auto_hlt_restart);
	ck_assert_uint_eq(rd(b, 0xfeca, 1), 0);             /* amd_nmi_mask */
	ck_assert_uint_eq(rd(b, 0xfecb, 1), st.int_shadow);
	ck_assert_uint_eq(rd(b, 0xfed0, 8), st.efer);
	ck_assert_uint_eq(rd(b, 0xfed8, 8), 0);             /* svm_guest_flag */
	ck_assert_uint_eq(rd(b, 0xfefc, 4), 0x00020064);
	ck_assert_uint_eq(rd(b, 0xff00, 4), st.smbase);
	ck_assert_uint_eq(rd(b, 0xff18, 8), 0);             /* ssp: not implemented */
	ck_assert_uint_eq(rd(b, 0xff48, 8), st.cr4);
	ck_assert_uint_eq(rd(b, 0xff50, 8), st.cr3);
	ck_assert_uint_eq(rd(b, 0xff58, 8), st.cr0);
	ck_assert_uint_eq(rd(b, 0xff60, 8), st.dr7);
	ck_assert_uint_eq(rd(b, 0xff68, 8), st.dr6);
	ck_assert_uint_eq(rd(b, 0xff70, 8), st.rflags);
	ck_assert_uint_eq(rd(b, 0xff78, 8), st.rip);
	/* GPRs in reversed natural order: R15 at 0xFF80 ... RAX at 0xFFF8. */
	ck_assert_uint_eq(rd(b, 0xff80, 8), st.gpr[SMM_R15]);
	ck_assert_uint_eq(rd(b, 0xffc8, 8), st.gpr[SMM_RSI]);
	ck_assert_uint_eq(rd(b, 0xffd8, 8), st.gpr[SMM_RSP]);
	ck_assert_uint_eq(rd(b, 0xffe0, 8), st.gpr[SMM_RBX]);
	ck_assert_uint_eq(rd(b, 0xfff0, 8), st.gpr[SMM_RCX]);
	ck_assert_uint_eq(rd(b, 0xfff8, 8), st.gpr[SMM_RAX]);
	for (i = 0; i < SMM_NR_GPRS; i++)
		ck_assert_uint_eq(rd(b, 0xfff8 - 8 * (unsigned)i, 8), st.gpr[i]);
	ck_assert_uint_eq(smm_save_smbase(b, SMM_LAYOUT_64), st.smbase);
}
END_TEST

START_TEST(test_layout32_offsets)
{
	/* {flags, limit, base} records and the selector slots, per segment. */
	static const unsigned rec[SMM_NR_SEGS] = {
		[SMM_ES] = 0xff84, [SMM_CS] = 0xff90, [SMM_SS] = 0xff9c, [SMM_DS] = 0xff2c,
		[SMM_FS] = 0xff38, [SMM_GS] = 0xff44, [SMM_LDTR] = 0xff78, [SMM_TR] = 0xff5c,
	};
	static const unsigned sel[SMM_NR_SEGS] = {
		[SMM_ES] = 0xffa8, [SMM_CS] = 0xffac, [SMM_SS] = 0xffb0, [SMM_DS] = 0xffb4,
		[SMM_FS] = 0xffb8, [SMM_GS] = 0xffbc, [SMM_LDTR] = 0xffc0, [SMM_TR] = 0xffc4,
	};
	struct smm_cpu_state st;
	uint8_t b[SMM_SAVE_SIZE];
	int i;

	distinct_state(&st);
	ck_assert_int_eq(smm_save_encode(&st, SMM_LAYOUT_32, b), 0);
	ck_assert_uint_eq(rd(b, 0xfef8, 4), st.smbase);
	ck_assert_uint_eq(rd(b, 0xfefc, 4), 0x00020000);
	ck_assert_uint_eq(rd(b, 0xff00, 2), st.io_inst_restart);
	ck_assert_uint_eq(rd(b, 0xff02, 2), st.auto_hlt_restart);
	ck_assert_uint_eq(rd(b, 0xff04, 4), (uint32_t)st.io_restart_rdi);
	ck_assert_uint_eq(rd(b, 0xff08, 4), (uint32_t)st.io_restart_rcx);
	ck_assert_uint_eq(rd(b, 0xff0c, 4), (uint32_t)st.io_restart_rsi);
	ck_assert_uint_eq(rd(b, 0xff10, 4), (uint32_t)st.io_restart_rip);
	ck_assert_uint_eq(rd(b, 0xff14, 4), (uint32_t)st.cr4);
	ck_assert_uint_eq(rd(b, 0xff18, 2), 0);             /* reserved2 */
	ck_assert_uint_eq(rd(b, 0xff1a, 1), st.int_shadow);
	for (i = 0; i < SMM_NR_SEGS; i++) {
		ck_assert_uint_eq(rd(b, rec[i], 4), smm_seg_flags(&st.seg[i]));
		ck_assert_uint_eq(rd(b, rec[i] + 4, 4), st.seg[i].limit);
		ck_assert_uint_eq(rd(b, rec[i] + 8, 4), (uint32_t)st.seg[i].base);
		ck_assert_uint_eq(rd(b, sel[i], 4), st.seg[i].selector);
	}
	ck_assert_uint_eq(rd(b, 0xff54, 4), st.idtr.limit);
	ck_assert_uint_eq(rd(b, 0xff58, 4), (uint32_t)st.idtr.base);
	ck_assert_uint_eq(rd(b, 0xff68, 4), 0);             /* reserved between TR and GDTR */
	ck_assert_uint_eq(rd(b, 0xff70, 4), st.gdtr.limit);
	ck_assert_uint_eq(rd(b, 0xff74, 4), (uint32_t)st.gdtr.base);
	ck_assert_uint_eq(rd(b, 0xffc8, 4), (uint32_t)st.dr7);
	ck_assert_uint_eq(rd(b, 0xffcc, 4), (uint32_t)st.dr6);
	for (i = 0; i < 8; i++)          /* EAX at 0xFFD0 ... EDI at 0xFFEC */
		ck_assert_uint_eq(rd(b, 0xffd0 + 4 * (unsigned)i, 4), (uint32_t)st.gpr[i]);
	ck_assert_uint_eq(rd(b, 0xffec, 4), (uint32_t)st.gpr[SMM_RDI]);
	ck_assert_uint_eq(rd(b, 0xfff0, 4), (uint32_t)st.rip);
	ck_assert_uint_eq(rd(b, 0xfff4, 4), (uint32_t)st.rflags);
	ck_assert_uint_eq(rd(b, 0xfff8, 4), (uint32_t)st.cr3);
	ck_assert_uint_eq(rd(b, 0xfffc, 4), (uint32_t)st.cr0);
	/* The first 248 bytes are reserved in this layout. */
	for (i = 0; i < 0xf8; i++)
		ck_assert_uint_eq(b[i], 0);
	ck_assert_uint_eq(smm_save_smbase(b, SMM_LAYOUT_32), st.smbase);
}
END_TEST

START_TEST(test_segment_flags)
{
	struct smm_seg cs64 = { .type = 0xb, .s = true, .present = true, .l = true, .g = true };
	struct smm_seg ss = { .type = 3, .s = true, .present = true, .db = true, .g = true,
			      .dpl = 3, .avl = true };
	struct smm_seg d;

	ck_assert_uint_eq(smm_seg_flags(&cs64), 0xa09b00);
	ck_assert_uint_eq(smm_seg_flags(&ss), 0xd0f300);
	/* Bits outside the packed fields are ignored on decode. */
	memset(&d, 0, sizeof(d));
	smm_seg_set_flags(&d, 0xa09b00 | 0xff0000ffu);
	ck_assert(d.g && !d.db && d.l && !d.avl && d.present && d.s);
	ck_assert_uint_eq(d.type, 0xb);
	ck_assert_uint_eq(d.dpl, 0);
	ck_assert(!d.unusable);
	/* Not present means unusable after RSM, as in KVM's rsm_set_desc_flags. */
	smm_seg_set_flags(&d, 0x0b00);
	ck_assert(!d.present && d.unusable);
	/* Oversized type/dpl values are masked, not spilled into other bits. */
	d = (struct smm_seg){ .type = 0xff, .dpl = 0xff };
	ck_assert_uint_eq(smm_seg_flags(&d), 0x6f00);
}
END_TEST

static uint64_t rng_state = 0x5eed5eed12345678ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic across runs. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* A random state restricted to what @layout can represent. */
static void random_state(struct smm_cpu_state *st, enum smm_layout layout)
{
	uint64_t m = layout == SMM_LAYOUT_64 ? ~0ULL : 0xffffffffULL;
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < SMM_NR_GPRS; i++)
		st->gpr[i] = (layout == SMM_LAYOUT_64 || i < 8) ? rnd() & m : 0;
	st->rip = rnd() & m;
	st->rflags = rnd() & m;
	for (i = 0; i < SMM_NR_SEGS; i++) {
		struct smm_seg *s = &st->seg[i];
		uint64_t r = rnd();

		s->base = rnd() & m;
		s->limit = (uint32_t)rnd();
		s->selector = (uint16_t)rnd();
		s->type = r & 15;
		s->dpl = (r >> 4) & 3;
		s->s = (r >> 6) & 1;
		s->present = (r >> 7) & 1;
		s->db = (r >> 8) & 1;
		s->l = (r >> 9) & 1;
		s->g = (r >> 10) & 1;
		s->avl = (r >> 11) & 1;
		s->unusable = !s->present;
	}
	st->gdtr.base = rnd() & m;
	st->gdtr.limit = (uint16_t)rnd();
	st->idtr.base = rnd() & m;
	st->idtr.limit = (uint16_t)rnd();
	st->cr0 = rnd() & m;
	st->cr3 = rnd() & m;
	st->cr4 = rnd() & m;
	st->efer = layout == SMM_LAYOUT_64 ? rnd() : 0;
	st->dr6 = rnd() & m;
	st->dr7 = rnd() & m;
	st->smbase = (uint32_t)rnd();
	st->revision = smm_layout_revision(layout);
	st->int_shadow = (uint8_t)rnd();
	st->auto_hlt_restart = (uint8_t)rnd();
	st->io_inst_restart = (uint8_t)rnd();
	st->io_restart_rip = rnd() & m;
	st->io_restart_rcx = rnd() & m;
	st->io_restart_rsi = rnd() & m;
	st->io_restart_rdi = rnd() & m;
	st->io_restart_dword = layout == SMM_LAYOUT_64 ? (uint32_t)rnd() : 0;
}

static void assert_state_eq(const struct smm_cpu_state *a, const struct smm_cpu_state *b)
{
	int i;

	for (i = 0; i < SMM_NR_GPRS; i++)
		ck_assert_uint_eq(a->gpr[i], b->gpr[i]);
	for (i = 0; i < SMM_NR_SEGS; i++) {
		ck_assert_uint_eq(a->seg[i].base, b->seg[i].base);
		ck_assert_uint_eq(a->seg[i].limit, b->seg[i].limit);
		ck_assert_uint_eq(a->seg[i].selector, b->seg[i].selector);
		ck_assert_uint_eq(smm_seg_flags(&a->seg[i]), smm_seg_flags(&b->seg[i]));
		ck_assert_int_eq(a->seg[i].unusable, b->seg[i].unusable);
	}
	ck_assert_uint_eq(a->rip, b->rip);
	ck_assert_uint_eq(a->rflags, b->rflags);
	ck_assert_uint_eq(a->gdtr.base, b->gdtr.base);
	ck_assert_uint_eq(a->gdtr.limit, b->gdtr.limit);
	ck_assert_uint_eq(a->idtr.base, b->idtr.base);
	ck_assert_uint_eq(a->idtr.limit, b->idtr.limit);
	ck_assert_uint_eq(a->cr0, b->cr0);
	ck_assert_uint_eq(a->cr3, b->cr3);
	ck_assert_uint_eq(a->cr4, b->cr4);
	ck_assert_uint_eq(a->efer, b->efer);
	ck_assert_uint_eq(a->dr6, b->dr6);
	ck_assert_uint_eq(a->dr7, b->dr7);
	ck_assert_uint_eq(a->smbase, b->smbase);
	ck_assert_uint_eq(a->revision, b->revision);
	ck_assert_uint_eq(a->int_shadow, b->int_shadow);
	ck_assert_uint_eq(a->auto_hlt_restart, b->auto_hlt_restart);
	ck_assert_uint_eq(a->io_inst_restart, b->io_inst_restart);
	ck_assert_uint_eq(a->io_restart_rip, b->io_restart_rip);
	ck_assert_uint_eq(a->io_restart_rcx, b->io_restart_rcx);
	ck_assert_uint_eq(a->io_restart_rsi, b->io_restart_rsi);
	ck_assert_uint_eq(a->io_restart_rdi, b->io_restart_rdi);
	ck_assert_uint_eq(a->io_restart_dword, b->io_restart_dword);
	ck_assert_mem_eq(a, b, sizeof(*a));
}

START_TEST(test_round_trip_random)
{
	enum smm_layout layout = _i ? SMM_LAYOUT_64 : SMM_LAYOUT_32;
	int n;

	for (n = 0; n < 2000; n++) {
		struct smm_cpu_state a, b;
		uint8_t img[SMM_SAVE_SIZE], img2[SMM_SAVE_SIZE];

		random_state(&a, layout);
		ck_assert_int_eq(smm_save_encode(&a, layout, img), 0);
		ck_assert_int_eq(smm_save_decode(img, layout, &b), 0);
		assert_state_eq(&a, &b);
		/* And the image itself survives decode + encode byte for byte. */
		ck_assert_int_eq(smm_save_encode(&b, layout, img2), 0);
		ck_assert_mem_eq(img, img2, sizeof(img));
	}
}
END_TEST

START_TEST(test_bad_layout)
{
	struct smm_cpu_state st;
	struct smm_cpu_caps caps;
	uint8_t b[SMM_SAVE_SIZE];

	distinct_state(&st);
	smm_caps_default(&caps);
	memset(b, 0xaa, sizeof(b));
	ck_assert_int_eq(smm_save_encode(&st, (enum smm_layout)7, b), -EINVAL);
	ck_assert_uint_eq(b[0], 0xaa);       /* untouched */
	ck_assert_int_eq(smm_save_decode(b, (enum smm_layout)-1, &st), -EINVAL);
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, (enum smm_layout)2, &caps, NULL));
}
END_TEST

/* A plausible 64-bit guest state as OVMF's DXE phase has it. */
static void long_mode_state(struct smm_cpu_state *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < SMM_NR_GPRS; i++)
		st->gpr[i] = 0x1000 + (uint64_t)i;
	st->rip = 0x7fe12345;
	st->rflags = 0x202;
	for (i = 0; i < SMM_NR_SEGS; i++) {
		st->seg[i] = (struct smm_seg){ .selector = 0x30, .type = 3, .s = true,
					       .present = true, .db = true, .g = true,
					       .limit = 0xffffffff };
	}
	st->seg[SMM_CS] = (struct smm_seg){ .selector = 0x38, .type = 0xb, .s = true,
					    .present = true, .l = true, .g = true,
					    .limit = 0xffffffff };
	st->seg[SMM_TR] = (struct smm_seg){ .type = 0xb, .present = true, .limit = 0x67 };
	st->seg[SMM_LDTR] = (struct smm_seg){ .type = 2, .unusable = true };
	st->gdtr = (struct smm_dtable){ .base = 0x7f9ee000, .limit = 0x47 };
	st->idtr = (struct smm_dtable){ .base = 0x7f40e018, .limit = 0xfff };
	st->cr0 = 0x80010033;
	st->cr3 = 0x7fc01000;
	st->cr4 = 0x668;
	st->efer = SMM_EFER_LME | SMM_EFER_LMA | SMM_EFER_NX;
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x400;
	st->smbase = 0x7ffb0000;
}

START_TEST(test_validate_accepts)
{
	struct smm_cpu_state st;
	struct smm_cpu_caps caps;

	smm_caps_default(&caps);
	long_mode_state(&st);
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	/* Real mode (RSM back into the reset code). */
	memset(&st, 0, sizeof(st));
	st.cr0 = 0x60000010;         /* CD|NW|ET: the reset value */
	st.rflags = 2;
	st.dr7 = 0x400;
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_32, &caps, NULL));
	/* Garbage EFER is not restored by the 32-bit layout, so not checked. */
	st.efer = ~0ULL;
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_32, &caps, NULL));
}
END_TEST

struct bad_case {
	const char *expect;         /* a word the reason must contain */
	void (*mutate)(struct smm_cpu_state *st);
};

static void m_dr6(struct smm_cpu_state *st) { st->dr6 |= 1ULL << 32; }
static void m_dr7(struct smm_cpu_state *st) { st->dr7 |= 1ULL << 40; }
static void m_efer(struct smm_cpu_state *st) { st->efer |= SMM_EFER_SVME; }
static void m_efer_rsvd(struct smm_cpu_state *st) { st->efer |= 1ULL << 4; }
static void m_cr0_pg(struct smm_cpu_state *st) { st->cr0 &= ~SMM_CR0_PE; }
static void m_cr0_nw(struct smm_cpu_state *st) { st->cr0 |= SMM_CR0_NW; st->cr0 &= ~SMM_CR0_CD; }
static void m_cr0_hi(struct smm_cpu_state *st) { st->cr0 |= 1ULL << 32; }
static void m_cr4(struct smm_cpu_state *st) { st->cr4 |= 1ULL << 14; /* SMXE */ }
static void m_cr4_pcide(struct smm_cpu_state *st) { st->cr4 |= SMM_CR4_PCIDE; }
static void m_cr3(struct smm_cpu_state *st) { st->cr3 |= 1ULL << 45; }
static void m_pae(struct smm_cpu_state *st) { st->cr4 &= ~SMM_CR4_PAE; }
static void m_csl(struct smm_cpu_state *st) { st->efer &= ~SMM_EFER_LME; st->cr4 &= ~SMM_CR4_PAE; }
static void m_csld(struct smm_cpu_state *st) { st->seg[SMM_CS].db = true; }
static void m_fs(struct smm_cpu_state *st) { st->seg[SMM_FS].base = 0x0000800000000000ULL; }
static void m_gdt(struct smm_cpu_state *st) { st->gdtr.base = 0x1234567800000000ULL; }
static void m_tr(struct smm_cpu_state *st) { st->seg[SMM_TR].base = 0x00f0000000000000ULL; }
static void m_ds(struct smm_cpu_state *st) { st->seg[SMM_DS].base = 1ULL << 32; }
static void m_cs(struct smm_cpu_state *st) { st->seg[SMM_CS].base = 1ULL << 33; }
static void m_rflags(struct smm_cpu_state *st) { st->rflags |= 1ULL << 15; }
static void m_vm(struct smm_cpu_state *st) { st->rflags |= SMM_RFLAGS_VM; }
static void m_rip(struct smm_cpu_state *st) { st->rip = 0x0000900000000000ULL; }

START_TEST(test_validate_rejects)
{
	static const struct bad_case cases[] = {
		{ "DR6", m_dr6 }, { "DR7", m_dr7 }, { "EFER", m_efer }, { "EFER", m_efer_rsvd },
		{ "CR0.PG", m_cr0_pg }, { "CR0.NW", m_cr0_nw }, { "CR0 bits", m_cr0_hi },
		{ "CR4", m_cr4 }, { "CR4", m_cr4_pcide }, { "CR3", m_cr3 },
		{ "CR4.PAE", m_pae }, { "CS.L", m_csl }, { "CS.D", m_csld }, { "FS", m_fs },
		{ "GDTR", m_gdt }, { "TR", m_tr }, { "DS", m_ds }, { "CS base", m_cs },
		{ "RFLAGS", m_rflags }, { "RFLAGS.VM", m_vm }, { "RIP", m_rip },
	};
	struct smm_cpu_caps caps;
	size_t i;

	smm_caps_default(&caps);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct smm_cpu_state st;
		const char *why;

		long_mode_state(&st);
		cases[i].mutate(&st);
		why = smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL);
		ck_assert_msg(why != NULL, "case %zu (%s) accepted", i, cases[i].expect);
		ck_assert_msg(strstr(why, cases[i].expect) != NULL, "case %zu: '%s' lacks '%s'",
			      i, why, cases[i].expect);
	}
}
END_TEST

START_TEST(test_validate_caps)
{
	struct smm_cpu_state st;
	struct smm_cpu_caps caps;

	smm_caps_default(&caps);
	long_mode_state(&st);
	/* PCIDE is fine in long mode once CPUID has PCID. */
	st.cr4 |= SMM_CR4_PCIDE;
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	caps.cr4_valid |= SMM_CR4_PCIDE;
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	/* ... but not outside long mode (32-bit code, no LME). */
	st.efer = 0;
	st.seg[SMM_CS].l = false;
	ck_assert_ptr_nonnull(strstr(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL),
				     "PCIDE"));
	long_mode_state(&st);
	/* A smaller MAXPHYADDR makes the same CR3 illegal. */
	st.cr3 = 1ULL << 37;
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	caps.maxphyaddr = 36;
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	/* LA57 widens canonical addresses. */
	long_mode_state(&st);
	smm_caps_default(&caps);
	st.seg[SMM_FS].base = 0x00ff000000000000ULL;
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	st.cr4 |= SMM_CR4_LA57;
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	caps.cr4_valid |= SMM_CR4_LA57;
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
	/* Non-LM EFER bits in a guest without LM. */
	long_mode_state(&st);
	caps.efer_valid = SMM_EFER_SCE | SMM_EFER_NX;
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, NULL));
}
END_TEST

START_TEST(test_validate_pdptes)
{
	struct fake_mem m;
	struct smm_cpu_state st;
	struct smm_cpu_caps caps;

	fake_mem_init(&m, 0, 1 << 20);
	smm_caps_default(&caps);
	memset(&st, 0, sizeof(st));
	/* 32-bit PAE paging, no long mode: PDPTEs at CR3 are checked. */
	st.cr0 = SMM_CR0_PE | SMM_CR0_PG | SMM_CR0_ET;
	st.cr4 = SMM_CR4_PAE;
	st.cr3 = 0x3000;
	st.rflags = 2;
	st_le64(m.buf + 0x3000, 0x4001);
	st_le64(m.buf + 0x3008, 0x5001);
	st_le64(m.buf + 0x3010, 0xfffffffffffffff6ULL);   /* not present: ignored */
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_64, &caps, &m.gm));
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_32, &caps, &m.gm));
	st_le64(m.buf + 0x3018, 0x6001 | (1ULL << 7));    /* PS is reserved here */
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, SMM_LAYOUT_32, &caps, &m.gm));
	st_le64(m.buf + 0x3018, 0x6001 | (1ULL << 50));   /* beyond MAXPHYADDR */
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, SMM_LAYOUT_32, &caps, &m.gm));
	/* Without memory the check is skipped. */
	ck_assert_ptr_null(smm_rsm_validate(&st, SMM_LAYOUT_32, &caps, NULL));
	/* A PDPT outside RAM cannot be loaded. */
	st_le64(m.buf + 0x3018, 0);
	st.cr3 = 0x7fe0000;
	ck_assert_ptr_nonnull(smm_rsm_validate(&st, SMM_LAYOUT_32, &caps, &m.gm));
	fake_mem_free(&m);
}
END_TEST

START_TEST(test_validate_garbage)
{
	struct smm_cpu_caps caps;
	int n, rejected = 0;

	smm_caps_default(&caps);
	for (n = 0; n < 3000; n++) {
		uint8_t img[SMM_SAVE_SIZE];
		struct smm_cpu_state st;
		size_t i;

		for (i = 0; i < sizeof(img); i += 8)
			st_le64(img + i, rnd());
		ck_assert_int_eq(smm_save_decode(img, n & 1 ? SMM_LAYOUT_64 : SMM_LAYOUT_32, &st),
				 0);
		if (smm_rsm_validate(&st, n & 1 ? SMM_LAYOUT_64 : SMM_LAYOUT_32, &caps, NULL))
			rejected++;
	}
	/* Random images are almost never a valid CPU state. */
	ck_assert_int_gt(rejected, 2900);
}
END_TEST

START_TEST(test_kvm_conversion)
{
	struct kvm_regs r = { .rax = 1, .rbx = 2, .rcx = 3, .rdx = 4, .rsi = 5, .rdi = 6,
			      .rsp = 7, .rbp = 8, .r8 = 9, .r15 = 16, .rip = 0xffff800000001000ULL,
			      .rflags = 0x10246 };
	struct kvm_sregs s, s2;
	struct kvm_debugregs d = { .dr6 = 0xffff4ff0, .dr7 = 0x403 };
	struct kvm_vcpu_events ev = { .interrupt.shadow = KVM_X86_SHADOW_INT_STI | 0xf0 };
	struct kvm_regs r2;
	struct smm_cpu_state st;

	memset(&s, 0, sizeof(s));
	s.cs = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = 0x38,
				     .type = 0xb, .present = 1, .s = 1, .l = 1, .g = 1 };
	s.ss = (struct kvm_segment){ .selector = 0x30, .type = 3, .present = 1, .s = 1,
				     .db = 1, .g = 1, .limit = 0xffffffff };
	s.fs = (struct kvm_segment){ .base = 0xffff888000000000ULL, .unusable = 1 };
	s.ldt = (struct kvm_segment){ .unusable = 1, .type = 2 };
	s.tr = (struct kvm_segment){ .type = 11, .present = 1, .limit = 0x67, .base = 0x5000 };
	s.gdt.base = 0x1000;
	s.gdt.limit = 0x57;
	s.cr0 = 0x80050033;
	s.cr3 = 0x9000;
	s.cr4 = 0x20;
	s.efer = SMM_EFER_LME | SMM_EFER_LMA | SMM_EFER_SCE;
	s.apic_base = 0xfee00900;
	s.cr2 = 0xdead;

	smm_state_from_kvm(&st, &r, &s, &d, &ev);
	ck_assert_uint_eq(st.gpr[SMM_RAX], 1);
	ck_assert_uint_eq(st.gpr[SMM_RCX], 3);
	ck_assert_uint_eq(st.gpr[SMM_RBX], 2);
	ck_assert_uint_eq(st.gpr[SMM_RSP], 7);
	ck_assert_uint_eq(st.gpr[SMM_RBP], 8);
	ck_assert_uint_eq(st.gpr[SMM_R15], 16);
	ck_assert_uint_eq(st.seg[SMM_CS].selector, 0x38);
	ck_assert(st.seg[SMM_CS].l);
	ck_assert(st.seg[SMM_FS].unusable);
	ck_assert_uint_eq(st.seg[SMM_TR].type, 11);
	ck_assert_uint_eq(st.int_shadow, KVM_X86_SHADOW_INT_STI);
	ck_assert_uint_eq(st.dr7, 0x403);
	ck_assert_uint_eq(st.efer, s.efer);

	/* Back again: LMA is derived, untouched fields survive. */
	memset(&r2, 0, sizeof(r2));
	s2 = s;
	s2.efer = 0;
	st.efer = SMM_EFER_LME | SMM_EFER_SCE;       /* saved without LMA */
	smm_state_to_kvm(&st, SMM_LAYOUT_64, &r2, &s2);
	ck_assert_mem_eq(&r, &r2, sizeof(r));
	ck_assert_uint_eq(s2.efer, SMM_EFER_LME | SMM_EFER_LMA | SMM_EFER_SCE);
	ck_assert_uint_eq(s2.apic_base, 0xfee00900);
	ck_assert_uint_eq(s2.cr2, 0xdead);
	ck_assert_mem_eq(&s2.cs, &s.cs, sizeof(s.cs));
	ck_assert_mem_eq(&s2.tr, &s.tr, sizeof(s.tr));
	ck_assert_uint_eq(s2.gdt.limit, 0x57);

	/* Outside 64-bit code RIP is truncated; reserved CR0 bits dropped, ET set. */
	st.seg[SMM_CS].l = false;
	st.cr0 = 0x80000001 | (1ULL << 8);
	smm_state_to_kvm(&st, SMM_LAYOUT_64, &r2, &s2);
	ck_assert_uint_eq(r2.rip, 0x1000);
	ck_assert_uint_eq(s2.cr0, 0x80000011);
	/* Paging off: no LMA even with LME. */
	st.cr0 = 0x11;
	smm_state_to_kvm(&st, SMM_LAYOUT_64, &r2, &s2);
	ck_assert_uint_eq(s2.efer & SMM_EFER_LMA, 0);
	/* The 32-bit layout leaves EFER alone. */
	s2.efer = 0x801;
	st.efer = 0;
	smm_state_to_kvm(&st, SMM_LAYOUT_32, &r2, &s2);
	ck_assert_uint_eq(s2.efer, 0x801);
	ck_assert_uint_eq(r2.rflags, 0x10246);
	st.rflags = 0;
	smm_state_to_kvm(&st, SMM_LAYOUT_32, &r2, &s2);
	ck_assert_uint_eq(r2.rflags, 2);             /* bit 1 always set */
}
END_TEST

static struct kvm_cpuid2 *make_cpuid(int n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));

	ck_assert_ptr_nonnull(c);
	c->nent = (uint32_t)n;
	return c;
}

START_TEST(test_caps_from_cpuid)
{
	struct kvm_cpuid2 *c = make_cpuid(5);
	struct smm_cpu_caps caps;

	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0x80000001,
		.edx = (1u << 29) | (1u << 20), .ecx = 0 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x3030 };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = (1u << 17) | (1u << 26) };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = (1u << 0) | (1u << 7),
		.ecx = 1u << 16 };
	c->entries[4] = (struct kvm_cpuid_entry2){ .function = 7, .index = 1,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 1u << 26 };
	smm_caps_from_cpuid(&caps, c);
	ck_assert(caps.lm);
	ck_assert_uint_eq(caps.maxphyaddr, 48);
	ck_assert_uint_eq(caps.efer_valid, SMM_EFER_SCE | SMM_EFER_NX | SMM_EFER_LME |
			  SMM_EFER_LMA);
	ck_assert(caps.cr4_valid & SMM_CR4_PCIDE);
	ck_assert(caps.cr4_valid & SMM_CR4_LA57);
	ck_assert(caps.cr4_valid & (1ULL << 16));
	ck_assert(caps.cr4_valid & (1ULL << 18));
	ck_assert(caps.cr4_valid & (1ULL << 20));
	ck_assert(caps.cr4_valid & (1ULL << 28));
	ck_assert(!(caps.cr4_valid & (1ULL << 13)));          /* no VMX */
	ck_assert(!(caps.cr4_valid & (1ULL << 14)));          /* SMXE never */
	ck_assert(!(caps.cr4_valid & (1ULL << 21)));          /* no SMAP */
	ck_assert_int_eq(smm_layout_for(&caps), SMM_LAYOUT_64);

	/* A 32-bit CPU: 32-bit layout, no LME, MAXPHYADDR 36 by default. */
	memset(c->entries, 0, 5 * sizeof(c->entries[0]));
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .ecx = 1u << 2 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0xff };
	c->nent = 2;
	smm_caps_from_cpuid(&caps, c);
	ck_assert(!caps.lm);
	ck_assert_uint_eq(caps.maxphyaddr, 36);      /* 255 bits is nonsense: ignored */
	ck_assert_uint_eq(caps.efer_valid, SMM_EFER_SCE | SMM_EFER_SVME);
	ck_assert_int_eq(smm_layout_for(&caps), SMM_LAYOUT_32);
	ck_assert_uint_eq(smm_layout_revision(SMM_LAYOUT_32), 0x00020000);
	free(c);

	/* No table at all: the defaults. */
	smm_caps_from_cpuid(&caps, NULL);
	ck_assert(caps.lm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("savestate");
	TCase *tc = tcase_create("codec");
	TCase *tv = tcase_create("validate");
	TCase *tk = tcase_create("kvm");

	tcase_add_test(tc, test_layout64_offsets);
	tcase_add_test(tc, test_layout32_offsets);
	tcase_add_test(tc, test_segment_flags);
	tcase_add_loop_test(tc, test_round_trip_random, 0, 2);
	tcase_add_test(tc, test_bad_layout);
	suite_add_tcase(s, tc);
	tcase_add_test(tv, test_validate_accepts);
	tcase_add_test(tv, test_validate_rejects);
	tcase_add_test(tv, test_validate_caps);
	tcase_add_test(tv, test_validate_pdptes);
	tcase_add_test(tv, test_validate_garbage);
	suite_add_tcase(s, tv);
	tcase_add_test(tk, test_kvm_conversion);
	tcase_add_test(tk, test_caps_from_cpuid);
	suite_add_tcase(s, tk);
	return run_suite(s);
}
