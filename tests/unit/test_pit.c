/* Unit tests for devices/irqchip/pit.c: 8254 modes, latches, IRQ 0, port 0x61. */
#include "tests/unit/support.h"
#include "devices/irqchip/pit.h"

struct h {
	struct fake_clock fc;
	struct irq_rec rec;
	struct pit p;
};

static void h_init(struct h *h)
{
	struct pit_cfg cfg;

	memset(h, 0, sizeof(*h));
	fake_clock_init(&h->fc, 5000000000ULL);
	irq_rec_init(&h->rec);
	cfg = (struct pit_cfg){ .clock = &h->fc.clock, .irq0 = irq_rec_line(&h->rec, 0) };
	pit_init(&h->p, &cfg);
}

static void outb(struct h *h, unsigned port, uint8_t v)
{
	if (port == 0x61)
		dev_write(&pit_port61_ops, &h->p, 0, v, 1);
	else
		dev_write(&pit_ops, &h->p, port - 0x40, v, 1);
}

static uint8_t inb(struct h *h, unsigned port)
{
	if (port == 0x61)
		return (uint8_t)dev_read(&pit_port61_ops, &h->p, 0, 1);
	return (uint8_t)dev_read(&pit_ops, &h->p, port - 0x40, 1);
}

/* Time for @ticks input clocks, rounded up. */
static uint64_t ns(uint64_t ticks)
{
	return (ticks * 1000000000ULL + PIT_HZ - 1) / PIT_HZ;
}

static uint16_t read16(struct h *h, unsigned port)
{
	uint8_t lo = inb(h, port);

	return (uint16_t)(lo | inb(h, port) << 8);
}

START_TEST(test_mode2_periodic_irq)
{
	struct h h;
	uint64_t t0;

	h_init(&h);
	outb(&h, 0x43, 0x34);            /* ch0, LSB/MSB, mode 2 */
	outb(&h, 0x40, 1193 & 0xff);
	outb(&h, 0x40, 1193 >> 8);
	t0 = h.fc.now;
	ck_assert_uint_eq(h.rec.raises[0], 0);
	fake_clock_advance(&h.fc, ns(1193) - 1);
	ck_assert_uint_eq(h.rec.raises[0], 0);
	fake_clock_advance(&h.fc, 1);
	ck_assert_uint_eq(h.rec.raises[0], 1);
	ck_assert_int_eq(h.rec.level[0], 0);     /* a pulse: edge-triggered consumers */
	/* Ten more periods, one edge each. */
	fake_clock_advance(&h.fc, ns(11 * 1193) - ns(1193));
	ck_assert_uint_eq(h.rec.raises[0], 11);
	/* The counter counts down within the period. */
	fake_clock_advance(&h.fc, ns(100));
	ck_assert_uint_eq(read16(&h, 0x40), 1193 - 100);
	/* Only the next edge is armed. */
	ck_assert_uint_eq(fake_clock_next(&h.fc), t0 + ns(12 * 1193));
	/* Reprogramming the control word stops it. */
	outb(&h, 0x43, 0x30);
	fake_clock_advance(&h.fc, ns(10000));
	ck_assert_uint_eq(h.rec.raises[0], 11);
	ck_assert_uint_eq(fake_clock_next(&h.fc), 0);
}
END_TEST

START_TEST(test_oneshot_modes)
{
	struct h h;

	h_init(&h);
	/* Mode 0: one edge when the count reaches zero, OUT stays high. */
	outb(&h, 0x43, 0x30);
	outb(&h, 0x40, 100);
	outb(&h, 0x40, 0);
	ck_assert_int_eq(pit_get_out(&h.p, 0), 0);
	fake_clock_advance(&h.fc, ns(100) - 1);
	ck_assert_uint_eq(h.rec.raises[0], 0);
	fake_clock_advance(&h.fc, 1);
	ck_assert_uint_eq(h.rec.raises[0], 1);
	ck_assert_int_eq(pit_get_out(&h.p, 0), 1);
	fake_clock_advance(&h.fc, ns(200000));
	ck_assert_uint_eq(h.rec.raises[0], 1);
	/* The counter wraps past zero. */
	ck_assert_uint_lt(pit_get_count(&h.p, 0), 65536);
	/* Mode 4 (Linux's one-shot clockevent): the edge one clock after zero. */
	outb(&h, 0x43, 0x38);
	outb(&h, 0x40, 50);
	outb(&h, 0x40, 0);
	ck_assert_int_eq(pit_get_out(&h.p, 0), 1);
	fake_clock_advance(&h.fc, ns(50));
	ck_assert_int_eq(pit_get_out(&h.p, 0), 0);
	ck_assert_uint_eq(h.rec.raises[0], 1);
	fake_clock_advance(&h.fc, ns(51) - ns(50));
	ck_assert_uint_eq(h.rec.raises[0], 2);
	ck_assert_int_eq(pit_get_out(&h.p, 0), 1);
	/* Mode 0: writing the LSB stops the count until the MSB arrives. */
	outb(&h, 0x43, 0x30);
	outb(&h, 0x40, 10);
	fake_clock_advance(&h.fc, ns(1000));
	ck_assert_uint_eq(h.rec.raises[0], 2);
	outb(&h, 0x40, 0);
	fake_clock_advance(&h.fc, ns(10));
	ck_assert_uint_eq(h.rec.raises[0], 3);
}
END_TEST

START_TEST(test_latch_and_access_modes)
{
	struct h h;
	uint16_t a;

	h_init(&h);
	outb(&h, 0x43, 0x74);            /* ch1, LSB/MSB, mode 2 */
	outb(&h, 0x41, 0x00);
	outb(&h, 0x41, 0x10);            /* 4096 */
	fake_clock_advance(&h.fc, ns(96));
	outb(&h, 0x43, 0x40);            /* latch ch1 */
	fake_clock_advance(&h.fc, ns(1000));
	ck_assert_uint_eq(read16(&h, 0x41), 4000);   /* the latched value */
	ck_assert_uint_eq(read16(&h, 0x41), 4096 - 1096);
	/* A second latch before reading keeps the first one. */
	outb(&h, 0x43, 0x40);
	fake_clock_advance(&h.fc, ns(10));
	outb(&h, 0x43, 0x40);
	ck_assert_uint_eq(read16(&h, 0x41), 4096 - 1096);
	/* LSB-only and MSB-only access modes. */
	outb(&h, 0x43, 0x54);            /* ch1, LSB only, mode 2 */
	outb(&h, 0x41, 200);
	fake_clock_advance(&h.fc, ns(50));
	ck_assert_uint_eq(inb(&h, 0x41), 150);
	ck_assert_uint_eq(inb(&h, 0x41), 150);
	outb(&h, 0x43, 0x64);            /* ch1, MSB only, mode 2 */
	outb(&h, 0x41, 0x02);            /* 512 */
	fake_clock_advance(&h.fc, ns(256));
	ck_assert_uint_eq(inb(&h, 0x41), 0x01);
	/* Counters keep going between two byte reads: latch for a stable pair. */
	outb(&h, 0x43, 0x74);
	outb(&h, 0x41, 0xff);
	outb(&h, 0x41, 0xff);
	a = read16(&h, 0x41);
	ck_assert_uint_eq(a, 0xffff);
	/* An unprogrammed channel, the control port, ports past the PIT. */
	ck_assert_uint_eq(inb(&h, 0x43), 0xff);
	ck_assert_uint_eq(dev_read(&pit_ops, &h.p, 4, 1), 0xff);
	dev_write(&pit_ops, &h.p, 9, 0x34, 1);
	ck_assert_uint_eq(pit_get_count(&h.p, 7), 0);
	ck_assert_int_eq(pit_get_out(&h.p, 3), 0);
	pit_set_gate(&h.p, 3, true);
	ck_assert_uint_eq(h.rec.raises[0], 0);
}
END_TEST

START_TEST(test_readback_status_bcd)
{
	struct h h;

	h_init(&h);
	outb(&h, 0x43, 0xb1);            /* ch2, LSB/MSB, mode 0, BCD */
	/* Status before any count: null count set, OUT low. */
	outb(&h, 0x43, 0xe8);            /* read-back status of ch2 */
	ck_assert_uint_eq(inb(&h, 0x42), 0x40 | 0x30 | 0x00 | 0x01);
	outb(&h, 0x61, 0x01);            /* gate 2 high */
	outb(&h, 0x42, 0x00);
	outb(&h, 0x42, 0x10);            /* BCD 1000 */
	fake_clock_advance(&h.fc, ns(1));
	outb(&h, 0x43, 0xe8);
	ck_assert_uint_eq(inb(&h, 0x42), 0x31);   /* null count cleared */
	fake_clock_advance(&h.fc, ns(250) - ns(1));
	/* Read-back of count and status: status first, then the count. */
	outb(&h, 0x43, 0xc8);
	ck_assert_uint_eq(inb(&h, 0x42), 0x31);
	ck_assert_uint_eq(read16(&h, 0x42), 0x0750);   /* BCD 750 */
	fake_clock_advance(&h.fc, ns(1000) - ns(250));
	outb(&h, 0x43, 0xe8);
	ck_assert_uint_eq(inb(&h, 0x42), 0xb1);   /* OUT high at terminal count */
	/* BCD 0 means 10000. */
	outb(&h, 0x43, 0xb5);            /* mode 2, BCD */
	outb(&h, 0x42, 0);
	outb(&h, 0x42, 0);
	fake_clock_advance(&h.fc, ns(1));
	ck_assert_uint_eq(read16(&h, 0x42), 0x9999);
	/* Mode bits 6 and 7 mean 2 and 3, and read back as written. */
	outb(&h, 0x43, 0xbc);
	outb(&h, 0x43, 0xe8);
	ck_assert_uint_eq(inb(&h, 0x42) & 0x0e, 0x0c);
	ck_assert_uint_eq(h.p.ch[2].mode, 2);
}
END_TEST

START_TEST(test_port61_calibration)
{
	struct h h;
	uint8_t msb, prev;
	int i;

	h_init(&h);
	ck_assert_uint_eq(inb(&h, 0x61) & 0x21, 0);   /* gate low, OUT2 low */
	/* pit_calibrate_tsc(): gate on, speaker off, mode 0, count, wait for OUT2. */
	outb(&h, 0x61, (inb(&h, 0x61) & ~0x02) | 0x01);
	outb(&h, 0x43, 0xb0);
	outb(&h, 0x42, 11932 & 0xff);
	outb(&h, 0x42, 11932 >> 8);
	ck_assert_uint_eq(inb(&h, 0x61) & 0x20, 0);
	fake_clock_advance(&h.fc, ns(11931));
	ck_assert_uint_eq(inb(&h, 0x61) & 0x20, 0);
	fake_clock_advance(&h.fc, ns(11932) - ns(11931));
	ck_assert_uint_eq(inb(&h, 0x61) & 0x20, 0x20);
	ck_assert_uint_eq(inb(&h, 0x61) & 0x0f, 0x01);
	/* quick_pit_calibrate(): 0xffff in mode 0, the MSB goes down steadily. */
	outb(&h, 0x43, 0xb0);
	outb(&h, 0x42, 0xff);
	outb(&h, 0x42, 0xff);
	prev = 0xff;
	for (i = 0; i < 20; i++) {
		fake_clock_advance(&h.fc, ns(256));
		inb(&h, 0x42);
		msb = inb(&h, 0x42);
		ck_assert_uint_eq(msb, (uint8_t)(prev - 1));
		prev = msb;
	}
	/* Gate low suspends mode 0; high resumes where it stopped. */
	outb(&h, 0x43, 0xb0);
	outb(&h, 0x42, 0x00);
	outb(&h, 0x42, 0x10);
	fake_clock_advance(&h.fc, ns(100));
	outb(&h, 0x61, 0x00);
	fake_clock_advance(&h.fc, ns(5000));
	ck_assert_uint_eq(pit_get_count(&h.p, 2), 0x1000 - 100);
	outb(&h, 0x61, 0x01);
	fake_clock_advance(&h.fc, ns(50));
	ck_assert_uint_eq(pit_get_count(&h.p, 2), 0x1000 - 150);
	/* Refresh toggle flips every ~15 us; writes don't set the read-only bits. */
	outb(&h, 0x61, 0xf3);
	ck_assert_uint_eq(inb(&h, 0x61) & 0x0f, 0x03);
	prev = inb(&h, 0x61) & 0x10;
	fake_clock_advance(&h.fc, PIT_REFRESH_NS);
	ck_assert_uint_ne(inb(&h, 0x61) & 0x10, prev);
	fake_clock_advance(&h.fc, PIT_REFRESH_NS);
	ck_assert_uint_eq(inb(&h, 0x61) & 0x10, prev);
	ck_assert_uint_eq(dev_read(&pit_port61_ops, &h.p, 0, 2) >> 8, 0xff);
	dev_write(&pit_port61_ops, &h.p, 1, 0x00, 1);
	ck_assert_uint_eq(inb(&h, 0x61) & 0x0f, 0x03);
}
END_TEST

START_TEST(test_square_and_gate_modes)
{
	struct h h;

	h_init(&h);
	outb(&h, 0x61, 0x01);
	outb(&h, 0x43, 0xb6);            /* ch2, mode 3 */
	outb(&h, 0x42, 100);
	outb(&h, 0x42, 0);
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	fake_clock_advance(&h.fc, ns(30));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	ck_assert_uint_eq(pit_get_count(&h.p, 2), 40);   /* counts by two */
	fake_clock_advance(&h.fc, ns(60) - ns(30));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 0);
	ck_assert_uint_eq(pit_get_count(&h.p, 2) & 1, 0);
	fake_clock_advance(&h.fc, ns(100) - ns(60));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	/* An odd count: high for (N+1)/2 clocks, low for (N-1)/2. */
	outb(&h, 0x43, 0xb6);
	outb(&h, 0x42, 5);
	outb(&h, 0x42, 0);
	fake_clock_advance(&h.fc, ns(2));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	fake_clock_advance(&h.fc, ns(3) - ns(2));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 0);
	fake_clock_advance(&h.fc, ns(5) - ns(3));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	outb(&h, 0x43, 0xb6);
	outb(&h, 0x42, 100);
	outb(&h, 0x42, 0);
	fake_clock_advance(&h.fc, ns(160));
	/* Mode 3, gate low: OUT forced high and counting stops; rising edge reloads. */
	ck_assert_int_eq(pit_get_out(&h.p, 2), 0);
	outb(&h, 0x61, 0x00);
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	outb(&h, 0x61, 0x01);
	ck_assert_uint_eq(pit_get_count(&h.p, 2), 100);
	/* Mode 1: waits for a gate edge, OUT low while counting. */
	outb(&h, 0x43, 0xb2);
	outb(&h, 0x42, 10);
	outb(&h, 0x42, 0);
	fake_clock_advance(&h.fc, ns(100));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	ck_assert_uint_eq(pit_get_count(&h.p, 2), 10);
	outb(&h, 0x61, 0x00);
	outb(&h, 0x61, 0x01);
	ck_assert_int_eq(pit_get_out(&h.p, 2), 0);
	fake_clock_advance(&h.fc, ns(10));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	/* Mode 5: gate-triggered strobe. */
	outb(&h, 0x43, 0xba);
	outb(&h, 0x42, 5);
	outb(&h, 0x42, 0);
	outb(&h, 0x61, 0x00);
	outb(&h, 0x61, 0x01);
	fake_clock_advance(&h.fc, ns(5));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 0);
	fake_clock_advance(&h.fc, ns(6) - ns(5));
	ck_assert_int_eq(pit_get_out(&h.p, 2), 1);
	/* Channel 2 never raises IRQ 0. */
	ck_assert_uint_eq(h.rec.raises[0], 0);
}
END_TEST

START_TEST(test_irq_rate_limit)
{
	struct h h;

	h_init(&h);
	/* Mode 2 with a count of 2: 596 kHz of edges would swamp the loop. */
	outb(&h, 0x43, 0x34);
	outb(&h, 0x40, 2);
	outb(&h, 0x40, 0);
	fake_clock_advance(&h.fc, 10 * PIT_MIN_PERIOD_NS);
	ck_assert_uint_ge(h.rec.raises[0], 9);
	ck_assert_uint_le(h.rec.raises[0], 11);
	/* The counter itself still runs at 1.19 MHz. */
	fake_clock_advance(&h.fc, ns(1));
	ck_assert_uint_le(pit_get_count(&h.p, 0), 2);
}
END_TEST

START_TEST(test_reset_and_wide_access)
{
	struct h h;

	h_init(&h);
	outb(&h, 0x43, 0x34);
	outb(&h, 0x40, 0x10);
	outb(&h, 0x40, 0x00);
	ck_assert_uint_ne(fake_clock_next(&h.fc), 0);
	pit_reset(&h.p);
	ck_assert_uint_eq(fake_clock_next(&h.fc), 0);
	fake_clock_advance(&h.fc, 1000000000ULL);
	ck_assert_uint_eq(h.rec.raises[0], 0);
	/* A 16-bit write to 0x42/0x43 is two byte writes: count LSB, then control. */
	dev_write(&pit_ops, &h.p, 3, 0xb0, 1);
	dev_write(&pit_ops, &h.p, 2, 0x0034, 2);   /* LSB 0x34 to ch2, then 0x00 to 0x43 */
	ck_assert_uint_eq(h.p.ch[2].write_state, PIT_RW_WORD1);
	/* A 32-bit read covers ports 0x40-0x43. */
	ck_assert_uint_eq(dev_read(&pit_ops, &h.p, 0, 4) >> 24, 0xff);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_mode2_periodic_irq);
	tcase_add_test(tc, test_oneshot_modes);
	tcase_add_test(tc, test_latch_and_access_modes);
	tcase_add_test(tc, test_readback_status_bcd);
	tcase_add_test(tc, test_port61_calibration);
	tcase_add_test(tc, test_square_and_gate_modes);
	tcase_add_test(tc, test_irq_rate_limit);
	tcase_add_test(tc, test_reset_and_wide_access);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
