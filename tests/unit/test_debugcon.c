/* Unit tests for devices/legacy/debugcon.c: QEMU's isa-debugcon. */
#include <errno.h>

#include "devices/legacy/debugcon.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

START_TEST(test_output_and_readback)
{
	struct cap_chardev c;
	struct debugcon *d;
	struct bus b;
	struct io_ctx ctx = { .cpu = 0 };
	const struct bus_range *r;
	const char *msg = "OVMF\n";
	uint16_t w = 0x4241;
	uint8_t buf[2];
	unsigned i;

	cap_chardev_init(&c);
	bus_init(&b, "pio");
	ck_assert_int_eq(debugcon_create(&c.chr, PORT_DEBUGCON, DEBUGCON_DEFAULT_READBACK, &d), 0);
	ck_assert_int_eq(debugcon_attach(d, &b), 0);
	r = bus_find(&b, PORT_DEBUGCON);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->len, 1);
	for (i = 0; msg[i]; i++)
		dev_write(r->ops, r->dev, 0, (uint8_t)msg[i], 1);
	ck_assert_str_eq(c.out, "OVMF\n");
	/* a byte per access: only the low byte of a wide value */
	dev_write(r->ops, r->dev, 0, 0x7a7978, 4);
	ck_assert_uint_eq(c.len, 6);
	ck_assert_uint_eq((uint8_t)c.out[5], 0x78);
	/* a word write through the bus: the high byte falls off the 1-byte port */
	ck_assert_int_eq(bus_write(&b, &ctx, PORT_DEBUGCON, &w, 2), 0);
	ck_assert_uint_eq(c.len, 7);
	ck_assert_uint_eq((uint8_t)c.out[6], 0x41);
	/* NUL and 0xff bytes pass unchanged */
	dev_write(r->ops, r->dev, 0, 0x00, 1);
	dev_write(r->ops, r->dev, 0, 0xff, 1);
	ck_assert_uint_eq(c.len, 9);
	ck_assert_uint_eq((uint8_t)c.out[8], 0xff);
	/* reads: the readback value; the bus fills what lies past the port */
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 0, 1), 0xe9);
	ck_assert_int_eq(bus_read(&b, &ctx, PORT_DEBUGCON, buf, 2), 0);
	ck_assert_uint_eq(buf[0], 0xe9);
	ck_assert_uint_eq(buf[1], 0xff);
	bus_free(&b);
	debugcon_destroy(d);
}
END_TEST

START_TEST(test_config_variants)
{
	struct debugcon *d;
	struct bus b;
	const struct bus_range *r;

	bus_init(&b, "pio");
	/* QEMU's own default port and a custom readback */
	ck_assert_int_eq(debugcon_create(NULL, DEBUGCON_QEMU_IOBASE, 0x42, &d), 0);
	ck_assert_int_eq(debugcon_attach(d, &b), 0);
	r = bus_find(&b, 0xe9);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(dev_read(r->ops, r->dev, 0, 1), 0x42);
	/* no chardev: output is dropped, no crash */
	dev_write(r->ops, r->dev, 0, 'x', 1);
	/* two consoles cannot share a port */
	ck_assert_int_eq(debugcon_attach(d, &b), -EEXIST);
	ck_assert_int_eq(debugcon_create(NULL, 0x402, 0xe9, NULL), -EINVAL);
	bus_free(&b);
	debugcon_destroy(d);
	debugcon_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("debugcon");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_output_and_readback);
	tcase_add_test(tc, test_config_variants);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
