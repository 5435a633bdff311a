#include "devices/virtio/console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/err.h"

/* Buffers per chain we take: Linux posts one page per receive buffer. */
#define MAX_IOV 16

struct console {
	struct virtio_dev vdev;
	struct chardev *chr;
	uint8_t config[VIRTIO_CONSOLE_CFG_LEN];

	/* The receive buffer being filled, if one is held. */
	bool rx_held;
	struct virtq_elem rx;
	struct iovec rx_iov[MAX_IOV];
	struct iovec tx_iov[MAX_IOV];
};

static struct console *to_console(struct virtio_dev *vd)
{
	return container_of(vd, struct console, vdev);
}

/* Hold the next receive buffer with room in it; false if there is none. */
static bool rx_hold(struct console *c)
{
	struct virtq *vq = &c->vdev.vqs[VIRTIO_CONSOLE_RXQ];
	int r;

	while (!c->rx_held) {
		if (!virtio_running(&c->vdev) || !vq->ready)
			return false;
		c->rx.iov = c->rx_iov;
		c->rx.cap = MAX_IOV;
		r = virtqueue_pop(vq, &c->rx);
		if (r == 0)
			return false;
		if (r < 0) {
			virtio_set_broken(&c->vdev, vq->error);
			return false;
		}
		if (!c->rx.in_len) {
			/* Nothing writable in it: give it back empty. */
			virtqueue_push(vq, c->rx.head, 0);
			virtio_queue_flush(&c->vdev, VIRTIO_CONSOLE_RXQ);
			continue;
		}
		c->rx_held = true;
	}
	return true;
}

static size_t fe_can_receive(void *opaque)
{
	struct console *c = opaque;

	return rx_hold(c) ? (size_t)c->rx.in_len : 0;
}

static void fe_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;
	size_t n;

	if (!rx_hold(c))
		return;         /* the chardev asked first: cannot happen */
	n = virtio_iov_write(c->rx.iov + c->rx.n_out, c->rx.n_in, 0, buf,
			     MIN(len, (size_t)c->rx.in_len));
	c->rx_held = false;
	virtqueue_push(&c->vdev.vqs[VIRTIO_CONSOLE_RXQ], c->rx.head, (uint32_t)n);
	virtio_queue_flush(&c->vdev, VIRTIO_CONSOLE_RXQ);
}

static void transmit(struct console *c)
{
	struct virtq *vq = &c->vdev.vqs[VIRTIO_CONSOLE_TXQ];
	struct virtq_elem e = { .iov = c->tx_iov, .cap = MAX_IOV };
	unsigned i;
	int r;

	do {
		virtqueue_disable_notify(vq);
		while ((r = virtqueue_pop(vq, &e)) > 0) {
			for (i = 0; i < e.n_out; i++)
				chardev_write(c->chr, e.iov[i].iov_base, e.iov[i].iov_len);
			virtqueue_push(vq, e.head, 0);
		}
		if (r < 0) {
			virtio_set_broken(&c->vdev, vq->error);
			break;
		}
	} while (virtqueue_enable_notify(vq));
	virtio_queue_flush(&c->vdev, VIRTIO_CONSOLE_TXQ);
}

static void console_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct console *c = to_console(vd);

	if (q == VIRTIO_CONSOLE_TXQ)
		transmit(c);
	else
		chardev_poll(c->chr);   /* new receive buffers: take pending input */
}

static void console_driver_ok(struct virtio_dev *vd)
{
	chardev_poll(to_console(vd)->chr);
}

static void console_reset(struct virtio_dev *vd)
{
	to_console(vd)->rx_held = false;
}

static const struct virtio_dev_ops console_ops = {
	.queue_notify = console_queue_notify,
	.reset = console_reset,
	.driver_ok = console_driver_ok,
};

int console_create(const struct console_config *cfg, struct console **out)
{
	struct console *c = calloc(1, sizeof(*c));
	struct chardev_frontend fe;
	int r;

	if (!c)
		return -ENOMEM;
	/* Without VIRTIO_CONSOLE_F_SIZE/MULTIPORT the driver reads none of it. */
	st_le32(c->config + 4, 1);      /* max_nr_ports */
	r = virtio_dev_init(&c->vdev, cfg->name, VIRTIO_ID_CONSOLE, &console_ops, cfg->mem,
			    VIRTIO_COMMON_FEATURES, 2, CONSOLE_QUEUE_SIZE, c->config,
			    sizeof(c->config));
	if (r < 0) {
		free(c);
		return err_set(r, "%s: %s", cfg->name, strerror(-r));
	}
	c->chr = cfg->chr;
	fe = (struct chardev_frontend){ .can_receive = fe_can_receive, .receive = fe_receive,
					.opaque = c };
	chardev_set_frontend(c->chr, &fe);
	*out = c;
	return 0;
}

void console_destroy(struct console *c)
{
	static const struct chardev_frontend none;

	if (!c)
		return;
	chardev_set_frontend(c->chr, &none);
	virtio_dev_free(&c->vdev);
	free(c);
}

struct virtio_dev *console_virtio(struct console *c)
{
	return &c->vdev;
}
