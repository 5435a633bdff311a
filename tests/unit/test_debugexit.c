/* Unit tests for devices/legacy/debugexit.c: QEMU's isa-debug-exit. */
#include <errno.h>

#include "devices/legacy/debugexit.h"
#include "tests/unit/support.h"
#include "vmm/err.h"
#include "vmm/memmap.h"

struct exit_rec {
	unsigned calls;
	uint64_t status;
};

static void on_exit_cb(void *opaque, uint64_t status)
{
	struct exit_rec *e = opaque;

	e->calls++;
	e->status = status;
}

START_TEST(test_status_encoding_per_width)
{
	struct exit_rec e = { 0 };
	struct debugexit *d;
	struct bus b;
	struct io_ctx ctx = { .cpu = 0 };
	const struct bus_range *r;
	uint32_t v;
	uint8_t b8;

	bus_init(&b, "pio");
	ck_assert_int_eq(debugexit_create(PORT_DEBUG_EXIT, 4, on_exit_cb, &e, &d), 0);
	ck_assert_int_eq(debugexit_attach(d, &b), 0);
	r = bus_find(&b, PORT_DEBUG_EXIT + 3);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(bus_find(&b, PORT_DEBUG_EXIT + 4));
	/* byte: 0 -> 1, 0x10 -> 0x21 (kvm-unit-tests' convention) */
	dev_write(r->ops, r->dev, 0, 0, 1);
	ck_assert_uint_eq(e.status, 1);
	dev_write(r->ops, r->dev, 0, 0x10, 1);
	ck_assert_uint_eq(e.status, 0x21);
	/* the value is taken at the access width; stray high bits are ignored */
	dev_write(r->ops, r->dev, 0, 0xffffff01, 1);
	ck_assert_uint_eq(e.status, 0x03);
	dev_write(r->ops, r->dev, 0, 0xdead1234, 2);
	ck_assert_uint_eq(e.status, 0x2469);
	dev_write(r->ops, r->dev, 0, 0xffffffff, 4);
	ck_assert_uint_eq(e.status, 0x1ffffffffULL);
	/* the offset inside the range does not matter */
	dev_write(r->ops, r->dev, 3, 0x7f, 1);
	ck_assert_uint_eq(e.status, 0xff);
	ck_assert_uint_eq(e.calls, 6);
	/* through the bus, as the guest does it */
	v = 0x2a;
	ck_assert_int_eq(bus_write(&b, &ctx, PORT_DEBUG_EXIT, &v, 4), 0);
	ck_assert_uint_eq(e.status, 0x55);
	/* reads are 0 at every width and do not exit */
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 0, 1), 0);
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 2, 2), 0);
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 0, 4), 0);
	ck_assert_int_eq(bus_read(&b, &ctx, PORT_DEBUG_EXIT + 1, &b8, 1), 0);
	ck_assert_uint_eq(b8, 0);
	ck_assert_uint_eq(e.calls, 7);
	bus_free(&b);
	debugexit_destroy(d);
}
END_TEST

START_TEST(test_sizes_and_bases)
{
	struct exit_rec e = { 0 };
	struct debugexit *d = NULL;
	struct bus b;
	unsigned sizes[] = { 1, 2, 4 };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		bus_init(&b, "pio");
		ck_assert_int_eq(debugexit_create(DEBUGEXIT_QEMU_IOBASE, sizes[i], on_exit_cb, &e,
						  &d), 0);
		ck_assert_int_eq(debugexit_attach(d, &b), 0);
		ck_assert_ptr_nonnull(bus_find(&b, DEBUGEXIT_QEMU_IOBASE + sizes[i] - 1));
		ck_assert_ptr_null(bus_find(&b, DEBUGEXIT_QEMU_IOBASE + sizes[i]));
		bus_free(&b);
		debugexit_destroy(d);
	}
	/* bad iosize values are refused with a message naming the option */
	err_clear();
	ck_assert_int_eq(debugexit_create(0xf4, 3, on_exit_cb, &e, &d), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "iosize"));
	ck_assert_int_eq(debugexit_create(0xf4, 0, on_exit_cb, &e, &d), -EINVAL);
	ck_assert_int_eq(debugexit_create(0xf4, 8, on_exit_cb, &e, &d), -EINVAL);
	/* a range past port 0xffff */
	ck_assert_int_eq(debugexit_create(0xfffe, 4, on_exit_cb, &e, &d), -EINVAL);
	ck_assert_int_eq(debugexit_create(0xfffc, 4, on_exit_cb, &e, &d), 0);
	debugexit_destroy(d);
	/* no callback */
	ck_assert_int_eq(debugexit_create(0xf4, 4, NULL, &e, &d), -EINVAL);
	debugexit_destroy(NULL);
	ck_assert_uint_eq(e.calls, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("debugexit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_status_encoding_per_width);
	tcase_add_test(tc, test_sizes_and_bases);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
