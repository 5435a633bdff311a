#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/util.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_free(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->n = bus->cap = 0;
}

/* Index of the first range whose base is > addr. */
static unsigned upper_bound(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned i = upper_bound(bus, addr);
	const struct bus_range *r;

	if (i == 0)
		return NULL;
	r = &bus->ranges[i - 1];
	if (addr - r->base < r->len)
		return r;
	return NULL;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct dev_ops *ops,
		 void *dev)
{
	uint64_t end;
	unsigned i;

	if (!len || !ops || add_overflows_u64(base, len - 1, &end))
		return -EINVAL;
	i = upper_bound(bus, base);
	if (i > 0 && ranges_overlap(bus->ranges[i - 1].base, bus->ranges[i - 1].len, base, len))
		return -EEXIST;
	if (i < bus->n && ranges_overlap(bus->ranges[i].base, bus->ranges[i].len, base, len))
		return -EEXIST;
	if (bus->n == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *nr = realloc(bus->ranges, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		bus->ranges = nr;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->n - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){ .base = base, .len = len, .ops = ops, .dev = dev };
	bus->n++;
	return 0;
}

static void remove_at(struct bus *bus, unsigned i)
{
	memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->n - i - 1) * sizeof(bus->ranges[0]));
	bus->n--;
}

int bus_unregister(struct bus *bus, uint64_t base, void *dev)
{
	unsigned i;

	for (i = 0; i < bus->n; i++) {
		if (bus->ranges[i].base == base && bus->ranges[i].dev == dev) {
			remove_at(bus, i);
			return 0;
		}
	}
	return -ENOENT;
}

int bus_unregister_dev(struct bus *bus, void *dev)
{
	unsigned i = 0;
	int removed = 0;

	while (i < bus->n) {
		if (bus->ranges[i].dev == dev) {
			remove_at(bus, i);
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

static uint64_t load_n(const void *data, unsigned size)
{
	const uint8_t *b = data;
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void store_n(void *data, uint64_t v, unsigned size)
{
	uint8_t *b = data;
	unsigned i;

	for (i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

int bus_read(const struct bus *bus, const struct io_ctx *ctx, uint64_t addr, void *data,
	     unsigned size)
{
	const struct bus_range *r = bus_find(bus, addr);
	unsigned i;

	if (!r) {
		memset(data, 0xff, size);
		return -ENOENT;
	}
	if (addr - r->base + size <= r->len) {
		uint64_t v = r->ops->read ? r->ops->read(r->dev, ctx, addr - r->base, size)
					  : ~0ULL;
		store_n(data, v, size);
		return 0;
	}
	for (i = 0; i < size; i++)
		bus_read(bus, ctx, addr + i, (uint8_t *)data + i, 1);
	return 0;
}

int bus_write(const struct bus *bus, const struct io_ctx *ctx, uint64_t addr,
	      const void *data, unsigned size)
{
	const struct bus_range *r = bus_find(bus, addr);
	unsigned i;

	if (!r)
		return -ENOENT;
	if (addr - r->base + size <= r->len) {
		if (r->ops->write)
			r->ops->write(r->dev, ctx, addr - r->base, load_n(data, size), size);
		return 0;
	}
	for (i = 0; i < size; i++)
		bus_write(bus, ctx, addr + i, (const uint8_t *)data + i, 1);
	return 0;
}
