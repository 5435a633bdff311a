/* Unit tests for tdx/tdvf.c: OVMF GUID table walk and TDX metadata validation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tdx/tdvf.h"
#include "tests/model/fake_tdvf.h"
#include "tests/unit/support.h"
#include "vmm/err.h"

#define SMALL 0x10000u

static uint8_t *img_alloc(size_t size)
{
	uint8_t *p = calloc(1, size);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Build a small image from @s and expect the parse to fail naming @what. */
static void expect_fail(const struct fake_tdvf_sec *s, unsigned n, const char *what)
{
	uint8_t *img = img_alloc(SMALL);
	struct tdvf t;
	int r;

	fake_tdvf_build(img, SMALL, 0x100, s, n);
	err_clear();
	r = tdvf_parse(img, SMALL, "t.fd", &t);
	if (r >= 0 || !strstr(err_get(), what))
		ck_abort_msg("expected failure with \"%s\", got %d \"%s\"", what, r, err_get());
	ck_assert_ptr_nonnull(strstr(err_get(), "t.fd"));
	free(img);
}

static void small_layout(struct fake_tdvf_sec s[4])
{
	uint8_t *img = img_alloc(SMALL);

	fake_tdvf_small(img, SMALL, s);
	free(img);
}

START_TEST(test_clean_example_structure)
{
	uint8_t *img = img_alloc(FAKE_TDVF_CLEAN_SIZE);
	const uint8_t *data;
	struct tdvf t;
	size_t len;

	fake_tdvf_clean_example(img);
	ck_assert_int_eq(tdvf_parse(img, FAKE_TDVF_CLEAN_SIZE, "clean", &t), 0);
	ck_assert_uint_eq(t.desc_offset, 0x110);
	ck_assert_uint_eq(t.nsec, 6);
	ck_assert_int_eq(t.hob, 4);
	ck_assert_uint_eq(t.sec[0].type, TDVF_SEC_BFV);
	ck_assert_uint_eq(t.sec[0].data_offset, 0x20000);
	ck_assert_uint_eq(t.sec[0].raw_size, 0x1e0000);
	ck_assert_uint_eq(t.sec[0].mem_addr, 0xffe20000);
	ck_assert_uint_eq(t.sec[0].attributes, TDVF_ATTR_MR_EXTEND);
	ck_assert_uint_eq(t.sec[1].type, TDVF_SEC_CFV);
	ck_assert_uint_eq(t.sec[1].mem_addr, 0xffe00000);
	ck_assert_uint_eq(t.sec[4].mem_addr, 0x809000);
	ck_assert_uint_eq(t.sec[4].mem_size, 0x2000);
	ck_assert_uint_eq(t.sec[5].mem_addr, 0x800000);
	ck_assert_uint_eq(t.sec[5].mem_size, 0x6000);
	/* The other GUID table entries are reachable too (table walk over 3 entries). */
	{
		static const uint8_t sev_es[16] = { 0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb,
						    0x4f, 0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f,
						    0xb4, 0x4e };

		ck_assert_int_eq(tdvf_find_guid(img, FAKE_TDVF_CLEAN_SIZE, "clean", sev_es, &data,
						&len), 0);
		ck_assert_uint_eq(len, 4);
		ck_assert_uint_eq(ld_le32(data), 0xff0000ff);
		ck_assert_uint_eq((size_t)(data - img), FAKE_TDVF_CLEAN_SIZE - 72);
	}
	ck_assert_int_eq(tdvf_find_guid(img, FAKE_TDVF_CLEAN_SIZE, "clean", tdvf_guid_tdx_offset,
					&data, &len), 0);
	ck_assert_uint_eq((size_t)(data - img), FAKE_TDVF_CLEAN_SIZE - 116);
	ck_assert_uint_eq(ld_le32(data), FAKE_TDVF_CLEAN_SIZE - 0x110);
	free(img);
}
END_TEST

START_TEST(test_guid_strings)
{
	char s[37];

	tdvf_guid_str(tdvf_guid_table_footer, s);
	ck_assert_str_eq(s, "96b582de-1fb2-45f7-baea-a366c55a082d");
	tdvf_guid_str(tdvf_guid_tdx_offset, s);
	ck_assert_str_eq(s, "e47a6535-984a-4798-865e-4685a7bf8ec2");
	tdvf_guid_str(tdvf_guid_tdx_metadata, s);
	ck_assert_str_eq(s, "e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae");
	ck_assert_str_eq(tdvf_type_name(2), "TD_HOB");
	ck_assert_str_eq(tdvf_type_name(123), "reserved");
}
END_TEST

START_TEST(test_no_table_and_truncated)
{
	uint8_t *img = img_alloc(SMALL);
	struct fake_tdvf_sec s[4];
	struct tdvf t;
	size_t n;

	/* Images too small for a table, and all-zero images: no TDX metadata, no crash. */
	for (n = 0; n < 200; n++) {
		err_clear();
		ck_assert_int_eq(tdvf_parse(img, n, "z.fd", &t), -ENOENT);
		ck_assert_ptr_nonnull(strstr(err_get(), "has no TDX metadata"));
	}
	/* A table without the TDX entry (like Debian's OVMF_CODE_4M.fd). */
	fake_tdvf_small(img, SMALL, s);
	memset(img + SMALL - 72, 0, 22);            /* wipe the TDX entry ... */
	st_le16(img + SMALL - 50, 18);              /* ... and shrink the table to the footer */
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "nometa.fd", &t), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err_get(), "nometa.fd has no TDX metadata"));
	ck_assert_ptr_nonnull(strstr(err_get(), "e47a6535-984a-4798-865e-4685a7bf8ec2"));
	free(img);
}
END_TEST

START_TEST(test_malformed_table)
{
	uint8_t *img = img_alloc(SMALL);
	struct fake_tdvf_sec s[4];
	struct tdvf t;

	fake_tdvf_small(img, SMALL, s);
	st_le16(img + SMALL - 50, 10);             /* table shorter than its own footer */
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "GUID table length 10"));
	st_le16(img + SMALL - 50, 0xffff);          /* longer than the file */
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);

	fake_tdvf_small(img, SMALL, s);
	st_le16(img + SMALL - 50 - 18, 5);          /* the entry's own length < 18 */
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "malformed OVMF GUID table"));
	st_le16(img + SMALL - 50 - 18, 500);        /* longer than the table */
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);

	/* The offset entry with less than 4 bytes of data. */
	fake_tdvf_small(img, SMALL, s);
	st_le16(img + SMALL - 50 - 18, 20);
	st_le16(img + SMALL - 50, 38);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "holds 2 bytes"));
	free(img);
}
END_TEST

START_TEST(test_bad_offset_and_guid)
{
	uint8_t *img = img_alloc(SMALL);
	struct fake_tdvf_sec s[4];
	struct tdvf t;
	static const uint32_t bad[] = { 0, 8, SMALL - 8, SMALL + 1, 0xffffffffu };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		fake_tdvf_small(img, SMALL, s);
		st_le32(img + SMALL - 72, bad[i]);
		err_clear();
		ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err_get(), "does not fit"));
	}
	/* Offset inside the file but not at a metadata GUID. */
	fake_tdvf_small(img, SMALL, s);
	st_le32(img + SMALL - 72, SMALL - 0x1000);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "TDX metadata GUID mismatch"));
	fake_tdvf_small(img, SMALL, s);
	img[0x100 + 3] ^= 1;
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	free(img);
}
END_TEST

START_TEST(test_descriptor_fields)
{
	uint8_t *img = img_alloc(SMALL);
	struct fake_tdvf_sec s[4];
	struct tdvf t;
	size_t d;

	d = fake_tdvf_small(img, SMALL, s);
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), 0);
	ck_assert_uint_eq(t.desc_offset, d);

	st_le32(img + d, 0xbad);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "signature 0xbad"));

	fake_tdvf_small(img, SMALL, s);
	st_le32(img + d + 8, 2);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "version 2, expected 1"));

	fake_tdvf_small(img, SMALL, s);
	st_le32(img + d + 4, 0xbad);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "Length 2989 does not match 4 sections"));

	fake_tdvf_small(img, SMALL, s);
	st_le32(img + d + 12, 0);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "no sections"));

	fake_tdvf_small(img, SMALL, s);
	st_le32(img + d + 12, 1);
	st_le32(img + d + 4, 48);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "at least 2"));

	/* A huge count must not overflow the length arithmetic. */
	fake_tdvf_small(img, SMALL, s);
	st_le32(img + d + 12, 0x08000000);
	st_le32(img + d + 4, 16);
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);

	/* Metadata that runs past the end of the file: 8 sections claimed, room for 7. */
	d = fake_tdvf_build(img, SMALL, SMALL - 0x100, s, 4);
	st_le32(img + d + 12, 8);
	st_le32(img + d + 4, 16 + 32 * 8);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "runs past the end"));
	free(img);
}
END_TEST

START_TEST(test_section_rules)
{
	struct fake_tdvf_sec s[4], b[5];

	small_layout(s);
	memcpy(b, s, sizeof(s));
	b[3].type = TDVF_SEC_PERM_MEM;
	expect_fail(b, 4, "section 3 has unsupported type 4 (PERM_MEM)");
	memcpy(b, s, sizeof(s));
	b[3].type = 123;
	expect_fail(b, 4, "unsupported type 123 (reserved)");
	memcpy(b, s, sizeof(s));
	b[1].attr = 0x10;
	expect_fail(b, 4, "reserved Attributes bits set (0x10)");
	memcpy(b, s, sizeof(s));
	b[3].attr = TDVF_ATTR_PAGE_AUG;
	expect_fail(b, 4, "PAGE.AUG");
	memcpy(b, s, sizeof(s));
	b[3].size = 0;
	expect_fail(b, 4, "section 3 (TEMP_MEM) has MemoryDataSize 0");
	memcpy(b, s, sizeof(s));
	b[2].addr += 0x800;
	expect_fail(b, 4, "MemoryAddress 0x800800 is not 4 KiB aligned");
	memcpy(b, s, sizeof(s));
	b[2].size = 0x1800;
	expect_fail(b, 4, "MemoryDataSize 0x1800 is not 4 KiB aligned");
	memcpy(b, s, sizeof(s));
	b[3].addr = 0xfffffffffffff000ULL;
	expect_fail(b, 4, "overflows");
	memcpy(b, s, sizeof(s));
	b[0].size = 0x4000;
	expect_fail(b, 4, "RawDataSize 0x8000 exceeds MemoryDataSize 0x4000");
	memcpy(b, s, sizeof(s));
	b[1].raw_size = 0;
	expect_fail(b, 4, "section 1 (CFV) has RawDataSize 0");
	memcpy(b, s, sizeof(s));
	b[0].data_offset = SMALL - 0x4000;
	expect_fail(b, 4, "past the end of the 0x10000-byte file");
	memcpy(b, s, sizeof(s));
	b[0].data_offset = 0xfffff000u;             /* offset + size wraps in 32 bits */
	expect_fail(b, 4, "past the end");
	memcpy(b, s, sizeof(s));
	b[0].attr = 0;
	expect_fail(b, 4, "(BFV) lacks the MR.EXTEND");
	memcpy(b, s, sizeof(s));
	b[1].attr = TDVF_ATTR_MR_EXTEND;
	expect_fail(b, 4, "(CFV) has the MR.EXTEND");
	memcpy(b, s, sizeof(s));
	b[2].raw_size = 0x1000;
	expect_fail(b, 4, "section 2 (TD_HOB) must have DataOffset and RawDataSize 0");
	memcpy(b, s, sizeof(s));
	b[3].data_offset = 0x1000;
	expect_fail(b, 4, "(TEMP_MEM) must have DataOffset and RawDataSize 0");
	memcpy(b, s, sizeof(s));
	b[3].attr = TDVF_ATTR_MR_EXTEND;
	expect_fail(b, 4, "(TEMP_MEM) has the MR.EXTEND");
}
END_TEST

START_TEST(test_set_rules)
{
	struct fake_tdvf_sec s[4], b[5];

	small_layout(s);
	memcpy(b, s, sizeof(s));
	b[4] = s[2];
	b[4].addr = 0x900000;
	expect_fail(b, 5, "more than one TD_HOB section (sections 2 and 4)");
	memcpy(b, s, sizeof(s));
	b[2].type = TDVF_SEC_TEMP_MEM;
	expect_fail(b, 4, "no TD_HOB section");
	memcpy(b, s, sizeof(s));
	b[0].type = TDVF_SEC_CFV;
	b[0].attr = 0;
	expect_fail(b, 4, "no BFV");
	memcpy(b, s, sizeof(s));
	b[3].addr = 0x801000;                       /* TEMP_MEM over the TD_HOB */
	expect_fail(b, 4, "sections 2 (TD_HOB, 0x800000+0x2000) and 3 (TEMP_MEM, 0x801000+0x4000) "
			  "overlap");
	memcpy(b, s, sizeof(s));
	b[1].addr = b[0].addr;                      /* CFV over the BFV */
	expect_fail(b, 4, "overlap");
}
END_TEST

START_TEST(test_split_code_image_rejected)
{
	/*
	 * Debian's OVMF_CODE.fd carries the metadata of the unified VARS+CODE
	 * image: offsets from the end still find it, but the BFV's DataOffset
	 * (relative to the unified file) overflows the CODE-only file.
	 */
	uint8_t *img = img_alloc(FAKE_TDVF_CLEAN_SIZE);
	struct fake_tdvf_sec s[4] = {
		{ 0x20000, 0x1e0000, 0xffe20000, 0x1e0000, TDVF_SEC_BFV, TDVF_ATTR_MR_EXTEND },
		{ 0, 0x20000, 0xffe00000, 0x20000, TDVF_SEC_CFV, 0 },
		{ 0, 0, 0x809000, 0x2000, TDVF_SEC_TD_HOB, 0 },
		{ 0, 0, 0x800000, 0x6000, TDVF_SEC_TEMP_MEM, 0 },
	};
	struct tdvf t;

	fake_tdvf_build(img, FAKE_TDVF_CLEAN_SIZE, FAKE_TDVF_CLEAN_SIZE - 0x840, s, 4);
	ck_assert_int_eq(tdvf_parse(img, FAKE_TDVF_CLEAN_SIZE, "OVMF.fd", &t), 0);
	err_clear();
	ck_assert_int_eq(tdvf_parse(img + 0x20000, 0x1e0000, "OVMF_CODE.fd", &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "OVMF_CODE.fd: section 0 (BFV) DataOffset 0x20000 "
						"+ RawDataSize 0x1e0000 ends at 0x200000, past the "
						"end of the 0x1e0000-byte file"));
	ck_assert_ptr_nonnull(strstr(err_get(), "split OVMF_CODE"));
	free(img);
}
END_TEST

static int read_file(const char *path, uint8_t **buf, size_t *size)
{
	struct stat st;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	if (fstat(fileno(f), &st) < 0 || st.st_size <= 0) {
		fclose(f);
		return -1;
	}
	*size = (size_t)st.st_size;
	*buf = img_alloc(*size);
	ck_assert_uint_eq(fread(*buf, 1, *size, f), *size);
	fclose(f);
	return 0;
}

START_TEST(test_debian_images)
{
	uint8_t *buf;
	size_t size;
	struct tdvf t;
	int seen = 0;

	/* Real firmware from the ovmf package, when installed. */
	if (read_file("/usr/share/OVMF/OVMF_CODE.fd", &buf, &size) == 0) {
		err_clear();
		ck_assert_int_eq(tdvf_parse(buf, size, "OVMF_CODE.fd", &t), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err_get(), "past the end"));
		free(buf);
		seen++;
	}
	if (read_file("/usr/share/OVMF/OVMF_CODE_4M.fd", &buf, &size) == 0) {
		err_clear();
		ck_assert_int_eq(tdvf_parse(buf, size, "OVMF_CODE_4M.fd", &t), -ENOENT);
		ck_assert_ptr_nonnull(strstr(err_get(), "has no TDX metadata"));
		free(buf);
		seen++;
	}
	if (read_file("/usr/share/ovmf/OVMF.fd", &buf, &size) == 0) {
		ck_assert_int_eq(tdvf_parse(buf, size, "OVMF.fd", &t), 0);
		ck_assert_uint_eq(t.nsec, 6);
		ck_assert_uint_eq(t.sec[t.hob].type, TDVF_SEC_TD_HOB);
		free(buf);
		seen++;
	}
	if (!seen)
		fprintf(stderr, "no Debian OVMF images installed: nothing checked\n");
}
END_TEST

START_TEST(test_section_load)
{
	uint8_t *img = img_alloc(SMALL);
	struct fake_tdvf_sec s[4];
	struct tdvf_section sec;
	uint8_t *dst = img_alloc(0x10000);
	struct tdvf t;
	unsigned i;

	fake_tdvf_small(img, SMALL, s);
	for (i = 0; i < 0x4000; i++)
		img[i + 0x2000] = (uint8_t)(i * 13 + 5);   /* inside the CFV's raw data */
	ck_assert_int_eq(tdvf_parse(img, SMALL, "t.fd", &t), 0);
	sec = t.sec[1];
	sec.mem_size = 0x8000;                          /* raw 0x4000, zero-filled to 0x8000 */
	memset(dst, 0xcc, 0x10000);
	tdvf_section_load(&sec, img, SMALL, dst);
	ck_assert_mem_eq(dst, img, 0x4000);
	for (i = 0x4000; i < 0x8000; i++)
		ck_assert_uint_eq(dst[i], 0);
	ck_assert_uint_eq(dst[0x8000], 0xcc);           /* nothing past mem_size */
	/* TD_HOB / TEMP_MEM: zeros, whatever the file holds. */
	memset(dst, 0xcc, 0x10000);
	tdvf_section_load(&t.sec[2], img, SMALL, dst);
	for (i = 0; i < t.sec[2].mem_size; i++)
		ck_assert_uint_eq(dst[i], 0);
	free(dst);
	free(img);
}
END_TEST

START_TEST(test_random_corruption)
{
	/* Flip bytes in the metadata and table: every result is a clean verdict. */
	uint8_t *img = img_alloc(SMALL);
	struct fake_tdvf_sec s[4];
	uint32_t seed = 12345;
	unsigned iter, ok = 0, bad = 0;

	for (iter = 0; iter < 4000; iter++) {
		struct tdvf t;
		unsigned k;
		int r;

		fake_tdvf_small(img, SMALL, s);
		for (k = 0; k < 1 + iter % 4; k++) {
			size_t pos;

			seed = seed * 1103515245u + 12345u;
			if ((seed >> 8) % 2)
				pos = 0x100 + (seed >> 12) % 0xa0;        /* metadata */
			else
				pos = SMALL - 1 - (seed >> 12) % 80;      /* GUID table */
			img[pos] ^= (uint8_t)(1u << ((seed >> 4) & 7));
		}
		err_clear();
		r = tdvf_parse(img, SMALL, "fuzz.fd", &t);
		if (r == 0) {
			uint32_t i;

			ok++;
			ck_assert_int_ge(t.hob, 0);
			for (i = 0; i < t.nsec; i++) {
				ck_assert((uint64_t)t.sec[i].data_offset + t.sec[i].raw_size <= SMALL);
				ck_assert(t.sec[i].raw_size <= t.sec[i].mem_size);
			}
		} else {
			bad++;
			ck_assert(r == -EINVAL || r == -ENOENT);
			ck_assert_ptr_nonnull(strstr(err_get(), "fuzz.fd"));
		}
	}
	ck_assert_uint_gt(bad, 0);
	ck_assert_uint_gt(ok, 0);
	free(img);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tdvf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_clean_example_structure);
	tcase_add_test(tc, test_guid_strings);
	tcase_add_test(tc, test_no_table_and_truncated);
	tcase_add_test(tc, test_malformed_table);
	tcase_add_test(tc, test_bad_offset_and_guid);
	tcase_add_test(tc, test_descriptor_fields);
	tcase_add_test(tc, test_section_rules);
	tcase_add_test(tc, test_set_rules);
	tcase_add_test(tc, test_split_code_image_rejected);
	tcase_add_test(tc, test_debian_images);
	tcase_add_test(tc, test_section_load);
	tcase_add_test(tc, test_random_corruption);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
