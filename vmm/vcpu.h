/*
 * struct vcpu: a KVM vCPU and the thread that runs it. The loop is split
 * into vcpu_run_once() (KVM_RUN and its EINTR policy), vcpu_handle_exit()
 * (a pure dispatcher: no ioctls, unit-tested with a fake struct kvm_run)
 * and vcpu_kick() (immediate_exit + signal).
 */
#ifndef KVMRUN_VCPU_H
#define KVMRUN_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "vmm/bus.h"
#include "vmm/exit.h"
#include "vmm/vm.h"


#define VCPU_EXIT_STATS 64

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;

	pthread_t thread;
	bool thread_started;
	atomic_bool stop;            /* leave the loop */
	atomic_bool paused;          /* parked by vcpu_pause_all() */

	struct io_ctx ioctx;         /* .cpu = id; .smm maintained by SMM hooks */
	bool kernel_smm;             /* run->flags & KVM_RUN_X86_SMM at last exit */

	/* Plug-in state, owned by the module that set it. */
	void *irqchip;               /* userspace LAPIC */
	void *smm;                   /* SMM backend per-vCPU state */
	void *tdx;                   /* TDX per-vCPU state */

	/* Power-on state captured by vcpu_snapshot_save(), for system reset. */
	struct vcpu_snapshot *reset_state;

	/* Why the last exit was an error (for the dump). */
	char exit_msg[160];
	uint64_t exit_count[VCPU_EXIT_STATS];
};

/* Create vCPU @id (KVM_CREATE_VCPU + mmap of kvm_run) and add it to @vm. */
int vcpu_create(struct vm *vm, int id, struct vcpu **out) __must_check;
void vcpu_destroy(struct vcpu *v);

/* KVM_RUN once. Returns 0, -EINTR/-EAGAIN (kicked), or another -errno. */
int vcpu_run_once(struct vcpu *v);

/* Start / kick / join the vCPU thread. */
int vcpu_start(struct vcpu *v) __must_check;
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);

/* Install the kick signal handler; call once from main before threads. */
int vcpu_signals_init(void);

/* Dump registers and the bytes at the faulting instruction. */
void vcpu_dump(struct vcpu *v, FILE *f);

/* Translate a guest linear address with KVM_TRANSLATE. */
int vcpu_translate(struct vcpu *v, uint64_t lin, uint64_t *gpa);

/* Set the vCPU's CPUID from KVM's supported set, with the given APIC id
 * and feature adjustments (see vcpu.c). */
int vcpu_setup_cpuid(struct vcpu *v, int nr_cpus, bool hide_x2apic) __must_check;

static inline int vcpu_ioctl(struct vcpu *v, unsigned long req, void *arg)
{
	return kvm_ioctl(v->vm->kvm, v->fd, req, arg);
}

/*
 * KVM has no "reset vCPU" ioctl: capture the power-on state once after
 * creation (registers, FPU, XCRs, events, debug registers, MP state, the
 * in-kernel LAPIC if any, and the architectural/paravirt MSRs) and write it
 * back on system reset. The thread must not be running.
 */
int vcpu_snapshot_save(struct vcpu *v) __must_check;
int vcpu_snapshot_restore(struct vcpu *v) __must_check;

/* Per-thread: the vCPU running on this thread, or NULL. */
struct vcpu *vcpu_current(void);

#endif
