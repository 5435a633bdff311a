/*
 * The pure exit dispatcher: given a vCPU and its struct kvm_run after
 * KVM_RUN, route I/O to the buses and decide what the loop does next. It
 * issues no ioctls, so unit tests drive it with a fake struct kvm_run.
 */
#ifndef KVMRUN_EXIT_H
#define KVMRUN_EXIT_H

#include <linux/kvm.h>

struct vcpu;

enum vcpu_action {
	VCPU_CONTINUE = 0,
	VCPU_HALT,        /* wait until an interrupt or event arrives */
	VCPU_STOP,        /* leave the loop quietly (machine is stopping) */
	VCPU_SHUTDOWN,    /* triple fault */
	VCPU_RESET,       /* guest requested a system reset */
	VCPU_POWEROFF,    /* guest requested power-off */
	VCPU_ERROR,       /* internal error / failed entry / unknown exit */
};

enum vcpu_action vcpu_handle_exit(struct vcpu *v, struct kvm_run *run);
const char *vcpu_action_name(enum vcpu_action a);

#endif
