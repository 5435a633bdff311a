#include "vmm/exit.h"

#include <pthread.h>
#include <stdio.h>

#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

const char *vcpu_action_name(enum vcpu_action a)
{
	static const char *const names[] = {
		[VCPU_CONTINUE] = "continue", [VCPU_HALT] = "halt",
		[VCPU_STOP] = "stop",         [VCPU_SHUTDOWN] = "shutdown",
		[VCPU_RESET] = "reset",       [VCPU_POWEROFF] = "poweroff",
		[VCPU_ERROR] = "error",
	};

	return (unsigned)a < ARRAY_SIZE(names) ? names[a] : "?";
}

/* Offer the exit to the plug-ins (irqchip, SMM, TDX) in order. */
static int hooks_handle_exit(struct vcpu *v, struct kvm_run *run)
{
	struct vm *vm = v->vm;
	int i, act;

	for (i = 0; i < vm->nr_hooks; i++) {
		const struct vcpu_hooks *h = vm->hooks[i].ops;

		if (!h->handle_exit)
			continue;
		act = h->handle_exit(vm->hooks[i].opaque, v, run);
		if (act >= 0)
			return act;
	}
	return -1;
}

static enum vcpu_action handle_io(struct vcpu *v, struct kvm_run *run)
{
	struct vm *vm = v->vm;
	unsigned size = run->io.size;
	uint64_t total = (uint64_t)size * run->io.count;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	if ((size != 1 && size != 2 && size != 4) ||
	    run->io.data_offset < sizeof(*run) - sizeof(run->s) ||
	    (v->run_size && run->io.data_offset + total > v->run_size)) {
		snprintf(v->exit_msg, sizeof(v->exit_msg),
			 "malformed I/O exit (port 0x%x size %u count %u offset %llu)",
			 run->io.port, size, run->io.count,
			 (unsigned long long)run->io.data_offset);
		return VCPU_ERROR;
	}
	pthread_mutex_lock(&vm->bql);
	for (i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			bus_write(&vm->pio, &v->ioctx, run->io.port, data, size);
		} else {
			bus_read(&vm->pio, &v->ioctx, run->io.port, data, size);
		}
	}
	pthread_mutex_unlock(&vm->bql);
	if (trace_on(TRACE_IO)) {
		uint64_t val = 0;
		unsigned b;

		data = (uint8_t *)run + run->io.data_offset;
		for (b = 0; b < size; b++)
			val |= (uint64_t)data[b] << (8 * b);
		trace_printf("cpu%d %s port 0x%04x size %u count %u val 0x%llx", v->id,
			     run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port,
			     size, run->io.count, (unsigned long long)val);
	}
	return VCPU_CONTINUE;
}

static enum vcpu_action handle_mmio(struct vcpu *v, struct kvm_run *run)
{
	struct vm *vm = v->vm;
	unsigned len = run->mmio.len;

	if (len == 0 || len > 8) {
		snprintf(v->exit_msg, sizeof(v->exit_msg), "malformed MMIO exit (len %u)", len);
		return VCPU_ERROR;
	}
	pthread_mutex_lock(&vm->bql);
	if (run->mmio.is_write)
		bus_write(&vm->mmio, &v->ioctx, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(&vm->mmio, &v->ioctx, run->mmio.phys_addr, run->mmio.data, len);
	pthread_mutex_unlock(&vm->bql);
	TRACE(TRACE_IO, "cpu%d mmio %s 0x%llx len %u", v->id, run->mmio.is_write ? "write" : "read",
	      (unsigned long long)run->mmio.phys_addr, len);
	return VCPU_CONTINUE;
}

static enum vcpu_action handle_system_event(struct vcpu *v, struct kvm_run *run)
{
	int act;

	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return VCPU_POWEROFF;
	case KVM_SYSTEM_EVENT_RESET:
		return VCPU_RESET;
	case KVM_SYSTEM_EVENT_CRASH:
		snprintf(v->exit_msg, sizeof(v->exit_msg), "guest crashed (KVM_SYSTEM_EVENT_CRASH)");
		return VCPU_ERROR;
	default:
		act = hooks_handle_exit(v, run);
		if (act >= 0)
			return act;
		snprintf(v->exit_msg, sizeof(v->exit_msg), "unknown system event type %u",
			 run->system_event.type);
		return VCPU_ERROR;
	}
}

enum vcpu_action vcpu_handle_exit(struct vcpu *v, struct kvm_run *run)
{
	int act;

	if (run->exit_reason < VCPU_EXIT_STATS)
		v->exit_count[run->exit_reason]++;
	v->kernel_smm = run->flags & KVM_RUN_X86_SMM;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v, run);
	case KVM_EXIT_MMIO:
		return handle_mmio(v, run);
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		return VCPU_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		snprintf(v->exit_msg, sizeof(v->exit_msg), "triple fault (KVM_EXIT_SHUTDOWN)");
		return VCPU_SHUTDOWN;
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(v, run);
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(v->exit_msg, sizeof(v->exit_msg),
			 "VM entry failed (hardware reason 0x%llx, cpu %u)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		return VCPU_ERROR;
	case KVM_EXIT_INTERNAL_ERROR: {
		int n = snprintf(v->exit_msg, sizeof(v->exit_msg),
				 "KVM internal error, suberror %u", run->internal.suberror);
		uint32_t i;

		for (i = 0; i < run->internal.ndata && i < 4 && n > 0 &&
			    (size_t)n < sizeof(v->exit_msg);
		     i++)
			n += snprintf(v->exit_msg + n, sizeof(v->exit_msg) - (size_t)n,
				      " data[%u]=0x%llx", i,
				      (unsigned long long)run->internal.data[i]);
		return VCPU_ERROR;
	}
	case KVM_EXIT_HLT:
		act = hooks_handle_exit(v, run);
		return act >= 0 ? (enum vcpu_action)act : VCPU_HALT;
	default:
		act = hooks_handle_exit(v, run);
		if (act >= 0)
			return act;
		snprintf(v->exit_msg, sizeof(v->exit_msg), "unhandled exit reason %u (%s)",
			 run->exit_reason, kvm_exit_reason_name(run->exit_reason));
		return VCPU_ERROR;
	}
}
