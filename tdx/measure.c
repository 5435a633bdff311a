#include "tdx/measure.h"

#include <string.h>

#include "vmm/util.h"

/* Bytes 0..15 hold the operation name (zero-padded), 16..23 the GPA, the rest is zero. */
static void op_block(struct measure *m, const char *op, uint64_t gpa)
{
	uint8_t blk[SHA384_BLOCK_SIZE] = { 0 };

	memcpy(blk, op, strlen(op));
	st_le64(blk + 16, gpa);
	sha384_update(&m->sha, blk, sizeof(blk));
}

void measure_init(struct measure *m)
{
	sha384_init(&m->sha);
}

void measure_page_add(struct measure *m, uint64_t gpa)
{
	op_block(m, "MEM.PAGE.ADD", gpa);
}

void measure_mr_extend(struct measure *m, uint64_t gpa, const uint8_t chunk[MEASURE_CHUNK])
{
	op_block(m, "MR.EXTEND", gpa);
	sha384_update(&m->sha, chunk, MEASURE_CHUNK);
}

void measure_page(struct measure *m, uint64_t gpa, const uint8_t page[MEASURE_PAGE], bool extend)
{
	unsigned c;

	measure_page_add(m, gpa);
	if (!extend)
		return;
	for (c = 0; c < MEASURE_PAGE; c += MEASURE_CHUNK)
		measure_mr_extend(m, gpa + c, page + c);
}

void measure_final(struct measure *m, uint8_t mrtd[SHA384_DIGEST_SIZE])
{
	sha384_final(&m->sha, mrtd);
}

/* Page @off of section @s as loaded: file bytes up to RawDataSize, then zeros. */
static void section_page(const struct tdvf_section *s, const uint8_t *img, size_t size,
			 uint64_t off, uint8_t page[MEASURE_PAGE])
{
	uint64_t n = 0;

	memset(page, 0, MEASURE_PAGE);
	if ((s->type != TDVF_SEC_BFV && s->type != TDVF_SEC_CFV) || off >= s->raw_size ||
	    (uint64_t)s->data_offset + s->raw_size > size)
		return;
	n = MIN((uint64_t)MEASURE_PAGE, s->raw_size - off);
	memcpy(page, img + s->data_offset + off, n);
}

void measure_tdvf(const struct tdvf *t, const uint8_t *img, size_t size,
		  uint8_t mrtd[SHA384_DIGEST_SIZE])
{
	uint8_t page[MEASURE_PAGE];
	struct measure m;
	uint32_t i;

	measure_init(&m);
	for (i = 0; i < t->nsec; i++) {
		const struct tdvf_section *s = &t->sec[i];
		bool extend = s->attributes & TDVF_ATTR_MR_EXTEND;
		uint64_t off;

		for (off = 0; off < s->mem_size; off += MEASURE_PAGE) {
			if (extend)
				section_page(s, img, size, off, page);
			measure_page(&m, s->mem_addr + off, page, extend);
		}
	}
	measure_final(&m, mrtd);
}
