/*
 * Intel/Sharp (CFI command set 0x0001) parallel NOR flash, modelled on
 * QEMU's cfi.pflash01 as OVMF uses it for its CODE and VARS images.
 *
 * Contents live in a MAP_SHARED read-only mapping of the backing file;
 * every program or erase is written to the file with pwrite() (at most one
 * page per call, so a killed kvmrun never leaves a torn 4 KiB sector) and
 * so is in the page cache as soon as the guest's write returns.
 * fdatasync() runs when the chip returns to read-array mode after a
 * modification, and in pflash_flush().
 *
 * In read-array mode the machine should expose the mapping as a read-only
 * memslot (reads then never exit). The device asks for the memslot to be
 * removed with map_array(opaque, false) as soon as a command takes it out
 * of read-array mode, so status/ID/CFI reads trap as MMIO, and asks for it
 * back with map_array(opaque, true) when it returns. Without the callback
 * every access traps, which is slower but equally correct.
 *
 * Register it on the MMIO bus at its base with length pflash_size().
 */
#ifndef KVMRUN_DEVICES_PFLASH_H
#define KVMRUN_DEVICES_PFLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

#define PFLASH_BLOCK_SIZE_DEFAULT 4096
#define PFLASH_MIN_BLOCK          256       /* per chip: CFI counts 256-byte units */
#define PFLASH_MAX_BLOCK          (256 * 1024)
#define PFLASH_WRITE_BUFFER       256       /* bytes per chip for 0xE8 */

/* Status register bits */
#define PFLASH_SR_READY     0x80
#define PFLASH_SR_ERASE_ERR 0x20
#define PFLASH_SR_PROG_ERR  0x10
#define PFLASH_SR_LOCKED    0x02   /* program/erase attempted on a protected array */

/* Read identifier codes (0x90) */
#define PFLASH_MANUFACTURER_INTEL 0x89
#define PFLASH_DEVICE_ID          0x18

struct pflash;

struct pflash_config {
	const char *name;     /* backing file name, used in error messages */
	int fd;               /* backing file; duplicated, the caller keeps its own */
	uint64_t size;        /* 0: the file's size; else it must equal the file's size */
	bool readonly;        /* program/erase fail with error status */
	uint32_t block_size;  /* erase block, 0 = 4 KiB */
	/*
	 * Bus width in bytes (1, 2 or 4), built from x8 chips (device width
	 * 1). 0 = 1, which is what QEMU's x86 machines use ("width" = 1).
	 */
	unsigned bank_width;
	bool secure;          /* writes from outside SMM are dropped */
	/* Install (true) or remove (false) the read-only memslot of the array. */
	void (*map_array)(void *opaque, bool on);
	/*
	 * Optional: make @fd durable (fdatasync) off the vCPU thread, e.g. with
	 * an io_uring fsync. NULL: the device calls fdatasync() itself.
	 */
	void (*sync)(void *opaque, int fd);
	void *opaque;
};

extern const struct dev_ops pflash_ops;

/*
 * Validate the geometry (size a non-zero multiple of the block size, at most
 * 16 MiB), map the file and enter read-array mode, which calls
 * map_array(opaque, true). 0 or -errno with a message naming the file.
 */
int pflash_create(struct pflash **out, const struct pflash_config *cfg);
/* Flushes, unmaps and closes the duplicated fd. Calls no callback. */
void pflash_destroy(struct pflash *p);
/* fdatasync the backing file if anything was written. 0 or -errno (err set). */
int pflash_flush(struct pflash *p);
/* System reset: read-array mode, status ready. */
void pflash_reset(struct pflash *p);

uint64_t pflash_size(const struct pflash *p);
/* Host mapping of the array (read-only), for the memslot. */
void *pflash_host_ptr(const struct pflash *p);
/* True while the device is in read-array mode (the memslot should be present). */
bool pflash_array_mode(const struct pflash *p);

#endif
