/*
 * PIO and MMIO buses: sorted, non-overlapping [base, len) ranges, each
 * owned by a device with a static const ops table. Devices receive the
 * offset into their range, never the absolute address.
 *
 * Locking: buses are only touched with the machine lock (vm->bql) held,
 * both for dispatch and for (un)registration.
 */
#ifndef KVMRUN_BUS_H
#define KVMRUN_BUS_H

#include <stdbool.h>
#include <stdint.h>

/* Who performs an access. Devices use it for per-CPU (LAPIC) or
 * SMM-only (secure flash) behaviour. */
struct io_ctx {
	int cpu;      /* vCPU index, -1 for the VMM itself (DMA, tests) */
	bool smm;     /* the accessing vCPU is in System Management Mode */
};

struct dev_ops {
	const char *name;
	/* size is 1, 2, 4 or 8. Reads return the value zero-extended. */
	uint64_t (*read)(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size);
	void (*write)(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct dev_ops *ops;
	void *dev;
};

struct bus {
	const char *name;
	struct bus_range *ranges;   /* sorted by base */
	unsigned n, cap;
};

void bus_init(struct bus *bus, const char *name);
void bus_free(struct bus *bus);

/* 0, -EINVAL (len 0 or wrap-around), -EEXIST (overlap), -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct dev_ops *ops,
		 void *dev);
/* Remove the range starting exactly at @base owned by @dev. 0 or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base, void *dev);
/* Remove every range owned by @dev; returns how many were removed. */
int bus_unregister_dev(struct bus *bus, void *dev);

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);

/*
 * Dispatch one access of @size bytes (1..8) at @addr. Returns 0, or
 * -ENOENT when no device claims the first byte (reads then fill @data with
 * all-ones). An access that runs past the end of its range is split into
 * byte accesses, each dispatched on its own.
 */
int bus_read(const struct bus *bus, const struct io_ctx *ctx, uint64_t addr, void *data,
	     unsigned size);
int bus_write(const struct bus *bus, const struct io_ctx *ctx, uint64_t addr,
	      const void *data, unsigned size);

#endif
