/* The pure exit dispatcher driven by fake struct kvm_run values (no KVM). */
#include <stdlib.h>

#include "tests/unit/support.h"
#include "vmm/exit.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

struct port_dev {
	uint8_t regs[8];
	unsigned writes, reads;
	int last_cpu;
	bool last_smm;
};

static uint64_t pd_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct port_dev *d = dev;
	uint64_t v = 0;
	unsigned i;

	d->reads++;
	for (i = 0; i < size && off + i < 8; i++)
		v |= (uint64_t)d->regs[off + i] << (8 * i);
	return v;
}

static void pd_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		     unsigned size)
{
	struct port_dev *d = dev;
	unsigned i;

	d->writes++;
	d->last_cpu = ctx->cpu;
	d->last_smm = ctx->smm;
	for (i = 0; i < size && off + i < 8; i++)
		d->regs[off + i] = (uint8_t)(val >> (8 * i));
}

static const struct dev_ops pd_ops = { .name = "pd", .read = pd_read, .write = pd_write };

/* A vm/vcpu pair built by hand: no KVM fds at all. */
struct fixture {
	struct vm vm;
	struct vcpu v;
	union {
		struct kvm_run run;
		uint8_t bytes[8192];
	} r;
	struct port_dev dev;
};

static struct fixture *fx_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	bus_init(&f->vm.pio, "pio");
	bus_init(&f->vm.mmio, "mmio");
	pthread_mutex_init(&f->vm.bql, NULL);
	pthread_mutex_init(&f->vm.stop_lock, NULL);
	f->v.vm = &f->vm;
	f->v.id = 3;
	f->v.ioctx.cpu = 3;
	f->v.run = &f->r.run;
	f->v.run_size = sizeof(f->r);
	ck_assert_int_eq(bus_register(&f->vm.pio, 0x3f8, 8, &pd_ops, &f->dev), 0);
	ck_assert_int_eq(bus_register(&f->vm.mmio, 0xfed00000, 8, &pd_ops, &f->dev), 0);
	return f;
}

static void fx_free(struct fixture *f)
{
	bus_free(&f->vm.pio);
	bus_free(&f->vm.mmio);
	free(f);
}

static void set_io(struct fixture *f, uint8_t dir, uint16_t port, uint8_t size, uint32_t count)
{
	f->r.run.exit_reason = KVM_EXIT_IO;
	f->r.run.io.direction = dir;
	f->r.run.io.port = port;
	f->r.run.io.size = size;
	f->r.run.io.count = count;
	f->r.run.io.data_offset = 4096;
}

START_TEST(test_pio_out_in)
{
	struct fixture *f = fx_new();
	uint8_t *data = f->r.bytes + 4096;

	set_io(f, KVM_EXIT_IO_OUT, 0x3f9, 2, 1);
	data[0] = 0x34;
	data[1] = 0x12;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_CONTINUE);
	ck_assert_uint_eq(f->dev.regs[1], 0x34);
	ck_assert_uint_eq(f->dev.regs[2], 0x12);
	ck_assert_int_eq(f->dev.last_cpu, 3);
	set_io(f, KVM_EXIT_IO_IN, 0x3f9, 1, 1);
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_CONTINUE);
	ck_assert_uint_eq(data[0], 0x34);
	/* unassigned ports read all-ones at every width */
	set_io(f, KVM_EXIT_IO_IN, 0xcd8, 4, 1);
	memset(data, 0, 4);
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_CONTINUE);
	ck_assert_uint_eq(ld_le32(data), 0xffffffff);
	ck_assert_uint_eq(f->v.exit_count[KVM_EXIT_IO], 3);
	fx_free(f);
}
END_TEST

START_TEST(test_pio_rep)
{
	struct fixture *f = fx_new();
	uint8_t *data = f->r.bytes + 4096;

	set_io(f, KVM_EXIT_IO_OUT, 0x3f8, 1, 5);
	memcpy(data, "hello", 5);
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_CONTINUE);
	ck_assert_uint_eq(f->dev.writes, 5);
	ck_assert_uint_eq(f->dev.regs[0], 'o');
	fx_free(f);
}
END_TEST

START_TEST(test_pio_malformed)
{
	struct fixture *f = fx_new();

	set_io(f, KVM_EXIT_IO_OUT, 0x3f8, 3, 1);   /* size 3 does not exist */
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_ERROR);
	set_io(f, KVM_EXIT_IO_OUT, 0x3f8, 4, 4096); /* runs past the kvm_run page */
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_ERROR);
	ck_assert_uint_eq(f->dev.writes, 0);
	ck_assert_ptr_nonnull(strstr(f->v.exit_msg, "malformed"));
	fx_free(f);
}
END_TEST

START_TEST(test_mmio)
{
	struct fixture *f = fx_new();

	f->r.run.exit_reason = KVM_EXIT_MMIO;
	f->r.run.mmio.phys_addr = 0xfed00004;
	f->r.run.mmio.len = 4;
	f->r.run.mmio.is_write = 1;
	st_le32(f->r.run.mmio.data, 0xcafef00d);
	f->r.run.flags = KVM_RUN_X86_SMM;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_CONTINUE);
	ck_assert_uint_eq(ld_le32(f->dev.regs + 4), 0xcafef00d);
	ck_assert(f->v.kernel_smm);
	f->r.run.mmio.phys_addr = 0xfee00000;   /* unassigned */
	f->r.run.mmio.is_write = 0;
	f->r.run.mmio.len = 8;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_CONTINUE);
	ck_assert_uint_eq(ld_le64(f->r.run.mmio.data), ~0ULL);
	f->r.run.mmio.len = 9;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_ERROR);
	fx_free(f);
}
END_TEST

START_TEST(test_reasons)
{
	struct fixture *f = fx_new();
	struct kvm_run *run = &f->r.run;

	run->exit_reason = KVM_EXIT_HLT;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_HALT);
	run->exit_reason = KVM_EXIT_SHUTDOWN;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_SHUTDOWN);
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_POWEROFF);
	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_RESET);
	run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_ERROR);
	run->system_event.type = 77;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_ERROR);
	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = 0x21;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_ERROR);
	ck_assert_ptr_nonnull(strstr(f->v.exit_msg, "0x21"));
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = 1;
	run->internal.ndata = 1000;   /* hostile count: must not overrun */
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_ERROR);
	run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_CONTINUE);
	run->exit_reason = KVM_EXIT_DEBUG;   /* nobody claims it */
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_ERROR);
	run->exit_reason = 0xffff;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, run), VCPU_ERROR);
	fx_free(f);
}
END_TEST

static int hook_calls;

static int claim_debug(void *opaque, struct vcpu *v, struct kvm_run *run)
{
	hook_calls++;
	return run->exit_reason == KVM_EXIT_DEBUG ? VCPU_CONTINUE : -1;
}

static int halt_to_continue(void *opaque, struct vcpu *v, struct kvm_run *run)
{
	hook_calls++;
	return run->exit_reason == KVM_EXIT_HLT ? VCPU_STOP : -1;
}

START_TEST(test_hooks)
{
	static const struct vcpu_hooks h1 = { .name = "dbg", .handle_exit = claim_debug };
	static const struct vcpu_hooks h2 = { .name = "hlt", .handle_exit = halt_to_continue };
	struct fixture *f = fx_new();

	ck_assert_int_eq(vm_add_hooks(&f->vm, &h1, NULL), 0);
	ck_assert_int_eq(vm_add_hooks(&f->vm, &h2, NULL), 0);
	hook_calls = 0;
	f->r.run.exit_reason = KVM_EXIT_DEBUG;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_CONTINUE);
	ck_assert_int_eq(hook_calls, 1);
	f->r.run.exit_reason = KVM_EXIT_HLT;
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_STOP);
	ck_assert_int_eq(hook_calls, 3);
	/* I/O never goes through the hooks (hot path) */
	set_io(f, KVM_EXIT_IO_OUT, 0x3f8, 1, 1);
	ck_assert_int_eq(vcpu_handle_exit(&f->v, &f->r.run), VCPU_CONTINUE);
	ck_assert_int_eq(hook_calls, 3);
	fx_free(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exit");
	TCase *tc = tcase_create("dispatch");

	tcase_add_test(tc, test_pio_out_in);
	tcase_add_test(tc, test_pio_rep);
	tcase_add_test(tc, test_pio_malformed);
	tcase_add_test(tc, test_mmio);
	tcase_add_test(tc, test_reasons);
	tcase_add_test(tc, test_hooks);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
