/*
 * Local APIC (xAPIC, MMIO page at 0xFEE00000) of one CPU.
 *
 * Register model: ID, version 0x00050014 (version 0x14, 6 LVT entries),
 * TPR/APR/PPR, EOI, LDR/DFR (flat and cluster), SVR, ISR/TMR/IRR, ESR
 * (write-before-read), ICR low/high, LVT timer/thermal/perf/LINT0/LINT1/
 * error, and the timer (one-shot and periodic; TSC-deadline is not offered
 * because x2APIC/TSC-deadline are hidden from the guest in this mode).
 * The timer counts at a 1 GHz bus clock divided by the divide
 * configuration; OVMF's LocalApicTimerDxe assumes exactly that frequency.
 * A periodic timer raises at most one interrupt per LAPIC_MIN_PERIOD_NS
 * (the count itself stays exact), so a guest cannot flood the event loop.
 *
 * The LAPIC only knows its own CPU. Anything that leaves it goes through
 * callbacks: IPIs (ICR writes) as struct apic_msg to send(), EOIs of
 * level-triggered vectors to eoi(), and "this CPU needs attention" to
 * notify(). Messages arrive through lapic_accept() (see apic_bus.h for
 * routing). Events that the vCPU glue must act on itself (NMI, SMI, INIT,
 * SIPI) are latched as flags it consumes.
 *
 * All functions run under the machine lock.
 */
#ifndef KVMRUN_LAPIC_H
#define KVMRUN_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irqchip/apic_bus.h"
#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/memmap.h"

#define LAPIC_BUS_HZ       1000000000ULL   /* timer input clock: 1 GHz */
#define LAPIC_MIN_PERIOD_NS 100000ULL      /* periodic timer interrupts at most 10 kHz */
#define LAPIC_VERSION      0x00050014u
#define LAPIC_NR_LVT       6
#define LAPIC_BASE_DEFAULT MM_LAPIC        /* IA32_APIC_BASE address at reset */
#define LAPIC_BASE_BSP     (1ULL << 8)     /* IA32_APIC_BASE bits */
#define LAPIC_BASE_ENABLE  (1ULL << 11)

/* Register offsets in the 4 KiB page. */
#define LAPIC_ID     0x020
#define LAPIC_VER    0x030
#define LAPIC_TPR    0x080
#define LAPIC_APR    0x090
#define LAPIC_PPR    0x0a0
#define LAPIC_EOI    0x0b0
#define LAPIC_RRD    0x0c0
#define LAPIC_LDR    0x0d0
#define LAPIC_DFR    0x0e0
#define LAPIC_SVR    0x0f0
#define LAPIC_ISR    0x100
#define LAPIC_TMR    0x180
#define LAPIC_IRR    0x200
#define LAPIC_ESR    0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERM 0x330
#define LAPIC_LVT_PERF  0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_ICR 0x380
#define LAPIC_TIMER_CCR 0x390
#define LAPIC_TIMER_DCR 0x3e0

/* Register bits. */
#define LAPIC_SVR_ENABLE     (1u << 8)
#define LAPIC_SVR_NO_FOCUS   (1u << 9)
#define LAPIC_LVT_MASKED     (1u << 16)
#define LAPIC_LVT_PERIODIC   (1u << 17)
#define LAPIC_ESR_SEND_ILL   (1u << 5)
#define LAPIC_ESR_RECV_ILL   (1u << 6)
#define LAPIC_ESR_ILL_REG    (1u << 7)

/* Index of each LVT in lapic.lvt[]. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

/* lapic_has_interrupt() result meaning "ask the 8259 (ExtINT)". */
#define LAPIC_EXTINT APIC_BUS_EXTINT

/* Latched events for the vCPU glue. */
#define LAPIC_EV_NMI   (1u << 0)
#define LAPIC_EV_SMI   (1u << 1)
#define LAPIC_EV_INIT  (1u << 2)
#define LAPIC_EV_SIPI  (1u << 3)

struct lapic_cb {
	/* An IPI written to the ICR, to be routed on the APIC bus. */
	void (*send)(void *opaque, const struct apic_msg *m);
	/* EOI of a level-triggered vector (TMR bit set): broadcast to IOAPICs. */
	void (*eoi)(void *opaque, uint8_t vector);
	/* Something changed that may need the CPU: an interrupt became
	 * deliverable or an event (NMI/SMI/INIT/SIPI) was latched. */
	void (*notify)(void *opaque, int cpu);
	void *opaque;
};

struct lapic_cfg {
	int cpu;                 /* CPU index, reported to notify() and in messages */
	uint8_t apic_id;         /* power-on APIC ID */
	bool bsp;                /* bootstrap processor: LINT0 ExtINT at reset, runs */
	struct clock *clock;     /* timer time base (may be NULL: the timer never fires) */
	struct lapic_cb cb;
};

struct lapic {
	int cpu;
	uint8_t reset_id;
	bool bsp;
	struct clock *clock;
	struct ktimer timer;
	struct lapic_cb cb;

	uint64_t apic_base;      /* IA32_APIC_BASE as last reported by KVM */
	uint32_t id, tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LAPIC_NR_LVT];
	uint32_t irr[8], isr[8], tmr[8];

	uint32_t timer_icr;      /* initial count */
	uint32_t timer_dcr;      /* divide configuration register */
	unsigned timer_div;      /* 1..128 */
	uint64_t timer_start;    /* clock time the count (re)started */
	uint64_t timer_next;     /* next expiry, 0 if none */

	bool lint[2];            /* LINT0/LINT1 input levels */
	bool extint;             /* an ExtINT message is pending */
	unsigned events;         /* LAPIC_EV_* */
	uint8_t sipi_vector;
	bool wait_sipi;          /* INIT state: only a SIPI starts the CPU */
};

void lapic_init(struct lapic *l, const struct lapic_cfg *cfg);
void lapic_fini(struct lapic *l);
/* Power-on reset: registers, ID and IA32_APIC_BASE back to their reset values. */
void lapic_reset(struct lapic *l);

/* 32-bit register access at a 16-byte aligned offset (no side effects of
 * sub-word handling). Reserved offsets read 0 and log "illegal register". */
uint32_t lapic_read_reg(struct lapic *l, unsigned off);
void lapic_write_reg(struct lapic *l, unsigned off, uint32_t val);
/* The MMIO page (dev = struct lapic). Only aligned 32-bit writes take effect. */
uint64_t lapic_mmio_read(struct lapic *l, uint64_t off, unsigned size);
void lapic_mmio_write(struct lapic *l, uint64_t off, uint64_t val, unsigned size);
extern const struct dev_ops lapic_ops;

/* Routing helpers. */
uint8_t lapic_apic_id(const struct lapic *l);
bool lapic_match_dest(const struct lapic *l, uint8_t dest, bool logical);
bool lapic_sw_enabled(const struct lapic *l);
bool lapic_hw_enabled(const struct lapic *l);
uint8_t lapic_apr(const struct lapic *l);
uint8_t lapic_ppr(const struct lapic *l);
/* Vector already in IRR or ISR (focus processor test). */
bool lapic_has_vector(const struct lapic *l, uint8_t vector);
bool lapic_focus_checking(const struct lapic *l);

/* A message routed to this LAPIC. Returns true if it was accepted. */
bool lapic_accept(struct lapic *l, const struct apic_msg *m);
/* LINT0/LINT1 input pins (PIC INTR on LINT0, NMI on LINT1). */
void lapic_set_lint(struct lapic *l, int pin, int level);

/* Highest-priority deliverable interrupt: vector, LAPIC_EXTINT, or -1. */
int lapic_has_interrupt(const struct lapic *l);
/* INTA: moves the vector from IRR to ISR and returns it; LAPIC_EXTINT when
 * the 8259 must supply the vector; the spurious vector when nothing is
 * deliverable. */
int lapic_ack_interrupt(struct lapic *l);

/* CR8 = TPR[7:4]. */
uint8_t lapic_get_cr8(const struct lapic *l);
void lapic_set_tpr_from_cr8(struct lapic *l, uint8_t cr8);
/* IA32_APIC_BASE changed (bit 11 is the hardware enable). */
void lapic_set_base(struct lapic *l, uint64_t base);

/* Latched events. */
unsigned lapic_events(const struct lapic *l);
bool lapic_take_nmi(struct lapic *l);
bool lapic_take_smi(struct lapic *l);
bool lapic_init_pending(const struct lapic *l);
/* Perform a pending INIT: registers to their INIT values (ID kept); an AP
 * then waits for a SIPI, the BSP keeps running (from the reset vector). */
void lapic_do_init(struct lapic *l);
bool lapic_wait_sipi(const struct lapic *l);
/* A SIPI arrived while waiting: returns true with the vector, leaves INIT state. */
bool lapic_take_sipi(struct lapic *l, uint8_t *vector);

/* Timer: next expiry on the clock (0 = none) and a poll that fires it when
 * due (for a halted vCPU that waits on the deadline itself). */
uint64_t lapic_timer_deadline(const struct lapic *l);
void lapic_timer_poll(struct lapic *l);
uint32_t lapic_timer_current(const struct lapic *l);

#endif
