/* Unit tests for tdx/hob.c: RAM map splitting and the TD HOB byte layout. */
#include <errno.h>
#include <stdlib.h>

#include "tdx/hob.h"
#include "tests/unit/support.h"

static void two_ram(struct hob_memmap *m)
{
	hob_memmap_init(m);
	/* Added out of order on purpose: the map keeps itself sorted. */
	ck_assert_int_eq(hob_memmap_add_ram(m, 4 * GiB, 2 * GiB), 0);
	ck_assert_int_eq(hob_memmap_add_ram(m, 0, 2 * GiB), 0);
}

START_TEST(test_memmap_split)
{
	struct hob_memmap m;
	static const struct {
		uint64_t gpa, size;
		bool acc;
	} want[] = {
		{ 0, 0x800000, false },
		{ 0x800000, 0x6000, true },
		{ 0x806000, 0x3000, false },
		{ 0x809000, 0x2000, true },
		{ 0x80b000, 2 * GiB - 0x80b000, false },
		{ 4 * GiB, 2 * GiB, false },
	};
	unsigned i;

	two_ram(&m);
	ck_assert_int_eq(hob_memmap_accept(&m, 0x809000, 0x2000), 0);
	ck_assert_int_eq(hob_memmap_accept(&m, 0x800000, 0x6000), 0);
	ck_assert_uint_eq(m.n, ARRAY_SIZE(want));
	for (i = 0; i < m.n; i++) {
		ck_assert_uint_eq(m.e[i].gpa, want[i].gpa);
		ck_assert_uint_eq(m.e[i].size, want[i].size);
		ck_assert_int_eq(m.e[i].accepted, want[i].acc);
	}
	/* A range that exactly matches a RAM entry does not split it. */
	ck_assert_int_eq(hob_memmap_accept(&m, 4 * GiB, 2 * GiB), 0);
	ck_assert_uint_eq(m.n, ARRAY_SIZE(want));
	ck_assert(m.e[5].accepted);
	ck_assert(hob_memmap_contains(&m, 0x809000, 0x1000));
	ck_assert(!hob_memmap_contains(&m, 2 * GiB, 0x1000));
}
END_TEST

START_TEST(test_memmap_hostile)
{
	struct hob_memmap m, copy;
	unsigned i;

	two_ram(&m);
	/* Outside RAM, straddling a hole, or accepted twice. */
	ck_assert_int_eq(hob_memmap_accept(&m, 0xffe00000, 0x1000), -ENOENT);
	ck_assert_int_eq(hob_memmap_accept(&m, 2 * GiB - 0x1000, 0x2000), -ENOENT);
	ck_assert_int_eq(hob_memmap_accept(&m, 0x1000, 0x1000), 0);
	ck_assert_int_eq(hob_memmap_accept(&m, 0x1000, 0x1000), -ENOENT);
	ck_assert_int_eq(hob_memmap_accept(&m, 0, 0), -ENOENT);
	ck_assert_int_eq(hob_memmap_accept(&m, ~0ULL - 0xfff, 0x2000), -ENOENT);
	/* Bad RAM ranges. */
	ck_assert_int_eq(hob_memmap_add_ram(&m, 1 * GiB, 0x1000), -EINVAL);   /* overlap */
	ck_assert_int_eq(hob_memmap_add_ram(&m, 3 * GiB, 0), -EINVAL);
	ck_assert_int_eq(hob_memmap_add_ram(&m, 3 * GiB + 1, 0x1000), -EINVAL);
	ck_assert_int_eq(hob_memmap_add_ram(&m, 3 * GiB, 0x1001), -EINVAL);
	ck_assert_int_eq(hob_memmap_add_ram(&m, ~0ULL - 0xfff, 0x2000), -EINVAL);
	/* Fill the map: the failing split leaves it untouched. */
	hob_memmap_init(&m);
	ck_assert_int_eq(hob_memmap_add_ram(&m, 0, 1 * GiB), 0);
	for (i = 0; m.n + 2 <= HOB_MAX_ENTRIES; i++)
		ck_assert_int_eq(hob_memmap_accept(&m, 0x10000 + i * 0x2000ULL, 0x1000), 0);
	ck_assert_uint_eq(m.n, HOB_MAX_ENTRIES - 1);
	copy = m;
	ck_assert_int_eq(hob_memmap_accept(&m, 0x10000 + (i + 5) * 0x2000ULL, 0x1000), -ENOSPC);
	ck_assert_mem_eq(&m, &copy, sizeof(m));
}
END_TEST

START_TEST(test_build_layout)
{
	struct hob_memmap m;
	const uint64_t gpa = 0x809000;
	uint8_t buf[0x2000];
	unsigned i, nres = 0;
	size_t off;
	long used;

	two_ram(&m);
	ck_assert_int_eq(hob_memmap_accept(&m, 0x809000, 0x2000), 0);
	memset(buf, 0xa5, sizeof(buf));
	used = hob_build(buf, sizeof(buf), gpa, &m);
	ck_assert_int_eq(used, (long)hob_size(&m));
	ck_assert_int_eq(used, 56 + 4 * 48 + 8);
	/* PHIT */
	ck_assert_uint_eq(ld_le16(buf), HOB_TYPE_HANDOFF);
	ck_assert_uint_eq(ld_le16(buf + 2), 56);
	ck_assert_uint_eq(ld_le32(buf + 4), 0);
	ck_assert_uint_eq(ld_le32(buf + 8), 9);
	ck_assert_uint_eq(ld_le32(buf + 12), 0);
	for (i = 16; i < 48; i++)
		ck_assert_uint_eq(buf[i], 0);
	ck_assert_uint_eq(ld_le64(buf + 48), gpa + (uint64_t)used);
	/* Walk the list by HobLength like firmware does. */
	for (off = 56;;) {
		uint16_t type = ld_le16(buf + off), len = ld_le16(buf + off + 2);

		ck_assert_uint_eq(off % 8, 0);
		if (type == HOB_TYPE_END_OF_LIST) {
			ck_assert_uint_eq(len, 8);
			off += len;
			break;
		}
		ck_assert_uint_eq(type, HOB_TYPE_RESOURCE_DESCRIPTOR);
		ck_assert_uint_eq(len, 48);
		for (i = 8; i < 24; i++)
			ck_assert_uint_eq(buf[off + i], 0);             /* owner GUID */
		ck_assert_uint_eq(ld_le32(buf + off + 24),
				  m.e[nres].accepted ? 0 : 7);
		ck_assert_uint_eq(ld_le32(buf + off + 28), 7);
		ck_assert_uint_eq(ld_le64(buf + off + 32), m.e[nres].gpa);
		ck_assert_uint_eq(ld_le64(buf + off + 40), m.e[nres].size);
		nres++;
		off += len;
	}
	ck_assert_uint_eq(nres, m.n);
	ck_assert_uint_eq(off, (size_t)used);
	/* The rest of the section is zero, not left-over garbage. */
	for (i = (unsigned)used; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0);
}
END_TEST

START_TEST(test_build_overrun)
{
	struct hob_memmap m;
	uint8_t *buf;
	size_t need;

	hob_memmap_init(&m);
	ck_assert_int_eq(hob_memmap_add_ram(&m, 0, 1 * GiB), 0);
	need = hob_size(&m);
	buf = malloc(need);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(hob_build(buf, need, 0, &m), (long)need);
	ck_assert_int_eq(hob_build(buf, need - 1, 0, &m), -ENOSPC);
	ck_assert_int_eq(hob_build(buf, 0, 0, &m), -ENOSPC);
	free(buf);
	/* An empty map still makes a valid list: PHIT + end. */
	hob_memmap_init(&m);
	buf = malloc(64);
	ck_assert_int_eq(hob_build(buf, 64, 0x1000, &m), 64);
	ck_assert_uint_eq(ld_le16(buf + 56), HOB_TYPE_END_OF_LIST);
	ck_assert_uint_eq(ld_le64(buf + 48), 0x1000 + 64);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hob");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_memmap_split);
	tcase_add_test(tc, test_memmap_hostile);
	tcase_add_test(tc, test_build_layout);
	tcase_add_test(tc, test_build_overrun);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
