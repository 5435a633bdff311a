/* Unit tests for devices/chipset/fwcfg.c: port and DMA interfaces, files, SMI negotiation. */
#include <errno.h>
#include <stdio.h>

#include "devices/chipset/fwcfg.h"
#include "tests/unit/support.h"

#define RAM_SIZE (1 * MiB)
#define DESC     0x1000ULL   /* where tests put DMA descriptors */
#define BUF      0x2000ULL   /* DMA data buffer */

struct env {
	struct fake_mem mem;
	struct fwcfg *f;
	unsigned cb_calls;
	uint64_t cb_features;
};

static void smi_cb(void *opaque, uint64_t features)
{
	struct env *e = opaque;

	e->cb_calls++;
	e->cb_features = features;
}

static void env_init(struct env *e, bool dma, uint64_t smi)
{
	struct fwcfg_config cfg = {
		.nb_cpus = 4, .max_cpus = 8, .smi_features = smi,
		.smi_features_cb = smi_cb, .opaque = e,
	};

	memset(e, 0, sizeof(*e));
	fake_mem_init(&e->mem, 0, RAM_SIZE);
	cfg.mem = dma ? &e->mem.gm : NULL;
	ck_assert_int_eq(fwcfg_create(&e->f, &cfg), 0);
}

static void env_fini(struct env *e)
{
	fwcfg_destroy(e->f);
	fake_mem_free(&e->mem);
}

static void sel(struct env *e, uint16_t key)
{
	dev_write(&fwcfg_ops, e->f, FWCFG_IO_SELECTOR, key, 2);
}

static void port_read(struct env *e, void *buf, size_t n)
{
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)dev_read(&fwcfg_ops, e->f, FWCFG_IO_DATA, 1);
}

/* Start a DMA the way OVMF does: two big-endian 32-bit port writes. */
static void dma_kick(struct env *e, uint64_t gpa)
{
	dev_write(&fwcfg_ops, e->f, FWCFG_IO_DMA, __builtin_bswap32((uint32_t)(gpa >> 32)), 4);
	dev_write(&fwcfg_ops, e->f, FWCFG_IO_DMA + 4, __builtin_bswap32((uint32_t)gpa), 4);
}

static void put_desc(struct env *e, uint64_t at, uint32_t ctl, uint32_t len, uint64_t addr)
{
	st_be32(e->mem.buf + at, ctl);
	st_be32(e->mem.buf + at + 4, len);
	st_be64(e->mem.buf + at + 8, addr);
}

/* Run a descriptor at DESC and return its status (control word afterwards). */
static uint32_t dma(struct env *e, uint32_t ctl, uint32_t len, uint64_t addr)
{
	put_desc(e, DESC, ctl, len, addr);
	dma_kick(e, DESC);
	return ld_be32(e->mem.buf + DESC);
}

START_TEST(test_signature_and_id)
{
	struct env e;
	uint8_t b[8];

	env_init(&e, true, 0);
	sel(&e, FWCFG_SIGNATURE);
	port_read(&e, b, 6);
	ck_assert_mem_eq(b, "QEMU\0\0", 6);   /* past the end reads 0 */
	sel(&e, FWCFG_ID);
	port_read(&e, b, 4);
	ck_assert_uint_eq(ld_le32(b), FWCFG_VERSION_TRADITIONAL | FWCFG_VERSION_DMA);
	/* the DMA register reads "QEMU CFG" in big-endian byte order */
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DMA, 4), ld_le32("QEMU"));
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DMA + 4, 4), ld_le32(" CFG"));
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DMA, 1), 'Q');
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_SELECTOR, 1), FWCFG_ID & 0xff);
	/* the gap between data and DMA is unassigned */
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, 2, 2), 0xffff);
	/* reset re-selects the signature */
	sel(&e, FWCFG_ID);
	fwcfg_reset(e.f);
	port_read(&e, b, 4);
	ck_assert_mem_eq(b, "QEMU", 4);
	env_fini(&e);

	env_init(&e, false, 0);
	sel(&e, FWCFG_ID);
	port_read(&e, b, 4);
	ck_assert_uint_eq(ld_le32(b), FWCFG_VERSION_TRADITIONAL);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DMA, 4), 0xffffffff);
	env_fini(&e);
}
END_TEST

START_TEST(test_numeric_items)
{
	struct env e;
	uint8_t b[8];

	env_init(&e, true, 0);
	sel(&e, FWCFG_NB_CPUS);
	port_read(&e, b, 2);
	ck_assert_uint_eq(ld_le16(b), 4);
	sel(&e, FWCFG_MAX_CPUS);
	port_read(&e, b, 2);
	ck_assert_uint_eq(ld_le16(b), 8);
	ck_assert_int_eq(fwcfg_add_i64(e.f, FWCFG_RAM_SIZE, 0x123456789aULL), 0);
	ck_assert_int_eq(fwcfg_add_i32(e.f, 0x8003, 0xdeadbeef), 0);
	sel(&e, FWCFG_RAM_SIZE);
	port_read(&e, b, 8);
	ck_assert_uint_eq(ld_le64(b), 0x123456789aULL);
	/* the legacy write-channel selector bit is ignored */
	sel(&e, 0x8003 | FWCFG_WRITE_CHANNEL);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DATA, 4), 0xdeadbeef);
	/* replacing an existing key */
	ck_assert_int_eq(fwcfg_add_i16(e.f, FWCFG_NB_CPUS, 2), 0);
	sel(&e, FWCFG_NB_CPUS);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DATA, 2), 2);
	/* generated keys and the file range are refused */
	ck_assert_int_eq(fwcfg_add_i16(e.f, FWCFG_SIGNATURE, 1), -EINVAL);
	ck_assert_int_eq(fwcfg_add_i16(e.f, FWCFG_ID, 1), -EINVAL);
	ck_assert_int_eq(fwcfg_add_i16(e.f, FWCFG_FILE_DIR, 1), -EINVAL);
	ck_assert_int_eq(fwcfg_add_i16(e.f, FWCFG_FILE_FIRST + 3, 1), -EINVAL);
	ck_assert_int_eq(fwcfg_add_i16(e.f, 0x4005, 1), -EINVAL);
	/* an unknown key reads zeroes; a 1-byte selector write is ignored */
	sel(&e, 0x0123);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DATA, 4), 0);
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_SELECTOR, FWCFG_SIGNATURE, 1);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DATA, 1), 0);
	env_fini(&e);
}
END_TEST

/* Find @name in the directory read through the data port. */
static int dir_lookup(struct env *e, const char *name, uint32_t *size)
{
	uint8_t ent[64];
	uint8_t cnt[4];
	uint32_t n, i;
	char prev[57] = "";
	int key = -1;

	sel(e, FWCFG_FILE_DIR);
	port_read(e, cnt, 4);
	n = ld_be32(cnt);
	for (i = 0; i < n; i++) {
		port_read(e, ent, 64);
		ck_assert_uint_eq(ld_be16(ent + 6), 0);          /* reserved */
		ck_assert_uint_eq(ent[63], 0);                   /* NUL-terminated */
		ck_assert_int_lt(strcmp(prev, (char *)ent + 8), 0);   /* sorted, unique */
		memcpy(prev, ent + 8, 56);
		if (!strcmp((char *)ent + 8, name)) {
			key = ld_be16(ent + 4);
			*size = ld_be32(ent);
		}
	}
	return key;
}

START_TEST(test_file_directory)
{
	static const char *names[] = { "opt/zz", "etc/b", "bootorder", "etc/a" };
	char long_name[FWCFG_NAME_MAX + 1];
	struct env e;
	uint8_t data[300], b[300];
	uint32_t size = 0;
	unsigned i;
	int key;

	env_init(&e, true, 0);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		ck_assert_int_eq(fwcfg_add_file(e.f, names[i], data, 10 + i),
				 FWCFG_FILE_FIRST + (int)i);
	key = dir_lookup(&e, "etc/a", &size);
	ck_assert_int_eq(key, FWCFG_FILE_FIRST + 3);
	ck_assert_uint_eq(size, 13);
	sel(&e, (uint16_t)key);
	port_read(&e, b, 15);
	ck_assert_mem_eq(b, data, 13);
	ck_assert_uint_eq(b[13], 0);
	ck_assert_uint_eq(b[14], 0);
	ck_assert_int_eq(dir_lookup(&e, "opt/zz", &size), FWCFG_FILE_FIRST);
	ck_assert_int_eq(dir_lookup(&e, "nope", &size), -1);

	/* malformed names and limits */
	memset(long_name, 'x', sizeof(long_name));
	long_name[FWCFG_NAME_MAX] = 0;
	ck_assert_int_eq(fwcfg_add_file(e.f, long_name, data, 1), -EINVAL);
	long_name[FWCFG_NAME_MAX - 1] = 0;   /* 55 characters: fits */
	ck_assert_int_gt(fwcfg_add_file(e.f, long_name, data, 1), 0);
	ck_assert_int_eq(dir_lookup(&e, long_name, &size), FWCFG_FILE_FIRST + 4);
	ck_assert_int_eq(fwcfg_add_file(e.f, "", data, 1), -EINVAL);
	ck_assert_int_eq(fwcfg_add_file(e.f, NULL, data, 1), -EINVAL);
	ck_assert_int_eq(fwcfg_add_file(e.f, "etc/a", data, 1), -EEXIST);
	for (i = 5; i < FWCFG_MAX_FILES; i++) {
		char nm[16];

		snprintf(nm, sizeof(nm), "f%03u", i);
		ck_assert_int_eq(fwcfg_add_file(e.f, nm, NULL, 0), FWCFG_FILE_FIRST + (int)i);
	}
	ck_assert_int_eq(fwcfg_add_file(e.f, "one-too-many", data, 1), -ENOSPC);
	/* an empty file reads as zeroes */
	ck_assert_int_eq(dir_lookup(&e, "f010", &size), FWCFG_FILE_FIRST + 10);
	ck_assert_uint_eq(size, 0);
	env_fini(&e);
}
END_TEST

START_TEST(test_dma_read_skip_select)
{
	struct env e;
	uint8_t data[64];
	unsigned i;
	int key;

	env_init(&e, true, 0);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xa0 + i);
	key = fwcfg_add_file(e.f, "etc/test", data, sizeof(data));
	ck_assert_int_ge(key, FWCFG_FILE_FIRST);

	memset(e.mem.buf + BUF, 0xcc, 256);
	ck_assert_uint_eq(dma(&e, (uint32_t)key << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 16,
			      BUF), 0);
	ck_assert_mem_eq(e.mem.buf + BUF, data, 16);
	ck_assert_uint_eq(e.mem.buf[BUF + 16], 0xcc);
	/* skip 8, then read continues where the offset is */
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_SKIP, 8, 0), 0);
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_READ, 8, BUF), 0);
	ck_assert_mem_eq(e.mem.buf + BUF, data + 24, 8);
	/* a read past the end is zero-filled, and so is any later read */
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_READ, 64, BUF), 0);
	ck_assert_mem_eq(e.mem.buf + BUF, data + 32, 32);
	for (i = 32; i < 64; i++)
		ck_assert_uint_eq(e.mem.buf[BUF + i], 0);
	memset(e.mem.buf + BUF, 0xcc, 8);
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_READ, 8, BUF), 0);
	for (i = 0; i < 8; i++)
		ck_assert_uint_eq(e.mem.buf[BUF + i], 0);
	/* select alone resets the offset; the port interface sees the same state */
	ck_assert_uint_eq(dma(&e, (uint32_t)key << 16 | FWCFG_DMA_SELECT, 0, 0), 0);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DATA, 1), data[0]);
	/* the signature through DMA, with an 8-byte MMIO-style write of the address */
	put_desc(&e, DESC, FWCFG_SIGNATURE << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 4, BUF);
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_DMA, __builtin_bswap64(DESC), 8);
	ck_assert_uint_eq(ld_be32(e.mem.buf + DESC), 0);
	ck_assert_mem_eq(e.mem.buf + BUF, "QEMU", 4);
	/* a high-half write alone starts nothing */
	put_desc(&e, DESC, FWCFG_DMA_SKIP, 1, 0);
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_DMA, 0, 4);
	ck_assert_uint_eq(ld_be32(e.mem.buf + DESC), FWCFG_DMA_SKIP);
	env_fini(&e);
}
END_TEST

START_TEST(test_dma_hostile)
{
	struct env e;
	uint8_t data[16] = "0123456789abcdef";
	uint8_t before[8];
	int key, wkey;

	env_init(&e, true, FWCFG_SMI_F_BROADCAST);
	key = fwcfg_add_file(e.f, "etc/ro", data, sizeof(data));
	wkey = fwcfg_add_file_cb(e.f, "etc/rw", data, 8, true, NULL, NULL);
	ck_assert_int_gt(key, 0);
	ck_assert_int_gt(wkey, 0);

	/* descriptor outside RAM, or wrapping: nothing happens, nothing crashes */
	dma_kick(&e, RAM_SIZE - 8);
	dma_kick(&e, 0xfffffffffffffff8ULL);
	dma_kick(&e, 5ULL << 40);
	/* buffer outside RAM */
	ck_assert_uint_eq(dma(&e, (uint32_t)key << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 16,
			      RAM_SIZE - 8), FWCFG_DMA_ERROR);
	/* huge length */
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_READ, 0xffffffff, BUF), FWCFG_DMA_ERROR);
	/* address + length wraps around */
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_READ, 0x100, 0xffffffffffffff80ULL), FWCFG_DMA_ERROR);
	/* a range the guest_mem refuses (like SMRAM) */
	e.mem.deny_gpa = 0x8000;
	e.mem.deny_size = 0x1000;
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_READ, 0x100, 0x7f80), FWCFG_DMA_ERROR);
	ck_assert_uint_eq(e.mem.buf[0x7f80], 0);
	/* unknown control bits: refused before the select takes effect */
	ck_assert_uint_eq(dma(&e, FWCFG_SIGNATURE << 16 | FWCFG_DMA_SELECT | 0x20 |
				      FWCFG_DMA_READ, 4, BUF), FWCFG_DMA_ERROR);
	ck_assert_uint_eq(dma(&e, 0x8000 | FWCFG_DMA_READ, 4, BUF), FWCFG_DMA_ERROR);
	/* read and write together is ambiguous */
	ck_assert_uint_eq(dma(&e, (uint32_t)wkey << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_READ |
				      FWCFG_DMA_WRITE, 4, BUF), FWCFG_DMA_ERROR);
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_SKIP | FWCFG_DMA_WRITE, 4, BUF), FWCFG_DMA_ERROR);
	/* write to a read-only item: error, contents unchanged */
	memset(e.mem.buf + BUF, 'X', 16);
	ck_assert_uint_eq(dma(&e, (uint32_t)key << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 4,
			      BUF), FWCFG_DMA_ERROR);
	ck_assert_mem_eq(fwcfg_file_data(e.f, "etc/ro", NULL), data, 16);
	/* write to generated items (signature, directory) */
	ck_assert_uint_eq(dma(&e, FWCFG_SIGNATURE << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 4,
			      BUF), FWCFG_DMA_ERROR);
	ck_assert_uint_eq(dma(&e, FWCFG_FILE_DIR << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 4,
			      BUF), FWCFG_DMA_ERROR);
	/* write past the end of a writable item: error, nothing written */
	memcpy(before, fwcfg_file_data(e.f, "etc/rw", NULL), 8);
	ck_assert_uint_eq(dma(&e, (uint32_t)wkey << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 9,
			      BUF), FWCFG_DMA_ERROR);
	ck_assert_mem_eq(fwcfg_file_data(e.f, "etc/rw", NULL), before, 8);
	/* write from a buffer outside RAM */
	ck_assert_uint_eq(dma(&e, (uint32_t)wkey << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 4,
			      RAM_SIZE), FWCFG_DMA_ERROR);
	/* a valid write still works afterwards */
	ck_assert_uint_eq(dma(&e, (uint32_t)wkey << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 8,
			      BUF), 0);
	ck_assert_mem_eq(fwcfg_file_data(e.f, "etc/rw", NULL), "XXXXXXXX", 8);
	/* unknown key: reads zero-fill, writes fail */
	memset(e.mem.buf + BUF, 0xcc, 4);
	ck_assert_uint_eq(dma(&e, 0x0777u << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 4, BUF), 0);
	ck_assert_uint_eq(ld_le32(e.mem.buf + BUF), 0);
	ck_assert_uint_eq(dma(&e, FWCFG_DMA_WRITE, 4, BUF), FWCFG_DMA_ERROR);
	ck_assert_uint_eq(e.cb_calls, 0);
	env_fini(&e);

	/* without a DMA interface, DMA writes are ignored */
	env_init(&e, false, 0);
	put_desc(&e, DESC, FWCFG_DMA_SELECT | FWCFG_DMA_READ, 4, BUF);
	dma_kick(&e, DESC);
	ck_assert_uint_eq(ld_be32(e.mem.buf + DESC), FWCFG_DMA_SELECT | FWCFG_DMA_READ);
	env_fini(&e);
}
END_TEST

static int smi_try(struct env *e, uint64_t want)
{
	uint32_t sz = 0;
	int req = dir_lookup(e, "etc/smi/requested-features", &sz);
	int ok = dir_lookup(e, "etc/smi/features-ok", &sz);

	ck_assert_int_gt(req, 0);
	ck_assert_int_gt(ok, 0);
	st_le64(e->mem.buf + BUF, want);
	ck_assert_uint_eq(dma(e, (uint32_t)req << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 8,
			      BUF), 0);
	sel(e, (uint16_t)ok);
	return (int)dev_read(&fwcfg_ops, e->f, FWCFG_IO_DATA, 1);
}

START_TEST(test_smi_negotiation_rules)
{
	static const struct {
		uint64_t supported, want;
		int ok;
	} cases[] = {
		{ FWCFG_SMI_F_BROADCAST, FWCFG_SMI_F_BROADCAST, 1 },
		{ FWCFG_SMI_F_BROADCAST, 0, 1 },
		{ FWCFG_SMI_F_BROADCAST, FWCFG_SMI_F_BROADCAST | FWCFG_SMI_F_CPU_HOTPLUG, 0 },
		{ FWCFG_SMI_F_BROADCAST, 1ULL << 63, 0 },
		{ 7, FWCFG_SMI_F_CPU_HOTPLUG, 0 },                      /* hotplug needs broadcast */
		{ 7, FWCFG_SMI_F_BROADCAST | FWCFG_SMI_F_CPU_HOT_UNPLUG, 0 },  /* unplug alone */
		{ 7, FWCFG_SMI_F_BROADCAST | FWCFG_SMI_F_CPU_HOTPLUG, 1 },
		{ 7, 7, 1 },
	};
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct env e;
		uint32_t sz = 0;
		int r;

		env_init(&e, true, cases[i].supported);
		ck_assert_int_gt(dir_lookup(&e, "etc/smi/supported-features", &sz), 0);
		ck_assert_uint_eq(sz, 8);
		ck_assert_uint_eq(ld_le64(fwcfg_file_data(e.f, "etc/smi/supported-features",
							  NULL)), cases[i].supported);
		r = smi_try(&e, cases[i].want);
		ck_assert_msg(r == cases[i].ok, "case %u: features-ok %d", i, r);
		ck_assert_uint_eq(e.cb_calls, (unsigned)cases[i].ok);
		ck_assert_uint_eq(fwcfg_smi_negotiated(e.f), cases[i].ok ? cases[i].want : 0);
		if (cases[i].ok)
			ck_assert_uint_eq(e.cb_features, cases[i].want);
		env_fini(&e);
	}
}
END_TEST

START_TEST(test_smi_lock_and_reset)
{
	struct env e;
	uint32_t sz;
	int sup;

	env_init(&e, true, FWCFG_SMI_F_BROADCAST);
	ck_assert_int_eq(dir_lookup(&e, "etc/smi/features-ok", &sz) > 0, 1);
	ck_assert_uint_eq(sz, 1);
	/* a refused request can be retried */
	ck_assert_int_eq(smi_try(&e, 2), 0);
	ck_assert_int_eq(smi_try(&e, FWCFG_SMI_F_BROADCAST), 1);
	/* once accepted, the result is locked */
	ck_assert_int_eq(smi_try(&e, 0), 1);
	ck_assert_uint_eq(fwcfg_smi_negotiated(e.f), FWCFG_SMI_F_BROADCAST);
	ck_assert_uint_eq(e.cb_calls, 1);
	/* supported-features is read-only */
	sup = dir_lookup(&e, "etc/smi/supported-features", &sz);
	st_le64(e.mem.buf + BUF, 7);
	ck_assert_uint_eq(dma(&e, (uint32_t)sup << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 8,
			      BUF), FWCFG_DMA_ERROR);
	/* reset clears the request and the lock */
	fwcfg_reset(e.f);
	ck_assert_uint_eq(fwcfg_smi_negotiated(e.f), 0);
	ck_assert_uint_eq(ld_le64(fwcfg_file_data(e.f, "etc/smi/requested-features", NULL)), 0);
	ck_assert_int_eq(smi_try(&e, 4), 0);
	ck_assert_int_eq(smi_try(&e, FWCFG_SMI_F_BROADCAST), 1);
	ck_assert_uint_eq(e.cb_calls, 2);
	env_fini(&e);

	/* no supported features: no etc/smi files at all */
	env_init(&e, true, 0);
	ck_assert_int_eq(dir_lookup(&e, "etc/smi/features-ok", &sz), -1);
	env_fini(&e);
}
END_TEST

struct wrec {
	unsigned calls;
	uint32_t off, n;
	unsigned selects;
};

static void rec_write(void *opaque, const uint8_t *data, uint32_t len, uint32_t off, uint32_t n)
{
	struct wrec *w = opaque;

	w->calls++;
	w->off = off;
	w->n = n;
}

static void rec_select(void *opaque, uint8_t *data, uint32_t len)
{
	struct wrec *w = opaque;

	w->selects++;
	data[0] = (uint8_t)w->selects;   /* content generated on select */
}

START_TEST(test_port_writes_and_callbacks)
{
	static const struct fwcfg_file_ops ops = { .select = rec_select, .write = rec_write };
	struct env e;
	struct wrec w = { 0 };
	uint8_t ro[4] = { 1, 2, 3, 4 };
	int key, rokey, ok;
	uint32_t sz;

	env_init(&e, false, FWCFG_SMI_F_BROADCAST);
	key = fwcfg_add_file_cb(e.f, "etc/cb", NULL, 4, true, &ops, &w);
	rokey = fwcfg_add_file(e.f, "etc/ro", ro, 4);
	/* OVMF without DMA writes byte-wise to the data port */
	sel(&e, (uint16_t)key);
	ck_assert_uint_eq(w.selects, 1);
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_DATA, 0xaa, 1);
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_DATA, 0xbb, 1);
	ck_assert_uint_eq(w.calls, 2);
	ck_assert_uint_eq(w.off, 1);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_mem_eq(fwcfg_file_data(e.f, "etc/cb", &sz), "\xaa\xbb\0\0", 4);
	ck_assert_uint_eq(sz, 4);
	/* past the end: ignored */
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_DATA, 0xccdd, 2);
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_DATA, 0xee, 1);
	ck_assert_uint_eq(w.calls, 4);
	ck_assert_mem_eq(fwcfg_file_data(e.f, "etc/cb", NULL), "\xaa\xbb\xdd\xcc", 4);
	/* selecting again regenerates */
	sel(&e, (uint16_t)key);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DATA, 1), 2);
	/* read-only: ignored */
	sel(&e, (uint16_t)rokey);
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_DATA, 0xff, 1);
	ck_assert_mem_eq(fwcfg_file_data(e.f, "etc/ro", NULL), ro, 4);
	/* SMI negotiation through the data port only */
	sel(&e, (uint16_t)dir_lookup(&e, "etc/smi/requested-features", &sz));
	dev_write(&fwcfg_ops, e.f, FWCFG_IO_DATA, FWCFG_SMI_F_BROADCAST, 1);
	ok = dir_lookup(&e, "etc/smi/features-ok", &sz);
	sel(&e, (uint16_t)ok);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DATA, 1), 1);
	ck_assert_uint_eq(e.cb_features, FWCFG_SMI_F_BROADCAST);
	env_fini(&e);
}
END_TEST

START_TEST(test_helpers)
{
	static const struct fwcfg_e820 map[] = {
		{ 0, 0x9fc00, FWCFG_E820_RAM },
		{ 0x100000, 0x7f00000, FWCFG_E820_RAM },
		{ 0xb0000000, 0x10000000, FWCFG_E820_RESERVED },
	};
	static const char *const order[] = { "/pci@i0cf8/scsi@3/disk@0,0", "HALT" };
	struct env e;
	const uint8_t *p;
	uint32_t len;

	env_init(&e, true, 0);
	ck_assert_int_gt(fwcfg_add_e820(e.f, map, ARRAY_SIZE(map)), 0);
	p = fwcfg_file_data(e.f, "etc/e820", &len);
	ck_assert_uint_eq(len, 60);
	ck_assert_uint_eq(ld_le64(p + 20), 0x100000);
	ck_assert_uint_eq(ld_le64(p + 28), 0x7f00000);
	ck_assert_uint_eq(ld_le32(p + 36), 1);
	ck_assert_uint_eq(ld_le64(p + 40), 0xb0000000);
	ck_assert_uint_eq(ld_le32(p + 56), 2);
	ck_assert_int_eq(fwcfg_add_e820(e.f, map, 0), -EINVAL);
	ck_assert_int_eq(fwcfg_add_e820(e.f, map, 1), -EEXIST);

	ck_assert_int_gt(fwcfg_add_bootorder(e.f, order, 2), 0);
	p = fwcfg_file_data(e.f, "bootorder", &len);
	ck_assert_uint_eq(len, strlen(order[0]) + 1 + strlen(order[1]) + 1);
	ck_assert_str_eq((const char *)p, "/pci@i0cf8/scsi@3/disk@0,0\nHALT");
	{
		const char *bad[] = { "a\nb" };

		ck_assert_int_eq(fwcfg_add_bootorder(e.f, bad, 1), -EINVAL);
		ck_assert_int_eq(fwcfg_add_bootorder(e.f, bad, 0), -EINVAL);
	}

	ck_assert_int_gt(fwcfg_add_boot_menu(e.f, true, 2500), 0);
	p = fwcfg_file_data(e.f, "etc/boot-menu-wait", &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(ld_le16(p), 2500);
	sel(&e, FWCFG_BOOT_MENU);
	ck_assert_uint_eq(dev_read(&fwcfg_ops, e.f, FWCFG_IO_DATA, 2), 1);
	ck_assert_ptr_null(fwcfg_file_data(e.f, "missing", NULL));
	env_fini(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fwcfg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_signature_and_id);
	tcase_add_test(tc, test_numeric_items);
	tcase_add_test(tc, test_file_directory);
	tcase_add_test(tc, test_dma_read_skip_select);
	tcase_add_test(tc, test_dma_hostile);
	tcase_add_test(tc, test_smi_negotiation_rules);
	tcase_add_test(tc, test_smi_lock_and_reset);
	tcase_add_test(tc, test_port_writes_and_callbacks);
	tcase_add_test(tc, test_helpers);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
