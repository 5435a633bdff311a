#include "tdx/tdx_exits.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tdx/tdx_uapi.h"
#include "vmm/err.h"
#include "vmm/exit.h"
#include "vmm/log.h"

#define PAGE 4096ULL
/* ReportFatalError: R12 bit 63 says R13 holds a GPA. */
#define FATAL_GPA_VALID (1ULL << 63)
#define FATAL_MSG_MAX 64

static int handle_exit_hook(void *opaque, struct vcpu *v, struct kvm_run *run)
{
	return tdx_exits_handle(opaque, v, run);
}

const struct vcpu_hooks tdx_exits_hooks = {
	.name = "tdx",
	.handle_exit = handle_exit_hook,
};

void tdx_exits_init(struct tdx_exits *x, struct vm *vm, struct tdx_log *log)
{
	memset(x, 0, sizeof(*x));
	x->vm = vm;
	x->log = log;
	x->notify_vcpu = -1;
}

void tdx_exits_set_info(struct tdx_exits *x, uint64_t kernel_r11, uint64_t user_r11,
			uint64_t kernel_r12, uint64_t user_r12)
{
	x->kernel_r11 = kernel_r11;
	x->user_r11 = user_r11;
	x->kernel_r12 = kernel_r12;
	x->user_r12 = user_r12;
}

int tdx_exits_add_range(struct tdx_exits *x, uint64_t gpa, uint64_t size)
{
	if (x->nranges == TDX_EXITS_MAX_RANGES)
		return -ENOSPC;
	x->ranges[x->nranges].gpa = gpa;
	x->ranges[x->nranges].size = size;
	x->nranges++;
	return 0;
}

static void log_event(struct tdx_exits *x, const char *step, int vcpu, int ret,
		      const char *detail)
{
	struct tdx_log_rec rec = {
		.step = step, .target = "vcpu", .vcpu = vcpu, .attempt = 1, .ret = ret,
		.detail = detail,
	};

	if (x->log)
		tdx_log_write(x->log, &rec);
}

int tdx_exits_convert(struct tdx_exits *x, uint64_t gpa, uint64_t size, bool to_private)
{
	struct kvm_memory_attributes attr = {
		.address = gpa,
		.size = size,
		.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};
	bool inside = false, overlaps = false;
	uint64_t end;
	int i, r;

	if (!size || !IS_ALIGNED(gpa, PAGE) || !IS_ALIGNED(size, PAGE) ||
	    add_overflows_u64(gpa, size, &end))
		return err_set(-EINVAL, "conversion of 0x%" PRIx64 "+0x%" PRIx64 ": not a page "
					"range", gpa, size);
	for (i = 0; i < x->nranges; i++) {
		uint64_t rg = x->ranges[i].gpa, rs = x->ranges[i].size;

		if (gpa >= rg && end <= rg + rs)
			inside = true;
		if (ranges_overlap(gpa, size, rg, rs))
			overlaps = true;
	}
	if (!inside) {
		/* MMIO and holes are shared by nature: a guest may say so explicitly. */
		if (!to_private && !overlaps)
			return 0;
		return err_set(-EINVAL, "conversion of 0x%" PRIx64 "+0x%" PRIx64 " to %s: not "
					"inside the TD's private-capable memory", gpa, size,
			       to_private ? "private" : "shared");
	}
	r = vm_ioctl(x->vm, KVM_SET_MEMORY_ATTRIBUTES, &attr);
	if (r < 0)
		return err_set(r, "KVM_SET_MEMORY_ATTRIBUTES(0x%" PRIx64 "+0x%" PRIx64 ", %s): %s",
			       gpa, size, to_private ? "private" : "shared", strerror(-r));
	pthread_mutex_lock(&x->vm->bql);
	x->conversions++;
	pthread_mutex_unlock(&x->vm->bql);
	return 0;
}

static int handle_map_gpa(struct tdx_exits *x, struct vcpu *v, union tdx_run_exit *e)
{
	uint64_t gpa = e->hypercall.args[0], npages = e->hypercall.args[1];
	uint64_t attrs = e->hypercall.args[2];
	bool to_private = attrs & KVM_MAP_GPA_RANGE_ENCRYPTED;
	int r;

	/* KVM splits MapGPA into 4 KiB-granular chunks; anything else is malformed. */
	if ((attrs & 0xf) != KVM_MAP_GPA_RANGE_PAGE_SZ_4K || !npages ||
	    npages > TDX_MAP_GPA_MAX_PAGES ||
	    (attrs & ~(uint64_t)(KVM_MAP_GPA_RANGE_ENCRYPTED | 0xf))) {
		e->hypercall.ret = EINVAL;
		return VCPU_CONTINUE;
	}
	r = tdx_exits_convert(x, gpa, npages * PAGE, to_private);
	if (r == -EAGAIN || r == -ENOMEM || r == -EINTR)
		e->hypercall.ret = EAGAIN;      /* the guest gets TDVMCALL_STATUS_RETRY */
	else if (r < 0)
		e->hypercall.ret = EINVAL;      /* TDVMCALL_STATUS_INVALID_OPERAND */
	else
		e->hypercall.ret = 0;
	TRACE(TRACE_TDX, "cpu%d MapGPA 0x%" PRIx64 " pages %" PRIu64 " -> %s: %d", v->id, gpa,
	      npages, to_private ? "private" : "shared", r);
	return VCPU_CONTINUE;
}

static int handle_memory_fault(struct tdx_exits *x, struct vcpu *v, union tdx_run_exit *e)
{
	uint64_t gpa = e->memory_fault.gpa, size = e->memory_fault.size;
	bool to_private = e->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE;
	int r;

	if (e->memory_fault.flags & ~KVM_MEMORY_EXIT_FLAG_PRIVATE) {
		snprintf(v->exit_msg, sizeof(v->exit_msg), "memory fault at 0x%" PRIx64
			 " with unknown flags 0x%llx", gpa,
			 (unsigned long long)e->memory_fault.flags);
		return VCPU_ERROR;
	}
	r = tdx_exits_convert(x, ALIGN_DOWN(gpa, PAGE), ALIGN_UP(size + (gpa & (PAGE - 1)), PAGE),
			      to_private);
	if (r < 0) {
		snprintf(v->exit_msg, sizeof(v->exit_msg), "%s access to 0x%" PRIx64 ": %s",
			 to_private ? "private" : "shared", gpa, err_get());
		return VCPU_ERROR;
	}
	return VCPU_CONTINUE;
}

static int handle_tdx(struct tdx_exits *x, struct vcpu *v, union tdx_run_exit *e)
{
	char d[96];

	switch (e->tdx.nr) {
	case TDVMCALL_GET_QUOTE: {
		uint64_t gpa = e->tdx.get_quote.gpa, size = e->tdx.get_quote.size;

		if (!IS_ALIGNED(gpa, PAGE) || !IS_ALIGNED(size, PAGE))
			e->tdx.get_quote.ret = TDVMCALL_STATUS_ALIGN_ERROR;
		else if (!size)
			e->tdx.get_quote.ret = TDVMCALL_STATUS_INVALID_OPERAND;
		else
			e->tdx.get_quote.ret = TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED;
		pthread_mutex_lock(&x->vm->bql);
		x->quotes++;
		pthread_mutex_unlock(&x->vm->bql);
		snprintf(d, sizeof(d), "GetQuote gpa 0x%" PRIx64 " size 0x%" PRIx64 " -> 0x%llx",
			 gpa, size, (unsigned long long)e->tdx.get_quote.ret);
		log_event(x, "TDVMCALL_GET_QUOTE", v->id, 0, d);
		return VCPU_CONTINUE;
	}
	case TDVMCALL_GET_TD_VM_CALL_INFO:
		if (e->tdx.get_tdvmcall_info.leaf != 1) {
			e->tdx.get_tdvmcall_info.ret = TDVMCALL_STATUS_INVALID_OPERAND;
			return VCPU_CONTINUE;
		}
		/* Advertise what KVM handles plus what kvmrun implements (no GetQuote). */
		e->tdx.get_tdvmcall_info.r11 = x->kernel_r11 |
			(x->user_r11 & TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT);
		e->tdx.get_tdvmcall_info.r12 = x->kernel_r12;
		e->tdx.get_tdvmcall_info.r13 = 0;
		e->tdx.get_tdvmcall_info.r14 = 0;
		e->tdx.get_tdvmcall_info.ret = TDVMCALL_STATUS_SUCCESS;
		return VCPU_CONTINUE;
	case TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT: {
		uint64_t vec = e->tdx.setup_event_notify.vector;

		if (vec < 32 || vec > 255) {
			e->tdx.setup_event_notify.ret = TDVMCALL_STATUS_INVALID_OPERAND;
			return VCPU_CONTINUE;
		}
		pthread_mutex_lock(&x->vm->bql);
		x->notify_vector = (int)vec;
		x->notify_vcpu = v->id;
		pthread_mutex_unlock(&x->vm->bql);
		e->tdx.setup_event_notify.ret = TDVMCALL_STATUS_SUCCESS;
		snprintf(d, sizeof(d), "event notify vector %" PRIu64 " on vCPU %d", vec, v->id);
		log_event(x, "TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT", v->id, 0, d);
		return VCPU_CONTINUE;
	}
	default:
		/* KVM preset SUBFUNC_UNSUPPORTED for leaves userspace does not know. */
		TRACE(TRACE_TDX, "cpu%d unknown TDVMCALL 0x%llx", v->id,
		      (unsigned long long)e->tdx.nr);
		return VCPU_CONTINUE;
	}
}

void tdx_exits_fatal_message(const uint64_t data[16], uint32_t ndata, char *msg, size_t len)
{
	/* Registers carrying the message, in byte order (GHCI ReportFatalError). */
	static const enum tdx_fatal_reg order[] = {
		TDX_REG_R14, TDX_REG_R15, TDX_REG_RBX, TDX_REG_RDI,
		TDX_REG_RSI, TDX_REG_R8, TDX_REG_R9, TDX_REG_RDX,
	};
	char text[FATAL_MSG_MAX + 1];
	uint64_t code, mask;
	size_t n = 0, i, b;
	int off;

	if (ndata < TDX_NR_REGS) {
		snprintf(msg, len, "TD reported a fatal error (malformed exit: %u registers)",
			 ndata);
		return;
	}
	code = data[TDX_REG_R12];
	mask = data[TDX_REG_RCX];
	for (i = 0; i < ARRAY_SIZE(order) && n < FATAL_MSG_MAX; i++) {
		if (!(mask & BIT(order[i])))
			continue;
		for (b = 0; b < 8 && n < FATAL_MSG_MAX; b++)
			text[n++] = (char)(data[order[i]] >> (8 * b));
	}
	text[n] = 0;
	/* Stop at the terminator; never echo control bytes into the terminal. */
	for (i = 0; i < n && text[i]; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
			text[i] = '?';
	off = snprintf(msg, len, "TD fatal error 0x%016" PRIx64, code);
	if (off > 0 && (size_t)off < len && (code & FATAL_GPA_VALID))
		off += snprintf(msg + off, len - (size_t)off, " (gpa 0x%" PRIx64 ")",
				data[TDX_REG_R13]);
	if (off > 0 && (size_t)off < len && text[0])
		snprintf(msg + off, len - (size_t)off, ": \"%s\"", text);
}

int tdx_exits_handle(struct tdx_exits *x, struct vcpu *v, struct kvm_run *run)
{
	union tdx_run_exit *e = tdx_run_exit(run);

	switch (run->exit_reason) {
	case KVM_EXIT_HYPERCALL:
		if (e->hypercall.nr != KVM_HC_MAP_GPA_RANGE)
			return -1;
		return handle_map_gpa(x, v, e);
	case KVM_EXIT_MEMORY_FAULT:
		return handle_memory_fault(x, v, e);
	case KVM_EXIT_TDX:
		return handle_tdx(x, v, e);
	case KVM_EXIT_SYSTEM_EVENT:
		if (e->system_event.type != KVM_SYSTEM_EVENT_TDX_FATAL)
			return -1;
		tdx_exits_fatal_message(e->system_event.data, e->system_event.ndata, v->exit_msg,
					sizeof(v->exit_msg));
		log_event(x, "KVM_SYSTEM_EVENT_TDX_FATAL", v->id, 0, v->exit_msg);
		return VCPU_ERROR;
	default:
		return -1;
	}
}
