#include "devices/legacy/reset.h"

#include <errno.h>
#include <stdlib.h>

#include "devices/byteio.h"
#include "vmm/log.h"
#include "vmm/memmap.h"

struct reset {
	reset_cb cb;
	void *opaque;
	uint8_t rcr;
	uint8_t port92;
};

uint8_t reset_rcr_read(struct reset *r)
{
	return r->rcr;
}

void reset_rcr_write(struct reset *r, uint8_t val)
{
	r->rcr = val & (RCR_SYS_RST | RCR_FULL_RST);
	if (val & RCR_RST_CPU) {
		TRACE(TRACE_IO, "reset: 0xcf9 <- %#x: %s reset requested", val,
		      val & RCR_FULL_RST ? "full" : val & RCR_SYS_RST ? "hard" : "soft");
		r->cb(r->opaque);
	}
}

static uint8_t rcr_read_byte(void *dev, unsigned off)
{
	return reset_rcr_read(dev);
}

static void rcr_write_byte(void *dev, unsigned off, uint8_t val)
{
	reset_rcr_write(dev, val);
}

BYTEIO_DEV_OPS(rcr_ops, "reset-control", rcr_read_byte, rcr_write_byte, 1);

static uint8_t port92_read_byte(void *dev, unsigned off)
{
	struct reset *r = dev;

	return r->port92;
}

static void port92_write_byte(void *dev, unsigned off, uint8_t val)
{
	struct reset *r = dev;
	uint8_t old = r->port92;

	r->port92 = val;
	if ((old ^ val) & PORT92_A20)
		TRACE(TRACE_IO, "port 0x92: A20 %s", val & PORT92_A20 ? "on" : "off");
	if ((val & PORT92_FAST_RESET) && !(old & PORT92_FAST_RESET)) {
		TRACE(TRACE_IO, "port 0x92: fast reset requested");
		r->cb(r->opaque);
	}
}

BYTEIO_DEV_OPS(port92_ops, "port92", port92_read_byte, port92_write_byte, 1);

void reset_power_on(struct reset *r)
{
	r->rcr = 0;
	r->port92 = PORT92_POWER_ON;
}

int reset_create(reset_cb cb, void *opaque, struct reset **out)
{
	struct reset *r;

	if (!cb || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cb = cb;
	r->opaque = opaque;
	reset_power_on(r);
	*out = r;
	return 0;
}

void reset_destroy(struct reset *r)
{
	free(r);
}

int reset_attach_rcr(struct reset *r, struct bus *pio)
{
	return bus_register(pio, PORT_RESET_CONTROL, 1, &rcr_ops, r);
}

int reset_attach_port92(struct reset *r, struct bus *pio)
{
	return bus_register(pio, PORT_A20, 1, &port92_ops, r);
}

bool reset_a20(const struct reset *r)
{
	return r->port92 & PORT92_A20;
}
