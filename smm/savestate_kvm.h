/*
 * Conversions between KVM's register structs and the neutral CPU state of
 * savestate.h, and the guest capabilities RSM validation needs, derived
 * from a CPUID table. Pure functions: no ioctls.
 */
#ifndef KVMRUN_SMM_SAVESTATE_KVM_H
#define KVMRUN_SMM_SAVESTATE_KVM_H

#include <linux/kvm.h>

#include "smm/savestate.h"

void smm_seg_from_kvm(struct smm_seg *d, const struct kvm_segment *s);
void smm_seg_to_kvm(struct kvm_segment *d, const struct smm_seg *s);

/*
 * Build the state SMI entry saves from what KVM reports. @dbg and @ev may
 * be NULL (DR6/DR7 and the interrupt shadow are then zero). SMBASE is not
 * known to KVM's structs: the caller fills st->smbase.
 */
void smm_state_from_kvm(struct smm_cpu_state *st, const struct kvm_regs *r,
			const struct kvm_sregs *s, const struct kvm_debugregs *dbg,
			const struct kvm_vcpu_events *ev);

/*
 * Write @st into @r and @s the way RSM loads it: GPRs, RIP, RFLAGS | 2,
 * segments, descriptor tables, CR0 (reserved bits dropped, ET forced),
 * CR3, CR4 and, for the 64-bit layout, EFER with LMA derived from LME and
 * CR0.PG. Outside 64-bit code RIP is truncated to 32 bits. Fields RSM does
 * not load (CR2, CR8, APIC base, the pending-interrupt bitmap, EFER in the
 * 32-bit layout) are left as the caller had them.
 */
void smm_state_to_kvm(const struct smm_cpu_state *st, enum smm_layout layout,
		      struct kvm_regs *r, struct kvm_sregs *s);

/* Guest capabilities from a CPUID table (NULL: smm_caps_default()). */
void smm_caps_from_cpuid(struct smm_cpu_caps *caps, const struct kvm_cpuid2 *cpuid);

#endif
