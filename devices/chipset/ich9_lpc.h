/*
 * Intel ICH9 LPC bridge, PCI 00:1F.0, 8086:2918 rev 2, class 0x0601 (ISA
 * bridge): the q35 south bridge registers OVMF and Linux touch.
 *
 *   0x40 PMBASE     PM I/O base (bits 15:7), bit 0 reads 1
 *   0x44 ACPI_CNTL  ACPI_EN (bit 7) decodes the PM block at PMBASE;
 *                   SCI_IRQ_SEL (bits 2:0): 0 IRQ9, 1 IRQ10, 2 IRQ11,
 *                   4 IRQ20, 5 IRQ21, others: no SCI
 *   0x60..0x63, 0x68..0x6b  PIRQA..H routing (reset 0x80)
 *   0xa0 GEN_PMCON_1  SMI_LOCK (bit 4) sticks until reset and locks
 *                   SMI_EN.GBL_SMI_EN; GEN_PMCON_2/3 are scratch
 *   0xf0 RCBA       EN (bit 0) maps a dummy 16 KiB RCRB at bits 31:14
 *                   (reads 0, writes ignored)
 * The rest of 0x40..0xff is scratch, as on QEMU.
 *
 * APM: 0xB2 (APM_CNT) and 0xB3 (APM_STS, scratch). Writing APM_CNT:
 * values 2/3 set/clear PM1_CNT.SCI_EN (ACPI enable/disable, as QEMU);
 * any other value, while SMI_EN.APMC_EN is set, sets SMI_STS.APM_STS and
 * raises an SMI through smi(opaque, cpu, broadcast). Unlike real ICH9 the
 * SMI does not also need SMI_EN.GBL_SMI_EN: QEMU behaves that way and
 * SeaBIOS relies on it (it sets only APMC_EN before its relocation SMI);
 * OVMF always sets both.
 *
 * INTx: the LPC becomes the PCI bus's INTx router. A function's pin goes
 * to PIRQ ich9_lpc_pirq(devfn, pin) (QEMU's default D<N>IR values; the
 * DSDT _PRT must match). PIRQ n always drives GSI 16 + n (IOAPIC mode);
 * when its route register has IRQEN (bit 7) clear it also drives the ISA
 * IRQ in bits 3:0 (PIC mode). The SCI drives the GSI SCI_IRQ_SEL picks.
 * All of these are ORed per GSI before reaching the irq line.
 */
#ifndef KVMRUN_DEVICES_CHIPSET_ICH9_LPC_H
#define KVMRUN_DEVICES_CHIPSET_ICH9_LPC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/chipset/acpi_pm.h"
#include "devices/chipset/pci.h"
#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/irq.h"
#include "vmm/memmap.h"

#define ICH9_LPC_DEVFN          PCI_DEVFN(0x1f, 0)
#define ICH9_LPC_VENDOR         0x8086
#define ICH9_LPC_DEVICE         0x2918
#define ICH9_LPC_REVISION       0x02
#define ICH9_LPC_CLASS          0x060100        /* ISA bridge */

/* Config registers */
#define ICH9_PMBASE             0x40    /* 32 */
#define ICH9_PMBASE_MASK        0xff80u
#define ICH9_PMBASE_RTE         0x01u   /* resource type: I/O, reads 1 */
#define ICH9_ACPI_CNTL          0x44
#define ICH9_ACPI_CNTL_EN       0x80
#define ICH9_ACPI_CNTL_SCI_SEL  0x07
#define ICH9_PIRQA_ROUT         0x60    /* PIRQA..D */
#define ICH9_PIRQE_ROUT         0x68    /* PIRQE..H */
#define ICH9_PIRQ_IRQEN         0x80    /* 1: not routed to the PIC */
#define ICH9_PIRQ_IRQ_MASK      0x0f
#define ICH9_PIRQ_RESET         0x80
#define ICH9_PIRQS              8
#define ICH9_GEN_PMCON_1        0xa0    /* 16 */
#define ICH9_GEN_PMCON_1_SMI_LOCK 0x10
#define ICH9_GEN_PMCON_2        0xa2
#define ICH9_GEN_PMCON_3        0xa4
#define ICH9_RCBA               0xf0    /* 32 */
#define ICH9_RCBA_EN            0x1u
#define ICH9_RCBA_MASK          0xffffc000u
#define ICH9_RCRB_SIZE          MM_ICH9_RCBA_SIZE      /* 16 KiB */

/* APM command values with a meaning of their own (not an SMI). */
#define ICH9_APM_ACPI_ENABLE    ACPI_SMI_CMD_ENABLE
#define ICH9_APM_ACPI_DISABLE   ACPI_SMI_CMD_DISABLE

struct ich9_lpc_config {
	struct bus *pio, *mmio;         /* for the PM block, APM ports and RCRB */
	struct clock *clock;            /* PM timer */
	/*
	 * Interrupt output: set_level(opaque, gsi, level) is called with the
	 * GSI of each line the LPC drives (SCI, PIRQs); .gsi is unused.
	 */
	struct irq_line irq;
	/* An APM SMI: @cpu is the vCPU that wrote APM_CNT (-1: the VMM). */
	void (*smi)(void *opaque, int cpu, bool broadcast);
	/* PM1_CNT.SLP_EN (see acpi_pm.h). */
	void (*sleep)(void *opaque, unsigned slp_typ);
	void *opaque;
};

struct ich9_lpc {
	struct pci_dev pci;
	struct ich9_lpc_config cfg;
	struct acpi_pm *pm;
	bool rcrb_mapped;
	uint64_t rcrb_base;
	uint8_t apm_cnt, apm_sts;
	bool smi_broadcast;
	unsigned pirq_level;            /* bit n: PIRQ n asserted by some function */
	int sci_level;
	uint32_t driven;                /* bit g: GSI g currently driven high */
};

/*
 * Create the LPC at 00:1F.0 on @bus, register the APM ports on cfg->pio
 * and install the LPC as the bus's INTx router. 0 or -errno (err_set()).
 */
int ich9_lpc_create(struct pci_bus *bus, const struct ich9_lpc_config *cfg,
		    struct ich9_lpc **out);
/* Unregister everything and free. Accepts NULL. */
void ich9_lpc_destroy(struct ich9_lpc *lpc);
/*
 * Reset values everywhere (pci_bus_reset() does this too): SMI_EN = 0,
 * SMI_LOCK clear, PM block and RCRB unmapped, SMI broadcast off.
 */
void ich9_lpc_reset(struct ich9_lpc *lpc);
/* SMI broadcast negotiated over fw_cfg (etc/smi/features-ok). */
void ich9_lpc_set_smi_broadcast(struct ich9_lpc *lpc, bool on);
/* The PM block, for power button / GPE events. */
struct acpi_pm *ich9_lpc_pm(struct ich9_lpc *lpc);
/* PIRQ (0..7 = A..H) for INTx @pin (1..4) of @devfn, -1 if none. */
int ich9_lpc_pirq(unsigned devfn, unsigned pin);
/* The GSI ACPI_CNTL.SCI_IRQ_SEL currently selects, -1 if reserved. */
int ich9_lpc_sci_gsi(const struct ich9_lpc *lpc);

#endif
