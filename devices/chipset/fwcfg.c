/*
 * QEMU fw_cfg device: item store, port interface and DMA engine.
 * See fwcfg.h for the register map; docs/specs/fw_cfg.rst in QEMU is the
 * interface specification this follows.
 */
#include "devices/chipset/fwcfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define FWCFG_DIR_ENTRY_SIZE 64   /* be32 size, be16 select, u16 rsvd, name[56] */
#define FWCFG_DMA_DESC_SIZE  16   /* be32 control, be32 length, be64 address */
#define FWCFG_DMA_KNOWN \
	(FWCFG_DMA_ERROR | FWCFG_DMA_READ | FWCFG_DMA_SKIP | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE)

#define SMI_SUPPORTED "etc/smi/supported-features"
#define SMI_REQUESTED "etc/smi/requested-features"
#define SMI_OK        "etc/smi/features-ok"

struct fwcfg_item {
	uint16_t key;
	bool is_file;
	bool writable;
	char name[FWCFG_NAME_MAX];
	uint8_t *data;
	uint32_t len;
	struct fwcfg_file_ops ops;
	void *opaque;
};

struct fwcfg {
	struct fwcfg_config cfg;
	struct guest_mem mem;       /* copy of *cfg.mem */
	bool dma;

	struct fwcfg_item *items;
	unsigned n, cap;
	unsigned nfiles;

	/* interface state */
	uint16_t cur_key;
	struct fwcfg_item *cur;     /* NULL: nothing valid selected */
	uint32_t cur_off;
	uint8_t dma_reg[8];         /* big-endian DMA address being written */

	/* SMI negotiation */
	bool smi_ok;
	uint64_t smi_negotiated;
};

static struct fwcfg_item *find_key(struct fwcfg *f, uint16_t key)
{
	unsigned i;

	for (i = 0; i < f->n; i++)
		if (f->items[i].key == key)
			return &f->items[i];
	return NULL;
}

static struct fwcfg_item *find_name(const struct fwcfg *f, const char *name)
{
	unsigned i;

	for (i = 0; i < f->n; i++)
		if (f->items[i].is_file && !strcmp(f->items[i].name, name))
			return &f->items[i];
	return NULL;
}

/* Append a zeroed item; returns NULL on ENOMEM. Invalidates item pointers. */
static struct fwcfg_item *new_item(struct fwcfg *f)
{
	if (f->n == f->cap) {
		unsigned cap = f->cap ? f->cap * 2 : 16;
		struct fwcfg_item *ni = realloc(f->items, cap * sizeof(*ni));

		if (!ni)
			return NULL;
		f->items = ni;
		f->cap = cap;
	}
	memset(&f->items[f->n], 0, sizeof(f->items[0]));
	return &f->items[f->n++];
}

/* Replace the contents of @it with a copy of @data. */
static int item_set_data(struct fwcfg_item *it, const void *data, uint32_t len)
{
	uint8_t *copy = NULL;

	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		if (data)
			memcpy(copy, data, len);
		else
			memset(copy, 0, len);
	}
	free(it->data);
	it->data = copy;
	it->len = len;
	return 0;
}

static int set_key(struct fwcfg *f, uint16_t key, const void *data, uint32_t len)
{
	struct fwcfg_item *it = find_key(f, key);
	bool fresh = !it;
	int ret;

	if (fresh) {
		it = new_item(f);
		if (!it)
			return -ENOMEM;
		it->key = key;
	}
	ret = item_set_data(it, data, len);
	if (ret < 0 && fresh)
		f->n--;   /* drop the half-created item (it is the last one) */
	f->cur = NULL;    /* items may have moved: force a re-lookup */
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	const struct fwcfg_item *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Regenerate the file directory (key 0x19), sorted by name. */
static int rebuild_dir(struct fwcfg *f)
{
	struct fwcfg_item *files[FWCFG_MAX_FILES];
	uint32_t len = 4 + f->nfiles * FWCFG_DIR_ENTRY_SIZE;
	unsigned i, nf = 0;
	uint8_t *dir;
	int ret;

	for (i = 0; i < f->n && nf < FWCFG_MAX_FILES; i++)
		if (f->items[i].is_file)
			files[nf++] = &f->items[i];
	qsort(files, nf, sizeof(files[0]), cmp_names);

	dir = calloc(1, len);
	if (!dir)
		return -ENOMEM;
	st_be32(dir, nf);
	for (i = 0; i < nf; i++) {
		uint8_t *e = dir + 4 + i * FWCFG_DIR_ENTRY_SIZE;

		st_be32(e, files[i]->len);
		st_be16(e + 4, files[i]->key);
		memcpy(e + 8, files[i]->name, strlen(files[i]->name));
	}
	ret = set_key(f, FWCFG_FILE_DIR, dir, len);
	free(dir);
	return ret;
}

static bool key_reserved(uint16_t key)
{
	uint16_t k = key & ~FWCFG_WRITE_CHANNEL;

	return k == FWCFG_SIGNATURE || k == FWCFG_ID || k == FWCFG_FILE_DIR ||
	       (k >= FWCFG_FILE_FIRST && k < FWCFG_FILE_FIRST + FWCFG_MAX_FILES) ||
	       (key & FWCFG_WRITE_CHANNEL);
}

int fwcfg_add_bytes(struct fwcfg *f, uint16_t key, const void *data, uint32_t len)
{
	if (key_reserved(key))
		return err_set(-EINVAL, "fw_cfg: key 0x%04x is reserved", key);
	return set_key(f, key, data, len);
}

int fwcfg_add_i16(struct fwcfg *f, uint16_t key, uint16_t v)
{
	uint8_t b[2];

	st_le16(b, v);
	return fwcfg_add_bytes(f, key, b, sizeof(b));
}

int fwcfg_add_i32(struct fwcfg *f, uint16_t key, uint32_t v)
{
	uint8_t b[4];

	st_le32(b, v);
	return fwcfg_add_bytes(f, key, b, sizeof(b));
}

int fwcfg_add_i64(struct fwcfg *f, uint16_t key, uint64_t v)
{
	uint8_t b[8];

	st_le64(b, v);
	return fwcfg_add_bytes(f, key, b, sizeof(b));
}

int fwcfg_add_file_cb(struct fwcfg *f, const char *name, const void *data, uint32_t len,
		      bool writable, const struct fwcfg_file_ops *ops, void *opaque)
{
	struct fwcfg_item *it;
	size_t nlen = name ? strlen(name) : 0;
	uint16_t key;
	int ret;

	if (!nlen || nlen >= FWCFG_NAME_MAX)
		return err_set(-EINVAL, "fw_cfg: bad file name '%s' (1..%d characters)",
			       name ? name : "", FWCFG_NAME_MAX - 1);
	if (find_name(f, name))
		return err_set(-EEXIST, "fw_cfg: file '%s' already exists", name);
	if (f->nfiles >= FWCFG_MAX_FILES)
		return err_set(-ENOSPC, "fw_cfg: too many files (max %d) adding '%s'",
			       FWCFG_MAX_FILES, name);

	key = FWCFG_FILE_FIRST + f->nfiles;
	it = new_item(f);
	if (!it)
		return -ENOMEM;
	it->key = key;
	it->is_file = true;
	it->writable = writable;
	memcpy(it->name, name, nlen + 1);
	if (ops)
		it->ops = *ops;
	it->opaque = opaque;
	ret = item_set_data(it, data, len);
	if (ret < 0) {
		f->n--;
		return ret;
	}
	f->nfiles++;
	f->cur = NULL;
	ret = rebuild_dir(f);
	if (ret < 0)
		return ret;
	TRACE(TRACE_FWCFG, "fw_cfg: file %s key 0x%04x len %u%s\n", name, key, len,
	      writable ? " (writable)" : "");
	return key;
}

int fwcfg_add_file(struct fwcfg *f, const char *name, const void *data, uint32_t len)
{
	return fwcfg_add_file_cb(f, name, data, len, false, NULL, NULL);
}

int fwcfg_add_e820(struct fwcfg *f, const struct fwcfg_e820 *map, unsigned n)
{
	uint8_t *buf;
	unsigned i;
	int ret;

	if (!n || n > 128)
		return err_set(-EINVAL, "fw_cfg: etc/e820 needs 1..128 entries, got %u", n);
	buf = calloc(n, 20);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		st_le64(buf + i * 20, map[i].addr);
		st_le64(buf + i * 20 + 8, map[i].size);
		st_le32(buf + i * 20 + 16, map[i].type);
	}
	ret = fwcfg_add_file(f, "etc/e820", buf, n * 20);
	free(buf);
	return ret;
}

int fwcfg_add_bootorder(struct fwcfg *f, const char *const *paths, unsigned n)
{
	size_t len = 0, pos = 0;
	unsigned i;
	char *buf;
	int ret;

	for (i = 0; i < n; i++) {
		if (!paths[i] || !paths[i][0] || strchr(paths[i], '\n'))
			return err_set(-EINVAL, "fw_cfg: bad bootorder entry %u", i);
		len += strlen(paths[i]) + 1;
	}
	if (!len || len > 65536)
		return err_set(-EINVAL, "fw_cfg: bootorder needs 1..64 KiB of paths");
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		size_t l = strlen(paths[i]);

		memcpy(buf + pos, paths[i], l);
		pos += l;
		buf[pos++] = i + 1 < n ? '\n' : '\0';
	}
	ret = fwcfg_add_file(f, "bootorder", buf, (uint32_t)len);
	free(buf);
	return ret;
}

int fwcfg_add_boot_menu(struct fwcfg *f, bool enabled, uint16_t wait_ms)
{
	uint8_t b[2];
	int ret;

	ret = fwcfg_add_i16(f, FWCFG_BOOT_MENU, enabled);
	if (ret < 0)
		return ret;
	st_le16(b, wait_ms);
	return fwcfg_add_file(f, "etc/boot-menu-wait", b, sizeof(b));
}

const uint8_t *fwcfg_file_data(const struct fwcfg *f, const char *name, uint32_t *len)
{
	const struct fwcfg_item *it = find_name(f, name);

	if (!it)
		return NULL;
	if (len)
		*len = it->len;
	return it->data;
}

uint64_t fwcfg_smi_negotiated(const struct fwcfg *f)
{
	return f->smi_negotiated;
}

/* ---- SMI feature negotiation ---- */

/*
 * features-ok is computed whenever it is selected, with the rules of
 * QEMU's ICH9 LPC: the request must be a subset of what is supported,
 * hotplug requires broadcast, and hot-unplug alone is refused. Once a
 * request was accepted the result is locked until reset.
 */
static void smi_ok_select(void *opaque, uint8_t *data, uint32_t len)
{
	struct fwcfg *f = opaque;
	const struct fwcfg_item *req = find_name(f, SMI_REQUESTED);
	uint64_t want, hp;

	if (f->smi_ok || !req || req->len != 8) {
		data[0] = f->smi_ok;
		return;
	}
	want = ld_le64(req->data);
	hp = want & (FWCFG_SMI_F_CPU_HOTPLUG | FWCFG_SMI_F_CPU_HOT_UNPLUG);
	data[0] = 0;
	if (want & ~f->cfg.smi_features)
		return;
	if (!(want & FWCFG_SMI_F_BROADCAST) && hp)
		return;
	if (hp == FWCFG_SMI_F_CPU_HOT_UNPLUG)
		return;
	f->smi_ok = true;
	f->smi_negotiated = want;
	data[0] = 1;
	TRACE(TRACE_FWCFG, "fw_cfg: SMI features 0x%llx accepted\n", (unsigned long long)want);
	if (f->cfg.smi_features_cb)
		f->cfg.smi_features_cb(f->cfg.opaque, want);
}

static const struct fwcfg_file_ops smi_ok_ops = { .select = smi_ok_select };

static int add_smi_files(struct fwcfg *f)
{
	uint8_t b[8];
	int ret;

	st_le64(b, f->cfg.smi_features);
	ret = fwcfg_add_file(f, SMI_SUPPORTED, b, 8);
	if (ret < 0)
		return ret;
	memset(b, 0, sizeof(b));
	ret = fwcfg_add_file_cb(f, SMI_REQUESTED, b, 8, true, NULL, NULL);
	if (ret < 0)
		return ret;
	return fwcfg_add_file_cb(f, SMI_OK, b, 1, false, &smi_ok_ops, f);
}

/* ---- lifecycle ---- */

int fwcfg_create(struct fwcfg **out, const struct fwcfg_config *cfg)
{
	struct fwcfg *f;
	uint32_t id;
	int ret;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->cfg = *cfg;
	if (cfg->mem && cfg->mem->ptr) {
		f->mem = *cfg->mem;
		f->dma = true;
	}
	f->cfg.mem = NULL;   /* only the copy is used */

	id = FWCFG_VERSION_TRADITIONAL | (f->dma ? FWCFG_VERSION_DMA : 0);
	ret = set_key(f, FWCFG_SIGNATURE, "QEMU", 4);
	if (!ret)
		ret = set_key(f, FWCFG_ID, (uint8_t[4]){ (uint8_t)id, 0, 0, 0 }, 4);
	if (!ret)
		ret = rebuild_dir(f);
	if (!ret)
		ret = fwcfg_add_i16(f, FWCFG_NB_CPUS, cfg->nb_cpus);
	if (!ret)
		ret = fwcfg_add_i16(f, FWCFG_MAX_CPUS, cfg->max_cpus ? cfg->max_cpus
								       : cfg->nb_cpus);
	if (!ret && cfg->smi_features)
		ret = add_smi_files(f);
	if (ret < 0)
		goto err_free;
	fwcfg_reset(f);
	*out = f;
	return 0;

err_free:
	fwcfg_destroy(f);
	return ret < 0 ? ret : -ENOMEM;
}

void fwcfg_destroy(struct fwcfg *f)
{
	unsigned i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		free(f->items[i].data);
	free(f->items);
	free(f);
}

static void select_key(struct fwcfg *f, uint16_t key)
{
	f->cur_key = key;
	f->cur_off = 0;
	f->cur = find_key(f, key & ~FWCFG_WRITE_CHANNEL);
	TRACE(TRACE_FWCFG, "fw_cfg: select 0x%04x%s%s\n", key, f->cur ? " " : " (none)",
	      f->cur && f->cur->is_file ? f->cur->name : "");
	if (f->cur && f->cur->ops.select)
		f->cur->ops.select(f->cur->opaque, f->cur->data, f->cur->len);
}

void fwcfg_reset(struct fwcfg *f)
{
	struct fwcfg_item *req = find_name(f, SMI_REQUESTED);

	if (req && req->data)
		memset(req->data, 0, req->len);
	f->smi_ok = false;
	f->smi_negotiated = 0;
	memset(f->dma_reg, 0, sizeof(f->dma_reg));
	f->cur_key = FWCFG_SIGNATURE;
	f->cur_off = 0;
	f->cur = find_key(f, FWCFG_SIGNATURE);
}

/* ---- port interface ---- */

/* Current item, re-looked-up if items moved since it was selected. */
static struct fwcfg_item *cur_item(struct fwcfg *f)
{
	if (!f->cur)
		f->cur = find_key(f, f->cur_key & ~FWCFG_WRITE_CHANNEL);
	return f->cur;
}

static uint8_t data_read_byte(struct fwcfg *f)
{
	struct fwcfg_item *it = cur_item(f);

	if (!it || f->cur_off >= it->len)
		return 0;
	return it->data[f->cur_off++];
}

static void data_write_byte(struct fwcfg *f, uint8_t v)
{
	struct fwcfg_item *it = cur_item(f);
	uint32_t off;

	if (!it || !it->writable || f->cur_off >= it->len) {
		TRACE(TRACE_FWCFG, "fw_cfg: data write to 0x%04x ignored\n", f->cur_key);
		return;
	}
	off = f->cur_off++;
	it->data[off] = v;
	if (it->ops.write)
		it->ops.write(it->opaque, it->data, it->len, off, 1);
}

/*
 * Run one DMA request. Every guest-controlled value is checked: the
 * descriptor and buffer must be ordinary RAM (guest_mem returns NULL
 * otherwise), writes must fit a writable item, and unknown control bits or
 * more than one of read/write/skip are refused. Failures set the error bit.
 */
static void dma_transfer(struct fwcfg *f, uint64_t desc_gpa)
{
	uint8_t desc[FWCFG_DMA_DESC_SIZE], st[4];
	uint32_t ctl, len, ops, avail;
	uint64_t addr;
	struct fwcfg_item *it;
	bool err = false;
	uint8_t *p;

	if (gmem_read(&f->mem, desc_gpa, desc, sizeof(desc)) < 0) {
		TRACE(TRACE_FWCFG, "fw_cfg: DMA descriptor at 0x%llx not in RAM\n",
		      (unsigned long long)desc_gpa);
		goto status;
	}
	ctl = ld_be32(desc);
	len = ld_be32(desc + 4);
	addr = ld_be64(desc + 8);
	TRACE(TRACE_FWCFG, "fw_cfg: DMA ctl 0x%08x len 0x%x addr 0x%llx\n", ctl, len,
	      (unsigned long long)addr);

	ops = ctl & (FWCFG_DMA_READ | FWCFG_DMA_WRITE | FWCFG_DMA_SKIP);
	if ((ctl & 0xffff & ~FWCFG_DMA_KNOWN) || (ops & (ops - 1)))
		goto error;
	if (ctl & FWCFG_DMA_SELECT)
		select_key(f, ctl >> 16);
	if (!ops || !len)
		goto status;

	it = cur_item(f);
	avail = it && f->cur_off < it->len ? it->len - f->cur_off : 0;
	if (ops == FWCFG_DMA_SKIP) {
		f->cur_off += MIN(avail, len);
		goto status;
	}
	if (ops == FWCFG_DMA_READ) {
		uint32_t n = MIN(avail, len);

		p = gmem_ptr(&f->mem, addr, len, true);
		if (!p)
			goto error;
		if (n)
			memcpy(p, it->data + f->cur_off, n);
		/* Past the end of the item (or no item): zeroes, as QEMU does. */
		memset(p + n, 0, len - n);
		f->cur_off += n;
		goto status;
	}
	/* write: all of it must land inside a writable item */
	if (!it || !it->writable || len > avail)
		goto error;
	p = gmem_ptr(&f->mem, addr, len, false);
	if (!p)
		goto error;
	memcpy(it->data + f->cur_off, p, len);
	f->cur_off += len;
	if (it->ops.write)
		it->ops.write(it->opaque, it->data, it->len, f->cur_off - len, len);
	goto status;

error:
	err = true;
	TRACE(TRACE_FWCFG, "fw_cfg: DMA error\n");
status:
	/* The status is the control word: 0 when done, or the error bit. */
	st_be32(st, err ? FWCFG_DMA_ERROR : 0);
	(void)gmem_write(&f->mem, desc_gpa, st, sizeof(st));
}

static uint64_t fwcfg_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct fwcfg *f = dev;
	uint64_t v = 0, mask = size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	unsigned i;

	if (off == FWCFG_IO_SELECTOR)
		return f->cur_key & mask;   /* not a data register; defined for robustness */
	if (off == FWCFG_IO_DATA) {
		/* Wider reads stream consecutive bytes, lowest address first. */
		for (i = 0; i < size; i++)
			v |= (uint64_t)data_read_byte(f) << (8 * i);
		TRACE(TRACE_FWCFG, "fw_cfg: read 0x%04x -> 0x%llx (%u)\n", f->cur_key,
		      (unsigned long long)v, size);
		return v;
	}
	if (f->dma && off >= FWCFG_IO_DMA && off + size <= FWCFG_IO_LEN) {
		/* Big-endian register: byte k of the port is byte k of "QEMU CFG". */
		for (i = 0; i < size; i++)
			v |= (uint64_t)((FWCFG_DMA_SIGNATURE >> (8 * (7 - (off - FWCFG_IO_DMA + i))))
					& 0xff) << (8 * i);
		return v;
	}
	return mask;   /* unassigned */
}

static void fwcfg_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
			unsigned size)
{
	struct fwcfg *f = dev;
	unsigned i;

	if (off == FWCFG_IO_SELECTOR) {
		if (size >= 2)
			select_key(f, (uint16_t)val);
		return;
	}
	if (off == FWCFG_IO_DATA) {
		for (i = 0; i < size; i++)
			data_write_byte(f, (uint8_t)(val >> (8 * i)));
		return;
	}
	if (!f->dma || off < FWCFG_IO_DMA || off + size > FWCFG_IO_LEN)
		return;
	for (i = 0; i < size; i++)
		f->dma_reg[off - FWCFG_IO_DMA + i] = (uint8_t)(val >> (8 * i));
	/* A write that completes the low half (last byte) starts the transfer. */
	if (off + size == FWCFG_IO_LEN) {
		uint64_t gpa = ld_be64(f->dma_reg);

		/*
		 * Clear the register so that a later low-half-only write (32-bit
		 * firmware) does not inherit a stale high half.
		 */
		memset(f->dma_reg, 0, sizeof(f->dma_reg));
		dma_transfer(f, gpa);
	}
}

const struct dev_ops fwcfg_ops = {
	.name = "fw_cfg",
	.read = fwcfg_read,
	.write = fwcfg_write,
};
