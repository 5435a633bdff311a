/*
 * ACPI PM I/O block in the ICH9 layout (128 bytes): PM1 event/control,
 * the 3.579545 MHz PM timer, GPE0, and the ICH9 SMI_EN/SMI_STS pair.
 *
 * Used twice: the ICH9 LPC maps it at PMBASE while ACPI_CNTL.ACPI_EN is
 * set, and the pc machine maps it at PORT_PC_ACPI_PM (0x600) for good.
 *
 * The SCI is a level-triggered line, asserted while any of
 * PM1_STS & PM1_EN (TMR, GBL, PWRBTN, RTC) or GPE0_STS & GPE0_EN is set;
 * like QEMU it does not depend on PM1_CNT.SCI_EN.
 *
 * Writing PM1_CNT with SLP_EN calls sleep(opaque, slp_typ). The machine
 * powers off for ACPI_SLP_TYP_S5; OVMF's BaseResetShutdown writes
 * SLP_TYP 0 | SLP_EN, and the DSDT's \_S5 package must say 0 as well.
 */
#ifndef KVMRUN_DEVICES_CHIPSET_ACPI_PM_H
#define KVMRUN_DEVICES_CHIPSET_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/irq.h"
#include "vmm/memmap.h"

/* ---- layout (offsets into the block) ---- */
#define ACPI_PM_SIZE            0x80
#define ACPI_PM1_STS            0x00    /* 16, write-1-to-clear */
#define ACPI_PM1_EN             0x02    /* 16 */
#define ACPI_PM1_CNT            0x04    /* 32 (FADT: PM1_CNT_LEN 2) */
#define ACPI_PM_TMR             0x08    /* 32, 24 bits used, read-only */
#define ACPI_GPE0_STS           0x20    /* 8 bytes, write-1-to-clear */
#define ACPI_GPE0_EN            0x28    /* 8 bytes */
#define ACPI_SMI_EN             0x30    /* 32 */
#define ACPI_SMI_STS            0x34    /* 32, write-1-to-clear */
#define ACPI_TCO                0x60    /* 32 bytes, dummy: reads 0 */
#define ACPI_GPE0_BYTES         8

/* ---- what the FADT generator needs ---- */
#define ACPI_PM1_EVT_LEN        4       /* PM1a_EVT_BLK = base + ACPI_PM1_STS */
#define ACPI_PM1_CNT_LEN        2       /* PM1a_CNT_BLK = base + ACPI_PM1_CNT */
#define ACPI_PM_TMR_LEN         4       /* PM_TMR_BLK = base + ACPI_PM_TMR; 24-bit */
#define ACPI_GPE0_BLK_LEN       16      /* GPE0_BLK = base + ACPI_GPE0_STS */
#define ACPI_PM_TMR_FREQ        3579545 /* Hz */
#define ACPI_PM_SCI_GSI         GSI_SCI /* SCI_INT (q35: ACPI_CNTL SCI_IRQ_SEL = 0) */
#define ACPI_PM_Q35_PMBASE      PORT_PC_ACPI_PM /* OVMF programs PMBASE = 0x600 too */
/* SMI_CMD port and its ACPI_ENABLE / ACPI_DISABLE values (q35: the APM port). */
#define ACPI_SMI_CMD_PORT       PORT_APM_CNT
#define ACPI_SMI_CMD_ENABLE     0x02
#define ACPI_SMI_CMD_DISABLE    0x03

/* SLP_TYP values, identical on the q35 and pc machines (QEMU's choice). */
#define ACPI_SLP_TYP_S5         0       /* soft off: DSDT \_S5 = Package { 0, 0, ... } */
#define ACPI_SLP_TYP_S3         1
#define ACPI_SLP_TYP_S4         2

/* ---- bits ---- */
#define ACPI_PM1_TMR_STS        0x0001
#define ACPI_PM1_BM_STS         0x0010
#define ACPI_PM1_GBL_STS        0x0020
#define ACPI_PM1_PWRBTN_STS     0x0100
#define ACPI_PM1_RTC_STS        0x0400
#define ACPI_PM1_PWRBTNOR_STS   0x0800
#define ACPI_PM1_PCIEXPWAK_STS  0x4000
#define ACPI_PM1_WAK_STS        0x8000

#define ACPI_PM1_TMR_EN         0x0001
#define ACPI_PM1_GBL_EN         0x0020
#define ACPI_PM1_PWRBTN_EN      0x0100
#define ACPI_PM1_RTC_EN         0x0400
#define ACPI_PM1_PCIEXPWAK_DIS  0x4000

#define ACPI_PM1_CNT_SCI_EN     0x0001
#define ACPI_PM1_CNT_BM_RLD     0x0002
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP    0x1c00
#define ACPI_PM1_CNT_SLP_EN     0x2000  /* write-only */

#define ACPI_SMI_EN_GBL_SMI     0x00000001
#define ACPI_SMI_EN_EOS         0x00000002
#define ACPI_SMI_EN_APMC        0x00000020
#define ACPI_SMI_EN_SWSMI_TMR   0x00000040
#define ACPI_SMI_EN_TCO         0x00002000
#define ACPI_SMI_STS_APM        0x00000020

struct acpi_pm_config {
	struct clock *clock;            /* drives the PM timer (required) */
	struct irq_line sci;            /* level-triggered SCI */
	/* PM1_CNT.SLP_EN written: sleep state @slp_typ requested. */
	void (*sleep)(void *opaque, unsigned slp_typ);
	void *opaque;
	/*
	 * PM1_CNT.SCI_EN after reset. false on q35 (the OS switches to ACPI
	 * mode through SMI_CMD); true for a machine whose FADT has no SMI_CMD.
	 */
	bool sci_en_at_reset;
};

struct acpi_pm {
	struct acpi_pm_config cfg;
	struct bus *pio;                /* where it is mapped, NULL if not */
	uint16_t base;

	uint16_t pm1_sts, pm1_en;
	uint32_t pm1_cnt;
	uint8_t gpe_sts[ACPI_GPE0_BYTES], gpe_en[ACPI_GPE0_BYTES];
	uint32_t smi_en, smi_sts;
	uint32_t smi_en_wmask;          /* GBL_SMI_EN drops out once SMI_LOCK is set */

	uint64_t tmr_start_ns;          /* clock time at which the timer read 0 */
	uint64_t tmr_epoch;             /* (ticks >> 23) accounted into TMR_STS */
	struct ktimer tmr_timer;        /* next bit-23 flip, armed while TMR_EN */
	int sci_level;
};

/* 0, -EINVAL (no clock), -ENOMEM. Registers start at their reset values. */
int acpi_pm_create(const struct acpi_pm_config *cfg, struct acpi_pm **out);
/* Unmaps and frees. Accepts NULL. */
void acpi_pm_destroy(struct acpi_pm *pm);
/* Reset values: everything 0 (SCI_EN per config), GBL_SMI_EN unlocked. */
void acpi_pm_reset(struct acpi_pm *pm);

/*
 * Decode the block at [@base, @base + 0x80) on @pio (moving it if it was
 * mapped elsewhere). @base must be 128-byte aligned and not 0. Returns 0,
 * -EINVAL or -EEXIST (overlap: left unmapped).
 */
int acpi_pm_map(struct acpi_pm *pm, struct bus *pio, uint16_t base);
void acpi_pm_unmap(struct acpi_pm *pm);

/* The 24-bit PM timer value now. */
uint32_t acpi_pm_timer(struct acpi_pm *pm);

/* For the chipset: APM ACPI enable/disable, SMI_EN/SMI_STS, SMI_LOCK. */
void acpi_pm_set_sci_en(struct acpi_pm *pm, bool on);
uint32_t acpi_pm_smi_en(const struct acpi_pm *pm);
void acpi_pm_smi_sts_set(struct acpi_pm *pm, uint32_t bits);
void acpi_pm_lock_gbl_smi(struct acpi_pm *pm);

/* Events for the machine: power button press, a GPE0 status bit (0..63). */
void acpi_pm_power_button(struct acpi_pm *pm);
void acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned bit);

#endif
