/*
 * Reset control: two tiny PC devices.
 *
 * Reset Control Register, port 0xcf9 (PORT_RESET_CONTROL), one byte:
 *   bit 1 SYS_RST   stored: hard (1) or soft (0) reset when RST_CPU fires
 *   bit 2 RST_CPU   a write with this bit set calls reset_cb; not stored
 *   bit 3 FULL_RST  stored: full power cycle on the next reset
 *   read            the stored SYS_RST/FULL_RST bits
 * Note that 0xcf9 lies inside the PCI CONFIG_ADDRESS dword 0xcf8-0xcfb:
 * on a PC only *byte* accesses to 0xcf9 reach this register. When the PCI
 * host owns 0xcf8-0xcfb on the bus it forwards byte accesses at offset 1
 * to reset_rcr_read()/reset_rcr_write() instead of attaching this range.
 *
 * System Control Port A, port 0x92 (PORT_A20), one byte:
 *   bit 0 fast reset  a 0 -> 1 transition calls reset_cb
 *   bit 1 A20 gate    stored and read back (KVM cannot mask A20 anyway)
 *   others            stored and read back
 *   power-on value 0x02: A20 enabled, which is what KVM really does.
 *
 * The callback only requests the reset; the machine performs it (and then
 * calls reset_power_on()). QEMU resets the whole system for all of these.
 */
#ifndef KVMRUN_DEVICES_LEGACY_RESET_H
#define KVMRUN_DEVICES_LEGACY_RESET_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/util.h"

#define RCR_SYS_RST   0x02
#define RCR_RST_CPU   0x04
#define RCR_FULL_RST  0x08

#define PORT92_FAST_RESET  0x01
#define PORT92_A20         0x02
#define PORT92_POWER_ON    PORT92_A20

typedef void (*reset_cb)(void *opaque);

struct reset;

int reset_create(reset_cb cb, void *opaque, struct reset **out) __must_check;
void reset_destroy(struct reset *r);
/* Back to power-on values (the machine calls this while resetting). */
void reset_power_on(struct reset *r);

/* Register 0xcf9 (1 byte) / 0x92 (1 byte) on @pio. */
int reset_attach_rcr(struct reset *r, struct bus *pio) __must_check;
int reset_attach_port92(struct reset *r, struct bus *pio) __must_check;

/* Byte access to the RCR for a PCI host that owns 0xcf8-0xcfb. */
uint8_t reset_rcr_read(struct reset *r);
void reset_rcr_write(struct reset *r, uint8_t val);

/* Current A20 gate of port 0x92. */
bool reset_a20(const struct reset *r);

#endif
