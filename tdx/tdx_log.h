/*
 * The machine-readable TD lifecycle log (-tdx-log FILE): one JSON object
 * per line and per step, e.g.
 *   {"seq":7,"t_us":1234,"step":"KVM_TDX_INIT_VM","ioctl":"KVM_MEMORY_ENCRYPT_OP",
 *    "target":"vm","attempt":2,"duration_us":85,"ret":0,"errno":0,"errname":"",
 *    "hw_error":"0x0000000000000000","hw_error_text":"TDX_SUCCESS"}
 * CI asserts on it. A disabled log (no file) makes every call a no-op.
 * Lines are written with one stdio call, so vCPU threads may log too.
 */
#ifndef KVMRUN_TDX_TDX_LOG_H
#define KVMRUN_TDX_TDX_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/util.h"

struct tdx_log {
	FILE *f;
	uint64_t t0_ns;
	atomic_uint seq;
};

struct tdx_log_rec {
	const char *step;        /* "KVM_TDX_INIT_VM", "firmware", "teardown", ... */
	const char *ioctl;       /* "KVM_MEMORY_ENCRYPT_OP", or NULL for non-ioctl steps */
	const char *target;      /* "system", "vm", "vcpu", "guest_memfd", NULL */
	int vcpu;                /* vCPU index, or -1 */
	int attempt;             /* 1-based */
	uint64_t duration_ns;
	int ret;                 /* >= 0 or -errno */
	bool has_hw_error;       /* VM-scope TDX commands report hw_error */
	uint64_t hw_error;
	const char *detail;      /* free text (escaped), or NULL */
	const char *extra;       /* pre-formatted JSON members ("\"gpa\":...,"), or NULL */
};

/* Open @path for writing (truncate). @path NULL: a disabled log. */
int tdx_log_open(struct tdx_log *l, const char *path) __must_check;
void tdx_log_close(struct tdx_log *l);
bool tdx_log_enabled(const struct tdx_log *l);
void tdx_log_write(struct tdx_log *l, const struct tdx_log_rec *r);
/* Monotonic nanoseconds, for durations. */
uint64_t tdx_log_now_ns(void);

#endif
