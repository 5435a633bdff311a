/*
 * The irqchip glue: one object that gives the machine its interrupt lines
 * and MSI sink whatever the -machine kernel-irqchip= mode is.
 *
 *  IRQCHIP_KERNEL (on)    KVM's PIC + IOAPIC + LAPICs (KVM_CREATE_IRQCHIP)
 *                         and PIT (KVM_CREATE_PIT2, which also serves port
 *                         0x61); lines via KVM_IRQ_LINE, MSIs via
 *                         KVM_SIGNAL_MSI. kvmrun installs the GSI routing:
 *                         ISA IRQ 0 -> PIC 0 + IOAPIC pin 2 (KVM's own
 *                         default would send it to pin 0), IRQ 2 nowhere.
 *  IRQCHIP_SPLIT (split)  LAPICs in KVM (KVM_CAP_SPLIT_IRQCHIP, 24 pins);
 *                         PIC, IOAPIC and PIT in userspace. IOAPIC messages
 *                         go out as KVM_SIGNAL_MSI; GSIs 0-23 carry MSI
 *                         routes mirroring the redirection table so KVM
 *                         reports EOIs of level-triggered vectors
 *                         (KVM_EXIT_IOAPIC_EOI). PIC interrupts are ExtINT,
 *                         injected into vCPU 0 with KVM_INTERRUPT.
 *  IRQCHIP_USER (off)     everything in userspace: per-vCPU LAPICs (xAPIC at
 *                         0xFEE00000, x2APIC hidden), IOAPIC, 8259 pair +
 *                         ELCR, 8254 + port 0x61. The glue injects with
 *                         KVM_INTERRUPT/KVM_NMI, keeps CR8 and TPR in sync,
 *                         blocks halted vCPUs and APs waiting for SIPI, does
 *                         INIT/SIPI itself, and reports SMI IPIs to the SMM
 *                         module through cfg->smi.
 *
 * Lifecycle: irqchip_create() after vm_create() and before the first
 * vcpu_create() (it registers the devices and the vCPU hooks); then every
 * vCPU gets its LAPIC/CPUID in the vcpu_init hook (CPUID via
 * vcpu_setup_cpuid(), x2APIC hidden in USER mode, and in USER mode
 * IA32_APIC_BASE = 0xFEE00900/0xFEE00800 through KVM_SET_SREGS: code that
 * sets up vCPU registers later must KVM_GET_SREGS first and keep
 * apic_base). Stop and join the vCPU threads and stop the event loop
 * before irqchip_destroy(); destroy before vm_destroy().
 *
 * Hook order (USER mode): register the irqchip before the SMM module. Its
 * pre_run performs INIT/SIPI, blocks halted vCPUs and injects; a kick
 * (e.g. smm_raise()) makes it return without running guest code so later
 * hooks still see their work; entering SMM must call irqchip_set_smm(),
 * which ends a HLT and keeps a stale "ready for injection" from being used.
 *
 * Locking: device-facing entry points (lines, MSI sink, route helpers,
 * irqchip_nmi) are called with the machine lock (vm->bql) held, as every
 * device callback is. The vCPU hooks take the lock themselves.
 */
#ifndef KVMRUN_IRQCHIP_H
#define KVMRUN_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/cli.h"
#include "vmm/clock.h"
#include "vmm/irq.h"
#include "vmm/util.h"

#define IRQCHIP_NR_GSI       24      /* ISA 0-15 + PCI 16-23 */
#define IRQCHIP_MAX_ROUTES   1024    /* GSIs 24.. for MSI routes (irqfd) */

struct vm;
struct irqchip;

struct irqchip_cfg {
	enum irqchip_mode mode;
	int nr_cpus;                 /* vCPUs the machine will create (ids 0..n-1) */
	struct clock *clock;         /* event-loop clock: timers of the user models */
	/* USER mode: a LAPIC accepted an SMI for @cpu (ICR delivery mode SMI,
	 * including self and shorthands, or an IOAPIC/MSI SMI). Called with
	 * the machine lock held, possibly on another vCPU's thread. */
	void (*smi)(void *opaque, int cpu);
	/* USER mode: an SMI waits for @cpu (smm_smi_pending()): ends a HLT. */
	bool (*smi_pending)(void *opaque, int cpu);
	void *opaque;
	uint8_t ioapic_id;           /* IOAPIC ID at reset (MADT must agree); 0 */
	bool skip_cpuid;             /* vcpu_init leaves CPUID alone (TDX sets it) */
};

/* Returns 0 or -errno with err_get() explaining (e.g. a missing KVM cap). */
int irqchip_create(struct vm *vm, const struct irqchip_cfg *cfg,
		   struct irqchip **out) __must_check;
void irqchip_destroy(struct irqchip *ic);

enum irqchip_mode irqchip_mode(const struct irqchip *ic);
const char *irqchip_mode_name(enum irqchip_mode mode);

/*
 * The line for a GSI: ISA IRQs 0-15 (IRQ 0 reaches IOAPIC pin 2 and PIC
 * input 0) and PCI GSIs 16-23. IRQ 2 (the cascade) and GSIs >= 24 have no
 * line: NULL, which irq_set() ignores. A line carries one level: devices
 * sharing a GSI must combine their levels first.
 */
const struct irq_line *irqchip_gsi(struct irqchip *ic, unsigned gsi);
/* MSIs (address 0xFEExxxxx, see devices/irqchip/apic_bus.h for the format). */
const struct msi_sink *irqchip_msi(struct irqchip *ic);

/*
 * MSI routes for irqfd (KERNEL and SPLIT modes; -ENOTSUP in USER mode,
 * where devices use irqchip_msi()). add returns the new GSI (>= 24).
 */
int irqchip_msi_route_add(struct irqchip *ic, uint64_t addr, uint32_t data);
int irqchip_msi_route_update(struct irqchip *ic, int gsi, uint64_t addr, uint32_t data);
int irqchip_msi_route_del(struct irqchip *ic, int gsi);
/* KVM_IRQFD: make writes to eventfd @fd raise @gsi (assign) or stop (!assign). */
int irqchip_irqfd(struct irqchip *ic, int fd, int gsi, bool assign);

/* An NMI for @cpu (-1: all), e.g. from a watchdog or the monitor. */
void irqchip_nmi(struct irqchip *ic, int cpu);

/*
 * USER mode: the SMM module tells the irqchip when @cpu enters or leaves
 * SMM. While in SMM an INIT is latched and performed on leaving; entering
 * SMM also ends a HLT. Call it on that vCPU's own thread. No-op in the
 * other modes (KVM latches INIT itself).
 */
void irqchip_set_smm(struct irqchip *ic, int cpu, bool in_smm);
/*
 * USER mode: @cpu is held in wait-for-SIPI (an AP after INIT). SMM keeps an
 * SMI pending for such a CPU instead of entering SMM from the INIT state.
 * False in the other modes and for a bad @cpu.
 */
bool irqchip_cpu_wait_sipi(struct irqchip *ic, int cpu);
/* The same with an opaque pointer, to plug straight into a callback slot. */
void irqchip_smm_notify(void *ic, int cpu, bool in_smm);

/*
 * System reset of the interrupt controllers (PIC, IOAPIC, PIT, and in
 * USER mode the LAPICs). Call with the vCPUs stopped; each vCPU's own
 * state is reset by the vcpu_reset hook (LAPIC, APIC base, MP state).
 */
void irqchip_reset(struct irqchip *ic);

#endif
