/*
 * The host event loop: one thread, driven by io_uring (liburing), that
 * watches file descriptors (stdin, signalfd, ioeventfds), runs timers for
 * the device models (struct clock), performs asynchronous disk I/O and runs
 * deferred calls. Every callback runs on the loop thread with the machine
 * lock held. Where io_uring is unavailable the loop falls back to poll(2)
 * and synchronous I/O (event_loop_backend() says which).
 */
#ifndef KVMRUN_EVENT_H
#define KVMRUN_EVENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/clock.h"
#include "vmm/util.h"

struct event_loop;

/* fd readiness (res = poll revents) or I/O completion (res = bytes or -errno). */
typedef void (*ev_cb)(void *opaque, int res);

/* @bql is taken around every callback; may be NULL (tests). */
int event_loop_create(pthread_mutex_t *bql, bool force_fallback,
		      struct event_loop **out) __must_check;
void event_loop_destroy(struct event_loop *l);
const char *event_loop_backend(const struct event_loop *l);   /* "io_uring" or "poll" */
/* Why io_uring was not used (empty if it is). */
const char *event_loop_fallback_reason(const struct event_loop *l);

/* Watch @fd for readability until event_del_fd(). Loop thread or before run. */
int event_add_fd(struct event_loop *l, int fd, ev_cb cb, void *opaque) __must_check;
int event_del_fd(struct event_loop *l, int fd);

/* Asynchronous file I/O; loop thread only. cb gets bytes or -errno. */
int event_readv(struct event_loop *l, int fd, const struct iovec *iov, int iovcnt, uint64_t off,
		ev_cb cb, void *opaque) __must_check;
int event_writev(struct event_loop *l, int fd, const struct iovec *iov, int iovcnt,
		 uint64_t off, ev_cb cb, void *opaque) __must_check;
int event_fsync(struct event_loop *l, int fd, bool datasync, ev_cb cb, void *opaque) __must_check;
int event_fallocate(struct event_loop *l, int fd, int mode, uint64_t off, uint64_t len, ev_cb cb,
		    void *opaque) __must_check;

/* Run fn(arg) on the loop thread with the machine lock held. Thread-safe. */
int event_call(struct event_loop *l, void (*fn)(void *), void *arg);

/* The monotonic clock whose timers this loop runs. */
struct clock *event_clock(struct event_loop *l);

/* Run until event_loop_stop(). */
int event_loop_run(struct event_loop *l);
/* Thread-safe; may be called from a signal-free context on any thread. */
void event_loop_stop(struct event_loop *l);
/* Make a blocked event_loop_poll_once() return. Thread-safe. */
void event_loop_wake(struct event_loop *l);
/* Run the loop on its own thread (for tests and benchmarks). */
int event_loop_start_thread(struct event_loop *l) __must_check;
void event_loop_join_thread(struct event_loop *l);

/* Process ready events once, waiting at most @timeout_ms (tests). */
int event_loop_poll_once(struct event_loop *l, int timeout_ms);

#endif
