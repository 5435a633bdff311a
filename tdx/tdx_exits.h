/*
 * Run-time exits of a TD, plugged into the vCPU loop as a struct
 * vcpu_hooks (handle_exit only):
 *  - KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE): the guest's MapGPA, one
 *    2 MiB chunk at a time -> KVM_SET_MEMORY_ATTRIBUTES; hypercall.ret is 0,
 *    EINVAL (bad range) or EAGAIN (retry later).
 *  - KVM_EXIT_MEMORY_FAULT: an access whose private/shared kind does not
 *    match the page's attribute -> convert the page.
 *  - KVM_EXIT_TDX: GetQuote (no quote service: SUBFUNC_UNSUPPORTED, or the
 *    operand error), GetTdVmCallInfo leaf 1, SetupEventNotifyInterrupt.
 *  - KVM_SYSTEM_EVENT_TDX_FATAL: decode the guest's ReportFatalError into
 *    one message; the machine stops with status 2.
 */
#ifndef KVMRUN_TDX_TDX_EXITS_H
#define KVMRUN_TDX_TDX_EXITS_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "tdx/tdx_log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define TDX_EXITS_MAX_RANGES 8
#define TDX_MAP_GPA_MAX_PAGES (1ULL << 40)    /* sanity bound on args[1] */

struct tdx_exits {
	struct vm *vm;
	struct tdx_log *log;                  /* may be NULL */
	/* GetTdVmCallInfo leaf 1 words from KVM_TDX_CAPABILITIES. */
	uint64_t kernel_r11, user_r11, kernel_r12, user_r12;
	/* guest_memfd-backed ranges: the only ones that can become private. */
	struct {
		uint64_t gpa, size;
	} ranges[TDX_EXITS_MAX_RANGES];
	int nranges;
	/* SetupEventNotifyInterrupt; protected by vm->bql. */
	int notify_vector;                    /* 0 = none */
	int notify_vcpu;
	/* Statistics (vm->bql). */
	uint64_t conversions, quotes;
};

extern const struct vcpu_hooks tdx_exits_hooks;

void tdx_exits_init(struct tdx_exits *x, struct vm *vm, struct tdx_log *log);
/* Copy the TDVMCALL info words reported by KVM_TDX_CAPABILITIES. */
void tdx_exits_set_info(struct tdx_exits *x, uint64_t kernel_r11, uint64_t user_r11,
			uint64_t kernel_r12, uint64_t user_r12);
int tdx_exits_add_range(struct tdx_exits *x, uint64_t gpa, uint64_t size) __must_check;

/*
 * Set [gpa, gpa+size) private or shared with KVM_SET_MEMORY_ATTRIBUTES.
 * Converting to shared outside guest_memfd memory (e.g. MMIO) is a no-op,
 * as such memory is always shared. 0 or -errno (err_get()).
 */
int tdx_exits_convert(struct tdx_exits *x, uint64_t gpa, uint64_t size, bool to_private);

/* The handle_exit hook: an enum vcpu_action, or -1 if not a TD exit. */
int tdx_exits_handle(struct tdx_exits *x, struct vcpu *v, struct kvm_run *run);

/*
 * Decode KVM_SYSTEM_EVENT_TDX_FATAL data[] (guest GPRs) into @msg: error
 * code (R12), GPA (R13 when bit 63 of the code is set) and the message
 * the guest packed into the registers named by the mask in RCX.
 */
void tdx_exits_fatal_message(const uint64_t data[16], uint32_t ndata, char *msg, size_t len);

#endif
