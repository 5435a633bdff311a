/*
 * System Management Mode for kvmrun: SMI sources, the SMRAM views and the
 * choice between two backends.
 *
 *   kvm   KVM's own SMM (KVM_CAP_X86_SMM with two memslot address spaces):
 *         SMIs are queued with KVM_SMI on the target vCPU's thread; KVM
 *         writes the save area, switches to address space 1 and emulates
 *         RSM; kvmrun tracks SMM from KVM_RUN_X86_SMM.
 *   user  SMM emulated in userspace (smm_user.c) for hosts whose KVM lacks
 *         SMM: kvmrun writes the save area, loads the entry state, catches
 *         the handler's RSM with a hardware breakpoint (or single-stepping)
 *         and performs RSM itself.
 *
 * SMRAM views: the module owns the memslots of the low-RAM block. Kernel
 * backend: address space 0 has TSEG punched out while the MCH closes it
 * (accesses then exit as MMIO to a "blackhole" that reads all-ones and
 * drops writes); address space 1 maps all of low RAM and mirrors every
 * other address-space-0 slot. User backend: one address space; TSEG is
 * mapped while any vCPU is in (emulated) SMM, and whenever it is open.
 *
 * Threading: smm_raise() may be called from any thread (devices call it
 * with the machine lock held). smm_set_smram(), smm_sync_memslots(),
 * smm_reset() and smm_register_test_port() expect the caller to hold the
 * machine lock (vm->bql) or to run before the vCPU threads start; the
 * vCPU hooks take the lock themselves when they change memslots.
 */
#ifndef KVMRUN_SMM_SMM_H
#define KVMRUN_SMM_SMM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "smm/savestate.h"
#include "vmm/cli.h"
#include "vmm/vm.h"

struct kvm;
struct vcpu;

enum smm_impl {
	SMM_IMPL_KVM = 1,
	SMM_IMPL_USER,
};

#define SMM_MAX_HOLES 4
/* vm_set_protected() slots SMM uses for closed SMRAM. */
#define SMM_PROT_TSEG 0
#define SMM_PROT_ASEG 1
/* Legacy A/B-segment SMRAM window. TODO move to memmap.h (MM_VGA is its base). */
#define SMM_ASEG_SIZE 0x20000ULL

struct smm_range {
	uint64_t gpa, size;
};

struct smm_cfg {
	enum smm_backend_sel backend;     /* -smm-backend */
	int nr_cpus;
	/*
	 * The low-RAM block (normally at gpa 0, below the PCI hole). SMM maps
	 * it itself; an existing address-space-0 slot that maps exactly this
	 * memory is replaced, other slots overlapping it (e.g. the ISA BIOS
	 * alias at 0xE0000) are left alone and treated as holes.
	 */
	uint64_t lowram_gpa, lowram_size;
	uint8_t *lowram_hva;
	struct smm_range holes[SMM_MAX_HOLES];   /* more ranges SMM must not map */
	int nr_holes;
	/* The local APICs live in KVM: SMI IPIs never reach a user backend. */
	bool kernel_irqchip;
	/* User backend: keep a closed TSEG mapped outside SMM (insecure, fast). */
	bool user_tseg_always_mapped;
	/* INIT latching: the irqchip's irqchip_set_smm(). May be NULL. */
	void (*set_smm)(void *opaque, int cpu, bool in_smm);
	/*
	 * True while a userspace irqchip holds @cpu in wait-for-SIPI: an SMI
	 * then stays pending (entering SMM would run the handler from, and
	 * return into, the INIT state). Called on @cpu's thread. May be NULL.
	 */
	bool (*smi_blocked)(void *opaque, int cpu);
	void *opaque;
};

/* What the q35 MCH reports (see devices/chipset/q35_mch.h). */
struct smm_smram_cfg {
	uint64_t tseg_base, tseg_size;    /* size 0: no TSEG */
	bool tseg_closed;                 /* ESMRAMC.T_EN && SMRAM.G_SMRAME */
	bool d_open, d_lck;
	bool low_smram;                   /* G_SMRAME && !H_SMRAME: A/B segment is SMRAM */
};

/* Counters for bench/ and -v reports. */
struct smm_stats {
	uint64_t raised;          /* SMIs requested, per target vCPU */
	uint64_t latched;         /* ... that found the target already in SMM */
	uint64_t entries;         /* SMM entries (kvm: KVM_SMI issued) */
	uint64_t rsms;            /* returns from SMM seen */
	uint64_t deferred;        /* user: entries postponed for an in-flight NMI */
	uint64_t hwbp_hits;       /* user: RSMs caught by the hardware breakpoint */
	uint64_t steps;           /* user: single-step exits spent looking for RSM */
	uint64_t entry_ns;        /* user: time spent emulating SMI entry */
	uint64_t exit_ns;         /* user: time spent emulating RSM */
	uint64_t roundtrip_ns;    /* SMI raised -> RSM done, summed */
	uint64_t roundtrip_max_ns;
};

/* ---- private to smm/: per-vCPU state and the module object ---- */

enum smm_catch {
	SMM_CATCH_NONE = 0,
	SMM_CATCH_HWBP,           /* hardware breakpoints on the RSM candidates */
	SMM_CATCH_STEP,           /* single-stepping until 0F AA */
};

#define SMM_MAX_BP 4

struct smm;

struct smm_vcpu {
	struct smm *smm;
	struct vcpu *v;           /* NULL until the vCPU exists */
	int cpu;
	atomic_bool pending;      /* an SMI waits for this vCPU */
	bool in_smm;              /* user: emulated SMM; kvm: last KVM_RUN_X86_SMM */
	/* kernel backend */
	uint64_t t_smi;           /* KVM_SMI issued, RSM not yet seen (0: none) */
	/* user backend */
	uint32_t smbase;
	bool inside_nmi;          /* NMIs were already blocked at entry */
	bool need_complete;       /* last exit was IO/MMIO: complete before entry */
	/*
	 * An interrupt or exception KVM was about to deliver when the SMI
	 * was taken: held back at entry and handed to KVM again by RSM, so
	 * the guest receives it right after SMM (as on hardware, where the
	 * SMI wins at that instruction boundary).
	 */
	bool held;
	struct kvm_vcpu_events held_ev;
	enum smm_catch catch_mode;
	uint64_t bp[SMM_MAX_BP];
	int nr_bp;
	uint64_t steps;
	uint64_t t_entry;         /* entry emulation started */
	uint64_t entry_ns;        /* ... and how long it took */
};

#define SMM_RSM_CACHE 64
#define SMM_MAX_PIECES 16

enum smm_piece_kind { SMM_PIECE_RAM = 0, SMM_PIECE_TSEG, SMM_PIECE_ASEG };

/* A stretch of the low-RAM block mapped (or not) as one memslot per AS. */
struct smm_piece {
	uint64_t gpa, size;
	enum smm_piece_kind kind;
	int slot[2];              /* vm slot index per address space, -1 if unmapped */
};

struct smm_mirror {
	int src, dst;             /* AS0 slot and its AS1 copy */
	uint64_t gpa, size;
	void *hva;
	uint32_t flags;
};

struct smm_impl_ops;

/* The MMIO stand-in for SMRAM hidden from non-SMM accesses. */
struct smm_blackhole {
	struct smm *smm;
	bool aseg;
	uint64_t gpa, size;       /* registered range; size 0 = none */
};

struct smm {
	struct vm *vm;
	struct smm_cfg cfg;
	enum smm_impl impl;
	const struct smm_impl_ops *ops;
	struct smm_cpu_caps caps;
	enum smm_layout layout;
	struct smm_vcpu *vcpus;
	int nr_cpus;

	/* SMRAM views: protected by vm->bql. */
	struct smm_smram_cfg smram;
	struct smm_range holes[SMM_MAX_HOLES + VM_MAX_SLOTS];
	int nr_holes;
	struct smm_piece pieces[SMM_MAX_PIECES];
	int nr_pieces;
	int nr_in_smm;            /* user backend: vCPUs in emulated SMM */
	/*
	 * User backend: the A-segment is mapped during SMM only when needed
	 * (a handler there, or a first SMM access through its blackhole), so
	 * OVMF's SMIs, which never touch it, pay for one memslot, not two.
	 */
	bool aseg_in_smm;
	struct smm_blackhole bh[2];       /* TSEG, A-segment */
	struct smm_mirror mirror[VM_MAX_SLOTS];
	int nr_mirror;
	bool test_port;

	/* RSM addresses found per SMBASE (user backend). */
	pthread_mutex_t cache_lock;
	struct {
		bool valid;
		uint32_t smbase;
		uint64_t lin;
	} rsm_cache[SMM_RSM_CACHE];
	unsigned rsm_cache_next;

	struct smm_stats stats;   /* updated with atomic builtins */
};

/* ---- public API ---- */

/*
 * Choose a backend for @sel on this host. 0 and *out set, or -ENOTSUP
 * with err_get() saying what the host lacks.
 */
int smm_select(const struct kvm *kvm, enum smm_backend_sel sel, enum smm_impl *out);

/*
 * -machine smm=on|off|auto: 1 if the machine gets SMM, 0 if not, or
 * -ENOTSUP (err set) for smm=on without a usable backend. @has_mch: the
 * machine has an SMI source and SMRAM control (q35); auto means "on" there.
 */
int smm_machine_enable(const struct kvm *kvm, enum onoffauto smm, bool has_mch,
		       enum smm_backend_sel sel);

/*
 * Create the SMM module for @vm: picks the backend, maps the low-RAM
 * block and registers the vCPU hooks. Call before the vCPUs are created
 * and after the irqchip registered its hooks (see smm_user.c for why).
 */
int smm_create(struct vm *vm, const struct smm_cfg *cfg, struct smm **out) __must_check;
/* After the vCPU threads stopped, before vm_destroy(). Accepts NULL. */
void smm_destroy(struct smm *smm);

/* Raise an SMI on @cpu, or on every vCPU for cpu < 0. Thread-safe. */
void smm_raise(struct smm *smm, int cpu);
/* Callback forms: ICH9 APM (on the writing vCPU, or all) and the LAPIC ICR. */
void smm_apm_smi(void *opaque, bool broadcast);
void smm_ipi_smi(void *opaque, int cpu);

/* The MCH changed the SMRAM configuration. Machine lock held. */
void smm_set_smram(struct smm *smm, const struct smm_smram_cfg *c);
/*
 * Kernel backend: smm_create() sets vm->mirror_as1, so regions mapped
 * with vm_map_all() appear in address space 1 by themselves. Slots mapped
 * with plain vm_map() in address space 0 (before smm_create() or since)
 * get their AS1 copies here: call it after changing such slots. A no-op
 * for the user backend. Lock held.
 */
int smm_sync_memslots(struct smm *smm);

bool smm_vcpu_in_smm(const struct smm *smm, int cpu);
/*
 * An SMI waits for @cpu. For a userspace irqchip modelling HLT: like an
 * NMI, a pending SMI ends the halt (but not wait-for-SIPI), so that the
 * vCPU reaches the SMM pre_run hook. Thread-safe.
 */
bool smm_smi_pending(const struct smm *smm, int cpu);
const char *smm_backend_name(const struct smm *smm);
void smm_get_stats(struct smm *smm, struct smm_stats *out);

/* System reset: SMBASE 0x30000, out of SMM, nothing pending. Lock held,
 * vCPUs not running. */
void smm_reset(struct smm *smm);

/* kvmrun's test device: a write to PORT_TEST_SMI raises an SMI on the
 * writing vCPU (0xFF: on all). Machine lock held or before start. */
int smm_register_test_port(struct smm *smm);

/* ---- for the backends (smm_kvm.c, smm_user.c) ---- */

struct smm_impl_ops {
	const char *name;
	const struct vcpu_hooks *hooks;
	/* Per-vCPU reset (SMBASE, leave SMM); counts are fixed by the caller. */
	void (*vcpu_reset)(struct smm *smm, struct smm_vcpu *sv);
};

int smm_hook_vcpu_init(void *opaque, struct vcpu *v);
/* Recompute and apply the memslots after nr_in_smm changed. Lock held.
 * @smbase: SMM is being entered there (its SMRAM must be mapped), or 0. */
void smm_views_update(struct smm *smm, uint32_t smbase);
/* Does [gpa, gpa+len) touch SMRAM that is hidden from non-SMM accesses? */
bool smm_gpa_hidden(const struct smm *smm, uint64_t gpa, uint64_t len);
/* Tell the irqchip (INIT latching) and the bus (secure accesses). */
void smm_set_vcpu_smm(struct smm_vcpu *sv, bool in_smm);
/* A vCPU hook hit a fatal host error: stop the VM with a message. Returns -1. */
int smm_fail(struct vcpu *v, const char *fmt, ...) __printf(2, 3);
uint64_t smm_now_ns(void);
void smm_stat_add(uint64_t *counter, uint64_t n);
void smm_stat_max(uint64_t *counter, uint64_t v);

#endif
