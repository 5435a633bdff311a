/*
 * Unit tests for tests/model/tdx_model.c: the model must hold kvmrun to
 * the 6.16 KVM TDX ABI, so its rules are tested on their own with raw
 * ioctls: ordering, the INIT_VM errno table in order, E2BIG semantics,
 * hw_error write-back, memslots and attributes, INIT_MEM_REGION progress,
 * FINALIZE, destruction order, HKIDs, fault injection and fd accounting.
 */
#include <errno.h>
#include <stdlib.h>

#include "tdx/measure.h"
#include "tdx/tdx_err.h"
#include "tdx/tdx_uapi.h"
#include "tests/model/td_env.h"
#include "tests/model/tdx_model.h"
#include "tests/unit/support.h"

#define CONF_NENT 12

struct mt {
	struct tdx_model *m;
	struct kvm kvm;
	int vm;
};

static void mt_init(struct mt *t, const struct tdx_model_config *mc)
{
	ck_assert_int_eq(tdx_model_new(mc, &t->m), 0);
	ck_assert_int_eq(kvm_open(&t->kvm, tdx_model_backend(t->m), NULL), 0);
	t->vm = -1;
}

static void mt_fini(struct mt *t)
{
	kvm_close(&t->kvm);
	ck_assert_int_eq(tdx_model_open_fds(t->m), 0);
	ck_assert_int_eq(tdx_model_live_allocs(t->m), 0);
	tdx_model_free(t->m);
}

static int ioc(struct mt *t, int fd, unsigned long req, void *arg)
{
	return kvm_ioctl(&t->kvm, fd, req, arg);
}

static int closefd(struct mt *t, int fd)
{
	return t->kvm.be->close(t->kvm.be, fd);
}

static int tdcmd(struct mt *t, int fd, uint32_t id, uint32_t flags, uint64_t data, uint64_t *hw)
{
	struct kvm_tdx_cmd c = { .id = id, .flags = flags, .data = data };
	int r = ioc(t, fd, KVM_MEMORY_ENCRYPT_OP, &c);

	if (hw)
		*hw = c.hw_error;
	return r;
}

static int enable(struct mt *t, uint32_t cap, uint64_t a0)
{
	struct kvm_enable_cap ec = { .cap = cap, .args = { a0 } };

	return ioc(t, t->vm, KVM_ENABLE_CAP, &ec);
}

static int create_td(struct mt *t)
{
	t->vm = ioc(t, t->kvm.fd, KVM_CREATE_VM, (void *)(uintptr_t)KVM_X86_TDX_VM);
	return t->vm;
}

/* A KVM_TDX_INIT_VM argument that the default model accepts. */
static struct kvm_tdx_init_vm *good_init_vm(void)
{
	struct kvm_tdx_init_vm *iv = calloc(1, sizeof(*iv) + 8 * sizeof(struct kvm_cpuid_entry2));

	iv->attributes = 1ULL << 28;
	iv->xfam = 0x3;
	iv->cpuid.nent = 2;
	iv->cpuid.entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = 1u << 21 };
	iv->cpuid.entries[1] = (struct kvm_cpuid_entry2){ .function = 0x80000008,
							  .eax = 48u << 16 };
	return iv;
}

static int init_vm(struct mt *t, struct kvm_tdx_init_vm *iv, uint64_t *hw)
{
	return tdcmd(t, t->vm, KVM_TDX_INIT_VM, 0, (uintptr_t)iv, hw);
}

static int vcpu_ready(struct mt *t, int id, bool x2apic)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[1];
	} cpuid = { .c = { .nent = 1 } };
	int fd = ioc(t, t->vm, KVM_CREATE_VCPU, (void *)(uintptr_t)id);

	if (fd < 0)
		return fd;
	cpuid.e[0] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = x2apic ? 1u << 21 : 0 };
	ck_assert_int_eq(ioc(t, fd, KVM_SET_CPUID2, &cpuid), 0);
	return fd;
}

/* RAM [0, size) backed by a guest_memfd, all private. Returns the gmem fd. */
static int private_ram(struct mt *t, uint64_t size, void *shared)
{
	struct kvm_create_guest_memfd gm = { .size = size };
	struct kvm_userspace_memory_region2 r = { .slot = 0, .flags = KVM_MEM_GUEST_MEMFD,
						  .memory_size = size,
						  .userspace_addr = (uintptr_t)shared };
	struct kvm_memory_attributes a = { .size = size,
					   .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };
	int g = ioc(t, t->vm, KVM_CREATE_GUEST_MEMFD, &gm);

	ck_assert_int_ge(g, 0);
	r.guest_memfd = (uint32_t)g;
	ck_assert_int_eq(ioc(t, t->vm, KVM_SET_USER_MEMORY_REGION2, &r), 0);
	ck_assert_int_eq(ioc(t, t->vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
	return g;
}

START_TEST(test_probe_and_types)
{
	struct tdx_model_config mc;
	struct mt t;

	mt_init(&t, NULL);
	ck_assert_uint_eq(t.kvm.caps.vm_types, BIT(0) | BIT(5));
	ck_assert(t.kvm.caps.guest_memfd && t.kvm.caps.user_memory2 && t.kvm.caps.split_irqchip);
	ck_assert_int_eq(kvm_check_extension(&t.kvm, t.kvm.fd, KVM_CAP_EXIT_HYPERCALL), 1 << 12);
	ck_assert_int_eq(kvm_check_extension(&t.kvm, t.kvm.fd, KVM_CAP_MEMORY_ATTRIBUTES), 8);
	ck_assert_ptr_nonnull(kvm_find_cpuid(t.kvm.supported_cpuid, 0x80000008, 0));
	ck_assert_int_ge(create_td(&t), 0);
	/* A TD has no SMM address space and no read-only memory. */
	ck_assert_int_eq(kvm_check_extension(&t.kvm, t.vm, KVM_CAP_MULTI_ADDRESS_SPACE), 1);
	ck_assert_int_eq(kvm_check_extension(&t.kvm, t.vm, KVM_CAP_READONLY_MEM), 0);
	ck_assert_int_eq(ioc(&t, t.kvm.fd, KVM_CREATE_VM, (void *)3), -EINVAL);
	ck_assert_int_eq(ioc(&t, t.kvm.fd, KVM_CREATE_VM, (void *)200), -EINVAL);
	ck_assert_int_eq(ioc(&t, 999, KVM_CHECK_EXTENSION, 0), -EBADF);
	ck_assert_int_eq(closefd(&t, 999), -EBADF);
	ck_assert_int_eq(closefd(&t, t.vm), 0);
	mt_fini(&t);

	tdx_model_default_config(&mc);
	mc.vm_types = 1;
	mt_init(&t, &mc);
	ck_assert_int_eq(create_td(&t), -EINVAL);
	mt_fini(&t);
}
END_TEST

START_TEST(test_ordering_rules)
{
	struct kvm_tdx_init_vm *iv = good_init_vm();
	struct kvm_tdx_init_mem_region reg = { 0 };
	uint64_t hw;
	struct mt t;
	int v;

	mt_init(&t, NULL);
	create_td(&t);
	/* vCPUs only after INIT_VM; APIC bus only after the split irqchip. */
	ck_assert_int_eq(ioc(&t, t.vm, KVM_CREATE_VCPU, 0), -EIO);
	ck_assert_int_eq(enable(&t, KVM_CAP_X86_APIC_BUS_CYCLES_NS, 40), -ENXIO);
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 0, &hw), -EINVAL);
	ck_assert_int_eq(enable(&t, KVM_CAP_SPLIT_IRQCHIP, 24), 0);
	ck_assert_int_eq(enable(&t, KVM_CAP_SPLIT_IRQCHIP, 24), -EEXIST);
	ck_assert_int_eq(enable(&t, KVM_CAP_X86_APIC_BUS_CYCLES_NS, 0), -EINVAL);
	ck_assert_int_eq(enable(&t, KVM_CAP_X86_APIC_BUS_CYCLES_NS, 40), 0);
	ck_assert_int_eq(enable(&t, KVM_CAP_EXIT_HYPERCALL, 1 << 3), -EINVAL);
	ck_assert_int_eq(enable(&t, KVM_CAP_EXIT_HYPERCALL, 1 << 12), 0);
	ck_assert_int_eq(init_vm(&t, iv, &hw), 0);
	ck_assert_int_eq(init_vm(&t, iv, &hw), -EINVAL);          /* only once */
	/* INIT_VCPU needs x2APIC in the vCPU's CPUID, so SET_CPUID2 comes first. */
	v = vcpu_ready(&t, 0, false);
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_VCPU, 0, 0x809000, NULL), -EINVAL);
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EINVAL);
	closefd(&t, v);
	ck_assert_int_eq(ioc(&t, t.vm, KVM_CREATE_VCPU, 0), -EEXIST);
	v = vcpu_ready(&t, 1, true);
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_VCPU, 1, 0x809000, NULL), -EINVAL);
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_VCPU, 0, 0x809000, NULL), 0);
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_VCPU, 0, 0x809000, NULL), -EINVAL);
	ck_assert_uint_eq(tdx_model_vcpu_rcx(t.m, 1), 0x809000);
	/* Too late for VM-wide settings once vCPUs exist. */
	ck_assert_int_eq(enable(&t, KVM_CAP_X86_APIC_BUS_CYCLES_NS, 40), -EINVAL);
	/* Not runnable before FINALIZE. */
	ck_assert_int_eq(ioc(&t, v, KVM_RUN, NULL), -EINVAL);
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 0, &hw), 0);
	/* After FINALIZE every vCPU TDX command is refused. */
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EINVAL);
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 0, &hw), -EINVAL);
	/* A TD's registers are protected. */
	{
		struct kvm_regs regs;

		ck_assert_int_eq(ioc(&t, v, KVM_GET_REGS, &regs), -EINVAL);
	}
	closefd(&t, v);
	closefd(&t, t.vm);
	free(iv);
	mt_fini(&t);
}
END_TEST

START_TEST(test_vcpu_needs_split_irqchip)
{
	struct kvm_tdx_init_vm *iv = good_init_vm();
	struct mt t;

	mt_init(&t, NULL);
	create_td(&t);
	ck_assert_int_eq(init_vm(&t, iv, NULL), 0);
	ck_assert_int_eq(ioc(&t, t.vm, KVM_CREATE_VCPU, 0), -EINVAL);
	closefd(&t, t.vm);
	free(iv);
	mt_fini(&t);
}
END_TEST

/* Expect INIT_VM to fail with @err (and @hw in hw_error), then succeed once fixed. */
static void init_vm_row(const struct tdx_model_config *mc, void (*breakit)(struct mt *,
									    struct kvm_tdx_init_vm *),
			int err, uint64_t hw_want)
{
	struct kvm_tdx_init_vm *iv = good_init_vm();
	struct tdx_model_td_info info;
	uint64_t hw = 0;
	struct mt t;

	mt_init(&t, mc);
	create_td(&t);
	breakit(&t, iv);
	ck_assert_int_eq(init_vm(&t, iv, &hw), err);
	ck_assert_uint_eq(hw, hw_want);
	ck_assert(tdx_model_td_info(t.m, &info));
	ck_assert_int_eq(info.state, 0);
	ck_assert_int_eq(tdx_model_hkids_in_use(t.m), 0);
	if (!info.bugged) {
		/* The state is unchanged: the same VM can try again. */
		memset(tdx_model_faults(t.m), 0, sizeof(struct tdx_model_faults));
		free(iv);
		iv = good_init_vm();
		ck_assert_int_eq(init_vm(&t, iv, &hw), 0);
		ck_assert_int_eq(tdx_model_hkids_in_use(t.m), 1);
	} else {
		ck_assert_int_eq(kvm_ioctl_val(&t.kvm, t.vm, KVM_CHECK_EXTENSION, 1), -EIO);
	}
	closefd(&t, t.vm);
	free(iv);
	mt_fini(&t);
}

static void b_flags(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->cpuid.nent = 300;     /* row 3 too; row 2 wins */
}
static void b_nent(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->cpuid.nent = 257;
	iv->attributes = 1;       /* row 7 too; row 3 wins */
}
static void b_reserved(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->reserved[11] = 1;
}
static void b_padding(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->cpuid.padding = 1;
}
static void b_attrs(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	tdx_model_faults(t->m)->create_no_entropy = 1;   /* never reached */
	iv->attributes |= 1;      /* DEBUG */
}
static void b_xfam(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->xfam |= 1ULL << 17;
}
static void b_no_gpaw(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->cpuid.nent = 1;
}
static void b_gpaw40(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->cpuid.entries[1].eax = 40u << 16;
}
static void b_gpaw52(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->cpuid.entries[1].eax = 52u << 16;
}
static void b_tsx(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->cpuid.entries[2] = (struct kvm_cpuid_entry2){ .function = 7, .flags = 1,
							  .ebx = 1u << 11 };
	iv->cpuid.nent = 3;
}
static void b_unconfigurable(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)t;
	iv->cpuid.entries[2] = (struct kvm_cpuid_entry2){ .function = 0x40000000 };
	iv->cpuid.nent = 3;
}
static void b_misc_cg(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)iv;
	tdx_model_faults(t->m)->misc_cg_busy = true;
}
static void b_package(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)iv;
	tdx_model_faults(t->m)->package_offline = true;
	tdx_model_faults(t->m)->create_no_entropy = 1;   /* row 15 comes first */
}
static void b_entropy(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)iv;
	tdx_model_faults(t->m)->create_no_entropy = 1;
}
static void b_create_busy(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)iv;
	tdx_model_faults(t->m)->create_busy = true;
}
static void b_key_config(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)iv;
	tdx_model_faults(t->m)->key_config_fail = true;
}
static void b_addcx(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)iv;
	tdx_model_faults(t->m)->addcx_no_entropy = 1;
}
static void b_operand(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)iv;
	tdx_model_faults(t->m)->mng_init_status = TDX_OPERAND_INVALID | TDX_OPERAND_ID_TDR;
}
static void b_init_other(struct mt *t, struct kvm_tdx_init_vm *iv)
{
	(void)iv;
	tdx_model_faults(t->m)->mng_init_status = TDX_LIFECYCLE_STATE_INCORRECT;
}

START_TEST(test_init_vm_table)
{
	struct tdx_model_config five;

	tdx_model_default_config(&five);
	five.five_level_ept = true;
	init_vm_row(NULL, b_nent, -E2BIG, 0);
	init_vm_row(NULL, b_reserved, -EINVAL, 0);
	init_vm_row(NULL, b_padding, -EINVAL, 0);
	init_vm_row(NULL, b_attrs, -EINVAL, 0);
	init_vm_row(NULL, b_xfam, -EINVAL, 0);
	init_vm_row(NULL, b_no_gpaw, -EINVAL, 0);
	init_vm_row(NULL, b_gpaw40, -EINVAL, 0);
	init_vm_row(NULL, b_gpaw52, -EINVAL, 0);
	init_vm_row(NULL, b_tsx, -EINVAL, 0);
	init_vm_row(NULL, b_unconfigurable, -EINVAL, 0);
	init_vm_row(NULL, b_misc_cg, -EBUSY, 0);
	init_vm_row(NULL, b_package, -EIO, 0);
	init_vm_row(NULL, b_entropy, -EAGAIN, 0);
	init_vm_row(NULL, b_create_busy, -EIO, 0);
	init_vm_row(NULL, b_key_config, -EIO, 0);
	init_vm_row(NULL, b_addcx, -EAGAIN, 0);
	init_vm_row(NULL, b_operand, -EINVAL, TDX_OPERAND_INVALID | TDX_OPERAND_ID_TDR);
	init_vm_row(NULL, b_init_other, -EIO, 0);
	{
		/* GPAW 52 is fine with 5-level EPT. */
		struct kvm_tdx_init_vm *iv = good_init_vm();
		struct mt t;

		mt_init(&t, &five);
		create_td(&t);
		b_gpaw52(&t, iv);
		ck_assert_int_eq(init_vm(&t, iv, NULL), 0);
		closefd(&t, t.vm);
		free(iv);
		mt_fini(&t);
	}
	{
		/* Row 2 (flags) before row 3 (nent); hw_error must be 0 on input. */
		struct kvm_tdx_init_vm *iv = good_init_vm();
		struct kvm_tdx_cmd c = { .id = KVM_TDX_INIT_VM, .flags = 1 };
		struct mt t;

		mt_init(&t, NULL);
		create_td(&t);
		b_flags(&t, iv);
		c.data = (uintptr_t)iv;
		ck_assert_int_eq(ioc(&t, t.vm, KVM_MEMORY_ENCRYPT_OP, &c), -EINVAL);
		c.flags = 0;
		c.hw_error = 5;
		ck_assert_int_eq(ioc(&t, t.vm, KVM_MEMORY_ENCRYPT_OP, &c), -EINVAL);
		c.hw_error = 0;
		c.id = 99;
		ck_assert_int_eq(ioc(&t, t.vm, KVM_MEMORY_ENCRYPT_OP, &c), -EINVAL);
		c.id = KVM_TDX_INIT_VCPU;           /* a vCPU command on the VM fd */
		ck_assert_int_eq(ioc(&t, t.vm, KVM_MEMORY_ENCRYPT_OP, &c), -EINVAL);
		closefd(&t, t.vm);
		free(iv);
		mt_fini(&t);
	}
}
END_TEST

START_TEST(test_hkid_pool)
{
	struct kvm_tdx_init_vm *iv = good_init_vm();
	struct tdx_model_config mc;
	int vm1, vm2;
	struct mt t;

	tdx_model_default_config(&mc);
	mc.hkids = 1;
	mt_init(&t, &mc);
	vm1 = create_td(&t);
	ck_assert_int_eq(init_vm(&t, iv, NULL), 0);
	vm2 = create_td(&t);
	tdx_model_faults(t.m)->create_no_entropy = 1;    /* row 12 (ENOSPC) comes first */
	ck_assert_int_eq(init_vm(&t, iv, NULL), -ENOSPC);
	ck_assert_int_eq(tdx_model_hkids_in_use(t.m), 1);
	closefd(&t, vm1);
	ck_assert_int_eq(tdx_model_hkids_in_use(t.m), 0);
	tdx_model_faults(t.m)->create_no_entropy = 0;
	ck_assert_int_eq(init_vm(&t, iv, NULL), 0);
	/* A failed VPFLUSHDONE leaks the key: the pool shrinks for good. */
	tdx_model_faults(t.m)->flushvp_not_done = true;
	closefd(&t, vm2);
	ck_assert_str_eq(tdx_model_destroy_log(t.m), "TDH.MNG.VPFLUSHDONE=TDX_FLUSHVP_NOT_DONE");
	ck_assert_int_eq(tdx_model_hkids_in_use(t.m), 1);
	create_td(&t);
	ck_assert_int_eq(init_vm(&t, iv, NULL), -ENOSPC);
	closefd(&t, t.vm);
	free(iv);
	mt_fini(&t);
}
END_TEST

START_TEST(test_capabilities_e2big)
{
	struct kvm_tdx_capabilities *c = calloc(1, sizeof(*c) + 64 * sizeof(struct kvm_cpuid_entry2));
	const struct kvm_cpuid_entry2 *g;
	struct mt t;

	mt_init(&t, NULL);
	create_td(&t);
	c->cpuid.nent = 4;
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_CAPABILITIES, 0, (uintptr_t)c, NULL), -E2BIG);
	ck_assert_uint_eq(c->cpuid.nent, 4);        /* NOT updated */
	c->cpuid.nent = CONF_NENT - 1;
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_CAPABILITIES, 0, (uintptr_t)c, NULL), -E2BIG);
	c->cpuid.nent = 64;
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_CAPABILITIES, 1, (uintptr_t)c, NULL), -EINVAL);
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_CAPABILITIES, 0, (uintptr_t)c, NULL), 0);
	ck_assert_uint_eq(c->cpuid.nent, CONF_NENT);
	ck_assert_uint_eq(c->supported_attrs, 1ULL << 28);
	ck_assert_uint_eq(c->user_tdvmcallinfo_1_r11, 1ULL << 1);
	g = kvm_find_cpuid(&c->cpuid, 0x80000008, 0);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(g->eax, 0x00ff0000);
	g = kvm_find_cpuid(&c->cpuid, 7, 0);
	ck_assert_uint_eq(g->ebx & ((1u << 4) | (1u << 11)), 0);   /* TSX never configurable */
	/* Not a TD: no TDX commands at all. */
	{
		int vm0 = ioc(&t, t.kvm.fd, KVM_CREATE_VM, 0);

		ck_assert_int_eq(tdcmd(&t, vm0, KVM_TDX_CAPABILITIES, 0, (uintptr_t)c, NULL),
				 -ENOTTY);
		closefd(&t, vm0);
	}
	closefd(&t, t.vm);
	free(c);
	mt_fini(&t);
}
END_TEST

START_TEST(test_get_cpuid_e2big)
{
	struct kvm_tdx_init_vm *iv = good_init_vm();
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(struct kvm_cpuid_entry2));
	struct mt t;
	int v;

	mt_init(&t, NULL);
	create_td(&t);
	enable(&t, KVM_CAP_SPLIT_IRQCHIP, 24);
	ck_assert_int_eq(init_vm(&t, iv, NULL), 0);
	v = vcpu_ready(&t, 0, true);
	c->nent = 1;
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_GET_CPUID, 0, (uintptr_t)c, NULL), -E2BIG);
	ck_assert_uint_eq(c->nent, 2);              /* updated, unlike CAPABILITIES */
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_GET_CPUID, 0, (uintptr_t)c, NULL), 0);
	ck_assert_uint_eq(c->entries[1].function, 0x80000008);
	closefd(&t, v);
	closefd(&t, t.vm);
	free(c);
	free(iv);
	mt_fini(&t);
}
END_TEST

START_TEST(test_memslots_and_attributes)
{
	struct kvm_tdx_init_vm *iv = good_init_vm();
	void *shared = aligned_alloc(4096, 1 * MiB);
	struct kvm_create_guest_memfd gm = { .size = 1 * MiB };
	struct kvm_userspace_memory_region2 r = { .slot = 0, .flags = KVM_MEM_GUEST_MEMFD,
						  .memory_size = 1 * MiB,
						  .userspace_addr = (uintptr_t)shared };
	struct kvm_memory_attributes a = { .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };
	int g, g2, vm_other;
	struct mt t;

	mt_init(&t, NULL);
	create_td(&t);
	vm_other = ioc(&t, t.kvm.fd, KVM_CREATE_VM, 0);
	/* guest_memfd creation rules. */
	gm.flags = 1;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_CREATE_GUEST_MEMFD, &gm), -EINVAL);
	gm.flags = 0;
	gm.size = 0x1800;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_CREATE_GUEST_MEMFD, &gm), -EINVAL);
	gm.size = 1 * MiB;
	gm.reserved[2] = 1;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_CREATE_GUEST_MEMFD, &gm), -EINVAL);
	gm.reserved[2] = 0;
	g = ioc(&t, t.vm, KVM_CREATE_GUEST_MEMFD, &gm);
	ck_assert_int_ge(g, 0);
	g2 = ioc(&t, vm_other, KVM_CREATE_GUEST_MEMFD, &gm);
	ck_assert_int_ge(g2, 0);
	/* Memslot rules. */
	r.guest_memfd = (uint32_t)g2;                        /* another VM's file */
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EINVAL);
	r.guest_memfd = (uint32_t)g;
	r.guest_memfd_offset = 0x1000;                        /* past the end */
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EINVAL);
	r.guest_memfd_offset = 0;
	r.flags |= KVM_MEM_LOG_DIRTY_PAGES;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EINVAL);
	r.flags = KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EINVAL);
	r.flags = KVM_MEM_GUEST_MEMFD;
	r.slot = 1u << 16;                                    /* no SMM address space */
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EINVAL);
	r.slot = 0;
	r.userspace_addr += 8;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EINVAL);
	r.userspace_addr -= 8;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), 0);
	r.slot = 1;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EEXIST);  /* same GPA */
	r.guest_phys_addr = 2 * MiB;
	/* the same guest_memfd range */
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EEXIST);
	r.slot = 7;
	r.memory_size = 0;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EINVAL);  /* no such slot */
	/* Attributes: shape checks, then split and merge. */
	a.address = 0x800;
	a.size = 0x1000;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), -EINVAL);
	a.address = 0;
	a.size = 0;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), -EINVAL);
	a.size = 1 * MiB;
	a.flags = 1;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), -EINVAL);
	a.flags = 0;
	a.attributes = 1;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), -EINVAL);
	a.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
	ck_assert_int_eq(ioc(&t, vm_other, KVM_SET_MEMORY_ATTRIBUTES, &a), -EINVAL);  /* not a TD */
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
	ck_assert(tdx_model_is_private(t.m, 0) && tdx_model_is_private(t.m, 1 * MiB - 1));
	ck_assert(!tdx_model_is_private(t.m, 1 * MiB));
	a.address = 0x4000;
	a.size = 0x2000;
	a.attributes = 0;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
	ck_assert(tdx_model_is_private(t.m, 0x3000));
	ck_assert(!tdx_model_is_private(t.m, 0x4000) && !tdx_model_is_private(t.m, 0x5fff));
	ck_assert(tdx_model_is_private(t.m, 0x6000));
	a.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
	ck_assert(tdx_model_is_private(t.m, 0x4000));
	/* Deleting the slot, then closing the files. */
	r.slot = 0;
	r.memory_size = 0;
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_USER_MEMORY_REGION2, &r), 0);
	closefd(&t, g);
	closefd(&t, g2);
	closefd(&t, vm_other);
	closefd(&t, t.vm);
	free(iv);
	free(shared);
	mt_fini(&t);
}
END_TEST

/* A TD with RAM [0, 1 MiB) private and one initialised vCPU. */
static int ready_td(struct mt *t, void *shared, int *gmem)
{
	struct kvm_tdx_init_vm *iv = good_init_vm();
	int v;

	create_td(t);
	ck_assert_int_eq(enable(t, KVM_CAP_SPLIT_IRQCHIP, 24), 0);
	ck_assert_int_eq(init_vm(t, iv, NULL), 0);
	free(iv);
	v = vcpu_ready(t, 0, true);
	ck_assert_int_eq(tdcmd(t, v, KVM_TDX_INIT_VCPU, 0, 0x1000, NULL), 0);
	*gmem = private_ram(t, 1 * MiB, shared);
	return v;
}

START_TEST(test_init_mem_region)
{
	uint8_t *src = aligned_alloc(4096, 16 * 4096), *shared = aligned_alloc(4096, 1 * MiB);
	uint8_t want[48], got[48];
	struct kvm_tdx_init_mem_region reg;
	struct kvm_memory_attributes a = { .address = 0x80000, .size = 0x1000 };
	struct measure ms;
	struct mt t;
	int v, g, i;

	for (i = 0; i < 16 * 4096; i++)
		src[i] = (uint8_t)(i * 31 + 7);
	mt_init(&t, NULL);
	v = ready_td(&t, shared, &g);
	/* Shape checks. */
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src + 8, 0x10000, 1 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EINVAL);
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 0x10000, 0 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EINVAL);
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 1ULL << 47, 1 };   /* shared bit */
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EINVAL);
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 0x10000, 1 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 2, (uintptr_t)&reg, NULL), -EINVAL);
	/* No memslot there; a shared page. */
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 4 * MiB, 1 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EINVAL);
	ck_assert_int_eq(ioc(&t, t.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 0x7f000, 2 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EINVAL);
	ck_assert_uint_eq(reg.nr_pages, 1);          /* the first page went in, progress written */
	ck_assert_uint_eq(reg.gpa, 0x80000);
	/* Interrupted after 3 pages, then resumed from the written-back region. */
	tdx_model_faults(t.m)->eintr_after_pages = 3;
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 0x10000, 16 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, KVM_TDX_MEASURE_MEMORY_REGION,
			       (uintptr_t)&reg, NULL), -EINTR);
	ck_assert_uint_eq(reg.nr_pages, 13);
	ck_assert_uint_eq(reg.gpa, 0x13000);
	ck_assert_uint_eq(reg.source_addr, (uintptr_t)src + 3 * 4096);
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, KVM_TDX_MEASURE_MEMORY_REGION,
			       (uintptr_t)&reg, NULL), 0);
	ck_assert_uint_eq(reg.nr_pages, 0);
	ck_assert_mem_eq(tdx_model_private_page(t.m, 0x1f000), src + 15 * 4096, 4096);
	/* Adding a page twice is refused. */
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 0x10000, 1 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EEXIST);
	/* PAGE.ADD busy: -EBUSY, nothing added, retry works. */
	tdx_model_faults(t.m)->page_add_busy = 1;
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 0x20000, 1 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EBUSY);
	ck_assert_uint_eq(reg.nr_pages, 1);
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), 0);
	/* The MRTD: the same sequence through the predictor's primitives. */
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 0, NULL), 0);
	measure_init(&ms);
	measure_page(&ms, 0x7f000, src, false);
	for (i = 0; i < 16; i++)
		measure_page(&ms, 0x10000 + i * 4096ULL, src + i * 4096, true);
	measure_page(&ms, 0x20000, src, false);
	measure_final(&ms, want);
	ck_assert(tdx_model_last_mrtd(t.m, got));
	ck_assert_mem_eq(got, want, 48);
	closefd(&t, v);
	closefd(&t, g);
	closefd(&t, t.vm);
	free(src);
	free(shared);
	mt_fini(&t);
}
END_TEST

START_TEST(test_gmem_gone)
{
	uint8_t *src = aligned_alloc(4096, 4096), *shared = aligned_alloc(4096, 1 * MiB);
	struct kvm_tdx_init_mem_region reg;
	struct mt t;
	int v, g;

	mt_init(&t, NULL);
	v = ready_td(&t, shared, &g);
	closefd(&t, g);
	reg = (struct kvm_tdx_init_mem_region){ (uintptr_t)src, 0x10000, 1 };
	ck_assert_int_eq(tdcmd(&t, v, KVM_TDX_INIT_MEM_REGION, 0, (uintptr_t)&reg, NULL), -EFAULT);
	closefd(&t, v);
	closefd(&t, t.vm);
	free(src);
	free(shared);
	mt_fini(&t);
}
END_TEST

START_TEST(test_finalize_rules)
{
	struct kvm_tdx_init_vm *iv = good_init_vm();
	uint8_t *shared = aligned_alloc(4096, 1 * MiB);
	uint64_t hw = 0;
	struct mt t;
	int v, v2, g;

	/* No vCPU: TDX_NO_VCPUS, EIO, and the VM is dead for good. */
	mt_init(&t, NULL);
	create_td(&t);
	enable(&t, KVM_CAP_SPLIT_IRQCHIP, 24);
	ck_assert_int_eq(init_vm(&t, iv, NULL), 0);
	v2 = vcpu_ready(&t, 3, true);                 /* created, never initialised */
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 0, &hw), -EIO);
	ck_assert_uint_eq(hw, TDX_NO_VCPUS);
	ck_assert_int_eq(kvm_ioctl_val(&t.kvm, t.vm, KVM_CHECK_EXTENSION, 1), -EIO);
	ck_assert_int_eq(ioc(&t, t.vm, KVM_CREATE_VCPU, (void *)1), -EIO);
	ck_assert_int_eq(tdcmd(&t, v2, KVM_TDX_INIT_VCPU, 0, 0, NULL), -EIO);
	closefd(&t, v2);
	closefd(&t, t.vm);
	mt_fini(&t);

	/* Busy, then success; flags/data must be 0. */
	mt_init(&t, NULL);
	v = ready_td(&t, shared, &g);
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 1, 0, &hw), -EINVAL);
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 8, &hw), -EINVAL);
	tdx_model_faults(t.m)->finalize_busy = 1;
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 0, &hw), -EBUSY);
	ck_assert_uint_eq(hw, TDX_OPERAND_BUSY);
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 0, &hw), 0);
	ck_assert_uint_eq(hw, 0);
	{
		/* Zero pages is allowed: the MRTD of nothing is SHA-384("") */
		uint8_t got[48], want[48];

		ck_assert(tdx_model_last_mrtd(t.m, got));
		sha384_digest("", 0, want);
		ck_assert_mem_eq(got, want, 48);
	}
	/* vCPU commands never write hw_error back. */
	{
		struct kvm_tdx_cmd c = { .id = KVM_TDX_INIT_VCPU, .flags = 0 };

		ck_assert_int_eq(ioc(&t, v, KVM_MEMORY_ENCRYPT_OP, &c), -EINVAL);
		ck_assert_uint_eq(c.hw_error, 0);
	}
	closefd(&t, v);
	closefd(&t, g);
	closefd(&t, t.vm);
	free(iv);
	free(shared);
	mt_fini(&t);
}
END_TEST

START_TEST(test_destroy_order_and_refs)
{
	uint8_t *shared = aligned_alloc(4096, 1 * MiB);
	struct mt t;
	int v, g;

	mt_init(&t, NULL);
	v = ready_td(&t, shared, &g);
	tdx_model_faults(t.m)->cache_wb_interrupted = 1;
	/* The VM fd goes first, but vCPU and guest_memfd fds keep the VM alive. */
	closefd(&t, t.vm);
	ck_assert_str_eq(tdx_model_destroy_log(t.m), "");
	ck_assert_int_eq(tdx_model_hkids_in_use(t.m), 1);
	closefd(&t, g);
	ck_assert_str_eq(tdx_model_destroy_log(t.m), "");
	closefd(&t, v);
	ck_assert_str_eq(tdx_model_destroy_log(t.m),
			 "TDH.MNG.VPFLUSHDONE TDH.PHYMEM.CACHE.WB(pkg0)=TDX_INTERRUPTED_RESUMABLE "
			 "TDH.PHYMEM.CACHE.WB(pkg0) "
			 "TDH.PHYMEM.CACHE.WB(pkg1)=TDX_INTERRUPTED_RESUMABLE "
			 "TDH.PHYMEM.CACHE.WB(pkg1) TDH.MNG.KEY.FREEID "
			 "TDH.PHYMEM.PAGE.RECLAIM(TDVPR,vcpu0) TDH.PHYMEM.PAGE.RECLAIM(TDCS) "
			 "TDH.PHYMEM.PAGE.RECLAIM(TDR)");
	ck_assert_int_eq(tdx_model_hkids_in_use(t.m), 0);
	free(shared);
	mt_fini(&t);
}
END_TEST

START_TEST(test_injection_and_fds)
{
	struct kvm_create_guest_memfd gm = { .size = 1 * MiB };
	enum tdx_model_op trace[16];
	int fds0, vms[3], i, g;
	struct mt t;

	mt_init(&t, NULL);
	fds0 = td_env_count_fds();
	for (i = 0; i < 3; i++)
		vms[i] = ioc(&t, t.kvm.fd, KVM_CREATE_VM, (void *)5);
	ck_assert_int_eq(td_env_count_fds(), fds0 + 3);
	ck_assert_int_eq(tdx_model_live_vms(t.m), 3);
	t.vm = vms[0];
	tdx_model_faults(t.m)->fail_op = TM_OP_CREATE_GUEST_MEMFD;
	tdx_model_faults(t.m)->fail_nth = 2;
	tdx_model_faults(t.m)->fail_err = -ENOMEM;
	g = ioc(&t, t.vm, KVM_CREATE_GUEST_MEMFD, &gm);
	ck_assert_int_ge(g, 0);
	ck_assert_int_eq(ioc(&t, t.vm, KVM_CREATE_GUEST_MEMFD, &gm), -ENOMEM);
	ck_assert_uint_eq(tdx_model_calls(t.m, TM_OP_CREATE_GUEST_MEMFD), 2);
	ck_assert_uint_eq(tdx_model_trace(t.m, trace, ARRAY_SIZE(trace)),
			  tdx_model_calls(t.m, TM_OP_CHECK_EXTENSION) + 5);
	ck_assert_str_eq(tdx_model_op_name(TM_OP_TDX_INIT_MEM_REGION), "KVM_TDX_INIT_MEM_REGION");
	closefd(&t, g);
	for (i = 0; i < 3; i++)
		closefd(&t, vms[i]);
	ck_assert_int_eq(td_env_count_fds(), fds0);
	/* mmap of kvm_run: refused for a non-vCPU fd, injectable. */
	errno = 0;
	ck_assert_ptr_null(t.kvm.be->mmap_run(t.kvm.be, t.kvm.fd, 4096 * 3));
	ck_assert_int_eq(t.kvm.be->munmap_run(t.kvm.be, (void *)&t, 1), -EINVAL);
	mt_fini(&t);
}
END_TEST

START_TEST(test_run_rules)
{
	uint8_t *shared = aligned_alloc(4096, 1 * MiB);
	struct kvm_run *run;
	struct mt t;
	int v, g;

	mt_init(&t, NULL);
	v = ready_td(&t, shared, &g);
	run = t.kvm.be->mmap_run(t.kvm.be, v, (size_t)t.kvm.vcpu_mmap_size);
	ck_assert_ptr_nonnull(run);
	ck_assert_ptr_null(t.kvm.be->mmap_run(t.kvm.be, v, (size_t)t.kvm.vcpu_mmap_size));
	ck_assert_int_eq(ioc(&t, v, KVM_RUN, NULL), -EINVAL);     /* not finalized */
	ck_assert_int_eq(tdcmd(&t, t.vm, KVM_TDX_FINALIZE_VM, 0, 0, NULL), 0);
	run->immediate_exit = 1;
	ck_assert_int_eq(ioc(&t, v, KVM_RUN, NULL), -EINTR);
	run->immediate_exit = 0;
	/* An empty script: the guest powers off. */
	ck_assert_int_eq(ioc(&t, v, KVM_RUN, NULL), 0);
	ck_assert_uint_eq(run->exit_reason, KVM_EXIT_SYSTEM_EVENT);
	ck_assert_uint_eq(run->system_event.type, KVM_SYSTEM_EVENT_SHUTDOWN);
	/* A vCPU fd closed before its kvm_run is unmapped: the mapping still works. */
	closefd(&t, v);
	closefd(&t, g);
	closefd(&t, t.vm);
	ck_assert_int_eq(t.kvm.be->munmap_run(t.kvm.be, run, (size_t)t.kvm.vcpu_mmap_size), 0);
	free(shared);
	mt_fini(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tdx_model");
	TCase *tc = tcase_create("abi");

	tcase_add_test(tc, test_probe_and_types);
	tcase_add_test(tc, test_ordering_rules);
	tcase_add_test(tc, test_vcpu_needs_split_irqchip);
	tcase_add_test(tc, test_init_vm_table);
	tcase_add_test(tc, test_hkid_pool);
	tcase_add_test(tc, test_capabilities_e2big);
	tcase_add_test(tc, test_get_cpuid_e2big);
	tcase_add_test(tc, test_memslots_and_attributes);
	tcase_add_test(tc, test_init_mem_region);
	tcase_add_test(tc, test_gmem_gone);
	tcase_add_test(tc, test_finalize_rules);
	tcase_add_test(tc, test_destroy_order_and_refs);
	tcase_add_test(tc, test_injection_and_fds);
	tcase_add_test(tc, test_run_rules);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
