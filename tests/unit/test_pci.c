/* Unit tests for devices/chipset/pci.c: config mechanism #1, ECAM, BARs, caps, INTx, MSI(-X). */
#include <errno.h>

#include "devices/chipset/pci.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

/* ---- fixture ---- */

struct bar_rec {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
};

struct tdev {
	struct pci_dev pci;
	struct bar_rec rec;
};

static uint64_t bar_rd(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct bar_rec *r = dev;

	r->reads++;
	r->last_off = off;
	r->last_size = size;
	return 0x5a5a5a5a5a5a5a5aULL;
}

static void bar_wr(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		   unsigned size)
{
	struct bar_rec *r = dev;

	r->writes++;
	r->last_off = off;
	r->last_val = val;
	r->last_size = size;
}

static const struct dev_ops bar_ops = { .name = "tbar", .read = bar_rd, .write = bar_wr };

static struct bus pio, mmio;
static struct irq_rec irqs;
static struct pci_bus *pb;
static struct io_ctx ctx = { .cpu = 0 };

static void setup(void)
{
	struct pci_bus_config cfg = { 0 };

	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	irq_rec_init(&irqs);
	cfg.intx = *irq_rec_line(&irqs, 0);
	cfg.intx.gsi = 0;       /* default base: GSI_PCI_FIRST */
	cfg.msi = irqs.msi;
	ck_assert_int_eq(pci_bus_create(&pio, &mmio, &cfg, &pb), 0);
}

static void teardown(void)
{
	pci_bus_destroy(pb);
	pb = NULL;
	ck_assert_uint_eq(pio.n, 0);
	ck_assert_uint_eq(mmio.n, 0);
	bus_free(&pio);
	bus_free(&mmio);
}

static void tdev_init(struct tdev *t, uint16_t vendor, uint16_t device, bool pcie, uint8_t pin)
{
	memset(t, 0, sizeof(*t));
	pci_dev_init(&t->pci, &(struct pci_dev_info){
		.name = "tdev", .vendor = vendor, .device = device, .class_code = 0x020000,
		.revision = 7, .subsys_vendor = 0x1af4, .subsys_id = 0x1234, .int_pin = pin,
		.pcie = pcie });
}

static uint64_t io_rd(struct bus *b, uint64_t addr, unsigned size)
{
	uint8_t buf[8] = { 0 };

	bus_read(b, &ctx, addr, buf, size);
	return ld_le64(buf) & (size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1);
}

static void io_wr(struct bus *b, uint64_t addr, uint64_t val, unsigned size)
{
	uint8_t buf[8];

	st_le64(buf, val);
	bus_write(b, &ctx, addr, buf, size);
}

static uint32_t cf8_addr(unsigned busnr, unsigned devfn, unsigned reg)
{
	return 0x80000000u | busnr << 16 | devfn << 8 | (reg & 0xfc);
}

static uint32_t cfg_rd(unsigned busnr, unsigned devfn, unsigned reg, unsigned size)
{
	io_wr(&pio, 0xcf8, cf8_addr(busnr, devfn, reg), 4);
	return (uint32_t)io_rd(&pio, 0xcfc + (reg & 3), size);
}

static void cfg_wr(unsigned busnr, unsigned devfn, unsigned reg, uint32_t val, unsigned size)
{
	io_wr(&pio, 0xcf8, cf8_addr(busnr, devfn, reg), 4);
	io_wr(&pio, 0xcfc + (reg & 3), val, size);
}

/* ---- config mechanism #1 ---- */

struct cf9_rec {
	unsigned writes, reads;
	uint64_t last;
};

static uint64_t cf9_rd(void *dev, const struct io_ctx *c, uint64_t off, unsigned size)
{
	((struct cf9_rec *)dev)->reads++;
	return 0x0a;
}

static void cf9_wr(void *dev, const struct io_ctx *c, uint64_t off, uint64_t val, unsigned size)
{
	struct cf9_rec *r = dev;

	r->writes++;
	r->last = val;
}

static const struct dev_ops cf9_test_ops = { .name = "cf9", .read = cf9_rd, .write = cf9_wr };

START_TEST(test_cf8_address_register)
{
	struct bus p, m;
	struct pci_bus *b;
	struct cf9_rec rec = { 0 };
	struct pci_bus_config cfg = { .cf9_ops = &cf9_test_ops, .cf9_dev = &rec };

	bus_init(&p, "pio");
	bus_init(&m, "mmio");
	ck_assert_int_eq(pci_bus_create(&p, &m, &cfg, &b), 0);
	/* reserved bits 30:24 and 1:0 read as 0 */
	io_wr(&p, 0xcf8, 0xffffffff, 4);
	ck_assert_uint_eq(io_rd(&p, 0xcf8, 4), 0x80fffffc);
	/* a dword write never reaches the reset-control port */
	ck_assert_uint_eq(rec.writes, 0);
	/* byte writes to 0xCF8/0xCFA/0xCFB are plain I/O: the address stays */
	io_wr(&p, 0xcf8, 0x12, 1);
	io_wr(&p, 0xcfa, 0x34, 1);
	io_wr(&p, 0xcfb, 0x00, 1);
	ck_assert_uint_eq(io_rd(&p, 0xcf8, 4), 0x80fffffc);
	ck_assert_uint_eq(io_rd(&p, 0xcf8, 1), 0xff);
	ck_assert_uint_eq(io_rd(&p, 0xcfa, 2), 0xffff);
	/* 0xCF9 bytes go to the reset-control device */
	io_wr(&p, 0xcf9, 0x06, 1);
	ck_assert_uint_eq(rec.writes, 1);
	ck_assert_uint_eq(rec.last, 0x06);
	ck_assert_uint_eq(io_rd(&p, 0xcf9, 1), 0x0a);
	/* a word at 0xCF8 is split: only its 0xCF9 byte is forwarded */
	io_wr(&p, 0xcf8, 0x0400, 2);
	ck_assert_uint_eq(rec.writes, 2);
	ck_assert_uint_eq(rec.last, 0x04);
	ck_assert_uint_eq(io_rd(&p, 0xcf8, 2), 0x0aff);
	/* the config ports are taken: a second bus cannot register */
	ck_assert_int_eq(pci_bus_create(&p, &m, NULL, &(struct pci_bus *){ NULL }), -EEXIST);
	pci_bus_destroy(b);
	ck_assert_uint_eq(p.n, 0);
	bus_free(&p);
	bus_free(&m);
	pci_bus_destroy(NULL);
}
END_TEST

START_TEST(test_absent_functions_all_ones)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t1;

	/* empty bus */
	ck_assert_uint_eq(cfg_rd(0, 0, 0, 4), 0xffffffff);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(5, 0), 2, 2), 0xffff);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(31, 7), 0x3d, 1), 0xff);
	/* a function 1 without function 0 is invisible */
	tdev_init(&t1, 0x1234, 0x5678, false, 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(3, 1), &t1.pci), 0);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(3, 1), 0, 4), 0xffffffff);
	ck_assert_ptr_null(pci_bus_find(pb, PCI_DEVFN(3, 1)));
	/* writes to absent functions are dropped without harm */
	cfg_wr(0, PCI_DEVFN(3, 1), PCI_CFG_COMMAND, 0x7, 2);
	ck_assert_uint_eq(pci_cfg_get16(&t1.pci, PCI_CFG_COMMAND), 0);
	/* other buses */
	ck_assert_uint_eq(cfg_rd(1, 0, 0, 4), 0xffffffff);
	ck_assert_uint_eq(cfg_rd(255, PCI_DEVFN(3, 1), 0, 4), 0xffffffff);
	ck_assert_uint_eq(pci_bus_cfg_read(pb, 7, 0, 0, 2), 0xffff);
	/* enable bit clear: data port reads all-ones even for present functions */
	io_wr(&pio, 0xcf8, cf8_addr(0, PCI_DEVFN(3, 1), 0) & 0x7fffffff, 4);
	ck_assert_uint_eq(io_rd(&pio, 0xcfc, 4), 0xffffffff);
	/* malformed sizes through the API */
	ck_assert_uint_eq(pci_bus_cfg_read(pb, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(pci_bus_cfg_read(pb, 0, 0, 0, 7), 0xffffffff);
	ck_assert_uint_eq(pci_bus_cfg_read(pb, 0, 300, 0, 4), 0xffffffff);
	pci_bus_cfg_write(pb, 0, 300, 0, 0, 4);
}
END_TEST

START_TEST(test_header_and_readonly_ids)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;

	tdev_init(&t, 0x8086, 0x1234, false, PCI_INTB);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(2, 0), &t.pci), 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(2, 0), &t.pci), -EINVAL);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), 0, 4), 0x12348086);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_REVISION, 4), 0x02000007);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_SUBSYS_VENDOR, 4), 0x12341af4);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_INT_PIN, 1), PCI_INTB);
	/* IDs, class, revision, header type, pin, BARs without a BAR: read-only */
	cfg_wr(0, PCI_DEVFN(2, 0), 0, 0xffffffff, 4);
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_REVISION, 0xffffffff, 4);
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_HEADER_TYPE, 0xff, 1);
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_INT_PIN, 0xff, 1);
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_BAR0, 0xffffffff, 4);
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_SUBSYS_VENDOR, 0, 4);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), 0, 4), 0x12348086);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_REVISION, 4), 0x02000007);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_HEADER_TYPE, 1), 0);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_INT_PIN, 1), PCI_INTB);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_BAR0, 4), 0);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_SUBSYS_VENDOR, 4), 0x12341af4);
	/* COMMAND keeps only the implemented enables */
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_COMMAND, 0xffff, 2);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_COMMAND, 2), PCI_CMD_WMASK);
	/* STATUS: error bits are write-1-to-clear, the rest read-only */
	pci_cfg_set16(&t.pci, PCI_CFG_STATUS, 0xf900);
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_STATUS, 0x2100, 2);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_STATUS, 2), 0xd800);
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_STATUS, 0x0018, 2);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_STATUS, 2), 0xd800);
	/* interrupt line and cache line size are plain read/write */
	cfg_wr(0, PCI_DEVFN(2, 0), PCI_CFG_INT_LINE, 0x0b, 1);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), PCI_CFG_INT_LINE, 1), 0x0b);
	/* device-specific space defaults to read-only zero */
	cfg_wr(0, PCI_DEVFN(2, 0), 0x80, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_rd(0, PCI_DEVFN(2, 0), 0x80, 4), 0);
	/* beyond 256 bytes of a conventional function: all-ones */
	ck_assert_uint_eq(pci_bus_cfg_read(pb, 0, PCI_DEVFN(2, 0), 0x100, 4), 0xffffffff);
	ck_assert_uint_eq(pci_bus_cfg_read(pb, 0, PCI_DEVFN(2, 0), 0xffc, 4), 0xffffffff);
	pci_bus_cfg_write(pb, 0, PCI_DEVFN(2, 0), 0x2000, 1, 4);
}
END_TEST

START_TEST(test_cfc_byte_word_offsets)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;
	unsigned df = PCI_DEVFN(4, 0);

	tdev_init(&t, 0xabcd, 0x1357, false, 0);
	ck_assert_int_eq(pci_dev_register(pb, df, &t.pci), 0);
	io_wr(&pio, 0xcf8, cf8_addr(0, df, 0), 4);
	ck_assert_uint_eq(io_rd(&pio, 0xcfc, 1), 0xcd);
	ck_assert_uint_eq(io_rd(&pio, 0xcfd, 1), 0xab);
	ck_assert_uint_eq(io_rd(&pio, 0xcfe, 1), 0x57);
	ck_assert_uint_eq(io_rd(&pio, 0xcff, 1), 0x13);
	ck_assert_uint_eq(io_rd(&pio, 0xcfe, 2), 0x1357);
	/* unaligned word inside the dword */
	ck_assert_uint_eq(io_rd(&pio, 0xcfd, 2), 0x57ab);
	/* a dword at 0xCFE runs past the data port: the tail is unassigned */
	ck_assert_uint_eq(io_rd(&pio, 0xcfe, 4), 0xffff1357);
	/* the CF8 register low bits are ignored: 0xCFC+n selects byte n */
	io_wr(&pio, 0xcf8, cf8_addr(0, df, PCI_CFG_COMMAND) | 3, 4);
	io_wr(&pio, 0xcfc, 0x0006, 2);
	ck_assert_uint_eq(pci_cfg_get16(&t.pci, PCI_CFG_COMMAND), 0x0006);
	io_wr(&pio, 0xcfd, 0x04, 1);
	ck_assert_uint_eq(pci_cfg_get16(&t.pci, PCI_CFG_COMMAND), 0x0406);
	/* an unaligned word write that spans COMMAND/STATUS (0x05..0x06) */
	io_wr(&pio, 0xcfd, 0xff00, 2);
	ck_assert_uint_eq(pci_cfg_get16(&t.pci, PCI_CFG_COMMAND), 0x0006);
	ck_assert_uint_eq(pci_cfg_get16(&t.pci, PCI_CFG_STATUS), 0);
	/* the same through the API, with a dword-crossing access */
	ck_assert_uint_eq(pci_bus_cfg_read(pb, 0, df, 1, 4), 0x061357abu);
	ck_assert_uint_eq(pci_bus_cfg_read(pb, 0, df, 3, 2), 0x0613);
}
END_TEST

/* ---- ECAM ---- */

START_TEST(test_ecam_matches_cf8)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t, e;
	struct bar_rec other = { 0 };
	const uint64_t base = MM_PCIE_ECAM;
	uint64_t a;

	tdev_init(&t, 0x8086, 0x29c0, false, PCI_INTA);
	tdev_init(&e, 0x1af4, 0x1041, true, 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(0, 0), &t.pci), 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(1, 0), &e.pci), 0);
	/* disabled at first */
	ck_assert_ptr_null(bus_find(&mmio, base));
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, base, MM_PCIE_ECAM_SIZE), 0);
	ck_assert_ptr_nonnull(bus_find(&mmio, base + MM_PCIE_ECAM_SIZE - 1));
	/* same values through both mechanisms */
	ck_assert_uint_eq(io_rd(&mmio, base, 4), cfg_rd(0, 0, 0, 4));
	ck_assert_uint_eq(io_rd(&mmio, base + PCI_CFG_INT_PIN, 1), PCI_INTA);
	a = base + (PCI_DEVFN(1, 0) << 12);
	ck_assert_uint_eq(io_rd(&mmio, a, 2), 0x1af4);
	ck_assert_uint_eq(io_rd(&mmio, a + 2, 2), 0x1041);
	/* an ECAM write is seen by CF8/CFC and the other way round */
	io_wr(&mmio, base + PCI_CFG_INT_LINE, 0x0a, 1);
	ck_assert_uint_eq(cfg_rd(0, 0, PCI_CFG_INT_LINE, 1), 0x0a);
	cfg_wr(0, 0, PCI_CFG_CACHE_LINE, 0x10, 1);
	ck_assert_uint_eq(io_rd(&mmio, base + PCI_CFG_CACHE_LINE, 1), 0x10);
	/* extended config space: PCIe function reads 0, conventional all-ones */
	ck_assert_uint_eq(io_rd(&mmio, a + 0x100, 4), 0);
	ck_assert_uint_eq(io_rd(&mmio, a + 0xffc, 4), 0);
	ck_assert_uint_eq(io_rd(&mmio, base + 0x100, 4), 0xffffffff);
	/* beyond bus 0, absent devices and functions */
	ck_assert_uint_eq(io_rd(&mmio, base + (1 << 20), 4), 0xffffffff);
	ck_assert_uint_eq(io_rd(&mmio, base + (255ULL << 20) + 0xffc, 4), 0xffffffff);
	ck_assert_uint_eq(io_rd(&mmio, base + (PCI_DEVFN(9, 0) << 12), 2), 0xffff);
	io_wr(&mmio, base + (1 << 20) + PCI_CFG_INT_LINE, 0x55, 1);
	ck_assert_uint_eq(cfg_rd(0, 0, PCI_CFG_INT_LINE, 1), 0x0a);
	/* 8-byte access = two dwords; dword-crossing accesses split into bytes */
	ck_assert_uint_eq(io_rd(&mmio, base, 8), (uint64_t)cfg_rd(0, 0, 4, 4) << 32 | 0x29c08086);
	ck_assert_uint_eq(io_rd(&mmio, base + 2, 4), (cfg_rd(0, 0, 4, 2) << 16) | 0x29c0);
	ck_assert_uint_eq(io_rd(&mmio, base + 3, 2), (cfg_rd(0, 0, 4, 1) << 8) | 0x29);
	/* writes to read-only IDs through ECAM are ignored */
	io_wr(&mmio, base, 0, 4);
	io_wr(&mmio, base + 1, 0, 8);
	ck_assert_uint_eq(io_rd(&mmio, base, 4), 0x29c08086);

	/* moving the window: old range gone, new one live */
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, 0xe0000000, 64 * MiB), 0);
	ck_assert_ptr_null(bus_find(&mmio, base));
	ck_assert_uint_eq(io_rd(&mmio, 0xe0000000, 4), 0x29c08086);
	/* same window again: no-op */
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, 0xe0000000, 64 * MiB), 0);
	ck_assert_uint_eq(mmio.n, 1);
	/* bad geometry */
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, 0xe0000000, 3 * MiB), -EINVAL);
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, 0xe0100000, 64 * MiB), -EINVAL);
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, 0xe0000000, 512 * MiB), -EINVAL);
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, 0, 512 * KiB), -EINVAL);
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, 0xfffffffffff00000ULL, 2 * MiB), -EINVAL);
	/* the rejected requests left the window where it was */
	ck_assert_uint_eq(io_rd(&mmio, 0xe0000000, 2), 0x8086);
	/* overlap with another MMIO range: refused, left unmapped */
	ck_assert_int_eq(bus_register(&mmio, 0xb8000000, 0x1000, &bar_ops, &other), 0);
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, base, MM_PCIE_ECAM_SIZE), -EEXIST);
	ck_assert_ptr_null(bus_find(&mmio, 0xe0000000));
	ck_assert_ptr_null(bus_find(&mmio, base));
	bus_unregister(&mmio, 0xb8000000, &other);
	/* disable */
	ck_assert_int_eq(pci_bus_set_ecam(pb, true, base, MM_PCIE_ECAM_SIZE), 0);
	ck_assert_int_eq(pci_bus_set_ecam(pb, false, 0, 0), 0);
	ck_assert_uint_eq(mmio.n, 0);
}
END_TEST

/* ---- BARs ---- */

static void bar_dev(struct tdev *t)
{
	tdev_init(t, 0x1af4, 0x1000, false, PCI_INTA);
	ck_assert_int_eq(pci_bar_init(&t->pci, 0, 0x20, PCI_BAR_IO, &bar_ops, &t->rec), 0);
	ck_assert_int_eq(pci_bar_init(&t->pci, 1, 0x1000, PCI_BAR_MEM32, &bar_ops, &t->rec), 0);
	ck_assert_int_eq(pci_bar_init(&t->pci, 2, 0x100000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH,
				      &bar_ops, &t->rec), 0);
}

START_TEST(test_bar_sizing)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;
	unsigned df = PCI_DEVFN(5, 0);

	bar_dev(&t);
	ck_assert_int_eq(pci_dev_register(pb, df, &t.pci), 0);
	/* type bits at reset */
	ck_assert_uint_eq(cfg_rd(0, df, 0x10, 4), 0x1);
	ck_assert_uint_eq(cfg_rd(0, df, 0x14, 4), 0x0);
	ck_assert_uint_eq(cfg_rd(0, df, 0x18, 4), 0xc);
	ck_assert_uint_eq(cfg_rd(0, df, 0x1c, 4), 0x0);
	/* write all-ones, read the size mask back */
	for (unsigned r = 0x10; r < 0x28; r += 4)
		cfg_wr(0, df, r, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_rd(0, df, 0x10, 4), 0x0000ffe1);
	ck_assert_uint_eq(cfg_rd(0, df, 0x14, 4), 0xfffff000);
	ck_assert_uint_eq(cfg_rd(0, df, 0x18, 4), 0xfff0000c);
	ck_assert_uint_eq(cfg_rd(0, df, 0x1c, 4), 0xffffffff);
	/* unimplemented BARs stay zero */
	ck_assert_uint_eq(cfg_rd(0, df, 0x20, 4), 0);
	ck_assert_uint_eq(cfg_rd(0, df, 0x24, 4), 0);
	ck_assert_uint_eq(cfg_rd(0, df, PCI_CFG_ROM, 4), 0);
	/* sizing with decode enabled never maps the all-ones pattern */
	cfg_wr(0, df, PCI_CFG_COMMAND, PCI_CMD_IO | PCI_CMD_MEM, 2);
	ck_assert_uint_eq(pio.n, 1);    /* just the config ports */
	ck_assert_uint_eq(mmio.n, 0);
	ck_assert_uint_eq(pci_bar_addr(&t.pci, 0), ~0ULL);
	ck_assert_uint_eq(pci_bar_addr(&t.pci, 9), ~0ULL);
	/* half-sized 64-bit BAR (low dword sized, high dword 0) isn't mapped either */
	cfg_wr(0, df, 0x1c, 0, 4);
	ck_assert_uint_eq(mmio.n, 0);
	/* byte-wise programming of a BAR works */
	cfg_wr(0, df, 0x10, 0x00, 1);
	cfg_wr(0, df, 0x11, 0xc0, 1);
	ck_assert_uint_eq(cfg_rd(0, df, 0x10, 4), 0xc001);
	ck_assert_uint_eq(pci_bar_addr(&t.pci, 0), 0xc000);
}
END_TEST

START_TEST(test_bar_init_rejects)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;

	tdev_init(&t, 1, 2, false, 0);
	ck_assert_int_eq(pci_bar_init(&t.pci, 6, 0x1000, PCI_BAR_MEM32, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 0x1800, PCI_BAR_MEM32, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 0, PCI_BAR_MEM32, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 8, PCI_BAR_MEM32, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 2, PCI_BAR_IO, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 512, PCI_BAR_IO, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 16, PCI_BAR_IO | PCI_BAR_PREFETCH, &bar_ops,
				      NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 16, PCI_BAR_IO | PCI_BAR_MEM32, &bar_ops, NULL),
			 -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 16, 0, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 0x1000, PCI_BAR_MEM32, NULL, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 4 * GiB, PCI_BAR_MEM32, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 5, 0x1000, PCI_BAR_MEM64, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 3, 0x1000, PCI_BAR_MEM64, &bar_ops, NULL), 0);
	/* both halves of the 64-bit BAR are taken */
	ck_assert_int_eq(pci_bar_init(&t.pci, 3, 0x1000, PCI_BAR_MEM32, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 4, 0x1000, PCI_BAR_MEM32, &bar_ops, NULL), -EINVAL);
	ck_assert_int_eq(pci_bar_init(&t.pci, 2, 0x1000, PCI_BAR_MEM64, &bar_ops, NULL), -EINVAL);
	/* 8 GiB 64-bit BAR: low dword has no writable address bits */
	ck_assert_int_eq(pci_bar_init(&t.pci, 0, 8 * GiB, PCI_BAR_MEM64, &bar_ops, NULL), 0);
	ck_assert_uint_eq(ld_le32(&t.pci.wmask[0x10]), 0);
	ck_assert_uint_eq(ld_le32(&t.pci.wmask[0x14]), 0xfffffffe);
}
END_TEST

START_TEST(test_bar_mapping)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t, u;
	unsigned df = PCI_DEVFN(5, 0);
	const struct bus_range *r;

	bar_dev(&t);
	ck_assert_int_eq(pci_dev_register(pb, df, &t.pci), 0);
	cfg_wr(0, df, 0x10, 0xc000, 4);
	cfg_wr(0, df, 0x14, 0xc0001000, 4);
	cfg_wr(0, df, 0x18, 0x00000000, 4);
	cfg_wr(0, df, 0x1c, 0x80, 4);
	/* nothing is decoded before COMMAND enables it */
	ck_assert_uint_eq(mmio.n, 0);
	ck_assert_ptr_null(bus_find(&pio, 0xc000));
	cfg_wr(0, df, PCI_CFG_COMMAND, PCI_CMD_IO, 2);
	r = bus_find(&pio, 0xc01f);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->base, 0xc000);
	ck_assert_uint_eq(r->len, 0x20);
	ck_assert_uint_eq(mmio.n, 0);
	/* accesses arrive as offsets into the BAR */
	io_wr(&pio, 0xc012, 0xbeef, 2);
	ck_assert_uint_eq(t.rec.last_off, 0x12);
	ck_assert_uint_eq(t.rec.last_val, 0xbeef);
	cfg_wr(0, df, PCI_CFG_COMMAND, PCI_CMD_IO | PCI_CMD_MEM, 2);
	ck_assert_uint_eq(pci_bar_addr(&t.pci, 1), 0xc0001000);
	ck_assert_uint_eq(pci_bar_addr(&t.pci, 2), 0x8000000000ULL);
	ck_assert_uint_eq(io_rd(&mmio, 0x8000000000ULL + 0xfff08, 4), 0x5a5a5a5a);
	ck_assert_uint_eq(t.rec.last_off, 0xfff08);
	/* moving a BAR unmaps the old address */
	cfg_wr(0, df, 0x14, 0xc0002000, 4);
	ck_assert_ptr_null(bus_find(&mmio, 0xc0001000));
	ck_assert_ptr_nonnull(bus_find(&mmio, 0xc0002fff));
	/* the low bits below the size are ignored */
	cfg_wr(0, df, 0x14, 0xc0003fff, 4);
	ck_assert_uint_eq(cfg_rd(0, df, 0x14, 4), 0xc0003000);
	ck_assert_uint_eq(pci_bar_addr(&t.pci, 1), 0xc0003000);
	/* address 0 means unmapped */
	cfg_wr(0, df, 0x14, 0, 4);
	ck_assert_uint_eq(pci_bar_addr(&t.pci, 1), ~0ULL);
	cfg_wr(0, df, 0x14, 0xc0001000, 4);
	/* disabling MEM unmaps memory BARs only */
	cfg_wr(0, df, PCI_CFG_COMMAND, PCI_CMD_IO, 2);
	ck_assert_uint_eq(mmio.n, 0);
	ck_assert_ptr_nonnull(bus_find(&pio, 0xc000));
	cfg_wr(0, df, PCI_CFG_COMMAND, PCI_CMD_IO | PCI_CMD_MEM, 2);
	ck_assert_uint_eq(mmio.n, 2);

	/* a second device programmed on top of the first one stays unmapped */
	bar_dev(&u);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(6, 0), &u.pci), 0);
	cfg_wr(0, PCI_DEVFN(6, 0), 0x14, 0xc0001800 & ~0xfffu, 4);
	cfg_wr(0, PCI_DEVFN(6, 0), 0x10, 0xc010, 4);
	cfg_wr(0, PCI_DEVFN(6, 0), PCI_CFG_COMMAND, PCI_CMD_IO | PCI_CMD_MEM, 2);
	ck_assert_uint_eq(pci_bar_addr(&u.pci, 1), ~0ULL);
	ck_assert_uint_eq(pci_bar_addr(&u.pci, 0), ~0ULL);
	/* the original owner still gets the accesses */
	u.rec.reads = t.rec.reads = 0;
	io_rd(&mmio, 0xc0001004, 4);
	ck_assert_uint_eq(t.rec.reads, 1);
	ck_assert_uint_eq(u.rec.reads, 0);
	/* once moved to a free place it maps */
	cfg_wr(0, PCI_DEVFN(6, 0), 0x14, 0xc0004000, 4);
	cfg_wr(0, PCI_DEVFN(6, 0), 0x10, 0xc040, 4);
	ck_assert_uint_eq(pci_bar_addr(&u.pci, 1), 0xc0004000);
	ck_assert_uint_eq(pci_bar_addr(&u.pci, 0), 0xc040);

	/* 32-bit BAR sized to the very top of 4 GiB is a sizing pattern */
	cfg_wr(0, df, 0x14, 0xfffff000, 4);
	ck_assert_uint_eq(pci_bar_addr(&t.pci, 1), ~0ULL);
	/* unregistering removes every mapping */
	pci_dev_unregister(&u.pci);
	ck_assert_ptr_null(bus_find(&mmio, 0xc0004000));
	ck_assert_ptr_null(bus_find(&pio, 0xc040));
	ck_assert_ptr_null(pci_bus_find(pb, PCI_DEVFN(6, 0)));
	pci_dev_unregister(&u.pci);
}
END_TEST

/* ---- capabilities ---- */

struct cap_rec {
	unsigned writes, rel, size;
	uint32_t old, val;
};

static uint32_t vcap_read(struct pci_dev *d, void *opaque, unsigned rel, unsigned size,
			  uint32_t val)
{
	/* a live register at rel 4: reads return a counter */
	if (rel == 4 && size == 4)
		return 0xc0ffee00 | ((struct cap_rec *)opaque)->writes;
	return val;
}

static void vcap_write(struct pci_dev *d, void *opaque, unsigned rel, unsigned size,
		       uint32_t old, uint32_t val)
{
	struct cap_rec *r = opaque;

	r->writes++;
	r->rel = rel;
	r->size = size;
	r->old = old;
	r->val = val;
}

static const struct pci_cap_ops vcap_ops = { .read = vcap_read, .write = vcap_write };

START_TEST(test_capabilities)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;
	struct cap_rec rec = { 0 };
	unsigned df = PCI_DEVFN(7, 0), off, n;
	int a, b, c;

	tdev_init(&t, 0x1af4, 0x1041, true, 0);
	ck_assert_uint_eq(pci_cap_find(&t.pci, PCI_CAPID_VENDOR), 0);
	a = pci_cap_add_vendor(&t.pci, 0x50, 0x0e, &vcap_ops, &rec);
	ck_assert_int_eq(a, 0x50);
	b = pci_cap_add_vendor(&t.pci, 0, 0x10, NULL, NULL);
	ck_assert_int_eq(b, 0x40);      /* first free dword-aligned gap that fits */
	c = pci_cap_add_pcie(&t.pci, 0, PCI_EXP_TYPE_RC_END);
	ck_assert_int_eq(c, 0x60);
	/* malformed requests */
	ck_assert_int_eq(pci_cap_add(&t.pci, 0x33, 0x52, 4, NULL, NULL), -EINVAL);
	ck_assert_int_eq(pci_cap_add(&t.pci, 0x33, 0x3c, 4, NULL, NULL), -EINVAL);
	ck_assert_int_eq(pci_cap_add(&t.pci, 0x33, 0xfc, 8, NULL, NULL), -EINVAL);
	ck_assert_int_eq(pci_cap_add(&t.pci, 0x33, 0x58, 4, NULL, NULL), -EEXIST);
	ck_assert_int_eq(pci_cap_add(&t.pci, 0x33, 0x40, 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(pci_cap_add_vendor(&t.pci, 0, 2, NULL, NULL), -EINVAL);
	ck_assert_int_eq(pci_cap_add(&t.pci, 0x33, 0, 0xc0, NULL, NULL), -ENOSPC);
	ck_assert_int_eq(pci_dev_register(pb, df, &t.pci), 0);

	/* STATUS.CAP_LIST and the list itself, in order of addition */
	ck_assert(cfg_rd(0, df, PCI_CFG_STATUS, 2) & PCI_STS_CAP_LIST);
	off = cfg_rd(0, df, PCI_CFG_CAP_PTR, 1);
	ck_assert_uint_eq(off, 0x50);
	ck_assert_uint_eq(cfg_rd(0, df, off, 1), PCI_CAPID_VENDOR);
	ck_assert_uint_eq(cfg_rd(0, df, off + 2, 1), 0x0e);
	off = cfg_rd(0, df, off + 1, 1);
	ck_assert_uint_eq(off, 0x40);
	ck_assert_uint_eq(cfg_rd(0, df, off + 2, 1), 0x10);
	off = cfg_rd(0, df, off + 1, 1);
	ck_assert_uint_eq(off, 0x60);
	ck_assert_uint_eq(cfg_rd(0, df, off, 1), PCI_CAPID_EXP);
	ck_assert_uint_eq(cfg_rd(0, df, off + PCI_EXP_FLAGS, 2), 0x92);
	ck_assert_uint_eq(cfg_rd(0, df, off + 1, 1), 0);
	ck_assert_uint_eq(pci_cap_find(&t.pci, PCI_CAPID_EXP), 0x60);
	/* the pointers are read-only */
	cfg_wr(0, df, PCI_CFG_CAP_PTR, 0x80, 1);
	cfg_wr(0, df, 0x50, 0xffff, 2);
	ck_assert_uint_eq(cfg_rd(0, df, PCI_CFG_CAP_PTR, 1), 0x50);
	ck_assert_uint_eq(cfg_rd(0, df, 0x50, 2), 0x4009);

	/* hooks: write sees the relative offset and old/new values */
	n = rec.writes;
	cfg_wr(0, df, 0x58, 0x12345678, 4);
	ck_assert_uint_eq(rec.writes, n + 1);
	ck_assert_uint_eq(rec.rel, 8);
	ck_assert_uint_eq(rec.size, 4);
	ck_assert_uint_eq(rec.val, 0x12345678);
	ck_assert_uint_eq(rec.old, 0);
	/* an access that only partly overlaps the capability is clipped */
	cfg_wr(0, df, 0x5c, 0x9876abcd, 4);
	ck_assert_uint_eq(rec.rel, 0xc);
	ck_assert_uint_eq(rec.size, 2);
	ck_assert_uint_eq(rec.val, 0xabcd);
	/* read hook overrides the value of a live register */
	ck_assert_uint_eq(cfg_rd(0, df, 0x54, 4), 0xc0ffee00u | rec.writes);
	ck_assert_uint_eq(cfg_rd(0, df, 0x56, 2), 0);
	/* PCIe DEVSTA error bits are W1C, DEVCTL writable */
	pci_cfg_set16(&t.pci, 0x60 + PCI_EXP_DEVSTA, 0x000f);
	cfg_wr(0, df, 0x60 + PCI_EXP_DEVSTA, 0x0005, 2);
	ck_assert_uint_eq(cfg_rd(0, df, 0x60 + PCI_EXP_DEVSTA, 2), 0x000a);
	cfg_wr(0, df, 0x60 + PCI_EXP_DEVCTL, 0xffff, 2);
	ck_assert_uint_eq(cfg_rd(0, df, 0x60 + PCI_EXP_DEVCTL, 2), 0x7cff);
	/* reset restores the capability registers */
	pci_bus_reset(pb);
	ck_assert_uint_eq(cfg_rd(0, df, 0x60 + PCI_EXP_DEVCTL, 2), 0x2810);
	ck_assert_uint_eq(cfg_rd(0, df, PCI_CFG_CAP_PTR, 1), 0x50);
}
END_TEST

START_TEST(test_pcie_cap_needs_pcie_function)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;

	tdev_init(&t, 1, 2, false, 0);
	ck_assert_int_eq(pci_cap_add_pcie(&t.pci, 0, PCI_EXP_TYPE_ENDPOINT), -EINVAL);
	tdev_init(&t, 1, 2, true, 0);
	ck_assert_int_eq(pci_cap_add_pcie(&t.pci, 0, 4), -EINVAL);
	ck_assert_int_eq(pci_cap_add_pcie(&t.pci, 0x80, PCI_EXP_TYPE_ENDPOINT), 0x80);
	ck_assert_uint_eq(pci_cfg_get16(&t.pci, 0x80 + PCI_EXP_FLAGS), 0x02);
	ck_assert_uint_eq(pci_cfg_get16(&t.pci, 0x80 + PCI_EXP_LNKSTA), 0x11);
}
END_TEST

/* ---- INTx ---- */

START_TEST(test_intx_default_routing)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev a, b;
	unsigned gsi_a = GSI_PCI_FIRST + ((3 + 0) & 3);  /* slot 3, INTA */

	tdev_init(&a, 1, 2, false, PCI_INTA);
	tdev_init(&b, 1, 3, false, PCI_INTD);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(3, 0), &a.pci), 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(4, 0), &b.pci), 0); /* (4+3)%4 = 3 */
	ck_assert_uint_eq(pci_swizzle_link(PCI_DEVFN(4, 0), PCI_INTD), 3);
	pci_dev_set_irq(&a.pci, 1);
	ck_assert_int_eq(irqs.level[gsi_a], 1);
	ck_assert(cfg_rd(0, PCI_DEVFN(3, 0), PCI_CFG_STATUS, 2) & PCI_STS_INTX);
	/* shared line: stays up until the last function drops it */
	pci_dev_set_irq(&b.pci, 1);
	ck_assert_uint_eq(irqs.raises[gsi_a], 1);
	pci_dev_set_irq(&a.pci, 0);
	ck_assert_int_eq(irqs.level[gsi_a], 1);
	ck_assert(!(cfg_rd(0, PCI_DEVFN(3, 0), PCI_CFG_STATUS, 2) & PCI_STS_INTX));
	pci_dev_set_irq(&b.pci, 0);
	ck_assert_int_eq(irqs.level[gsi_a], 0);
	/* INTX_DISABLE masks the output but not the status bit */
	pci_dev_set_irq(&a.pci, 1);
	cfg_wr(0, PCI_DEVFN(3, 0), PCI_CFG_COMMAND, PCI_CMD_INTX_DISABLE, 2);
	ck_assert_int_eq(irqs.level[gsi_a], 0);
	ck_assert(cfg_rd(0, PCI_DEVFN(3, 0), PCI_CFG_STATUS, 2) & PCI_STS_INTX);
	cfg_wr(0, PCI_DEVFN(3, 0), PCI_CFG_COMMAND, 0, 2);
	ck_assert_int_eq(irqs.level[gsi_a], 1);
	/* repeated level is not a new edge */
	pci_dev_set_irq(&a.pci, 1);
	ck_assert_uint_eq(irqs.raises[gsi_a], 3);
	/* reset drops the line and the status */
	pci_bus_reset(pb);
	ck_assert_int_eq(irqs.level[gsi_a], 0);
	ck_assert(!(cfg_rd(0, PCI_DEVFN(3, 0), PCI_CFG_STATUS, 2) & PCI_STS_INTX));
}
END_TEST

static int last_map_devfn = -1;
static unsigned link_level[PCI_MAX_LINKS], link_calls;

static int test_map(void *opaque, unsigned devfn, unsigned pin)
{
	last_map_devfn = (int)devfn;
	return devfn == PCI_DEVFN(9, 0) ? -1 : devfn == PCI_DEVFN(10, 0) ? 99 : 6;
}

static void test_set_link(void *opaque, unsigned link, int level)
{
	link_calls++;
	if (link < PCI_MAX_LINKS)
		link_level[link] = (unsigned)level;
}

START_TEST(test_intx_router)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev a, n, bad, nopin;
	struct pci_intx_router r = { test_map, test_set_link, NULL };

	tdev_init(&a, 1, 2, false, PCI_INTA);
	tdev_init(&n, 1, 2, false, PCI_INTA);
	tdev_init(&bad, 1, 2, false, PCI_INTA);
	tdev_init(&nopin, 1, 2, false, 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(8, 0), &a.pci), 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(9, 0), &n.pci), 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(10, 0), &bad.pci), 0);
	ck_assert_int_eq(pci_dev_register(pb, PCI_DEVFN(11, 0), &nopin.pci), 0);
	/* asserted on the default router, then moved to the new one */
	pci_dev_set_irq(&a.pci, 1);
	ck_assert_int_eq(irqs.level[GSI_PCI_FIRST + 0], 1);
	memset(link_level, 0, sizeof(link_level));
	link_calls = 0;
	pci_bus_set_intx_router(pb, &r);
	ck_assert_int_eq(irqs.level[GSI_PCI_FIRST + 0], 0);
	ck_assert_uint_eq(link_level[6], 1);
	ck_assert_int_eq(last_map_devfn, PCI_DEVFN(8, 0));
	/* not connected / out-of-range links / no pin: nothing happens */
	link_calls = 0;
	pci_dev_set_irq(&n.pci, 1);
	pci_dev_set_irq(&bad.pci, 1);
	pci_dev_set_irq(&nopin.pci, 1);
	ck_assert_uint_eq(link_calls, 0);
	pci_dev_set_irq(&a.pci, 0);
	ck_assert_uint_eq(link_level[6], 0);
	pci_bus_set_intx_router(pb, NULL);
	pci_dev_set_irq(&a.pci, 1);
	ck_assert_int_eq(irqs.level[GSI_PCI_FIRST + 0], 1);
	pci_dev_unregister(&a.pci);
	ck_assert_int_eq(irqs.level[GSI_PCI_FIRST + 0], 0);
}
END_TEST

/* ---- MSI ---- */

START_TEST(test_msi)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;
	unsigned df = PCI_DEVFN(12, 0);
	int off;

	tdev_init(&t, 1, 2, false, PCI_INTA);
	off = pci_cap_add_msi(&t.pci, 0, 2, true, true);   /* 4 vectors, 64-bit, maskable */
	ck_assert_int_eq(off, 0x40);
	ck_assert_int_eq(pci_cap_add_msi(&t.pci, 0, 1, false, false), -EINVAL);
	ck_assert_int_eq(pci_dev_register(pb, df, &t.pci), 0);
	ck_assert_uint_eq(cfg_rd(0, df, off + 2, 2), 0x0184);
	/* program: address, data, enable with 2 of 4 vectors */
	cfg_wr(0, df, off + 4, 0xfee00003, 4);     /* low bits are RO 0 */
	cfg_wr(0, df, off + 8, 0x1, 4);
	cfg_wr(0, df, off + 0xc, 0x40, 2);
	ck_assert_uint_eq(cfg_rd(0, df, off + 4, 4), 0xfee00000);
	pci_msi_notify(&t.pci, 0);
	ck_assert_uint_eq(irqs.nmsi, 0);    /* not enabled */
	cfg_wr(0, df, off + 2, PCI_MSI_CTRL_EN | 1 << 4, 2);
	ck_assert(pci_msi_enabled(&t.pci));
	/* MMC is read-only: the capability still says 4 */
	ck_assert_uint_eq(cfg_rd(0, df, off + 2, 2), 0x0195);
	pci_msi_notify(&t.pci, 1);
	ck_assert_uint_eq(irqs.nmsi, 0);    /* no bus mastering, no MSI */
	cfg_wr(0, df, PCI_CFG_COMMAND, PCI_CMD_MASTER, 2);
	pci_msi_notify(&t.pci, 1);
	ck_assert_uint_eq(irqs.nmsi, 1);
	ck_assert_uint_eq(irqs.msi_addr[0], 0x1fee00000ULL);
	ck_assert_uint_eq(irqs.msi_data[0], 0x41);
	/* vectors beyond the enabled count are dropped */
	pci_msi_notify(&t.pci, 2);
	pci_msi_notify(&t.pci, 40);
	ck_assert_uint_eq(irqs.nmsi, 1);
	/* masked: pending, delivered on unmask */
	cfg_wr(0, df, off + 0x10, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_rd(0, df, off + 0x10, 4), 0xf);
	pci_msi_notify(&t.pci, 0);
	ck_assert_uint_eq(irqs.nmsi, 1);
	ck_assert_uint_eq(cfg_rd(0, df, off + 0x14, 4), 0x1);
	cfg_wr(0, df, off + 0x14, 0, 4);    /* pending is read-only */
	ck_assert_uint_eq(cfg_rd(0, df, off + 0x14, 4), 0x1);
	cfg_wr(0, df, off + 0x10, 0xe, 4);
	ck_assert_uint_eq(irqs.nmsi, 2);
	ck_assert_uint_eq(irqs.msi_data[1], 0x40);
	ck_assert_uint_eq(cfg_rd(0, df, off + 0x14, 4), 0);
	/* reset disables MSI */
	pci_bus_reset(pb);
	ck_assert(!pci_msi_enabled(&t.pci));
}
END_TEST

/* ---- MSI-X ---- */

START_TEST(test_msix)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;
	unsigned df = PCI_DEVFN(13, 0);
	int off;

	tdev_init(&t, 1, 2, true, 0);
	ck_assert_int_eq(pci_bar_init(&t.pci, 1, 0x1000, PCI_BAR_MEM32, &bar_ops, &t.rec), 0);
	/* malformed: bad vector counts, missing BAR, misaligned, too large */
	ck_assert_int_eq(pci_cap_add_msix(&t.pci, 0, 0, 1, 0, 1, 0x800), -EINVAL);
	ck_assert_int_eq(pci_cap_add_msix(&t.pci, 0, 4096, 1, 0, 1, 0x800), -EINVAL);
	ck_assert_int_eq(pci_cap_add_msix(&t.pci, 0, 4, 0, 0, 1, 0x800), -EINVAL);
	ck_assert_int_eq(pci_cap_add_msix(&t.pci, 0, 4, 1, 4, 1, 0x800), -EINVAL);
	ck_assert_int_eq(pci_cap_add_msix(&t.pci, 0, 255, 1, 0, 1, 0x800), -EINVAL);
	ck_assert_int_eq(pci_cap_add_msix(&t.pci, 0, 4, 1, 0x800, 1, 0x800), -EINVAL);
	ck_assert_int_eq(pci_cap_add_msix(&t.pci, 0, 4, 7, 0, 1, 0x800), -EINVAL);
	off = pci_cap_add_msix(&t.pci, 0, 4, 1, 0, 1, 0x800);
	ck_assert_int_eq(off, 0x40);
	ck_assert_int_eq(pci_cap_add_msix(&t.pci, 0, 4, 1, 0, 1, 0x800), -EINVAL);
	ck_assert_int_eq(pci_dev_register(pb, df, &t.pci), 0);
	ck_assert_uint_eq(cfg_rd(0, df, off + 2, 2), 3);
	ck_assert_uint_eq(cfg_rd(0, df, off + 4, 4), 0x1);
	ck_assert_uint_eq(cfg_rd(0, df, off + 8, 4), 0x801);
	/* every vector comes out of reset masked */
	ck_assert(pci_msix_masked(&t.pci, 0));
	ck_assert_uint_eq(pci_msix_table_read(&t.pci, 12, 4), 1);
	/* program vector 2 with a qword + dword, then unmask */
	pci_msix_table_write(&t.pci, 2 * 16, 0xfee01000, 8);
	pci_msix_table_write(&t.pci, 2 * 16 + 8, 0x4049, 4);
	pci_msix_table_write(&t.pci, 2 * 16 + 12, 0xfffffffe, 4);  /* only bit 0 sticks */
	ck_assert_uint_eq(pci_msix_table_read(&t.pci, 2 * 16 + 12, 4), 0);
	ck_assert_uint_eq(pci_msix_table_read(&t.pci, 2 * 16, 8), 0xfee01000);
	ck_assert(!pci_msix_masked(&t.pci, 2));
	/* disabled: dropped */
	pci_msix_notify(&t.pci, 2);
	ck_assert_uint_eq(irqs.nmsi, 0);
	cfg_wr(0, df, PCI_CFG_COMMAND, PCI_CMD_MASTER, 2);
	cfg_wr(0, df, off + 2, PCI_MSIX_CTRL_EN | PCI_MSIX_CTRL_MASKALL | 0x7ff, 2);
	ck_assert_uint_eq(cfg_rd(0, df, off + 2, 2), 0xc003);
	ck_assert(pci_msix_enabled(&t.pci));
	/* function-masked: pending bit in the PBA */
	pci_msix_notify(&t.pci, 2);
	ck_assert_uint_eq(irqs.nmsi, 0);
	ck_assert_uint_eq(pci_msix_pba_read(&t.pci, 0, 8), 0x4);
	ck_assert_uint_eq(pci_msix_pba_read(&t.pci, 0, 1), 0x4);
	ck_assert_uint_eq(pci_msix_pba_read(&t.pci, 8, 4), 0);
	/* clearing MASKALL delivers it */
	cfg_wr(0, df, off + 2, PCI_MSIX_CTRL_EN, 2);
	ck_assert_uint_eq(irqs.nmsi, 1);
	ck_assert_uint_eq(irqs.msi_addr[0], 0xfee01000);
	ck_assert_uint_eq(irqs.msi_data[0], 0x4049);
	ck_assert_uint_eq(pci_msix_pba_read(&t.pci, 0, 8), 0);
	/* vector-masked, then unmasked through the table */
	pci_msix_notify(&t.pci, 0);
	ck_assert_uint_eq(irqs.nmsi, 1);
	pci_msix_table_write(&t.pci, 0, 0xfee00000, 4);
	pci_msix_table_write(&t.pci, 12, 0, 4);
	ck_assert_uint_eq(irqs.nmsi, 2);
	/* out-of-range vectors and table offsets */
	pci_msix_notify(&t.pci, 4);
	ck_assert_uint_eq(irqs.nmsi, 2);
	ck_assert(pci_msix_masked(&t.pci, 4));
	pci_msix_table_write(&t.pci, 4 * 16, 0x1234, 4);
	ck_assert_uint_eq(pci_msix_table_read(&t.pci, 4 * 16, 4), 0);
	ck_assert_uint_eq(pci_msix_table_read(&t.pci, 3 * 16 + 12, 8), 1);
	ck_assert_uint_eq(pci_msix_table_read(&t.pci, 0, 16), 0);
	/* reset: disabled, all masked, nothing pending */
	pci_bus_reset(pb);
	ck_assert(!pci_msix_enabled(&t.pci));
	ck_assert(pci_msix_masked(&t.pci, 2));
	ck_assert_uint_eq(pci_msix_table_read(&t.pci, 2 * 16, 8), 0);
}
END_TEST

START_TEST(test_reset_unmaps)
{
	/* static: the fixture tears the bus down after the test returns */
	static struct tdev t;
	unsigned df = PCI_DEVFN(5, 0);

	bar_dev(&t);
	ck_assert_int_eq(pci_dev_register(pb, df, &t.pci), 0);
	cfg_wr(0, df, 0x14, 0xc0001000, 4);
	cfg_wr(0, df, 0x10, 0xc000, 4);
	cfg_wr(0, df, PCI_CFG_COMMAND, PCI_CMD_IO | PCI_CMD_MEM, 2);
	cfg_wr(0, df, PCI_CFG_INT_LINE, 11, 1);
	ck_assert_uint_eq(mmio.n, 1);
	io_wr(&pio, 0xcf8, 0x80001234, 4);
	pci_bus_reset(pb);
	ck_assert_uint_eq(io_rd(&pio, 0xcf8, 4), 0);
	ck_assert_uint_eq(mmio.n, 0);
	ck_assert_uint_eq(pio.n, 1);
	ck_assert_uint_eq(cfg_rd(0, df, 0x14, 4), 0);
	ck_assert_uint_eq(cfg_rd(0, df, 0x10, 4), 1);
	ck_assert_uint_eq(cfg_rd(0, df, PCI_CFG_COMMAND, 2), 0);
	ck_assert_uint_eq(cfg_rd(0, df, PCI_CFG_INT_LINE, 1), 0);
	ck_assert_uint_eq(cfg_rd(0, df, 0, 2), 0x1af4);
	/* registration errors */
	ck_assert_int_eq(pci_dev_register(pb, 256, &t.pci), -EINVAL);
	ck_assert_int_eq(pci_dev_register(NULL, 0, &t.pci), -EINVAL);
	{
		/* static: the fixture tears the bus down after the test returns */
	static struct tdev u;

		tdev_init(&u, 1, 1, false, 0);
		ck_assert_int_eq(pci_dev_register(pb, df, &u.pci), -EEXIST);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cf8_address_register);
	tcase_add_test(tc, test_absent_functions_all_ones);
	tcase_add_test(tc, test_header_and_readonly_ids);
	tcase_add_test(tc, test_cfc_byte_word_offsets);
	tcase_add_test(tc, test_ecam_matches_cf8);
	tcase_add_test(tc, test_bar_sizing);
	tcase_add_test(tc, test_bar_init_rejects);
	tcase_add_test(tc, test_bar_mapping);
	tcase_add_test(tc, test_capabilities);
	tcase_add_test(tc, test_pcie_cap_needs_pcie_function);
	tcase_add_test(tc, test_intx_default_routing);
	tcase_add_test(tc, test_intx_router);
	tcase_add_test(tc, test_msi);
	tcase_add_test(tc, test_msix);
	tcase_add_test(tc, test_reset_unmaps);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
