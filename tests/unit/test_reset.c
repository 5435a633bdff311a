/* Unit tests for devices/legacy/reset.c: 0xcf9 and port 0x92. */
#include <errno.h>

#include "devices/legacy/reset.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

static unsigned resets;

static void on_reset(void *opaque)
{
	ck_assert_ptr_eq(opaque, &resets);
	resets++;
}

struct fixture {
	struct reset *r;
	struct bus b;
	const struct bus_range *rcr, *p92;
};

static struct fixture f;

static void setup(void)
{
	resets = 0;
	bus_init(&f.b, "pio");
	ck_assert_int_eq(reset_create(on_reset, &resets, &f.r), 0);
	ck_assert_int_eq(reset_attach_rcr(f.r, &f.b), 0);
	ck_assert_int_eq(reset_attach_port92(f.r, &f.b), 0);
	f.rcr = bus_find(&f.b, PORT_RESET_CONTROL);
	f.p92 = bus_find(&f.b, PORT_A20);
	ck_assert_ptr_nonnull(f.rcr);
	ck_assert_ptr_nonnull(f.p92);
}

static void teardown(void)
{
	bus_free(&f.b);
	reset_destroy(f.r);
}

START_TEST(test_rcr)
{
	ck_assert_uint_eq(dev_read(f.rcr->ops, f.rcr->dev, 0, 1), 0);
	/* SYS_RST / FULL_RST are stored and read back, RST_CPU is not stored */
	dev_write(f.rcr->ops, f.rcr->dev, 0, RCR_SYS_RST, 1);
	ck_assert_uint_eq(dev_read(f.rcr->ops, f.rcr->dev, 0, 1), RCR_SYS_RST);
	ck_assert_uint_eq(resets, 0);
	dev_write(f.rcr->ops, f.rcr->dev, 0, 0xf1 | RCR_FULL_RST, 1);   /* junk bits dropped */
	ck_assert_uint_eq(dev_read(f.rcr->ops, f.rcr->dev, 0, 1), RCR_FULL_RST);
	ck_assert_uint_eq(resets, 0);
	/* OVMF's ResetCold: RST_CPU | SYS_RST */
	dev_write(f.rcr->ops, f.rcr->dev, 0, RCR_RST_CPU | RCR_SYS_RST, 1);
	ck_assert_uint_eq(resets, 1);
	ck_assert_uint_eq(dev_read(f.rcr->ops, f.rcr->dev, 0, 1), RCR_SYS_RST);
	/* RST_CPU alone (soft reset) also fires, every time it is written */
	reset_rcr_write(f.r, RCR_RST_CPU);
	reset_rcr_write(f.r, RCR_RST_CPU);
	ck_assert_uint_eq(resets, 3);
	ck_assert_uint_eq(reset_rcr_read(f.r), 0);
	/* wider accesses: only the byte at offset 0 is the register */
	dev_write(f.rcr->ops, f.rcr->dev, 0, 0x0402, 2);
	ck_assert_uint_eq(resets, 3);
	ck_assert_uint_eq(dev_read(f.rcr->ops, f.rcr->dev, 0, 2), 0xff02);
	dev_write(f.rcr->ops, f.rcr->dev, 1, RCR_RST_CPU, 1);   /* out of range */
	ck_assert_uint_eq(resets, 3);
	ck_assert_uint_eq(dev_read(f.rcr->ops, f.rcr->dev, 5, 1), 0xff);
	reset_power_on(f.r);
	ck_assert_uint_eq(reset_rcr_read(f.r), 0);
}
END_TEST

START_TEST(test_port92)
{
	struct io_ctx ctx = { .cpu = 0 };
	uint8_t v;

	/* power-on: A20 enabled, no reset pending */
	ck_assert_uint_eq(dev_read(f.p92->ops, f.p92->dev, 0, 1), PORT92_A20);
	ck_assert(reset_a20(f.r));
	dev_write(f.p92->ops, f.p92->dev, 0, 0x00, 1);
	ck_assert(!reset_a20(f.r));
	ck_assert_uint_eq(dev_read(f.p92->ops, f.p92->dev, 0, 1), 0);
	dev_write(f.p92->ops, f.p92->dev, 0, PORT92_A20, 1);
	ck_assert(reset_a20(f.r));
	ck_assert_uint_eq(resets, 0);
	/* fast reset on the 0 -> 1 edge of bit 0 only */
	v = PORT92_A20 | PORT92_FAST_RESET;
	ck_assert_int_eq(bus_write(&f.b, &ctx, PORT_A20, &v, 1), 0);
	ck_assert_uint_eq(resets, 1);
	ck_assert_uint_eq(dev_read(f.p92->ops, f.p92->dev, 0, 1), v);
	dev_write(f.p92->ops, f.p92->dev, 0, v, 1);
	ck_assert_uint_eq(resets, 1);
	dev_write(f.p92->ops, f.p92->dev, 0, PORT92_A20, 1);
	dev_write(f.p92->ops, f.p92->dev, 0, PORT92_FAST_RESET, 1);
	ck_assert_uint_eq(resets, 2);
	/* other bits are kept */
	dev_write(f.p92->ops, f.p92->dev, 0, 0xc8 | PORT92_FAST_RESET, 1);
	ck_assert_uint_eq(dev_read(f.p92->ops, f.p92->dev, 0, 1), 0xc9);
	ck_assert_uint_eq(resets, 2);
	/* out-of-range and wide accesses */
	dev_write(f.p92->ops, f.p92->dev, 1, 0x00, 1);
	ck_assert_uint_eq(dev_read(f.p92->ops, f.p92->dev, 0, 4), 0xffffffc9);
	reset_power_on(f.r);
	ck_assert_uint_eq(dev_read(f.p92->ops, f.p92->dev, 0, 1), PORT92_POWER_ON);
	/* after a reset a new 0 -> 1 edge is needed (and power-on gives one) */
	dev_write(f.p92->ops, f.p92->dev, 0, PORT92_FAST_RESET, 1);
	ck_assert_uint_eq(resets, 3);
}
END_TEST

START_TEST(test_create_errors)
{
	struct reset *r = NULL;

	ck_assert_int_eq(reset_create(NULL, NULL, &r), -EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(reset_create(on_reset, NULL, NULL), -EINVAL);
	ck_assert_int_eq(reset_attach_rcr(f.r, &f.b), -EEXIST);
	ck_assert_int_eq(reset_attach_port92(f.r, &f.b), -EEXIST);
	reset_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reset");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rcr);
	tcase_add_test(tc, test_port92);
	tcase_add_test(tc, test_create_errors);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
