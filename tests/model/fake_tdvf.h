/*
 * Test firmware images with TDX metadata, written from the layout
 * descriptions (not copied from any generator): the gce-tcb-verifier
 * "CleanExample" that the published MRTD vector refers to, and a small
 * generic builder tests use for well-formed and corrupted images.
 */
#ifndef KVMRUN_TESTS_FAKE_TDVF_H
#define KVMRUN_TESTS_FAKE_TDVF_H

#include <stddef.h>
#include <stdint.h>

#define FAKE_TDVF_CLEAN_SIZE 0x200000u
#define FAKE_TDVF_CLEAN_META 0x100u         /* metadata GUID; descriptor at +16 */
/* Published MRTD of CleanExample(2 MiB) (google/gce-tcb-verifier verifytest). */
#define FAKE_TDVF_CLEAN_MRTD "6e540be4917f24f74cc3292b59803d06dc7c38eb4a3c1fd6be9c735ba74bb7a2" \
			     "3e25f98da94779d17508b243e4fb582b"

struct fake_tdvf_sec {
	uint32_t data_offset, raw_size;
	uint64_t addr, size;
	uint32_t type, attr;
};

/* The 2 MiB CleanExample: @img must hold FAKE_TDVF_CLEAN_SIZE bytes. */
void fake_tdvf_clean_example(uint8_t *img);

/*
 * A zeroed image of @size bytes with an OVMF GUID table holding only the
 * TDX metadata offset entry, and the metadata (GUID + descriptor + @n
 * sections) at @meta_off. Returns the descriptor's offset.
 */
size_t fake_tdvf_build(uint8_t *img, size_t size, size_t meta_off,
		       const struct fake_tdvf_sec *s, unsigned n);

/* A small valid layout for @size >= 64 KiB: BFV (last 32 KiB of the file at
 * 4G-32K), CFV (first 16 KiB at 4G-48K), TD_HOB at 8 MiB, TEMP_MEM at 8 MiB +
 * 64 KiB. Fills @s (4 entries) and builds the image with metadata at 0x100. */
size_t fake_tdvf_small(uint8_t *img, size_t size, struct fake_tdvf_sec s[4]);

#endif
