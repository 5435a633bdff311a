/* Unit tests for vmm/boot/e820.c: the PC layout, merging, overrides, limits. */
#include <errno.h>
#include <stdlib.h>

#include "tests/unit/support.h"
#include "vmm/boot/e820.h"
#include "vmm/err.h"

static void expect(const struct e820_map *m, unsigned i, uint64_t addr, uint64_t size,
		   uint32_t type)
{
	ck_assert_uint_lt(i, m->n);
	ck_assert_uint_eq(m->e[i].addr, addr);
	ck_assert_uint_eq(m->e[i].size, size);
	ck_assert_uint_eq(m->e[i].type, type);
}

/* Sorted, non-empty, non-overlapping, and no two touching entries of the
 * same type (those must have been merged). */
static void check_normalised(const struct e820_map *m)
{
	unsigned i;

	ck_assert_uint_le(m->n, E820_MAX_ENTRIES);
	for (i = 0; i < m->n; i++) {
		ck_assert_uint_gt(m->e[i].size, 0);
		ck_assert_uint_ge(m->e[i].addr + m->e[i].size, m->e[i].addr);
		if (!i)
			continue;
		ck_assert_uint_ge(m->e[i].addr, m->e[i - 1].addr + m->e[i - 1].size);
		if (m->e[i].addr == m->e[i - 1].addr + m->e[i - 1].size)
			ck_assert_uint_ne(m->e[i].type, m->e[i - 1].type);
	}
}

START_TEST(test_pc_layout_with_bios_holes)
{
	struct ram_layout l = { .low_top = 128 * MiB, .bios_holes = true };
	struct e820_map m;

	ck_assert_int_eq(e820_build(&l, &m), 0);
	ck_assert_uint_eq(m.n, 4);
	expect(&m, 0, 0, 0x9fc00, E820_RAM);
	expect(&m, 1, 0x9fc00, 0x400, E820_RESERVED);
	expect(&m, 2, 0xf0000, 0x10000, E820_RESERVED);
	expect(&m, 3, 0x100000, 127 * MiB, E820_RAM);
	check_normalised(&m);
}
END_TEST

START_TEST(test_q35_layout_tseg_acpi_highmem)
{
	/* q35 with 6 GiB: 2 GiB low, 4 GiB high, 8 MiB TSEG at the top of low
	 * RAM, 128 KiB of ACPI tables just below it. */
	struct e820_range extra[] = {
		{ 0x80000000ULL - 8 * MiB, 8 * MiB, E820_RESERVED },
		{ 0x80000000ULL - 8 * MiB - 128 * KiB, 128 * KiB, E820_ACPI },
	};
	struct ram_layout l = {
		.low_top = 0x80000000ULL, .high_size = 4 * GiB, .bios_holes = true,
		.extra = extra, .nextra = 2,
	};
	struct e820_map m;

	ck_assert_int_eq(e820_build(&l, &m), 0);
	ck_assert_uint_eq(m.n, 7);
	expect(&m, 3, 0x100000, 0x80000000ULL - 8 * MiB - 128 * KiB - 0x100000, E820_RAM);
	expect(&m, 4, 0x80000000ULL - 8 * MiB - 128 * KiB, 128 * KiB, E820_ACPI);
	expect(&m, 5, 0x80000000ULL - 8 * MiB, 8 * MiB, E820_RESERVED);
	expect(&m, 6, 0x100000000ULL, 4 * GiB, E820_RAM);
	check_normalised(&m);
	ck_assert(!e820_is_ram(&m, 0x80000000ULL - 8 * MiB, 1));
	ck_assert_uint_eq(e820_ram_end(&m, 0x100000), 0x80000000ULL - 8 * MiB - 128 * KiB);
}
END_TEST

START_TEST(test_firmware_layout_is_flat)
{
	struct ram_layout l = { .low_top = 3 * GiB, .high_size = 1 * GiB };
	struct e820_map m;

	ck_assert_int_eq(e820_build(&l, &m), 0);
	ck_assert_uint_eq(m.n, 2);
	expect(&m, 0, 0, 3 * GiB, E820_RAM);
	expect(&m, 1, 4 * GiB, 1 * GiB, E820_RAM);
}
END_TEST

START_TEST(test_build_rejects_bad_layouts)
{
	struct e820_range bad = { 0x1000, 0, E820_RESERVED };
	struct ram_layout l = { .low_top = 4 * GiB + 4096 };
	struct e820_map m;

	err_clear();
	ck_assert_int_eq(e820_build(&l, &m), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "RAM below 4 GiB"));
	ck_assert_uint_eq(m.n, 0);
	l.low_top = 64 * MiB + 1;
	ck_assert_int_eq(e820_build(&l, &m), -EINVAL);
	l.low_top = 1 * MiB;
	l.bios_holes = true;
	err_clear();
	ck_assert_int_eq(e820_build(&l, &m), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "too little"));
	l.low_top = 64 * MiB;
	l.high_size = ~0ULL & ~0xfffULL;
	ck_assert_int_eq(e820_build(&l, &m), -EINVAL);
	l.high_size = 0;
	l.extra = &bad;
	l.nextra = 1;
	err_clear();
	ck_assert_int_eq(e820_build(&l, &m), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "reserved"));
	ck_assert_uint_eq(m.n, 0);
	/* exactly 4 GiB of low RAM is fine */
	l.nextra = 0;
	l.low_top = 4 * GiB;
	ck_assert_int_eq(e820_build(&l, &m), 0);
	ck_assert_uint_eq(m.e[m.n - 1].addr + m.e[m.n - 1].size, 4 * GiB);
}
END_TEST

START_TEST(test_add_merges_and_splits)
{
	struct e820_map m = { .n = 0 };

	ck_assert_int_eq(e820_add(&m, 0x2000, 0x1000, E820_RAM), 0);
	ck_assert_int_eq(e820_add(&m, 0x1000, 0x1000, E820_RAM), 0);   /* touching below */
	ck_assert_int_eq(e820_add(&m, 0x2800, 0x2000, E820_RAM), 0);   /* overlapping above */
	ck_assert_uint_eq(m.n, 1);
	expect(&m, 0, 0x1000, 0x3800, E820_RAM);
	/* a reserved hole in the middle splits RAM in three */
	ck_assert_int_eq(e820_add(&m, 0x2000, 0x100, E820_RESERVED), 0);
	ck_assert_uint_eq(m.n, 3);
	expect(&m, 0, 0x1000, 0x1000, E820_RAM);
	expect(&m, 1, 0x2000, 0x100, E820_RESERVED);
	expect(&m, 2, 0x2100, 0x2700, E820_RAM);
	/* RAM added over a reserved range does not win */
	ck_assert_int_eq(e820_add(&m, 0x1800, 0x1000, E820_RAM), 0);
	expect(&m, 1, 0x2000, 0x100, E820_RESERVED);
	/* between two non-RAM types the larger number wins */
	ck_assert_int_eq(e820_add(&m, 0x2080, 0x100, E820_ACPI), 0);
	ck_assert_uint_eq(m.n, 4);
	expect(&m, 1, 0x2000, 0x80, E820_RESERVED);
	expect(&m, 2, 0x2080, 0x100, E820_ACPI);
	expect(&m, 3, 0x2180, 0x2680, E820_RAM);
	/* a range at the very top of the address space */
	ck_assert_int_eq(e820_add(&m, ~0ULL - 0xfff, 0xfff, E820_RESERVED), 0);
	expect(&m, 4, ~0ULL - 0xfff, 0xfff, E820_RESERVED);
	check_normalised(&m);
}
END_TEST

START_TEST(test_add_rejects_malformed)
{
	struct e820_map m = { .n = 0 }, before;

	ck_assert_int_eq(e820_add(&m, 0x1000, 0x1000, E820_RAM), 0);
	before = m;
	ck_assert_int_eq(e820_add(&m, 0x1000, 0, E820_RAM), -EINVAL);
	ck_assert_int_eq(e820_add(&m, ~0ULL, 2, E820_RAM), -EINVAL);
	ck_assert_int_eq(e820_add(&m, 0, ~0ULL, E820_RESERVED), 0);    /* just fits */
	m = before;
	ck_assert_int_eq(e820_add(&m, 1, ~0ULL, E820_RESERVED), -EINVAL);
	ck_assert_int_eq(e820_add(&m, 0x5000, 0x1000, 0), -EINVAL);
	ck_assert_mem_eq(&m, &before, sizeof(m));
	/* a corrupt count is refused, not trusted */
	m.n = E820_MAX_ENTRIES + 5;
	ck_assert_int_eq(e820_add(&m, 0x5000, 0x1000, E820_RAM), -EINVAL);
}
END_TEST

START_TEST(test_add_capacity)
{
	struct e820_map m = { .n = 0 }, before;
	unsigned i;

	for (i = 0; i < E820_MAX_ENTRIES; i++)
		ck_assert_int_eq(e820_add(&m, i * 0x2000ULL, 0x1000, E820_RAM), 0);
	ck_assert_uint_eq(m.n, E820_MAX_ENTRIES);
	before = m;
	ck_assert_int_eq(e820_add(&m, 0x10000000, 0x1000, E820_RAM), -ENOSPC);
	ck_assert_mem_eq(&m, &before, sizeof(m));
	/* one that merges two entries still fits */
	ck_assert_int_eq(e820_add(&m, 0x1000, 0x1000, E820_RAM), 0);
	ck_assert_uint_eq(m.n, E820_MAX_ENTRIES - 1);
	expect(&m, 0, 0, 0x3000, E820_RAM);
	/* splitting a full map fails and leaves it alone */
	ck_assert_int_eq(e820_add(&m, 0x8000, 0x1000, E820_RAM), 0);
	ck_assert_uint_eq(m.n, E820_MAX_ENTRIES - 1);
	ck_assert_int_eq(e820_add(&m, 0x10000000, 0x1000, E820_RAM), 0);
	before = m;
	ck_assert_int_eq(e820_add(&m, 0x800, 0x10, E820_RESERVED), -ENOSPC);
	ck_assert_mem_eq(&m, &before, sizeof(m));
}
END_TEST

/* Reference model: the type at @addr is the winner among all ranges added. */
struct added {
	uint64_t addr, size;
	uint32_t type;
};

static uint32_t model_type(const struct added *a, unsigned n, uint64_t addr)
{
	uint32_t best = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (addr < a[i].addr || addr - a[i].addr >= a[i].size)
			continue;
		if (!best || (best == E820_RAM && a[i].type != E820_RAM) ||
		    (best != E820_RAM && a[i].type != E820_RAM && a[i].type > best))
			best = a[i].type;
	}
	return best;
}

START_TEST(test_random_adds_match_model)
{
	static const uint32_t types[] = { E820_RAM, E820_RAM, E820_RESERVED, E820_ACPI,
					  E820_NVS, E820_UNUSABLE };
	unsigned round;

	srandom(0xe820);
	for (round = 0; round < 200; round++) {
		struct added a[40];
		struct e820_map m = { .n = 0 };
		unsigned n = 0, i;

		for (i = 0; i < ARRAY_SIZE(a); i++) {
			uint64_t addr = (uint64_t)(random() % 64) * 0x1000;
			uint64_t size = (uint64_t)(random() % 16 + 1) * 0x1000;
			uint32_t type = types[random() % ARRAY_SIZE(types)];

			if (e820_add(&m, addr, size, type) == 0)
				a[n++] = (struct added){ addr, size, type };
			check_normalised(&m);
		}
		for (i = 0; i < 80 * 0x1000; i += 0x800) {
			const struct e820_entry *e = e820_find(&m, i);
			uint32_t want = model_type(a, n, i);

			if (!want)
				ck_assert_ptr_null(e);
			else
				ck_assert_uint_eq(e ? e->type : 0, want);
		}
	}
}
END_TEST

START_TEST(test_lookup_and_serialize)
{
	struct ram_layout l = { .low_top = 16 * MiB, .bios_holes = true };
	uint8_t buf[4 * E820_ENTRY_SIZE + 7];
	struct e820_map m;

	ck_assert_int_eq(e820_build(&l, &m), 0);
	ck_assert(e820_is_ram(&m, 0, 0x9fc00));
	ck_assert(!e820_is_ram(&m, 0, 0x9fc01));
	ck_assert(!e820_is_ram(&m, 0xa0000, 1));
	ck_assert(e820_is_ram(&m, 16 * MiB - 1, 1));
	ck_assert(!e820_is_ram(&m, 16 * MiB - 1, 2));
	ck_assert(!e820_is_ram(&m, 1 * MiB, ~0ULL));
	ck_assert_ptr_null(e820_find(&m, 0xc0000));
	ck_assert_uint_eq(e820_ram_end(&m, 0x9fbff), 0x9fc00);
	ck_assert_uint_eq(e820_ram_end(&m, 0x9fc00), 0);
	ck_assert_uint_eq(e820_ram_end(&m, 16 * MiB), 0);

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(e820_serialize(&m, buf, sizeof(buf) - 8), -ENOSPC);
	ck_assert_int_eq(e820_serialize(&m, buf, sizeof(buf)), 4 * E820_ENTRY_SIZE);
	ck_assert_uint_eq(ld_le64(buf + 20), 0x9fc00);
	ck_assert_uint_eq(ld_le64(buf + 28), 0x400);
	ck_assert_uint_eq(ld_le32(buf + 36), 2);
	ck_assert_uint_eq(ld_le64(buf + 60), 0x100000);
	ck_assert_uint_eq(ld_le64(buf + 68), 15 * MiB);
	ck_assert_uint_eq(ld_le32(buf + 76), 1);
	ck_assert_uint_eq(buf[80], 0xee);
	ck_assert_str_eq(e820_type_name(E820_ACPI), "ACPI");
	ck_assert_str_eq(e820_type_name(99), "unknown");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e820");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_pc_layout_with_bios_holes);
	tcase_add_test(tc, test_q35_layout_tseg_acpi_highmem);
	tcase_add_test(tc, test_firmware_layout_is_flat);
	tcase_add_test(tc, test_build_rejects_bad_layouts);
	tcase_add_test(tc, test_add_merges_and_splits);
	tcase_add_test(tc, test_add_rejects_malformed);
	tcase_add_test(tc, test_add_capacity);
	tcase_add_test(tc, test_random_adds_match_model);
	tcase_add_test(tc, test_lookup_and_serialize);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
