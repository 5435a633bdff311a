#include "devices/chipset/q35_mch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define MCH_PAM_COUNT           7
#define PAM_SEG_SIZE            0x4000u         /* PAM1..6: two 16 KiB halves each */
#define PAM_BIOS_SIZE           0x10000u        /* PAM0: MM_BIOS_LOW, 64 KiB */

#define SMRAM_WMASK             (MCH_SMRAM_D_OPEN | MCH_SMRAM_D_CLS | MCH_SMRAM_D_LCK | \
				 MCH_SMRAM_G_SMRAME)
#define SMRAM_WMASK_LCK         MCH_SMRAM_D_CLS
#define ESMRAMC_WMASK           (MCH_ESMRAMC_H_SMRAME | MCH_ESMRAMC_TSEG_SZ | MCH_ESMRAMC_T_EN)
#define PCIEXBAR_WMASK          (MCH_PCIEXBAR_ADDR_MASK | MCH_PCIEXBAR_128ADMSK | \
				 MCH_PCIEXBAR_64ADMSK | MCH_PCIEXBAR_LEN_MASK | MCH_PCIEXBAR_EN)

static struct q35_mch *to_mch(struct pci_dev *d)
{
	return container_of(d, struct q35_mch, pci);
}

static bool touches(unsigned off, unsigned size, unsigned reg, unsigned len)
{
	return ranges_overlap(off, size, reg, len);
}

/* ---- EXT_TSEG_MBYTES ---- */

static void update_ext_tseg(struct q35_mch *mch)
{
	/* The 0xffff query reads back the size; without one it stays 0xffff. */
	if (mch->cfg.ext_tseg_mb &&
	    pci_cfg_get16(&mch->pci, MCH_EXT_TSEG_MBYTES) == MCH_EXT_TSEG_QUERY)
		pci_cfg_set16(&mch->pci, MCH_EXT_TSEG_MBYTES, mch->cfg.ext_tseg_mb);
}

/* ---- PCIEXBAR ---- */

static void update_pciexbar(struct q35_mch *mch)
{
	uint64_t v = pci_cfg_get32(&mch->pci, MCH_PCIEXBAR) |
		     (uint64_t)pci_cfg_get32(&mch->pci, MCH_PCIEXBAR + 4) << 32;
	uint64_t mask = MCH_PCIEXBAR_ADDR_MASK, size;

	switch ((v & MCH_PCIEXBAR_LEN_MASK) >> 1) {
	case 0:
		size = 256 * MiB;
		break;
	case 1:
		size = 128 * MiB;
		mask |= MCH_PCIEXBAR_128ADMSK;
		break;
	case 2:
		size = 64 * MiB;
		mask |= MCH_PCIEXBAR_128ADMSK | MCH_PCIEXBAR_64ADMSK;
		break;
	default:
		/* Reserved length: a guest error; keep the current window (as QEMU). */
		TRACE(TRACE_PCI, "q35-mch: PCIEXBAR %#llx has a reserved LENGTH",
		      (unsigned long long)v);
		return;
	}
	pci_bus_set_ecam(mch->pci.bus, v & MCH_PCIEXBAR_EN, v & mask, size);
}

/* ---- PAM ---- */

static void pam_segments(const struct q35_mch *mch, struct mch_pam_seg *segs)
{
	const uint8_t *pam = &mch->pci.cfg[MCH_PAM0];
	unsigned i;

	segs[0] = (struct mch_pam_seg){ (uint32_t)MM_BIOS_LOW, PAM_BIOS_SIZE,
					pam[0] & MCH_PAM_RE_HI, pam[0] & MCH_PAM_WE_HI };
	for (i = 1; i < MCH_PAM_COUNT; i++) {
		uint32_t base = (uint32_t)MM_PAM_EXPAN_BASE + (i - 1) * 2 * PAM_SEG_SIZE;

		segs[2 * i - 1] = (struct mch_pam_seg){ base, PAM_SEG_SIZE, pam[i] & MCH_PAM_RE_LO,
							pam[i] & MCH_PAM_WE_LO };
		segs[2 * i] = (struct mch_pam_seg){ base + PAM_SEG_SIZE, PAM_SEG_SIZE,
						    pam[i] & MCH_PAM_RE_HI,
						    pam[i] & MCH_PAM_WE_HI };
	}
}

static void update_pam(struct q35_mch *mch, bool force)
{
	struct mch_pam_seg segs[MCH_PAM_SEGS];

	if (!force && !memcmp(mch->pam, &mch->pci.cfg[MCH_PAM0], MCH_PAM_COUNT))
		return;
	memcpy(mch->pam, &mch->pci.cfg[MCH_PAM0], MCH_PAM_COUNT);
	pam_segments(mch, segs);
	TRACE(TRACE_PCI, "q35-mch: PAM %02x %02x %02x %02x %02x %02x %02x", mch->pam[0],
	      mch->pam[1], mch->pam[2], mch->pam[3], mch->pam[4], mch->pam[5], mch->pam[6]);
	if (mch->cfg.on_pam)
		mch->cfg.on_pam(mch->cfg.opaque, segs, MCH_PAM_SEGS);
}

/* ---- SMRAM / TSEG ---- */

static uint64_t tseg_size(const struct q35_mch *mch, uint8_t esmramc)
{
	switch (esmramc & MCH_ESMRAMC_TSEG_SZ) {
	case MCH_ESMRAMC_TSEG_1M:
		return 1 * MiB;
	case MCH_ESMRAMC_TSEG_2M:
		return 2 * MiB;
	case MCH_ESMRAMC_TSEG_8M:
		return 8 * MiB;
	default:
		return (uint64_t)mch->cfg.ext_tseg_mb * MiB;
	}
}

static void compute_smram(const struct q35_mch *mch, struct mch_smram *s)
{
	uint8_t sm = mch->pci.cfg[MCH_SMRAM];
	uint8_t esm = mch->pci.cfg[MCH_ESMRAMC];
	uint64_t size = MIN(tseg_size(mch, esm), mch->cfg.low_top);

	memset(s, 0, sizeof(*s));
	s->tseg_size = size;
	s->tseg_base = mch->cfg.low_top - size;
	s->g_smrame = sm & MCH_SMRAM_G_SMRAME;
	s->h_smrame = esm & MCH_ESMRAMC_H_SMRAME;
	s->d_open = sm & MCH_SMRAM_D_OPEN;
	s->d_cls = sm & MCH_SMRAM_D_CLS;
	s->d_lck = sm & MCH_SMRAM_D_LCK;
	s->tseg_closed = size && (esm & MCH_ESMRAMC_T_EN) && s->g_smrame;
	s->low_smram = s->g_smrame && !s->h_smrame;
	s->low_open = s->d_open && !s->h_smrame;
}

static void update_smram(struct q35_mch *mch, bool force)
{
	struct mch_smram s;

	/* D_LCK: D_OPEN drops, SMRAM keeps only D_CLS writable, ESMRAMC none. */
	if (mch->pci.cfg[MCH_SMRAM] & MCH_SMRAM_D_LCK) {
		mch->pci.cfg[MCH_SMRAM] &= (uint8_t)~MCH_SMRAM_D_OPEN;
		mch->pci.wmask[MCH_SMRAM] = SMRAM_WMASK_LCK;
		mch->pci.wmask[MCH_ESMRAMC] = 0;
	}
	compute_smram(mch, &s);
	if (!force && !memcmp(&s, &mch->smram, sizeof(s)))
		return;
	mch->smram = s;
	TRACE(TRACE_SMM, "q35-mch: SMRAM=%#x ESMRAMC=%#x: TSEG %#llx+%#llx %s%s%s",
	      mch->pci.cfg[MCH_SMRAM], mch->pci.cfg[MCH_ESMRAMC],
	      (unsigned long long)s.tseg_base, (unsigned long long)s.tseg_size,
	      s.tseg_closed ? "closed" : "open", s.d_lck ? " locked" : "",
	      s.low_open ? " A/B-open" : "");
	if (mch->cfg.on_smram)
		mch->cfg.on_smram(mch->cfg.opaque, &s);
}

void q35_mch_get_smram(const struct q35_mch *mch, struct mch_smram *s)
{
	*s = mch->smram;
}

/* ---- PCI glue ---- */

static void mch_config_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size)
{
	struct q35_mch *mch = to_mch(d);

	pci_dev_cfg_write_default(d, off, val, size);
	if (touches(off, size, MCH_EXT_TSEG_MBYTES, 2))
		update_ext_tseg(mch);
	if (touches(off, size, MCH_PCIEXBAR, 8))
		update_pciexbar(mch);
	if (touches(off, size, MCH_PAM0, MCH_PAM_COUNT))
		update_pam(mch, false);
	if (touches(off, size, MCH_SMRAM, 2))
		update_smram(mch, false);
}

/* The core restored the reset image; push the resulting state out. */
static void mch_reset_hook(struct pci_dev *d)
{
	struct q35_mch *mch = to_mch(d);

	update_ext_tseg(mch);
	update_pciexbar(mch);
	update_pam(mch, true);
	update_smram(mch, true);
}

static const struct pci_dev_ops mch_pci_ops = {
	.config_write = mch_config_write,
	.reset = mch_reset_hook,
};

static void mch_init_config(struct q35_mch *mch)
{
	struct pci_dev *d = &mch->pci;
	unsigned i;

	pci_dev_init(d, &(struct pci_dev_info){
		.name = "q35-mch",
		.vendor = Q35_MCH_VENDOR,
		.device = Q35_MCH_DEVICE,
		.class_code = Q35_MCH_CLASS,
		.subsys_vendor = PCI_SUBSYS_VENDOR_QEMU,
		.subsys_id = PCI_SUBSYS_ID_QEMU,
		.ops = &mch_pci_ops,
	});
	/* Device-specific space is scratch unless a register says otherwise. */
	memset(&d->wmask[PCI_CFG_HDR_END], 0xff, PCI_CFG_SIZE - PCI_CFG_HDR_END);

	pci_cfg_set16(d, MCH_EXT_TSEG_MBYTES, MCH_EXT_TSEG_QUERY);
	pci_cfg_set32(d, MCH_PCIEXBAR, (uint32_t)MCH_PCIEXBAR_RESET);
	pci_cfg_set32(d, MCH_PCIEXBAR + 4, (uint32_t)(MCH_PCIEXBAR_RESET >> 32));
	pci_cfg_set_wmask(d, MCH_PCIEXBAR, 4, (uint32_t)PCIEXBAR_WMASK);
	pci_cfg_set_wmask(d, MCH_PCIEXBAR + 4, 4, (uint32_t)(PCIEXBAR_WMASK >> 32));
	pci_cfg_set_wmask(d, MCH_PAM0, 1, MCH_PAM_RE_HI | MCH_PAM_WE_HI);
	for (i = 1; i < MCH_PAM_COUNT; i++)
		pci_cfg_set_wmask(d, MCH_PAM0 + i, 1,
				  MCH_PAM_RE_LO | MCH_PAM_WE_LO | MCH_PAM_RE_HI | MCH_PAM_WE_HI);
	/*
	 * No SMRAM at the default SMBASE: the register is read-only 0, so
	 * OVMF's probe (write 0xff, expect 0x01) reports "not present".
	 */
	pci_cfg_set_wmask(d, MCH_F_SMBASE, 1, 0);
	pci_cfg_set8(d, MCH_SMRAM, MCH_SMRAM_RESET);
	pci_cfg_set_wmask(d, MCH_SMRAM, 1, SMRAM_WMASK);
	pci_cfg_set8(d, MCH_ESMRAMC, MCH_ESMRAMC_RESET);
	pci_cfg_set_wmask(d, MCH_ESMRAMC, 1, ESMRAMC_WMASK);
}

int q35_mch_create(struct pci_bus *bus, const struct q35_mch_config *cfg,
		   struct q35_mch **out)
{
	struct q35_mch *mch;
	int r;

	if (!bus || !cfg || !out)
		return -EINVAL;
	if (!cfg->low_top || cfg->low_top > 4 * GiB || !IS_ALIGNED(cfg->low_top, MiB))
		return err_set(-EINVAL, "q35-mch: low RAM top %#llx is not a 1 MiB-aligned "
			       "address below 4 GiB", (unsigned long long)cfg->low_top);
	if (cfg->ext_tseg_mb > MCH_EXT_TSEG_MAX)
		return err_set(-EINVAL, "q35-mch: extended TSEG of %u MiB is over the %u MiB "
			       "maximum", cfg->ext_tseg_mb, MCH_EXT_TSEG_MAX);
	mch = calloc(1, sizeof(*mch));
	if (!mch)
		return -ENOMEM;
	mch->cfg = *cfg;
	mch_init_config(mch);
	r = pci_dev_register(bus, Q35_MCH_DEVFN, &mch->pci);
	if (r < 0) {
		err_set(r, "q35-mch: cannot register at 00:00.0 (%s)",
			r == -EEXIST ? "slot in use" : "invalid");
		goto err_free;
	}
	q35_mch_reset(mch);
	*out = mch;
	return 0;

err_free:
	free(mch);
	return r;
}

void q35_mch_reset(struct q35_mch *mch)
{
	pci_dev_reset(&mch->pci);
}

void q35_mch_destroy(struct q35_mch *mch)
{
	if (!mch)
		return;
	if (mch->pci.bus)
		pci_bus_set_ecam(mch->pci.bus, false, 0, 0);
	pci_dev_unregister(&mch->pci);
	free(mch);
}
