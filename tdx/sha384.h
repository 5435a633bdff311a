/*
 * SHA-384 (FIPS 180-4, the SHA-512 compression function with its own
 * initial value, truncated to 48 bytes). Used for the MRTD prediction and
 * by the TDX model. Pure: no I/O, no allocation.
 */
#ifndef KVMRUN_TDX_SHA384_H
#define KVMRUN_TDX_SHA384_H

#include <stddef.h>
#include <stdint.h>

#define SHA384_DIGEST_SIZE 48
#define SHA384_BLOCK_SIZE 128

struct sha384_ctx {
	uint64_t h[8];
	uint64_t len_lo, len_hi;        /* message length in bytes (128-bit) */
	uint8_t buf[SHA384_BLOCK_SIZE];
	size_t fill;                    /* bytes waiting in buf */
};

void sha384_init(struct sha384_ctx *c);
void sha384_update(struct sha384_ctx *c, const void *data, size_t len);
/* Pads, writes the digest and wipes the context. */
void sha384_final(struct sha384_ctx *c, uint8_t out[SHA384_DIGEST_SIZE]);
/* One-shot helper. */
void sha384_digest(const void *data, size_t len, uint8_t out[SHA384_DIGEST_SIZE]);
/* Lower-case hex of a digest into @hex (97 bytes with the NUL). */
void sha384_hex(const uint8_t d[SHA384_DIGEST_SIZE], char hex[2 * SHA384_DIGEST_SIZE + 1]);

#endif
