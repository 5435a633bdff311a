/*
 * A model of the Linux 6.16 KVM TDX userspace ABI behind struct
 * kvm_backend (vmm/kvm.h): /dev/kvm, VM, vCPU and guest_memfd file
 * descriptors kept in memory, with the kernel's ordering rules, errno
 * table, TD/vCPU states, hw_error write-back (VM commands only), HKID
 * pool, memslots and memory attributes, per-page INIT_MEM_REGION with
 * progress write-back, MRTD accumulation, the destruction sequence, and
 * KVM_RUN producing TDX exits from a per-vCPU script. Faults can be
 * injected at every SEAMCALL the kernel makes, or as a plain errno on any
 * ioctl. Every fd is a real one (an eventfd), so /proc/self/fd counts
 * leaks, and every model allocation is counted.
 *
 * Written from the ABI description (tdx-kvm-abi.md, 6.16 tdx.c rules);
 * no kernel code is copied.
 */
#ifndef KVMRUN_TESTS_TDX_MODEL_H
#define KVMRUN_TESTS_TDX_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm.h"

enum tdx_model_op {
	TM_OP_CREATE_VM,
	TM_OP_ENABLE_CAP_SPLIT_IRQCHIP,
	TM_OP_ENABLE_CAP_APIC_BUS,
	TM_OP_ENABLE_CAP_HYPERCALL,
	TM_OP_TDX_CAPABILITIES,
	TM_OP_TDX_INIT_VM,
	TM_OP_CREATE_VCPU,
	TM_OP_MMAP_RUN,
	TM_OP_SET_CPUID2,
	TM_OP_TDX_INIT_VCPU,
	TM_OP_TDX_GET_CPUID,
	TM_OP_CREATE_GUEST_MEMFD,
	TM_OP_SET_MEMORY_REGION2,
	TM_OP_SET_MEMORY_REGION,
	TM_OP_SET_MEMORY_ATTRIBUTES,
	TM_OP_TDX_INIT_MEM_REGION,
	TM_OP_TDX_FINALIZE_VM,
	TM_OP_RUN,
	TM_OP_CHECK_EXTENSION,
	TM_OP_OTHER,
	TM_OP_NR,
};

struct tdx_model_config {
	uint64_t vm_types;            /* KVM_CAP_VM_TYPES (default: default VM + TDX) */
	bool no_split_irqchip, no_apic_bus_cycles, no_exit_hypercall;
	bool no_guest_memfd, no_mem_attributes, no_user_memory2;
	bool no_x2apic;               /* KVM_GET_SUPPORTED_CPUID without x2APIC */
	bool gpaw_fixed;              /* CPUID 0x80000008 EAX[23:16] not configurable */
	bool five_level_ept;
	int hkids;                    /* private HKID pool (default 4) */
	int max_vcpus;                /* per TD (default 8) */
	int packages;                 /* CPU packages (default 2) */
	unsigned num_cpuid_config;    /* configurable CPUID leaves (default 12, min 6) */
	uint64_t supported_attrs;     /* default SEPT_VE_DISABLE */
	uint64_t supported_xfam;      /* default x87|SSE|AVX|OPMASK|ZMM|PKRU */
	unsigned nr_memslots;         /* default 512 */
};

/* Faults, consumed as they fire. Counters are "the next N calls". */
struct tdx_model_faults {
	int create_no_entropy;        /* TDH.MNG.CREATE: TDX_RND_NO_ENTROPY -> -EAGAIN */
	int addcx_no_entropy;         /* TDH.MNG.ADDCX: TDX_RND_NO_ENTROPY -> -EAGAIN */
	bool create_busy;             /* TDH.MNG.CREATE: OPERAND_BUSY(KOT) -> -EIO */
	bool key_config_fail;         /* TDH.MNG.KEY.CONFIG fails -> -EIO, VM bugged */
	uint64_t mng_init_status;     /* TDH.MNG.INIT status (OPERAND_INVALID -> -EINVAL) */
	bool package_offline;         /* a package has no online CPU -> -EIO */
	bool misc_cg_busy;            /* misc cgroup TDX limit -> -EBUSY */
	bool vp_init_fail;            /* TDH.VP.INIT fails -> -EIO, VM bugged */
	int page_add_busy;            /* TDH.MEM.PAGE.ADD: OPERAND_BUSY -> -EBUSY */
	int page_add_fail_after;      /* >0: PAGE.ADD fails after this many successes -> -EIO */
	int mr_extend_fail_after;     /* >0: MR.EXTEND fails after this many successes -> -EIO */
	int eintr_after_pages;        /* >0: a signal arrives after k pages of INIT_MEM_REGION */
	int eintr_count;              /* ... this many times (0 means 1) */
	int finalize_busy;            /* TDH.MR.FINALIZE: OPERAND_BUSY -> -EBUSY */
	uint64_t finalize_status;     /* TDH.MR.FINALIZE status -> -EIO, VM bugged */
	bool flushvp_not_done;        /* destroy: TDH.MNG.VPFLUSHDONE fails, HKID leaked */
	int cache_wb_interrupted;     /* destroy: CACHE.WB interrupted this many times */
	bool mmap_run_fail;
	/* Generic: the fail_nth-th call (1-based) of fail_op returns fail_err. */
	enum tdx_model_op fail_op;
	int fail_nth;
	int fail_err;                 /* negative errno */
};

/* A guest action for KVM_RUN to act out. */
enum tdx_model_ev_kind {
	TM_EV_ACCESS,                 /* touch gpa as private or shared */
	TM_EV_MAP_GPA,                /* TDG.VP.VMCALL<MapGPA>(gpa, size, to private?) */
	TM_EV_GET_QUOTE,              /* <GetQuote>(gpa, size); private = GPA without shared bit */
	TM_EV_TDVMCALL_INFO,          /* <GetTdVmCallInfo>(leaf = arg) */
	TM_EV_EVENT_NOTIFY,           /* <SetupEventNotifyInterrupt>(vector = arg) */
	TM_EV_UNKNOWN_TDVMCALL,       /* an unknown leaf (nr = arg) */
	TM_EV_FATAL,                  /* <ReportFatalError>: regs[] as the guest left them */
	TM_EV_SHUTDOWN,               /* guest powers off */
};

struct tdx_model_event {
	enum tdx_model_ev_kind kind;
	uint64_t gpa, size;
	bool private_;
	uint64_t arg;
	uint64_t regs[16];
};

/* What the guest saw for one event. */
struct tdx_model_result {
	bool done;
	unsigned exits;               /* userspace exits it took */
	uint64_t r10, r11, r12, r13, r14;
};

struct tdx_model_td_info {
	int state;                    /* 0 uninitialised, 1 initialised, 2 runnable */
	bool bugged;
	int hkid;                     /* -1 if none */
	uint64_t attributes, xfam;
	uint8_t mrconfigid[48], mrowner[48], mrownerconfig[48];
	unsigned cpuid_nent;
	bool split_irqchip;
	uint64_t ioapic_pins, apic_bus_ns, hypercall_mask;
	int nvcpus, init_vcpus;
	unsigned pages_added;
};

struct tdx_model;

void tdx_model_default_config(struct tdx_model_config *c);
int tdx_model_new(const struct tdx_model_config *cfg, struct tdx_model **out);
/* Frees the model and whatever is still open (a test that leaks still ends). */
void tdx_model_free(struct tdx_model *m);
struct kvm_backend *tdx_model_backend(struct tdx_model *m);
struct tdx_model_faults *tdx_model_faults(struct tdx_model *m);
const char *tdx_model_op_name(enum tdx_model_op op);

/* Observation. */
unsigned tdx_model_calls(const struct tdx_model *m, enum tdx_model_op op);
/* The order of operations so far (up to @max); returns how many there were. */
size_t tdx_model_trace(const struct tdx_model *m, enum tdx_model_op *ops, size_t max);
long tdx_model_live_allocs(const struct tdx_model *m);
int tdx_model_open_fds(const struct tdx_model *m);
int tdx_model_live_vms(const struct tdx_model *m);
int tdx_model_hkids_in_use(const struct tdx_model *m);
/* "TDH.MNG.VPFLUSHDONE TDH.PHYMEM.CACHE.WB(pkg0) ..." for the last destroyed TD. */
const char *tdx_model_destroy_log(const struct tdx_model *m);
/* MRTD of the last TD that reached FINALIZE. */
bool tdx_model_last_mrtd(const struct tdx_model *m, uint8_t out[48]);

/* The newest live TD. */
bool tdx_model_td_info(struct tdx_model *m, struct tdx_model_td_info *out);
bool tdx_model_is_private(struct tdx_model *m, uint64_t gpa);
/* Content of the private page at @gpa added by INIT_MEM_REGION, or NULL. */
const uint8_t *tdx_model_private_page(struct tdx_model *m, uint64_t gpa);
uint64_t tdx_model_vcpu_rcx(struct tdx_model *m, int vcpu);

/* Guest scripting for KVM_RUN on vCPU @vcpu (of any TD; set before or after it exists). */
int tdx_model_script(struct tdx_model *m, int vcpu, const struct tdx_model_event *ev, unsigned n);
const struct tdx_model_result *tdx_model_result(struct tdx_model *m, int vcpu, unsigned idx);

#endif
