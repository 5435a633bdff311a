/*
 * The default guest compiled into the kvmrun binary: what `kvmrun` with no
 * arguments runs. It is a raw firmware image (firmware/default.S), to be
 * treated exactly like the contents of a `-bios FILE`: mapped read-only so
 * that it ends at 4 GiB, its last 128 KiB aliased below 1 MiB, started at
 * the reset vector. It prints a banner on COM1 and powers off through the
 * pc machine's ACPI PM block (status 0).
 *
 * The array lives in .rodata, page-aligned, and is exactly 64 KiB.
 */
#ifndef KVMRUN_FIRMWARE_EMBEDDED_H
#define KVMRUN_FIRMWARE_EMBEDDED_H

#include <stddef.h>

extern const unsigned char kvmrun_default_guest[];
extern const unsigned char kvmrun_default_guest_end[];

static inline size_t embedded_default_guest_size(void)
{
	return (size_t)(kvmrun_default_guest_end - kvmrun_default_guest);
}

#endif
