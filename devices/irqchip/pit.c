#include "devices/irqchip/pit.h"

#include <string.h>

#include "devices/byteio.h"
#include "vmm/util.h"

#define NO_EDGE UINT64_MAX

static uint64_t now_ns(const struct pit *p)
{
	return p->clock ? clock_now(p->clock) : 0;
}

static unsigned from_bcd(uint16_t v)
{
	return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}

static uint16_t to_bcd(unsigned v)
{
	return (uint16_t)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

/* Counter modulus and effective reload value (a written 0 means the maximum). */
static uint64_t modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint64_t reload(const struct pit_channel *c)
{
	uint64_t n = c->bcd ? from_bcd(c->count) : c->count;

	return n ? n : modulus(c);
}

static bool has_started(const struct pit_channel *c)
{
	if (!c->counting)
		return false;
	return (c->mode != 1 && c->mode != 5) || c->triggered;
}

/* Input clock ticks since the count started (frozen while the gate pauses it). */
static uint64_t elapsed(const struct pit_channel *c, uint64_t now)
{
	uint64_t t = c->paused ? c->paused_at : now;

	if (!has_started(c) || t <= c->load_time)
		return 0;
	return (uint64_t)((unsigned __int128)(t - c->load_time) * PIT_HZ / 1000000000ULL);
}

static uint64_t tick_to_ns(const struct pit_channel *c, uint64_t tick)
{
	/* Round up so that elapsed() at the returned time reaches @tick. */
	return c->load_time +
	       (uint64_t)(((unsigned __int128)tick * 1000000000ULL + PIT_HZ - 1) / PIT_HZ);
}

/* Binary counter value at @now. */
static uint64_t counter(const struct pit_channel *c, uint64_t now)
{
	uint64_t n = reload(c), m = modulus(c), d;

	if (!has_started(c))
		return n % m;
	d = elapsed(c, now);
	switch (c->mode) {
	case 2:
		return (n - d % n) % m;
	case 3:
		/* Square wave: the count goes down by two, twice per period. */
		return ((n - (2 * d) % n) % m) & ~1ULL;
	default:
		/* Modes 0, 1, 4, 5 count through zero and wrap. */
		return (n % m + m - d % m) % m;
	}
}

static int out_level(const struct pit_channel *c, uint64_t now)
{
	uint64_t n = reload(c), d;

	switch (c->mode) {
	case 0:
		return has_started(c) && elapsed(c, now) >= n;
	case 1:
		return !has_started(c) || elapsed(c, now) >= n;
	case 2:
	case 3:
		if (!has_started(c) || (c->paused && !c->gate))
			return 1;
		d = elapsed(c, now) % n;
		if (c->mode == 2)
			return n == 1 || d != n - 1;
		return d < (n + 1) / 2;
	case 4:
	case 5:
		return !has_started(c) || elapsed(c, now) != n;
	default:
		return 0;
	}
}

/* First rising OUT edge strictly after tick @after, or NO_EDGE. */
static uint64_t next_edge(const struct pit_channel *c, uint64_t after)
{
	uint64_t n = reload(c);

	if (!has_started(c) || c->paused)
		return NO_EDGE;
	switch (c->mode) {
	case 0:
	case 1:
		return after < n ? n : NO_EDGE;
	case 2:
	case 3:
		return (after / n + 1) * n;
	case 4:
	case 5:
		return after < n + 1 ? n + 1 : NO_EDGE;
	default:
		return NO_EDGE;
	}
}

/* (Re)arm the timer for channel 0's next rising edge. */
static void arm_irq(struct pit *p, uint64_t after)
{
	struct pit_channel *c = &p->ch[0];
	uint64_t e;

	if (!p->clock)
		return;
	e = next_edge(c, after);
	if (e == NO_EDGE) {
		ktimer_del(&p->timer);
		return;
	}
	p->edge_tick = e;
	ktimer_mod(&p->timer, tick_to_ns(c, e));
}

/* Channel 0 changed: schedule from its current position. */
static void rearm(struct pit *p)
{
	struct pit_channel *c = &p->ch[0];

	arm_irq(p, elapsed(c, now_ns(p)));
}

static void timer_cb(void *arg)
{
	struct pit *p = arg;
	struct pit_channel *c = &p->ch[0];
	uint64_t d = elapsed(c, now_ns(p)), lim;

	if (!has_started(c) || c->paused)
		return;
	if (p->edge_tick > d) {
		/* Early wake-up: keep waiting for the same edge. */
		arm_irq(p, p->edge_tick - 1);
		return;
	}
	/* IRQ 0 is edge-triggered at the PIC and the IOAPIC: one pulse per edge. */
	irq_pulse(p->irq0);
	/* Rate-limit tiny periods (coalescing the edges in between). */
	lim = elapsed(c, now_ns(p) + PIT_MIN_PERIOD_NS);
	arm_irq(p, MAX(d, lim ? lim - 1 : 0));
}

/* ---- gate ---- */

void pit_set_gate(struct pit *p, unsigned ch, bool gate)
{
	struct pit_channel *c;
	uint64_t now;

	if (ch > 2)
		return;
	c = &p->ch[ch];
	if (c->gate == gate)
		return;
	now = now_ns(p);
	c->gate = gate;
	switch (c->mode) {
	case 0:
	case 4:
		/* Gate low suspends counting; high resumes where it stopped. */
		if (!gate && !c->paused) {
			c->paused = true;
			c->paused_at = now;
		} else if (gate && c->paused) {
			c->load_time += now - c->paused_at;
			c->paused = false;
		}
		break;
	case 1:
	case 5:
		/* A rising edge (re)triggers the count. */
		if (gate && c->counting) {
			c->triggered = true;
			c->load_time = now;
		}
		break;
	default:
		/* Modes 2 and 3: low stops (OUT high), rising edge reloads. */
		if (!gate) {
			c->paused = true;
			c->paused_at = now;
		} else {
			c->paused = false;
			c->load_time = now;
		}
		break;
	}
	if (ch == 0)
		rearm(p);
}

int pit_get_out(struct pit *p, unsigned ch)
{
	return ch > 2 ? 0 : out_level(&p->ch[ch], now_ns(p));
}

uint16_t pit_get_count(struct pit *p, unsigned ch)
{
	struct pit_channel *c;
	uint64_t v;

	if (ch > 2)
		return 0;
	c = &p->ch[ch];
	v = counter(c, now_ns(p));
	return c->bcd ? to_bcd((unsigned)v) : (uint16_t)v;
}

/* ---- programming ---- */

static void load_count(struct pit *p, struct pit_channel *c, uint16_t v)
{
	uint64_t now = now_ns(p);

	c->count = v;
	c->load_time = now;
	c->counting = true;
	c->triggered = false;
	/* Modes 0/2/3/4 count only while the gate is high. */
	c->paused = !c->gate && c->mode != 1 && c->mode != 5;
	c->paused_at = now;
	if (c == &p->ch[0])
		rearm(p);
}

static uint8_t status_byte(struct pit *p, struct pit_channel *c)
{
	uint64_t now = now_ns(p);
	/* Null count: the new count has not reached the counting element yet
	 * (it does on the first input clock, or on the trigger in modes 1/5). */
	bool null = !has_started(c) || now < tick_to_ns(c, 1);

	return (uint8_t)(out_level(c, now) << 7 | null << 6 | c->rw_mode << 4 |
			 c->mode_bits << 1 | c->bcd);
}

static void latch_count(struct pit *p, struct pit_channel *c)
{
	if (c->latch_state)
		return;   /* a pending latch is kept until read */
	c->latched = pit_get_count(p, (unsigned)(c - p->ch));
	c->latch_state = c->rw_mode;
}

static void write_control(struct pit *p, uint8_t val)
{
	unsigned sc = val >> 6, rw = (val >> 4) & 3, i;
	struct pit_channel *c;

	if (sc == 3) {
		/* Read-back: bit 5 clear latches counts, bit 4 clear latches status. */
		for (i = 0; i < 3; i++) {
			c = &p->ch[i];
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				latch_count(p, c);
			if (!(val & 0x10) && !c->status_latched) {
				c->status = status_byte(p, c);
				c->status_latched = true;
			}
		}
		return;
	}
	c = &p->ch[sc];
	if (rw == PIT_RW_LATCH) {
		latch_count(p, c);
		return;
	}
	c->rw_mode = (uint8_t)rw;
	c->read_state = c->write_state = (uint8_t)rw;
	c->mode_bits = (val >> 1) & 7;
	c->mode = c->mode_bits > 5 ? c->mode_bits - 4 : c->mode_bits;
	c->bcd = val & 1;
	/* Until a count is written the counter is idle: OUT low in mode 0, else high. */
	c->counting = false;
	c->triggered = false;
	c->paused = false;
	if (sc == 0)
		rearm(p);
}

static void write_counter(struct pit *p, struct pit_channel *c, uint8_t val)
{
	switch (c->write_state) {
	case PIT_RW_LSB:
		load_count(p, c, val);
		break;
	case PIT_RW_MSB:
		load_count(p, c, (uint16_t)(val << 8));
		break;
	case PIT_RW_WORD:
		c->write_lsb = val;
		c->write_state = PIT_RW_WORD1;
		/* Mode 0: writing the first byte stops the count (OUT stays low). */
		if (c->mode == 0) {
			c->counting = false;
			if (c == &p->ch[0])
				rearm(p);
		}
		break;
	case PIT_RW_WORD1:
		load_count(p, c, (uint16_t)(c->write_lsb | val << 8));
		c->write_state = PIT_RW_WORD;
		break;
	default:
		break;   /* unprogrammed channel */
	}
}

static uint8_t read_counter(struct pit *p, struct pit_channel *c)
{
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_state) {
		v = c->latched;
		switch (c->latch_state) {
		case PIT_RW_MSB:
			c->latch_state = 0;
			return (uint8_t)(v >> 8);
		case PIT_RW_WORD:
			c->latch_state = PIT_RW_WORD1;
			return (uint8_t)v;
		case PIT_RW_WORD1:
			c->latch_state = 0;
			return (uint8_t)(v >> 8);
		default:
			c->latch_state = 0;
			return (uint8_t)v;
		}
	}
	v = pit_get_count(p, (unsigned)(c - p->ch));
	switch (c->read_state) {
	case PIT_RW_MSB:
		return (uint8_t)(v >> 8);
	case PIT_RW_WORD:
		c->read_state = PIT_RW_WORD1;
		return (uint8_t)v;
	case PIT_RW_WORD1:
		c->read_state = PIT_RW_WORD;
		return (uint8_t)(v >> 8);
	default:
		return (uint8_t)v;
	}
}

static uint8_t read_port(void *dev, unsigned port)
{
	struct pit *p = dev;

	/* The control register cannot be read (the bus floats). */
	return port < 3 ? read_counter(p, &p->ch[port]) : 0xff;
}

static void write_port(void *dev, unsigned port, uint8_t val)
{
	struct pit *p = dev;

	if (port < 3)
		write_counter(p, &p->ch[port], val);
	else
		write_control(p, val);
}

static uint64_t pit_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return byteio_read(read_port, dev, off, size, 4);
}

static void pit_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	byteio_write(write_port, dev, off, val, size, 4);
}

const struct dev_ops pit_ops = { .name = "i8254", .read = pit_read, .write = pit_write };

/* ---- port 0x61 ---- */

static uint8_t port61_rd(void *dev, unsigned port)
{
	struct pit *p = dev;
	uint64_t now = now_ns(p);
	unsigned refresh = (unsigned)((now / PIT_REFRESH_NS) & 1);

	return (uint8_t)((p->port61 & 0x0f) | refresh << 4 | out_level(&p->ch[2], now) << 5);
}

static void port61_wr(void *dev, unsigned port, uint8_t val)
{
	struct pit *p = dev;

	p->port61 = val & 0x0f;
	pit_set_gate(p, 2, val & 1);
}

static uint64_t port61_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return byteio_read(port61_rd, dev, off, size, 1);
}

static void port61_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
			 unsigned size)
{
	byteio_write(port61_wr, dev, off, val, size, 1);
}

const struct dev_ops pit_port61_ops = { .name = "port61", .read = port61_read,
					.write = port61_write };

/* ---- lifecycle ---- */

void pit_reset(struct pit *p)
{
	int i;

	if (p->clock)
		ktimer_del(&p->timer);
	for (i = 0; i < 3; i++) {
		struct pit_channel *c = &p->ch[i];

		memset(c, 0, sizeof(*c));
		c->pit = p;
		c->gate = i != 2;
	}
	p->port61 = 0;
	p->edge_tick = 0;
}

void pit_init(struct pit *p, const struct pit_cfg *cfg)
{
	memset(p, 0, sizeof(*p));
	p->clock = cfg->clock;
	p->irq0 = cfg->irq0;
	if (p->clock)
		ktimer_init(&p->timer, p->clock, timer_cb, p);
	pit_reset(p);
}

void pit_fini(struct pit *p)
{
	if (p->clock)
		ktimer_del(&p->timer);
}
