/*
 * Unit tests for devices/virtio/virtqueue.c: split rings built by hand in
 * fake guest memory. Valid chains, every kind of malformed chain or ring
 * (which must fail cleanly, never crash or hang), used-ring publishing
 * and notification suppression in both directions.
 */
#include <errno.h>

#include "devices/virtio/vdriver.h"
#include "devices/virtio/virtqueue.h"
#include "tests/unit/support.h"

#define MEM_SIZE        (1 * MiB)
#define RING_GPA        0x1000
#define BUF_GPA         0x10000
#define QSIZE           8

static struct fake_mem fm;
static struct vdrv_queue dq;
static struct virtq vq;
static struct iovec iov[16];
static struct virtq_elem e;

static void setup_ring(uint16_t size, bool event_idx, bool indirect)
{
	fake_mem_init(&fm, 0, MEM_SIZE);
	vdrv_queue_init(&dq, &fm.gm, size, RING_GPA);
	virtqueue_init(&vq, &fm.gm, 64);
	vq.size = size;
	vq.desc_gpa = dq.desc;
	vq.avail_gpa = dq.avail;
	vq.used_gpa = dq.used;
	ck_assert_int_eq(virtqueue_enable(&vq, event_idx, indirect), 0);
	e = (struct virtq_elem){ .iov = iov, .cap = ARRAY_SIZE(iov) };
}

static void setup(void)
{
	setup_ring(QSIZE, false, false);
}

static void teardown(void)
{
	fake_mem_free(&fm);
}

/* Pop must fail with @err, leave the entry in place and say why. */
static void expect_pop_fails(int err, const char *why_part)
{
	uint16_t before = vq.last_avail;

	ck_assert_int_eq(virtqueue_pop(&vq, &e), err);
	ck_assert_uint_eq(vq.last_avail, before);
	ck_assert_ptr_nonnull(vq.error);
	ck_assert_msg(strstr(vq.error, why_part), "error '%s' lacks '%s'", vq.error, why_part);
}

START_TEST(test_simple_chain)
{
	struct vdrv_buf b[3] = {
		{ BUF_GPA, 16, false }, { BUF_GPA + 0x100, 512, true }, { BUF_GPA + 0x400, 1, true },
	};
	uint16_t head = vdrv_add_chain(&dq, b, 3);

	ck_assert(virtqueue_pending(&vq));
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	ck_assert_uint_eq(e.head, head);
	ck_assert_uint_eq(e.n_out, 1);
	ck_assert_uint_eq(e.n_in, 2);
	ck_assert_uint_eq(e.out_len, 16);
	ck_assert_uint_eq(e.in_len, 513);
	ck_assert_ptr_eq(iov[0].iov_base, fm.buf + BUF_GPA);
	ck_assert_ptr_eq(iov[1].iov_base, fm.buf + BUF_GPA + 0x100);
	ck_assert_uint_eq(iov[2].iov_len, 1);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 0);
	ck_assert(!virtqueue_pending(&vq));
}
END_TEST

START_TEST(test_push_flush)
{
	struct vdrv_buf b = { BUF_GPA, 64, true };
	uint32_t id, len;
	uint16_t head = vdrv_add_chain(&dq, &b, 1);

	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_push(&vq, e.head, 40);
	/* Not visible before the flush. */
	ck_assert_uint_eq(vdrv_used_idx(&dq), 0);
	ck_assert(virtqueue_flush(&vq));
	ck_assert_uint_eq(vdrv_used_idx(&dq), 1);
	ck_assert(vdrv_get_used(&dq, &id, &len));
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(len, 40);
	/* Nothing new: no second notification. */
	ck_assert(!virtqueue_flush(&vq));
}
END_TEST

START_TEST(test_wraparound)
{
	struct vdrv_buf b = { BUF_GPA, 8, true };
	uint32_t id, len;
	unsigned i;

	/* Many times around a 4-entry ring; the 16-bit indices keep counting. */
	teardown();
	setup_ring(4, false, false);
	for (i = 0; i < 70000; i++) {
		uint16_t head = vdrv_add_chain(&dq, &b, 1);

		ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
		ck_assert_uint_eq(e.head, head);
		virtqueue_push(&vq, e.head, i & 0xff);
		virtqueue_flush(&vq);
		ck_assert(vdrv_get_used(&dq, &id, &len));
		ck_assert_uint_eq(len, i & 0xff);
	}
	ck_assert_uint_eq(vdrv_used_idx(&dq), (uint16_t)70000);
}
END_TEST

START_TEST(test_loop)
{
	vdrv_set_desc(&dq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&dq, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	vdrv_publish(&dq, 0);
	expect_pop_fails(-EINVAL, "loops");
	/* A descriptor pointing at itself. */
	vdrv_set_desc(&dq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	expect_pop_fails(-EINVAL, "loops");
}
END_TEST

START_TEST(test_out_of_ram)
{
	vdrv_set_desc(&dq, 0, MEM_SIZE - 8, 16, 0, 0);            /* crosses the end */
	vdrv_publish(&dq, 0);
	expect_pop_fails(-EINVAL, "outside guest RAM");
	vdrv_set_desc(&dq, 0, 0xfffffffffffffff0ULL, 0x100, 0, 0);   /* wraps */
	expect_pop_fails(-EINVAL, "outside guest RAM");
	vdrv_set_desc(&dq, 0, BUF_GPA, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0); /* huge */
	expect_pop_fails(-EINVAL, "outside guest RAM");
	/* A range the memory refuses (closed SMRAM). */
	fm.deny_gpa = BUF_GPA;
	fm.deny_size = 0x1000;
	vdrv_set_desc(&dq, 0, BUF_GPA + 0x800, 16, 0, 0);
	expect_pop_fails(-EINVAL, "outside guest RAM");
}
END_TEST

START_TEST(test_zero_length)
{
	vdrv_set_desc(&dq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&dq, 1, BUF_GPA, 0, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&dq, 0);
	expect_pop_fails(-EINVAL, "zero-length");
}
END_TEST

START_TEST(test_too_long)
{
	unsigned i;

	/* Eight valid buffers, but the caller takes only four. */
	for (i = 0; i < QSIZE; i++)
		vdrv_set_desc(&dq, (uint16_t)i, BUF_GPA + 16 * i, 16,
			      i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	vdrv_publish(&dq, 0);
	e.cap = 4;
	expect_pop_fails(-E2BIG, "more buffers");
	e.cap = QSIZE;
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	ck_assert_uint_eq(e.n_out, QSIZE);
}
END_TEST

START_TEST(test_bad_indices)
{
	vdrv_set_desc(&dq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, QSIZE);      /* next past the table */
	vdrv_publish(&dq, 0);
	expect_pop_fails(-EINVAL, "next descriptor index");
	teardown();
	setup();
	vdrv_publish(&dq, 999);                                         /* head past the table */
	expect_pop_fails(-EINVAL, "head descriptor index");
	teardown();
	setup();
	vdrv_set_avail_idx(&dq, QSIZE + 1);                             /* more than a ring full */
	expect_pop_fails(-EINVAL, "available index");
}
END_TEST

START_TEST(test_wrong_direction)
{
	vdrv_set_desc(&dq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	vdrv_set_desc(&dq, 1, BUF_GPA + 0x100, 16, 0, 0);
	vdrv_publish(&dq, 0);
	expect_pop_fails(-EINVAL, "device-readable buffer after");
}
END_TEST

/* An indirect table of @n entries at @gpa, chained in order. */
static void indirect_table(uint64_t gpa, unsigned n, uint16_t last_flags)
{
	uint8_t d[16];
	unsigned i;

	for (i = 0; i < n; i++) {
		st_le64(d, BUF_GPA + 0x1000 * i);
		st_le32(d + 8, 0x100);
		st_le16(d + 12, i + 1 < n ? VIRTQ_DESC_F_NEXT : last_flags);
		st_le16(d + 14, (uint16_t)(i + 1));
		gmem_write(&fm.gm, gpa + 16 * i, d, sizeof(d));
	}
}

START_TEST(test_indirect)
{
	teardown();
	setup_ring(QSIZE, false, true);
	indirect_table(0x8000, 3, VIRTQ_DESC_F_WRITE);
	vdrv_set_desc(&dq, 5, 0x8000, 48, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&dq, 5);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	ck_assert_uint_eq(e.head, 5);
	ck_assert_uint_eq(e.n_out, 2);
	ck_assert_uint_eq(e.n_in, 1);
	ck_assert_ptr_eq(iov[2].iov_base, fm.buf + BUF_GPA + 0x2000);
}
END_TEST

START_TEST(test_indirect_malformed)
{
	uint8_t d[16] = { 0 };

	/* Not negotiated. */
	indirect_table(0x8000, 2, 0);
	vdrv_set_desc(&dq, 0, 0x8000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vdrv_publish(&dq, 0);
	expect_pop_fails(-EINVAL, "not negotiated");

	teardown();
	setup_ring(QSIZE, false, true);
	indirect_table(0x8000, 2, 0);
	vdrv_publish(&dq, 0);
	/* Length not a multiple of a descriptor, or zero. */
	vdrv_set_desc(&dq, 0, 0x8000, 24, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL, "indirect table length");
	vdrv_set_desc(&dq, 0, 0x8000, 0, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL, "indirect table length");
	/* Table outside RAM. */
	vdrv_set_desc(&dq, 0, MEM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL, "indirect table outside");
	/* INDIRECT together with NEXT. */
	vdrv_set_desc(&dq, 0, 0x8000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	expect_pop_fails(-EINVAL, "not alone");
	/* An indirect descriptor after a direct one. */
	vdrv_set_desc(&dq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_set_desc(&dq, 1, 0x8000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL, "not alone");
	/* Indirect within indirect. */
	st_le64(d, 0x9000);
	st_le32(d + 8, 32);
	st_le16(d + 12, VIRTQ_DESC_F_INDIRECT);
	gmem_write(&fm.gm, 0x8010, d, sizeof(d));
	vdrv_set_desc(&dq, 0, 0x8000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_fails(-EINVAL, "inside an indirect");
	/* Entry 1 goes on to entry 2, past the two-entry table. */
	indirect_table(0x8000, 2, VIRTQ_DESC_F_NEXT);
	expect_pop_fails(-EINVAL, "next descriptor index");
	/* A loop inside the table: entry 1 points back at 0. */
	st_le16(d, 0);
	gmem_write(&fm.gm, 0x8000 + 16 + 14, d, 2);
	expect_pop_fails(-EINVAL, "loops");
}
END_TEST

START_TEST(test_enable_checks)
{
	virtqueue_reset(&vq);
	ck_assert(!vq.ready);
	ck_assert_uint_eq(vq.size, 64);
	vq.desc_gpa = dq.desc;
	vq.avail_gpa = dq.avail;
	vq.used_gpa = dq.used;
	vq.size = 6;                                    /* not a power of two */
	ck_assert_int_eq(virtqueue_enable(&vq, false, false), -EINVAL);
	vq.size = 128;                                  /* above the maximum */
	ck_assert_int_eq(virtqueue_enable(&vq, false, false), -EINVAL);
	vq.size = 0;
	ck_assert_int_eq(virtqueue_enable(&vq, false, false), -EINVAL);
	vq.size = QSIZE;
	vq.desc_gpa = dq.desc + 8;                      /* misaligned */
	ck_assert_int_eq(virtqueue_enable(&vq, false, false), -EINVAL);
	vq.desc_gpa = dq.desc;
	vq.used_gpa = dq.used + 2;
	ck_assert_int_eq(virtqueue_enable(&vq, false, false), -EINVAL);
	vq.used_gpa = MEM_SIZE - 4;                     /* outside RAM */
	ck_assert_int_eq(virtqueue_enable(&vq, false, false), -EINVAL);
	ck_assert(!vq.ready);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 0);    /* a disabled queue is empty */
	vq.used_gpa = dq.used;
	ck_assert_int_eq(virtqueue_enable(&vq, false, false), 0);
	ck_assert(vq.ready);
}
END_TEST

START_TEST(test_event_idx_interrupts)
{
	struct vdrv_buf b = { BUF_GPA, 8, true };
	unsigned i;

	teardown();
	setup_ring(QSIZE, true, false);
	for (i = 0; i < 4; i++)
		vdrv_add_chain(&dq, &b, 1);
	/* The driver wants an interrupt once the used index passes 0. */
	vdrv_set_used_event(&dq, 0);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_push(&vq, e.head, 1);
	ck_assert(virtqueue_flush(&vq));                /* 0 -> 1 crosses 0 */
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_push(&vq, e.head, 1);
	ck_assert(!virtqueue_flush(&vq));               /* 1 -> 2: already told */
	/* The driver caught up to 2 and re-armed. */
	vdrv_set_used_event(&dq, 2);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_push(&vq, e.head, 1);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_push(&vq, e.head, 1);
	ck_assert(virtqueue_flush(&vq));                /* 2 -> 4 crosses 2 */
	/* The flags are ignored with EVENT_IDX. */
	vdrv_set_avail_flags(&dq, VIRTQ_AVAIL_F_NO_INTERRUPT);
	vdrv_set_used_event(&dq, 4);
	vdrv_add_chain(&dq, &b, 1);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_push(&vq, e.head, 1);
	ck_assert(virtqueue_flush(&vq));
}
END_TEST

START_TEST(test_no_interrupt_flag)
{
	struct vdrv_buf b = { BUF_GPA, 8, true };

	vdrv_add_chain(&dq, &b, 1);
	vdrv_add_chain(&dq, &b, 1);
	vdrv_set_avail_flags(&dq, VIRTQ_AVAIL_F_NO_INTERRUPT);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_push(&vq, e.head, 1);
	ck_assert(!virtqueue_flush(&vq));
	ck_assert_uint_eq(vdrv_used_idx(&dq), 1);       /* published all the same */
	vdrv_set_avail_flags(&dq, 0);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_push(&vq, e.head, 1);
	ck_assert(virtqueue_flush(&vq));
}
END_TEST

START_TEST(test_kick_suppression)
{
	struct vdrv_buf b = { BUF_GPA, 8, true };

	/* Without EVENT_IDX: the NO_NOTIFY flag while draining. */
	virtqueue_disable_notify(&vq);
	ck_assert_uint_eq(vdrv_used_flags(&dq) & VIRTQ_USED_F_NO_NOTIFY, VIRTQ_USED_F_NO_NOTIFY);
	ck_assert(!virtqueue_enable_notify(&vq));
	ck_assert_uint_eq(vdrv_used_flags(&dq) & VIRTQ_USED_F_NO_NOTIFY, 0);
	/* A buffer that arrived meanwhile is reported on re-enable. */
	virtqueue_disable_notify(&vq);
	vdrv_add_chain(&dq, &b, 1);
	ck_assert(virtqueue_enable_notify(&vq));

	/* With EVENT_IDX: avail_event names the next entry the device wants to hear of. */
	teardown();
	setup_ring(QSIZE, true, false);
	vdrv_add_chain(&dq, &b, 1);
	vdrv_add_chain(&dq, &b, 1);
	virtqueue_disable_notify(&vq);
	ck_assert_uint_eq(vdrv_used_flags(&dq), 0);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	ck_assert(virtqueue_enable_notify(&vq));        /* one still pending */
	ck_assert_uint_eq(vdrv_avail_event(&dq), 1);
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	ck_assert(!virtqueue_enable_notify(&vq));
	ck_assert_uint_eq(vdrv_avail_event(&dq), 2);
}
END_TEST

START_TEST(test_unpop)
{
	struct vdrv_buf b = { BUF_GPA, 8, false };
	uint16_t head = vdrv_add_chain(&dq, &b, 1);

	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	virtqueue_unpop(&vq);
	ck_assert(virtqueue_pending(&vq));
	ck_assert_int_eq(virtqueue_pop(&vq, &e), 1);
	ck_assert_uint_eq(e.head, head);
}
END_TEST

/* Random descriptor tables: pop must terminate and never hand out bad memory. */
START_TEST(test_fuzz)
{
	unsigned seed = 12345, round, i;

	teardown();
	setup_ring(QSIZE, true, true);
	for (round = 0; round < 20000; round++) {
		for (i = 0; i < QSIZE; i++) {
			seed = seed * 1103515245 + 12345;
			vdrv_set_desc(&dq, (uint16_t)i,
				      (seed >> 8) % 4 ? BUF_GPA + ((seed >> 4) & 0xff0) : seed,
				      (seed >> 16) % 3 ? (seed >> 20) & 0xff : seed,
				      (uint16_t)((seed >> 24) & 7), (uint16_t)((seed >> 27) & 15));
		}
		vdrv_publish(&dq, (uint16_t)((seed >> 13) % (QSIZE + 2)));
		if (virtqueue_pop(&vq, &e) != 1) {
			vq.last_avail++;        /* skip it, as a device would after a reset */
			continue;
		}
		for (i = 0; i < e.n_out + e.n_in; i++) {
			uint8_t *p = iov[i].iov_base;

			ck_assert(p >= fm.buf && p + iov[i].iov_len <= fm.buf + MEM_SIZE);
		}
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_simple_chain);
	tcase_add_test(tc, test_push_flush);
	tcase_add_test(tc, test_wraparound);
	tcase_add_test(tc, test_loop);
	tcase_add_test(tc, test_out_of_ram);
	tcase_add_test(tc, test_zero_length);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_bad_indices);
	tcase_add_test(tc, test_wrong_direction);
	tcase_add_test(tc, test_indirect);
	tcase_add_test(tc, test_indirect_malformed);
	tcase_add_test(tc, test_enable_checks);
	tcase_add_test(tc, test_event_idx_interrupts);
	tcase_add_test(tc, test_no_interrupt_flag);
	tcase_add_test(tc, test_kick_suppression);
	tcase_add_test(tc, test_unpop);
	tcase_add_test(tc, test_fuzz);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
