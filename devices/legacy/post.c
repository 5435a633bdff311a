#include "devices/legacy/post.h"

#include <errno.h>
#include <stdlib.h>

#include "devices/byteio.h"
#include "vmm/log.h"
#include "vmm/memmap.h"

struct post {
	uint32_t last;
	uint64_t count;
};

static uint64_t post_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return byteio_width_mask(size);
}

static void post_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		       unsigned size)
{
	struct post *p = dev;

	p->last = (uint32_t)(val & byteio_width_mask(size));
	p->count++;
	TRACE(TRACE_IO, "POST code %#x", p->last);
}

static const struct dev_ops post_ops = {
	.name = "post",
	.read = post_read,
	.write = post_write,
};

int post_create(struct post **out)
{
	struct post *p;

	if (!out)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*out = p;
	return 0;
}

void post_destroy(struct post *p)
{
	free(p);
}

int post_attach(struct post *p, struct bus *pio)
{
	return bus_register(pio, PORT_POST, POST_IO_LEN, &post_ops, p);
}

uint32_t post_last(const struct post *p)
{
	return p->last;
}

uint64_t post_count(const struct post *p)
{
	return p->count;
}
