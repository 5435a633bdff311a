#include "devices/virtio/vdriver.h"

#include <string.h>

#include "vmm/util.h"

/* Little-endian accessors on guest memory; out-of-RAM accesses do nothing. */
static void wr16(const struct vdrv_queue *q, uint64_t gpa, uint16_t v)
{
	uint16_t *p = gmem_ptr(q->mem, gpa, 2, true);

	if (p)
		__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint16_t rd16(const struct vdrv_queue *q, uint64_t gpa)
{
	uint16_t *p = gmem_ptr(q->mem, gpa, 2, false);

	return p ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : 0;
}

uint64_t vdrv_queue_bytes(uint16_t size)
{
	return ALIGN_UP(16ULL * size + 6 + 2ULL * size, 4) + 6 + 8ULL * size;
}

void vdrv_queue_init(struct vdrv_queue *q, const struct guest_mem *mem, uint16_t size,
		     uint64_t base)
{
	void *p;

	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->size = size;
	q->desc = base;
	q->avail = base + 16ULL * size;
	q->used = ALIGN_UP(q->avail + 6 + 2ULL * size, 4);
	p = gmem_ptr(mem, base, vdrv_queue_bytes(size), true);
	if (p)
		memset(p, 0, vdrv_queue_bytes(size));
}

void vdrv_set_desc(struct vdrv_queue *q, uint16_t i, uint64_t addr, uint32_t len,
		   uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	st_le64(d, addr);
	st_le32(d + 8, len);
	st_le16(d + 12, flags);
	st_le16(d + 14, next);
	gmem_write(q->mem, q->desc + 16ULL * i, d, sizeof(d));
}

void vdrv_publish(struct vdrv_queue *q, uint16_t head)
{
	wr16(q, q->avail + 4 + 2ULL * (q->avail_idx % q->size), head);
	q->avail_idx++;
	wr16(q, q->avail + 2, q->avail_idx);
}

uint16_t vdrv_add_chain(struct vdrv_queue *q, const struct vdrv_buf *bufs, unsigned n)
{
	uint16_t head = q->next_desc, i;
	unsigned k;

	for (k = 0; k < n; k++) {
		i = (uint16_t)((head + k) % q->size);
		vdrv_set_desc(q, i, bufs[k].gpa, bufs[k].len,
			      (uint16_t)((bufs[k].write ? VIRTQ_DESC_F_WRITE : 0) |
					 (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			      (uint16_t)((i + 1) % q->size));
	}
	q->next_desc = (uint16_t)((head + n) % q->size);
	vdrv_publish(q, head);
	return head;
}

uint16_t vdrv_used_idx(const struct vdrv_queue *q)
{
	return rd16(q, q->used + 2);
}

bool vdrv_get_used(struct vdrv_queue *q, uint32_t *id, uint32_t *len)
{
	uint8_t e[8];

	if (vdrv_used_idx(q) == q->used_seen)
		return false;
	gmem_read(q->mem, q->used + 4 + 8ULL * (q->used_seen % q->size), e, sizeof(e));
	*id = ld_le32(e);
	*len = ld_le32(e + 4);
	q->used_seen++;
	return true;
}

void vdrv_set_used_event(struct vdrv_queue *q, uint16_t v)
{
	wr16(q, q->avail + 4 + 2ULL * q->size, v);
}

void vdrv_set_avail_flags(struct vdrv_queue *q, uint16_t flags)
{
	wr16(q, q->avail, flags);
}

void vdrv_set_avail_idx(struct vdrv_queue *q, uint16_t idx)
{
	q->avail_idx = idx;
	wr16(q, q->avail + 2, idx);
}

uint16_t vdrv_avail_event(const struct vdrv_queue *q)
{
	return rd16(q, q->used + 4 + 8ULL * q->size);
}

uint16_t vdrv_used_flags(const struct vdrv_queue *q)
{
	return rd16(q, q->used);
}

uint8_t vdrv_start(struct virtio_dev *vd, uint64_t features)
{
	features |= BIT(VIRTIO_F_VERSION_1);
	virtio_set_status(vd, VIRTIO_S_ACKNOWLEDGE);
	virtio_set_status(vd, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	virtio_set_guest_features(vd, 0, (uint32_t)features);
	virtio_set_guest_features(vd, 1, (uint32_t)(features >> 32));
	virtio_set_status(vd, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	virtio_set_status(vd, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK |
			  VIRTIO_S_DRIVER_OK);
	return vd->status;
}

void vdrv_attach(struct virtio_dev *vd, unsigned qi, const struct vdrv_queue *q)
{
	struct virtq *vq = &vd->vqs[qi];

	vq->size = q->size;
	vq->desc_gpa = q->desc;
	vq->avail_gpa = q->avail;
	vq->used_gpa = q->used;
	virtio_queue_enable(vd, qi);
}
