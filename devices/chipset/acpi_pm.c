#include "devices/chipset/acpi_pm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"
#include "vmm/util.h"

#define NSEC_PER_SEC    1000000000ULL
#define TMR_MASK        0xffffffu
#define TMR_FLIP_SHIFT  23              /* TMR_STS: bit 23 of the counter changed */

/* Bits the guest may clear in PM1_STS / set in PM1_EN / store in PM1_CNT. */
#define PM1_STS_W1C     (ACPI_PM1_TMR_STS | ACPI_PM1_BM_STS | ACPI_PM1_GBL_STS | \
			 ACPI_PM1_PWRBTN_STS | ACPI_PM1_RTC_STS | ACPI_PM1_PWRBTNOR_STS | \
			 ACPI_PM1_PCIEXPWAK_STS | ACPI_PM1_WAK_STS)
#define PM1_EN_WMASK    (ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | \
			 ACPI_PM1_RTC_EN | ACPI_PM1_PCIEXPWAK_DIS)
#define PM1_CNT_WMASK   (ACPI_PM1_CNT_SCI_EN | ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP)
/* PM1 events that raise an SCI when enabled (PCIEXPWAK_DIS has inverted sense). */
#define PM1_SCI_EVENTS  (ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | \
			 ACPI_PM1_RTC_STS)

/* ---- PM timer ---- */

static uint64_t tmr_ticks(struct acpi_pm *pm)
{
	uint64_t now = clock_now(pm->cfg.clock);
	uint64_t ns = now > pm->tmr_start_ns ? now - pm->tmr_start_ns : 0;

	return (uint64_t)((unsigned __int128)ns * ACPI_PM_TMR_FREQ / NSEC_PER_SEC);
}

/* Clock time at which the counter reaches @ticks (rounded up). */
static uint64_t tmr_ticks_to_ns(const struct acpi_pm *pm, uint64_t ticks)
{
	unsigned __int128 ns = ((unsigned __int128)ticks * NSEC_PER_SEC + ACPI_PM_TMR_FREQ - 1) /
			       ACPI_PM_TMR_FREQ;

	return pm->tmr_start_ns + (uint64_t)ns;
}

uint32_t acpi_pm_timer(struct acpi_pm *pm)
{
	return (uint32_t)tmr_ticks(pm) & TMR_MASK;
}

/* Fold bit-23 flips that happened since the last look into TMR_STS. */
static void tmr_sync(struct acpi_pm *pm)
{
	uint64_t epoch = tmr_ticks(pm) >> TMR_FLIP_SHIFT;

	if (epoch != pm->tmr_epoch) {
		pm->tmr_epoch = epoch;
		pm->pm1_sts |= ACPI_PM1_TMR_STS;
	}
}

/* The timer only needs to fire when a flip would raise an SCI. */
static void tmr_rearm(struct acpi_pm *pm)
{
	if ((pm->pm1_en & ACPI_PM1_TMR_EN) && !(pm->pm1_sts & ACPI_PM1_TMR_STS))
		ktimer_mod(&pm->tmr_timer,
			   tmr_ticks_to_ns(pm, (pm->tmr_epoch + 1) << TMR_FLIP_SHIFT));
	else
		ktimer_del(&pm->tmr_timer);
}

/* ---- SCI ---- */

static void sci_update(struct acpi_pm *pm)
{
	int level = (pm->pm1_sts & pm->pm1_en & PM1_SCI_EVENTS) != 0;
	unsigned i;

	for (i = 0; i < ACPI_GPE0_BYTES; i++)
		if (pm->gpe_sts[i] & pm->gpe_en[i])
			level = 1;
	if (level == pm->sci_level)
		return;
	pm->sci_level = level;
	irq_set(&pm->cfg.sci, level);
}

static void tmr_fire(void *arg)
{
	struct acpi_pm *pm = arg;

	tmr_sync(pm);
	sci_update(pm);
	tmr_rearm(pm);
}

/* ---- register file, byte by byte ---- */

static uint8_t reg_read_byte(struct acpi_pm *pm, unsigned off, uint32_t tmr)
{
	unsigned sh = 8 * (off & 3);

	switch (off) {
	case ACPI_PM1_STS ... ACPI_PM1_STS + 1:
		return (uint8_t)(pm->pm1_sts >> sh);
	case ACPI_PM1_EN ... ACPI_PM1_EN + 1:
		return (uint8_t)(pm->pm1_en >> (8 * (off - ACPI_PM1_EN)));
	case ACPI_PM1_CNT ... ACPI_PM1_CNT + 3:
		return (uint8_t)(pm->pm1_cnt >> sh);
	case ACPI_PM_TMR ... ACPI_PM_TMR + 3:
		return (uint8_t)(tmr >> sh);
	case ACPI_GPE0_STS ... ACPI_GPE0_STS + ACPI_GPE0_BYTES - 1:
		return pm->gpe_sts[off - ACPI_GPE0_STS];
	case ACPI_GPE0_EN ... ACPI_GPE0_EN + ACPI_GPE0_BYTES - 1:
		return pm->gpe_en[off - ACPI_GPE0_EN];
	case ACPI_SMI_EN ... ACPI_SMI_EN + 3:
		return (uint8_t)(pm->smi_en >> sh);
	case ACPI_SMI_STS ... ACPI_SMI_STS + 3:
		return (uint8_t)(pm->smi_sts >> sh);
	default:
		/* PROC_CNT, ALT_GP_SMI, TCO, ...: present but inert. */
		return 0;
	}
}

static uint32_t merge(uint32_t reg, uint32_t wmask, unsigned sh, uint8_t b)
{
	uint32_t m = wmask & (0xffu << sh);

	return (reg & ~m) | (((uint32_t)b << sh) & m);
}

/* Returns true if this byte requested a sleep state (SLP_EN). */
static bool reg_write_byte(struct acpi_pm *pm, unsigned off, uint8_t b)
{
	unsigned sh = 8 * (off & 3);

	switch (off) {
	case ACPI_PM1_STS ... ACPI_PM1_STS + 1:
		pm->pm1_sts &= (uint16_t)~(((uint32_t)b << sh) & PM1_STS_W1C);
		break;
	case ACPI_PM1_EN ... ACPI_PM1_EN + 1:
		pm->pm1_en = (uint16_t)merge(pm->pm1_en, PM1_EN_WMASK, 8 * (off - ACPI_PM1_EN), b);
		break;
	case ACPI_PM1_CNT ... ACPI_PM1_CNT + 3:
		pm->pm1_cnt = merge(pm->pm1_cnt, PM1_CNT_WMASK, sh, b);
		return ((uint32_t)b << sh) & ACPI_PM1_CNT_SLP_EN;
	case ACPI_GPE0_STS ... ACPI_GPE0_STS + ACPI_GPE0_BYTES - 1:
		pm->gpe_sts[off - ACPI_GPE0_STS] &= (uint8_t)~b;
		break;
	case ACPI_GPE0_EN ... ACPI_GPE0_EN + ACPI_GPE0_BYTES - 1:
		pm->gpe_en[off - ACPI_GPE0_EN] = b;
		break;
	case ACPI_SMI_EN ... ACPI_SMI_EN + 3:
		pm->smi_en = merge(pm->smi_en, pm->smi_en_wmask, sh, b);
		break;
	case ACPI_SMI_STS ... ACPI_SMI_STS + 3:
		pm->smi_sts &= ~((uint32_t)b << sh);
		break;
	default:
		break;
	}
	return false;
}

static uint64_t pm_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct acpi_pm *pm = dev;
	uint32_t tmr;
	uint64_t v = 0;
	unsigned i;

	/* One timer sample per access, so a dword read is coherent. */
	tmr_sync(pm);
	tmr = (uint32_t)tmr_ticks(pm) & TMR_MASK;
	for (i = 0; i < size && off + i < ACPI_PM_SIZE; i++)
		v |= (uint64_t)reg_read_byte(pm, (unsigned)off + i, tmr) << (8 * i);
	return v;
}

static void pm_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		     unsigned size)
{
	struct acpi_pm *pm = dev;
	bool sleep = false;
	unsigned i;

	/* Flips before this write are seen by a TMR_STS clear in it. */
	tmr_sync(pm);
	for (i = 0; i < size && off + i < ACPI_PM_SIZE; i++)
		sleep |= reg_write_byte(pm, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
	sci_update(pm);
	tmr_rearm(pm);
	if (sleep) {
		unsigned typ = (pm->pm1_cnt & ACPI_PM1_CNT_SLP_TYP) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;

		TRACE(TRACE_IO, "acpi-pm: sleep request SLP_TYP=%u", typ);
		if (pm->cfg.sleep)
			pm->cfg.sleep(pm->cfg.opaque, typ);
	}
}

static const struct dev_ops acpi_pm_ops = { .name = "acpi-pm", .read = pm_read,
					    .write = pm_write };

/* ---- chipset / machine interface ---- */

void acpi_pm_set_sci_en(struct acpi_pm *pm, bool on)
{
	if (on)
		pm->pm1_cnt |= ACPI_PM1_CNT_SCI_EN;
	else
		pm->pm1_cnt &= ~(uint32_t)ACPI_PM1_CNT_SCI_EN;
}

uint32_t acpi_pm_smi_en(const struct acpi_pm *pm)
{
	return pm->smi_en;
}

void acpi_pm_smi_sts_set(struct acpi_pm *pm, uint32_t bits)
{
	pm->smi_sts |= bits;
}

void acpi_pm_lock_gbl_smi(struct acpi_pm *pm)
{
	pm->smi_en_wmask &= ~(uint32_t)ACPI_SMI_EN_GBL_SMI;
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pm->pm1_sts |= ACPI_PM1_PWRBTN_STS;
	sci_update(pm);
}

void acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned bit)
{
	if (bit >= 8 * ACPI_GPE0_BYTES)
		return;
	pm->gpe_sts[bit / 8] |= (uint8_t)(1u << (bit % 8));
	sci_update(pm);
}

void acpi_pm_reset(struct acpi_pm *pm)
{
	pm->pm1_sts = 0;
	pm->pm1_en = 0;
	pm->pm1_cnt = pm->cfg.sci_en_at_reset ? ACPI_PM1_CNT_SCI_EN : 0;
	memset(pm->gpe_sts, 0, sizeof(pm->gpe_sts));
	memset(pm->gpe_en, 0, sizeof(pm->gpe_en));
	/* APMC_EN clear after reset is how OVMF learns that SMIs work. */
	pm->smi_en = 0;
	pm->smi_sts = 0;
	pm->smi_en_wmask = 0xffffffffu;
	/* The counter keeps running across resets; TMR_STS starts clear. */
	pm->tmr_epoch = tmr_ticks(pm) >> TMR_FLIP_SHIFT;
	sci_update(pm);
	tmr_rearm(pm);
}

int acpi_pm_map(struct acpi_pm *pm, struct bus *pio, uint16_t base)
{
	int r;

	if (!pio || !base || (base & (ACPI_PM_SIZE - 1)))
		return -EINVAL;
	if (pm->pio == pio && pm->base == base)
		return 0;
	acpi_pm_unmap(pm);
	r = bus_register(pio, base, ACPI_PM_SIZE, &acpi_pm_ops, pm);
	if (r < 0) {
		TRACE(TRACE_IO, "acpi-pm: block at %#x not mapped (%d)", base, r);
		log_debug("acpi-pm: PM block at %#x overlaps another I/O range", base);
		return r;
	}
	pm->pio = pio;
	pm->base = base;
	TRACE(TRACE_IO, "acpi-pm: block mapped at %#x", base);
	return 0;
}

void acpi_pm_unmap(struct acpi_pm *pm)
{
	if (!pm->pio)
		return;
	bus_unregister(pm->pio, pm->base, pm);
	TRACE(TRACE_IO, "acpi-pm: block at %#x unmapped", pm->base);
	pm->pio = NULL;
	pm->base = 0;
}

int acpi_pm_create(const struct acpi_pm_config *cfg, struct acpi_pm **out)
{
	struct acpi_pm *pm;

	if (!cfg || !cfg->clock || !out)
		return -EINVAL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->cfg = *cfg;
	pm->tmr_start_ns = clock_now(cfg->clock);
	ktimer_init(&pm->tmr_timer, cfg->clock, tmr_fire, pm);
	acpi_pm_reset(pm);
	*out = pm;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	acpi_pm_unmap(pm);
	ktimer_del(&pm->tmr_timer);
	free(pm);
}
