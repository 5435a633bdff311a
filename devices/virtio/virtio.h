/*
 * The transport-independent half of a virtio 1.x device: feature
 * negotiation, the device status state machine, reset, the virtqueues,
 * the device-specific configuration bytes and the "broken" state
 * (DEVICE_NEEDS_RESET). A device model (blk, console, rng) embeds a
 * struct virtio_dev and fills struct virtio_dev_ops; a transport
 * (virtio_pci) drives it from guest register accesses and turns its
 * notifications into interrupts through struct virtio_transport.
 *
 * Only the modern interface exists: VIRTIO_F_VERSION_1 is always
 * offered and must be accepted, or FEATURES_OK does not stick.
 *
 * Locking: everything runs with the machine lock held. queue_notify is
 * called on the event-loop thread (ioeventfd) or, without an event loop
 * (unit tests), directly from the register access.
 */
#ifndef KVMRUN_DEVICES_VIRTIO_VIRTIO_H
#define KVMRUN_DEVICES_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/virtqueue.h"
#include "vmm/guestmem.h"
#include "vmm/util.h"

/* Device IDs (virtio 1.x, section 5) */
#define VIRTIO_ID_BLOCK         2
#define VIRTIO_ID_CONSOLE       3
#define VIRTIO_ID_RNG           4

/* Reserved feature bits (section 6) */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1      32

/* Device status (section 2.1) */
#define VIRTIO_S_ACKNOWLEDGE    0x01
#define VIRTIO_S_DRIVER         0x02
#define VIRTIO_S_DRIVER_OK      0x04
#define VIRTIO_S_FEATURES_OK    0x08
#define VIRTIO_S_NEEDS_RESET    0x40
#define VIRTIO_S_FAILED         0x80

/* Features every kvmrun device offers. */
#define VIRTIO_COMMON_FEATURES  (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) | \
				 BIT(VIRTIO_F_EVENT_IDX))

struct virtio_dev;

struct virtio_dev_ops {
	/* The driver made buffers available on queue @q. */
	void (*queue_notify)(struct virtio_dev *vd, unsigned q);
	/*
	 * Device reset: drop every request. I/O still in flight must not
	 * touch the rings when it completes (it reports through inflight()).
	 */
	void (*reset)(struct virtio_dev *vd);
	/* DRIVER_OK was just set (optional). */
	void (*driver_ok)(struct virtio_dev *vd);
	/* The driver wrote @len bytes of device configuration at @off (optional). */
	void (*config_write)(struct virtio_dev *vd, unsigned off, const uint8_t *buf,
			     unsigned len);
	/* Host I/O requests not completed yet (optional, 0 if absent). */
	unsigned (*inflight)(struct virtio_dev *vd);
};

/* What the transport does for the device. */
struct virtio_transport {
	/* Interrupt for queue @q, or a configuration-change interrupt if @q < 0. */
	void (*notify)(void *opaque, int q);
	/* The device completed a reset: reset transport state (vectors, ISR). */
	void (*reset_done)(void *opaque);
	void *opaque;
};

struct virtio_dev {
	const char *name;               /* for messages: "virtio-blk" */
	uint16_t device_id;
	const struct virtio_dev_ops *ops;
	const struct guest_mem *mem;

	uint64_t host_features;         /* offered */
	uint64_t guest_features;        /* written by the driver */
	uint8_t status;
	uint8_t config_gen;
	bool reset_pending;             /* the driver wrote 0; waiting for in-flight I/O */

	uint8_t *config;                /* device-specific configuration, little-endian */
	unsigned config_len;

	unsigned nvqs;
	struct virtq *vqs;

	struct virtio_transport tr;
	unsigned warnings;              /* guest errors reported so far */
};

/*
 * Set up @vd with @nvqs queues of at most @qsize entries. @config (of
 * @config_len bytes) stays owned by the device. 0 or -ENOMEM / -EINVAL.
 */
int virtio_dev_init(struct virtio_dev *vd, const char *name, uint16_t device_id,
		    const struct virtio_dev_ops *ops, const struct guest_mem *mem,
		    uint64_t host_features, unsigned nvqs, uint16_t qsize, uint8_t *config,
		    unsigned config_len) __must_check;
void virtio_dev_free(struct virtio_dev *vd);

/* ---- for transports ---- */

/* Store the driver's feature bits (ignored once FEATURES_OK is set). */
void virtio_set_guest_features(struct virtio_dev *vd, unsigned word, uint32_t val);
/*
 * The driver writes the status register. 0 starts a reset, which
 * completes at once or, with requests in flight, when they are done (the
 * status keeps reading non-zero until then, as the spec allows).
 * FEATURES_OK only sticks for a valid feature set; DRIVER_OK needs it.
 */
void virtio_set_status(struct virtio_dev *vd, uint8_t val);
/* System reset: immediate, whatever is in flight. */
void virtio_reset(struct virtio_dev *vd);
/* The driver enabled queue @q: map it or mark the device broken. */
void virtio_queue_enable(struct virtio_dev *vd, unsigned q);
/* The driver kicked queue @q. */
void virtio_queue_kick(struct virtio_dev *vd, unsigned q);

/* ---- for devices ---- */

static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned bit)
{
	return (vd->guest_features >> bit) & 1;
}

/* DRIVER_OK, not broken, not being reset: the device may process queues. */
static inline bool virtio_running(const struct virtio_dev *vd)
{
	return (vd->status & (VIRTIO_S_DRIVER_OK | VIRTIO_S_NEEDS_RESET)) == VIRTIO_S_DRIVER_OK &&
	       !vd->reset_pending;
}

/*
 * The guest broke the protocol: set DEVICE_NEEDS_RESET, tell the driver
 * with a configuration interrupt, stop processing until a reset. The
 * first few reasons are logged.
 */
void virtio_set_broken(struct virtio_dev *vd, const char *why);
/* Publish queue @q's used elements and interrupt if the driver wants it. */
void virtio_queue_flush(struct virtio_dev *vd, unsigned q);
/* The device configuration changed. */
void virtio_config_changed(struct virtio_dev *vd);
/* A request finished: completes a pending reset once nothing is in flight. */
void virtio_io_done(struct virtio_dev *vd);

/* Copy between a buffer and @n iovecs, starting @off bytes in. Returns bytes copied. */
size_t virtio_iov_read(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t virtio_iov_write(const struct iovec *iov, unsigned n, size_t off, const void *buf,
			size_t len);

#endif
