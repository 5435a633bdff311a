#include "devices/legacy/debugexit.h"

#include <errno.h>
#include <stdlib.h>

#include "devices/byteio.h"
#include "vmm/err.h"
#include "vmm/log.h"

struct debugexit {
	uint16_t iobase;
	unsigned iosize;
	debugexit_cb exit_cb;
	void *opaque;
};

static uint64_t debugexit_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return 0;
}

static void debugexit_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
			    unsigned size)
{
	struct debugexit *d = dev;
	uint64_t v = val & byteio_width_mask(size);

	TRACE(TRACE_IO, "isa-debug-exit: write %#llx (size %u): exit status %#llx",
	      (unsigned long long)v, size, (unsigned long long)((v << 1) | 1));
	d->exit_cb(d->opaque, (v << 1) | 1);
}

static const struct dev_ops debugexit_ops = {
	.name = "isa-debug-exit",
	.read = debugexit_read,
	.write = debugexit_write,
};

int debugexit_create(uint16_t iobase, unsigned iosize, debugexit_cb exit_cb, void *opaque,
		     struct debugexit **out)
{
	struct debugexit *d;

	if (iosize != 1 && iosize != 2 && iosize != 4)
		return err_set(-EINVAL, "isa-debug-exit: iosize must be 1, 2 or 4 (got %u)",
			       iosize);
	if ((unsigned)iobase + iosize > 0x10000)
		return err_set(-EINVAL, "isa-debug-exit: iobase %#x + iosize %u is past port 0xffff",
			       iobase, iosize);
	if (!exit_cb || !out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->iobase = iobase;
	d->iosize = iosize;
	d->exit_cb = exit_cb;
	d->opaque = opaque;
	*out = d;
	return 0;
}

void debugexit_destroy(struct debugexit *d)
{
	free(d);
}

int debugexit_attach(struct debugexit *d, struct bus *pio)
{
	return bus_register(pio, d->iobase, d->iosize, &debugexit_ops, d);
}
