/*
 * The TD HOB: the PI hand-off block list the VMM places in the TDVF's
 * TD_HOB section to describe guest memory. Entry 1 is the PHIT, then one
 * resource descriptor per RAM range (memory the VMM added with
 * TDH.MEM.PAGE.ADD is "private system memory"; the rest is "unaccepted",
 * for the firmware to accept), then the end-of-list HOB.
 *
 * struct hob_memmap keeps the RAM ranges sorted and splits them as
 * sections are accepted. Pure: no I/O, no allocation.
 */
#ifndef KVMRUN_TDX_HOB_H
#define KVMRUN_TDX_HOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/util.h"

#define HOB_MAX_ENTRIES 160

#define HOB_TYPE_HANDOFF 0x0001
#define HOB_TYPE_RESOURCE_DESCRIPTOR 0x0003
#define HOB_TYPE_END_OF_LIST 0xffff
#define HOB_HANDOFF_VERSION 0x0009
#define HOB_PHIT_SIZE 56
#define HOB_RESOURCE_SIZE 48
#define HOB_END_SIZE 8

#define HOB_RESOURCE_SYSTEM_MEMORY 0x0
#define HOB_RESOURCE_MEMORY_UNACCEPTED 0x7
/* PRESENT | INITIALIZED | TESTED: what TDVF expects for both kinds. */
#define HOB_RESOURCE_ATTR_TDVF 0x7

struct hob_mem {
	uint64_t gpa, size;
	bool accepted;          /* added (private, measured or not) by the VMM */
};

struct hob_memmap {
	unsigned n;
	struct hob_mem e[HOB_MAX_ENTRIES];
};

void hob_memmap_init(struct hob_memmap *m);
/* Add an unaccepted RAM range. -EINVAL if empty/unaligned/overflowing or
 * overlapping an existing range; -ENOSPC if the map is full. */
int hob_memmap_add_ram(struct hob_memmap *m, uint64_t gpa, uint64_t size) __must_check;
/*
 * Mark [gpa, gpa+size) accepted, splitting the RAM range holding it.
 * -ENOENT if no single unaccepted RAM range contains it (outside RAM,
 * straddling two ranges, or already accepted); -ENOSPC if full.
 */
int hob_memmap_accept(struct hob_memmap *m, uint64_t gpa, uint64_t size) __must_check;
/* True if [gpa, gpa+size) lies inside one range of the map. */
bool hob_memmap_contains(const struct hob_memmap *m, uint64_t gpa, uint64_t size);

/* Bytes hob_build() needs for @m. */
size_t hob_size(const struct hob_memmap *m);
/*
 * Build the HOB list for @m into @buf (@len bytes, zeroed first), as it
 * will sit at guest address @hob_gpa. Returns the bytes used, or -ENOSPC
 * if it does not fit (nothing useful is left in @buf then).
 */
long hob_build(void *buf, size_t len, uint64_t hob_gpa, const struct hob_memmap *m);

#endif
