/*
 * Unit tests for devices/virtio/blk.c against a temporary image file and
 * a real event loop, once with io_uring and once with the loop's poll(2)
 * fallback: reads, writes, flush, discard, write zeroes, GET_ID, requests
 * out of range or malformed, read-only drives, O_DIRECT with misaligned
 * buffers and offsets, many requests in flight, multi-queue, resets and
 * teardown with I/O in flight, and opening bad image files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/vdriver.h"
#include "tests/unit/support.h"
#include "vmm/err.h"
#include "vmm/event.h"

#define MEM_SIZE        (8 * MiB)
#define IMG_SIZE        (1 * MiB)
#define SECTORS         (IMG_SIZE / 512)
#define RING0           0x1000
#define RING1           0x3000
#define HDR_GPA         0x8000          /* 32 bytes per request slot */
#define STATUS_GPA      0xa000          /* 1 byte per request slot */
#define DATA_GPA        0x100000
#define DATA2_GPA       0x400000
#define QSIZE           16

static struct fake_mem fm;
static struct event_loop *loop;
static struct blk *blk;
static struct virtio_dev *vd;
static struct vdrv_queue dq, dq1;
static char path[128];
static int img_fd = -1;

/* ---- fixture ---- */

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

static void make_image(void)
{
	const char *tmp = getenv("TMPDIR");
	uint8_t *buf = malloc(IMG_SIZE);
	uint64_t i;

	snprintf(path, sizeof(path), "%s/kvmrun-blk-XXXXXX", tmp ? tmp : "/tmp");
	img_fd = mkstemp(path);
	ck_assert_int_ge(img_fd, 0);
	for (i = 0; i < IMG_SIZE; i++)
		buf[i] = pattern(i);
	ck_assert_int_eq(pwrite(img_fd, buf, IMG_SIZE, 0), IMG_SIZE);
	free(buf);
}

static void setup(void)
{
	fake_mem_init(&fm, 0, MEM_SIZE);
	/* Page-aligned guest RAM, as a real VM has (O_DIRECT cares). */
	free(fm.buf);
	ck_assert_int_eq(posix_memalign((void **)&fm.buf, 4096, MEM_SIZE), 0);
	memset(fm.buf, 0, MEM_SIZE);
	make_image();
	loop = NULL;
	blk = NULL;
}

static void teardown(void)
{
	blk_destroy(blk);
	if (loop)
		event_loop_destroy(loop);
	close(img_fd);
	unlink(path);
	fake_mem_free(&fm);
}

struct opts {
	bool readonly, direct, discard, flush_noop;
	unsigned nq;
	const char *serial;
	unsigned off_align;     /* override the host's O_DIRECT alignment */
};

/* Features a driver asks for (it gets what the device offers of them). */
static uint64_t vd_all_features(void)
{
	return ~0ULL;
}

/* Create the device (loop backend from the test's loop index) and bring it up. */
static int start_dev(int backend, const struct opts *o, uint64_t features)
{
	struct blk_open_opts oo = { .readonly = o->readonly, .direct = o->direct };
	struct blk_config bc = {
		.name = "test-blk",
		.mem = &fm.gm,
		.num_queues = o->nq ? o->nq : 1,
		.queue_size = QSIZE,
		.discard = o->discard,
		.flush_noop = o->flush_noop,
		.serial = o->serial,
	};
	int r;

	ck_assert_int_eq(event_loop_create(NULL, backend == 1, &loop), 0);
	bc.loop = loop;
	r = blk_image_open(path, &oo, &bc.image);
	if (r < 0)
		return r;
	if (o->off_align)
		bc.image.off_align = o->off_align;
	ck_assert_int_eq(blk_create(&bc, &blk), 0);
	vd = blk_virtio(blk);
	ck_assert_uint_eq(vdrv_start(vd, features & vd->host_features) & VIRTIO_S_DRIVER_OK,
			  VIRTIO_S_DRIVER_OK);
	vdrv_queue_init(&dq, &fm.gm, QSIZE, RING0);
	vdrv_attach(vd, 0, &dq);
	ck_assert(vd->vqs[0].ready);
	if (bc.num_queues > 1) {
		vdrv_queue_init(&dq1, &fm.gm, QSIZE, RING1);
		vdrv_attach(vd, 1, &dq1);
	}
	return 0;
}

static void start(int backend, const struct opts *o)
{
	ck_assert_int_eq(start_dev(backend, o, vd_all_features()), 0);
}

/* ---- requests ---- */

static uint64_t hdr_gpa(unsigned slot)
{
	return HDR_GPA + 32ULL * slot;
}

static void put_hdr(unsigned slot, uint32_t type, uint64_t sector)
{
	uint8_t h[16] = { 0 };

	st_le32(h, type);
	st_le64(h + 8, sector);
	gmem_write(&fm.gm, hdr_gpa(slot), h, sizeof(h));
	fm.buf[STATUS_GPA + slot] = 0xee;
}

/* Header, optional data buffer, status byte: the usual three-descriptor request. */
static void submit(struct vdrv_queue *q, unsigned slot, uint32_t type, uint64_t sector,
		   uint64_t data, uint32_t len, bool data_writable)
{
	struct vdrv_buf b[3] = { { hdr_gpa(slot), 16, false } };
	unsigned n = 1;

	put_hdr(slot, type, sector);
	if (len)
		b[n++] = (struct vdrv_buf){ data, len, data_writable };
	b[n++] = (struct vdrv_buf){ STATUS_GPA + slot, 1, true };
	vdrv_add_chain(q, b, n);
}

static void kick(unsigned q)
{
	virtio_queue_kick(vd, q);
}

/* Run the loop until @n used entries arrived on @q (bounded). */
static void wait_used(struct vdrv_queue *q, uint16_t n)
{
	unsigned i;

	for (i = 0; i < 500 && (uint16_t)(vdrv_used_idx(q) - q->used_seen) < n; i++)
		ck_assert_int_eq(event_loop_poll_once(loop, 10), 0);
	ck_assert_uint_eq((uint16_t)(vdrv_used_idx(q) - q->used_seen), n);
}

/* One request on queue 0, waited for; returns its status, *used_len its length. */
static uint8_t do_req(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool wr,
		      uint32_t *used_len)
{
	uint32_t id, l;

	submit(&dq, 0, type, sector, data, len, wr);
	kick(0);
	wait_used(&dq, 1);
	ck_assert(vdrv_get_used(&dq, &id, &l));
	if (used_len)
		*used_len = l;
	return fm.buf[STATUS_GPA];
}

static uint8_t do_read(uint64_t sector, uint64_t data, uint32_t len)
{
	return do_req(VIRTIO_BLK_T_IN, sector, data, len, true, NULL);
}

static uint8_t do_write(uint64_t sector, uint64_t data, uint32_t len)
{
	return do_req(VIRTIO_BLK_T_OUT, sector, data, len, false, NULL);
}

static void fill(uint64_t gpa, uint32_t len, uint8_t seed)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		fm.buf[gpa + i] = (uint8_t)(seed + i * 13);
}

static void check_file(uint64_t off, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);

	ck_assert_int_eq(pread(img_fd, got, len, (off_t)off), (ssize_t)len);
	ck_assert_mem_eq(got, want, len);
	free(got);
}

static void check_file_pattern(uint64_t off, size_t len)
{
	uint8_t *want = malloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		want[i] = pattern(off + i);
	check_file(off, want, len);
	free(want);
}

static void check_file_zero(uint64_t off, size_t len)
{
	uint8_t *z = calloc(1, len);

	check_file(off, z, len);
	free(z);
}

/* ---- tests ---- */

START_TEST(test_config)
{
	const uint8_t *c;

	start(_i, &(struct opts){ .nq = 2, .discard = true });
	c = vd->config;
	ck_assert_uint_eq(ld_le64(c + VIRTIO_BLK_CFG_CAPACITY), SECTORS);
	ck_assert_uint_eq(ld_le32(c + VIRTIO_BLK_CFG_SEG_MAX), QSIZE - 2);
	ck_assert_uint_eq(ld_le32(c + VIRTIO_BLK_CFG_SIZE_MAX), BLK_SIZE_MAX);
	ck_assert_uint_eq(ld_le32(c + VIRTIO_BLK_CFG_BLK_SIZE), 512);
	ck_assert_uint_eq(ld_le16(c + VIRTIO_BLK_CFG_NUM_QUEUES), 2);
	ck_assert_uint_eq(ld_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG), BLK_MAX_RANGES);
	ck_assert_uint_eq(c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP], 1);
	ck_assert(virtio_has_feature(vd, VIRTIO_BLK_F_MQ));
	ck_assert(virtio_has_feature(vd, VIRTIO_BLK_F_DISCARD));
	ck_assert(virtio_has_feature(vd, VIRTIO_BLK_F_WRITE_ZEROES));
	ck_assert(virtio_has_feature(vd, VIRTIO_BLK_F_FLUSH));
	ck_assert(!virtio_has_feature(vd, VIRTIO_BLK_F_RO));
}
END_TEST

START_TEST(test_write_read)
{
	uint32_t used;

	start(_i, &(struct opts){ 0 });
	fill(DATA_GPA, 4096, 3);
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_OUT, 8, DATA_GPA, 4096, false, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	check_file(8 * 512, fm.buf + DATA_GPA, 4096);
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_IN, 8, DATA2_GPA, 4096, true, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 4097);
	ck_assert_mem_eq(fm.buf + DATA2_GPA, fm.buf + DATA_GPA, 4096);
	/* The rest of the image is untouched. */
	check_file_pattern(0, 8 * 512);
	check_file_pattern(16 * 512, 4096);
	ck_assert_uint_eq(blk_get_stats(blk)->reads, 1);
	ck_assert_uint_eq(blk_get_stats(blk)->bytes_written, 4096);
}
END_TEST

START_TEST(test_bounds)
{
	uint32_t used;

	start(_i, &(struct opts){ 0 });
	ck_assert_uint_eq(do_read(SECTORS - 1, DATA_GPA, 512), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(fm.buf[DATA_GPA], pattern(IMG_SIZE - 512));
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_IN, SECTORS, DATA_GPA, 512, true, &used),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(do_read(SECTORS - 1, DATA_GPA, 1024), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_read(~0ULL, DATA_GPA, 512), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_read(~0ULL >> 9, DATA_GPA, 512), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_write(SECTORS, DATA_GPA, 512), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_read(0, DATA_GPA, 100), VIRTIO_BLK_S_IOERR);    /* not whole sectors */
	ck_assert_uint_eq(do_write(0, DATA_GPA, 513), VIRTIO_BLK_S_IOERR);
	/* A zero-length read at the very end is fine. */
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_IN, SECTORS, 0, 0, true, &used), VIRTIO_BLK_S_OK);
	check_file_pattern(0, IMG_SIZE);
	ck_assert_uint_eq(blk_get_stats(blk)->errors, 7);
}
END_TEST

START_TEST(test_flush_and_unknown)
{
	start(_i, &(struct opts){ 0 });
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(do_req(0x55, 0, DATA_GPA, 512, true, NULL), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(do_req(10, 0, DATA_GPA, 512, true, NULL), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(do_req(0x80000001, 0, DATA_GPA, 512, false, NULL), VIRTIO_BLK_S_UNSUPP);
	check_file_pattern(0, IMG_SIZE);
}
END_TEST

START_TEST(test_get_id)
{
	uint32_t used;

	start(_i, &(struct opts){ .serial = "kvmrun-0123456789abcdef" });
	memset(fm.buf + DATA_GPA, 0xaa, 64);
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, 64, true, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 21);
	ck_assert_mem_eq(fm.buf + DATA_GPA, "kvmrun-0123456789abc", 20);  /* truncated */
	ck_assert_uint_eq(fm.buf[DATA_GPA + 20], 0xaa);
	/* A small buffer gets what fits. */
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_GET_ID, 0, DATA2_GPA, 6, true, &used),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 7);
	ck_assert_mem_eq(fm.buf + DATA2_GPA, "kvmrun", 6);
}
END_TEST

START_TEST(test_get_id_short_serial)
{
	start(_i, &(struct opts){ .serial = "abc" });
	memset(fm.buf + DATA_GPA, 0xaa, 64);
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, 20, true, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(fm.buf + DATA_GPA, "abc\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
}
END_TEST

/* A discard / write-zeroes request of @n ranges {sector, count, flags}. */
static uint8_t do_ranges(uint32_t type, const uint32_t (*r)[3], unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		st_le64(fm.buf + DATA_GPA + 16 * i, r[i][0]);
		st_le32(fm.buf + DATA_GPA + 16 * i + 8, r[i][1]);
		st_le32(fm.buf + DATA_GPA + 16 * i + 12, r[i][2]);
	}
	return do_req(type, 0, DATA_GPA, 16 * n, false, NULL);
}

START_TEST(test_discard)
{
	static const uint32_t one[][3] = { { 8, 8, 0 } };
	static const uint32_t flagged[][3] = { { 8, 8, 1 } };
	static const uint32_t past[][3] = { { SECTORS - 4, 8, 0 } };
	uint32_t many[BLK_MAX_RANGES + 1][3];
	unsigned i;

	start(_i, &(struct opts){ .discard = true });
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_DISCARD, one, 1), VIRTIO_BLK_S_OK);
	check_file_zero(8 * 512, 8 * 512);              /* a hole reads as zeros */
	check_file_pattern(0, 8 * 512);
	check_file_pattern(16 * 512, 512);
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_DISCARD, flagged, 1), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_DISCARD, past, 1), VIRTIO_BLK_S_IOERR);
	for (i = 0; i <= BLK_MAX_RANGES; i++) {
		many[i][0] = 64 + 8 * i;
		many[i][1] = 1;
		many[i][2] = 0;
	}
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_DISCARD, many, BLK_MAX_RANGES + 1),
			  VIRTIO_BLK_S_IOERR);
	check_file_pattern(64 * 512, 512);
	/* No segment at all, and a partial one. */
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_DISCARD, 0, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_DISCARD, 0, DATA_GPA, 12, false, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_DISCARD, many, BLK_MAX_RANGES), VIRTIO_BLK_S_OK);
	check_file_zero(64 * 512, 512);
	check_file_pattern(65 * 512, 512);
}
END_TEST

START_TEST(test_discard_not_offered)
{
	static const uint32_t one[][3] = { { 8, 8, 0 } };

	start(_i, &(struct opts){ 0 });
	ck_assert(!virtio_has_feature(vd, VIRTIO_BLK_F_DISCARD));
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_DISCARD, one, 1), VIRTIO_BLK_S_UNSUPP);
	check_file_pattern(0, IMG_SIZE);
}
END_TEST

START_TEST(test_write_zeroes)
{
	static const uint32_t three[][3] = { { 0, 1, 0 }, { 4, 2, 1 }, { 100, 9, 0 } };
	static const uint32_t bad_flag[][3] = { { 0, 1, 2 } };
	static const uint32_t empty[][3] = { { 0, 0, 0 } };

	start(_i, &(struct opts){ .discard = _i == 0 });
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_WRITE_ZEROES, three, 3), VIRTIO_BLK_S_OK);
	check_file_zero(0, 512);
	check_file_pattern(512, 3 * 512);
	check_file_zero(4 * 512, 2 * 512);
	check_file_pattern(6 * 512, 94 * 512);
	check_file_zero(100 * 512, 9 * 512);
	check_file_pattern(109 * 512, 512);
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_WRITE_ZEROES, bad_flag, 1), VIRTIO_BLK_S_UNSUPP);
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_WRITE_ZEROES, empty, 1), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(blk_get_stats(blk)->write_zeroes, 1);
}
END_TEST

START_TEST(test_read_only)
{
	static const uint32_t one[][3] = { { 8, 8, 0 } };

	start(_i, &(struct opts){ .readonly = true, .discard = true });
	ck_assert(virtio_has_feature(vd, VIRTIO_BLK_F_RO));
	ck_assert(!virtio_has_feature(vd, VIRTIO_BLK_F_WRITE_ZEROES));
	ck_assert(!virtio_has_feature(vd, VIRTIO_BLK_F_DISCARD));
	fill(DATA_GPA, 4096, 9);
	ck_assert_uint_eq(do_write(0, DATA_GPA, 4096), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_WRITE_ZEROES, one, 1), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_ranges(VIRTIO_BLK_T_DISCARD, one, 1), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(do_read(0, DATA2_GPA, 4096), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(fm.buf[DATA2_GPA], pattern(0));
	ck_assert_uint_eq(fm.buf[DATA2_GPA + 4095], pattern(4095));
	check_file_pattern(0, IMG_SIZE);
}
END_TEST

START_TEST(test_malformed_requests)
{
	struct vdrv_buf b[2];
	uint32_t id, len;

	start(_i, &(struct opts){ 0 });
	/* A header shorter than 16 bytes: IOERR in the status byte. */
	put_hdr(0, VIRTIO_BLK_T_IN, 0);
	b[0] = (struct vdrv_buf){ hdr_gpa(0), 8, false };
	b[1] = (struct vdrv_buf){ STATUS_GPA, 1, true };
	vdrv_add_chain(&dq, b, 2);
	kick(0);
	wait_used(&dq, 1);
	ck_assert(vdrv_get_used(&dq, &id, &len));
	ck_assert_uint_eq(fm.buf[STATUS_GPA], VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(len, 1);
	/* A write whose data sits in a device-writable buffer: no data to write. */
	fill(DATA_GPA, 512, 1);
	ck_assert_uint_eq(do_req(VIRTIO_BLK_T_OUT, 0, DATA_GPA, 512, true, NULL), VIRTIO_BLK_S_OK);
	check_file_pattern(0, IMG_SIZE);
	/* No device-writable byte at all: nowhere to put a status. The device breaks. */
	put_hdr(0, VIRTIO_BLK_T_OUT, 0);
	b[1] = (struct vdrv_buf){ DATA_GPA, 512, false };
	b[0].len = 16;
	vdrv_add_chain(&dq, b, 2);
	kick(0);
	ck_assert(vd->status & VIRTIO_S_NEEDS_RESET);
	ck_assert(!vdrv_get_used(&dq, &id, &len));
	check_file_pattern(0, IMG_SIZE);
	/* Broken: further kicks do nothing until a reset. */
	submit(&dq, 1, VIRTIO_BLK_T_IN, 0, DATA_GPA, 512, true);
	kick(0);
	ck_assert(!vdrv_get_used(&dq, &id, &len));
}
END_TEST

START_TEST(test_malformed_chain_breaks)
{
	uint32_t id, len;

	start(_i, &(struct opts){ 0 });
	/* A loop of two descriptors. */
	vdrv_set_desc(&dq, 0, hdr_gpa(0), 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&dq, 1, DATA_GPA, 512, VIRTQ_DESC_F_NEXT, 0);
	vdrv_publish(&dq, 0);
	kick(0);
	ck_assert(vd->status & VIRTIO_S_NEEDS_RESET);
	ck_assert(!vdrv_get_used(&dq, &id, &len));
	ck_assert_uint_eq(blk_get_stats(blk)->reads + blk_get_stats(blk)->writes, 0);
	/* A reset and a new start make it work again. */
	virtio_set_status(vd, 0);
	ck_assert_uint_eq(vd->status, 0);
	vdrv_start(vd, vd->host_features);
	vdrv_queue_init(&dq, &fm.gm, QSIZE, RING0);
	vdrv_attach(vd, 0, &dq);
	ck_assert_uint_eq(do_read(0, DATA_GPA, 512), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(test_split_layout)
{
	/* Header in two pieces, data in three, the status at the end of the last data buffer. */
	struct vdrv_buf b[5] = {
		{ hdr_gpa(0), 10, false }, { hdr_gpa(0) + 10, 6, false },
		{ DATA_GPA, 1024, false }, { DATA_GPA + 0x2000, 512, false },
		{ DATA_GPA + 0x4000, 512, false },
	};
	struct vdrv_buf r[4] = {
		{ hdr_gpa(1), 16, false }, { DATA2_GPA, 1536, true },
		{ DATA2_GPA + 0x10000, 512 + 1, true },
	};
	uint8_t want[2048];
	uint32_t id, len;

	start(_i, &(struct opts){ 0 });
	fill(DATA_GPA, 1024, 1);
	fill(DATA_GPA + 0x2000, 512, 2);
	fill(DATA_GPA + 0x4000, 512, 3);
	memcpy(want, fm.buf + DATA_GPA, 1024);
	memcpy(want + 1024, fm.buf + DATA_GPA + 0x2000, 512);
	memcpy(want + 1536, fm.buf + DATA_GPA + 0x4000, 512);
	put_hdr(0, VIRTIO_BLK_T_OUT, 20);
	vdrv_add_chain(&dq, b, 5);
	/* The status byte needs a writable buffer: add it. */
	vdrv_set_desc(&dq, (uint16_t)(dq.next_desc - 1), DATA_GPA + 0x4000, 512,
		      VIRTQ_DESC_F_NEXT, dq.next_desc);
	vdrv_set_desc(&dq, dq.next_desc, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	dq.next_desc++;
	kick(0);
	wait_used(&dq, 1);
	ck_assert(vdrv_get_used(&dq, &id, &len));
	ck_assert_uint_eq(fm.buf[STATUS_GPA], VIRTIO_BLK_S_OK);
	check_file(20 * 512, want, sizeof(want));
	/* Read it back into two buffers, the second also holding the status. */
	put_hdr(1, VIRTIO_BLK_T_IN, 20);
	vdrv_add_chain(&dq, r, 3);
	kick(0);
	wait_used(&dq, 1);
	ck_assert(vdrv_get_used(&dq, &id, &len));
	ck_assert_uint_eq(len, 2049);
	ck_assert_uint_eq(fm.buf[DATA2_GPA + 0x10000 + 512], VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(fm.buf + DATA2_GPA, want, 1536);
	ck_assert_mem_eq(fm.buf + DATA2_GPA + 0x10000, want + 1536, 512);
}
END_TEST

START_TEST(test_many_in_flight)
{
	uint32_t id, len;
	unsigned i;

	start(_i, &(struct opts){ 0 });
	/* A full ring of writes, one kick. */
	for (i = 0; i < QSIZE / 4; i++) {
		fill(DATA_GPA + 0x10000 * i, 8192, (uint8_t)i);
		submit(&dq, i, VIRTIO_BLK_T_OUT, 16 * i, DATA_GPA + 0x10000 * i, 8192, false);
	}
	kick(0);
	wait_used(&dq, QSIZE / 4);
	for (i = 0; i < QSIZE / 4; i++) {
		ck_assert(vdrv_get_used(&dq, &id, &len));
		ck_assert_uint_eq(fm.buf[STATUS_GPA + i], VIRTIO_BLK_S_OK);
		check_file(16 * 512 * i, fm.buf + DATA_GPA + 0x10000 * i, 8192);
	}
	/* The same chain made available a full ring of times (hostile, but legal memory). */
	submit(&dq, 0, VIRTIO_BLK_T_IN, 0, DATA2_GPA, 4096, true);
	for (i = 1; i < QSIZE; i++)
		vdrv_publish(&dq, (uint16_t)(dq.next_desc - 3));
	kick(0);
	wait_used(&dq, QSIZE);
	for (i = 0; i < QSIZE; i++) {
		ck_assert(vdrv_get_used(&dq, &id, &len));
		ck_assert_uint_eq(len, 4097);
	}
	ck_assert_uint_eq(fm.buf[STATUS_GPA], VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(test_multi_queue)
{
	uint32_t id, len;

	start(_i, &(struct opts){ .nq = 2 });
	fill(DATA_GPA, 512, 5);
	submit(&dq1, 2, VIRTIO_BLK_T_OUT, 3, DATA_GPA, 512, false);
	kick(1);
	wait_used(&dq1, 1);
	ck_assert(vdrv_get_used(&dq1, &id, &len));
	ck_assert_uint_eq(fm.buf[STATUS_GPA + 2], VIRTIO_BLK_S_OK);
	check_file(3 * 512, fm.buf + DATA_GPA, 512);
	ck_assert_uint_eq(vdrv_used_idx(&dq), 0);
}
END_TEST

START_TEST(test_direct_io)
{
	struct opts o = { .direct = true };
	const struct blk_stats *st;
	int r;

	r = start_dev(_i, &o, vd_all_features());
	if (r == -EINVAL) {
		/* tmpfs before Linux 6.6 has no O_DIRECT; the message says what to do. */
		ck_assert_ptr_nonnull(strstr(err_get(), "O_DIRECT"));
		return;
	}
	ck_assert_int_eq(r, 0);
	st = blk_get_stats(blk);
	fill(DATA_GPA, 8192, 4);
	ck_assert_uint_eq(do_write(8, DATA_GPA, 8192), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(do_read(8, DATA2_GPA, 8192), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(fm.buf + DATA2_GPA, fm.buf + DATA_GPA, 8192);
	ck_assert_uint_eq(st->bounced, 0);
	/* A buffer O_DIRECT cannot take goes through a bounce buffer. */
	fill(DATA_GPA + 3, 4096, 6);
	ck_assert_uint_eq(do_write(64, DATA_GPA + 3, 4096), VIRTIO_BLK_S_OK);
	check_file(64 * 512, fm.buf + DATA_GPA + 3, 4096);
	ck_assert_uint_eq(do_read(64, DATA2_GPA + 5, 4096), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(fm.buf + DATA2_GPA + 5, fm.buf + DATA_GPA + 3, 4096);
	ck_assert_uint_eq(st->bounced, 2);
	ck_assert_uint_eq(st->buffered, 0);
}
END_TEST

START_TEST(test_direct_io_misaligned_offset)
{
	struct opts o = { .direct = true, .off_align = 4096 };
	const struct blk_stats *st;

	if (start_dev(_i, &o, vd_all_features()) == -EINVAL)
		return;         /* no O_DIRECT here (see test_direct_io) */
	st = blk_get_stats(blk);
	/* A 512-byte write at sector 1 on a host that wants 4 KiB units. */
	fill(DATA_GPA, 512, 8);
	ck_assert_uint_eq(do_write(1, DATA_GPA, 512), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(do_read(0, DATA2_GPA, 4096), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(fm.buf + DATA2_GPA + 512, fm.buf + DATA_GPA, 512);
	ck_assert_uint_eq(fm.buf[DATA2_GPA], pattern(0));
	check_file(512, fm.buf + DATA_GPA, 512);
	ck_assert_uint_eq(st->buffered, 1);
}
END_TEST

START_TEST(test_reset_in_flight)
{
	unsigned i;

	start(_i, &(struct opts){ 0 });
	for (i = 0; i < 4; i++)
		submit(&dq, i, VIRTIO_BLK_T_IN, 8 * i, DATA_GPA + 0x1000 * i, 4096, true);
	kick(0);
	/* The driver resets with reads in flight (io_uring: not done yet). */
	virtio_set_status(vd, 0);
	ck_assert_uint_ne(vd->status, 0);       /* waits for the host I/O */
	for (i = 0; i < 20 && vd->status; i++)
		ck_assert_int_eq(event_loop_poll_once(loop, 10), 0);
	ck_assert_uint_eq(vd->status, 0);
	/* Nothing was published after the reset began. */
	ck_assert_uint_eq(vdrv_used_idx(&dq), 0);
	ck_assert_uint_eq(fm.buf[STATUS_GPA], 0xee);
	/* And the device works after a new start. */
	vdrv_start(vd, vd->host_features);
	vdrv_queue_init(&dq, &fm.gm, QSIZE, RING0);
	vdrv_attach(vd, 0, &dq);
	ck_assert_uint_eq(do_read(0, DATA_GPA, 512), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(test_destroy_in_flight)
{
	unsigned i;

	start(_i, &(struct opts){ 0 });
	for (i = 0; i < QSIZE / 3; i++)
		submit(&dq, i, VIRTIO_BLK_T_OUT, 8 * i, DATA_GPA, 4096, false);
	kick(0);
	blk_destroy(blk);       /* runs the loop until the writes are done */
	blk = NULL;
	ck_assert_uint_eq(vdrv_used_idx(&dq), 0);
}
END_TEST

/* Random requests and chains: no crash, the image only changes where writes went. */
START_TEST(test_fuzz)
{
	unsigned seed = 7, i, round;
	uint32_t id, len;

	start(_i, &(struct opts){ .discard = true });
	for (round = 0; round < 300 && !(vd->status & VIRTIO_S_NEEDS_RESET); round++) {
		unsigned n = 1 + round % 4;

		for (i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			submit(&dq, i, (seed >> 8) % 16, (seed >> 3) % (SECTORS + 4),
			       DATA_GPA + ((seed >> 12) & 0xff0), (seed >> 16) % 3 * 512 + (seed & 1),
			       (seed >> 30) & 1);
		}
		kick(0);
		wait_used(&dq, (uint16_t)n);
		while (vdrv_get_used(&dq, &id, &len))
			ck_assert_uint_lt(id, QSIZE);
	}
	ck_assert_uint_eq(round, 300);
}
END_TEST

START_TEST(test_open_errors)
{
	struct blk_open_opts oo = { 0 };
	struct blk_image img;
	char dir[160], fifo[160];
	int r;

	r = blk_image_open("/nonexistent/kvmrun.img", &oo, &img);
	ck_assert_int_eq(r, -ENOENT);
	ck_assert_ptr_nonnull(strstr(err_get(), "/nonexistent/kvmrun.img"));
	ck_assert_ptr_nonnull(strstr(err_get(), "no such file"));
	snprintf(dir, sizeof(dir), "%s.d", path);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	oo.readonly = true;
	r = blk_image_open(dir, &oo, &img);
	ck_assert_int_lt(r, 0);
	ck_assert_ptr_nonnull(strstr(err_get(), dir));
	ck_assert_ptr_nonnull(strstr(err_get(), "not a regular file or a block device"));
	rmdir(dir);
	/* A FIFO must be refused, not block the open. */
	snprintf(fifo, sizeof(fifo), "%s.p", path);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	r = blk_image_open(fifo, &oo, &img);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "not a regular file or a block device"));
	unlink(fifo);
	/* Read-only really opens read-only. */
	ck_assert_int_eq(blk_image_open(path, &oo, &img), 0);
	ck_assert_int_lt(pwrite(img.fd, "x", 1, 0), 0);
	ck_assert_uint_eq(img.size, IMG_SIZE);
	blk_image_close(&img);
	/* Without write permission (root may write anyway). */
	if (geteuid() != 0) {
		chmod(path, 0400);
		oo.readonly = false;
		r = blk_image_open(path, &oo, &img);
		ck_assert_int_eq(r, -EACCES);
		ck_assert_ptr_nonnull(strstr(err_get(), "readonly=on"));
	}
}
END_TEST

START_TEST(test_create_errors)
{
	struct blk_config bc = { .name = "bad", .mem = &fm.gm, .num_queues = 1, .queue_size = 12 };
	struct blk_open_opts oo = { 0 };

	ck_assert_int_eq(event_loop_create(NULL, true, &loop), 0);
	bc.loop = loop;
	ck_assert_int_eq(blk_image_open(path, &oo, &bc.image), 0);
	ck_assert_int_eq(blk_create(&bc, &blk), -EINVAL);       /* queue size not a power of 2 */
	ck_assert_ptr_nonnull(strstr(err_get(), "queue-size"));
	blk = NULL;
	ck_assert_int_eq(blk_image_open(path, &oo, &bc.image), 0);
	bc.queue_size = 16;
	bc.num_queues = BLK_MAX_QUEUES + 1;
	ck_assert_int_eq(blk_create(&bc, &blk), -EINVAL);
	blk = NULL;
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("requests");
	TCase *tf = tcase_create("files");

	/* Loop index 0: io_uring; 1: the poll(2) fallback with synchronous I/O. */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_config, 0, 2);
	tcase_add_loop_test(tc, test_write_read, 0, 2);
	tcase_add_loop_test(tc, test_bounds, 0, 2);
	tcase_add_loop_test(tc, test_flush_and_unknown, 0, 2);
	tcase_add_loop_test(tc, test_get_id, 0, 2);
	tcase_add_loop_test(tc, test_get_id_short_serial, 0, 2);
	tcase_add_loop_test(tc, test_discard, 0, 2);
	tcase_add_loop_test(tc, test_discard_not_offered, 0, 2);
	tcase_add_loop_test(tc, test_write_zeroes, 0, 2);
	tcase_add_loop_test(tc, test_read_only, 0, 2);
	tcase_add_loop_test(tc, test_malformed_requests, 0, 2);
	tcase_add_loop_test(tc, test_malformed_chain_breaks, 0, 2);
	tcase_add_loop_test(tc, test_split_layout, 0, 2);
	tcase_add_loop_test(tc, test_many_in_flight, 0, 2);
	tcase_add_loop_test(tc, test_multi_queue, 0, 2);
	tcase_add_loop_test(tc, test_direct_io, 0, 2);
	tcase_add_loop_test(tc, test_direct_io_misaligned_offset, 0, 2);
	tcase_add_loop_test(tc, test_reset_in_flight, 0, 2);
	tcase_add_loop_test(tc, test_destroy_in_flight, 0, 2);
	tcase_add_loop_test(tc, test_fuzz, 0, 2);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, test_open_errors);
	tcase_add_test(tf, test_create_errors);
	suite_add_tcase(s, tf);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
