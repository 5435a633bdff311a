/*
 * Split virtqueues (virtio 1.x, section 2.7) in guest memory: the
 * descriptor table, the available ring (driver area) and the used ring
 * (device area).
 *
 * The guest owns all three structures and may change them at any time,
 * so every value read from them is copied once and validated before use:
 * chains that loop, leave RAM, exceed the caller's segment limit, nest
 * indirect tables, or put device-readable after device-writable buffers
 * make virtqueue_pop() fail with a reason in vq->error. What to do then
 * is the device's choice (usually: mark itself DEVICE_NEEDS_RESET).
 *
 * Notification suppression in both directions follows the negotiated
 * features: VIRTIO_F_EVENT_IDX (used_event / avail_event) or the
 * NO_INTERRUPT / NO_NOTIFY flags.
 *
 * Not thread-safe: a queue is only touched with the machine lock held.
 */
#ifndef KVMRUN_DEVICES_VIRTIO_VIRTQUEUE_H
#define KVMRUN_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/guestmem.h"

#define VIRTQ_MAX_SIZE          32768   /* largest queue size the spec allows */

/* Descriptor flags */
#define VIRTQ_DESC_F_NEXT       1
#define VIRTQ_DESC_F_WRITE      2
#define VIRTQ_DESC_F_INDIRECT   4

/* Available ring flags (driver -> device) and used ring flags (device -> driver) */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY  1

/* Ring alignment the spec requires of the three areas. */
#define VIRTQ_DESC_ALIGN        16
#define VIRTQ_AVAIL_ALIGN       2
#define VIRTQ_USED_ALIGN        4

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	const struct guest_mem *mem;
	uint16_t max_size;          /* what the device offers */
	uint16_t size;              /* what the driver chose (power of two) */
	bool ready;                 /* enabled and its areas mapped */
	bool event_idx;             /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;              /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Host views of the three areas, valid while ready. */
	struct virtq_desc *desc;
	uint16_t *avail;            /* flags, idx, ring[size], used_event */
	uint16_t *used;             /* flags, idx, {u32 id, u32 len}[size], avail_event */

	uint16_t last_avail;        /* next available entry to consume */
	uint16_t used_idx;          /* next used entry to fill (not yet published) */
	uint16_t used_published;    /* used->idx as last stored */
	uint16_t signalled_used;    /* used index at the last interrupt */
	bool signalled_valid;

	const char *error;          /* why the last pop failed */
};

/* One popped chain: @head plus host iovecs, device-readable ones first. */
struct virtq_elem {
	uint16_t head;
	unsigned n_out;             /* iov[0, n_out): device-readable */
	unsigned n_in;              /* iov[n_out, n_out + n_in): device-writable */
	uint64_t out_len, in_len;   /* bytes in each part */
	struct iovec *iov;          /* caller's storage */
	unsigned cap;               /* its capacity */
};

/* Put @vq in the reset state with @max_size (a power of two <= VIRTQ_MAX_SIZE). */
void virtqueue_init(struct virtq *vq, const struct guest_mem *mem, uint16_t max_size);
/* Back to the reset state: disabled, size = max_size, addresses 0. */
void virtqueue_reset(struct virtq *vq);

/*
 * Enable the queue with its current size and addresses. Checks that the
 * size is a power of two no larger than max_size, that the areas are
 * aligned and lie in guest RAM. 0 or -EINVAL with vq->error set.
 */
int virtqueue_enable(struct virtq *vq, bool event_idx, bool indirect);

/* Anything to pop? */
bool virtqueue_pending(const struct virtq *vq);

/*
 * Take the next available chain into @e (e->iov / e->cap set by the
 * caller). Returns 1 with @e filled, 0 if the ring is empty, or -EINVAL
 * (malformed chain or ring: vq->error says why) or -E2BIG (more than
 * e->cap buffers). On failure the entry is not consumed.
 */
int virtqueue_pop(struct virtq *vq, struct virtq_elem *e);

/* Give the last popped entry back (the device could not take it now). */
void virtqueue_unpop(struct virtq *vq);

/* Queue a used element; invisible to the driver until virtqueue_flush(). */
void virtqueue_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * Publish the pushed elements (used->idx, with a release barrier) and say
 * whether the driver wants an interrupt for them (used_event or the
 * NO_INTERRUPT flag). Returns false when nothing new was published.
 */
bool virtqueue_flush(struct virtq *vq);

/*
 * Driver notifications (kicks): while the device is draining the ring
 * they are useless, so suppress them; afterwards re-enable them and check
 * again, since the driver may have added buffers in between. enable
 * returns true if more entries are pending (the caller loops).
 */
void virtqueue_disable_notify(struct virtq *vq);
bool virtqueue_enable_notify(struct virtq *vq);

#endif
