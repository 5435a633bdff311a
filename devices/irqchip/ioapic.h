/*
 * IOAPIC (82093AA programming model, version 0x20) with 24 pins at
 * 0xFEC00000: IOREGSEL at offset 0x00, IOWIN at 0x10 and the EOI register
 * at 0x40 that version-0x20 parts have (writing a vector ends a
 * level-triggered interrupt, like an EOI broadcast for that vector).
 *
 * Redirection entries: vector, delivery mode, destination mode, delivery
 * status (always idle), polarity (stored; lines carry the logical
 * assertion, so it does not invert them), remote IRR, trigger mode, mask,
 * 8-bit destination. Edge pins latch a rising edge (also while masked;
 * it is delivered on unmask); level pins deliver while asserted with remote
 * IRR clear, set remote IRR when a LAPIC accepted the message, and get it
 * cleared by an EOI for the vector, after which a still-asserted line is
 * delivered again.
 *
 * Output: struct apic_msg through deliver(); the glue routes it on the
 * userspace APIC bus, or encodes it as an MSI (apic_bus_msi_encode()) in
 * split-irqchip mode. Everything runs under the machine lock.
 */
#ifndef KVMRUN_IOAPIC_H
#define KVMRUN_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irqchip/apic_bus.h"
#include "vmm/bus.h"

#define IOAPIC_NR_PINS   24
#define IOAPIC_VERSION   0x00170020u    /* max redirection entry 23, version 0x20 */

/* MMIO offsets */
#define IOAPIC_REGSEL    0x00
#define IOAPIC_WINDOW    0x10
#define IOAPIC_EOIR      0x40

/* Indirect registers */
#define IOAPIC_REG_ID    0x00
#define IOAPIC_REG_VER   0x01
#define IOAPIC_REG_ARB   0x02
#define IOAPIC_REG_REDIR 0x10

/* Redirection entry bits */
#define IOAPIC_RE_LOGICAL   (1ULL << 11)
#define IOAPIC_RE_STATUS    (1ULL << 12)
#define IOAPIC_RE_POLARITY  (1ULL << 13)
#define IOAPIC_RE_REMOTE    (1ULL << 14)
#define IOAPIC_RE_LEVEL     (1ULL << 15)
#define IOAPIC_RE_MASKED    (1ULL << 16)

struct ioapic_cfg {
	uint8_t id;   /* IOAPIC ID (4 bits) after reset */
	/* Send a message; return true if some LAPIC accepted it (a level
	 * interrupt then waits for its EOI with remote IRR set). */
	bool (*deliver)(void *opaque, const struct apic_msg *m);
	/* A redirection entry was written (split mode refreshes its MSI route). */
	void (*redir_changed)(void *opaque, unsigned pin);
	void *opaque;
};

struct ioapic {
	struct ioapic_cfg cfg;
	uint8_t id;
	uint8_t regsel;
	uint64_t redir[IOAPIC_NR_PINS];
	uint32_t irr;    /* latched requests: edge until delivered, level = line */
	uint32_t line;   /* current input levels */
};

void ioapic_init(struct ioapic *io, const struct ioapic_cfg *cfg);
void ioapic_reset(struct ioapic *io);

/* Input pin @pin (0-23) at @level (asserted != 0). Other pins are ignored. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);
/* End of interrupt for @vector (EOI broadcast from a LAPIC, or EOIR). */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

uint64_t ioapic_redir(const struct ioapic *io, unsigned pin);
/* The message pin @pin sends when it fires (whether or not it is masked). */
bool ioapic_pin_msg(const struct ioapic *io, unsigned pin, struct apic_msg *m);

/* Indirect register access, as through IOREGSEL/IOWIN. */
uint32_t ioapic_read_reg(struct ioapic *io, uint8_t reg);
void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t val);

extern const struct dev_ops ioapic_ops;   /* dev = struct ioapic */

#endif
