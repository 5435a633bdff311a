#include "vmm/boot/multiboot.h"

#include <elf.h>
#include <errno.h>

#include "vmm/err.h"
#include "vmm/memmap.h"

#define MAX_SEGMENTS      32
#define MAX_MODULES       64
#define HDR_MIN_SIZE      12            /* magic, flags, checksum */
#define HDR_AOUT_SIZE     32            /* + the five address fields */
/* Flags 0..15 are requirements; these are the ones understood. */
#define KNOWN_REQUIRED    (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE)
#define LOW_MEM_MAX_KIB   640
#define PAGE_4K           (4 * KiB)

/* Boot information layout inside [MM_MB_INFO, MM_MB_INFO_END). */
#define INFO_AREA         (MM_MB_INFO_END - MM_MB_INFO)
#define INFO_MMAP_OFF     0x60
#define STR_AREA          (MM_MB_CMDLINE_END - MM_MB_CMDLINE)

/* Offsets inside the multiboot_info structure. */
#define MBI_FLAGS         0
#define MBI_MEM_LOWER     4
#define MBI_MEM_UPPER     8
#define MBI_CMDLINE       16
#define MBI_MODS_COUNT    20
#define MBI_MODS_ADDR     24
#define MBI_MMAP_LENGTH   44
#define MBI_MMAP_ADDR     48
#define MBI_LOADER_NAME   64

struct segment {
	uint64_t paddr, filesz, memsz;
	const uint8_t *src;
};

struct image {
	struct segment seg[MAX_SEGMENTS];
	unsigned n;
	uint64_t entry;
	uint64_t end;                 /* highest byte + 1 of any segment */
};

static const char *kname(const struct boot_blob *k)
{
	return k->name ? k->name : "kernel";
}

/* Offset of the first valid header, -1 if none; *@bad_sum tells whether a
 * magic with a wrong checksum was seen (for a better message). */
static long scan_header(const uint8_t *b, size_t len, long *bad_sum)
{
	size_t lim = MIN(len, (size_t)MULTIBOOT_SEARCH_LIMIT), off;

	*bad_sum = -1;
	for (off = 0; off + HDR_MIN_SIZE <= lim; off += 4) {
		uint32_t flags = ld_le32(b + off + 4), sum = ld_le32(b + off + 8);

		if (ld_le32(b + off) != MULTIBOOT_HEADER_MAGIC)
			continue;
		if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags + sum) == 0)
			return (long)off;
		if (*bad_sum < 0)
			*bad_sum = (long)off;
	}
	return -1;
}

bool multiboot_detect(const void *buf, size_t len)
{
	long bad;

	return scan_header(buf, len, &bad) >= 0;
}

int multiboot_find_header(const struct boot_blob *k, struct multiboot_header *h)
{
	const uint8_t *b = k->data;
	size_t lim = MIN(k->size, (uint64_t)MULTIBOOT_SEARCH_LIMIT);
	long off, bad;
	uint32_t unknown;

	memset(h, 0, sizeof(*h));
	off = scan_header(b, k->size, &bad);
	if (off < 0 && bad >= 0)
		return err_set(-ENOEXEC, "%s: multiboot header at %#lx has a bad checksum",
			       kname(k), bad);
	if (off < 0)
		return err_set(-ENOEXEC, "%s: no multiboot header in the first 8 KiB", kname(k));
	h->offset = (uint32_t)off;
	h->flags = ld_le32(b + off + 4);
	unknown = h->flags & 0xffff & ~(uint32_t)KNOWN_REQUIRED;
	if (unknown)
		return err_set(-ENOEXEC, "%s: multiboot header requires features %#x that "
			       "kvmrun does not support", kname(k), unknown);
	if (h->flags & MULTIBOOT_AOUT_KLUDGE) {
		if ((size_t)off + HDR_AOUT_SIZE > lim)
			return err_set(-ENOEXEC, "%s: multiboot address fields run past the first "
				       "8 KiB or the end of the file", kname(k));
		h->header_addr = ld_le32(b + off + 12);
		h->load_addr = ld_le32(b + off + 16);
		h->load_end_addr = ld_le32(b + off + 20);
		h->bss_end_addr = ld_le32(b + off + 24);
		h->entry_addr = ld_le32(b + off + 28);
	}
	return 0;
}

/* Layout from the header's address fields: one segment. */
static int image_from_aout(const struct boot_blob *k, const struct multiboot_header *h,
			   struct image *img)
{
	const char *name = kname(k);
	uint64_t text_off, load_size, mem_size;

	if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > h->offset)
		return err_set(-ENOEXEC, "%s: multiboot load_addr %#x is inconsistent with "
			       "header_addr %#x at file offset %#x", name, h->load_addr,
			       h->header_addr, h->offset);
	text_off = h->offset - (h->header_addr - h->load_addr);
	if (h->load_end_addr) {
		if (h->load_end_addr < h->load_addr)
			return err_set(-ENOEXEC, "%s: multiboot load_end_addr %#x is below "
				       "load_addr %#x", name, h->load_end_addr, h->load_addr);
		load_size = h->load_end_addr - h->load_addr;
		if (load_size > k->size - text_off)
			return err_set(-ENOEXEC, "%s: truncated: multiboot header asks for %llu "
				       "bytes from offset %#llx, the file has %llu", name,
				       (unsigned long long)load_size,
				       (unsigned long long)text_off,
				       (unsigned long long)k->size);
	} else {
		load_size = k->size - text_off;
	}
	mem_size = load_size;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < h->load_addr + load_size)
			return err_set(-ENOEXEC, "%s: multiboot bss_end_addr %#x is below the end "
				       "of the loaded image", name, h->bss_end_addr);
		mem_size = h->bss_end_addr - h->load_addr;
	}
	if (!mem_size)
		return err_set(-ENOEXEC, "%s: multiboot image is empty", name);
	if (h->entry_addr < h->load_addr || h->entry_addr - h->load_addr >= mem_size)
		return err_set(-ENOEXEC, "%s: multiboot entry_addr %#x is outside the image "
			       "[%#x, +%#llx)", name, h->entry_addr, h->load_addr,
			       (unsigned long long)mem_size);
	img->seg[0] = (struct segment){
		.paddr = h->load_addr, .filesz = load_size, .memsz = mem_size,
		.src = k->data + text_off,
	};
	img->n = 1;
	img->entry = h->entry_addr;
	return 0;
}

/* The fields of one ELF32/ELF64 program header the loader needs. */
static void read_phdr(const uint8_t *p, bool is64, uint32_t *type, uint64_t *off,
		      uint64_t *vaddr, uint64_t *paddr, uint64_t *filesz, uint64_t *memsz)
{
	*type = ld_le32(p);
	if (is64) {
		*off = ld_le64(p + 8);
		*vaddr = ld_le64(p + 16);
		*paddr = ld_le64(p + 24);
		*filesz = ld_le64(p + 32);
		*memsz = ld_le64(p + 40);
	} else {
		*off = ld_le32(p + 4);
		*vaddr = ld_le32(p + 8);
		*paddr = ld_le32(p + 12);
		*filesz = ld_le32(p + 16);
		*memsz = ld_le32(p + 20);
	}
}

/* Layout from the ELF program headers: PT_LOAD segments at p_paddr; the
 * entry point translated from virtual to physical through its segment,
 * as boot loaders do for higher-half kernels. */
static int image_from_elf(const struct boot_blob *k, struct image *img)
{
	const uint8_t *b = k->data;
	const char *name = kname(k);
	uint64_t entry, phoff, len = k->size;
	unsigned phentsize, phnum, i, min_ent;
	bool is64, have_entry = false;

	if (len < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG))
		return err_set(-ENOEXEC, "%s: multiboot image has no address fields (flag 16) "
			       "and is not ELF", name);
	if (b[EI_CLASS] != ELFCLASS32 && b[EI_CLASS] != ELFCLASS64)
		return err_set(-ENOEXEC, "%s: unknown ELF class %u", name, b[EI_CLASS]);
	is64 = b[EI_CLASS] == ELFCLASS64;
	if (len < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return err_set(-ENOEXEC, "%s: truncated ELF header", name);
	if (b[EI_DATA] != ELFDATA2LSB)
		return err_set(-ENOEXEC, "%s: ELF image is not little-endian", name);
	if (ld_le16(b + 16) != ET_EXEC)
		return err_set(-ENOEXEC, "%s: ELF type %u is not an executable", name,
			       ld_le16(b + 16));
	if (ld_le16(b + 18) != (is64 ? EM_X86_64 : EM_386))
		return err_set(-ENOEXEC, "%s: ELF%s machine %u is not %s", name,
			       is64 ? "64" : "32", ld_le16(b + 18), is64 ? "x86-64" : "i386");
	if (is64) {
		entry = ld_le64(b + 24);
		phoff = ld_le64(b + 32);
		phentsize = ld_le16(b + 54);
		phnum = ld_le16(b + 56);
		min_ent = sizeof(Elf64_Phdr);
	} else {
		entry = ld_le32(b + 24);
		phoff = ld_le32(b + 28);
		phentsize = ld_le16(b + 42);
		phnum = ld_le16(b + 44);
		min_ent = sizeof(Elf32_Phdr);
	}
	if (!phnum || phentsize < min_ent)
		return err_set(-ENOEXEC, "%s: ELF program header table is missing or malformed "
			       "(%u entries of %u bytes)", name, phnum, phentsize);
	if (phoff > len || (uint64_t)phnum * phentsize > len - phoff)
		return err_set(-ENOEXEC, "%s: ELF program headers run past the end of the file",
			       name);

	img->n = 0;
	for (i = 0; i < phnum; i++) {
		uint64_t off, vaddr, paddr, filesz, memsz;
		uint32_t type;

		read_phdr(b + phoff + (uint64_t)i * phentsize, is64, &type, &off, &vaddr, &paddr,
			  &filesz, &memsz);
		if (type != PT_LOAD || !memsz)
			continue;
		if (filesz > memsz || off > len || filesz > len - off)
			return err_set(-ENOEXEC, "%s: ELF segment %u (offset %#llx, %llu of %llu "
				       "bytes) runs past the end of the file or is malformed",
				       name, i, (unsigned long long)off,
				       (unsigned long long)filesz, (unsigned long long)memsz);
		if (img->n == MAX_SEGMENTS)
			return err_set(-ENOEXEC, "%s: more than %d loadable ELF segments", name,
				       MAX_SEGMENTS);
		img->seg[img->n++] = (struct segment){
			.paddr = paddr, .filesz = filesz, .memsz = memsz, .src = b + off,
		};
		if (!have_entry && vaddr <= entry && entry - vaddr < memsz) {
			img->entry = paddr + (entry - vaddr);
			have_entry = true;
		}
	}
	if (!img->n)
		return err_set(-ENOEXEC, "%s: ELF image has no loadable segments", name);
	if (!have_entry)
		return err_set(-ENOEXEC, "%s: ELF entry point %#llx is not inside a loadable "
			       "segment", name, (unsigned long long)entry);
	return 0;
}

/* Every segment must be RAM below 4 GiB and clear of the boot info area. */
static int check_segments(const struct boot_inputs *in, struct image *img)
{
	const char *name = kname(&in->kernel);
	unsigned i;

	img->end = 0;
	for (i = 0; i < img->n; i++) {
		const struct segment *s = &img->seg[i];
		uint64_t end;

		if (add_overflows_u64(s->paddr, s->memsz, &end) || end > MM_HIGHMEM_START)
			return err_set(-ENOEXEC, "%s: segment at %#llx (%llu bytes) is not "
				       "reachable in 32-bit mode", name,
				       (unsigned long long)s->paddr, (unsigned long long)s->memsz);
		if (s->paddr < MM_MB_CMDLINE_END || !e820_is_ram(in->e820, s->paddr, s->memsz))
			return err_set(-ENOMEM, "%s: segment [%#llx, %#llx) is not in free guest "
				       "RAM (RAM from %#llx)", name, (unsigned long long)s->paddr,
				       (unsigned long long)end,
				       (unsigned long long)MM_MB_CMDLINE_END);
		img->end = MAX(img->end, end);
	}
	if (img->entry >= MM_HIGHMEM_START)
		return err_set(-ENOEXEC, "%s: entry point %#llx is not reachable in 32-bit mode",
			       name, (unsigned long long)img->entry);
	return 0;
}

/* A string table growing inside the MM_MB_CMDLINE window. */
struct strtab {
	char buf[STR_AREA];
	size_t used;
};

static int strtab_add(struct strtab *t, const char *a, const char *b, uint32_t *gpa)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, need = la + (b ? 1 + lb : 0) + 1;

	if (need > sizeof(t->buf) - t->used)
		return err_set(-E2BIG, "multiboot: command line and module strings exceed %llu "
			       "bytes", (unsigned long long)STR_AREA);
	*gpa = (uint32_t)(MM_MB_CMDLINE + t->used);
	memcpy(t->buf + t->used, a, la);
	if (b) {
		t->buf[t->used + la] = ' ';
		memcpy(t->buf + t->used + la + 1, b, lb);
	}
	t->buf[t->used + need - 1] = 0;
	t->used += need;
	return 0;
}

static uint32_t kib(uint64_t bytes)
{
	return (uint32_t)MIN(bytes / KiB, (uint64_t)UINT32_MAX);
}

/* Build the info structure, the mmap and the module list in @info, the
 * strings in @st. Module placement comes in @mod_start. */
static int build_info(const struct boot_inputs *in, const uint64_t *mod_start, uint8_t *info,
		      struct strtab *st)
{
	const struct e820_map *m = in->e820;
	const char *append = in->cmdline && *in->cmdline ? in->cmdline : NULL;
	uint64_t low = e820_ram_end(m, 0), high = e820_ram_end(m, MM_HIGH_RAM);
	size_t mods_off = ALIGN_UP(INFO_MMAP_OFF + (size_t)m->n * MULTIBOOT_MMAP_ENTRY, 16);
	uint32_t gpa;
	unsigned i;
	int ret;

	if (mods_off + (size_t)in->nmods * MULTIBOOT_MOD_SIZE > INFO_AREA)
		return err_set(-E2BIG, "multiboot: %u modules and %u memory map entries do not "
			       "fit the boot information area", in->nmods, m->n);
	memset(info, 0, INFO_AREA);
	st_le32(info + MBI_FLAGS, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE |
		MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MMAP | MULTIBOOT_INFO_LOADER);
	st_le32(info + MBI_MEM_LOWER, MIN(kib(low), LOW_MEM_MAX_KIB));
	st_le32(info + MBI_MEM_UPPER, high ? kib(high - MM_HIGH_RAM) : 0);

	/* Like QEMU, argv[0] is the kernel's path: "PATH APPEND". */
	ret = strtab_add(st, in->kernel.name ? in->kernel.name : "", append, &gpa);
	if (ret)
		return ret;
	st_le32(info + MBI_CMDLINE, gpa);

	for (i = 0; i < m->n; i++) {
		uint8_t *e = info + INFO_MMAP_OFF + i * MULTIBOOT_MMAP_ENTRY;

		st_le32(e, MULTIBOOT_MMAP_ENTRY - 4);
		st_le64(e + 4, m->e[i].addr);
		st_le64(e + 12, m->e[i].size);
		st_le32(e + 20, m->e[i].type);
	}
	st_le32(info + MBI_MMAP_LENGTH, m->n * MULTIBOOT_MMAP_ENTRY);
	st_le32(info + MBI_MMAP_ADDR, (uint32_t)(MM_MB_INFO + INFO_MMAP_OFF));

	for (i = 0; i < in->nmods; i++) {
		const struct boot_module *mod = &in->mods[i];
		uint8_t *e = info + mods_off + i * MULTIBOOT_MOD_SIZE;
		const char *s = mod->string ? mod->string : mod->file.name ? mod->file.name : "";

		ret = strtab_add(st, s, NULL, &gpa);
		if (ret)
			return ret;
		st_le32(e, (uint32_t)mod_start[i]);
		st_le32(e + 4, (uint32_t)(mod_start[i] + mod->file.size));
		st_le32(e + 8, gpa);
	}
	st_le32(info + MBI_MODS_COUNT, in->nmods);
	st_le32(info + MBI_MODS_ADDR, (uint32_t)(MM_MB_INFO + mods_off));

	ret = strtab_add(st, MULTIBOOT_LOADER_NAME, NULL, &gpa);
	if (ret)
		return ret;
	st_le32(info + MBI_LOADER_NAME, gpa);
	return 0;
}

/* Modules go page-aligned one after the other above the kernel image. */
static int place_modules(const struct boot_inputs *in, uint64_t floor, uint64_t *start)
{
	uint64_t addr = ALIGN_UP(floor, PAGE_4K), end;
	unsigned i;

	for (i = 0; i < in->nmods; i++) {
		const struct boot_blob *f = &in->mods[i].file;

		if (add_overflows_u64(addr, f->size, &end) || end > MM_HIGHMEM_START ||
		    (f->size && !e820_is_ram(in->e820, addr, f->size)))
			return err_set(-ENOMEM, "-initrd %s: module of %llu bytes does not fit in "
				       "RAM at %#llx", f->name ? f->name : "module",
				       (unsigned long long)f->size, (unsigned long long)addr);
		start[i] = addr;
		addr = ALIGN_UP(end, PAGE_4K);
	}
	return 0;
}

int multiboot_load(const struct boot_inputs *in, const struct guest_mem *gm,
		   struct boot_cpu_state *out)
{
	struct strtab st;
	uint8_t info[INFO_AREA];
	uint64_t mod_start[MAX_MODULES];
	struct multiboot_header h;
	struct image img = { .n = 0 };
	unsigned i;
	int ret;

	ret = multiboot_find_header(&in->kernel, &h);
	if (ret)
		return ret;
	if (!in->e820)
		return err_set(-EINVAL, "%s: no e820 map for the multiboot memory information",
			       kname(&in->kernel));
	if (in->nmods > MAX_MODULES)
		return err_set(-E2BIG, "-initrd: %u modules, at most %d are supported", in->nmods,
			       MAX_MODULES);
	if (h.flags & MULTIBOOT_AOUT_KLUDGE)
		ret = image_from_aout(&in->kernel, &h, &img);
	else
		ret = image_from_elf(&in->kernel, &img);
	ret = ret ?: check_segments(in, &img);
	ret = ret ?: place_modules(in, img.end, mod_start);
	st.used = 0;
	ret = ret ?: build_info(in, mod_start, info, &st);
	if (ret)
		return ret;

	/* Everything is validated; only now touch guest memory. */
	for (i = 0; i < img.n && !ret; i++)
		ret = boot_copy(gm, img.seg[i].paddr, img.seg[i].src, img.seg[i].filesz,
				img.seg[i].memsz, "kernel segment");
	for (i = 0; i < in->nmods && !ret; i++)
		ret = boot_copy(gm, mod_start[i], in->mods[i].file.data, in->mods[i].file.size,
				0, "module");
	ret = ret ?: boot_copy(gm, MM_MB_CMDLINE, st.buf, st.used, 0, "multiboot strings");
	ret = ret ?: boot_copy(gm, MM_MB_INFO, info, INFO_AREA, 0, "multiboot information");
	ret = ret ?: bootcpu_write_gdt(gm, false);
	if (ret)
		return err_prefix(ret, "%s", kname(&in->kernel));

	bootcpu_init_flat32(out);
	out->rip = img.entry;
	out->rax = MULTIBOOT_LOADER_MAGIC;
	out->rbx = MM_MB_INFO;
	out->rsp = MM_BOOT_STACK;
	return 0;
}
