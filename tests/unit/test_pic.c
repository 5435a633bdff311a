/* Unit tests for devices/irqchip/pic.c: the cascaded 8259A pair and ELCR. */
#include "tests/unit/support.h"
#include "devices/irqchip/pic.h"

struct h {
	struct pic p;
	int intr;
	unsigned raises;
};

static void h_intr(void *opaque, int level)
{
	struct h *h = opaque;

	if (level && !h->intr)
		h->raises++;
	h->intr = level;
}

static void outb(struct h *h, unsigned port, uint8_t v)
{
	if (port == 0x4d0 || port == 0x4d1)
		dev_write(&pic_elcr_ops, &h->p, port - 0x4d0, v, 1);
	else
		dev_write(&pic_ops, &h->p.chip[port >= 0xa0], port & 1, v, 1);
}

static uint8_t inb(struct h *h, unsigned port)
{
	if (port == 0x4d0 || port == 0x4d1)
		return (uint8_t)dev_read(&pic_elcr_ops, &h->p, port - 0x4d0, 1);
	return (uint8_t)dev_read(&pic_ops, &h->p.chip[port >= 0xa0], port & 1, 1);
}

/* The classic PC programming: vectors 0x20/0x28, cascade on IRQ 2, 8086 mode. */
static void h_init(struct h *h, uint8_t icw4)
{
	struct pic_cfg cfg = { .intr = h_intr, .opaque = h };

	memset(h, 0, sizeof(*h));
	pic_init(&h->p, &cfg);
	outb(h, 0x20, 0x11);
	outb(h, 0x21, 0x20);
	outb(h, 0x21, 0x04);
	outb(h, 0x21, icw4);
	outb(h, 0xa0, 0x11);
	outb(h, 0xa1, 0x28);
	outb(h, 0xa1, 0x02);
	outb(h, 0xa1, icw4);
}

START_TEST(test_basic_irq)
{
	struct h h;

	h_init(&h, 0x01);
	ck_assert_int_eq(h.intr, 0);
	ck_assert_uint_eq(inb(&h, 0x21), 0);   /* IMR cleared by ICW1 */
	pic_set_irq(&h.p, 1, 1);
	ck_assert_int_eq(h.intr, 1);
	ck_assert(pic_has_interrupt(&h.p));
	ck_assert_uint_eq(inb(&h, 0x20), 0x02);   /* IRR */
	ck_assert_int_eq(pic_ack(&h.p), 0x21);
	ck_assert_int_eq(h.intr, 0);
	outb(&h, 0x20, 0x0b);                     /* OCW3: read ISR */
	ck_assert_uint_eq(inb(&h, 0x20), 0x02);
	outb(&h, 0x20, 0x20);                     /* non-specific EOI */
	ck_assert_uint_eq(inb(&h, 0x20), 0x00);
	outb(&h, 0x20, 0x0a);                     /* back to IRR */
	/* Edge: the line is still high, no new request without a new edge. */
	ck_assert_uint_eq(inb(&h, 0x20), 0x00);
	ck_assert_int_eq(h.intr, 0);
	pic_set_irq(&h.p, 1, 0);
	pic_set_irq(&h.p, 1, 1);
	ck_assert_int_eq(h.intr, 1);
	ck_assert_uint_eq(h.raises, 2);
}
END_TEST

START_TEST(test_priority_nesting)
{
	struct h h;

	h_init(&h, 0x01);
	pic_set_irq(&h.p, 5, 1);
	pic_set_irq(&h.p, 3, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x23);
	/* IRQ 5 is lower than IRQ 3 in service: held back. */
	ck_assert_int_eq(h.intr, 0);
	/* IRQ 0 is higher: nests. */
	pic_set_irq(&h.p, 0, 1);
	ck_assert_int_eq(h.intr, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x20);
	outb(&h, 0x20, 0x20);   /* EOI ends IRQ 0 (highest in service) */
	outb(&h, 0x20, 0x0b);
	ck_assert_uint_eq(inb(&h, 0x20), 0x08);
	outb(&h, 0x20, 0x20);
	ck_assert_int_eq(h.intr, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x25);
	/* Specific EOI for IRQ 5. */
	outb(&h, 0x20, 0x65);
	ck_assert_uint_eq(inb(&h, 0x20), 0x00);
}
END_TEST

START_TEST(test_cascade)
{
	struct h h;

	h_init(&h, 0x01);
	pic_set_irq(&h.p, 10, 1);
	ck_assert_int_eq(h.intr, 1);
	ck_assert_uint_eq(inb(&h, 0x20) & 0x04, 0x04);   /* master sees IR2 */
	ck_assert_int_eq(pic_ack(&h.p), 0x2a);
	outb(&h, 0x20, 0x0b);
	outb(&h, 0xa0, 0x0b);
	ck_assert_uint_eq(inb(&h, 0x20), 0x04);
	ck_assert_uint_eq(inb(&h, 0xa0), 0x04);
	/* A second slave IRQ of lower priority waits for the slave's EOI. */
	pic_set_irq(&h.p, 12, 1);
	ck_assert_int_eq(h.intr, 0);
	outb(&h, 0xa0, 0x20);
	/* Master still has IR2 in service: still blocked there. */
	ck_assert_int_eq(h.intr, 0);
	outb(&h, 0x20, 0x20);
	ck_assert_int_eq(h.intr, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x2c);
	/* Masking the cascade on the master blocks all slave IRQs. */
	outb(&h, 0xa0, 0x20);
	outb(&h, 0x20, 0x20);
	outb(&h, 0x21, 0x04);
	pic_set_irq(&h.p, 15, 1);
	ck_assert_int_eq(h.intr, 0);
	outb(&h, 0x21, 0x00);
	ck_assert_int_eq(h.intr, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x2f);
}
END_TEST

START_TEST(test_mask_and_elcr)
{
	struct h h;

	h_init(&h, 0x01);
	outb(&h, 0x21, 0xff);
	ck_assert_uint_eq(inb(&h, 0x21), 0xff);
	pic_set_irq(&h.p, 4, 1);
	ck_assert_int_eq(h.intr, 0);
	outb(&h, 0x21, 0xef);
	ck_assert_int_eq(h.intr, 1);
	outb(&h, 0x21, 0xff);
	ck_assert_int_eq(h.intr, 0);
	/* ELCR: IRQ 0-2, 8 and 13 can't be level. */
	outb(&h, 0x4d0, 0xff);
	outb(&h, 0x4d1, 0xff);
	ck_assert_uint_eq(inb(&h, 0x4d0), 0xf8);
	ck_assert_uint_eq(inb(&h, 0x4d1), 0xde);
	ck_assert_uint_eq(dev_read(&pic_elcr_ops, &h.p, 0, 2), 0xdef8);
	/* Level input: IRR follows the line. */
	outb(&h, 0x21, 0x00);
	pic_set_irq(&h.p, 4, 0);
	pic_set_irq(&h.p, 9, 1);
	ck_assert_int_eq(h.intr, 1);
	pic_set_irq(&h.p, 9, 0);
	ck_assert_int_eq(h.intr, 0);
	/* A level line still high after EOI asks again. */
	pic_set_irq(&h.p, 11, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x2b);
	outb(&h, 0xa0, 0x20);
	outb(&h, 0x20, 0x20);
	ck_assert_int_eq(h.intr, 1);
	/* Edge input: a pulse is remembered until acknowledged. */
	pic_set_irq(&h.p, 11, 0);
	outb(&h, 0x4d0, 0x00);
	pic_set_irq(&h.p, 6, 1);
	pic_set_irq(&h.p, 6, 0);
	ck_assert_int_eq(h.intr, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x26);
}
END_TEST

START_TEST(test_spurious)
{
	struct h h;

	h_init(&h, 0x01);
	outb(&h, 0x4d0, 0x20);
	pic_set_irq(&h.p, 5, 1);
	ck_assert_int_eq(h.intr, 1);
	/* The level request goes away before INTA: spurious IRQ 7, no ISR bit. */
	pic_set_irq(&h.p, 5, 0);
	ck_assert_int_eq(pic_ack(&h.p), 0x27);
	outb(&h, 0x20, 0x0b);
	ck_assert_uint_eq(inb(&h, 0x20), 0x00);
}
END_TEST

START_TEST(test_auto_eoi_and_rotation)
{
	struct h h;

	h_init(&h, 0x03);   /* auto-EOI */
	pic_set_irq(&h.p, 3, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x23);
	outb(&h, 0x20, 0x0b);
	ck_assert_uint_eq(inb(&h, 0x20), 0x00);   /* nothing in service */
	/* Rotate in auto-EOI: the acknowledged IRQ becomes the lowest. */
	outb(&h, 0x20, 0x80);
	pic_set_irq(&h.p, 3, 0);
	pic_set_irq(&h.p, 3, 1);
	pic_set_irq(&h.p, 4, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x23);
	ck_assert_int_eq(pic_ack(&h.p), 0x24);
	pic_set_irq(&h.p, 3, 0);
	pic_set_irq(&h.p, 4, 0);
	pic_set_irq(&h.p, 2 + 1, 1);
	pic_set_irq(&h.p, 5, 1);
	/* After rotation past 4, IRQ 5 has the top priority. */
	ck_assert_int_eq(pic_ack(&h.p), 0x25);
	outb(&h, 0x20, 0x00);   /* clear rotate in AEOI */

	h_init(&h, 0x01);
	/* Set priority: IRQ 4 lowest, so IRQ 5 is the highest. */
	outb(&h, 0x20, 0xc4);
	pic_set_irq(&h.p, 1, 1);
	pic_set_irq(&h.p, 6, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x26);
	/* Rotate on non-specific EOI: IRQ 6 becomes lowest. */
	outb(&h, 0x20, 0xa0);
	ck_assert_int_eq(pic_ack(&h.p), 0x21);
	/* Rotate on specific EOI. */
	outb(&h, 0x20, 0xe1);
	outb(&h, 0x20, 0x0b);
	ck_assert_uint_eq(inb(&h, 0x20), 0x00);
}
END_TEST

START_TEST(test_poll_and_special_mask)
{
	struct h h;

	h_init(&h, 0x01);
	/* Poll with nothing pending reads 0. */
	outb(&h, 0x20, 0x0c);
	ck_assert_uint_eq(inb(&h, 0x20), 0x00);
	pic_set_irq(&h.p, 6, 1);
	outb(&h, 0x20, 0x0c);
	ck_assert_uint_eq(inb(&h, 0x20), 0x86);
	/* Poll acknowledged it. */
	outb(&h, 0x20, 0x0b);
	ck_assert_uint_eq(inb(&h, 0x20), 0x40);
	/* Special mask mode: masking IRQ 6 in service lets IRQ 7 through. */
	pic_set_irq(&h.p, 7, 1);
	ck_assert_int_eq(h.intr, 0);
	outb(&h, 0x21, 0x40);
	outb(&h, 0x20, 0x68);
	ck_assert_int_eq(h.intr, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x27);
	outb(&h, 0x20, 0x48);   /* reset special mask */
	outb(&h, 0x20, 0x67);
	outb(&h, 0x20, 0x66);
	ck_assert_uint_eq(inb(&h, 0x20), 0x00);
}
END_TEST

START_TEST(test_init_variants_and_hostile)
{
	struct h h;
	struct pic_cfg cfg = { .intr = h_intr, .opaque = &h };

	memset(&h, 0, sizeof(h));
	pic_init(&h.p, &cfg);
	/* Single mode without ICW4: ICW1, ICW2, then OCW1. */
	outb(&h, 0x20, 0x12);
	outb(&h, 0x21, 0x47);           /* low 3 bits are not part of the base */
	outb(&h, 0x21, 0xfd);           /* OCW1 */
	ck_assert_uint_eq(inb(&h, 0x21), 0xfd);
	pic_set_irq(&h.p, 1, 1);
	ck_assert_int_eq(pic_ack(&h.p), 0x41);
	/* In single mode IRQ 2 is an ordinary input but the line API keeps it free. */
	pic_set_irq(&h.p, 2, 1);
	pic_set_irq(&h.p, 16, 1);
	pic_set_irq(&h.p, 0xffffffff, 1);
	ck_assert_uint_eq(inb(&h, 0x20) & 0x04, 0);
	/* Word accesses act on consecutive ports; bytes beyond the chip float. */
	h_init(&h, 0x01);
	dev_write(&pic_ops, &h.p.chip[0], 0, 0xfb0b, 2);   /* OCW3 read ISR, then IMR */
	ck_assert_uint_eq(inb(&h, 0x21), 0xfb);
	ck_assert_uint_eq(dev_read(&pic_ops, &h.p.chip[0], 0, 2), 0xfb00);
	ck_assert_uint_eq(dev_read(&pic_ops, &h.p.chip[0], 1, 2), 0xfffb);
	ck_assert_uint_eq(dev_read(&pic_ops, &h.p.chip[0], 5, 1), 0xff);
	dev_write(&pic_ops, &h.p.chip[0], 7, 0x11, 1);
	ck_assert_uint_eq(inb(&h, 0x21), 0xfb);
	ck_assert_uint_eq(dev_read(&pic_elcr_ops, &h.p, 2, 1), 0xff);
	/* Reset brings everything back. */
	pic_set_irq(&h.p, 0, 1);
	pic_reset(&h.p);
	ck_assert_int_eq(h.intr, 0);
	ck_assert_uint_eq(inb(&h, 0x21), 0x00);
	ck_assert_uint_eq(inb(&h, 0x4d0), 0x00);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pic");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_basic_irq);
	tcase_add_test(tc, test_priority_nesting);
	tcase_add_test(tc, test_cascade);
	tcase_add_test(tc, test_mask_and_elcr);
	tcase_add_test(tc, test_spurious);
	tcase_add_test(tc, test_auto_eoi_and_rotation);
	tcase_add_test(tc, test_poll_and_special_mask);
	tcase_add_test(tc, test_init_variants_and_hostile);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
