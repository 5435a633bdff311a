/*
 * Unit tests for the pure parts of smm/smm_user.c: finding the RSM an SMI
 * handler will execute (OVMF's signatures and relocation template), the
 * guest page walk used to check the instruction at a #DB, and the SMM
 * entry state. The KVM-facing flow is tested in test_smm.c.
 */
#include <errno.h>
#include <string.h>

#include "smm/smm_user.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

static const uint8_t sig64[] = { 0x48, 0x81, 0xc4, 0x00, 0x01, 0x00, 0x00, 0x0f, 0xaa };
static const uint8_t sig32[] = { 0x81, 0xc4, 0x80, 0x00, 0x00, 0x00, 0x0f, 0xaa };

START_TEST(test_find_signatures)
{
	struct fake_mem m;
	uint64_t lin[4] = { 0 };

	fake_mem_init(&m, 0, 1 << 20);
	memset(m.buf + 0x38000, 0x90, 0x2000);
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 0);
	memcpy(m.buf + 0x38123, sig64, sizeof(sig64));
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 1);
	ck_assert_uint_eq(lin[0], 0x38123 + 7);
	memcpy(m.buf + 0x38400, sig32, sizeof(sig32));
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 2);
	ck_assert_uint_eq(lin[1], 0x38400 + 6);
	/* No more than asked for; nothing for max <= 0. */
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 1), 1);
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 0), 0);
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, -3), 0);
	/* Beyond the 4 KiB window: not found. */
	memset(m.buf + 0x38000, 0x90, 0x2000);
	memcpy(m.buf + 0x39000, sig64, sizeof(sig64));
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 0);
	/* A handler that starts with RSM. */
	m.buf[0x38000] = 0x0f;
	m.buf[0x38001] = 0xaa;
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 1);
	ck_assert_uint_eq(lin[0], 0x38000);
	fake_mem_free(&m);
}
END_TEST

START_TEST(test_find_near_end_of_ram)
{
	struct fake_mem m;
	uint64_t lin[4];

	fake_mem_init(&m, 0, 0x40000);
	/* SMBASE+0x8000 = 0x3f800: only 2 KiB of RAM left to scan. */
	memcpy(m.buf + 0x3f900, sig64, sizeof(sig64));
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x37800, lin, 4), 1);
	ck_assert_uint_eq(lin[0], 0x3f907);
	/* SMBASE outside RAM entirely: nothing, no fault. */
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x7fff0000, lin, 4), 0);
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0xfffffff0, lin, 4), 0);
	fake_mem_free(&m);
}
END_TEST

START_TEST(test_find_relocation_template)
{
	/* mov ebp,[cs:0x800c]; sub ebp,0x30000; jmp ebp; dq SmmStartup */
	static const uint8_t x64a[] = { 0x66, 0x2e, 0x8b, 0x2e, 0x0c, 0x80, 0x66, 0x81, 0xed,
					0x00, 0x00, 0x03, 0x00, 0x66, 0xff, 0xe5 };
	static const uint8_t x64b[] = { 0x2e, 0x66, 0x8b, 0x2e, 0x0c, 0x80 };
	/* mov ebp, imm32 (IA32 build) */
	static const uint8_t ia32[] = { 0x66, 0xbd, 0x00, 0x20, 0x0f, 0x00 };
	struct fake_mem m;
	uint64_t lin[4];

	fake_mem_init(&m, 0, 2 << 20);
	memcpy(m.buf + 0x38000, x64a, sizeof(x64a));
	st_le64(m.buf + 0x3800c, 0x100000);                /* SmmStartup in "TSEG" */
	memcpy(m.buf + 0x100200, sig64, sizeof(sig64));
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 1);
	ck_assert_uint_eq(lin[0], 0x100207);
	/* Prefixes in the other order. */
	memcpy(m.buf + 0x38000, x64b, sizeof(x64b));
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 1);
	ck_assert_uint_eq(lin[0], 0x100207);
	/* No CS override: [disp16] is DS-relative, and DS.base is 0 at entry. */
	memcpy(m.buf + 0x38000, (const uint8_t[]){ 0x66, 0x8b, 0x2e, 0x00, 0x05 }, 5);
	st_le64(m.buf + 0x500, 0x100000);
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 1);
	/* The IA32 form. */
	memcpy(m.buf + 0x38000, ia32, sizeof(ia32));
	memcpy(m.buf + 0xf2040, sig32, sizeof(sig32));
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 1);
	ck_assert_uint_eq(lin[0], 0xf2046);
	/* A pointer to nowhere, or a truncated template: no candidates, no fault. */
	memcpy(m.buf + 0x38000, x64a, sizeof(x64a));
	st_le64(m.buf + 0x3800c, 0xfffffff0);
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 0);
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, (2 << 20) - 0x8004, lin, 4), 0);
	memcpy(m.buf + 0x38000, (const uint8_t[]){ 0x66, 0x66, 0x8b, 0x2e }, 4);
	ck_assert_int_eq(smm_user_find_rsm(&m.gm, 0x30000, lin, 4), 0);
	fake_mem_free(&m);
}
END_TEST

#define P 1ULL
#define W 2ULL
#define PS (1ULL << 7)

START_TEST(test_translate_long_mode)
{
	struct fake_mem m;
	uint64_t gpa = 0, lin = 0x00007f8040201abcULL;
	const uint64_t efer = SMM_EFER_LME | SMM_EFER_LMA, cr0 = SMM_CR0_PE | SMM_CR0_PG;

	fake_mem_init(&m, 0, 1 << 20);
	/* PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000 -> page 0x9000 */
	st_le64(m.buf + 0x1000 + ((lin >> 39) & 511) * 8, 0x2000 | P | W);
	st_le64(m.buf + 0x2000 + ((lin >> 30) & 511) * 8, 0x3000 | P | W);
	st_le64(m.buf + 0x3000 + ((lin >> 21) & 511) * 8, 0x4000 | P | W);
	st_le64(m.buf + 0x4000 + ((lin >> 12) & 511) * 8, 0x9000 | P | W | (1ULL << 63));
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x1000, SMM_CR4_PAE, efer, lin, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x9abc);
	/* 2 MiB page at the PD level. */
	st_le64(m.buf + 0x3000 + ((lin >> 21) & 511) * 8, 0x40000000ULL | P | PS);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x1000, SMM_CR4_PAE, efer, lin, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x40000000ULL | (lin & 0x1fffff));
	/* 1 GiB page at the PDPT level. */
	st_le64(m.buf + 0x2000 + ((lin >> 30) & 511) * 8, 0x80000000ULL | P | PS);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x1000, SMM_CR4_PAE, efer, lin, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x80000000ULL | (lin & 0x3fffffff));
	/* Not present, and a table outside RAM. */
	st_le64(m.buf + 0x2000 + ((lin >> 30) & 511) * 8, 0x80000000ULL | PS);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x1000, SMM_CR4_PAE, efer, lin, &gpa),
			 -EFAULT);
	st_le64(m.buf + 0x2000 + ((lin >> 30) & 511) * 8, 0x7fff0000ULL | P);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x1000, SMM_CR4_PAE, efer, lin, &gpa),
			 -EFAULT);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0xfff00000, SMM_CR4_PAE, efer, lin, &gpa),
			 -EFAULT);
	/* Five levels with LA57: one more table on top. */
	lin = 0x00ff7f8040201abcULL;
	st_le64(m.buf + 0x5000 + ((lin >> 48) & 511) * 8, 0x1000 | P);
	st_le64(m.buf + 0x1000 + ((lin >> 39) & 511) * 8, 0x2000 | P | W);
	st_le64(m.buf + 0x2000 + ((lin >> 30) & 511) * 8, 0x3000 | P | W);
	st_le64(m.buf + 0x3000 + ((lin >> 21) & 511) * 8, 0x4000 | P | W);
	st_le64(m.buf + 0x4000 + ((lin >> 12) & 511) * 8, 0x7000 | P);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x5000, SMM_CR4_PAE | SMM_CR4_LA57, efer,
					    lin, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x7abc);
	fake_mem_free(&m);
}
END_TEST

START_TEST(test_translate_legacy)
{
	struct fake_mem m;
	uint64_t gpa = 0;
	const uint64_t cr0 = SMM_CR0_PE | SMM_CR0_PG;
	uint32_t lin = 0xc0345678;

	fake_mem_init(&m, 0, 1 << 20);
	/* Paging off: linear is physical (32 bits outside long mode). */
	ck_assert_int_eq(smm_user_translate(&m.gm, 1, 0, 0, 0, 0x1234567890ULL, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x34567890);
	ck_assert_int_eq(smm_user_translate(&m.gm, 1, 0, 0, SMM_EFER_LMA, 0x1234567890ULL, &gpa),
			 0);
	ck_assert_uint_eq(gpa, 0x1234567890ULL);
	/* PAE: PDPT (32-byte aligned CR3) -> PD -> PT. */
	st_le64(m.buf + 0x1020 + (lin >> 30) * 8, 0x2000 | P);
	st_le64(m.buf + 0x2000 + ((lin >> 21) & 511) * 8, 0x3000 | P | W);
	st_le64(m.buf + 0x3000 + ((lin >> 12) & 511) * 8, 0x12345000ULL | P);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x1020, SMM_CR4_PAE, 0, lin, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x12345678);
	st_le64(m.buf + 0x2000 + ((lin >> 21) & 511) * 8, 0xa00000ULL | P | PS);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x1020, SMM_CR4_PAE, 0, lin, &gpa), 0);
	ck_assert_uint_eq(gpa, 0xa00000ULL | (lin & 0x1fffff));
	/* Two-level 32-bit paging, 4 KiB then 4 MiB (PSE, with PSE-36 bits). */
	st_le32(m.buf + 0x4000 + (lin >> 22) * 4, 0x5000 | P);
	st_le32(m.buf + 0x5000 + ((lin >> 12) & 1023) * 4, 0x00777000 | P);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x4000, 0, 0, lin, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x777678);
	st_le32(m.buf + 0x4000 + (lin >> 22) * 4, 0x01c00000 | (3u << 13) | P | PS);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x4000, SMM_CR4_PSE, 0, lin, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x301c00000ULL | (lin & 0x3fffff));
	/* Without CR4.PSE the PS bit is ignored: the entry points at a table. */
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x4000, 0, 0, lin, &gpa), -EFAULT);
	st_le32(m.buf + 0x4000 + (lin >> 22) * 4, 0);
	ck_assert_int_eq(smm_user_translate(&m.gm, cr0, 0x4000, 0, 0, lin, &gpa), -EFAULT);
	fake_mem_free(&m);
}
END_TEST

START_TEST(test_entry_state)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	memset(&r, 0xab, sizeof(r));
	memset(&s, 0, sizeof(s));
	s.cr0 = 0xe005003f;          /* PG CD NW AM WP NE ET TS EM MP PE */
	s.cr4 = 0x3606f0;
	s.efer = 0xd01;
	s.idt.base = 0x1000;
	s.idt.limit = 0xfff;
	s.gdt.base = 0x2000;
	s.tr.base = 0x3000;
	smm_user_entry_state(&r, &s, 0x7ffb0000, true);
	ck_assert_uint_eq(r.rip, 0x8000);
	ck_assert_uint_eq(r.rflags, 2);
	ck_assert_uint_eq(r.rax, 0xababababababababULL);      /* GPRs untouched */
	ck_assert_uint_eq(s.cr0, 0x60050032);                 /* CD NW AM WP NE ET MP kept */
	ck_assert_uint_eq(s.cr4, 0);
	ck_assert_uint_eq(s.efer, 0);
	ck_assert_uint_eq(s.idt.base, 0);
	ck_assert_uint_eq(s.idt.limit, 0);
	ck_assert_uint_eq(s.gdt.base, 0x2000);
	ck_assert_uint_eq(s.tr.base, 0x3000);
	/* KVM truncates the selector to 16 bits of SMBASE >> 4. */
	ck_assert_uint_eq(s.cs.selector, 0xb000);
	ck_assert_uint_eq(s.cs.base, 0x7ffb0000);
	ck_assert_uint_eq(s.ss.selector, 0);
	ck_assert_uint_eq(s.ds.base, 0);
	ck_assert_uint_eq(s.es.limit, 0xffffffff);
	ck_assert(s.fs.present && s.fs.s && s.fs.g && !s.fs.db && !s.fs.l && s.fs.type == 3);
	/* A CPU without long mode keeps EFER. */
	s.efer = 0x800;
	smm_user_entry_state(&r, &s, 0x30000, false);
	ck_assert_uint_eq(s.efer, 0x800);
	ck_assert_uint_eq(s.cs.selector, 0x3000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("smm_user");
	TCase *tc = tcase_create("helpers");

	tcase_add_test(tc, test_find_signatures);
	tcase_add_test(tc, test_find_near_end_of_ram);
	tcase_add_test(tc, test_find_relocation_template);
	tcase_add_test(tc, test_translate_long_mode);
	tcase_add_test(tc, test_translate_legacy);
	tcase_add_test(tc, test_entry_state);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
