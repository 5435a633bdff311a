/*
 * POST code port 0x80 (PORT_POST). Firmware writes progress codes here;
 * Linux also uses it as an I/O delay port (outb to 0x80).
 *
 * Port map: one byte at 0x80.
 *   write  remembered as the last POST code (the access value, zero-
 *          extended, so a 16-bit code written to a device registered wider
 *          is kept whole) and traced under "-trace io".
 *   read   all-ones at the access width, as QEMU's pc ioport80_read()
 *          returns 0xff...ff: the port has no readback on a PC.
 */
#ifndef KVMRUN_DEVICES_LEGACY_POST_H
#define KVMRUN_DEVICES_LEGACY_POST_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/util.h"

#define POST_IO_LEN 1

struct post;

int post_create(struct post **out) __must_check;
void post_destroy(struct post *p);
int post_attach(struct post *p, struct bus *pio) __must_check;

/* The last code written (0 before any write). */
uint32_t post_last(const struct post *p);
/* How many codes were written since creation. */
uint64_t post_count(const struct post *p);

#endif
