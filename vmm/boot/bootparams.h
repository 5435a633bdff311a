/*
 * What the machine hands to a boot loader (bzImage, multiboot): the files
 * as buffers, the command line, the e820 map, the RSDP address. Plus the
 * few helpers every loader shares: reading a file into a page-aligned
 * buffer with QEMU-style error messages, splitting a multiboot "-initrd"
 * list, and checked writes into guest RAM.
 *
 * Loaders never touch KVM: they write guest memory through struct
 * guest_mem and describe the entry state in struct boot_cpu_state.
 */
#ifndef KVMRUN_BOOT_BOOTPARAMS_H
#define KVMRUN_BOOT_BOOTPARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/boot/e820.h"
#include "vmm/guestmem.h"
#include "vmm/util.h"

/* One input file. @name is what messages call it (the path as given). */
struct boot_blob {
	const char *name;
	const uint8_t *data;
	uint64_t size;
	/* Set by boot_blob_read(); boot_blob_free() releases them. */
	void *map;
	size_t map_size;
	char *name_buf;
};

/* A multiboot module: the file and the string the kernel sees for it
 * (the path plus any arguments after a space, as QEMU passes them). */
struct boot_module {
	struct boot_blob file;
	const char *string;
	char *string_buf;             /* owned copy, set by boot_modules_read() */
};

struct boot_inputs {
	struct boot_blob kernel;
	/* Linux: at most one (the initrd). Multiboot: the modules in order. */
	const struct boot_module *mods;
	unsigned nmods;
	const char *cmdline;          /* -append; NULL = empty */
	const struct e820_map *e820;  /* RAM map, built with bios_holes = true */
	uint64_t acpi_rsdp;           /* RSDP address for Linux, 0 = let it scan */
};

/*
 * Read @path into a page-aligned, zero-padded buffer of at most @max bytes.
 * @what names the option in messages ("-kernel", "-initrd", "-bios").
 * Returns 0, or -errno with "OPTION PATH: problem" in err_get(). An empty
 * file is accepted here (callers decide); a non-regular file is not.
 */
int boot_blob_read(const char *what, const char *path, uint64_t max,
		   struct boot_blob *out) __must_check;
void boot_blob_free(struct boot_blob *b);

/*
 * Split a multiboot "-initrd" value into module strings: entries are
 * separated by ',' and ",," stands for a literal comma; each entry is
 * "PATH[ ARGS]". Returns the number of modules (>= 1) with *@out an array
 * of malloc'd strings (free with boot_strings_free()), or -EINVAL for an
 * empty entry / -ENOMEM.
 */
int boot_split_modules(const char *spec, char ***out) __must_check;
void boot_strings_free(char **strs, int n);

/*
 * Read every module named in @spec (see boot_split_modules()), each at
 * most @max bytes. Returns the count, *@out set; boot_modules_free()
 * releases them.
 */
int boot_modules_read(const char *spec, uint64_t max, struct boot_module **out) __must_check;
void boot_modules_free(struct boot_module *mods, int n);

/*
 * Copy @len bytes to guest-physical @gpa, then zero-fill up to @total
 * (>= @len) bytes. @what names the object in the error message. Returns 0
 * or -EFAULT if any part is not guest RAM.
 */
int boot_copy(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len,
	      uint64_t total, const char *what) __must_check;

#endif
