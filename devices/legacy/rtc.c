#include "devices/legacy/rtc.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "devices/byteio.h"
#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/memmap.h"

#define NS_PER_SEC  1000000000ULL
#define RTC_HZ      32768ULL     /* the divider chain's time base */
#define SECS_PER_DAY 86400
#define NEVER       INT64_MAX

struct rtc {
	struct clock *clk;
	struct irq_line irq;
	struct ktimer periodic_timer, update_timer;

	uint8_t cmos[RTC_CMOS_SIZE];  /* RAM; clock bytes only used while SET */
	uint8_t index;
	bool nmi_masked;
	uint8_t reg_a;                /* without UIP */
	uint8_t reg_b;
	uint8_t flags;                /* PF/AF/UF; IRQF is derived */
	bool irq_level;

	/*
	 * Running: RTC time = sec_off s + (clock_now + ns_off) ns, ns_off < 1 s.
	 * Held (divider in reset): frozen at held_sec + held_ns.
	 */
	bool held;
	int64_t sec_off, held_sec;
	uint64_t ns_off;
	uint32_t held_ns;
	int wday_adj;                 /* guest-set weekday minus the computed one, mod 7 */
	/* RTC time up to which PF/UF/AF have been accounted for */
	int64_t last_sec;
	uint32_t last_ns;
};

static bool is_time_reg(unsigned idx)
{
	return idx <= RTC_YEAR || idx == RTC_CENTURY;
}

static bool is_alarm_reg(unsigned idx)
{
	return idx == RTC_SECONDS_ALARM || idx == RTC_MINUTES_ALARM || idx == RTC_HOURS_ALARM;
}

/* ---- time base ---- */

static void get_time(const struct rtc *r, int64_t *sec, uint32_t *ns)
{
	uint64_t t;

	if (r->held) {
		*sec = r->held_sec;
		*ns = r->held_ns;
		return;
	}
	t = clock_now(r->clk) + r->ns_off;
	*sec = r->sec_off + (int64_t)(t / NS_PER_SEC);
	*ns = (uint32_t)(t % NS_PER_SEC);
}

/* Make the RTC read @sec + @ns now. Time jumps are not "updates": no flags. */
static void set_time(struct rtc *r, int64_t sec, uint32_t ns)
{
	if (r->held) {
		r->held_sec = sec;
		r->held_ns = ns;
	} else {
		uint64_t now = clock_now(r->clk);

		r->ns_off = (ns + NS_PER_SEC - now % NS_PER_SEC) % NS_PER_SEC;
		r->sec_off = sec - (int64_t)((now + r->ns_off) / NS_PER_SEC);
	}
	r->last_sec = sec;
	r->last_ns = ns;
}

/* Updates happen when the divider runs and SET is clear. */
static bool updating(const struct rtc *r)
{
	return !r->held && !(r->reg_b & RTC_B_SET);
}

/* Period of the periodic interrupt in 32.768 kHz ticks, 0 = off. */
static unsigned period_ticks(const struct rtc *r)
{
	unsigned rs = r->reg_a & RTC_A_RS_MASK;

	if (!rs)
		return 0;
	/* rates 1 and 2 repeat 8 and 9 (256/128 Hz) with a 32 kHz time base */
	return rs <= 2 ? 1u << (rs + 6) : 1u << (rs - 1);
}

static int64_t periodic_index(int64_t sec, uint32_t ns, unsigned period)
{
	uint64_t tick = (uint64_t)ns * RTC_HZ / NS_PER_SEC;

	return sec * (int64_t)(RTC_HZ / period) + (int64_t)(tick / period);
}

/* ---- register encoding ---- */

static uint8_t enc(const struct rtc *r, unsigned v)
{
	if (r->reg_b & RTC_B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static unsigned dec(const struct rtc *r, uint8_t v)
{
	if (r->reg_b & RTC_B_DM_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t enc_hour(const struct rtc *r, unsigned h)
{
	unsigned h12;

	if (r->reg_b & RTC_B_24H)
		return enc(r, h);
	h12 = h % 12 ? h % 12 : 12;
	return enc(r, h12) | (h >= 12 ? 0x80 : 0);
}

static unsigned dec_hour(const struct rtc *r, uint8_t v)
{
	if (r->reg_b & RTC_B_24H)
		return dec(r, v);
	return dec(r, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

/* The clock registers (0-9, century) for RTC time @sec, as the guest sees them. */
static void encode_time(const struct rtc *r, int64_t sec, uint8_t *regs, uint8_t *century)
{
	time_t t = (time_t)sec;
	struct tm tm;
	long year;

	gmtime_r(&t, &tm);
	year = (long)tm.tm_year + 1900;
	if (year < 0)
		year = 0;
	regs[RTC_SECONDS] = enc(r, (unsigned)tm.tm_sec);
	regs[RTC_MINUTES] = enc(r, (unsigned)tm.tm_min);
	regs[RTC_HOURS] = enc_hour(r, (unsigned)tm.tm_hour);
	regs[RTC_DAY_OF_WEEK] = enc(r, (unsigned)(tm.tm_wday + r->wday_adj) % 7 + 1);
	regs[RTC_DAY_OF_MONTH] = enc(r, (unsigned)tm.tm_mday);
	regs[RTC_MONTH] = enc(r, (unsigned)tm.tm_mon + 1);
	regs[RTC_YEAR] = enc(r, (unsigned)(year % 100));
	*century = enc(r, (unsigned)(year / 100));
}

/*
 * Seconds since the epoch for the clock bytes in cmos[]. Out-of-range
 * fields are normalised by timegm() (month 13 = January of the next year):
 * a defined result for garbage, as real parts also count on from garbage.
 */
static int64_t decode_time(struct rtc *r)
{
	struct tm tm = { 0 };
	unsigned wday;
	int64_t sec;

	tm.tm_sec = (int)dec(r, r->cmos[RTC_SECONDS]);
	tm.tm_min = (int)dec(r, r->cmos[RTC_MINUTES]);
	tm.tm_hour = (int)dec_hour(r, r->cmos[RTC_HOURS]);
	tm.tm_mday = (int)dec(r, r->cmos[RTC_DAY_OF_MONTH]);
	tm.tm_mon = (int)dec(r, r->cmos[RTC_MONTH]) - 1;
	tm.tm_year = (int)(dec(r, r->cmos[RTC_CENTURY]) * 100 + dec(r, r->cmos[RTC_YEAR])) - 1900;
	sec = (int64_t)timegm(&tm);
	/* The weekday is its own counter on the chip: keep what the guest set. */
	wday = dec(r, r->cmos[RTC_DAY_OF_WEEK]);
	if (wday >= 1 && wday <= 7) {
		time_t t = (time_t)sec;
		struct tm now;

		gmtime_r(&t, &now);
		r->wday_adj = ((int)wday - 1 - now.tm_wday + 7) % 7;
	}
	return sec;
}

/* Copy the running time into cmos[] (SET going high, or a write-through). */
static void snapshot_time(struct rtc *r)
{
	int64_t sec;
	uint32_t ns;
	uint8_t regs[RTC_YEAR + 1], century;
	unsigned i;

	get_time(r, &sec, &ns);
	encode_time(r, sec, regs, &century);
	for (i = 0; i <= RTC_YEAR; i++)
		if (!is_alarm_reg(i))
			r->cmos[i] = regs[i];
	r->cmos[RTC_CENTURY] = century;
}

/* ---- alarm ---- */

static bool alarm_field_ok(uint8_t alarm, uint8_t cur)
{
	return (alarm & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE || alarm == cur;
}

/* Can this alarm byte ever match one of @n values of a field? */
static bool alarm_field_possible(const struct rtc *r, uint8_t alarm, unsigned n, bool hours)
{
	unsigned v;

	for (v = 0; v < n; v++)
		if (alarm_field_ok(alarm, hours ? enc_hour(r, v) : enc(r, v)))
			return true;
	return false;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* The first second > @after whose time matches the alarm, or NEVER. */
static int64_t next_alarm(const struct rtc *r, int64_t after)
{
	uint8_t as = r->cmos[RTC_SECONDS_ALARM], am = r->cmos[RTC_MINUTES_ALARM];
	uint8_t ah = r->cmos[RTC_HOURS_ALARM];
	int64_t start, day;
	unsigned d, h, m, s;

	if (after >= NEVER - 2 * SECS_PER_DAY)
		return NEVER;
	if (!alarm_field_possible(r, as, 60, false) || !alarm_field_possible(r, am, 60, false) ||
	    !alarm_field_possible(r, ah, 24, true))
		return NEVER;
	start = after + 1;
	day = floor_div(start, SECS_PER_DAY) * SECS_PER_DAY;
	/* Every field can match, so the answer lies within the next two days. */
	for (d = 0; d < 2; d++) {
		int64_t base = day + (int64_t)d * SECS_PER_DAY;

		for (h = 0; h < 24; h++) {
			int64_t hb = base + h * 3600;

			if (hb + 3599 < start || !alarm_field_ok(ah, enc_hour(r, h)))
				continue;
			for (m = 0; m < 60; m++) {
				int64_t mb = hb + m * 60;

				if (mb + 59 < start || !alarm_field_ok(am, enc(r, m)))
					continue;
				for (s = 0; s < 60; s++)
					if (mb + s >= start && alarm_field_ok(as, enc(r, s)))
						return mb + s;
			}
		}
	}
	return NEVER;
}

/* ---- interrupts ---- */

static uint8_t reg_c_value(const struct rtc *r)
{
	uint8_t c = r->flags;

	if (c & r->reg_b & (RTC_C_PF | RTC_C_AF | RTC_C_UF))
		c |= RTC_C_IRQF;
	return c;
}

static void update_irq(struct rtc *r)
{
	bool level = reg_c_value(r) & RTC_C_IRQF;

	if (level != r->irq_level) {
		r->irq_level = level;
		irq_set(&r->irq, level);
	}
}

/* Account for the periodic edges, updates and alarms since the last call. */
static void catch_up(struct rtc *r)
{
	int64_t s0 = r->last_sec, s1;
	uint32_t n0 = r->last_ns, n1;
	unsigned p = period_ticks(r);

	get_time(r, &s1, &n1);
	if (s1 < s0 || (s1 == s0 && n1 <= n0))
		return;
	if (p && periodic_index(s1, n1, p) > periodic_index(s0, n0, p))
		r->flags |= RTC_C_PF;
	if (updating(r) && s1 > s0) {
		r->flags |= RTC_C_UF;
		if (next_alarm(r, s0) <= s1)
			r->flags |= RTC_C_AF;
	}
	r->last_sec = s1;
	r->last_ns = n1;
}

/* Arm the timers the enable bits need, at the next event. */
static void rearm(struct rtc *r)
{
	uint64_t now = clock_now(r->clk);
	unsigned p = period_ticks(r);
	int64_t sec;
	uint32_t ns;

	get_time(r, &sec, &ns);
	if ((r->reg_b & RTC_B_PIE) && p && !r->held) {
		uint64_t tick = (uint64_t)ns * RTC_HZ / NS_PER_SEC;
		uint64_t next = (tick / p + 1) * p;
		/* round up so that the edge has really passed when the timer runs */
		uint64_t next_ns = (next * NS_PER_SEC + RTC_HZ - 1) / RTC_HZ;

		ktimer_mod(&r->periodic_timer, now + (next_ns - ns));
	} else {
		ktimer_del(&r->periodic_timer);
	}

	if (updating(r) && (r->reg_b & RTC_B_UIE)) {
		ktimer_mod(&r->update_timer, now + (NS_PER_SEC - ns));
	} else if (updating(r) && (r->reg_b & RTC_B_AIE)) {
		int64_t a = next_alarm(r, sec);

		if (a == NEVER)
			ktimer_del(&r->update_timer);
		else
			ktimer_mod(&r->update_timer,
				   now + (uint64_t)(a - sec) * NS_PER_SEC - ns);
	} else {
		ktimer_del(&r->update_timer);
	}
}

static void timer_fire(void *arg)
{
	struct rtc *r = arg;

	catch_up(r);
	update_irq(r);
	rearm(r);
}

/* ---- registers ---- */

static uint8_t uip(const struct rtc *r)
{
	int64_t sec;
	uint32_t ns;

	if (!updating(r))
		return 0;
	get_time(r, &sec, &ns);
	return ns >= NS_PER_SEC - RTC_UIP_WINDOW_NS ? RTC_A_UIP : 0;
}

/* What the guest reads at @idx, without side effects (reg C not cleared). */
static uint8_t peek(const struct rtc *r, unsigned idx)
{
	switch (idx) {
	case RTC_REG_A:
		return r->reg_a | uip(r);
	case RTC_REG_B:
		return r->reg_b;
	case RTC_REG_C:
		return reg_c_value(r);
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		break;
	}
	if (is_time_reg(idx) && !is_alarm_reg(idx) && !(r->reg_b & RTC_B_SET)) {
		uint8_t regs[RTC_YEAR + 1], century;
		int64_t sec;
		uint32_t ns;

		get_time(r, &sec, &ns);
		encode_time(r, sec, regs, &century);
		return idx == RTC_CENTURY ? century : regs[idx];
	}
	return r->cmos[idx];
}

static uint8_t read_reg_c(struct rtc *r)
{
	uint8_t c;

	catch_up(r);
	c = reg_c_value(r);
	r->flags = 0;
	update_irq(r);
	return c;
}

static bool divider_held(uint8_t reg_a)
{
	/* 000/001/010 are time bases (taken as 32.768 kHz); the rest stop it */
	return (reg_a & RTC_A_DV_MASK) > RTC_A_DV_32KHZ;
}

static void write_reg_a(struct rtc *r, uint8_t v)
{
	bool hold = divider_held(v);

	catch_up(r);
	if (hold && !r->held) {
		int64_t sec;
		uint32_t ns;

		get_time(r, &sec, &ns);
		r->held = true;
		r->held_sec = sec;
		r->held_ns = ns;
		TRACE(TRACE_IO, "rtc: divider chain held (reg A %#x)", v);
	} else if (!hold && r->held) {
		/* Leaving reset, the first update comes half a second later. */
		r->held = false;
		set_time(r, r->held_sec, NS_PER_SEC / 2);
		TRACE(TRACE_IO, "rtc: divider chain running (reg A %#x)", v);
	}
	r->reg_a = v & ~RTC_A_UIP;
	rearm(r);
	update_irq(r);
}

static void write_reg_b(struct rtc *r, uint8_t v)
{
	uint8_t old = r->reg_b;

	catch_up(r);
	if (v & RTC_B_SET)
		v &= ~RTC_B_UIE;
	/* The snapshot is in the format the registers had until now. */
	if ((v & RTC_B_SET) && !(old & RTC_B_SET))
		snapshot_time(r);
	r->reg_b = v;
	if ((old & RTC_B_SET) && !(v & RTC_B_SET)) {
		int64_t sec = decode_time(r);

		set_time(r, sec, 0);
		TRACE(TRACE_IO, "rtc: time set to %lld", (long long)sec);
	}
	if (old != v)
		TRACE(TRACE_IO, "rtc: reg B %#x", v);
	rearm(r);
	update_irq(r);
}

/* A clock register written while SET is clear takes effect at once. */
static void write_time_now(struct rtc *r, unsigned idx, uint8_t v)
{
	int64_t sec;
	uint32_t ns;

	get_time(r, &sec, &ns);
	snapshot_time(r);
	r->cmos[idx] = v;
	set_time(r, decode_time(r), ns);
}

static uint8_t rtc_read_byte(void *dev, unsigned off)
{
	struct rtc *r = dev;

	if (off == 0)
		return 0xff;
	if (r->index == RTC_REG_C)
		return read_reg_c(r);
	return peek(r, r->index);
}

static void rtc_write_byte(void *dev, unsigned off, uint8_t v)
{
	struct rtc *r = dev;
	unsigned idx = r->index;

	if (off == 0) {
		bool nmi = v & RTC_NMI_MASK;

		if (nmi != r->nmi_masked)
			TRACE(TRACE_IO, "rtc: NMI %s", nmi ? "masked" : "unmasked");
		r->nmi_masked = nmi;
		r->index = v & RTC_INDEX_MASK;
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		write_reg_a(r, v);
		return;
	case RTC_REG_B:
		write_reg_b(r, v);
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return;    /* read-only */
	default:
		break;
	}
	if (is_alarm_reg(idx)) {
		catch_up(r);
		r->cmos[idx] = v;
		rearm(r);
	} else if (is_time_reg(idx) && !(r->reg_b & RTC_B_SET)) {
		catch_up(r);
		write_time_now(r, idx, v);
		rearm(r);
	} else {
		r->cmos[idx] = v;
	}
}

BYTEIO_DEV_OPS(rtc_ops, "rtc", rtc_read_byte, rtc_write_byte, RTC_IO_LEN);

/* ---- public ---- */

void rtc_reset(struct rtc *r)
{
	catch_up(r);
	r->reg_b &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
	r->flags = 0;
	rearm(r);
	update_irq(r);
}

int rtc_create(struct clock *clk, const struct irq_line *irq, int64_t base_epoch,
	       struct rtc **out)
{
	struct rtc *r;

	if (!clk || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->clk = clk;
	if (irq)
		r->irq = *irq;
	ktimer_init(&r->periodic_timer, clk, timer_fire, r);
	ktimer_init(&r->update_timer, clk, timer_fire, r);
	r->reg_a = RTC_A_POWER_ON;
	r->reg_b = RTC_B_POWER_ON;
	set_time(r, base_epoch, 0);
	*out = r;
	return 0;
}

void rtc_destroy(struct rtc *r)
{
	if (!r)
		return;
	ktimer_del(&r->periodic_timer);
	ktimer_del(&r->update_timer);
	free(r);
}

int rtc_attach(struct rtc *r, struct bus *pio)
{
	return bus_register(pio, PORT_CMOS, RTC_IO_LEN, &rtc_ops, r);
}

int rtc_cmos_set(struct rtc *r, unsigned index, uint8_t value)
{
	if (index >= RTC_CMOS_SIZE)
		return err_set(-EINVAL, "CMOS index %#x out of range", index);
	if (index <= RTC_REG_D || index == RTC_CENTURY)
		return err_set(-EINVAL, "CMOS index %#x is an RTC register, not RAM", index);
	r->cmos[index] = value;
	return 0;
}

int rtc_cmos_get(const struct rtc *r, unsigned index)
{
	if (index >= RTC_CMOS_SIZE)
		return -EINVAL;
	return peek(r, index);
}

void rtc_cmos_fill_memory(struct rtc *r, uint64_t ram_below_4g, uint64_t ram_above_4g)
{
	uint64_t ext = ram_below_4g > MiB ? (ram_below_4g - MiB) / KiB : 0;
	uint64_t m16 = ram_below_4g > 16 * MiB ? (ram_below_4g - 16 * MiB) / (64 * KiB) : 0;
	uint64_t m4g = ram_above_4g / (64 * KiB);

	ext = MIN(ext, 0xffff);
	m16 = MIN(m16, 0xffff);
	m4g = MIN(m4g, 0xffffff);
	r->cmos[CMOS_BASE_MEM_LO] = 640 & 0xff;
	r->cmos[CMOS_BASE_MEM_HI] = 640 >> 8;
	r->cmos[CMOS_EXT_MEM_LO] = r->cmos[CMOS_EXT_MEM2_LO] = (uint8_t)ext;
	r->cmos[CMOS_EXT_MEM_HI] = r->cmos[CMOS_EXT_MEM2_HI] = (uint8_t)(ext >> 8);
	r->cmos[CMOS_MEM_16M_LO] = (uint8_t)m16;
	r->cmos[CMOS_MEM_16M_HI] = (uint8_t)(m16 >> 8);
	r->cmos[CMOS_MEM_4G_LO] = (uint8_t)m4g;
	r->cmos[CMOS_MEM_4G_MID] = (uint8_t)(m4g >> 8);
	r->cmos[CMOS_MEM_4G_HI] = (uint8_t)(m4g >> 16);
}

bool rtc_nmi_masked(const struct rtc *r)
{
	return r->nmi_masked;
}
