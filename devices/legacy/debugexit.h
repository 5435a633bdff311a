/*
 * QEMU's isa-debug-exit (-device isa-debug-exit,iobase=0xf4,iosize=0x4):
 * a guest write of value V ends the VM with status (V << 1) | 1.
 *
 * Port map: [iobase, iobase + iosize), every offset behaves the same.
 *   write  V (the access width, zero-extended; the offset is ignored, as in
 *          QEMU) -> exit_cb(opaque, (V << 1) | 1). The status can exceed 8
 *          bits; QEMU passes it to exit(), so a process sees it & 0xff.
 *   read   0 at any width: current QEMU's debug_exit_read() returns 0 (old
 *          versions had no read handler at all).
 *
 * QEMU's own defaults are iobase 0x501, iosize 2; kvm-unit-tests and most
 * CI setups use 0xf4/4 (PORT_DEBUG_EXIT).
 */
#ifndef KVMRUN_DEVICES_LEGACY_DEBUGEXIT_H
#define KVMRUN_DEVICES_LEGACY_DEBUGEXIT_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/util.h"

/* TODO move to memmap.h */
#define DEBUGEXIT_QEMU_IOBASE  0x501   /* QEMU's default without iobase= */
#define DEBUGEXIT_QEMU_IOSIZE  2

struct debugexit;

typedef void (*debugexit_cb)(void *opaque, uint64_t status);

/*
 * @iosize must be 1, 2 or 4 (else -EINVAL with a message naming it) and
 * the range must fit in the 64 KiB port space. @exit_cb is required.
 */
int debugexit_create(uint16_t iobase, unsigned iosize, debugexit_cb exit_cb, void *opaque,
		     struct debugexit **out) __must_check;
void debugexit_destroy(struct debugexit *d);
/* Register [iobase, iobase + iosize) on @pio. */
int debugexit_attach(struct debugexit *d, struct bus *pio) __must_check;

#endif
