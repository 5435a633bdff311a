/*
 * The TD's configuration from the QEMU-compatible command line:
 *   -machine q35,confidential-guest-support=tdx0,kernel-irqchip=split
 *   -object tdx-guest,id=tdx0,attributes=0x10000000,sept-ve-disable=on,
 *           mrconfigid=BASE64,mrowner=BASE64,mrownerconfig=BASE64
 *   -bios TDVF.fd
 * Pure: validates struct config (vmm/cli.h) and reports the first problem
 * as one line naming the option.
 */
#ifndef KVMRUN_TDX_TDX_CFG_H
#define KVMRUN_TDX_TDX_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/cli.h"

#define TDX_DIGEST_SIZE 48

/* TD attribute bits (TDX module ABI). */
#define TDX_ATTR_DEBUG            (1ULL << 0)
#define TDX_ATTR_SEPT_VE_DISABLE  (1ULL << 28)
#define TDX_ATTR_PKS              (1ULL << 30)
#define TDX_ATTR_PERFMON          (1ULL << 63)
/* What kvmrun lets a user ask for (as QEMU does). */
#define TDX_ATTR_ALLOWED (TDX_ATTR_SEPT_VE_DISABLE | TDX_ATTR_PKS | TDX_ATTR_PERFMON)

struct tdx_cfg {
	const char *id;                    /* the tdx-guest object's id */
	uint64_t attributes;               /* default: SEPT_VE_DISABLE, as QEMU */
	uint8_t mrconfigid[TDX_DIGEST_SIZE];
	uint8_t mrowner[TDX_DIGEST_SIZE];
	uint8_t mrownerconfig[TDX_DIGEST_SIZE];
	const char *firmware;              /* -bios */
	uint64_t ram_size;                 /* bytes (128 MiB if the config says 0) */
	int ncpus;
};

/*
 * Find the object named by -machine confidential-guest-support=, check it
 * is a tdx-guest with valid properties and that the machine options suit
 * a TD. Marks consumed properties used. 0 or -EINVAL (err_get()).
 */
int tdx_cfg_parse(struct config *cfg, struct tdx_cfg *out) __must_check;

/*
 * Strict standard base64 (RFC 4648 alphabet, '=' padding only at the end,
 * no whitespace) into @out (at most @max bytes). Returns the decoded
 * length, -EINVAL for bad input (*bad_pos = offending character index)
 * or -E2BIG if it does not fit.
 */
long tdx_cfg_base64_decode(const char *s, uint8_t *out, size_t max, size_t *bad_pos);

/* Name of TD attribute bit @bit ("SEPT_VE_DISABLE", ...) or NULL. */
const char *tdx_cfg_attr_name(unsigned bit);
/* Name of XFAM bit @bit ("AVX", "AMX_TILEDATA", ...) or NULL. */
const char *tdx_cfg_xfam_name(unsigned bit);

#endif
