#include "vmm/boot/e820.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/err.h"
#include "vmm/memmap.h"

/* Room for a full map plus one addition while normalising. */
#define WORK_MAX (E820_MAX_ENTRIES + 1)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Rebuild a sorted, merged, non-overlapping map from @n arbitrary entries:
 * split the address space at every entry boundary and give each piece the
 * winning type of the entries covering it: the largest type number, so
 * RAM (1) loses against everything. Entries must not wrap.
 */
static int normalise(const struct e820_entry *in, unsigned n, struct e820_map *out)
{
	uint64_t bounds[2 * WORK_MAX];
	struct e820_map tmp;
	unsigned nb = 0, i, j;

	for (i = 0; i < n; i++) {
		bounds[nb++] = in[i].addr;
		bounds[nb++] = in[i].addr + in[i].size;
	}
	qsort(bounds, nb, sizeof(bounds[0]), cmp_u64);

	tmp.n = 0;
	for (i = 0; i + 1 < nb; i++) {
		uint64_t lo = bounds[i], hi = bounds[i + 1];
		const struct e820_entry *win = NULL;
		struct e820_entry *last;

		if (lo == hi)
			continue;
		for (j = 0; j < n; j++) {
			if (in[j].addr <= lo && lo < in[j].addr + in[j].size &&
			    (!win || in[j].type > win->type))
				win = &in[j];
		}
		if (!win)
			continue;
		last = tmp.n ? &tmp.e[tmp.n - 1] : NULL;
		if (last && last->type == win->type && last->addr + last->size == lo) {
			last->size += hi - lo;
			continue;
		}
		if (tmp.n == E820_MAX_ENTRIES)
			return -ENOSPC;
		tmp.e[tmp.n++] = (struct e820_entry){ .addr = lo, .size = hi - lo, .type = win->type };
	}
	*out = tmp;
	return 0;
}

int e820_add(struct e820_map *m, uint64_t addr, uint64_t size, uint32_t type)
{
	struct e820_entry work[WORK_MAX];
	uint64_t end;

	if (!size || !type || add_overflows_u64(addr, size, &end))
		return -EINVAL;
	if (m->n > E820_MAX_ENTRIES)
		return -EINVAL;
	memcpy(work, m->e, m->n * sizeof(work[0]));
	work[m->n] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
	return normalise(work, m->n + 1, m);
}

static int add_named(struct e820_map *m, uint64_t addr, uint64_t size, uint32_t type,
		     const char *what)
{
	int ret = e820_add(m, addr, size, type);

	if (ret == -ENOSPC)
		return err_set(ret, "e820: too many ranges adding %s [%#llx, +%#llx) (max %u)",
			       what, (unsigned long long)addr, (unsigned long long)size,
			       E820_MAX_ENTRIES);
	if (ret)
		return err_set(ret, "e820: invalid %s range [%#llx, +%#llx) type %u", what,
			       (unsigned long long)addr, (unsigned long long)size, type);
	return 0;
}

int e820_build(const struct ram_layout *l, struct e820_map *out)
{
	unsigned i;
	int ret;

	out->n = 0;
	if (l->low_top > MM_HIGHMEM_START || !IS_ALIGNED(l->low_top, 4 * KiB))
		return err_set(-EINVAL, "e820: RAM below 4 GiB ends at %#llx: must be page "
			       "aligned and at most 4 GiB", (unsigned long long)l->low_top);
	if (l->bios_holes && l->low_top <= MM_HIGH_RAM)
		return err_set(-EINVAL, "e820: %llu KiB of RAM below 4 GiB is too little to "
			       "boot a kernel directly (need more than 1 MiB)",
			       (unsigned long long)(l->low_top / KiB));
	if (l->high_size > UINT64_MAX - MM_HIGHMEM_START || !IS_ALIGNED(l->high_size, 4 * KiB))
		return err_set(-EINVAL, "e820: RAM above 4 GiB of %#llx bytes is invalid",
			       (unsigned long long)l->high_size);

	if (l->bios_holes) {
		ret = add_named(out, 0, MM_EBDA, E820_RAM, "low RAM");
		ret = ret ?: add_named(out, MM_EBDA, MM_VGA - MM_EBDA, E820_RESERVED, "EBDA");
		ret = ret ?: add_named(out, MM_BIOS_LOW, MM_HIGH_RAM - MM_BIOS_LOW,
				       E820_RESERVED, "BIOS area");
		ret = ret ?: add_named(out, MM_HIGH_RAM, l->low_top - MM_HIGH_RAM, E820_RAM,
				       "RAM below 4 GiB");
	} else if (l->low_top) {
		ret = add_named(out, 0, l->low_top, E820_RAM, "RAM below 4 GiB");
	} else {
		ret = 0;
	}
	if (!ret && l->high_size)
		ret = add_named(out, MM_HIGHMEM_START, l->high_size, E820_RAM, "RAM above 4 GiB");
	for (i = 0; !ret && i < l->nextra; i++)
		ret = add_named(out, l->extra[i].addr, l->extra[i].size, l->extra[i].type,
				e820_type_name(l->extra[i].type));
	if (ret)
		out->n = 0;
	return ret;
}

const struct e820_entry *e820_find(const struct e820_map *m, uint64_t addr)
{
	unsigned i;

	for (i = 0; i < m->n && i < E820_MAX_ENTRIES; i++)
		if (m->e[i].addr <= addr && addr - m->e[i].addr < m->e[i].size)
			return &m->e[i];
	return NULL;
}

bool e820_is_ram(const struct e820_map *m, uint64_t addr, uint64_t size)
{
	const struct e820_entry *e = e820_find(m, addr);

	return e && e->type == E820_RAM && size <= e->size - (addr - e->addr);
}

uint64_t e820_ram_end(const struct e820_map *m, uint64_t addr)
{
	const struct e820_entry *e = e820_find(m, addr);

	return e && e->type == E820_RAM ? e->addr + e->size : 0;
}

int e820_serialize(const struct e820_map *m, void *buf, size_t len)
{
	uint8_t *p = buf;
	unsigned i;

	if (m->n > E820_MAX_ENTRIES || len < (size_t)m->n * E820_ENTRY_SIZE)
		return -ENOSPC;
	for (i = 0; i < m->n; i++, p += E820_ENTRY_SIZE) {
		st_le64(p, m->e[i].addr);
		st_le64(p + 8, m->e[i].size);
		st_le32(p + 16, m->e[i].type);
	}
	return (int)(m->n * E820_ENTRY_SIZE);
}

const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case E820_RAM: return "RAM";
	case E820_RESERVED: return "reserved";
	case E820_ACPI: return "ACPI";
	case E820_NVS: return "ACPI NVS";
	case E820_UNUSABLE: return "unusable";
	case E820_PMEM: return "persistent memory";
	default: return "unknown";
	}
}
