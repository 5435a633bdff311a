/*
 * The userspace interrupt fabric: APIC bus messages and the wiring between
 * the local APICs, the IOAPIC and the 8259 pair.
 *
 * A message on the APIC bus (an IPI written to a LAPIC's ICR, an IOAPIC
 * redirection, or a decoded MSI) is a struct apic_msg. apic_bus_deliver()
 * computes the destination set (physical / logical flat / logical cluster,
 * shorthands), runs lowest-priority arbitration and hands the message to
 * each chosen LAPIC with lapic_accept().
 *
 * The fabric also routes device lines (ISA IRQ n goes to PIC input n and to
 * IOAPIC pin n, except IRQ 0 which goes to IOAPIC pin 2 as the MADT
 * interrupt source override says; GSIs 16-23 go to the IOAPIC only), drives
 * every LAPIC's LINT0 from the PIC's INTR output (virtual wire), forwards
 * level-triggered EOIs from a LAPIC to the IOAPIC, and answers "which vector
 * does CPU n take next" including the ExtINT acknowledge cycle to the PIC.
 *
 * No KVM, no locks: everything runs under the machine lock.
 *
 * MSI encoding (used for PCI MSI and for the IOAPIC in split-irqchip mode):
 *   address = 0xFEE00000 | dest << 12 | RH << 3 | DM << 2
 *             (dest: 8-bit xAPIC destination, DM: 1 = logical, RH: redirection
 *             hint, which turns Fixed into lowest-priority arbitration)
 *   data    = vector | delivery_mode << 8 | assert << 14 | trigger << 15
 *             (trigger: 1 = level; assert is always 1 for a sent message)
 */
#ifndef KVMRUN_APIC_BUS_H
#define KVMRUN_APIC_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/memmap.h"

/* Delivery modes (ICR, LVT and IOAPIC redirection entries share them). */
#define APIC_DM_FIXED    0
#define APIC_DM_LOWPRI   1
#define APIC_DM_SMI      2
#define APIC_DM_NMI      4
#define APIC_DM_INIT     5
#define APIC_DM_STARTUP  6
#define APIC_DM_EXTINT   7

/* ICR destination shorthands. */
#define APIC_SH_NONE     0
#define APIC_SH_SELF     1
#define APIC_SH_ALL      2
#define APIC_SH_OTHERS   3

#define APIC_BROADCAST   0xff
#define APIC_BUS_MAX_CPUS 64

#define APIC_MSI_BASE    MM_LAPIC        /* MSI writes target the LAPIC page */
#define APIC_MSI_MASK    (~0xfffffULL)

/* A message on the APIC bus. */
struct apic_msg {
	uint8_t dest;        /* xAPIC destination (0xff = broadcast) */
	uint8_t vector;
	uint8_t delivery;    /* APIC_DM_* */
	uint8_t shorthand;   /* APIC_SH_* (IPIs only; NONE otherwise) */
	bool logical;        /* destination mode */
	bool level;          /* assert (true) or de-assert (INIT level de-assert) */
	bool trig_level;     /* level-triggered (sets TMR, asks for an EOI) */
	int src;             /* sending CPU for IPIs, -1 for IOAPIC and MSI */
};

struct lapic;
struct ioapic;
struct pic;

struct apic_bus {
	struct lapic *lapic[APIC_BUS_MAX_CPUS];   /* indexed by CPU number */
	int n;
	unsigned rr;             /* lowest-priority tie-break: next CPU to prefer */
	struct ioapic *ioapic;   /* optional: GSI routing, EOI forwarding */
	struct pic *pic;         /* optional: GSI routing, ExtINT acknowledge */
};

void apic_bus_init(struct apic_bus *b, struct ioapic *ioapic, struct pic *pic);
/* Attach the LAPIC of the next CPU (CPU number = attach order). 0 or -ENOSPC. */
int apic_bus_add_lapic(struct apic_bus *b, struct lapic *l);

/* Bit n set = CPU n is a destination of @m (before lowest-priority arbitration). */
uint64_t apic_bus_dest_mask(const struct apic_bus *b, const struct apic_msg *m);
/* Deliver @m; returns the mask of CPUs whose LAPIC accepted it. */
uint64_t apic_bus_deliver(struct apic_bus *b, const struct apic_msg *m);

/*
 * Decode an MSI write into a bus message. False (and @m untouched) when
 * @addr is not in the 0xFEExxxxx interrupt window.
 */
bool apic_bus_msi_decode(uint64_t addr, uint32_t data, struct apic_msg *m);
void apic_bus_msi_encode(const struct apic_msg *m, uint64_t *addr, uint32_t *data);
/* apic_bus_msi_decode() + apic_bus_deliver(); returns the accepting mask. */
uint64_t apic_bus_msi(struct apic_bus *b, uint64_t addr, uint32_t data);

/* IOAPIC pin of a GSI: ISA IRQ 0 -> pin 2, IRQ 2 (cascade) -> none (-1). */
int apic_bus_gsi_pin(unsigned gsi);
/* A device line: PIC (GSI < 16) and IOAPIC pin. Out-of-range GSIs are ignored. */
void apic_bus_set_gsi(struct apic_bus *b, unsigned gsi, int level);

/* The PIC's INTR output: drives LINT0 of every LAPIC. */
void apic_bus_pic_intr(struct apic_bus *b, int level);
/* A LAPIC finished a level-triggered interrupt: tell the IOAPIC. */
void apic_bus_eoi(struct apic_bus *b, uint8_t vector);

/*
 * What CPU @cpu would take now: a vector, APIC_BUS_EXTINT (the PIC must be
 * asked with an acknowledge cycle), or -1. apic_bus_ack() performs the
 * acknowledge (IRR -> ISR, or the PIC's INTA) and returns the vector, or -1
 * if nothing was deliverable.
 */
#define APIC_BUS_EXTINT 256
int apic_bus_pending(const struct apic_bus *b, int cpu);
int apic_bus_ack(struct apic_bus *b, int cpu);

/*
 * MMIO for the LAPIC page (register at MM_LAPIC, MM_LAPIC_SIZE with the
 * struct apic_bus as dev): each access goes to the LAPIC of ctx->cpu.
 * Accesses without a CPU (ctx->cpu < 0, DMA) read 0 and are dropped.
 */
extern const struct dev_ops apic_bus_mmio_ops;

#endif
