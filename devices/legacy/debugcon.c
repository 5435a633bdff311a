#include "devices/legacy/debugcon.h"

#include <errno.h>
#include <stdlib.h>

struct debugcon {
	struct chardev *chr;
	uint16_t iobase;
	uint8_t readback;
};

static uint64_t debugcon_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct debugcon *d = dev;

	return d->readback;
}

static void debugcon_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
			   unsigned size)
{
	struct debugcon *d = dev;
	uint8_t c = (uint8_t)val;

	/* No TRACE here: this port is itself the firmware's log. */
	chardev_write(d->chr, &c, 1);
}

static const struct dev_ops debugcon_ops = {
	.name = "isa-debugcon",
	.read = debugcon_read,
	.write = debugcon_write,
};

int debugcon_create(struct chardev *chr, uint16_t iobase, uint8_t readback,
		    struct debugcon **out)
{
	struct debugcon *d;

	if (!out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->chr = chr;
	d->iobase = iobase;
	d->readback = readback;
	*out = d;
	return 0;
}

void debugcon_destroy(struct debugcon *d)
{
	free(d);
}

int debugcon_attach(struct debugcon *d, struct bus *pio)
{
	return bus_register(pio, d->iobase, DEBUGCON_IO_LEN, &debugcon_ops, d);
}
