#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/err.h"
#include "vmm/event.h"
#include "vmm/log.h"

#define NO_ADDR (~0ULL)

/* One queue's doorbell: an eventfd the loop watches, maybe a KVM ioeventfd. */
struct vp_kick {
	struct virtio_pci *vp;
	unsigned q;
	int fd;                         /* -1 without an event loop */
	bool watched;
	int ioeventfd_len;              /* registered length, -1 if not registered */
	uint64_t gpa;
};

/* One MSI-X vector delivered through an irqfd. */
struct vp_vector {
	int fd;                         /* -1: not set up */
	int gsi;
	uint64_t addr;                  /* the message the route carries */
	uint32_t data;
	bool failed;                    /* the host cannot: use the PCI core's path */
};

struct virtio_pci {
	struct pci_dev pci;             /* first: the PCI core hands this back */
	struct virtio_dev *vd;
	struct event_loop *loop;
	const struct virtio_pci_host_ops *host;
	void *opaque;
	bool registered;

	uint32_t dfselect, gfselect;
	uint16_t queue_sel;
	uint16_t config_vector;
	uint16_t *queue_vector;
	uint8_t isr;

	unsigned cfg_cap;               /* offset of the PCI configuration access capability */
	struct vp_kick *kicks;
	uint64_t doorbell_base;         /* BAR address the ioeventfds are at, or NO_ADDR */
	unsigned nvec;
	struct vp_vector *vecs;
	struct virtio_pci_stats stats;
};

static struct virtio_pci *to_vp(struct pci_dev *d)
{
	return container_of(d, struct virtio_pci, pci);
}

struct pci_dev *virtio_pci_dev(struct virtio_pci *vp)
{
	return &vp->pci;
}

/* ------------------------------------------------------------------ */
/* Interrupts */

static void vector_release(struct virtio_pci *vp, struct vp_vector *v)
{
	if (v->fd >= 0) {
		vp->host->irqfd(vp->opaque, v->fd, v->gsi, false);
		close(v->fd);
	}
	if (v->gsi >= 0 && vp->host->msi_route_del)
		vp->host->msi_route_del(vp->opaque, v->gsi);
	v->fd = -1;
	v->gsi = -1;
}

/*
 * Make sure vector @vec has an irqfd whose route carries the message the
 * guest programmed in the MSI-X table now. Routes are created on first
 * use and updated lazily: the table only changes under the machine lock,
 * which every sender holds too.
 */
static int vector_irqfd(struct virtio_pci *vp, unsigned vec)
{
	const struct virtio_pci_host_ops *h = vp->host;
	struct vp_vector *v = &vp->vecs[vec];
	const uint8_t *e = &vp->pci.msix.table[vec * PCI_MSIX_ENTRY_SIZE];
	uint64_t addr = ld_le64(e);
	uint32_t data = ld_le32(e + 8);
	int r;

	if (v->failed)
		return -ENOTSUP;
	if (v->fd >= 0) {
		if (addr == v->addr && data == v->data)
			return 0;
		r = h->msi_route_update(vp->opaque, v->gsi, addr, data);
		if (r < 0)
			return r;
		v->addr = addr;
		v->data = data;
		return 0;
	}
	r = h->msi_route_add(vp->opaque, addr, data);
	if (r < 0)
		goto fail;
	v->gsi = r;
	v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->fd < 0) {
		r = -errno;
		goto fail;
	}
	r = h->irqfd(vp->opaque, v->fd, v->gsi, true);
	if (r < 0) {
		close(v->fd);
		v->fd = -1;
		goto fail;
	}
	v->addr = addr;
	v->data = data;
	TRACE(TRACE_VIRTIO, "%s: MSI-X vector %u -> irqfd (gsi %d)", vp->vd->name, vec, v->gsi);
	return 0;
fail:
	/* This host cannot (userspace irqchip, no routes left): stop trying. */
	vector_release(vp, v);
	v->failed = true;
	return r;
}

static void send_vector(struct virtio_pci *vp, uint16_t vec)
{
	struct pci_dev *d = &vp->pci;
	const struct virtio_pci_host_ops *h = vp->host;

	if (vec >= vp->nvec)
		return;
	if (h && h->irqfd && h->msi_route_add && h->msi_route_update &&
	    !pci_msix_masked(d, vec) && pci_dev_bus_master(d) && vector_irqfd(vp, vec) == 0) {
		if (eventfd_write(vp->vecs[vec].fd, 1) == 0) {
			vp->stats.irqfd_irqs++;
			return;
		}
	}
	/* Masked vectors become pending; the core sends them on unmask. */
	vp->stats.msi_irqs++;
	pci_msix_notify(d, vec);
}

static void vp_notify(void *opaque, int q)
{
	struct virtio_pci *vp = opaque;
	uint16_t vec;

	if (q < 0)
		vp->isr |= VIRTIO_PCI_ISR_CONFIG;
	if (pci_msix_enabled(&vp->pci)) {
		vec = q < 0 ? vp->config_vector : vp->queue_vector[q];
		if (vec != VIRTIO_PCI_NO_VECTOR)
			send_vector(vp, vec);
		return;
	}
	if (q >= 0)
		vp->isr |= VIRTIO_PCI_ISR_QUEUE;
	vp->stats.intx_irqs++;
	pci_dev_set_irq(&vp->pci, 1);
}

static uint8_t isr_read(struct virtio_pci *vp)
{
	uint8_t v = vp->isr;

	vp->isr = 0;
	pci_dev_set_irq(&vp->pci, 0);
	return v;
}

/* ------------------------------------------------------------------ */
/* Doorbells */

static void kick_cb(void *opaque, int res)
{
	struct vp_kick *k = opaque;
	eventfd_t v;

	/* Consume the count (the poll backend is level-triggered). */
	if (eventfd_read(k->fd, &v) < 0)
		return;
	k->vp->stats.kicks++;
	virtio_queue_kick(k->vp->vd, k->q);
}

/* A doorbell write that reached us instead of KVM. */
static void doorbell(struct virtio_pci *vp, unsigned q)
{
	if (q >= vp->vd->nvqs)
		return;
	vp->stats.trapped_kicks++;
	/*
	 * vCPU thread: queue work is for the loop thread, so wake it through
	 * the queue's eventfd (kicks coalesce, nothing is allocated).
	 */
	if (vp->kicks[q].fd >= 0) {
		eventfd_write(vp->kicks[q].fd, 1);
	} else {
		vp->stats.kicks++;
		virtio_queue_kick(vp->vd, q);
	}
}

static void doorbells_unregister(struct virtio_pci *vp)
{
	unsigned q;

	for (q = 0; q < vp->vd->nvqs; q++) {
		struct vp_kick *k = &vp->kicks[q];

		if (k->ioeventfd_len < 0)
			continue;
		vp->host->ioeventfd(vp->opaque, k->gpa, (unsigned)k->ioeventfd_len, k->fd, false);
		k->ioeventfd_len = -1;
	}
	vp->doorbell_base = NO_ADDR;
}

/* Put the ioeventfds where the BAR is now (or nowhere if it is unmapped). */
static void doorbells_sync(struct virtio_pci *vp)
{
	uint64_t base = pci_bar_addr(&vp->pci, VIRTIO_PCI_BAR);
	unsigned q;

	if (!vp->host || !vp->host->ioeventfd || !vp->loop || base == vp->doorbell_base)
		return;
	doorbells_unregister(vp);
	if (base == NO_ADDR)
		return;
	for (q = 0; q < vp->vd->nvqs; q++) {
		struct vp_kick *k = &vp->kicks[q];
		uint64_t gpa = base + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;

		/* Any width first (KVM's fast MMIO path), else the 16-bit write drivers use. */
		if (vp->host->ioeventfd(vp->opaque, gpa, 0, k->fd, true) == 0)
			k->ioeventfd_len = 0;
		else if (vp->host->ioeventfd(vp->opaque, gpa, 2, k->fd, true) == 0)
			k->ioeventfd_len = 2;
		else
			continue;   /* this doorbell traps */
		k->gpa = gpa;
	}
	vp->doorbell_base = base;
	TRACE(TRACE_VIRTIO, "%s: doorbells at %#llx, %u by ioeventfd", vp->vd->name,
	      (unsigned long long)base, virtio_pci_ioeventfds(vp));
}

const struct virtio_pci_stats *virtio_pci_get_stats(const struct virtio_pci *vp)
{
	return &vp->stats;
}

unsigned virtio_pci_ioeventfds(const struct virtio_pci *vp)
{
	unsigned q, n = 0;

	for (q = 0; q < vp->vd->nvqs; q++)
		n += vp->kicks[q].ioeventfd_len >= 0;
	return n;
}

/* ------------------------------------------------------------------ */
/* Common configuration */

/* The registers, as (offset, width) pairs, for accesses of any size. */
static const uint8_t common_regs[][2] = {
	{ VIRTIO_PCI_DFSELECT, 4 }, { VIRTIO_PCI_DF, 4 }, { VIRTIO_PCI_GFSELECT, 4 },
	{ VIRTIO_PCI_GF, 4 }, { VIRTIO_PCI_MSIX_CONFIG, 2 }, { VIRTIO_PCI_NUM_QUEUES, 2 },
	{ VIRTIO_PCI_STATUS, 1 }, { VIRTIO_PCI_CFG_GEN, 1 }, { VIRTIO_PCI_Q_SELECT, 2 },
	{ VIRTIO_PCI_Q_SIZE, 2 }, { VIRTIO_PCI_Q_MSIX, 2 }, { VIRTIO_PCI_Q_ENABLE, 2 },
	{ VIRTIO_PCI_Q_NOTIFY_OFF, 2 }, { VIRTIO_PCI_Q_DESC, 8 }, { VIRTIO_PCI_Q_DRIVER, 8 },
	{ VIRTIO_PCI_Q_DEVICE, 8 },
};

static struct virtq *selected_queue(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->vd->nvqs ? &vp->vd->vqs[vp->queue_sel] : NULL;
}

static uint64_t common_get(struct virtio_pci *vp, unsigned reg)
{
	struct virtio_dev *vd = vp->vd;
	struct virtq *vq = selected_queue(vp);

	switch (reg) {
	case VIRTIO_PCI_DFSELECT:
		return vp->dfselect;
	case VIRTIO_PCI_DF:
		return vp->dfselect < 2 ? (uint32_t)(vd->host_features >> (32 * vp->dfselect)) : 0;
	case VIRTIO_PCI_GFSELECT:
		return vp->gfselect;
	case VIRTIO_PCI_GF:
		return vp->gfselect < 2 ? (uint32_t)(vd->guest_features >> (32 * vp->gfselect)) : 0;
	case VIRTIO_PCI_MSIX_CONFIG:
		return vp->config_vector;
	case VIRTIO_PCI_NUM_QUEUES:
		return vd->nvqs;
	case VIRTIO_PCI_STATUS:
		return vd->status;
	case VIRTIO_PCI_CFG_GEN:
		return vd->config_gen;
	case VIRTIO_PCI_Q_SELECT:
		return vp->queue_sel;
	}
	if (!vq)
		return reg == VIRTIO_PCI_Q_MSIX ? VIRTIO_PCI_NO_VECTOR : 0;
	switch (reg) {
	case VIRTIO_PCI_Q_SIZE:
		return vq->size;
	case VIRTIO_PCI_Q_MSIX:
		return vp->queue_vector[vp->queue_sel];
	case VIRTIO_PCI_Q_ENABLE:
		return vq->ready;
	case VIRTIO_PCI_Q_NOTIFY_OFF:
		return vp->queue_sel;
	case VIRTIO_PCI_Q_DESC:
		return vq->desc_gpa;
	case VIRTIO_PCI_Q_DRIVER:
		return vq->avail_gpa;
	case VIRTIO_PCI_Q_DEVICE:
		return vq->used_gpa;
	}
	return 0;
}

static uint16_t valid_vector(const struct virtio_pci *vp, uint64_t v)
{
	/* A vector the function does not have reads back as NO_VECTOR (4.1.5.1.2). */
	return v < vp->nvec ? (uint16_t)v : VIRTIO_PCI_NO_VECTOR;
}

static void common_set(struct virtio_pci *vp, unsigned reg, uint64_t val)
{
	struct virtio_dev *vd = vp->vd;
	struct virtq *vq = selected_queue(vp);

	switch (reg) {
	case VIRTIO_PCI_DFSELECT:
		vp->dfselect = (uint32_t)val;
		return;
	case VIRTIO_PCI_GFSELECT:
		vp->gfselect = (uint32_t)val;
		return;
	case VIRTIO_PCI_GF:
		virtio_set_guest_features(vd, vp->gfselect, (uint32_t)val);
		return;
	case VIRTIO_PCI_MSIX_CONFIG:
		vp->config_vector = valid_vector(vp, val);
		return;
	case VIRTIO_PCI_STATUS:
		virtio_set_status(vd, (uint8_t)val);
		return;
	case VIRTIO_PCI_Q_SELECT:
		vp->queue_sel = (uint16_t)val;
		return;
	}
	/* Queue registers: only for an existing queue that is not live yet. */
	if (!vq || vd->reset_pending)
		return;
	if (reg == VIRTIO_PCI_Q_MSIX) {
		vp->queue_vector[vp->queue_sel] = valid_vector(vp, val);
		return;
	}
	if (vq->ready)
		return;
	switch (reg) {
	case VIRTIO_PCI_Q_SIZE:
		vq->size = (uint16_t)val;       /* checked when enabled */
		break;
	case VIRTIO_PCI_Q_ENABLE:
		if (val == 1)
			virtio_queue_enable(vd, vp->queue_sel);
		break;
	case VIRTIO_PCI_Q_DESC:
		vq->desc_gpa = val;
		break;
	case VIRTIO_PCI_Q_DRIVER:
		vq->avail_gpa = val;
		break;
	case VIRTIO_PCI_Q_DEVICE:
		vq->used_gpa = val;
		break;
	}
}

static uint64_t bytes_mask(unsigned n)
{
	return n >= 8 ? ~0ULL : (1ULL << (8 * n)) - 1;
}

static uint64_t common_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(common_regs); i++) {
		unsigned r = common_regs[i][0], w = common_regs[i][1], s, e;
		uint64_t part;

		if (!ranges_overlap(r, w, off, size))
			continue;
		s = (unsigned)MAX((uint64_t)r, off);
		e = (unsigned)MIN((uint64_t)r + w, off + size);
		part = (common_get(vp, r) >> (8 * (s - r))) & bytes_mask(e - s);
		v |= part << (8 * (s - off));
	}
	return v;
}

static void common_write(struct virtio_pci *vp, uint64_t off, uint64_t val, unsigned size)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(common_regs); i++) {
		unsigned r = common_regs[i][0], w = common_regs[i][1], s, e;
		uint64_t cur, m, part;

		if (!ranges_overlap(r, w, off, size))
			continue;
		/* Merge the bytes written into the register's current value. */
		s = (unsigned)MAX((uint64_t)r, off);
		e = (unsigned)MIN((uint64_t)r + w, off + size);
		m = bytes_mask(e - s) << (8 * (s - r));
		part = ((val >> (8 * (s - off))) << (8 * (s - r))) & m;
		cur = s == r && e == r + w ? 0 : common_get(vp, r);
		common_set(vp, r, (cur & ~m) | part);
	}
}

/* ------------------------------------------------------------------ */
/* The BAR */

static uint64_t devcfg_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		if (off + i < vp->vd->config_len)
			v |= (uint64_t)vp->vd->config[off + i] << (8 * i);
	return v;
}

static void devcfg_write(struct virtio_pci *vp, uint64_t off, uint64_t val, unsigned size)
{
	uint8_t buf[8];

	if (off >= vp->vd->config_len || size > 8 || !vp->vd->ops->config_write)
		return;
	st_le64(buf, val);
	if (off + size > vp->vd->config_len)
		size = vp->vd->config_len - (unsigned)off;
	vp->vd->ops->config_write(vp->vd, (unsigned)off, buf, size);
}

static uint64_t bar_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = dev;
	uint64_t rel = off % VIRTIO_PCI_REGION_SIZE;

	switch (off - rel) {
	case VIRTIO_PCI_COMMON_OFF:
		return common_read(vp, rel, size);
	case VIRTIO_PCI_ISR_OFF:
		return rel == 0 ? isr_read(vp) : 0;
	case VIRTIO_PCI_DEVCFG_OFF:
		return devcfg_read(vp, rel, size);
	case VIRTIO_PCI_MSIX_OFF:
		return pci_msix_table_read(&vp->pci, rel, size);
	case VIRTIO_PCI_PBA_OFF:
		return pci_msix_pba_read(&vp->pci, rel, size);
	}
	return 0;       /* notify region and the rest read as 0 */
}

static void bar_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	struct virtio_pci *vp = dev;
	uint64_t rel = off % VIRTIO_PCI_REGION_SIZE;

	switch (off - rel) {
	case VIRTIO_PCI_COMMON_OFF:
		common_write(vp, rel, val, size);
		break;
	case VIRTIO_PCI_DEVCFG_OFF:
		devcfg_write(vp, rel, val, size);
		break;
	case VIRTIO_PCI_NOTIFY_OFF:
		doorbell(vp, (unsigned)(rel / VIRTIO_PCI_NOTIFY_MULT));
		break;
	case VIRTIO_PCI_MSIX_OFF:
		pci_msix_table_write(&vp->pci, rel, val, size);
		break;
	}
}

const struct dev_ops virtio_pci_bar_ops = {
	.name = "virtio-pci",
	.read = bar_read,
	.write = bar_write,
};

/* ------------------------------------------------------------------ */
/* PCI configuration space */

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window: the driver picks BAR, offset and
 * length (1, 2 or 4) in the capability and accesses pci_cfg_data to reach
 * the BAR without mapping it (firmware that cannot reach a 64-bit BAR).
 */
static bool cfg_window(struct virtio_pci *vp, uint64_t *off, unsigned *len)
{
	unsigned c = vp->cfg_cap;

	*off = pci_cfg_get32(&vp->pci, c + VIRTIO_PCI_CAP_OFFSET);
	*len = pci_cfg_get32(&vp->pci, c + VIRTIO_PCI_CAP_LENGTH);
	return pci_cfg_get8(&vp->pci, c + VIRTIO_PCI_CAP_BARNO) == VIRTIO_PCI_BAR &&
	       (*len == 1 || *len == 2 || *len == 4) && *off + *len <= VIRTIO_PCI_BAR_SIZE &&
	       IS_ALIGNED(*off, *len);
}

static uint32_t cfg_cap_read(struct pci_dev *d, void *opaque, unsigned rel, unsigned size,
			     uint32_t val)
{
	struct virtio_pci *vp = to_vp(d);
	static const struct io_ctx ctx = { .cpu = -1 };
	uint64_t off, data;
	unsigned len;

	if (rel < VIRTIO_PCI_CAP_DATA || !cfg_window(vp, &off, &len))
		return val;
	data = bar_read(vp, &ctx, off, len) & bytes_mask(len);
	return (uint32_t)(data >> (8 * (rel - VIRTIO_PCI_CAP_DATA)));
}

static void cfg_cap_write(struct pci_dev *d, void *opaque, unsigned rel, unsigned size,
			  uint32_t old, uint32_t val)
{
	struct virtio_pci *vp = to_vp(d);
	static const struct io_ctx ctx = { .cpu = -1 };
	uint64_t off;
	unsigned len;

	if (rel + size <= VIRTIO_PCI_CAP_DATA || !cfg_window(vp, &off, &len))
		return;
	bar_write(vp, &ctx, off, pci_cfg_get32(d, vp->cfg_cap + VIRTIO_PCI_CAP_DATA) &
		  bytes_mask(len), len);
}

static const struct pci_cap_ops cfg_cap_ops = { .read = cfg_cap_read, .write = cfg_cap_write };

static void vp_config_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size)
{
	pci_dev_cfg_write_default(d, off, val, size);
	/* COMMAND or BAR writes may have moved or (un)mapped the BAR. */
	if (ranges_overlap(off, size, PCI_CFG_COMMAND, 2) ||
	    ranges_overlap(off, size, PCI_CFG_BAR0, 4 * PCI_NUM_BARS))
		doorbells_sync(to_vp(d));
}

static void vp_reset_state(struct virtio_pci *vp)
{
	unsigned q;

	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->config_vector = VIRTIO_PCI_NO_VECTOR;
	for (q = 0; q < vp->vd->nvqs; q++)
		vp->queue_vector[q] = VIRTIO_PCI_NO_VECTOR;
	vp->isr = 0;
	pci_dev_set_irq(&vp->pci, 0);
}

/* The device finished a reset the driver asked for. */
static void vp_reset_done(void *opaque)
{
	vp_reset_state(opaque);
}

/* System reset: the PCI core already restored config space (BAR unmapped). */
static void vp_pci_reset(struct pci_dev *d)
{
	struct virtio_pci *vp = to_vp(d);

	virtio_reset(vp->vd);           /* resets our registers through reset_done */
	doorbells_sync(vp);
}

static const struct pci_dev_ops vp_pci_ops = {
	.config_write = vp_config_write,
	.reset = vp_pci_reset,
};

/* ------------------------------------------------------------------ */

static int add_cap(struct virtio_pci *vp, uint8_t type, unsigned len, uint32_t off,
		   uint32_t size, const struct pci_cap_ops *ops)
{
	struct pci_dev *d = &vp->pci;
	int c = pci_cap_add_vendor(d, 0, len, ops, vp);

	if (c < 0)
		return c;
	pci_cfg_set8(d, (unsigned)c + VIRTIO_PCI_CAP_TYPE, type);
	pci_cfg_set8(d, (unsigned)c + VIRTIO_PCI_CAP_BARNO, VIRTIO_PCI_BAR);
	pci_cfg_set32(d, (unsigned)c + VIRTIO_PCI_CAP_OFFSET, off);
	pci_cfg_set32(d, (unsigned)c + VIRTIO_PCI_CAP_LENGTH, size);
	return c;
}

static int build_function(struct virtio_pci *vp, uint32_t class_code)
{
	struct virtio_dev *vd = vp->vd;
	struct pci_dev *d = &vp->pci;
	struct pci_dev_info info = {
		.name = vd->name,
		.vendor = VIRTIO_PCI_VENDOR,
		.device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vd->device_id),
		.class_code = class_code,
		.revision = VIRTIO_PCI_REVISION,
		.subsys_vendor = PCI_SUBSYS_VENDOR_QEMU,
		.subsys_id = PCI_SUBSYS_ID_QEMU,
		.int_pin = PCI_INTA,
		.ops = &vp_pci_ops,
	};
	int c, r;

	pci_dev_init(d, &info);
	r = pci_bar_init(d, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, PCI_BAR_MEM64, &virtio_pci_bar_ops,
			 vp);
	if (r < 0)
		return r;
	if ((r = add_cap(vp, VIRTIO_PCI_CAP_COMMON, 16, VIRTIO_PCI_COMMON_OFF,
			 VIRTIO_PCI_COMMON_LEN, NULL)) < 0 ||
	    (r = add_cap(vp, VIRTIO_PCI_CAP_ISR, 16, VIRTIO_PCI_ISR_OFF, 1, NULL)) < 0)
		return r;
	if (vd->config_len &&
	    (r = add_cap(vp, VIRTIO_PCI_CAP_DEVICE, 16, VIRTIO_PCI_DEVCFG_OFF, vd->config_len,
			 NULL)) < 0)
		return r;
	c = add_cap(vp, VIRTIO_PCI_CAP_NOTIFY, 20, VIRTIO_PCI_NOTIFY_OFF,
		    vd->nvqs * VIRTIO_PCI_NOTIFY_MULT, NULL);
	if (c < 0)
		return c;
	pci_cfg_set32(d, (unsigned)c + VIRTIO_PCI_CAP_MULT, VIRTIO_PCI_NOTIFY_MULT);
	c = add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 20, 0, 0, &cfg_cap_ops);
	if (c < 0)
		return c;
	vp->cfg_cap = (unsigned)c;
	pci_cfg_set_wmask(d, vp->cfg_cap + VIRTIO_PCI_CAP_BARNO, 1, 0xff);
	pci_cfg_set_wmask(d, vp->cfg_cap + VIRTIO_PCI_CAP_OFFSET, 4, 0xffffffff);
	pci_cfg_set_wmask(d, vp->cfg_cap + VIRTIO_PCI_CAP_LENGTH, 4, 0xffffffff);
	pci_cfg_set_wmask(d, vp->cfg_cap + VIRTIO_PCI_CAP_DATA, 4, 0xffffffff);
	r = pci_cap_add_msix(d, 0, vp->nvec, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_OFF, VIRTIO_PCI_BAR,
			     VIRTIO_PCI_PBA_OFF);
	return r < 0 ? r : 0;
}

static int kicks_create(struct virtio_pci *vp)
{
	unsigned q;
	int r;

	for (q = 0; q < vp->vd->nvqs; q++) {
		struct vp_kick *k = &vp->kicks[q];

		k->vp = vp;
		k->q = q;
		k->fd = -1;
		k->ioeventfd_len = -1;
		if (!vp->loop)
			continue;
		k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (k->fd < 0)
			return err_set(-errno, "%s: eventfd: %s", vp->vd->name, strerror(errno));
		r = event_add_fd(vp->loop, k->fd, kick_cb, k);
		if (r < 0)
			return err_set(r, "%s: cannot watch the queue eventfd: %s", vp->vd->name,
				       strerror(-r));
		k->watched = true;
	}
	return 0;
}

int virtio_pci_create(const struct virtio_pci_config *cfg, struct virtio_pci **out)
{
	struct virtio_dev *vd = cfg->vdev;
	struct virtio_pci *vp;
	unsigned i;
	int r;

	if (!vd || !vd->nvqs || vd->nvqs > VIRTIO_PCI_MAX_QUEUES - 1 ||
	    vd->config_len > VIRTIO_PCI_REGION_SIZE)
		return err_set(-EINVAL, "%s: unsupported queue count or configuration size",
			       vd ? vd->name : "virtio");
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->vd = vd;
	vp->loop = cfg->loop;
	vp->host = cfg->host;
	vp->opaque = cfg->opaque;
	vp->doorbell_base = NO_ADDR;
	vp->nvec = vd->nvqs + 1;
	vp->queue_vector = calloc(vd->nvqs, sizeof(*vp->queue_vector));
	vp->kicks = calloc(vd->nvqs, sizeof(*vp->kicks));
	vp->vecs = calloc(vp->nvec, sizeof(*vp->vecs));
	if (!vp->queue_vector || !vp->kicks || !vp->vecs) {
		r = -ENOMEM;
		goto err;
	}
	for (i = 0; i < vp->nvec; i++)
		vp->vecs[i] = (struct vp_vector){ .fd = -1, .gsi = -1 };
	r = build_function(vp, cfg->class_code);
	if (r < 0) {
		err_set(r, "%s: cannot build the PCI function: %s", vd->name, strerror(-r));
		goto err;
	}
	r = kicks_create(vp);
	if (r < 0)
		goto err;
	vd->tr = (struct virtio_transport){ .notify = vp_notify, .reset_done = vp_reset_done,
					    .opaque = vp };
	vp_reset_state(vp);
	*out = vp;
	return 0;
err:
	virtio_pci_destroy(vp);
	return r;
}

int virtio_pci_register(struct virtio_pci *vp, struct pci_bus *bus, unsigned devfn)
{
	int r = pci_dev_register(bus, devfn, &vp->pci);

	if (r == 0)
		vp->registered = true;
	return r;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	unsigned i;

	if (!vp)
		return;
	if (vp->kicks) {
		if (vp->host && vp->host->ioeventfd)
			doorbells_unregister(vp);
		for (i = 0; i < vp->vd->nvqs; i++) {
			struct vp_kick *k = &vp->kicks[i];

			if (k->watched)
				event_del_fd(vp->loop, k->fd);
			if (k->fd >= 0)
				close(k->fd);
		}
	}
	if (vp->vecs)
		for (i = 0; i < vp->nvec; i++)
			vector_release(vp, &vp->vecs[i]);
	if (vp->registered) {
		pci_dev_unregister(&vp->pci);   /* frees the MSI-X state too */
	} else {
		free(vp->pci.msix.table);
		free(vp->pci.msix.pba);
	}
	if (vp->vd->tr.opaque == vp)
		vp->vd->tr = (struct virtio_transport){ 0 };
	free(vp->vecs);
	free(vp->kicks);
	free(vp->queue_vector);
	free(vp);
}
