/* Unit tests for vmm/bus.c: registration rules and dispatch by offset. */
#include <errno.h>

#include "tests/unit/support.h"
#include "vmm/bus.h"

struct rec_dev {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
	uint64_t read_val;
};

static uint64_t rd(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct rec_dev *d = dev;

	d->reads++;
	d->last_off = off;
	d->last_size = size;
	return d->read_val;
}

static void wr(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val, unsigned size)
{
	struct rec_dev *d = dev;

	d->writes++;
	d->last_off = off;
	d->last_val = val;
	d->last_size = size;
}

static const struct dev_ops rec_ops = { .name = "rec", .read = rd, .write = wr };

START_TEST(test_register_rules)
{
	struct bus b;
	struct rec_dev d = { 0 };

	bus_init(&b, "t");
	ck_assert_int_eq(bus_register(&b, 0x100, 0, &rec_ops, &d), -EINVAL);
	ck_assert_int_eq(bus_register(&b, ~0ULL, 2, &rec_ops, &d), -EINVAL);
	ck_assert_int_eq(bus_register(&b, 0x100, 0x10, &rec_ops, &d), 0);
	ck_assert_int_eq(bus_register(&b, 0x10f, 1, &rec_ops, &d), -EEXIST);
	ck_assert_int_eq(bus_register(&b, 0xf8, 0x9, &rec_ops, &d), -EEXIST);
	ck_assert_int_eq(bus_register(&b, 0xf0, 0x10, &rec_ops, &d), 0);
	ck_assert_int_eq(bus_register(&b, 0x110, 0x10, &rec_ops, &d), 0);
	ck_assert_ptr_nonnull(bus_find(&b, 0x11f));
	ck_assert_ptr_null(bus_find(&b, 0x120));
	ck_assert_int_eq(bus_unregister(&b, 0x100, &d), 0);
	ck_assert_int_eq(bus_unregister(&b, 0x100, &d), -ENOENT);
	ck_assert_ptr_null(bus_find(&b, 0x105));
	ck_assert_int_eq(bus_unregister_dev(&b, &d), 2);
	ck_assert_uint_eq(b.n, 0);
	bus_free(&b);
}
END_TEST

START_TEST(test_dispatch_offsets)
{
	struct bus b;
	struct rec_dev d = { .read_val = 0x1234 };
	struct io_ctx ctx = { .cpu = 0 };
	uint8_t buf[8];
	uint32_t v = 0xdeadbeef;

	bus_init(&b, "t");
	ck_assert_int_eq(bus_register(&b, 0x3f8, 8, &rec_ops, &d), 0);
	ck_assert_int_eq(bus_read(&b, &ctx, 0x3fd, buf, 2), 0);
	ck_assert_uint_eq(d.last_off, 5);
	ck_assert_uint_eq(d.last_size, 2);
	ck_assert_uint_eq(buf[0], 0x34);
	ck_assert_uint_eq(buf[1], 0x12);
	ck_assert_int_eq(bus_write(&b, &ctx, 0x3f8, &v, 4), 0);
	ck_assert_uint_eq(d.last_off, 0);
	ck_assert_uint_eq(d.last_val, 0xdeadbeef);
	/* unassigned reads are all-ones, writes are dropped */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(bus_read(&b, &ctx, 0x80, buf, 4), -ENOENT);
	ck_assert_uint_eq(ld_le32(buf), 0xffffffff);
	ck_assert_int_eq(bus_write(&b, &ctx, 0x80, &v, 1), -ENOENT);
	/* an access straddling the end is split into bytes */
	d.reads = 0;
	ck_assert_int_eq(bus_read(&b, &ctx, 0x3fe, buf, 4), 0);
	ck_assert_uint_eq(d.reads, 2);
	ck_assert_uint_eq(buf[2], 0xff);
	ck_assert_uint_eq(buf[3], 0xff);
	bus_free(&b);
}
END_TEST

START_TEST(test_many_ranges_sorted)
{
	struct bus b;
	struct rec_dev d = { 0 };
	unsigned i;

	bus_init(&b, "t");
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(bus_register(&b, (99 - i) * 0x10ULL, 0x8, &rec_ops, &d), 0);
	for (i = 1; i < b.n; i++)
		ck_assert(b.ranges[i - 1].base < b.ranges[i].base);
	for (i = 0; i < 100; i++) {
		ck_assert_ptr_nonnull(bus_find(&b, i * 0x10ULL + 7));
		ck_assert_ptr_null(bus_find(&b, i * 0x10ULL + 8));
	}
	bus_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_register_rules);
	tcase_add_test(tc, test_dispatch_offsets);
	tcase_add_test(tc, test_many_ranges_sorted);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
