/*
 * Unit tests for devices/virtio/rng.c: buffers are filled with entropy
 * (all of a small one, at most RNG_MAX_REQUEST of a huge one), chains
 * without writable buffers come back empty, malformed chains break the
 * device.
 */
#include "devices/virtio/rng.h"
#include "devices/virtio/vdriver.h"
#include "tests/unit/support.h"

#define MEM_SIZE        (4 * MiB)
#define RING_GPA        0x1000
#define BUF_GPA         0x10000
#define BIG_GPA         0x100000
#define QSIZE           8

static struct fake_mem fm;
static struct rng *rng;
static struct virtio_dev *vd;
static struct vdrv_queue q;
static unsigned irqs;

static void rec_notify(void *opaque, int qi)
{
	irqs++;
}

static void setup(void)
{
	struct rng_config rc = { .name = "test-rng" };

	fake_mem_init(&fm, 0, MEM_SIZE);
	rc.mem = &fm.gm;
	ck_assert_int_eq(rng_create(&rc, &rng), 0);
	vd = rng_virtio(rng);
	vd->tr.notify = rec_notify;
	irqs = 0;
	vdrv_start(vd, vd->host_features);
	vdrv_queue_init(&q, &fm.gm, QSIZE, RING_GPA);
	vdrv_attach(vd, 0, &q);
}

static void teardown(void)
{
	rng_destroy(rng);
	fake_mem_free(&fm);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

START_TEST(test_fill)
{
	struct vdrv_buf b[2] = { { BUF_GPA, 32, true }, { BUF_GPA + 0x100, 32, true } };
	uint32_t id, len;

	vdrv_add_chain(&q, b, 2);
	vdrv_add_chain(&q, b, 1);
	virtio_queue_kick(vd, 0);
	ck_assert(vdrv_get_used(&q, &id, &len));
	ck_assert_uint_eq(len, 64);
	ck_assert(vdrv_get_used(&q, &id, &len));
	ck_assert_uint_eq(len, 32);
	/* 32 zero bytes from getrandom: about 2^-256. */
	ck_assert(!all_zero(fm.buf + BUF_GPA, 32));
	ck_assert(!all_zero(fm.buf + BUF_GPA + 0x100, 32));
	ck_assert_uint_eq(irqs, 1);
	ck_assert(all_zero(fm.buf + BUF_GPA + 32, 0x100 - 32));    /* nothing beyond */
}
END_TEST

START_TEST(test_huge_buffer)
{
	struct vdrv_buf b = { BIG_GPA, 2 * MiB, true };
	uint32_t id, len;

	vdrv_add_chain(&q, &b, 1);
	virtio_queue_kick(vd, 0);
	ck_assert(vdrv_get_used(&q, &id, &len));
	ck_assert_uint_eq(len, RNG_MAX_REQUEST);
	ck_assert(!all_zero(fm.buf + BIG_GPA + RNG_MAX_REQUEST - 32, 32));
	ck_assert(all_zero(fm.buf + BIG_GPA + RNG_MAX_REQUEST, 4096));
}
END_TEST

START_TEST(test_readable_only)
{
	struct vdrv_buf b = { BUF_GPA, 16, false };
	uint32_t id, len;

	vdrv_add_chain(&q, &b, 1);
	virtio_queue_kick(vd, 0);
	ck_assert(vdrv_get_used(&q, &id, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert(all_zero(fm.buf + BUF_GPA, 16));
}
END_TEST

START_TEST(test_malformed)
{
	uint32_t id, len;

	vdrv_set_desc(&q, 0, MEM_SIZE - 4, 64, VIRTQ_DESC_F_WRITE, 0);      /* past RAM */
	vdrv_publish(&q, 0);
	virtio_queue_kick(vd, 0);
	ck_assert(vd->status & VIRTIO_S_NEEDS_RESET);
	ck_assert(!vdrv_get_used(&q, &id, &len));
	ck_assert_uint_eq(irqs, 1);                     /* the configuration interrupt */
	/* After a reset it serves again. */
	virtio_set_status(vd, 0);
	vdrv_start(vd, vd->host_features);
	vdrv_queue_init(&q, &fm.gm, QSIZE, RING_GPA);
	vdrv_attach(vd, 0, &q);
	vdrv_add_chain(&q, &(struct vdrv_buf){ BUF_GPA, 8, true }, 1);
	virtio_queue_kick(vd, 0);
	ck_assert(vdrv_get_used(&q, &id, &len));
	ck_assert_uint_eq(len, 8);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_rng");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fill);
	tcase_add_test(tc, test_huge_buffer);
	tcase_add_test(tc, test_readable_only);
	tcase_add_test(tc, test_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
