#include "devices/byteio.h"

/* True when byte @i of an access at @off lies inside a @len-byte file. */
static int in_range(uint64_t off, unsigned i, unsigned len)
{
	return off < len && i < len - off;
}

uint64_t byteio_read(byteio_read_fn rd, void *dev, uint64_t off, unsigned size, unsigned len)
{
	uint64_t v = 0;
	unsigned i;

	if (size > 8)
		size = 8;
	for (i = 0; i < size; i++) {
		uint8_t b = in_range(off, i, len) ? rd(dev, (unsigned)off + i) : 0xff;

		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

void byteio_write(byteio_write_fn wr, void *dev, uint64_t off, uint64_t val, unsigned size,
		  unsigned len)
{
	unsigned i;

	if (size > 8)
		size = 8;
	for (i = 0; i < size; i++)
		if (in_range(off, i, len))
			wr(dev, (unsigned)off + i, (uint8_t)(val >> (8 * i)));
}

uint64_t byteio_width_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}
