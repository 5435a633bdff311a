/*
 * The seam between kvmrun and /dev/kvm. Every KVM ioctl goes through a
 * struct kvm_backend, so tests can substitute a model of the kernel ABI
 * (tests/model/) for the real device. Wrappers return >= 0 or -errno and
 * never print.
 */
#ifndef KVMRUN_KVM_H
#define KVMRUN_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/util.h"

struct kvm_backend {
	const char *name;
	void *ctx;
	int (*open)(struct kvm_backend *b, const char *path);        /* fd or -errno */
	int (*close)(struct kvm_backend *b, int fd);
	int (*ioctl)(struct kvm_backend *b, int fd, unsigned long req, void *arg);
	/* Map the kvm_run area of a vCPU fd; NULL on failure (errno set). */
	void *(*mmap_run)(struct kvm_backend *b, int fd, size_t len);
	int (*munmap_run)(struct kvm_backend *b, void *p, size_t len);
};

/* The real /dev/kvm. */
extern struct kvm_backend kvm_backend_host;

/* Capabilities kvmrun looks at, probed once by kvm_open(). */
struct kvm_caps {
	int nr_memslots;
	int max_vcpus;
	int nr_as;                 /* KVM_CAP_MULTI_ADDRESS_SPACE (1 if absent) */
	bool irqchip, pit2, irq_routing, irqfd, ioeventfd, signal_msi;
	bool split_irqchip;
	bool immediate_exit;
	bool readonly_mem;
	bool smm;                  /* KVM_CAP_X86_SMM */
	bool guest_debug;          /* KVM_CAP_SET_GUEST_DEBUG */
	unsigned guest_debug2;     /* KVM_CAP_SET_GUEST_DEBUG2 valid control bits */
	bool vcpu_events;
	bool debugregs;
	bool xsave, xcrs;
	bool tsc_control;
	bool user_memory2;
	bool guest_memfd;
	bool memory_attributes;
	uint64_t vm_types;         /* KVM_CAP_VM_TYPES bit mask (0 if absent) */
	bool exit_hypercall;
	bool apic_bus_cycles_ns;
	bool x2apic_api;
	bool coalesced_pio;
	bool system_event_data;
};

struct kvm {
	struct kvm_backend *be;
	int fd;
	int api_version;
	int vcpu_mmap_size;
	struct kvm_caps caps;
	struct kvm_cpuid2 *supported_cpuid;   /* KVM_GET_SUPPORTED_CPUID */
};

/*
 * Open @path (NULL = "/dev/kvm") through @be (NULL = the host backend),
 * check the API version and probe capabilities. On failure a one-line
 * explanation is left in err_get().
 */
int kvm_open(struct kvm *kvm, struct kvm_backend *be, const char *path) __must_check;
void kvm_close(struct kvm *kvm);

/* Raw ioctl through the backend: >= 0 or -errno. */
static inline int kvm_ioctl(const struct kvm *kvm, int fd, unsigned long req, void *arg)
{
	return kvm->be->ioctl(kvm->be, fd, req, arg);
}

#define kvm_ioctl_val(kvm, fd, req, val) kvm_ioctl(kvm, fd, req, (void *)(uintptr_t)(val))

/* KVM_CHECK_EXTENSION on the system fd (or a VM fd). Returns the value, 0 if absent. */
int kvm_check_extension(const struct kvm *kvm, int fd, long cap);

/* Requirements kvmrun has for a plain (non-confidential) VM. Returns 0 or
 * -ENOTSUP with err_get() naming the first missing capability. */
int kvm_require_basic(const struct kvm *kvm, bool need_irqchip) __must_check;

/* Copy of the supported CPUID entry (function, index) or NULL. */
const struct kvm_cpuid_entry2 *kvm_find_cpuid(const struct kvm_cpuid2 *c, uint32_t fn,
					      uint32_t idx);

/* Name of a KVM exit reason (for messages). */
const char *kvm_exit_reason_name(uint32_t reason);

#endif
