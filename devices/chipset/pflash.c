/*
 * CFI01 parallel flash (Intel/Sharp command set), see pflash.h.
 *
 * Behaviour follows QEMU's cfi.pflash01 where OVMF depends on it, in
 * particular: "clear status" (0x50) zeroes the whole status register,
 * ready bit included, and returns to read-array mode. OVMF's
 * QemuFlashDetected() writes 0x50 then 0x70 and only classifies the device
 * as FLASH if the status then reads 0x00 (real Intel parts keep SR.7 set
 * and would read 0x80, which OVMF does not accept).
 */
#include "devices/chipset/pflash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/memmap.h"
#include "vmm/util.h"

#define CFI_LEN 0x40

/* What a read returns. */
enum pflash_mode {
	MODE_ARRAY,
	MODE_STATUS,
	MODE_ID,
	MODE_CFI,
};

/* What the next write means. */
enum pflash_pending {
	PEND_NONE,          /* a command */
	PEND_PROGRAM,       /* 0x10/0x40: data */
	PEND_ERASE,         /* 0x20: 0xD0 confirm */
	PEND_LOCK,          /* 0x60: 0x01/0xD0/0x2F */
	PEND_BUF_COUNT,     /* 0xE8: word count - 1 */
	PEND_BUF_DATA,      /* 0xE8: data words */
	PEND_BUF_CONFIRM,   /* 0xE8: 0xD0 confirm */
};

struct pflash {
	char *name;
	int fd;
	uint8_t *map;
	uint64_t size;
	uint32_t block_size;
	unsigned bank;
	uint32_t wb_size;             /* write buffer of the whole bank */
	bool readonly, secure;
	void (*map_array)(void *opaque, bool on);
	void (*sync)(void *opaque, int fd);
	void *opaque;

	enum pflash_mode mode;
	enum pflash_pending pend;
	uint8_t status;
	bool mapped;                  /* map_array(true) is in effect */
	bool dirty;                   /* written since the last sync */
	bool ever_written;

	/* write-to-buffer staging */
	uint8_t *wbuf;
	uint64_t wb_base;
	bool wb_started;
	unsigned wb_left;

	uint8_t cfi[CFI_LEN];
};

static unsigned ilog2_ceil(uint64_t v)
{
	unsigned n = 0;

	while ((1ULL << n) < v)
		n++;
	return n;
}

/* The CFI query table of one x8 chip of the bank. */
static void build_cfi(struct pflash *p)
{
	uint64_t chip_size = p->size / p->bank;
	uint32_t chip_block = p->block_size / p->bank;
	uint32_t nblocks = (uint32_t)(chip_size / chip_block);
	uint8_t *t = p->cfi;

	memset(t, 0, CFI_LEN);
	t[0x10] = 'Q';
	t[0x11] = 'R';
	t[0x12] = 'Y';
	t[0x13] = 0x01;              /* primary command set: Intel/Sharp extended */
	t[0x15] = 0x31;              /* primary extended table at 0x31 */
	t[0x1b] = 0x45;              /* Vcc min 4.5 V */
	t[0x1c] = 0x55;              /* Vcc max 5.5 V */
	t[0x1f] = 0x07;              /* typical byte program 2^7 us */
	t[0x20] = 0x07;              /* typical buffer write 2^7 us */
	t[0x21] = 0x0a;              /* typical block erase 2^10 ms */
	t[0x23] = 0x04;              /* max = typical * 2^4 */
	t[0x24] = 0x04;
	t[0x25] = 0x04;
	t[0x27] = (uint8_t)ilog2_ceil(chip_size);      /* device size 2^n bytes */
	t[0x28] = 0x00;              /* interface: x8 only */
	t[0x2a] = (uint8_t)ilog2_ceil(PFLASH_WRITE_BUFFER);
	t[0x2c] = 0x01;              /* one erase block region */
	t[0x2d] = (uint8_t)(nblocks - 1);
	t[0x2e] = (uint8_t)((nblocks - 1) >> 8);
	t[0x2f] = (uint8_t)(chip_block >> 8);          /* block size in 256-byte units */
	t[0x30] = (uint8_t)(chip_block >> 16);
	t[0x31] = 'P';
	t[0x32] = 'R';
	t[0x33] = 'I';
	t[0x34] = '1';
	t[0x35] = '0';
}

static void do_sync(struct pflash *p)
{
	if (!p->dirty)
		return;
	p->dirty = false;
	if (p->sync)
		p->sync(p->opaque, p->fd);
	else
		(void)fdatasync(p->fd);
}

/* Change the read mode, telling the machine when the memslot must change. */
static void set_mode(struct pflash *p, enum pflash_mode mode)
{
	p->mode = mode;
	if (mode == MODE_ARRAY) {
		p->pend = PEND_NONE;
		/* A program/erase sequence is over: make it durable. */
		do_sync(p);
		if (!p->mapped && p->map_array) {
			p->mapped = true;
			p->map_array(p->opaque, true);
		}
	} else if (p->mapped) {
		p->mapped = false;
		p->map_array(p->opaque, false);
	}
}

/*
 * Store into the file. pwrite() copies page by page and a fatal signal is
 * only acted upon between pages, so a kill cannot tear a 4 KiB sector; the
 * shared mapping sees the new bytes at once (one page cache).
 */
static int store(struct pflash *p, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	while (len) {
		ssize_t n = pwrite(p->fd, b, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	p->dirty = true;
	p->ever_written = true;
	return 0;
}

static void cmd_error(struct pflash *p)
{
	/* Improper command sequence: both error bits, status shown. */
	p->status |= PFLASH_SR_PROG_ERR | PFLASH_SR_ERASE_ERR | PFLASH_SR_READY;
	p->pend = PEND_NONE;
	p->wb_started = false;
	set_mode(p, MODE_STATUS);
}

static void program(struct pflash *p, uint64_t off, uint64_t val, unsigned size)
{
	uint8_t b[8];

	p->pend = PEND_NONE;
	p->status |= PFLASH_SR_READY;
	if (p->readonly) {
		p->status |= PFLASH_SR_PROG_ERR | PFLASH_SR_LOCKED;
		return;
	}
	st_le64(b, val);
	if (store(p, off, b, size) < 0)
		p->status |= PFLASH_SR_PROG_ERR;
	TRACE(TRACE_FLASH, "pflash %s: program 0x%llx = 0x%llx (%u)\n", p->name,
	      (unsigned long long)off, (unsigned long long)val, size);
}

static void erase(struct pflash *p, uint64_t off)
{
	uint64_t base = ALIGN_DOWN(off, (uint64_t)p->block_size);
	uint8_t *ones;

	p->pend = PEND_NONE;
	p->status |= PFLASH_SR_READY;
	if (p->readonly) {
		p->status |= PFLASH_SR_ERASE_ERR | PFLASH_SR_LOCKED;
		return;
	}
	ones = malloc(p->block_size);
	if (!ones || store(p, base, memset(ones, 0xff, p->block_size), p->block_size) < 0)
		p->status |= PFLASH_SR_ERASE_ERR;
	free(ones);
	TRACE(TRACE_FLASH, "pflash %s: erase block 0x%llx\n", p->name, (unsigned long long)base);
}

static void buffer_data(struct pflash *p, uint64_t off, uint64_t val, unsigned size)
{
	unsigned i;

	if (!p->wb_started) {
		p->wb_base = ALIGN_DOWN(off, (uint64_t)p->wb_size);
		memcpy(p->wbuf, p->map + p->wb_base, p->wb_size);
		p->wb_started = true;
	}
	/* All words of one buffer write must fall into one aligned buffer. */
	if (off < p->wb_base || off + size > p->wb_base + p->wb_size) {
		cmd_error(p);
		return;
	}
	for (i = 0; i < size; i++)
		p->wbuf[off - p->wb_base + i] = (uint8_t)(val >> (8 * i));
	if (--p->wb_left == 0)
		p->pend = PEND_BUF_CONFIRM;
}

static void buffer_commit(struct pflash *p)
{
	p->pend = PEND_NONE;
	p->status |= PFLASH_SR_READY;
	if (!p->wb_started) {
		cmd_error(p);
		return;
	}
	p->wb_started = false;
	if (p->readonly) {
		p->status |= PFLASH_SR_PROG_ERR | PFLASH_SR_LOCKED;
		return;
	}
	if (store(p, p->wb_base, p->wbuf, p->wb_size) < 0)
		p->status |= PFLASH_SR_PROG_ERR;
	TRACE(TRACE_FLASH, "pflash %s: buffer write 0x%llx\n", p->name,
	      (unsigned long long)p->wb_base);
}

static void command(struct pflash *p, uint64_t off, uint8_t cmd)
{
	TRACE(TRACE_FLASH, "pflash %s: cmd 0x%02x at 0x%llx\n", p->name, cmd,
	      (unsigned long long)off);
	switch (cmd) {
	case 0x00:
	case 0xf0:   /* AMD-style reset, harmless */
	case 0xff:
		set_mode(p, MODE_ARRAY);
		break;
	case 0x10:
	case 0x40:
		p->pend = PEND_PROGRAM;
		set_mode(p, MODE_STATUS);
		break;
	case 0x20:
		p->pend = PEND_ERASE;
		set_mode(p, MODE_STATUS);
		break;
	case 0x50:
		/* QEMU semantics, relied upon by OVMF's probe (see top). */
		p->status = 0;
		set_mode(p, MODE_ARRAY);
		break;
	case 0x60:
		p->pend = PEND_LOCK;
		set_mode(p, MODE_STATUS);
		break;
	case 0x70:
		set_mode(p, MODE_STATUS);
		break;
	case 0x90:
		set_mode(p, MODE_ID);
		break;
	case 0x98:
		set_mode(p, MODE_CFI);
		break;
	case 0xe8:
		p->pend = PEND_BUF_COUNT;
		p->status |= PFLASH_SR_READY;   /* buffer available */
		set_mode(p, MODE_STATUS);
		break;
	default:
		TRACE(TRACE_FLASH, "pflash %s: unknown command 0x%02x\n", p->name, cmd);
		set_mode(p, MODE_ARRAY);
		break;
	}
}

static void pflash_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
			 unsigned size)
{
	struct pflash *p = dev;
	uint8_t cmd = (uint8_t)val;

	if (size < 1 || size > 8 || off >= p->size || size > p->size - off)
		return;
	if (p->secure && !(ctx && ctx->smm)) {
		/* QEMU answers with a bus error; an MMIO write cannot fail here. */
		TRACE(TRACE_FLASH, "pflash %s: non-SMM write 0x%llx dropped\n", p->name,
		      (unsigned long long)off);
		return;
	}
	switch (p->pend) {
	case PEND_NONE:
		command(p, off, cmd);
		break;
	case PEND_PROGRAM:
		program(p, off, val, size);
		break;
	case PEND_ERASE:
		if (cmd == 0xd0)
			erase(p, off);
		else if (cmd == 0xff)
			set_mode(p, MODE_ARRAY);
		else
			cmd_error(p);
		break;
	case PEND_LOCK:
		/* Lock bits are accepted and ignored: nothing is ever locked. */
		if (cmd == 0x01 || cmd == 0xd0 || cmd == 0x2f) {
			p->pend = PEND_NONE;
			p->status |= PFLASH_SR_READY;
		} else {
			set_mode(p, MODE_ARRAY);
		}
		break;
	case PEND_BUF_COUNT: {
		unsigned words = cmd + 1u;

		if (words * p->bank > p->wb_size) {
			cmd_error(p);
			break;
		}
		p->wb_left = words;
		p->wb_started = false;
		p->pend = PEND_BUF_DATA;
		break;
	}
	case PEND_BUF_DATA:
		buffer_data(p, off, val, size);
		break;
	case PEND_BUF_CONFIRM:
		if (cmd == 0xd0)
			buffer_commit(p);
		else
			cmd_error(p);
		break;
	}
}

static uint64_t pflash_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct pflash *p = dev;
	uint64_t v = 0;
	unsigned i;

	if (size < 1 || size > 8 || off >= p->size || size > p->size - off)
		return 0;
	for (i = 0; i < size; i++) {
		uint64_t a = off + i, idx = a / p->bank;
		uint8_t b;

		switch (p->mode) {
		case MODE_ARRAY:
			b = p->map[a];
			break;
		case MODE_STATUS:
			b = p->status;   /* every chip of the bank answers */
			break;
		case MODE_ID:
			switch (idx & 0xff) {
			case 0:
				b = PFLASH_MANUFACTURER_INTEL;
				break;
			case 1:
				b = PFLASH_DEVICE_ID;
				break;
			default:
				b = 0;   /* block lock status: unlocked */
				break;
			}
			break;
		default:
			b = idx < CFI_LEN ? p->cfi[idx] : 0;
			break;
		}
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

const struct dev_ops pflash_ops = {
	.name = "pflash",
	.read = pflash_read,
	.write = pflash_write,
};

int pflash_create(struct pflash **out, const struct pflash_config *cfg)
{
	const char *name = cfg->name ? cfg->name : "(flash)";
	uint32_t bs = cfg->block_size ? cfg->block_size : PFLASH_BLOCK_SIZE_DEFAULT;
	unsigned bank = cfg->bank_width ? cfg->bank_width : 1;
	struct pflash *p;
	struct stat st;
	uint64_t size;
	int ret, fl;

	if (bank != 1 && bank != 2 && bank != 4)
		return err_set(-EINVAL, "%s: flash bank width %u (want 1, 2 or 4)", name, bank);
	if (bs & (bs - 1) || bs / bank < PFLASH_MIN_BLOCK || bs > PFLASH_MAX_BLOCK)
		return err_set(-EINVAL, "%s: flash block size %u is not a power of two in "
			       "%u..%u", name, bs, PFLASH_MIN_BLOCK * bank, PFLASH_MAX_BLOCK);
	if (cfg->fd < 0 || fstat(cfg->fd, &st) < 0)
		return err_set(-EBADF, "%s: bad file descriptor", name);
	if (!S_ISREG(st.st_mode))
		return err_set(-EINVAL, "%s: not a regular file", name);
	size = (uint64_t)st.st_size;
	if (cfg->size && cfg->size != size)
		return err_set(-EINVAL, "%s: file is %llu bytes, flash is %llu", name,
			       (unsigned long long)size, (unsigned long long)cfg->size);
	if (!size || size % bs || size > MM_FLASH_MAX_SIZE)
		return err_set(-EINVAL, "%s: flash image size %llu must be a non-zero multiple "
			       "of %u bytes, at most %llu", name, (unsigned long long)size, bs,
			       (unsigned long long)MM_FLASH_MAX_SIZE);
	fl = fcntl(cfg->fd, F_GETFL);
	if (fl < 0)
		return err_set(-EBADF, "%s: bad file descriptor", name);
	if (!cfg->readonly && (fl & O_ACCMODE) == O_RDONLY)
		return err_set(-EACCES, "%s: writable flash opened read-only", name);

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->size = size;
	p->block_size = bs;
	p->bank = bank;
	p->wb_size = PFLASH_WRITE_BUFFER * bank;
	p->readonly = cfg->readonly;
	p->secure = cfg->secure;
	p->map_array = cfg->map_array;
	p->sync = cfg->sync;
	p->opaque = cfg->opaque;
	p->name = strdup(name);
	p->wbuf = malloc(p->wb_size);
	if (!p->name || !p->wbuf) {
		ret = -ENOMEM;
		goto err_free;
	}
	p->fd = fcntl(cfg->fd, F_DUPFD_CLOEXEC, 3);
	if (p->fd < 0) {
		ret = err_set(-errno, "%s: cannot duplicate the file descriptor", name);
		goto err_free;
	}
	/*
	 * Read-only, shared: the guest and this device see the page cache,
	 * which pwrite() updates. Nothing in kvmrun can scribble on it.
	 */
	p->map = mmap(NULL, size, PROT_READ, MAP_SHARED, p->fd, 0);
	if (p->map == MAP_FAILED) {
		ret = err_set(-errno, "%s: cannot map the flash image", name);
		goto err_close;
	}
	build_cfi(p);
	p->status = PFLASH_SR_READY;
	p->mode = MODE_STATUS;   /* so that set_mode() below maps the array */
	set_mode(p, MODE_ARRAY);
	*out = p;
	return 0;

err_close:
	close(p->fd);
err_free:
	free(p->wbuf);
	free(p->name);
	free(p);
	return ret;
}

int pflash_flush(struct pflash *p)
{
	if (!p->ever_written)
		return 0;
	p->dirty = false;
	if (fdatasync(p->fd) < 0)
		return err_set(-errno, "%s: cannot sync the flash image", p->name);
	return 0;
}

void pflash_destroy(struct pflash *p)
{
	if (!p)
		return;
	(void)pflash_flush(p);
	munmap(p->map, p->size);
	close(p->fd);
	free(p->wbuf);
	free(p->name);
	free(p);
}

void pflash_reset(struct pflash *p)
{
	p->status = PFLASH_SR_READY;
	p->wb_started = false;
	set_mode(p, MODE_ARRAY);
}

uint64_t pflash_size(const struct pflash *p)
{
	return p->size;
}

void *pflash_host_ptr(const struct pflash *p)
{
	return p->map;
}

bool pflash_array_mode(const struct pflash *p)
{
	return p->mode == MODE_ARRAY;
}
