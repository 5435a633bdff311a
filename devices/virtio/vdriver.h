/*
 * The driver side of virtio, in miniature: split rings laid out in guest
 * memory, chains posted and used entries reaped as a guest driver would,
 * and a device brought up to DRIVER_OK without a transport. For unit
 * tests and host-side benchmarks of the device models; the VMM proper
 * never uses it.
 */
#ifndef KVMRUN_DEVICES_VIRTIO_VDRIVER_H
#define KVMRUN_DEVICES_VIRTIO_VDRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "vmm/guestmem.h"

struct vdrv_queue {
	const struct guest_mem *mem;
	uint16_t size;
	uint64_t desc, avail, used;     /* guest-physical addresses of the areas */
	uint16_t avail_idx;             /* next avail entry the driver fills */
	uint16_t used_seen;             /* next used entry the driver reads */
	uint16_t next_desc;             /* next descriptor vdrv_add_chain() takes */
};

/* A buffer of a chain: @len bytes at @gpa; device-writable if @write. */
struct vdrv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/*
 * Lay out a queue of @size entries at @base (16-byte aligned; needs
 * vdrv_queue_bytes(size) bytes of RAM there) and zero its areas.
 */
void vdrv_queue_init(struct vdrv_queue *q, const struct guest_mem *mem, uint16_t size,
		     uint64_t base);
uint64_t vdrv_queue_bytes(uint16_t size);

/* Write descriptor @i as is (any values: tests build hostile chains). */
void vdrv_set_desc(struct vdrv_queue *q, uint16_t i, uint64_t addr, uint32_t len,
		   uint16_t flags, uint16_t next);
/* Make descriptor @head available (release barrier before the index). */
void vdrv_publish(struct vdrv_queue *q, uint16_t head);
/* Put @n buffers in consecutive descriptors, link them, publish; returns the head. */
uint16_t vdrv_add_chain(struct vdrv_queue *q, const struct vdrv_buf *bufs, unsigned n);
/* The next used entry, if the device published one. */
bool vdrv_get_used(struct vdrv_queue *q, uint32_t *id, uint32_t *len);
uint16_t vdrv_used_idx(const struct vdrv_queue *q);
/* Notification controls of the driver area / what the device asked for. */
void vdrv_set_used_event(struct vdrv_queue *q, uint16_t v);
void vdrv_set_avail_flags(struct vdrv_queue *q, uint16_t flags);
void vdrv_set_avail_idx(struct vdrv_queue *q, uint16_t idx);
uint16_t vdrv_avail_event(const struct vdrv_queue *q);
uint16_t vdrv_used_flags(const struct vdrv_queue *q);

/*
 * Negotiate @features (VERSION_1 is added) and set DRIVER_OK on @vd
 * directly. Returns the status read back.
 */
uint8_t vdrv_start(struct virtio_dev *vd, uint64_t features);
/* Give queue @qi of @vd the areas of @q and enable it. */
void vdrv_attach(struct virtio_dev *vd, unsigned qi, const struct vdrv_queue *q);

#endif
