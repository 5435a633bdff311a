/*
 * The parts of the KVM userspace ABI that TDX needs and Debian 12's
 * 6.1 <linux/kvm.h> lacks: the TDX sub-commands of KVM_MEMORY_ENCRYPT_OP,
 * guest_memfd, KVM_SET_USER_MEMORY_REGION2, memory attributes, and the
 * newer members of struct kvm_run's exit union. Layouts follow the 6.16
 * uapi; every definition is guarded so a newer system header wins.
 *
 * The newer kvm_run members are reached through union tdx_run_exit, an
 * overlay of the 256-byte exit union (run->padding), so the code works
 * whichever header it is built against.
 */
#ifndef KVMRUN_TDX_UAPI_H
#define KVMRUN_TDX_UAPI_H

#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <stddef.h>
#include <stdint.h>

/* ---- VM types and capabilities ---- */
#ifndef KVM_X86_DEFAULT_VM
#define KVM_X86_DEFAULT_VM 0
#endif
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#endif
#ifndef KVM_HC_MAP_GPA_RANGE
#define KVM_HC_MAP_GPA_RANGE 12
#endif
#ifndef KVM_MAP_GPA_RANGE_ENCRYPTED
#define KVM_MAP_GPA_RANGE_PAGE_SZ_4K 0
#define KVM_MAP_GPA_RANGE_PAGE_SZ_2M 1
#define KVM_MAP_GPA_RANGE_PAGE_SZ_1G 2
#define KVM_MAP_GPA_RANGE_ENCRYPTED (1 << 4)
#define KVM_MAP_GPA_RANGE_DECRYPTED (0 << 4)
#endif
#ifndef KVM_MAX_CPUID_ENTRIES
#define KVM_MAX_CPUID_ENTRIES 256
#endif

/* ---- TDX (6.16 uapi, arch/x86/include/uapi/asm/kvm.h) ---- */
#ifndef KVM_X86_TDX_VM
#define KVM_X86_TDX_VM 5

enum kvm_tdx_cmd_id {
	KVM_TDX_CAPABILITIES = 0,
	KVM_TDX_INIT_VM,
	KVM_TDX_INIT_VCPU,
	KVM_TDX_INIT_MEM_REGION,
	KVM_TDX_FINALIZE_VM,
	KVM_TDX_GET_CPUID,
	KVM_TDX_CMD_NR_MAX,
};

struct kvm_tdx_cmd {
	__u32 id;
	__u32 flags;
	__u64 data;
	__u64 hw_error;
};

struct kvm_tdx_capabilities {
	__u64 supported_attrs;
	__u64 supported_xfam;
	__u64 kernel_tdvmcallinfo_1_r11;
	__u64 user_tdvmcallinfo_1_r11;
	__u64 kernel_tdvmcallinfo_1_r12;
	__u64 user_tdvmcallinfo_1_r12;
	__u64 reserved[250];
	struct kvm_cpuid2 cpuid;
};

struct kvm_tdx_init_vm {
	__u64 attributes;
	__u64 xfam;
	__u64 mrconfigid[6];
	__u64 mrowner[6];
	__u64 mrownerconfig[6];
	__u64 reserved[12];
	struct kvm_cpuid2 cpuid;
};

#define KVM_TDX_MEASURE_MEMORY_REGION (1ULL << 0)

struct kvm_tdx_init_mem_region {
	__u64 source_addr;
	__u64 gpa;
	__u64 nr_pages;
};
#endif

/* ---- private memory (6.8+) ---- */
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
#endif

#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif
#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
#endif

#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#endif

/* ---- exits ---- */
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif
#ifndef KVM_EXIT_TDX
#define KVM_EXIT_TDX 40
#endif
#ifndef KVM_SYSTEM_EVENT_TDX_FATAL
#define KVM_SYSTEM_EVENT_TDX_FATAL 7
#endif
#ifndef KVM_MEMORY_EXIT_FLAG_PRIVATE
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#endif
#ifndef KVM_EXIT_HYPERCALL_LONG_MODE
#define KVM_EXIT_HYPERCALL_LONG_MODE (1ULL << 0)
#endif

/* TDVMCALL leaves forwarded in KVM_EXIT_TDX (GHCI numbering). */
#define TDVMCALL_GET_TD_VM_CALL_INFO         0x10000ULL
#define TDVMCALL_MAP_GPA                     0x10001ULL
#define TDVMCALL_GET_QUOTE                   0x10002ULL
#define TDVMCALL_REPORT_FATAL_ERROR          0x10003ULL
#define TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT 0x10004ULL

/* TDVMCALL completion status, returned to the guest in R10. */
#define TDVMCALL_STATUS_SUCCESS              0x0ULL
#define TDVMCALL_STATUS_RETRY                0x1ULL
#define TDVMCALL_STATUS_INVALID_OPERAND      0x8000000000000000ULL
#define TDVMCALL_STATUS_GPA_INUSE            0x8000000000000001ULL
#define TDVMCALL_STATUS_ALIGN_ERROR          0x8000000000000002ULL
#define TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED  0x8000000000000003ULL

/* GetTdVmCallInfo leaf 1, R11: sub-functions userspace may implement. */
#define TDVMCALLINFO_GET_QUOTE                  (1ULL << 0)
#define TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT (1ULL << 1)

/* Guest register order of KVM_SYSTEM_EVENT_TDX_FATAL data[] (VCPU_REGS_*). */
enum tdx_fatal_reg {
	TDX_REG_RAX, TDX_REG_RCX, TDX_REG_RDX, TDX_REG_RBX,
	TDX_REG_RSP, TDX_REG_RBP, TDX_REG_RSI, TDX_REG_RDI,
	TDX_REG_R8, TDX_REG_R9, TDX_REG_R10, TDX_REG_R11,
	TDX_REG_R12, TDX_REG_R13, TDX_REG_R14, TDX_REG_R15,
	TDX_NR_REGS,
};

/*
 * Overlay of struct kvm_run's 256-byte exit union with the 6.16 members.
 * Use tdx_run_exit(run) instead of run->hypercall etc.
 */
union tdx_run_exit {
	struct {
		uint64_t nr;
		uint64_t args[6];
		uint64_t ret;
		uint64_t flags;            /* KVM_EXIT_HYPERCALL_LONG_MODE; was uint32_t longmode */
	} hypercall;
	struct {
		uint64_t flags;
		uint64_t gpa;
		uint64_t size;
	} memory_fault;
	struct {
		uint64_t flags;
		uint64_t nr;
		union {
			struct {
				uint64_t ret;
				uint64_t data[5];
			} unknown;
			struct {
				uint64_t ret;
				uint64_t gpa;
				uint64_t size;
			} get_quote;
			struct {
				uint64_t ret;
				uint64_t leaf;
				uint64_t r11, r12, r13, r14;
			} get_tdvmcall_info;
			struct {
				uint64_t ret;
				uint64_t vector;
			} setup_event_notify;
		};
	} tdx;
	struct {
		uint32_t type;
		uint32_t ndata;
		uint64_t data[16];
	} system_event;
	char padding[256];
};

_Static_assert(sizeof(union tdx_run_exit) == 256, "kvm_run exit union is 256 bytes");
_Static_assert(offsetof(struct kvm_run, padding) == 32, "kvm_run exit union at offset 32");
_Static_assert(offsetof(struct kvm_run, hypercall.ret) ==
	       32 + offsetof(union tdx_run_exit, hypercall.ret), "hypercall.ret");
_Static_assert(offsetof(struct kvm_run, system_event.data) ==
	       32 + offsetof(union tdx_run_exit, system_event.data), "system_event.data");
_Static_assert(offsetof(union tdx_run_exit, tdx.get_tdvmcall_info.r14) == 56, "tdx r14");
_Static_assert(offsetof(union tdx_run_exit, tdx.unknown.ret) ==
	       offsetof(union tdx_run_exit, tdx.get_quote.ret), "ret shared by all variants");
_Static_assert(sizeof(struct kvm_tdx_cmd) == 24, "kvm_tdx_cmd");
_Static_assert(offsetof(struct kvm_tdx_capabilities, cpuid) == 2048, "kvm_tdx_capabilities");
_Static_assert(offsetof(struct kvm_tdx_init_vm, cpuid) == 256, "kvm_tdx_init_vm");
_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160, "memory_region2");
_Static_assert(sizeof(struct kvm_cpuid_entry2) == 40, "kvm_cpuid_entry2");

static inline union tdx_run_exit *tdx_run_exit(struct kvm_run *run)
{
	return (union tdx_run_exit *)(void *)run->padding;
}

#endif
