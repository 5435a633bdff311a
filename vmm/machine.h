/*
 * A machine: the VM, its vCPUs, devices and firmware, assembled from a
 * struct config in named phases (see machine.c), run until it stops, and
 * turned into an exit status.
 *
 * Exit status policy (documented in README.md):
 *   0            guest powered off (ACPI S5 or KVM shutdown event), or reset
 *                with -no-reboot
 *   (v << 1) | 1 isa-debug-exit wrote v
 *   1            kvmrun could not start the guest (bad option, file, host)
 *   2            the guest crashed: triple fault, KVM internal error, failed
 *                VM entry, invalid SMM state, TDX fatal error
 *   128 + N      kvmrun was stopped by signal N
 */
#ifndef KVMRUN_MACHINE_H
#define KVMRUN_MACHINE_H

#include "vmm/cli.h"
#include "vmm/kvm.h"

struct machine;

/* Build the machine. On failure returns -errno with err_get() set. */
int machine_create(struct config *cfg, struct machine **out) __must_check;
/* Run until the guest stops; returns the process exit status. */
int machine_run(struct machine *m);
void machine_destroy(struct machine *m);

/* `-device help` */
void machine_print_devices(void);
/* `-machine help` */
void machine_print_machines(void);

#endif
