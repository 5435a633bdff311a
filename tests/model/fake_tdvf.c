#include "tests/model/fake_tdvf.h"

#include <string.h>

#include "tdx/tdvf.h"
#include "vmm/util.h"

/* 00f771de-1a7e-4fcb-890e-68c77e2fb44e (SEV-ES reset block) */
static const uint8_t guid_sev_es_reset[16] = {
	0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
	0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e,
};
/* dc886566-984a-4798-a75e-5585a7bf67cc (SEV metadata offset) */
static const uint8_t guid_sev_meta[16] = {
	0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
	0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc,
};

/* One table entry "u32 value, u16 22, GUID" ending @end_from_tail bytes before the end. */
static void put_u32_entry(uint8_t *img, size_t size, size_t end_from_tail, uint32_t val,
			  const uint8_t guid[16])
{
	uint8_t *e = img + size - end_from_tail - 22;

	st_le32(e, val);
	st_le16(e + 4, 22);
	memcpy(e + 6, guid, 16);
}

static void put_footer(uint8_t *img, size_t size, uint16_t total)
{
	st_le16(img + size - 50, total);
	memcpy(img + size - 48, tdvf_guid_table_footer, 16);
}

static size_t put_metadata(uint8_t *img, size_t meta_off, const struct fake_tdvf_sec *s,
			   unsigned n)
{
	uint8_t *d = img + meta_off + 16;
	unsigned i;

	memcpy(img + meta_off, tdvf_guid_tdx_metadata, 16);
	st_le32(d, TDVF_SIGNATURE);
	st_le32(d + 4, 16 + 32 * n);
	st_le32(d + 8, TDVF_VERSION);
	st_le32(d + 12, n);
	for (i = 0; i < n; i++) {
		uint8_t *e = d + 16 + 32 * i;

		st_le32(e, s[i].data_offset);
		st_le32(e + 4, s[i].raw_size);
		st_le64(e + 8, s[i].addr);
		st_le64(e + 16, s[i].size);
		st_le32(e + 24, s[i].type);
		st_le32(e + 28, s[i].attr);
	}
	return meta_off + 16;
}

void fake_tdvf_clean_example(uint8_t *img)
{
	static const struct fake_tdvf_sec secs[6] = {
		{ 0x20000, 0x1e0000, 0xffe20000, 0x1e0000, TDVF_SEC_BFV, TDVF_ATTR_MR_EXTEND },
		{ 0, 0x20000, 0xffe00000, 0x20000, TDVF_SEC_CFV, 0 },
		{ 0, 0, 0x810000, 0x10000, TDVF_SEC_TEMP_MEM, 0 },
		{ 0, 0, 0x80b000, 0x2000, TDVF_SEC_TEMP_MEM, 0 },
		{ 0, 0, 0x809000, 0x2000, TDVF_SEC_TD_HOB, 0 },
		{ 0, 0, 0x800000, 0x6000, TDVF_SEC_TEMP_MEM, 0 },
	};
	/* SEV metadata at offset 0: "ASEV", length, version 1, three 12-byte sections. */
	static const uint32_t sev_sections[3][3] = {
		{ 0xff001000, 0x1000, 1 },   /* pre-validated */
		{ 0xff003000, 0x1000, 3 },   /* CPUID page */
		{ 0xff004000, 0x1000, 2 },   /* secrets page */
	};
	const size_t size = FAKE_TDVF_CLEAN_SIZE;
	unsigned i;

	memset(img, 0, size);
	memcpy(img + 0x800, "LGTMLGTMLGTMLGTM", 16);
	memcpy(img + 0xa00, "LGTMLGTMLGTMLGTM", 16);
	st_le32(img, 0x56455341);
	st_le32(img + 4, 16 + 12 * 3);
	st_le32(img + 8, 1);
	st_le32(img + 12, 3);
	for (i = 0; i < 3; i++) {
		st_le32(img + 16 + 12 * i, sev_sections[i][0]);
		st_le32(img + 20 + 12 * i, sev_sections[i][1]);
		st_le32(img + 24 + 12 * i, sev_sections[i][2]);
	}
	put_metadata(img, FAKE_TDVF_CLEAN_META, secs, 6);
	/* GUID table, from the footer backwards: SEV-ES reset, SEV metadata, TDX offset. */
	put_u32_entry(img, size, 50, 0xff0000ff, guid_sev_es_reset);
	put_u32_entry(img, size, 72, (uint32_t)size, guid_sev_meta);
	put_u32_entry(img, size, 94, (uint32_t)(size - FAKE_TDVF_CLEAN_META - 16),
		      tdvf_guid_tdx_offset);
	put_footer(img, size, 3 * 22 + 18);
}

size_t fake_tdvf_build(uint8_t *img, size_t size, size_t meta_off,
		       const struct fake_tdvf_sec *s, unsigned n)
{
	size_t desc;

	memset(img, 0, size);
	desc = put_metadata(img, meta_off, s, n);
	put_u32_entry(img, size, 50, (uint32_t)(size - desc), tdvf_guid_tdx_offset);
	put_footer(img, size, 22 + 18);
	return desc;
}

size_t fake_tdvf_small(uint8_t *img, size_t size, struct fake_tdvf_sec s[4])
{
	s[0] = (struct fake_tdvf_sec){ (uint32_t)(size - 0x8000), 0x8000, 0x100000000ULL - 0x8000,
				       0x8000, TDVF_SEC_BFV, TDVF_ATTR_MR_EXTEND };
	s[1] = (struct fake_tdvf_sec){ 0, 0x4000, 0x100000000ULL - 0xc000, 0x4000, TDVF_SEC_CFV,
				       0 };
	s[2] = (struct fake_tdvf_sec){ 0, 0, 0x800000, 0x2000, TDVF_SEC_TD_HOB, 0 };
	s[3] = (struct fake_tdvf_sec){ 0, 0, 0x810000, 0x4000, TDVF_SEC_TEMP_MEM, 0 };
	return fake_tdvf_build(img, size, 0x100, s, 4);
}
