/*
 * Intel Q35 (P35/"Q35") memory controller hub, PCI 00:00.0, 8086:29C0,
 * the host bridge of the q35 machine. Config space 0x40..0xff is plain
 * writable scratch (OVMF reads GGC, GBSM, BGSM, TSEGMB and TOLUD back),
 * except for the registers below, which reach the rest of the machine
 * through callbacks:
 *
 *   0x50 EXT_TSEG_MBYTES  writing 0xffff reads back the extended TSEG size
 *   0x60 PCIEXBAR         moves/enables the ECAM window of the PCI core
 *   0x90 PAM0..PAM6       read/write enables of 0xC0000..0xFFFFF (on_pam)
 *   0x9c F_SMBASE         "SMRAM at default SMBASE" is not offered: reads 0
 *   0x9d SMRAM, 0x9e ESMRAMC  SMRAM/TSEG configuration and lock (on_smram)
 *
 * TSEG sits QEMU-style at [low_top - size, low_top), low_top being the
 * top of RAM below 4 GiB given at creation; TSEGMB is scratch.
 */
#ifndef KVMRUN_DEVICES_CHIPSET_Q35_MCH_H
#define KVMRUN_DEVICES_CHIPSET_Q35_MCH_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/chipset/pci.h"
#include "vmm/memmap.h"

/* Expansion-ROM area the PAM1..6 segments cover. TODO move to memmap.h */
#define MM_PAM_EXPAN_BASE       0x000c0000ULL

#define Q35_MCH_DEVFN           PCI_DEVFN(0, 0)
#define Q35_MCH_VENDOR          0x8086
#define Q35_MCH_DEVICE          0x29c0
#define Q35_MCH_CLASS           0x060000        /* host bridge */

/* Register offsets */
#define MCH_EXT_TSEG_MBYTES     0x50    /* 16 */
#define MCH_GGC                 0x52    /* 16, scratch */
#define MCH_PCIEXBAR            0x60    /* 64 */
#define MCH_PAM0                0x90    /* PAM0..PAM6: 0x90..0x96 */
#define MCH_F_SMBASE            0x9c
#define MCH_SMRAM               0x9d
#define MCH_ESMRAMC             0x9e
#define MCH_GBSM                0xa4    /* 32, scratch */
#define MCH_BGSM                0xa8    /* 32, scratch */
#define MCH_TSEGMB              0xac    /* 32, scratch */
#define MCH_TOLUD               0xb0    /* 16, scratch */

#define MCH_EXT_TSEG_QUERY      0xffff
#define MCH_EXT_TSEG_MAX        0xfff
/*
 * Default extended TSEG size. QEMU used 16 MiB from 2.10 up to 10.1 and
 * moved to 64 MiB for machine types from 10.2 (late 2025); Debian 12's
 * QEMU 7.2 answers 16. 16 MiB is plenty for OVMF with a few vCPUs, and
 * 64 MiB would eat a quarter of the 256 MiB the Debian CI boot gives.
 */
#define Q35_EXT_TSEG_MB_DEFAULT 16

#define MCH_PCIEXBAR_EN         0x1ULL
#define MCH_PCIEXBAR_LEN_MASK   0x6ULL          /* 0: 256 MiB, 1: 128, 2: 64, 3: reserved */
#define MCH_PCIEXBAR_ADDR_MASK  0xff0000000ULL  /* bits 35:28 */
#define MCH_PCIEXBAR_128ADMSK   0x008000000ULL  /* bit 27, used with 128/64 MiB */
#define MCH_PCIEXBAR_64ADMSK    0x004000000ULL  /* bit 26, used with 64 MiB */
#define MCH_PCIEXBAR_RESET      MM_PCIE_ECAM    /* 0xb0000000, EN clear */

#define MCH_PAM_RE_LO           0x01
#define MCH_PAM_WE_LO           0x02
#define MCH_PAM_RE_HI           0x10
#define MCH_PAM_WE_HI           0x20
#define MCH_PAM_SEGS            13      /* 0xF0000 (64K) + 12 x 16K from 0xC0000 */

#define MCH_SMRAM_C_BASE_SEG    0x07    /* hard-wired 010b: A/B segment */
#define MCH_SMRAM_G_SMRAME      0x08
#define MCH_SMRAM_D_LCK         0x10
#define MCH_SMRAM_D_CLS         0x20
#define MCH_SMRAM_D_OPEN        0x40
#define MCH_SMRAM_RESET         0x02

#define MCH_ESMRAMC_T_EN        0x01
#define MCH_ESMRAMC_TSEG_SZ     0x06
#define MCH_ESMRAMC_TSEG_1M     0x00
#define MCH_ESMRAMC_TSEG_2M     0x02
#define MCH_ESMRAMC_TSEG_8M     0x04
#define MCH_ESMRAMC_TSEG_EXT    0x06
#define MCH_ESMRAMC_SM_CACHE    0x20    /* SM_CACHE|SM_L1|SM_L2: read-only 1 */
#define MCH_ESMRAMC_SM_L1       0x10
#define MCH_ESMRAMC_SM_L2       0x08
#define MCH_ESMRAMC_E_SMERR     0x40
#define MCH_ESMRAMC_H_SMRAME    0x80
#define MCH_ESMRAMC_RESET       0x38

/*
 * SMRAM state for the SMM module. TSEG is [tseg_base, tseg_base +
 * tseg_size): tseg_size follows ESMRAMC.TSEG_SZ (0 if that asks for an
 * extended TSEG and none is configured), so it is only meaningful while
 * tseg_closed. Outside SMM TSEG is a blackhole (reads all-ones, writes
 * dropped) iff tseg_closed; in SMM it is always RAM. This is QEMU's model:
 * TSEGMB is not consulted, D_OPEN does not open TSEG.
 */
struct mch_smram {
	uint64_t tseg_base, tseg_size;
	bool tseg_closed;       /* ESMRAMC.T_EN && SMRAM.G_SMRAME */
	bool g_smrame, h_smrame;
	bool d_open, d_cls, d_lck;
	/*
	 * Legacy A/B segment (MM_VGA, 128 KiB): non-SMM code sees RAM there iff
	 * low_open (D_OPEN && !H_SMRAME), else the VGA/MMIO window; SMM code
	 * sees RAM iff low_smram (G_SMRAME && !H_SMRAME) or low_open.
	 */
	bool low_smram, low_open;
};

/* One PAM segment: where it is and whether reads/writes go to RAM. */
struct mch_pam_seg {
	uint32_t base, size;
	bool re, we;
};

struct q35_mch_config {
	uint64_t low_top;       /* top of RAM below 4 GiB (TSEG ends here) */
	/* Extended TSEG size in MiB (0: none, the 0x50 probe reads 0xffff). */
	uint16_t ext_tseg_mb;
	void (*on_smram)(void *opaque, const struct mch_smram *s);
	void (*on_pam)(void *opaque, const struct mch_pam_seg *segs, unsigned n);
	void *opaque;
};

struct q35_mch {
	struct pci_dev pci;
	struct q35_mch_config cfg;
	struct mch_smram smram;         /* last state reported */
	uint8_t pam[7];                 /* last PAM values reported */
};

/*
 * Create the MCH and register it at 00:00.0 on @bus. Resets it, which
 * reports the initial SMRAM and PAM state and disables ECAM. 0 or -errno
 * (-EINVAL with err_set() for a bad low_top or ext_tseg_mb).
 */
int q35_mch_create(struct pci_bus *bus, const struct q35_mch_config *cfg,
		   struct q35_mch **out);
/* Unregister and free. Accepts NULL. */
void q35_mch_destroy(struct q35_mch *mch);
/* Reset values everywhere (pci_bus_reset() does this too). */
void q35_mch_reset(struct q35_mch *mch);
/* Current SMRAM state (what on_smram last reported). */
void q35_mch_get_smram(const struct q35_mch *mch, struct mch_smram *s);

#endif
