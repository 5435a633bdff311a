#include "vmm/event.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/err.h"

enum ev_kind { EV_FD, EV_IO };

struct ev_handler {
	enum ev_kind kind;
	int fd;
	ev_cb cb;
	void *opaque;
	bool active;
	bool armed;                /* io_uring multishot poll outstanding */
	int result;                /* fallback: completed I/O result */
	struct ev_handler *next;   /* fd list / free list / completion list */
};

struct ev_call {
	void (*fn)(void *);
	void *arg;
	struct ev_call *next;
};

struct event_loop {
	pthread_mutex_t *bql;
	bool uring;
	struct io_uring ring;
	char why[160];

	struct ev_handler *fd_list;    /* all fd watches, including internal ones */
	struct ev_handler *free_io;    /* recycled I/O requests */
	struct ev_handler *done_head, *done_tail;   /* fallback completions */

	int wake_fd;
	int timer_fd;

	struct clock clk;
	pthread_mutex_t tlock;
	struct ktimer **heap;
	unsigned heap_n, heap_cap;

	pthread_mutex_t qlock;
	struct ev_call *q_head, *q_tail;

	atomic_bool stop;
	pthread_t thread;
	bool thread_started;
};

/* ------------------------------------------------------------------ */
/* Timers: a min-heap of struct ktimer on CLOCK_MONOTONIC, one timerfd. */

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct event_loop *clk_loop(struct clock *c)
{
	return container_of(c, struct event_loop, clk);
}

static void heap_swap(struct event_loop *l, unsigned a, unsigned b)
{
	struct ktimer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_idx = a;
	l->heap[b]->heap_idx = b;
}

static void heap_up(struct event_loop *l, unsigned i)
{
	while (i > 0) {
		unsigned p = (i - 1) / 2;

		if (l->heap[p]->deadline <= l->heap[i]->deadline)
			break;
		heap_swap(l, p, i);
		i = p;
	}
}

static void heap_down(struct event_loop *l, unsigned i)
{
	for (;;) {
		unsigned c = 2 * i + 1, m = i;

		if (c < l->heap_n && l->heap[c]->deadline < l->heap[m]->deadline)
			m = c;
		if (c + 1 < l->heap_n && l->heap[c + 1]->deadline < l->heap[m]->deadline)
			m = c + 1;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

static void heap_remove(struct event_loop *l, unsigned i)
{
	l->heap_n--;
	if (i != l->heap_n) {
		heap_swap(l, i, l->heap_n);
		heap_down(l, i);
		heap_up(l, i);
	}
}

static void timerfd_program(struct event_loop *l, uint64_t deadline)
{
	struct itimerspec its = { 0 };

	if (deadline) {
		its.it_value.tv_sec = (time_t)(deadline / 1000000000ULL);
		its.it_value.tv_nsec = (long)(deadline % 1000000000ULL);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static uint64_t clk_now(struct clock *c)
{
	(void)c;
	return mono_now();
}

static void clk_arm(struct clock *c, struct ktimer *t)
{
	struct event_loop *l = clk_loop(c);

	pthread_mutex_lock(&l->tlock);
	if (l->heap_n == l->heap_cap) {
		unsigned cap = l->heap_cap ? l->heap_cap * 2 : 32;
		struct ktimer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h) {
			pthread_mutex_unlock(&l->tlock);
			return;
		}
		l->heap = h;
		l->heap_cap = cap;
	}
	t->heap_idx = l->heap_n;
	l->heap[l->heap_n++] = t;
	t->armed = true;
	heap_up(l, t->heap_idx);
	if (l->heap[0] == t)
		timerfd_program(l, t->deadline);
	pthread_mutex_unlock(&l->tlock);
}

static void clk_cancel(struct clock *c, struct ktimer *t)
{
	struct event_loop *l = clk_loop(c);

	pthread_mutex_lock(&l->tlock);
	if (t->armed && t->heap_idx < l->heap_n && l->heap[t->heap_idx] == t)
		heap_remove(l, t->heap_idx);
	t->armed = false;
	pthread_mutex_unlock(&l->tlock);
}

static const struct clock_ops mono_clock_ops = {
	.now = clk_now,
	.arm = clk_arm,
	.cancel = clk_cancel,
};

/* Runs expired timers; called on the loop thread with the BQL held. */
static void run_timers(struct event_loop *l)
{
	for (;;) {
		struct ktimer *t;
		uint64_t now = mono_now();

		pthread_mutex_lock(&l->tlock);
		if (!l->heap_n) {
			pthread_mutex_unlock(&l->tlock);
			return;
		}
		t = l->heap[0];
		if (t->deadline > now) {
			timerfd_program(l, t->deadline);
			pthread_mutex_unlock(&l->tlock);
			return;
		}
		heap_remove(l, 0);
		t->armed = false;
		pthread_mutex_unlock(&l->tlock);
		t->cb(t->arg);
	}
}

struct clock *event_clock(struct event_loop *l)
{
	return &l->clk;
}

/* ------------------------------------------------------------------ */

static void lock_bql(struct event_loop *l)
{
	if (l->bql)
		pthread_mutex_lock(l->bql);
}

static void unlock_bql(struct event_loop *l)
{
	if (l->bql)
		pthread_mutex_unlock(l->bql);
}

static void drain_fd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

static void wake_cb(void *opaque, int res)
{
	struct event_loop *l = opaque;

	drain_fd(l->wake_fd);
}

static void timer_cb(void *opaque, int res)
{
	struct event_loop *l = opaque;

	drain_fd(l->timer_fd);
	run_timers(l);
}

static void run_calls(struct event_loop *l)
{
	struct ev_call *c;

	for (;;) {
		pthread_mutex_lock(&l->qlock);
		c = l->q_head;
		if (c) {
			l->q_head = c->next;
			if (!l->q_head)
				l->q_tail = NULL;
		}
		pthread_mutex_unlock(&l->qlock);
		if (!c)
			return;
		c->fn(c->arg);
		free(c);
	}
}

static struct io_uring_sqe *get_sqe(struct event_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

static int arm_poll(struct event_loop *l, struct ev_handler *h)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_multishot(sqe, h->fd, POLLIN);
	io_uring_sqe_set_data(sqe, h);
	h->armed = true;
	return 0;
}

static int add_fd_internal(struct event_loop *l, int fd, ev_cb cb, void *opaque)
{
	struct ev_handler *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->kind = EV_FD;
	h->fd = fd;
	h->cb = cb;
	h->opaque = opaque;
	h->active = true;
	h->next = l->fd_list;
	l->fd_list = h;
	if (l->uring)
		return arm_poll(l, h);
	return 0;
}

int event_add_fd(struct event_loop *l, int fd, ev_cb cb, void *opaque)
{
	return add_fd_internal(l, fd, cb, opaque);
}

int event_del_fd(struct event_loop *l, int fd)
{
	struct ev_handler *h;

	for (h = l->fd_list; h; h = h->next) {
		if (h->fd == fd && h->active) {
			h->active = false;
			if (l->uring && h->armed) {
				struct io_uring_sqe *sqe = get_sqe(l);

				if (sqe) {
					io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)h);
					io_uring_sqe_set_data(sqe, NULL);
					io_uring_submit(&l->ring);
				}
			}
			return 0;
		}
	}
	return -ENOENT;
}

int event_loop_create(pthread_mutex_t *bql, bool force_fallback, struct event_loop **out)
{
	struct event_loop *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->bql = bql;
	l->clk.ops = &mono_clock_ops;
	pthread_mutex_init(&l->tlock, NULL);
	pthread_mutex_init(&l->qlock, NULL);
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->wake_fd < 0 || l->timer_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (force_fallback) {
		snprintf(l->why, sizeof(l->why), "disabled by request");
	} else {
		r = io_uring_queue_init(256, &l->ring, 0);
		if (r == 0)
			l->uring = true;
		else
			snprintf(l->why, sizeof(l->why), "io_uring_setup failed: %s%s",
				 strerror(-r),
				 r == -EPERM || r == -ENOSYS
					 ? " (io_uring disabled on this host, see "
					   "kernel.io_uring_disabled)"
					 : "");
	}
	r = add_fd_internal(l, l->wake_fd, wake_cb, l);
	if (!r)
		r = add_fd_internal(l, l->timer_fd, timer_cb, l);
	if (r)
		goto fail;
	*out = l;
	return 0;
fail:
	event_loop_destroy(l);
	return r;
}

void event_loop_destroy(struct event_loop *l)
{
	struct ev_handler *h, *n;
	struct ev_call *c, *cn;

	if (!l)
		return;
	if (l->uring)
		io_uring_queue_exit(&l->ring);
	for (h = l->fd_list; h; h = n) {
		n = h->next;
		free(h);
	}
	for (h = l->free_io; h; h = n) {
		n = h->next;
		free(h);
	}
	for (h = l->done_head; h; h = n) {
		n = h->next;
		free(h);
	}
	for (c = l->q_head; c; c = cn) {
		cn = c->next;
		free(c);
	}
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->timer_fd >= 0)
		close(l->timer_fd);
	free(l->heap);
	pthread_mutex_destroy(&l->tlock);
	pthread_mutex_destroy(&l->qlock);
	free(l);
}

const char *event_loop_backend(const struct event_loop *l)
{
	return l->uring ? "io_uring" : "poll";
}

const char *event_loop_fallback_reason(const struct event_loop *l)
{
	return l->uring ? "" : l->why;
}

static void wake(struct event_loop *l)
{
	uint64_t one = 1;
	ssize_t r = write(l->wake_fd, &one, sizeof(one));

	(void)r;
}

void event_loop_wake(struct event_loop *l)
{
	wake(l);
}

int event_call(struct event_loop *l, void (*fn)(void *), void *arg)
{
	struct ev_call *c = malloc(sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->next = NULL;
	pthread_mutex_lock(&l->qlock);
	if (l->q_tail)
		l->q_tail->next = c;
	else
		l->q_head = c;
	l->q_tail = c;
	pthread_mutex_unlock(&l->qlock);
	wake(l);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Asynchronous file I/O. */

static struct ev_handler *io_alloc(struct event_loop *l, ev_cb cb, void *opaque)
{
	struct ev_handler *h = l->free_io;

	if (h)
		l->free_io = h->next;
	else
		h = malloc(sizeof(*h));
	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->kind = EV_IO;
	h->cb = cb;
	h->opaque = opaque;
	return h;
}

static void io_free(struct event_loop *l, struct ev_handler *h)
{
	h->next = l->free_io;
	l->free_io = h;
}

/* Fallback: complete synchronously, deliver from the loop. */
static void io_done_later(struct event_loop *l, struct ev_handler *h, int res)
{
	h->result = res;
	h->next = NULL;
	if (l->done_tail)
		l->done_tail->next = h;
	else
		l->done_head = h;
	l->done_tail = h;
	wake(l);
}

enum io_op { IO_READV, IO_WRITEV, IO_FSYNC, IO_FALLOCATE };

static int submit_io(struct event_loop *l, enum io_op op, int fd, const struct iovec *iov,
		     int iovcnt, uint64_t off, uint64_t len, int flags, ev_cb cb, void *opaque)
{
	struct ev_handler *h = io_alloc(l, cb, opaque);
	ssize_t r = 0;

	if (!h)
		return -ENOMEM;
	if (l->uring) {
		struct io_uring_sqe *sqe = get_sqe(l);

		if (!sqe) {
			io_free(l, h);
			return -EBUSY;
		}
		switch (op) {
		case IO_READV:
			io_uring_prep_readv(sqe, fd, iov, (unsigned)iovcnt, off);
			break;
		case IO_WRITEV:
			io_uring_prep_writev(sqe, fd, iov, (unsigned)iovcnt, off);
			break;
		case IO_FSYNC:
			io_uring_prep_fsync(sqe, fd, flags ? IORING_FSYNC_DATASYNC : 0);
			break;
		case IO_FALLOCATE:
			io_uring_prep_fallocate(sqe, fd, flags, off, len);
			break;
		}
		io_uring_sqe_set_data(sqe, h);
		return 0;
	}
	switch (op) {
	case IO_READV:
		r = preadv(fd, iov, iovcnt, (off_t)off);
		break;
	case IO_WRITEV:
		r = pwritev(fd, iov, iovcnt, (off_t)off);
		break;
	case IO_FSYNC:
		r = flags ? fdatasync(fd) : fsync(fd);
		break;
	case IO_FALLOCATE:
		r = fallocate(fd, flags, (off_t)off, (off_t)len);
		break;
	}
	io_done_later(l, h, r < 0 ? -errno : (int)r);
	return 0;
}

int event_readv(struct event_loop *l, int fd, const struct iovec *iov, int iovcnt, uint64_t off,
		ev_cb cb, void *opaque)
{
	return submit_io(l, IO_READV, fd, iov, iovcnt, off, 0, 0, cb, opaque);
}

int event_writev(struct event_loop *l, int fd, const struct iovec *iov, int iovcnt,
		 uint64_t off, ev_cb cb, void *opaque)
{
	return submit_io(l, IO_WRITEV, fd, iov, iovcnt, off, 0, 0, cb, opaque);
}

int event_fsync(struct event_loop *l, int fd, bool datasync, ev_cb cb, void *opaque)
{
	return submit_io(l, IO_FSYNC, fd, NULL, 0, 0, 0, datasync, cb, opaque);
}

int event_fallocate(struct event_loop *l, int fd, int mode, uint64_t off, uint64_t len, ev_cb cb,
		    void *opaque)
{
	return submit_io(l, IO_FALLOCATE, fd, NULL, 0, off, len, mode, cb, opaque);
}

/* ------------------------------------------------------------------ */

static void handle_cqe(struct event_loop *l, struct io_uring_cqe *cqe)
{
	struct ev_handler *h = io_uring_cqe_get_data(cqe);

	if (!h)
		return;
	if (h->kind == EV_IO) {
		ev_cb cb = h->cb;
		void *opaque = h->opaque;

		io_free(l, h);
		cb(opaque, cqe->res);
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		h->armed = false;
	if (!h->active)
		return;
	if (cqe->res < 0) {
		if (cqe->res != -ECANCELED)
			h->cb(h->opaque, POLLERR);
	} else {
		h->cb(h->opaque, cqe->res);
	}
	if (h->active && !h->armed)
		arm_poll(l, h);
}

static void run_fallback_done(struct event_loop *l)
{
	while (l->done_head) {
		struct ev_handler *h = l->done_head;
		ev_cb cb = h->cb;
		void *opaque = h->opaque;
		int res = h->result;

		l->done_head = h->next;
		if (!l->done_head)
			l->done_tail = NULL;
		io_free(l, h);
		cb(opaque, res);
	}
}

static int poll_uring(struct event_loop *l, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int r;

	if (timeout_ms < 0) {
		r = io_uring_submit_and_wait(&l->ring, 1);
	} else {
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec = (timeout_ms % 1000) * 1000000L };

		io_uring_submit(&l->ring);
		r = io_uring_wait_cqe_timeout(&l->ring, &cqe, &ts);
		if (r == -ETIME)
			r = 0;
	}
	if (r < 0 && r != -EINTR)
		return r;
	lock_bql(l);
	io_uring_for_each_cqe(&l->ring, head, cqe) {
		handle_cqe(l, cqe);
		n++;
	}
	io_uring_cq_advance(&l->ring, n);
	run_calls(l);
	unlock_bql(l);
	return 0;
}

static int poll_fallback(struct event_loop *l, int timeout_ms)
{
	struct pollfd pfd[64];
	struct ev_handler *hs[64];
	struct ev_handler *h;
	int n = 0, r, i;

	for (h = l->fd_list; h && n < 64; h = h->next) {
		if (!h->active)
			continue;
		pfd[n].fd = h->fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		hs[n++] = h;
	}
	if (l->done_head)
		timeout_ms = 0;
	r = poll(pfd, (nfds_t)n, timeout_ms);
	if (r < 0 && errno != EINTR)
		return -errno;
	lock_bql(l);
	for (i = 0; r > 0 && i < n; i++)
		if (pfd[i].revents && hs[i]->active)
			hs[i]->cb(hs[i]->opaque, pfd[i].revents);
	run_fallback_done(l);
	run_calls(l);
	unlock_bql(l);
	return 0;
}

int event_loop_poll_once(struct event_loop *l, int timeout_ms)
{
	return l->uring ? poll_uring(l, timeout_ms) : poll_fallback(l, timeout_ms);
}

int event_loop_run(struct event_loop *l)
{
	int r = 0;

	while (!atomic_load(&l->stop)) {
		r = event_loop_poll_once(l, -1);
		if (r < 0)
			break;
	}
	return r;
}

void event_loop_stop(struct event_loop *l)
{
	atomic_store(&l->stop, true);
	wake(l);
}

static void *loop_thread(void *arg)
{
	struct event_loop *l = arg;

	pthread_setname_np(pthread_self(), "event-loop");
	event_loop_run(l);
	return NULL;
}

int event_loop_start_thread(struct event_loop *l)
{
	int r = pthread_create(&l->thread, NULL, loop_thread, l);

	if (r)
		return -r;
	l->thread_started = true;
	return 0;
}

void event_loop_join_thread(struct event_loop *l)
{
	if (l->thread_started) {
		event_loop_stop(l);
		pthread_join(l->thread, NULL);
		l->thread_started = false;
	}
}
