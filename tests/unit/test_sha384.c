/* Unit tests for tdx/sha384.c against the FIPS 180-4 example vectors. */
#include <stdlib.h>

#include "tdx/sha384.h"
#include "tests/unit/support.h"

static void check_hex(const uint8_t d[SHA384_DIGEST_SIZE], const char *want)
{
	char hex[2 * SHA384_DIGEST_SIZE + 1];

	sha384_hex(d, hex);
	ck_assert_str_eq(hex, want);
}

START_TEST(test_abc)
{
	uint8_t d[SHA384_DIGEST_SIZE];

	sha384_digest("abc", 3, d);
	check_hex(d, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
		     "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
}
END_TEST

START_TEST(test_two_block)
{
	static const char msg[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
				  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	uint8_t d[SHA384_DIGEST_SIZE];

	ck_assert_uint_eq(sizeof(msg) - 1, 112);
	sha384_digest(msg, sizeof(msg) - 1, d);
	check_hex(d, "09330c33f71147e83d192fc782cd1b4753111b173b3b05d2"
		     "2fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039");
}
END_TEST

START_TEST(test_million_a)
{
	static const char *const want = "9d0e1809716474cb086e834e310a4a1ced149e9c00f24852"
					"7972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985";
	struct sha384_ctx c;
	uint8_t d[SHA384_DIGEST_SIZE];
	char *buf = malloc(1000000);
	unsigned i;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'a', 1000000);
	/* One shot... */
	sha384_digest(buf, 1000000, d);
	check_hex(d, want);
	/* ...and in odd-sized pieces, which exercises the partial-block buffer. */
	sha384_init(&c);
	for (i = 0; i < 1000000;) {
		unsigned n = MIN(1000000u - i, 1u + (i % 251));

		sha384_update(&c, buf + i, n);
		i += n;
	}
	sha384_final(&c, d);
	check_hex(d, want);
	free(buf);
}
END_TEST

START_TEST(test_empty_and_padding_edges)
{
	uint8_t d[SHA384_DIGEST_SIZE], d2[SHA384_DIGEST_SIZE];
	uint8_t buf[256];
	struct sha384_ctx c;
	size_t n;

	sha384_digest("", 0, d);
	check_hex(d, "38b060a751ac96384cd9327eb1b1e36a21fdb71114be0743"
		     "4c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b");
	/* Lengths around the 112-byte padding boundary: split and one-shot must agree. */
	for (n = 0; n < sizeof(buf); n++)
		buf[n] = (uint8_t)(n * 7 + 1);
	for (n = 100; n <= 130; n++) {
		sha384_digest(buf, n, d);
		sha384_init(&c);
		sha384_update(&c, buf, n / 3);
		sha384_update(&c, buf + n / 3, 0);
		sha384_update(&c, buf + n / 3, n - n / 3);
		sha384_final(&c, d2);
		ck_assert_mem_eq(d, d2, sizeof(d));
	}
	/* Different lengths of the same prefix differ. */
	sha384_digest(buf, 111, d);
	sha384_digest(buf, 112, d2);
	ck_assert(memcmp(d, d2, sizeof(d)) != 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sha384");
	TCase *tc = tcase_create("fips180-4");

	tcase_add_test(tc, test_abc);
	tcase_add_test(tc, test_two_block);
	tcase_add_test(tc, test_million_a);
	tcase_add_test(tc, test_empty_and_padding_edges);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
