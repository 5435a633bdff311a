/* Unit tests for devices/legacy/post.c: the POST code port 0x80. */
#include <errno.h>

#include "devices/legacy/post.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

START_TEST(test_codes_and_reads)
{
	struct post *p;
	struct bus b;
	struct io_ctx ctx = { .cpu = 0 };
	const struct bus_range *r;
	uint8_t code = 0x55;
	uint32_t v = 0;

	bus_init(&b, "pio");
	ck_assert_int_eq(post_create(&p), 0);
	ck_assert_int_eq(post_attach(p, &b), 0);
	r = bus_find(&b, PORT_POST);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(bus_find(&b, PORT_POST + 1));
	ck_assert_uint_eq(post_last(p), 0);
	ck_assert_uint_eq(post_count(p), 0);
	dev_write(r->ops, r->dev, 0, 0x10, 1);
	dev_write(r->ops, r->dev, 0, 0x1ab, 1);   /* stray bits above the width */
	ck_assert_uint_eq(post_last(p), 0xab);
	ck_assert_int_eq(bus_write(&b, &ctx, PORT_POST, &code, 1), 0);
	ck_assert_uint_eq(post_last(p), 0x55);
	/* a 16-bit code reaching the device directly is kept whole */
	dev_write(r->ops, r->dev, 0, 0xbeef, 2);
	ck_assert_uint_eq(post_last(p), 0xbeef);
	dev_write(r->ops, r->dev, 0, 0x1122334455667788ULL, 8);
	ck_assert_uint_eq(post_last(p), 0x55667788);
	ck_assert_uint_eq(post_count(p), 5);
	/* reads: all-ones at the width, no side effect */
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 0, 1), 0xff);
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 0, 2), 0xffff);
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 0, 4), 0xffffffff);
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 0, 8), ~0ULL);
	ck_assert_int_eq(bus_read(&b, &ctx, PORT_POST, &v, 4), 0);
	ck_assert_uint_eq(v, 0xffffffff);
	ck_assert_uint_eq(post_last(p), 0x55667788);
	ck_assert_uint_eq(post_count(p), 5);
	ck_assert_int_eq(post_attach(p, &b), -EEXIST);
	ck_assert_int_eq(post_create(NULL), -EINVAL);
	bus_free(&b);
	post_destroy(p);
	post_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("post");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_codes_and_reads);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
