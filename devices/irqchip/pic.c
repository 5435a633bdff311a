#include "devices/irqchip/pic.h"

#include <string.h>

#include "devices/byteio.h"

/* Priority rank 0 (highest) .. 7 of the first set bit of @mask, 8 if none. */
static int best_rank(const struct pic_chip *c, uint8_t mask)
{
	int r;

	for (r = 0; r < 8; r++)
		if (mask & (1u << ((r + c->prio_add) & 7)))
			return r;
	return 8;
}

/* The IRQ (0-7) this chip would raise now, or -1. */
static int chip_pending(const struct pic_chip *c)
{
	uint8_t in_service = c->isr;
	int req, cur;

	req = best_rank(c, c->irr & ~c->imr);
	if (req == 8)
		return -1;
	/* Special mask mode: masked in-service levels don't block others. */
	if (c->special_mask)
		in_service &= ~c->imr;
	/* Special fully nested: the slave may interrupt its own cascade level. */
	if (c->sfnm && c->master)
		in_service &= ~(1u << 2);
	cur = best_rank(c, in_service);
	return req < cur ? (req + c->prio_add) & 7 : -1;
}

static void update(struct pic *p)
{
	struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
	int level;

	/* The slave's INT output is level-sensitive on master input 2. */
	if (chip_pending(s) >= 0)
		m->irr |= 1u << 2;
	else
		m->irr &= ~(1u << 2);
	level = chip_pending(m) >= 0;
	if (level != p->intr_level) {
		p->intr_level = level;
		if (p->cfg.intr)
			p->cfg.intr(p->cfg.opaque, level);
	}
}

static void chip_set_irq(struct pic_chip *c, unsigned irq, int level)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (c->elcr & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->line & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->line |= bit;
	else
		c->line &= ~bit;
}

void pic_set_irq(struct pic *p, unsigned irq, int level)
{
	if (irq >= 16 || irq == 2)
		return;
	chip_set_irq(&p->chip[irq >> 3], irq & 7, level);
	update(p);
}

bool pic_has_interrupt(const struct pic *p)
{
	return p->intr_level;
}

/* Acknowledge @irq on @c: ISR unless auto-EOI, edge requests are consumed. */
static void chip_intack(struct pic_chip *c, int irq)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (c->auto_eoi) {
		if (c->rotate_aeoi)
			c->prio_add = (uint8_t)((irq + 1) & 7);
	} else {
		c->isr |= bit;
	}
	if (!(c->elcr & bit))
		c->irr &= ~bit;
}

int pic_ack(struct pic *p)
{
	struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
	int irq, irq2, vec;

	irq = chip_pending(m);
	if (irq < 0) {
		vec = m->base + 7;   /* spurious IRQ 7, ISR untouched */
	} else if (irq == 2 && !m->single) {
		chip_intack(m, 2);
		irq2 = chip_pending(s);
		if (irq2 >= 0) {
			chip_intack(s, irq2);
			vec = s->base + irq2;
		} else {
			vec = s->base + 7;   /* spurious IRQ 15 */
		}
	} else {
		chip_intack(m, irq);
		vec = m->base + irq;
	}
	update(p);
	return vec;
}

/* Poll command: like an INTA on this chip alone; bit 7 set if an IRQ was pending. */
static uint8_t chip_poll(struct pic *p, struct pic_chip *c)
{
	int irq = chip_pending(c);

	c->poll = false;
	if (irq < 0)
		return 0;
	chip_intack(c, irq);
	/* Polling the master for the cascade also acknowledges the slave. */
	if (c->master && irq == 2 && !c->single) {
		int irq2 = chip_pending(&p->chip[1]);

		if (irq2 >= 0)
			chip_intack(&p->chip[1], irq2);
	}
	update(p);
	return (uint8_t)(0x80 | irq);
}

static void non_specific_eoi(struct pic_chip *c, bool rotate)
{
	int r = best_rank(c, c->isr), irq;

	if (r == 8)
		return;
	irq = (r + c->prio_add) & 7;
	c->isr &= ~(1u << irq);
	if (rotate)
		c->prio_add = (uint8_t)((irq + 1) & 7);
}

static void chip_init_reset(struct pic_chip *c)
{
	/*
	 * ICW1: edge sense reset (a held line needs a new low-to-high
	 * transition), IMR cleared, IR7 lowest, IRR read selected.
	 */
	c->irr = c->line & c->elcr;
	c->isr = 0;
	c->imr = 0;
	c->prio_add = 0;
	c->read_isr = false;
	c->poll = false;
	c->special_mask = false;
	c->auto_eoi = false;
	c->rotate_aeoi = false;
	c->sfnm = false;
	c->init4 = false;
	c->single = false;
	c->init_state = 0;
}

static void write_cmd(struct pic *p, struct pic_chip *c, uint8_t val)
{
	if (val & 0x10) {
		/* ICW1 (bit 3, level-triggered mode, is ignored: the ELCR rules). */
		chip_init_reset(c);
		c->init4 = val & 1;
		c->single = val & 2;
		c->init_state = 1;
	} else if (val & 0x08) {
		/* OCW3 */
		if (val & 0x04)
			c->poll = true;
		if (val & 0x02)
			c->read_isr = val & 1;
		if (val & 0x40)
			c->special_mask = val & 0x20;
	} else {
		/* OCW2 */
		switch (val >> 5) {
		case 0:   /* clear rotate in auto-EOI mode */
			c->rotate_aeoi = false;
			break;
		case 4:   /* set rotate in auto-EOI mode */
			c->rotate_aeoi = true;
			break;
		case 1:   /* non-specific EOI */
		case 5:   /* rotate on non-specific EOI */
			non_specific_eoi(c, val >> 5 == 5);
			break;
		case 3:   /* specific EOI */
			c->isr &= ~(1u << (val & 7));
			break;
		case 7:   /* rotate on specific EOI */
			c->isr &= ~(1u << (val & 7));
			c->prio_add = (uint8_t)(((val & 7) + 1) & 7);
			break;
		case 6:   /* set priority: IRQ val&7 becomes the lowest */
			c->prio_add = (uint8_t)(((val & 7) + 1) & 7);
			break;
		default:  /* 2: no operation */
			break;
		}
	}
	update(p);
}

static void write_data(struct pic *p, struct pic_chip *c, uint8_t val)
{
	switch (c->init_state) {
	case 0:   /* OCW1 */
		c->imr = val;
		break;
	case 1:   /* ICW2 */
		c->base = val & 0xf8;
		c->init_state = c->single ? (c->init4 ? 3 : 0) : 2;
		break;
	case 2:   /* ICW3: cascade wiring is fixed here */
		c->init_state = c->init4 ? 3 : 0;
		break;
	default:  /* ICW4 */
		c->sfnm = val & 0x10;
		c->auto_eoi = val & 0x02;
		c->init_state = 0;
		break;
	}
	update(p);
}

static uint8_t chip_read(void *dev, unsigned port)
{
	struct pic_chip *c = dev;

	if (c->poll)
		return chip_poll(c->pic, c);
	if (port == 0)
		return c->read_isr ? c->isr : c->irr;
	return c->imr;
}

static void chip_write(void *dev, unsigned port, uint8_t val)
{
	struct pic_chip *c = dev;

	if (port == 0)
		write_cmd(c->pic, c, val);
	else
		write_data(c->pic, c, val);
}

static uint64_t pic_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return byteio_read(chip_read, dev, off, size, 2);
}

static void pic_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	byteio_write(chip_write, dev, off, val, size, 2);
}

const struct dev_ops pic_ops = { .name = "i8259", .read = pic_read, .write = pic_write };

static uint8_t elcr_rd(void *dev, unsigned port)
{
	return ((struct pic *)dev)->chip[port].elcr;
}

static void elcr_wr(void *dev, unsigned port, uint8_t val)
{
	struct pic *p = dev;
	struct pic_chip *c = &p->chip[port];

	c->elcr = val & c->elcr_mask;
	/* Inputs switched to level take their request from the line. */
	c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->line & c->elcr));
	update(p);
}

static uint64_t elcr_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return byteio_read(elcr_rd, dev, off, size, 2);
}

static void elcr_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		       unsigned size)
{
	byteio_write(elcr_wr, dev, off, val, size, 2);
}

const struct dev_ops pic_elcr_ops = { .name = "elcr", .read = elcr_read, .write = elcr_write };

void pic_reset(struct pic *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct pic_chip *c = &p->chip[i];

		/* Input levels (c->line) are outside the chip: they survive. */
		c->elcr = 0;
		chip_init_reset(c);
		c->base = 0;
	}
	update(p);
}

void pic_init(struct pic *p, const struct pic_cfg *cfg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	p->chip[0].pic = p;
	p->chip[0].master = true;
	p->chip[0].elcr_mask = PIC_ELCR_MASK_MASTER;
	p->chip[1].pic = p;
	p->chip[1].elcr_mask = PIC_ELCR_MASK_SLAVE;
	pic_reset(p);
}
