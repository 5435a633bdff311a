#include "devices/virtio/virtio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

/* Guest protocol errors logged per device before going quiet. */
#define MAX_WARNINGS 8

int virtio_dev_init(struct virtio_dev *vd, const char *name, uint16_t device_id,
		    const struct virtio_dev_ops *ops, const struct guest_mem *mem,
		    uint64_t host_features, unsigned nvqs, uint16_t qsize, uint8_t *config,
		    unsigned config_len)
{
	unsigned i;

	memset(vd, 0, sizeof(*vd));
	if (!nvqs || !qsize || (qsize & (qsize - 1)) || !ops || !ops->queue_notify)
		return -EINVAL;
	vd->vqs = calloc(nvqs, sizeof(*vd->vqs));
	if (!vd->vqs)
		return -ENOMEM;
	vd->name = name;
	vd->device_id = device_id;
	vd->ops = ops;
	vd->mem = mem;
	vd->host_features = host_features | BIT(VIRTIO_F_VERSION_1);
	vd->config = config;
	vd->config_len = config_len;
	vd->nvqs = nvqs;
	for (i = 0; i < nvqs; i++)
		virtqueue_init(&vd->vqs[i], mem, qsize);
	return 0;
}

void virtio_dev_free(struct virtio_dev *vd)
{
	free(vd->vqs);
	vd->vqs = NULL;
	vd->nvqs = 0;
}

void virtio_set_guest_features(struct virtio_dev *vd, unsigned word, uint32_t val)
{
	uint64_t mask;

	if (word > 1 || (vd->status & VIRTIO_S_FEATURES_OK))
		return;
	mask = 0xffffffffULL << (32 * word);
	vd->guest_features = (vd->guest_features & ~mask) | ((uint64_t)val << (32 * word));
}

/* Forget everything the driver set up (the device did its part already). */
static void finish_reset(struct virtio_dev *vd)
{
	unsigned i;

	vd->reset_pending = false;
	vd->status = 0;
	vd->guest_features = 0;
	for (i = 0; i < vd->nvqs; i++)
		virtqueue_reset(&vd->vqs[i]);
	if (vd->tr.reset_done)
		vd->tr.reset_done(vd->tr.opaque);
}

static unsigned inflight(struct virtio_dev *vd)
{
	return vd->ops->inflight ? vd->ops->inflight(vd) : 0;
}

void virtio_reset(struct virtio_dev *vd)
{
	if (vd->ops->reset)
		vd->ops->reset(vd);
	finish_reset(vd);
}

void virtio_io_done(struct virtio_dev *vd)
{
	if (vd->reset_pending && !inflight(vd))
		finish_reset(vd);
}

static bool features_valid(const struct virtio_dev *vd)
{
	return !(vd->guest_features & ~vd->host_features) &&
	       virtio_has_feature(vd, VIRTIO_F_VERSION_1);
}

void virtio_set_status(struct virtio_dev *vd, uint8_t val)
{
	uint8_t old = vd->status;

	if (vd->reset_pending)
		return;         /* the driver must wait for status 0 first */
	if (!val) {
		if (vd->ops->reset)
			vd->ops->reset(vd);
		if (inflight(vd))
			vd->reset_pending = true;
		else
			finish_reset(vd);
		return;
	}
	/* NEEDS_RESET is the device's to set and only a reset clears it. */
	val = (uint8_t)((val & ~VIRTIO_S_NEEDS_RESET) | (old & VIRTIO_S_NEEDS_RESET));
	if ((val & VIRTIO_S_FEATURES_OK) && !(old & VIRTIO_S_FEATURES_OK) && !features_valid(vd))
		val &= (uint8_t)~VIRTIO_S_FEATURES_OK;
	if (!(val & VIRTIO_S_FEATURES_OK))
		val &= (uint8_t)~VIRTIO_S_DRIVER_OK;
	vd->status = val;
	if ((val & VIRTIO_S_DRIVER_OK) && !(old & VIRTIO_S_DRIVER_OK) && vd->ops->driver_ok)
		vd->ops->driver_ok(vd);
}

void virtio_set_broken(struct virtio_dev *vd, const char *why)
{
	if (vd->status & VIRTIO_S_NEEDS_RESET)
		return;
	if (vd->warnings < MAX_WARNINGS) {
		vd->warnings++;
		log_warn("%s: guest error: %s; the device needs a reset%s", vd->name, why,
			 vd->warnings == MAX_WARNINGS ? " (further errors not shown)" : "");
	}
	TRACE(TRACE_VIRTIO, "%s: broken: %s", vd->name, why);
	vd->status |= VIRTIO_S_NEEDS_RESET;
	if ((vd->status & VIRTIO_S_DRIVER_OK) && vd->tr.notify)
		vd->tr.notify(vd->tr.opaque, -1);
}

void virtio_queue_enable(struct virtio_dev *vd, unsigned q)
{
	struct virtq *vq;

	if (q >= vd->nvqs || vd->reset_pending)
		return;
	vq = &vd->vqs[q];
	if (vq->ready)
		return;
	if (virtqueue_enable(vq, virtio_has_feature(vd, VIRTIO_F_EVENT_IDX),
			     virtio_has_feature(vd, VIRTIO_F_INDIRECT_DESC)) < 0)
		virtio_set_broken(vd, vq->error);
}

void virtio_queue_kick(struct virtio_dev *vd, unsigned q)
{
	if (q < vd->nvqs && vd->vqs[q].ready && virtio_running(vd))
		vd->ops->queue_notify(vd, q);
}

void virtio_queue_flush(struct virtio_dev *vd, unsigned q)
{
	if (q < vd->nvqs && virtqueue_flush(&vd->vqs[q]) && vd->tr.notify)
		vd->tr.notify(vd->tr.opaque, (int)q);
}

void virtio_config_changed(struct virtio_dev *vd)
{
	vd->config_gen++;
	if ((vd->status & VIRTIO_S_DRIVER_OK) && vd->tr.notify)
		vd->tr.notify(vd->tr.opaque, -1);
}

/* Copy @len bytes between @buf and the iovecs, starting @off bytes into them. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, uint8_t *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;
	unsigned i = 0;

	while (i < n && off >= iov[i].iov_len)
		off -= iov[i++].iov_len;
	for (; i < n && done < len; i++, off = 0) {
		uint8_t *p = (uint8_t *)iov[i].iov_base + off;
		size_t c = MIN(iov[i].iov_len - off, len - done);

		if (to_iov)
			memcpy(p, buf + done, c);
		else
			memcpy(buf + done, p, c);
		done += c;
	}
	return done;
}

size_t virtio_iov_read(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	return iov_copy(iov, n, off, buf, len, false);
}

size_t virtio_iov_write(const struct iovec *iov, unsigned n, size_t off, const void *buf,
			size_t len)
{
	/* iov_copy() only reads @buf in this direction. */
	return iov_copy(iov, n, off, (uint8_t *)(uintptr_t)buf, len, true);
}
