/*
 * Time for devices: a clock with one-shot timers. The real clock is
 * CLOCK_MONOTONIC with timers run by the event loop (vmm/event.c); tests
 * use a fake clock they advance by hand (tests/unit/fake_clock.h).
 *
 * Timer callbacks run with the machine lock held, on the event-loop thread
 * (real clock) or the test thread (fake clock).
 */
#ifndef KVMRUN_CLOCK_H
#define KVMRUN_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct clock;
struct ktimer;

struct clock_ops {
	uint64_t (*now)(struct clock *c);                  /* nanoseconds */
	void (*arm)(struct clock *c, struct ktimer *t);    /* t->deadline is set */
	void (*cancel)(struct clock *c, struct ktimer *t);
};

struct clock {
	const struct clock_ops *ops;
};

struct ktimer {
	struct clock *clock;
	void (*cb)(void *arg);
	void *arg;
	uint64_t deadline;  /* absolute, nanoseconds on the clock */
	bool armed;
	unsigned heap_idx;  /* owned by the clock implementation */
};

static inline uint64_t clock_now(struct clock *c)
{
	return c->ops->now(c);
}

static inline void ktimer_init(struct ktimer *t, struct clock *c, void (*cb)(void *), void *arg)
{
	t->clock = c;
	t->cb = cb;
	t->arg = arg;
	t->deadline = 0;
	t->armed = false;
	t->heap_idx = 0;
}

/* (Re)arm @t to fire at absolute time @deadline_ns. */
static inline void ktimer_mod(struct ktimer *t, uint64_t deadline_ns)
{
	if (t->armed)
		t->clock->ops->cancel(t->clock, t);
	t->deadline = deadline_ns;
	t->clock->ops->arm(t->clock, t);
}

static inline void ktimer_del(struct ktimer *t)
{
	if (t->armed)
		t->clock->ops->cancel(t->clock, t);
}

#endif
