/*
 * Two cascaded 8259A PICs: master at 0x20/0x21 (IRQ 0-7), slave at
 * 0xA0/0xA1 (IRQ 8-15) on master input 2, plus the ELCR edge/level
 * registers at 0x4D0/0x4D1 (IRQ 0, 1, 2, 8 and 13 are always edge).
 *
 * Programming: ICW1-ICW4 (single/cascade, ICW4 needed, vector base,
 * auto-EOI, special fully nested), OCW1 (mask), OCW2 (non-specific and
 * specific EOI, rotate on EOI, rotate in auto-EOI, set priority), OCW3
 * (IRR/ISR read select, poll, special mask mode).
 *
 * Edge inputs set IRR on a rising edge; level inputs (ELCR) follow the line.
 * The master's INTR output goes to intr() (LINT0 of the LAPICs, or the
 * glue in split mode); pic_ack() is the INTA cycle returning the vector. An
 * acknowledge with nothing left to deliver returns the IRQ 7 vector of the
 * master (or IRQ 15 of the slave) without setting ISR: the spurious IRQ.
 *
 * Everything runs under the machine lock.
 */
#ifndef KVMRUN_PIC_H
#define KVMRUN_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

#define PIC_ELCR_MASK_MASTER 0xf8   /* IRQ 0-2 always edge */
#define PIC_ELCR_MASK_SLAVE  0xde   /* IRQ 8 and 13 always edge */

struct pic;

struct pic_chip {
	struct pic *pic;
	bool master;
	uint8_t irr, isr, imr;
	uint8_t elcr, elcr_mask;
	uint8_t line;            /* input levels (edge detection) */
	uint8_t base;            /* ICW2 vector base */
	uint8_t prio_add;        /* IRQ with the highest priority (rotation) */
	uint8_t init_state;      /* 0 ready, 1 ICW2, 2 ICW3, 3 ICW4 next */
	bool init4, single;
	bool read_isr, poll, special_mask;
	bool auto_eoi, rotate_aeoi, sfnm;
};

struct pic_cfg {
	void (*intr)(void *opaque, int level);   /* master INTR output */
	void *opaque;
};

struct pic {
	struct pic_chip chip[2];   /* [0] master, [1] slave */
	struct pic_cfg cfg;
	int intr_level;            /* last level sent to intr() */
};

void pic_init(struct pic *p, const struct pic_cfg *cfg);
void pic_reset(struct pic *p);

/* Input @irq (0-15) at @level. IRQ 2 is the cascade: ignored. */
void pic_set_irq(struct pic *p, unsigned irq, int level);
/* INTR output: some unmasked request beats the in-service priority. */
bool pic_has_interrupt(const struct pic *p);
/* INTA cycle: returns the vector (IRR -> ISR unless auto-EOI). */
int pic_ack(struct pic *p);

/* Ports: register &p->chip[0] at 0x20 and &p->chip[1] at 0xA0 (length 2)
 * with pic_ops, and p at 0x4D0 (length 2) with pic_elcr_ops. */
extern const struct dev_ops pic_ops;
extern const struct dev_ops pic_elcr_ops;

#endif
