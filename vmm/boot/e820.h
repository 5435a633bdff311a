/*
 * The BIOS e820 memory map, built once from the machine's RAM layout and
 * handed to every consumer: Linux boot_params, the multiboot mmap and
 * fw_cfg "etc/e820". A map is always kept sorted, non-overlapping and
 * merged (adjacent entries of the same type are one entry).
 */
#ifndef KVMRUN_BOOT_E820_H
#define KVMRUN_BOOT_E820_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/util.h"

/* Linux boot_params holds at most 128 entries; no consumer takes more. */
#define E820_MAX_ENTRIES 128
/* Wire format shared by boot_params.e820_table and fw_cfg etc/e820:
 * u64 addr, u64 size, u32 type, little-endian, packed. */
#define E820_ENTRY_SIZE 20

enum e820_type {
	E820_RAM = 1,
	E820_RESERVED = 2,
	E820_ACPI = 3,
	E820_NVS = 4,
	E820_UNUSABLE = 5,
	E820_PMEM = 7,
};

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct e820_map {
	unsigned n;
	struct e820_entry e[E820_MAX_ENTRIES];
};

/* A range the machine reserves on top of RAM (TSEG, ACPI tables, ...). */
struct e820_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * The machine's RAM as the device tree describes it. With @bios_holes the
 * low megabyte is carved like a PC BIOS does for an OS loaded directly:
 * [0, 0x9fc00) RAM, the EBDA [0x9fc00, 0xa0000) and the BIOS area
 * [0xf0000, 0x100000) reserved, the VGA/option-ROM window absent. Without
 * it (firmware boot: the firmware owns the low megabyte and builds its own
 * map) low RAM is the single entry [0, low_top).
 *
 * For fw_cfg "etc/e820" use bios_holes = false and leave TSEG out: OVMF
 * takes the highest RAM end below 4 GiB as the top of low RAM and carves
 * TSEG below it itself (from CMOS 0x34/0x35, which must agree).
 */
struct ram_layout {
	uint64_t low_top;              /* RAM [0, low_top), low_top <= 4 GiB */
	uint64_t high_size;            /* RAM [4 GiB, 4 GiB + high_size) */
	bool bios_holes;
	const struct e820_range *extra;  /* reserved/ACPI ranges; override RAM */
	unsigned nextra;
};

/* Build @out from @l. Returns 0, or -EINVAL/-ENOSPC with err_get() set. */
int e820_build(const struct ram_layout *l, struct e820_map *out) __must_check;

/*
 * Add [addr, addr+size) of @type, keeping the map normalised. Where ranges
 * overlap the larger type number wins, as in Linux's e820 sanitizer: RAM
 * (1) loses against every other type, so reserved ranges punch holes.
 * Returns 0, -EINVAL (empty/wrapping range, type 0) or -ENOSPC (the result
 * would exceed E820_MAX_ENTRIES; the map is then unchanged).
 */
int e820_add(struct e820_map *m, uint64_t addr, uint64_t size, uint32_t type) __must_check;

/* The entry containing @addr, or NULL. */
const struct e820_entry *e820_find(const struct e820_map *m, uint64_t addr);

/* True if [addr, addr+size) lies entirely inside one RAM entry. */
bool e820_is_ram(const struct e820_map *m, uint64_t addr, uint64_t size);

/* End of the RAM entry containing @addr, or 0 if @addr is not RAM. */
uint64_t e820_ram_end(const struct e820_map *m, uint64_t addr);

/* Write the map in the 20-byte wire format. Returns the number of bytes
 * written, or -ENOSPC if @len is too small. */
int e820_serialize(const struct e820_map *m, void *buf, size_t len);

const char *e820_type_name(uint32_t type);

#endif
