/* Unit tests for vmm/boot/bios.c: -bios size rules and the two mappings. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/support.h"
#include "vmm/boot/bios.h"
#include "vmm/err.h"

static char dir[] = "/tmp/kvmrun-test-bios-XXXXXX";

static const char *path_of(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static uint8_t fw_byte(uint64_t i)
{
	return (uint8_t)(i * 31 + (i >> 12));
}

/* Write a firmware file of @size bytes; sparse when @sparse. */
static const char *make_fw(const char *name, uint64_t size, bool sparse)
{
	const char *p = path_of(name);
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	uint8_t buf[4096];
	uint64_t off;

	ck_assert_int_ge(fd, 0);
	if (sparse) {
		ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	} else {
		for (off = 0; off < size; off += sizeof(buf)) {
			size_t n = MIN(sizeof(buf), size - off), i;

			for (i = 0; i < n; i++)
				buf[i] = fw_byte(off + i);
			ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
		}
	}
	close(fd);
	return p;
}

static void expect_fail(const char *path, int err, const char *needle)
{
	struct bios_image img;

	err_clear();
	ck_assert_int_eq(bios_load_file(path, &img), err);
	ck_assert_msg(strstr(err_get(), needle), "error '%s' lacks '%s'", err_get(), needle);
	ck_assert_msg(strstr(err_get(), "-bios"), "error '%s' does not name -bios", err_get());
	ck_assert_ptr_null(img.blob.map);
}

START_TEST(test_check_sizes)
{
	err_clear();
	ck_assert_int_eq(bios_check("fw", 0), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "-bios fw: file is empty"));
	ck_assert_int_eq(bios_check("fw", 64 * KiB - 1), -EINVAL);
	ck_assert_int_eq(bios_check("fw", 64 * KiB + 4096), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "64 KiB"));
	ck_assert_int_eq(bios_check("fw", 16 * MiB + 64 * KiB), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "16 MiB"));
	ck_assert_int_eq(bios_check("fw", ~0ULL), -EINVAL);
	ck_assert_int_eq(bios_check("fw", 64 * KiB), 0);
	ck_assert_int_eq(bios_check("fw", 256 * KiB), 0);
	ck_assert_int_eq(bios_check("fw", 16 * MiB), 0);
}
END_TEST

START_TEST(test_load_2m)
{
	struct bios_image img;
	const char *p = make_fw("ovmf.fd", 2 * MiB, false);
	const uint8_t *isa;
	uint64_t i;

	ck_assert_int_eq(bios_load_file(p, &img), 0);
	ck_assert_uint_eq(img.high.gpa, 0xffe00000);
	ck_assert_uint_eq(img.high.size, 2 * MiB);
	ck_assert_ptr_eq(img.high.host, img.blob.map);
	ck_assert_uint_eq(img.isa.gpa, 0xe0000);
	ck_assert_uint_eq(img.isa.size, 128 * KiB);
	ck_assert_uint_eq((uintptr_t)img.high.host % 4096, 0);
	ck_assert_uint_eq((uintptr_t)img.isa.host % 4096, 0);
	/* both views show the file; the alias is its last 128 KiB */
	for (i = 0; i < 2 * MiB; i += 4093)
		ck_assert_uint_eq(((uint8_t *)img.high.host)[i], fw_byte(i));
	isa = img.isa.host;
	for (i = 0; i < 128 * KiB; i++)
		ck_assert_uint_eq(isa[i], fw_byte(2 * MiB - 128 * KiB + i));
	/* the reset vector at 0xfffffff0 is the file's byte size - 16 */
	ck_assert_uint_eq(((uint8_t *)img.high.host)[0xfffffff0 - img.high.gpa],
			  fw_byte(2 * MiB - 16));
	bios_free(&img);
	ck_assert_ptr_null(img.blob.map);
	unlink(p);
}
END_TEST

START_TEST(test_load_small_and_max)
{
	struct bios_image img;
	const char *p = make_fw("seabios.bin", 64 * KiB, false);

	/* smaller than 128 KiB: the whole image appears below 1 MiB */
	ck_assert_int_eq(bios_load_file(p, &img), 0);
	ck_assert_uint_eq(img.high.gpa, 0xffff0000);
	ck_assert_uint_eq(img.isa.gpa, 0xf0000);
	ck_assert_uint_eq(img.isa.size, 64 * KiB);
	ck_assert_ptr_eq(img.isa.host, img.high.host);
	bios_free(&img);
	unlink(p);

	p = make_fw("big.fd", 16 * MiB, true);
	ck_assert_int_eq(bios_load_file(p, &img), 0);
	ck_assert_uint_eq(img.high.gpa, 0xff000000);
	ck_assert_uint_eq(img.isa.gpa, 0xe0000);
	bios_free(&img);
	unlink(p);
}
END_TEST

START_TEST(test_load_rejects)
{
	const char *p;

	expect_fail(path_of("missing.fd"), -ENOENT, "missing.fd: No such file");
	p = make_fw("empty.fd", 0, false);
	expect_fail(p, -EINVAL, "empty");
	unlink(p);
	p = make_fw("odd.fd", 100, false);
	expect_fail(p, -EINVAL, "not a multiple of 64 KiB");
	unlink(p);
	p = make_fw("odd2.fd", 192 * KiB + 512, false);
	expect_fail(p, -EINVAL, "not a multiple of 64 KiB");
	unlink(p);
	p = make_fw("huge.fd", 16 * MiB + 64 * KiB, true);
	expect_fail(p, -EINVAL, "16 MiB");
	unlink(p);
	p = make_fw("enormous.fd", 1ULL << 40, true);
	expect_fail(p, -EINVAL, "16 MiB");
	unlink(p);
	expect_fail(dir, -EINVAL, "not a regular file");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bios");
	TCase *tc = tcase_create("core");
	int ret;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	tcase_add_test(tc, test_check_sizes);
	tcase_add_test(tc, test_load_2m);
	tcase_add_test(tc, test_load_small_and_max);
	tcase_add_test(tc, test_load_rejects);
	suite_add_tcase(s, tc);
	ret = run_suite(s);
	rmdir(dir);
	return ret;
}
