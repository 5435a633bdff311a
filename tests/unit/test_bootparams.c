/*
 * Unit tests for vmm/boot/bootparams.c: reading files into page-aligned
 * buffers, splitting multiboot -initrd lists, reading modules, and checked
 * copies into guest memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/support.h"
#include "vmm/boot/bootparams.h"
#include "vmm/err.h"

static char dir[] = "/tmp/kvmrun-test-bootparams-XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char p[4][256];
	static unsigned next;
	char *path = p[next++ % 4];
	int fd;

	snprintf(path, sizeof(p[0]), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

START_TEST(test_blob_read)
{
	struct boot_blob b;
	uint8_t data[5000];
	const char *p;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3);
	p = write_file("k", data, sizeof(data));
	ck_assert_int_eq(boot_blob_read("-kernel", p, 5000, &b), 0);
	ck_assert_uint_eq(b.size, 5000);
	ck_assert_str_eq(b.name, p);
	ck_assert_mem_eq(b.data, data, sizeof(data));
	ck_assert_uint_eq((uintptr_t)b.data % 4096, 0);
	/* padded with zeros to the page */
	ck_assert_uint_eq(b.map_size, 8192);
	for (i = 5000; i < 8192; i++)
		ck_assert_uint_eq(b.data[i], 0);
	boot_blob_free(&b);
	ck_assert_ptr_null(b.data);
	boot_blob_free(&b);                           /* twice is harmless */

	/* one byte over the limit */
	err_clear();
	ck_assert_int_eq(boot_blob_read("-initrd", p, 4999, &b), -EFBIG);
	ck_assert_ptr_nonnull(strstr(err_get(), "-initrd"));
	ck_assert_ptr_nonnull(strstr(err_get(), "5000 bytes"));
	ck_assert_ptr_null(b.map);

	/* empty file: accepted, still backed by memory */
	p = write_file("empty", data, 0);
	ck_assert_int_eq(boot_blob_read("-initrd", p, 10, &b), 0);
	ck_assert_uint_eq(b.size, 0);
	ck_assert_ptr_nonnull(b.data);
	boot_blob_free(&b);

	err_clear();
	ck_assert_int_eq(boot_blob_read("-kernel", "/nonexistent/vmlinuz", 10, &b), -ENOENT);
	ck_assert_str_eq(err_get(), "-kernel /nonexistent/vmlinuz: No such file or directory");
	err_clear();
	ck_assert_int_eq(boot_blob_read("-kernel", dir, 10, &b), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "not a regular file"));
}
END_TEST

static void expect_split(const char *spec, int n, const char *const *want)
{
	char **strs;
	int i;

	ck_assert_int_eq(boot_split_modules(spec, &strs), n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(strs[i], want[i]);
	boot_strings_free(strs, n);
}

START_TEST(test_split_modules)
{
	static const char *const a[] = { "a" };
	static const char *const ab[] = { "a", "b" };
	static const char *const comma[] = { "a,b" };
	static const char *const args[] = { "env.txt x=1 y,2", "/m/two", "c" };
	static const char *const trailing[] = { "a," };
	static const char *const bad[] = { "", ",a", "a,", "a,,,", " a", "a, b", "a,,,,,b," };
	char **strs;
	unsigned i;

	expect_split("a", 1, a);
	expect_split("a,b", 2, ab);
	expect_split("a,,b", 1, comma);
	expect_split("env.txt x=1 y,,2,/m/two,c", 3, args);
	expect_split("a,,", 1, trailing);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear();
		ck_assert_msg(boot_split_modules(bad[i], &strs) == -EINVAL, "'%s' accepted",
			      bad[i]);
		ck_assert_ptr_null(strs);
		ck_assert_ptr_nonnull(strstr(err_get(), "no file name"));
	}
}
END_TEST

START_TEST(test_modules_read)
{
	struct boot_module *mods;
	char spec[700];
	int n;

	write_file("m1", "first", 5);
	write_file("m,2", "second!", 7);
	snprintf(spec, sizeof(spec), "%s/m1 arg=1 two,%s/m,,2", dir, dir);
	n = boot_modules_read(spec, 100, &mods);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(mods[0].file.size, 5);
	ck_assert_mem_eq(mods[0].file.data, "first", 5);
	ck_assert_ptr_nonnull(strstr(mods[0].string, "/m1 arg=1 two"));
	ck_assert_ptr_nonnull(strstr(mods[0].file.name, "/m1"));
	ck_assert_ptr_null(strchr(mods[0].file.name, ' '));
	ck_assert_uint_eq(mods[1].file.size, 7);
	ck_assert_ptr_nonnull(strstr(mods[1].string, "/m,2"));
	boot_modules_free(mods, n);

	/* one bad file fails the whole list, naming it */
	snprintf(spec, sizeof(spec), "%s/m1,%s/nope x", dir, dir);
	err_clear();
	ck_assert_int_eq(boot_modules_read(spec, 100, &mods), -ENOENT);
	ck_assert_ptr_null(mods);
	ck_assert_ptr_nonnull(strstr(err_get(), "/nope: No such file"));
	/* and so does one too large */
	snprintf(spec, sizeof(spec), "%s/m1", dir);
	ck_assert_int_eq(boot_modules_read(spec, 4, &mods), -EFBIG);
	ck_assert_int_eq(boot_modules_read(",", 4, &mods), -EINVAL);
}
END_TEST

START_TEST(test_copy)
{
	struct fake_mem m;
	uint8_t src[100];

	fake_mem_init(&m, 0x1000, 0x4000);
	memset(m.buf, 0xcc, 0x4000);
	memset(src, 0x42, sizeof(src));
	ck_assert_int_eq(boot_copy(&m.gm, 0x1100, src, 100, 300, "thing"), 0);
	ck_assert_mem_eq(m.buf + 0x100, src, 100);
	ck_assert_uint_eq(m.buf[0x100 + 100], 0);
	ck_assert_uint_eq(m.buf[0x100 + 299], 0);
	ck_assert_uint_eq(m.buf[0x100 + 300], 0xcc);
	ck_assert_uint_eq(m.buf[0xff], 0xcc);
	/* total smaller than len means len */
	ck_assert_int_eq(boot_copy(&m.gm, 0x4f9c, src, 100, 0, "thing"), 0);
	ck_assert_int_eq(boot_copy(&m.gm, 0x2000, src, 0, 0, "nothing"), 0);
	/* below, above, straddling, wrapping: refused, memory untouched */
	err_clear();
	ck_assert_int_eq(boot_copy(&m.gm, 0xfff, src, 2, 2, "thing"), -EFAULT);
	ck_assert_str_eq(err_get(), "thing [0xfff, +0x2) is not in guest RAM");
	ck_assert_int_eq(boot_copy(&m.gm, 0x4f9d, src, 100, 100, "x"), -EFAULT);
	ck_assert_int_eq(boot_copy(&m.gm, 0x5000, src, 1, 1, "x"), -EFAULT);
	ck_assert_int_eq(boot_copy(&m.gm, ~0ULL - 10, src, 100, 100, "x"), -EFAULT);
	ck_assert_int_eq(boot_copy(&m.gm, 0x1000, src, 0, ~0ULL, "x"), -EFAULT);
	m.deny_gpa = 0x3000;
	m.deny_size = 0x10;
	ck_assert_int_eq(boot_copy(&m.gm, 0x2ff0, src, 100, 100, "x"), -EFAULT);
	ck_assert_uint_eq(m.buf[0x1ff0], 0xcc);
	fake_mem_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bootparams");
	TCase *tc = tcase_create("core");
	char cmd[128];
	int ret;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	tcase_add_test(tc, test_blob_read);
	tcase_add_test(tc, test_split_modules);
	tcase_add_test(tc, test_modules_read);
	tcase_add_test(tc, test_copy);
	suite_add_tcase(s, tc);
	ret = run_suite(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		ret = 1;
	return ret;
}
