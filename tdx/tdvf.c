#include "tdx/tdvf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vmm/err.h"

/* 96b582de-1fb2-45f7-baea-a366c55a082d, in EFI (mixed-endian) byte order. */
const uint8_t tdvf_guid_table_footer[TDVF_GUID_SIZE] = {
	0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
	0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d,
};
/* e47a6535-984a-4798-865e-4685a7bf8ec2 */
const uint8_t tdvf_guid_tdx_offset[TDVF_GUID_SIZE] = {
	0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
	0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
};
/* e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae */
const uint8_t tdvf_guid_tdx_metadata[TDVF_GUID_SIZE] = {
	0xf3, 0xf9, 0xea, 0xe9, 0x8e, 0x16, 0xd5, 0x44,
	0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae,
};

/* The GUID table ends 32 bytes before the end of the image (reset vector etc.). */
#define TABLE_END_GAP 32
#define ENTRY_TRAILER (2 + TDVF_GUID_SIZE)    /* u16 length + GUID */

void tdvf_guid_str(const uint8_t g[TDVF_GUID_SIZE], char out[37])
{
	snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", ld_le32(g),
		 ld_le16(g + 4), ld_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14],
		 g[15]);
}

const char *tdvf_type_name(uint32_t type)
{
	static const char *const names[] = {
		[TDVF_SEC_BFV] = "BFV",
		[TDVF_SEC_CFV] = "CFV",
		[TDVF_SEC_TD_HOB] = "TD_HOB",
		[TDVF_SEC_TEMP_MEM] = "TEMP_MEM",
		[TDVF_SEC_PERM_MEM] = "PERM_MEM",
		[TDVF_SEC_PAYLOAD] = "PAYLOAD",
		[TDVF_SEC_PAYLOAD_PARAM] = "PAYLOAD_PARAM",
		[TDVF_SEC_TD_INFO] = "TD_INFO",
		[TDVF_SEC_TD_PARAMS] = "TD_PARAMS",
	};

	return type < ARRAY_SIZE(names) ? names[type] : "reserved";
}

int tdvf_find_guid(const uint8_t *img, size_t size, const char *name,
		   const uint8_t guid[TDVF_GUID_SIZE], const uint8_t **data, size_t *len)
{
	size_t end, remaining, total;

	if (size < TABLE_END_GAP + ENTRY_TRAILER)
		return -ENOENT;
	end = size - TABLE_END_GAP - ENTRY_TRAILER;       /* start of the footer entry */
	if (memcmp(img + end + 2, tdvf_guid_table_footer, TDVF_GUID_SIZE))
		return -ENOENT;
	total = ld_le16(img + end);
	if (total < ENTRY_TRAILER || total > size - TABLE_END_GAP)
		return err_set(-EINVAL, "firmware %s: OVMF GUID table length %zu at offset 0x%zx "
				       "is invalid (must be %d..%zu)", name, total, end,
			       ENTRY_TRAILER, size - TABLE_END_GAP);
	remaining = total - ENTRY_TRAILER;
	/* Each entry is "data, u16 length, GUID"; walk backwards from the footer. */
	while (remaining >= ENTRY_TRAILER) {
		size_t elen = ld_le16(img + end - ENTRY_TRAILER);
		const uint8_t *eguid = img + end - TDVF_GUID_SIZE;

		if (elen < ENTRY_TRAILER || elen > remaining)
			return err_set(-EINVAL, "firmware %s: malformed OVMF GUID table: entry "
					       "ending at offset 0x%zx has length %zu (must be "
					       "%d..%zu)", name, end, elen, ENTRY_TRAILER,
				       remaining);
		end -= elen;
		remaining -= elen;
		if (!memcmp(eguid, guid, TDVF_GUID_SIZE)) {
			*data = img + end;
			*len = elen - ENTRY_TRAILER;
			return 0;
		}
	}
	return -ENOENT;
}

static int check_section(const char *name, uint32_t i, const struct tdvf_section *s,
			 size_t size)
{
	const char *tn = tdvf_type_name(s->type);
	uint64_t end;

	if (s->type > TDVF_SEC_TEMP_MEM)
		return err_set(-EINVAL, "firmware %s: section %u has unsupported type %u (%s); "
				       "kvmrun supports BFV, CFV, TD_HOB and TEMP_MEM", name, i,
			       s->type, tn);
	if (s->attributes & ~(TDVF_ATTR_MR_EXTEND | TDVF_ATTR_PAGE_AUG))
		return err_set(-EINVAL, "firmware %s: section %u (%s) has reserved Attributes "
				       "bits set (0x%x)", name, i, tn, s->attributes);
	if (s->attributes & TDVF_ATTR_PAGE_AUG)
		return err_set(-EINVAL, "firmware %s: section %u (%s) has the PAGE.AUG attribute, "
				       "which is only valid for PermMem sections", name, i, tn);
	if (!s->mem_size)
		return err_set(-EINVAL, "firmware %s: section %u (%s) has MemoryDataSize 0", name,
			       i, tn);
	if (!IS_ALIGNED(s->mem_addr, TDVF_PAGE_SIZE))
		return err_set(-EINVAL, "firmware %s: section %u (%s) MemoryAddress 0x%" PRIx64
				       " is not 4 KiB aligned", name, i, tn, s->mem_addr);
	if (!IS_ALIGNED(s->mem_size, TDVF_PAGE_SIZE))
		return err_set(-EINVAL, "firmware %s: section %u (%s) MemoryDataSize 0x%" PRIx64
				       " is not 4 KiB aligned", name, i, tn, s->mem_size);
	if (add_overflows_u64(s->mem_addr, s->mem_size, &end))
		return err_set(-EINVAL, "firmware %s: section %u (%s) MemoryAddress 0x%" PRIx64
				       " + MemoryDataSize 0x%" PRIx64 " overflows", name, i, tn,
			       s->mem_addr, s->mem_size);
	if (s->raw_size > s->mem_size)
		return err_set(-EINVAL, "firmware %s: section %u (%s) RawDataSize 0x%x exceeds "
				       "MemoryDataSize 0x%" PRIx64, name, i, tn, s->raw_size,
			       s->mem_size);
	switch (s->type) {
	case TDVF_SEC_BFV:
	case TDVF_SEC_CFV:
		if (!s->raw_size)
			return err_set(-EINVAL, "firmware %s: section %u (%s) has RawDataSize 0 "
					       "(a firmware volume needs data)", name, i, tn);
		if ((uint64_t)s->data_offset + s->raw_size > size)
			return err_set(-EINVAL, "firmware %s: section %u (%s) DataOffset 0x%x + "
					       "RawDataSize 0x%x ends at 0x%" PRIx64 ", past the end "
					       "of the 0x%zx-byte file (a split OVMF_CODE image? TDX "
					       "needs the unified TDVF image)", name, i, tn,
				       s->data_offset, s->raw_size,
				       (uint64_t)s->data_offset + s->raw_size, size);
		if (s->type == TDVF_SEC_BFV && !(s->attributes & TDVF_ATTR_MR_EXTEND))
			return err_set(-EINVAL, "firmware %s: section %u (BFV) lacks the MR.EXTEND "
					       "attribute: the boot firmware must be measured",
				       name, i);
		if (s->type == TDVF_SEC_CFV && (s->attributes & TDVF_ATTR_MR_EXTEND))
			return err_set(-EINVAL, "firmware %s: section %u (CFV) has the MR.EXTEND "
					       "attribute (CFV is measured by the firmware into "
					       "RTMR[0], not into MRTD)", name, i);
		break;
	default:        /* TD_HOB, TEMP_MEM: memory the VMM zero-fills */
		if (s->raw_size || s->data_offset)
			return err_set(-EINVAL, "firmware %s: section %u (%s) must have DataOffset "
					       "and RawDataSize 0 (has 0x%x/0x%x)", name, i, tn,
				       s->data_offset, s->raw_size);
		if (s->attributes & TDVF_ATTR_MR_EXTEND)
			return err_set(-EINVAL, "firmware %s: section %u (%s) has the MR.EXTEND "
					       "attribute, only firmware volumes may", name, i, tn);
		break;
	}
	return 0;
}

static int check_overlaps(const char *name, const struct tdvf *t)
{
	uint32_t i, j;

	for (i = 0; i < t->nsec; i++) {
		for (j = i + 1; j < t->nsec; j++) {
			const struct tdvf_section *a = &t->sec[i], *b = &t->sec[j];

			if (ranges_overlap(a->mem_addr, a->mem_size, b->mem_addr, b->mem_size))
				return err_set(-EINVAL, "firmware %s: sections %u (%s, 0x%" PRIx64
						       "+0x%" PRIx64 ") and %u (%s, 0x%" PRIx64
						       "+0x%" PRIx64 ") overlap", name, i,
					       tdvf_type_name(a->type), a->mem_addr, a->mem_size,
					       j, tdvf_type_name(b->type), b->mem_addr, b->mem_size);
		}
	}
	return 0;
}

/* Locate the descriptor: GUID table entry -> offset from the end -> GUID + "TDVF". */
static int find_descriptor(const uint8_t *img, size_t size, const char *name, uint64_t *off)
{
	char want[37], got[37];
	const uint8_t *data;
	size_t len;
	uint32_t dist;
	int r;

	r = tdvf_find_guid(img, size, name, tdvf_guid_tdx_offset, &data, &len);
	if (r == -ENOENT) {
		tdvf_guid_str(tdvf_guid_tdx_offset, want);
		return err_set(-ENOENT, "firmware %s has no TDX metadata (no entry %s in an OVMF "
					"GUID table at the end of the image): not a TDVF image",
			       name, want);
	}
	if (r < 0)
		return r;
	if (len < 4)
		return err_set(-EINVAL, "firmware %s: TDX metadata offset entry holds %zu bytes, "
					"expected 4", name, len);
	dist = ld_le32(data);
	if (dist > size || size - dist < TDVF_GUID_SIZE || dist < TDVF_DESC_SIZE)
		return err_set(-EINVAL, "firmware %s: TDX metadata offset 0x%x does not fit in "
					"the 0x%zx-byte file (needs 0x%x..0x%zx)", name, dist, size,
			       TDVF_DESC_SIZE, size - TDVF_GUID_SIZE);
	*off = size - dist;
	if (memcmp(img + *off - TDVF_GUID_SIZE, tdvf_guid_tdx_metadata, TDVF_GUID_SIZE)) {
		tdvf_guid_str(tdvf_guid_tdx_metadata, want);
		tdvf_guid_str(img + *off - TDVF_GUID_SIZE, got);
		return err_set(-EINVAL, "firmware %s: TDX metadata GUID mismatch at offset 0x%" PRIx64
					": found %s, expected %s", name, *off - TDVF_GUID_SIZE,
			       got, want);
	}
	return 0;
}

int tdvf_parse(const uint8_t *img, size_t size, const char *name, struct tdvf *out)
{
	uint32_t sig, length, version, n, i, nbfv = 0, nhob = 0, first_hob = 0;
	uint64_t off = 0, want_len;
	const uint8_t *p;
	int r;

	memset(out, 0, sizeof(*out));
	out->hob = -1;
	r = find_descriptor(img, size, name, &off);
	if (r < 0)
		return r;
	p = img + off;
	sig = ld_le32(p);
	length = ld_le32(p + 4);
	version = ld_le32(p + 8);
	n = ld_le32(p + 12);
	if (sig != TDVF_SIGNATURE)
		return err_set(-EINVAL, "firmware %s: TDX metadata descriptor signature 0x%x at "
					"offset 0x%" PRIx64 ", expected 0x%x (\"TDVF\")", name, sig,
			       off, TDVF_SIGNATURE);
	if (version != TDVF_VERSION)
		return err_set(-EINVAL, "firmware %s: TDX metadata version %u, expected %d", name,
			       version, TDVF_VERSION);
	if (n == 0)
		return err_set(-EINVAL, "firmware %s: TDX metadata has no sections", name);
	if (n < 2)
		return err_set(-EINVAL, "firmware %s: TDX metadata has %u section, at least 2 "
					"are needed (a BFV and a TD_HOB)", name, n);
	if (n > TDVF_MAX_SECTIONS)
		return err_set(-EINVAL, "firmware %s: TDX metadata has %u sections, kvmrun "
					"supports at most %d", name, n, TDVF_MAX_SECTIONS);
	want_len = TDVF_DESC_SIZE + (uint64_t)TDVF_SECTION_SIZE * n;
	if (length != want_len)
		return err_set(-EINVAL, "firmware %s: TDX metadata Length %u does not match %u "
					"sections (expected 16 + 32 * %u = %" PRIu64 ")", name,
			       length, n, n, want_len);
	if (length > size - off)
		return err_set(-EINVAL, "firmware %s: TDX metadata (%u bytes at offset 0x%" PRIx64
					") runs past the end of the 0x%zx-byte file", name, length,
			       off, size);
	out->desc_offset = off;
	out->nsec = n;
	for (i = 0; i < n; i++) {
		const uint8_t *e = p + TDVF_DESC_SIZE + (size_t)TDVF_SECTION_SIZE * i;
		struct tdvf_section *s = &out->sec[i];

		s->data_offset = ld_le32(e);
		s->raw_size = ld_le32(e + 4);
		s->mem_addr = ld_le64(e + 8);
		s->mem_size = ld_le64(e + 16);
		s->type = ld_le32(e + 24);
		s->attributes = ld_le32(e + 28);
		r = check_section(name, i, s, size);
		if (r < 0)
			return r;
		if (s->type == TDVF_SEC_BFV)
			nbfv++;
		if (s->type == TDVF_SEC_TD_HOB) {
			if (nhob++)
				return err_set(-EINVAL, "firmware %s: TDX metadata has more than one "
							"TD_HOB section (sections %u and %u)", name,
					       first_hob, i);
			first_hob = i;
			out->hob = (int)i;
		}
	}
	if (!nbfv)
		return err_set(-EINVAL, "firmware %s: TDX metadata has no BFV (boot firmware "
					"volume) section", name);
	if (!nhob)
		return err_set(-EINVAL, "firmware %s: TDX metadata has no TD_HOB section", name);
	return check_overlaps(name, out);
}

void tdvf_section_load(const struct tdvf_section *s, const uint8_t *img, size_t size,
		       uint8_t *dst)
{
	uint64_t raw = 0;

	if ((s->type == TDVF_SEC_BFV || s->type == TDVF_SEC_CFV) &&
	    (uint64_t)s->data_offset + s->raw_size <= size)
		raw = s->raw_size;
	if (raw)
		memcpy(dst, img + s->data_offset, raw);
	memset(dst + raw, 0, s->mem_size - raw);
}
