/*
 * struct machine, shared by machine.c (phases, memory, vCPUs, run loop),
 * platform.c (devices) and firmware.c (boot paths). Nothing outside those
 * three files includes this header.
 */
#ifndef KVMRUN_MACHINE_INTERNAL_H
#define KVMRUN_MACHINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/chardev.h"
#include "vmm/cli.h"
#include "vmm/desc.h"
#include "vmm/event.h"
#include "vmm/kvm.h"
#include "vmm/machine.h"
#include "vmm/vm.h"

struct platform;   /* devices, owned by platform.c */
struct tdx_machine;
struct firmware;   /* boot path state, owned by firmware.c */

struct machine {
	struct config *cfg;
	struct kvm kvm;
	bool kvm_open;
	struct vm *vm;
	struct event_loop *loop;
	int sigfd;
	int nr_cpus;
	int phases_done;
	const struct phase *phases;  /* the table used (plain or TDX) */
	int nr_phases;
	struct tdx_machine *td;     /* a TDX trust domain, or NULL */

	/* Guest RAM: [0, low_size) and [4 GiB, 4 GiB + high_size). */
	uint64_t low_size, high_size;
	uint8_t *low_hva, *high_hva;
	struct vm_mapping low_map[4];
	int nr_low_map;
	struct vm_mapping high_map;
	bool smm_owns_low;          /* the SMM module maps low RAM (SMRAM views) */
	/* A read-only window inside low RAM (the ISA BIOS alias), or 0/0. */
	uint64_t low_hole_start, low_hole_end;
	uint64_t acpi_rsdp;         /* RSDP address for direct kernel boot, or 0 */

	/* Ranges the firmware must treat as reserved (e820 type 2), e.g. TSEG. */
	struct desc_range reserved[DESC_MAX_RANGES];
	int nr_reserved;

	struct platform *plat;
	struct firmware *fw;

	/* The machine description (device tree). */
	void *fdt;
	size_t fdt_size;
};

/* platform.c */
int platform_create(struct machine *m) __must_check;     /* before vCPUs */
int platform_late_init(struct machine *m) __must_check;  /* after vCPUs and firmware */
void platform_reset(struct machine *m);
void platform_destroy(struct machine *m);
void platform_print_devices(void);

/* firmware.c */
struct e820_map;
int firmware_prepare(struct machine *m) __must_check;    /* read images: before RAM is mapped */
int firmware_map(struct machine *m) __must_check;        /* map -bios regions */
int firmware_boot(struct machine *m) __must_check;       /* load kernels: after describe */
int firmware_reset(struct machine *m) __must_check;      /* reload on system reset */
void firmware_destroy(struct machine *m);
/* The e820 map derived from the machine description. */
int firmware_e820(struct machine *m, bool bios_holes, bool with_reserved,
		  struct e820_map *map) __must_check;

/* machine.c: helpers for the other two */
bool machine_is_q35(const struct machine *m);
void machine_add_reserved(struct machine *m, uint64_t gpa, uint64_t size, const char *name);

#endif
