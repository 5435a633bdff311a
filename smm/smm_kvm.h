/*
 * Kernel SMM backend: KVM emulates SMI entry and RSM itself. kvmrun
 * queues SMIs with KVM_SMI on the target vCPU's own thread (pre_run),
 * follows SMM from KVM_RUN_X86_SMM after every KVM_RUN (post_run), and
 * resets MSR_IA32_SMBASE and the SMM bits of the vCPU events at reset.
 * KVM latches SMIs raised inside SMM and INIT with its in-kernel LAPIC;
 * with a userspace LAPIC, INIT latching goes through cfg.set_smm.
 */
#ifndef KVMRUN_SMM_SMM_KVM_H
#define KVMRUN_SMM_SMM_KVM_H

#include "smm/smm.h"

#define SMM_MSR_IA32_SMBASE 0x9e

extern const struct smm_impl_ops smm_kvm_ops;

#endif
