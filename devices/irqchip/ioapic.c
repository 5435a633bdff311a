#include "devices/irqchip/ioapic.h"

#include <string.h>

/* Writable bits of the low dword (delivery status and remote IRR are RO). */
#define RE_LO_WMASK 0x0001afffULL
#define RE_HI_WMASK 0xff00000000000000ULL

static bool is_level(uint64_t e)
{
	return e & IOAPIC_RE_LEVEL;
}

/* Only fixed and lowest-priority interrupts are EOI'd by the CPU, so only
 * they use remote IRR; other delivery modes behave as edge-triggered. */
static bool uses_remote_irr(uint64_t e)
{
	unsigned dm = (e >> 8) & 7;

	return is_level(e) && (dm == APIC_DM_FIXED || dm == APIC_DM_LOWPRI);
}

bool ioapic_pin_msg(const struct ioapic *io, unsigned pin, struct apic_msg *m)
{
	uint64_t e;

	if (pin >= IOAPIC_NR_PINS)
		return false;
	e = io->redir[pin];
	memset(m, 0, sizeof(*m));
	m->vector = (uint8_t)e;
	m->delivery = (e >> 8) & 7;
	m->logical = e & IOAPIC_RE_LOGICAL;
	m->trig_level = uses_remote_irr(e);
	m->level = true;
	m->dest = (uint8_t)(e >> 56);
	m->shorthand = APIC_SH_NONE;
	m->src = -1;
	return true;
}

static void service(struct ioapic *io, unsigned pin)
{
	uint32_t bit = 1u << pin;
	uint64_t *e = &io->redir[pin];
	struct apic_msg m;
	bool ok;

	if (!(io->irr & bit) || (*e & IOAPIC_RE_MASKED))
		return;
	if (uses_remote_irr(*e)) {
		if (*e & IOAPIC_RE_REMOTE)
			return;
	} else {
		io->irr &= ~bit;
	}
	ioapic_pin_msg(io, pin, &m);
	ok = io->cfg.deliver ? io->cfg.deliver(io->cfg.opaque, &m) : false;
	/* Remote IRR waits for an EOI, which only comes if a LAPIC took it. */
	if (ok && uses_remote_irr(*e))
		*e |= IOAPIC_RE_REMOTE;
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	uint32_t bit;

	if (pin >= IOAPIC_NR_PINS)
		return;
	bit = 1u << pin;
	if (level) {
		if (is_level(io->redir[pin]) || !(io->line & bit))
			io->irr |= bit;
		io->line |= bit;
	} else {
		io->line &= ~bit;
		/* A de-asserted level line withdraws its request; an edge stays latched. */
		if (is_level(io->redir[pin]))
			io->irr &= ~bit;
	}
	service(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	unsigned pin;

	for (pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t *e = &io->redir[pin];

		if ((uint8_t)*e != vector || !(*e & IOAPIC_RE_REMOTE))
			continue;
		*e &= ~IOAPIC_RE_REMOTE;
		/* Still asserted: deliver again. */
		if (is_level(*e) && (io->line & (1u << pin)))
			io->irr |= 1u << pin;
		service(io, pin);
	}
}

uint64_t ioapic_redir(const struct ioapic *io, unsigned pin)
{
	return pin < IOAPIC_NR_PINS ? io->redir[pin] : 0;
}

uint32_t ioapic_read_reg(struct ioapic *io, uint8_t reg)
{
	unsigned pin;

	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (uint32_t)io->id << 24;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION;
	default:
		break;
	}
	if (reg < IOAPIC_REG_REDIR)
		return 0;
	pin = (unsigned)(reg - IOAPIC_REG_REDIR) >> 1;
	if (pin >= IOAPIC_NR_PINS)
		return 0;
	return (reg & 1) ? (uint32_t)(io->redir[pin] >> 32) : (uint32_t)io->redir[pin];
}

static void write_redir(struct ioapic *io, unsigned pin, bool hi, uint32_t val)
{
	uint64_t *e = &io->redir[pin], old = *e;
	uint32_t bit = 1u << pin;

	if (hi)
		*e = (old & ~RE_HI_WMASK) | (((uint64_t)val << 32) & RE_HI_WMASK);
	else
		*e = (old & ~RE_LO_WMASK) | (val & RE_LO_WMASK);
	/* Remote IRR means nothing for an edge pin. */
	if (!is_level(*e))
		*e &= ~IOAPIC_RE_REMOTE;
	/* Switching trigger mode re-derives the request from the line. */
	if (is_level(*e) != is_level(old)) {
		if (is_level(*e))
			io->irr = (io->irr & ~bit) | (io->line & bit);
		else
			io->irr &= ~bit;
	}
	if (io->cfg.redir_changed && *e != old)
		io->cfg.redir_changed(io->cfg.opaque, pin);
	service(io, pin);
}

void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t val)
{
	unsigned pin;

	switch (reg) {
	case IOAPIC_REG_ID:
		io->id = (val >> 24) & 0xf;
		return;
	case IOAPIC_REG_VER:
	case IOAPIC_REG_ARB:
		return;
	default:
		break;
	}
	if (reg < IOAPIC_REG_REDIR)
		return;
	pin = (unsigned)(reg - IOAPIC_REG_REDIR) >> 1;
	if (pin < IOAPIC_NR_PINS)
		write_redir(io, pin, reg & 1, val);
}

static uint64_t mmio_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct ioapic *io = dev;
	uint64_t v;

	if (off == IOAPIC_REGSEL)
		return io->regsel;
	if (off >= IOAPIC_WINDOW && off < IOAPIC_WINDOW + 4) {
		/* Narrow reads see the matching bytes of the 32-bit window. */
		v = ioapic_read_reg(io, io->regsel) >> (8 * (off - IOAPIC_WINDOW));
		return size >= 4 ? (uint32_t)v : v & ((1ULL << (8 * size)) - 1);
	}
	return 0;
}

static void mmio_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		       unsigned size)
{
	struct ioapic *io = dev;

	switch (off) {
	case IOAPIC_REGSEL:
		io->regsel = (uint8_t)val;
		break;
	case IOAPIC_WINDOW:
		/* The window is a 32-bit register; partial writes are dropped. */
		if (size == 4)
			ioapic_write_reg(io, io->regsel, (uint32_t)val);
		break;
	case IOAPIC_EOIR:
		ioapic_eoi(io, (uint8_t)val);
		break;
	default:
		break;
	}
}

const struct dev_ops ioapic_ops = { .name = "ioapic", .read = mmio_read, .write = mmio_write };

void ioapic_reset(struct ioapic *io)
{
	unsigned pin;

	io->id = io->cfg.id & 0xf;
	io->regsel = 0;
	io->irr = 0;
	for (pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t old = io->redir[pin];

		io->redir[pin] = IOAPIC_RE_MASKED;
		if (io->cfg.redir_changed && old != io->redir[pin])
			io->cfg.redir_changed(io->cfg.opaque, pin);
	}
}

void ioapic_init(struct ioapic *io, const struct ioapic_cfg *cfg)
{
	memset(io, 0, sizeof(*io));
	io->cfg = *cfg;
	/* Force the first reset to report every entry as changed. */
	memset(io->redir, 0xff, sizeof(io->redir));
	ioapic_reset(io);
}
