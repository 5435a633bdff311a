/* Unit tests for devices/irqchip/ioapic.c: registers, edge/level, remote IRR. */
#include "tests/unit/support.h"
#include "devices/irqchip/ioapic.h"

struct h {
	struct ioapic io;
	struct apic_msg msg[32];
	unsigned n;
	bool accept;              /* what deliver() answers */
	unsigned changed[IOAPIC_NR_PINS];
};

static bool h_deliver(void *opaque, const struct apic_msg *m)
{
	struct h *h = opaque;

	if (h->n < ARRAY_SIZE(h->msg))
		h->msg[h->n] = *m;
	h->n++;
	return h->accept;
}

static void h_changed(void *opaque, unsigned pin)
{
	struct h *h = opaque;

	ck_assert_uint_lt(pin, IOAPIC_NR_PINS);
	h->changed[pin]++;
}

static void h_init(struct h *h)
{
	struct ioapic_cfg cfg = { .id = 2, .deliver = h_deliver, .redir_changed = h_changed,
				  .opaque = h };

	memset(h, 0, sizeof(*h));
	h->accept = true;
	ioapic_init(&h->io, &cfg);
}

static uint32_t rdreg(struct h *h, uint8_t reg)
{
	dev_write(&ioapic_ops, &h->io, IOAPIC_REGSEL, reg, 4);
	return (uint32_t)dev_read(&ioapic_ops, &h->io, IOAPIC_WINDOW, 4);
}

static void wrreg(struct h *h, uint8_t reg, uint32_t v)
{
	dev_write(&ioapic_ops, &h->io, IOAPIC_REGSEL, reg, 4);
	dev_write(&ioapic_ops, &h->io, IOAPIC_WINDOW, v, 4);
}

static void program(struct h *h, unsigned pin, uint32_t lo, uint8_t dest)
{
	wrreg(h, (uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
	wrreg(h, (uint8_t)(0x10 + 2 * pin), lo);
}

START_TEST(test_registers)
{
	struct h h;
	unsigned pin;

	h_init(&h);
	ck_assert_uint_eq(rdreg(&h, IOAPIC_REG_ID), 2u << 24);
	ck_assert_uint_eq(rdreg(&h, IOAPIC_REG_VER), 0x00170020);
	ck_assert_uint_eq(rdreg(&h, IOAPIC_REG_ARB), 2u << 24);
	for (pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		ck_assert_uint_eq(h.changed[pin], 1);   /* init reports every entry */
		ck_assert_uint_eq(rdreg(&h, (uint8_t)(0x10 + 2 * pin)), 0x10000);
		ck_assert_uint_eq(rdreg(&h, (uint8_t)(0x11 + 2 * pin)), 0);
	}
	wrreg(&h, IOAPIC_REG_ID, 0xffffffff);
	ck_assert_uint_eq(rdreg(&h, IOAPIC_REG_ID), 0x0f000000);
	ck_assert_uint_eq(rdreg(&h, IOAPIC_REG_ARB), 0x0f000000);
	wrreg(&h, IOAPIC_REG_VER, 0);
	ck_assert_uint_eq(rdreg(&h, IOAPIC_REG_VER), 0x00170020);
	/* Read-only bits (delivery status, remote IRR) and reserved bits. */
	wrreg(&h, 0x14, 0xffffffff);
	ck_assert_uint_eq(rdreg(&h, 0x14), 0x0001afff);
	wrreg(&h, 0x15, 0xffffffff);
	ck_assert_uint_eq(rdreg(&h, 0x15), 0xff000000);
	ck_assert_uint_eq(h.changed[2], 3);
	/* Rewriting the same value is not a change. */
	wrreg(&h, 0x15, 0xff000000);
	ck_assert_uint_eq(h.changed[2], 3);
	/* IOREGSEL reads back; undefined registers read 0. */
	dev_write(&ioapic_ops, &h.io, IOAPIC_REGSEL, 0x3f, 1);
	ck_assert_uint_eq(dev_read(&ioapic_ops, &h.io, IOAPIC_REGSEL, 4), 0x3f);
	ck_assert_uint_eq(rdreg(&h, 0x03), 0);
	ck_assert_uint_eq(rdreg(&h, 0x40), 0);
	ck_assert_uint_eq(rdreg(&h, 0xff), 0);
	wrreg(&h, 0x40, 0x1234);
	wrreg(&h, 0xfe, 0x1234);
	/* Narrow window reads; partial window writes are dropped. */
	dev_write(&ioapic_ops, &h.io, IOAPIC_REGSEL, IOAPIC_REG_VER, 4);
	ck_assert_uint_eq(dev_read(&ioapic_ops, &h.io, IOAPIC_WINDOW + 2, 1), 0x17);
	ck_assert_uint_eq(dev_read(&ioapic_ops, &h.io, IOAPIC_WINDOW, 2), 0x0020);
	dev_write(&ioapic_ops, &h.io, IOAPIC_REGSEL, 0x12, 4);
	dev_write(&ioapic_ops, &h.io, IOAPIC_WINDOW, 0x31, 2);
	ck_assert_uint_eq(rdreg(&h, 0x12), 0x10000);
	/* Other offsets of the page. */
	ck_assert_uint_eq(dev_read(&ioapic_ops, &h.io, 0x20, 4), 0);
	ck_assert_uint_eq(dev_read(&ioapic_ops, &h.io, 0xfff, 1), 0);
	dev_write(&ioapic_ops, &h.io, 0x800, 0xffffffff, 4);
	ck_assert_uint_eq(h.n, 0);
}
END_TEST

START_TEST(test_edge)
{
	struct h h;

	h_init(&h);
	program(&h, 2, 0x30, 0);
	ioapic_set_irq(&h.io, 2, 1);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_uint_eq(h.msg[0].vector, 0x30);
	ck_assert_uint_eq(h.msg[0].delivery, APIC_DM_FIXED);
	ck_assert(!h.msg[0].trig_level);
	ck_assert_int_eq(h.msg[0].src, -1);
	/* Held high: no new edge. */
	ioapic_set_irq(&h.io, 2, 1);
	ck_assert_uint_eq(h.n, 1);
	ioapic_set_irq(&h.io, 2, 0);
	ioapic_set_irq(&h.io, 2, 1);
	ck_assert_uint_eq(h.n, 2);
	/* Masked: the edge is latched and delivered on unmask. */
	ioapic_set_irq(&h.io, 2, 0);
	program(&h, 2, 0x10030, 0);
	ioapic_set_irq(&h.io, 2, 1);
	ioapic_set_irq(&h.io, 2, 0);
	ck_assert_uint_eq(h.n, 2);
	program(&h, 2, 0x30, 0);
	ck_assert_uint_eq(h.n, 3);
	program(&h, 2, 0x31, 0);
	ck_assert_uint_eq(h.n, 3);
	/* Edge pins have no remote IRR, whatever EOI says. */
	ioapic_eoi(&h.io, 0x31);
	ck_assert_uint_eq(rdreg(&h, 0x14) & IOAPIC_RE_REMOTE, 0);
	ck_assert_uint_eq(h.n, 3);
}
END_TEST

START_TEST(test_level_remote_irr)
{
	struct h h;

	h_init(&h);
	/* Level, logical destination 0x03, lowest priority, vector 0x41. */
	program(&h, 9, 0x8000 | 0x800 | 0x100 | 0x41, 0x03);
	ioapic_set_irq(&h.io, 9, 1);
	ck_assert_uint_eq(h.n, 1);
	ck_assert(h.msg[0].trig_level);
	ck_assert(h.msg[0].logical);
	ck_assert_uint_eq(h.msg[0].delivery, APIC_DM_LOWPRI);
	ck_assert_uint_eq(h.msg[0].dest, 0x03);
	ck_assert_uint_eq(rdreg(&h, 0x22) & IOAPIC_RE_REMOTE, IOAPIC_RE_REMOTE);
	/* Remote IRR is read-only for the guest. */
	wrreg(&h, 0x22, 0x8000 | 0x800 | 0x100 | 0x41);
	ck_assert_uint_eq(rdreg(&h, 0x22) & IOAPIC_RE_REMOTE, IOAPIC_RE_REMOTE);
	/* No re-delivery while remote IRR is set. */
	ioapic_set_irq(&h.io, 9, 1);
	ck_assert_uint_eq(h.n, 1);
	/* EOI for another vector does nothing. */
	ioapic_eoi(&h.io, 0x42);
	ck_assert_uint_eq(h.n, 1);
	/* EOI with the line still asserted: delivered again. */
	ioapic_eoi(&h.io, 0x41);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_uint_eq(rdreg(&h, 0x22) & IOAPIC_RE_REMOTE, IOAPIC_RE_REMOTE);
	/* Line dropped, then EOI (through the EOI register): nothing more. */
	ioapic_set_irq(&h.io, 9, 0);
	dev_write(&ioapic_ops, &h.io, IOAPIC_EOIR, 0x41, 4);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_uint_eq(rdreg(&h, 0x22) & IOAPIC_RE_REMOTE, 0);
	/* Asserted while masked: delivered when unmasked. */
	program(&h, 9, 0x18000 | 0x41, 0);
	ioapic_set_irq(&h.io, 9, 1);
	ck_assert_uint_eq(h.n, 2);
	program(&h, 9, 0x8000 | 0x41, 0);
	ck_assert_uint_eq(h.n, 3);
	/* A message nobody accepted does not leave remote IRR stuck. */
	ioapic_eoi(&h.io, 0x41);
	ck_assert_uint_eq(h.n, 4);
	ioapic_set_irq(&h.io, 9, 0);
	ioapic_eoi(&h.io, 0x41);
	h.accept = false;
	ioapic_set_irq(&h.io, 9, 1);
	ck_assert_uint_eq(h.n, 5);
	ck_assert_uint_eq(rdreg(&h, 0x22) & IOAPIC_RE_REMOTE, 0);
	/* Switching the pin to edge clears remote IRR. */
	h.accept = true;
	ioapic_set_irq(&h.io, 9, 0);
	ioapic_set_irq(&h.io, 9, 1);
	ck_assert_uint_eq(rdreg(&h, 0x22) & IOAPIC_RE_REMOTE, IOAPIC_RE_REMOTE);
	program(&h, 9, 0x41, 0);
	ck_assert_uint_eq(rdreg(&h, 0x22) & IOAPIC_RE_REMOTE, 0);
}
END_TEST

START_TEST(test_delivery_modes)
{
	struct h h;
	struct apic_msg m;

	h_init(&h);
	/* NMI with level trigger behaves as edge (no EOI will come). */
	program(&h, 5, 0x8000 | 0x400, 0x01);
	ioapic_set_irq(&h.io, 5, 1);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_uint_eq(h.msg[0].delivery, APIC_DM_NMI);
	ck_assert_uint_eq(rdreg(&h, 0x1a) & IOAPIC_RE_REMOTE, 0);
	/* ExtINT and SMI pass through. */
	program(&h, 0, 0x700, 0);
	ioapic_set_irq(&h.io, 0, 1);
	ck_assert_uint_eq(h.msg[1].delivery, APIC_DM_EXTINT);
	program(&h, 23, 0x200, 0xff);
	ioapic_set_irq(&h.io, 23, 1);
	ck_assert_uint_eq(h.msg[2].delivery, APIC_DM_SMI);
	ck_assert_uint_eq(h.msg[2].dest, 0xff);
	/* Polarity is stored; lines carry the logical assertion. */
	program(&h, 7, 0x2000 | 0x55, 0);
	ck_assert_uint_eq(rdreg(&h, 0x1e), 0x2055);
	ioapic_set_irq(&h.io, 7, 1);
	ck_assert_uint_eq(h.msg[3].vector, 0x55);
	/* The message of a pin, masked or not. */
	program(&h, 11, 0x18000 | 0x800 | 0x66, 0x80);
	ck_assert(ioapic_pin_msg(&h.io, 11, &m));
	ck_assert_uint_eq(m.vector, 0x66);
	ck_assert(m.logical);
	ck_assert(m.trig_level);
	ck_assert_uint_eq(m.dest, 0x80);
	ck_assert(!ioapic_pin_msg(&h.io, 24, &m));
	/* Pins out of range are ignored. */
	ioapic_set_irq(&h.io, 24, 1);
	ioapic_set_irq(&h.io, 0xffffffff, 1);
	ck_assert_uint_eq(h.n, 4);
	ck_assert_uint_eq(ioapic_redir(&h.io, 99), 0);
}
END_TEST

START_TEST(test_reset)
{
	struct h h;

	h_init(&h);
	program(&h, 3, 0x8000 | 0x33, 0);
	ioapic_set_irq(&h.io, 3, 1);
	wrreg(&h, IOAPIC_REG_ID, 0x05000000);
	ioapic_reset(&h.io);
	ck_assert_uint_eq(rdreg(&h, 0x16), 0x10000);
	ck_assert_uint_eq(rdreg(&h, IOAPIC_REG_ID), 2u << 24);
	/* After reset the pin is masked edge: unmasking as edge needs a new edge. */
	h.n = 0;
	program(&h, 3, 0x33, 0);
	ck_assert_uint_eq(h.n, 0);
	/* ...but as level the still-asserted line is delivered. */
	program(&h, 3, 0x8000 | 0x33, 0);
	ck_assert_uint_eq(h.n, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ioapic");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_registers);
	tcase_add_test(tc, test_edge);
	tcase_add_test(tc, test_level_remote_irr);
	tcase_add_test(tc, test_delivery_modes);
	tcase_add_test(tc, test_reset);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
