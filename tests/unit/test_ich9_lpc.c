/* Unit tests for devices/chipset/ich9_lpc.c: LPC config, PM block decode, APM/SMI, IRQ routing. */
#include <errno.h>

#include "devices/chipset/ich9_lpc.h"
#include "tests/unit/support.h"
#include "vmm/err.h"
#include "vmm/memmap.h"

#define LPC ICH9_LPC_DEVFN
#define NS_PER_S 1000000000ULL

static struct bus pio, mmio;
static struct fake_clock fc;
static struct irq_rec irqs;
static struct pci_bus *pb;
static struct ich9_lpc *lpc;
static struct io_ctx ctx = { .cpu = 0 };

static unsigned smis, sleeps, last_slp_typ;
static int last_smi_cpu;
static bool last_broadcast;
static uint8_t apm_sts_at_smi;

static void on_smi(void *opaque, int cpu, bool broadcast)
{
	smis++;
	last_smi_cpu = cpu;
	last_broadcast = broadcast;
	apm_sts_at_smi = lpc->apm_sts;
}

static void on_sleep(void *opaque, unsigned slp_typ)
{
	sleeps++;
	last_slp_typ = slp_typ;
}

static void setup(void)
{
	struct ich9_lpc_config cfg;

	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	fake_clock_init(&fc, 0);
	irq_rec_init(&irqs);
	smis = sleeps = 0;
	last_smi_cpu = -2;
	ck_assert_int_eq(pci_bus_create(&pio, &mmio, NULL, &pb), 0);
	cfg = (struct ich9_lpc_config){
		.pio = &pio, .mmio = &mmio, .clock = &fc.clock, .irq = *irq_rec_line(&irqs, 0),
		.smi = on_smi, .sleep = on_sleep,
	};
	ck_assert_int_eq(ich9_lpc_create(pb, &cfg, &lpc), 0);
}

static void teardown(void)
{
	ich9_lpc_destroy(lpc);
	for (unsigned g = 0; g < 24; g++)
		ck_assert_int_eq(irqs.level[g], 0);
	pci_bus_destroy(pb);
	ck_assert_uint_eq(pio.n, 0);
	ck_assert_uint_eq(mmio.n, 0);
	bus_free(&pio);
	bus_free(&mmio);
}

static uint64_t in(struct bus *b, uint64_t port, unsigned size)
{
	uint8_t buf[8] = { 0 };

	bus_read(b, &ctx, port, buf, size);
	return ld_le64(buf) & (size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1);
}

static void out(struct bus *b, uint64_t port, uint64_t val, unsigned size)
{
	uint8_t buf[8];

	st_le64(buf, val);
	bus_write(b, &ctx, port, buf, size);
}

static uint32_t rd(unsigned devfn, unsigned reg, unsigned size)
{
	out(&pio, 0xcf8, 0x80000000u | devfn << 8 | (reg & 0xfc), 4);
	return (uint32_t)in(&pio, 0xcfc + (reg & 3), size);
}

static void wr(unsigned devfn, unsigned reg, uint32_t val, unsigned size)
{
	out(&pio, 0xcf8, 0x80000000u | devfn << 8 | (reg & 0xfc), 4);
	out(&pio, 0xcfc + (reg & 3), val, size);
}

/* What OVMF's PlatformPei / AcpiTimerLib do to get the PM block at 0x600. */
static void enable_pm_at_600(void)
{
	wr(LPC, ICH9_PMBASE, 0x600, 4);
	wr(LPC, PCI_CFG_COMMAND, rd(LPC, PCI_CFG_COMMAND, 2) | PCI_CMD_IO, 2);
	wr(LPC, ICH9_ACPI_CNTL, rd(LPC, ICH9_ACPI_CNTL, 1) | ICH9_ACPI_CNTL_EN, 1);
}

START_TEST(test_identity)
{
	ck_assert_uint_eq(rd(LPC, 0, 4), 0x29188086);
	ck_assert_uint_eq(rd(LPC, PCI_CFG_REVISION, 4), 0x06010002);
	ck_assert_uint_eq(rd(LPC, PCI_CFG_HEADER_TYPE, 1), PCI_HEADER_MULTIFUNC);
	wr(LPC, 0, 0xffffffff, 4);
	wr(LPC, PCI_CFG_REVISION, 0, 4);
	ck_assert_uint_eq(rd(LPC, 0, 4), 0x29188086);
	ck_assert_uint_eq(rd(LPC, PCI_CFG_REVISION, 4), 0x06010002);
	/* the rest of 0x40..0xff is scratch (e.g. 0x82 LPC_EN) */
	wr(LPC, 0x82, 0x0f, 1);
	ck_assert_uint_eq(rd(LPC, 0x82, 1), 0x0f);
	ck_assert_ptr_eq(ich9_lpc_pm(lpc), lpc->pm);
}
END_TEST

START_TEST(test_pmbase_acpi_en)
{
	ck_assert_uint_eq(rd(LPC, ICH9_PMBASE, 4), 0x1);
	ck_assert_uint_eq(rd(LPC, ICH9_ACPI_CNTL, 1), 0);
	/* only bits 15:7 are writable, bit 0 stays 1 */
	wr(LPC, ICH9_PMBASE, 0xffffffff, 4);
	ck_assert_uint_eq(rd(LPC, ICH9_PMBASE, 4), 0xff81);
	wr(LPC, ICH9_ACPI_CNTL, 0xffffffff, 4);
	ck_assert_uint_eq(rd(LPC, ICH9_ACPI_CNTL, 4), 0x87);
	wr(LPC, ICH9_ACPI_CNTL, 0, 1);
	/* no decode before ACPI_EN */
	wr(LPC, ICH9_PMBASE, 0x600, 4);
	ck_assert_ptr_null(bus_find(&pio, 0x600));
	ck_assert_uint_eq(in(&pio, 0x630, 4), 0xffffffff);
	enable_pm_at_600();
	ck_assert_uint_eq(rd(LPC, ICH9_PMBASE, 4) & ICH9_PMBASE_MASK, 0x600);
	ck_assert_ptr_nonnull(bus_find(&pio, 0x67f));
	ck_assert_ptr_null(bus_find(&pio, 0x680));
	/* the PM timer at PMBASE+8 runs at 3.579545 MHz */
	fake_clock_advance(&fc, NS_PER_S / 10);
	ck_assert_uint_eq(in(&pio, 0x608, 4), 357954);
	/* moving PMBASE while enabled moves the block */
	wr(LPC, ICH9_PMBASE, 0xb000, 2);
	ck_assert_ptr_null(bus_find(&pio, 0x600));
	ck_assert_ptr_nonnull(bus_find(&pio, 0xb008));
	/* a PMBASE that collides with another range stays undecoded */
	wr(LPC, ICH9_PMBASE, 0xc80, 4);
	ck_assert_ptr_null(bus_find(&pio, 0xb008));
	ck_assert(bus_find(&pio, 0xcf8)->dev == pb);
	/* PMBASE 0 is "off" even with ACPI_EN */
	wr(LPC, ICH9_PMBASE, 0, 4);
	ck_assert_uint_eq(pio.n, 2);    /* config ports + APM */
	wr(LPC, ICH9_PMBASE, 0x600, 4);
	ck_assert_ptr_nonnull(bus_find(&pio, 0x600));
	/* ACPI_EN off unmaps; state survives */
	out(&pio, 0x602, ACPI_PM1_PWRBTN_EN, 2);
	wr(LPC, ICH9_ACPI_CNTL, 0, 1);
	ck_assert_ptr_null(bus_find(&pio, 0x600));
	wr(LPC, ICH9_ACPI_CNTL, ICH9_ACPI_CNTL_EN, 1);
	ck_assert_uint_eq(in(&pio, 0x602, 2), ACPI_PM1_PWRBTN_EN);
}
END_TEST

START_TEST(test_ovmf_smm_control_sequence)
{
	uint32_t pmbase, smi_en_port, val;

	enable_pm_at_600();
	/* SmmControl2Dxe */
	pmbase = rd(LPC, ICH9_PMBASE, 4) & ICH9_PMBASE_MASK;
	smi_en_port = pmbase + ACPI_SMI_EN;
	val = (uint32_t)in(&pio, smi_en_port, 4);
	ck_assert_uint_eq(val & ACPI_SMI_EN_APMC, 0);   /* "this Q35 has SMI" */
	val |= ACPI_SMI_EN_APMC | ACPI_SMI_EN_GBL_SMI;
	out(&pio, smi_en_port, val, 4);
	wr(LPC, ICH9_GEN_PMCON_1, rd(LPC, ICH9_GEN_PMCON_1, 2) | ICH9_GEN_PMCON_1_SMI_LOCK, 2);
	out(&pio, smi_en_port, val & ~ACPI_SMI_EN_GBL_SMI, 4);
	ck_assert_uint_eq(in(&pio, smi_en_port, 4), val);  /* GBL_SMI_EN is locked */
	/* SMI_LOCK itself cannot be cleared */
	wr(LPC, ICH9_GEN_PMCON_1, 0, 2);
	ck_assert_uint_eq(rd(LPC, ICH9_GEN_PMCON_1, 2) & ICH9_GEN_PMCON_1_SMI_LOCK,
			  ICH9_GEN_PMCON_1_SMI_LOCK);
	/* other GEN_PMCON_1 bits stay writable */
	wr(LPC, ICH9_GEN_PMCON_1, 0x0201, 2);
	ck_assert_uint_eq(rd(LPC, ICH9_GEN_PMCON_1, 2), 0x0211);
	/* Trigger(): data to APM_STS, command to APM_CNT */
	ctx.cpu = 3;
	out(&pio, PORT_APM_STS, 0x5a, 1);
	out(&pio, PORT_APM_CNT, 0xef, 1);
	ctx.cpu = 0;
	ck_assert_uint_eq(smis, 1);
	ck_assert_int_eq(last_smi_cpu, 3);
	ck_assert(!last_broadcast);
	ck_assert_uint_eq(apm_sts_at_smi, 0x5a);
	ck_assert_uint_eq(in(&pio, pmbase + ACPI_SMI_STS, 4) & ACPI_SMI_STS_APM, ACPI_SMI_STS_APM);
	ck_assert_uint_eq(in(&pio, PORT_APM_CNT, 2), 0x5aef);
	/* the handler clears APM_STS */
	out(&pio, pmbase + ACPI_SMI_STS, ACPI_SMI_STS_APM, 4);
	ck_assert_uint_eq(in(&pio, pmbase + ACPI_SMI_STS, 4), 0);
	/* broadcast once negotiated */
	ich9_lpc_set_smi_broadcast(lpc, true);
	out(&pio, PORT_APM_CNT, 0x00, 1);
	ck_assert_uint_eq(smis, 2);
	ck_assert(last_broadcast);
}
END_TEST

START_TEST(test_apm_gating)
{
	enable_pm_at_600();
	/* SMI_EN = 0: no SMI, no status */
	out(&pio, PORT_APM_CNT, 0x10, 1);
	ck_assert_uint_eq(smis, 0);
	ck_assert_uint_eq(in(&pio, 0x634, 4), 0);
	/* GBL_SMI_EN alone: nothing */
	out(&pio, 0x630, ACPI_SMI_EN_GBL_SMI, 4);
	out(&pio, PORT_APM_CNT, 0x10, 1);
	ck_assert_uint_eq(smis, 0);
	/* APMC_EN without GBL_SMI_EN: SMI (QEMU semantics; SeaBIOS relies on it) */
	out(&pio, 0x630, ACPI_SMI_EN_APMC, 4);
	out(&pio, PORT_APM_CNT, 0x10, 1);
	ck_assert_uint_eq(smis, 1);
	/* 2 and 3 are ACPI enable/disable, never an SMI */
	out(&pio, PORT_APM_CNT, ICH9_APM_ACPI_ENABLE, 1);
	ck_assert_uint_eq(smis, 1);
	ck_assert_uint_eq(in(&pio, 0x604, 2) & ACPI_PM1_CNT_SCI_EN, ACPI_PM1_CNT_SCI_EN);
	out(&pio, PORT_APM_CNT, ICH9_APM_ACPI_DISABLE, 1);
	ck_assert_uint_eq(smis, 1);
	ck_assert_uint_eq(in(&pio, 0x604, 2) & ACPI_PM1_CNT_SCI_EN, 0);
	ck_assert_uint_eq(in(&pio, PORT_APM_CNT, 1), ICH9_APM_ACPI_DISABLE);
	/* a word write stores the data byte before the SMI fires */
	out(&pio, PORT_APM_CNT, 0x7711, 2);
	ck_assert_uint_eq(smis, 2);
	ck_assert_uint_eq(apm_sts_at_smi, 0x77);
	/* APM_STS is plain scratch: no SMI */
	out(&pio, PORT_APM_STS, 0x42, 1);
	ck_assert_uint_eq(smis, 2);
	ck_assert_uint_eq(in(&pio, PORT_APM_STS, 1), 0x42);
	/* a dword write at 0xB2 is split by the bus; only 0xB2/0xB3 belong to us */
	out(&pio, PORT_APM_CNT, 0xffff0120, 4);
	ck_assert_uint_eq(smis, 3);
	ck_assert_uint_eq(in(&pio, PORT_APM_CNT, 4), 0xffff0120);
	/* works whether or not the PM block is decoded */
	wr(LPC, ICH9_ACPI_CNTL, 0, 1);
	out(&pio, PORT_APM_CNT, 0x10, 1);
	ck_assert_uint_eq(smis, 4);
}
END_TEST

START_TEST(test_rcba)
{
	ck_assert_uint_eq(rd(LPC, ICH9_RCBA, 4), 0);
	wr(LPC, ICH9_RCBA, (uint32_t)MM_ICH9_RCBA | 0x3ffe | ICH9_RCBA_EN, 4);
	ck_assert_uint_eq(rd(LPC, ICH9_RCBA, 4), (uint32_t)MM_ICH9_RCBA | ICH9_RCBA_EN);
	ck_assert_ptr_nonnull(bus_find(&mmio, MM_ICH9_RCBA));
	ck_assert_ptr_nonnull(bus_find(&mmio, MM_ICH9_RCBA + MM_ICH9_RCBA_SIZE - 1));
	ck_assert_ptr_null(bus_find(&mmio, MM_ICH9_RCBA + MM_ICH9_RCBA_SIZE));
	/* dummy RCRB: reads 0, writes vanish */
	out(&mmio, MM_ICH9_RCBA + 0x3410, 0xffffffff, 4);
	ck_assert_uint_eq(in(&mmio, MM_ICH9_RCBA + 0x3410, 4), 0);
	/* move, then disable */
	wr(LPC, ICH9_RCBA, 0xfed20001, 4);
	ck_assert_ptr_null(bus_find(&mmio, MM_ICH9_RCBA));
	ck_assert_ptr_nonnull(bus_find(&mmio, 0xfed20000));
	wr(LPC, ICH9_RCBA, 0xfed20000, 4);
	ck_assert_uint_eq(mmio.n, 0);
	/* byte-wise enable */
	wr(LPC, ICH9_RCBA, 0x01, 1);
	ck_assert_ptr_nonnull(bus_find(&mmio, 0xfed20000));
	wr(LPC, ICH9_RCBA, 0x00, 1);
	ck_assert_uint_eq(mmio.n, 0);
}
END_TEST

START_TEST(test_pirq_registers)
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(rd(LPC, ICH9_PIRQA_ROUT + i, 1), ICH9_PIRQ_RESET);
		ck_assert_uint_eq(rd(LPC, ICH9_PIRQE_ROUT + i, 1), ICH9_PIRQ_RESET);
	}
	wr(LPC, ICH9_PIRQA_ROUT, 0xffffffff, 4);
	ck_assert_uint_eq(rd(LPC, ICH9_PIRQA_ROUT, 4), 0x8f8f8f8f);
	wr(LPC, ICH9_PIRQE_ROUT, 0x0b0a0b0a, 4);
	ck_assert_uint_eq(rd(LPC, ICH9_PIRQE_ROUT, 4), 0x0b0a0b0a);
	/* the PIRQ mapping QEMU's DSDT _PRT describes */
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(0, 0), PCI_INTA), 4);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(1, 0), PCI_INTA), 5);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(2, 3), PCI_INTD), 5);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(24, 0), PCI_INTB), 5);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(25, 0), PCI_INTA), 0);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(29, 0), PCI_INTD), 3);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(30, 0), PCI_INTB), 5);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(31, 2), PCI_INTC), 2);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(3, 0), 0), -1);
	ck_assert_int_eq(ich9_lpc_pirq(PCI_DEVFN(3, 0), 5), -1);
	ck_assert_int_eq(ich9_lpc_pirq(256, PCI_INTA), -1);
}
END_TEST

struct tdev {
	struct pci_dev pci;
};

static void tdev_register(struct tdev *t, unsigned devfn, uint8_t pin)
{
	pci_dev_init(&t->pci, &(struct pci_dev_info){ .name = "t", .vendor = 0x1af4,
						      .device = 0x1000, .int_pin = pin });
	ck_assert_int_eq(pci_dev_register(pb, devfn, &t->pci), 0);
}

START_TEST(test_intx_through_pirq)
{
	static struct tdev a, b;
	const unsigned g = GSI_PCI_FIRST + 6;   /* slot 2 INTA -> PIRQG */

	tdev_register(&a, PCI_DEVFN(2, 0), PCI_INTA);
	tdev_register(&b, PCI_DEVFN(6, 0), PCI_INTA);  /* (6 + 0) % 4 + 4 = 6 too */
	/* IOAPIC mode: PIRQG -> GSI 22, regardless of the route register */
	pci_dev_set_irq(&a.pci, 1);
	ck_assert_int_eq(irqs.level[g], 1);
	/* PIC mode: IRQEN clear routes to the ISA IRQ as well */
	wr(LPC, ICH9_PIRQE_ROUT + 2, 11, 1);
	ck_assert_int_eq(irqs.level[11], 1);
	ck_assert_int_eq(irqs.level[g], 1);
	/* sharing: both functions on PIRQG */
	pci_dev_set_irq(&b.pci, 1);
	pci_dev_set_irq(&a.pci, 0);
	ck_assert_int_eq(irqs.level[11], 1);
	pci_dev_set_irq(&b.pci, 0);
	ck_assert_int_eq(irqs.level[11], 0);
	ck_assert_int_eq(irqs.level[g], 0);
	/* re-routing while asserted moves the ISA line */
	pci_dev_set_irq(&a.pci, 1);
	wr(LPC, ICH9_PIRQE_ROUT + 2, 10, 1);
	ck_assert_int_eq(irqs.level[11], 0);
	ck_assert_int_eq(irqs.level[10], 1);
	/* IRQEN set: PIC routing off */
	wr(LPC, ICH9_PIRQE_ROUT + 2, 0x8a, 1);
	ck_assert_int_eq(irqs.level[10], 0);
	ck_assert_int_eq(irqs.level[g], 1);
	/* reserved ISA IRQs (0, 2, 8, 13) are never driven */
	wr(LPC, ICH9_PIRQE_ROUT + 2, 0x02, 1);
	ck_assert_int_eq(irqs.level[2], 0);
	wr(LPC, ICH9_PIRQE_ROUT + 2, 0x00, 1);
	ck_assert_int_eq(irqs.level[0], 0);
	wr(LPC, ICH9_PIRQE_ROUT + 2, 0x08, 1);
	ck_assert_int_eq(irqs.level[8], 0);
	/* reset drops everything */
	pci_bus_reset(pb);
	ck_assert_int_eq(irqs.level[g], 0);
	ck_assert_uint_eq(rd(LPC, ICH9_PIRQE_ROUT + 2, 1), ICH9_PIRQ_RESET);
	pci_dev_unregister(&a.pci);
	pci_dev_unregister(&b.pci);
}
END_TEST

START_TEST(test_sci_routing)
{
	static struct tdev a;

	enable_pm_at_600();
	ck_assert_int_eq(ich9_lpc_sci_gsi(lpc), 9);
	out(&pio, 0x602, ACPI_PM1_PWRBTN_EN, 2);
	acpi_pm_power_button(ich9_lpc_pm(lpc));
	ck_assert_int_eq(irqs.level[9], 1);
	/* SCI_IRQ_SEL moves the line */
	wr(LPC, ICH9_ACPI_CNTL, ICH9_ACPI_CNTL_EN | 1, 1);
	ck_assert_int_eq(irqs.level[9], 0);
	ck_assert_int_eq(irqs.level[10], 1);
	wr(LPC, ICH9_ACPI_CNTL, ICH9_ACPI_CNTL_EN | 4, 1);
	ck_assert_int_eq(irqs.level[10], 0);
	ck_assert_int_eq(irqs.level[20], 1);
	wr(LPC, ICH9_ACPI_CNTL, ICH9_ACPI_CNTL_EN | 5, 1);
	ck_assert_int_eq(irqs.level[21], 1);
	/* reserved selections: no SCI at all */
	wr(LPC, ICH9_ACPI_CNTL, ICH9_ACPI_CNTL_EN | 3, 1);
	ck_assert_int_eq(ich9_lpc_sci_gsi(lpc), -1);
	for (unsigned gsi = 0; gsi < 24; gsi++)
		ck_assert_int_eq(irqs.level[gsi], 0);
	/* back to IRQ9, shared with a PIRQ steered there: the line is the OR */
	wr(LPC, ICH9_ACPI_CNTL, ICH9_ACPI_CNTL_EN, 1);
	ck_assert_int_eq(irqs.level[9], 1);
	tdev_register(&a, PCI_DEVFN(25, 0), PCI_INTA);   /* PIRQA */
	wr(LPC, ICH9_PIRQA_ROUT, 9, 1);
	pci_dev_set_irq(&a.pci, 1);
	out(&pio, 0x600, ACPI_PM1_PWRBTN_STS, 2);
	ck_assert_int_eq(irqs.level[9], 1);
	pci_dev_set_irq(&a.pci, 0);
	ck_assert_int_eq(irqs.level[9], 0);
	ck_assert_int_eq(irqs.level[GSI_PCI_FIRST], 0);
	pci_dev_unregister(&a.pci);
}
END_TEST

START_TEST(test_s5_poweroff)
{
	enable_pm_at_600();
	/* OVMF's ResetShutdown: PM1_CNT = (PM1_CNT & ~SLP_TYP) | SLP_EN */
	out(&pio, 0x604, (in(&pio, 0x604, 2) & ~ACPI_PM1_CNT_SLP_TYP) | ACPI_PM1_CNT_SLP_EN, 2);
	ck_assert_uint_eq(sleeps, 1);
	ck_assert_uint_eq(last_slp_typ, ACPI_SLP_TYP_S5);
}
END_TEST

START_TEST(test_reset)
{
	enable_pm_at_600();
	out(&pio, 0x630, ACPI_SMI_EN_APMC | ACPI_SMI_EN_GBL_SMI, 4);
	wr(LPC, ICH9_GEN_PMCON_1, ICH9_GEN_PMCON_1_SMI_LOCK, 2);
	wr(LPC, ICH9_RCBA, (uint32_t)MM_ICH9_RCBA | 1, 4);
	wr(LPC, ICH9_PIRQA_ROUT, 0x0b, 1);
	/* GEN_PMCON_2/3 are scratch that reset clears */
	wr(LPC, ICH9_GEN_PMCON_2, 0xa5a5, 2);
	wr(LPC, ICH9_GEN_PMCON_3, 0x5a5a, 2);
	ck_assert_uint_eq(rd(LPC, ICH9_GEN_PMCON_1, 4), 0xa5a50000u | ICH9_GEN_PMCON_1_SMI_LOCK);
	ck_assert_uint_eq(rd(LPC, ICH9_GEN_PMCON_3, 2), 0x5a5a);
	out(&pio, PORT_APM_CNT, 0x1234, 2);
	ich9_lpc_set_smi_broadcast(lpc, true);
	ck_assert_uint_eq(smis, 1);
	pci_bus_reset(pb);
	smis = 0;
	ck_assert_uint_eq(rd(LPC, ICH9_PMBASE, 4), 1);
	ck_assert_uint_eq(rd(LPC, ICH9_ACPI_CNTL, 1), 0);
	ck_assert_uint_eq(rd(LPC, ICH9_RCBA, 4), 0);
	ck_assert_uint_eq(rd(LPC, ICH9_GEN_PMCON_1, 4), 0);
	ck_assert_uint_eq(rd(LPC, ICH9_GEN_PMCON_3, 2), 0);
	ck_assert_uint_eq(rd(LPC, ICH9_PIRQA_ROUT, 1), ICH9_PIRQ_RESET);
	ck_assert_uint_eq(in(&pio, PORT_APM_CNT, 2), 0);
	ck_assert_uint_eq(pio.n, 2);
	ck_assert_uint_eq(mmio.n, 0);
	/* after reset: APMC_EN reads 0 again, and the lock is gone */
	enable_pm_at_600();
	ck_assert_uint_eq(in(&pio, 0x630, 4), 0);
	out(&pio, 0x630, ACPI_SMI_EN_GBL_SMI | ACPI_SMI_EN_APMC, 4);
	out(&pio, 0x630, ACPI_SMI_EN_APMC, 4);
	ck_assert_uint_eq(in(&pio, 0x630, 4), ACPI_SMI_EN_APMC);
	wr(LPC, ICH9_GEN_PMCON_1, ICH9_GEN_PMCON_1_SMI_LOCK, 2);
	wr(LPC, ICH9_GEN_PMCON_1, 0, 2);
	ck_assert_uint_eq(rd(LPC, ICH9_GEN_PMCON_1, 2), ICH9_GEN_PMCON_1_SMI_LOCK);
	/* broadcast must be negotiated again */
	out(&pio, PORT_APM_CNT, 0x10, 1);
	ck_assert_uint_eq(smis, 1);
	ck_assert(!last_broadcast);
	/* the explicit entry point does the same */
	ich9_lpc_reset(lpc);
	ck_assert_uint_eq(rd(LPC, ICH9_GEN_PMCON_1, 2), 0);
}
END_TEST

START_TEST(test_create_rejects)
{
	struct ich9_lpc *l2 = NULL;
	struct ich9_lpc_config cfg = { .pio = &pio, .mmio = &mmio, .clock = &fc.clock };
	struct bus p2;
	struct pci_bus *b2;

	/* APM ports already taken (by the fixture's LPC) */
	err_clear();
	ck_assert_int_eq(ich9_lpc_create(pb, &cfg, &l2), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err_get(), "APM"));
	/* 00:1f.0 taken: a second bus of its own, but the same PCI bus */
	bus_init(&p2, "pio2");
	cfg.pio = &p2;
	ck_assert_int_eq(ich9_lpc_create(pb, &cfg, &l2), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err_get(), "1f.0"));
	ck_assert_uint_eq(p2.n, 0);
	/* missing pieces */
	cfg.clock = NULL;
	ck_assert_int_eq(ich9_lpc_create(pb, &cfg, &l2), -EINVAL);
	cfg.clock = &fc.clock;
	cfg.mmio = NULL;
	ck_assert_int_eq(ich9_lpc_create(pb, &cfg, &l2), -EINVAL);
	ck_assert_ptr_null(l2);
	/* a full second instance on its own buses works and cleans up */
	cfg.mmio = &mmio;
	ck_assert_int_eq(pci_bus_create(&p2, &mmio, NULL, &b2), 0);
	ck_assert_int_eq(ich9_lpc_create(b2, &cfg, &l2), 0);
	ich9_lpc_destroy(l2);
	pci_bus_destroy(b2);
	ck_assert_uint_eq(p2.n, 0);
	bus_free(&p2);
	ich9_lpc_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ich9_lpc");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_pmbase_acpi_en);
	tcase_add_test(tc, test_ovmf_smm_control_sequence);
	tcase_add_test(tc, test_apm_gating);
	tcase_add_test(tc, test_rcba);
	tcase_add_test(tc, test_pirq_registers);
	tcase_add_test(tc, test_intx_through_pirq);
	tcase_add_test(tc, test_sci_routing);
	tcase_add_test(tc, test_s5_poweroff);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_create_rejects);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
