/*
 * Unit tests for firmware/embedded.h: the default guest compiled into
 * kvmrun. They check that the bytes linked into the binary form a valid
 * -bios image: 64 KiB, page-aligned, a reset vector at 0xFFFFFFF0 that
 * jumps to the guest's real-mode entry, the banner and a GDT with the
 * descriptors lib.inc defines. A small reset-vector decoder does the
 * checking; it is itself tested against synthetic and corrupted images
 * so that the checks on the real image can fail.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/embedded.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

#define RESET_VECTOR_FROM_END	16		/* 0xFFFFFFF0 = 4 GiB - 16 */
#define RESET_SEGMENT_SIZE	0x10000		/* CS.base 0xFFFF0000, 64 KiB */

/*
 * Decode the instruction at the reset vector of a firmware image of @len
 * bytes that ends at 4 GiB, and give the image offset where execution
 * continues. Only the jumps a 16-bit reset vector uses are accepted:
 * EB rel8 and E9 rel16 (IP wraps within the 64 KiB CS segment).
 */
static int reset_target(const unsigned char *img, size_t len, size_t *off)
{
	const unsigned char *rv;
	unsigned ip;

	if (len < RESET_VECTOR_FROM_END)
		return -EINVAL;
	rv = img + len - RESET_VECTOR_FROM_END;
	switch (rv[0]) {
	case 0xeb:
		ip = 0xfff0 + 2 + (unsigned)(int8_t)rv[1];
		break;
	case 0xe9:
		ip = 0xfff0 + 3 + (unsigned)(int16_t)(rv[1] | rv[2] << 8);
		break;
	default:
		return -EINVAL;
	}
	ip &= 0xffff;
	/* The CS segment is the last 64 KiB below 4 GiB; a smaller image
	 * covers only its top, and the target must lie inside the image. */
	if (len < RESET_SEGMENT_SIZE && ip < RESET_SEGMENT_SIZE - len)
		return -ERANGE;
	*off = len + ip - RESET_SEGMENT_SIZE;
	return 0;
}

static const unsigned char *guest(void)
{
	return kvmrun_default_guest;
}

START_TEST(test_size_and_alignment)
{
	size_t len = embedded_default_guest_size();

	ck_assert_uint_eq(len, 64 * KiB);
	ck_assert_uint_eq(len % 4096, 0);
	ck_assert_uint_le(len, MM_FLASH_MAX_SIZE);
	ck_assert_uint_eq((uintptr_t)guest() % 4096, 0);
}
END_TEST

START_TEST(test_reset_vector_reaches_entry)
{
	size_t len = embedded_default_guest_size(), off = 0;

	ck_assert_int_eq(reset_target(guest(), len, &off), 0);
	ck_assert_uint_lt(off, len - RESET_VECTOR_FROM_END);
	/* BOOT16 (lib.inc) starts with cli; cld. */
	ck_assert_uint_eq(guest()[off], 0xfa);
	ck_assert_uint_eq(guest()[off + 1], 0xfc);
}
END_TEST

START_TEST(test_banner_and_gdt)
{
	static const char banner[] = "kvmrun: default guest booted in 64-bit mode on ";
	/* lib.inc's GDT: code32, data, code64, each with the accessed bit set
	 * so the CPU never writes to the ROM. */
	static const unsigned char gdt[] = {
		0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xcf, 0x00,
		0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00,
		0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xaf, 0x00,
	};
	size_t len = embedded_default_guest_size();

	ck_assert_ptr_nonnull(memmem(guest(), len, banner, sizeof(banner) - 1));
	ck_assert_ptr_nonnull(memmem(guest(), len, gdt, sizeof(gdt)));
}
END_TEST

START_TEST(test_decoder_synthetic_images)
{
	unsigned char *img = malloc(64 * KiB);
	size_t off = 0;

	ck_assert_ptr_nonnull(img);
	memset(img, 0xff, 64 * KiB);
	/* E9 rel16 from 0xfff3 to 0x0100 wraps around the segment. */
	img[0xfff0] = 0xe9;
	img[0xfff1] = 0x0d;
	img[0xfff2] = 0x01;
	ck_assert_int_eq(reset_target(img, 64 * KiB, &off), 0);
	ck_assert_uint_eq(off, 0x100);
	/* EB rel8 backwards. */
	img[0xfff0] = 0xeb;
	img[0xfff1] = 0xf0;
	ck_assert_int_eq(reset_target(img, 64 * KiB, &off), 0);
	ck_assert_uint_eq(off, 0xffe2);
	/* A 4 KiB image covers only [0xf000, 0x10000) of the segment. */
	ck_assert_int_eq(reset_target(img + 60 * KiB, 4 * KiB, &off), 0);
	ck_assert_uint_eq(off, 0xfe2);
	free(img);
}
END_TEST

START_TEST(test_decoder_rejects_corruption)
{
	size_t len = embedded_default_guest_size(), off = 0;
	unsigned char *copy = malloc(len);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, guest(), len);
	/* Not a jump at the reset vector. */
	copy[len - RESET_VECTOR_FROM_END] = 0x90;
	ck_assert_int_eq(reset_target(copy, len, &off), -EINVAL);
	/* Too short to have a reset vector at all. */
	ck_assert_int_eq(reset_target(copy, 0, &off), -EINVAL);
	ck_assert_int_eq(reset_target(copy, 15, &off), -EINVAL);
	/* A jump below the start of a truncated image. */
	memcpy(copy, guest() + len - 4096, 4096);
	copy[4096 - RESET_VECTOR_FROM_END] = 0xe9;
	copy[4096 - RESET_VECTOR_FROM_END + 1] = 0x00;
	copy[4096 - RESET_VECTOR_FROM_END + 2] = 0x80;
	ck_assert_int_eq(reset_target(copy, 4096, &off), -ERANGE);
	free(copy);
}
END_TEST

static Suite *embedded_suite(void)
{
	Suite *s = suite_create("embedded");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_size_and_alignment);
	tcase_add_test(tc, test_reset_vector_reaches_entry);
	tcase_add_test(tc, test_banner_and_gdt);
	tcase_add_test(tc, test_decoder_synthetic_images);
	tcase_add_test(tc, test_decoder_rejects_corruption);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(embedded_suite());
}
