/*
 * Unit tests for vmm/boot/bzimage.c and vmm/boot/cpustate.c: synthetic
 * bzImages built here, the exact boot_params fields, initrd/command line
 * placement limits, page tables, GDT, entry state, the KVM conversion,
 * and random corruptions of the header.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>

#include "tests/unit/support.h"
#include "vmm/boot/bzimage.h"
#include "vmm/err.h"
#include "vmm/memmap.h"

#define RAM_SIZE (64 * MiB)
#define ZP 0x7000

/* What a synthetic kernel looks like. */
struct kopts {
	unsigned setup_sects;          /* value of the byte; 0 means 4 */
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint32_t init_size;
	uint64_t pref_address;
	size_t pm_size;
};

static const struct kopts kdefault = {
	.setup_sects = 4, .version = 0x020f, .loadflags = 0x01, .xloadflags = 0x01,
	.cmdline_size = 2047, .initrd_addr_max = 0x7fffffff, .init_size = 0x400000,
	.pref_address = 0x1000000, .pm_size = 20000,
};

static uint8_t pm_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* Build a bzImage: boot sector + setup (with the header) + payload. */
static uint8_t *make_kernel(const struct kopts *o, size_t *len)
{
	unsigned sects = o->setup_sects ? o->setup_sects : 4;
	size_t setup = (sects + 1) * 512, i;
	uint8_t *b;

	*len = setup + o->pm_size;
	b = calloc(1, *len);
	b[0x1f1] = (uint8_t)o->setup_sects;
	st_le32(b + 0x1f4, (uint32_t)((o->pm_size + 15) / 16));
	st_le16(b + 0x1fa, 0xfffd);                 /* "ask": must be overridden */
	st_le16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a;                            /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	st_le16(b + 0x206, o->version);
	b[0x211] = o->loadflags;
	st_le32(b + 0x214, 0x100000);
	st_le32(b + 0x22c, o->initrd_addr_max);
	st_le32(b + 0x230, 0x200000);
	b[0x234] = 1;
	st_le16(b + 0x236, o->xloadflags);
	st_le32(b + 0x238, o->cmdline_size);
	st_le64(b + 0x250, 0xdeadbeef);             /* a stray setup_data pointer */
	st_le64(b + 0x258, o->pref_address);
	st_le32(b + 0x260, o->init_size);
	/* junk after the header, inside the setup code: must not be copied */
	for (i = 0x26c; i < setup; i++)
		b[i] = 0x5a;
	for (i = 0; i < o->pm_size; i++)
		b[setup + i] = pm_byte(i);
	return b;
}

struct env {
	struct fake_mem mem;
	struct e820_map e820;
	struct boot_module initrd;
	struct boot_inputs in;
	struct boot_cpu_state cpu;
	uint8_t *kernel;
	size_t klen;
};

static void env_init(struct env *e, const struct kopts *o, uint64_t ram)
{
	struct ram_layout l = { .low_top = ram, .bios_holes = true };

	memset(e, 0, sizeof(*e));
	fake_mem_init(&e->mem, 0, ram);
	ck_assert_int_eq(e820_build(&l, &e->e820), 0);
	e->kernel = make_kernel(o, &e->klen);
	e->in.kernel = (struct boot_blob){ .name = "vmlinuz", .data = e->kernel, .size = e->klen };
	e->in.e820 = &e->e820;
	e->in.cmdline = "console=ttyS0 root=/dev/vda";
}

static void env_free(struct env *e)
{
	free(e->kernel);
	fake_mem_free(&e->mem);
}

static int env_load(struct env *e)
{
	err_clear();
	return bzimage_load(&e->in, &e->mem.gm, &e->cpu);
}

static void set_initrd(struct env *e, const uint8_t *data, uint64_t size)
{
	e->initrd.file = (struct boot_blob){ .name = "initrd.img", .data = data, .size = size };
	e->in.mods = &e->initrd;
	e->in.nmods = 1;
}

static void expect_error(struct env *e, int err, const char *needle)
{
	ck_assert_int_eq(env_load(e), err);
	ck_assert_msg(strstr(err_get(), needle), "error '%s' lacks '%s'", err_get(), needle);
}

START_TEST(test_detect)
{
	struct kopts o = kdefault;
	uint8_t junk[1024];
	size_t len;
	uint8_t *k = make_kernel(&o, &len);

	ck_assert(bzimage_detect(k, len));
	ck_assert(!bzimage_detect(k, 0x205));
	memset(junk, 0, sizeof(junk));
	ck_assert(!bzimage_detect(junk, sizeof(junk)));
	k[0x205] = 'x';
	ck_assert(!bzimage_detect(k, len));
	free(k);
}
END_TEST

START_TEST(test_load64_boot_params)
{
	struct env e;
	uint8_t *zp, *m;
	unsigned i;

	env_init(&e, &kdefault, RAM_SIZE);
	e.in.acpi_rsdp = 0xf5a10;
	ck_assert_int_eq(env_load(&e), 0);
	m = e.mem.buf;
	zp = m + ZP;

	/* the protected-mode kernel at 1 MiB, byte for byte */
	for (i = 0; i < kdefault.pm_size; i++)
		ck_assert_uint_eq(m[0x100000 + i], pm_byte(i));
	/* setup header copied, loader fields filled */
	ck_assert_uint_eq(ld_le32(zp + 0x202), 0x53726448);
	ck_assert_uint_eq(ld_le16(zp + 0x206), 0x020f);
	ck_assert_uint_eq(zp[0x1f1], 4);
	ck_assert_uint_eq(ld_le32(zp + 0x1f4), (kdefault.pm_size + 15) / 16);
	ck_assert_uint_eq(ld_le16(zp + 0x1fa), 0xffff);
	ck_assert_uint_eq(zp[0x210], 0xff);
	ck_assert_uint_eq(zp[0x211], 0x81);
	ck_assert_uint_eq(ld_le32(zp + 0x214), 0x100000);
	ck_assert_uint_eq(ld_le32(zp + 0x218), 0);
	ck_assert_uint_eq(ld_le32(zp + 0x21c), 0);
	ck_assert_uint_eq(ld_le16(zp + 0x224), 0xde00);
	ck_assert_uint_eq(ld_le32(zp + 0x228), 0x20000);
	ck_assert_uint_eq(ld_le32(zp + 0x238), 2047);
	ck_assert_uint_eq(ld_le64(zp + 0x250), 0);
	ck_assert_uint_eq(ld_le32(zp + 0x260), 0x400000);
	ck_assert_uint_eq(ld_le64(zp + 0x70), 0xf5a10);
	/* ext_ramdisk_image/size, ext_cmd_line_ptr, sentinel stay zero */
	ck_assert_uint_eq(ld_le32(zp + 0xc0), 0);
	ck_assert_uint_eq(ld_le32(zp + 0xc4), 0);
	ck_assert_uint_eq(ld_le32(zp + 0xc8), 0);
	ck_assert_uint_eq(zp[0x1ef], 0);
	/* nothing of the setup code beyond the header leaks in */
	for (i = 0x26c; i < 0x290; i++)
		ck_assert_uint_eq(zp[i], 0);
	/* e820 table */
	ck_assert_uint_eq(zp[0x1e8], 4);
	ck_assert_uint_eq(ld_le64(zp + 0x2d0), 0);
	ck_assert_uint_eq(ld_le64(zp + 0x2d8), 0x9fc00);
	ck_assert_uint_eq(ld_le32(zp + 0x2e0), 1);
	ck_assert_uint_eq(ld_le64(zp + 0x2d0 + 3 * 20), 0x100000);
	ck_assert_uint_eq(ld_le64(zp + 0x2d0 + 3 * 20 + 8), RAM_SIZE - 0x100000);
	ck_assert_uint_eq(ld_le32(zp + 0x2d0 + 4 * 20 + 16), 0);
	/* command line */
	ck_assert_str_eq((char *)m + 0x20000, "console=ttyS0 root=/dev/vda");
	env_free(&e);
}
END_TEST

/* Translate @va through the guest's 4-level tables at CR3; -1 if unmapped. */
static int64_t walk(const uint8_t *m, uint64_t cr3, uint64_t va)
{
	uint64_t pml4e = ld_le64(m + cr3 + ((va >> 39) & 511) * 8), pdpte, pde;

	if (!(pml4e & 1))
		return -1;
	pdpte = ld_le64(m + (pml4e & ~0xfffULL) + ((va >> 30) & 511) * 8);
	if (!(pdpte & 1) || (pdpte & 0x80))
		return -1;
	pde = ld_le64(m + (pdpte & ~0xfffULL) + ((va >> 21) & 511) * 8);
	if (!(pde & 1) || !(pde & 0x80) || !(pde & 2))
		return -1;
	return (int64_t)((pde & ~0x1fffffULL) | (va & 0x1fffff));
}

START_TEST(test_load64_cpu_state_and_tables)
{
	struct env e;
	const struct boot_cpu_state *c = &e.cpu;
	uint8_t *m;
	unsigned i;

	env_init(&e, &kdefault, RAM_SIZE);
	ck_assert_int_eq(env_load(&e), 0);
	m = e.mem.buf;

	ck_assert_uint_eq(c->rip, 0x100200);
	ck_assert_uint_eq(c->rsi, ZP);
	ck_assert_uint_eq(c->rbx | c->rdi | c->rbp | c->rax, 0);
	ck_assert_uint_eq(c->rflags, 0x2);
	ck_assert_uint_gt(c->rsp, 0x10000);
	ck_assert_uint_le(c->rsp, 0x9fc00);
	ck_assert_uint_eq(c->cr0 & 0x80000001, 0x80000001);
	ck_assert_uint_eq(c->cr4 & 0x20, 0x20);
	ck_assert_uint_eq(c->efer & 0x500, 0x500);
	ck_assert_uint_eq(c->cr3, 0x9000);
	ck_assert_uint_eq(c->cs.selector, 0x10);
	ck_assert_uint_eq(c->cs.l, 1);
	ck_assert_uint_eq(c->cs.db, 0);
	ck_assert_uint_eq(c->cs.type, 0xb);
	ck_assert_uint_eq(c->ds.selector, 0x18);
	ck_assert_uint_eq(c->ss.selector, 0x18);
	ck_assert_uint_eq(c->es.type, 0x3);
	ck_assert_uint_eq(c->gdt_base, 0x500);
	ck_assert_uint_eq(c->gdt_limit, 31);

	/* GDT: flat 64-bit code at 0x10, flat data at 0x18 */
	ck_assert_uint_eq(ld_le64(m + 0x500), 0);
	ck_assert_uint_eq(ld_le64(m + 0x510), 0x00af9b000000ffffULL);
	ck_assert_uint_eq(ld_le64(m + 0x518), 0x00cf93000000ffffULL);

	/* identity map of the first 4 GiB, 2 MiB pages, nothing above */
	ck_assert_uint_eq(ld_le64(m + 0x9000), 0xa003);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(ld_le64(m + 0xa000 + 8 * i), 0xb003 + 0x1000 * i);
	ck_assert_uint_eq(ld_le64(m + 0xa000 + 32), 0);
	srandom(42);
	for (i = 0; i < 1000; i++) {
		uint64_t va = ((uint64_t)random() << 1 | (random() & 1)) & 0xffffffffULL;

		ck_assert_int_eq(walk(m, c->cr3, va), (int64_t)va);
	}
	ck_assert_int_eq(walk(m, c->cr3, 0xfee00000), 0xfee00000);
	ck_assert_int_eq(walk(m, c->cr3, 0xffffffff), 0xffffffff);
	ck_assert_int_eq(walk(m, c->cr3, 0x100000000ULL), -1);
	env_free(&e);
}
END_TEST

START_TEST(test_load32_entry)
{
	struct kopts o = kdefault;
	struct env e;
	uint8_t *m;

	/* a 2.11 kernel has no xloadflags: 32-bit protocol */
	o.version = 0x020b;
	env_init(&e, &o, RAM_SIZE);
	ck_assert_int_eq(env_load(&e), 0);
	m = e.mem.buf;
	ck_assert_uint_eq(e.cpu.rip, 0x100000);
	ck_assert_uint_eq(e.cpu.rsi, ZP);
	ck_assert_uint_eq(e.cpu.cr0 & 0x80000001, 1);
	ck_assert_uint_eq(e.cpu.efer, 0);
	ck_assert_uint_eq(e.cpu.cr4, 0);
	ck_assert_uint_eq(e.cpu.cs.l, 0);
	ck_assert_uint_eq(e.cpu.cs.db, 1);
	ck_assert_uint_eq(e.cpu.cs.limit, 0xffffffff);
	ck_assert_uint_eq(e.cpu.cs.g, 1);
	ck_assert_uint_eq(ld_le64(m + 0x510), 0x00cf9b000000ffffULL);
	ck_assert_uint_eq(ld_le64(m + 0x518), 0x00cf93000000ffffULL);
	/* no page tables were needed */
	ck_assert_uint_eq(ld_le64(m + 0x9000), 0);
	/* the RSDP field is only written for protocol >= 2.14 */
	ck_assert_uint_eq(ld_le64(m + ZP + 0x70), 0);
	env_free(&e);

	/* a 2.12+ kernel without XLF_KERNEL_64 also takes the 32-bit path */
	o.version = 0x020f;
	o.xloadflags = 0;
	env_init(&e, &o, RAM_SIZE);
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(e.cpu.rip, 0x100000);
	ck_assert_uint_eq(e.cpu.efer, 0);
	env_free(&e);
}
END_TEST

START_TEST(test_setup_sects_zero_means_four)
{
	struct kopts o = kdefault;
	struct bzimage_info bi;
	struct env e;

	o.setup_sects = 0;
	env_init(&e, &o, RAM_SIZE);
	ck_assert_int_eq(bzimage_parse(&e.in.kernel, &bi), 0);
	ck_assert_uint_eq(bi.setup_size, 5 * 512);
	ck_assert_uint_eq(bi.pm_offset, 5 * 512);
	ck_assert_uint_eq(bi.pm_size, o.pm_size);
	ck_assert(bi.entry64);
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(e.mem.buf[0x100000], pm_byte(0));
	env_free(&e);

	o.setup_sects = 30;
	env_init(&e, &o, RAM_SIZE);
	ck_assert_int_eq(bzimage_parse(&e.in.kernel, &bi), 0);
	ck_assert_uint_eq(bi.pm_offset, 31 * 512);
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(e.mem.buf[0x100000 + 1], pm_byte(1));
	env_free(&e);
}
END_TEST

START_TEST(test_initrd_placement)
{
	struct kopts o = kdefault;
	uint64_t size = 1 * MiB + 123, addr, i;
	uint8_t *rd = malloc(size);
	struct env e;

	for (i = 0; i < size; i++)
		rd[i] = (uint8_t)(i ^ (i >> 8));
	/* as high as RAM allows, page aligned */
	env_init(&e, &o, RAM_SIZE);
	set_initrd(&e, rd, size);
	ck_assert_int_eq(env_load(&e), 0);
	addr = ld_le32(e.mem.buf + ZP + 0x218);
	ck_assert_uint_eq(addr, ALIGN_DOWN(RAM_SIZE - size, 4096));
	ck_assert_uint_eq(ld_le32(e.mem.buf + ZP + 0x21c), size);
	ck_assert_mem_eq(e.mem.buf + addr, rd, size);
	ck_assert_uint_eq(ld_le32(e.mem.buf + ZP + 0xc0), 0);
	env_free(&e);

	/* below initrd_addr_max (the address of the last usable byte) */
	o.initrd_addr_max = 32 * MiB - 1;
	env_init(&e, &o, RAM_SIZE);
	set_initrd(&e, rd, size);
	ck_assert_int_eq(env_load(&e), 0);
	addr = ld_le32(e.mem.buf + ZP + 0x218);
	ck_assert_uint_eq(addr, ALIGN_DOWN(32 * MiB - size, 4096));
	ck_assert_uint_le(addr + size, 32 * MiB);
	env_free(&e);

	/* not over the kernel's init_size, which starts at pref_address */
	o.initrd_addr_max = 0x7fffffff;
	o.init_size = RAM_SIZE - 16 * MiB - 1 * MiB;
	env_init(&e, &o, RAM_SIZE);
	set_initrd(&e, rd, size);
	expect_error(&e, -ENOMEM, "initrd.img");
	env_free(&e);
	o.init_size = RAM_SIZE - 16 * MiB - 2 * MiB - 4096;
	env_init(&e, &o, RAM_SIZE);
	set_initrd(&e, rd, size);
	ck_assert_int_eq(env_load(&e), 0);
	addr = ld_le32(e.mem.buf + ZP + 0x218);
	ck_assert_uint_ge(addr, 16 * MiB + o.init_size);
	env_free(&e);
	free(rd);
}
END_TEST

START_TEST(test_initrd_limits)
{
	struct kopts o = kdefault;
	struct boot_module two[2];
	static uint8_t small[16];
	struct env e;

	/* larger than RAM */
	env_init(&e, &o, RAM_SIZE);
	set_initrd(&e, small, RAM_SIZE);
	expect_error(&e, -ENOMEM, "-initrd initrd.img");
	/* larger than the initrd limit itself */
	set_initrd(&e, small, 0x100000000ULL);
	expect_error(&e, -ENOMEM, "do not fit");
	/* two files */
	memset(two, 0, sizeof(two));
	e.in.mods = two;
	e.in.nmods = 2;
	expect_error(&e, -EINVAL, "one initrd");
	/* an empty file is no initrd at all */
	set_initrd(&e, small, 0);
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(ld_le32(e.mem.buf + ZP + 0x218), 0);
	ck_assert_uint_eq(ld_le32(e.mem.buf + ZP + 0x21c), 0);
	env_free(&e);
}
END_TEST

START_TEST(test_cmdline_limits)
{
	struct kopts o = kdefault;
	char *line = malloc(MM_CMDLINE_MAX + 2);
	struct env e;

	o.cmdline_size = 100;
	env_init(&e, &o, RAM_SIZE);
	memset(line, 'a', 100);
	line[100] = 0;
	e.in.cmdline = line;
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(strlen((char *)e.mem.buf + 0x20000), 100);
	line[100] = 'b';
	line[101] = 0;
	expect_error(&e, -E2BIG, "at most 100");
	/* NULL and "" both give an empty string, never a zero pointer */
	e.in.cmdline = NULL;
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(e.mem.buf[0x20000], 0);
	ck_assert_uint_eq(ld_le32(e.mem.buf + ZP + 0x228), 0x20000);
	env_free(&e);

	/* the kernel allows more than the MM_CMDLINE window holds */
	o.cmdline_size = 0x100000;
	env_init(&e, &o, RAM_SIZE);
	memset(line, 'c', MM_CMDLINE_MAX);
	line[MM_CMDLINE_MAX - 1] = 0;
	e.in.cmdline = line;
	ck_assert_int_eq(env_load(&e), 0);
	ck_assert_uint_eq(e.mem.buf[0x20000 + MM_CMDLINE_MAX - 1], 0);
	line[MM_CMDLINE_MAX - 1] = 'c';
	line[MM_CMDLINE_MAX] = 0;
	expect_error(&e, -E2BIG, "-append");
	env_free(&e);
	free(line);
}
END_TEST

START_TEST(test_rejects_malformed_headers)
{
	struct kopts o = kdefault;
	struct env e;

	o.version = 0x0205;
	env_init(&e, &o, RAM_SIZE);
	expect_error(&e, -ENOEXEC, "vmlinuz: boot protocol 2.05 is too old");
	env_free(&e);

	o = kdefault;
	o.loadflags = 0;
	env_init(&e, &o, RAM_SIZE);
	expect_error(&e, -ENOEXEC, "zImage");
	env_free(&e);

	env_init(&e, &kdefault, RAM_SIZE);
	e.kernel[0x1fe] = 0;
	expect_error(&e, -ENOEXEC, "boot_flag");
	e.kernel[0x1fe] = 0x55;
	e.kernel[0x200] = 0xe9;
	expect_error(&e, -ENOEXEC, "short jump");
	e.kernel[0x200] = 0xeb;
	e.kernel[0x201] = 0x30;                     /* ends before cmdline_size */
	expect_error(&e, -ENOEXEC, "header length");
	e.kernel[0x201] = 0xff;                     /* past the boot_params hole */
	expect_error(&e, -ENOEXEC, "header length");
	e.kernel[0x201] = 0x6a;
	/* setup past EOF */
	e.kernel[0x1f1] = 200;
	expect_error(&e, -ENOEXEC, "past the end");
	e.kernel[0x1f1] = 4;
	/* no protected-mode code at all */
	e.in.kernel.size = 5 * 512;
	expect_error(&e, -ENOEXEC, "past the end");
	/* truncated: syssize declares more than the file holds */
	e.in.kernel.size = e.klen - 100;
	expect_error(&e, -ENOEXEC, "truncated");
	e.in.kernel.size = e.klen;
	st_le32(e.kernel + 0x1f4, 0);
	expect_error(&e, -ENOEXEC, "syssize");
	st_le32(e.kernel + 0x1f4, (uint32_t)((kdefault.pm_size + 15) / 16));
	/* shorter than the header, or not a kernel */
	e.in.kernel.size = 0x203;
	expect_error(&e, -ENOEXEC, "HdrS");
	e.in.kernel.size = e.klen;
	ck_assert_int_eq(env_load(&e), 0);
	/* no e820 map */
	e.in.e820 = NULL;
	expect_error(&e, -EINVAL, "e820");
	env_free(&e);
}
END_TEST

START_TEST(test_kernel_larger_than_ram)
{
	struct kopts o = kdefault;
	struct env e;

	o.init_size = 60 * MiB;                     /* from 16 MiB: ends at 76 MiB */
	env_init(&e, &o, RAM_SIZE);
	expect_error(&e, -ENOMEM, "vmlinuz: kernel needs RAM");
	env_free(&e);

	o = kdefault;
	o.pm_size = 3 * MiB;
	env_init(&e, &o, 4 * MiB);
	expect_error(&e, -ENOMEM, "RAM below 4 GiB ends at 0x400000");
	env_free(&e);

	/* a hostile pref_address must not wrap the arithmetic */
	o = kdefault;
	o.pref_address = ~0ULL - 0x1000;
	env_init(&e, &o, RAM_SIZE);
	expect_error(&e, -ENOMEM, "kernel needs RAM");
	env_free(&e);
}
END_TEST

START_TEST(test_guest_mem_refusal)
{
	struct env e;

	/* RAM the e820 map claims but guest_mem refuses (like SMRAM) */
	env_init(&e, &kdefault, RAM_SIZE);
	e.mem.deny_gpa = 0x100000;
	e.mem.deny_size = 0x1000;
	expect_error(&e, -EFAULT, "vmlinuz: kernel");
	e.mem.deny_gpa = MM_PD;
	expect_error(&e, -EFAULT, "page directory");
	env_free(&e);
}
END_TEST

START_TEST(test_fuzz_header)
{
	struct env e;
	uint8_t *pristine;
	unsigned iter, ok = 0;

	env_init(&e, &kdefault, RAM_SIZE);
	pristine = malloc(e.klen);
	memcpy(pristine, e.kernel, e.klen);
	srandom(0xb2);
	for (iter = 0; iter < 3000; iter++) {
		unsigned flips = 1 + random() % 4, i;
		int ret;

		memcpy(e.kernel, pristine, e.klen);
		e.in.kernel.size = e.klen;
		for (i = 0; i < flips; i++) {
			size_t off = 0x1f1 + random() % (0x270 - 0x1f1);

			e.kernel[off] = (uint8_t)random();
		}
		if (random() % 4 == 0)
			e.in.kernel.size = random() % (e.klen + 1);
		ret = env_load(&e);
		if (ret == 0) {
			ok++;
			ck_assert(e.cpu.rip == 0x100200 || e.cpu.rip == 0x100000);
			continue;
		}
		ck_assert_int_lt(ret, 0);
		ck_assert_msg(strstr(err_get(), "vmlinuz") || strstr(err_get(), "-append"),
			      "iteration %u: unhelpful error '%s'", iter, err_get());
	}
	/* corruptions of unchecked fields load; the test covered both sides */
	ck_assert_uint_gt(ok, 100);
	ck_assert_uint_lt(ok, 3000);
	free(pristine);
	env_free(&e);
}
END_TEST

START_TEST(test_to_kvm)
{
	struct boot_cpu_state s;
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	bootcpu_init_long64(&s);
	s.rip = 0x100200;
	s.rsi = 0x7000;
	s.rsp = 0x8f000;
	s.r15 = 15;
	memset(&regs, 0xaa, sizeof(regs));
	memset(&sregs, 0xaa, sizeof(sregs));
	sregs.tr.selector = 0x28;
	sregs.apic_base = 0xfee00900;
	bootcpu_to_kvm(&s, &regs, &sregs);

	ck_assert_uint_eq(regs.rip, 0x100200);
	ck_assert_uint_eq(regs.rsi, 0x7000);
	ck_assert_uint_eq(regs.rsp, 0x8f000);
	ck_assert_uint_eq(regs.r15, 15);
	ck_assert_uint_eq(regs.rax | regs.rbx | regs.rdi | regs.rbp | regs.r8, 0);
	ck_assert_uint_eq(regs.rflags, 2);
	ck_assert_uint_eq(sregs.cs.selector, 0x10);
	ck_assert_uint_eq(sregs.cs.l, 1);
	ck_assert_uint_eq(sregs.cs.db, 0);
	ck_assert_uint_eq(sregs.cs.type, 0xb);
	ck_assert_uint_eq(sregs.cs.s, 1);
	ck_assert_uint_eq(sregs.cs.present, 1);
	ck_assert_uint_eq(sregs.cs.unusable, 0);
	ck_assert_uint_eq(sregs.cs.padding, 0);
	ck_assert_uint_eq(sregs.cs.limit, 0xffffffff);
	ck_assert_uint_eq(sregs.cs.base, 0);
	ck_assert_uint_eq(sregs.ds.selector, 0x18);
	ck_assert_uint_eq(sregs.gs.type, 0x3);
	ck_assert_uint_eq(sregs.ss.db, 1);
	ck_assert_uint_eq(sregs.gdt.base, 0x500);
	ck_assert_uint_eq(sregs.gdt.limit, 31);
	ck_assert_uint_eq(sregs.idt.limit, 0);
	ck_assert_uint_eq(sregs.cr0 & 0x80000001, 0x80000001);
	ck_assert_uint_eq(sregs.cr3, 0x9000);
	ck_assert_uint_eq(sregs.cr4, 0x20);
	ck_assert_uint_eq(sregs.efer, 0x500);
	/* what the boot state does not own keeps the vCPU's values */
	ck_assert_uint_eq(sregs.tr.selector, 0x28);
	ck_assert_uint_eq(sregs.ldt.selector, 0xaaaa);
	ck_assert_uint_eq(sregs.cr2, 0xaaaaaaaaaaaaaaaaULL);
	ck_assert_uint_eq(sregs.cr8, 0xaaaaaaaaaaaaaaaaULL);
	ck_assert_uint_eq(sregs.apic_base, 0xfee00900);
	ck_assert_uint_eq(sregs.interrupt_bitmap[0], 0xaaaaaaaaaaaaaaaaULL);
}
END_TEST

START_TEST(test_gdt_entry_encoding)
{
	/* the descriptor a boot loader would hand-assemble */
	ck_assert_uint_eq(bootcpu_gdt_entry(0, 0xfffff, 0x9b, 0xc), 0x00cf9b000000ffffULL);
	ck_assert_uint_eq(bootcpu_gdt_entry(0x12345678, 0xabcde, 0x93, 0x4),
			  0x124a93345678bcdeULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bzimage");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_detect);
	tcase_add_test(tc, test_load64_boot_params);
	tcase_add_test(tc, test_load64_cpu_state_and_tables);
	tcase_add_test(tc, test_load32_entry);
	tcase_add_test(tc, test_setup_sects_zero_means_four);
	tcase_add_test(tc, test_initrd_placement);
	tcase_add_test(tc, test_initrd_limits);
	tcase_add_test(tc, test_cmdline_limits);
	tcase_add_test(tc, test_rejects_malformed_headers);
	tcase_add_test(tc, test_kernel_larger_than_ram);
	tcase_add_test(tc, test_guest_mem_refusal);
	tcase_add_test(tc, test_fuzz_header);
	tcase_add_test(tc, test_to_kvm);
	tcase_add_test(tc, test_gdt_entry_encoding);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
