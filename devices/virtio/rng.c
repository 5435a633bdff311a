#include "devices/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/err.h"

#define MAX_IOV 16

struct rng {
	struct virtio_dev vdev;
	struct iovec iov[MAX_IOV];
};

/* Fill @len bytes at @p; returns how many were filled. */
static size_t fill(uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(p + done, len - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += (size_t)n;
	}
	return done;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct rng *rng = container_of(vd, struct rng, vdev);
	struct virtq *vq = &vd->vqs[0];
	struct virtq_elem e = { .iov = rng->iov, .cap = MAX_IOV };
	int r;

	do {
		virtqueue_disable_notify(vq);
		while ((r = virtqueue_pop(vq, &e)) > 0) {
			size_t budget = RNG_MAX_REQUEST, done = 0, n;
			unsigned i;

			for (i = e.n_out; i < e.n_out + e.n_in && budget; i++) {
				size_t want = MIN(e.iov[i].iov_len, budget);

				n = fill(e.iov[i].iov_base, want);
				done += n;
				budget -= n;
				if (n < want)
					break;  /* getrandom failed */
			}
			virtqueue_push(vq, e.head, (uint32_t)done);
		}
		if (r < 0) {
			virtio_set_broken(vd, vq->error);
			break;
		}
	} while (virtqueue_enable_notify(vq));
	virtio_queue_flush(vd, 0);
}

static const struct virtio_dev_ops rng_ops = {
	.queue_notify = rng_queue_notify,
};

int rng_create(const struct rng_config *cfg, struct rng **out)
{
	struct rng *rng = calloc(1, sizeof(*rng));
	int r;

	if (!rng)
		return -ENOMEM;
	r = virtio_dev_init(&rng->vdev, cfg->name, VIRTIO_ID_RNG, &rng_ops, cfg->mem,
			    VIRTIO_COMMON_FEATURES, 1, RNG_QUEUE_SIZE, NULL, 0);
	if (r < 0) {
		free(rng);
		return err_set(r, "%s: %s", cfg->name, strerror(-r));
	}
	*out = rng;
	return 0;
}

void rng_destroy(struct rng *rng)
{
	if (!rng)
		return;
	virtio_dev_free(&rng->vdev);
	free(rng);
}

struct virtio_dev *rng_virtio(struct rng *rng)
{
	return &rng->vdev;
}
