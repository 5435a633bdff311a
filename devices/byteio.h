/*
 * Byte-wide ISA register files: split a wider access into byte accesses at
 * consecutive offsets, as the ISA bus does for 8-bit devices. Bytes past
 * the end of the register file read as 0xff and ignore writes, so no offset
 * (however hostile, including ones that would wrap) reaches the device.
 */
#ifndef KVMRUN_DEVICES_BYTEIO_H
#define KVMRUN_DEVICES_BYTEIO_H

#include <stdint.h>

#include "vmm/bus.h"

typedef uint8_t (*byteio_read_fn)(void *dev, unsigned off);
typedef void (*byteio_write_fn)(void *dev, unsigned off, uint8_t val);

/* Read @size (1..8) bytes at @off of a @len-byte register file. */
uint64_t byteio_read(byteio_read_fn rd, void *dev, uint64_t off, unsigned size, unsigned len);
/* Write @size (1..8) bytes of @val (little-endian) at @off. */
void byteio_write(byteio_write_fn wr, void *dev, uint64_t off, uint64_t val, unsigned size,
		  unsigned len);

/*
 * Define `static const struct dev_ops @ops` named @label for a @len-byte
 * register file whose byte accesses go to @rd/@wr (the device pointer is
 * passed through unchanged).
 */
#define BYTEIO_DEV_OPS(ops, label, rd, wr, len)                                     \
	static uint64_t ops##_read(void *dev, const struct io_ctx *ctx, uint64_t off,     \
				   unsigned size)                                   \
	{                                                                           \
		return byteio_read(rd, dev, off, size, len);                        \
	}                                                                           \
	static void ops##_write(void *dev, const struct io_ctx *ctx, uint64_t off,       \
				uint64_t val, unsigned size)                        \
	{                                                                           \
		byteio_write(wr, dev, off, val, size, len);                         \
	}                                                                           \
	static const struct dev_ops ops = {                                         \
		.name = label,                                                      \
		.read = ops##_read,                                                 \
		.write = ops##_write,                                               \
	}

/* All-ones for an access of @size bytes (1..8): what a read of nothing returns. */
uint64_t byteio_width_mask(unsigned size);

#endif
