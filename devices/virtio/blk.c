#include "devices/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/err.h"
#include "vmm/event.h"
#include "vmm/log.h"

/* Chain capacity: header + data segments + status. */
#define REQ_MAX_IOV     (BLK_SEG_MAX + 2)
/* Writing zeros by hand (no fallocate mode works): ZERO_IOV x ZERO_CHUNK per write. */
#define ZERO_CHUNK      (64 * KiB)
#define ZERO_IOV        16

static const uint8_t zero_chunk[ZERO_CHUNK];

struct blk_range {
	uint64_t off, len;              /* bytes */
	uint32_t flags;
};

/* How a write-zeroes / discard range is being done right now. */
enum range_stage { STAGE_ZERO_RANGE, STAGE_PUNCH, STAGE_WRITE };

struct blk_queue;

struct blk_req {
	struct blk_queue *q;
	struct blk_req *next_free;
	uint32_t gen;                   /* device generation it belongs to */
	uint16_t head;
	uint32_t type;
	uint8_t *status;                /* the last writable byte of the chain */
	uint32_t used_len;              /* bytes written to the guest besides the status */

	/* IN/OUT: the transfer still to do */
	int fd;
	uint64_t off, remaining;
	struct iovec *iov;
	unsigned iovcnt;
	/* bounced transfers: the guest's buffers and the aligned copy */
	struct iovec *guest_iov;
	unsigned guest_iovcnt;
	void *bounce;
	struct iovec bounce_iov;

	/* DISCARD / WRITE_ZEROES */
	struct blk_range ranges[BLK_MAX_RANGES];
	unsigned nranges, cur;
	enum range_stage stage;

	struct iovec iovbuf[REQ_MAX_IOV];
};

struct blk_queue {
	struct blk *b;
	unsigned idx;
	struct blk_req *reqs;
	struct blk_req *free;
	bool stalled;                   /* ran out of slots: resume on a completion */
};

struct blk {
	struct virtio_dev vdev;
	const char *name;
	struct blk_image img;
	struct event_loop *loop;
	uint64_t capacity;              /* sectors */
	bool discard;
	bool flush_noop;
	uint8_t serial[VIRTIO_BLK_ID_BYTES];
	uint32_t gen;                   /* bumped on reset: older completions are dropped */
	unsigned inflight;
	unsigned nq;
	uint16_t qsize;
	struct blk_queue *queues;
	struct blk_stats stats;
	uint8_t config[VIRTIO_BLK_CFG_LEN];
};

static struct blk *to_blk(struct virtio_dev *vd)
{
	return container_of(vd, struct blk, vdev);
}

/* ------------------------------------------------------------------ */
/* Opening images */

static void dio_alignment(int fd, bool blockdev, struct blk_image *img)
{
	struct statx stx;
	int lbs;

	/* Unknown: assume the strictest common case. */
	img->mem_align = img->off_align = 4096;
#ifdef STATX_DIOALIGN
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_mem_align && stx.stx_dio_offset_align) {
		img->mem_align = stx.stx_dio_mem_align;
		img->off_align = stx.stx_dio_offset_align;
		return;
	}
#endif
	if (blockdev && ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs >= 512 && !(lbs & (lbs - 1)))
		img->mem_align = img->off_align = (unsigned)lbs;
}

int blk_image_open(const char *path, const struct blk_open_opts *o, struct blk_image *img)
{
	int flags = O_CLOEXEC | O_NONBLOCK | (o->readonly ? O_RDONLY : O_RDWR) |
		    (o->dsync ? O_DSYNC : 0);
	struct stat st;
	int fd, e, r;

	*img = (struct blk_image){ .fd = -1, .fd_buffered = -1, .readonly = o->readonly,
				   .direct = o->direct };
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	fd = open(path, flags | (o->direct ? O_DIRECT : 0));
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return err_set(-e, "'%s': no such file", path);
		if ((e == EACCES || e == EPERM || e == EROFS) && !o->readonly)
			return err_set(-e, "'%s': cannot open for writing: %s (readonly=on opens "
					   "it read-only)", path, strerror(e));
		if (e == EISDIR)
			return err_set(-e, "'%s' is not a regular file or a block device", path);
		if (e == EINVAL && o->direct)
			return err_set(-e, "'%s': the file system does not support O_DIRECT "
					   "(cache=none/directsync); try cache=writeback", path);
		return err_set(-e, "'%s': %s", path, strerror(e));
	}
	img->fd = fd;
	if (fstat(fd, &st) < 0) {
		r = err_set(-errno, "'%s': %s", path, strerror(errno));
		goto err;
	}
	if (S_ISREG(st.st_mode)) {
		img->size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &img->size) < 0) {
			r = err_set(-errno, "'%s': cannot read the device size: %s", path,
				    strerror(errno));
			goto err;
		}
	} else {
		r = err_set(-EINVAL, "'%s' is not a regular file or a block device", path);
		goto err;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		r = err_set(-errno, "'%s': %s", path, strerror(errno));
		goto err;
	}
	img->phys_block = st.st_blksize >= 4096 ? 4096 : st.st_blksize >= 512 ?
			  (unsigned)st.st_blksize : 512;
	if (o->direct) {
		dio_alignment(fd, S_ISBLK(st.st_mode), img);
		img->fd_buffered = open(path, flags & ~O_NONBLOCK);
		if (img->fd_buffered < 0) {
			r = err_set(-errno, "'%s': %s", path, strerror(errno));
			goto err;
		}
	}
	return 0;
err:
	blk_image_close(img);
	return r;
}

void blk_image_close(struct blk_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	if (img->fd_buffered >= 0)
		close(img->fd_buffered);
	img->fd = img->fd_buffered = -1;
}

/* ------------------------------------------------------------------ */
/* Completion */

static void req_free(struct blk_req *req)
{
	struct blk_queue *q = req->q;

	free(req->bounce);
	req->bounce = NULL;
	req->next_free = q->free;
	q->free = req;
}

static bool req_live(const struct blk_req *req)
{
	return req->gen == req->q->b->gen;
}

/* Write the status, queue the used element (published by the caller). */
static void req_finish(struct blk_req *req, uint8_t status)
{
	struct blk *b = req->q->b;

	if (status != VIRTIO_BLK_S_OK) {
		b->stats.errors++;
		req->used_len = 0;
	}
	if (req_live(req)) {
		*req->status = status;
		virtqueue_push(&b->vdev.vqs[req->q->idx], req->head, req->used_len + 1);
	}
	req_free(req);
}

static void queue_notify(struct virtio_dev *vd, unsigned qi);

/* An asynchronous request is done: publish it now (one at a time keeps latency low). */
static void req_done_async(struct blk_req *req, uint8_t status)
{
	struct blk_queue *q = req->q;
	struct blk *b = q->b;
	bool live = req_live(req);

	b->inflight--;
	req_finish(req, status);
	if (live) {
		virtio_queue_flush(&b->vdev, q->idx);
		if (q->stalled) {
			q->stalled = false;
			if (virtio_running(&b->vdev))
				queue_notify(&b->vdev, q->idx);
		}
	}
	virtio_io_done(&b->vdev);
}

/* ------------------------------------------------------------------ */
/* Reads and writes */

static void rw_done(void *opaque, int res);

static int rw_issue(struct blk_req *req)
{
	struct blk *b = req->q->b;

	if (req->type == VIRTIO_BLK_T_IN)
		return event_readv(b->loop, req->fd, req->iov, (int)req->iovcnt, req->off, rw_done,
				   req);
	return event_writev(b->loop, req->fd, req->iov, (int)req->iovcnt, req->off, rw_done, req);
}

/* Drop @n bytes from the front of the iovecs (after a short transfer). */
static void iov_advance(struct iovec **iov, unsigned *cnt, uint64_t n)
{
	while (*cnt && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt && n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

static void rw_done(void *opaque, int res)
{
	struct blk_req *req = opaque;
	struct blk *b = req->q->b;

	if (res < 0 || (res == 0 && req->remaining)) {
		TRACE(TRACE_VIRTIO, "%s: %s at %llu failed: %s", b->name,
		      req->type == VIRTIO_BLK_T_IN ? "read" : "write",
		      (unsigned long long)req->off, res ? strerror(-res) : "end of file");
		req_done_async(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if ((uint64_t)res < req->remaining) {
		/* Short transfer (signal, page cache pressure): continue where it stopped. */
		b->stats.resubmits++;
		req->off += (unsigned)res;
		req->remaining -= (unsigned)res;
		iov_advance(&req->iov, &req->iovcnt, (unsigned)res);
		if (rw_issue(req) < 0)
			req_done_async(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (req->bounce && req->type == VIRTIO_BLK_T_IN && req_live(req))
		virtio_iov_write(req->guest_iov, req->guest_iovcnt, 0, req->bounce,
				 req->used_len);
	req_done_async(req, VIRTIO_BLK_S_OK);
}

static bool iov_aligned(const struct iovec *iov, unsigned n, unsigned mem, unsigned len)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base & (mem - 1)) || (iov[i].iov_len & (len - 1)))
			return false;
	return true;
}

/* Checks of a data transfer: whole sectors, inside the disk, not huge. */
static bool range_ok(const struct blk *b, uint64_t sector, uint64_t len)
{
	return !(len % BLK_SECTOR_SIZE) && len <= BLK_MAX_REQUEST && sector <= b->capacity &&
	       len / BLK_SECTOR_SIZE <= b->capacity - sector;
}

/* Start a read or write of @len bytes at @sector; returns a status or -1 if submitted. */
static int rw_start(struct blk_req *req, uint64_t sector, struct iovec *iov, unsigned n,
		    uint64_t len)
{
	struct blk *b = req->q->b;
	bool in = req->type == VIRTIO_BLK_T_IN;
	const struct blk_image *img = &b->img;
	uint64_t off = sector * BLK_SECTOR_SIZE;

	if (!range_ok(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (!in && img->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (in)
		req->used_len = (uint32_t)len;
	if (!len)
		return VIRTIO_BLK_S_OK;
	req->fd = img->fd;
	req->iov = iov;
	req->iovcnt = n;
	req->off = off;
	req->remaining = len;
	if (img->direct) {
		if ((off | len) & (img->off_align - 1)) {
			/* O_DIRECT cannot do it: the buffered descriptor can. */
			req->fd = img->fd_buffered;
			b->stats.buffered++;
		} else if (!iov_aligned(iov, n, img->mem_align, img->off_align)) {
			if (posix_memalign(&req->bounce, MAX(img->mem_align, sizeof(void *)), len))
				return VIRTIO_BLK_S_IOERR;
			if (!in)
				virtio_iov_read(iov, n, 0, req->bounce, len);
			req->guest_iov = iov;
			req->guest_iovcnt = n;
			req->bounce_iov = (struct iovec){ .iov_base = req->bounce, .iov_len = len };
			req->iov = &req->bounce_iov;
			req->iovcnt = 1;
			b->stats.bounced++;
		}
	}
	if (rw_issue(req) < 0)
		return VIRTIO_BLK_S_IOERR;
	if (in) {
		b->stats.reads++;
		b->stats.bytes_read += len;
	} else {
		b->stats.writes++;
		b->stats.bytes_written += len;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Flush, discard, write zeroes */

static void flush_done(void *opaque, int res)
{
	req_done_async(opaque, res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

static void range_done(void *opaque, int res);

static int range_issue(struct blk_req *req)
{
	struct blk *b = req->q->b;
	struct blk_range *r = &req->ranges[req->cur];
	unsigned i, n = 0;
	uint64_t left = r->len;

	switch (req->stage) {
	case STAGE_ZERO_RANGE:
		return event_fallocate(b->loop, b->img.fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				       r->off, r->len, range_done, req);
	case STAGE_PUNCH:
		return event_fallocate(b->loop, b->img.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				       r->off, r->len, range_done, req);
	case STAGE_WRITE:
		break;
	}
	for (i = 0; i < ZERO_IOV && left; i++, n++) {
		req->iovbuf[i] = (struct iovec){ .iov_base = (void *)zero_chunk,
						 .iov_len = MIN(left, (uint64_t)ZERO_CHUNK) };
		left -= req->iovbuf[i].iov_len;
	}
	/* The buffered descriptor: a static zero buffer has no O_DIRECT alignment. */
	return event_writev(b->loop, b->img.direct ? b->img.fd_buffered : b->img.fd, req->iovbuf,
			    (int)n, r->off, range_done, req);
}

static enum range_stage first_stage(const struct blk_req *req, const struct blk_range *r)
{
	struct blk *b = req->q->b;

	if (req->type == VIRTIO_BLK_T_DISCARD ||
	    (b->discard && (r->flags & VIRTIO_BLK_WZ_F_UNMAP)))
		return STAGE_PUNCH;
	return STAGE_ZERO_RANGE;
}

/* Next range, or the end of the request. */
static void range_next(struct blk_req *req)
{
	while (++req->cur < req->nranges) {
		req->stage = first_stage(req, &req->ranges[req->cur]);
		if (range_issue(req) == 0)
			return;
		req_done_async(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	req_done_async(req, VIRTIO_BLK_S_OK);
}

static void range_done(void *opaque, int res)
{
	struct blk_req *req = opaque;
	struct blk_range *r = &req->ranges[req->cur];
	bool unsupported = res == -EOPNOTSUPP || res == -ENOTSUP || res == -EINVAL ||
			   res == -ENOSYS;

	if (req->stage == STAGE_WRITE && res > 0) {
		r->off += (unsigned)res;
		r->len -= (unsigned)res;
		if (!r->len)
			range_next(req);
		else if (range_issue(req) < 0)
			req_done_async(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (res == 0 && req->stage != STAGE_WRITE) {
		range_next(req);
		return;
	}
	if (unsupported && req->type == VIRTIO_BLK_T_DISCARD) {
		/* A discard is a hint: a host that cannot punch holes just keeps the data. */
		range_next(req);
		return;
	}
	if (unsupported && req->stage != STAGE_WRITE) {
		/* Zeroing by other means: a hole reads as zeros; failing that, write them. */
		req->stage = req->stage == STAGE_ZERO_RANGE ? STAGE_PUNCH : STAGE_WRITE;
		if (range_issue(req) < 0)
			req_done_async(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	req_done_async(req, VIRTIO_BLK_S_IOERR);
}

/* DISCARD / WRITE_ZEROES: @iov holds the segments. Returns a status or -1 if submitted. */
static int ranges_start(struct blk_req *req, const struct iovec *iov, unsigned n, uint64_t len)
{
	struct blk *b = req->q->b;
	bool discard = req->type == VIRTIO_BLK_T_DISCARD;
	uint8_t seg[VIRTIO_BLK_SEG_SIZE];
	unsigned i;

	if (b->img.readonly)
		return VIRTIO_BLK_S_IOERR;      /* whatever was negotiated */
	if (discard && !b->discard)
		return VIRTIO_BLK_S_UNSUPP;     /* not offered */
	if (!len || len % VIRTIO_BLK_SEG_SIZE || len / VIRTIO_BLK_SEG_SIZE > BLK_MAX_RANGES)
		return VIRTIO_BLK_S_IOERR;
	req->nranges = (unsigned)(len / VIRTIO_BLK_SEG_SIZE);
	for (i = 0; i < req->nranges; i++) {
		uint64_t sector;
		uint32_t count, flags;

		virtio_iov_read(iov, n, (size_t)i * VIRTIO_BLK_SEG_SIZE, seg, sizeof(seg));
		sector = ld_le64(seg);
		count = ld_le32(seg + 8);
		flags = ld_le32(seg + 12);
		/* Discard has no flags; write zeroes has only UNMAP. */
		if (flags & ~(discard ? 0u : (uint32_t)VIRTIO_BLK_WZ_F_UNMAP))
			return VIRTIO_BLK_S_UNSUPP;
		if (count > BLK_MAX_RANGE_SECTORS || sector > b->capacity ||
		    count > b->capacity - sector)
			return VIRTIO_BLK_S_IOERR;
		req->ranges[i] = (struct blk_range){ .off = sector * BLK_SECTOR_SIZE,
						     .len = (uint64_t)count * BLK_SECTOR_SIZE,
						     .flags = flags };
	}
	/* Empty ranges need no host call. */
	for (req->cur = 0; req->cur < req->nranges && !req->ranges[req->cur].len; req->cur++)
		;
	if (req->cur == req->nranges)
		return VIRTIO_BLK_S_OK;
	req->stage = first_stage(req, &req->ranges[req->cur]);
	if (range_issue(req) < 0)
		return VIRTIO_BLK_S_IOERR;
	if (discard)
		b->stats.discards++;
	else
		b->stats.write_zeroes++;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Requests */

/*
 * Start the request in @e. Returns true if the device is still usable
 * (the request is either submitted or already completed).
 */
static bool req_start(struct blk_req *req, struct virtq_elem *e)
{
	struct blk *b = req->q->b;
	struct iovec *iov = e->iov, *last, *data;
	unsigned nout = e->n_out, nin = e->n_in, ndata;
	uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
	uint64_t sector, out_len, in_len;
	int st;

	req->gen = b->gen;
	req->head = e->head;
	req->used_len = 0;
	req->bounce = NULL;
	/* The status byte is the last byte the device may write. */
	if (!nin) {
		req_free(req);
		virtio_set_broken(&b->vdev, "virtio-blk request without a status byte");
		return false;
	}
	last = &iov[nout + nin - 1];
	req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (!--last->iov_len)
		nin--;
	in_len = e->in_len - 1;
	out_len = e->out_len;
	if (out_len < VIRTIO_BLK_HDR_SIZE) {
		req_finish(req, VIRTIO_BLK_S_IOERR);
		return true;
	}
	virtio_iov_read(iov, nout, 0, hdr, sizeof(hdr));
	out_len -= VIRTIO_BLK_HDR_SIZE;
	data = iov;
	ndata = nout;
	iov_advance(&data, &ndata, VIRTIO_BLK_HDR_SIZE);
	req->type = ld_le32(hdr);
	sector = ld_le64(hdr + 8);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		st = rw_start(req, sector, iov + nout, nin, in_len);
		break;
	case VIRTIO_BLK_T_OUT:
		st = rw_start(req, sector, data, ndata, out_len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flushes++;
		if (b->img.readonly || b->flush_noop)
			st = VIRTIO_BLK_S_OK;
		else
			st = event_fsync(b->loop, b->img.fd, true, flush_done, req) < 0 ?
			     VIRTIO_BLK_S_IOERR : -1;
		break;
	case VIRTIO_BLK_T_GET_ID:
		b->stats.get_ids++;
		req->used_len = (uint32_t)virtio_iov_write(iov + nout, nin, 0, b->serial,
							   MIN(in_len, sizeof(b->serial)));
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = ranges_start(req, data, ndata, out_len);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (st >= 0)
		req_finish(req, (uint8_t)st);
	else
		b->inflight++;
	return true;
}

static void queue_notify(struct virtio_dev *vd, unsigned qi)
{
	struct blk *b = to_blk(vd);
	struct blk_queue *q = &b->queues[qi];
	struct virtq *vq = &vd->vqs[qi];
	struct virtq_elem e;
	struct blk_req *req;
	int r;

	do {
		virtqueue_disable_notify(vq);
		for (;;) {
			req = q->free;
			if (!req) {
				/* Every slot is in flight: a completion resumes the queue. */
				q->stalled = true;
				b->stats.stalls++;
				goto out;
			}
			e.iov = req->iovbuf;
			e.cap = REQ_MAX_IOV;
			r = virtqueue_pop(vq, &e);
			if (!r)
				break;
			if (r < 0) {
				virtio_set_broken(vd, vq->error);
				goto out;
			}
			q->free = req->next_free;
			if (!req_start(req, &e))
				goto out;
		}
	} while (virtqueue_enable_notify(vq));
out:
	/* Requests that completed at once are published together. */
	virtio_queue_flush(vd, qi);
}

static void blk_reset(struct virtio_dev *vd)
{
	struct blk *b = to_blk(vd);
	unsigned i;

	/* I/O in flight completes into nothing; its slots come back then. */
	b->gen++;
	for (i = 0; i < b->nq; i++)
		b->queues[i].stalled = false;
}

static unsigned blk_inflight(struct virtio_dev *vd)
{
	return to_blk(vd)->inflight;
}

static const struct virtio_dev_ops blk_ops = {
	.queue_notify = queue_notify,
	.reset = blk_reset,
	.inflight = blk_inflight,
};

/* ------------------------------------------------------------------ */

static unsigned log2u(unsigned v)
{
	unsigned r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

static uint64_t build_config(struct blk *b)
{
	uint8_t *c = b->config;
	unsigned exp = log2u(b->img.phys_block / BLK_SECTOR_SIZE);
	uint64_t f = VIRTIO_COMMON_FEATURES | BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) |
		     BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_TOPOLOGY) |
		     BIT(VIRTIO_BLK_F_FLUSH);

	memset(c, 0, sizeof(b->config));
	st_le64(c + VIRTIO_BLK_CFG_CAPACITY, b->capacity);
	st_le32(c + VIRTIO_BLK_CFG_SIZE_MAX, BLK_SIZE_MAX);
	/* Without indirect descriptors a chain must also fit the ring. */
	st_le32(c + VIRTIO_BLK_CFG_SEG_MAX, MIN(BLK_SEG_MAX, b->qsize - 2u));
	st_le32(c + VIRTIO_BLK_CFG_BLK_SIZE, BLK_SECTOR_SIZE);
	c[VIRTIO_BLK_CFG_PHYS_EXP] = (uint8_t)exp;
	st_le16(c + VIRTIO_BLK_CFG_MIN_IO, (uint16_t)(1u << exp));
	st_le16(c + VIRTIO_BLK_CFG_NUM_QUEUES, (uint16_t)b->nq);
	if (b->nq > 1)
		f |= BIT(VIRTIO_BLK_F_MQ);
	if (b->img.readonly)
		return f | BIT(VIRTIO_BLK_F_RO);
	f |= BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	st_le32(c + VIRTIO_BLK_CFG_MAX_WZ, BLK_MAX_RANGE_SECTORS);
	st_le32(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, BLK_MAX_RANGES);
	c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = b->discard;
	if (b->discard) {
		f |= BIT(VIRTIO_BLK_F_DISCARD);
		st_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD, BLK_MAX_RANGE_SECTORS);
		st_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_RANGES);
		st_le32(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, b->img.phys_block / BLK_SECTOR_SIZE);
	}
	return f;
}

static int queues_create(struct blk *b)
{
	unsigned i, j;

	b->queues = calloc(b->nq, sizeof(*b->queues));
	if (!b->queues)
		return -ENOMEM;
	for (i = 0; i < b->nq; i++) {
		struct blk_queue *q = &b->queues[i];

		q->b = b;
		q->idx = i;
		/* One slot per ring entry: a ring never has more requests than that. */
		q->reqs = calloc(b->qsize, sizeof(*q->reqs));
		if (!q->reqs)
			return -ENOMEM;
		for (j = b->qsize; j-- > 0;) {
			q->reqs[j].q = q;
			q->reqs[j].next_free = q->free;
			q->free = &q->reqs[j];
		}
	}
	return 0;
}

int blk_create(const struct blk_config *cfg, struct blk **out)
{
	struct blk *b;
	uint64_t features;
	int r;

	if (!cfg->loop || !cfg->num_queues || cfg->num_queues > BLK_MAX_QUEUES ||
	    cfg->queue_size < 4 || cfg->queue_size > 1024 ||
	    (cfg->queue_size & (cfg->queue_size - 1))) {
		struct blk_image img = cfg->image;

		blk_image_close(&img);
		return err_set(-EINVAL, "%s: num-queues must be 1..%d and queue-size a power of "
					"two in 4..1024", cfg->name, BLK_MAX_QUEUES);
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		struct blk_image img = cfg->image;

		blk_image_close(&img);
		return -ENOMEM;
	}
	b->name = cfg->name;
	b->img = cfg->image;
	b->loop = cfg->loop;
	b->capacity = b->img.size / BLK_SECTOR_SIZE;
	b->discard = cfg->discard;
	b->flush_noop = cfg->flush_noop;
	b->nq = cfg->num_queues;
	b->qsize = cfg->queue_size;
	/* Zero padded, not terminated when 20 bytes long (5.2.6). */
	if (cfg->serial)
		memcpy(b->serial, cfg->serial, MIN(strlen(cfg->serial), sizeof(b->serial)));
	features = build_config(b);
	r = virtio_dev_init(&b->vdev, cfg->name, VIRTIO_ID_BLOCK, &blk_ops, cfg->mem, features,
			    b->nq, b->qsize, b->config, sizeof(b->config));
	if (r == 0)
		r = queues_create(b);
	if (r < 0) {
		blk_destroy(b);
		return err_set(r, "%s: %s", cfg->name, strerror(-r));
	}
	*out = b;
	return 0;
}

void blk_destroy(struct blk *b)
{
	unsigned i, tries;

	if (!b)
		return;
	/* Completions must not write into guest memory any more. */
	b->gen++;
	for (tries = 0; b->inflight && tries < 100; tries++)
		if (event_loop_poll_once(b->loop, 100) < 0)
			break;
	if (b->inflight) {
		/*
		 * The kernel still owns buffers and callbacks that point into
		 * the request slots: leaking them is the only safe choice.
		 */
		log_warn("%s: %u requests still in flight at exit", b->name, b->inflight);
		return;
	}
	if (b->queues)
		for (i = 0; i < b->nq; i++)
			free(b->queues[i].reqs);
	free(b->queues);
	virtio_dev_free(&b->vdev);
	blk_image_close(&b->img);
	free(b);
}

struct virtio_dev *blk_virtio(struct blk *b)
{
	return &b->vdev;
}

const struct blk_stats *blk_get_stats(const struct blk *b)
{
	return &b->stats;
}
