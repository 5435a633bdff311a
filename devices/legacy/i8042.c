#include "devices/legacy/i8042.h"

#include <errno.h>
#include <stdlib.h>

#include "devices/byteio.h"
#include "vmm/log.h"
#include "vmm/memmap.h"

/* Where an output byte comes from, carried with it to the status register. */
#define OB_AUX      0x01
#define OB_TIMEOUT  0x02

#define KBD_DEFAULT_SET        2
#define KBD_DEFAULT_TYPEMATIC  0x2b   /* 10.9 cps, 500 ms */

struct obyte {
	uint8_t data, flags;
};

struct obq {
	struct obyte e[I8042_QUEUE_SIZE];
	unsigned head, count;
};

struct i8042 {
	struct irq_line kbd_irq, aux_irq;
	i8042_reset_cb reset_cb;
	void *opaque;

	uint8_t ram[32];          /* ram[0] is the command byte */
	uint8_t outport;
	uint8_t pending_cmd;      /* controller command waiting for data, or 0 */
	bool a2;

	bool obf;
	struct obyte ob;          /* the output buffer */
	struct obq ctrl, kbd;     /* no mouse: aux bytes only come from the controller */
	bool kbd_level, aux_level;

	/* the keyboard */
	uint8_t kbd_pending;      /* command waiting for its argument, or 0 */
	bool scanning;
	uint8_t scanset, typematic, leds;
	uint8_t kbd_last;         /* last byte sent, for 0xfe resend */
};

static uint8_t ctr(const struct i8042 *k)
{
	return k->ram[0];
}

static bool q_push(struct obq *q, uint8_t data, uint8_t flags)
{
	if (q->count == I8042_QUEUE_SIZE)
		return false;
	q->e[(q->head + q->count) % I8042_QUEUE_SIZE] = (struct obyte){ data, flags };
	q->count++;
	return true;
}

static struct obyte q_pop(struct obq *q)
{
	struct obyte b = q->e[q->head];

	q->head = (q->head + 1) % I8042_QUEUE_SIZE;
	q->count--;
	return b;
}

static void q_clear(struct obq *q)
{
	q->head = q->count = 0;
}

static void update_irq(struct i8042 *k)
{
	bool aux = k->ob.flags & OB_AUX;
	bool kl = k->obf && !aux && (ctr(k) & I8042_CTR_KBDINT);
	bool al = k->obf && aux && (ctr(k) & I8042_CTR_AUXINT);

	if (kl != k->kbd_level) {
		k->kbd_level = kl;
		irq_set(&k->kbd_irq, kl);
	}
	if (al != k->aux_level) {
		k->aux_level = al;
		irq_set(&k->aux_irq, al);
	}
}

/* Move the next eligible byte into an empty output buffer. */
static void refill(struct i8042 *k)
{
	struct obq *q = NULL;

	if (k->obf)
		return;
	if (k->ctrl.count)
		q = &k->ctrl;
	else if (k->kbd.count && !(ctr(k) & I8042_CTR_KBDDIS))
		q = &k->kbd;
	if (!q)
		return;
	k->ob = q_pop(q);
	k->obf = true;
}

static void output_changed(struct i8042 *k)
{
	refill(k);
	update_irq(k);
}

static void ctrl_reply(struct i8042 *k, uint8_t data, uint8_t flags)
{
	q_push(&k->ctrl, data, flags);
}

static void kbd_send(struct i8042 *k, uint8_t data)
{
	/* 0xfe resend repeats the last byte that was not itself 0xfe */
	if (q_push(&k->kbd, data, 0) && data != KBD_RESEND)
		k->kbd_last = data;
}

static void kbd_defaults(struct i8042 *k)
{
	k->scanset = KBD_DEFAULT_SET;
	k->typematic = KBD_DEFAULT_TYPEMATIC;
	k->leds = 0;
	k->kbd_pending = 0;
}

/* An argument byte for a pending keyboard command; false if it is not one. */
static bool kbd_argument(struct i8042 *k, uint8_t v)
{
	switch (k->kbd_pending) {
	case KBD_CMD_SET_LEDS:
		if (v & 0x80)
			return false;
		k->leds = v;
		TRACE(TRACE_IO, "i8042: keyboard LEDs %#x", v);
		break;
	case KBD_CMD_TYPEMATIC:
		if (v & 0x80)
			return false;
		k->typematic = v;
		break;
	case KBD_CMD_SCANSET:
		if (v > 3)
			return false;
		kbd_send(k, KBD_ACK);
		if (v == 0)
			kbd_send(k, k->scanset);
		else
			k->scanset = v;
		k->kbd_pending = 0;
		return true;
	}
	kbd_send(k, KBD_ACK);
	k->kbd_pending = 0;
	return true;
}

static void kbd_write(struct i8042 *k, uint8_t v)
{
	if (k->kbd_pending) {
		if (kbd_argument(k, v))
			return;
		if (v < KBD_CMD_SET_LEDS) {
			/* bad argument: ask again, keep waiting for it */
			kbd_send(k, KBD_RESEND);
			return;
		}
		k->kbd_pending = 0;   /* a new command instead of the argument */
	}
	TRACE(TRACE_IO, "i8042: keyboard command %#x", v);
	switch (v) {
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_TYPEMATIC:
	case KBD_CMD_SCANSET:
		kbd_send(k, KBD_ACK);
		k->kbd_pending = v;
		break;
	case KBD_CMD_ECHO:
		kbd_send(k, KBD_ECHO);
		break;
	case KBD_CMD_IDENTIFY:
		kbd_send(k, KBD_ACK);
		kbd_send(k, KBD_ID0);
		kbd_send(k, KBD_ID1);
		break;
	case KBD_CMD_ENABLE:
		q_clear(&k->kbd);
		k->scanning = true;
		kbd_send(k, KBD_ACK);
		break;
	case KBD_CMD_DISABLE:
	case KBD_CMD_DEFAULTS:
		q_clear(&k->kbd);
		kbd_defaults(k);
		k->scanning = v == KBD_CMD_DEFAULTS;
		kbd_send(k, KBD_ACK);
		break;
	case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
		/* scan set 3 key-type commands: nothing to remember */
		kbd_send(k, KBD_ACK);
		break;
	case KBD_CMD_RESEND:
		q_push(&k->kbd, k->kbd_last, 0);
		break;
	case KBD_CMD_RESET:
		q_clear(&k->kbd);
		kbd_defaults(k);
		k->scanning = true;
		kbd_send(k, KBD_ACK);
		kbd_send(k, KBD_BAT_OK);
		break;
	default:
		kbd_send(k, KBD_RESEND);
		break;
	}
}

static void write_outport(struct i8042 *k, uint8_t v)
{
	if ((v ^ k->outport) & I8042_OUT_A20)
		TRACE(TRACE_IO, "i8042: A20 %s", v & I8042_OUT_A20 ? "on" : "off");
	k->outport = v;
	if (!(v & I8042_OUT_RESET)) {
		TRACE(TRACE_IO, "i8042: reset via output port (%#x)", v);
		k->reset_cb(k->opaque);
	}
}

/* A byte on port 0x60 completing a controller command. */
static void ctrl_data(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case I8042_CMD_WRITE_OUTPORT:
		write_outport(k, v);
		break;
	case I8042_CMD_WRITE_KBD_OB:
		ctrl_reply(k, v, 0);
		break;
	case I8042_CMD_WRITE_AUX_OB:
		ctrl_reply(k, v, OB_AUX);
		break;
	case I8042_CMD_WRITE_AUX:
		/* Sending re-enables the port; nothing answers on it. */
		k->ram[0] &= ~I8042_CTR_AUXDIS;
		TRACE(TRACE_IO, "i8042: aux byte %#x: no device", v);
		ctrl_reply(k, KBD_RESEND, OB_AUX | OB_TIMEOUT);
		break;
	default:
		/* 0x60-0x7f: controller RAM */
		k->ram[cmd & 0x1f] = v;
		if (cmd == I8042_CMD_WRITE_CTR)
			TRACE(TRACE_IO, "i8042: command byte %#x", v);
		break;
	}
}

static uint8_t outport_value(const struct i8042 *k)
{
	uint8_t v = k->outport & ~(I8042_OUT_KBD_OBF | I8042_OUT_AUX_OBF);

	if (k->obf)
		v |= k->ob.flags & OB_AUX ? I8042_OUT_AUX_OBF : I8042_OUT_KBD_OBF;
	return v;
}

static void ctrl_command(struct i8042 *k, uint8_t cmd)
{
	TRACE(TRACE_IO, "i8042: controller command %#x", cmd);
	if (cmd >= 0x20 && cmd <= 0x3f) {
		ctrl_reply(k, k->ram[cmd & 0x1f], 0);
		return;
	}
	if ((cmd >= 0x60 && cmd <= 0x7f) ||
	    (cmd >= I8042_CMD_WRITE_OUTPORT && cmd <= I8042_CMD_WRITE_AUX)) {
		k->pending_cmd = cmd;
		return;
	}
	if (cmd >= 0xf0) {
		/* pulse output port bits 3:0 low where the command has a 0 */
		if (!(cmd & I8042_OUT_RESET)) {
			TRACE(TRACE_IO, "i8042: reset pulse (%#x)", cmd);
			k->reset_cb(k->opaque);
		}
		return;
	}
	switch (cmd) {
	case I8042_CMD_PWD_TEST:
		ctrl_reply(k, I8042_NO_PASSWORD, 0);
		break;
	case I8042_CMD_AUX_DISABLE:
		k->ram[0] |= I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_ENABLE:
		k->ram[0] &= ~I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_TEST:
	case I8042_CMD_KBD_TEST:
		ctrl_reply(k, 0x00, 0);
		break;
	case I8042_CMD_SELF_TEST:
		k->ram[0] |= I8042_CTR_SYS;
		ctrl_reply(k, I8042_SELF_TEST_OK, 0);
		break;
	case I8042_CMD_KBD_DISABLE:
		k->ram[0] |= I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_KBD_ENABLE:
		k->ram[0] &= ~I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_READ_INPORT:
		ctrl_reply(k, I8042_INPORT, 0);
		break;
	case I8042_CMD_READ_OUTPORT:
		ctrl_reply(k, outport_value(k), 0);
		break;
	default:
		TRACE(TRACE_IO, "i8042: unsupported controller command %#x ignored", cmd);
		break;
	}
}

static uint8_t read_data(void *dev, unsigned off)
{
	struct i8042 *k = dev;
	uint8_t v = k->ob.data;

	if (k->obf) {
		k->obf = false;
		/* drop the line before the next byte raises it: one edge per byte */
		update_irq(k);
		output_changed(k);
	}
	return v;
}

static uint8_t read_status(void *dev, unsigned off)
{
	const struct i8042 *k = dev;
	uint8_t s = I8042_STR_KEYLOCK;

	if (k->obf) {
		s |= I8042_STR_OBF;
		if (k->ob.flags & OB_AUX)
			s |= I8042_STR_AUXOBF;
		if (k->ob.flags & OB_TIMEOUT)
			s |= I8042_STR_TIMEOUT;
	}
	if (ctr(k) & I8042_CTR_SYS)
		s |= I8042_STR_SYS;
	if (k->a2)
		s |= I8042_STR_A2;
	return s;
}

static void write_data(void *dev, unsigned off, uint8_t v)
{
	struct i8042 *k = dev;
	uint8_t cmd = k->pending_cmd;

	k->a2 = false;
	k->pending_cmd = 0;
	if (cmd) {
		ctrl_data(k, cmd, v);
	} else {
		/* Sending to the keyboard re-enables its interface. */
		k->ram[0] &= ~I8042_CTR_KBDDIS;
		kbd_write(k, v);
	}
	output_changed(k);
}

static void write_command(void *dev, unsigned off, uint8_t v)
{
	struct i8042 *k = dev;

	k->a2 = true;
	k->pending_cmd = 0;
	ctrl_command(k, v);
	output_changed(k);
}

/* Port 0x60 and port 0x64: one byte each, with 0x61-0x63 in between. */
BYTEIO_DEV_OPS(i8042_data_ops, "i8042-data", read_data, write_data, 1);
BYTEIO_DEV_OPS(i8042_cmd_ops, "i8042-cmd", read_status, write_command, 1);

void i8042_reset(struct i8042 *k)
{
	memset(k->ram, 0, sizeof(k->ram));
	k->ram[0] = I8042_CTR_POWER_ON;
	k->outport = I8042_OUT_POWER_ON;
	k->pending_cmd = 0;
	k->a2 = false;
	k->obf = false;
	k->ob = (struct obyte){ 0, 0 };
	q_clear(&k->ctrl);
	q_clear(&k->kbd);
	kbd_defaults(k);
	k->scanning = true;
	k->kbd_last = 0;
	update_irq(k);
}

int i8042_create(const struct irq_line *kbd_irq, const struct irq_line *aux_irq,
		 i8042_reset_cb reset_cb, void *opaque, struct i8042 **out)
{
	struct i8042 *k;

	if (!reset_cb || !out)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	if (kbd_irq)
		k->kbd_irq = *kbd_irq;
	if (aux_irq)
		k->aux_irq = *aux_irq;
	k->reset_cb = reset_cb;
	k->opaque = opaque;
	i8042_reset(k);
	*out = k;
	return 0;
}

void i8042_destroy(struct i8042 *k)
{
	free(k);
}

int i8042_attach(struct i8042 *k, struct bus *pio)
{
	int ret = bus_register(pio, PORT_I8042_DATA, 1, &i8042_data_ops, k);

	if (ret < 0)
		return ret;
	ret = bus_register(pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, k);
	if (ret < 0)
		goto err_data;
	return 0;

err_data:
	bus_unregister(pio, PORT_I8042_DATA, k);
	return ret;
}

size_t i8042_inject_scancode(struct i8042 *k, const uint8_t *bytes, size_t len)
{
	size_t n = 0;

	if (!k->scanning)
		return 0;
	while (n < len && q_push(&k->kbd, bytes[n], 0))
		n++;
	output_changed(k);
	return n;
}

unsigned i8042_scancode_set(const struct i8042 *k)
{
	return k->scanset;
}

bool i8042_translating(const struct i8042 *k)
{
	return ctr(k) & I8042_CTR_XLATE;
}

bool i8042_a20(const struct i8042 *k)
{
	return k->outport & I8042_OUT_A20;
}
