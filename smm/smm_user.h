/*
 * Userspace SMM backend, for hosts whose KVM has no SMM (or when asked
 * for with -smm-backend user).
 *
 * SMI entry runs on the target vCPU's thread in pre_run: finish the
 * I/O or MMIO exit the vCPU stopped on (immediate_exit KVM_RUN), hold
 * back an interrupt or exception KVM was about to inject (RSM hands it
 * back; an in-flight NMI postpones the entry instead), save the CPU state into
 * SMRAM at SMBASE+0xFE00, load KVM's enter_smm() state, map SMRAM and
 * arm the RSM catch: a hardware execution breakpoint on the handler's RSM
 * (found by OVMF's "add rsp,0x100; rsm" signature, also behind the
 * SMBASE-relocation template), or single-stepping until 0F AA. The
 * resulting KVM_EXIT_DEBUG is where RSM is emulated: validate the image
 * (invalid: triple fault), restore state in KVM's order, reload SMBASE
 * from the image, unmask NMIs, unmap SMRAM, release latched INIT and take
 * a latched SMI right away.
 *
 * Register the SMM hooks after the irqchip's: SMM entry then runs after
 * the irqchip had its chance to inject, sees that injection and holds it
 * back until RSM; and an AP waiting for SIPI in the irqchip's pre_run
 * never enters SMM early. A userspace irqchip must let a pending SMI end a
 * HLT (smm_smi_pending()), as it does for an NMI.
 */
#ifndef KVMRUN_SMM_SMM_USER_H
#define KVMRUN_SMM_SMM_USER_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "smm/smm.h"
#include "vmm/guestmem.h"

extern const struct smm_impl_ops smm_user_ops;

/* How far past a handler entry point the RSM signature is searched. */
#define SMM_RSM_SCAN_LEN 4096

/*
 * Candidate linear addresses of the RSM instruction(s) an SMI handler at
 * @smbase will execute, assuming identity paging (as OVMF's SMM sets up):
 * signature matches after SMBASE+0x8000 and, when the entry is OVMF's
 * relocation template ("mov ebp, [cs:disp16]" or "mov ebp, imm32"), after
 * the SmmStartup code it jumps to. Returns how many (<= @max) were found.
 */
int smm_user_find_rsm(const struct guest_mem *mem, uint32_t smbase, uint64_t *lin, int max);

/* Walk the guest page tables for @lin. 0 and *gpa, or -EFAULT. */
int smm_user_translate(const struct guest_mem *mem, uint64_t cr0, uint64_t cr3, uint64_t cr4,
		       uint64_t efer, uint64_t lin, uint64_t *gpa);

/*
 * Turn @r/@s into the state of a CPU entering SMM at @smbase, exactly as
 * KVM's enter_smm(): RIP 0x8000, RFLAGS 2, CR0 without PE/EM/TS/PG, CR4 0,
 * EFER 0 (long-mode CPUs), IDT 0/0, "big real mode" segments with CS at
 * SMBASE. GPRs, GDTR, LDTR and TR are kept.
 */
void smm_user_entry_state(struct kvm_regs *r, struct kvm_sregs *s, uint32_t smbase, bool lm);

#endif
