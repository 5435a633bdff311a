/*
 * Unit tests for tdx/tdx_exits.c: a TD built on the KVM TDX ABI model runs
 * scripted guest actions (memory faults, MapGPA, GetQuote, GetTdVmCallInfo,
 * SetupEventNotifyInterrupt, ReportFatalError) through the generic vCPU
 * dispatcher; malformed exits are fed to the handler directly.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "tdx/tdx.h"
#include "tdx/tdx_exits.h"
#include "tdx/tdx_uapi.h"
#include "tests/model/td_env.h"
#include "tests/unit/support.h"
#include "vmm/err.h"
#include "vmm/exit.h"
#include "vmm/vcpu.h"

#define RAM_GPA 0x1000000ULL           /* 16 MiB: plain RAM, away from the TDVF sections */

struct td {
	struct td_env e;
	struct tdx_machine *tdm;
	struct vm *vm;
	struct vcpu *v;
	struct tdx_exits *x;
	int last_run_error;
};

static void warm_thread_cache(struct td *t);

static void td_up(struct td *t)
{
	td_env_init(&t->e, NULL);
	warm_thread_cache(t);
	err_clear();
	if (tdx_machine_setup(&t->e.kvm, &t->e.cfg, NULL, &t->tdm) < 0)
		ck_abort_msg("setup: %s", err_get());
	t->vm = tdx_machine_vm(t->tdm);
	t->v = t->vm->vcpus[0];
	ck_assert_int_eq(t->vm->nr_hooks, 1);
	ck_assert_str_eq(t->vm->hooks[0].ops->name, "tdx");
	t->x = t->vm->hooks[0].opaque;
}

static void td_down(struct td *t)
{
	char why[128];

	tdx_machine_destroy(t->tdm);
	if (!td_env_no_leaks(&t->e, why, sizeof(why)))
		ck_abort_msg("leak: %s", why);
	td_env_fini(&t->e);
}

/* The vCPU loop of vmm/vcpu.c, on this thread: KVM_RUN, then the dispatcher. */
static enum vcpu_action run(struct td *t)
{
	int i;

	for (i = 0; i < 10000; i++) {
		int r = vcpu_run_once(t->v);
		enum vcpu_action act;

		if (r == -EFAULT && t->v->run->exit_reason == KVM_EXIT_MEMORY_FAULT)
			r = 0;
		if (r < 0) {
			t->last_run_error = r;
			return VCPU_ERROR;
		}
		act = vcpu_handle_exit(t->v, t->v->run);
		if (act != VCPU_CONTINUE)
			return act;
	}
	ck_abort_msg("the guest script never ended");
	return VCPU_ERROR;
}

static void script(struct td *t, const struct tdx_model_event *ev, unsigned n)
{
	ck_assert_int_eq(tdx_model_script(t->e.m, 0, ev, n), 0);
}

static const struct tdx_model_result *res(struct td *t, unsigned i)
{
	return tdx_model_result(t->e.m, 0, i);
}

START_TEST(test_memory_fault_conversion)
{
	const struct tdx_model_event ev[] = {
		{ .kind = TM_EV_ACCESS, .gpa = RAM_GPA + 0x10, .private_ = false },
		{ .kind = TM_EV_SHUTDOWN },
		{ .kind = TM_EV_ACCESS, .gpa = RAM_GPA, .private_ = true },
		{ .kind = TM_EV_ACCESS, .gpa = RAM_GPA + 0x1000, .private_ = true },
	};
	struct td t;

	td_up(&t);
	script(&t, ev, 2);
	ck_assert(tdx_model_is_private(t.e.m, RAM_GPA));
	ck_assert_int_eq(run(&t), VCPU_POWEROFF);
	ck_assert(res(&t, 0)->done);
	ck_assert_uint_eq(res(&t, 0)->exits, 1);
	/* One page became shared, its neighbours did not. */
	ck_assert(!tdx_model_is_private(t.e.m, RAM_GPA));
	ck_assert(tdx_model_is_private(t.e.m, RAM_GPA + 0x1000));
	ck_assert(tdx_model_is_private(t.e.m, RAM_GPA - 0x1000));
	ck_assert_uint_eq(t.v->exit_count[KVM_EXIT_MEMORY_FAULT], 1);
	/* And back: a private access to the shared page converts it again. */
	script(&t, ev + 2, 2);
	ck_assert_int_eq(run(&t), VCPU_POWEROFF);
	ck_assert_uint_eq(res(&t, 0)->exits, 1);
	ck_assert_uint_eq(res(&t, 1)->exits, 0);
	ck_assert(tdx_model_is_private(t.e.m, RAM_GPA));
	ck_assert_uint_eq(t.x->conversions, 2);
	td_down(&t);
}
END_TEST

START_TEST(test_map_gpa)
{
	const struct tdx_model_event ev[] = {
		{ .kind = TM_EV_MAP_GPA, .gpa = RAM_GPA, .size = 5 * MiB, .private_ = false },
		{ .kind = TM_EV_ACCESS, .gpa = RAM_GPA + 4 * MiB, .private_ = false },
		{ .kind = TM_EV_MAP_GPA, .gpa = RAM_GPA, .size = 5 * MiB, .private_ = true },
	};
	struct td t;
	uint64_t gpa;

	td_up(&t);
	script(&t, ev, 2);
	ck_assert_int_eq(run(&t), VCPU_POWEROFF);
	/* KVM hands it over in 2 MiB chunks: 2 + 2 + 1. */
	ck_assert_uint_eq(res(&t, 0)->exits, 3);
	ck_assert_uint_eq(res(&t, 0)->r10, TDVMCALL_STATUS_SUCCESS);
	ck_assert_uint_eq(res(&t, 1)->exits, 0);        /* already shared: no fault */
	for (gpa = RAM_GPA; gpa < RAM_GPA + 5 * MiB; gpa += 0x1000)
		ck_assert(!tdx_model_is_private(t.e.m, gpa));
	ck_assert(tdx_model_is_private(t.e.m, RAM_GPA + 5 * MiB));
	ck_assert(tdx_model_is_private(t.e.m, RAM_GPA - 0x1000));
	script(&t, ev + 2, 1);
	ck_assert_int_eq(run(&t), VCPU_POWEROFF);
	ck_assert_uint_eq(res(&t, 0)->r10, TDVMCALL_STATUS_SUCCESS);
	for (gpa = RAM_GPA; gpa < RAM_GPA + 5 * MiB; gpa += 0x1000)
		ck_assert(tdx_model_is_private(t.e.m, gpa));
	td_down(&t);
}
END_TEST

START_TEST(test_map_gpa_errors)
{
	const struct tdx_model_event ev[] = {
		/* misaligned: refused by KVM before any exit */
		{ .kind = TM_EV_MAP_GPA, .gpa = RAM_GPA + 0x800, .size = 0x1000 },
		{ .kind = TM_EV_MAP_GPA, .gpa = RAM_GPA, .size = 0 },
		/* private memory that does not exist: kvmrun says EINVAL */
		{ .kind = TM_EV_MAP_GPA, .gpa = 512 * MiB, .size = 0x3000, .private_ = true },
		/* an MMIO range made shared: nothing to do, success */
		{ .kind = TM_EV_MAP_GPA, .gpa = 0xfec00000, .size = 0x1000, .private_ = false },
		/* straddling the end of RAM */
		{ .kind = TM_EV_MAP_GPA, .gpa = 255 * MiB, .size = 2 * MiB, .private_ = false },
	};
	struct td t;

	td_up(&t);
	script(&t, ev, ARRAY_SIZE(ev));
	ck_assert_int_eq(run(&t), VCPU_POWEROFF);
	ck_assert_uint_eq(res(&t, 0)->r10, TDVMCALL_STATUS_ALIGN_ERROR);
	ck_assert_uint_eq(res(&t, 0)->exits, 0);
	ck_assert_uint_eq(res(&t, 1)->r10, TDVMCALL_STATUS_INVALID_OPERAND);
	ck_assert_uint_eq(res(&t, 2)->r10, TDVMCALL_STATUS_INVALID_OPERAND);
	ck_assert_uint_eq(res(&t, 2)->r11, 512 * MiB);   /* where it stopped */
	ck_assert_uint_eq(res(&t, 2)->exits, 1);
	ck_assert_uint_eq(res(&t, 3)->r10, TDVMCALL_STATUS_SUCCESS);
	ck_assert_uint_eq(res(&t, 4)->r10, TDVMCALL_STATUS_INVALID_OPERAND);
	ck_assert(tdx_model_is_private(t.e.m, 255 * MiB));
	ck_assert(!tdx_model_is_private(t.e.m, 0xfec00000));
	td_down(&t);
}
END_TEST

START_TEST(test_get_quote)
{
	const struct tdx_model_event ev[] = {
		{ .kind = TM_EV_GET_QUOTE, .gpa = RAM_GPA, .size = 0x2000 },
		{ .kind = TM_EV_GET_QUOTE, .gpa = RAM_GPA + 0x100, .size = 0x1000 },
		{ .kind = TM_EV_GET_QUOTE, .gpa = RAM_GPA, .size = 0 },
		{ .kind = TM_EV_GET_QUOTE, .gpa = RAM_GPA, .size = 0x1000, .private_ = true },
	};
	struct td t;
	char *log;

	td_up(&t);
	script(&t, ev, ARRAY_SIZE(ev));
	ck_assert_int_eq(run(&t), VCPU_POWEROFF);
	/* No quote service: a proper status, not a hang. */
	ck_assert_uint_eq(res(&t, 0)->r10, TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED);
	ck_assert_uint_eq(res(&t, 1)->r10, TDVMCALL_STATUS_ALIGN_ERROR);
	ck_assert_uint_eq(res(&t, 2)->r10, TDVMCALL_STATUS_INVALID_OPERAND);
	ck_assert_uint_eq(res(&t, 3)->r10, TDVMCALL_STATUS_INVALID_OPERAND);
	ck_assert_uint_eq(res(&t, 3)->exits, 0);          /* KVM answers private GPAs itself */
	ck_assert_uint_eq(t.x->quotes, 3);
	log = td_env_read_log(&t.e);
	ck_assert_ptr_nonnull(strstr(log, "\"step\":\"TDVMCALL_GET_QUOTE\""));
	free(log);
	td_down(&t);
}
END_TEST

START_TEST(test_tdvmcall_info_and_notify)
{
	const struct tdx_model_event ev[] = {
		{ .kind = TM_EV_TDVMCALL_INFO, .arg = 1 },
		{ .kind = TM_EV_TDVMCALL_INFO, .arg = 0 },
		{ .kind = TM_EV_TDVMCALL_INFO, .arg = 7 },
		{ .kind = TM_EV_EVENT_NOTIFY, .arg = 0x40 },
		{ .kind = TM_EV_EVENT_NOTIFY, .arg = 3 },
		{ .kind = TM_EV_UNKNOWN_TDVMCALL, .arg = 0x10099 },
	};
	struct td t;

	td_up(&t);
	script(&t, ev, ARRAY_SIZE(ev));
	ck_assert_int_eq(run(&t), VCPU_POWEROFF);
	ck_assert_uint_eq(res(&t, 0)->r10, TDVMCALL_STATUS_SUCCESS);
	ck_assert_uint_eq(res(&t, 0)->exits, 1);
	/* What kvmrun implements: SetupEventNotifyInterrupt, not GetQuote. */
	ck_assert_uint_eq(res(&t, 0)->r11, TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT);
	ck_assert_uint_eq(res(&t, 0)->r12 | res(&t, 0)->r13 | res(&t, 0)->r14, 0);
	ck_assert_uint_eq(res(&t, 1)->exits, 0);
	ck_assert_uint_eq(res(&t, 2)->r10, TDVMCALL_STATUS_INVALID_OPERAND);
	ck_assert_uint_eq(res(&t, 3)->r10, TDVMCALL_STATUS_SUCCESS);
	ck_assert_int_eq(t.x->notify_vector, 0x40);
	ck_assert_int_eq(t.x->notify_vcpu, 0);
	ck_assert_uint_eq(res(&t, 4)->r10, TDVMCALL_STATUS_INVALID_OPERAND);
	ck_assert_uint_eq(res(&t, 4)->exits, 0);
	ck_assert_uint_eq(res(&t, 5)->r10, TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED);
	ck_assert_uint_eq(res(&t, 5)->exits, 1);
	td_down(&t);
}
END_TEST

static void fatal_regs(struct tdx_model_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = TM_EV_FATAL;
	ev->regs[TDX_REG_R12] = 0x0baaaaad00000000ULL | (1ULL << 63);
	ev->regs[TDX_REG_R13] = 0x1234000;
	ev->regs[TDX_REG_RCX] = BIT(TDX_REG_R14) | BIT(TDX_REG_R15);
	memcpy(&ev->regs[TDX_REG_R14], "TD panic", 8);
	memcpy(&ev->regs[TDX_REG_R15], ": oops\0\0", 8);
	memcpy(&ev->regs[TDX_REG_RBX], "ignored!", 8);      /* not in the mask */
}

static void *nothing(void *arg)
{
	return arg;
}

/*
 * glibc keeps a joined thread's stack and descriptor for reuse: run one
 * thread before taking the baselines so the vCPU thread reuses them.
 */
static void warm_thread_cache(struct td *t)
{
	pthread_t th;

	ck_assert_int_eq(pthread_create(&th, NULL, nothing, NULL), 0);
	pthread_join(th, NULL);
	td_env_baseline(&t->e);
}

static enum vm_stop_reason wait_stop(struct vm *vm)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < 5000 && vm_stop_reason(vm) == VM_RUNNING; i++)
		nanosleep(&ts, NULL);
	return vm_stop_reason(vm);
}

START_TEST(test_fatal_error_stops_machine)
{
	struct tdx_model_event ev[2];
	struct td t;
	char *log;

	td_up(&t);
	fatal_regs(&ev[0]);
	ev[1] = (struct tdx_model_event){ .kind = TM_EV_SHUTDOWN };
	script(&t, ev, 2);
	ck_assert_int_eq(vcpu_signals_init(), 0);
	ck_assert_int_eq(vcpu_start(t.v), 0);
	ck_assert_int_eq(wait_stop(t.vm), VM_STOP_ERROR);
	ck_assert_int_eq(t.vm->exit_code, 2);
	ck_assert_ptr_nonnull(strstr(t.vm->stop_msg,
				     "TD fatal error 0x8baaaaad00000000 (gpa 0x1234000): \"TD panic: "
				     "oops\""));
	log = td_env_read_log(&t.e);
	ck_assert_ptr_nonnull(strstr(log, "\"step\":\"KVM_SYSTEM_EVENT_TDX_FATAL\""));
	free(log);
	td_down(&t);       /* joins the vCPU thread */
}
END_TEST

START_TEST(test_thread_poweroff)
{
	const struct tdx_model_event ev[] = {
		{ .kind = TM_EV_MAP_GPA, .gpa = RAM_GPA, .size = 3 * MiB, .private_ = false },
		{ .kind = TM_EV_ACCESS, .gpa = RAM_GPA + 3 * MiB, .private_ = false },
		{ .kind = TM_EV_SHUTDOWN },
	};
	struct td t;

	td_up(&t);
	script(&t, ev, ARRAY_SIZE(ev));
	ck_assert_int_eq(vcpu_signals_init(), 0);
	ck_assert_int_eq(vcpu_start(t.v), 0);
	ck_assert_int_eq(wait_stop(t.vm), VM_STOP_POWEROFF);
	ck_assert_int_eq(t.vm->exit_code, 0);
	ck_assert(res(&t, 1)->done);
	ck_assert(!tdx_model_is_private(t.e.m, RAM_GPA + 3 * MiB));
	td_down(&t);
}
END_TEST

START_TEST(test_fatal_message_decode)
{
	uint64_t d[16] = { 0 };
	char msg[160];

	/* No GPA bit, no message. */
	d[TDX_REG_R12] = 0x5;
	d[TDX_REG_R13] = 0x999000;
	tdx_exits_fatal_message(d, 16, msg, sizeof(msg));
	ck_assert_str_eq(msg, "TD fatal error 0x0000000000000005");
	/* All eight registers, no terminator: 64 characters, in GHCI order. */
	d[TDX_REG_RCX] = BIT(TDX_REG_R14) | BIT(TDX_REG_R15) | BIT(TDX_REG_RBX) |
			 BIT(TDX_REG_RDI) | BIT(TDX_REG_RSI) | BIT(TDX_REG_R8) | BIT(TDX_REG_R9) |
			 BIT(TDX_REG_RDX);
	memcpy(&d[TDX_REG_R14], "AAAAAAAA", 8);
	memcpy(&d[TDX_REG_R15], "BBBBBBBB", 8);
	memcpy(&d[TDX_REG_RBX], "CCCCCCCC", 8);
	memcpy(&d[TDX_REG_RDI], "DDDDDDDD", 8);
	memcpy(&d[TDX_REG_RSI], "EEEEEEEE", 8);
	memcpy(&d[TDX_REG_R8], "FFFFFFFF", 8);
	memcpy(&d[TDX_REG_R9], "GGGGGGGG", 8);
	memcpy(&d[TDX_REG_RDX], "HHHHHHH\x01", 8);
	tdx_exits_fatal_message(d, 16, msg, sizeof(msg));
	ck_assert_str_eq(msg, "TD fatal error 0x0000000000000005: \"AAAAAAAABBBBBBBBCCCCCCCCDDDDDDDD"
			      "EEEEEEEEFFFFFFFFGGGGGGGGHHHHHHH?\"");
	/* Control bytes are not echoed; a tiny buffer is cut, not overrun. */
	d[TDX_REG_RCX] = BIT(TDX_REG_R14);
	memcpy(&d[TDX_REG_R14], "a\x1b[2Jb\0", 8);
	tdx_exits_fatal_message(d, 16, msg, sizeof(msg));
	ck_assert_str_eq(msg, "TD fatal error 0x0000000000000005: \"a?[2Jb\"");
	tdx_exits_fatal_message(d, 16, msg, 10);
	ck_assert_str_eq(msg, "TD fatal ");
	tdx_exits_fatal_message(d, 3, msg, sizeof(msg));
	ck_assert_str_eq(msg, "TD reported a fatal error (malformed exit: 3 registers)");
}
END_TEST

START_TEST(test_hostile_exits)
{
	struct kvm_run *run;
	union tdx_run_exit *e;
	struct td t;

	td_up(&t);
	run = calloc(1, sizeof(*run));
	e = tdx_run_exit(run);
	/* Memory faults with unknown flags or no size. */
	run->exit_reason = KVM_EXIT_MEMORY_FAULT;
	e->memory_fault.flags = 0x10;
	e->memory_fault.gpa = RAM_GPA;
	e->memory_fault.size = 0x1000;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_ERROR);
	ck_assert_ptr_nonnull(strstr(t.v->exit_msg, "unknown flags 0x10"));
	e->memory_fault.flags = 0;
	e->memory_fault.size = 0;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_ERROR);
	e->memory_fault.size = ~0ULL;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_ERROR);
	e->memory_fault.gpa = 64 * GiB;                  /* private access outside memory */
	e->memory_fault.flags = KVM_MEMORY_EXIT_FLAG_PRIVATE;
	e->memory_fault.size = 0x1000;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_ERROR);
	ck_assert_ptr_nonnull(strstr(t.v->exit_msg, "not inside the TD's private-capable memory"));
	/* MapGPA chunks KVM would never send. */
	memset(run, 0, sizeof(*run));
	run->exit_reason = KVM_EXIT_HYPERCALL;
	e->hypercall.nr = KVM_HC_MAP_GPA_RANGE;
	e->hypercall.args[0] = RAM_GPA;
	e->hypercall.args[1] = 0;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_CONTINUE);
	ck_assert_uint_eq(e->hypercall.ret, EINVAL);
	e->hypercall.args[1] = 1;
	e->hypercall.args[2] = KVM_MAP_GPA_RANGE_PAGE_SZ_2M;
	e->hypercall.ret = 0;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_CONTINUE);
	ck_assert_uint_eq(e->hypercall.ret, EINVAL);
	e->hypercall.args[2] = 1ULL << 40;
	e->hypercall.ret = 0;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_CONTINUE);
	ck_assert_uint_eq(e->hypercall.ret, EINVAL);
	e->hypercall.args[2] = 0;
	e->hypercall.args[1] = ~0ULL;
	e->hypercall.ret = 0;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_CONTINUE);
	ck_assert_uint_eq(e->hypercall.ret, EINVAL);
	e->hypercall.args[0] = ~0ULL - 0xfff;
	e->hypercall.args[1] = 2;
	e->hypercall.ret = 0;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_CONTINUE);
	ck_assert_uint_eq(e->hypercall.ret, EINVAL);
	ck_assert(tdx_model_is_private(t.e.m, RAM_GPA));  /* nothing changed */
	/* Not ours: other hypercalls, other system events, other exits. */
	e->hypercall.nr = 1;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), -1);
	memset(run, 0, sizeof(*run));
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	e->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), -1);
	e->system_event.type = KVM_SYSTEM_EVENT_TDX_FATAL;
	e->system_event.ndata = 3;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), VCPU_ERROR);
	ck_assert_ptr_nonnull(strstr(t.v->exit_msg, "malformed exit"));
	run->exit_reason = KVM_EXIT_IO;
	ck_assert_int_eq(tdx_exits_handle(t.x, t.v, run), -1);
	/* Direct conversions: rejected shapes. */
	ck_assert_int_eq(tdx_exits_convert(t.x, RAM_GPA + 1, 0x1000, false), -EINVAL);
	ck_assert_int_eq(tdx_exits_convert(t.x, RAM_GPA, 0, false), -EINVAL);
	ck_assert_int_eq(tdx_exits_convert(t.x, ~0ULL - 0xfff, 0x2000, false), -EINVAL);
	free(run);
	td_down(&t);
}
END_TEST

START_TEST(test_conversion_failure_reported)
{
	const struct tdx_model_event ev[] = {
		{ .kind = TM_EV_ACCESS, .gpa = RAM_GPA, .private_ = false },
		{ .kind = TM_EV_MAP_GPA, .gpa = RAM_GPA, .size = 0x1000, .private_ = false },
	};
	struct td t;

	td_up(&t);
	/* KVM refusing the attribute change: the memory fault stops the vCPU... */
	tdx_model_faults(t.e.m)->fail_op = TM_OP_SET_MEMORY_ATTRIBUTES;
	tdx_model_faults(t.e.m)->fail_nth = tdx_model_calls(t.e.m, TM_OP_SET_MEMORY_ATTRIBUTES) + 1;
	tdx_model_faults(t.e.m)->fail_err = -ENOMEM;
	script(&t, ev, 1);
	ck_assert_int_eq(run(&t), VCPU_ERROR);
	ck_assert_ptr_nonnull(strstr(t.v->exit_msg, "shared access to 0x1000000: "
						    "KVM_SET_MEMORY_ATTRIBUTES"));
	/* ...while MapGPA asks the guest to retry (EAGAIN) on a transient failure. */
	tdx_model_faults(t.e.m)->fail_nth = tdx_model_calls(t.e.m, TM_OP_SET_MEMORY_ATTRIBUTES) + 1;
	script(&t, ev + 1, 1);
	ck_assert_int_eq(run(&t), VCPU_POWEROFF);
	ck_assert_uint_eq(res(&t, 0)->r10, TDVMCALL_STATUS_RETRY);
	ck_assert_uint_eq(res(&t, 0)->r11, RAM_GPA);
	td_down(&t);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("tdx_exits");
	TCase *tc = tcase_create("exits");

	(void)argc;
	td_env_tune_malloc(argv);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_memory_fault_conversion);
	tcase_add_test(tc, test_map_gpa);
	tcase_add_test(tc, test_map_gpa_errors);
	tcase_add_test(tc, test_get_quote);
	tcase_add_test(tc, test_tdvmcall_info_and_notify);
	tcase_add_test(tc, test_fatal_error_stops_machine);
	tcase_add_test(tc, test_thread_poweroff);
	tcase_add_test(tc, test_fatal_message_decode);
	tcase_add_test(tc, test_hostile_exits);
	tcase_add_test(tc, test_conversion_failure_reported);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
