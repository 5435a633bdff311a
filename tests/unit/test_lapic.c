/* Unit tests for devices/irqchip/lapic.c: registers, priorities, timer, IPIs. */
#include "tests/unit/support.h"
#include "devices/irqchip/lapic.h"

struct h {
	struct fake_clock fc;
	struct lapic l;
	struct apic_msg sent[16];
	unsigned nsent;
	uint8_t eoi[16];
	unsigned neoi;
	unsigned notifies;
};

static void h_send(void *opaque, const struct apic_msg *m)
{
	struct h *h = opaque;

	if (h->nsent < ARRAY_SIZE(h->sent))
		h->sent[h->nsent] = *m;
	h->nsent++;
}

static void h_eoi(void *opaque, uint8_t v)
{
	struct h *h = opaque;

	if (h->neoi < ARRAY_SIZE(h->eoi))
		h->eoi[h->neoi] = v;
	h->neoi++;
}

static void h_notify(void *opaque, int cpu)
{
	((struct h *)opaque)->notifies++;
}

static void h_init(struct h *h, bool bsp, uint8_t id)
{
	struct lapic_cfg cfg;

	memset(h, 0, sizeof(*h));
	fake_clock_init(&h->fc, 1000000);
	cfg = (struct lapic_cfg){
		.cpu = id, .apic_id = id, .bsp = bsp, .clock = &h->fc.clock,
		.cb = { .send = h_send, .eoi = h_eoi, .notify = h_notify, .opaque = h },
	};
	lapic_init(&h->l, &cfg);
}

static uint32_t rd(struct h *h, unsigned off)
{
	return (uint32_t)dev_read(&lapic_ops, &h->l, off, 4);
}

static void wr(struct h *h, unsigned off, uint32_t v)
{
	dev_write(&lapic_ops, &h->l, off, v, 4);
}

static void enable(struct h *h)
{
	wr(h, LAPIC_SVR, 0x1ff);
}

static struct apic_msg fixed(uint8_t vec, bool level)
{
	return (struct apic_msg){ .vector = vec, .delivery = APIC_DM_FIXED, .level = true,
				  .trig_level = level, .src = -1 };
}

static bool irr_bit(struct h *h, unsigned v)
{
	return rd(h, LAPIC_IRR + (v / 32) * 16) & (1u << (v % 32));
}

static bool isr_bit(struct h *h, unsigned v)
{
	return rd(h, LAPIC_ISR + (v / 32) * 16) & (1u << (v % 32));
}

START_TEST(test_reset_values)
{
	struct h h;
	unsigned i;

	h_init(&h, true, 3);
	ck_assert_uint_eq(rd(&h, LAPIC_ID), 3u << 24);
	ck_assert_uint_eq(rd(&h, LAPIC_VER), 0x00050014);
	ck_assert_uint_eq(rd(&h, LAPIC_TPR), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_LDR), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_DFR), 0xffffffff);
	ck_assert_uint_eq(rd(&h, LAPIC_SVR), 0xff);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_TIMER), 0x10000);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_LINT0), 0x700);   /* BSP: virtual wire */
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_LINT1), 0x10000);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_ERROR), 0x10000);
	for (i = 0; i < 8; i++) {
		ck_assert_uint_eq(rd(&h, LAPIC_IRR + i * 16), 0);
		ck_assert_uint_eq(rd(&h, LAPIC_ISR + i * 16), 0);
		ck_assert_uint_eq(rd(&h, LAPIC_TMR + i * 16), 0);
	}
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_ICR), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 0);
	ck_assert_uint_eq(h.l.apic_base, 0xfee00900ULL);
	ck_assert(!lapic_wait_sipi(&h.l));
	h_init(&h, false, 1);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_LINT0), 0x10000);
	ck_assert_uint_eq(h.l.apic_base, 0xfee00800ULL);
	ck_assert(lapic_wait_sipi(&h.l));
}
END_TEST

START_TEST(test_accept_ack_eoi)
{
	struct h h;
	struct apic_msg m = fixed(0x40, false);

	h_init(&h, true, 0);
	/* Software-disabled: fixed interrupts are not accepted. */
	ck_assert(!lapic_accept(&h.l, &m));
	ck_assert_int_eq(lapic_has_interrupt(&h.l), -1);
	enable(&h);
	ck_assert(lapic_accept(&h.l, &m));
	ck_assert(irr_bit(&h, 0x40));
	ck_assert_uint_ge(h.notifies, 1);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), 0x40);
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), 0x40);
	ck_assert(!irr_bit(&h, 0x40));
	ck_assert(isr_bit(&h, 0x40));
	ck_assert_uint_eq(rd(&h, LAPIC_PPR), 0x40);
	/* Nothing else deliverable: INTA gets the spurious vector. */
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), 0xff);
	wr(&h, LAPIC_EOI, 0);
	ck_assert(!isr_bit(&h, 0x40));
	ck_assert_uint_eq(rd(&h, LAPIC_PPR), 0);
	ck_assert_uint_eq(h.neoi, 0);     /* edge: no EOI broadcast */
	/* EOI with nothing in service is harmless. */
	wr(&h, LAPIC_EOI, 0);
	ck_assert_uint_eq(h.neoi, 0);
}
END_TEST

START_TEST(test_priorities)
{
	struct h h;
	struct apic_msg a = fixed(0x51, false), b = fixed(0x35, false), c = fixed(0x5f, false);

	h_init(&h, true, 0);
	enable(&h);
	lapic_accept(&h.l, &b);
	lapic_accept(&h.l, &a);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), 0x51);    /* highest first */
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), 0x51);
	/* 0x35 is a lower class than the one in service. */
	ck_assert_int_eq(lapic_has_interrupt(&h.l), -1);
	/* Same class as in service: blocked too. */
	lapic_accept(&h.l, &c);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), -1);
	ck_assert_uint_eq(rd(&h, LAPIC_PPR), 0x50);
	ck_assert_uint_eq(rd(&h, LAPIC_APR), 0x50);
	wr(&h, LAPIC_EOI, 0);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), 0x5f);
	/* TPR class 5 masks class 5 and below; TPR[3:0] kept, PPR = TPR. */
	wr(&h, LAPIC_TPR, 0x5a);
	ck_assert_uint_eq(rd(&h, LAPIC_TPR), 0x5a);
	ck_assert_uint_eq(rd(&h, LAPIC_PPR), 0x5a);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), -1);
	wr(&h, LAPIC_TPR, 0x4f);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), 0x5f);
	/* APR: TPR when it beats the pending class, else the highest class. */
	ck_assert_uint_eq(rd(&h, LAPIC_APR), 0x50);
	wr(&h, LAPIC_TPR, 0x67);
	ck_assert_uint_eq(rd(&h, LAPIC_APR), 0x67);
	ck_assert_uint_eq(lapic_get_cr8(&h.l), 6);
	lapic_set_tpr_from_cr8(&h.l, 2);
	ck_assert_uint_eq(rd(&h, LAPIC_TPR), 0x20);
	lapic_set_tpr_from_cr8(&h.l, 0xff);       /* only 4 bits exist */
	ck_assert_uint_eq(rd(&h, LAPIC_TPR), 0xf0);
}
END_TEST

START_TEST(test_level_eoi_broadcast)
{
	struct h h;
	struct apic_msg m = fixed(0x61, true), e = fixed(0x70, false), d = fixed(0x62, true);

	h_init(&h, true, 0);
	enable(&h);
	lapic_accept(&h.l, &m);
	ck_assert(rd(&h, LAPIC_TMR + 0x30) & (1u << 1));
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), 0x61);
	wr(&h, LAPIC_EOI, 0);
	ck_assert_uint_eq(h.neoi, 1);
	ck_assert_uint_eq(h.eoi[0], 0x61);
	/* The same vector edge-triggered clears TMR: no broadcast. */
	lapic_accept(&h.l, &e);
	m.trig_level = false;
	lapic_accept(&h.l, &m);
	ck_assert(!(rd(&h, LAPIC_TMR + 0x30) & (1u << 1)));
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), 0x70);
	wr(&h, LAPIC_EOI, 0);
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), 0x61);
	wr(&h, LAPIC_EOI, 0);
	ck_assert_uint_eq(h.neoi, 1);
	/* A level de-assert message carries no interrupt. */
	d.level = false;
	ck_assert(!lapic_accept(&h.l, &d));
	ck_assert(!irr_bit(&h, 0x62));
}
END_TEST

START_TEST(test_esr_write_before_read)
{
	struct h h;
	struct apic_msg m = fixed(0x05, false);

	h_init(&h, true, 0);
	enable(&h);
	ck_assert(!lapic_accept(&h.l, &m));   /* vectors 0-15 are illegal */
	ck_assert(!irr_bit(&h, 0x05));
	ck_assert_uint_eq(rd(&h, LAPIC_ESR), 0);   /* not latched yet */
	wr(&h, LAPIC_ESR, 0);
	ck_assert_uint_eq(rd(&h, LAPIC_ESR), LAPIC_ESR_RECV_ILL);
	ck_assert_uint_eq(rd(&h, LAPIC_ESR), LAPIC_ESR_RECV_ILL);
	wr(&h, LAPIC_ESR, 0);
	ck_assert_uint_eq(rd(&h, LAPIC_ESR), 0);
	/* Sending an illegal fixed vector is a send error and sends nothing. */
	wr(&h, LAPIC_ICR_LO, 0x00004003);
	ck_assert_uint_eq(h.nsent, 0);
	/* A reserved register is an illegal register access. */
	ck_assert_uint_eq(rd(&h, 0x2f0), 0);
	wr(&h, LAPIC_ESR, 0);
	ck_assert_uint_eq(rd(&h, LAPIC_ESR), LAPIC_ESR_SEND_ILL | LAPIC_ESR_ILL_REG);
	/* With the error LVT unmasked, errors raise its vector. */
	wr(&h, LAPIC_LVT_ERROR, 0xfe);
	wr(&h, 0x3f0, 1);
	ck_assert(irr_bit(&h, 0xfe));
	ck_assert_int_eq(lapic_has_interrupt(&h.l), 0xfe);
	/* An illegal error vector does not recurse. */
	wr(&h, LAPIC_LVT_ERROR, 0x03);
	wr(&h, 0x040, 1);
	wr(&h, LAPIC_ESR, 0);
	ck_assert_uint_eq(rd(&h, LAPIC_ESR), LAPIC_ESR_ILL_REG | LAPIC_ESR_RECV_ILL);
}
END_TEST

START_TEST(test_icr_send)
{
	struct h h;

	h_init(&h, true, 2);
	enable(&h);
	wr(&h, LAPIC_ICR_HI, 0xffffffff);
	ck_assert_uint_eq(rd(&h, LAPIC_ICR_HI), 0xff000000);
	wr(&h, LAPIC_ICR_HI, 0x05000000);
	/* Fixed, logical, level assert, level trigger, vector 0x99 */
	wr(&h, LAPIC_ICR_LO, 0x0000c899);
	ck_assert_uint_eq(h.nsent, 1);
	ck_assert_uint_eq(h.sent[0].vector, 0x99);
	ck_assert_uint_eq(h.sent[0].delivery, APIC_DM_FIXED);
	ck_assert(h.sent[0].logical);
	ck_assert(h.sent[0].level);
	ck_assert(h.sent[0].trig_level);
	ck_assert_uint_eq(h.sent[0].dest, 5);
	ck_assert_uint_eq(h.sent[0].shorthand, APIC_SH_NONE);
	ck_assert_int_eq(h.sent[0].src, 2);
	/* Delivery status reads idle; reserved bits are dropped. */
	ck_assert_uint_eq(rd(&h, LAPIC_ICR_LO) & (1u << 12), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_ICR_LO), 0x0000c899);
	/* SMI to self by shorthand (OVMF-style SMBASE relocation). */
	wr(&h, LAPIC_ICR_LO, 0x00044200);
	ck_assert_uint_eq(h.nsent, 2);
	ck_assert_uint_eq(h.sent[1].delivery, APIC_DM_SMI);
	ck_assert_uint_eq(h.sent[1].shorthand, APIC_SH_SELF);
	/* INIT-SIPI-SIPI to all but self. */
	wr(&h, LAPIC_ICR_LO, 0x000c4500);
	wr(&h, LAPIC_ICR_LO, 0x000c0500 | 0x8000);   /* INIT level de-assert: no message */
	wr(&h, LAPIC_ICR_LO, 0x000c4610);
	ck_assert_uint_eq(h.nsent, 4);
	ck_assert_uint_eq(h.sent[2].delivery, APIC_DM_INIT);
	ck_assert_uint_eq(h.sent[3].delivery, APIC_DM_STARTUP);
	ck_assert_uint_eq(h.sent[3].vector, 0x10);
	ck_assert_uint_eq(h.sent[3].shorthand, APIC_SH_OTHERS);
	/* Reserved delivery mode 3: nothing. */
	wr(&h, LAPIC_ICR_LO, 0x00000340);
	ck_assert_uint_eq(h.nsent, 4);
}
END_TEST

START_TEST(test_dest_match)
{
	struct h h;

	h_init(&h, false, 6);
	ck_assert(lapic_match_dest(&h.l, 6, false));
	ck_assert(!lapic_match_dest(&h.l, 7, false));
	ck_assert(lapic_match_dest(&h.l, 0xff, false));
	ck_assert(lapic_match_dest(&h.l, 0xff, true));
	/* LDR 0: no logical match except broadcast */
	ck_assert(!lapic_match_dest(&h.l, 0x01, true));
	/* flat model */
	wr(&h, LAPIC_LDR, 0x24ffffff);
	ck_assert_uint_eq(rd(&h, LAPIC_LDR), 0x24000000);
	ck_assert(lapic_match_dest(&h.l, 0x04, true));
	ck_assert(lapic_match_dest(&h.l, 0x21, true));
	ck_assert(!lapic_match_dest(&h.l, 0x42, true));
	/* cluster model: cluster 2, member bit 2 */
	wr(&h, LAPIC_DFR, 0x00000000);
	ck_assert_uint_eq(rd(&h, LAPIC_DFR), 0x0fffffff);
	ck_assert(lapic_match_dest(&h.l, 0x24, true));
	ck_assert(lapic_match_dest(&h.l, 0x2c, true));
	ck_assert(!lapic_match_dest(&h.l, 0x34, true));    /* other cluster */
	ck_assert(!lapic_match_dest(&h.l, 0x21, true));    /* other member */
	ck_assert(lapic_match_dest(&h.l, 0xf4, true));     /* cluster 15: all clusters */
	/* invalid model: nothing */
	wr(&h, LAPIC_DFR, 0x50000000);
	ck_assert(!lapic_match_dest(&h.l, 0x24, true));
	/* ID is writable and used for physical matching */
	wr(&h, LAPIC_ID, 0x09123456);
	ck_assert_uint_eq(rd(&h, LAPIC_ID), 0x09000000);
	ck_assert(lapic_match_dest(&h.l, 9, false));
	/* a hardware-disabled APIC matches nothing */
	lapic_set_base(&h.l, 0xfee00000);
	ck_assert(!lapic_match_dest(&h.l, 0xff, false));
	ck_assert(!lapic_match_dest(&h.l, 9, false));
}
END_TEST

START_TEST(test_timer_oneshot)
{
	struct h h;

	h_init(&h, true, 0);
	enable(&h);
	wr(&h, LAPIC_TIMER_DCR, 0);              /* divide by 2 */
	wr(&h, LAPIC_LVT_TIMER, 0x30);
	wr(&h, LAPIC_TIMER_ICR, 1000);           /* 2000 ns at 1 GHz / 2 */
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 1000);
	ck_assert_uint_eq(lapic_timer_deadline(&h.l), h.fc.now + 2000);
	fake_clock_advance(&h.fc, 600);
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 700);
	ck_assert(!irr_bit(&h, 0x30));
	fake_clock_advance(&h.fc, 1399);
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 1);
	ck_assert(!irr_bit(&h, 0x30));
	fake_clock_advance(&h.fc, 1);
	ck_assert(irr_bit(&h, 0x30));
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 0);
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), 0x30);
	wr(&h, LAPIC_EOI, 0);
	fake_clock_advance(&h.fc, 100000);
	ck_assert(!irr_bit(&h, 0x30));           /* one-shot: once */
	ck_assert_uint_eq(fake_clock_next(&h.fc), 0);
	/* Writing 0 stops a running timer. */
	wr(&h, LAPIC_TIMER_ICR, 50);
	wr(&h, LAPIC_TIMER_ICR, 0);
	fake_clock_advance(&h.fc, 1000);
	ck_assert(!irr_bit(&h, 0x30));
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 0);
}
END_TEST

START_TEST(test_timer_periodic)
{
	struct h h;
	int i;

	h_init(&h, true, 0);
	enable(&h);
	wr(&h, LAPIC_TIMER_DCR, 0xb);            /* divide by 1 */
	wr(&h, LAPIC_LVT_TIMER, 0x20000 | 0xec);
	wr(&h, LAPIC_TIMER_ICR, 200000);         /* 200 us */
	for (i = 0; i < 3; i++) {
		fake_clock_advance(&h.fc, 199999);
		ck_assert(!irr_bit(&h, 0xec));
		fake_clock_advance(&h.fc, 1);
		ck_assert(irr_bit(&h, 0xec));
		ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 200000);   /* reloaded */
		ck_assert_int_eq(lapic_ack_interrupt(&h.l), 0xec);
		wr(&h, LAPIC_EOI, 0);
	}
	fake_clock_advance(&h.fc, 120);
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 199880);
	/* Missed periods coalesce into one interrupt; the phase is kept. */
	fake_clock_advance(&h.fc, 5 * 200000);
	ck_assert(irr_bit(&h, 0xec));
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 199880);
	ck_assert_uint_eq(lapic_timer_deadline(&h.l), h.fc.now + 199880);
	/* Masked: counts on, no interrupt, no timer armed. */
	lapic_ack_interrupt(&h.l);
	wr(&h, LAPIC_EOI, 0);
	wr(&h, LAPIC_LVT_TIMER, 0x30000 | 0xec);
	ck_assert_uint_eq(fake_clock_next(&h.fc), 0);
	ck_assert_uint_eq(lapic_timer_deadline(&h.l), 0);
	fake_clock_advance(&h.fc, 1000000);
	ck_assert(!irr_bit(&h, 0xec));
	/* Unmasking does not deliver the expiries missed while masked. */
	wr(&h, LAPIC_LVT_TIMER, 0x20000 | 0xec);
	ck_assert(!irr_bit(&h, 0xec));
	fake_clock_advance(&h.fc, 200000);
	ck_assert(irr_bit(&h, 0xec));
}
END_TEST

START_TEST(test_timer_min_period)
{
	struct h h;
	unsigned n = 0, i;

	h_init(&h, true, 0);
	enable(&h);
	/* A 1 ns periodic timer: the count is exact, interrupts are rate-limited. */
	wr(&h, LAPIC_TIMER_DCR, 0xb);
	wr(&h, LAPIC_LVT_TIMER, 0x20000 | 0x80);
	wr(&h, LAPIC_TIMER_ICR, 1);
	for (i = 0; i < 100; i++) {
		fake_clock_advance(&h.fc, LAPIC_MIN_PERIOD_NS / 10);
		if (lapic_has_interrupt(&h.l) == 0x80) {
			n++;
			lapic_ack_interrupt(&h.l);
			wr(&h, LAPIC_EOI, 0);
		}
	}
	ck_assert_uint_ge(n, 9);
	ck_assert_uint_le(n, 11);
	wr(&h, LAPIC_TIMER_ICR, 7);
	fake_clock_advance(&h.fc, 3);
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 4);
}
END_TEST

START_TEST(test_timer_divide)
{
	static const struct { uint32_t dcr; unsigned div; } t[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	struct h h;
	unsigned i;

	h_init(&h, true, 0);
	enable(&h);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		wr(&h, LAPIC_TIMER_DCR, t[i].dcr | 0xfffffff4);   /* junk bits dropped */
		ck_assert_uint_eq(rd(&h, LAPIC_TIMER_DCR), t[i].dcr);
		wr(&h, LAPIC_TIMER_ICR, 100);
		fake_clock_advance(&h.fc, (uint64_t)10 * t[i].div);
		ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 90);
	}
	/* Changing the divider keeps the current count; it goes on at the new rate. */
	wr(&h, LAPIC_TIMER_DCR, 0x0);
	wr(&h, LAPIC_LVT_TIMER, 0x41);
	wr(&h, LAPIC_TIMER_ICR, 1000);
	fake_clock_advance(&h.fc, 200);          /* 100 ticks at /2 */
	wr(&h, LAPIC_TIMER_DCR, 0x3);            /* /16 */
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 900);
	fake_clock_advance(&h.fc, 160);
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 890);
	fake_clock_advance(&h.fc, 890 * 16 - 1);
	ck_assert(!irr_bit(&h, 0x41));
	fake_clock_advance(&h.fc, 1);
	ck_assert(irr_bit(&h, 0x41));
	/* Largest count and divider do not overflow. */
	wr(&h, LAPIC_TIMER_DCR, 0xa);
	wr(&h, LAPIC_TIMER_ICR, 0xffffffff);
	ck_assert_uint_eq(lapic_timer_deadline(&h.l), h.fc.now + 0xffffffffULL * 128);
}
END_TEST

START_TEST(test_svr_disable_masks_lvts)
{
	struct h h;

	h_init(&h, true, 0);
	/* While disabled, LVT writes keep the mask set. */
	wr(&h, LAPIC_LVT_LINT1, 0x400);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_LINT1), 0x10400);
	enable(&h);
	wr(&h, LAPIC_LVT_LINT1, 0x400);
	wr(&h, LAPIC_LVT_TIMER, 0x20031);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_LINT1), 0x400);
	/* Writable bits only (delivery status, remote IRR, TSC-deadline mode are not). */
	wr(&h, LAPIC_LVT_PERF, 0xffffffff);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_PERF), 0x107ff);
	wr(&h, LAPIC_LVT_TIMER, 0xffffffff);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_TIMER), 0x300ff);
	wr(&h, LAPIC_SVR, 0x0ff);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_LINT1), 0x10400);
	ck_assert_uint_eq(rd(&h, LAPIC_LVT_LINT0), 0x10700);
	wr(&h, LAPIC_SVR, 0xffffffff);
	ck_assert_uint_eq(rd(&h, LAPIC_SVR), 0x3ff);
}
END_TEST

START_TEST(test_lint_pins)
{
	struct h h, ap;

	h_init(&h, true, 0);
	/* BSP virtual wire: PIC INTR on LINT0 is ExtINT, even before SVR enable. */
	lapic_set_lint(&h.l, 0, 1);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), LAPIC_EXTINT);
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), LAPIC_EXTINT);
	lapic_set_lint(&h.l, 0, 0);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), -1);
	/* An AP with LINT0 masked ignores it. */
	h_init(&ap, false, 1);
	lapic_set_lint(&ap.l, 0, 1);
	ck_assert_int_eq(lapic_has_interrupt(&ap.l), -1);
	/* LINT1 as NMI: rising edges only. */
	enable(&h);
	wr(&h, LAPIC_LVT_LINT1, 0x400);
	lapic_set_lint(&h.l, 1, 1);
	ck_assert(lapic_events(&h.l) & LAPIC_EV_NMI);
	ck_assert(lapic_take_nmi(&h.l));
	lapic_set_lint(&h.l, 1, 1);
	ck_assert(!lapic_take_nmi(&h.l));
	/* LINT0 as fixed: the vector lands in IRR on the edge. */
	wr(&h, LAPIC_LVT_LINT0, 0x00000077);
	lapic_set_lint(&h.l, 0, 0);
	lapic_set_lint(&h.l, 0, 1);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), 0x77);
	/* Bad pin numbers are ignored. */
	lapic_set_lint(&h.l, 2, 1);
	lapic_set_lint(&h.l, -1, 1);
	/* A hardware-disabled APIC passes INTR straight through. */
	lapic_set_base(&h.l, 0xfee00100);
	ck_assert_uint_eq(rd(&h, LAPIC_SVR) & LAPIC_SVR_ENABLE, 0);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), LAPIC_EXTINT);
}
END_TEST

START_TEST(test_init_sipi)
{
	struct h h, bsp;
	struct apic_msg init = { .delivery = APIC_DM_INIT, .level = true, .src = 0 };
	struct apic_msg sipi = { .delivery = APIC_DM_STARTUP, .vector = 0x9a, .level = true };
	uint8_t vec = 0;

	h_init(&h, false, 4);
	ck_assert(lapic_wait_sipi(&h.l));
	ck_assert(lapic_accept(&h.l, &sipi));
	sipi.vector = 0x11;
	ck_assert(!lapic_accept(&h.l, &sipi));     /* one SIPI latched at a time */
	ck_assert(lapic_take_sipi(&h.l, &vec));
	ck_assert_uint_eq(vec, 0x9a);
	ck_assert(!lapic_wait_sipi(&h.l));
	/* Running: SIPIs are ignored. */
	ck_assert(!lapic_accept(&h.l, &sipi));
	ck_assert(!lapic_take_sipi(&h.l, &vec));
	/* INIT on a running AP: registers reset (ID kept), back to wait-for-SIPI. */
	enable(&h);
	wr(&h, LAPIC_TPR, 0x30);
	wr(&h, LAPIC_LDR, 0x01000000);
	ck_assert(lapic_accept(&h.l, &init));
	ck_assert(lapic_init_pending(&h.l));
	/* A SIPI following the INIT is kept for after it. */
	ck_assert(lapic_accept(&h.l, &sipi));
	lapic_do_init(&h.l);
	ck_assert(!lapic_init_pending(&h.l));
	ck_assert(lapic_wait_sipi(&h.l));
	ck_assert_uint_eq(rd(&h, LAPIC_ID), 4u << 24);
	ck_assert_uint_eq(rd(&h, LAPIC_TPR), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_LDR), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_SVR), 0xff);
	ck_assert(lapic_take_sipi(&h.l, &vec));
	ck_assert_uint_eq(vec, 0x11);
	/* INIT level de-assert is not an INIT. */
	init.level = false;
	init.trig_level = true;
	ck_assert(!lapic_accept(&h.l, &init));
	ck_assert(!lapic_init_pending(&h.l));
	/* BSP INIT: keeps running (reset vector), stale SIPI dropped. */
	h_init(&bsp, true, 0);
	init.level = true;
	ck_assert(lapic_accept(&bsp.l, &init));
	ck_assert(lapic_accept(&bsp.l, &sipi));
	lapic_do_init(&bsp.l);
	ck_assert(!lapic_wait_sipi(&bsp.l));
	ck_assert(!lapic_take_sipi(&bsp.l, &vec));
	ck_assert_uint_eq(rd(&bsp, LAPIC_LVT_LINT0), 0x700);
}
END_TEST

START_TEST(test_events)
{
	struct h h;
	struct apic_msg m = { .delivery = APIC_DM_SMI, .level = true };

	h_init(&h, true, 0);
	/* SMI and NMI are accepted even while software-disabled. */
	ck_assert(lapic_accept(&h.l, &m));
	m.delivery = APIC_DM_NMI;
	ck_assert(lapic_accept(&h.l, &m));
	ck_assert_uint_eq(lapic_events(&h.l), LAPIC_EV_SMI | LAPIC_EV_NMI);
	ck_assert(lapic_take_smi(&h.l));
	ck_assert(!lapic_take_smi(&h.l));
	ck_assert(lapic_take_nmi(&h.l));
	ck_assert_uint_eq(lapic_events(&h.l), 0);
	/* ExtINT message: the PIC is asked on the next INTA. */
	m.delivery = APIC_DM_EXTINT;
	ck_assert(lapic_accept(&h.l, &m));
	ck_assert_int_eq(lapic_ack_interrupt(&h.l), LAPIC_EXTINT);
	ck_assert_int_eq(lapic_has_interrupt(&h.l), -1);
	m.delivery = 3;
	ck_assert(!lapic_accept(&h.l, &m));
	ck_assert_uint_ge(h.notifies, 3);
}
END_TEST

START_TEST(test_mmio_hostile)
{
	struct h h;

	h_init(&h, true, 0x12);
	/* Sub-dword and unaligned reads see the right bytes; the rest of a slot is 0. */
	ck_assert_uint_eq(dev_read(&lapic_ops, &h.l, LAPIC_ID + 3, 1), 0x12);
	ck_assert_uint_eq(dev_read(&lapic_ops, &h.l, LAPIC_VER, 2), 0x0014);
	ck_assert_uint_eq(dev_read(&lapic_ops, &h.l, LAPIC_VER + 2, 2), 0x0005);
	ck_assert_uint_eq(dev_read(&lapic_ops, &h.l, LAPIC_VER + 4, 4), 0);
	ck_assert_uint_eq(dev_read(&lapic_ops, &h.l, LAPIC_VER, 8), 0x00050014);
	ck_assert_uint_eq(dev_read(&lapic_ops, &h.l, 0x1000, 4), 0);
	ck_assert_uint_eq(dev_read(&lapic_ops, &h.l, ~0ULL, 4), 0);
	ck_assert_uint_eq(dev_read(&lapic_ops, &h.l, LAPIC_SVR, 0), 0);
	/* Only aligned 32-bit writes count. */
	dev_write(&lapic_ops, &h.l, LAPIC_TPR, 0x20, 1);
	dev_write(&lapic_ops, &h.l, LAPIC_TPR, 0x20, 8);
	dev_write(&lapic_ops, &h.l, LAPIC_TPR + 1, 0x20, 4);
	dev_write(&lapic_ops, &h.l, 0x1080, 0x20, 4);
	ck_assert_uint_eq(rd(&h, LAPIC_TPR), 0);
	/* Read-only registers ignore writes. */
	wr(&h, LAPIC_VER, 0);
	wr(&h, LAPIC_IRR, 0xffffffff);
	wr(&h, LAPIC_ISR + 0x70, 0xffffffff);
	wr(&h, LAPIC_PPR, 0xff);
	wr(&h, LAPIC_TIMER_CCR, 1234);
	ck_assert_uint_eq(rd(&h, LAPIC_VER), 0x00050014);
	ck_assert_uint_eq(rd(&h, LAPIC_IRR), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_ISR + 0x70), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_TIMER_CCR), 0);
	/* Write-only EOI and remote read read as 0. */
	ck_assert_uint_eq(rd(&h, LAPIC_EOI), 0);
	ck_assert_uint_eq(rd(&h, LAPIC_RRD), 0);
	/* Every offset of the page can be read and written without harm. */
	for (unsigned off = 0; off < 0x1000; off += 4) {
		dev_read(&lapic_ops, &h.l, off, 4);
		if (off != LAPIC_ICR_LO && off != LAPIC_SVR)
			dev_write(&lapic_ops, &h.l, off, 0xffffffff, 4);
	}
	ck_assert_uint_eq(rd(&h, LAPIC_VER), 0x00050014);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lapic");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reset_values);
	tcase_add_test(tc, test_accept_ack_eoi);
	tcase_add_test(tc, test_priorities);
	tcase_add_test(tc, test_level_eoi_broadcast);
	tcase_add_test(tc, test_esr_write_before_read);
	tcase_add_test(tc, test_icr_send);
	tcase_add_test(tc, test_dest_match);
	tcase_add_test(tc, test_timer_oneshot);
	tcase_add_test(tc, test_timer_periodic);
	tcase_add_test(tc, test_timer_min_period);
	tcase_add_test(tc, test_timer_divide);
	tcase_add_test(tc, test_svr_disable_masks_lvts);
	tcase_add_test(tc, test_lint_pins);
	tcase_add_test(tc, test_init_sipi);
	tcase_add_test(tc, test_events);
	tcase_add_test(tc, test_mmio_hostile);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
