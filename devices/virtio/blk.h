/*
 * virtio-blk (virtio 1.x, section 5.2) on a raw image file or block
 * device, with all I/O asynchronous on the event loop (io_uring, or the
 * loop's synchronous fallback):
 *   IN/OUT        readv/writev straight from/to guest memory (iovecs built
 *                 from the descriptor chain); short transfers are resumed
 *   FLUSH         fdatasync (VIRTIO_BLK_F_FLUSH); a no-op with cache=unsafe
 *   DISCARD       fallocate(PUNCH_HOLE | KEEP_SIZE) when discard=unmap
 *   WRITE_ZEROES  fallocate(ZERO_RANGE), or PUNCH_HOLE when the driver
 *                 allows unmapping and discard=unmap; falls back to punching
 *                 and then to writing zeros where the host lacks those
 *   GET_ID        the serial (20 bytes, zero padded)
 * Multi-queue (VIRTIO_BLK_F_MQ), SEG_MAX, SIZE_MAX, BLK_SIZE, TOPOLOGY and
 * RO are offered. A read-only drive refuses writes, discards and write
 * zeroes with IOERR whatever the driver negotiated. Requests beyond the
 * end of the image, of a size that is not a multiple of 512, without a
 * full header or larger than BLK_MAX_REQUEST fail with IOERR; unknown
 * types with UNSUPP. A chain without a status byte breaks the device.
 *
 * cache=none opens the image with O_DIRECT: guest buffers that violate
 * the host's DMA alignment go through a bounce buffer, and requests whose
 * offset or length violate it use a second, buffered descriptor (the
 * kernel keeps both coherent). writethrough/directsync add O_DSYNC, which
 * makes every write durable before it completes.
 *
 * The image holds nothing but guest data (plain pwrites, no metadata), so
 * neither a hostile guest nor a killed kvmrun can corrupt its format.
 */
#ifndef KVMRUN_DEVICES_VIRTIO_BLK_H
#define KVMRUN_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "vmm/guestmem.h"
#include "vmm/util.h"

/* Feature bits */
#define VIRTIO_BLK_F_SIZE_MAX   1
#define VIRTIO_BLK_F_SEG_MAX    2
#define VIRTIO_BLK_F_RO         5
#define VIRTIO_BLK_F_BLK_SIZE   6
#define VIRTIO_BLK_F_FLUSH      9
#define VIRTIO_BLK_F_TOPOLOGY   10
#define VIRTIO_BLK_F_MQ         12
#define VIRTIO_BLK_F_DISCARD    13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values */
#define VIRTIO_BLK_T_IN         0
#define VIRTIO_BLK_T_OUT        1
#define VIRTIO_BLK_T_FLUSH      4
#define VIRTIO_BLK_T_GET_ID     8
#define VIRTIO_BLK_T_DISCARD    11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK         0
#define VIRTIO_BLK_S_IOERR      1
#define VIRTIO_BLK_S_UNSUPP     2

#define VIRTIO_BLK_WZ_F_UNMAP   1       /* write-zeroes segment flag */
#define VIRTIO_BLK_ID_BYTES     20
#define VIRTIO_BLK_HDR_SIZE     16      /* type, ioprio, sector */
#define VIRTIO_BLK_SEG_SIZE     16      /* discard/write-zeroes: sector, count, flags */

/* Device configuration layout (offsets) */
#define VIRTIO_BLK_CFG_CAPACITY         0x00
#define VIRTIO_BLK_CFG_SIZE_MAX         0x08
#define VIRTIO_BLK_CFG_SEG_MAX          0x0c
#define VIRTIO_BLK_CFG_BLK_SIZE         0x14
#define VIRTIO_BLK_CFG_PHYS_EXP         0x18
#define VIRTIO_BLK_CFG_MIN_IO           0x1a
#define VIRTIO_BLK_CFG_NUM_QUEUES       0x22
#define VIRTIO_BLK_CFG_MAX_DISCARD      0x24
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG  0x28
#define VIRTIO_BLK_CFG_DISCARD_ALIGN    0x2c
#define VIRTIO_BLK_CFG_MAX_WZ           0x30
#define VIRTIO_BLK_CFG_MAX_WZ_SEG       0x34
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP     0x38
#define VIRTIO_BLK_CFG_LEN              0x3c

/* What kvmrun offers and accepts. */
#define BLK_SECTOR_SIZE         512
#define BLK_SEG_MAX             254     /* data segments per request */
#define BLK_SIZE_MAX            (4 * MiB)       /* bytes per segment */
#define BLK_MAX_REQUEST         (1 * GiB)       /* bytes per request (completions are ints) */
#define BLK_MAX_RANGE_SECTORS   0x3fffffu       /* per discard / write-zeroes segment */
#define BLK_MAX_RANGES          8       /* segments per discard / write-zeroes request */
#define BLK_MAX_QUEUES          64
#define BLK_DEFAULT_QUEUE_SIZE  256

struct event_loop;
struct blk;

/* An open image. */
struct blk_image {
	int fd;                 /* for I/O (O_DIRECT with cache=none/directsync) */
	int fd_buffered;        /* without O_DIRECT, for misaligned requests; -1 if not direct */
	uint64_t size;          /* bytes */
	bool readonly;
	bool direct;
	unsigned mem_align;     /* O_DIRECT buffer alignment */
	unsigned off_align;     /* O_DIRECT offset/length alignment */
	unsigned phys_block;    /* preferred I/O size of the host, 512..4096 */
};

struct blk_open_opts {
	bool readonly;          /* O_RDONLY */
	bool direct;            /* O_DIRECT (cache=none, directsync) */
	bool dsync;             /* O_DSYNC (writethrough, directsync) */
};

/*
 * Open @path as a raw image. -errno with a message naming the file and
 * the problem (missing, permission, not a regular file or block device,
 * no O_DIRECT support).
 */
int blk_image_open(const char *path, const struct blk_open_opts *o, struct blk_image *img)
	__must_check;
void blk_image_close(struct blk_image *img);

struct blk_config {
	const char *name;               /* for messages, e.g. "virtio-blk (d0)" */
	struct blk_image image;         /* taken over, closed by blk_destroy() */
	const struct guest_mem *mem;
	struct event_loop *loop;        /* required */
	unsigned num_queues;            /* 1..BLK_MAX_QUEUES */
	uint16_t queue_size;            /* power of two, 4..1024 */
	bool discard;                   /* discard=unmap */
	bool flush_noop;                /* cache=unsafe */
	const char *serial;             /* NULL: empty */
};

/* Counters for benchmarks and tests. */
struct blk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t bytes_read, bytes_written;
	uint64_t errors;                /* requests completed with IOERR or UNSUPP */
	uint64_t bounced;               /* misaligned buffers copied (O_DIRECT) */
	uint64_t buffered;              /* misaligned offsets sent to the buffered fd */
	uint64_t resubmits;             /* short transfers continued */
	uint64_t stalls;                /* all request slots of a queue busy */
};

/* The image is owned by the device from here on, even on failure. */
int blk_create(const struct blk_config *cfg, struct blk **out) __must_check;
/*
 * Waits for I/O in flight (it runs the event loop, so call it without the
 * machine lock), then closes the image. Accepts NULL.
 */
void blk_destroy(struct blk *b);
struct virtio_dev *blk_virtio(struct blk *b);
const struct blk_stats *blk_get_stats(const struct blk *b);

#endif
