/*
 * Interrupt plumbing handed to devices as parameters, so that devices never
 * know whether the irqchip lives in KVM or in userspace (or in a test).
 */
#ifndef KVMRUN_IRQ_H
#define KVMRUN_IRQ_H

#include <stdint.h>

/* A level-triggered line into the interrupt controller (a GSI). */
struct irq_line {
	void (*set_level)(void *opaque, unsigned gsi, int level);
	void *opaque;
	unsigned gsi;
};

static inline void irq_set(const struct irq_line *l, int level)
{
	if (l && l->set_level)
		l->set_level(l->opaque, l->gsi, level);
}

static inline void irq_pulse(const struct irq_line *l)
{
	irq_set(l, 1);
	irq_set(l, 0);
}

/* Message-signalled interrupts (PCI MSI/MSI-X, IOAPIC in split mode). */
struct msi_sink {
	void (*send)(void *opaque, uint64_t addr, uint32_t data);
	void *opaque;
};

static inline void msi_send(const struct msi_sink *s, uint64_t addr, uint32_t data)
{
	if (s && s->send)
		s->send(s->opaque, addr, data);
}

#endif
