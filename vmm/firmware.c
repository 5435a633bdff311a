/*
 * Boot paths: the built-in default guest, -bios images, the two pflash
 * units (OVMF) and direct kernel boot (-kernel: Linux bzImage or
 * Multiboot). Images are read and placed before RAM is mapped (the ISA
 * BIOS alias needs a hole in low RAM); kernels are loaded once the machine
 * description exists, because their e820 map is derived from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/chipset/pflash.h"
#include "firmware/embedded.h"
#include "vmm/boot/acpi.h"
#include "vmm/boot/bios.h"
#include "vmm/boot/bootparams.h"
#include "vmm/boot/bzimage.h"
#include "vmm/boot/cpustate.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/multiboot.h"
#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/machine_internal.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"


struct flash_unit {
	struct machine *m;
	struct pflash *dev;
	int fd;
	uint64_t base, size;
	struct vm_mapping map;
	bool mapped;
	bool want_mapped;          /* asked for during pflash_create() */
	const char *file;
};

struct firmware {
	enum { FW_NONE, FW_BIOS, FW_PFLASH, FW_KERNEL } kind;
	struct bios_image bios;
	bool bios_loaded;
	struct vm_mapping bios_high, bios_isa;
	struct flash_unit flash[2];
	int nflash;
	bool secure_flash;
};

/* ---- -bios and the built-in default guest ---- */

static int load_embedded(struct firmware *fw)
{
	size_t len = embedded_default_guest_size();
	void *buf;

	if (bios_check("built-in default guest", len) < 0)
		return -EINVAL;
	if (posix_memalign(&buf, 4096, ALIGN_UP(len, 4096)))
		return -ENOMEM;
	memcpy(buf, kvmrun_default_guest, len);
	memset(&fw->bios, 0, sizeof(fw->bios));
	fw->bios.blob.name = "built-in default guest";
	fw->bios.blob.data = buf;
	fw->bios.blob.size = len;
	fw->bios.blob.map = buf;
	fw->bios.blob.map_size = 0;   /* heap buffer: freed below, not munmap'ed */
	bios_map(&fw->bios);
	return 0;
}

static int map_bios(struct machine *m, struct firmware *fw)
{
	int r;

	r = vm_map_all(m->vm, fw->bios.high.gpa, fw->bios.high.size, fw->bios.high.host,
		       KVM_MEM_READONLY, &fw->bios_high);
	if (r < 0)
		return err_prefix(r, "%s", fw->bios.blob.name);
	if (!m->smm_owns_low) {
		r = vm_map_all(m->vm, fw->bios.isa.gpa, fw->bios.isa.size, fw->bios.isa.host,
			       KVM_MEM_READONLY, &fw->bios_isa);
		if (r < 0)
			return err_prefix(r, "%s (ISA alias)", fw->bios.blob.name);
		m->low_hole_start = fw->bios.isa.gpa;
		m->low_hole_end = fw->bios.isa.gpa + fw->bios.isa.size;
	}
	machine_add_reserved(m, fw->bios.high.gpa, fw->bios.high.size, "bios");
	return 0;
}

/* ---- pflash (q35): unit 0 ends at 4 GiB, unit 1 sits below it ---- */

static void flash_map_array(void *opaque, bool on)
{
	struct flash_unit *u = opaque;
	int r;

	u->want_mapped = on;
	if (!u->dev || on == u->mapped)
		return;   /* still inside pflash_create(): applied once it returns */
	if (on) {
		r = vm_map_all(u->m->vm, u->base, u->size, pflash_host_ptr(u->dev),
			       KVM_MEM_READONLY, &u->map);
		if (r < 0) {
			/* Reads then trap as MMIO and still work, only slower. */
			log_warn("%s: cannot map the flash array: %s", u->file, err_get());
			return;
		}
	} else {
		vm_unmap_all(u->m->vm, &u->map);
	}
	u->mapped = on;
}

static bool secure_flash_requested(struct machine *m)
{
	const char *v = cfg_global(m->cfg, "cfi.pflash01", "secure");

	if (!v)
		v = cfg_global(m->cfg, "cfi", "pflash01.secure");   /* QEMU splits at the first dot */
	return v && cli_parse_bool(v) == 1;
}

static int open_flash(struct machine *m, struct firmware *fw, struct drive_cfg *d,
		      uint64_t top)
{
	struct flash_unit *u = &fw->flash[fw->nflash];
	struct pflash_config pc = { 0 };
	struct stat st;
	int r;

	u->m = m;
	u->file = d->file;
	u->fd = open(d->file, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (u->fd < 0) {
		r = -errno;
		if (r == -EACCES || r == -EROFS)
			return err_set(r, "-drive %s: cannot open '%s' for writing: %s (add "
					  "readonly=on for a firmware code image)",
				       d->spec, d->file, strerror(-r));
		return err_set(r, "-drive %s: cannot open '%s': %s", d->spec, d->file,
			       strerror(-r));
	}
	if (fstat(u->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(-EINVAL, "-drive %s: '%s' is not a regular file", d->spec, d->file);
	if (st.st_size <= 0 || st.st_size % 4096 || (uint64_t)st.st_size > MM_FLASH_MAX_SIZE)
		return err_set(-EINVAL, "-drive %s: '%s' has %lld bytes; a flash image must be a "
					"non-empty multiple of 4 KiB up to %llu MiB",
			       d->spec, d->file, (long long)st.st_size,
			       (unsigned long long)(MM_FLASH_MAX_SIZE >> 20));
	u->size = (uint64_t)st.st_size;
	if (top - u->size < MM_FLASH_TOP - MM_FLASH_MAX_SIZE)
		return err_set(-EINVAL, "-drive %s: the flash units together exceed %llu MiB",
			       d->spec, (unsigned long long)(MM_FLASH_MAX_SIZE >> 20));
	u->base = top - u->size;
	pc.name = d->file;
	pc.fd = u->fd;
	pc.size = u->size;
	pc.readonly = d->readonly;
	pc.secure = fw->secure_flash;
	pc.map_array = flash_map_array;
	pc.opaque = u;
	r = pflash_create(&u->dev, &pc);
	if (r < 0)
		return err_prefix(r, "-drive %s", d->spec);
	if (u->want_mapped)
		flash_map_array(u, true);
	r = bus_register(&m->vm->mmio, u->base, u->size, &pflash_ops, u->dev);
	if (r < 0)
		return err_set(r, "-drive %s: flash at 0x%llx overlaps another device", d->spec,
			       (unsigned long long)u->base);
	machine_add_reserved(m, u->base, u->size, "flash");
	d->used = true;
	fw->nflash++;
	return 0;
}

static int load_pflash(struct machine *m, struct firmware *fw)
{
	struct drive_cfg *units[2] = { NULL, NULL };
	uint64_t top = MM_FLASH_TOP;
	int i, next = 0, r;

	fw->secure_flash = secure_flash_requested(m);
	for (i = 0; i < m->cfg->ndrives; i++) {
		struct drive_cfg *d = &m->cfg->drives[i];
		int unit = d->unit >= 0 ? d->unit : d->index >= 0 ? d->index : next;

		if (d->iface != DRIVE_IF_PFLASH)
			continue;
		if (unit > 1)
			return err_set(-EINVAL, "-drive %s: pflash unit %d (kvmrun has units 0 and 1)",
				       d->spec, unit);
		if (units[unit])
			return err_set(-EINVAL, "-drive %s: pflash unit %d is already used", d->spec,
				       unit);
		units[unit] = d;
		next = unit + 1;
	}
	if (!units[0] && units[1])
		return err_set(-EINVAL, "-drive %s: pflash unit 1 without unit 0", units[1]->spec);
	for (i = 0; i < 2 && units[i]; i++) {
		r = open_flash(m, fw, units[i], top);
		if (r < 0)
			return r;
		top = fw->flash[i].base;
	}
	return 0;
}

/* ---- direct kernel boot ---- */

static void *fw_gmem_ptr(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	return vm_gpa_ptr(opaque, gpa, len);
}

/* e820 from the machine description: RAM, the BIOS area, reserved ranges. */
static int build_e820(struct machine *m, bool bios_holes, bool with_reserved,
		      struct e820_map *map)
{
	struct desc_range res[DESC_MAX_RANGES];
	struct e820_range extra[DESC_MAX_RANGES + 1];
	struct ram_layout l = { 0 };
	int n = 0, i, k = 0;

	l.low_top = desc_low_ram_top(m->fdt);
	l.high_size = desc_high_ram_size(m->fdt);
	l.bios_holes = bios_holes;
	if (with_reserved) {
		n = desc_reserved_ranges(m->fdt, res, DESC_MAX_RANGES);
		for (i = 0; i < n; i++) {
			/* Ranges above RAM (flash, BIOS) are not memory to describe. */
			if (res[i].gpa >= l.low_top && res[i].gpa < MM_HIGHMEM_START)
				continue;
			extra[k].addr = res[i].gpa;
			extra[k].size = res[i].size;
			extra[k].type = strncmp(res[i].name, "acpi", 4) ? E820_RESERVED : E820_ACPI;
			k++;
		}
	}
	l.extra = extra;
	l.nextra = (unsigned)k;
	return e820_build(&l, map);
}

int firmware_e820(struct machine *m, bool bios_holes, bool with_reserved, struct e820_map *map)
{
	return build_e820(m, bios_holes, with_reserved, map);
}

static int load_kernel(struct machine *m)
{
	struct guest_mem gm = { .ptr = fw_gmem_ptr, .opaque = m->vm };
	struct boot_inputs in = { 0 };
	struct boot_module *mods = NULL, initrd = { 0 };
	struct boot_cpu_state st;
	struct e820_map map;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct vcpu *bsp = m->vm->vcpus[0];
	int r, nmods = 0;

	r = build_e820(m, true, true, &map);
	if (r < 0)
		return r;
	r = boot_blob_read("-kernel", m->cfg->kernel, m->cfg->ram_size, &in.kernel);
	if (r < 0)
		return r;
	in.cmdline = m->cfg->append;
	in.e820 = &map;
	in.acpi_rsdp = m->acpi_rsdp;
	if (bzimage_detect(in.kernel.data, in.kernel.size)) {
		if (m->cfg->initrd) {
			r = boot_blob_read("-initrd", m->cfg->initrd, 4 * GiB, &initrd.file);
			if (r < 0)
				goto out;
			in.mods = &initrd;
			in.nmods = 1;
		}
		r = bzimage_load(&in, &gm, &st);
		log_info("-kernel %s: Linux bzImage", m->cfg->kernel);
	} else if (multiboot_detect(in.kernel.data, in.kernel.size)) {
		if (m->cfg->initrd) {
			nmods = boot_modules_read(m->cfg->initrd, 4 * GiB, &mods);
			if (nmods < 0) {
				r = nmods;
				nmods = 0;
				goto out;
			}
			in.mods = mods;
			in.nmods = (unsigned)nmods;
		}
		r = multiboot_load(&in, &gm, &st);
		log_info("-kernel %s: Multiboot kernel", m->cfg->kernel);
	} else {
		r = err_set(-ENOEXEC, "-kernel %s: neither a Linux bzImage nor a Multiboot kernel",
			    m->cfg->kernel);
	}
	if (r < 0)
		goto out;
	r = vcpu_ioctl(bsp, KVM_GET_SREGS, &sregs);
	if (r == 0)
		r = vcpu_ioctl(bsp, KVM_GET_REGS, &regs);
	if (r == 0) {
		bootcpu_to_kvm(&st, &regs, &sregs);
		r = vcpu_ioctl(bsp, KVM_SET_SREGS, &sregs);
	}
	if (r == 0)
		r = vcpu_ioctl(bsp, KVM_SET_REGS, &regs);
	if (r < 0)
		err_set(r, "-kernel: cannot set the boot CPU state: %s", strerror(-r));
out:
	boot_blob_free(&in.kernel);
	boot_blob_free(&initrd.file);
	if (mods)
		boot_modules_free(mods, nmods);
	return r;
}

/* ---- phases ---- */

int firmware_prepare(struct machine *m)
{
	struct firmware *fw = calloc(1, sizeof(*fw));
	bool have_pflash = false;
	int i, r;

	if (!fw)
		return -ENOMEM;
	fw->flash[0].fd = fw->flash[1].fd = -1;
	m->fw = fw;
	for (i = 0; i < m->cfg->ndrives; i++)
		if (m->cfg->drives[i].iface == DRIVE_IF_PFLASH)
			have_pflash = true;
	if (have_pflash && m->cfg->bios)
		return err_set(-EINVAL, "-bios cannot be combined with -drive if=pflash");
	if (m->cfg->kernel) {
		fw->kind = FW_KERNEL;
		if (m->cfg->bios || have_pflash)
			return err_set(-EINVAL, "-kernel with firmware (-bios/pflash) is not "
						"supported: kvmrun boots kernels directly");
		/* The ACPI tables live in 0xE0000..0xEFFFF; keep them out of RAM use. */
		machine_add_reserved(m, MM_ACPI_TABLES, MM_ACPI_TABLES_SIZE, "acpi");
		return 0;
	}
	if (have_pflash) {
		fw->kind = FW_PFLASH;
		return load_pflash(m, fw);
	}
	if (m->cfg->bios) {
		r = bios_load_file(m->cfg->bios, &fw->bios);
		if (r < 0)
			return r;
		fw->bios_loaded = true;
	} else {
		/* No boot source given (e.g. plain `kvmrun`): the built-in demo guest. */
		log_info("no -bios, -kernel or pflash given: booting the built-in demo guest");
		r = load_embedded(fw);
		if (r < 0)
			return r;
		fw->bios_loaded = true;
	}
	fw->kind = FW_BIOS;
	return 0;
}

int firmware_map(struct machine *m)
{
	struct firmware *fw = m->fw;

	if (fw->kind == FW_BIOS)
		return map_bios(m, fw);
	return 0;
}

int firmware_boot(struct machine *m)
{
	if (m->fw->kind == FW_KERNEL)
		return load_kernel(m);
	return 0;
}

int firmware_reset(struct machine *m)
{
	struct firmware *fw = m->fw;
	int i;

	for (i = 0; i < fw->nflash; i++)
		pflash_reset(fw->flash[i].dev);
	if (fw->kind == FW_KERNEL)
		return load_kernel(m);
	return 0;
}

void firmware_destroy(struct machine *m)
{
	struct firmware *fw = m->fw;
	int i;

	if (!fw)
		return;
	for (i = 0; i < 2; i++) {
		struct flash_unit *u = &fw->flash[i];

		if (u->dev) {
			pflash_flush(u->dev);
			bus_unregister_dev(&m->vm->mmio, u->dev);
			if (u->mapped)
				vm_unmap_all(m->vm, &u->map);
			pflash_destroy(u->dev);
		}
		if (u->fd >= 0)
			close(u->fd);
	}
	if (fw->bios_loaded) {
		if (!fw->bios.blob.map_size) {
			free(fw->bios.blob.map);
			fw->bios.blob.map = NULL;
		}
		bios_free(&fw->bios);
	}
	free(fw);
	m->fw = NULL;
}
