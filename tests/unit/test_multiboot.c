/*
 * Unit tests for vmm/boot/multiboot.c: ELF32, ELF64 and a.out-kludge
 * images generated here, the boot information structure, module
 * placement, the entry state, and random corruptions.
 */
#include <errno.h>
#include <stdlib.h>

#include "tests/unit/support.h"
#include "vmm/boot/multiboot.h"
#include "vmm/err.h"
#include "vmm/memmap.h"

#define RAM_SIZE (64 * MiB)
#define MBI 0x600
#define HDR_OFF 0x400            /* where the generators put the header */

struct seg_spec {
	uint64_t vaddr, paddr;
	uint32_t filesz, memsz;
};

static uint8_t seg_byte(unsigned seg, size_t i)
{
	return (uint8_t)(seg * 0x40 + i * 13 + 1);
}

static void put_header(uint8_t *b, size_t off, uint32_t flags)
{
	st_le32(b + off, 0x1badb002);
	st_le32(b + off + 4, flags);
	st_le32(b + off + 8, (uint32_t)-(0x1badb002u + flags));
}

/* An ELF executable with the given PT_LOAD segments (data after 0x1000). */
static uint8_t *make_elf(bool is64, const struct seg_spec *s, unsigned n, uint64_t entry,
			 uint32_t mbflags, size_t *len)
{
	size_t data = 0x1000, total = data, i, j;
	unsigned phent = is64 ? 56 : 32, ehsize = is64 ? 64 : 52;
	uint8_t *b;

	for (i = 0; i < n; i++)
		total += s[i].filesz;
	b = calloc(1, total);
	memcpy(b, "\177ELF", 4);
	b[4] = is64 ? 2 : 1;
	b[5] = 1;
	b[6] = 1;
	st_le16(b + 16, 2);
	st_le16(b + 18, is64 ? 62 : 3);
	st_le32(b + 20, 1);
	if (is64) {
		st_le64(b + 24, entry);
		st_le64(b + 32, ehsize);
		st_le16(b + 52, (uint16_t)ehsize);
		st_le16(b + 54, (uint16_t)phent);
		st_le16(b + 56, (uint16_t)n);
	} else {
		st_le32(b + 24, (uint32_t)entry);
		st_le32(b + 28, ehsize);
		st_le16(b + 40, (uint16_t)ehsize);
		st_le16(b + 42, (uint16_t)phent);
		st_le16(b + 44, (uint16_t)n);
	}
	for (i = 0; i < n; i++) {
		uint8_t *p = b + ehsize + i * phent;

		st_le32(p, 1);                      /* PT_LOAD */
		if (is64) {
			st_le32(p + 4, 7);
			st_le64(p + 8, data);
			st_le64(p + 16, s[i].vaddr);
			st_le64(p + 24, s[i].paddr);
			st_le64(p + 32, s[i].filesz);
			st_le64(p + 40, s[i].memsz);
		} else {
			st_le32(p + 4, (uint32_t)data);
			st_le32(p + 8, (uint32_t)s[i].vaddr);
			st_le32(p + 12, (uint32_t)s[i].paddr);
			st_le32(p + 16, s[i].filesz);
			st_le32(p + 20, s[i].memsz);
		}
		for (j = 0; j < s[i].filesz; j++)
			b[data + j] = seg_byte((unsigned)i, j);
		data += s[i].filesz;
	}
	put_header(b, HDR_OFF, mbflags);
	*len = total;
	return b;
}

/* A flat image loaded through the header's address fields. */
static uint8_t *make_aout(uint32_t load, uint32_t size, uint32_t bss, uint32_t entry_off,
			  size_t *len)
{
	uint8_t *b = calloc(1, size);
	size_t i;

	for (i = 0; i < size; i++)
		b[i] = seg_byte(9, i);
	put_header(b, HDR_OFF, MULTIBOOT_AOUT_KLUDGE | MULTIBOOT_PAGE_ALIGN |
		   MULTIBOOT_MEMORY_INFO);
	st_le32(b + HDR_OFF + 12, load + HDR_OFF);  /* header_addr */
	st_le32(b + HDR_OFF + 16, load);            /* load_addr */
	st_le32(b + HDR_OFF + 20, load + size);     /* load_end_addr */
	st_le32(b + HDR_OFF + 24, load + size + bss);
	st_le32(b + HDR_OFF + 28, load + entry_off);
	*len = size;
	return b;
}

struct env {
	struct fake_mem mem;
	struct e820_map e820;
	struct boot_module mods[4];
	struct boot_inputs in;
	struct boot_cpu_state cpu;
	uint8_t *kernel;
	size_t klen;
};

static void env_init(struct env *e, uint8_t *kernel, size_t klen)
{
	struct ram_layout l = { .low_top = RAM_SIZE, .bios_holes = true };

	memset(e, 0, sizeof(*e));
	fake_mem_init(&e->mem, 0, RAM_SIZE);
	/* garbage everywhere, so that zero-filling is visible */
	memset(e->mem.buf, 0xcc, RAM_SIZE);
	ck_assert_int_eq(e820_build(&l, &e->e820), 0);
	e->kernel = kernel;
	e->klen = klen;
	e->in.kernel = (struct boot_blob){ .name = "/boot/test.elf", .data = kernel, .size = klen };
	e->in.e820 = &e->e820;
	e->in.cmdline = "testarg=1 more";
}

static void env_free(struct env *e)
{
	free(e->kernel);
	fake_mem_free(&e->mem);
}

static int env_load(struct env *e)
{
	err_clear();
	return multiboot_load(&e->in, &e->mem.gm, &e->cpu);
}

static void expect_error(struct env *e, int err, const char *needle)
{
	ck_assert_int_eq(env_load(e), err);
	ck_assert_msg(strstr(err_get(), needle), "error '%s' lacks '%s'", err_get(), needle);
}

static uint32_t info32(const struct env *e, unsigned off)
{
	return ld_le32(e->mem.buf + MBI + off);
}

static const char *gstr(const struct env *e, uint32_t gpa)
{
	ck_assert_uint_lt(gpa, RAM_SIZE);
	return (const char *)e->mem.buf + gpa;
}

static void check_entry_state(const struct env *e, uint64_t rip)
{
	const struct boot_cpu_state *c = &e->cpu;

	ck_assert_uint_eq(c->rip, rip);
	ck_assert_uint_eq(c->rax, 0x2badb002);
	ck_assert_uint_eq(c->rbx, MBI);
	ck_assert_uint_eq(c->cr0 & 0x80000001, 1);
	ck_assert_uint_eq(c->efer, 0);
	ck_assert_uint_eq(c->rflags & (BIT(9) | BIT(17)), 0);
	ck_assert_uint_eq(c->cs.base, 0);
	ck_assert_uint_eq(c->cs.limit, 0xffffffff);
	ck_assert_uint_eq(c->cs.db, 1);
	ck_assert_uint_eq(c->cs.l, 0);
	ck_assert_uint_eq(c->cs.type, 0xb);
	ck_assert_uint_eq(c->ds.base, 0);
	ck_assert_uint_eq(c->ds.limit, 0xffffffff);
	ck_assert_uint_eq(c->ds.type, 0x3);
	ck_assert_uint_eq(c->ss.selector, c->ds.selector);
	ck_assert_uint_eq(c->es.selector, c->ds.selector);
	ck_assert_uint_eq(c->fs.selector, c->ds.selector);
	ck_assert_uint_eq(c->gs.selector, c->ds.selector);
	/* the GDT the selectors point into really is flat */
	ck_assert_uint_eq(ld_le64(e->mem.buf + c->gdt_base + c->cs.selector),
			  0x00cf9b000000ffffULL);
	ck_assert_uint_eq(ld_le64(e->mem.buf + c->gdt_base + c->ds.selector),
			  0x00cf93000000ffffULL);
}

START_TEST(test_detect)
{
	uint8_t buf[12000];

	memset(buf, 0, sizeof(buf));
	ck_assert(!multiboot_detect(buf, sizeof(buf)));
	put_header(buf, 8192 - 12, 0);
	ck_assert(multiboot_detect(buf, sizeof(buf)));
	ck_assert(!multiboot_detect(buf, 8192 - 1));    /* cut short */
	memset(buf, 0, sizeof(buf));
	put_header(buf, 8192, 0);                      /* too far */
	ck_assert(!multiboot_detect(buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	put_header(buf, 0x102, 0);                     /* not 4-byte aligned */
	ck_assert(!multiboot_detect(buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	put_header(buf, 0x100, 3);
	buf[0x108] ^= 1;                               /* bad checksum */
	ck_assert(!multiboot_detect(buf, sizeof(buf)));
	put_header(buf, 0x200, 3);                     /* a later good one counts */
	ck_assert(multiboot_detect(buf, sizeof(buf)));
}
END_TEST

START_TEST(test_elf32_load_and_info)
{
	/* a higher-half kernel: vaddr 0xc0400000 at paddr 4 MiB, plus bss */
	struct seg_spec s[] = {
		{ 0xc0400000, 0x400000, 0x3000, 0x3000 },
		{ 0xc0404000, 0x404000, 0x800, 0x2000 },
	};
	static uint8_t mod0[5000], mod1[10];
	struct env e;
	uint32_t mods, mmap, mlen, i;
	size_t len;
	uint8_t *k = make_elf(false, s, 2, 0xc0400010, 3, &len);

	env_init(&e, k, len);
	memset(mod0, 0x11, sizeof(mod0));
	memset(mod1, 0x22, sizeof(mod1));
	e.mods[0].file = (struct boot_blob){ .name = "env.txt", .data = mod0, .size = sizeof(mod0) };
	e.mods[0].string = "env.txt key=val";
	e.mods[1].file = (struct boot_blob){ .name = "m2", .data = mod1, .size = sizeof(mod1) };
	e.in.mods = e.mods;
	e.in.nmods = 2;
	ck_assert_int_eq(env_load(&e), 0);
	check_entry_state(&e, 0x400010);

	/* segments: file bytes, then zeroed bss */
	for (i = 0; i < 0x3000; i++)
		ck_assert_uint_eq(e.mem.buf[0x400000 + i], seg_byte(0, i));
	for (i = 0; i < 0x800; i++)
		ck_assert_uint_eq(e.mem.buf[0x404000 + i], seg_byte(1, i));
	for (i = 0x800; i < 0x2000; i++)
		ck_assert_uint_eq(e.mem.buf[0x404000 + i], 0);
	ck_assert_uint_eq(e.mem.buf[0x3fffff], 0xcc);

	/* info structure */
	ck_assert_uint_eq(info32(&e, 0), BIT(0) | BIT(2) | BIT(3) | BIT(6) | BIT(9));
	ck_assert_uint_eq(info32(&e, 4), 639);
	ck_assert_uint_eq(info32(&e, 8), (RAM_SIZE - MiB) / KiB);
	ck_assert_str_eq(gstr(&e, info32(&e, 16)), "/boot/test.elf testarg=1 more");
	ck_assert_str_eq(gstr(&e, info32(&e, 64)), "kvmrun");

	/* modules: page aligned above the kernel, in order, with their strings */
	ck_assert_uint_eq(info32(&e, 20), 2);
	mods = info32(&e, 24);
	ck_assert_uint_ge(mods, MBI + 88);
	ck_assert_uint_le(mods + 32, 0x2000);
	ck_assert_uint_eq(ld_le32(e.mem.buf + mods), 0x406000);
	ck_assert_uint_eq(ld_le32(e.mem.buf + mods + 4), 0x406000 + sizeof(mod0));
	ck_assert_str_eq(gstr(&e, ld_le32(e.mem.buf + mods + 8)), "env.txt key=val");
	ck_assert_uint_eq(ld_le32(e.mem.buf + mods + 16), 0x408000);
	ck_assert_uint_eq(ld_le32(e.mem.buf + mods + 20), 0x408000 + sizeof(mod1));
	ck_assert_str_eq(gstr(&e, ld_le32(e.mem.buf + mods + 24)), "m2");
	ck_assert_mem_eq(e.mem.buf + 0x406000, mod0, sizeof(mod0));
	ck_assert_mem_eq(e.mem.buf + 0x408000, mod1, sizeof(mod1));

	/* mmap: entries with a size field, mirroring e820 */
	mlen = info32(&e, 44);
	mmap = info32(&e, 48);
	ck_assert_uint_eq(mlen, e.e820.n * 24);
	for (i = 0; i < e.e820.n; i++) {
		const uint8_t *p = e.mem.buf + mmap + i * 24;

		ck_assert_uint_eq(ld_le32(p), 20);
		ck_assert_uint_eq(ld_le64(p + 4), e.e820.e[i].addr);
		ck_assert_uint_eq(ld_le64(p + 12), e.e820.e[i].size);
		ck_assert_uint_eq(ld_le32(p + 20), e.e820.e[i].type);
	}
	ck_assert_uint_eq(ld_le64(e.mem.buf + mmap + 3 * 24 + 4), 0x100000);
	ck_assert_uint_ge(mmap, MBI + 88);
	ck_assert(mmap + mlen <= mods || mods + 32 <= mmap);
	env_free(&e);
}
END_TEST

START_TEST(test_elf64_and_no_args)
{
	struct seg_spec s[] = { { 0x200000, 0x200000, 0x100, 0x1000 } };
	struct env e;
	size_t len;
	uint8_t *k = make_elf(true, s, 1, 0x200040, 0, &len);

	env_init(&e, k, len);
	e.in.cmdline = NULL;
	e.in.kernel.name = "k64";
	ck_assert_int_eq(env_load(&e), 0);
	check_entry_state(&e, 0x200040);
	ck_assert_uint_eq(e.mem.buf[0x200000], seg_byte(0, 0));
	ck_assert_uint_eq(e.mem.buf[0x200100], 0);
	ck_assert_str_eq(gstr(&e, info32(&e, 16)), "k64");
	ck_assert_uint_eq(info32(&e, 20), 0);

	/* with a flat map (no BIOS holes) lower memory is capped at 640 KiB */
	{
		struct ram_layout l = { .low_top = RAM_SIZE };

		ck_assert_int_eq(e820_build(&l, &e.e820), 0);
		ck_assert_int_eq(env_load(&e), 0);
		ck_assert_uint_eq(info32(&e, 4), 640);
		ck_assert_uint_eq(info32(&e, 8), (RAM_SIZE - MiB) / KiB);
		ck_assert_uint_eq(info32(&e, 44), 24);
	}
	env_free(&e);
}
END_TEST

START_TEST(test_elf_rejects)
{
	struct seg_spec ok = { 0x200000, 0x200000, 0x100, 0x100 };
	struct seg_spec s;
	struct env e;
	size_t len;
	uint8_t *k;

	/* a segment above 4 GiB in an ELF64 image */
	s = ok;
	s.paddr = 0x100000000ULL;
	k = make_elf(true, &s, 1, s.vaddr, 0, &len);
	env_init(&e, k, len);
	expect_error(&e, -ENOEXEC, "32-bit");
	env_free(&e);
	/* straddling 4 GiB */
	s = ok;
	s.paddr = 0xffffff00;
	s.memsz = 0x200;
	k = make_elf(false, &s, 1, s.vaddr, 0, &len);
	env_init(&e, k, len);
	expect_error(&e, -ENOEXEC, "32-bit");
	env_free(&e);
	/* outside RAM, or over the boot information */
	s = ok;
	s.paddr = RAM_SIZE - 0x80;
	k = make_elf(false, &s, 1, s.vaddr, 0, &len);
	env_init(&e, k, len);
	expect_error(&e, -ENOMEM, "not in free guest RAM");
	env_free(&e);
	s = ok;
	s.paddr = 0x1000;
	k = make_elf(false, &s, 1, s.vaddr, 0, &len);
	env_init(&e, k, len);
	expect_error(&e, -ENOMEM, "/boot/test.elf: segment [0x1000, 0x1100)");
	env_free(&e);
	s = ok;
	s.paddr = 0xa0000;                             /* the VGA hole */
	k = make_elf(false, &s, 1, s.vaddr, 0, &len);
	env_init(&e, k, len);
	expect_error(&e, -ENOMEM, "not in free guest RAM");
	env_free(&e);
	/* entry outside every segment */
	k = make_elf(false, &ok, 1, 0x300000, 0, &len);
	env_init(&e, k, len);
	expect_error(&e, -ENOEXEC, "entry point 0x300000");
	env_free(&e);
	/* filesz > memsz, data past EOF */
	s = ok;
	s.memsz = 0x80;
	k = make_elf(false, &s, 1, s.vaddr, 0, &len);
	env_init(&e, k, len);
	expect_error(&e, -ENOEXEC, "segment 0");
	env_free(&e);
	k = make_elf(false, &ok, 1, ok.vaddr, 0, &len);
	env_init(&e, k, len);
	e.in.kernel.size = len - 1;
	expect_error(&e, -ENOEXEC, "past the end");
	e.in.kernel.size = len;
	/* wrong machine / class / type / endianness / program header table */
	st_le16(k + 18, 62);
	expect_error(&e, -ENOEXEC, "machine 62");
	st_le16(k + 18, 3);
	k[4] = 3;
	expect_error(&e, -ENOEXEC, "class");
	k[4] = 1;
	k[5] = 2;
	expect_error(&e, -ENOEXEC, "little-endian");
	k[5] = 1;
	st_le16(k + 16, 3);
	expect_error(&e, -ENOEXEC, "not an executable");
	st_le16(k + 16, 2);
	st_le16(k + 44, 0);
	expect_error(&e, -ENOEXEC, "program header");
	st_le16(k + 44, 1);
	st_le32(k + 28, 0xfffffff0);
	expect_error(&e, -ENOEXEC, "program headers run past");
	st_le32(k + 28, 52);
	st_le32(k + 52, 4);                          /* PT_NOTE: nothing to load */
	expect_error(&e, -ENOEXEC, "no loadable");
	st_le32(k + 52, 1);
	ck_assert_int_eq(env_load(&e), 0);
	/* not ELF at all and no address fields */
	k[0] = 0;
	expect_error(&e, -ENOEXEC, "not ELF");
	env_free(&e);
}
END_TEST

START_TEST(test_aout_kludge)
{
	struct env e;
	size_t len;
	uint8_t *k = make_aout(0x300000, 0x2400, 0x1c00, 0x800, &len);
	uint32_t i;

	env_init(&e, k, len);
	ck_assert_int_eq(env_load(&e), 0);
	check_entry_state(&e, 0x300800);
	ck_assert_mem_eq(e.mem.buf + 0x300000, k, 0x2400);
	ck_assert_uint_eq(e.mem.buf[0x300000 + 0x2000], seg_byte(9, 0x2000));
	for (i = 0x2400; i < 0x4000; i++)
		ck_assert_uint_eq(e.mem.buf[0x300000 + i], 0);
	ck_assert_uint_eq(e.mem.buf[0x304000], 0xcc);

	/* load_end_addr 0: up to the end of the file; bss_end_addr 0: no bss */
	st_le32(k + HDR_OFF + 20, 0);
	st_le32(k + HDR_OFF + 24, 0);
	ck_assert_int_eq(env_load(&e), 0);
	/* the header may sit beyond the loaded part's start */
	st_le32(k + HDR_OFF + 12, 0x300000 + HDR_OFF + 0x10);
	expect_error(&e, -ENOEXEC, "inconsistent");
	st_le32(k + HDR_OFF + 12, 0x2fffff);
	expect_error(&e, -ENOEXEC, "inconsistent");
	st_le32(k + HDR_OFF + 12, 0x300000 + HDR_OFF);
	st_le32(k + HDR_OFF + 20, 0x300000 + 0x2401);
	expect_error(&e, -ENOEXEC, "truncated");
	st_le32(k + HDR_OFF + 20, 0x2fffff);
	expect_error(&e, -ENOEXEC, "load_end_addr");
	st_le32(k + HDR_OFF + 20, 0x302000);
	st_le32(k + HDR_OFF + 24, 0x301000);
	expect_error(&e, -ENOEXEC, "bss_end_addr");
	st_le32(k + HDR_OFF + 24, 0);
	st_le32(k + HDR_OFF + 28, 0x302000);
	expect_error(&e, -ENOEXEC, "entry_addr");
	st_le32(k + HDR_OFF + 28, 0x300000);
	ck_assert_int_eq(env_load(&e), 0);
	/* empty */
	st_le32(k + HDR_OFF + 12, 0x300000);
	st_le32(k + HDR_OFF + 16, 0x300000 + HDR_OFF);
	st_le32(k + HDR_OFF + 12, 0x300000 + HDR_OFF);
	st_le32(k + HDR_OFF + 20, 0x300000 + HDR_OFF);
	expect_error(&e, -ENOEXEC, "empty");
	/* the address fields cut off by the end of the file */
	e.in.kernel.size = HDR_OFF + 20;
	expect_error(&e, -ENOEXEC, "address fields");
	env_free(&e);
}
END_TEST

START_TEST(test_header_flags)
{
	struct seg_spec s = { 0x200000, 0x200000, 0x100, 0x100 };
	struct env e;
	size_t len;
	uint8_t *k = make_elf(false, &s, 1, s.vaddr, MULTIBOOT_VIDEO_MODE, &len);

	/* video mode is accepted, and no video information is claimed */
	env_init(&e, k, len);
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(info32(&e, 0) & (BIT(11) | BIT(12)), 0);
	/* an unknown requirement bit is refused */
	put_header(k, HDR_OFF, BIT(3));
	expect_error(&e, -ENOEXEC, "features 0x8");
	put_header(k, HDR_OFF, BIT(15) | 1);
	expect_error(&e, -ENOEXEC, "features 0x8000");
	/* optional high bits other than 16 are ignored */
	put_header(k, HDR_OFF, BIT(20));
	ck_assert_int_eq(env_load(&e), 0);
	/* a bad checksum is named */
	k[HDR_OFF + 8] ^= 0x40;
	expect_error(&e, -ENOEXEC, "bad checksum");
	k[HDR_OFF] = 0;
	expect_error(&e, -ENOEXEC, "no multiboot header");
	env_free(&e);
}
END_TEST

START_TEST(test_module_limits)
{
	struct seg_spec s = { 0x200000, 0x200000, 0x100, 0x100 };
	static uint8_t small[64];
	struct boot_module many[65];
	char *longstr = malloc(20000);
	uint8_t *big = malloc(RAM_SIZE), *k;
	struct env e;
	size_t len;
	unsigned i;

	memset(big, 0x5e, RAM_SIZE);
	k = make_elf(false, &s, 1, s.vaddr, 0, &len);
	env_init(&e, k, len);
	/* a module larger than the RAM left above the kernel */
	e.mods[0].file = (struct boot_blob){ .name = "big.bin", .data = small,
					     .size = RAM_SIZE - 0x200000 };
	e.in.mods = e.mods;
	e.in.nmods = 1;
	expect_error(&e, -ENOMEM, "-initrd big.bin");
	/* one that exactly fits */
	e.mods[0].file.size = RAM_SIZE - 0x201000;
	e.mods[0].file.data = big;
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(e.mem.buf[RAM_SIZE - 1], big[RAM_SIZE - 0x201000 - 1]);
	e.mods[0].file.data = small;
	/* an empty module still gets a slot */
	e.mods[0].file.size = 0;
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(info32(&e, 20), 1);
	ck_assert_uint_eq(ld_le32(e.mem.buf + info32(&e, 24)),
			  ld_le32(e.mem.buf + info32(&e, 24) + 4));
	/* strings beyond the 16 KiB window */
	memset(longstr, 'x', 19999);
	longstr[19999] = 0;
	e.mods[0].string = longstr;
	expect_error(&e, -E2BIG, "strings");
	e.mods[0].string = NULL;
	e.in.cmdline = longstr;
	expect_error(&e, -E2BIG, "strings");
	e.in.cmdline = NULL;
	/* too many modules */
	memset(many, 0, sizeof(many));
	for (i = 0; i < 65; i++)
		many[i].file = (struct boot_blob){ .name = "m", .data = small, .size = 1 };
	e.in.mods = many;
	e.in.nmods = 65;
	expect_error(&e, -E2BIG, "modules");
	e.in.nmods = 64;
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(info32(&e, 20), 64);
	ck_assert_str_eq(gstr(&e, ld_le32(e.mem.buf + info32(&e, 24) + 63 * 16 + 8)), "m");
	/* no e820 */
	e.in.e820 = NULL;
	expect_error(&e, -EINVAL, "e820");
	free(longstr);
	free(big);
	env_free(&e);
}
END_TEST

START_TEST(test_fuzz)
{
	struct seg_spec s[] = {
		{ 0x400000, 0x400000, 0x1000, 0x2000 },
		{ 0x402000, 0x402000, 0x200, 0x200 },
	};
	static uint8_t mod[100];
	unsigned iter, kind, ok = 0;
	uint8_t *pristine[3], *k;
	size_t len[3];
	struct env e;

	pristine[0] = make_elf(false, s, 2, 0x400100, 3, &len[0]);
	pristine[1] = make_elf(true, s, 2, 0x400100, 3, &len[1]);
	pristine[2] = make_aout(0x400000, 0x3000, 0x1000, 0x10, &len[2]);
	env_init(&e, NULL, 0);
	e.mods[0].file = (struct boot_blob){ .name = "mod", .data = mod, .size = sizeof(mod) };
	e.in.mods = e.mods;
	e.in.nmods = 1;
	k = malloc(0x4000);
	srandom(0x1bad);
	for (iter = 0; iter < 6000; iter++) {
		unsigned flips = 1 + random() % 4, i;
		int ret;

		kind = iter % 3;
		memcpy(k, pristine[kind], len[kind]);
		e.in.kernel.data = k;
		e.in.kernel.size = len[kind];
		for (i = 0; i < flips; i++) {
			/* ELF and program headers, or the multiboot header */
			size_t off = random() % 2 ? random() % 0xd0 : HDR_OFF + random() % 32;

			k[off] = (uint8_t)random();
		}
		if (random() % 5 == 0)
			e.in.kernel.size = random() % (len[kind] + 1);
		if (random() % 8 == 0)                  /* a checksum that matches again */
			st_le32(k + HDR_OFF + 8, -(ld_le32(k + HDR_OFF) + ld_le32(k + HDR_OFF + 4)));
		ret = env_load(&e);
		if (ret == 0) {
			ok++;
			ck_assert_uint_lt(e.cpu.rip, 1ULL << 32);
			ck_assert(e820_is_ram(&e.e820, e.cpu.rip, 1));
			continue;
		}
		ck_assert_int_lt(ret, 0);
		ck_assert_msg(strstr(err_get(), "test.elf") || strstr(err_get(), "-initrd"),
			      "iteration %u: unhelpful error '%s'", iter, err_get());
	}
	ck_assert_uint_gt(ok, 100);
	ck_assert_uint_lt(ok, 6000);
	for (kind = 0; kind < 3; kind++)
		free(pristine[kind]);
	free(k);
	fake_mem_free(&e.mem);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("multiboot");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_detect);
	tcase_add_test(tc, test_elf32_load_and_info);
	tcase_add_test(tc, test_elf64_and_no_args);
	tcase_add_test(tc, test_elf_rejects);
	tcase_add_test(tc, test_aout_kludge);
	tcase_add_test(tc, test_header_flags);
	tcase_add_test(tc, test_module_limits);
	tcase_add_test(tc, test_fuzz);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
