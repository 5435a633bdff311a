#include "vmm/boot/bzimage.h"

#include <errno.h>

#include "vmm/err.h"
#include "vmm/memmap.h"

/* Setup header fields: file offsets, identical inside boot_params. */
#define HDR_SETUP_SECTS      0x1f1
#define HDR_SYSSIZE          0x1f4
#define HDR_VID_MODE         0x1fa
#define HDR_BOOT_FLAG        0x1fe
#define HDR_JUMP             0x200
#define HDR_MAGIC            0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_SETUP_DATA       0x250
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260

/* boot_params fields outside the setup header (zero-page.rst). */
#define ZP_SIZE              4096
#define ZP_ACPI_RSDP         0x070
#define ZP_E820_ENTRIES      0x1e8
#define ZP_HDR_LIMIT         0x290   /* edd_mbr_sig_buffer follows the header */
#define ZP_E820_TABLE        0x2d0
#define ZP_E820_MAX          128

#define HDRS_MAGIC           0x53726448u  /* "HdrS" */
#define BOOT_FLAG_MAGIC      0xaa55
#define LOADED_HIGH          0x01
#define CAN_USE_HEAP         0x80
#define XLF_KERNEL_64        0x01
#define LOADER_UNDEFINED     0xff
#define VID_MODE_NORMAL      0xffff
#define OLD_INITRD_ADDR_MAX  0x37ffffff    /* before protocol 2.03 */
#define OLD_CMDLINE_MAX      255           /* before protocol 2.06 */
#define PROTO_ACPI_RSDP      0x020e
#define PROTO_INIT_SIZE      0x020a
#define STARTUP_64_OFFSET    0x200
/*
 * The setup heap only matters to the 16-bit setup code, which this loader
 * never runs; the value follows boot.rst's sample layout (heap up to
 * 0xe000 in the real-mode segment, stored minus 0x200).
 */
#define HEAP_END_PTR         0xde00
#define DIV_ROUND_UP_MIB(x)  (((x) >> 20) + !!((x) & (MiB - 1)))

static const char *kname(const struct boot_blob *k)
{
	return k->name ? k->name : "kernel";
}

bool bzimage_detect(const void *buf, size_t len)
{
	return len >= HDR_MAGIC + 4 && ld_le32((const uint8_t *)buf + HDR_MAGIC) == HDRS_MAGIC;
}

int bzimage_parse(const struct boot_blob *k, struct bzimage_info *out)
{
	const uint8_t *b = k->data;
	const char *name = kname(k);
	uint64_t declared;
	unsigned sects;

	memset(out, 0, sizeof(*out));
	if (!bzimage_detect(b, k->size))
		return err_set(-ENOEXEC, "%s: not a Linux kernel image (no \"HdrS\" at 0x202)",
			       name);
	if (ld_le16(b + HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC)
		return err_set(-ENOEXEC, "%s: bad boot_flag %#x (expected 0xaa55)", name,
			       ld_le16(b + HDR_BOOT_FLAG));
	out->version = ld_le16(b + HDR_VERSION);
	if (out->version < BZIMAGE_MIN_VERSION)
		return err_set(-ENOEXEC, "%s: boot protocol %u.%02u is too old (need 2.%02u)",
			       name, out->version >> 8, out->version & 0xff,
			       BZIMAGE_MIN_VERSION & 0xff);
	out->loadflags = b[HDR_LOADFLAGS];
	if (!(out->loadflags & LOADED_HIGH))
		return err_set(-ENOEXEC, "%s: zImage kernels (loaded below 1 MiB) are not "
			       "supported", name);

	sects = b[HDR_SETUP_SECTS] ? b[HDR_SETUP_SECTS] : 4;
	out->setup_size = (sects + 1) * 512;
	if (out->setup_size >= k->size)
		return err_set(-ENOEXEC, "%s: setup code (%u sectors) runs past the end of the "
			       "%llu-byte file", name, sects, (unsigned long long)k->size);
	/* The 2-byte jump at 0x200 doubles as the header length. Since the
	 * setup is at least 5 sectors, the whole header is inside the file. */
	if (b[HDR_JUMP] != 0xeb)
		return err_set(-ENOEXEC, "%s: malformed setup header (no short jump at 0x200)",
			       name);
	out->hdr_end = HDR_MAGIC + b[HDR_JUMP + 1];
	if (out->hdr_end < HDR_CMDLINE_SIZE + 4 || out->hdr_end > ZP_HDR_LIMIT ||
	    (out->version >= PROTO_INIT_SIZE && out->hdr_end < HDR_INIT_SIZE + 4))
		return err_set(-ENOEXEC, "%s: setup header length %#x does not fit protocol "
			       "%u.%02u", name, out->hdr_end, out->version >> 8,
			       out->version & 0xff);

	out->pm_offset = out->setup_size;
	out->pm_size = k->size - out->setup_size;
	declared = (uint64_t)ld_le32(b + HDR_SYSSIZE) * 16;
	if (!declared)
		return err_set(-ENOEXEC, "%s: no protected-mode kernel (syssize is 0)", name);
	/* syssize is rounded up to 16-byte paragraphs. */
	if (declared > out->pm_size + 15)
		return err_set(-ENOEXEC, "%s: truncated: the header declares %llu bytes of "
			       "kernel, the file has %llu", name, (unsigned long long)declared,
			       (unsigned long long)out->pm_size);

	out->cmdline_size = ld_le32(b + HDR_CMDLINE_SIZE);
	out->initrd_addr_max = ld_le32(b + HDR_INITRD_ADDR_MAX);
	out->kernel_alignment = ld_le32(b + HDR_KERNEL_ALIGNMENT);
	out->relocatable = b[HDR_RELOCATABLE] != 0;
	if (out->version >= PROTO_INIT_SIZE) {
		out->pref_address = ld_le64(b + HDR_PREF_ADDRESS);
		out->init_size = ld_le32(b + HDR_INIT_SIZE);
	}
	if (out->version >= BZIMAGE_64BIT_VERSION) {
		out->xloadflags = ld_le16(b + HDR_XLOADFLAGS);
		out->entry64 = out->xloadflags & XLF_KERNEL_64;
	}
	return 0;
}

/*
 * End of the memory the kernel may use before it reads the e820 map: its
 * image at 1 MiB, and init_size bytes from wherever it will run. A
 * relocatable kernel runs at the load address rounded up to its alignment,
 * but never below pref_address (LOAD_PHYSICAL_ADDR) in practice; a fixed
 * one at pref_address. Take the largest candidate, so the initrd is never
 * placed where the kernel decompresses.
 */
static uint64_t kernel_reserve_end(const struct bzimage_info *bi, uint64_t load)
{
	uint64_t end = load + bi->pm_size, start = load;

	if (bi->relocatable && bi->kernel_alignment &&
	    !(bi->kernel_alignment & (bi->kernel_alignment - 1)))
		start = ALIGN_UP(load, (uint64_t)bi->kernel_alignment);
	start = MAX(start, bi->pref_address);
	if (start > UINT64_MAX - bi->init_size)
		return UINT64_MAX;      /* a hostile pref_address: never fits */
	return MAX(end, start + bi->init_size);
}

static void build_zero_page(uint8_t *zp, const struct boot_inputs *in,
			    const struct bzimage_info *bi, uint64_t initrd_addr,
			    uint64_t initrd_size)
{
	memset(zp, 0, ZP_SIZE);
	/* Start from the kernel's own header, then fill what the loader owns. */
	memcpy(zp + HDR_SETUP_SECTS, in->kernel.data + HDR_SETUP_SECTS,
	       bi->hdr_end - HDR_SETUP_SECTS);
	st_le16(zp + HDR_VID_MODE, VID_MODE_NORMAL);
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] = bi->loadflags | CAN_USE_HEAP;
	st_le32(zp + HDR_CODE32_START, (uint32_t)MM_HIGH_RAM);
	st_le32(zp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	st_le32(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	st_le16(zp + HDR_HEAP_END_PTR, HEAP_END_PTR);
	st_le32(zp + HDR_CMD_LINE_PTR, (uint32_t)MM_CMDLINE);
	/* No setup_data list: never pass on a pointer from the image. */
	if (bi->hdr_end >= HDR_SETUP_DATA + 8)
		st_le64(zp + HDR_SETUP_DATA, 0);
	/* Older kernels read the RSDP only by scanning the BIOS area. */
	if (in->acpi_rsdp && bi->version >= PROTO_ACPI_RSDP)
		st_le64(zp + ZP_ACPI_RSDP, in->acpi_rsdp);
	zp[ZP_E820_ENTRIES] = (uint8_t)in->e820->n;
	e820_serialize(in->e820, zp + ZP_E820_TABLE, ZP_E820_MAX * E820_ENTRY_SIZE);
}

/* Place the initrd page-aligned as high as the kernel allows, above the
 * kernel's reservation. Returns its address or 0 with err set. */
static uint64_t place_initrd(const struct boot_blob *rd, const struct bzimage_info *bi,
			     uint64_t floor, uint64_t ram_end)
{
	uint64_t max = bi->version >= 0x0203 ? bi->initrd_addr_max : OLD_INITRD_ADDR_MAX;
	uint64_t top = MIN(max + 1, ram_end), addr;

	floor = ALIGN_UP(floor, 4 * KiB);
	if (rd->size > top || (addr = ALIGN_DOWN(top - rd->size, 4 * KiB)) < floor) {
		err_set(-ENOMEM, "-initrd %s: %llu bytes do not fit between the kernel (up to "
			"%#llx) and the initrd limit %#llx", rd->name ? rd->name : "initrd",
			(unsigned long long)rd->size, (unsigned long long)floor,
			(unsigned long long)top);
		return 0;
	}
	return addr;
}

int bzimage_load(const struct boot_inputs *in, const struct guest_mem *gm,
		 struct boot_cpu_state *out)
{
	const char *name = kname(&in->kernel), *cmdline = in->cmdline ? in->cmdline : "";
	uint64_t load = MM_HIGH_RAM, ram_end, reserve_end, initrd_addr = 0, initrd_size = 0;
	size_t cmdlen = strlen(cmdline), cmdmax;
	uint8_t zp[ZP_SIZE];
	struct bzimage_info bi;
	int ret;

	ret = bzimage_parse(&in->kernel, &bi);
	if (ret)
		return ret;
	if (!in->e820 || in->e820->n > ZP_E820_MAX)
		return err_set(-EINVAL, "%s: no usable e820 map for boot_params", name);
	ram_end = e820_ram_end(in->e820, load);
	if (!ram_end)
		return err_set(-ENOMEM, "%s: no RAM at 1 MiB to load the kernel", name);
	ram_end = MIN(ram_end, MM_HIGHMEM_START);
	reserve_end = kernel_reserve_end(&bi, load);
	if (reserve_end > ram_end)
		return err_set(-ENOMEM, "%s: kernel needs RAM up to %#llx (at least %llu MiB) "
			       "but RAM below 4 GiB ends at %#llx", name,
			       (unsigned long long)reserve_end,
			       (unsigned long long)MIN(DIV_ROUND_UP_MIB(reserve_end), 4096ULL),
			       (unsigned long long)ram_end);

	cmdmax = MIN((size_t)(MM_CMDLINE_MAX - 1),
		     (size_t)(bi.version >= 0x0206 ? bi.cmdline_size : OLD_CMDLINE_MAX));
	if (cmdlen > cmdmax)
		return err_set(-E2BIG, "-append: command line is %zu bytes, %s accepts at most "
			       "%zu", cmdlen, name, cmdmax);

	if (in->nmods > 1)
		return err_set(-EINVAL, "-initrd: a Linux kernel takes one initrd, not %u "
			       "files", in->nmods);
	if (in->nmods && in->mods[0].file.size) {
		initrd_size = in->mods[0].file.size;
		initrd_addr = place_initrd(&in->mods[0].file, &bi, reserve_end, ram_end);
		if (!initrd_addr)
			return -ENOMEM;
	}

	ret = boot_copy(gm, load, in->kernel.data + bi.pm_offset, bi.pm_size, bi.pm_size,
			"kernel");
	if (!ret && initrd_size)
		ret = boot_copy(gm, initrd_addr, in->mods[0].file.data, initrd_size,
				initrd_size, "initrd");
	if (!ret)
		ret = boot_copy(gm, MM_CMDLINE, cmdline, cmdlen, cmdlen + 1, "command line");
	if (ret)
		return err_prefix(ret, "%s", name);

	build_zero_page(zp, in, &bi, initrd_addr, initrd_size);
	ret = boot_copy(gm, MM_ZERO_PAGE, zp, sizeof(zp), sizeof(zp), "boot_params");
	if (!ret)
		ret = bootcpu_write_gdt(gm, bi.entry64);
	if (!ret && bi.entry64)
		ret = bootcpu_write_identity_map(gm);
	if (ret)
		return err_prefix(ret, "%s", name);

	if (bi.entry64) {
		bootcpu_init_long64(out);
		out->rip = load + STARTUP_64_OFFSET;
	} else {
		bootcpu_init_flat32(out);
		out->rip = load;
	}
	/* The protocol wants ESI = boot_params and EBP/EDI/EBX zero. */
	out->rsi = MM_ZERO_PAGE;
	out->rsp = MM_BOOT_STACK;
	return 0;
}
