/*
 * Linux x86 boot protocol (Documentation/arch/x86/boot.rst): direct boot
 * of a bzImage without firmware. The protected-mode kernel goes to 1 MiB,
 * boot_params ("zero page") to MM_ZERO_PAGE, the command line to
 * MM_CMDLINE, the initrd as high as allowed in RAM below 4 GiB. The kernel
 * is entered through the 64-bit protocol (startup_64 at load + 0x200, with
 * an identity map of 4 GiB) when it has XLF_KERNEL_64, else through the
 * 32-bit protocol at code32_start.
 */
#ifndef KVMRUN_BOOT_BZIMAGE_H
#define KVMRUN_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/boot/bootparams.h"
#include "vmm/boot/cpustate.h"
#include "vmm/guestmem.h"

/* Oldest protocol accepted: 2.06 brings cmdline_size. 2.12 brings
 * xloadflags, needed for the 64-bit entry. */
#define BZIMAGE_MIN_VERSION 0x0206
#define BZIMAGE_64BIT_VERSION 0x020c

/* The setup header fields the loader uses, validated. */
struct bzimage_info {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;          /* 0 before 2.12 */
	uint32_t setup_size;          /* boot sector + setup: (setup_sects + 1) * 512 */
	uint64_t pm_offset;           /* protected-mode kernel in the file */
	uint64_t pm_size;
	uint32_t hdr_end;             /* file offset where the setup header ends */
	uint32_t cmdline_size;        /* longest command line, without the NUL */
	uint32_t initrd_addr_max;     /* highest byte an initrd may occupy */
	uint32_t kernel_alignment;
	bool relocatable;
	uint64_t pref_address;        /* 0 before 2.10 */
	uint32_t init_size;           /* 0 before 2.10 */
	bool entry64;                 /* enter at startup_64 */
};

/* True if @buf starts like a Linux bzImage/zImage ("HdrS" at 0x202). */
bool bzimage_detect(const void *buf, size_t len);

/* Parse and validate @k's setup header. Returns 0, or -ENOEXEC/-EINVAL
 * with "NAME: problem" in err_get(). */
int bzimage_parse(const struct boot_blob *k, struct bzimage_info *out) __must_check;

/*
 * Load in->kernel (with in->mods[0] as the initrd, if any) into guest RAM
 * and describe the entry state in @out. in->e820 is required: the kernel,
 * its init_size and the initrd must fit in the RAM entry that starts at
 * 1 MiB. Returns 0 or -errno with err_get() naming the file and problem.
 */
int bzimage_load(const struct boot_inputs *in, const struct guest_mem *gm,
		 struct boot_cpu_state *out) __must_check;

#endif
