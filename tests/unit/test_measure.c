/*
 * Unit tests for tdx/measure.c: the published CleanExample MRTD vector,
 * and single pages checked against 128-byte blocks assembled by hand.
 */
#include <stdlib.h>

#include "tdx/measure.h"
#include "tdx/tdvf.h"
#include "tests/model/fake_tdvf.h"
#include "tests/unit/support.h"

static void hex_of(const uint8_t d[SHA384_DIGEST_SIZE], char out[97])
{
	sha384_hex(d, out);
}

START_TEST(test_clean_example_vector)
{
	uint8_t *img = malloc(FAKE_TDVF_CLEAN_SIZE);
	uint8_t mrtd[SHA384_DIGEST_SIZE];
	struct tdvf t;
	char hex[97];

	ck_assert_ptr_nonnull(img);
	fake_tdvf_clean_example(img);
	ck_assert_int_eq(tdvf_parse(img, FAKE_TDVF_CLEAN_SIZE, "clean", &t), 0);
	measure_tdvf(&t, img, FAKE_TDVF_CLEAN_SIZE, mrtd);
	hex_of(mrtd, hex);
	ck_assert_str_eq(hex, FAKE_TDVF_CLEAN_MRTD);
	/* One byte of the measured BFV changes it; a byte of the unmeasured CFV does not. */
	img[0x1ff000] ^= 1;
	measure_tdvf(&t, img, FAKE_TDVF_CLEAN_SIZE, mrtd);
	hex_of(mrtd, hex);
	ck_assert_str_ne(hex, FAKE_TDVF_CLEAN_MRTD);
	img[0x1ff000] ^= 1;
	img[0x1000] ^= 1;
	measure_tdvf(&t, img, FAKE_TDVF_CLEAN_SIZE, mrtd);
	hex_of(mrtd, hex);
	ck_assert_str_eq(hex, FAKE_TDVF_CLEAN_MRTD);
	/* Section order is part of the measurement. */
	{
		struct tdvf_section tmp = t.sec[2];

		t.sec[2] = t.sec[3];
		t.sec[3] = tmp;
		measure_tdvf(&t, img, FAKE_TDVF_CLEAN_SIZE, mrtd);
		hex_of(mrtd, hex);
		ck_assert_str_ne(hex, FAKE_TDVF_CLEAN_MRTD);
	}
	free(img);
}
END_TEST

/* Hand-made block: 16 bytes of name, LE64 GPA, zeros. */
static void block(uint8_t b[128], const char *name, uint64_t gpa)
{
	unsigned i;

	memset(b, 0, 128);
	for (i = 0; name[i]; i++)
		b[i] = (uint8_t)name[i];
	for (i = 0; i < 8; i++)
		b[16 + i] = (uint8_t)(gpa >> (8 * i));
}

START_TEST(test_single_page_unmeasured)
{
	uint8_t blk[128], want[SHA384_DIGEST_SIZE], got[SHA384_DIGEST_SIZE];
	uint8_t page[4096];
	struct measure m;

	memset(page, 0x5a, sizeof(page));
	block(blk, "MEM.PAGE.ADD", 0xfffff000);
	ck_assert_uint_eq(blk[11], 'D');
	ck_assert_uint_eq(blk[12], 0);
	ck_assert_uint_eq(blk[16], 0x00);
	ck_assert_uint_eq(blk[17], 0xf0);
	sha384_digest(blk, sizeof(blk), want);
	measure_init(&m);
	measure_page(&m, 0xfffff000, page, false);
	measure_final(&m, got);
	ck_assert_mem_eq(got, want, sizeof(want));
}
END_TEST

START_TEST(test_single_page_measured)
{
	uint8_t *msg = malloc(128 + 16 * (128 + 256)), *p;
	uint8_t want[SHA384_DIGEST_SIZE], got[SHA384_DIGEST_SIZE];
	uint8_t page[4096];
	const uint64_t gpa = 0x123456000ULL;
	struct measure m;
	unsigned i;

	ck_assert_ptr_nonnull(msg);
	for (i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i ^ (i >> 8));
	/* The whole byte stream the TDX module hashes for this page, assembled by hand. */
	p = msg;
	block(p, "MEM.PAGE.ADD", gpa);
	p += 128;
	for (i = 0; i < 16; i++) {
		block(p, "MR.EXTEND", gpa + 256 * i);
		p += 128;
		memcpy(p, page + 256 * i, 256);
		p += 256;
	}
	ck_assert_uint_eq((size_t)(p - msg), 128 + 16 * 384);
	sha384_digest(msg, (size_t)(p - msg), want);
	measure_init(&m);
	measure_page(&m, gpa, page, true);
	measure_final(&m, got);
	ck_assert_mem_eq(got, want, sizeof(want));
	/* The pieces give the same as the page helper. */
	measure_init(&m);
	measure_page_add(&m, gpa);
	for (i = 0; i < 16; i++)
		measure_mr_extend(&m, gpa + 256 * i, page + 256 * i);
	measure_final(&m, got);
	ck_assert_mem_eq(got, want, sizeof(want));
	/* A different GPA for the same content is a different measurement. */
	measure_init(&m);
	measure_page(&m, gpa + 0x1000, page, true);
	measure_final(&m, got);
	ck_assert(memcmp(got, want, sizeof(want)) != 0);
	free(msg);
}
END_TEST

START_TEST(test_zero_fill_is_measured)
{
	/* A BFV whose memory is larger than its raw data: the zero tail is measured. */
	uint8_t *img = calloc(1, 0x10000);
	struct fake_tdvf_sec s[4];
	uint8_t a[SHA384_DIGEST_SIZE], b[SHA384_DIGEST_SIZE];
	struct tdvf t;

	ck_assert_ptr_nonnull(img);
	fake_tdvf_small(img, 0x10000, s);
	ck_assert_int_eq(tdvf_parse(img, 0x10000, "s", &t), 0);
	measure_tdvf(&t, img, 0x10000, a);
	t.sec[0].mem_size += 0x1000;
	t.sec[0].mem_addr -= 0x1000;
	measure_tdvf(&t, img, 0x10000, b);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	free(img);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("measure");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_clean_example_vector);
	tcase_add_test(tc, test_single_page_unmeasured);
	tcase_add_test(tc, test_single_page_measured);
	tcase_add_test(tc, test_zero_fill_is_measured);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
