#include "devices/irqchip/isa_port.h"

uint64_t isa_port_read(isa_port_rd rd, void *dev, uint64_t off, unsigned size, unsigned nports)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size && i < 8; i++)
		v |= (uint64_t)(off + i < nports ? rd(dev, (unsigned)(off + i)) : 0xff) << (8 * i);
	return v;
}

void isa_port_write(isa_port_wr wr, void *dev, uint64_t off, uint64_t val, unsigned size,
		    unsigned nports)
{
	unsigned i;

	for (i = 0; i < size && i < 8; i++, val >>= 8)
		if (off + i < nports)
			wr(dev, (unsigned)(off + i), (uint8_t)val);
}
