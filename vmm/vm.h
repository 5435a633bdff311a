/*
 * struct vm: one KVM virtual machine and what it owns: guest RAM,
 * memslots (address space 0, and 1 for the SMRAM view when the host has
 * KVM_CAP_MULTI_ADDRESS_SPACE), the PIO and MMIO buses, the vCPUs and the
 * hook chain through which the irqchip, SMM and TDX plug into the vCPU
 * loop. vm_destroy() frees everything and accepts NULL.
 */
#ifndef KVMRUN_VM_H
#define KVMRUN_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/guestmem.h"
#include "vmm/kvm.h"

#define VM_MAX_VCPUS 64
#define VM_MAX_RAM 8
#define VM_MAX_SLOTS 64
#define VM_MAX_HOOKS 8
#define VM_MAX_PROTECTED 4

struct vcpu;
struct vm;

/* A block of host memory that backs guest RAM (or flash). */
struct vm_ram {
	uint64_t gpa;     /* where it normally sits in the guest */
	uint64_t size;
	uint8_t *hva;
	const char *name;
	bool dma_ok;      /* devices may DMA into it */
};

struct vm_slot {
	bool used;
	uint32_t slot;    /* (as << 16) | id, as passed to KVM */
	uint64_t gpa, size;
	void *hva;
	uint32_t flags;   /* KVM_MEM_* */
};

/* Why the machine stopped. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,     /* ACPI S5, SYSTEM_EVENT_SHUTDOWN: exit_code 0 */
	VM_STOP_RESET,        /* guest asked for a reset */
	VM_STOP_SHUTDOWN,     /* triple fault */
	VM_STOP_EXIT,         /* isa-debug-exit and friends: exit_code given */
	VM_STOP_ERROR,        /* internal error, failed entry, ... */
	VM_STOP_SIGNAL,       /* host signal */
};

/*
 * Hooks into the vCPU loop, called in registration order. Each may be
 * NULL. They run on the vCPU's own thread.
 */
struct vcpu_hooks {
	const char *name;
	/* Per-vCPU setup after the vCPU exists (e.g. CPUID tweaks, LAPIC). */
	int (*vcpu_init)(void *opaque, struct vcpu *v);
	/* Before every KVM_RUN (machine lock NOT held). <0 stops the vCPU. */
	int (*pre_run)(void *opaque, struct vcpu *v);
	/* After every KVM_RUN return, including -EINTR. */
	void (*post_run)(void *opaque, struct vcpu *v);
	/*
	 * An exit the generic dispatcher does not handle itself (DEBUG,
	 * HYPERCALL, MEMORY_FAULT, TDX, ...) or wants to share (HLT with a
	 * userspace irqchip). Return an enum vcpu_action, or -1 to pass.
	 */
	int (*handle_exit)(void *opaque, struct vcpu *v, struct kvm_run *run);
	/* VCPU_HALT: block until the vCPU has work. Return when it should run. */
	void (*wait_halt)(void *opaque, struct vcpu *v);
	/* The vCPU is being kicked (stop, pause): wake it if it waits. */
	void (*kick)(void *opaque, struct vcpu *v);
	/* System reset: bring per-vCPU state back to power-on. */
	void (*vcpu_reset)(void *opaque, struct vcpu *v);
};

struct vm_hook {
	const struct vcpu_hooks *ops;
	void *opaque;
};

/* A guest-physical range devices must not DMA into (closed SMRAM). */
struct vm_protected {
	bool used;
	uint64_t gpa, size;
};

struct vm {
	struct kvm *kvm;
	int fd;
	unsigned long type;          /* KVM_CREATE_VM type */
	int nr_as;                   /* memslot address spaces in use */

	struct vm_ram ram[VM_MAX_RAM];
	int nr_ram;
	struct vm_slot slots[VM_MAX_SLOTS];

	struct bus pio, mmio;
	/* The machine lock: held for bus dispatch and all device state. */
	pthread_mutex_t bql;

	struct vcpu *vcpus[VM_MAX_VCPUS];
	int nr_vcpus;

	struct vm_hook hooks[VM_MAX_HOOKS];
	int nr_hooks;

	struct vm_protected protected_ranges[VM_MAX_PROTECTED];

	/* Stop request: first one wins. Protected by stop_lock. */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	enum vm_stop_reason stop_reason;
	atomic_int stop_pending;         /* lock-free copy of stop_reason != RUNNING */
	int exit_code;
	char stop_msg[160];
	void (*on_stop)(void *opaque);   /* wakes the main loop */
	void *on_stop_opaque;

	/*
	 * Set by the in-kernel SMM backend before memory is mapped: every
	 * vm_map_all() region then also appears in address space 1 (the SMRAM
	 * view), which must be a complete map of its own.
	 */
	bool mirror_as1;

	struct guest_mem dma;            /* for devices: vm_dma_ptr() */
	void *machine;                   /* back pointer for hooks */
};

/* Create a VM of @type (0 = default). */
int vm_create(struct kvm *kvm, unsigned long type, struct vm **out) __must_check;
void vm_destroy(struct vm *vm);

/*
 * Allocate @size bytes of anonymous host memory as RAM that normally sits
 * at @gpa; does not create memslots. Returns the host pointer in *hva.
 */
int vm_alloc_ram(struct vm *vm, const char *name, uint64_t gpa, uint64_t size, bool dma_ok,
		 uint8_t **hva) __must_check;

/*
 * Create a memslot in address space @as (0 or 1) mapping [gpa, gpa+size)
 * to @hva. @flags are KVM_MEM_*. Returns the slot index (>= 0) for
 * vm_unmap(), or -errno.
 */
int vm_map(struct vm *vm, int as, uint64_t gpa, uint64_t size, void *hva, uint32_t flags);
int vm_unmap(struct vm *vm, int idx);
/* Unmap every slot of address space @as overlapping [gpa, gpa+size). */
void vm_unmap_range(struct vm *vm, int as, uint64_t gpa, uint64_t size);

/* A region mapped in every address space in use (see mirror_as1). */
struct vm_mapping {
	int idx[2];
};

int vm_map_all(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags,
	       struct vm_mapping *m);
void vm_unmap_all(struct vm *vm, struct vm_mapping *m);

/*
 * Host pointer for [gpa, gpa+len) if it lies inside one RAM block (by its
 * normal address), else NULL. For the VMM itself (loaders, SMM).
 */
void *vm_gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len);
int vm_read(struct vm *vm, uint64_t gpa, void *buf, uint64_t len);
int vm_write(struct vm *vm, uint64_t gpa, const void *buf, uint64_t len);
/* Same as vm_gpa_ptr() but refuses non-DMA blocks and protected ranges. */
void *vm_dma_ptr(struct vm *vm, uint64_t gpa, uint64_t len);

/* Protected ranges (SMRAM while closed): devices may not DMA there. */
void vm_set_protected(struct vm *vm, int idx, uint64_t gpa, uint64_t size, bool on);

int vm_add_hooks(struct vm *vm, const struct vcpu_hooks *ops, void *opaque) __must_check;

/* Request the machine to stop; the first request wins. Thread-safe. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int exit_code, const char *fmt,
		     ...) __printf(4, 5);
enum vm_stop_reason vm_stop_reason(struct vm *vm);
/* Cheap check for the vCPU hot path. */
static inline bool vm_stopping(struct vm *vm)
{
	return atomic_load_explicit(&vm->stop_pending, memory_order_acquire) != 0;
}
/* Clear the stop request (after a reset has been handled). */
void vm_clear_stop(struct vm *vm);

/* Thin VM-fd ioctl wrapper. */
static inline int vm_ioctl(struct vm *vm, unsigned long req, void *arg)
{
	return kvm_ioctl(vm->kvm, vm->fd, req, arg);
}

#endif
