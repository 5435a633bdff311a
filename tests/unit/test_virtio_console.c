/*
 * Unit tests for devices/virtio/console.c: guest output reaches the
 * chardev, host input fills the guest's receive buffers (split over
 * several when long, held back until buffers exist), and malformed chains
 * or buffers without room are handled without crashing.
 */
#include "devices/virtio/console.h"
#include "devices/virtio/vdriver.h"
#include "tests/unit/support.h"

#define RXQ_GPA         0x1000
#define TXQ_GPA         0x4000
#define BUF_GPA         0x10000
#define QSIZE           8

static struct fake_mem fm;
static struct cap_chardev chr;
static struct console *con;
static struct virtio_dev *vd;
static struct vdrv_queue rxq, txq;
static unsigned irqs[2];

static void rec_notify(void *opaque, int q)
{
	if (q >= 0 && q < 2)
		irqs[q]++;
}

static void setup(void)
{
	struct console_config cc = { .name = "test-console", .mem = NULL, .chr = &chr.chr };

	fake_mem_init(&fm, 0, 1 * MiB);
	cap_chardev_init(&chr);
	cc.mem = &fm.gm;
	ck_assert_int_eq(console_create(&cc, &con), 0);
	vd = console_virtio(con);
	vd->tr.notify = rec_notify;
	memset(irqs, 0, sizeof(irqs));
}

static void start(void)
{
	vdrv_start(vd, vd->host_features);
	vdrv_queue_init(&rxq, &fm.gm, QSIZE, RXQ_GPA);
	vdrv_queue_init(&txq, &fm.gm, QSIZE, TXQ_GPA);
	vdrv_attach(vd, VIRTIO_CONSOLE_RXQ, &rxq);
	vdrv_attach(vd, VIRTIO_CONSOLE_TXQ, &txq);
	ck_assert(virtio_running(vd));
}

static void teardown(void)
{
	console_destroy(con);
	fake_mem_free(&fm);
}

static void post_rx(uint64_t gpa, uint32_t len)
{
	struct vdrv_buf b = { gpa, len, true };

	vdrv_add_chain(&rxq, &b, 1);
	virtio_queue_kick(vd, VIRTIO_CONSOLE_RXQ);
}

START_TEST(test_output)
{
	struct vdrv_buf b[2] = { { BUF_GPA, 6, false }, { BUF_GPA + 0x100, 7, false } };
	uint32_t id, len;

	start();
	memcpy(fm.buf + BUF_GPA, "hello ", 6);
	memcpy(fm.buf + BUF_GPA + 0x100, "world\r\n", 7);
	vdrv_add_chain(&txq, b, 2);
	vdrv_add_chain(&txq, b, 1);
	virtio_queue_kick(vd, VIRTIO_CONSOLE_TXQ);
	ck_assert_str_eq(chr.out, "hello world\r\nhello ");
	ck_assert(vdrv_get_used(&txq, &id, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert(vdrv_get_used(&txq, &id, &len));
	ck_assert_uint_eq(irqs[VIRTIO_CONSOLE_TXQ], 1);         /* one interrupt for the batch */
}
END_TEST

START_TEST(test_input)
{
	uint32_t id, len;

	/* Before the driver is ready nothing is taken; the chardev keeps it. */
	ck_assert_uint_eq(cap_chardev_input(&chr, "x", 1), 0);
	start();
	ck_assert_uint_ge(chr.polls, 1);                        /* DRIVER_OK asked for input */
	ck_assert_uint_eq(cap_chardev_input(&chr, "x", 1), 0);  /* no buffers yet */
	post_rx(BUF_GPA, 4);
	post_rx(BUF_GPA + 0x100, 16);
	ck_assert_uint_ge(chr.polls, 3);
	/* Longer than the first buffer: the rest goes into the next call. */
	ck_assert_uint_eq(cap_chardev_input(&chr, "abcdefgh", 8), 4);
	ck_assert_uint_eq(irqs[VIRTIO_CONSOLE_RXQ], 1);
	/* EVENT_IDX: without the driver re-arming, no second interrupt ... */
	ck_assert_uint_eq(cap_chardev_input(&chr, "e", 1), 1);
	ck_assert_uint_eq(irqs[VIRTIO_CONSOLE_RXQ], 1);
	post_rx(BUF_GPA + 0x200, 16);
	/* ... and with it, one. */
	vdrv_set_used_event(&rxq, 2);
	ck_assert_uint_eq(cap_chardev_input(&chr, "fgh", 3), 3);
	ck_assert(vdrv_get_used(&rxq, &id, &len));
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(fm.buf + BUF_GPA, "abcd", 4);
	ck_assert(vdrv_get_used(&rxq, &id, &len));
	ck_assert_uint_eq(len, 1);
	ck_assert_mem_eq(fm.buf + BUF_GPA + 0x100, "e", 1);
	ck_assert(vdrv_get_used(&rxq, &id, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(fm.buf + BUF_GPA + 0x200, "fgh", 3);
	ck_assert_uint_eq(irqs[VIRTIO_CONSOLE_RXQ], 2);
	ck_assert_uint_eq(cap_chardev_input(&chr, "z", 1), 0);  /* out of buffers again */
}
END_TEST

START_TEST(test_input_odd_buffers)
{
	struct vdrv_buf b[2] = { { BUF_GPA, 8, false }, { BUF_GPA + 0x100, 3, true } };
	uint32_t id, len;

	start();
	/* A receive chain with nothing writable is returned empty and skipped. */
	vdrv_add_chain(&rxq, b, 1);
	/* One with a readable part first: only the writable part is filled. */
	vdrv_add_chain(&rxq, b, 2);
	ck_assert_uint_eq(cap_chardev_input(&chr, "12345", 5), 3);
	ck_assert(vdrv_get_used(&rxq, &id, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert(vdrv_get_used(&rxq, &id, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(fm.buf + BUF_GPA + 0x100, "123", 3);
}
END_TEST

START_TEST(test_reset_drops_held_buffer)
{
	start();
	post_rx(BUF_GPA, 16);
	ck_assert_uint_eq(chr.chr.fe.can_receive(chr.chr.fe.opaque), 16);   /* held now */
	virtio_set_status(vd, 0);
	ck_assert_uint_eq(cap_chardev_input(&chr, "a", 1), 0);
	start();
	ck_assert_uint_eq(cap_chardev_input(&chr, "a", 1), 0);  /* the old buffer is gone */
	post_rx(BUF_GPA + 0x200, 16);
	ck_assert_uint_eq(cap_chardev_input(&chr, "a", 1), 1);
	ck_assert_uint_eq(fm.buf[BUF_GPA + 0x200], 'a');
}
END_TEST

START_TEST(test_malformed)
{
	uint32_t id, len;

	start();
	/* A transmit chain that loops: the device breaks, nothing is written. */
	vdrv_set_desc(&txq, 0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	vdrv_publish(&txq, 0);
	virtio_queue_kick(vd, VIRTIO_CONSOLE_TXQ);
	ck_assert(vd->status & VIRTIO_S_NEEDS_RESET);
	ck_assert_uint_eq(chr.len, 0);
	ck_assert(!vdrv_get_used(&txq, &id, &len));
	/* Broken: no more input either. */
	post_rx(BUF_GPA, 16);
	ck_assert_uint_eq(cap_chardev_input(&chr, "a", 1), 0);
}
END_TEST

START_TEST(test_malformed_rx)
{
	start();
	/* A receive buffer outside RAM. */
	vdrv_set_desc(&rxq, 0, 2 * MiB, 16, VIRTQ_DESC_F_WRITE, 0);
	vdrv_publish(&rxq, 0);
	ck_assert_uint_eq(cap_chardev_input(&chr, "a", 1), 0);
	ck_assert(vd->status & VIRTIO_S_NEEDS_RESET);
}
END_TEST

START_TEST(test_no_chardev)
{
	struct console_config cc = { .name = "null-console", .mem = &fm.gm };
	struct console *c2;
	struct vdrv_buf b = { BUF_GPA, 4, false };
	struct vdrv_queue q;
	uint32_t id, len;

	ck_assert_int_eq(console_create(&cc, &c2), 0);
	vdrv_start(console_virtio(c2), console_virtio(c2)->host_features);
	vdrv_queue_init(&q, &fm.gm, QSIZE, 0x8000);
	vdrv_attach(console_virtio(c2), VIRTIO_CONSOLE_TXQ, &q);
	vdrv_add_chain(&q, &b, 1);
	virtio_queue_kick(console_virtio(c2), VIRTIO_CONSOLE_TXQ);
	ck_assert(vdrv_get_used(&q, &id, &len));                /* output dropped */
	console_destroy(c2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_console");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_output);
	tcase_add_test(tc, test_input);
	tcase_add_test(tc, test_input_odd_buffers);
	tcase_add_test(tc, test_reset_drops_held_buffer);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_malformed_rx);
	tcase_add_test(tc, test_no_chardev);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
