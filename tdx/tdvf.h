/*
 * TDVF (TDX-enabled OVMF) metadata: find the TDX metadata descriptor
 * through the OVMF GUID table at the end of the image, validate it and
 * its sections, and produce each section's initial memory content.
 * Pure: works on an image already in memory; no I/O.
 *
 * Image layout (edk2 ResetVectorVtf0): the table footer GUID sits at
 * size-48 with the total table length (u16) at size-50; entries are
 * "data, u16 length, GUID" walked backwards from the footer. The TDX
 * entry holds a u32: the distance from the end of the file to the
 * descriptor, which is preceded by the 16-byte metadata GUID.
 */
#ifndef KVMRUN_TDX_TDVF_H
#define KVMRUN_TDX_TDVF_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/util.h"

enum tdvf_section_type {
	TDVF_SEC_BFV = 0,
	TDVF_SEC_CFV = 1,
	TDVF_SEC_TD_HOB = 2,
	TDVF_SEC_TEMP_MEM = 3,
	TDVF_SEC_PERM_MEM = 4,
	TDVF_SEC_PAYLOAD = 5,
	TDVF_SEC_PAYLOAD_PARAM = 6,
	TDVF_SEC_TD_INFO = 7,
	TDVF_SEC_TD_PARAMS = 8,
};

#define TDVF_ATTR_MR_EXTEND (1u << 0)
#define TDVF_ATTR_PAGE_AUG (1u << 1)

#define TDVF_SIGNATURE 0x46564454u      /* "TDVF" little-endian */
#define TDVF_VERSION 1
#define TDVF_DESC_SIZE 16
#define TDVF_SECTION_SIZE 32
#define TDVF_MAX_SECTIONS 64
#define TDVF_PAGE_SIZE 4096ULL
#define TDVF_GUID_SIZE 16

struct tdvf_section {
	uint32_t data_offset;   /* in the file */
	uint32_t raw_size;      /* bytes from the file; 0 = zero-filled memory */
	uint64_t mem_addr;      /* guest-physical */
	uint64_t mem_size;      /* bytes of guest memory (>= raw_size) */
	uint32_t type;          /* enum tdvf_section_type */
	uint32_t attributes;    /* TDVF_ATTR_* */
};

struct tdvf {
	uint64_t desc_offset;   /* file offset of the "TDVF" descriptor */
	uint32_t nsec;
	struct tdvf_section sec[TDVF_MAX_SECTIONS];
	int hob;                /* index of the (only) TD_HOB section */
};

extern const uint8_t tdvf_guid_table_footer[TDVF_GUID_SIZE];
extern const uint8_t tdvf_guid_tdx_offset[TDVF_GUID_SIZE];
extern const uint8_t tdvf_guid_tdx_metadata[TDVF_GUID_SIZE];

/*
 * Find the entry @guid in the OVMF GUID table of @img. On success *data
 * points into @img and *len is the entry's data length. -ENOENT if the
 * image has no table or no such entry, -EINVAL if the table is
 * malformed (err_get() says why, naming @name).
 */
int tdvf_find_guid(const uint8_t *img, size_t size, const char *name,
		   const uint8_t guid[TDVF_GUID_SIZE], const uint8_t **data, size_t *len) __must_check;

/*
 * Parse and validate the TDX metadata of @img (@name is used in
 * messages). Returns 0, or -EINVAL/-ENOENT with a one-line reason that
 * names the field and the values.
 */
int tdvf_parse(const uint8_t *img, size_t size, const char *name, struct tdvf *out) __must_check;

/* "BFV", "CFV", "TD_HOB", ... or "reserved". */
const char *tdvf_type_name(uint32_t type);

/*
 * Write the initial content of @s (mem_size bytes) to @dst: the raw data
 * of a BFV/CFV from @img, zero-filled up to mem_size; zeros otherwise.
 * @s must come from a successful tdvf_parse() of the same image.
 */
void tdvf_section_load(const struct tdvf_section *s, const uint8_t *img, size_t size,
		       uint8_t *dst);

/* Format a GUID stored in EFI byte order as 8-4-4-4-12 text (37 bytes). */
void tdvf_guid_str(const uint8_t g[TDVF_GUID_SIZE], char out[37]);

#endif
