/*
 * QEMU's isa-debugcon, the Bochs "port E9" console (-debugcon file:PATH,
 * -global isa-debugcon.iobase=0x402, which is where OVMF logs).
 *
 * Port map: one byte at iobase.
 *   write  the low byte goes to the chardev (one byte per access; QEMU's
 *          region is 1 byte wide, so wider guest accesses are split by the
 *          bus and only the first byte lands here).
 *   read   the readback value (QEMU default 0xe9, property "readback"),
 *          which guests use to detect the port.
 */
#ifndef KVMRUN_DEVICES_LEGACY_DEBUGCON_H
#define KVMRUN_DEVICES_LEGACY_DEBUGCON_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/chardev.h"
#include "vmm/util.h"

#define DEBUGCON_IO_LEN           1
#define DEBUGCON_DEFAULT_READBACK 0xe9
#define DEBUGCON_QEMU_IOBASE      0xe9   /* QEMU's default without iobase=; TODO move to memmap.h */

struct debugcon;

/* @chr may be NULL (output dropped). */
int debugcon_create(struct chardev *chr, uint16_t iobase, uint8_t readback,
		    struct debugcon **out) __must_check;
void debugcon_destroy(struct debugcon *d);
int debugcon_attach(struct debugcon *d, struct bus *pio) __must_check;

#endif
