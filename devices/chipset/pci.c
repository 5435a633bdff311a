#include "devices/chipset/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/memmap.h"
#include "vmm/util.h"

#define CF8_ENABLE      0x80000000u
#define CF8_RW_MASK     0x80fffffcu     /* bits 30:24 and 1:0 are reserved, read 0 */
#define CF8_PORTS       8               /* 0xCF8..0xCFF */
#define CF9_OFF         (PORT_RESET_CONTROL - PORT_PCI_CONFIG)  /* inside the CF8 dword */
#define ECAM_MIN_SIZE   (1 * MiB)       /* one bus */
#define ECAM_MAX_SIZE   (256 * MiB)     /* 256 buses */

static uint32_t ones(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* A config access the device model accepts: 1, 2 or 4 bytes inside one dword. */
static bool clean_access(unsigned off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && (off & 3) + size <= 4;
}

/* ---- raw config-space accessors ---- */

uint8_t pci_cfg_get8(const struct pci_dev *d, unsigned off)
{
	return off < PCIE_CFG_SIZE ? d->cfg[off] : 0xff;
}

uint16_t pci_cfg_get16(const struct pci_dev *d, unsigned off)
{
	return off + 2 <= PCIE_CFG_SIZE ? ld_le16(&d->cfg[off]) : 0xffff;
}

uint32_t pci_cfg_get32(const struct pci_dev *d, unsigned off)
{
	return off + 4 <= PCIE_CFG_SIZE ? ld_le32(&d->cfg[off]) : 0xffffffffu;
}

void pci_cfg_set8(struct pci_dev *d, unsigned off, uint8_t v)
{
	if (off < PCIE_CFG_SIZE)
		d->cfg[off] = v;
}

void pci_cfg_set16(struct pci_dev *d, unsigned off, uint16_t v)
{
	if (off + 2 <= PCIE_CFG_SIZE)
		st_le16(&d->cfg[off], v);
}

void pci_cfg_set32(struct pci_dev *d, unsigned off, uint32_t v)
{
	if (off + 4 <= PCIE_CFG_SIZE)
		st_le32(&d->cfg[off], v);
}

static void set_mask_bytes(uint8_t *arr, unsigned off, unsigned len, uint32_t mask)
{
	unsigned i;

	for (i = 0; i < len && off + i < PCIE_CFG_SIZE; i++)
		arr[off + i] = i < 4 ? (uint8_t)(mask >> (8 * i)) : 0;
}

void pci_cfg_set_wmask(struct pci_dev *d, unsigned off, unsigned len, uint32_t mask)
{
	set_mask_bytes(d->wmask, off, len, mask);
}

void pci_cfg_set_w1cmask(struct pci_dev *d, unsigned off, unsigned len, uint32_t mask)
{
	set_mask_bytes(d->w1cmask, off, len, mask);
}

/* ---- INTx ---- */

unsigned pci_swizzle_link(unsigned devfn, unsigned pin)
{
	return (PCI_SLOT(devfn) + pin - 1) & 3;
}

static int default_map(void *opaque, unsigned devfn, unsigned pin)
{
	return (int)pci_swizzle_link(devfn, pin);
}

static void default_set_link(void *opaque, unsigned link, int level)
{
	struct pci_bus *b = opaque;
	const struct irq_line *l = &b->cfg.intx;
	unsigned base = l->gsi ? l->gsi : GSI_PCI_FIRST;

	if (l->set_level)
		l->set_level(l->opaque, base + link, level);
}

static void intx_drop(struct pci_dev *d)
{
	struct pci_bus *b = d->bus;
	unsigned link;

	if (!b || d->intx_link < 0)
		return;
	link = (unsigned)d->intx_link;
	d->intx_link = -1;
	if (b->link_count[link] && --b->link_count[link] == 0)
		b->router.set_link(b->router.opaque, link, 0);
}

/* Recompute what the bus sees from the device's level and COMMAND. */
static void intx_update(struct pci_dev *d)
{
	struct pci_bus *b = d->bus;
	uint8_t pin = d->cfg[PCI_CFG_INT_PIN];
	bool want;
	int link;

	want = d->intx_level && pin >= PCI_INTA && pin <= PCI_INTD &&
	       !(pci_cfg_get16(d, PCI_CFG_COMMAND) & PCI_CMD_INTX_DISABLE);
	if (!b || want == (d->intx_link >= 0))
		return;
	if (!want) {
		intx_drop(d);
		return;
	}
	link = b->router.map(b->router.opaque, d->devfn, pin);
	if (link < 0 || link >= PCI_MAX_LINKS)
		return;         /* not connected */
	d->intx_link = link;
	if (b->link_count[link]++ == 0)
		b->router.set_link(b->router.opaque, (unsigned)link, 1);
}

void pci_dev_set_irq(struct pci_dev *d, int level)
{
	uint16_t sts = pci_cfg_get16(d, PCI_CFG_STATUS);

	d->intx_level = !!level;
	/* STATUS.INTX reflects the device's request, whatever INTX_DISABLE says. */
	sts = d->intx_level ? (sts | PCI_STS_INTX) : (sts & ~PCI_STS_INTX);
	pci_cfg_set16(d, PCI_CFG_STATUS, sts);
	intx_update(d);
}

void pci_bus_set_intx_router(struct pci_bus *b, const struct pci_intx_router *r)
{
	unsigned i;

	/* Move asserted lines over: drop them on the old router first. */
	for (i = 0; i < PCI_NUM_DEVFN; i++)
		if (b->devs[i])
			intx_drop(b->devs[i]);
	memset(b->link_count, 0, sizeof(b->link_count));
	if (r && r->map && r->set_link)
		b->router = *r;
	else
		b->router = (struct pci_intx_router){ default_map, default_set_link, b };
	for (i = 0; i < PCI_NUM_DEVFN; i++)
		if (b->devs[i])
			intx_update(b->devs[i]);
}

/* ---- BAR mapping ---- */

bool pci_dev_bus_master(const struct pci_dev *d)
{
	return pci_cfg_get16(d, PCI_CFG_COMMAND) & PCI_CMD_MASTER;
}

static unsigned bar_reg(unsigned idx)
{
	return PCI_CFG_BAR0 + 4 * idx;
}

/* True when every writable bit of the dword at @off is set: a sizing probe. */
static bool all_wmask_bits_set(const struct pci_dev *d, unsigned off)
{
	uint32_t wm = ld_le32(&d->wmask[off]);

	return wm && (pci_cfg_get32(d, off) & wm) == wm;
}

/*
 * Where BAR @idx should be mapped, or false if it should not be: decoding
 * disabled, address 0, a sizing pattern (all writable bits set), or a
 * range that wraps or leaves the address space of its kind.
 */
static bool bar_target(const struct pci_dev *d, unsigned idx, uint64_t *addr)
{
	const struct pci_bar *bar = &d->bars[idx];
	uint16_t cmd = pci_cfg_get16(d, PCI_CFG_COMMAND);
	unsigned reg = bar_reg(idx);
	uint64_t a, last;

	if (bar->flags & PCI_BAR_IO) {
		if (!(cmd & PCI_CMD_IO) || all_wmask_bits_set(d, reg))
			return false;
		a = pci_cfg_get32(d, reg) & ~3u & ~(bar->size - 1);
		if (!a || a + bar->size - 1 > 0xffff)
			return false;
		*addr = a;
		return true;
	}
	if (!(cmd & PCI_CMD_MEM) || all_wmask_bits_set(d, reg))
		return false;
	a = pci_cfg_get32(d, reg) & ~0xfu;
	if (bar->flags & PCI_BAR_MEM64) {
		if (all_wmask_bits_set(d, reg + 4))
			return false;
		a |= (uint64_t)pci_cfg_get32(d, reg + 4) << 32;
	}
	a &= ~(bar->size - 1);
	if (!a || add_overflows_u64(a, bar->size - 1, &last))
		return false;
	if (!(bar->flags & PCI_BAR_MEM64) && last > 0xffffffffull)
		return false;
	*addr = a;
	return true;
}

static struct bus *bar_space(const struct pci_dev *d, unsigned idx)
{
	return d->bars[idx].flags & PCI_BAR_IO ? d->bus->pio : d->bus->mmio;
}

static void bar_unmap(struct pci_dev *d, unsigned idx)
{
	struct pci_bar *bar = &d->bars[idx];

	if (!bar->mapped)
		return;
	bus_unregister(bar_space(d, idx), bar->addr, bar->opaque);
	bar->mapped = false;
	TRACE(TRACE_PCI, "pci %02x.%x %s: BAR%u unmapped from %#llx", PCI_SLOT(d->devfn),
	      PCI_FUNC(d->devfn), d->name, idx, (unsigned long long)bar->addr);
}

void pci_dev_update_mappings(struct pci_dev *d)
{
	unsigned i;

	if (!d->bus)
		return;
	for (i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *bar = &d->bars[i];
		uint64_t addr = 0;
		bool want;
		int r;

		if (!bar->size)
			continue;
		want = bar_target(d, i, &addr);
		if (bar->mapped && want && bar->addr == addr)
			continue;
		bar_unmap(d, i);
		if (!want)
			continue;
		r = bus_register(bar_space(d, i), addr, bar->size, bar->ops, bar->opaque);
		if (r < 0) {
			/* A guest programming error (overlap): leave it unmapped. */
			TRACE(TRACE_PCI, "pci %02x.%x %s: BAR%u at %#llx+%#llx not mapped (%d)",
			      PCI_SLOT(d->devfn), PCI_FUNC(d->devfn), d->name, i,
			      (unsigned long long)addr, (unsigned long long)bar->size, r);
			log_debug("pci %02x.%x %s: BAR%u at %#llx overlaps another range",
				  PCI_SLOT(d->devfn), PCI_FUNC(d->devfn), d->name, i,
				  (unsigned long long)addr);
			continue;
		}
		bar->mapped = true;
		bar->addr = addr;
		TRACE(TRACE_PCI, "pci %02x.%x %s: BAR%u mapped at %#llx+%#llx", PCI_SLOT(d->devfn),
		      PCI_FUNC(d->devfn), d->name, i, (unsigned long long)addr,
		      (unsigned long long)bar->size);
	}
}

uint64_t pci_bar_addr(const struct pci_dev *d, unsigned idx)
{
	if (idx >= PCI_NUM_BARS || !d->bars[idx].mapped)
		return ~0ULL;
	return d->bars[idx].addr;
}

int pci_bar_init(struct pci_dev *d, unsigned idx, uint64_t size, unsigned flags,
		 const struct dev_ops *ops, void *opaque)
{
	unsigned kinds = flags & (PCI_BAR_IO | PCI_BAR_MEM32 | PCI_BAR_MEM64);
	unsigned reg = bar_reg(idx);
	uint64_t wm;
	uint32_t type;

	if (idx >= PCI_NUM_BARS || !ops || !size || (size & (size - 1)))
		return -EINVAL;
	if (kinds != PCI_BAR_IO && kinds != PCI_BAR_MEM32 && kinds != PCI_BAR_MEM64)
		return -EINVAL;
	if ((flags & PCI_BAR_IO) && ((flags & PCI_BAR_PREFETCH) || size < 4 || size > 256))
		return -EINVAL;
	if (!(flags & PCI_BAR_IO) && size < 16)
		return -EINVAL;
	if ((flags & PCI_BAR_MEM32) && size > 2 * GiB)
		return -EINVAL;
	if ((flags & PCI_BAR_MEM64) && (idx == PCI_NUM_BARS - 1 || d->bars[idx + 1].size))
		return -EINVAL;
	if (d->bars[idx].size || (idx > 0 && (d->bars[idx - 1].flags & PCI_BAR_MEM64)))
		return -EINVAL;

	d->bars[idx] = (struct pci_bar){ .size = size, .flags = flags, .ops = ops,
					 .opaque = opaque };
	if (flags & PCI_BAR_IO) {
		/* x86 has 64 KiB of I/O space: the upper half is hard-wired 0. */
		type = 0x1;
		wm = ~(size - 1) & 0xfffcu;
	} else {
		type = (flags & PCI_BAR_MEM64 ? 0x4 : 0) | (flags & PCI_BAR_PREFETCH ? 0x8 : 0);
		wm = ~(size - 1) & ~0xfULL;
	}
	pci_cfg_set32(d, reg, type);
	pci_cfg_set_wmask(d, reg, 4, (uint32_t)wm);
	if (flags & PCI_BAR_MEM64) {
		pci_cfg_set32(d, reg + 4, 0);
		pci_cfg_set_wmask(d, reg + 4, 4, (uint32_t)(wm >> 32));
	}
	return 0;
}

/* ---- capabilities ---- */

static bool cap_overlaps(const struct pci_dev *d, unsigned off, unsigned len)
{
	unsigned i;

	for (i = 0; i < d->ncaps; i++)
		if (ranges_overlap(d->caps[i].off, ALIGN_UP(d->caps[i].len, 4u), off, len))
			return true;
	return false;
}

int pci_cap_add(struct pci_dev *d, uint8_t id, unsigned off, unsigned len,
		const struct pci_cap_ops *ops, void *opaque)
{
	unsigned tail;

	if (len < 2 || len > PCI_CFG_SIZE - PCI_CFG_HDR_END)
		return -EINVAL;
	if (d->ncaps == PCI_MAX_CAPS)
		return -ENOSPC;
	if (off) {
		if (off & 3 || off < PCI_CFG_HDR_END || off + len > PCI_CFG_SIZE)
			return -EINVAL;
		if (cap_overlaps(d, off, len))
			return -EEXIST;
	} else {
		off = ALIGN_UP(MAX(d->cap_next, (unsigned)PCI_CFG_HDR_END), 4u);
		while (off + len <= PCI_CFG_SIZE && cap_overlaps(d, off, len))
			off += 4;
		if (off + len > PCI_CFG_SIZE)
			return -ENOSPC;
	}

	/* Append to the list: the last capability's next pointer, or CAP_PTR. */
	tail = d->ncaps ? d->caps[d->ncaps - 1].off + 1u : PCI_CFG_CAP_PTR;
	d->cfg[tail] = (uint8_t)off;

	memset(&d->cfg[off], 0, len);
	memset(&d->wmask[off], 0, len);
	memset(&d->w1cmask[off], 0, len);
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	d->caps[d->ncaps++] = (struct pci_cap){ .id = id, .off = (uint16_t)off,
						.len = (uint16_t)len, .ops = ops,
						.opaque = opaque };
	pci_cfg_set16(d, PCI_CFG_STATUS, pci_cfg_get16(d, PCI_CFG_STATUS) | PCI_STS_CAP_LIST);
	return (int)off;
}

unsigned pci_cap_find(const struct pci_dev *d, uint8_t id)
{
	unsigned i;

	for (i = 0; i < d->ncaps; i++)
		if (d->caps[i].id == id)
			return d->caps[i].off;
	return 0;
}

int pci_cap_add_vendor(struct pci_dev *d, unsigned off, unsigned len,
		       const struct pci_cap_ops *ops, void *opaque)
{
	int r;

	if (len < 3 || len > 0xff)
		return -EINVAL;
	r = pci_cap_add(d, PCI_CAPID_VENDOR, off, len, ops, opaque);
	if (r >= 0)
		d->cfg[r + 2] = (uint8_t)len;
	return r;
}

/* ---- MSI ---- */

static unsigned msi_ctrl(const struct pci_dev *d)
{
	return pci_cfg_get16(d, d->msi_cap + PCI_MSI_CTRL);
}

static unsigned msi_data_off(const struct pci_dev *d)
{
	return d->msi_cap + (msi_ctrl(d) & PCI_MSI_CTRL_64BIT ? 0x0c : 0x08);
}

static unsigned msi_mask_off(const struct pci_dev *d)
{
	return msi_data_off(d) + 4;
}

bool pci_msi_enabled(const struct pci_dev *d)
{
	return d->msi_cap && (msi_ctrl(d) & PCI_MSI_CTRL_EN);
}

static void msi_deliver(struct pci_dev *d, unsigned vec)
{
	unsigned ctrl = msi_ctrl(d);
	unsigned mme = (ctrl >> PCI_MSI_CTRL_MME_SHIFT) & 7;
	unsigned mmc = (ctrl >> PCI_MSI_CTRL_MMC_SHIFT) & 7;
	unsigned nvec = 1u << MIN(mme, mmc);
	uint64_t addr = pci_cfg_get32(d, d->msi_cap + PCI_MSI_ADDR_LO);
	uint32_t data = pci_cfg_get16(d, msi_data_off(d));

	if (vec >= nvec)
		return;
	if (ctrl & PCI_MSI_CTRL_64BIT)
		addr |= (uint64_t)pci_cfg_get32(d, d->msi_cap + 0x08) << 32;
	data = (data & ~(nvec - 1)) | vec;
	/* An MSI is a memory write by the function: it needs bus mastering. */
	if (d->bus && pci_dev_bus_master(d))
		msi_send(&d->bus->cfg.msi, addr, data);
}

void pci_msi_notify(struct pci_dev *d, unsigned vec)
{
	unsigned mask_off;

	if (!pci_msi_enabled(d) || vec >= 32)
		return;
	if (msi_ctrl(d) & PCI_MSI_CTRL_PVM) {
		mask_off = msi_mask_off(d);
		if (pci_cfg_get32(d, mask_off) & (1u << vec)) {
			pci_cfg_set32(d, mask_off + 4, pci_cfg_get32(d, mask_off + 4) | 1u << vec);
			return;
		}
	}
	msi_deliver(d, vec);
}

/* Deliver pending vectors that are no longer masked. */
static void msi_cap_write(struct pci_dev *d, void *opaque, unsigned rel, unsigned size,
			  uint32_t old, uint32_t val)
{
	unsigned mask_off, vec;
	uint32_t pend;

	if (!(msi_ctrl(d) & PCI_MSI_CTRL_PVM) || !pci_msi_enabled(d))
		return;
	mask_off = msi_mask_off(d);
	pend = pci_cfg_get32(d, mask_off + 4) & ~pci_cfg_get32(d, mask_off);
	for (vec = 0; pend; vec++, pend >>= 1) {
		if (!(pend & 1))
			continue;
		pci_cfg_set32(d, mask_off + 4, pci_cfg_get32(d, mask_off + 4) & ~(1u << vec));
		msi_deliver(d, vec);
	}
}

static const struct pci_cap_ops msi_cap_ops = { .write = msi_cap_write };

int pci_cap_add_msi(struct pci_dev *d, unsigned off, unsigned log2_vecs, bool addr64,
		    bool maskable)
{
	unsigned len, data, nvec;
	uint16_t ctrl;
	int r;

	if (log2_vecs > 5 || d->msi_cap)
		return -EINVAL;
	data = addr64 ? 0x0c : 0x08;
	len = maskable ? data + 0x0c : data + 2;
	r = pci_cap_add(d, PCI_CAPID_MSI, off, len, &msi_cap_ops, NULL);
	if (r < 0)
		return r;
	off = (unsigned)r;
	nvec = 1u << log2_vecs;
	ctrl = (uint16_t)(log2_vecs << PCI_MSI_CTRL_MMC_SHIFT);
	if (addr64)
		ctrl |= PCI_MSI_CTRL_64BIT;
	if (maskable)
		ctrl |= PCI_MSI_CTRL_PVM;
	pci_cfg_set16(d, off + PCI_MSI_CTRL, ctrl);
	pci_cfg_set_wmask(d, off + PCI_MSI_CTRL, 2, PCI_MSI_CTRL_EN | 7u << PCI_MSI_CTRL_MME_SHIFT);
	pci_cfg_set_wmask(d, off + PCI_MSI_ADDR_LO, 4, 0xfffffffc);
	if (addr64)
		pci_cfg_set_wmask(d, off + 0x08, 4, 0xffffffff);
	pci_cfg_set_wmask(d, off + data, 2, 0xffff);
	if (maskable)
		pci_cfg_set_wmask(d, off + data + 4, 4, nvec == 32 ? 0xffffffff : (1u << nvec) - 1);
	d->msi_cap = off;
	return r;
}

/* ---- MSI-X ---- */

static unsigned msix_ctrl(const struct pci_dev *d)
{
	return pci_cfg_get16(d, d->msix.cap + PCI_MSIX_CTRL);
}

bool pci_msix_enabled(const struct pci_dev *d)
{
	return d->msix.cap && (msix_ctrl(d) & PCI_MSIX_CTRL_EN);
}

bool pci_msix_masked(const struct pci_dev *d, unsigned vec)
{
	if (!d->msix.cap || vec >= d->msix.nvec)
		return true;
	return (msix_ctrl(d) & PCI_MSIX_CTRL_MASKALL) ||
	       (ld_le32(&d->msix.table[vec * PCI_MSIX_ENTRY_SIZE + 12]) &
		PCI_MSIX_ENTRY_CTRL_MASK);
}

static void msix_send(struct pci_dev *d, unsigned vec)
{
	const uint8_t *e = &d->msix.table[vec * PCI_MSIX_ENTRY_SIZE];

	if (d->bus && pci_dev_bus_master(d))
		msi_send(&d->bus->cfg.msi, ld_le64(e), ld_le32(e + 8));
}

void pci_msix_notify(struct pci_dev *d, unsigned vec)
{
	if (!pci_msix_enabled(d) || vec >= d->msix.nvec)
		return;
	if (pci_msix_masked(d, vec)) {
		d->msix.pba[vec / 64] |= 1ULL << (vec % 64);
		return;
	}
	msix_send(d, vec);
}

/* Send what became deliverable: pending and now unmasked. */
static void msix_flush_pending(struct pci_dev *d)
{
	unsigned vec;

	if (!pci_msix_enabled(d))
		return;
	for (vec = 0; vec < d->msix.nvec; vec++) {
		uint64_t bit = 1ULL << (vec % 64);

		if ((d->msix.pba[vec / 64] & bit) && !pci_msix_masked(d, vec)) {
			d->msix.pba[vec / 64] &= ~bit;
			msix_send(d, vec);
		}
	}
}

static void msix_cap_write(struct pci_dev *d, void *opaque, unsigned rel, unsigned size,
			   uint32_t old, uint32_t val)
{
	msix_flush_pending(d);
}

static const struct pci_cap_ops msix_cap_ops = { .write = msix_cap_write };

static void msix_reset_table(struct pci_dev *d)
{
	unsigned i;

	if (!d->msix.table)
		return;
	memset(d->msix.table, 0, (size_t)d->msix.nvec * PCI_MSIX_ENTRY_SIZE);
	memset(d->msix.pba, 0, ((d->msix.nvec + 63) / 64) * sizeof(uint64_t));
	/* Every vector comes out of reset masked. */
	for (i = 0; i < d->msix.nvec; i++)
		d->msix.table[i * PCI_MSIX_ENTRY_SIZE + 12] = PCI_MSIX_ENTRY_CTRL_MASK;
}

int pci_cap_add_msix(struct pci_dev *d, unsigned off, unsigned nvec, unsigned table_bar,
		     uint32_t table_off, unsigned pba_bar, uint32_t pba_off)
{
	uint64_t tlen = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t plen = ((uint64_t)nvec + 63) / 64 * 8;
	uint8_t *table;
	uint64_t *pba;
	int r;

	if (!nvec || nvec > PCI_MSIX_MAX_VECTORS || d->msix.cap)
		return -EINVAL;
	if (table_bar >= PCI_NUM_BARS || pba_bar >= PCI_NUM_BARS || (table_off | pba_off) & 7)
		return -EINVAL;
	if (!d->bars[table_bar].size || !d->bars[pba_bar].size ||
	    (d->bars[table_bar].flags & PCI_BAR_IO) || (d->bars[pba_bar].flags & PCI_BAR_IO))
		return -EINVAL;
	if (table_off + tlen > d->bars[table_bar].size || pba_off + plen > d->bars[pba_bar].size)
		return -EINVAL;
	if (table_bar == pba_bar && ranges_overlap(table_off, tlen, pba_off, plen))
		return -EINVAL;
	table = calloc(nvec, PCI_MSIX_ENTRY_SIZE);
	pba = calloc((nvec + 63) / 64, sizeof(uint64_t));
	if (!table || !pba) {
		r = -ENOMEM;
		goto err_free;
	}
	r = pci_cap_add(d, PCI_CAPID_MSIX, off, PCI_MSIX_CAP_LEN, &msix_cap_ops, NULL);
	if (r < 0)
		goto err_free;
	off = (unsigned)r;
	pci_cfg_set16(d, off + PCI_MSIX_CTRL, (uint16_t)(nvec - 1));
	pci_cfg_set_wmask(d, off + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_EN | PCI_MSIX_CTRL_MASKALL);
	pci_cfg_set32(d, off + PCI_MSIX_TABLE, table_off | table_bar);
	pci_cfg_set32(d, off + PCI_MSIX_PBA, pba_off | pba_bar);
	d->msix = (struct pci_msix){ .cap = off, .nvec = nvec, .table_bar = table_bar,
				     .pba_bar = pba_bar, .table_off = table_off,
				     .pba_off = pba_off, .table = table, .pba = pba };
	msix_reset_table(d);
	return r;

err_free:
	free(pba);
	free(table);
	return r;
}

uint64_t pci_msix_table_read(struct pci_dev *d, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	unsigned i;

	if (!d->msix.table || size > 8)
		return 0;
	for (i = 0; i < size; i++)
		if (off + i < (uint64_t)d->msix.nvec * PCI_MSIX_ENTRY_SIZE)
			v |= (uint64_t)d->msix.table[off + i] << (8 * i);
	return v;
}

void pci_msix_table_write(struct pci_dev *d, uint64_t off, uint64_t val, unsigned size)
{
	uint64_t len = (uint64_t)d->msix.nvec * PCI_MSIX_ENTRY_SIZE;
	bool ctrl_touched = false;
	unsigned i;

	if (!d->msix.table || size > 8)
		return;
	for (i = 0; i < size; i++) {
		uint64_t at = off + i;

		if (at >= len)
			break;
		/* Vector control: only the mask bit is writable. */
		if (at % PCI_MSIX_ENTRY_SIZE >= 12) {
			if (at % PCI_MSIX_ENTRY_SIZE == 12) {
				d->msix.table[at] = (uint8_t)(val >> (8 * i)) &
						    PCI_MSIX_ENTRY_CTRL_MASK;
				ctrl_touched = true;
			}
			continue;
		}
		d->msix.table[at] = (uint8_t)(val >> (8 * i));
	}
	if (ctrl_touched)
		msix_flush_pending(d);
}

uint64_t pci_msix_pba_read(struct pci_dev *d, uint64_t off, unsigned size)
{
	uint64_t v = 0, len = ((uint64_t)d->msix.nvec + 63) / 64 * 8;
	unsigned i;

	if (!d->msix.pba || size > 8)
		return 0;
	for (i = 0; i < size; i++) {
		uint64_t at = off + i;

		if (at < len)
			v |= ((d->msix.pba[at / 8] >> (8 * (at % 8))) & 0xff) << (8 * i);
	}
	return v;
}

/* ---- PCI Express capability ---- */

int pci_cap_add_pcie(struct pci_dev *d, unsigned off, unsigned type)
{
	int r;

	if (d->cfg_size != PCIE_CFG_SIZE || (type != PCI_EXP_TYPE_ENDPOINT &&
					     type != PCI_EXP_TYPE_LEG_END &&
					     type != PCI_EXP_TYPE_RC_END))
		return -EINVAL;
	r = pci_cap_add(d, PCI_CAPID_EXP, off, PCI_EXP_CAP_LEN, NULL, NULL);
	if (r < 0)
		return r;
	off = (unsigned)r;
	/* Capability version 2, device/port type in bits 7:4. */
	pci_cfg_set16(d, off + PCI_EXP_FLAGS, (uint16_t)(2 | type << 4));
	/* DEVCAP: 128-byte max payload, role-based error reporting (bit 15). */
	pci_cfg_set32(d, off + PCI_EXP_DEVCAP, 1u << 15);
	/* DEVCTL: error reporting enables, relaxed ordering, max payload/read request. */
	pci_cfg_set16(d, off + PCI_EXP_DEVCTL, 0x2810);
	pci_cfg_set_wmask(d, off + PCI_EXP_DEVCTL, 2, 0x7cff);
	/* DEVSTA: error-detected bits are write-1-to-clear. */
	pci_cfg_set_w1cmask(d, off + PCI_EXP_DEVSTA, 2, 0x000f);
	if (type != PCI_EXP_TYPE_RC_END) {
		/* One x1 link at 2.5 GT/s, port 0, up. */
		pci_cfg_set32(d, off + PCI_EXP_LNKCAP, 0x11);
		pci_cfg_set_wmask(d, off + PCI_EXP_LNKCTL, 2, 0x01c3);
		pci_cfg_set16(d, off + PCI_EXP_LNKSTA, 0x0011);
	}
	return r;
}

/* ---- config access ---- */

static uint32_t cap_hook_read(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
	unsigned i;

	for (i = 0; i < d->ncaps; i++) {
		const struct pci_cap *c = &d->caps[i];
		unsigned s, e, shift;
		uint32_t part, m;

		if (!c->ops || !c->ops->read || !ranges_overlap(c->off, c->len, off, size))
			continue;
		s = MAX(off, (unsigned)c->off);
		e = MIN(off + size, (unsigned)c->off + c->len);
		shift = 8 * (s - off);
		m = ones(e - s) << shift;
		part = (val & m) >> shift;
		part = c->ops->read(d, c->opaque, s - c->off, e - s, part) & ones(e - s);
		val = (val & ~m) | (part << shift);
	}
	return val;
}

uint32_t pci_dev_cfg_read_default(struct pci_dev *d, unsigned off, unsigned size)
{
	uint32_t v = 0;
	unsigned i;

	if (!clean_access(off, size) || off + size > d->cfg_size)
		return ones(size > 4 ? 4 : size);
	for (i = 0; i < size; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return cap_hook_read(d, off, size, v);
}

void pci_dev_cfg_write_default(struct pci_dev *d, unsigned off, uint32_t val, unsigned size)
{
	uint32_t old = 0;
	unsigned i;

	if (!clean_access(off, size) || off + size > d->cfg_size)
		return;
	for (i = 0; i < size; i++) {
		unsigned at = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t nv;

		old |= (uint32_t)d->cfg[at] << (8 * i);
		nv = (uint8_t)((d->cfg[at] & ~d->wmask[at]) | (b & d->wmask[at]));
		nv &= (uint8_t)~(b & d->w1cmask[at]);
		d->cfg[at] = nv;
	}

	if (ranges_overlap(off, size, PCI_CFG_COMMAND, 2))
		intx_update(d);
	if (ranges_overlap(off, size, PCI_CFG_COMMAND, 2) ||
	    ranges_overlap(off, size, PCI_CFG_BAR0, 4 * PCI_NUM_BARS))
		pci_dev_update_mappings(d);

	for (i = 0; i < d->ncaps; i++) {
		const struct pci_cap *c = &d->caps[i];
		unsigned s, e, shift;
		uint32_t m;

		if (!c->ops || !c->ops->write || !ranges_overlap(c->off, c->len, off, size))
			continue;
		s = MAX(off, (unsigned)c->off);
		e = MIN(off + size, (unsigned)c->off + c->len);
		shift = 8 * (s - off);
		m = ones(e - s);
		c->ops->write(d, c->opaque, s - c->off, e - s, (old >> shift) & m,
			      (val >> shift) & m);
	}
}

uint32_t pci_dev_cfg_read(struct pci_dev *d, unsigned off, unsigned size)
{
	uint32_t v = 0;
	unsigned i;

	if (size == 0 || size > 4)
		return size ? 0xffffffffu : 0;
	if (!clean_access(off, size)) {
		for (i = 0; i < size; i++)
			v |= pci_dev_cfg_read(d, off + i, 1) << (8 * i);
		return v;
	}
	if (off >= d->cfg_size)
		return ones(size);
	if (d->ops && d->ops->config_read)
		return d->ops->config_read(d, off, size) & ones(size);
	return pci_dev_cfg_read_default(d, off, size);
}

void pci_dev_cfg_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size)
{
	unsigned i;

	if (size == 0 || size > 4)
		return;
	if (!clean_access(off, size)) {
		for (i = 0; i < size; i++)
			pci_dev_cfg_write(d, off + i, (val >> (8 * i)) & 0xff, 1);
		return;
	}
	if (off >= d->cfg_size)
		return;
	val &= ones(size);
	TRACE(TRACE_PCI, "pci %02x.%x %s: cfg write [%#x]/%u = %#x", PCI_SLOT(d->devfn),
	      PCI_FUNC(d->devfn), d->name, off, size, val);
	if (d->ops && d->ops->config_write)
		d->ops->config_write(d, off, val, size);
	else
		pci_dev_cfg_write_default(d, off, val, size);
}

struct pci_dev *pci_bus_find(struct pci_bus *b, unsigned devfn)
{
	if (devfn >= PCI_NUM_DEVFN)
		return NULL;
	/* A function > 0 only exists next to a function 0. */
	if (PCI_FUNC(devfn) && !b->devs[devfn & ~7u])
		return NULL;
	return b->devs[devfn];
}

uint32_t pci_bus_cfg_read(struct pci_bus *b, unsigned busnr, unsigned devfn, unsigned off,
			  unsigned size)
{
	struct pci_dev *d;

	if (size == 0 || size > 4)
		return size ? 0xffffffffu : 0;
	d = busnr == 0 ? pci_bus_find(b, devfn) : NULL;
	if (!d)
		return ones(size);
	return pci_dev_cfg_read(d, off, size);
}

void pci_bus_cfg_write(struct pci_bus *b, unsigned busnr, unsigned devfn, unsigned off,
		       uint32_t val, unsigned size)
{
	struct pci_dev *d = busnr == 0 ? pci_bus_find(b, devfn) : NULL;

	if (d)
		pci_dev_cfg_write(d, off, val, size);
}

/* ---- configuration mechanism #1: 0xCF8 address, 0xCFC data ---- */

static uint64_t cf8_byte_read(struct pci_bus *b, const struct io_ctx *ctx, unsigned port)
{
	/* Byte accesses to 0xCF8..0xCFB are ordinary I/O; 0xCF9 is reset control. */
	if (port == CF9_OFF && b->cfg.cf9_ops && b->cfg.cf9_ops->read)
		return b->cfg.cf9_ops->read(b->cfg.cf9_dev, ctx, 0, 1) & 0xff;
	return 0xff;
}

static bool cf8_target(const struct pci_bus *b, unsigned *busnr, unsigned *devfn,
		       unsigned *reg)
{
	if (!(b->cf8 & CF8_ENABLE))
		return false;
	*busnr = (b->cf8 >> 16) & 0xff;
	*devfn = (b->cf8 >> 8) & 0xff;
	*reg = b->cf8 & 0xfc;
	return true;
}

static uint64_t cf8_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct pci_bus *b = dev;
	unsigned busnr, devfn, reg, i;
	uint64_t v = 0;

	if (off == 0 && size == 4)
		return b->cf8;
	if (off >= 4 && off + size <= CF8_PORTS && clean_access((unsigned)off - 4, size)) {
		if (!cf8_target(b, &busnr, &devfn, &reg))
			return ones(size);
		return pci_bus_cfg_read(b, busnr, devfn, reg + (unsigned)off - 4, size);
	}
	for (i = 0; i < size && off + i < CF8_PORTS; i++) {
		unsigned port = (unsigned)off + i;

		if (port < 4)
			v |= cf8_byte_read(b, ctx, port) << (8 * i);
		else
			v |= cf8_read(dev, ctx, port, 1) << (8 * i);
	}
	return v;
}

static void cf8_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	struct pci_bus *b = dev;
	unsigned busnr, devfn, reg, i;

	if (off == 0 && size == 4) {
		b->cf8 = (uint32_t)val & CF8_RW_MASK;
		return;
	}
	if (off >= 4 && off + size <= CF8_PORTS && clean_access((unsigned)off - 4, size)) {
		if (cf8_target(b, &busnr, &devfn, &reg))
			pci_bus_cfg_write(b, busnr, devfn, reg + (unsigned)off - 4,
					  (uint32_t)val, size);
		return;
	}
	for (i = 0; i < size && off + i < CF8_PORTS; i++) {
		unsigned port = (unsigned)off + i;
		uint64_t byte = (val >> (8 * i)) & 0xff;

		if (port >= 4)
			cf8_write(dev, ctx, port, byte, 1);
		else if (port == CF9_OFF && b->cfg.cf9_ops && b->cfg.cf9_ops->write)
			b->cfg.cf9_ops->write(b->cfg.cf9_dev, ctx, 0, byte, 1);
	}
}

static const struct dev_ops cf8_ops = { .name = "pci-conf", .read = cf8_read, .write = cf8_write };

/* ---- ECAM ---- */

static void ecam_decode(uint64_t off, unsigned *busnr, unsigned *devfn, unsigned *reg)
{
	*busnr = (unsigned)(off >> 20) & 0xff;
	*devfn = (unsigned)(off >> 12) & 0xff;
	*reg = (unsigned)off & 0xfff;
}

static uint64_t ecam_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct pci_bus *b = dev;
	unsigned busnr, devfn, reg, i;
	uint64_t v = 0;

	if (size <= 4 && clean_access((unsigned)off & 3, size)) {
		ecam_decode(off, &busnr, &devfn, &reg);
		return pci_bus_cfg_read(b, busnr, devfn, reg, size);
	}
	if (size == 8 && !(off & 7))
		return ecam_read(dev, ctx, off, 4) | ecam_read(dev, ctx, off + 4, 4) << 32;
	for (i = 0; i < size && i < 8; i++)
		v |= ecam_read(dev, ctx, off + i, 1) << (8 * i);
	return v;
}

static void ecam_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		       unsigned size)
{
	struct pci_bus *b = dev;
	unsigned busnr, devfn, reg, i;

	if (size <= 4 && clean_access((unsigned)off & 3, size)) {
		ecam_decode(off, &busnr, &devfn, &reg);
		pci_bus_cfg_write(b, busnr, devfn, reg, (uint32_t)val, size);
		return;
	}
	if (size == 8 && !(off & 7)) {
		ecam_write(dev, ctx, off, val & 0xffffffffu, 4);
		ecam_write(dev, ctx, off + 4, val >> 32, 4);
		return;
	}
	for (i = 0; i < size && i < 8; i++)
		ecam_write(dev, ctx, off + i, (val >> (8 * i)) & 0xff, 1);
}

static const struct dev_ops ecam_ops = { .name = "pcie-ecam", .read = ecam_read,
					 .write = ecam_write };

int pci_bus_set_ecam(struct pci_bus *b, bool enable, uint64_t base, uint64_t size)
{
	uint64_t last;
	int r;

	if (enable && (size < ECAM_MIN_SIZE || size > ECAM_MAX_SIZE || (size & (size - 1)) ||
		       (base & (size - 1)) || add_overflows_u64(base, size - 1, &last)))
		return -EINVAL;
	if (b->ecam_on && enable && b->ecam_base == base && b->ecam_size == size)
		return 0;
	if (b->ecam_on) {
		bus_unregister(b->mmio, b->ecam_base, b);
		b->ecam_on = false;
		TRACE(TRACE_PCI, "pci: ECAM at %#llx disabled", (unsigned long long)b->ecam_base);
	}
	if (!enable)
		return 0;
	r = bus_register(b->mmio, base, size, &ecam_ops, b);
	if (r < 0) {
		TRACE(TRACE_PCI, "pci: ECAM at %#llx+%#llx not mapped (%d)",
		      (unsigned long long)base, (unsigned long long)size, r);
		log_debug("pci: ECAM window at %#llx overlaps another MMIO range",
			  (unsigned long long)base);
		return r;
	}
	b->ecam_on = true;
	b->ecam_base = base;
	b->ecam_size = size;
	TRACE(TRACE_PCI, "pci: ECAM at %#llx+%#llx", (unsigned long long)base,
	      (unsigned long long)size);
	return 0;
}

/* ---- bus and device lifetime ---- */

int pci_bus_create(struct bus *pio, struct bus *mmio, const struct pci_bus_config *cfg,
		   struct pci_bus **out)
{
	struct pci_bus *b;
	int r;

	if (!pio || !mmio || !out)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->pio = pio;
	b->mmio = mmio;
	if (cfg)
		b->cfg = *cfg;
	b->router = (struct pci_intx_router){ default_map, default_set_link, b };
	r = bus_register(pio, PORT_PCI_CONFIG, CF8_PORTS, &cf8_ops, b);
	if (r < 0) {
		err_set(r, "pci: cannot register config ports %#x-%#x (%s)", PORT_PCI_CONFIG,
			PORT_PCI_CONFIG + CF8_PORTS - 1, r == -EEXIST ? "port in use" : "error");
		goto err_free;
	}
	*out = b;
	return 0;

err_free:
	free(b);
	return r;
}

void pci_dev_init(struct pci_dev *d, const struct pci_dev_info *info)
{
	memset(d, 0, sizeof(*d));
	d->name = info->name ? info->name : "pci";
	d->ops = info->ops;
	d->cfg_size = info->pcie ? PCIE_CFG_SIZE : PCI_CFG_SIZE;
	d->intx_link = -1;
	d->cap_next = PCI_CFG_HDR_END;
	pci_cfg_set16(d, PCI_CFG_VENDOR_ID, info->vendor);
	pci_cfg_set16(d, PCI_CFG_DEVICE_ID, info->device);
	pci_cfg_set8(d, PCI_CFG_REVISION, info->revision);
	pci_cfg_set8(d, PCI_CFG_PROG_IF, (uint8_t)info->class_code);
	pci_cfg_set16(d, PCI_CFG_SUBCLASS, (uint16_t)(info->class_code >> 8));
	pci_cfg_set8(d, PCI_CFG_HEADER_TYPE, info->header_type & PCI_HEADER_MULTIFUNC);
	pci_cfg_set16(d, PCI_CFG_SUBSYS_VENDOR, info->subsys_vendor);
	pci_cfg_set16(d, PCI_CFG_SUBSYS_ID, info->subsys_id);
	pci_cfg_set8(d, PCI_CFG_INT_PIN, info->int_pin <= PCI_INTD ? info->int_pin : 0);
	pci_cfg_set_wmask(d, PCI_CFG_COMMAND, 2, PCI_CMD_WMASK);
	pci_cfg_set_w1cmask(d, PCI_CFG_STATUS, 2, PCI_STS_W1C);
	pci_cfg_set_wmask(d, PCI_CFG_CACHE_LINE, 1, 0xff);
	pci_cfg_set_wmask(d, PCI_CFG_INT_LINE, 1, 0xff);
}

int pci_dev_register(struct pci_bus *b, unsigned devfn, struct pci_dev *d)
{
	if (!b || !d || devfn >= PCI_NUM_DEVFN || !d->cfg_size || d->bus)
		return -EINVAL;
	if (b->devs[devfn])
		return -EEXIST;
	memcpy(d->reset_cfg, d->cfg, d->cfg_size);
	memcpy(d->reset_wmask, d->wmask, d->cfg_size);
	memcpy(d->reset_w1cmask, d->w1cmask, d->cfg_size);
	d->bus = b;
	d->devfn = devfn;
	b->devs[devfn] = d;
	pci_dev_update_mappings(d);
	intx_update(d);
	TRACE(TRACE_PCI, "pci %02x.%x %s: %04x:%04x registered", PCI_SLOT(devfn), PCI_FUNC(devfn),
	      d->name, pci_cfg_get16(d, PCI_CFG_VENDOR_ID), pci_cfg_get16(d, PCI_CFG_DEVICE_ID));
	return 0;
}

void pci_dev_unregister(struct pci_dev *d)
{
	unsigned i;

	if (!d || !d->bus)
		return;
	for (i = 0; i < PCI_NUM_BARS; i++)
		bar_unmap(d, i);
	intx_drop(d);
	d->bus->devs[d->devfn] = NULL;
	d->bus = NULL;
	free(d->msix.table);
	free(d->msix.pba);
	d->msix.table = NULL;
	d->msix.pba = NULL;
	d->msix.cap = 0;
}

void pci_dev_reset(struct pci_dev *d)
{
	d->intx_level = 0;
	intx_drop(d);
	memcpy(d->cfg, d->reset_cfg, d->cfg_size);
	memcpy(d->wmask, d->reset_wmask, d->cfg_size);
	memcpy(d->w1cmask, d->reset_w1cmask, d->cfg_size);
	msix_reset_table(d);
	pci_dev_update_mappings(d);
	if (d->ops && d->ops->reset)
		d->ops->reset(d);
}

void pci_bus_reset(struct pci_bus *b)
{
	unsigned i;

	b->cf8 = 0;
	for (i = 0; i < PCI_NUM_DEVFN; i++)
		if (b->devs[i])
			pci_dev_reset(b->devs[i]);
}

void pci_bus_destroy(struct pci_bus *b)
{
	unsigned i;

	if (!b)
		return;
	for (i = 0; i < PCI_NUM_DEVFN; i++)
		if (b->devs[i])
			pci_dev_unregister(b->devs[i]);
	if (b->ecam_on)
		bus_unregister(b->mmio, b->ecam_base, b);
	bus_unregister(b->pio, PORT_PCI_CONFIG, b);
	free(b);
}
