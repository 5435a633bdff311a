/*
 * ACPI table generator. Pure: it produces checksummed byte blobs from a
 * description of the machine and never touches guest memory or devices.
 *
 * Tables: RSDP (revision 2, XSDT only), XSDT, FADT (revision 6.3),
 * FACS, DSDT (AML emitted here), MADT and, on q35, MCFG. No HPET.
 *
 * Two output forms:
 *  - acpi_build_fixed(): everything in one buffer placed at a fixed GPA,
 *    RSDP first (for direct Linux boot: put it in 0xE0000..0xFFFFF where
 *    Linux scans, or hand its address to boot_params.acpi_rsdp_addr);
 *  - acpi_build_loader(): QEMU's table-loader form for firmware (OVMF,
 *    SeaBIOS): blobs "etc/acpi/tables" and "etc/acpi/rsdp" plus the
 *    "etc/table-loader" command list, to be added as fw_cfg files.
 */
#ifndef KVMRUN_BOOT_ACPI_H
#define KVMRUN_BOOT_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 255   /* xAPIC IDs; processor UID 0xFF means "all" */

/* fw_cfg file names of the table-loader form */
#define ACPI_FWCFG_TABLES "etc/acpi/tables"
#define ACPI_FWCFG_RSDP   "etc/acpi/rsdp"
#define ACPI_FWCFG_LOADER "etc/table-loader"

/* table-loader commands (128 bytes each) */
#define ACPI_LOADER_ENTRY_SIZE   128
#define ACPI_LOADER_ALLOCATE     1
#define ACPI_LOADER_ADD_POINTER  2
#define ACPI_LOADER_ADD_CHECKSUM 3
#define ACPI_LOADER_ZONE_HIGH    1
#define ACPI_LOADER_ZONE_FSEG    2

enum acpi_machine {
	ACPI_MACHINE_PC,    /* i440FX/PIIX-like: no ECAM */
	ACPI_MACHINE_Q35,   /* Q35/ICH9: MCFG, PCI Express root */
};

struct acpi_config {
	enum acpi_machine machine;
	unsigned nr_cpus;           /* 1..ACPI_MAX_CPUS, APIC ID = index */

	/* ACPI PM I/O: PM1a_EVT at pm_base, PM1a_CNT +4, PM_TMR +8 */
	uint16_t pm_base;
	uint16_t gpe0_base;         /* 0: no GPE0 block */
	uint8_t gpe0_len;           /* bytes, even */
	uint16_t sci_gsi;
	/* SMI_CMD port and the values that switch ACPI mode; 0 = none */
	uint16_t smi_cmd;
	uint8_t acpi_enable, acpi_disable;
	uint8_t s5_slp_typ;         /* PM1_CNT.SLP_TYP for S5, in \_S5 */
	uint16_t reset_port;        /* FADT RESET_REG (I/O), 0 = none */
	uint8_t reset_value;

	uint32_t ioapic_addr;
	uint8_t ioapic_id;

	/* PCI host bridge PCI0 in the DSDT; windows for its _CRS */
	bool pci;
	uint32_t pci_mmio32_base, pci_mmio32_size;
	uint64_t pci_mmio64_base, pci_mmio64_size;   /* size 0: no 64-bit window */
	/* PCI INTx routing for _PRT: GSI of @slot's @pin (0=INTA), < 0 none. NULL: no _PRT */
	int (*pci_irq_gsi)(void *opaque, unsigned slot, unsigned pin);
	void *pci_irq_opaque;

	/* q35: ECAM (MCFG, and reserved as a motherboard resource) */
	uint64_t ecam_base;
	uint8_t ecam_bus_end;       /* last bus decoded, e.g. 255 */

	unsigned com_mask;          /* COM1..COM4 present: bits 0..3 */
	bool i8042;                 /* PS/2 keyboard controller at 0x60/0x64 */
	bool rtc;                   /* CMOS RTC at 0x70 (century at CMOS 0x32) */
};

/* Fill @cfg with kvmrun's defaults for @machine (memmap.h addresses). */
void acpi_config_default(struct acpi_config *cfg, enum acpi_machine machine,
			 unsigned nr_cpus);

/*
 * Lay out all tables in @buf (@size bytes) that the guest will see at
 * @gpa_base (16-byte aligned, below 4 GiB), RSDP first, at @gpa_base.
 * Returns the number of bytes used, or -EINVAL (bad config) or -ENOSPC
 * (err set).
 */
long acpi_build_fixed(const struct acpi_config *cfg, void *buf, size_t size,
		      uint64_t gpa_base);

/* The table-loader form; free with acpi_blobs_free(). */
struct acpi_blobs {
	uint8_t *tables;
	size_t tables_len;
	uint8_t *rsdp;
	size_t rsdp_len;
	uint8_t *loader;
	size_t loader_len;
};

/* 0 or -EINVAL/-ENOMEM (err set). */
int acpi_build_loader(const struct acpi_config *cfg, struct acpi_blobs *out);
void acpi_blobs_free(struct acpi_blobs *b);

/* 8-bit checksum byte that makes @len bytes sum to zero (exposed for tests). */
uint8_t acpi_checksum(const void *buf, size_t len);

#endif
