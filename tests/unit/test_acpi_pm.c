/* Unit tests for devices/chipset/acpi_pm.c: PM1, PM timer, GPE0, SMI_EN/SMI_STS, sleep. */
#include <errno.h>

#include "devices/chipset/acpi_pm.h"
#include "tests/unit/support.h"

#define BASE PORT_PC_ACPI_PM
#define NS_PER_S 1000000000ULL

static struct bus pio;
static struct fake_clock fc;
static struct irq_rec irqs;
static struct acpi_pm *pm;
static struct io_ctx ctx = { .cpu = 0 };
static unsigned sleeps, last_slp_typ;

static void on_sleep(void *opaque, unsigned slp_typ)
{
	sleeps++;
	last_slp_typ = slp_typ;
}

static void make_pm(bool sci_en)
{
	struct acpi_pm_config cfg = {
		.clock = &fc.clock, .sci = *irq_rec_line(&irqs, ACPI_PM_SCI_GSI),
		.sleep = on_sleep, .sci_en_at_reset = sci_en,
	};

	ck_assert_int_eq(acpi_pm_create(&cfg, &pm), 0);
	ck_assert_int_eq(acpi_pm_map(pm, &pio, BASE), 0);
}

static void setup(void)
{
	bus_init(&pio, "pio");
	fake_clock_init(&fc, 1000);
	irq_rec_init(&irqs);
	sleeps = 0;
	last_slp_typ = 99;
	make_pm(false);
}

static void teardown(void)
{
	acpi_pm_destroy(pm);
	ck_assert_uint_eq(pio.n, 0);
	ck_assert_uint_eq(fc.n, 0);
	bus_free(&pio);
}

static uint64_t in(unsigned off, unsigned size)
{
	uint8_t buf[8] = { 0 };

	bus_read(&pio, &ctx, BASE + off, buf, size);
	return ld_le64(buf) & (size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1);
}

static void out(unsigned off, uint64_t val, unsigned size)
{
	uint8_t buf[8];

	st_le64(buf, val);
	bus_write(&pio, &ctx, BASE + off, buf, size);
}

/* Ticks the timer should show after @ns, computed independently of the device. */
static uint32_t expect_ticks(uint64_t ns)
{
	return (uint32_t)((unsigned __int128)ns * 3579545 / NS_PER_S) & 0xffffff;
}

START_TEST(test_reset_values)
{
	ck_assert_uint_eq(in(ACPI_PM1_STS, 2), 0);
	ck_assert_uint_eq(in(ACPI_PM1_EN, 2), 0);
	ck_assert_uint_eq(in(ACPI_PM1_CNT, 4), 0);
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4), 0);
	ck_assert_uint_eq(in(ACPI_SMI_STS, 4), 0);
	ck_assert_uint_eq(in(ACPI_GPE0_STS, 8), 0);
	ck_assert_uint_eq(in(ACPI_GPE0_EN, 8), 0);
	ck_assert_uint_eq(in(ACPI_TCO, 4), 0);
	/* TCO and the other inert registers swallow writes */
	out(ACPI_TCO, 0xffffffff, 4);
	out(0x10, 0xffffffff, 4);
	ck_assert_uint_eq(in(ACPI_TCO, 4), 0);
	ck_assert_uint_eq(in(0x10, 4), 0);
	ck_assert_uint_eq(in(0x10, 4), 0);
	ck_assert_uint_eq(in(0x7c, 4), 0);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	/* a machine without SMI_CMD starts in ACPI mode */
	acpi_pm_destroy(pm);
	make_pm(true);
	ck_assert_uint_eq(in(ACPI_PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN);
}
END_TEST

START_TEST(test_pm_timer_rate)
{
	uint32_t t0 = (uint32_t)in(ACPI_PM_TMR, 4), t1;

	ck_assert_uint_eq(t0, 0);
	fake_clock_advance(&fc, NS_PER_S);
	ck_assert_uint_eq(in(ACPI_PM_TMR, 4), 3579545);
	ck_assert_uint_eq(acpi_pm_timer(pm), 3579545);
	fake_clock_advance(&fc, 1000000);       /* +1 ms */
	t1 = (uint32_t)in(ACPI_PM_TMR, 4);
	ck_assert_uint_eq(t1, expect_ticks(NS_PER_S + 1000000));
	ck_assert_uint_ge(t1 - 3579545, 3579);
	ck_assert_uint_le(t1 - 3579545, 3580);
	/* 24 bits: wraps after 2^24 ticks (~4.69 s); the top byte reads 0 */
	fake_clock_advance(&fc, 4 * NS_PER_S);
	t1 = (uint32_t)in(ACPI_PM_TMR, 4);
	ck_assert_uint_eq(t1, expect_ticks(5 * NS_PER_S + 1000000));
	ck_assert_uint_lt(t1, 1u << 24);
	ck_assert_uint_eq(in(ACPI_PM_TMR + 3, 1), 0);
	/* narrower reads see the same counter */
	ck_assert_uint_eq(in(ACPI_PM_TMR, 2), t1 & 0xffff);
	ck_assert_uint_eq(in(ACPI_PM_TMR + 2, 1), (t1 >> 16) & 0xff);
	ck_assert_uint_eq(in(ACPI_PM_TMR + 1, 2), (t1 >> 8) & 0xffff);
	/* read-only */
	out(ACPI_PM_TMR, 0, 4);
	ck_assert_uint_eq(in(ACPI_PM_TMR, 4), t1);
	/* it is monotonic between wraps over many small steps */
	for (unsigned i = 0; i < 100; i++) {
		uint32_t a = (uint32_t)in(ACPI_PM_TMR, 4), b;

		fake_clock_advance(&fc, 279);   /* one tick is ~279.4 ns */
		b = (uint32_t)in(ACPI_PM_TMR, 4);
		ck_assert_uint_le(((b - a) & 0xffffff), 1);
	}
}
END_TEST

START_TEST(test_tmr_sts_and_sci)
{
	/* bit 23 flips every 2^23 ticks = 2343.5 ms */
	const uint64_t flip = (((uint64_t)1 << 23) * NS_PER_S + 3579544) / 3579545;

	/* TMR_STS without TMR_EN: status only, no SCI and no timer armed */
	fake_clock_advance(&fc, flip + 10);
	ck_assert_uint_eq(in(ACPI_PM1_STS, 2) & ACPI_PM1_TMR_STS, ACPI_PM1_TMR_STS);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	ck_assert_uint_eq(fc.n, 0);
	/* write 0 doesn't clear, write 1 does */
	out(ACPI_PM1_STS, 0, 2);
	ck_assert_uint_eq(in(ACPI_PM1_STS, 2), ACPI_PM1_TMR_STS);
	out(ACPI_PM1_STS, ACPI_PM1_TMR_STS, 2);
	ck_assert_uint_eq(in(ACPI_PM1_STS, 2), 0);
	/* TMR_EN: an SCI exactly at the next flip */
	out(ACPI_PM1_EN, ACPI_PM1_TMR_EN, 2);
	ck_assert_uint_eq(fc.n, 1);
	fake_clock_advance(&fc, flip - 20);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	fake_clock_advance(&fc, 20);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 1);
	ck_assert_uint_eq(in(ACPI_PM1_STS, 2), ACPI_PM1_TMR_STS);
	/* clearing TMR_STS drops the SCI and re-arms for the next flip */
	out(ACPI_PM1_STS, 0xffff, 2);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	ck_assert_uint_eq(fc.n, 1);
	fake_clock_advance(&fc, flip);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 1);
	ck_assert_uint_eq(irqs.raises[ACPI_PM_SCI_GSI], 2);
	/* disabling TMR_EN drops the SCI (status stays) and disarms */
	out(ACPI_PM1_EN, 0, 2);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	ck_assert_uint_eq(fc.n, 0);
	ck_assert_uint_eq(in(ACPI_PM1_STS, 2), ACPI_PM1_TMR_STS);
}
END_TEST

START_TEST(test_pm1_status_enable)
{
	/* power button: status without enable is no SCI */
	acpi_pm_power_button(pm);
	ck_assert_uint_eq(in(ACPI_PM1_STS, 2), ACPI_PM1_PWRBTN_STS);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	out(ACPI_PM1_EN, ACPI_PM1_PWRBTN_EN, 2);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 1);
	/* byte write of the wrong half clears nothing */
	out(ACPI_PM1_STS, 0xff, 1);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 1);
	out(ACPI_PM1_STS + 1, ACPI_PM1_PWRBTN_STS >> 8, 1);
	ck_assert_uint_eq(in(ACPI_PM1_STS, 2), 0);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	/* PM1_EN keeps only the implemented enables */
	out(ACPI_PM1_EN, 0xffff, 2);
	ck_assert_uint_eq(in(ACPI_PM1_EN, 2), ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN |
			  ACPI_PM1_PWRBTN_EN | ACPI_PM1_RTC_EN | ACPI_PM1_PCIEXPWAK_DIS);
	/* a dword write at 0 covers PM1_STS and PM1_EN at once */
	acpi_pm_power_button(pm);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 1);
	out(ACPI_PM1_STS, 0x00000100, 4);
	ck_assert_uint_eq(in(ACPI_PM1_STS, 4), 0);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
}
END_TEST

START_TEST(test_pm1_cnt_and_sleep)
{
	out(ACPI_PM1_CNT, ACPI_PM1_CNT_SCI_EN, 2);
	ck_assert_uint_eq(in(ACPI_PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN);
	/* SLP_TYP without SLP_EN: stored, no sleep */
	out(ACPI_PM1_CNT, ACPI_PM1_CNT_SCI_EN | 5 << 10, 2);
	ck_assert_uint_eq(sleeps, 0);
	ck_assert_uint_eq(in(ACPI_PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN | 5 << 10);
	/* OVMF's BaseResetShutdown: SLP_TYP 0 | SLP_EN */
	out(ACPI_PM1_CNT, (in(ACPI_PM1_CNT, 2) & ~ACPI_PM1_CNT_SLP_TYP) | ACPI_PM1_CNT_SLP_EN, 2);
	ck_assert_uint_eq(sleeps, 1);
	ck_assert_uint_eq(last_slp_typ, ACPI_SLP_TYP_S5);
	/* SLP_EN is write-only */
	ck_assert_uint_eq(in(ACPI_PM1_CNT, 2) & ACPI_PM1_CNT_SLP_EN, 0);
	/* Linux: byte write of the high half, and a dword write, S3 and S4 */
	out(ACPI_PM1_CNT + 1, (ACPI_SLP_TYP_S3 << 2) | 0x20, 1);
	ck_assert_uint_eq(sleeps, 2);
	ck_assert_uint_eq(last_slp_typ, ACPI_SLP_TYP_S3);
	out(ACPI_PM1_CNT, ACPI_SLP_TYP_S4 << 10 | ACPI_PM1_CNT_SLP_EN, 4);
	ck_assert_uint_eq(sleeps, 3);
	ck_assert_uint_eq(last_slp_typ, ACPI_SLP_TYP_S4);
	/* writing the low byte alone never sleeps; reserved bits don't stick */
	out(ACPI_PM1_CNT, 0xff, 1);
	out(ACPI_PM1_CNT + 2, 0xffff, 2);
	ck_assert_uint_eq(sleeps, 3);
	ck_assert_uint_eq(in(ACPI_PM1_CNT, 4), ACPI_SLP_TYP_S4 << 10 | 0x3);
	/* chipset-side ACPI enable/disable */
	acpi_pm_set_sci_en(pm, false);
	ck_assert_uint_eq(in(ACPI_PM1_CNT, 2) & ACPI_PM1_CNT_SCI_EN, 0);
	acpi_pm_set_sci_en(pm, true);
	ck_assert_uint_eq(in(ACPI_PM1_CNT, 2) & ACPI_PM1_CNT_SCI_EN, 1);
}
END_TEST

START_TEST(test_gpe0)
{
	acpi_pm_gpe_raise(pm, 3);
	acpi_pm_gpe_raise(pm, 63);
	acpi_pm_gpe_raise(pm, 64);      /* out of range: ignored */
	acpi_pm_gpe_raise(pm, 9999);
	ck_assert_uint_eq(in(ACPI_GPE0_STS, 8), 0x8000000000000008ULL);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	out(ACPI_GPE0_EN + 7, 0x80, 1);
	ck_assert_uint_eq(in(ACPI_GPE0_EN, 8), 0x8000000000000000ULL);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 1);
	/* W1C, per byte */
	out(ACPI_GPE0_STS + 4, 0xffffffff, 4);
	ck_assert_uint_eq(in(ACPI_GPE0_STS, 8), 0x8ULL);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	out(ACPI_GPE0_EN, 0xff, 1);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 1);
	out(ACPI_GPE0_EN, 0x00, 1);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	/* an 8-byte access that spans STS and EN */
	out(ACPI_GPE0_STS + 4, 0x000000ff00000000ULL, 8);
	ck_assert_uint_eq(in(ACPI_GPE0_STS, 8), 0x8ULL);
	ck_assert_uint_eq(in(ACPI_GPE0_EN, 8), 0x80000000000000ffULL);
}
END_TEST

START_TEST(test_smi_en_lock)
{
	/* APMC_EN reads 0 after reset: OVMF's "SMI is available" signal */
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4) & ACPI_SMI_EN_APMC, 0);
	out(ACPI_SMI_EN, ACPI_SMI_EN_APMC | ACPI_SMI_EN_GBL_SMI, 4);
	ck_assert_uint_eq(acpi_pm_smi_en(pm), ACPI_SMI_EN_APMC | ACPI_SMI_EN_GBL_SMI);
	/* before the lock GBL_SMI_EN can be cleared */
	out(ACPI_SMI_EN, ACPI_SMI_EN_APMC, 4);
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4), ACPI_SMI_EN_APMC);
	out(ACPI_SMI_EN, ACPI_SMI_EN_APMC | ACPI_SMI_EN_GBL_SMI, 4);
	acpi_pm_lock_gbl_smi(pm);
	/* locked: GBL_SMI_EN sticks, everything else stays writable */
	out(ACPI_SMI_EN, ACPI_SMI_EN_APMC, 4);
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4), ACPI_SMI_EN_APMC | ACPI_SMI_EN_GBL_SMI);
	out(ACPI_SMI_EN, 0, 1);
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4), ACPI_SMI_EN_GBL_SMI);
	out(ACPI_SMI_EN + 1, ACPI_SMI_EN_TCO >> 8, 1);
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4), ACPI_SMI_EN_GBL_SMI | ACPI_SMI_EN_TCO);
	/* SMI_STS: set by the chipset, write-1-to-clear */
	acpi_pm_smi_sts_set(pm, ACPI_SMI_STS_APM | 0x10000);
	ck_assert_uint_eq(in(ACPI_SMI_STS, 4), ACPI_SMI_STS_APM | 0x10000);
	out(ACPI_SMI_STS, 0, 4);
	ck_assert_uint_eq(in(ACPI_SMI_STS, 4), ACPI_SMI_STS_APM | 0x10000);
	out(ACPI_SMI_STS, ACPI_SMI_STS_APM, 4);
	ck_assert_uint_eq(in(ACPI_SMI_STS, 4), 0x10000);
	/* reset unlocks and clears */
	acpi_pm_reset(pm);
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4), 0);
	ck_assert_uint_eq(in(ACPI_SMI_STS, 4), 0);
	out(ACPI_SMI_EN, ACPI_SMI_EN_GBL_SMI, 4);
	out(ACPI_SMI_EN, 0, 4);
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4), 0);
	/* locking while GBL_SMI_EN is 0 freezes it at 0 */
	acpi_pm_lock_gbl_smi(pm);
	out(ACPI_SMI_EN, ACPI_SMI_EN_GBL_SMI, 4);
	ck_assert_uint_eq(in(ACPI_SMI_EN, 4), 0);
}
END_TEST

START_TEST(test_map_unmap)
{
	struct acpi_pm *other;
	static const struct dev_ops dummy = { .name = "dummy" };

	ck_assert_ptr_nonnull(bus_find(&pio, BASE + 0x7f));
	ck_assert_ptr_null(bus_find(&pio, BASE + 0x80));
	/* same place again: no-op */
	ck_assert_int_eq(acpi_pm_map(pm, &pio, BASE), 0);
	ck_assert_uint_eq(pio.n, 1);
	/* move */
	ck_assert_int_eq(acpi_pm_map(pm, &pio, 0xb000), 0);
	ck_assert_ptr_null(bus_find(&pio, BASE));
	ck_assert_ptr_nonnull(bus_find(&pio, 0xb004));
	/* malformed bases */
	ck_assert_int_eq(acpi_pm_map(pm, &pio, 0), -EINVAL);
	ck_assert_int_eq(acpi_pm_map(pm, &pio, 0x640), -EINVAL);
	ck_assert_int_eq(acpi_pm_map(pm, NULL, BASE), -EINVAL);
	ck_assert_ptr_nonnull(bus_find(&pio, 0xb004));
	/* overlap: refused and left unmapped */
	ck_assert_int_eq(bus_register(&pio, 0x640, 4, &dummy, &other), 0);
	ck_assert_int_eq(acpi_pm_map(pm, &pio, BASE), -EEXIST);
	ck_assert_ptr_null(bus_find(&pio, 0xb004));
	ck_assert_uint_eq(pio.n, 1);
	bus_unregister(&pio, 0x640, &other);
	ck_assert_int_eq(acpi_pm_map(pm, &pio, BASE), 0);
	acpi_pm_unmap(pm);
	acpi_pm_unmap(pm);
	ck_assert_uint_eq(pio.n, 0);
	/* accesses straddling the end are split by the bus: tail reads all-ones */
	ck_assert_int_eq(acpi_pm_map(pm, &pio, BASE), 0);
	ck_assert_uint_eq(in(0x7e, 4), 0xffff0000);
	/* creation needs a clock */
	ck_assert_int_eq(acpi_pm_create(&(struct acpi_pm_config){ 0 }, &other), -EINVAL);
	ck_assert_int_eq(acpi_pm_create(NULL, &other), -EINVAL);
	acpi_pm_destroy(NULL);
}
END_TEST

START_TEST(test_reset_keeps_timer_running)
{
	out(ACPI_PM1_EN, 0xffff, 2);
	out(ACPI_GPE0_EN, 0xffff, 2);
	acpi_pm_gpe_raise(pm, 0);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 1);
	fake_clock_advance(&fc, NS_PER_S);
	acpi_pm_reset(pm);
	ck_assert_int_eq(irqs.level[ACPI_PM_SCI_GSI], 0);
	ck_assert_uint_eq(in(ACPI_PM1_EN, 2), 0);
	ck_assert_uint_eq(in(ACPI_GPE0_STS, 8), 0);
	ck_assert_uint_eq(in(ACPI_PM_TMR, 4), 3579545);
	ck_assert_uint_eq(fc.n, 0);
	/* the mapping belongs to the owner: reset leaves it alone */
	ck_assert_ptr_nonnull(bus_find(&pio, BASE));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acpi_pm");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reset_values);
	tcase_add_test(tc, test_pm_timer_rate);
	tcase_add_test(tc, test_tmr_sts_and_sci);
	tcase_add_test(tc, test_pm1_status_enable);
	tcase_add_test(tc, test_pm1_cnt_and_sleep);
	tcase_add_test(tc, test_gpe0);
	tcase_add_test(tc, test_smi_en_lock);
	tcase_add_test(tc, test_map_unmap);
	tcase_add_test(tc, test_reset_keeps_timer_running);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
