/*
 * Every guest-physical address and fixed I/O port kvmrun uses, in one place.
 */
#ifndef KVMRUN_MEMMAP_H
#define KVMRUN_MEMMAP_H

#include "vmm/util.h"

/* ---- Low memory used by the direct-boot paths (Linux, multiboot) ---- */
#define MM_BOOT_GDT          0x00000500ULL   /* boot GDT (4 entries) */
#define MM_BOOT_IDT          0x00000520ULL   /* empty IDT for 32-bit entry */
#define MM_MB_INFO           0x00000600ULL   /* multiboot info + mmap (..0x1fff) */
#define MM_MB_INFO_END       0x00002000ULL
#define MM_MB_CMDLINE        0x00002000ULL   /* multiboot cmdline + module strings */
#define MM_MB_CMDLINE_END    0x00006000ULL
#define MM_ZERO_PAGE         0x00007000ULL   /* Linux boot_params */
#define MM_PML4              0x00009000ULL   /* identity page tables: PML4 */
#define MM_PDPT              0x0000a000ULL   /*   PDPT (4 x 1 GiB PD below) */
#define MM_PD                0x0000b000ULL   /*   4 PDs, 0xb000..0xefff */
#define MM_BOOT_STACK        0x0008f000ULL   /* top of the boot stack */
#define MM_CMDLINE           0x00020000ULL   /* Linux command line */
#define MM_CMDLINE_MAX       0x00010000ULL
#define MM_EBDA              0x0009fc00ULL   /* top of conventional memory */
#define MM_VGA               0x000a0000ULL   /* legacy VGA/SMRAM window */
#define MM_BIOS_AREA         0x000e0000ULL   /* ACPI RSDP/tables live here */
#define MM_ACPI_TABLES       0x000e0000ULL
#define MM_ACPI_TABLES_SIZE  0x00010000ULL
#define MM_BIOS_LOW          0x000f0000ULL
#define MM_HIGH_RAM          0x00100000ULL   /* 1 MiB: kernel load address */

/* ---- The 32-bit hole ---- */
#define MM_PC_LOWMEM_MAX     0xe0000000ULL   /* pc: RAM below 4G at most */
#define MM_PC_LOWMEM_SPLIT   0xc0000000ULL   /* pc: used when RAM >= MAX */
#define MM_Q35_LOWMEM_MAX    0xb0000000ULL   /* q35: RAM below ECAM */
#define MM_Q35_LOWMEM_SPLIT  0x80000000ULL   /* q35: used when RAM >= MAX */
#define MM_PCIE_ECAM         0xb0000000ULL   /* q35 PCIEXBAR default */
#define MM_PCIE_ECAM_SIZE    0x10000000ULL   /* 256 buses */
#define MM_PCI_MMIO32        0xc0000000ULL   /* 32-bit PCI BAR window */
#define MM_PCI_MMIO32_END    0xfec00000ULL
#define MM_IOAPIC            0xfec00000ULL
#define MM_IOAPIC_SIZE       0x00001000ULL
#define MM_HPET              0xfed00000ULL
#define MM_ICH9_RCBA         0xfed1c000ULL
#define MM_ICH9_RCBA_SIZE    0x00004000ULL
#define MM_LAPIC             0xfee00000ULL
#define MM_LAPIC_SIZE        0x00001000ULL
#define MM_FLASH_TOP         0x100000000ULL  /* firmware ends at 4 GiB */
#define MM_FLASH_MAX_SIZE    (16 * MiB)
#define MM_ISA_BIOS_ALIAS    (128 * KiB)     /* last 128K of -bios aliased below 1M */
#define MM_HIGHMEM_START     0x100000000ULL  /* RAM above 4 GiB */
#define MM_PCI_MMIO64        0x8000000000ULL /* 64-bit BAR window at 512 GiB */
#define MM_PCI_MMIO64_SIZE   0x8000000000ULL

/* ---- KVM-internal ranges that must not collide with anything ---- */
#define MM_KVM_TSS           0xfeffd000ULL   /* KVM_SET_TSS_ADDR: 3 pages */
#define MM_KVM_IDENTITY_MAP  0xfeffc000ULL   /* KVM_SET_IDENTITY_MAP_ADDR */

/* ---- SMM ---- */
#define MM_SMBASE_DEFAULT    0x30000ULL
#define MM_SMM_HANDLER_OFF   0x8000ULL
#define MM_SMM_SAVE_OFF      0xfe00ULL       /* save area at SMBASE + this */
#define MM_SMM_SAVE_SIZE     512

/* ---- Fixed I/O ports ---- */
#define PORT_PIC_MASTER      0x20
#define PORT_PIT             0x40
#define PORT_I8042_DATA      0x60
#define PORT_PORT61          0x61
#define PORT_I8042_CMD       0x64
#define PORT_CMOS            0x70
#define PORT_POST            0x80
#define PORT_A20             0x92
#define PORT_PIC_SLAVE       0xa0
#define PORT_APM_CNT         0xb2
#define PORT_APM_STS         0xb3
#define PORT_ELCR            0x4d0
#define PORT_COM1            0x3f8
#define PORT_COM2            0x2f8
#define PORT_COM3            0x3e8
#define PORT_COM4            0x2e8
#define PORT_DEBUGCON        0x402           /* isa-debugcon default */
#define PORT_FW_CFG          0x510           /* selector; data 0x511; DMA 0x514 */
#define PORT_PC_ACPI_PM      0x600           /* pc machine: fixed ACPI PM block */
#define PORT_PCI_CONFIG      0xcf8           /* 0xcf8 address, 0xcfc data */
#define PORT_RESET_CONTROL   0xcf9
#define PORT_DEBUG_EXIT      0xf4            /* isa-debug-exit default */
#define PORT_TEST_SMI        0xb4            /* kvmrun test device: trigger SMI */

/* IRQ (GSI) numbers of the legacy devices */
#define GSI_PIT              0   /* routed to IOAPIC pin 2 */
#define GSI_KBD              1
#define GSI_COM2             3
#define GSI_COM1             4
#define GSI_RTC              8
#define GSI_SCI              9
#define GSI_MOUSE            12
#define GSI_PCI_FIRST        16  /* PIRQA..H -> 16..23 on q35 */

#endif
