/*
 * PCI core: one root bus (bus 0) behind a host bridge with configuration
 * mechanism #1 (ports 0xCF8/0xCFC) and a PCI Express ECAM window, plus the
 * device model every PCI function builds on: config space with per-byte
 * write and write-1-to-clear masks, BARs that (un)map themselves on the
 * machine's PIO/MMIO buses, capability lists (MSI, MSI-X, PCI Express,
 * vendor-specific) and INTx routing.
 *
 * Only bus 0 exists: every access to another bus, to an absent function,
 * or to a function > 0 whose function 0 is absent reads all-ones and
 * drops writes.
 *
 * Locking: like every device, called with the machine lock held.
 */
#ifndef KVMRUN_DEVICES_CHIPSET_PCI_H
#define KVMRUN_DEVICES_CHIPSET_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define PCI_CFG_SIZE            256     /* conventional PCI function */
#define PCIE_CFG_SIZE           4096    /* PCI Express function */
#define PCI_DEVFN(slot, fn)     ((((slot) & 0x1f) << 3) | ((fn) & 7))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 7)
#define PCI_NUM_DEVFN           256
#define PCI_NUM_BARS            6
#define PCI_MAX_CAPS            16
#define PCI_MAX_LINKS           8       /* INTx "links" (PIRQA..H on ICH9) */

/* ---- Type 0 configuration header (offsets) ---- */
#define PCI_CFG_VENDOR_ID       0x00    /* 16 */
#define PCI_CFG_DEVICE_ID       0x02    /* 16 */
#define PCI_CFG_COMMAND         0x04    /* 16 */
#define PCI_CFG_STATUS          0x06    /* 16 */
#define PCI_CFG_REVISION        0x08
#define PCI_CFG_PROG_IF         0x09
#define PCI_CFG_SUBCLASS        0x0a
#define PCI_CFG_CLASS           0x0b
#define PCI_CFG_CACHE_LINE      0x0c
#define PCI_CFG_LATENCY         0x0d
#define PCI_CFG_HEADER_TYPE     0x0e
#define PCI_CFG_BIST            0x0f
#define PCI_CFG_BAR0            0x10    /* 6 x 32 */
#define PCI_CFG_SUBSYS_VENDOR   0x2c    /* 16 */
#define PCI_CFG_SUBSYS_ID       0x2e    /* 16 */
#define PCI_CFG_ROM             0x30    /* 32, not implemented: reads 0 */
#define PCI_CFG_CAP_PTR         0x34
#define PCI_CFG_INT_LINE        0x3c
#define PCI_CFG_INT_PIN         0x3d
#define PCI_CFG_HDR_END         0x40    /* device-specific space starts here */

#define PCI_HEADER_MULTIFUNC    0x80

/* Subsystem IDs QEMU gives its emulated functions (Red Hat / QEMU). */
#define PCI_SUBSYS_VENDOR_QEMU  0x1af4
#define PCI_SUBSYS_ID_QEMU      0x1100

#define PCI_CMD_IO              0x0001
#define PCI_CMD_MEM             0x0002
#define PCI_CMD_MASTER          0x0004
#define PCI_CMD_PARITY          0x0040
#define PCI_CMD_SERR            0x0100
#define PCI_CMD_INTX_DISABLE    0x0400
#define PCI_CMD_WMASK           (PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_PARITY | \
				 PCI_CMD_SERR | PCI_CMD_INTX_DISABLE)

#define PCI_STS_INTX            0x0008  /* RO: the function asserts INTx */
#define PCI_STS_CAP_LIST        0x0010  /* RO: capability list present */
#define PCI_STS_W1C             0xf900  /* parity/abort/SERR status bits */

/* INTx pin values for PCI_CFG_INT_PIN */
#define PCI_INTA                1
#define PCI_INTB                2
#define PCI_INTC                3
#define PCI_INTD                4

/* ---- BARs ---- */
#define PCI_BAR_IO              0x1u    /* I/O space BAR */
#define PCI_BAR_MEM32           0x2u    /* 32-bit memory BAR */
#define PCI_BAR_MEM64           0x4u    /* 64-bit memory BAR: uses the next BAR slot too */
#define PCI_BAR_PREFETCH        0x8u    /* with MEM32/MEM64 */

/* ---- Capabilities ---- */
#define PCI_CAPID_PM            0x01
#define PCI_CAPID_MSI           0x05
#define PCI_CAPID_VENDOR        0x09
#define PCI_CAPID_EXP           0x10
#define PCI_CAPID_MSIX          0x11

/* MSI capability: control register bits and register offsets */
#define PCI_MSI_CTRL            0x02
#define PCI_MSI_ADDR_LO         0x04
#define PCI_MSI_CTRL_EN         0x0001
#define PCI_MSI_CTRL_MMC_SHIFT  1       /* multiple message capable, log2 */
#define PCI_MSI_CTRL_MME_SHIFT  4       /* multiple message enable, log2 */
#define PCI_MSI_CTRL_64BIT      0x0080
#define PCI_MSI_CTRL_PVM        0x0100  /* per-vector masking */

/* MSI-X capability */
#define PCI_MSIX_CTRL           0x02
#define PCI_MSIX_TABLE          0x04
#define PCI_MSIX_PBA            0x08
#define PCI_MSIX_CAP_LEN        12
#define PCI_MSIX_CTRL_EN        0x8000
#define PCI_MSIX_CTRL_MASKALL   0x4000
#define PCI_MSIX_ENTRY_SIZE     16
#define PCI_MSIX_ENTRY_CTRL_MASK 0x1
#define PCI_MSIX_MAX_VECTORS    2048

/* PCI Express capability (version 2) */
#define PCI_EXP_CAP_LEN         0x3c
#define PCI_EXP_FLAGS           0x02
#define PCI_EXP_DEVCAP          0x04
#define PCI_EXP_DEVCTL          0x08
#define PCI_EXP_DEVSTA          0x0a
#define PCI_EXP_LNKCAP          0x0c
#define PCI_EXP_LNKCTL          0x10
#define PCI_EXP_LNKSTA          0x12
#define PCI_EXP_TYPE_ENDPOINT   0x0
#define PCI_EXP_TYPE_LEG_END    0x1
#define PCI_EXP_TYPE_RC_END     0x9     /* root-complex integrated endpoint */

struct pci_bus;
struct pci_dev;

/*
 * Per-device overrides for registers with side effects. Both are
 * optional; an override usually calls pci_dev_cfg_read_default() /
 * pci_dev_cfg_write_default() and then reacts. @off/@size describe an
 * access that never crosses a dword boundary (size 1, 2 or 4) and lies
 * inside the function's config space.
 */
struct pci_dev_ops {
	uint32_t (*config_read)(struct pci_dev *d, unsigned off, unsigned size);
	void (*config_write)(struct pci_dev *d, unsigned off, uint32_t val, unsigned size);
	/* System reset, after the core restored the reset image of config space. */
	void (*reset)(struct pci_dev *d);
};

/*
 * Hooks on the registers of one capability. @rel is the offset of the
 * access inside the capability. read() gets the value the default path
 * produced and returns the value the guest sees; write() is called after
 * the default path stored @val (through the masks), with the old value.
 */
struct pci_cap_ops {
	uint32_t (*read)(struct pci_dev *d, void *opaque, unsigned rel, unsigned size,
			 uint32_t val);
	void (*write)(struct pci_dev *d, void *opaque, unsigned rel, unsigned size, uint32_t old,
		      uint32_t val);
};

struct pci_bar {
	uint64_t size;                  /* 0: BAR not implemented */
	unsigned flags;                 /* PCI_BAR_* */
	const struct dev_ops *ops;      /* receives offsets into the BAR */
	void *opaque;                   /* passed to ops as dev */
	bool mapped;
	uint64_t addr;                  /* where it is registered when mapped */
};

struct pci_cap {
	uint8_t id;
	uint16_t off, len;
	const struct pci_cap_ops *ops;
	void *opaque;
};

/* MSI-X state, kept by the core; the table and PBA live in a device BAR. */
struct pci_msix {
	unsigned cap;                   /* capability offset, 0 = none */
	unsigned nvec;
	unsigned table_bar, pba_bar;
	uint32_t table_off, pba_off;
	uint8_t *table;                 /* nvec * 16 bytes */
	uint64_t *pba;                  /* pending bits */
};

/* Identity of a function, for pci_dev_init(). */
struct pci_dev_info {
	const char *name;
	uint16_t vendor, device;
	uint32_t class_code;            /* class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint16_t subsys_vendor, subsys_id;
	uint8_t header_type;            /* 0, or PCI_HEADER_MULTIFUNC (type 0 headers only) */
	uint8_t int_pin;                /* 0 (none) or PCI_INTA..PCI_INTD */
	bool pcie;                      /* 4 KiB config space */
	const struct pci_dev_ops *ops;
};

struct pci_dev {
	const char *name;
	const struct pci_dev_ops *ops;
	struct pci_bus *bus;            /* set by pci_dev_register() */
	unsigned devfn;
	unsigned cfg_size;              /* PCI_CFG_SIZE or PCIE_CFG_SIZE */

	uint8_t cfg[PCIE_CFG_SIZE];
	uint8_t wmask[PCIE_CFG_SIZE];   /* bits the guest may write */
	uint8_t w1cmask[PCIE_CFG_SIZE]; /* bits a 1 clears */
	/* Snapshot taken by pci_dev_register(), restored on reset. */
	uint8_t reset_cfg[PCIE_CFG_SIZE];
	uint8_t reset_wmask[PCIE_CFG_SIZE];
	uint8_t reset_w1cmask[PCIE_CFG_SIZE];

	struct pci_bar bars[PCI_NUM_BARS];
	struct pci_cap caps[PCI_MAX_CAPS];
	unsigned ncaps;
	unsigned cap_next;              /* where pci_cap_add(off = 0) searches from */

	unsigned msi_cap;               /* MSI capability offset, 0 = none */
	struct pci_msix msix;

	int intx_level;                 /* what the device asks for */
	int intx_link;                  /* link it is asserted on, -1 = none */
};

/*
 * INTx routing. map() turns (devfn, pin 1..4) into a link number
 * (< PCI_MAX_LINKS, or -1 for "not connected"); the core ORs the levels of
 * all functions on a link and calls set_link() when the OR changes.
 */
struct pci_intx_router {
	int (*map)(void *opaque, unsigned devfn, unsigned pin);
	void (*set_link)(void *opaque, unsigned link, int level);
	void *opaque;
};

struct pci_bus_config {
	/*
	 * Default INTx routing (used until a chipset installs a router with
	 * pci_bus_set_intx_router()): the classic swizzle
	 * link = (slot + pin - 1) % 4, and link n drives GSI intx.gsi + n
	 * (GSI_PCI_FIRST + n when intx.gsi is 0) through intx.set_level.
	 */
	struct irq_line intx;
	/* Where MSI / MSI-X messages go. */
	struct msi_sink msi;
	/*
	 * Port 0xCF9 sits inside the 0xCF8 dword the host bridge owns. Byte
	 * accesses to it are forwarded here (offset 0), so the reset-control
	 * device must not register 0xCF9 on the PIO bus itself.
	 */
	const struct dev_ops *cf9_ops;
	void *cf9_dev;
};

struct pci_bus {
	struct bus *pio, *mmio;
	struct pci_dev *devs[PCI_NUM_DEVFN];
	uint32_t cf8;                   /* config address register */
	bool ecam_on;
	uint64_t ecam_base, ecam_size;
	struct pci_bus_config cfg;
	struct pci_intx_router router;
	unsigned link_count[PCI_MAX_LINKS];
};

/* ---- Bus ---- */

/*
 * Create bus 0 and register the config ports [0xCF8, 0xD00) on @pio. The
 * ECAM window starts disabled (see pci_bus_set_ecam()). 0 or -errno.
 */
int pci_bus_create(struct bus *pio, struct bus *mmio, const struct pci_bus_config *cfg,
		   struct pci_bus **out);
/* Unregister every range the bus and its devices own. Accepts NULL. */
void pci_bus_destroy(struct pci_bus *b);
/* Reset every function (config space, BAR mappings, INTx, MSI, MSI-X). */
void pci_bus_reset(struct pci_bus *b);

/*
 * Move/enable/disable the ECAM window. @size is a power of two between
 * 1 MiB (bus 0 only) and 256 MiB, @base aligned to it. Returns 0,
 * -EINVAL (bad base/size) or -EEXIST (overlaps another MMIO range: the
 * window is then left unmapped).
 */
int pci_bus_set_ecam(struct pci_bus *b, bool enable, uint64_t base, uint64_t size);
/* Install a chipset INTx router (NULL: back to the default swizzle). */
void pci_bus_set_intx_router(struct pci_bus *b, const struct pci_intx_router *r);

/*
 * Config access as the CPU would do it, for firmware loaders and tests.
 * @size is 1, 2 or 4; an access crossing a dword is split into bytes.
 * Absent functions and buses other than 0 read all-ones.
 */
uint32_t pci_bus_cfg_read(struct pci_bus *b, unsigned busnr, unsigned devfn, unsigned off,
			  unsigned size);
void pci_bus_cfg_write(struct pci_bus *b, unsigned busnr, unsigned devfn, unsigned off,
		       uint32_t val, unsigned size);
/* The function at @devfn on bus 0, NULL if none. */
struct pci_dev *pci_bus_find(struct pci_bus *b, unsigned devfn);

/* ---- Device model ---- */

/* Fill the header of @d from @info; everything else starts read-only 0. */
void pci_dev_init(struct pci_dev *d, const struct pci_dev_info *info);
/*
 * Put @d at @devfn on bus 0 and snapshot its config space and masks as
 * the reset image, so configure BARs and capabilities first. 0, -EINVAL,
 * -EEXIST (slot taken).
 */
int pci_dev_register(struct pci_bus *b, unsigned devfn, struct pci_dev *d);
/* Unmap the BARs, drop INTx, free MSI-X state, remove from the bus. */
void pci_dev_unregister(struct pci_dev *d);
/* Reset one function to its reset image (pci_bus_reset() does all). */
void pci_dev_reset(struct pci_dev *d);

/* Config access entry points (through the device's overrides). */
uint32_t pci_dev_cfg_read(struct pci_dev *d, unsigned off, unsigned size);
void pci_dev_cfg_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size);
/* The default behaviour, for overrides. */
uint32_t pci_dev_cfg_read_default(struct pci_dev *d, unsigned off, unsigned size);
void pci_dev_cfg_write_default(struct pci_dev *d, unsigned off, uint32_t val, unsigned size);

/* Raw little-endian accessors on config space (no masks, no side effects). */
uint8_t pci_cfg_get8(const struct pci_dev *d, unsigned off);
uint16_t pci_cfg_get16(const struct pci_dev *d, unsigned off);
uint32_t pci_cfg_get32(const struct pci_dev *d, unsigned off);
void pci_cfg_set8(struct pci_dev *d, unsigned off, uint8_t v);
void pci_cfg_set16(struct pci_dev *d, unsigned off, uint16_t v);
void pci_cfg_set32(struct pci_dev *d, unsigned off, uint32_t v);
/* Set the write / write-1-to-clear masks of [off, off+len) bytewise from @mask (LE). */
void pci_cfg_set_wmask(struct pci_dev *d, unsigned off, unsigned len, uint32_t mask);
void pci_cfg_set_w1cmask(struct pci_dev *d, unsigned off, unsigned len, uint32_t mask);

/*
 * Declare BAR @idx: @size is a power of two (>= 4 for I/O, >= 16 for
 * memory), @flags PCI_BAR_IO or PCI_BAR_MEM32/MEM64 (| PCI_BAR_PREFETCH).
 * A 64-bit BAR also takes slot idx + 1. When the guest programs the BAR
 * and enables decoding in COMMAND, @ops is registered at the BAR address
 * on the PIO or MMIO bus, with @opaque as its dev. 0 or -EINVAL.
 */
int pci_bar_init(struct pci_dev *d, unsigned idx, uint64_t size, unsigned flags,
		 const struct dev_ops *ops, void *opaque);
/* Current decoded address of BAR @idx if mapped, else ~0ULL. */
uint64_t pci_bar_addr(const struct pci_dev *d, unsigned idx);
/* Re-evaluate BAR mappings (done automatically on COMMAND/BAR writes). */
void pci_dev_update_mappings(struct pci_dev *d);

/*
 * Add a capability of @len bytes with ID @id at @off (dword aligned,
 * 0x40..0xff), or at the first free dword-aligned place at or above
 * d->cap_next when @off is 0. Links it into the list and sets
 * STATUS.CAP_LIST. Returns the offset or -EINVAL / -ENOSPC / -EEXIST
 * (overlaps another capability).
 */
int pci_cap_add(struct pci_dev *d, uint8_t id, unsigned off, unsigned len,
		const struct pci_cap_ops *ops, void *opaque);
/* Offset of the first capability with @id, or 0. */
unsigned pci_cap_find(const struct pci_dev *d, uint8_t id);
/* Vendor-specific capability: byte 2 holds the length; rest read-only 0. */
int pci_cap_add_vendor(struct pci_dev *d, unsigned off, unsigned len,
		       const struct pci_cap_ops *ops, void *opaque);
/* MSI with 1 << @log2_vecs vectors (0..5). */
int pci_cap_add_msi(struct pci_dev *d, unsigned off, unsigned log2_vecs, bool addr64,
		    bool maskable);
/*
 * PCI Express capability v2 for a function of @type (PCI_EXP_TYPE_*). On
 * bus 0 (the root complex) a PCIe function is PCI_EXP_TYPE_RC_END, as QEMU
 * makes it; that type has no link registers. Extended capabilities
 * (offset >= 0x100) are not managed: that space reads 0.
 */
int pci_cap_add_pcie(struct pci_dev *d, unsigned off, unsigned type);
/*
 * MSI-X with @nvec vectors, table at @table_off in BAR @table_bar, PBA at
 * @pba_off in BAR @pba_bar (offsets 8-byte aligned, inside the BARs,
 * which must be declared first). The device's BAR handler forwards
 * accesses to the table/PBA to pci_msix_table_*() / pci_msix_pba_read().
 */
int pci_cap_add_msix(struct pci_dev *d, unsigned off, unsigned nvec, unsigned table_bar,
		     uint32_t table_off, unsigned pba_bar, uint32_t pba_off);

/* ---- Interrupts ---- */

/* Drive the function's INTx pin (the one in PCI_CFG_INT_PIN). */
void pci_dev_set_irq(struct pci_dev *d, int level);
/* The link a (devfn, pin) uses with the default swizzle. */
unsigned pci_swizzle_link(unsigned devfn, unsigned pin);

bool pci_dev_bus_master(const struct pci_dev *d);
bool pci_msi_enabled(const struct pci_dev *d);
/* Send MSI vector @vec (masked vectors become pending). No-op if disabled. */
void pci_msi_notify(struct pci_dev *d, unsigned vec);

bool pci_msix_enabled(const struct pci_dev *d);
bool pci_msix_masked(const struct pci_dev *d, unsigned vec);
/* Send MSI-X vector @vec, or set its pending bit while it is masked. */
void pci_msix_notify(struct pci_dev *d, unsigned vec);
/* Table/PBA accesses; @off is relative to the table/PBA start. */
uint64_t pci_msix_table_read(struct pci_dev *d, uint64_t off, unsigned size);
void pci_msix_table_write(struct pci_dev *d, uint64_t off, uint64_t val, unsigned size);
uint64_t pci_msix_pba_read(struct pci_dev *d, uint64_t off, unsigned size);

#endif
