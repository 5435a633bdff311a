#include "devices/irqchip/apic_bus.h"

#include <errno.h>
#include <string.h>

#include "devices/irqchip/ioapic.h"
#include "devices/irqchip/lapic.h"
#include "devices/irqchip/pic.h"

void apic_bus_init(struct apic_bus *b, struct ioapic *ioapic, struct pic *pic)
{
	memset(b, 0, sizeof(*b));
	b->ioapic = ioapic;
	b->pic = pic;
}

int apic_bus_add_lapic(struct apic_bus *b, struct lapic *l)
{
	if (b->n >= APIC_BUS_MAX_CPUS)
		return -ENOSPC;
	b->lapic[b->n++] = l;
	return 0;
}

static uint64_t all_cpus(const struct apic_bus *b)
{
	return b->n >= 64 ? ~0ULL : (1ULL << b->n) - 1;
}

uint64_t apic_bus_dest_mask(const struct apic_bus *b, const struct apic_msg *m)
{
	uint64_t mask = 0, self = 0;
	int i;

	if (m->src >= 0 && m->src < b->n)
		self = 1ULL << m->src;
	switch (m->shorthand) {
	case APIC_SH_SELF:
		return self;
	case APIC_SH_ALL:
		return all_cpus(b);
	case APIC_SH_OTHERS:
		return all_cpus(b) & ~self;
	default:
		break;
	}
	for (i = 0; i < b->n; i++)
		if (lapic_match_dest(b->lapic[i], m->dest, m->logical))
			mask |= 1ULL << i;
	return mask;
}

/*
 * Lowest-priority arbitration among @mask: a focus processor (one that
 * already has the vector pending or in service) wins; otherwise the lowest
 * arbitration priority, ties broken round-robin so that equal CPUs share
 * the load. Software-disabled APICs cannot take fixed interrupts.
 */
static int lowest_priority(struct apic_bus *b, uint64_t mask, uint8_t vector)
{
	int i, k, best = -1;
	unsigned best_apr = 0x100;

	for (i = 0; i < b->n; i++) {
		struct lapic *l = b->lapic[i];

		if ((mask & (1ULL << i)) && lapic_sw_enabled(l) && lapic_focus_checking(l) &&
		    lapic_has_vector(l, vector))
			return i;
	}
	for (k = 0; k < b->n; k++) {
		i = (int)((b->rr + (unsigned)k) % (unsigned)b->n);
		if (!(mask & (1ULL << i)) || !lapic_sw_enabled(b->lapic[i]))
			continue;
		if (lapic_apr(b->lapic[i]) < best_apr) {
			best_apr = lapic_apr(b->lapic[i]);
			best = i;
		}
	}
	if (best >= 0)
		b->rr = (unsigned)best + 1;
	return best;
}

uint64_t apic_bus_deliver(struct apic_bus *b, const struct apic_msg *m)
{
	uint64_t mask = apic_bus_dest_mask(b, m), got = 0;
	int i;

	if (!mask)
		return 0;
	if (m->delivery == APIC_DM_LOWPRI) {
		i = lowest_priority(b, mask, m->vector);
		if (i < 0)
			return 0;
		return lapic_accept(b->lapic[i], m) ? 1ULL << i : 0;
	}
	for (i = 0; i < b->n; i++)
		if ((mask & (1ULL << i)) && lapic_accept(b->lapic[i], m))
			got |= 1ULL << i;
	return got;
}

bool apic_bus_msi_decode(uint64_t addr, uint32_t data, struct apic_msg *m)
{
	if ((addr & APIC_MSI_MASK) != APIC_MSI_BASE)
		return false;
	memset(m, 0, sizeof(*m));
	m->dest = (uint8_t)(addr >> 12);
	m->logical = addr & (1u << 2);
	m->vector = (uint8_t)data;
	m->delivery = (data >> 8) & 7;
	m->trig_level = data & (1u << 15);
	/* The assert bit only matters for level-triggered messages. */
	m->level = m->trig_level ? (data & (1u << 14)) != 0 : true;
	m->shorthand = APIC_SH_NONE;
	m->src = -1;
	/* Redirection hint: the chipset arbitrates a fixed message like lowest priority. */
	if ((addr & (1u << 3)) && m->delivery == APIC_DM_FIXED)
		m->delivery = APIC_DM_LOWPRI;
	return true;
}

void apic_bus_msi_encode(const struct apic_msg *m, uint64_t *addr, uint32_t *data)
{
	*addr = APIC_MSI_BASE | (uint64_t)m->dest << 12 | (m->logical ? 1u << 2 : 0);
	*data = m->vector | (uint32_t)(m->delivery & 7) << 8 | 1u << 14 |
		(m->trig_level ? 1u << 15 : 0);
}

uint64_t apic_bus_msi(struct apic_bus *b, uint64_t addr, uint32_t data)
{
	struct apic_msg m;

	if (!apic_bus_msi_decode(addr, data, &m))
		return 0;
	return apic_bus_deliver(b, &m);
}

int apic_bus_gsi_pin(unsigned gsi)
{
	if (gsi == 0)
		return 2;
	if (gsi == 2 || gsi >= IOAPIC_NR_PINS)
		return -1;
	return (int)gsi;
}

void apic_bus_set_gsi(struct apic_bus *b, unsigned gsi, int level)
{
	int pin = apic_bus_gsi_pin(gsi);

	if (gsi < 16 && gsi != 2 && b->pic)
		pic_set_irq(b->pic, gsi, level);
	if (pin >= 0 && b->ioapic)
		ioapic_set_irq(b->ioapic, (unsigned)pin, level);
}

void apic_bus_pic_intr(struct apic_bus *b, int level)
{
	int i;

	for (i = 0; i < b->n; i++)
		lapic_set_lint(b->lapic[i], 0, level);
}

void apic_bus_eoi(struct apic_bus *b, uint8_t vector)
{
	if (b->ioapic)
		ioapic_eoi(b->ioapic, vector);
}

int apic_bus_pending(const struct apic_bus *b, int cpu)
{
	if (cpu < 0 || cpu >= b->n)
		return -1;
	return lapic_has_interrupt(b->lapic[cpu]);
}

int apic_bus_ack(struct apic_bus *b, int cpu)
{
	struct lapic *l;
	int v;

	if (cpu < 0 || cpu >= b->n)
		return -1;
	l = b->lapic[cpu];
	if (lapic_has_interrupt(l) < 0)
		return -1;
	v = lapic_ack_interrupt(l);
	if (v != LAPIC_EXTINT)
		return v;
	/* ExtINT: the 8259 supplies the vector in its INTA cycle. Without a
	 * PIC the cycle floats: report the spurious vector. */
	return b->pic ? pic_ack(b->pic) : (int)(lapic_read_reg(l, LAPIC_SVR) & 0xff);
}

static uint64_t mmio_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct apic_bus *b = dev;

	if (!ctx || ctx->cpu < 0 || ctx->cpu >= b->n)
		return 0;
	return lapic_mmio_read(b->lapic[ctx->cpu], off, size);
}

static void mmio_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		       unsigned size)
{
	struct apic_bus *b = dev;

	if (!ctx || ctx->cpu < 0 || ctx->cpu >= b->n)
		return;
	lapic_mmio_write(b->lapic[ctx->cpu], off, val, size);
}

const struct dev_ops apic_bus_mmio_ops = {
	.name = "lapic",
	.read = mmio_read,
	.write = mmio_write,
};
