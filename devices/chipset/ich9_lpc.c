#include "devices/chipset/ich9_lpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/memmap.h"
#include "vmm/util.h"

#define ICH9_GSI_LINES  24
/* ISA IRQs a PIRQ may be steered to in PIC mode (0, 1, 2, 8, 13 are reserved). */
#define ICH9_PIRQ_ISA_OK ((1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | \
			  (1u << 9) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 14) | \
			  (1u << 15))

static struct ich9_lpc *to_lpc(struct pci_dev *d)
{
	return container_of(d, struct ich9_lpc, pci);
}

/* ---- interrupt lines ---- */

int ich9_lpc_pirq(unsigned devfn, unsigned pin)
{
	unsigned slot = PCI_SLOT(devfn), intx = pin - 1;

	if (pin < PCI_INTA || pin > PCI_INTD || devfn >= PCI_NUM_DEVFN)
		return -1;
	/* D25IR..D31IR reset to INTA->PIRQA .. INTD->PIRQD; D30 (DMI-PCI) uses E..H. */
	if (slot == 30)
		return (int)(intx + 4);
	if (slot >= 25)
		return (int)intx;
	/* Everything else: rotate over PIRQE..H, away from the PCIe ports' A..D. */
	return (int)((slot + intx) % 4 + 4);
}

int ich9_lpc_sci_gsi(const struct ich9_lpc *lpc)
{
	static const int sel[8] = { 9, 10, 11, -1, 20, 21, -1, -1 };

	return sel[lpc->pci.cfg[ICH9_ACPI_CNTL] & ICH9_ACPI_CNTL_SCI_SEL];
}

static uint8_t pirq_rout(const struct ich9_lpc *lpc, unsigned pirq)
{
	return lpc->pci.cfg[pirq < 4 ? ICH9_PIRQA_ROUT + pirq : ICH9_PIRQE_ROUT + pirq - 4];
}

/* Recompute every GSI the LPC drives and report the ones that changed. */
static void update_lines(struct ich9_lpc *lpc)
{
	const struct irq_line *l = &lpc->cfg.irq;
	uint32_t want = 0, diff;
	unsigned p, g;
	int sci;

	for (p = 0; p < ICH9_PIRQS; p++) {
		uint8_t r = pirq_rout(lpc, p);

		if (!(lpc->pirq_level & (1u << p)))
			continue;
		want |= 1u << (GSI_PCI_FIRST + p);
		if (!(r & ICH9_PIRQ_IRQEN) && (ICH9_PIRQ_ISA_OK & (1u << (r & ICH9_PIRQ_IRQ_MASK))))
			want |= 1u << (r & ICH9_PIRQ_IRQ_MASK);
	}
	sci = ich9_lpc_sci_gsi(lpc);
	if (lpc->sci_level && sci >= 0)
		want |= 1u << sci;

	diff = want ^ lpc->driven;
	lpc->driven = want;
	for (g = 0; g < ICH9_GSI_LINES; g++) {
		if (!(diff & (1u << g)))
			continue;
		TRACE(TRACE_IRQ, "ich9-lpc: GSI %u -> %u", g, !!(want & (1u << g)));
		if (l->set_level)
			l->set_level(l->opaque, g, !!(want & (1u << g)));
	}
}

static int lpc_map_intx(void *opaque, unsigned devfn, unsigned pin)
{
	return ich9_lpc_pirq(devfn, pin);
}

static void lpc_set_pirq(void *opaque, unsigned link, int level)
{
	struct ich9_lpc *lpc = opaque;

	if (link >= ICH9_PIRQS)
		return;
	if (level)
		lpc->pirq_level |= 1u << link;
	else
		lpc->pirq_level &= ~(1u << link);
	update_lines(lpc);
}

static void lpc_sci_set(void *opaque, unsigned gsi, int level)
{
	struct ich9_lpc *lpc = opaque;

	lpc->sci_level = !!level;
	update_lines(lpc);
}

/* ---- PMBASE / ACPI_CNTL, GEN_PMCON_1, RCBA ---- */

static void update_pm(struct ich9_lpc *lpc)
{
	uint16_t base = pci_cfg_get16(&lpc->pci, ICH9_PMBASE) & ICH9_PMBASE_MASK;

	/* Like QEMU, PMBASE 0 means "not decoded" even with ACPI_EN. */
	if ((lpc->pci.cfg[ICH9_ACPI_CNTL] & ICH9_ACPI_CNTL_EN) && base)
		acpi_pm_map(lpc->pm, lpc->cfg.pio, base);
	else
		acpi_pm_unmap(lpc->pm);
}

static void update_pmcon(struct ich9_lpc *lpc)
{
	if (!(pci_cfg_get16(&lpc->pci, ICH9_GEN_PMCON_1) & ICH9_GEN_PMCON_1_SMI_LOCK))
		return;
	/* SMI_LOCK is write-once until reset and freezes GBL_SMI_EN. */
	lpc->pci.wmask[ICH9_GEN_PMCON_1] &= (uint8_t)~ICH9_GEN_PMCON_1_SMI_LOCK;
	acpi_pm_lock_gbl_smi(lpc->pm);
}

static uint64_t rcrb_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return 0;
}

static void rcrb_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		       unsigned size)
{
}

static const struct dev_ops rcrb_ops = { .name = "ich9-rcrb", .read = rcrb_read,
					 .write = rcrb_write };

static void update_rcba(struct ich9_lpc *lpc)
{
	uint32_t rcba = pci_cfg_get32(&lpc->pci, ICH9_RCBA);
	uint64_t base = rcba & ICH9_RCBA_MASK;
	bool want = rcba & ICH9_RCBA_EN;
	int r;

	if (lpc->rcrb_mapped && (!want || base != lpc->rcrb_base)) {
		bus_unregister(lpc->cfg.mmio, lpc->rcrb_base, lpc);
		lpc->rcrb_mapped = false;
	}
	if (!want || lpc->rcrb_mapped)
		return;
	r = bus_register(lpc->cfg.mmio, base, ICH9_RCRB_SIZE, &rcrb_ops, lpc);
	if (r < 0) {
		TRACE(TRACE_PCI, "ich9-lpc: RCRB at %#llx not mapped (%d)",
		      (unsigned long long)base, r);
		return;
	}
	lpc->rcrb_mapped = true;
	lpc->rcrb_base = base;
}

/* ---- APM ports 0xB2/0xB3 ---- */

static void apm_cnt_write(struct ich9_lpc *lpc, const struct io_ctx *ctx, uint8_t val)
{
	lpc->apm_cnt = val;
	TRACE(TRACE_SMM, "ich9-lpc: APM_CNT <- %#x (SMI_EN %#x)", val, acpi_pm_smi_en(lpc->pm));
	if (val == ICH9_APM_ACPI_ENABLE || val == ICH9_APM_ACPI_DISABLE) {
		acpi_pm_set_sci_en(lpc->pm, val == ICH9_APM_ACPI_ENABLE);
		return;
	}
	if (!(acpi_pm_smi_en(lpc->pm) & ACPI_SMI_EN_APMC))
		return;
	acpi_pm_smi_sts_set(lpc->pm, ACPI_SMI_STS_APM);
	if (lpc->cfg.smi)
		lpc->cfg.smi(lpc->cfg.opaque, ctx ? ctx->cpu : -1, lpc->smi_broadcast);
}

static uint64_t apm_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct ich9_lpc *lpc = dev;
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size && off + i < 2; i++)
		v |= (uint64_t)(off + i ? lpc->apm_sts : lpc->apm_cnt) << (8 * i);
	return v;
}

static void apm_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	struct ich9_lpc *lpc = dev;

	/* A word write stores the data byte (0xB3) before the command triggers. */
	if (off + size > 1 && off <= 1)
		lpc->apm_sts = (uint8_t)(val >> (8 * (1 - off)));
	if (off == 0)
		apm_cnt_write(lpc, ctx, (uint8_t)val);
}

static const struct dev_ops apm_ops = { .name = "apm", .read = apm_read, .write = apm_write };

/* ---- PCI glue ---- */

static void lpc_config_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size)
{
	struct ich9_lpc *lpc = to_lpc(d);

	pci_dev_cfg_write_default(d, off, val, size);
	if (ranges_overlap(off, size, ICH9_GEN_PMCON_1, 2))
		update_pmcon(lpc);
	if (ranges_overlap(off, size, ICH9_PMBASE, 4) ||
	    ranges_overlap(off, size, ICH9_ACPI_CNTL, 1))
		update_pm(lpc);
	if (ranges_overlap(off, size, ICH9_RCBA, 4))
		update_rcba(lpc);
	if (ranges_overlap(off, size, ICH9_ACPI_CNTL, 1) ||
	    ranges_overlap(off, size, ICH9_PIRQA_ROUT, 4) ||
	    ranges_overlap(off, size, ICH9_PIRQE_ROUT, 4))
		update_lines(lpc);
}

static void lpc_reset_hook(struct pci_dev *d)
{
	struct ich9_lpc *lpc = to_lpc(d);

	acpi_pm_reset(lpc->pm);
	lpc->apm_cnt = 0;
	lpc->apm_sts = 0;
	/* Negotiation starts over after every reset. */
	lpc->smi_broadcast = false;
	update_pm(lpc);
	update_rcba(lpc);
	update_lines(lpc);
}

static const struct pci_dev_ops lpc_pci_ops = {
	.config_write = lpc_config_write,
	.reset = lpc_reset_hook,
};

static void lpc_init_config(struct ich9_lpc *lpc)
{
	struct pci_dev *d = &lpc->pci;
	unsigned i;

	pci_dev_init(d, &(struct pci_dev_info){
		.name = "ich9-lpc",
		.vendor = ICH9_LPC_VENDOR,
		.device = ICH9_LPC_DEVICE,
		.revision = ICH9_LPC_REVISION,
		.class_code = ICH9_LPC_CLASS,
		.subsys_vendor = PCI_SUBSYS_VENDOR_QEMU,
		.subsys_id = PCI_SUBSYS_ID_QEMU,
		/* QEMU's LPC is multi-function (SATA 1F.2, SMBus 1F.3 may follow). */
		.header_type = PCI_HEADER_MULTIFUNC,
		.ops = &lpc_pci_ops,
	});
	memset(&d->wmask[PCI_CFG_HDR_END], 0xff, PCI_CFG_SIZE - PCI_CFG_HDR_END);

	pci_cfg_set32(d, ICH9_PMBASE, ICH9_PMBASE_RTE);
	pci_cfg_set_wmask(d, ICH9_PMBASE, 4, ICH9_PMBASE_MASK);
	pci_cfg_set_wmask(d, ICH9_ACPI_CNTL, 4, ICH9_ACPI_CNTL_EN | ICH9_ACPI_CNTL_SCI_SEL);
	for (i = 0; i < 4; i++) {
		pci_cfg_set8(d, ICH9_PIRQA_ROUT + i, ICH9_PIRQ_RESET);
		pci_cfg_set8(d, ICH9_PIRQE_ROUT + i, ICH9_PIRQ_RESET);
		pci_cfg_set_wmask(d, ICH9_PIRQA_ROUT + i, 1, ICH9_PIRQ_IRQEN | ICH9_PIRQ_IRQ_MASK);
		pci_cfg_set_wmask(d, ICH9_PIRQE_ROUT + i, 1, ICH9_PIRQ_IRQEN | ICH9_PIRQ_IRQ_MASK);
	}
	pci_cfg_set_wmask(d, ICH9_RCBA, 4, ICH9_RCBA_MASK | ICH9_RCBA_EN);
}

int ich9_lpc_create(struct pci_bus *bus, const struct ich9_lpc_config *cfg,
		    struct ich9_lpc **out)
{
	struct pci_intx_router router;
	struct ich9_lpc *lpc;
	int r;

	if (!bus || !cfg || !cfg->pio || !cfg->mmio || !cfg->clock || !out)
		return -EINVAL;
	lpc = calloc(1, sizeof(*lpc));
	if (!lpc)
		return -ENOMEM;
	lpc->cfg = *cfg;
	r = acpi_pm_create(&(struct acpi_pm_config){
		.clock = cfg->clock,
		.sci = { .set_level = lpc_sci_set, .opaque = lpc },
		.sleep = cfg->sleep,
		.opaque = cfg->opaque,
	}, &lpc->pm);
	if (r < 0)
		goto err_free;
	r = bus_register(cfg->pio, PORT_APM_CNT, 2, &apm_ops, lpc);
	if (r < 0) {
		err_set(r, "ich9-lpc: cannot register APM ports %#x-%#x (in use)", PORT_APM_CNT,
			PORT_APM_STS);
		goto err_pm;
	}
	lpc_init_config(lpc);
	r = pci_dev_register(bus, ICH9_LPC_DEVFN, &lpc->pci);
	if (r < 0) {
		err_set(r, "ich9-lpc: cannot register at 00:1f.0 (%s)",
			r == -EEXIST ? "slot in use" : "invalid");
		goto err_apm;
	}
	router = (struct pci_intx_router){ lpc_map_intx, lpc_set_pirq, lpc };
	pci_bus_set_intx_router(bus, &router);
	ich9_lpc_reset(lpc);
	*out = lpc;
	return 0;

err_apm:
	bus_unregister(cfg->pio, PORT_APM_CNT, lpc);
err_pm:
	acpi_pm_destroy(lpc->pm);
err_free:
	free(lpc);
	return r;
}

void ich9_lpc_reset(struct ich9_lpc *lpc)
{
	pci_dev_reset(&lpc->pci);
}

void ich9_lpc_set_smi_broadcast(struct ich9_lpc *lpc, bool on)
{
	lpc->smi_broadcast = on;
}

struct acpi_pm *ich9_lpc_pm(struct ich9_lpc *lpc)
{
	return lpc->pm;
}

void ich9_lpc_destroy(struct ich9_lpc *lpc)
{
	struct pci_bus *bus;

	if (!lpc)
		return;
	bus = lpc->pci.bus;
	/* Hand asserted PIRQs back to the default router, then drop our lines. */
	if (bus)
		pci_bus_set_intx_router(bus, NULL);
	pci_dev_unregister(&lpc->pci);
	lpc->pirq_level = 0;
	lpc->sci_level = 0;
	update_lines(lpc);
	if (lpc->rcrb_mapped)
		bus_unregister(lpc->cfg.mmio, lpc->rcrb_base, lpc);
	bus_unregister(lpc->cfg.pio, PORT_APM_CNT, lpc);
	acpi_pm_destroy(lpc->pm);
	free(lpc);
}
