/*
 * -bios FILE: a raw firmware image (SeaBIOS, OVMF.fd, a TDVF) mapped
 * read-only so that it ends at 4 GiB, with its last 128 KiB (or all of it
 * if smaller) also visible just below 1 MiB, the "isa-bios" alias. The
 * rules follow QEMU: the size must be a non-zero multiple of 64 KiB; it
 * must also fit the 16 MiB flash window below 4 GiB.
 *
 * The CPU starts at the reset vector (KVM's default state), so there is
 * nothing to set up besides the two memslots described here.
 */
#ifndef KVMRUN_BOOT_BIOS_H
#define KVMRUN_BOOT_BIOS_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/boot/bootparams.h"
#include "vmm/util.h"

#define BIOS_SIZE_ALIGN (64 * KiB)

/* One read-only guest range backed by part of the image buffer. */
struct bios_region {
	uint64_t gpa;
	uint64_t size;
	void *host;                    /* page aligned, inside bios_image.blob */
};

struct bios_image {
	struct boot_blob blob;         /* the file, page aligned */
	struct bios_region high;       /* [4 GiB - size, 4 GiB) */
	struct bios_region isa;        /* [1 MiB - min(size, 128K), 1 MiB) */
};

/*
 * Validate @size bytes of firmware called @name (for messages). Returns 0
 * or -EINVAL with "-bios NAME: problem" in err_get().
 */
int bios_check(const char *name, uint64_t size) __must_check;

/* Fill in the two regions for an already validated, page-aligned blob. */
void bios_map(struct bios_image *img);

/*
 * Read and validate @path and describe its mappings. Returns 0 or -errno
 * with "-bios PATH: problem" in err_get() (missing, empty, too large, not
 * a multiple of 64 KiB). Release with bios_free().
 */
int bios_load_file(const char *path, struct bios_image *out) __must_check;
void bios_free(struct bios_image *img);

#endif
