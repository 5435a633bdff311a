/*
 * QEMU firmware configuration device (fw_cfg), x86 I/O port flavour.
 *
 * Register it on the PIO bus at PORT_FW_CFG with length FWCFG_IO_LEN:
 *   offset 0 (0x510)  selector, 16-bit little-endian write
 *   offset 1 (0x511)  data, 8-bit; reads stream the selected item
 *   offset 4 (0x514)  DMA address, 64-bit big-endian; writing the low half
 *                     (offset 8) starts a transfer; reads give "QEMU CFG"
 *
 * Items are numeric keys (< 0x20, or arch-local 0x8000+) and named files
 * (keys 0x20 + n, listed by name in the directory at key 0x19). Reads past
 * the end of an item return 0. Writes to writable files are accepted both
 * by DMA and byte-wise on the data port: OVMF's QemuFwCfgWriteBytes() falls
 * back to 0x511 writes when DMA is not offered.
 *
 * The optional SMI feature negotiation (etc/smi/...) follows QEMU's ICH9
 * LPC rules; success is reported through smi_features_cb so that the LPC
 * can broadcast SMIs.
 */
#ifndef KVMRUN_DEVICES_FWCFG_H
#define KVMRUN_DEVICES_FWCFG_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/guestmem.h"

#define FWCFG_IO_LEN      12   /* 0x510..0x51b */
#define FWCFG_IO_SELECTOR 0
#define FWCFG_IO_DATA     1
#define FWCFG_IO_DMA      4    /* high half at 4, low half at 8 */

/* Well-known keys */
#define FWCFG_SIGNATURE   0x0000
#define FWCFG_ID          0x0001
#define FWCFG_UUID        0x0002
#define FWCFG_RAM_SIZE    0x0003
#define FWCFG_NB_CPUS     0x0005
#define FWCFG_BOOT_MENU   0x000e
#define FWCFG_MAX_CPUS    0x000f
#define FWCFG_FILE_DIR    0x0019
#define FWCFG_FILE_FIRST  0x0020
#define FWCFG_MAX_FILES   64
#define FWCFG_NAME_MAX    56   /* including the terminating NUL */
#define FWCFG_ARCH_LOCAL  0x8000
#define FWCFG_WRITE_CHANNEL 0x4000   /* legacy selector bit, ignored */

/* FWCFG_ID bits */
#define FWCFG_VERSION_TRADITIONAL 0x1
#define FWCFG_VERSION_DMA         0x2

/* DMA control bits (big-endian u32 in the descriptor) */
#define FWCFG_DMA_ERROR  0x01
#define FWCFG_DMA_READ   0x02
#define FWCFG_DMA_SKIP   0x04
#define FWCFG_DMA_SELECT 0x08
#define FWCFG_DMA_WRITE  0x10
#define FWCFG_DMA_SIGNATURE 0x51454d5520434647ULL   /* "QEMU CFG" */

/* SMI features (etc/smi/...), as in QEMU's ICH9 LPC */
#define FWCFG_SMI_F_BROADCAST      (1ULL << 0)
#define FWCFG_SMI_F_CPU_HOTPLUG    (1ULL << 1)
#define FWCFG_SMI_F_CPU_HOT_UNPLUG (1ULL << 2)

/* e820 types as used in etc/e820 */
#define FWCFG_E820_RAM      1
#define FWCFG_E820_RESERVED 2

struct fwcfg;

struct fwcfg_config {
	/* Guest memory for DMA. NULL: no DMA interface (FWCFG_ID bit 1 clear). */
	const struct guest_mem *mem;
	uint16_t nb_cpus;               /* FWCFG_NB_CPUS: CPUs present at boot */
	uint16_t max_cpus;              /* FWCFG_MAX_CPUS */
	/*
	 * Supported SMI features (etc/smi/supported-features). 0 leaves the
	 * three etc/smi/ files out, which OVMF treats as "no negotiation".
	 * kvmrun offers FWCFG_SMI_F_BROADCAST only.
	 */
	uint64_t smi_features;
	/* Called once when the guest's request is accepted (features-ok). */
	void (*smi_features_cb)(void *opaque, uint64_t features);
	void *opaque;
};

/* Callbacks of a file item; both optional. */
struct fwcfg_file_ops {
	/* The item was selected: @data (owned by fw_cfg) may be refreshed. */
	void (*select)(void *opaque, uint8_t *data, uint32_t len);
	/* The guest wrote [off, off+n) of a writable item (already stored). */
	void (*write)(void *opaque, const uint8_t *data, uint32_t len, uint32_t off, uint32_t n);
};

/* One etc/e820 entry */
struct fwcfg_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

extern const struct dev_ops fwcfg_ops;

/* 0 or -ENOMEM/-EINVAL (err set). */
int fwcfg_create(struct fwcfg **out, const struct fwcfg_config *cfg);
void fwcfg_destroy(struct fwcfg *f);
/* System reset: selects key 0, clears DMA address and SMI negotiation. */
void fwcfg_reset(struct fwcfg *f);

/*
 * Numeric items. Any key except the generated ones (0x00, 0x01, 0x19) and
 * the file range; an existing key is replaced. Values are little-endian.
 * 0 or -EINVAL/-ENOMEM.
 */
int fwcfg_add_bytes(struct fwcfg *f, uint16_t key, const void *data, uint32_t len);
int fwcfg_add_i16(struct fwcfg *f, uint16_t key, uint16_t v);
int fwcfg_add_i32(struct fwcfg *f, uint16_t key, uint32_t v);
int fwcfg_add_i64(struct fwcfg *f, uint16_t key, uint64_t v);

/*
 * Named files; the data is copied. Return the key (>= 0x20) or -EINVAL
 * (bad name), -EEXIST, -ENOSPC (too many files), -ENOMEM.
 */
int fwcfg_add_file(struct fwcfg *f, const char *name, const void *data, uint32_t len);
int fwcfg_add_file_cb(struct fwcfg *f, const char *name, const void *data, uint32_t len,
		      bool writable, const struct fwcfg_file_ops *ops, void *opaque);

/* Helpers for common files; return the key or -errno like fwcfg_add_file. */
int fwcfg_add_e820(struct fwcfg *f, const struct fwcfg_e820 *map, unsigned n);
/* "bootorder": OpenFirmware device paths, one per line, NUL-terminated. */
int fwcfg_add_bootorder(struct fwcfg *f, const char *const *paths, unsigned n);
/* FWCFG_BOOT_MENU (u16) and "etc/boot-menu-wait" (u16 milliseconds). */
int fwcfg_add_boot_menu(struct fwcfg *f, bool enabled, uint16_t wait_ms);

/* Introspection (tests, machine): the stored bytes of a file, or NULL. */
const uint8_t *fwcfg_file_data(const struct fwcfg *f, const char *name, uint32_t *len);
/* SMI features accepted by the guest, 0 until features-ok succeeded. */
uint64_t fwcfg_smi_negotiated(const struct fwcfg *f);

#endif
