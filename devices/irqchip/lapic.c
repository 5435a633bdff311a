#include "devices/irqchip/lapic.h"

#include <string.h>

#include "vmm/util.h"

/* Writable bits of each LVT entry (timer: vector, mask, periodic). */
static const uint32_t lvt_wmask[LAPIC_NR_LVT] = {
	[LVT_TIMER] = 0x000300ff,
	[LVT_THERMAL] = 0x000107ff,
	[LVT_PERF] = 0x000107ff,
	[LVT_LINT0] = 0x0001a7ff,
	[LVT_LINT1] = 0x0001a7ff,
	[LVT_ERROR] = 0x000100ff,
};

#define ICR_LO_WMASK 0x000ccfffu
#define DCR_WMASK 0x0000000bu
#define LINT_EXTINT_RESET 0x00000700u   /* delivery mode ExtINT, unmasked */

/* ---- 256-bit vector registers (IRR/ISR/TMR) ---- */

static void vec_set(uint32_t *r, unsigned v)
{
	r[v >> 5] |= 1u << (v & 31);
}

static void vec_clear(uint32_t *r, unsigned v)
{
	r[v >> 5] &= ~(1u << (v & 31));
}

static bool vec_test(const uint32_t *r, unsigned v)
{
	return r[v >> 5] & (1u << (v & 31));
}

static int vec_highest(const uint32_t *r)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

static void notify(struct lapic *l)
{
	if (l->cb.notify)
		l->cb.notify(l->cb.opaque, l->cpu);
}

static uint64_t now_ns(const struct lapic *l)
{
	return l->clock ? clock_now(l->clock) : 0;
}

/* ---- priorities ---- */

uint8_t lapic_ppr(const struct lapic *l)
{
	int isrv = vec_highest(l->isr);
	uint8_t tpr = (uint8_t)l->tpr;

	if (isrv < 0 || (tpr & 0xf0) >= (isrv & 0xf0))
		return tpr;
	return (uint8_t)(isrv & 0xf0);
}

/*
 * Arbitration priority, the classic P6/xAPIC formula: the TPR if it is at
 * least the class of the highest pending and above the class of the
 * highest in-service vector, else the highest of the three classes.
 */
uint8_t lapic_apr(const struct lapic *l)
{
	int irrv = vec_highest(l->irr), isrv = vec_highest(l->isr);
	uint8_t tpr = (uint8_t)l->tpr, c = tpr & 0xf0;

	if (irrv < 0)
		irrv = 0;
	if (isrv < 0)
		isrv = 0;
	if (c >= (irrv & 0xf0) && c > (isrv & 0xf0))
		return tpr;
	return (uint8_t)MAX(c, MAX(isrv & 0xf0, irrv & 0xf0));
}

bool lapic_hw_enabled(const struct lapic *l)
{
	return l->apic_base & LAPIC_BASE_ENABLE;
}

bool lapic_sw_enabled(const struct lapic *l)
{
	return lapic_hw_enabled(l) && (l->svr & LAPIC_SVR_ENABLE);
}

bool lapic_focus_checking(const struct lapic *l)
{
	return !(l->svr & LAPIC_SVR_NO_FOCUS);
}

bool lapic_has_vector(const struct lapic *l, uint8_t vector)
{
	return vec_test(l->irr, vector) || vec_test(l->isr, vector);
}

uint8_t lapic_apic_id(const struct lapic *l)
{
	return (uint8_t)(l->id >> 24);
}

int lapic_has_interrupt(const struct lapic *l)
{
	uint32_t lint0 = l->lvt[LVT_LINT0];
	int v;

	/* A hardware-disabled APIC is bypassed: INTR reaches the core directly. */
	if (!lapic_hw_enabled(l))
		return l->lint[0] ? LAPIC_EXTINT : -1;
	/* ExtINT is not subject to priorities and goes first. */
	if (l->extint)
		return LAPIC_EXTINT;
	if (l->lint[0] && !(lint0 & LAPIC_LVT_MASKED) && ((lint0 >> 8) & 7) == APIC_DM_EXTINT)
		return LAPIC_EXTINT;
	if (!(l->svr & LAPIC_SVR_ENABLE))
		return -1;
	v = vec_highest(l->irr);
	if (v < 0 || (v >> 4) <= (lapic_ppr(l) >> 4))
		return -1;
	return v;
}

int lapic_ack_interrupt(struct lapic *l)
{
	int v = lapic_has_interrupt(l);

	if (v == LAPIC_EXTINT) {
		l->extint = false;
		return v;
	}
	if (v < 0)
		return l->svr & 0xff;   /* spurious interrupt */
	vec_clear(l->irr, (unsigned)v);
	vec_set(l->isr, (unsigned)v);
	return v;
}

/* ---- errors ---- */

static void raise_error(struct lapic *l, uint32_t bit)
{
	uint32_t lvt = l->lvt[LVT_ERROR];
	unsigned v = lvt & 0xff;

	l->esr_pending |= bit;
	if ((lvt & LAPIC_LVT_MASKED) || !lapic_sw_enabled(l))
		return;
	/* An illegal error vector is itself an error; don't recurse on it. */
	if (v < 16) {
		l->esr_pending |= LAPIC_ESR_RECV_ILL;
		return;
	}
	vec_set(l->irr, v);
	vec_clear(l->tmr, v);
	if (lapic_has_interrupt(l) >= 0)
		notify(l);
}

/* Accept a fixed interrupt locally (message, LVT source). */
static bool accept_fixed(struct lapic *l, unsigned vector, bool trig_level)
{
	if (!lapic_sw_enabled(l))
		return false;
	if (vector < 16) {
		raise_error(l, LAPIC_ESR_RECV_ILL);
		return false;
	}
	vec_set(l->irr, vector);
	if (trig_level)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
	if (lapic_has_interrupt(l) >= 0)
		notify(l);
	return true;
}

static void latch_event(struct lapic *l, unsigned ev)
{
	l->events |= ev;
	notify(l);
}

/* ---- timer ---- */

static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)((unsigned __int128)ticks * 1000000000ULL / LAPIC_BUS_HZ);
}

static uint64_t timer_period(const struct lapic *l)
{
	return ticks_to_ns((uint64_t)l->timer_icr * l->timer_div);
}

static bool timer_periodic(const struct lapic *l)
{
	return l->lvt[LVT_TIMER] & LAPIC_LVT_PERIODIC;
}

static unsigned dcr_divisor(uint32_t dcr)
{
	unsigned v = (dcr & 3) | ((dcr >> 1) & 4);

	return v == 7 ? 1 : 2u << v;
}

/* Next expiry from start/mode without firing anything. */
static void timer_recalc(struct lapic *l, uint64_t now)
{
	uint64_t period = timer_period(l), el;

	if (!l->timer_icr || !period) {
		l->timer_next = 0;
		return;
	}
	el = now >= l->timer_start ? now - l->timer_start : 0;
	if (timer_periodic(l)) {
		l->timer_next = l->timer_start + (el / period + 1) * period;
		/* A tiny period would have the event loop do nothing else:
		 * interrupts come at most every LAPIC_MIN_PERIOD_NS. */
		if (period < LAPIC_MIN_PERIOD_NS)
			l->timer_next = MAX(l->timer_next, now + LAPIC_MIN_PERIOD_NS);
	} else
		l->timer_next = el < period ? l->timer_start + period : 0;
}

static void timer_arm(struct lapic *l)
{
	if (!l->clock)
		return;
	if (l->timer_next && !(l->lvt[LVT_TIMER] & LAPIC_LVT_MASKED)) {
		if (!l->timer.armed || l->timer.deadline != l->timer_next)
			ktimer_mod(&l->timer, l->timer_next);
	} else {
		ktimer_del(&l->timer);
	}
}

/* Fire the timer if due (one interrupt however many periods were missed). */
static void timer_service(struct lapic *l, uint64_t now)
{
	if (l->timer_next && now >= l->timer_next) {
		uint32_t lvt = l->lvt[LVT_TIMER];

		if (timer_periodic(l))
			timer_recalc(l, now);
		else
			l->timer_next = 0;
		if (!(lvt & LAPIC_LVT_MASKED))
			accept_fixed(l, lvt & 0xff, false);
	}
	timer_arm(l);
}

static void timer_cb(void *arg)
{
	struct lapic *l = arg;

	timer_service(l, now_ns(l));
}

void lapic_timer_poll(struct lapic *l)
{
	if (l->timer_next)
		timer_service(l, now_ns(l));
}

uint64_t lapic_timer_deadline(const struct lapic *l)
{
	if (l->lvt[LVT_TIMER] & LAPIC_LVT_MASKED)
		return 0;
	return l->timer_next;
}

uint32_t lapic_timer_current(const struct lapic *l)
{
	uint64_t period = timer_period(l), el, now = now_ns(l);
	uint64_t tick_ns = ticks_to_ns(l->timer_div);

	if (!l->timer_icr || !period || !tick_ns)
		return 0;
	el = now >= l->timer_start ? now - l->timer_start : 0;
	if (timer_periodic(l))
		el %= period;
	else if (el >= period)
		return 0;
	return l->timer_icr - (uint32_t)(el / tick_ns);
}

static void timer_set_dcr(struct lapic *l, uint32_t val)
{
	uint64_t now = now_ns(l), back;
	uint32_t cur;

	timer_service(l, now);
	cur = lapic_timer_current(l);
	l->timer_dcr = val & DCR_WMASK;
	l->timer_div = dcr_divisor(l->timer_dcr);
	/* Keep the current count; it goes on at the new rate. */
	if (l->timer_icr) {
		back = ticks_to_ns((uint64_t)(l->timer_icr - cur) * l->timer_div);
		if (!cur && !timer_periodic(l))
			back = timer_period(l);    /* an expired one-shot stays expired */
		l->timer_start = now >= back ? now - back : 0;
	}
	timer_recalc(l, now);
	timer_arm(l);
}

static void timer_set_icr(struct lapic *l, uint32_t val)
{
	uint64_t now = now_ns(l);

	l->timer_icr = val;
	l->timer_start = now;
	timer_recalc(l, now);
	timer_arm(l);
}

/* ---- LVT ---- */

static void set_lvt(struct lapic *l, int idx, uint32_t val)
{
	uint64_t now = now_ns(l);

	val &= lvt_wmask[idx];
	if (!(l->svr & LAPIC_SVR_ENABLE))
		val |= LAPIC_LVT_MASKED;   /* software-disabled: masks stick */
	if (idx == LVT_TIMER)
		timer_service(l, now);      /* expiries so far use the old mask */
	l->lvt[idx] = val;
	if (idx == LVT_TIMER) {
		timer_recalc(l, now);
		timer_arm(l);
	}
	if (idx == LVT_LINT0 && l->lint[0] && lapic_has_interrupt(l) == LAPIC_EXTINT)
		notify(l);
}

static void mask_all_lvts(struct lapic *l)
{
	int i;

	for (i = 0; i < LAPIC_NR_LVT; i++)
		set_lvt(l, i, l->lvt[i] | LAPIC_LVT_MASKED);
}

void lapic_set_lint(struct lapic *l, int pin, int level)
{
	uint32_t lvt;
	bool old;

	if (pin < 0 || pin > 1)
		return;
	old = l->lint[pin];
	l->lint[pin] = level != 0;
	lvt = l->lvt[LVT_LINT0 + pin];
	if (!lapic_hw_enabled(l) || ((lvt >> 8) & 7) == APIC_DM_EXTINT) {
		if (level && !old && lapic_has_interrupt(l) == LAPIC_EXTINT)
			notify(l);
		return;
	}
	if ((lvt & LAPIC_LVT_MASKED) || !level || old)
		return;
	/* Rising edge on a LINT pin programmed for a local delivery mode. */
	switch ((lvt >> 8) & 7) {
	case APIC_DM_FIXED:
		accept_fixed(l, lvt & 0xff, false);
		break;
	case APIC_DM_NMI:
		latch_event(l, LAPIC_EV_NMI);
		break;
	case APIC_DM_SMI:
		latch_event(l, LAPIC_EV_SMI);
		break;
	case APIC_DM_INIT:
		l->events &= ~LAPIC_EV_SIPI;
		latch_event(l, LAPIC_EV_INIT);
		break;
	default:
		break;
	}
}

/* ---- destination matching ---- */

bool lapic_match_dest(const struct lapic *l, uint8_t dest, bool logical)
{
	uint8_t ldr = (uint8_t)(l->ldr >> 24);

	if (!lapic_hw_enabled(l))
		return false;
	if (dest == APIC_BROADCAST)
		return true;
	if (!logical)
		return dest == lapic_apic_id(l);
	switch (l->dfr >> 28) {
	case 0xf:   /* flat: one bit per APIC */
		return (ldr & dest) != 0;
	case 0x0:   /* cluster: 4-bit cluster id, 4-bit member mask; cluster 15 = all */
		if ((dest >> 4) != 0xf && (dest >> 4) != (ldr >> 4))
			return false;
		return (ldr & dest & 0x0f) != 0;
	default:
		return false;
	}
}

/* ---- message acceptance ---- */

bool lapic_accept(struct lapic *l, const struct apic_msg *m)
{
	switch (m->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWPRI:
		/* A level-triggered de-assert carries no interrupt. */
		if (m->trig_level && !m->level)
			return false;
		return accept_fixed(l, m->vector, m->trig_level);
	case APIC_DM_SMI:
		latch_event(l, LAPIC_EV_SMI);
		return true;
	case APIC_DM_NMI:
		latch_event(l, LAPIC_EV_NMI);
		return true;
	case APIC_DM_INIT:
		if (m->trig_level && !m->level)
			return false;   /* INIT level de-assert: arbitration sync only */
		l->events &= ~LAPIC_EV_SIPI;  /* a SIPI must follow the INIT */
		latch_event(l, LAPIC_EV_INIT);
		return true;
	case APIC_DM_STARTUP:
		if (!(l->wait_sipi || (l->events & LAPIC_EV_INIT)) || (l->events & LAPIC_EV_SIPI))
			return false;   /* not in INIT state, or one SIPI already latched */
		l->sipi_vector = m->vector;
		latch_event(l, LAPIC_EV_SIPI);
		return true;
	case APIC_DM_EXTINT:
		l->extint = true;
		notify(l);
		return true;
	default:
		return false;   /* reserved delivery mode 3 */
	}
}

/* ---- ICR ---- */

static void send_ipi(struct lapic *l)
{
	struct apic_msg m = {
		.dest = (uint8_t)(l->icr_hi >> 24),
		.vector = (uint8_t)l->icr_lo,
		.delivery = (l->icr_lo >> 8) & 7,
		.logical = l->icr_lo & (1u << 11),
		.level = l->icr_lo & (1u << 14),
		.trig_level = l->icr_lo & (1u << 15),
		.shorthand = (l->icr_lo >> 18) & 3,
		.src = l->cpu,
	};

	if ((m.delivery == APIC_DM_FIXED || m.delivery == APIC_DM_LOWPRI) && m.vector < 16) {
		raise_error(l, LAPIC_ESR_SEND_ILL);
		return;
	}
	/* Reserved delivery mode; INIT level de-assert only resyncs arbitration IDs. */
	if (m.delivery == 3 || (m.delivery == APIC_DM_INIT && m.trig_level && !m.level))
		return;
	if (l->cb.send)
		l->cb.send(l->cb.opaque, &m);
}

/* ---- EOI ---- */

static void do_eoi(struct lapic *l)
{
	int v = vec_highest(l->isr);
	bool level;

	if (v < 0)
		return;
	vec_clear(l->isr, (unsigned)v);
	level = vec_test(l->tmr, (unsigned)v);
	if (level && l->cb.eoi)
		l->cb.eoi(l->cb.opaque, (uint8_t)v);
	if (lapic_has_interrupt(l) >= 0)
		notify(l);
}

/* ---- registers ---- */

static bool reg_in(unsigned off, unsigned base)
{
	return off >= base && off < base + 0x80;
}

uint32_t lapic_read_reg(struct lapic *l, unsigned off)
{
	if (reg_in(off, LAPIC_ISR))
		return l->isr[(off - LAPIC_ISR) >> 4];
	if (reg_in(off, LAPIC_TMR))
		return l->tmr[(off - LAPIC_TMR) >> 4];
	if (reg_in(off, LAPIC_IRR))
		return l->irr[(off - LAPIC_IRR) >> 4];
	if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR)
		return l->lvt[(off - LAPIC_LVT_TIMER) >> 4];
	switch (off) {
	case LAPIC_ID:
		return l->id;
	case LAPIC_VER:
		return LAPIC_VERSION;
	case LAPIC_TPR:
		return l->tpr;
	case LAPIC_APR:
		return lapic_apr(l);
	case LAPIC_PPR:
		return lapic_ppr(l);
	case LAPIC_EOI:
	case LAPIC_RRD:
		return 0;
	case LAPIC_LDR:
		return l->ldr;
	case LAPIC_DFR:
		return l->dfr;
	case LAPIC_SVR:
		return l->svr;
	case LAPIC_ESR:
		return l->esr;
	case LAPIC_ICR_LO:
		return l->icr_lo;   /* delivery status always idle */
	case LAPIC_ICR_HI:
		return l->icr_hi;
	case LAPIC_TIMER_ICR:
		return l->timer_icr;
	case LAPIC_TIMER_CCR:
		return lapic_timer_current(l);
	case LAPIC_TIMER_DCR:
		return l->timer_dcr;
	default:
		raise_error(l, LAPIC_ESR_ILL_REG);
		return 0;
	}
}

void lapic_write_reg(struct lapic *l, unsigned off, uint32_t val)
{
	/* Read-only registers: writes are ignored. */
	if (reg_in(off, LAPIC_ISR) || reg_in(off, LAPIC_TMR) || reg_in(off, LAPIC_IRR))
		return;
	if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR) {
		set_lvt(l, (int)((off - LAPIC_LVT_TIMER) >> 4), val);
		return;
	}
	switch (off) {
	case LAPIC_ID:
		l->id = val & 0xff000000u;
		break;
	case LAPIC_VER:
	case LAPIC_APR:
	case LAPIC_PPR:
	case LAPIC_RRD:
	case LAPIC_TIMER_CCR:
		break;
	case LAPIC_TPR:
		l->tpr = val & 0xff;
		if (lapic_has_interrupt(l) >= 0)
			notify(l);
		break;
	case LAPIC_EOI:
		do_eoi(l);
		break;
	case LAPIC_LDR:
		l->ldr = val & 0xff000000u;
		break;
	case LAPIC_DFR:
		l->dfr = val | 0x0fffffffu;
		break;
	case LAPIC_SVR:
		l->svr = val & 0x3ff;
		if (!(l->svr & LAPIC_SVR_ENABLE))
			mask_all_lvts(l);
		else if (lapic_has_interrupt(l) >= 0)
			notify(l);
		break;
	case LAPIC_ESR:
		/* Write-before-read: latch what happened since the last write. */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		break;
	case LAPIC_ICR_LO:
		l->icr_lo = val & ICR_LO_WMASK;
		send_ipi(l);
		break;
	case LAPIC_ICR_HI:
		l->icr_hi = val & 0xff000000u;
		break;
	case LAPIC_TIMER_ICR:
		timer_set_icr(l, val);
		break;
	case LAPIC_TIMER_DCR:
		timer_set_dcr(l, val);
		break;
	default:
		raise_error(l, LAPIC_ESR_ILL_REG);
		break;
	}
}

uint64_t lapic_mmio_read(struct lapic *l, uint64_t off, unsigned size)
{
	unsigned b = off & 0xf;
	uint64_t v;

	if (off >= 0x1000 || !size || size > 8)
		return 0;
	/* Each register is the low dword of a 16-byte slot; the rest reads 0. */
	v = b < 4 ? (uint64_t)(lapic_read_reg(l, (unsigned)(off & ~0xfULL)) >> (8 * b)) : 0;
	if (size < 8)
		v &= (1ULL << (8 * size)) - 1;
	return v;
}

void lapic_mmio_write(struct lapic *l, uint64_t off, uint64_t val, unsigned size)
{
	/* The SDM only defines aligned 32-bit accesses; drop anything else. */
	if (off >= 0x1000 || size != 4 || (off & 0xf))
		return;
	lapic_write_reg(l, (unsigned)off, (uint32_t)val);
}

static uint64_t ops_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return lapic_mmio_read(dev, off, size);
}

static void ops_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	lapic_mmio_write(dev, off, val, size);
}

const struct dev_ops lapic_ops = { .name = "lapic", .read = ops_read, .write = ops_write };

/* ---- CR8, APIC base, events ---- */

uint8_t lapic_get_cr8(const struct lapic *l)
{
	return (uint8_t)((l->tpr >> 4) & 0xf);
}

void lapic_set_tpr_from_cr8(struct lapic *l, uint8_t cr8)
{
	lapic_write_reg(l, LAPIC_TPR, (uint32_t)(cr8 & 0xf) << 4);
}

void lapic_set_base(struct lapic *l, uint64_t base)
{
	bool was = lapic_hw_enabled(l);

	l->apic_base = base;
	if (was && !lapic_hw_enabled(l)) {
		/* Hardware disable also software-disables the APIC. */
		l->svr &= ~LAPIC_SVR_ENABLE;
		mask_all_lvts(l);
	}
	if (was != lapic_hw_enabled(l) && lapic_has_interrupt(l) >= 0)
		notify(l);
}

unsigned lapic_events(const struct lapic *l)
{
	return l->events;
}

bool lapic_take_nmi(struct lapic *l)
{
	bool r = l->events & LAPIC_EV_NMI;

	l->events &= ~LAPIC_EV_NMI;
	return r;
}

bool lapic_take_smi(struct lapic *l)
{
	bool r = l->events & LAPIC_EV_SMI;

	l->events &= ~LAPIC_EV_SMI;
	return r;
}

bool lapic_init_pending(const struct lapic *l)
{
	return l->events & LAPIC_EV_INIT;
}

bool lapic_wait_sipi(const struct lapic *l)
{
	return l->wait_sipi;
}

/* Register state after RESET or INIT (the APIC ID is the caller's business). */
static void regs_reset(struct lapic *l)
{
	int i;

	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffffu;
	l->svr = 0xff;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (i = 0; i < LAPIC_NR_LVT; i++)
		l->lvt[i] = LAPIC_LVT_MASKED;
	/* Virtual wire: the BSP takes PIC interrupts through LINT0 from reset. */
	if (l->bsp)
		l->lvt[LVT_LINT0] = LINT_EXTINT_RESET;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	l->timer_icr = 0;
	l->timer_dcr = 0;
	l->timer_div = dcr_divisor(0);
	l->timer_start = 0;
	l->timer_next = 0;
	if (l->clock)
		ktimer_del(&l->timer);
	l->extint = false;
}

void lapic_do_init(struct lapic *l)
{
	regs_reset(l);
	l->events &= ~LAPIC_EV_INIT;
	l->wait_sipi = !l->bsp;
	if (!l->wait_sipi)
		l->events &= ~LAPIC_EV_SIPI;
}

bool lapic_take_sipi(struct lapic *l, uint8_t *vector)
{
	if (!(l->events & LAPIC_EV_SIPI))
		return false;
	l->events &= ~LAPIC_EV_SIPI;
	if (!l->wait_sipi)
		return false;
	l->wait_sipi = false;
	*vector = l->sipi_vector;
	return true;
}

void lapic_reset(struct lapic *l)
{
	l->apic_base = LAPIC_BASE_DEFAULT | LAPIC_BASE_ENABLE | (l->bsp ? LAPIC_BASE_BSP : 0);
	l->id = (uint32_t)l->reset_id << 24;
	regs_reset(l);
	l->events = 0;
	l->sipi_vector = 0;
	l->wait_sipi = !l->bsp;
}

void lapic_init(struct lapic *l, const struct lapic_cfg *cfg)
{
	memset(l, 0, sizeof(*l));
	l->cpu = cfg->cpu;
	l->reset_id = cfg->apic_id;
	l->bsp = cfg->bsp;
	l->clock = cfg->clock;
	l->cb = cfg->cb;
	if (l->clock)
		ktimer_init(&l->timer, l->clock, timer_cb, l);
	lapic_reset(l);
}

void lapic_fini(struct lapic *l)
{
	if (l->clock)
		ktimer_del(&l->timer);
}
