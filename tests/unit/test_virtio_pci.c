/*
 * Unit tests for devices/virtio/virtio_pci.c and virtio.c: the PCI
 * function (IDs, capabilities, BAR), the common configuration registers
 * with their odd-sized and out-of-range accesses, feature negotiation and
 * the status state machine, resets, doorbells (inline, trapped and through
 * ioeventfd), INTx with ISR, MSI-X through the PCI core and through
 * irqfd, and the PCI configuration access window. The device behind the
 * transport is a dummy that records what happens to it.
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/chipset/pci.h"
#include "devices/virtio/vdriver.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/unit/support.h"
#include "vmm/event.h"

#define SLOT            3
#define DEVFN           PCI_DEVFN(SLOT, 0)
#define BAR_ADDR        0xe0000000ULL
#define NQ              2
#define QMAX            64
#define RING0           0x10000
#define RING1           0x20000
#define GSI_BASE_TEST   16

struct dummy {
	struct virtio_dev vd;
	uint8_t config[8];
	unsigned kicks[NQ];
	unsigned resets, driver_oks;
	unsigned inflight;
	unsigned cfg_writes, cfg_off, cfg_len;
	uint8_t cfg_buf[8];
};

/* What the fake host saw. */
struct host_rec {
	unsigned route_adds, route_updates, route_dels;
	int fail_route;
	uint64_t addr;
	uint32_t data;
	int irqfd_fd, irqfd_gsi, irqfds;
	int ioev_fail_len0, ioev_fail_all;
	unsigned ioev_assigned;
	uint64_t ioev_gpa[8];
	unsigned ioev_len[8];
};

static struct fake_mem fm;
static struct irq_rec rec;
static struct bus pio, mmio;
static struct pci_bus *pbus;
static struct dummy dev;
static struct virtio_pci *vp;
static struct host_rec hr;
static struct event_loop *loop;
static unsigned caps[8];        /* offset of each vendor capability type */
static const struct io_ctx cpu0 = { .cpu = 0 };

/* ---- the dummy device ---- */

static struct dummy *to_dummy(struct virtio_dev *vd)
{
	return container_of(vd, struct dummy, vd);
}

static void d_notify(struct virtio_dev *vd, unsigned q)
{
	to_dummy(vd)->kicks[q]++;
}

static void d_reset(struct virtio_dev *vd)
{
	to_dummy(vd)->resets++;
}

static void d_driver_ok(struct virtio_dev *vd)
{
	to_dummy(vd)->driver_oks++;
}

static void d_config_write(struct virtio_dev *vd, unsigned off, const uint8_t *buf, unsigned len)
{
	struct dummy *d = to_dummy(vd);

	d->cfg_writes++;
	d->cfg_off = off;
	d->cfg_len = len;
	memcpy(d->cfg_buf, buf, MIN(len, sizeof(d->cfg_buf)));
}

static unsigned d_inflight(struct virtio_dev *vd)
{
	return to_dummy(vd)->inflight;
}

static const struct virtio_dev_ops dummy_ops = {
	.queue_notify = d_notify,
	.reset = d_reset,
	.driver_ok = d_driver_ok,
	.config_write = d_config_write,
	.inflight = d_inflight,
};

/* ---- the fake host ---- */

static int h_ioeventfd(void *opaque, uint64_t gpa, unsigned len, int fd, bool assign)
{
	unsigned i;

	if (hr.ioev_fail_all || (len == 0 && hr.ioev_fail_len0))
		return -EINVAL;
	if (assign) {
		if (hr.ioev_assigned < ARRAY_SIZE(hr.ioev_gpa)) {
			hr.ioev_gpa[hr.ioev_assigned] = gpa;
			hr.ioev_len[hr.ioev_assigned] = len;
		}
		hr.ioev_assigned++;
		return 0;
	}
	/* Deassign must name what was assigned. */
	for (i = 0; i < hr.ioev_assigned && i < ARRAY_SIZE(hr.ioev_gpa); i++) {
		if (hr.ioev_gpa[i] == gpa && hr.ioev_len[i] == len) {
			hr.ioev_gpa[i] = hr.ioev_gpa[hr.ioev_assigned - 1];
			hr.ioev_len[i] = hr.ioev_len[hr.ioev_assigned - 1];
			hr.ioev_assigned--;
			return 0;
		}
	}
	return -ENOENT;
}

static int h_route_add(void *opaque, uint64_t addr, uint32_t data)
{
	if (hr.fail_route)
		return -ENOTSUP;
	hr.route_adds++;
	hr.addr = addr;
	hr.data = data;
	return 40;
}

static int h_route_update(void *opaque, int gsi, uint64_t addr, uint32_t data)
{
	ck_assert_int_eq(gsi, 40);
	hr.route_updates++;
	hr.addr = addr;
	hr.data = data;
	return 0;
}

static void h_route_del(void *opaque, int gsi)
{
	hr.route_dels++;
}

static int h_irqfd(void *opaque, int fd, int gsi, bool assign)
{
	hr.irqfds += assign ? 1 : -1;
	hr.irqfd_fd = fd;
	hr.irqfd_gsi = gsi;
	return 0;
}

static const struct virtio_pci_host_ops host_ops = {
	.ioeventfd = h_ioeventfd,
	.msi_route_add = h_route_add,
	.msi_route_update = h_route_update,
	.msi_route_del = h_route_del,
	.irqfd = h_irqfd,
};

/* ---- helpers ---- */

static uint32_t cfg_rd(unsigned off, unsigned size)
{
	return pci_bus_cfg_read(pbus, 0, DEVFN, off, size);
}

static void cfg_wr(unsigned off, uint32_t val, unsigned size)
{
	pci_bus_cfg_write(pbus, 0, DEVFN, off, val, size);
}

static uint64_t bar_rd(uint64_t off, unsigned size)
{
	uint64_t v = 0;

	bus_read(&mmio, &cpu0, BAR_ADDR + off, &v, size);
	return v;
}

static void bar_wr(uint64_t off, uint64_t val, unsigned size)
{
	bus_write(&mmio, &cpu0, BAR_ADDR + off, &val, size);
}

static uint64_t common_rd(unsigned reg, unsigned size)
{
	return bar_rd(VIRTIO_PCI_COMMON_OFF + reg, size);
}

static void common_wr(unsigned reg, uint64_t val, unsigned size)
{
	bar_wr(VIRTIO_PCI_COMMON_OFF + reg, val, size);
}

static void map_bar(uint64_t addr)
{
	cfg_wr(PCI_CFG_BAR0 + 4 * VIRTIO_PCI_BAR, (uint32_t)addr, 4);
	cfg_wr(PCI_CFG_BAR0 + 4 * VIRTIO_PCI_BAR + 4, (uint32_t)(addr >> 32), 4);
	cfg_wr(PCI_CFG_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER, 2);
}

static void find_caps(void)
{
	unsigned off = cfg_rd(PCI_CFG_CAP_PTR, 1), n = 0;

	memset(caps, 0, sizeof(caps));
	while (off && n++ < 32) {
		if (cfg_rd(off, 1) == PCI_CAPID_VENDOR) {
			unsigned type = cfg_rd(off + VIRTIO_PCI_CAP_TYPE, 1);

			if (type < ARRAY_SIZE(caps))
				caps[type] = off;
		}
		off = cfg_rd(off + 1, 1);
	}
}

static void make(bool with_loop, const struct virtio_pci_host_ops *ops)
{
	struct pci_bus_config bc = {
		.intx = { .set_level = rec.line[0].set_level, .opaque = &rec, .gsi = GSI_BASE_TEST },
		.msi = rec.msi,
	};
	struct virtio_pci_config pc = { .vdev = &dev.vd, .class_code = 0x00ff00, .host = ops };

	if (with_loop) {
		ck_assert_int_eq(event_loop_create(NULL, false, &loop), 0);
		pc.loop = loop;
	}
	ck_assert_int_eq(pci_bus_create(&pio, &mmio, &bc, &pbus), 0);
	ck_assert_int_eq(virtio_pci_create(&pc, &vp), 0);
	ck_assert_int_eq(virtio_pci_register(vp, pbus, DEVFN), 0);
	find_caps();
}

static void setup(void)
{
	fake_mem_init(&fm, 0, 1 * MiB);
	irq_rec_init(&rec);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	memset(&dev, 0, sizeof(dev));
	memset(&hr, 0, sizeof(hr));
	ck_assert_int_eq(virtio_dev_init(&dev.vd, "dummy", VIRTIO_ID_RNG, &dummy_ops, &fm.gm,
					 BIT(VIRTIO_F_EVENT_IDX) | BIT(3), NQ, QMAX, dev.config,
					 sizeof(dev.config)), 0);
	memcpy(dev.config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	loop = NULL;
}

static void setup_plain(void)
{
	setup();
	make(false, NULL);
	map_bar(BAR_ADDR);
}

static void teardown(void)
{
	virtio_pci_destroy(vp);
	pci_bus_destroy(pbus);
	if (loop)
		event_loop_destroy(loop);
	virtio_dev_free(&dev.vd);
	bus_free(&pio);
	bus_free(&mmio);
	fake_mem_free(&fm);
}

/* Driver bring-up through the registers, queue 0 on a ring at RING0. */
static void driver_up(uint64_t features)
{
	struct vdrv_queue dq;

	common_wr(VIRTIO_PCI_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER, 1);
	common_wr(VIRTIO_PCI_GFSELECT, 0, 4);
	common_wr(VIRTIO_PCI_GF, (uint32_t)features, 4);
	common_wr(VIRTIO_PCI_GFSELECT, 1, 4);
	common_wr(VIRTIO_PCI_GF, (uint32_t)(features >> 32) | 1, 4);
	common_wr(VIRTIO_PCI_STATUS, 0x0b, 1);
	vdrv_queue_init(&dq, &fm.gm, 16, RING0);
	common_wr(VIRTIO_PCI_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_Q_SIZE, 16, 2);
	common_wr(VIRTIO_PCI_Q_DESC, dq.desc, 8);
	common_wr(VIRTIO_PCI_Q_DRIVER, dq.avail, 8);
	common_wr(VIRTIO_PCI_Q_DEVICE, dq.used, 8);
	common_wr(VIRTIO_PCI_Q_ENABLE, 1, 2);
	common_wr(VIRTIO_PCI_STATUS, 0x0f, 1);
}

#define MSIX_ENTRY(v)   (VIRTIO_PCI_MSIX_OFF + PCI_MSIX_ENTRY_SIZE * (v))

static void msix_on(unsigned vec, uint32_t data, bool masked)
{
	unsigned cap = pci_cap_find(virtio_pci_dev(vp), PCI_CAPID_MSIX);

	cfg_wr(cap + PCI_MSIX_CTRL, PCI_MSIX_CTRL_EN, 2);
	bar_wr(MSIX_ENTRY(vec), 0xfee00000, 4);
	bar_wr(MSIX_ENTRY(vec) + 4, 0, 4);
	bar_wr(MSIX_ENTRY(vec) + 8, data, 4);
	bar_wr(MSIX_ENTRY(vec) + 12, masked, 4);
}

/* ---- tests ---- */

START_TEST(test_identity)
{
	ck_assert_uint_eq(cfg_rd(PCI_CFG_VENDOR_ID, 2), 0x1af4);
	ck_assert_uint_eq(cfg_rd(PCI_CFG_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	ck_assert_uint_eq(cfg_rd(PCI_CFG_REVISION, 1), 1);
	ck_assert_uint_eq(cfg_rd(PCI_CFG_SUBSYS_VENDOR, 2), 0x1af4);
	ck_assert_uint_eq(cfg_rd(PCI_CFG_SUBSYS_ID, 2), 0x1100);
	ck_assert_uint_eq(cfg_rd(PCI_CFG_SUBCLASS, 2), 0x00ff);
	ck_assert_uint_eq(cfg_rd(PCI_CFG_INT_PIN, 1), PCI_INTA);
	ck_assert(cfg_rd(PCI_CFG_STATUS, 2) & PCI_STS_CAP_LIST);
}
END_TEST

START_TEST(test_capabilities)
{
	static const struct { unsigned type; uint32_t off, len; } want[] = {
		{ VIRTIO_PCI_CAP_COMMON, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN },
		{ VIRTIO_PCI_CAP_NOTIFY, VIRTIO_PCI_NOTIFY_OFF, NQ * VIRTIO_PCI_NOTIFY_MULT },
		{ VIRTIO_PCI_CAP_ISR, VIRTIO_PCI_ISR_OFF, 1 },
		{ VIRTIO_PCI_CAP_DEVICE, VIRTIO_PCI_DEVCFG_OFF, 8 },
	};
	unsigned i, msix;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		unsigned c = caps[want[i].type];

		ck_assert_msg(c, "capability type %u missing", want[i].type);
		ck_assert_uint_eq(cfg_rd(c + VIRTIO_PCI_CAP_BARNO, 1), VIRTIO_PCI_BAR);
		ck_assert_uint_eq(cfg_rd(c + VIRTIO_PCI_CAP_OFFSET, 4), want[i].off);
		ck_assert_uint_eq(cfg_rd(c + VIRTIO_PCI_CAP_LENGTH, 4), want[i].len);
	}
	ck_assert_uint_eq(cfg_rd(caps[VIRTIO_PCI_CAP_NOTIFY] + 2, 1), 20);
	ck_assert_uint_eq(cfg_rd(caps[VIRTIO_PCI_CAP_NOTIFY] + VIRTIO_PCI_CAP_MULT, 4),
			  VIRTIO_PCI_NOTIFY_MULT);
	ck_assert(caps[VIRTIO_PCI_CAP_PCI_CFG]);
	msix = pci_cap_find(virtio_pci_dev(vp), PCI_CAPID_MSIX);
	ck_assert(msix);
	ck_assert_uint_eq(cfg_rd(msix + PCI_MSIX_CTRL, 2) & 0x7ff, NQ);   /* NQ + 1 vectors */
	ck_assert_uint_eq(cfg_rd(msix + PCI_MSIX_TABLE, 4), VIRTIO_PCI_MSIX_OFF | VIRTIO_PCI_BAR);
	ck_assert_uint_eq(cfg_rd(msix + PCI_MSIX_PBA, 4), VIRTIO_PCI_PBA_OFF | VIRTIO_PCI_BAR);
}
END_TEST

START_TEST(test_bar)
{
	/* A 64-bit memory BAR of VIRTIO_PCI_BAR_SIZE: the sizing probe says so. */
	cfg_wr(PCI_CFG_COMMAND, 0, 2);
	cfg_wr(PCI_CFG_BAR0 + 4 * VIRTIO_PCI_BAR, 0xffffffff, 4);
	cfg_wr(PCI_CFG_BAR0 + 4 * VIRTIO_PCI_BAR + 4, 0xffffffff, 4);
	ck_assert_uint_eq(cfg_rd(PCI_CFG_BAR0 + 4 * VIRTIO_PCI_BAR, 4),
			  (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1) | PCI_BAR_MEM64);
	ck_assert_uint_eq(cfg_rd(PCI_CFG_BAR0 + 4 * VIRTIO_PCI_BAR + 4, 4), 0xffffffff);
	ck_assert_ptr_null(bus_find(&mmio, BAR_ADDR));
	map_bar(0x8000000000ULL);
	ck_assert_ptr_nonnull(bus_find(&mmio, 0x8000000000ULL + VIRTIO_PCI_BAR_SIZE - 1));
	map_bar(BAR_ADDR);
	ck_assert_ptr_null(bus_find(&mmio, 0x8000000000ULL));
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_NUM_QUEUES, 2), NQ);
}
END_TEST

START_TEST(test_features)
{
	common_wr(VIRTIO_PCI_DFSELECT, 0, 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_DF, 4), BIT(VIRTIO_F_EVENT_IDX) | BIT(3));
	common_wr(VIRTIO_PCI_DFSELECT, 1, 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_DF, 4), 1);     /* VERSION_1 */
	common_wr(VIRTIO_PCI_DFSELECT, 2, 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_DF, 4), 0);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_DFSELECT, 4), 2);

	/* Without VERSION_1, FEATURES_OK does not stick. */
	common_wr(VIRTIO_PCI_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER, 1);
	common_wr(VIRTIO_PCI_GF, BIT(3), 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_GF, 4), BIT(3));
	common_wr(VIRTIO_PCI_STATUS, 0x0b, 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0x03);
	/* A bit the device does not offer: neither. */
	common_wr(VIRTIO_PCI_GFSELECT, 1, 4);
	common_wr(VIRTIO_PCI_GF, 1 | 2, 4);
	common_wr(VIRTIO_PCI_STATUS, 0x0b, 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0x03);
	/* DRIVER_OK needs FEATURES_OK. */
	common_wr(VIRTIO_PCI_STATUS, 0x07, 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0x03);
	ck_assert_uint_eq(dev.driver_oks, 0);
	/* A valid set sticks, and is frozen from then on. */
	common_wr(VIRTIO_PCI_GF, 1, 4);
	common_wr(VIRTIO_PCI_STATUS, 0x0b, 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0x0b);
	common_wr(VIRTIO_PCI_GF, 3, 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_GF, 4), 1);
	ck_assert(virtio_has_feature(&dev.vd, VIRTIO_F_VERSION_1));
	ck_assert(virtio_has_feature(&dev.vd, 3));
	common_wr(VIRTIO_PCI_STATUS, 0x0f, 1);
	ck_assert_uint_eq(dev.driver_oks, 1);
	/* Selecting a third word reads 0 and ignores writes. */
	common_wr(VIRTIO_PCI_GFSELECT, 7, 4);
	common_wr(VIRTIO_PCI_GF, 0xffffffff, 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_GF, 4), 0);
}
END_TEST

START_TEST(test_queue_registers)
{
	struct virtq *vq = &dev.vd.vqs[1];

	common_wr(VIRTIO_PCI_Q_SELECT, 1, 2);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_SIZE, 2), QMAX);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_NOTIFY_OFF, 2), 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
	common_wr(VIRTIO_PCI_Q_SIZE, 32, 2);
	/* 64-bit registers: two 32-bit halves or one 64-bit access. */
	common_wr(VIRTIO_PCI_Q_DESC, RING1, 4);
	common_wr(VIRTIO_PCI_Q_DESC + 4, 0, 4);
	common_wr(VIRTIO_PCI_Q_DRIVER, RING1 + 0x200, 8);
	common_wr(VIRTIO_PCI_Q_DEVICE, RING1 + 0x1000, 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_DESC, 8), RING1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_DRIVER + 4, 4), 0);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_DEVICE, 4), RING1 + 0x1000);
	common_wr(VIRTIO_PCI_Q_DESC + 4, 0x12, 4);      /* only the high half */
	ck_assert_uint_eq(vq->desc_gpa, 0x1200000000ULL + RING1);
	common_wr(VIRTIO_PCI_Q_DESC + 4, 0, 4);
	/* Vectors: one that exists, one that does not. */
	common_wr(VIRTIO_PCI_Q_MSIX, 2, 2);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_MSIX, 2), 2);
	common_wr(VIRTIO_PCI_Q_MSIX, NQ + 1, 2);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
	common_wr(VIRTIO_PCI_MSIX_CONFIG, 0, 2);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_MSIX_CONFIG, 2), 0);
	common_wr(VIRTIO_PCI_MSIX_CONFIG, 0x1234, 2);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_MSIX_CONFIG, 2), VIRTIO_PCI_NO_VECTOR);
	/* Enable, after which size and addresses are frozen. */
	common_wr(VIRTIO_PCI_Q_ENABLE, 1, 2);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_ENABLE, 2), 1);
	ck_assert(vq->ready);
	common_wr(VIRTIO_PCI_Q_SIZE, 8, 2);
	common_wr(VIRTIO_PCI_Q_DESC, 0x40000, 8);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_SIZE, 2), 32);
	ck_assert_uint_eq(vq->desc_gpa, RING1);
	common_wr(VIRTIO_PCI_Q_ENABLE, 0, 2);           /* cannot be undone but by reset */
	ck_assert(vq->ready);
	/* A queue that does not exist reads 0 and takes nothing. */
	common_wr(VIRTIO_PCI_Q_SELECT, 7, 2);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_SELECT, 2), 7);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_SIZE, 2), 0);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
	common_wr(VIRTIO_PCI_Q_ENABLE, 1, 2);
	common_wr(VIRTIO_PCI_Q_DESC, 0x1000, 8);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_ENABLE, 2), 0);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_DESC, 8), 0);
}
END_TEST

START_TEST(test_odd_accesses)
{
	common_wr(VIRTIO_PCI_DFSELECT, 1, 4);
	/* Byte reads of a 32-bit register. */
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_DF, 1), 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_DF + 1, 1), 0);
	/* One access over two registers: status and config generation. */
	common_wr(VIRTIO_PCI_STATUS, VIRTIO_S_ACKNOWLEDGE, 1);
	dev.vd.config_gen = 5;
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 2), 0x0501);
	/* A 4-byte write at 0x14 sets status and the low byte of queue_select. */
	common_wr(VIRTIO_PCI_STATUS, 0x00010003, 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 3);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_SELECT, 2), 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_CFG_GEN, 1), 5);    /* read-only */
	/* Read-only registers ignore writes. */
	common_wr(VIRTIO_PCI_NUM_QUEUES, 9, 2);
	common_wr(VIRTIO_PCI_DF, 0xffffffff, 4);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_NUM_QUEUES, 2), NQ);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_DF, 4), 1);
	/* Beyond the registers, and in the unused parts of the BAR: 0, writes dropped. */
	ck_assert_uint_eq(common_rd(0x100, 4), 0);
	common_wr(0x100, 0xffffffff, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF + 4, 4), 0);
	ck_assert_uint_eq(bar_rd(0x6000, 8), 0);
	bar_wr(0x7ff8, ~0ULL, 8);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_NOTIFY_OFF, 2), 0);
	/* Device configuration: bytes, then past its end. */
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_DEVCFG_OFF + 2, 4), 0x66554433);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_DEVCFG_OFF + 6, 4), 0x8877);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_DEVCFG_OFF + 0x20, 4), 0);
	bar_wr(VIRTIO_PCI_DEVCFG_OFF + 6, 0xaabbccdd, 4);
	ck_assert_uint_eq(dev.cfg_writes, 1);
	ck_assert_uint_eq(dev.cfg_off, 6);
	ck_assert_uint_eq(dev.cfg_len, 2);              /* clipped at the end */
	ck_assert_uint_eq(dev.cfg_buf[0], 0xdd);
	bar_wr(VIRTIO_PCI_DEVCFG_OFF + 0x40, 1, 4);
	ck_assert_uint_eq(dev.cfg_writes, 1);
}
END_TEST

START_TEST(test_fuzz_registers)
{
	unsigned seed = 42, i;

	for (i = 0; i < 200000; i++) {
		static const unsigned sizes[] = { 1, 2, 4, 8 };
		uint64_t off;
		unsigned size;

		seed = seed * 1103515245 + 12345;
		off = (seed >> 4) % VIRTIO_PCI_BAR_SIZE;
		size = sizes[(seed >> 2) & 3];
		if ((seed >> 20) & 1)
			bar_wr(off, (uint64_t)seed * 0x9e3779b97f4a7c15ULL, size);
		else
			bar_rd(off, size);
		if (!(i % 1000))
			cfg_wr(0x40 + (seed >> 24) % 0xc0, seed, 1 << ((seed >> 8) & 2));
	}
	/* Still alive and resettable. */
	map_bar(BAR_ADDR);
	common_wr(VIRTIO_PCI_STATUS, 0, 1);
	dev.inflight = 0;
	virtio_io_done(&dev.vd);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0);
}
END_TEST

START_TEST(test_reset)
{
	driver_up(0);
	common_wr(VIRTIO_PCI_MSIX_CONFIG, 1, 2);
	ck_assert(dev.vd.vqs[0].ready);
	common_wr(VIRTIO_PCI_STATUS, 0, 1);
	ck_assert_uint_eq(dev.resets, 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0);
	ck_assert(!dev.vd.vqs[0].ready);
	ck_assert_uint_eq(dev.vd.guest_features, 0);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_MSIX_CONFIG, 2), VIRTIO_PCI_NO_VECTOR);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_SIZE, 2), QMAX);
	/* System reset: config space too, the BAR is unmapped. */
	driver_up(0);
	pci_dev_reset(virtio_pci_dev(vp));
	ck_assert_uint_eq(dev.resets, 2);
	ck_assert_ptr_null(bus_find(&mmio, BAR_ADDR));
	ck_assert_uint_eq(dev.vd.status, 0);
	ck_assert(!dev.vd.vqs[0].ready);
}
END_TEST

START_TEST(test_reset_waits_for_io)
{
	driver_up(0);
	dev.inflight = 2;
	common_wr(VIRTIO_PCI_STATUS, 0, 1);
	ck_assert_uint_eq(dev.resets, 1);               /* the device dropped its requests */
	/* Status reads non-zero until the host I/O is done; the driver waits. */
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0x0f);
	ck_assert(!virtio_running(&dev.vd));
	bar_wr(VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	ck_assert_uint_eq(dev.kicks[0], 0);
	common_wr(VIRTIO_PCI_STATUS, 0x01, 1);          /* ignored meanwhile */
	dev.inflight = 1;
	virtio_io_done(&dev.vd);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0x0f);
	dev.inflight = 0;
	virtio_io_done(&dev.vd);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0);
	ck_assert(!dev.vd.vqs[0].ready);
	ck_assert_uint_eq(dev.resets, 1);
}
END_TEST

START_TEST(test_doorbell_inline)
{
	/* Before DRIVER_OK kicks are ignored. */
	bar_wr(VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	ck_assert_uint_eq(dev.kicks[0], 0);
	driver_up(0);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF + 2, 0, 1);        /* any width, anywhere in its slot */
	ck_assert_uint_eq(dev.kicks[0], 2);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF + 4, 1, 2);        /* queue 1 is not enabled */
	bar_wr(VIRTIO_PCI_NOTIFY_OFF + 4 * 9, 9, 2);    /* no queue 9 */
	ck_assert_uint_eq(dev.kicks[1], 0);
	/* A broken device ignores kicks. */
	virtio_set_broken(&dev.vd, "test");
	bar_wr(VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	ck_assert_uint_eq(dev.kicks[0], 2);
}
END_TEST

START_TEST(test_intx_isr)
{
	unsigned gsi = GSI_BASE_TEST + pci_swizzle_link(DEVFN, PCI_INTA);

	driver_up(0);
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	ck_assert_int_eq(rec.level[gsi], 1);
	ck_assert(cfg_rd(PCI_CFG_STATUS, 2) & PCI_STS_INTX);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE);
	ck_assert_int_eq(rec.level[gsi], 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	virtio_config_changed(&dev.vd);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_CFG_GEN, 1), 1);
	ck_assert_int_eq(rec.level[gsi], 1);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	ck_assert_uint_eq(rec.nmsi, 0);
	/* A reset drops the line. */
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	common_wr(VIRTIO_PCI_STATUS, 0, 1);
	ck_assert_int_eq(rec.level[gsi], 0);
}
END_TEST

START_TEST(test_msix)
{
	unsigned gsi = GSI_BASE_TEST + pci_swizzle_link(DEVFN, PCI_INTA);

	driver_up(0);
	msix_on(1, 0x41, false);
	common_wr(VIRTIO_PCI_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_Q_MSIX, 1, 2);
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	ck_assert_uint_eq(rec.nmsi, 1);
	ck_assert_uint_eq(rec.msi_addr[0], 0xfee00000);
	ck_assert_uint_eq(rec.msi_data[0], 0x41);
	ck_assert_int_eq(rec.level[gsi], 0);            /* no INTx with MSI-X */
	/* The configuration vector is NO_VECTOR: nothing. */
	virtio_config_changed(&dev.vd);
	ck_assert_uint_eq(rec.nmsi, 1);
	/* Masked: pending, delivered on unmask. */
	bar_wr(MSIX_ENTRY(1) + 12, 1, 4);
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	ck_assert_uint_eq(rec.nmsi, 1);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_PBA_OFF, 8), 1u << 1);
	bar_wr(MSIX_ENTRY(1) + 12, 0, 4);
	ck_assert_uint_eq(rec.nmsi, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_PBA_OFF, 8), 0);
	/* No bus mastering, no MSI. */
	cfg_wr(PCI_CFG_COMMAND, PCI_CMD_MEM, 2);
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	ck_assert_uint_eq(rec.nmsi, 2);
	/* The guest breaking the device raises the configuration vector. */
	cfg_wr(PCI_CFG_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER, 2);
	common_wr(VIRTIO_PCI_MSIX_CONFIG, 0, 2);
	msix_on(0, 0x42, false);
	virtio_set_broken(&dev.vd, "test");
	ck_assert_uint_eq(rec.nmsi, 3);
	ck_assert_uint_eq(rec.msi_data[2], 0x42);
	ck_assert(common_rd(VIRTIO_PCI_STATUS, 1) & VIRTIO_S_NEEDS_RESET);
	/* The driver cannot clear NEEDS_RESET; a reset does. */
	common_wr(VIRTIO_PCI_STATUS, 0x0f, 1);
	ck_assert(common_rd(VIRTIO_PCI_STATUS, 1) & VIRTIO_S_NEEDS_RESET);
	common_wr(VIRTIO_PCI_STATUS, 0, 1);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_STATUS, 1), 0);
}
END_TEST

START_TEST(test_broken_queue_enable)
{
	common_wr(VIRTIO_PCI_STATUS, 0x03, 1);
	common_wr(VIRTIO_PCI_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_Q_DESC, 0x7fffffff0000ULL, 8);     /* not RAM */
	common_wr(VIRTIO_PCI_Q_DRIVER, RING0, 8);
	common_wr(VIRTIO_PCI_Q_DEVICE, RING0 + 0x1000, 8);
	common_wr(VIRTIO_PCI_Q_ENABLE, 1, 2);
	ck_assert_uint_eq(common_rd(VIRTIO_PCI_Q_ENABLE, 2), 0);
	ck_assert(common_rd(VIRTIO_PCI_STATUS, 1) & VIRTIO_S_NEEDS_RESET);
}
END_TEST

START_TEST(test_irqfd)
{
	eventfd_t n = 0;

	teardown();
	setup();
	make(false, &host_ops);
	map_bar(BAR_ADDR);
	driver_up(0);
	msix_on(1, 0x51, false);
	common_wr(VIRTIO_PCI_Q_MSIX, 1, 2);
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	ck_assert_uint_eq(hr.route_adds, 1);
	ck_assert_uint_eq(hr.addr, 0xfee00000);
	ck_assert_uint_eq(hr.data, 0x51);
	ck_assert_int_eq(hr.irqfds, 1);
	ck_assert_int_eq(hr.irqfd_gsi, 40);
	ck_assert_int_eq(eventfd_read(hr.irqfd_fd, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(rec.nmsi, 0);                 /* not through the PCI core */
	/* Same message: no route change. The guest moves the vector: the route follows. */
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	ck_assert_uint_eq(hr.route_updates, 0);
	bar_wr(MSIX_ENTRY(1) + 8, 0x52, 4);
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	ck_assert_uint_eq(hr.route_updates, 1);
	ck_assert_uint_eq(hr.data, 0x52);
	ck_assert_int_eq(eventfd_read(hr.irqfd_fd, &n), 0);
	ck_assert_uint_eq(n, 2);
	/* Masked vectors stay pending in the PBA, then go out through the core. */
	bar_wr(MSIX_ENTRY(1) + 12, 1, 4);
	dev.vd.tr.notify(dev.vd.tr.opaque, 0);
	ck_assert_int_eq(eventfd_read(hr.irqfd_fd, &n), -1);
	bar_wr(MSIX_ENTRY(1) + 12, 0, 4);
	ck_assert_uint_eq(rec.nmsi, 1);
	ck_assert_uint_eq(rec.msi_data[0], 0x52);
	ck_assert_uint_eq(virtio_pci_get_stats(vp)->irqfd_irqs, 3);
	ck_assert_uint_eq(virtio_pci_get_stats(vp)->msi_irqs, 1);
	/* The transport undoes its routes and irqfds. */
	virtio_pci_destroy(vp);
	vp = NULL;
	ck_assert_int_eq(hr.irqfds, 0);
	ck_assert_uint_eq(hr.route_dels, 1);
}
END_TEST

START_TEST(test_irqfd_unavailable)
{
	teardown();
	setup();
	hr.fail_route = 1;
	make(false, &host_ops);
	map_bar(BAR_ADDR);
	driver_up(0);
	msix_on(2, 0x61, false);
	common_wr(VIRTIO_PCI_MSIX_CONFIG, 2, 2);
	virtio_config_changed(&dev.vd);
	virtio_config_changed(&dev.vd);
	ck_assert_uint_eq(rec.nmsi, 2);                 /* the PCI core's path */
	ck_assert_uint_eq(rec.msi_data[1], 0x61);
	ck_assert_int_eq(hr.irqfds, 0);
}
END_TEST

static void poll_loop(void)
{
	unsigned i;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(event_loop_poll_once(loop, 10), 0);
}

START_TEST(test_ioeventfd)
{
	uint64_t nb = BAR_ADDR + VIRTIO_PCI_NOTIFY_OFF;

	teardown();
	setup();
	make(true, &host_ops);
	ck_assert_uint_eq(hr.ioev_assigned, 0);         /* BAR not mapped yet */
	map_bar(BAR_ADDR);
	ck_assert_uint_eq(hr.ioev_assigned, NQ);
	ck_assert_uint_eq(virtio_pci_ioeventfds(vp), NQ);
	ck_assert_uint_eq(hr.ioev_gpa[0], nb);
	ck_assert_uint_eq(hr.ioev_gpa[1], nb + VIRTIO_PCI_NOTIFY_MULT);
	ck_assert_uint_eq(hr.ioev_len[0], 0);
	/* The BAR moves: the doorbells move with it. */
	map_bar(0x8000000000ULL);
	ck_assert_uint_eq(hr.ioev_assigned, NQ);
	ck_assert_uint_eq(hr.ioev_gpa[0] & ~0xfffULL, 0x8000000000ULL + VIRTIO_PCI_NOTIFY_OFF);
	/* Decoding off: gone. */
	cfg_wr(PCI_CFG_COMMAND, 0, 2);
	ck_assert_uint_eq(hr.ioev_assigned, 0);
	ck_assert_uint_eq(virtio_pci_ioeventfds(vp), 0);
	/* A host without any-length ioeventfds gets 16-bit ones. */
	hr.ioev_fail_len0 = 1;
	map_bar(BAR_ADDR);
	ck_assert_uint_eq(hr.ioev_assigned, NQ);
	ck_assert_uint_eq(hr.ioev_len[1], 2);
	/* A system reset unmaps the BAR and drops them. */
	pci_dev_reset(virtio_pci_dev(vp));
	ck_assert_uint_eq(hr.ioev_assigned, 0);
}
END_TEST

START_TEST(test_trapped_doorbell)
{
	teardown();
	setup();
	hr.ioev_fail_all = 1;
	make(true, &host_ops);
	map_bar(BAR_ADDR);
	ck_assert_uint_eq(virtio_pci_ioeventfds(vp), 0);
	driver_up(0);
	/* The write traps; the work is deferred to the loop. */
	bar_wr(VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	ck_assert_uint_eq(dev.kicks[0], 0);
	poll_loop();
	ck_assert_uint_eq(dev.kicks[0], 1);             /* two kicks, one pass */
	ck_assert_uint_eq(virtio_pci_get_stats(vp)->trapped_kicks, 2);
	ck_assert_uint_eq(virtio_pci_get_stats(vp)->kicks, 1);
}
END_TEST

START_TEST(test_cfg_window)
{
	unsigned c = caps[VIRTIO_PCI_CAP_PCI_CFG];

	ck_assert(c);
	cfg_wr(c + VIRTIO_PCI_CAP_BARNO, VIRTIO_PCI_BAR, 1);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_STATUS, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 1, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_DATA, VIRTIO_S_ACKNOWLEDGE, 4);
	ck_assert_uint_eq(dev.vd.status, VIRTIO_S_ACKNOWLEDGE);
	ck_assert_uint_eq(cfg_rd(c + VIRTIO_PCI_CAP_DATA, 4), VIRTIO_S_ACKNOWLEDGE);
	/* 4 bytes of the device feature word 1. */
	common_wr(VIRTIO_PCI_DFSELECT, 1, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_DF, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	ck_assert_uint_eq(cfg_rd(c + VIRTIO_PCI_CAP_DATA, 4), 1);
	/* Bad windows do nothing: length 3, misaligned, another BAR, past the end. */
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_STATUS, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 3, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_DATA, 0x03, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 2, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_STATUS + 1, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_DATA, 0x03, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_BAR_SIZE, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_DATA, 0x03, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_BARNO, 0, 1);
	cfg_wr(c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_STATUS, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_LENGTH, 1, 4);
	cfg_wr(c + VIRTIO_PCI_CAP_DATA, 0x03, 4);
	ck_assert_uint_eq(dev.vd.status, VIRTIO_S_ACKNOWLEDGE);
	/* It works with the BAR unmapped too. */
	cfg_wr(c + VIRTIO_PCI_CAP_BARNO, VIRTIO_PCI_BAR, 1);
	cfg_wr(PCI_CFG_COMMAND, 0, 2);
	cfg_wr(c + VIRTIO_PCI_CAP_DATA, 0x03, 4);
	ck_assert_uint_eq(dev.vd.status, 0x03);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_pci");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup_plain, teardown);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_capabilities);
	tcase_add_test(tc, test_bar);
	tcase_add_test(tc, test_features);
	tcase_add_test(tc, test_queue_registers);
	tcase_add_test(tc, test_odd_accesses);
	tcase_add_test(tc, test_fuzz_registers);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_reset_waits_for_io);
	tcase_add_test(tc, test_doorbell_inline);
	tcase_add_test(tc, test_intx_isr);
	tcase_add_test(tc, test_msix);
	tcase_add_test(tc, test_broken_queue_enable);
	tcase_add_test(tc, test_irqfd);
	tcase_add_test(tc, test_irqfd_unavailable);
	tcase_add_test(tc, test_ioeventfd);
	tcase_add_test(tc, test_trapped_doorbell);
	tcase_add_test(tc, test_cfg_window);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
