#include "devices/virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

#include "vmm/util.h"

/*
 * The rings are shared with vCPUs running the driver on other host CPUs,
 * so the fields the driver and device hand over (the two indices, the
 * event words, the flags) are accessed with atomic loads/stores, and the
 * ordering rules of the spec are kept with explicit fences:
 *   - read avail->idx, then (acquire) the ring entries and descriptors;
 *   - write used elements, then (release) used->idx;
 *   - between publishing used->idx and reading used_event, and between
 *     writing avail_event and re-reading avail->idx, a full barrier: the
 *     driver does the mirror image and one side must see the other.
 * Virtio 1.x rings are little-endian, as is the only host kvmrun runs on.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtqueue.c assumes a little-endian host"
#endif

#define AVAIL_FLAGS     0
#define AVAIL_IDX       1
#define AVAIL_RING      2               /* u16 index of ring[0] */
#define USED_FLAGS      0
#define USED_IDX        1

static inline uint16_t ld16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void mb_full(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static uint64_t desc_bytes(uint16_t size)
{
	return 16ULL * size;
}

static uint64_t avail_bytes(uint16_t size)
{
	return 6ULL + 2ULL * size;      /* flags, idx, ring, used_event */
}

static uint64_t used_bytes(uint16_t size)
{
	return 6ULL + 8ULL * size;      /* flags, idx, ring, avail_event */
}

void virtqueue_init(struct virtq *vq, const struct guest_mem *mem, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->max_size = max_size;
	vq->size = max_size;
}

void virtqueue_reset(struct virtq *vq)
{
	virtqueue_init(vq, vq->mem, vq->max_size);
}

static int fail(struct virtq *vq, int err, const char *why)
{
	vq->error = why;
	return err;
}

int virtqueue_enable(struct virtq *vq, bool event_idx, bool indirect)
{
	uint16_t n = vq->size;

	vq->ready = false;
	if (!n || (n & (n - 1)) || n > vq->max_size)
		return fail(vq, -EINVAL, "queue size is not a power of two within the maximum");
	if (!IS_ALIGNED(vq->desc_gpa, VIRTQ_DESC_ALIGN) ||
	    !IS_ALIGNED(vq->avail_gpa, VIRTQ_AVAIL_ALIGN) ||
	    !IS_ALIGNED(vq->used_gpa, VIRTQ_USED_ALIGN))
		return fail(vq, -EINVAL, "misaligned ring address");
	/*
	 * The areas are translated once, here: guest RAM stays mapped at the
	 * same host address for the life of the VM.
	 */
	vq->desc = gmem_ptr(vq->mem, vq->desc_gpa, desc_bytes(n), false);
	vq->avail = gmem_ptr(vq->mem, vq->avail_gpa, avail_bytes(n), false);
	vq->used = gmem_ptr(vq->mem, vq->used_gpa, used_bytes(n), true);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return fail(vq, -EINVAL, "ring outside guest RAM");
	}
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	/* Both indices start at 0 (the driver zeroed the areas, 2.7.13.1). */
	vq->last_avail = 0;
	vq->used_idx = vq->used_published = 0;
	vq->signalled_valid = false;
	vq->error = NULL;
	vq->ready = true;
	return 0;
}

static uint16_t avail_idx(const struct virtq *vq)
{
	return ld16(&vq->avail[AVAIL_IDX]);
}

bool virtqueue_pending(const struct virtq *vq)
{
	return vq->ready && avail_idx(vq) != vq->last_avail;
}

/* One descriptor table being walked: the ring's or an indirect one. */
struct walk {
	const struct virtq_desc *table;
	uint32_t n;                 /* entries in table */
	uint32_t seen;              /* descriptors visited in it */
};

static int add_buffer(struct virtq *vq, struct virtq_elem *e, const struct virtq_desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;

	if (!d->len)
		return fail(vq, -EINVAL, "zero-length buffer");
	if (!write && e->n_in)
		return fail(vq, -EINVAL, "device-readable buffer after a device-writable one");
	p = gmem_ptr(vq->mem, d->addr, d->len, write);
	if (!p)
		return fail(vq, -EINVAL, "buffer outside guest RAM");
	if (e->n_out + e->n_in == e->cap)
		return fail(vq, -E2BIG, "chain has more buffers than the device accepts");
	e->iov[e->n_out + e->n_in] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	if (write) {
		e->n_in++;
		e->in_len += d->len;
	} else {
		e->n_out++;
		e->out_len += d->len;
	}
	return 0;
}

int virtqueue_pop(struct virtq *vq, struct virtq_elem *e)
{
	struct walk w;
	struct virtq_desc d;
	uint16_t ai, head;
	uint32_t i;
	bool in_indirect = false;
	int r;

	if (!vq->ready)
		return 0;
	ai = avail_idx(vq);
	if (ai == vq->last_avail)
		return 0;
	if ((uint16_t)(ai - vq->last_avail) > vq->size)
		return fail(vq, -EINVAL, "available index moved by more than the queue size");
	/* Entries and descriptors are read only after the index (acquire). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = ld16(&vq->avail[AVAIL_RING + (vq->last_avail & (vq->size - 1))]);
	if (head >= vq->size)
		return fail(vq, -EINVAL, "head descriptor index out of range");

	e->head = head;
	e->n_out = e->n_in = 0;
	e->out_len = e->in_len = 0;
	w = (struct walk){ .table = vq->desc, .n = vq->size };
	i = head;
	for (;;) {
		/* A chain visits each descriptor of its table at most once. */
		if (++w.seen > w.n)
			return fail(vq, -EINVAL, "descriptor chain loops");
		memcpy(&d, &w.table[i], sizeof(d));     /* one read of guest data */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return fail(vq, -EINVAL, "indirect descriptor not negotiated");
			if (in_indirect)
				return fail(vq, -EINVAL, "indirect descriptor inside an indirect table");
			if (i != head || (d.flags & VIRTQ_DESC_F_NEXT))
				return fail(vq, -EINVAL, "indirect descriptor is not alone in its chain");
			if (!d.len || d.len % sizeof(d) || d.len / sizeof(d) > VIRTQ_MAX_SIZE)
				return fail(vq, -EINVAL, "bad indirect table length");
			w.table = gmem_ptr(vq->mem, d.addr, d.len, false);
			if (!w.table)
				return fail(vq, -EINVAL, "indirect table outside guest RAM");
			w.n = d.len / sizeof(d);
			w.seen = 0;
			in_indirect = true;
			i = 0;
			continue;
		}
		r = add_buffer(vq, e, &d);
		if (r < 0)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= w.n)
			return fail(vq, -EINVAL, "next descriptor index out of range");
	}
	vq->last_avail++;
	return 1;
}

void virtqueue_unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void virtqueue_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	uint32_t *elem;

	if (!vq->ready)
		return;
	elem = (uint32_t *)((uint8_t *)vq->used + 4 + 8 * (vq->used_idx & (vq->size - 1)));
	__atomic_store_n(&elem[0], (uint32_t)head, __ATOMIC_RELAXED);
	__atomic_store_n(&elem[1], len, __ATOMIC_RELAXED);
	vq->used_idx++;
}

/* vring_need_event() of the spec: did we just cross the driver's mark? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtqueue_flush(struct virtq *vq)
{
	uint16_t old, new_idx = vq->used_idx;
	bool notify;

	if (!vq->ready || new_idx == vq->used_published)
		return false;
	/* Elements before the index that makes them visible. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	st16(&vq->used[USED_IDX], new_idx);
	vq->used_published = new_idx;
	/* The index store before the read of used_event / flags. */
	mb_full();
	old = vq->signalled_used;
	if (vq->event_idx) {
		uint16_t ev = ld16(&vq->avail[AVAIL_RING + vq->size]);

		notify = !vq->signalled_valid || need_event(ev, new_idx, old);
	} else {
		notify = !(ld16(&vq->avail[AVAIL_FLAGS]) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	return notify;
}

void virtqueue_disable_notify(struct virtq *vq)
{
	if (!vq->ready || vq->event_idx)
		return;         /* with EVENT_IDX, avail_event simply lags behind */
	st16(&vq->used[USED_FLAGS], ld16(&vq->used[USED_FLAGS]) | VIRTQ_USED_F_NO_NOTIFY);
}

bool virtqueue_enable_notify(struct virtq *vq)
{
	if (!vq->ready)
		return false;
	if (vq->event_idx)
		st16(&vq->used[2 + 4 * vq->size], vq->last_avail);   /* avail_event */
	else
		st16(&vq->used[USED_FLAGS],
		     ld16(&vq->used[USED_FLAGS]) & (uint16_t)~VIRTQ_USED_F_NO_NOTIFY);
	/* Our store before the re-read of avail->idx (the driver mirrors it). */
	mb_full();
	return avail_idx(vq) != vq->last_avail;
}
