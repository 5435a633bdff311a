/* Unit tests for devices/legacy/i8042.c: PS/2 controller and keyboard. */
#include <errno.h>

#include "devices/legacy/i8042.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

struct fixture {
	struct irq_rec irq;
	struct bus bus;
	struct i8042 *k;
	const struct bus_range *data, *cmd;
	unsigned resets;
};

static struct fixture f;

static void on_reset(void *opaque)
{
	ck_assert_ptr_eq(opaque, &f);
	f.resets++;
}

static void setup(void)
{
	f.resets = 0;
	irq_rec_init(&f.irq);
	bus_init(&f.bus, "pio");
	ck_assert_int_eq(i8042_create(irq_rec_line(&f.irq, GSI_KBD), irq_rec_line(&f.irq, GSI_MOUSE),
				      on_reset, &f, &f.k), 0);
	ck_assert_int_eq(i8042_attach(f.k, &f.bus), 0);
	f.data = bus_find(&f.bus, PORT_I8042_DATA);
	f.cmd = bus_find(&f.bus, PORT_I8042_CMD);
	ck_assert_ptr_nonnull(f.data);
	ck_assert_ptr_nonnull(f.cmd);
	/* 0x61-0x63 stay free for port 0x61 (PIT/speaker) */
	ck_assert_ptr_null(bus_find(&f.bus, PORT_PORT61));
}

static void teardown(void)
{
	bus_free(&f.bus);
	i8042_destroy(f.k);
}

static uint8_t st(void)
{
	return (uint8_t)dev_read(f.cmd->ops, f.cmd->dev, 0, 1);
}

static uint8_t rd(void)
{
	return (uint8_t)dev_read(f.data->ops, f.data->dev, 0, 1);
}

static void cmd(uint8_t v)
{
	dev_write(f.cmd->ops, f.cmd->dev, 0, v, 1);
}

static void wd(uint8_t v)
{
	dev_write(f.data->ops, f.data->dev, 0, v, 1);
}

/* Read one byte the way drivers do: OBF must already be set (no waiting). */
static uint8_t rd_ready(void)
{
	ck_assert_uint_eq(st() & I8042_STR_OBF, I8042_STR_OBF);
	return rd();
}

static void expect_bytes(const uint8_t *exp, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		ck_assert_uint_eq(rd_ready(), exp[i]);
	ck_assert_uint_eq(st() & I8042_STR_OBF, 0);
}

#define EXPECT(...) do {                                                         \
		const uint8_t exp_[] = { __VA_ARGS__ };                          \
		expect_bytes(exp_, sizeof(exp_));                                \
	} while (0)

static uint8_t read_ctr(void)
{
	cmd(I8042_CMD_READ_CTR);
	return rd_ready();
}

static void write_ctr(uint8_t v)
{
	cmd(I8042_CMD_WRITE_CTR);
	wd(v);
}

START_TEST(test_power_on)
{
	ck_assert_uint_eq(st(), I8042_STR_KEYLOCK);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 0);
	/* a controller reply raises IRQ 1 (KBDINT is on), reading lowers it */
	cmd(I8042_CMD_READ_CTR);
	ck_assert_uint_eq(st(), I8042_STR_KEYLOCK | I8042_STR_A2 | I8042_STR_OBF);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 1);
	ck_assert_uint_eq(rd(), I8042_CTR_POWER_ON);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 0);
	ck_assert_uint_eq(f.irq.raises[GSI_MOUSE], 0);
	ck_assert(i8042_translating(f.k));
	ck_assert(i8042_a20(f.k));
	ck_assert_uint_eq(i8042_scancode_set(f.k), 2);
	/* A2 follows the last port written */
	write_ctr(I8042_CTR_POWER_ON);
	ck_assert_uint_eq(st() & I8042_STR_A2, 0);
}
END_TEST

START_TEST(test_controller_tests)
{
	cmd(I8042_CMD_SELF_TEST);
	EXPECT(I8042_SELF_TEST_OK);
	ck_assert_uint_eq(st() & I8042_STR_SYS, I8042_STR_SYS);
	cmd(I8042_CMD_KBD_TEST);
	EXPECT(0x00);
	cmd(I8042_CMD_AUX_TEST);
	EXPECT(0x00);
	cmd(I8042_CMD_PWD_TEST);
	EXPECT(I8042_NO_PASSWORD);
	cmd(I8042_CMD_READ_INPORT);
	EXPECT(I8042_INPORT);
	/* SYS is command byte bit 2 */
	write_ctr(0x00);
	ck_assert_uint_eq(st() & I8042_STR_SYS, 0);
	write_ctr(I8042_CTR_SYS);
	ck_assert_uint_eq(st() & I8042_STR_SYS, I8042_STR_SYS);
}
END_TEST

START_TEST(test_controller_ram)
{
	write_ctr(0x47);
	ck_assert_uint_eq(read_ctr(), 0x47);
	cmd(0x61);
	wd(0x12);
	cmd(0x7f);
	wd(0x34);
	cmd(0x21);
	EXPECT(0x12);
	cmd(0x3f);
	EXPECT(0x34);
	/* enable/disable commands edit the command byte */
	write_ctr(0x00);
	cmd(I8042_CMD_KBD_DISABLE);
	ck_assert_uint_eq(read_ctr(), I8042_CTR_KBDDIS);
	cmd(I8042_CMD_AUX_DISABLE);
	ck_assert_uint_eq(read_ctr(), I8042_CTR_KBDDIS | I8042_CTR_AUXDIS);
	cmd(I8042_CMD_KBD_ENABLE);
	ck_assert_uint_eq(read_ctr(), I8042_CTR_AUXDIS);
	cmd(I8042_CMD_AUX_ENABLE);
	ck_assert_uint_eq(read_ctr(), 0);
}
END_TEST

START_TEST(test_keyboard_commands)
{
	wd(KBD_CMD_RESET);
	EXPECT(KBD_ACK, KBD_BAT_OK);
	wd(KBD_CMD_IDENTIFY);
	EXPECT(KBD_ACK, KBD_ID0, KBD_ID1);
	wd(KBD_CMD_ECHO);
	EXPECT(KBD_ECHO);
	wd(KBD_CMD_SET_LEDS);
	EXPECT(KBD_ACK);
	wd(0x07);
	EXPECT(KBD_ACK);
	wd(KBD_CMD_TYPEMATIC);
	wd(0x20);
	EXPECT(KBD_ACK, KBD_ACK);
	/* scan code sets: query, select, query */
	wd(KBD_CMD_SCANSET);
	wd(0x00);
	EXPECT(KBD_ACK, KBD_ACK, 0x02);
	wd(KBD_CMD_SCANSET);
	wd(0x01);
	EXPECT(KBD_ACK, KBD_ACK);
	ck_assert_uint_eq(i8042_scancode_set(f.k), 1);
	wd(KBD_CMD_SCANSET);
	wd(0x00);
	EXPECT(KBD_ACK, KBD_ACK, 0x01);
	/* defaults bring set 2 back */
	wd(KBD_CMD_DEFAULTS);
	EXPECT(KBD_ACK);
	ck_assert_uint_eq(i8042_scancode_set(f.k), 2);
	wd(KBD_CMD_ENABLE);
	EXPECT(KBD_ACK);
	wd(0xf8);
	EXPECT(KBD_ACK);
	/* unknown -> resend request; resend repeats the last non-0xfe byte */
	wd(0x01);
	EXPECT(KBD_RESEND);
	wd(KBD_CMD_RESEND);
	EXPECT(KBD_ACK);
	wd(KBD_CMD_ECHO);
	wd(KBD_CMD_RESEND);
	EXPECT(KBD_ECHO, KBD_ECHO);
	/* reset drops what the keyboard still had queued (0x83); the byte
	 * already in the controller's output buffer (0xab) stays */
	wd(KBD_CMD_IDENTIFY);
	ck_assert_uint_eq(rd_ready(), KBD_ACK);
	wd(KBD_CMD_RESET);
	EXPECT(KBD_ID0, KBD_ACK, KBD_BAT_OK);
}
END_TEST

START_TEST(test_bad_arguments)
{
	/* a bad LED argument is refused and still awaited */
	wd(KBD_CMD_SET_LEDS);
	wd(0x80);
	EXPECT(KBD_ACK, KBD_RESEND);
	wd(0x02);
	EXPECT(KBD_ACK);
	/* a bad scan set, then a command instead of an argument */
	wd(KBD_CMD_SCANSET);
	wd(0x05);
	EXPECT(KBD_ACK, KBD_RESEND);
	wd(KBD_CMD_IDENTIFY);
	EXPECT(KBD_ACK, KBD_ID0, KBD_ID1);
	ck_assert_uint_eq(i8042_scancode_set(f.k), 2);
	/* the typematic byte after F3 is an argument, not a command */
	wd(KBD_CMD_TYPEMATIC);
	wd(0x7f);
	EXPECT(KBD_ACK, KBD_ACK);
	/* a controller command cancels a pending controller data byte */
	cmd(I8042_CMD_WRITE_CTR);
	cmd(I8042_CMD_READ_CTR);
	EXPECT(I8042_CTR_POWER_ON);
	wd(KBD_CMD_ECHO);          /* goes to the keyboard, not to the CTR */
	EXPECT(KBD_ECHO);
	ck_assert_uint_eq(read_ctr(), I8042_CTR_POWER_ON);
}
END_TEST

START_TEST(test_irq_edges_per_byte)
{
	wd(KBD_CMD_IDENTIFY);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 1);
	ck_assert_uint_eq(f.irq.raises[GSI_KBD], 1);
	ck_assert_uint_eq(rd(), KBD_ACK);
	ck_assert_uint_eq(f.irq.raises[GSI_KBD], 2);
	ck_assert_uint_eq(rd(), KBD_ID0);
	ck_assert_uint_eq(f.irq.raises[GSI_KBD], 3);
	ck_assert_uint_eq(rd(), KBD_ID1);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 0);
	/* an empty buffer reads its last value, without an interrupt */
	ck_assert_uint_eq(rd(), KBD_ID1);
	ck_assert_uint_eq(f.irq.raises[GSI_KBD], 3);
	/* KBDINT off: OBF, no IRQ; turning it on with a byte waiting raises it */
	write_ctr(0x00);
	wd(KBD_CMD_ECHO);
	ck_assert_uint_eq(st() & I8042_STR_OBF, I8042_STR_OBF);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 0);
	cmd(I8042_CMD_WRITE_CTR);
	wd(I8042_CTR_KBDINT);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 1);
	EXPECT(KBD_ECHO);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 0);
	ck_assert_uint_eq(f.irq.raises[GSI_MOUSE], 0);
}
END_TEST

START_TEST(test_kbd_disable_holds_data)
{
	static const uint8_t keys[] = { 0x1e, 0x9e };

	cmd(I8042_CMD_KBD_DISABLE);
	ck_assert_uint_eq(i8042_inject_scancode(f.k, keys, 2), 2);
	ck_assert_uint_eq(st() & I8042_STR_OBF, 0);
	/* controller replies still flow */
	ck_assert_uint_eq(read_ctr() & I8042_CTR_KBDDIS, I8042_CTR_KBDDIS);
	ck_assert_uint_eq(st() & I8042_STR_OBF, 0);
	cmd(I8042_CMD_KBD_ENABLE);
	EXPECT(0x1e, 0x9e);
	/* sending to the keyboard re-enables its interface */
	cmd(I8042_CMD_KBD_DISABLE);
	wd(KBD_CMD_ECHO);
	EXPECT(KBD_ECHO);
	ck_assert_uint_eq(read_ctr() & I8042_CTR_KBDDIS, 0);
	/* controller replies take priority over waiting keyboard bytes */
	ck_assert_uint_eq(i8042_inject_scancode(f.k, keys, 2), 2);
	cmd(I8042_CMD_READ_CTR);
	EXPECT(0x1e, I8042_CTR_POWER_ON, 0x9e);
}
END_TEST

START_TEST(test_aux_without_mouse)
{
	/* loopback (Linux's AUX and MUX probes): comes back as AUX data */
	cmd(I8042_CMD_WRITE_AUX_OB);
	wd(0x5a);
	ck_assert_uint_eq(st() & (I8042_STR_OBF | I8042_STR_AUXOBF), I8042_STR_OBF | I8042_STR_AUXOBF);
	ck_assert_uint_eq(f.irq.level[GSI_MOUSE], 0);   /* AUXINT is off at power-on */
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 0);
	ck_assert_uint_eq(rd(), 0x5a);
	ck_assert_uint_eq(st() & I8042_STR_AUXOBF, 0);
	cmd(I8042_CMD_WRITE_AUX_OB);
	wd(0xa4);
	EXPECT(0xa4);            /* MUX version probe sees its own byte: no MUX */
	/* with AUXINT, IRQ 12 and not IRQ 1 */
	write_ctr(I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	cmd(I8042_CMD_WRITE_AUX_OB);
	wd(0xa5);
	ck_assert_uint_eq(f.irq.level[GSI_MOUSE], 1);
	ck_assert_uint_eq(f.irq.level[GSI_KBD], 0);
	EXPECT(0xa5);
	ck_assert_uint_eq(f.irq.level[GSI_MOUSE], 0);
	/* a byte for the mouse: no device, 0xfe with timeout, at once */
	write_ctr(I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_AUXDIS);
	cmd(I8042_CMD_WRITE_AUX);
	wd(0xf2);
	ck_assert_uint_eq(st() & (I8042_STR_OBF | I8042_STR_AUXOBF | I8042_STR_TIMEOUT),
			  I8042_STR_OBF | I8042_STR_AUXOBF | I8042_STR_TIMEOUT);
	ck_assert_uint_eq(f.irq.level[GSI_MOUSE], 1);
	ck_assert_uint_eq(rd(), KBD_RESEND);
	ck_assert_uint_eq(st() & (I8042_STR_TIMEOUT | I8042_STR_AUXOBF), 0);
	ck_assert_uint_eq(read_ctr() & I8042_CTR_AUXDIS, 0);   /* 0xd4 re-enabled aux */
	/* the keyboard is not confused by the aux traffic */
	wd(KBD_CMD_ECHO);
	ck_assert_uint_eq(st() & (I8042_STR_AUXOBF | I8042_STR_TIMEOUT), 0);
	EXPECT(KBD_ECHO);
}
END_TEST

START_TEST(test_output_port_and_reset)
{
	cmd(I8042_CMD_READ_OUTPORT);
	EXPECT(I8042_OUT_POWER_ON);
	/* A20 off, reset line released */
	cmd(I8042_CMD_WRITE_OUTPORT);
	wd(I8042_OUT_POWER_ON & ~I8042_OUT_A20);
	ck_assert(!i8042_a20(f.k));
	ck_assert_uint_eq(f.resets, 0);
	cmd(I8042_CMD_READ_OUTPORT);
	EXPECT(I8042_OUT_POWER_ON & ~I8042_OUT_A20);
	cmd(I8042_CMD_WRITE_OUTPORT);
	wd(I8042_OUT_POWER_ON);
	ck_assert(i8042_a20(f.k));
	/* bit 0 low asserts reset */
	cmd(I8042_CMD_WRITE_OUTPORT);
	wd(I8042_OUT_POWER_ON & ~I8042_OUT_RESET);
	ck_assert_uint_eq(f.resets, 1);
	/* pulses: bit 0 of the command clear means reset */
	cmd(I8042_CMD_PULSE_RESET);
	ck_assert_uint_eq(f.resets, 2);
	cmd(0xf0);
	ck_assert_uint_eq(f.resets, 3);
	cmd(0xff);
	cmd(0xfd);
	ck_assert_uint_eq(f.resets, 3);
	ck_assert_uint_eq(st() & I8042_STR_OBF, 0);
	/* output port bits 4/5 show what sits in the output buffer */
	cmd(I8042_CMD_WRITE_KBD_OB);
	wd(0x11);
	cmd(I8042_CMD_READ_OUTPORT);
	ck_assert_uint_eq(rd_ready(), 0x11);
	ck_assert_uint_eq(rd_ready() & (I8042_OUT_KBD_OBF | I8042_OUT_AUX_OBF), I8042_OUT_KBD_OBF);
	cmd(I8042_CMD_WRITE_AUX_OB);
	wd(0x22);
	cmd(I8042_CMD_READ_OUTPORT);
	ck_assert_uint_eq(rd_ready(), 0x22);
	ck_assert_uint_eq(rd_ready() & (I8042_OUT_KBD_OBF | I8042_OUT_AUX_OBF), I8042_OUT_AUX_OBF);
}
END_TEST

START_TEST(test_inject_and_queue_limits)
{
	uint8_t many[40];
	unsigned i;

	for (i = 0; i < sizeof(many); i++)
		many[i] = (uint8_t)(i + 1);
	/* the queue holds 16; the first byte moves on into the output buffer */
	ck_assert_uint_eq(i8042_inject_scancode(f.k, many, sizeof(many)), I8042_QUEUE_SIZE);
	ck_assert_uint_eq(i8042_inject_scancode(f.k, many, sizeof(many)), 1);
	for (i = 0; i < I8042_QUEUE_SIZE; i++)
		ck_assert_uint_eq(rd_ready(), i + 1);
	ck_assert_uint_eq(rd_ready(), 1);
	ck_assert_uint_eq(st() & I8042_STR_OBF, 0);
	ck_assert_uint_eq(i8042_inject_scancode(f.k, many, 0), 0);
	/* a disabled keyboard does not scan */
	wd(KBD_CMD_DISABLE);
	EXPECT(KBD_ACK);
	ck_assert_uint_eq(i8042_inject_scancode(f.k, many, 3), 0);
	wd(KBD_CMD_ENABLE);
	EXPECT(KBD_ACK);
	ck_assert_uint_eq(i8042_inject_scancode(f.k, many, 3), 3);
	/* F4 empties what the keyboard had queued, not the output buffer */
	ck_assert_uint_eq(i8042_inject_scancode(f.k, many, 3), 3);
	wd(KBD_CMD_ENABLE);
	EXPECT(1, KBD_ACK);
	/* translation flag follows the command byte */
	write_ctr(I8042_CTR_KBDINT);
	ck_assert(!i8042_translating(f.k));
}
END_TEST

START_TEST(test_malformed_accesses)
{
	struct io_ctx ctx = { .cpu = 0 };
	uint16_t w = 0;

	/* offsets past the one-byte ports */
	ck_assert_uint_eq(dev_read(f.data->ops, f.data->dev, 1, 1), 0xff);
	ck_assert_uint_eq(dev_read(f.cmd->ops, f.cmd->dev, 7, 1), 0xff);
	dev_write(f.cmd->ops, f.cmd->dev, 1, I8042_CMD_PULSE_RESET, 1);
	dev_write(f.cmd->ops, f.cmd->dev, ~0ULL, 0xfefe, 2);
	ck_assert_uint_eq(f.resets, 0);
	/* a wide status read: the status byte, then all-ones */
	ck_assert_uint_eq(dev_read(f.cmd->ops, f.cmd->dev, 0, 2), 0xff00 | I8042_STR_KEYLOCK);
	/* a word write to 0x64 sends the low byte only */
	dev_write(f.cmd->ops, f.cmd->dev, 0, 0xfe00 | I8042_CMD_READ_CTR, 2);
	ck_assert_uint_eq(f.resets, 0);
	EXPECT(I8042_CTR_POWER_ON);
	/* through the bus: inw 0x60 reads data then the unassigned 0x61 */
	cmd(I8042_CMD_SELF_TEST);
	ck_assert_int_eq(bus_read(&f.bus, &ctx, PORT_I8042_DATA, &w, 2), 0);
	ck_assert_uint_eq(w, 0xff00 | I8042_SELF_TEST_OK);
	/* unknown controller commands produce nothing */
	cmd(0x00);
	cmd(0xc1);
	cmd(0xe0);
	cmd(0xa1);
	ck_assert_uint_eq(st() & I8042_STR_OBF, 0);
	/* a flood of controller replies is bounded, the rest dropped */
	for (w = 0; w < 100; w++)
		cmd(I8042_CMD_SELF_TEST);
	for (w = 0; w < I8042_QUEUE_SIZE + 1; w++)
		ck_assert_uint_eq(rd_ready(), I8042_SELF_TEST_OK);
	ck_assert_uint_eq(st() & I8042_STR_OBF, 0);
}
END_TEST

/* Ps2KeyboardDxe InitKeyboard, cold path, then CheckKeyboardConnect. */
START_TEST(test_ovmf_init_sequence)
{
	ck_assert_uint_eq(st() & (I8042_STR_OBF | I8042_STR_SYS), 0);
	cmd(I8042_CMD_KBD_DISABLE);
	ck_assert_uint_eq(st() & I8042_STR_IBF, 0);
	cmd(I8042_CMD_AUX_DISABLE);
	cmd(I8042_CMD_SELF_TEST);
	EXPECT(I8042_SELF_TEST_OK);
	cmd(I8042_CMD_WRITE_CTR);
	wd(0x67);
	wd(KBD_CMD_ENABLE);
	EXPECT(KBD_ACK);
	/* its timer handler reads while OBF and not timeout: nothing stale */
	ck_assert_uint_eq(st() & (I8042_STR_OBF | I8042_STR_TIMEOUT), 0);
	/* LED update */
	wd(KBD_CMD_SET_LEDS);
	EXPECT(KBD_ACK);
	wd(0x02);
	EXPECT(KBD_ACK);
	/* after a warm restart the SYS flag says "already set up" */
	ck_assert_uint_eq(st() & I8042_STR_SYS, I8042_STR_SYS);
	ck_assert_uint_eq(read_ctr(), 0x67);
}
END_TEST

/* Linux i8042_controller_check/init, i8042_check_aux, atkbd/psmouse probes. */
START_TEST(test_linux_probe_sequence)
{
	uint8_t ctr;

	cmd(I8042_CMD_SELF_TEST);
	EXPECT(I8042_SELF_TEST_OK);
	ctr = read_ctr();
	ck_assert_uint_eq(read_ctr(), ctr);
	ctr = (uint8_t)((ctr | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT);
	write_ctr(ctr);
	ck_assert_uint_eq(st() & I8042_STR_KEYLOCK, I8042_STR_KEYLOCK);
	/* i8042_check_aux: loop, then disable/enable bit test */
	cmd(I8042_CMD_WRITE_AUX_OB);
	wd(0x5a);
	ck_assert_uint_eq(st() & I8042_STR_AUXOBF, I8042_STR_AUXOBF);
	EXPECT(0x5a);
	cmd(I8042_CMD_AUX_DISABLE);
	ck_assert_uint_eq(read_ctr() & I8042_CTR_AUXDIS, I8042_CTR_AUXDIS);
	cmd(I8042_CMD_AUX_ENABLE);
	ck_assert_uint_eq(read_ctr() & I8042_CTR_AUXDIS, 0);
	/* IRQ 12 delivery test */
	ctr = (uint8_t)((ctr & ~I8042_CTR_AUXDIS) | I8042_CTR_AUXINT);
	write_ctr(ctr);
	cmd(I8042_CMD_WRITE_AUX_OB);
	wd(0xa5);
	ck_assert_uint_eq(f.irq.raises[GSI_MOUSE], 1);
	EXPECT(0xa5);
	/* atkbd: enable port and interrupt, identify */
	write_ctr((uint8_t)((ctr & ~I8042_CTR_KBDDIS) | I8042_CTR_KBDINT));
	wd(KBD_CMD_IDENTIFY);
	EXPECT(KBD_ACK, KBD_ID0, KBD_ID1);
	/* psmouse: GETID through 0xd4 fails at once with a timeout */
	cmd(I8042_CMD_WRITE_AUX);
	wd(0xf2);
	ck_assert_uint_eq(st() & I8042_STR_TIMEOUT, I8042_STR_TIMEOUT);
	EXPECT(KBD_RESEND);
	ck_assert_uint_eq(f.irq.raises[GSI_MOUSE], 2);
}
END_TEST

START_TEST(test_reset_and_errors)
{
	struct i8042 *k2 = NULL;
	struct bus b2;

	write_ctr(0x00);
	cmd(I8042_CMD_WRITE_OUTPORT);
	wd(I8042_OUT_RESET);
	wd(KBD_CMD_SCANSET);
	wd(0x03);
	wd(KBD_CMD_IDENTIFY);
	i8042_reset(f.k);
	ck_assert_uint_eq(st(), I8042_STR_KEYLOCK);
	ck_assert_uint_eq(read_ctr(), I8042_CTR_POWER_ON);
	ck_assert(i8042_a20(f.k));
	ck_assert_uint_eq(i8042_scancode_set(f.k), 2);
	ck_assert_int_eq(i8042_create(NULL, NULL, NULL, NULL, &k2), -EINVAL);
	ck_assert_ptr_null(k2);
	ck_assert_int_eq(i8042_create(NULL, NULL, on_reset, &f, NULL), -EINVAL);
	/* a failed attach leaves nothing behind */
	ck_assert_int_eq(i8042_create(NULL, NULL, on_reset, &f, &k2), 0);
	bus_init(&b2, "pio");
	ck_assert_int_eq(bus_register(&b2, PORT_I8042_CMD, 1, f.cmd->ops, NULL), 0);
	ck_assert_int_eq(i8042_attach(k2, &b2), -EEXIST);
	ck_assert_ptr_null(bus_find(&b2, PORT_I8042_DATA));
	ck_assert_int_eq(i8042_attach(k2, &f.bus), -EEXIST);
	/* no IRQ lines: still works */
	bus_free(&b2);
	bus_init(&b2, "pio");
	ck_assert_int_eq(i8042_attach(k2, &b2), 0);
	bus_free(&b2);
	i8042_destroy(k2);
	i8042_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("i8042");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_power_on);
	tcase_add_test(tc, test_controller_tests);
	tcase_add_test(tc, test_controller_ram);
	tcase_add_test(tc, test_keyboard_commands);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_irq_edges_per_byte);
	tcase_add_test(tc, test_kbd_disable_holds_data);
	tcase_add_test(tc, test_aux_without_mouse);
	tcase_add_test(tc, test_output_port_and_reset);
	tcase_add_test(tc, test_inject_and_queue_limits);
	tcase_add_test(tc, test_malformed_accesses);
	tcase_add_test(tc, test_ovmf_init_sequence);
	tcase_add_test(tc, test_linux_probe_sequence);
	tcase_add_test(tc, test_reset_and_errors);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
