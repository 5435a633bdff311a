/*
 * The 512-byte SMRAM state-save area at SMBASE + 0xFE00, in the two
 * layouts KVM writes and OVMF reads (QemuSmramSaveStateMap.h):
 *
 *   SMM_LAYOUT_32  revision 0x00020000, Intel P6 style, used when the
 *                  guest's CPUID lacks long mode;
 *   SMM_LAYOUT_64  revision 0x00020064, AMD64 style, used whenever the
 *                  guest's CPUID has long mode (whatever mode it is in).
 *
 * The codec works on a neutral CPU state (struct smm_cpu_state) so it has
 * no KVM dependency; savestate_kvm.h converts to and from the KVM structs.
 * smm_rsm_validate() applies the checks KVM's RSM emulation (and the
 * KVM_SET_SREGS that follows it here) performs; an image it rejects must
 * end in a triple fault. Nothing in this module does I/O.
 */
#ifndef KVMRUN_SMM_SAVESTATE_H
#define KVMRUN_SMM_SAVESTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/guestmem.h"

#define SMM_SAVE_SIZE       512
#define SMM_REVISION_32     0x00020000u
#define SMM_REVISION_64     0x00020064u
/* Offset of the save area inside SMRAM, relative to SMBASE. */
#define SMM_SAVE_BASE       0xfe00u

enum smm_layout {
	SMM_LAYOUT_32 = 0,
	SMM_LAYOUT_64 = 1,
};

/* Segment registers in the order KVM numbers them (VCPU_SREG_*). */
enum smm_seg_idx {
	SMM_ES = 0, SMM_CS, SMM_SS, SMM_DS, SMM_FS, SMM_GS, SMM_TR, SMM_LDTR,
	SMM_NR_SEGS,
};

/* General-purpose registers in the natural x86 encoding order. */
enum smm_gpr {
	SMM_RAX = 0, SMM_RCX, SMM_RDX, SMM_RBX, SMM_RSP, SMM_RBP, SMM_RSI, SMM_RDI,
	SMM_R8, SMM_R9, SMM_R10, SMM_R11, SMM_R12, SMM_R13, SMM_R14, SMM_R15,
	SMM_NR_GPRS,
};

struct smm_seg {
	uint64_t base;
	uint32_t limit;         /* byte granular, as KVM reports it */
	uint16_t selector;
	uint8_t type;           /* 4 bits */
	uint8_t dpl;            /* 2 bits */
	bool s, present, db, l, g, avl;
	bool unusable;          /* decode: !present, like KVM's RSM */
};

struct smm_dtable {
	uint64_t base;
	uint16_t limit;
};

struct smm_cpu_state {
	uint64_t gpr[SMM_NR_GPRS];
	uint64_t rip, rflags;
	struct smm_seg seg[SMM_NR_SEGS];
	struct smm_dtable gdtr, idtr;
	uint64_t cr0, cr3, cr4;
	uint64_t efer;          /* 64-bit layout only (the 32-bit one has none) */
	uint64_t dr6, dr7;
	uint32_t smbase;
	uint32_t revision;      /* decode: as found; encode: from the layout */
	uint8_t int_shadow;     /* KVM extension: KVM_X86_SHADOW_INT_{MOV_SS,STI} */
	/* Auto-HALT and I/O restart: carried, not implemented (like KVM). */
	uint8_t auto_hlt_restart;
	uint8_t io_inst_restart;
	uint64_t io_restart_rip, io_restart_rcx, io_restart_rsi, io_restart_rdi;
	uint32_t io_restart_dword;   /* 64-bit layout only */
};

/*
 * Segment attributes as KVM packs them in the save area:
 * g<<23 | db<<22 | l<<21 | avl<<20 | p<<15 | dpl<<13 | s<<12 | type<<8.
 * The 32-bit layout stores this word, the 64-bit layout stores it >> 8.
 */
uint32_t smm_seg_flags(const struct smm_seg *s);
void smm_seg_set_flags(struct smm_seg *s, uint32_t flags);

/* Fill @buf (512 bytes, SMBASE+0xFE00..0xFFFF) from @st. 0 or -EINVAL. */
int smm_save_encode(const struct smm_cpu_state *st, enum smm_layout layout,
		    uint8_t buf[SMM_SAVE_SIZE]);
/* Parse @buf into @st (zeroed first). 0 or -EINVAL for a bad layout. */
int smm_save_decode(const uint8_t buf[SMM_SAVE_SIZE], enum smm_layout layout,
		    struct smm_cpu_state *st);

/* What the guest's CPUID allows; see smm_caps_from_cpuid(). */
struct smm_cpu_caps {
	bool lm;                /* CPUID.80000001H:EDX.LM: selects the 64-bit layout */
	unsigned maxphyaddr;    /* CPUID.80000008H:EAX[7:0] (36 when absent) */
	uint64_t efer_valid;    /* EFER bits the guest may set (LMA included) */
	uint64_t cr4_valid;     /* CR4 bits the guest may set */
};

/* Capabilities of a plain 64-bit CPU (tests, and a fallback without CPUID). */
void smm_caps_default(struct smm_cpu_caps *caps);

/*
 * Would RSM accept @st? Returns NULL if so, else a static string naming
 * the offending field, e.g. "CR0.PG set without CR0.PE". For the 32-bit
 * layout @st->efer is ignored (RSM leaves EFER alone there). @mem, if not
 * NULL, is the guest memory as seen after RSM and is used to check the
 * PAE PDPTEs the way KVM reloads them; NULL skips that check.
 */
const char *smm_rsm_validate(const struct smm_cpu_state *st, enum smm_layout layout,
			     const struct smm_cpu_caps *caps, const struct guest_mem *mem);

/* The layout a guest with these capabilities uses, and its revision ID. */
static inline enum smm_layout smm_layout_for(const struct smm_cpu_caps *caps)
{
	return caps->lm ? SMM_LAYOUT_64 : SMM_LAYOUT_32;
}

static inline uint32_t smm_layout_revision(enum smm_layout layout)
{
	return layout == SMM_LAYOUT_64 ? SMM_REVISION_64 : SMM_REVISION_32;
}

/* The SMBASE field of an image, as RSM reloads it (relocation). */
uint32_t smm_save_smbase(const uint8_t buf[SMM_SAVE_SIZE], enum smm_layout layout);

/* x86 architectural bits used by the SMM code. */
#define SMM_CR0_PE   (1ULL << 0)
#define SMM_CR0_MP   (1ULL << 1)
#define SMM_CR0_EM   (1ULL << 2)
#define SMM_CR0_TS   (1ULL << 3)
#define SMM_CR0_ET   (1ULL << 4)
#define SMM_CR0_NE   (1ULL << 5)
#define SMM_CR0_WP   (1ULL << 16)
#define SMM_CR0_AM   (1ULL << 18)
#define SMM_CR0_NW   (1ULL << 29)
#define SMM_CR0_CD   (1ULL << 30)
#define SMM_CR0_PG   (1ULL << 31)
#define SMM_CR0_VALID (SMM_CR0_PE | SMM_CR0_MP | SMM_CR0_EM | SMM_CR0_TS | SMM_CR0_ET | \
		       SMM_CR0_NE | SMM_CR0_WP | SMM_CR0_AM | SMM_CR0_NW | SMM_CR0_CD | \
		       SMM_CR0_PG)

#define SMM_CR4_PSE    (1ULL << 4)
#define SMM_CR4_PAE    (1ULL << 5)
#define SMM_CR4_LA57   (1ULL << 12)
#define SMM_CR4_PCIDE  (1ULL << 17)

#define SMM_EFER_SCE     (1ULL << 0)
#define SMM_EFER_LME     (1ULL << 8)
#define SMM_EFER_LMA     (1ULL << 10)
#define SMM_EFER_NX      (1ULL << 11)
#define SMM_EFER_SVME    (1ULL << 12)
#define SMM_EFER_LMSLE   (1ULL << 13)
#define SMM_EFER_FFXSR   (1ULL << 14)
#define SMM_EFER_AUTOIBRS (1ULL << 21)

#define SMM_RFLAGS_FIXED (1ULL << 1)
#define SMM_RFLAGS_TF    (1ULL << 8)
#define SMM_RFLAGS_IF    (1ULL << 9)
#define SMM_RFLAGS_VM    (1ULL << 17)

#define SMM_DR7_FIXED    0x400ULL

#endif
