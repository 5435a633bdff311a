/* Unit tests for devices/chipset/pflash.c: OVMF's command sequences, protection, durability. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/chipset/pflash.h"
#include "tests/unit/support.h"
#include "vmm/err.h"

#define FLASH_SIZE (64 * 1024)
#define BLK 4096

struct env {
	char path[64];
	int fd;
	struct pflash *p;
	unsigned map_on, map_off, syncs;
	bool mapped;
};

static void map_cb(void *opaque, bool on)
{
	struct env *e = opaque;

	ck_assert_msg(e->mapped != on, "map_array(%d) twice in a row", on);
	e->mapped = on;
	if (on)
		e->map_on++;
	else
		e->map_off++;
}

static void sync_cb(void *opaque, int fd)
{
	struct env *e = opaque;

	e->syncs++;
	ck_assert_int_eq(fdatasync(fd), 0);
}

/* A flash file whose byte i is (i * 13 + 5) & 0xff, but byte 0 = 0x00, 1 = 0x50. */
static void make_file(struct env *e, uint64_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	uint64_t i;

	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 13 + 5);
	if (size > 2) {
		buf[0] = 0x00;
		buf[1] = 0x50;
	}
	strcpy(e->path, "/tmp/kvmrun-pflash-XXXXXX");
	e->fd = mkstemp(e->path);
	ck_assert_int_ge(e->fd, 0);
	ck_assert_int_eq(write(e->fd, buf, size), (ssize_t)size);
	free(buf);
}

static int env_create(struct env *e, bool readonly, bool secure, unsigned bank)
{
	struct pflash_config cfg = {
		.name = e->path, .fd = e->fd, .readonly = readonly, .secure = secure,
		.bank_width = bank, .map_array = map_cb, .sync = sync_cb, .opaque = e,
	};

	return pflash_create(&e->p, &cfg);
}

static void env_init(struct env *e, bool readonly, bool secure, unsigned bank)
{
	memset(e, 0, sizeof(*e));
	make_file(e, FLASH_SIZE);
	ck_assert_int_eq(env_create(e, readonly, secure, bank), 0);
	ck_assert(e->mapped);
	ck_assert_uint_eq(e->map_on, 1);
}

static void env_fini(struct env *e)
{
	pflash_destroy(e->p);
	close(e->fd);
	unlink(e->path);
}

static const struct io_ctx smm_ctx = { .cpu = 0, .smm = true };
static const struct io_ctx os_ctx = { .cpu = 0, .smm = false };

static void wr(struct env *e, bool smm, uint64_t off, uint64_t v, unsigned size)
{
	pflash_ops.write(e->p, smm ? &smm_ctx : &os_ctx, off, v, size);
}

static uint64_t rd(struct env *e, uint64_t off, unsigned size)
{
	return pflash_ops.read(e->p, &os_ctx, off, size);
}

static uint8_t file_byte(struct env *e, uint64_t off)
{
	uint8_t b = 0;
	int fd = open(e->path, O_RDONLY);   /* a separate descriptor, as after a crash */

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	close(fd);
	return b;
}

static uint8_t orig(uint64_t i)
{
	return i == 0 ? 0x00 : i == 1 ? 0x50 : (uint8_t)(i * 13 + 5);
}

/* OvmfPkg QemuFlashDetected(), step by step; returns true for "FLASH". */
static bool ovmf_probe(struct env *e, bool smm)
{
	uint64_t off;
	uint8_t original, probe;

	for (off = 0; off < BLK; off++) {
		probe = (uint8_t)rd(e, off, 1);
		if (probe != 0x50 && probe != 0x70 && probe != 0x00)
			break;
	}
	ck_assert_uint_lt(off, BLK);
	original = (uint8_t)rd(e, off, 1);
	wr(e, smm, off, 0x50, 1);
	probe = (uint8_t)rd(e, off, 1);
	if (original != 0x50 && probe == 0x50)
		return false;   /* RAM */
	wr(e, smm, off, 0x70, 1);
	probe = (uint8_t)rd(e, off, 1);
	if (probe != 0x00)
		return false;   /* ROM or RAM */
	wr(e, smm, off, 0xff, 1);
	ck_assert_uint_eq(rd(e, off, 1), original);
	return true;
}

START_TEST(test_ovmf_probe)
{
	struct env e;

	env_init(&e, false, false, 1);
	ck_assert(ovmf_probe(&e, false));
	/* 0x50 stays in array mode, 0x70 leaves it, 0xff comes back */
	ck_assert_uint_eq(e.map_off, 1);
	ck_assert_uint_eq(e.map_on, 2);
	ck_assert(e.mapped);
	ck_assert(pflash_array_mode(e.p));
	ck_assert_uint_eq(e.syncs, 0);   /* nothing was modified */
	env_fini(&e);

	/* the secure VARS flash is probed from SMM */
	env_init(&e, false, true, 1);
	ck_assert(ovmf_probe(&e, true));
	env_fini(&e);
}
END_TEST

START_TEST(test_byte_program)
{
	static const uint8_t data[] = { 0x12, 0x00, 0xff, 0x5a, 0x70 };
	struct env e;
	unsigned i;
	uint64_t off = 3 * BLK + 100;

	env_init(&e, false, false, 1);
	/* OvmfPkg QemuFlashWrite(): 0x10 + data per byte, 0xff on the last byte */
	for (i = 0; i < sizeof(data); i++) {
		wr(&e, false, off + i, 0x10, 1);
		ck_assert(!e.mapped);
		ck_assert_uint_eq(rd(&e, off + i, 1), PFLASH_SR_READY);
		wr(&e, false, off + i, data[i], 1);
		/* status mode: any address reads the status */
		ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_SR_READY);
		ck_assert_uint_eq(rd(&e, 8, 4), 0x80808080);
		/* durable as soon as the write returned (page cache) */
		ck_assert_uint_eq(file_byte(&e, off + i), data[i]);
	}
	ck_assert_uint_eq(e.syncs, 0);
	wr(&e, false, off + sizeof(data) - 1, 0xff, 1);
	ck_assert(e.mapped);
	ck_assert_uint_eq(e.syncs, 1);   /* returning to read-array syncs once */
	for (i = 0; i < sizeof(data); i++)
		ck_assert_uint_eq(rd(&e, off + i, 1), data[i]);
	ck_assert_uint_eq(rd(&e, off - 1, 1), orig(off - 1));
	ck_assert_uint_eq(rd(&e, off + sizeof(data), 1), orig(off + sizeof(data)));
	/* the host mapping shows the same bytes the memslot would */
	ck_assert_uint_eq(((uint8_t *)pflash_host_ptr(e.p))[off], data[0]);
	/* 0x40 and a 4-byte program */
	wr(&e, false, 0x200, 0x40, 1);
	wr(&e, false, 0x200, 0xa1b2c3d4, 4);
	wr(&e, false, 0x200, 0x00, 1);   /* 0x00 is read-array too */
	ck_assert_uint_eq(rd(&e, 0x200, 4), 0xa1b2c3d4);
	ck_assert_uint_eq(file_byte(&e, 0x203), 0xa1);
	ck_assert_int_eq(pflash_flush(e.p), 0);
	env_fini(&e);
}
END_TEST

START_TEST(test_block_erase)
{
	struct env e;
	uint64_t i;

	env_init(&e, false, false, 1);
	/* OvmfPkg QemuFlashEraseBlock(): 0x20, 0xd0 at the block, no 0xff after */
	wr(&e, false, 5 * BLK, 0x20, 1);
	wr(&e, false, 5 * BLK + 17, 0xd0, 1);   /* any address in the block */
	ck_assert_uint_eq(rd(&e, 5 * BLK, 1), PFLASH_SR_READY);
	for (i = 0; i < BLK; i += 97)
		ck_assert_uint_eq(file_byte(&e, 5 * BLK + i), 0xff);
	ck_assert_uint_eq(file_byte(&e, 5 * BLK - 1), orig(5 * BLK - 1));
	ck_assert_uint_eq(file_byte(&e, 6 * BLK), orig(6 * BLK));
	/* the next command (a program) works from the status state */
	wr(&e, false, 5 * BLK + 1, 0x10, 1);
	wr(&e, false, 5 * BLK + 1, 0x42, 1);
	wr(&e, false, 5 * BLK + 1, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 5 * BLK, 2), 0x42ff);
	ck_assert_uint_eq(e.syncs, 1);
	/* 0x20 followed by something else than 0xd0: command sequence error */
	wr(&e, false, 0, 0x20, 1);
	wr(&e, false, 0, 0x33, 1);
	ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_SR_READY | PFLASH_SR_PROG_ERR |
					 PFLASH_SR_ERASE_ERR);
	ck_assert_uint_eq(file_byte(&e, 2), orig(2));
	/* clear status (QEMU semantics: all bits, back to read-array) */
	wr(&e, false, 0, 0x50, 1);
	ck_assert_uint_eq(rd(&e, 2, 1), orig(2));
	wr(&e, false, 0, 0x70, 1);
	ck_assert_uint_eq(rd(&e, 0, 1), 0);
	/* 0x20 then 0xff aborts */
	wr(&e, false, 0, 0x20, 1);
	wr(&e, false, 0, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 2, 1), orig(2));
	env_fini(&e);
}
END_TEST

START_TEST(test_readonly)
{
	struct env e;

	memset(&e, 0, sizeof(e));
	make_file(&e, FLASH_SIZE);
	close(e.fd);
	e.fd = open(e.path, O_RDONLY);
	/* a writable flash needs a writable descriptor */
	ck_assert_int_eq(env_create(&e, false, false, 1), -EACCES);
	ck_assert_ptr_nonnull(strstr(err_get(), e.path));
	ck_assert_int_eq(env_create(&e, true, false, 1), 0);
	wr(&e, false, 0x300, 0x10, 1);
	wr(&e, false, 0x300, 0x99, 1);
	ck_assert_uint_eq(rd(&e, 0x300, 1), PFLASH_SR_READY | PFLASH_SR_PROG_ERR |
					     PFLASH_SR_LOCKED);
	wr(&e, false, 0x300, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x300, 1), orig(0x300));
	wr(&e, false, 0, 0x50, 1);
	wr(&e, false, BLK, 0x20, 1);
	wr(&e, false, BLK, 0xd0, 1);
	ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_SR_READY | PFLASH_SR_ERASE_ERR |
					 PFLASH_SR_LOCKED);
	ck_assert_uint_eq(file_byte(&e, BLK + 1), orig(BLK + 1));
	/* buffered write fails at the confirm */
	wr(&e, false, 0, 0x50, 1);
	wr(&e, false, 0x400, 0xe8, 1);
	wr(&e, false, 0x400, 0, 1);
	wr(&e, false, 0x400, 0x55, 1);
	wr(&e, false, 0x400, 0xd0, 1);
	ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_SR_READY | PFLASH_SR_PROG_ERR |
					 PFLASH_SR_LOCKED);
	wr(&e, false, 0, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x400, 1), orig(0x400));
	ck_assert_uint_eq(e.syncs, 0);
	ck_assert_int_eq(pflash_flush(e.p), 0);
	env_fini(&e);
}
END_TEST

START_TEST(test_secure)
{
	struct env e;

	env_init(&e, false, true, 1);
	/* writes from outside SMM are dropped: no mode change, no data */
	wr(&e, false, 0x500, 0x10, 1);
	ck_assert(e.mapped);
	ck_assert(pflash_array_mode(e.p));
	wr(&e, false, 0x500, 0x77, 1);
	wr(&e, false, BLK, 0x20, 1);
	wr(&e, false, BLK, 0xd0, 1);
	ck_assert_uint_eq(rd(&e, 0x500, 1), orig(0x500));
	ck_assert_uint_eq(file_byte(&e, BLK), orig(BLK));
	ck_assert_uint_eq(e.map_off, 0);
	/* from SMM they work, and reads from anyone see the result */
	wr(&e, true, 0x500, 0x10, 1);
	wr(&e, true, 0x500, 0x77, 1);
	/* an OS write in the middle of the SMM sequence cannot end it */
	wr(&e, false, 0x500, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x500, 1), PFLASH_SR_READY);
	wr(&e, true, 0x500, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x500, 1), 0x77);
	ck_assert_uint_eq(file_byte(&e, 0x500), 0x77);
	env_fini(&e);
}
END_TEST

START_TEST(test_query_and_id)
{
	struct env e;
	unsigned blocks;

	env_init(&e, false, false, 1);
	wr(&e, false, 0, 0x98, 1);
	ck_assert(!e.mapped);
	ck_assert_uint_eq(rd(&e, 0x10, 1), 'Q');
	ck_assert_uint_eq(rd(&e, 0x11, 2), 'R' | 'Y' << 8);
	ck_assert_uint_eq(rd(&e, 0x13, 2), 0x0001);          /* Intel command set */
	ck_assert_uint_eq(rd(&e, 0x27, 1), 16);               /* 2^16 = 64 KiB */
	ck_assert_uint_eq(rd(&e, 0x2c, 1), 1);
	blocks = (unsigned)rd(&e, 0x2d, 2) + 1;
	ck_assert_uint_eq(blocks, FLASH_SIZE / BLK);
	ck_assert_uint_eq(rd(&e, 0x2f, 2) * 256, BLK);
	ck_assert_uint_eq(rd(&e, 0x31, 1), 'P');
	ck_assert_uint_eq(rd(&e, 0x1000, 1), 0);              /* beyond the table */
	wr(&e, false, 0, 0x90, 1);
	ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_MANUFACTURER_INTEL);
	ck_assert_uint_eq(rd(&e, 1, 1), PFLASH_DEVICE_ID);
	ck_assert_uint_eq(rd(&e, BLK + 2, 1), 0);             /* block unlocked */
	wr(&e, false, 0, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x10, 1), orig(0x10));
	/* unknown command: back to read-array */
	wr(&e, false, 0, 0x70, 1);
	wr(&e, false, 0, 0xab, 1);
	ck_assert(pflash_array_mode(e.p));
	ck_assert_uint_eq(rd(&e, 0x10, 1), orig(0x10));
	/* lock/unlock is accepted, nothing is locked */
	wr(&e, false, 0, 0x60, 1);
	wr(&e, false, 0, 0xd0, 1);
	ck_assert_uint_eq(rd(&e, 0, 1) & PFLASH_SR_READY, PFLASH_SR_READY);
	wr(&e, false, 0x20, 0x10, 1);
	wr(&e, false, 0x20, 0x01, 1);
	wr(&e, false, 0x20, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x20, 1), 0x01);
	env_fini(&e);

	/* four x8 chips on a 32-bit bus: addresses shift by 2, data repeats */
	env_init(&e, false, false, 4);
	wr(&e, false, 0, 0x98, 4);
	ck_assert_uint_eq(rd(&e, 0x10 * 4, 4), 0x51515151);
	ck_assert_uint_eq(rd(&e, 0x27 * 4, 1), 14);            /* 16 KiB per chip */
	ck_assert_uint_eq((rd(&e, 0x2f * 4, 1) | rd(&e, 0x30 * 4, 1) << 8) * 256, BLK / 4);
	wr(&e, false, 0, 0x70, 4);
	ck_assert_uint_eq(rd(&e, 0, 4), 0x80808080);
	env_fini(&e);
}
END_TEST

START_TEST(test_write_buffer)
{
	struct env e;
	unsigned i;

	env_init(&e, false, false, 1);
	wr(&e, false, 0x800, 0xe8, 1);
	ck_assert_uint_eq(rd(&e, 0x800, 1), PFLASH_SR_READY);  /* buffer available */
	wr(&e, false, 0x800, 3, 1);                            /* 4 words */
	for (i = 0; i < 4; i++)
		wr(&e, false, 0x810 + i, 0xc0 + i, 1);
	/* not yet committed */
	ck_assert_uint_eq(file_byte(&e, 0x810), orig(0x810));
	wr(&e, false, 0x800, 0xd0, 1);
	ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_SR_READY);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(file_byte(&e, 0x810 + i), 0xc0 + i);
	ck_assert_uint_eq(file_byte(&e, 0x814), orig(0x814));
	wr(&e, false, 0, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x810, 4), 0xc3c2c1c0);
	ck_assert_uint_eq(e.syncs, 1);

	/* a word outside the aligned 256-byte buffer: error, nothing written */
	wr(&e, false, 0x900, 0xe8, 1);
	wr(&e, false, 0x900, 1, 1);
	wr(&e, false, 0x9ff, 0x11, 1);
	wr(&e, false, 0xa00, 0x22, 1);
	ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_SR_READY | PFLASH_SR_PROG_ERR |
					 PFLASH_SR_ERASE_ERR);
	wr(&e, false, 0x900, 0xd0, 1);   /* a stray confirm is just a command */
	wr(&e, false, 0, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x9ff, 1), orig(0x9ff));
	/* the count is one byte (256 words at most), so it always fits the buffer */
	wr(&e, false, 0, 0x50, 1);
	wr(&e, false, 0x900, 0xe8, 1);
	wr(&e, false, 0x900, 0x1ff, 2);   /* only the low byte counts: 256 words, fits */
	ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_SR_READY);
	wr(&e, false, 0, 0xff, 1);        /* a data word, not a command */
	ck_assert(!pflash_array_mode(e.p));
	env_fini(&e);

	env_init(&e, false, false, 1);
	/* wrong confirm */
	wr(&e, false, 0x900, 0xe8, 1);
	wr(&e, false, 0x900, 0, 1);
	wr(&e, false, 0x900, 0x5a, 1);
	wr(&e, false, 0x900, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0, 1) & 0x30, 0x30);
	wr(&e, false, 0, 0xff, 1);
	ck_assert_uint_eq(rd(&e, 0x900, 1), orig(0x900));
	env_fini(&e);

	/* on a 4-byte bank a buffer holds 256 words of 4 bytes */
	env_init(&e, false, false, 4);
	wr(&e, false, 0, 0xe8, 4);
	wr(&e, false, 0, 0xff, 4);
	for (i = 0; i < 256; i++)
		wr(&e, false, 0x400 + 4 * i, 0x01020304, 4);
	wr(&e, false, 0, 0xd0, 4);
	wr(&e, false, 0, 0xff, 4);
	ck_assert_uint_eq(rd(&e, 0x7fc, 4), 0x01020304);
	ck_assert_uint_eq(rd(&e, 0x800, 1), orig(0x800));
	env_fini(&e);
}
END_TEST

START_TEST(test_hostile_access_and_reset)
{
	struct env e;

	env_init(&e, false, false, 1);
	/* out of range: defined results, no state change */
	ck_assert_uint_eq(rd(&e, FLASH_SIZE, 1), 0);
	ck_assert_uint_eq(rd(&e, FLASH_SIZE - 2, 4), 0);
	ck_assert_uint_eq(rd(&e, ~0ULL, 8), 0);
	wr(&e, false, FLASH_SIZE, 0x10, 1);
	wr(&e, false, ~0ULL - 1, 0x20, 4);
	ck_assert(pflash_array_mode(e.p));
	{
		uint64_t want = 0;
		unsigned i;

		for (i = 0; i < 8; i++)
			want |= (uint64_t)orig(FLASH_SIZE - 8 + i) << (8 * i);
		ck_assert_uint_eq(rd(&e, FLASH_SIZE - 8, 8), want);   /* fits: array data */
	}
	ck_assert_uint_eq(rd(&e, FLASH_SIZE - 1, 1), orig(FLASH_SIZE - 1));
	/* a program at the last byte */
	wr(&e, false, FLASH_SIZE - 1, 0x10, 1);
	wr(&e, false, FLASH_SIZE - 1, 0x3c, 1);
	/* reset in the middle of a sequence: read-array, ready, memslot back */
	wr(&e, false, 0, 0x20, 1);
	ck_assert(!e.mapped);
	pflash_reset(e.p);
	ck_assert(e.mapped);
	ck_assert_uint_eq(e.syncs, 1);
	ck_assert_uint_eq(rd(&e, FLASH_SIZE - 1, 1), 0x3c);
	wr(&e, false, 0, 0x70, 1);
	ck_assert_uint_eq(rd(&e, 0, 1), PFLASH_SR_READY);
	env_fini(&e);
}
END_TEST

static int try_size(uint64_t size, uint32_t block, unsigned bank, uint64_t cfg_size)
{
	struct env e;
	struct pflash_config cfg;
	int ret;

	memset(&e, 0, sizeof(e));
	make_file(&e, 0);
	ck_assert_int_eq(ftruncate(e.fd, (off_t)size), 0);
	cfg = (struct pflash_config){ .name = e.path, .fd = e.fd, .block_size = block,
				      .bank_width = bank, .size = cfg_size };
	err_clear();
	ret = pflash_create(&e.p, &cfg);
	if (ret == 0)
		pflash_destroy(e.p);
	else
		ck_assert_msg(strstr(err_get(), e.path), "error '%s' does not name the file",
			      err_get());
	close(e.fd);
	unlink(e.path);
	return ret;
}

START_TEST(test_malformed_sizes)
{
	struct pflash *p;
	struct pflash_config cfg = { .name = "nofd", .fd = -1 };

	ck_assert_int_eq(try_size(0x84000, 0, 0, 0), 0);          /* OVMF_VARS_4M */
	ck_assert_int_eq(try_size(0x37c000, 0, 0, 0x37c000), 0);  /* OVMF_CODE_4M */
	ck_assert_int_eq(try_size(0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(try_size(4097, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(try_size(0x84000 + 512, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(try_size(17 * MiB, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(try_size(16 * MiB, 0, 0, 0), 0);
	ck_assert_int_eq(try_size(0x84000, 0, 0, 0x80000), -EINVAL);  /* size mismatch */
	ck_assert_int_eq(try_size(0x84000, 3000, 0, 0), -EINVAL);    /* not a power of 2 */
	ck_assert_int_eq(try_size(0x84000, 128, 0, 0), -EINVAL);     /* too small */
	ck_assert_int_eq(try_size(4 * MiB, 1 * MiB, 0, 0), -EINVAL); /* too large */
	ck_assert_int_eq(try_size(0x84000, 0, 3, 0), -EINVAL);
	ck_assert_int_eq(try_size(0x84000, 512, 4, 0), -EINVAL);     /* 128 B per chip */
	ck_assert_int_eq(try_size(0x84000, 1024, 4, 0), 0);
	ck_assert_int_eq(pflash_create(&p, &cfg), -EBADF);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pflash");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ovmf_probe);
	tcase_add_test(tc, test_byte_program);
	tcase_add_test(tc, test_block_erase);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_secure);
	tcase_add_test(tc, test_query_and_id);
	tcase_add_test(tc, test_write_buffer);
	tcase_add_test(tc, test_hostile_access_and_reset);
	tcase_add_test(tc, test_malformed_sizes);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
