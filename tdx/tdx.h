/*
 * Intel TDX trust domains on the upstream KVM TDX API (Linux 6.16+).
 *
 * Everything goes through the kvm.c seam (struct kvm_backend), so the same
 * code runs against /dev/kvm and against the ABI model in tests/model/.
 *
 * What the rest of kvmrun calls:
 *   kvmrun -tdx-capabilities [json]  -> tdx_print_capabilities()
 *   kvmrun tdx-measure TDVF.fd       -> tdx_measure_file()
 *   -machine ...,confidential-guest-support=<tdx-guest id>
 *                                    -> tdx_machine_setup() instead of the
 *      normal RAM/firmware/vCPU setup, then tdx_machine_vm() for devices
 *      and vCPU threads, and tdx_machine_destroy() at the end.
 *
 * tdx_machine_setup() issues, in the order the kernel requires:
 *   KVM_CREATE_VM(KVM_X86_TDX_VM); ENABLE_CAP(SPLIT_IRQCHIP, 24);
 *   KVM_TDX_CAPABILITIES (growing buffer); ENABLE_CAP(APIC_BUS_CYCLES_NS, 40);
 *   ENABLE_CAP(EXIT_HYPERCALL, MAP_GPA_RANGE); KVM_TDX_INIT_VM (retried on
 *   EAGAIN); per vCPU KVM_CREATE_VCPU, KVM_SET_CPUID2, KVM_TDX_INIT_VCPU(HOB);
 *   per memory block KVM_CREATE_GUEST_MEMFD, KVM_SET_USER_MEMORY_REGION2,
 *   KVM_SET_MEMORY_ATTRIBUTES(PRIVATE); KVM_TDX_INIT_MEM_REGION per TDVF
 *   section (resumed after EINTR/EAGAIN); KVM_TDX_FINALIZE_VM.
 * On failure it undoes everything (vCPUs, memslots, guest_memfds, VM) and
 * leaves one line in err_get(); the caller exits with status 1.
 */
#ifndef KVMRUN_TDX_TDX_H
#define KVMRUN_TDX_TDX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tdx/sha384.h"
#include "tdx/tdx_uapi.h"
#include "vmm/cli.h"
#include "vmm/kvm.h"
#include "vmm/vm.h"

#define TDX_MAX_RAM 4
#define TDX_SPLIT_IRQCHIP_PINS 24
#define TDX_APIC_BUS_CYCLES_NS 40        /* the TDX module runs the APIC timer at 25 MHz */
#define TDX_GPAW 48                      /* guest physical address width we configure */
#define TDX_SHARED_BIT (1ULL << (TDX_GPAW - 1))
#define TDX_CAPS_MIN_NENT 4
#define TDX_CAPS_MAX_NENT KVM_MAX_CPUID_ENTRIES

/* Guest RAM, as the machine lays it out (below and above the 32-bit hole). */
struct tdx_layout {
	int nram;
	struct {
		uint64_t gpa, size;
	} ram[TDX_MAX_RAM];
};

/* What the host offers for TDX (system fd only; no VM is created). */
struct tdx_host {
	uint64_t vm_types;               /* KVM_CAP_VM_TYPES */
	bool tdx_vm_type;                /* bit KVM_X86_TDX_VM */
	int kvm_intel_tdx;               /* kvm_intel.tdx: 1 Y, 0 N, -1 unknown */
	bool amd_host;                   /* kvm_amd is loaded */
	bool split_irqchip;
	bool apic_bus_cycles;
	uint64_t hypercall_mask;         /* KVM_CAP_EXIT_HYPERCALL */
	bool guest_memfd;
	uint64_t mem_attributes;         /* KVM_CAP_MEMORY_ATTRIBUTES */
	bool user_memory2;
};

/* Test and tuning knobs (process-wide). */
struct tdx_tuning {
	int init_vm_attempts;            /* KVM_TDX_INIT_VM tries on EAGAIN (default 20) */
	int busy_attempts;               /* EBUSY / no-progress retries (default 100) */
	void (*sleep_us)(unsigned us);   /* backoff sleep (default usleep) */
	const char *sysfs_root;          /* where to look for module/kvm_intel (default /sys) */
};

/* The q35 split of @ram_size bytes (as vmm/memmap.h's MM_Q35_* describe). */
int tdx_layout_q35(uint64_t ram_size, struct tdx_layout *out) __must_check;

/* Probe the host; never fails (absent features read as absent). */
void tdx_host_probe(struct kvm *kvm, struct tdx_host *h);
/* 0 if TDX is usable, else -ENOTSUP naming the first missing component. */
int tdx_host_check(const struct tdx_host *h) __must_check;

/*
 * KVM_TDX_CAPABILITIES on @vm_fd, growing the CPUID buffer from
 * TDX_CAPS_MIN_NENT by doubling up to TDX_CAPS_MAX_NENT (the kernel does
 * not say how many it needs). *out is malloc'd; free() it.
 */
int tdx_get_capabilities(struct kvm *kvm, int vm_fd, struct kvm_tdx_capabilities **out)
	__must_check;

/*
 * `kvmrun -tdx-capabilities [json]`: print what the host supports, every
 * component with its status. Returns 0 if TDX is usable, 1 if not (the
 * report says why), -errno if printing failed.
 */
int tdx_print_capabilities(struct kvm *kvm, bool json, FILE *out);

/*
 * `kvmrun tdx-measure TDVF.fd`: print the MRTD (SHA-384, hex) a TD built
 * by kvmrun from this firmware will have. 0 or -errno (err_get()).
 */
int tdx_measure_file(const char *path, FILE *out) __must_check;

struct tdx_machine;

/*
 * Build and finalize a TD from @cfg (the tdx-guest object, -bios, -smp,
 * -m, -tdx-log). @layout NULL means tdx_layout_q35(cfg->ram_size). On
 * success the TD is ready to run: start the vCPUs of tdx_machine_vm().
 */
int tdx_machine_setup(struct kvm *kvm, struct config *cfg, const struct tdx_layout *layout,
		      struct tdx_machine **out) __must_check;
struct vm *tdx_machine_vm(struct tdx_machine *td);
/* The MRTD kvmrun predicts for this TD (what the TDX module measured). */
const uint8_t *tdx_machine_mrtd(const struct tdx_machine *td);
/* Tear down in kernel order: vCPUs, memslots, guest_memfds, VM. Accepts NULL. */
void tdx_machine_destroy(struct tdx_machine *td);

/* NULL restores the defaults. */
void tdx_set_tuning(const struct tdx_tuning *t);

#endif
