/*
 * Unit tests for the userspace interrupt fabric (devices/irqchip/apic_bus.c:
 * routing between LAPICs, IOAPIC and PIC) and for the irqchip glue
 * (vmm/irqchip.c) driven through a fake KVM backend: injection rules,
 * HLT/interrupt-window handling, INIT/SIPI, SMI hand-off, CR8 sync, and the
 * KVM objects and GSI routing set up in kernel and split modes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/support.h"
#include "devices/irqchip/apic_bus.h"
#include "devices/irqchip/ioapic.h"
#include "devices/irqchip/lapic.h"
#include "devices/irqchip/pic.h"
#include "devices/irqchip/pit.h"
#include "vmm/err.h"
#include "vmm/exit.h"
#include "vmm/irqchip.h"
#include "vmm/kvm.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

/* ================================================================== */
/* Part 1: the fabric                                                  */
/* ================================================================== */

#define NCPU 4

struct fab {
	struct fake_clock fc;
	struct lapic l[NCPU];
	struct apic_bus bus;
	struct ioapic io;
	struct pic pic;
	unsigned notified[NCPU];
};

static void fab_send(void *opaque, const struct apic_msg *m)
{
	apic_bus_deliver(&((struct fab *)opaque)->bus, m);
}

static void fab_eoi(void *opaque, uint8_t v)
{
	apic_bus_eoi(&((struct fab *)opaque)->bus, v);
}

static void fab_notify(void *opaque, int cpu)
{
	((struct fab *)opaque)->notified[cpu]++;
}

static bool fab_io_deliver(void *opaque, const struct apic_msg *m)
{
	return apic_bus_deliver(&((struct fab *)opaque)->bus, m) != 0;
}

static void fab_pic_intr(void *opaque, int level)
{
	apic_bus_pic_intr(&((struct fab *)opaque)->bus, level);
}

static void fab_init(struct fab *f)
{
	struct ioapic_cfg ic = { .deliver = fab_io_deliver, .opaque = f };
	struct pic_cfg pc = { .intr = fab_pic_intr, .opaque = f };
	int i;

	memset(f, 0, sizeof(*f));
	fake_clock_init(&f->fc, 1000);
	ioapic_init(&f->io, &ic);
	pic_init(&f->pic, &pc);
	apic_bus_init(&f->bus, &f->io, &f->pic);
	for (i = 0; i < NCPU; i++) {
		struct lapic_cfg lc = {
			.cpu = i, .apic_id = (uint8_t)i, .bsp = i == 0, .clock = &f->fc.clock,
			.cb = { .send = fab_send, .eoi = fab_eoi, .notify = fab_notify, .opaque = f },
		};

		lapic_init(&f->l[i], &lc);
		ck_assert_int_eq(apic_bus_add_lapic(&f->bus, &f->l[i]), 0);
		lapic_write_reg(&f->l[i], LAPIC_SVR, 0x1ff);
	}
}

static uint32_t lrd(struct fab *f, int cpu, unsigned off)
{
	struct io_ctx ctx = { .cpu = cpu };

	return (uint32_t)apic_bus_mmio_ops.read(&f->bus, &ctx, off, 4);
}

static void lwr(struct fab *f, int cpu, unsigned off, uint32_t v)
{
	struct io_ctx ctx = { .cpu = cpu };

	apic_bus_mmio_ops.write(&f->bus, &ctx, off, v, 4);
}

static struct apic_msg msg(uint8_t dest, bool logical, uint8_t dm, uint8_t vec)
{
	return (struct apic_msg){ .dest = dest, .logical = logical, .delivery = dm, .vector = vec,
				  .level = true, .src = -1 };
}

START_TEST(test_fab_physical_and_shorthands)
{
	struct fab f;
	struct apic_msg m = msg(2, false, APIC_DM_FIXED, 0x40);

	fab_init(&f);
	ck_assert_uint_eq(apic_bus_deliver(&f.bus, &m), 1u << 2);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 2), 0x40);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 1), -1);
	m.dest = 0xff;
	ck_assert_uint_eq(apic_bus_deliver(&f.bus, &m), 0xf);
	m.dest = 9;   /* nobody */
	ck_assert_uint_eq(apic_bus_deliver(&f.bus, &m), 0);
	/* Shorthands use the sender, not the destination field. */
	m = msg(0, false, APIC_DM_FIXED, 0x50);
	m.src = 1;
	m.shorthand = APIC_SH_SELF;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 1u << 1);
	m.shorthand = APIC_SH_ALL;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0xf);
	m.shorthand = APIC_SH_OTHERS;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0xd);
	/* A message without a sender and "self" reaches nobody. */
	m.src = -1;
	m.shorthand = APIC_SH_SELF;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0);
	m.src = 77;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0);
	/* IPIs written to a LAPIC's ICR travel on the bus. */
	lwr(&f, 3, LAPIC_ICR_HI, 0x01000000);
	lwr(&f, 3, LAPIC_ICR_LO, 0x00000066);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 1), 0x66);
	lwr(&f, 0, LAPIC_ICR_LO, 0x000c0077);    /* all excluding self */
	ck_assert_uint_eq(lrd(&f, 0, LAPIC_IRR + 0x30) & (1u << 23), 0);
	ck_assert_uint_eq(lrd(&f, 2, LAPIC_IRR + 0x30) & (1u << 23), 1u << 23);
	/* Bad CPU numbers. */
	ck_assert_int_eq(apic_bus_pending(&f.bus, -1), -1);
	ck_assert_int_eq(apic_bus_ack(&f.bus, NCPU), -1);
}
END_TEST

START_TEST(test_fab_logical)
{
	struct fab f;
	struct apic_msg m;
	int i;

	fab_init(&f);
	/* Flat: one bit per CPU. */
	for (i = 0; i < NCPU; i++)
		lwr(&f, i, LAPIC_LDR, 1u << (24 + i));
	m = msg(0x05, true, APIC_DM_FIXED, 0x41);
	ck_assert_uint_eq(apic_bus_deliver(&f.bus, &m), 0x5);
	m.dest = 0xf0;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0);
	/* Cluster: CPUs 0,1 in cluster 1; CPUs 2,3 in cluster 2. */
	for (i = 0; i < NCPU; i++) {
		lwr(&f, i, LAPIC_DFR, 0x0fffffff);
		lwr(&f, i, LAPIC_LDR, (uint32_t)((1 + i / 2) << 4 | 1 << (i % 2)) << 24);
	}
	m.dest = 0x13;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0x3);
	m.dest = 0x22;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0x8);
	m.dest = 0xf1;    /* member 0 of every cluster */
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0x5);
	m.dest = 0x31;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0);
	m.dest = 0xff;
	ck_assert_uint_eq(apic_bus_dest_mask(&f.bus, &m), 0xf);
}
END_TEST

START_TEST(test_fab_lowest_priority)
{
	struct fab f;
	struct apic_msg m = msg(0xff, false, APIC_DM_LOWPRI, 0x45);
	uint64_t a, b;

	fab_init(&f);
	lwr(&f, 0, LAPIC_TPR, 0x20);
	lwr(&f, 1, LAPIC_TPR, 0x10);
	lwr(&f, 2, LAPIC_TPR, 0x30);
	lwr(&f, 3, LAPIC_TPR, 0x10);
	/* CPUs 1 and 3 tie at the lowest priority: they take turns. */
	a = apic_bus_deliver(&f.bus, &m);
	ck_assert(a == 0x2 || a == 0x8);
	lapic_ack_interrupt(&f.l[__builtin_ctzll(a)]);
	lwr(&f, __builtin_ctzll(a), LAPIC_EOI, 0);
	b = apic_bus_deliver(&f.bus, &m);
	ck_assert(b == 0x2 || b == 0x8);
	ck_assert_uint_ne(a, b);
	/* Focus processor: the CPU that already has the vector pending wins. */
	m.vector = 0x46;
	lapic_accept(&f.l[2], &m);
	ck_assert_uint_eq(apic_bus_deliver(&f.bus, &m), 0x4);
	/* ...unless it disabled focus checking. */
	lwr(&f, 2, LAPIC_SVR, 0x3ff);
	m.vector = 0x47;
	lapic_accept(&f.l[2], &m);
	a = apic_bus_deliver(&f.bus, &m);
	ck_assert(a == 0x2 || a == 0x8);
	/* Software-disabled APICs don't take part. */
	lwr(&f, 1, LAPIC_SVR, 0xff);
	lwr(&f, 3, LAPIC_SVR, 0xff);
	m.vector = 0x48;
	ck_assert_uint_eq(apic_bus_deliver(&f.bus, &m), 0x1);
	/* Restricted to the destination set. */
	m.dest = 0x02;
	m.vector = 0x49;
	ck_assert_uint_eq(apic_bus_deliver(&f.bus, &m), 0x4);
	/* Nobody eligible. */
	m.dest = 0x01;
	lwr(&f, 1, LAPIC_SVR, 0xff);
	ck_assert_uint_eq(apic_bus_deliver(&f.bus, &m), 0);
}
END_TEST

START_TEST(test_fab_msi)
{
	struct fab f;
	struct apic_msg m, d;
	uint64_t addr;
	uint32_t data;

	fab_init(&f);
	m = msg(0x03, true, APIC_DM_FIXED, 0x7b);
	m.trig_level = true;
	apic_bus_msi_encode(&m, &addr, &data);
	ck_assert_uint_eq(addr, 0xfee03004ULL);
	ck_assert_uint_eq(data, 0xc07b);
	ck_assert(apic_bus_msi_decode(addr, data, &d));
	ck_assert_uint_eq(d.dest, 3);
	ck_assert(d.logical);
	ck_assert(d.trig_level);
	ck_assert(d.level);
	ck_assert_uint_eq(d.vector, 0x7b);
	ck_assert_int_eq(d.src, -1);
	/* Redirection hint turns fixed into lowest priority. */
	ck_assert(apic_bus_msi_decode(0xfee0000cULL, 0x0031, &d));
	ck_assert_uint_eq(d.delivery, APIC_DM_LOWPRI);
	/* Edge MSIs are asserts whatever bit 14 says. */
	ck_assert(apic_bus_msi_decode(0xfee01000ULL, 0x0031, &d));
	ck_assert(d.level);
	/* Outside the interrupt window: not an interrupt. */
	ck_assert(!apic_bus_msi_decode(0xfed00000ULL, 0x31, &d));
	ck_assert(!apic_bus_msi_decode(0x1fee00000ULL, 0x31, &d));
	ck_assert_uint_eq(apic_bus_msi(&f.bus, 0xdead0000ULL, 0x31), 0);
	/* Delivered: physical CPU 2, vector 0x90. */
	ck_assert_uint_eq(apic_bus_msi(&f.bus, 0xfee02000ULL, 0x4090), 0x4);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 2), 0x90);
	/* NMI and SMI messages latch events. */
	apic_bus_msi(&f.bus, 0xfee01000ULL, 0x0400);
	apic_bus_msi(&f.bus, 0xfee01000ULL, 0x0200);
	ck_assert_uint_eq(lapic_events(&f.l[1]), LAPIC_EV_NMI | LAPIC_EV_SMI);
}
END_TEST

START_TEST(test_fab_ioapic_routing)
{
	struct fab f;
	struct io_ctx ctx = { .cpu = -1 };
	uint8_t irr;

	fab_init(&f);
	/* Pin 4: level, vector 0x51, physical CPU 1. */
	ioapic_write_reg(&f.io, 0x19, 1u << 24);
	ioapic_write_reg(&f.io, 0x18, 0x8051);
	apic_bus_set_gsi(&f.bus, 4, 1);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 1), 0x51);
	ck_assert_uint_eq(lrd(&f, 1, LAPIC_TMR + 0x20) & (1u << 17), 1u << 17);
	ck_assert_int_eq(apic_bus_ack(&f.bus, 1), 0x51);
	/* EOI with the line still high: the IOAPIC delivers again. */
	lwr(&f, 1, LAPIC_EOI, 0);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 1), 0x51);
	ck_assert_int_eq(apic_bus_ack(&f.bus, 1), 0x51);
	apic_bus_set_gsi(&f.bus, 4, 0);
	lwr(&f, 1, LAPIC_EOI, 0);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 1), -1);
	ck_assert_uint_eq(ioapic_redir(&f.io, 4) & IOAPIC_RE_REMOTE, 0);
	/* ISA IRQ 0 arrives on pin 2 (to CPU 3) and on PIC input 0, which the
	 * BSP sees through its LINT0 virtual wire. */
	ioapic_write_reg(&f.io, 0x15, 3u << 24);
	ioapic_write_reg(&f.io, 0x14, 0x30);
	apic_bus_set_gsi(&f.bus, 0, 1);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 3), 0x30);
	ck_assert_uint_eq(f.pic.chip[0].irr & 1, 1);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 0), APIC_BUS_EXTINT);
	/* GSI 2 is the cascade: nothing. GSI 16 is IOAPIC only. */
	ck_assert_int_eq(apic_bus_gsi_pin(2), -1);
	ck_assert_int_eq(apic_bus_gsi_pin(0), 2);
	ck_assert_int_eq(apic_bus_gsi_pin(16), 16);
	ck_assert_int_eq(apic_bus_gsi_pin(24), -1);
	apic_bus_set_gsi(&f.bus, 2, 1);
	ck_assert_uint_eq(f.io.line & (1u << 2), 1u << 2);   /* from IRQ 0 still */
	apic_bus_set_gsi(&f.bus, 0, 0);
	apic_bus_set_gsi(&f.bus, 2, 1);
	ck_assert_uint_eq(f.io.line & (1u << 2), 0);
	irr = f.pic.chip[0].irr;
	apic_bus_set_gsi(&f.bus, 16, 1);
	ck_assert_uint_eq(f.io.line & (1u << 16), 1u << 16);
	ck_assert_uint_eq(f.pic.chip[0].irr, irr);
	ck_assert_uint_eq(f.pic.chip[1].irr, 0);
	apic_bus_set_gsi(&f.bus, 1000, 1);
	/* LAPIC MMIO without a CPU context: reads 0, writes dropped. */
	ck_assert_uint_eq(apic_bus_mmio_ops.read(&f.bus, &ctx, LAPIC_ID, 4), 0);
	apic_bus_mmio_ops.write(&f.bus, &ctx, LAPIC_TPR, 0x40, 4);
	ctx.cpu = NCPU;
	ck_assert_uint_eq(apic_bus_mmio_ops.read(&f.bus, &ctx, LAPIC_VER, 4), 0);
	ck_assert_uint_eq(lrd(&f, 3, LAPIC_ID), 3u << 24);
}
END_TEST

START_TEST(test_fab_extint)
{
	struct fab f;

	fab_init(&f);
	/* PIC: vectors 0x20/0x28, cascade, 8086 mode. */
	dev_write(&pic_ops, &f.pic.chip[0], 0, 0x11, 1);
	dev_write(&pic_ops, &f.pic.chip[0], 1, 0x20, 1);
	dev_write(&pic_ops, &f.pic.chip[0], 1, 0x04, 1);
	dev_write(&pic_ops, &f.pic.chip[0], 1, 0x01, 1);
	dev_write(&pic_ops, &f.pic.chip[1], 0, 0x11, 1);
	dev_write(&pic_ops, &f.pic.chip[1], 1, 0x28, 1);
	dev_write(&pic_ops, &f.pic.chip[1], 1, 0x02, 1);
	dev_write(&pic_ops, &f.pic.chip[1], 1, 0x01, 1);
	apic_bus_set_gsi(&f.bus, 1, 1);
	/* Virtual wire: only the BSP (LINT0 ExtINT) takes it. */
	ck_assert_int_eq(apic_bus_pending(&f.bus, 0), APIC_BUS_EXTINT);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 1), -1);
	ck_assert_uint_ge(f.notified[0], 1);
	ck_assert_int_eq(apic_bus_ack(&f.bus, 0), 0x21);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 0), -1);
	/* ExtINT beats a fixed interrupt of any priority. */
	apic_bus_set_gsi(&f.bus, 12, 1);
	lapic_write_reg(&f.l[0], LAPIC_TPR, 0);
	{
		struct apic_msg m = msg(0, false, APIC_DM_FIXED, 0xfe);

		apic_bus_deliver(&f.bus, &m);
	}
	dev_write(&pic_ops, &f.pic.chip[0], 0, 0x20, 1);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 0), APIC_BUS_EXTINT);
	ck_assert_int_eq(apic_bus_ack(&f.bus, 0), 0x2c);
	ck_assert_int_eq(apic_bus_ack(&f.bus, 0), 0xfe);
	/* Masking LINT0 cuts the wire; an AP programmed for ExtINT takes it instead. */
	apic_bus_set_gsi(&f.bus, 12, 0);
	dev_write(&pic_ops, &f.pic.chip[1], 0, 0x20, 1);
	dev_write(&pic_ops, &f.pic.chip[0], 0, 0x20, 1);
	lwr(&f, 0, LAPIC_LVT_LINT0, 0x10700);
	lwr(&f, 2, LAPIC_LVT_LINT0, 0x00700);
	apic_bus_set_gsi(&f.bus, 3, 1);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 0), -1);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 2), APIC_BUS_EXTINT);
	ck_assert_int_eq(apic_bus_ack(&f.bus, 2), 0x23);
	/* ExtINT through the IOAPIC (pin 0 in ExtINT mode) with nothing in the PIC:
	 * the INTA gets the PIC's spurious vector. */
	ioapic_write_reg(&f.io, 0x11, 1u << 24);
	ioapic_write_reg(&f.io, 0x10, 0x700);
	ioapic_set_irq(&f.io, 0, 1);
	ck_assert_int_eq(apic_bus_pending(&f.bus, 1), APIC_BUS_EXTINT);
	ck_assert_int_eq(apic_bus_ack(&f.bus, 1), 0x27);
}
END_TEST

START_TEST(test_fab_init_sipi_smi)
{
	struct fab f;
	uint8_t vec = 0;

	fab_init(&f);
	/* The BSP wakes the APs: INIT, SIPI to all excluding self. */
	lwr(&f, 0, LAPIC_ICR_LO, 0x000c4500);
	lwr(&f, 0, LAPIC_ICR_LO, 0x000c4608);
	ck_assert(!lapic_init_pending(&f.l[0]));
	ck_assert(lapic_init_pending(&f.l[3]));
	lapic_do_init(&f.l[3]);
	ck_assert(lapic_take_sipi(&f.l[3], &vec));
	ck_assert_uint_eq(vec, 0x08);
	/* SMI to self by physical destination = own APIC ID (OVMF relocation). */
	lwr(&f, 2, LAPIC_ICR_HI, 2u << 24);
	lwr(&f, 2, LAPIC_ICR_LO, 0x00004200);
	ck_assert_uint_eq(lapic_events(&f.l[2]) & LAPIC_EV_SMI, LAPIC_EV_SMI);
	ck_assert_uint_eq(lapic_events(&f.l[1]) & LAPIC_EV_SMI, 0);
	/* SMI broadcast including self. */
	lwr(&f, 1, LAPIC_ICR_LO, 0x00084200);
	ck_assert(lapic_take_smi(&f.l[0]));
	ck_assert(lapic_take_smi(&f.l[1]));
	ck_assert(lapic_take_smi(&f.l[3]));
}
END_TEST

/* ================================================================== */
/* Part 2: the glue, on a fake KVM                                     */
/* ================================================================== */

#define FAKE_VCPUS 4
#define FAKE_VCPU_FD 100

struct fake_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int nset_regs, nset_sregs, nnmi, nrun;
	int irq[32];
	int nirq;
	int last_cpuid_nent;
	uint32_t last_cpuid1_ecx;
};

static struct fake_kvm {
	pthread_mutex_t lock;
	bool no_irqchip_cap;
	struct fake_vcpu vcpu[FAKE_VCPUS];
	int created_irqchip, created_pit, pit_flags;
	int enable_cap, enable_cap_arg;
	struct kvm_irq_routing_entry routes[2048];
	unsigned nroutes, nset_routing;
	struct kvm_irq_level lines[64];
	unsigned nlines;
	struct kvm_msi msis[64];
	unsigned nmsi;
	int signal_msi_ret;
	struct kvm_irqfd irqfd;
} fk;

static void fk_reset(void)
{
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.lock, NULL);
	fk.signal_msi_ret = 1;
}

static int fk_open(struct kvm_backend *b, const char *path)
{
	return 3;
}

static int fk_close(struct kvm_backend *b, int fd)
{
	return 0;
}

static int fk_cap(long cap)
{
	switch (cap) {
	case KVM_CAP_NR_MEMSLOTS:
		return 32;
	case KVM_CAP_MAX_VCPUS:
		return FAKE_VCPUS;
	case KVM_CAP_IRQCHIP:
		return !fk.no_irqchip_cap;
	default:
		return 1;
	}
}

static int fk_ioctl_locked(int fd, unsigned long req, void *arg)
{
	struct fake_vcpu *fv = fd >= FAKE_VCPU_FD && fd < FAKE_VCPU_FD + FAKE_VCPUS ?
				       &fk.vcpu[fd - FAKE_VCPU_FD] : NULL;

	switch (req) {
	case KVM_GET_API_VERSION:
		return KVM_API_VERSION;
	case KVM_GET_VCPU_MMAP_SIZE:
		return 3 * 4096;
	case KVM_CHECK_EXTENSION:
		return fk_cap((long)(uintptr_t)arg);
	case KVM_GET_SUPPORTED_CPUID: {
		struct kvm_cpuid2 *c = arg;

		if (c->nent < 2)
			return -E2BIG;
		c->nent = 2;
		memset(c->entries, 0, 2 * sizeof(c->entries[0]));
		c->entries[0].function = 0;
		c->entries[0].eax = 1;
		c->entries[1].function = 1;
		c->entries[1].eax = 0x000806f2;
		c->entries[1].ecx = 1u << 21;     /* x2APIC, to be hidden */
		c->entries[1].edx = 1u << 9;      /* APIC */
		return 0;
	}
	case KVM_CREATE_VM:
		return 10;
	case KVM_CREATE_VCPU:
		return FAKE_VCPU_FD + (int)(uintptr_t)arg;
	case KVM_SET_CPUID2:
		fv->last_cpuid_nent = (int)((struct kvm_cpuid2 *)arg)->nent;
		fv->last_cpuid1_ecx = ((struct kvm_cpuid2 *)arg)->entries[1].ecx;
		return 0;
	case KVM_GET_SREGS:
		*(struct kvm_sregs *)arg = fv->sregs;
		return 0;
	case KVM_SET_SREGS:
		fv->sregs = *(struct kvm_sregs *)arg;
		fv->nset_sregs++;
		return 0;
	case KVM_GET_REGS:
		*(struct kvm_regs *)arg = fv->regs;
		return 0;
	case KVM_SET_REGS:
		fv->regs = *(struct kvm_regs *)arg;
		fv->nset_regs++;
		return 0;
	case KVM_INTERRUPT:
		if (fv->nirq < (int)ARRAY_SIZE(fv->irq))
			fv->irq[fv->nirq] = (int)((struct kvm_interrupt *)arg)->irq;
		fv->nirq++;
		return 0;
	case KVM_NMI:
		fv->nnmi++;
		return 0;
	case KVM_RUN:
		fv->nrun++;
		return -EINTR;
	case KVM_CREATE_IRQCHIP:
		fk.created_irqchip++;
		return 0;
	case KVM_CREATE_PIT2:
		fk.created_pit++;
		fk.pit_flags = (int)((struct kvm_pit_config *)arg)->flags;
		return 0;
	case KVM_ENABLE_CAP:
		fk.enable_cap = (int)((struct kvm_enable_cap *)arg)->cap;
		fk.enable_cap_arg = (int)((struct kvm_enable_cap *)arg)->args[0];
		return 0;
	case KVM_SET_GSI_ROUTING: {
		struct kvm_irq_routing *rt = arg;

		ck_assert_uint_le(rt->nr, ARRAY_SIZE(fk.routes));
		memcpy(fk.routes, rt->entries, rt->nr * sizeof(rt->entries[0]));
		fk.nroutes = rt->nr;
		fk.nset_routing++;
		return 0;
	}
	case KVM_IRQ_LINE:
		if (fk.nlines < ARRAY_SIZE(fk.lines))
			fk.lines[fk.nlines] = *(struct kvm_irq_level *)arg;
		fk.nlines++;
		return 0;
	case KVM_SIGNAL_MSI:
		if (fk.nmsi < ARRAY_SIZE(fk.msis))
			fk.msis[fk.nmsi] = *(struct kvm_msi *)arg;
		fk.nmsi++;
		return fk.signal_msi_ret;
	case KVM_IRQFD:
		fk.irqfd = *(struct kvm_irqfd *)arg;
		return 0;
	case KVM_SET_DEBUGREGS:
	case KVM_GET_VCPU_EVENTS:
	case KVM_SET_VCPU_EVENTS:
	case KVM_SET_MP_STATE:
	case KVM_GET_MP_STATE:
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
		return 0;
	default:
		return -ENOTTY;
	}
}

static int fk_ioctl(struct kvm_backend *b, int fd, unsigned long req, void *arg)
{
	int r;

	pthread_mutex_lock(&fk.lock);
	r = fk_ioctl_locked(fd, req, arg);
	pthread_mutex_unlock(&fk.lock);
	return r;
}

static void *fk_mmap_run(struct kvm_backend *b, int fd, size_t len)
{
	return calloc(1, len);
}

static int fk_munmap_run(struct kvm_backend *b, void *p, size_t len)
{
	free(p);
	return 0;
}

static struct kvm_backend fk_backend = {
	.name = "fake", .open = fk_open, .close = fk_close, .ioctl = fk_ioctl,
	.mmap_run = fk_mmap_run, .munmap_run = fk_munmap_run,
};

struct g {
	struct kvm kvm;
	struct vm *vm;
	struct irqchip *ic;
	struct fake_clock fc;
	struct vcpu *v[FAKE_VCPUS];
	int smis[FAKE_VCPUS];
	volatile bool smi_pend[FAKE_VCPUS];
};

static bool g_smi_pending(void *opaque, int cpu)
{
	struct g *g = opaque;

	return cpu >= 0 && cpu < FAKE_VCPUS && g->smi_pend[cpu];
}

static void g_smi(void *opaque, int cpu)
{
	struct g *g = opaque;

	ck_assert_int_ge(cpu, 0);
	ck_assert_int_lt(cpu, FAKE_VCPUS);
	g->smis[cpu]++;
}

static int g_open(struct g *g, enum irqchip_mode mode, int ncpu)
{
	struct irqchip_cfg cfg = {
		.mode = mode, .nr_cpus = ncpu, .smi = g_smi, .smi_pending = g_smi_pending,
		.opaque = g,
	};
	int i, r;

	memset(g, 0, sizeof(*g));
	fk_reset();
	fake_clock_init(&g->fc, 1000000);
	cfg.clock = &g->fc.clock;
	ck_assert_int_eq(kvm_open(&g->kvm, &fk_backend, "/fake/kvm"), 0);
	ck_assert_int_eq(vm_create(&g->kvm, 0, &g->vm), 0);
	r = irqchip_create(g->vm, &cfg, &g->ic);
	if (r < 0)
		return r;
	for (i = 0; i < ncpu; i++)
		ck_assert_int_eq(vcpu_create(g->vm, i, &g->v[i]), 0);
	return 0;
}

static void g_close(struct g *g)
{
	irqchip_destroy(g->ic);
	vm_destroy(g->vm);
	kvm_close(&g->kvm);
}

static const struct vcpu_hooks *hooks(struct g *g)
{
	ck_assert_int_ge(g->vm->nr_hooks, 1);
	return g->vm->hooks[0].ops;
}

static int pre_run(struct g *g, int cpu)
{
	return hooks(g)->pre_run(g->vm->hooks[0].opaque, g->v[cpu]);
}

/* A KVM_RUN return as the vCPU loop sees it: fields, post_run, dispatch. */
static enum vcpu_action exit_with(struct g *g, int cpu, uint32_t reason, bool ready, bool if_flag)
{
	struct kvm_run *run = g->v[cpu]->run;

	run->exit_reason = reason;
	run->ready_for_interrupt_injection = ready;
	run->if_flag = if_flag;
	/* KVM reports IA32_APIC_BASE at every exit. */
	pthread_mutex_lock(&fk.lock);
	run->apic_base = fk.vcpu[cpu].sregs.apic_base;
	pthread_mutex_unlock(&fk.lock);
	hooks(g)->post_run(g->vm->hooks[0].opaque, g->v[cpu]);
	return vcpu_handle_exit(g->v[cpu], run);
}

static uint32_t mmio_rd(struct g *g, int cpu, uint64_t addr)
{
	struct io_ctx ctx = { .cpu = cpu };
	uint32_t v = 0;

	bus_read(&g->vm->mmio, &ctx, addr, &v, 4);
	return v;
}

static void mmio_wr(struct g *g, int cpu, uint64_t addr, uint32_t v)
{
	struct io_ctx ctx = { .cpu = cpu };

	bus_write(&g->vm->mmio, &ctx, addr, &v, 4);
}

static void pio_wr(struct g *g, uint16_t port, uint8_t v)
{
	struct io_ctx ctx = { .cpu = 0 };

	bus_write(&g->vm->pio, &ctx, port, &v, 1);
}

START_TEST(test_glue_create_errors)
{
	struct g g;
	struct irqchip_cfg cfg = { .mode = IRQCHIP_USER, .nr_cpus = 0 };
	struct irqchip *ic;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 1), 0);
	g_close(&g);
	fk_reset();
	ck_assert_int_eq(kvm_open(&g.kvm, &fk_backend, "/fake/kvm"), 0);
	ck_assert_int_eq(vm_create(&g.kvm, 0, &g.vm), 0);
	ck_assert_int_eq(irqchip_create(g.vm, &cfg, &ic), -EINVAL);
	cfg.nr_cpus = VM_MAX_VCPUS + 1;
	ck_assert_int_eq(irqchip_create(g.vm, &cfg, &ic), -EINVAL);
	cfg.nr_cpus = 2;   /* no clock */
	ck_assert_int_eq(irqchip_create(g.vm, &cfg, &ic), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err_get(), "clock"));
	cfg.mode = (enum irqchip_mode)7;
	ck_assert_int_eq(irqchip_create(g.vm, &cfg, &ic), -EINVAL);
	/* A host without the in-kernel irqchip: a clear message, nothing left behind. */
	fk.no_irqchip_cap = true;
	g.kvm.caps.irqchip = false;
	cfg.mode = IRQCHIP_KERNEL;
	ck_assert_int_eq(irqchip_create(g.vm, &cfg, &ic), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err_get(), "kernel-irqchip=off"));
	ck_assert_int_eq(g.vm->nr_hooks, 0);
	ck_assert_int_eq(fk.created_irqchip, 0);
	vm_destroy(g.vm);
	kvm_close(&g.kvm);
}
END_TEST

START_TEST(test_glue_user_setup)
{
	struct g g;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 2), 0);
	ck_assert_int_eq(irqchip_mode(g.ic), IRQCHIP_USER);
	ck_assert_str_eq(irqchip_mode_name(IRQCHIP_USER), "userspace");
	ck_assert_str_eq(irqchip_mode_name((enum irqchip_mode)9), "?");
	/* CPUID set with x2APIC hidden, APIC base loaded. */
	ck_assert_int_eq(fk.vcpu[0].last_cpuid_nent, 2);
	ck_assert_uint_eq(fk.vcpu[1].last_cpuid1_ecx & (1u << 21), 0);
	ck_assert_uint_eq(fk.vcpu[0].sregs.apic_base, 0xfee00900ULL);
	ck_assert_uint_eq(fk.vcpu[1].sregs.apic_base, 0xfee00800ULL);
	/* The LAPIC page answers per CPU; the IOAPIC and PIC are on their buses. */
	ck_assert_uint_eq(mmio_rd(&g, 1, MM_LAPIC + LAPIC_ID), 1u << 24);
	ck_assert_uint_eq(mmio_rd(&g, 0, MM_LAPIC + LAPIC_VER), LAPIC_VERSION);
	mmio_wr(&g, 0, MM_IOAPIC, IOAPIC_REG_VER);
	ck_assert_uint_eq(mmio_rd(&g, 0, MM_IOAPIC + IOAPIC_WINDOW), IOAPIC_VERSION);
	ck_assert_ptr_nonnull(bus_find(&g.vm->pio, PORT_PIC_MASTER));
	ck_assert_ptr_nonnull(bus_find(&g.vm->pio, PORT_PIC_SLAVE + 1));
	ck_assert_ptr_nonnull(bus_find(&g.vm->pio, PORT_ELCR + 1));
	ck_assert_ptr_nonnull(bus_find(&g.vm->pio, PORT_PIT + 3));
	ck_assert_ptr_nonnull(bus_find(&g.vm->pio, PORT_PORT61));
	/* Lines: IRQ 2 and GSIs >= 24 have none. */
	ck_assert_ptr_null(irqchip_gsi(g.ic, 2));
	ck_assert_ptr_null(irqchip_gsi(g.ic, 24));
	ck_assert_ptr_nonnull(irqchip_gsi(g.ic, 23));
	ck_assert_ptr_nonnull(irqchip_msi(g.ic));
	/* Userspace mode has no MSI routes or irqfds. */
	ck_assert_int_eq(irqchip_msi_route_add(g.ic, 0xfee00000, 0x30), -ENOTSUP);
	ck_assert_int_eq(irqchip_irqfd(g.ic, 5, 30, true), -ENOTSUP);
	ck_assert_int_eq(irqchip_msi_route_del(g.ic, 30), -ENOTSUP);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_inject_rules)
{
	struct g g;
	struct kvm_run *run;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 2), 0);
	run = g.v[0]->run;
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_SVR, 0x1ff);
	/* Nothing pending: no injection, no window. */
	exit_with(&g, 0, KVM_EXIT_IO, true, true);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 0);
	ck_assert_int_eq(run->request_interrupt_window, 0);
	/* Pending but KVM not ready (e.g. interrupt shadow): ask for a window. */
	run->immediate_exit = 0;
	msi_send(irqchip_msi(g.ic), 0xfee00000, 0x61);
	ck_assert_int_eq(run->immediate_exit, 1);   /* a running vCPU is kicked */
	run->immediate_exit = 0;
	exit_with(&g, 0, KVM_EXIT_MMIO, false, true);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 0);
	ck_assert_int_eq(run->request_interrupt_window, 1);
	/* IF clear: same. */
	exit_with(&g, 0, KVM_EXIT_IO, true, false);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 0);
	ck_assert_int_eq(run->request_interrupt_window, 1);
	/* The window opens: injected and acknowledged (IRR -> ISR). */
	ck_assert_int_eq(exit_with(&g, 0, KVM_EXIT_IRQ_WINDOW_OPEN, true, true), VCPU_CONTINUE);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 1);
	ck_assert_int_eq(fk.vcpu[0].irq[0], 0x61);
	ck_assert_int_eq(run->request_interrupt_window, 0);
	ck_assert_uint_eq(mmio_rd(&g, 0, MM_LAPIC + LAPIC_ISR + 0x30), 1u << 1);
	/* The run fields are used once: a second pre_run without KVM_RUN between
	 * doesn't inject on stale information. */
	msi_send(irqchip_msi(g.ic), 0xfee00000, 0x71);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 1);
	ck_assert_int_eq(run->request_interrupt_window, 1);
	exit_with(&g, 0, KVM_EXIT_IRQ_WINDOW_OPEN, true, true);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].irq[1], 0x71);
	/* Below the processor priority: not even a window. */
	msi_send(irqchip_msi(g.ic), 0xfee00000, 0x52);
	exit_with(&g, 0, KVM_EXIT_IO, true, true);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 2);
	ck_assert_int_eq(run->request_interrupt_window, 0);
	/* EOIs (MMIO from the guest) bring it down to 0x52. */
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_EOI, 0);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_EOI, 0);
	exit_with(&g, 0, KVM_EXIT_MMIO, true, true);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].irq[2], 0x52);
	/* NMI goes in with KVM_NMI, whatever IF says. */
	irqchip_nmi(g.ic, 0);
	exit_with(&g, 0, KVM_EXIT_IO, false, false);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nnmi, 1);
	ck_assert_int_eq(fk.vcpu[1].nnmi, 0);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_cr8_tpr_apic_base)
{
	struct g g;
	struct kvm_run *run;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 1), 0);
	run = g.v[0]->run;
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_SVR, 0x1ff);
	/* TPR written through MMIO reaches CR8 before entry. */
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_TPR, 0x3f);
	exit_with(&g, 0, KVM_EXIT_MMIO, true, true);
	pre_run(&g, 0);
	ck_assert_uint_eq(run->cr8, 3);
	/* The guest raised CR8 (no exit) and the next exit reports it. */
	run->cr8 = 9;
	exit_with(&g, 0, KVM_EXIT_IO, true, true);
	ck_assert_uint_eq(mmio_rd(&g, 0, MM_LAPIC + LAPIC_TPR), 0x90);
	/* Lowering CR8 exits with SET_TPR, which the glue takes. */
	msi_send(irqchip_msi(g.ic), 0xfee00000, 0x45);
	pre_run(&g, 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 0);
	run->cr8 = 2;
	ck_assert_int_eq(exit_with(&g, 0, KVM_EXIT_SET_TPR, true, true), VCPU_CONTINUE);
	pre_run(&g, 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 1);
	ck_assert_int_eq(fk.vcpu[0].irq[0], 0x45);
	/* An unchanged CR8 leaves TPR[3:0] alone. */
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_TPR, 0x27);
	exit_with(&g, 0, KVM_EXIT_MMIO, true, true);
	pre_run(&g, 0);
	exit_with(&g, 0, KVM_EXIT_IO, true, true);
	ck_assert_uint_eq(mmio_rd(&g, 0, MM_LAPIC + LAPIC_TPR), 0x27);
	/* IA32_APIC_BASE cleared by the guest: the APIC is off. */
	fk.vcpu[0].sregs.apic_base = 0xfee00100;
	exit_with(&g, 0, KVM_EXIT_IO, true, true);
	ck_assert_uint_eq(mmio_rd(&g, 0, MM_LAPIC + LAPIC_SVR) & LAPIC_SVR_ENABLE, 0);
	/* Exits the glue doesn't know are passed on. */
	ck_assert_int_eq(exit_with(&g, 0, KVM_EXIT_DEBUG, true, true), VCPU_ERROR);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_hlt)
{
	struct g g;
	struct kvm_run *run;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 2), 0);
	run = g.v[0]->run;
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_SVR, 0x1ff);
	/* sti; hlt with an interrupt arriving between the exit and the wait. */
	ck_assert_int_eq(exit_with(&g, 0, KVM_EXIT_HLT, true, true), VCPU_HALT);
	msi_send(irqchip_msi(g.ic), 0xfee00000, 0x33);
	hooks(&g)->wait_halt(g.vm->hooks[0].opaque, g.v[0]);   /* returns at once */
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 1);
	ck_assert_int_eq(fk.vcpu[0].irq[0], 0x33);
	/* A kick sends a halted vCPU round the loop without running guest code. */
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_EOI, 0);
	ck_assert_int_eq(exit_with(&g, 0, KVM_EXIT_HLT, true, false), VCPU_HALT);
	vcpu_kick(g.v[0]);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(run->immediate_exit, 1);
	ck_assert_int_eq(fk.vcpu[0].nirq, 1);
	g_close(&g);
}
END_TEST

/* A halted vCPU with an SMI waiting for it must leave the HLT wait (SMM
 * enters from the vCPU's own loop); an AP waiting for its SIPI is reported. */
START_TEST(test_glue_hlt_smi_pending)
{
	struct g g;
	struct kvm_run *run;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 2), 0);
	run = g.v[0]->run;
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_SVR, 0x1ff);
	/* cli; hlt and nothing pending: a kick goes round the loop, still halted. */
	ck_assert_int_eq(exit_with(&g, 0, KVM_EXIT_HLT, false, false), VCPU_HALT);
	vcpu_kick(g.v[0]);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(run->immediate_exit, 1);
	/* An SMI becomes pending (SMM raised it and kicked): the halt ends and
	 * the next round enters KVM_RUN, where the SMM hook takes over. Without
	 * that, this pre_run would block for good. */
	g.smi_pend[0] = true;
	run->immediate_exit = 0;
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(run->immediate_exit, 0);
	g.smi_pend[0] = false;
	/* The AP has not been started: it waits for a SIPI; the BSP does not. */
	ck_assert(irqchip_cpu_wait_sipi(g.ic, 1));
	ck_assert(!irqchip_cpu_wait_sipi(g.ic, 0));
	ck_assert(!irqchip_cpu_wait_sipi(g.ic, 5));
	ck_assert(!irqchip_cpu_wait_sipi(g.ic, -1));
	ck_assert(!irqchip_cpu_wait_sipi(NULL, 0));
	g_close(&g);
}
END_TEST

struct runner {
	struct g *g;
	int cpu;
	volatile bool done;
	volatile int rounds;
	bool (*until)(struct g *g, int cpu);
};

/* A minimal vCPU loop around pre_run: what vcpu_thread() does. */
static void *runner_thread(void *arg)
{
	struct runner *r = arg;

	while (r->rounds++ < 100000) {
		r->g->v[r->cpu]->run->immediate_exit = 0;
		pre_run(r->g, r->cpu);
		if (r->until(r->g, r->cpu))
			break;
	}
	r->done = true;
	return NULL;
}

/* Start @r's loop and check that the vCPU blocks in it. */
static void start_blocked(struct runner *r, pthread_t *t)
{
	int i;

	ck_assert_int_eq(pthread_create(t, NULL, runner_thread, r), 0);
	/* Let it get there even on a loaded machine, then stay there. */
	for (i = 0; i < 2000 && !r->rounds; i++)
		usleep(1000);
	usleep(20000);
	ck_assert(!r->done);
	ck_assert_int_eq(r->rounds, 1);
}

/* A copy of the fake vCPU state, taken under the fake's lock. */
static struct fake_vcpu fk_snap(int cpu)
{
	struct fake_vcpu v;

	pthread_mutex_lock(&fk.lock);
	v = fk.vcpu[cpu];
	pthread_mutex_unlock(&fk.lock);
	return v;
}

static bool sipi_done(struct g *g, int cpu)
{
	return fk_snap(cpu).sregs.cs.selector == 0x9f00;
}

static bool got_irq(struct g *g, int cpu)
{
	return fk_snap(cpu).nirq > 0;
}

static bool got_nmi(struct g *g, int cpu)
{
	return fk_snap(cpu).nnmi > 0;
}

START_TEST(test_glue_init_sipi_thread)
{
	struct g g;
	struct runner r = { .g = &g, .cpu = 1, .until = sipi_done };
	pthread_t t;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 2), 0);
	/* The AP blocks in pre_run: it waits for a SIPI. */
	start_blocked(&r, &t);
	ck_assert_int_eq(fk.vcpu[1].nset_regs, 0);
	/* The BSP sends INIT, then SIPI with vector 0x9f. */
	pthread_mutex_lock(&g.vm->bql);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_HI, 1u << 24);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x00004500);
	pthread_mutex_unlock(&g.vm->bql);
	usleep(10000);
	ck_assert(!r.done);
	pthread_mutex_lock(&g.vm->bql);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x0000469f);
	pthread_mutex_unlock(&g.vm->bql);
	pthread_join(t, NULL);
	ck_assert(sipi_done(&g, 1));
	ck_assert_uint_eq(fk.vcpu[1].sregs.cs.base, 0x9f000);
	ck_assert_uint_eq(fk.vcpu[1].regs.rip, 0);
	ck_assert_uint_eq(fk.vcpu[1].regs.rflags, 2);
	ck_assert_uint_eq(fk.vcpu[1].regs.rdx, 0x000806f2);   /* CPUID.1 signature */
	ck_assert_uint_eq(fk.vcpu[1].sregs.cr0 & 1, 0);
	ck_assert_uint_eq(fk.vcpu[1].sregs.apic_base, 0xfee00800ULL);  /* kept */
	/* A second SIPI while running is ignored. */
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x00004610);
	g.v[1]->run->immediate_exit = 0;
	ck_assert_int_eq(pre_run(&g, 1), 0);
	ck_assert_uint_eq(fk.vcpu[1].sregs.cs.selector, 0x9f00);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_timer_wakes_thread)
{
	struct g g;
	struct runner r = { .g = &g, .cpu = 0, .until = got_irq };
	pthread_t t;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 1), 0);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_SVR, 0x1ff);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_TIMER_DCR, 0xb);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_LVT_TIMER, 0xd0);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_TIMER_ICR, 50000);
	ck_assert_int_eq(exit_with(&g, 0, KVM_EXIT_HLT, true, true), VCPU_HALT);
	start_blocked(&r, &t);
	/* Time passes without the event loop firing the timer: the halted vCPU
	 * waits on the deadline itself and fires it. */
	pthread_mutex_lock(&g.vm->bql);
	g.fc.now += 60000;
	pthread_mutex_unlock(&g.vm->bql);
	pthread_join(t, NULL);
	ck_assert_int_eq(fk.vcpu[0].irq[0], 0xd0);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_irq_wakes_thread)
{
	struct g g;
	struct runner r = { .g = &g, .cpu = 1, .until = got_irq };
	pthread_t t;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 2), 0);
	/* Start the AP, let it halt with interrupts enabled. */
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_HI, 1u << 24);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x00004610);
	g.v[1]->run->immediate_exit = 0;
	ck_assert_int_eq(pre_run(&g, 1), 0);
	mmio_wr(&g, 1, MM_LAPIC + LAPIC_SVR, 0x1ff);
	ck_assert_int_eq(exit_with(&g, 1, KVM_EXIT_HLT, true, true), VCPU_HALT);
	start_blocked(&r, &t);
	/* A device interrupt through the IOAPIC (pin 5 -> CPU 1, vector 0x58). */
	pthread_mutex_lock(&g.vm->bql);
	mmio_wr(&g, 0, MM_IOAPIC, 0x1b);
	mmio_wr(&g, 0, MM_IOAPIC + IOAPIC_WINDOW, 1u << 24);
	mmio_wr(&g, 0, MM_IOAPIC, 0x1a);
	mmio_wr(&g, 0, MM_IOAPIC + IOAPIC_WINDOW, 0x58);
	irq_set(irqchip_gsi(g.ic, 5), 1);
	pthread_mutex_unlock(&g.vm->bql);
	pthread_join(t, NULL);
	ck_assert_int_eq(fk.vcpu[1].irq[0], 0x58);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_cli_hlt_thread)
{
	struct g g;
	struct runner r = { .g = &g, .cpu = 0, .until = got_nmi };
	pthread_t t;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 1), 0);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_SVR, 0x1ff);
	/* cli; hlt: a maskable interrupt does not end the halt... */
	ck_assert_int_eq(exit_with(&g, 0, KVM_EXIT_HLT, true, false), VCPU_HALT);
	start_blocked(&r, &t);
	pthread_mutex_lock(&g.vm->bql);
	msi_send(irqchip_msi(g.ic), 0xfee00000, 0x44);
	pthread_mutex_unlock(&g.vm->bql);
	usleep(30000);
	ck_assert(!r.done);
	/* Still blocked, not spinning (one extra round if the MSI found it
	 * between two waits and kicked it). */
	ck_assert_int_le(r.rounds, 2);
	ck_assert_int_eq(fk.vcpu[0].nirq, 0);
	/* ...an NMI does. */
	pthread_mutex_lock(&g.vm->bql);
	irqchip_nmi(g.ic, 0);
	pthread_mutex_unlock(&g.vm->bql);
	pthread_join(t, NULL);
	ck_assert_int_eq(fk.vcpu[0].nnmi, 1);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_smi_and_smm_init_latch)
{
	struct g g;
	struct kvm_run *run;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 2), 0);
	run = g.v[1]->run;
	/* SMI IPI to self (physical own ID) and broadcast: handed to the SMM module. */
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_HI, 0);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x00004200);
	ck_assert_int_eq(g.smis[0], 1);
	ck_assert_int_eq(g.smis[1], 0);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x00084200);
	ck_assert_int_eq(g.smis[0], 2);
	ck_assert_int_eq(g.smis[1], 1);
	/* Start the AP. */
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_HI, 1u << 24);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x00004610);
	run->immediate_exit = 0;
	ck_assert_int_eq(pre_run(&g, 1), 0);
	ck_assert_int_eq(fk.vcpu[1].nset_regs, 1);
	mmio_wr(&g, 1, MM_LAPIC + LAPIC_TPR, 0x40);
	/* In SMM an INIT is latched. */
	irqchip_smm_notify(g.ic, 1, true);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x00004500);
	run->immediate_exit = 0;
	ck_assert_int_eq(pre_run(&g, 1), 0);
	ck_assert_uint_eq(mmio_rd(&g, 1, MM_LAPIC + LAPIC_TPR), 0x40);
	/* Leaving SMM performs it: LAPIC reset, the AP waits for a SIPI again.
	 * The last exit was MMIO, so KVM first completes it (one KVM_RUN). */
	run->exit_reason = KVM_EXIT_MMIO;
	irqchip_set_smm(g.ic, 1, false);
	ck_assert_int_eq(run->immediate_exit, 1);   /* kicked */
	run->immediate_exit = 0;
	ck_assert_int_eq(pre_run(&g, 1), 0);
	ck_assert_int_eq(fk.vcpu[1].nrun, 1);
	ck_assert_uint_eq(mmio_rd(&g, 1, MM_LAPIC + LAPIC_TPR), 0);
	ck_assert_int_eq(run->immediate_exit, 1);   /* blocked: no guest code */
	ck_assert_int_eq(fk.vcpu[1].nset_regs, 1);  /* AP registers wait for the SIPI */
	/* Other modes and bad CPUs: harmless. */
	irqchip_set_smm(g.ic, 7, true);
	irqchip_set_smm(g.ic, -1, true);
	irqchip_set_smm(NULL, 0, true);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_bsp_init)
{
	struct g g;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 1), 0);
	fk.vcpu[0].sregs.cr0 = 0xe0000011;   /* PG, CD, NW, PE */
	fk.vcpu[0].sregs.efer = 0x500;
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_ICR_LO, 0x00044500);   /* INIT to self */
	ck_assert_int_eq(pre_run(&g, 0), 0);
	/* The BSP restarts at the reset vector, CD/NW kept, paging and long mode off. */
	ck_assert_uint_eq(fk.vcpu[0].sregs.cs.selector, 0xf000);
	ck_assert_uint_eq(fk.vcpu[0].sregs.cs.base, 0xffff0000ULL);
	ck_assert_uint_eq(fk.vcpu[0].regs.rip, 0xfff0);
	ck_assert_uint_eq(fk.vcpu[0].sregs.cr0, 0x60000010);
	ck_assert_uint_eq(fk.vcpu[0].sregs.efer, 0);
	ck_assert_uint_eq(fk.vcpu[0].sregs.apic_base, 0xfee00900ULL);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_pic_extint_and_pit)
{
	struct g g;
	uint64_t t0;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 1), 0);
	pio_wr(&g, 0x20, 0x11);
	pio_wr(&g, 0x21, 0x08);
	pio_wr(&g, 0x21, 0x04);
	pio_wr(&g, 0x21, 0x01);
	pio_wr(&g, 0x21, 0xfe);   /* only IRQ 0 */
	/* PIT channel 0, mode 2: IRQ 0 through the PIC as ExtINT to the BSP. */
	pio_wr(&g, 0x43, 0x34);
	pio_wr(&g, 0x40, 100);
	pio_wr(&g, 0x40, 0);
	t0 = g.fc.now;
	fake_clock_advance(&g.fc, (100 * 1000000000ULL + PIT_HZ - 1) / PIT_HZ);
	ck_assert_uint_gt(g.fc.now, t0);
	exit_with(&g, 0, KVM_EXIT_IO, true, true);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 1);
	ck_assert_int_eq(fk.vcpu[0].irq[0], 0x08);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_reset_and_destroy)
{
	struct g g;

	ck_assert_int_eq(g_open(&g, IRQCHIP_USER, 2), 0);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_SVR, 0x1ff);
	mmio_wr(&g, 0, MM_LAPIC + LAPIC_TPR, 0x20);
	hooks(&g)->vcpu_reset(g.vm->hooks[0].opaque, g.v[0]);
	ck_assert_uint_eq(mmio_rd(&g, 0, MM_LAPIC + LAPIC_SVR), 0xff);
	ck_assert_uint_eq(mmio_rd(&g, 0, MM_LAPIC + LAPIC_TPR), 0);
	pio_wr(&g, 0x21, 0x55);
	irqchip_reset(g.ic);
	{
		struct io_ctx ctx = { .cpu = 0 };
		uint8_t v = 0xff;

		bus_read(&g.vm->pio, &ctx, 0x21, &v, 1);
		ck_assert_uint_eq(v, 0);
	}
	irqchip_destroy(g.ic);
	g.ic = NULL;
	ck_assert_ptr_null(bus_find(&g.vm->mmio, MM_LAPIC));
	ck_assert_ptr_null(bus_find(&g.vm->mmio, MM_IOAPIC));
	ck_assert_ptr_null(bus_find(&g.vm->pio, PORT_PIT));
	/* The hook entry stays in the VM but does nothing. */
	ck_assert_ptr_null(g.vm->hooks[0].ops->pre_run);
	vcpu_kick(g.v[0]);
	g_close(&g);
}
END_TEST

static const struct kvm_irq_routing_entry *route(unsigned gsi, unsigned n)
{
	unsigned i;

	for (i = 0; i < fk.nroutes; i++)
		if (fk.routes[i].gsi == gsi && n-- == 0)
			return &fk.routes[i];
	return NULL;
}

START_TEST(test_glue_kernel_mode)
{
	struct g g;
	const struct kvm_irq_routing_entry *e;
	int gsi;

	ck_assert_int_eq(g_open(&g, IRQCHIP_KERNEL, 2), 0);
	ck_assert_int_eq(fk.created_irqchip, 1);
	ck_assert_int_eq(fk.created_pit, 1);
	ck_assert_int_eq(fk.pit_flags, KVM_PIT_SPEAKER_DUMMY);
	/* The in-kernel LAPIC can offer x2APIC. */
	ck_assert_uint_eq(fk.vcpu[1].last_cpuid1_ecx & (1u << 21), 1u << 21);
	/* Routing: IRQ 0 -> PIC master 0 + IOAPIC pin 2, IRQ 2 nowhere. */
	e = route(0, 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->u.irqchip.irqchip, KVM_IRQCHIP_PIC_MASTER);
	ck_assert_uint_eq(e->u.irqchip.pin, 0);
	e = route(0, 1);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->u.irqchip.irqchip, KVM_IRQCHIP_IOAPIC);
	ck_assert_uint_eq(e->u.irqchip.pin, 2);
	ck_assert_ptr_null(route(2, 0));
	e = route(9, 0);
	ck_assert_uint_eq(e->u.irqchip.irqchip, KVM_IRQCHIP_PIC_SLAVE);
	ck_assert_uint_eq(e->u.irqchip.pin, 1);
	ck_assert_uint_eq(route(9, 1)->u.irqchip.pin, 9);
	ck_assert_uint_eq(route(20, 0)->u.irqchip.irqchip, KVM_IRQCHIP_IOAPIC);
	ck_assert_ptr_null(route(20, 1));
	/* No userspace devices and no loop hooks. */
	ck_assert_ptr_null(bus_find(&g.vm->mmio, MM_LAPIC));
	ck_assert_ptr_null(bus_find(&g.vm->pio, PORT_PIT));
	ck_assert_ptr_null(hooks(&g)->pre_run);
	/* Lines: KVM_IRQ_LINE, repeated levels filtered. */
	irq_set(irqchip_gsi(g.ic, 4), 1);
	irq_set(irqchip_gsi(g.ic, 4), 1);
	irq_set(irqchip_gsi(g.ic, 4), 0);
	ck_assert_uint_eq(fk.nlines, 2);
	ck_assert_uint_eq(fk.lines[0].irq, 4);
	ck_assert_uint_eq(fk.lines[0].level, 1);
	ck_assert_uint_eq(fk.lines[1].level, 0);
	/* MSIs: KVM_SIGNAL_MSI. */
	msi_send(irqchip_msi(g.ic), 0xfee01000, 0x4041);
	ck_assert_uint_eq(fk.nmsi, 1);
	ck_assert_uint_eq(fk.msis[0].address_lo, 0xfee01000);
	ck_assert_uint_eq(fk.msis[0].data, 0x4041);
	/* MSI routes for irqfd. */
	gsi = irqchip_msi_route_add(g.ic, 0xfee02000, 0x4055);
	ck_assert_int_eq(gsi, 24);
	ck_assert_uint_eq(route(24, 0)->type, KVM_IRQ_ROUTING_MSI);
	ck_assert_uint_eq(route(24, 0)->u.msi.data, 0x4055);
	ck_assert_ptr_nonnull(route(0, 1));   /* the whole table is resent */
	ck_assert_int_eq(irqchip_msi_route_add(g.ic, 0xfee03000, 0x4056), 25);
	ck_assert_int_eq(irqchip_msi_route_update(g.ic, 24, 0xfee02000, 0x4057), 0);
	ck_assert_uint_eq(route(24, 0)->u.msi.data, 0x4057);
	ck_assert_int_eq(irqchip_irqfd(g.ic, 7, 24, true), 0);
	ck_assert_uint_eq(fk.irqfd.fd, 7);
	ck_assert_uint_eq(fk.irqfd.gsi, 24);
	ck_assert_uint_eq(fk.irqfd.flags, 0);
	ck_assert_int_eq(irqchip_irqfd(g.ic, 7, 24, false), 0);
	ck_assert_uint_eq(fk.irqfd.flags, KVM_IRQFD_FLAG_DEASSIGN);
	ck_assert_int_eq(irqchip_irqfd(g.ic, -1, 24, true), -EINVAL);
	ck_assert_int_eq(irqchip_msi_route_del(g.ic, 24), 0);
	ck_assert_ptr_null(route(24, 0));
	ck_assert_int_eq(irqchip_msi_route_del(g.ic, 24), -ENOENT);
	ck_assert_int_eq(irqchip_msi_route_update(g.ic, 3, 0, 0), -ENOENT);
	ck_assert_int_eq(irqchip_msi_route_update(g.ic, 99999, 0, 0), -ENOENT);
	/* The freed GSI is reused. */
	ck_assert_int_eq(irqchip_msi_route_add(g.ic, 0xfee00000, 0x30), 24);
	/* An NMI to CPU 1 is an NMI message. */
	irqchip_nmi(g.ic, 1);
	ck_assert_uint_eq(fk.msis[fk.nmsi - 1].address_lo, 0xfee01000);
	ck_assert_uint_eq((fk.msis[fk.nmsi - 1].data >> 8) & 7, APIC_DM_NMI);
	irqchip_reset(g.ic);
	hooks(&g)->vcpu_reset(g.vm->hooks[0].opaque, g.v[1]);
	g_close(&g);
}
END_TEST

START_TEST(test_glue_split_mode)
{
	struct g g;
	const struct kvm_irq_routing_entry *e;
	struct kvm_run *run;
	unsigned n;

	ck_assert_int_eq(g_open(&g, IRQCHIP_SPLIT, 2), 0);
	ck_assert_int_eq(fk.enable_cap, KVM_CAP_SPLIT_IRQCHIP);
	ck_assert_int_eq(fk.enable_cap_arg, 24);
	ck_assert_int_eq(fk.created_irqchip, 0);
	ck_assert_uint_eq(fk.nroutes, 24);
	ck_assert_ptr_null(bus_find(&g.vm->mmio, MM_LAPIC));
	ck_assert_ptr_nonnull(bus_find(&g.vm->mmio, MM_IOAPIC));
	/* Programming a pin updates its MSI route (level: the trigger bit set). */
	n = fk.nset_routing;
	mmio_wr(&g, 0, MM_IOAPIC, 0x1b);
	mmio_wr(&g, 0, MM_IOAPIC + IOAPIC_WINDOW, 1u << 24);
	mmio_wr(&g, 0, MM_IOAPIC, 0x1a);
	mmio_wr(&g, 0, MM_IOAPIC + IOAPIC_WINDOW, 0x8055);
	ck_assert_uint_gt(fk.nset_routing, n);
	e = route(5, 0);
	ck_assert_uint_eq(e->type, KVM_IRQ_ROUTING_MSI);
	ck_assert_uint_eq(e->u.msi.address_lo, 0xfee01000);
	ck_assert_uint_eq(e->u.msi.data, 0xc055);
	/* The same value again: no new KVM_SET_GSI_ROUTING. */
	n = fk.nset_routing;
	mmio_wr(&g, 0, MM_IOAPIC + IOAPIC_WINDOW, 0x8055);
	ck_assert_uint_eq(fk.nset_routing, n);
	/* Delivery is KVM_SIGNAL_MSI; KVM reports the level EOI; still high: again. */
	irq_set(irqchip_gsi(g.ic, 5), 1);
	ck_assert_uint_eq(fk.nmsi, 1);
	ck_assert_uint_eq(fk.msis[0].data, 0xc055);
	run = g.v[1]->run;
	run->exit_reason = KVM_EXIT_IOAPIC_EOI;
	run->eoi.vector = 0x55;
	ck_assert_int_eq(vcpu_handle_exit(g.v[1], run), VCPU_CONTINUE);
	ck_assert_uint_eq(fk.nmsi, 2);
	irq_set(irqchip_gsi(g.ic, 5), 0);
	ck_assert_int_eq(vcpu_handle_exit(g.v[1], run), VCPU_CONTINUE);
	ck_assert_uint_eq(fk.nmsi, 2);
	/* PIC interrupts go to vCPU 0 as ExtINT, when KVM is ready for them. */
	pio_wr(&g, 0x20, 0x11);
	pio_wr(&g, 0x21, 0x30);
	pio_wr(&g, 0x21, 0x04);
	pio_wr(&g, 0x21, 0x01);
	irq_set(irqchip_gsi(g.ic, 1), 1);
	run = g.v[0]->run;
	exit_with(&g, 0, KVM_EXIT_IO, false, true);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 0);
	ck_assert_int_eq(run->request_interrupt_window, 1);
	exit_with(&g, 0, KVM_EXIT_IRQ_WINDOW_OPEN, true, true);
	ck_assert_int_eq(pre_run(&g, 0), 0);
	ck_assert_int_eq(fk.vcpu[0].nirq, 1);
	ck_assert_int_eq(fk.vcpu[0].irq[0], 0x31);
	ck_assert_int_eq(run->request_interrupt_window, 0);
	/* Nothing for vCPU 1. */
	ck_assert_int_eq(pre_run(&g, 1), 0);
	ck_assert_int_eq(fk.vcpu[1].nirq, 0);
	/* MSIs and routes. */
	ck_assert_int_eq(irqchip_msi_route_add(g.ic, 0xfee00000, 0x4060), 24);
	ck_assert_uint_eq(route(24, 0)->u.msi.data, 0x4060);
	ck_assert_uint_eq(route(5, 0)->u.msi.data, 0xc055);
	irqchip_reset(g.ic);
	ck_assert_uint_eq(route(5, 0)->u.msi.data & 0xff, 0);
	g_close(&g);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("irqchip");
	TCase *fab = tcase_create("fabric");
	TCase *glue = tcase_create("glue");

	tcase_add_test(fab, test_fab_physical_and_shorthands);
	tcase_add_test(fab, test_fab_logical);
	tcase_add_test(fab, test_fab_lowest_priority);
	tcase_add_test(fab, test_fab_msi);
	tcase_add_test(fab, test_fab_ioapic_routing);
	tcase_add_test(fab, test_fab_extint);
	tcase_add_test(fab, test_fab_init_sipi_smi);
	suite_add_tcase(s, fab);

	tcase_set_timeout(glue, 20);
	tcase_add_test(glue, test_glue_create_errors);
	tcase_add_test(glue, test_glue_user_setup);
	tcase_add_test(glue, test_glue_inject_rules);
	tcase_add_test(glue, test_glue_cr8_tpr_apic_base);
	tcase_add_test(glue, test_glue_hlt);
	tcase_add_test(glue, test_glue_hlt_smi_pending);
	tcase_add_test(glue, test_glue_init_sipi_thread);
	tcase_add_test(glue, test_glue_timer_wakes_thread);
	tcase_add_test(glue, test_glue_irq_wakes_thread);
	tcase_add_test(glue, test_glue_cli_hlt_thread);
	tcase_add_test(glue, test_glue_smi_and_smm_init_latch);
	tcase_add_test(glue, test_glue_bsp_init);
	tcase_add_test(glue, test_glue_pic_extint_and_pit);
	tcase_add_test(glue, test_glue_reset_and_destroy);
	tcase_add_test(glue, test_glue_kernel_mode);
	tcase_add_test(glue, test_glue_split_mode);
	suite_add_tcase(s, glue);
	return run_suite(s);
}
