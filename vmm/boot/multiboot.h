/*
 * Multiboot (version 1) kernels, as QEMU's -kernel loads them: ELF32/ELF64
 * images through their program headers, or any image through the header's
 * address fields (flag 16, the "a.out kludge"); -initrd "a args,b" become
 * modules; the boot information lives at MM_MB_INFO with its strings at
 * MM_MB_CMDLINE.
 *
 * Header flags: bit 0 (page-aligned modules) is always honoured, bit 1
 * (memory information) is always provided, bit 2 (video mode) is accepted
 * and ignored like QEMU does: there is no display, so no video fields are
 * passed (info flags 11/12 stay clear). Any other bit in 3..15 is a
 * requirement this loader does not understand, so the image is refused as
 * the specification demands.
 */
#ifndef KVMRUN_BOOT_MULTIBOOT_H
#define KVMRUN_BOOT_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/boot/bootparams.h"
#include "vmm/boot/cpustate.h"
#include "vmm/guestmem.h"

#define MULTIBOOT_HEADER_MAGIC   0x1badb002u
#define MULTIBOOT_LOADER_MAGIC   0x2badb002u   /* EAX at entry */
#define MULTIBOOT_SEARCH_LIMIT   8192          /* header within the first 8 KiB */

/* Header flags. */
#define MULTIBOOT_PAGE_ALIGN     BIT(0)
#define MULTIBOOT_MEMORY_INFO    BIT(1)
#define MULTIBOOT_VIDEO_MODE     BIT(2)
#define MULTIBOOT_AOUT_KLUDGE    BIT(16)

/* Info flags this loader sets. */
#define MULTIBOOT_INFO_MEMORY    BIT(0)
#define MULTIBOOT_INFO_CMDLINE   BIT(2)
#define MULTIBOOT_INFO_MODS      BIT(3)
#define MULTIBOOT_INFO_MMAP      BIT(6)
#define MULTIBOOT_INFO_LOADER    BIT(9)

#define MULTIBOOT_INFO_SIZE      88
#define MULTIBOOT_MOD_SIZE       16
#define MULTIBOOT_MMAP_ENTRY     24            /* u32 size (= 20) + e820 entry */
#define MULTIBOOT_LOADER_NAME    "kvmrun"

struct multiboot_header {
	uint32_t offset;              /* in the file */
	uint32_t flags;
	/* Valid with MULTIBOOT_AOUT_KLUDGE. */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* True if a valid header (magic + checksum) sits 4-byte aligned in the
 * first 8 KiB of @buf. */
bool multiboot_detect(const void *buf, size_t len);

/* Find and check the header of @k. Returns 0, or -ENOEXEC with err set. */
int multiboot_find_header(const struct boot_blob *k, struct multiboot_header *out) __must_check;

/*
 * Load in->kernel and in->mods into guest RAM, write the boot information
 * and describe the entry state (32-bit protected mode, paging off,
 * EAX = MULTIBOOT_LOADER_MAGIC, EBX = MM_MB_INFO) in @out. in->e820 is
 * required: every segment and module must lie in RAM below 4 GiB and
 * above MM_MB_CMDLINE_END. Returns 0 or -errno with err_get() set.
 */
int multiboot_load(const struct boot_inputs *in, const struct guest_mem *gm,
		   struct boot_cpu_state *out) __must_check;

#endif
