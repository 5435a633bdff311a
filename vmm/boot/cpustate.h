/*
 * The boot CPU's initial state as a plain struct, so the loaders stay pure
 * and tests can check it without KVM. bootcpu_to_kvm() (the only code here
 * that knows <linux/kvm.h>) turns it into KVM_SET_REGS/KVM_SET_SREGS input.
 *
 * Also the shared pieces of the direct-boot environment: the boot GDT at
 * MM_BOOT_GDT (null, null, code at __BOOT_CS = 0x10, data at __BOOT_DS =
 * 0x18) and the 4 GiB identity map at MM_PML4/MM_PDPT/MM_PD.
 */
#ifndef KVMRUN_BOOT_CPUSTATE_H
#define KVMRUN_BOOT_CPUSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/guestmem.h"
#include "vmm/util.h"

#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define BOOT_GDT_ENTRIES 4

/* Control register and EFER bits the boot paths set. */
#define BOOT_CR0_PE BIT(0)
#define BOOT_CR0_ET BIT(4)
#define BOOT_CR0_NE BIT(5)
#define BOOT_CR0_WP BIT(16)
#define BOOT_CR0_PG BIT(31)
#define BOOT_CR4_PAE BIT(5)
#define BOOT_EFER_LME BIT(8)
#define BOOT_EFER_LMA BIT(10)
#define BOOT_RFLAGS_FIXED BIT(1)    /* bit 1 always reads as one */

/* A segment register in KVM's unpacked form (struct kvm_segment). */
struct boot_seg {
	uint64_t base;
	uint32_t limit;               /* byte granular, as KVM takes it */
	uint16_t selector;
	uint8_t type;                 /* 0xb = code exec/read accessed, 0x3 = data rw accessed */
	uint8_t present, dpl, db, s, l, g, avl;
};

struct boot_cpu_state {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct boot_seg cs, ds, es, fs, gs, ss;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
};

/*
 * 32-bit protected mode, paging off, interrupts off: CS = BOOT_CS flat
 * 32-bit code, DS/ES/FS/GS/SS = BOOT_DS flat data, GDTR -> MM_BOOT_GDT,
 * an empty IDT at MM_BOOT_IDT. GPRs, RIP and RSP are zero: the caller sets
 * them. Used by the Linux 32-bit protocol and by multiboot.
 */
void bootcpu_init_flat32(struct boot_cpu_state *s);

/* Like bootcpu_init_flat32() but in 64-bit long mode with paging on
 * through the identity map at MM_PML4 (CR0 PE|ET|NE|WP|PG, CR4 PAE,
 * EFER LME|LMA, CS.L = 1). */
void bootcpu_init_long64(struct boot_cpu_state *s);

/* Encode one GDT descriptor (base, 20-bit limit, access byte, flags nibble). */
uint64_t bootcpu_gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);

/* Write the boot GDT to MM_BOOT_GDT: BOOT_CS is 64-bit code when
 * @long_mode, 32-bit code otherwise. Returns 0 or -EFAULT (err set). */
int bootcpu_write_gdt(const struct guest_mem *gm, bool long_mode) __must_check;

/* Write page tables identity-mapping [0, 4 GiB) with 2 MiB pages:
 * PML4[0] -> PDPT, PDPT[0..3] -> the four PDs at MM_PD. */
int bootcpu_write_identity_map(const struct guest_mem *gm) __must_check;

struct kvm_regs;
struct kvm_sregs;

/*
 * Convert @s for KVM. @regs is overwritten entirely. @sregs must hold the
 * vCPU's current special registers (KVM_GET_SREGS); only the segments
 * CS/DS/ES/FS/GS/SS, GDTR, IDTR, CR0, CR3, CR4 and EFER are replaced, so
 * TR, LDTR, CR2, CR8, the APIC base and the interrupt bitmap keep KVM's
 * reset values.
 */
void bootcpu_to_kvm(const struct boot_cpu_state *s, struct kvm_regs *regs,
		    struct kvm_sregs *sregs);

#endif
