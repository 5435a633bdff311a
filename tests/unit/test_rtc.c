/* Unit tests for devices/legacy/rtc.c: MC146818 RTC and CMOS RAM. */
#include <errno.h>

#include "devices/legacy/rtc.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

#define NS  1000000000ULL
#define MS  1000000ULL
#define US  1000ULL

/* 2024-02-29 23:59:58 UTC, a Thursday (weekday register 5) */
#define LEAP_EVE 1709251198LL
/* 1999-12-31 23:59:59 UTC, a Friday */
#define Y2K_EVE 946684799LL
/* An odd clock start, so that RTC seconds and clock seconds are not aligned. */
#define CLOCK_START (7 * NS + 123457)

struct fixture {
	struct fake_clock clk;
	struct irq_rec irq;
	struct bus bus;
	struct rtc *r;
	const struct bus_range *range;
};

static struct fixture f;

static void make_rtc(int64_t epoch)
{
	fake_clock_init(&f.clk, CLOCK_START);
	irq_rec_init(&f.irq);
	bus_init(&f.bus, "pio");
	ck_assert_int_eq(rtc_create(&f.clk.clock, irq_rec_line(&f.irq, GSI_RTC), epoch, &f.r), 0);
	ck_assert_int_eq(rtc_attach(f.r, &f.bus), 0);
	f.range = bus_find(&f.bus, PORT_CMOS);
	ck_assert_ptr_nonnull(f.range);
	ck_assert_ptr_eq(bus_find(&f.bus, PORT_CMOS + 1), f.range);
}

static void setup(void)
{
	make_rtc(LEAP_EVE);
}

static void teardown(void)
{
	bus_free(&f.bus);
	rtc_destroy(f.r);
}

static uint8_t cmos_rd(unsigned idx)
{
	dev_write(f.range->ops, f.range->dev, 0, idx, 1);
	return (uint8_t)dev_read(f.range->ops, f.range->dev, 1, 1);
}

static void cmos_wr(unsigned idx, uint8_t v)
{
	dev_write(f.range->ops, f.range->dev, 0, idx, 1);
	dev_write(f.range->ops, f.range->dev, 1, v, 1);
}

static void advance(uint64_t ns)
{
	fake_clock_advance(&f.clk, ns);
}

static int level(void)
{
	return f.irq.level[GSI_RTC];
}

static unsigned raises(void)
{
	return f.irq.raises[GSI_RTC];
}

/* Nanoseconds until the RTC's next second boundary (it started on one). */
static uint64_t to_next_second(void)
{
	return NS - (f.clk.now - CLOCK_START) % NS;
}

/* Poll (as a guest would) until UIP reads 1; fails if it never does. */
static void seek_uip(void)
{
	unsigned i;

	for (i = 0; i < 200000; i++) {
		if (cmos_rd(RTC_REG_A) & RTC_A_UIP)
			return;
		advance(10 * US);
	}
	ck_abort_msg("UIP never set");
}

static void expect_time(uint8_t h, uint8_t m, uint8_t s, uint8_t wd, uint8_t d, uint8_t mo,
			uint8_t y, uint8_t c)
{
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), h);
	ck_assert_uint_eq(cmos_rd(RTC_MINUTES), m);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), s);
	ck_assert_uint_eq(cmos_rd(RTC_DAY_OF_WEEK), wd);
	ck_assert_uint_eq(cmos_rd(RTC_DAY_OF_MONTH), d);
	ck_assert_uint_eq(cmos_rd(RTC_MONTH), mo);
	ck_assert_uint_eq(cmos_rd(RTC_YEAR), y);
	ck_assert_uint_eq(cmos_rd(RTC_CENTURY), c);
}

START_TEST(test_power_on_bcd_24h)
{
	expect_time(0x23, 0x59, 0x58, 0x05, 0x29, 0x02, 0x24, 0x20);
	ck_assert_uint_eq(cmos_rd(RTC_REG_A), RTC_A_POWER_ON);
	ck_assert_uint_eq(cmos_rd(RTC_REG_B), RTC_B_24H);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), 0);
	ck_assert_uint_eq(cmos_rd(RTC_REG_D), RTC_D_VRT);
	ck_assert_int_eq(level(), 0);
	/* no interrupt source enabled: no timers at all */
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
}
END_TEST

START_TEST(test_time_runs_over_leap_day_and_century)
{
	advance(999 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x58);
	advance(2 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x59);
	advance(NS);
	expect_time(0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20);
	teardown();
	make_rtc(Y2K_EVE);
	expect_time(0x23, 0x59, 0x59, 0x06, 0x31, 0x12, 0x99, 0x19);
	advance(NS);
	expect_time(0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20);
}
END_TEST

START_TEST(test_binary_and_12h_modes)
{
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	expect_time(23, 59, 58, 5, 29, 2, 24, 20);
	/* 12h binary: 23:59 is 11 PM */
	cmos_wr(RTC_REG_B, RTC_B_DM_BINARY);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x80 | 11);
	/* 12h BCD */
	cmos_wr(RTC_REG_B, 0);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x91);
	/* midnight is 12 AM */
	advance(2 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x12);
	/* noon is 12 PM, 1 PM is 0x81 */
	advance(12 * 3600 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x92);
	advance(3600 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x81);
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x13);
}
END_TEST

START_TEST(test_set_changes_offset_only)
{
	uint64_t clock_before;

	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_SET | RTC_B_UIE);
	/* SET clears UIE */
	ck_assert_uint_eq(cmos_rd(RTC_REG_B), RTC_B_24H | RTC_B_SET);
	/* 2030-06-15 12:34:56, a Saturday */
	cmos_wr(RTC_SECONDS, 0x56);
	cmos_wr(RTC_MINUTES, 0x34);
	cmos_wr(RTC_HOURS, 0x12);
	cmos_wr(RTC_DAY_OF_WEEK, 0x07);
	cmos_wr(RTC_DAY_OF_MONTH, 0x15);
	cmos_wr(RTC_MONTH, 0x06);
	cmos_wr(RTC_YEAR, 0x30);
	/* frozen while SET */
	advance(5 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x56);
	ck_assert_uint_eq(cmos_rd(RTC_REG_A) & RTC_A_UIP, 0);
	clock_before = f.clk.now;
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_uint_eq(f.clk.now, clock_before);
	/* runs from the written time, starting a fresh second */
	expect_time(0x12, 0x34, 0x56, 0x07, 0x15, 0x06, 0x30, 0x20);
	advance(999 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x56);
	advance(1 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x57);
	/* century written under SET */
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_wr(RTC_CENTURY, 0x21);
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_uint_eq(cmos_rd(RTC_CENTURY), 0x21);
	ck_assert_uint_eq(cmos_rd(RTC_YEAR), 0x30);
	ck_assert_uint_eq(cmos_rd(RTC_MONTH), 0x06);
}
END_TEST

START_TEST(test_write_through_without_set)
{
	advance(400 * MS);
	cmos_wr(RTC_MINUTES, 0x10);
	ck_assert_uint_eq(cmos_rd(RTC_MINUTES), 0x10);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x23);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x58);
	/* the fraction of the second is preserved: 600 ms to the next update */
	advance(599 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x58);
	advance(2 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x59);
	/* a 12h-mode write with the PM bit */
	cmos_wr(RTC_REG_B, 0);
	cmos_wr(RTC_HOURS, 0x81);
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x13);
	cmos_wr(RTC_REG_B, 0);
	cmos_wr(RTC_HOURS, 0x12);            /* 12 AM */
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x00);
}
END_TEST

START_TEST(test_garbage_time_is_defined)
{
	/* month 13 and BCD digits over 9 are normalised, not crashed on */
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_wr(RTC_MONTH, 0x13);
	cmos_wr(RTC_DAY_OF_MONTH, 0x01);
	cmos_wr(RTC_SECONDS, 0x5f);          /* "5f" = 65 s */
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_uint_eq(cmos_rd(RTC_MONTH), 0x01);
	ck_assert_uint_eq(cmos_rd(RTC_YEAR), 0x25);
	ck_assert_uint_eq(cmos_rd(RTC_MINUTES), 0x00);   /* 23:59:65 -> 00:00:05 */
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x05);
	ck_assert_uint_eq(cmos_rd(RTC_DAY_OF_MONTH), 0x02);
	/* all-ones everywhere still gives some valid date */
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_SET | RTC_B_DM_BINARY);
	cmos_wr(RTC_YEAR, 0xff);
	cmos_wr(RTC_CENTURY, 0xff);
	cmos_wr(RTC_MONTH, 0xff);
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	advance(NS);
	ck_assert_uint_le(cmos_rd(RTC_MONTH), 12);
	ck_assert_uint_ge(cmos_rd(RTC_MONTH), 1);
}
END_TEST

START_TEST(test_weekday_is_its_own_counter)
{
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_wr(RTC_DAY_OF_WEEK, 0x01);      /* not Thursday, but the guest says so */
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_uint_eq(cmos_rd(RTC_DAY_OF_WEEK), 0x01);
	advance(2 * NS);                       /* midnight */
	ck_assert_uint_eq(cmos_rd(RTC_DAY_OF_WEEK), 0x02);
	advance(6 * 86400 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_DAY_OF_WEEK), 0x01);
	/* an invalid weekday is not taken */
	cmos_wr(RTC_DAY_OF_WEEK, 0x09);
	ck_assert_uint_eq(cmos_rd(RTC_DAY_OF_WEEK), 0x01);
}
END_TEST

START_TEST(test_uip_window)
{
	uint64_t edge = to_next_second();
	unsigned i, set = 0, polls = 0;

	advance(edge - 300 * US);
	ck_assert_uint_eq(cmos_rd(RTC_REG_A) & RTC_A_UIP, 0);
	advance(100 * US);
	ck_assert_uint_eq(cmos_rd(RTC_REG_A), RTC_A_UIP | RTC_A_POWER_ON);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x58);   /* old second until the update */
	/* an OVMF/Linux style wait loop terminates */
	while (cmos_rd(RTC_REG_A) & RTC_A_UIP) {
		advance(10 * US);
		ck_assert_uint_lt(++polls, 100);
	}
	ck_assert_uint_ge(polls, 19);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x59);
	/* over a second, UIP is set for ~244 us and never otherwise */
	for (i = 0; i < 100000; i++) {
		advance(10 * US);
		set += !!(cmos_rd(RTC_REG_A) & RTC_A_UIP);
	}
	ck_assert_uint_ge(set, 24);
	ck_assert_uint_le(set, 25);
	/* never under SET or with the divider held */
	seek_uip();
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	ck_assert_uint_eq(cmos_rd(RTC_REG_A) & RTC_A_UIP, 0);
	cmos_wr(RTC_REG_B, RTC_B_24H);
	seek_uip();
	cmos_wr(RTC_REG_A, 0x66);
	ck_assert_uint_eq(cmos_rd(RTC_REG_A), 0x66);
	/* UIP is read-only */
	cmos_wr(RTC_REG_A, 0x80 | RTC_A_POWER_ON);
	advance(100 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_REG_A), RTC_A_POWER_ON);
}
END_TEST

START_TEST(test_update_interrupt_and_reg_c)
{
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	ck_assert_uint_eq(fake_clock_next(&f.clk), f.clk.now + to_next_second());
	advance(to_next_second() - 1);
	ck_assert_int_eq(level(), 0);
	advance(1);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x59);
	/* reading C returns and clears the flags and lowers the line; PF latches
	 * at the periodic rate even without PIE */
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), RTC_C_IRQF | RTC_C_PF | RTC_C_UF);
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), 0);
	advance(NS);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(raises(), 2);
	/* unread, the line stays up; a read releases it */
	advance(3 * NS);
	ck_assert_uint_eq(raises(), 2);
	/* the alarm bytes are all 0 (00:00:00), and midnight has just passed */
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), RTC_C_IRQF | RTC_C_PF | RTC_C_AF | RTC_C_UF);
	/* writes to C and D are ignored */
	cmos_wr(RTC_REG_C, 0xff);
	cmos_wr(RTC_REG_D, 0x00);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), 0);
	ck_assert_uint_eq(cmos_rd(RTC_REG_D), RTC_D_VRT);
	/* disabling UIE stops the timer */
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	/* UF still latches for pollers, without IRQF */
	advance(NS);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), RTC_C_PF | RTC_C_UF);
	/* no periodic rate, no PF */
	cmos_wr(RTC_REG_A, RTC_A_DV_32KHZ);
	advance(NS);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), RTC_C_UF);
	ck_assert_int_eq(level(), 0);
}
END_TEST

/* Interrupts in one second with rate @rs, acknowledging each one. */
static unsigned count_periodic(uint8_t rs, uint64_t step)
{
	unsigned n = 0;
	uint64_t t;

	cmos_wr(RTC_REG_A, RTC_A_DV_32KHZ | rs);
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	cmos_rd(RTC_REG_C);
	for (t = 0; t < NS; t += step) {
		advance(step);
		if (level()) {
			ck_assert_uint_eq(cmos_rd(RTC_REG_C) & (RTC_C_IRQF | RTC_C_PF),
					  RTC_C_IRQF | RTC_C_PF);
			n++;
		}
	}
	return n;
}

START_TEST(test_periodic_rates)
{
	uint64_t first;

	/* 1024 Hz: the first edge within 976.5625 us */
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	first = fake_clock_next(&f.clk) - f.clk.now;
	ck_assert_uint_gt(first, 0);
	ck_assert_uint_le(first, 976563);
	advance(first);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
	ck_assert_uint_eq(count_periodic(0x6, 100 * US), 1024);
	ck_assert_uint_eq(count_periodic(0xf, 10 * MS), 2);
	ck_assert_uint_eq(count_periodic(0x1, 500 * US), 256);   /* rate 1 = 256 Hz */
	ck_assert_uint_eq(count_periodic(0x2, 500 * US), 128);
	ck_assert_uint_eq(count_periodic(0x3, 50 * US), 8192);
	/* rate 0: no periodic interrupt even with PIE */
	ck_assert_uint_eq(count_periodic(0x0, 10 * MS), 0);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
}
END_TEST

START_TEST(test_flags_latch_while_disabled)
{
	cmos_wr(RTC_SECONDS_ALARM, 0xff);
	cmos_wr(RTC_MINUTES_ALARM, 0xff);
	cmos_wr(RTC_HOURS_ALARM, 0xff);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	advance(1100 * MS);
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), RTC_C_PF | RTC_C_AF | RTC_C_UF);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), 0);
	/* enabling a source whose flag is already set raises IRQ at once */
	advance(NS);
	ck_assert_int_eq(level(), 0);
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(cmos_rd(RTC_REG_B), RTC_B_24H | RTC_B_UIE);
	/* and disabling it drops IRQF again */
	cmos_wr(RTC_REG_B, RTC_B_24H);
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C) & RTC_C_IRQF, 0);
}
END_TEST

START_TEST(test_alarm)
{
	/* 00:00:05 on the next day: 7 s after 23:59:58 */
	cmos_wr(RTC_SECONDS_ALARM, 0x05);
	cmos_wr(RTC_MINUTES_ALARM, 0x00);
	cmos_wr(RTC_HOURS_ALARM, 0x00);
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	/* AIE alone arms one timer, at the alarm itself */
	ck_assert_uint_eq(fake_clock_next(&f.clk), f.clk.now + 7 * NS);
	advance(7 * NS - 1);
	ck_assert_int_eq(level(), 0);
	advance(1);
	ck_assert_int_eq(level(), 1);
	/* UF latched too (updates ran), but only AF is enabled */
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), RTC_C_IRQF | RTC_C_PF | RTC_C_AF | RTC_C_UF);
	ck_assert_int_eq(level(), 0);
	/* next one is a day later */
	ck_assert_uint_eq(fake_clock_next(&f.clk), f.clk.now + 86400 * NS);
	/* seconds = 30, minutes and hours don't care: once a minute */
	cmos_wr(RTC_SECONDS_ALARM, 0x30);
	cmos_wr(RTC_MINUTES_ALARM, 0xc0);
	cmos_wr(RTC_HOURS_ALARM, 0xff);
	advance(25 * NS);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x30);
	cmos_rd(RTC_REG_C);
	advance(59 * NS);
	ck_assert_int_eq(level(), 0);
	advance(NS);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(raises(), 3);
	cmos_rd(RTC_REG_C);
	/* all don't care: every second */
	cmos_wr(RTC_SECONDS_ALARM, 0xc0);
	advance(NS);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(raises(), 4);
	cmos_rd(RTC_REG_C);
	/* an impossible alarm (BCD 60 s) never fires and arms nothing */
	cmos_wr(RTC_SECONDS_ALARM, 0x60);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	advance(3 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C) & RTC_C_AF, 0);
	/* in 12h mode the alarm hour is compared in 12h form (1 PM = 0x81) */
	cmos_wr(RTC_REG_B, RTC_B_AIE);
	cmos_wr(RTC_SECONDS_ALARM, 0x00);
	cmos_wr(RTC_MINUTES_ALARM, 0x00);
	cmos_wr(RTC_HOURS_ALARM, 0x81);
	cmos_wr(RTC_HOURS, 0x92);               /* 12 PM: the alarm is an hour away */
	cmos_wr(RTC_MINUTES, 0x59);
	cmos_wr(RTC_SECONDS, 0x59);
	cmos_rd(RTC_REG_C);
	advance(to_next_second());
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(cmos_rd(RTC_HOURS), 0x81);
}
END_TEST

START_TEST(test_alarm_lazy_over_long_gaps)
{
	/* no AIE: AF is computed when C is read, over any gap */
	cmos_wr(RTC_SECONDS_ALARM, 0x00);
	cmos_wr(RTC_MINUTES_ALARM, 0x30);
	cmos_wr(RTC_HOURS_ALARM, 0x05);
	advance(3 * 3600 * NS);                    /* 02:59:58: not yet */
	ck_assert_uint_eq(cmos_rd(RTC_REG_C) & RTC_C_AF, 0);
	advance(3 * 3600 * NS);                    /* 05:59:58: passed 05:30:00 */
	ck_assert_uint_eq(cmos_rd(RTC_REG_C) & RTC_C_AF, RTC_C_AF);
	advance(10 * 86400 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C) & RTC_C_AF, RTC_C_AF);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), 0);
}
END_TEST

START_TEST(test_set_stops_updates)
{
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_SET | RTC_B_AIE);
	cmos_wr(RTC_SECONDS_ALARM, 0xff);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	advance(3 * NS);
	/* periodic edges continue (the divider runs), updates do not */
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), RTC_C_PF);
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x58);
	ck_assert_int_eq(level(), 0);
}
END_TEST

START_TEST(test_divider_hold)
{
	advance(300 * MS);
	cmos_rd(RTC_REG_C);
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE | RTC_B_UIE);
	ck_assert_int_eq(level(), 0);
	cmos_wr(RTC_REG_A, 0x66);                  /* divider reset */
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	advance(5 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x58);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), 0);
	/* a time written while held is kept */
	cmos_wr(RTC_MINUTES, 0x00);
	advance(NS);
	ck_assert_uint_eq(cmos_rd(RTC_MINUTES), 0x00);
	/* released: the first update half a second later */
	cmos_wr(RTC_REG_A, RTC_A_POWER_ON);
	advance(499 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x58);
	ck_assert_int_eq(level(), 1);              /* periodic edges are back */
	cmos_rd(RTC_REG_C);
	advance(1 * MS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x59);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C) & RTC_C_UF, RTC_C_UF);
	/* DV = 011 (a test mode) also stops the clock */
	cmos_wr(RTC_REG_A, 0x36);
	advance(2 * NS);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 0x59);
}
END_TEST

START_TEST(test_index_port_and_nmi)
{
	struct io_ctx ctx = { .cpu = 0 };
	uint16_t w;
	uint8_t b;

	ck_assert(!rtc_nmi_masked(f.r));
	cmos_wr(0x80 | RTC_REG_D, 0);
	ck_assert(rtc_nmi_masked(f.r));
	ck_assert_uint_eq(dev_read(f.range->ops, f.range->dev, 1, 1), RTC_D_VRT);
	/* the index port reads 0xff */
	ck_assert_uint_eq(dev_read(f.range->ops, f.range->dev, 0, 1), 0xff);
	/* bit 7 does not reach the index */
	cmos_wr(0x80 | 0x40, 0x5a);
	ck_assert(rtc_nmi_masked(f.r));
	ck_assert_uint_eq(cmos_rd(0x40), 0x5a);
	ck_assert(!rtc_nmi_masked(f.r));
	/* outw 0x70: index in the low byte, data in the high byte */
	w = 0xa541;
	ck_assert_int_eq(bus_write(&f.bus, &ctx, PORT_CMOS, &w, 2), 0);
	ck_assert_uint_eq(cmos_rd(0x41), 0xa5);
	/* inw 0x70: 0xff then the data at the current index */
	ck_assert_uint_eq(dev_read(f.range->ops, f.range->dev, 0, 2), 0xa5ff);
	/* out-of-range offsets */
	ck_assert_uint_eq(dev_read(f.range->ops, f.range->dev, 2, 1), 0xff);
	ck_assert_uint_eq(dev_read(f.range->ops, f.range->dev, ~0ULL, 4), 0xffffffff);
	dev_write(f.range->ops, f.range->dev, 2, 0x00, 1);
	dev_write(f.range->ops, f.range->dev, ~0ULL, 0x0000, 2);
	ck_assert_uint_eq(cmos_rd(0x41), 0xa5);
	ck_assert_int_eq(bus_read(&f.bus, &ctx, PORT_CMOS + 1, &b, 1), 0);
	ck_assert_uint_eq(b, 0xa5);
}
END_TEST

START_TEST(test_cmos_ram_and_accessors)
{
	unsigned i;

	for (i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			cmos_wr(i, (uint8_t)(i ^ 0xa5));
	for (i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			ck_assert_uint_eq(cmos_rd(i), (uint8_t)(i ^ 0xa5));
	ck_assert_int_eq(rtc_cmos_get(f.r, 0x40), 0x40 ^ 0xa5);
	ck_assert_int_eq(rtc_cmos_set(f.r, CMOS_SHUTDOWN_STATUS, 0), 0);
	ck_assert_uint_eq(cmos_rd(CMOS_SHUTDOWN_STATUS), 0);
	ck_assert_int_eq(rtc_cmos_set(f.r, CMOS_CPU_COUNT, 3), 0);
	ck_assert_uint_eq(cmos_rd(CMOS_CPU_COUNT), 3);
	/* clock registers and bad indices are refused */
	ck_assert_int_eq(rtc_cmos_set(f.r, RTC_SECONDS, 0), -EINVAL);
	ck_assert_int_eq(rtc_cmos_set(f.r, RTC_REG_B, 0), -EINVAL);
	ck_assert_int_eq(rtc_cmos_set(f.r, RTC_CENTURY, 0), -EINVAL);
	ck_assert_int_eq(rtc_cmos_set(f.r, 128, 0), -EINVAL);
	ck_assert_int_eq(rtc_cmos_get(f.r, 128), -EINVAL);
	ck_assert_int_eq(rtc_cmos_get(f.r, ~0u), -EINVAL);
	ck_assert_int_eq(rtc_cmos_get(f.r, RTC_SECONDS), 0x58);
	ck_assert_int_eq(rtc_cmos_get(f.r, RTC_CENTURY), 0x20);
	/* get does not clear reg C */
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	advance(to_next_second());
	ck_assert_int_eq(rtc_cmos_get(f.r, RTC_REG_C), RTC_C_IRQF | RTC_C_PF | RTC_C_UF);
	ck_assert_int_eq(rtc_cmos_get(f.r, RTC_REG_C), RTC_C_IRQF | RTC_C_PF | RTC_C_UF);
	ck_assert_int_eq(level(), 1);
}
END_TEST

START_TEST(test_fill_memory)
{
	/* 2 GiB below 4G, 1 GiB above */
	rtc_cmos_fill_memory(f.r, 2 * GiB, 1 * GiB);
	ck_assert_uint_eq(cmos_rd(CMOS_BASE_MEM_LO) | cmos_rd(CMOS_BASE_MEM_HI) << 8, 640);
	ck_assert_uint_eq(cmos_rd(CMOS_EXT_MEM_LO) | cmos_rd(CMOS_EXT_MEM_HI) << 8, 0xffff);
	ck_assert_uint_eq(cmos_rd(CMOS_EXT_MEM2_LO) | cmos_rd(CMOS_EXT_MEM2_HI) << 8, 0xffff);
	/* OVMF: ((0x35 << 8 | 0x34) << 16) + 16 MiB must be the low RAM top */
	ck_assert_uint_eq(((uint64_t)(cmos_rd(CMOS_MEM_16M_HI) << 8 | cmos_rd(CMOS_MEM_16M_LO))
			   << 16) + 16 * MiB, 2 * GiB);
	ck_assert_uint_eq(cmos_rd(CMOS_MEM_4G_LO) | cmos_rd(CMOS_MEM_4G_MID) << 8 |
			  cmos_rd(CMOS_MEM_4G_HI) << 16, GiB / (64 * KiB));
	/* q35 maximum low RAM */
	rtc_cmos_fill_memory(f.r, MM_Q35_LOWMEM_MAX, 0);
	ck_assert_uint_eq(((uint64_t)(cmos_rd(CMOS_MEM_16M_HI) << 8 | cmos_rd(CMOS_MEM_16M_LO))
			   << 16) + 16 * MiB, MM_Q35_LOWMEM_MAX);
	ck_assert_uint_eq(cmos_rd(CMOS_MEM_4G_LO) | cmos_rd(CMOS_MEM_4G_MID), 0);
	/* tiny guest: 8 MiB */
	rtc_cmos_fill_memory(f.r, 8 * MiB, 0);
	ck_assert_uint_eq(cmos_rd(CMOS_EXT_MEM_LO) | cmos_rd(CMOS_EXT_MEM_HI) << 8, 7 * 1024);
	ck_assert_uint_eq(cmos_rd(CMOS_MEM_16M_LO) | cmos_rd(CMOS_MEM_16M_HI), 0);
	/* absurd sizes saturate */
	rtc_cmos_fill_memory(f.r, 0, ~0ULL);
	ck_assert_uint_eq(cmos_rd(CMOS_MEM_4G_LO) & cmos_rd(CMOS_MEM_4G_MID) &
			  cmos_rd(CMOS_MEM_4G_HI), 0xff);
	ck_assert_uint_eq(cmos_rd(CMOS_EXT_MEM_LO) | cmos_rd(CMOS_EXT_MEM_HI), 0);
}
END_TEST

START_TEST(test_reset_pin)
{
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY | RTC_B_PIE | RTC_B_AIE | RTC_B_UIE |
			   RTC_B_SQWE | RTC_B_DSE);
	advance(NS);
	ck_assert_int_eq(level(), 1);
	rtc_reset(f.r);
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(cmos_rd(RTC_REG_B), RTC_B_24H | RTC_B_DM_BINARY | RTC_B_DSE);
	ck_assert_uint_eq(cmos_rd(RTC_REG_C), 0);
	ck_assert_uint_eq(cmos_rd(RTC_REG_A), RTC_A_POWER_ON);
	ck_assert_uint_eq(cmos_rd(RTC_SECONDS), 59);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
}
END_TEST

START_TEST(test_create_destroy)
{
	struct rtc *r2 = NULL;

	ck_assert_int_eq(rtc_create(NULL, NULL, 0, &r2), -EINVAL);
	ck_assert_ptr_null(r2);
	ck_assert_int_eq(rtc_create(&f.clk.clock, NULL, 0, NULL), -EINVAL);
	/* epoch 0, no IRQ line; destroy cancels armed timers */
	ck_assert_int_eq(rtc_create(&f.clk.clock, NULL, 0, &r2), 0);
	ck_assert_int_eq(rtc_cmos_get(r2, RTC_YEAR), 0x70);
	ck_assert_int_eq(rtc_cmos_get(r2, RTC_CENTURY), 0x19);
	ck_assert_int_eq(rtc_attach(r2, &f.bus), -EEXIST);
	rtc_destroy(r2);
	rtc_destroy(NULL);
	cmos_wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_PIE);
	ck_assert_uint_ne(fake_clock_next(&f.clk), 0);
	bus_free(&f.bus);
	rtc_destroy(f.r);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	advance(3 * NS);
	make_rtc(LEAP_EVE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rtc");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_power_on_bcd_24h);
	tcase_add_test(tc, test_time_runs_over_leap_day_and_century);
	tcase_add_test(tc, test_binary_and_12h_modes);
	tcase_add_test(tc, test_set_changes_offset_only);
	tcase_add_test(tc, test_write_through_without_set);
	tcase_add_test(tc, test_garbage_time_is_defined);
	tcase_add_test(tc, test_weekday_is_its_own_counter);
	tcase_add_test(tc, test_uip_window);
	tcase_add_test(tc, test_update_interrupt_and_reg_c);
	tcase_add_test(tc, test_periodic_rates);
	tcase_add_test(tc, test_flags_latch_while_disabled);
	tcase_add_test(tc, test_alarm);
	tcase_add_test(tc, test_alarm_lazy_over_long_gaps);
	tcase_add_test(tc, test_set_stops_updates);
	tcase_add_test(tc, test_divider_hold);
	tcase_add_test(tc, test_index_port_and_nmi);
	tcase_add_test(tc, test_cmos_ram_and_accessors);
	tcase_add_test(tc, test_fill_memory);
	tcase_add_test(tc, test_reset_pin);
	tcase_add_test(tc, test_create_destroy);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
