#include "tdx/hob.h"

#include <errno.h>
#include <string.h>

#define HOB_ALIGN 8

void hob_memmap_init(struct hob_memmap *m)
{
	memset(m, 0, sizeof(*m));
}

/* Insert @e keeping the map sorted by address. */
static int insert(struct hob_memmap *m, const struct hob_mem *e)
{
	unsigned i;

	if (m->n == HOB_MAX_ENTRIES)
		return -ENOSPC;
	for (i = m->n; i > 0 && m->e[i - 1].gpa > e->gpa; i--)
		m->e[i] = m->e[i - 1];
	m->e[i] = *e;
	m->n++;
	return 0;
}

int hob_memmap_add_ram(struct hob_memmap *m, uint64_t gpa, uint64_t size)
{
	struct hob_mem e = { .gpa = gpa, .size = size, .accepted = false };
	uint64_t end;
	unsigned i;

	if (!size || !IS_ALIGNED(gpa, 4096) || !IS_ALIGNED(size, 4096) ||
	    add_overflows_u64(gpa, size, &end))
		return -EINVAL;
	for (i = 0; i < m->n; i++)
		if (ranges_overlap(m->e[i].gpa, m->e[i].size, gpa, size))
			return -EINVAL;
	return insert(m, &e);
}

static int find_container(const struct hob_memmap *m, uint64_t gpa, uint64_t size)
{
	uint64_t end;
	unsigned i;

	if (!size || add_overflows_u64(gpa, size, &end))
		return -1;
	for (i = 0; i < m->n; i++) {
		const struct hob_mem *e = &m->e[i];

		if (gpa >= e->gpa && end <= e->gpa + e->size)
			return (int)i;
	}
	return -1;
}

bool hob_memmap_contains(const struct hob_memmap *m, uint64_t gpa, uint64_t size)
{
	return find_container(m, gpa, size) >= 0;
}

int hob_memmap_accept(struct hob_memmap *m, uint64_t gpa, uint64_t size)
{
	int i = find_container(m, gpa, size);
	struct hob_mem old, mid = { .gpa = gpa, .size = size, .accepted = true };
	unsigned extra;

	if (i < 0 || m->e[i].accepted)
		return -ENOENT;
	old = m->e[i];
	/* The split turns one entry into up to three: check room before touching the map. */
	extra = (gpa > old.gpa) + (gpa + size < old.gpa + old.size);
	if (m->n + extra > HOB_MAX_ENTRIES)
		return -ENOSPC;
	m->e[i] = mid;
	if (gpa > old.gpa) {
		struct hob_mem lo = { .gpa = old.gpa, .size = gpa - old.gpa };

		if (insert(m, &lo) < 0)
			return -ENOSPC;
	}
	if (gpa + size < old.gpa + old.size) {
		struct hob_mem hi = { .gpa = gpa + size, .size = old.gpa + old.size - gpa - size };

		if (insert(m, &hi) < 0)
			return -ENOSPC;
	}
	return 0;
}

size_t hob_size(const struct hob_memmap *m)
{
	return ALIGN_UP((size_t)HOB_PHIT_SIZE, HOB_ALIGN) +
	       m->n * ALIGN_UP((size_t)HOB_RESOURCE_SIZE, HOB_ALIGN) +
	       ALIGN_UP((size_t)HOB_END_SIZE, HOB_ALIGN);
}

static void put_header(uint8_t *p, uint16_t type, uint16_t len)
{
	st_le16(p, type);
	st_le16(p + 2, len);
	st_le32(p + 4, 0);
}

long hob_build(void *buf, size_t len, uint64_t hob_gpa, const struct hob_memmap *m)
{
	size_t need = hob_size(m), off;
	uint8_t *b = buf;
	unsigned i;

	if (need > len)
		return -ENOSPC;
	memset(b, 0, len);
	/* PHIT: version, boot mode 0; the EfiMemory* fields are unused by TDVF and stay 0. */
	put_header(b, HOB_TYPE_HANDOFF, HOB_PHIT_SIZE);
	st_le32(b + 8, HOB_HANDOFF_VERSION);
	st_le32(b + 12, 0);
	off = ALIGN_UP((size_t)HOB_PHIT_SIZE, HOB_ALIGN);
	for (i = 0; i < m->n; i++) {
		uint8_t *r = b + off;
		const struct hob_mem *e = &m->e[i];

		put_header(r, HOB_TYPE_RESOURCE_DESCRIPTOR, HOB_RESOURCE_SIZE);
		/* Owner GUID (bytes 8..23) stays zero. */
		st_le32(r + 24, e->accepted ? HOB_RESOURCE_SYSTEM_MEMORY :
					      HOB_RESOURCE_MEMORY_UNACCEPTED);
		st_le32(r + 28, HOB_RESOURCE_ATTR_TDVF);
		st_le64(r + 32, e->gpa);
		st_le64(r + 40, e->size);
		off += ALIGN_UP((size_t)HOB_RESOURCE_SIZE, HOB_ALIGN);
	}
	put_header(b + off, HOB_TYPE_END_OF_LIST, HOB_END_SIZE);
	off += ALIGN_UP((size_t)HOB_END_SIZE, HOB_ALIGN);
	/* EfiEndOfHobList: the guest address just past the end-of-list HOB. */
	st_le64(b + 48, hob_gpa + off);
	return (long)off;
}
