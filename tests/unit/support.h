/*
 * Test doubles for unit tests: a fake clock whose time only moves when a
 * test says so, flat fake guest memory, an IRQ line recorder, and a
 * chardev that captures output. Plus a runner for one Check suite.
 */
#ifndef KVMRUN_TEST_SUPPORT_H
#define KVMRUN_TEST_SUPPORT_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/chardev.h"
#include "vmm/clock.h"
#include "vmm/guestmem.h"
#include "vmm/irq.h"
#include "vmm/util.h"

/* ---- fake clock ---- */
struct fake_clock {
	struct clock clock;
	uint64_t now;
	struct ktimer *timers[64];
	unsigned n;
};

void fake_clock_init(struct fake_clock *fc, uint64_t start_ns);
/* Move time forward by @ns, firing due timers in deadline order. */
void fake_clock_advance(struct fake_clock *fc, uint64_t ns);
/* Deadline of the earliest armed timer, or 0 if none. */
uint64_t fake_clock_next(const struct fake_clock *fc);

/* ---- fake guest memory: [base, base+size) backed by a malloc'd buffer ---- */
struct fake_mem {
	struct guest_mem gm;
	uint64_t base, size;
	uint8_t *buf;
	uint64_t deny_gpa, deny_size;   /* a range ptr() refuses (like SMRAM) */
};

void fake_mem_init(struct fake_mem *m, uint64_t base, uint64_t size);
void fake_mem_free(struct fake_mem *m);

/* ---- IRQ recorder ---- */
#define IRQ_REC_MAX 256
struct irq_rec {
	int level[IRQ_REC_MAX];       /* current level per gsi */
	unsigned raises[IRQ_REC_MAX]; /* number of 0->1 edges per gsi */
	struct irq_line line[IRQ_REC_MAX];
	/* MSIs received */
	uint64_t msi_addr[64];
	uint32_t msi_data[64];
	unsigned nmsi;
	struct msi_sink msi;
};

void irq_rec_init(struct irq_rec *r);
const struct irq_line *irq_rec_line(struct irq_rec *r, unsigned gsi);

/* ---- chardev capture ---- */
struct cap_chardev {
	struct chardev chr;
	char out[65536];
	size_t len;
	unsigned polls;
};

void cap_chardev_init(struct cap_chardev *c);
/* Push input as a back-end would: respects the front-end's can_receive. */
size_t cap_chardev_input(struct cap_chardev *c, const void *buf, size_t len);

/* ---- bus helpers ---- */
static inline uint64_t dev_read(const struct dev_ops *ops, void *dev, uint64_t off, unsigned size)
{
	struct io_ctx ctx = { .cpu = 0, .smm = false };
	return ops->read(dev, &ctx, off, size);
}

static inline void dev_write(const struct dev_ops *ops, void *dev, uint64_t off, uint64_t val,
			     unsigned size)
{
	struct io_ctx ctx = { .cpu = 0, .smm = false };
	ops->write(dev, &ctx, off, val, size);
}

/* Run @s, print results, return an exit status (0 pass, 1 fail). */
int run_suite(Suite *s);

/* Exit status for "skipped" understood by meson. */
#define TEST_SKIP 77

#endif
