/*
 * The machine description: a flattened device tree (libfdt) built once
 * from the real machine — RAM ranges, reserved ranges, CPUs and every
 * device range registered on the PIO/MMIO buses. The e820 map, ACPI
 * tables and CMOS memory fields are derived from it, and
 * `-machine dumpdtb=FILE` writes it out.
 */
#ifndef KVMRUN_DESC_H
#define KVMRUN_DESC_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/util.h"

#define DESC_MAX_RANGES 16

struct desc_range {
	uint64_t gpa, size;
	const char *name;       /* for reserved ranges: "tseg", "bios", ... */
};

struct desc_cfg {
	const char *model;      /* "pc" or "q35" */
	int nr_cpus;
	struct desc_range ram[DESC_MAX_RANGES];
	int nr_ram;
	struct desc_range reserved[DESC_MAX_RANGES];
	int nr_reserved;
	const char *bootargs;
	const char *stdout_path; /* e.g. "serial@3f8" or NULL */
	const struct bus *pio, *mmio;
};

/* Build the tree into a malloc'd buffer (*fdt, *size). */
int desc_build(const struct desc_cfg *cfg, void **fdt, size_t *size) __must_check;

/* Read back. Return the number of entries stored (<= max) or -errno. */
int desc_ram_ranges(const void *fdt, struct desc_range *out, int max);
int desc_reserved_ranges(const void *fdt, struct desc_range *out, int max);
int desc_nr_cpus(const void *fdt);
/* RAM below 4 GiB (end of the range starting at 0), for CMOS and ACPI. */
uint64_t desc_low_ram_top(const void *fdt);
uint64_t desc_high_ram_size(const void *fdt);

/* Write the blob to @path. */
int desc_dump(const void *fdt, const char *path) __must_check;

#endif
