/*
 * virtio-rng (virtio 1.x, section 5.4): one request queue whose
 * device-writable buffers are filled from getrandom(2), without rate
 * limiting. At most RNG_MAX_REQUEST bytes go into one buffer chain (the
 * used length says how many), so a huge buffer cannot stall the loop.
 */
#ifndef KVMRUN_DEVICES_VIRTIO_RNG_H
#define KVMRUN_DEVICES_VIRTIO_RNG_H

#include "devices/virtio/virtio.h"
#include "vmm/guestmem.h"

#define RNG_MAX_REQUEST         (64 * KiB)
#define RNG_QUEUE_SIZE          64

struct rng;

struct rng_config {
	const char *name;
	const struct guest_mem *mem;
};

int rng_create(const struct rng_config *cfg, struct rng **out) __must_check;
void rng_destroy(struct rng *r);
struct virtio_dev *rng_virtio(struct rng *r);

#endif
