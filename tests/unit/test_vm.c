/*
 * vm.c / vcpu.c / exit.c against real KVM: a real-mode guest doing port
 * I/O, kicking a spinning vCPU thread, and a triple fault. Skips (exit 77,
 * loudly) where /dev/kvm is missing; CI runs it inside the nested sandbox.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/support.h"
#include "vmm/err.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

static struct kvm kvm;

struct rec {
	uint64_t val[16];
	uint64_t off[16];
	unsigned n;
	uint8_t in_val;
};

static uint64_t rec_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return ((struct rec *)dev)->in_val;
}

static void rec_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	struct rec *r = dev;

	if (r->n < 16) {
		r->off[r->n] = off;
		r->val[r->n] = val;
		r->n++;
	}
}

static const struct dev_ops rec_ops = { .name = "rec", .read = rec_read, .write = rec_write };

/* A VM with 2 MiB of RAM at 0 and one vCPU in real mode at 0:1000. */
static void make_vm(const uint8_t *code, size_t len, struct vm **vmp, struct vcpu **vp)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	uint8_t *ram;
	struct vm *vm;
	struct vcpu *v;

	ck_assert_int_eq(vm_create(&kvm, 0, &vm), 0);
	ck_assert_int_eq(vm_ioctl(vm, KVM_SET_TSS_ADDR, (void *)0xfffbd000UL), 0);
	ck_assert_int_eq(vm_alloc_ram(vm, "ram", 0, 2 * MiB, true, &ram), 0);
	ck_assert_int_ge(vm_map(vm, 0, 0, 2 * MiB, ram, 0), 0);
	memcpy(ram + 0x1000, code, len);
	ck_assert_int_eq(vcpu_create(vm, 0, &v), 0);
	ck_assert_int_eq(vcpu_setup_cpuid(v, 1, true), 0);
	ck_assert_int_eq(vcpu_ioctl(v, KVM_GET_SREGS, &s), 0);
	s.cs.base = 0;
	s.cs.selector = 0;
	ck_assert_int_eq(vcpu_ioctl(v, KVM_SET_SREGS, &s), 0);
	memset(&r, 0, sizeof(r));
	r.rip = 0x1000;
	r.rflags = 2;
	ck_assert_int_eq(vcpu_ioctl(v, KVM_SET_REGS, &r), 0);
	*vmp = vm;
	*vp = v;
}

START_TEST(test_real_mode_io)
{
	static const uint8_t code[] = {
		0xb0, 0x42,             /* mov al, 0x42 */
		0xe6, 0x10,             /* out 0x10, al */
		0xb8, 0x34, 0x12,       /* mov ax, 0x1234 */
		0xe7, 0x12,             /* out 0x12, ax */
		0xe4, 0x13,             /* in al, 0x13 */
		0xe6, 0x10,             /* out 0x10, al */
		0xe4, 0x70,             /* in al, 0x70 (unassigned) */
		0xe6, 0x11,             /* out 0x11, al */
		0xf4,                   /* hlt */
	};
	struct rec rec = { .in_val = 0x99 };
	enum vcpu_action act = VCPU_CONTINUE;
	struct vm *vm;
	struct vcpu *v;
	int i;

	make_vm(code, sizeof(code), &vm, &v);
	ck_assert_int_eq(bus_register(&vm->pio, 0x10, 4, &rec_ops, &rec), 0);
	for (i = 0; i < 20 && act == VCPU_CONTINUE; i++) {
		ck_assert_int_eq(vcpu_run_once(v), 0);
		act = vcpu_handle_exit(v, v->run);
	}
	ck_assert_int_eq(act, VCPU_HALT);
	ck_assert_uint_eq(rec.n, 4);
	ck_assert_uint_eq(rec.off[0], 0);
	ck_assert_uint_eq(rec.val[0], 0x42);
	ck_assert_uint_eq(rec.off[1], 2);
	ck_assert_uint_eq(rec.val[1], 0x1234);
	ck_assert_uint_eq(rec.val[2], 0x99);
	ck_assert_uint_eq(rec.off[3], 1);
	ck_assert_uint_eq(rec.val[3], 0xff);
	vm_destroy(vm);
}
END_TEST

START_TEST(test_kick_spinning_vcpu)
{
	static const uint8_t code[] = { 0xeb, 0xfe };   /* jmp $ */
	struct timespec t0, t1;
	struct vm *vm;
	struct vcpu *v;
	double ms;

	ck_assert_int_eq(vcpu_signals_init(), 0);
	make_vm(code, sizeof(code), &vm, &v);
	ck_assert_int_eq(vcpu_start(v), 0);
	usleep(100 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&v->stop, true);
	vcpu_kick(v);
	vcpu_join(v);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms < 2000, "kick took %.1f ms", ms);
	ck_assert_int_eq(vm_stop_reason(vm), VM_RUNNING);
	vm_destroy(vm);
}
END_TEST

START_TEST(test_triple_fault_stops_vm)
{
	/* lidt of a zero-limit IDT, then int3: #BP -> #DF -> triple fault */
	static const uint8_t code[] = {
		0x0f, 0x01, 0x1e, 0x00, 0x11,   /* lidt [0x1100] */
		0xcc,                           /* int3 */
		0xf4,
	};
	struct vm *vm;
	struct vcpu *v;

	ck_assert_int_eq(vcpu_signals_init(), 0);
	make_vm(code, sizeof(code), &vm, &v);   /* IDT descriptor at 0x1100 is zero */
	ck_assert_int_eq(vcpu_start(v), 0);
	pthread_mutex_lock(&vm->stop_lock);
	while (vm->stop_reason == VM_RUNNING)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);
	ck_assert_int_eq(vm_stop_reason(vm), VM_STOP_SHUTDOWN);
	ck_assert_int_eq(vm->exit_code, 2);
	ck_assert_ptr_nonnull(strstr(vm->stop_msg, "triple fault"));
	vm_destroy(vm);
}
END_TEST

START_TEST(test_map_rules)
{
	struct vm *vm;
	uint8_t *ram;
	int a, b;

	ck_assert_int_eq(vm_create(&kvm, 0, &vm), 0);
	ck_assert_int_eq(vm_alloc_ram(vm, "ram", 0, 4 * MiB, true, &ram), 0);
	a = vm_map(vm, 0, 0, 2 * MiB, ram, 0);
	ck_assert_int_ge(a, 0);
	/* overlapping slots in one address space are refused by KVM */
	ck_assert_int_lt(vm_map(vm, 0, MiB, 2 * MiB, ram, 0), 0);
	b = vm_map(vm, 0, 2 * MiB, 2 * MiB, ram + 2 * MiB, 0);
	ck_assert_int_ge(b, 0);
	ck_assert_int_eq(vm_unmap(vm, a), 0);
	ck_assert_int_eq(vm_unmap(vm, a), -ENOENT);
	ck_assert_int_lt(vm_map(vm, 7, 0, 4096, ram, 0), 0);   /* no such address space */
	ck_assert_ptr_eq(vm_gpa_ptr(vm, 4 * MiB - 16, 16), ram + 4 * MiB - 16);
	ck_assert_ptr_null(vm_gpa_ptr(vm, 4 * MiB - 16, 17));
	ck_assert_ptr_null(vm_gpa_ptr(vm, ~0ULL - 4, 16));
	vm_set_protected(vm, 0, MiB, 4096, true);
	ck_assert_ptr_null(vm_dma_ptr(vm, MiB + 100, 4));
	ck_assert_ptr_nonnull(vm_dma_ptr(vm, MiB + 4096, 4));
	vm_destroy(vm);
	vm_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;
	int r;

	r = kvm_open(&kvm, NULL, NULL);
	if (r < 0) {
		fprintf(stderr, "SKIP: test_vm needs /dev/kvm: %s\n", err_get());
		return TEST_SKIP;
	}
	s = suite_create("vm");
	tc = tcase_create("kvm");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_real_mode_io);
	tcase_add_test(tc, test_kick_spinning_vcpu);
	tcase_add_test(tc, test_triple_fault_stops_vm);
	tcase_add_test(tc, test_map_rules);
	suite_add_tcase(s, tc);
	r = run_suite(s);
	kvm_close(&kvm);
	return r;
}
