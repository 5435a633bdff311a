/*
 * The irqchip glue (see irqchip.h for the three modes).
 *
 * USER mode, how a vCPU thread runs (all on its own thread):
 *
 *   post_run      run->cr8 -> TPR, run->apic_base -> LAPIC hardware enable;
 *                 the run fields (ready_for_interrupt_injection, if_flag)
 *                 are now "fresh": they describe the state KVM will enter.
 *   handle_exit   HLT: the vCPU is halted (remembering IF); SET_TPR: CR8
 *                 went down, post_run already synced it.
 *   pre_run       INIT (unless in SMM) and SIPI are performed here; a vCPU
 *                 that is halted or waits for a SIPI blocks here until it
 *                 can run. Then: a pending NMI goes in with KVM_NMI; the
 *                 highest interrupt (LAPIC, or the PIC via ExtINT) is
 *                 acknowledged and injected with KVM_INTERRUPT only when the
 *                 fresh run fields say KVM can take it now (IF set, no
 *                 interrupt shadow, nothing queued); otherwise the vCPU asks
 *                 for an interrupt window and KVM exits as soon as it opens.
 *                 run->cr8 = TPR >> 4 before entry.
 *
 * Waking: an event for a vCPU (IRR set, NMI, INIT, SIPI) calls cpu_wake():
 * if the target blocks in wait_runnable() it is signalled on its condition
 * variable, otherwise vcpu_kick() makes its KVM_RUN return. The blocked
 * thread re-evaluates under the machine lock, so an interrupt that arrives
 * between the HLT exit and the wait is seen (the decision and the delivery
 * are both made under the lock; the wake-up generation closes the gap
 * between dropping the lock and sleeping). A kick from elsewhere (pause,
 * stop, the SMM module) sets run->immediate_exit: the wait returns and the
 * loop goes round once without running guest code, so other hooks see it.
 * A halted vCPU whose LAPIC timer is the next event sleeps until its
 * deadline and fires the timer itself (no event-loop round trip).
 */
#include "vmm/irqchip.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/irqchip/apic_bus.h"
#include "devices/irqchip/ioapic.h"
#include "devices/irqchip/lapic.h"
#include "devices/irqchip/pic.h"
#include "devices/irqchip/pit.h"
#include "vmm/err.h"
#include "vmm/exit.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define SPLIT_IOAPIC_PINS 24
#define INIT_COMPLETE_TRIES 16

struct irqchip_cpu {
	struct irqchip *ic;
	int id;
	struct vcpu *v;              /* set by vcpu_init */
	struct lapic *lapic;         /* USER mode */

	/* Halt/wait-for-SIPI blocking: mu is a leaf lock (never held while
	 * taking the machine lock). */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	unsigned gen;                /* bumped by every wake-up */
	bool waiting;

	/* The vCPU's own thread (with the machine lock where noted). */
	bool halted, halt_if;        /* machine lock */
	bool fresh;                  /* run fields describe the next entry */
	atomic_bool in_smm;
	uint8_t cr8;                 /* what pre_run put in run->cr8 */
	uint64_t apic_base;          /* last IA32_APIC_BASE seen */
	bool req_window;             /* SPLIT: request_interrupt_window was set */

	/* KERNEL mode: power-on state captured at creation for vcpu_reset. */
	struct kvm_lapic_state *lapic_snap;
	struct kvm_mp_state mp_snap;
	uint64_t apic_base_snap;
};

struct msi_route {
	bool used;
	uint64_t addr;
	uint32_t data;
};

struct irqchip {
	struct vm *vm;
	struct irqchip_cfg cfg;
	enum irqchip_mode mode;
	int nr_cpus;
	struct irqchip_cpu *cpus;

	struct irq_line lines[IRQCHIP_NR_GSI];
	int8_t level[IRQCHIP_NR_GSI];   /* last level per GSI, -1 unknown */
	struct msi_sink msi;

	/* Userspace models (USER: all; SPLIT: all but the LAPICs). */
	struct lapic *lapics;
	struct apic_bus bus;
	struct ioapic ioapic;
	struct pic pic;
	struct pit pit;
	bool models;
	atomic_bool pic_intr;           /* SPLIT: PIC INTR output */

	/* KVM GSI routing (KERNEL, SPLIT). */
	struct msi_route routes[IRQCHIP_MAX_ROUTES - IRQCHIP_NR_GSI];
	uint64_t pin_route[SPLIT_IOAPIC_PINS][2];   /* SPLIT: addr, data per pin */
	struct kvm_irqchip chip_snap[3];            /* KERNEL: PIC m/s, IOAPIC */
	struct kvm_pit_state2 pit_snap;
};

static const char *const mode_names[] = {
	[IRQCHIP_KERNEL] = "kernel",
	[IRQCHIP_USER] = "userspace",
	[IRQCHIP_SPLIT] = "split",
};

const char *irqchip_mode_name(enum irqchip_mode mode)
{
	return (unsigned)mode < ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

enum irqchip_mode irqchip_mode(const struct irqchip *ic)
{
	return ic->mode;
}

static struct irqchip_cpu *cpu_of(struct irqchip *ic, struct vcpu *v)
{
	if (!v || v->id < 0 || v->id >= ic->nr_cpus)
		return NULL;
	return &ic->cpus[v->id];
}

static void lock(struct irqchip *ic)
{
	pthread_mutex_lock(&ic->vm->bql);
}

static void unlock(struct irqchip *ic)
{
	pthread_mutex_unlock(&ic->vm->bql);
}

/* ------------------------------------------------------------------ */
/* Waking vCPUs                                                        */
/* ------------------------------------------------------------------ */

static void cpu_signal(struct irqchip_cpu *c)
{
	pthread_mutex_lock(&c->mu);
	c->gen++;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mu);
}

/* Something happened for @c: wake its wait, or interrupt its KVM_RUN. */
static void cpu_wake(struct irqchip_cpu *c)
{
	bool waiting;

	pthread_mutex_lock(&c->mu);
	waiting = c->waiting;
	if (waiting) {
		c->gen++;
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&c->mu);
	/* Our own thread re-evaluates in pre_run anyway. */
	if (!waiting && c->v && vcpu_current() != c->v)
		vcpu_kick(c->v);
}

static void hook_kick(void *opaque, struct vcpu *v)
{
	struct irqchip_cpu *c = cpu_of(opaque, v);

	if (c)
		cpu_signal(c);
}

static bool kick_pending(struct vcpu *v)
{
	return v->run && __atomic_load_n(&v->run->immediate_exit, __ATOMIC_SEQ_CST);
}

/* ------------------------------------------------------------------ */
/* Callbacks of the userspace models                                   */
/* ------------------------------------------------------------------ */

static void lapic_send_cb(void *opaque, const struct apic_msg *m)
{
	struct irqchip *ic = opaque;

	TRACE(TRACE_IRQ, "ipi cpu%d dm %u vec 0x%02x dest 0x%02x%s sh %u", m->src, m->delivery,
	      m->vector, m->dest, m->logical ? " logical" : "", m->shorthand);
	apic_bus_deliver(&ic->bus, m);
}

static void lapic_eoi_cb(void *opaque, uint8_t vector)
{
	apic_bus_eoi(&((struct irqchip *)opaque)->bus, vector);
}

static void lapic_notify_cb(void *opaque, int cpu)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c;

	if (cpu < 0 || cpu >= ic->nr_cpus)
		return;
	c = &ic->cpus[cpu];
	/* SMIs belong to the SMM module: hand them over right away. */
	if (lapic_take_smi(c->lapic)) {
		TRACE(TRACE_IRQ, "smi ipi -> cpu%d", cpu);
		if (ic->cfg.smi)
			ic->cfg.smi(ic->cfg.opaque, cpu);
	}
	cpu_wake(c);
}

static bool user_ioapic_deliver(void *opaque, const struct apic_msg *m)
{
	return apic_bus_deliver(&((struct irqchip *)opaque)->bus, m) != 0;
}

static void user_pic_intr(void *opaque, int level)
{
	apic_bus_pic_intr(&((struct irqchip *)opaque)->bus, level);
}

static int signal_msi(struct irqchip *ic, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	return vm_ioctl(ic->vm, KVM_SIGNAL_MSI, &msi);
}

static bool split_ioapic_deliver(void *opaque, const struct apic_msg *m)
{
	struct irqchip *ic = opaque;
	uint64_t addr;
	uint32_t data;

	apic_bus_msi_encode(m, &addr, &data);
	/* > 0: delivered to some LAPIC, 0: blocked by the guest, < 0: error. */
	return signal_msi(ic, addr, data) > 0;
}

static int commit_routes(struct irqchip *ic);

static void split_redir_changed(void *opaque, unsigned pin)
{
	struct irqchip *ic = opaque;
	struct apic_msg m;
	uint64_t addr;
	uint32_t data;
	int r;

	if (pin >= SPLIT_IOAPIC_PINS || !ioapic_pin_msg(&ic->ioapic, pin, &m))
		return;
	apic_bus_msi_encode(&m, &addr, &data);
	if (ic->pin_route[pin][0] == addr && ic->pin_route[pin][1] == data)
		return;
	ic->pin_route[pin][0] = addr;
	ic->pin_route[pin][1] = data;
	/* Before vCPUs exist (creation, reset) the table is committed once at the end. */
	if (!ic->vm->nr_vcpus)
		return;
	r = commit_routes(ic);
	if (r < 0)
		log_warn("irqchip: cannot update the MSI route of IOAPIC pin %u: %s", pin,
			 strerror(-r));
}

static void split_pic_intr(void *opaque, int level)
{
	struct irqchip *ic = opaque;

	atomic_store(&ic->pic_intr, level != 0);
	/* ExtINT goes to vCPU 0 (the BSP, whose LINT0 is the virtual wire). */
	if (level && ic->nr_cpus > 0)
		cpu_wake(&ic->cpus[0]);
}

/* ------------------------------------------------------------------ */
/* Lines and MSIs                                                      */
/* ------------------------------------------------------------------ */

static void line_set(void *opaque, unsigned gsi, int level)
{
	struct irqchip *ic = opaque;
	struct kvm_irq_level il;
	int r;

	if (gsi >= IRQCHIP_NR_GSI)
		return;
	level = level != 0;
	if (ic->level[gsi] == level)
		return;
	ic->level[gsi] = (int8_t)level;
	TRACE(TRACE_IRQ, "gsi %u level %d", gsi, level);
	if (ic->mode == IRQCHIP_KERNEL) {
		il = (struct kvm_irq_level){ .irq = gsi, .level = (uint32_t)level };
		r = vm_ioctl(ic->vm, KVM_IRQ_LINE, &il);
		if (r < 0)
			log_warn("irqchip: KVM_IRQ_LINE(%u, %d): %s", gsi, level, strerror(-r));
		return;
	}
	apic_bus_set_gsi(&ic->bus, gsi, level);
}

static void msi_cb(void *opaque, uint64_t addr, uint32_t data)
{
	struct irqchip *ic = opaque;
	int r;

	TRACE(TRACE_IRQ, "msi addr 0x%llx data 0x%x", (unsigned long long)addr, data);
	if (ic->mode == IRQCHIP_USER) {
		apic_bus_msi(&ic->bus, addr, data);
		return;
	}
	r = signal_msi(ic, addr, data);
	if (r < 0)
		log_warn("irqchip: KVM_SIGNAL_MSI(0x%llx, 0x%x): %s", (unsigned long long)addr,
			 data, strerror(-r));
}

const struct irq_line *irqchip_gsi(struct irqchip *ic, unsigned gsi)
{
	if (!ic || gsi >= IRQCHIP_NR_GSI || gsi == 2)
		return NULL;
	return &ic->lines[gsi];
}

const struct msi_sink *irqchip_msi(struct irqchip *ic)
{
	return ic ? &ic->msi : NULL;
}

void irqchip_nmi(struct irqchip *ic, int cpu)
{
	struct apic_msg m = { .delivery = APIC_DM_NMI, .level = true, .src = -1 };
	int i;

	if (ic->mode == IRQCHIP_USER) {
		m.shorthand = cpu < 0 ? APIC_SH_ALL : APIC_SH_NONE;
		m.dest = (uint8_t)(cpu < 0 ? APIC_BROADCAST : cpu);
		apic_bus_deliver(&ic->bus, &m);
		return;
	}
	/* In-kernel LAPICs: an NMI message through KVM_SIGNAL_MSI. */
	for (i = 0; i < ic->nr_cpus; i++) {
		uint64_t addr;
		uint32_t data;

		if (cpu >= 0 && i != cpu)
			continue;
		m.dest = (uint8_t)i;
		apic_bus_msi_encode(&m, &addr, &data);
		signal_msi(ic, addr, data);
	}
}

/* ------------------------------------------------------------------ */
/* GSI routing (KERNEL and SPLIT)                                      */
/* ------------------------------------------------------------------ */

static void add_irqchip_route(struct kvm_irq_routing *rt, unsigned gsi, unsigned chip,
			      unsigned pin)
{
	struct kvm_irq_routing_entry *e = &rt->entries[rt->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static void add_msi_route(struct kvm_irq_routing *rt, unsigned gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e = &rt->entries[rt->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
}

/* KVM_SET_GSI_ROUTING replaces the whole table: rebuild all of it. */
static int commit_routes(struct irqchip *ic)
{
	struct kvm_irq_routing *rt;
	unsigned gsi, max = 2 * IRQCHIP_NR_GSI + ARRAY_SIZE(ic->routes);
	int r;

	rt = calloc(1, sizeof(*rt) + max * sizeof(rt->entries[0]));
	if (!rt)
		return -ENOMEM;
	for (gsi = 0; gsi < IRQCHIP_NR_GSI; gsi++) {
		int pin = apic_bus_gsi_pin(gsi);

		if (ic->mode == IRQCHIP_SPLIT) {
			add_msi_route(rt, gsi, ic->pin_route[gsi][0], (uint32_t)ic->pin_route[gsi][1]);
			continue;
		}
		if (gsi < 16 && gsi != 2)
			add_irqchip_route(rt, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
						   KVM_IRQCHIP_PIC_SLAVE, gsi & 7);
		if (pin >= 0)
			add_irqchip_route(rt, gsi, KVM_IRQCHIP_IOAPIC, (unsigned)pin);
	}
	for (gsi = 0; gsi < ARRAY_SIZE(ic->routes); gsi++)
		if (ic->routes[gsi].used)
			add_msi_route(rt, gsi + IRQCHIP_NR_GSI, ic->routes[gsi].addr,
				      ic->routes[gsi].data);
	r = vm_ioctl(ic->vm, KVM_SET_GSI_ROUTING, rt);
	free(rt);
	return r < 0 ? r : 0;
}

static int route_index(struct irqchip *ic, int gsi)
{
	if (ic->mode == IRQCHIP_USER)
		return -ENOTSUP;
	if (gsi < IRQCHIP_NR_GSI || gsi >= IRQCHIP_MAX_ROUTES ||
	    !ic->routes[gsi - IRQCHIP_NR_GSI].used)
		return -ENOENT;
	return gsi - IRQCHIP_NR_GSI;
}

int irqchip_msi_route_add(struct irqchip *ic, uint64_t addr, uint32_t data)
{
	unsigned i;
	int r;

	if (ic->mode == IRQCHIP_USER)
		return err_set(-ENOTSUP, "MSI routes need the in-kernel irqchip "
				       "(kernel-irqchip=on or split)");
	for (i = 0; i < ARRAY_SIZE(ic->routes); i++)
		if (!ic->routes[i].used)
			break;
	if (i == ARRAY_SIZE(ic->routes))
		return err_set(-ENOSPC, "out of MSI routes (%d)", IRQCHIP_MAX_ROUTES);
	ic->routes[i] = (struct msi_route){ .used = true, .addr = addr, .data = data };
	r = commit_routes(ic);
	if (r < 0) {
		ic->routes[i].used = false;
		return err_set(r, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
	}
	return (int)i + IRQCHIP_NR_GSI;
}

int irqchip_msi_route_update(struct irqchip *ic, int gsi, uint64_t addr, uint32_t data)
{
	struct msi_route old;
	int i = route_index(ic, gsi), r;

	if (i < 0)
		return i;
	old = ic->routes[i];
	if (old.addr == addr && old.data == data)
		return 0;
	ic->routes[i].addr = addr;
	ic->routes[i].data = data;
	r = commit_routes(ic);
	if (r < 0) {
		ic->routes[i] = old;
		return err_set(r, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
	}
	return 0;
}

int irqchip_msi_route_del(struct irqchip *ic, int gsi)
{
	int i = route_index(ic, gsi);

	if (i < 0)
		return i;
	ic->routes[i].used = false;
	return commit_routes(ic);
}

int irqchip_irqfd(struct irqchip *ic, int fd, int gsi, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = (uint32_t)gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};
	int r;

	if (ic->mode == IRQCHIP_USER)
		return err_set(-ENOTSUP, "irqfd needs the in-kernel irqchip");
	if (fd < 0 || gsi < 0 || gsi >= IRQCHIP_MAX_ROUTES)
		return -EINVAL;
	r = vm_ioctl(ic->vm, KVM_IRQFD, &irqfd);
	if (r < 0)
		return err_set(r, "KVM_IRQFD(fd %d, gsi %d): %s", fd, gsi, strerror(-r));
	return 0;
}

/* ------------------------------------------------------------------ */
/* vCPU state changes (USER mode)                                      */
/* ------------------------------------------------------------------ */

static void set_seg(struct kvm_segment *s, uint16_t sel, uint64_t base, uint8_t type,
		    bool code_data)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = code_data;
}

/*
 * Registers after INIT (SDM "Processor State Following Power-up, Reset, or
 * INIT"): real mode, CS = F000:FFF0 with base FFFF0000, or for a SIPI with
 * vector VV, CS = VV00:0000 with base VV000. CD/NW of CR0 survive INIT.
 * EDX holds the CPUID.1 signature. The APIC base MSR is kept. x87/SSE state,
 * XCR0 and MSRs are left alone.
 */
static int set_init_state(struct irqchip *ic, struct irqchip_cpu *c, int sipi_vector)
{
	struct vcpu *v = c->v;
	const struct kvm_cpuid_entry2 *sig;
	struct kvm_sregs s;
	struct kvm_regs regs;
	struct kvm_debugregs dr;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	uint64_t cr0;
	int r;

	r = vcpu_ioctl(v, KVM_GET_SREGS, &s);
	if (r < 0)
		return err_set(r, "cpu%d: KVM_GET_SREGS for INIT: %s", v->id, strerror(-r));
	cr0 = s.cr0;
	if (sipi_vector >= 0)
		set_seg(&s.cs, (uint16_t)(sipi_vector << 8), (uint64_t)sipi_vector << 12, 0xb, true);
	else
		set_seg(&s.cs, 0xf000, 0xffff0000ULL, 0xb, true);
	set_seg(&s.ds, 0, 0, 3, true);
	s.es = s.fs = s.gs = s.ss = s.ds;
	set_seg(&s.ldt, 0, 0, 2, false);
	set_seg(&s.tr, 0, 0, 0xb, false);
	s.gdt.base = s.idt.base = 0;
	s.gdt.limit = s.idt.limit = 0xffff;
	s.cr0 = (cr0 & 0x60000000ULL) | 0x10;   /* ET, CD/NW kept */
	s.cr2 = s.cr3 = s.cr4 = s.cr8 = 0;
	s.efer = 0;
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	r = vcpu_ioctl(v, KVM_SET_SREGS, &s);
	if (r < 0)
		return err_set(r, "cpu%d: KVM_SET_SREGS for INIT: %s", v->id, strerror(-r));

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = sipi_vector >= 0 ? 0 : 0xfff0;
	sig = kvm_find_cpuid(v->vm->kvm->supported_cpuid, 1, 0);
	regs.rdx = sig ? sig->eax : 0x600;
	r = vcpu_ioctl(v, KVM_SET_REGS, &regs);
	if (r < 0)
		return err_set(r, "cpu%d: KVM_SET_REGS for INIT: %s", v->id, strerror(-r));

	if (v->vm->kvm->caps.debugregs) {
		memset(&dr, 0, sizeof(dr));
		dr.dr6 = 0xffff0ff0;
		dr.dr7 = 0x400;
		vcpu_ioctl(v, KVM_SET_DEBUGREGS, &dr);
	}
	/* Drop anything half-injected; NMIs are unblocked after INIT. */
	if (v->vm->kvm->caps.vcpu_events && vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &ev) == 0) {
		ev.exception.injected = 0;
		ev.exception.pending = 0;
		ev.interrupt.injected = 0;
		ev.interrupt.shadow = 0;
		ev.nmi.injected = 0;
		ev.nmi.pending = 0;
		ev.nmi.masked = 0;
		ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
		vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev);
	}
	/* Without an in-kernel LAPIC KVM keeps every vCPU runnable; harmless. */
	vcpu_ioctl(v, KVM_SET_MP_STATE, &mp);
	c->fresh = false;
	TRACE(TRACE_IRQ, "cpu%d %s -> %04x:%04llx", v->id, sipi_vector >= 0 ? "SIPI" : "INIT",
	      s.cs.selector, (unsigned long long)regs.rip);
	return 0;
}

/*
 * If the last exit was I/O or MMIO, KVM completes the instruction on the
 * next KVM_RUN (and, for an emulated read, writes back registers and RIP).
 * Finish that now with immediate_exit so it cannot land on top of the
 * state INIT is about to load. immediate_exit stays set: the next KVM_RUN
 * just returns and the loop comes back here.
 */
static int complete_pending_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	int i, r;

	for (i = 0; i < INIT_COMPLETE_TRIES; i++) {
		if (run->exit_reason != KVM_EXIT_IO && run->exit_reason != KVM_EXIT_MMIO)
			return 0;
		run->immediate_exit = 1;
		r = vcpu_run_once(v);
		if (r == -EINTR || r == -EAGAIN) {
			run->exit_reason = KVM_EXIT_INTR;
			return 0;
		}
		if (r < 0)
			return err_set(r, "cpu%d: completing I/O before INIT: %s", v->id,
				       strerror(-r));
		/* A string instruction may need another round of I/O. */
		vcpu_handle_exit(v, run);
	}
	return 0;
}

/* Perform a pending INIT (outside SMM) and a SIPI for a CPU waiting for one. */
static int do_init_sipi(struct irqchip *ic, struct irqchip_cpu *c)
{
	struct lapic *l = c->lapic;
	bool init, run_bsp = false, sipi = false;
	uint8_t vec = 0;
	int r;

	lock(ic);
	init = lapic_init_pending(l) && !atomic_load(&c->in_smm);
	unlock(ic);
	if (init) {
		r = complete_pending_exit(c->v);
		if (r < 0)
			return r;
		lock(ic);
		lapic_do_init(l);
		c->halted = false;
		run_bsp = !lapic_wait_sipi(l);
		unlock(ic);
		TRACE(TRACE_IRQ, "cpu%d INIT%s", c->id, run_bsp ? " (BSP: reset vector)" : "");
		if (run_bsp) {
			r = set_init_state(ic, c, -1);
			if (r < 0)
				return r;
		}
	}
	lock(ic);
	if (lapic_wait_sipi(l) && !atomic_load(&c->in_smm))
		sipi = lapic_take_sipi(l, &vec);
	if (sipi)
		c->halted = false;
	unlock(ic);
	return sipi ? set_init_state(ic, c, vec) : 0;
}

/*
 * Under the machine lock: true if the CPU may not run guest code now. A
 * halted CPU wakes for an NMI, an INIT, or (if it halted with IF set) a
 * deliverable interrupt; a CPU in INIT state waits for a SIPI.
 */
static bool cpu_blocked(struct irqchip *ic, struct irqchip_cpu *c)
{
	unsigned ev = lapic_events(c->lapic);

	if (atomic_load(&c->in_smm))
		return false;
	if (ev & LAPIC_EV_INIT)
		return false;
	if (lapic_wait_sipi(c->lapic))
		return !(ev & LAPIC_EV_SIPI);
	if (!c->halted)
		return false;
	if (ic->cfg.smi_pending && ic->cfg.smi_pending(ic->cfg.opaque, c->id)) {
		c->halted = false;
		return false;
	}
	if ((ev & LAPIC_EV_NMI) || (c->halt_if && apic_bus_pending(&ic->bus, c->id) >= 0)) {
		c->halted = false;
		return false;
	}
	return true;
}

/* CLOCK_MONOTONIC time @rel ns from now (for pthread_cond_timedwait). */
static void abs_deadline(uint64_t rel, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	rel += (uint64_t)ts->tv_nsec;
	ts->tv_sec += (time_t)(rel / 1000000000ULL);
	ts->tv_nsec = (long)(rel % 1000000000ULL);
}

/*
 * Block until the CPU can run. Returns false, still blocked, when the vCPU
 * must go round its loop instead: it is stopping, or someone kicked it.
 */
static bool wait_runnable(struct irqchip *ic, struct irqchip_cpu *c)
{
	struct vcpu *v = c->v;

	for (;;) {
		uint64_t deadline = 0, now;
		struct timespec ts;
		unsigned gen;
		bool blocked;

		pthread_mutex_lock(&c->mu);
		gen = c->gen;
		pthread_mutex_unlock(&c->mu);

		lock(ic);
		lapic_timer_poll(c->lapic);
		blocked = cpu_blocked(ic, c);
		if (blocked)
			deadline = lapic_timer_deadline(c->lapic);
		now = clock_now(ic->cfg.clock);
		unlock(ic);
		if (!blocked)
			return true;
		if (atomic_load(&v->stop) || kick_pending(v))
			return false;

		if (deadline)
			abs_deadline(deadline > now ? deadline - now : 0, &ts);
		pthread_mutex_lock(&c->mu);
		c->waiting = true;
		while (c->gen == gen && !atomic_load(&v->stop)) {
			if (!deadline)
				pthread_cond_wait(&c->cond, &c->mu);
			else if (pthread_cond_timedwait(&c->cond, &c->mu, &ts) == ETIMEDOUT)
				break;
		}
		c->waiting = false;
		pthread_mutex_unlock(&c->mu);
	}
}

/*
 * Under the machine lock: inject what is pending; KVM_INTERRUPT only when
 * the run fields say KVM can take it now. Returns 0 or an ioctl error;
 * *vec is the vector injected (-1: none), *nmi says a KVM_NMI is due
 * (issued without the lock).
 */
static int user_inject_locked(struct irqchip *ic, struct irqchip_cpu *c, int *vec, bool *nmi)
{
	struct kvm_run *run = c->v->run;
	struct kvm_interrupt irq;
	int r;

	*vec = -1;
	*nmi = lapic_take_nmi(c->lapic);
	if (c->fresh && run->ready_for_interrupt_injection && run->if_flag &&
	    apic_bus_pending(&ic->bus, c->id) >= 0) {
		*vec = apic_bus_ack(&ic->bus, c->id);
		if (*vec >= 0) {
			irq.irq = (uint32_t)*vec;
			r = vcpu_ioctl(c->v, KVM_INTERRUPT, &irq);
			if (r < 0)
				return err_set(r, "cpu%d: KVM_INTERRUPT(0x%x): %s", c->id, *vec,
					       strerror(-r));
		}
	}
	/* Anything left (or not injectable now): exit when the window opens. */
	run->request_interrupt_window = apic_bus_pending(&ic->bus, c->id) >= 0;
	c->cr8 = lapic_get_cr8(c->lapic);
	run->cr8 = c->cr8;
	c->fresh = false;
	return 0;
}

/* ------------------------------------------------------------------ */
/* vCPU hooks: USER mode                                               */
/* ------------------------------------------------------------------ */

static int set_apic_base(struct vcpu *v, uint64_t base)
{
	struct kvm_sregs s;
	int r;

	r = vcpu_ioctl(v, KVM_GET_SREGS, &s);
	if (r >= 0) {
		s.apic_base = base;
		r = vcpu_ioctl(v, KVM_SET_SREGS, &s);
	}
	if (r < 0)
		return err_set(r, "cpu%d: cannot set IA32_APIC_BASE: %s", v->id, strerror(-r));
	return 0;
}

static int user_vcpu_init(void *opaque, struct vcpu *v)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c = cpu_of(ic, v);
	int r;

	if (!c)
		return err_set(-EINVAL, "vCPU %d beyond the %d the irqchip was built for", v->id,
			       ic->nr_cpus);
	if (!ic->cfg.skip_cpuid) {
		r = vcpu_setup_cpuid(v, ic->nr_cpus, true);
		if (r < 0)
			return r;
	}
	/*
	 * Without an in-kernel LAPIC, KVM leaves IA32_APIC_BASE at 0, and it
	 * derives CPUID.1:EDX.APIC from its enable bit: load the reset value
	 * (after KVM_SET_CPUID2, so the APIC bit is updated).
	 */
	c->apic_base = c->lapic->apic_base;
	r = set_apic_base(v, c->apic_base);
	if (r < 0)
		return r;
	/* Only now: a failed vcpu_create() frees @v. */
	c->v = v;
	v->irqchip = c;
	return 0;
}

static int user_pre_run(void *opaque, struct vcpu *v)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c = cpu_of(ic, v);
	bool nmi = false, init_sipi;
	int r, vec = -1;

	if (!c || !c->v)
		return 0;
	for (;;) {
		/* The common case is one trip through the machine lock. */
		lock(ic);
		init_sipi = !atomic_load(&c->in_smm) &&
			    ((lapic_events(c->lapic) & LAPIC_EV_INIT) ||
			     (lapic_wait_sipi(c->lapic) && (lapic_events(c->lapic) & LAPIC_EV_SIPI)));
		if (!init_sipi && !cpu_blocked(ic, c)) {
			r = user_inject_locked(ic, c, &vec, &nmi);
			unlock(ic);
			break;
		}
		unlock(ic);
		if (init_sipi) {
			r = do_init_sipi(ic, c);
			if (r < 0)
				return r;
			continue;
		}
		if (!wait_runnable(ic, c)) {
			/* Go round the loop without running guest code. */
			v->run->immediate_exit = 1;
			return 0;
		}
	}
	if (r < 0)
		return r;
	if (vec >= 0)
		TRACE(TRACE_IRQ, "cpu%d inject 0x%02x", v->id, vec);
	if (nmi) {
		TRACE(TRACE_IRQ, "cpu%d inject NMI", v->id);
		r = vcpu_ioctl(v, KVM_NMI, NULL);
		if (r < 0)
			return err_set(r, "cpu%d: KVM_NMI: %s", v->id, strerror(-r));
	}
	return 0;
}

static void user_post_run(void *opaque, struct vcpu *v)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c = cpu_of(ic, v);
	struct kvm_run *run = v->run;

	if (!c || !c->v)
		return;
	c->fresh = true;
	if (run->cr8 == c->cr8 && run->apic_base == c->apic_base)
		return;
	lock(ic);
	/* Only a changed CR8 touches the TPR, so TPR[3:0] survives. */
	if (run->cr8 != c->cr8) {
		c->cr8 = (uint8_t)run->cr8;
		lapic_set_tpr_from_cr8(c->lapic, (uint8_t)run->cr8);
	}
	if (run->apic_base != c->apic_base) {
		c->apic_base = run->apic_base;
		lapic_set_base(c->lapic, run->apic_base);
	}
	unlock(ic);
}

static int user_handle_exit(void *opaque, struct vcpu *v, struct kvm_run *run)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c = cpu_of(ic, v);

	if (!c)
		return -1;
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		lock(ic);
		c->halted = true;
		c->halt_if = run->if_flag;
		unlock(ic);
		return VCPU_HALT;
	case KVM_EXIT_SET_TPR:
		return VCPU_CONTINUE;   /* post_run synced CR8 into the TPR */
	default:
		return -1;
	}
}

static void user_wait_halt(void *opaque, struct vcpu *v)
{
	struct irqchip_cpu *c = cpu_of(opaque, v);

	if (c && c->v)
		wait_runnable(opaque, c);
}

static void user_vcpu_reset(void *opaque, struct vcpu *v)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c = cpu_of(ic, v);

	if (!c)
		return;
	lock(ic);
	lapic_reset(c->lapic);
	c->halted = false;
	c->fresh = false;
	atomic_store(&c->in_smm, false);
	c->apic_base = c->lapic->apic_base;
	c->cr8 = 0;
	unlock(ic);
	if (set_apic_base(v, c->apic_base) < 0)
		log_warn("%s", err_get());
}

static const struct vcpu_hooks user_hooks = {
	.name = "irqchip (userspace)",
	.vcpu_init = user_vcpu_init,
	.pre_run = user_pre_run,
	.post_run = user_post_run,
	.handle_exit = user_handle_exit,
	.wait_halt = user_wait_halt,
	.kick = hook_kick,
	.vcpu_reset = user_vcpu_reset,
};

/* ------------------------------------------------------------------ */
/* vCPU hooks: SPLIT mode                                              */
/* ------------------------------------------------------------------ */

static int split_vcpu_init(void *opaque, struct vcpu *v)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c = cpu_of(ic, v);

	if (!c)
		return err_set(-EINVAL, "vCPU %d beyond the %d the irqchip was built for", v->id,
			       ic->nr_cpus);
	if (!ic->cfg.skip_cpuid) {
		int r = vcpu_setup_cpuid(v, ic->nr_cpus, false);

		if (r < 0)
			return r;
	}
	c->v = v;
	v->irqchip = c;
	return 0;
}

/* PIC interrupts reach vCPU 0 as ExtINT through KVM_INTERRUPT. */
static int split_pre_run(void *opaque, struct vcpu *v)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c = cpu_of(ic, v);
	struct kvm_run *run = v->run;
	struct kvm_interrupt irq;
	int r = 0, vec = -1;

	if (!c || v->id != 0 || (!atomic_load(&ic->pic_intr) && !c->req_window))
		return 0;
	lock(ic);
	if (pic_has_interrupt(&ic->pic) && c->fresh && run->ready_for_interrupt_injection) {
		vec = pic_ack(&ic->pic);
		irq.irq = (uint32_t)vec;
		r = vcpu_ioctl(v, KVM_INTERRUPT, &irq);
	}
	c->req_window = pic_has_interrupt(&ic->pic);
	run->request_interrupt_window = c->req_window;
	c->fresh = false;
	unlock(ic);
	if (r < 0)
		return err_set(r, "cpu0: KVM_INTERRUPT(0x%x): %s", vec, strerror(-r));
	return 0;
}

static void split_post_run(void *opaque, struct vcpu *v)
{
	struct irqchip_cpu *c = cpu_of(opaque, v);

	if (c)
		c->fresh = true;
}

static int split_handle_exit(void *opaque, struct vcpu *v, struct kvm_run *run)
{
	struct irqchip *ic = opaque;

	if (run->exit_reason != KVM_EXIT_IOAPIC_EOI)
		return -1;
	lock(ic);
	ioapic_eoi(&ic->ioapic, run->eoi.vector);
	unlock(ic);
	return VCPU_CONTINUE;
}

static const struct vcpu_hooks split_hooks = {
	.name = "irqchip (split)",
	.vcpu_init = split_vcpu_init,
	.pre_run = split_pre_run,
	.post_run = split_post_run,
	.handle_exit = split_handle_exit,
};

/* ------------------------------------------------------------------ */
/* vCPU hooks: KERNEL mode                                             */
/* ------------------------------------------------------------------ */

static int kernel_vcpu_init(void *opaque, struct vcpu *v)
{
	struct irqchip *ic = opaque;
	struct irqchip_cpu *c = cpu_of(ic, v);
	struct kvm_sregs s;
	int r;

	if (!c)
		return err_set(-EINVAL, "vCPU %d beyond the %d the irqchip was built for", v->id,
			       ic->nr_cpus);
	if (!ic->cfg.skip_cpuid) {
		r = vcpu_setup_cpuid(v, ic->nr_cpus, false);
		if (r < 0)
			return r;
	}
	c->v = v;
	v->irqchip = c;
	/* KVM's own power-on LAPIC state, replayed by vcpu_reset. */
	c->lapic_snap = calloc(1, sizeof(*c->lapic_snap));
	if (!c->lapic_snap)
		return 0;   /* no reset replay; not fatal */
	if (vcpu_ioctl(v, KVM_GET_LAPIC, c->lapic_snap) < 0 ||
	    vcpu_ioctl(v, KVM_GET_MP_STATE, &c->mp_snap) < 0 ||
	    vcpu_ioctl(v, KVM_GET_SREGS, &s) < 0) {
		free(c->lapic_snap);
		c->lapic_snap = NULL;
		return 0;   /* no reset replay; not fatal */
	}
	c->apic_base_snap = s.apic_base;
	return 0;
}

static void kernel_vcpu_reset(void *opaque, struct vcpu *v)
{
	struct irqchip_cpu *c = cpu_of(opaque, v);

	if (!c || !c->lapic_snap)
		return;
	/* The APIC base first: KVM_SET_LAPIC depends on the APIC being enabled. */
	if (set_apic_base(v, c->apic_base_snap) < 0 ||
	    vcpu_ioctl(v, KVM_SET_LAPIC, c->lapic_snap) < 0 ||
	    vcpu_ioctl(v, KVM_SET_MP_STATE, &c->mp_snap) < 0)
		log_warn("cpu%d: resetting the in-kernel LAPIC failed", v->id);
}

static const struct vcpu_hooks kernel_hooks = {
	.name = "irqchip (kernel)",
	.vcpu_init = kernel_vcpu_init,
	.vcpu_reset = kernel_vcpu_reset,
};

static const struct vcpu_hooks dead_hooks = { .name = "irqchip (destroyed)" };

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static int create_kernel(struct irqchip *ic)
{
	struct vm *vm = ic->vm;
	const struct kvm_caps *caps = &vm->kvm->caps;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int r, i;

	if (!caps->irqchip || !caps->pit2 || !caps->irq_routing || !caps->signal_msi)
		return err_set(-ENOTSUP, "host KVM lacks the in-kernel irqchip (%s); try "
				       "-machine kernel-irqchip=off",
			       !caps->irqchip ? "KVM_CAP_IRQCHIP" : !caps->pit2 ? "KVM_CAP_PIT2" :
			       !caps->irq_routing ? "KVM_CAP_IRQ_ROUTING" : "KVM_CAP_SIGNAL_MSI");
	r = vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	if (r < 0)
		return err_set(r, "KVM_CREATE_IRQCHIP: %s", strerror(-r));
	/* SPEAKER_DUMMY: KVM also serves port 0x61 (PIT gate 2 / OUT 2). */
	r = vm_ioctl(vm, KVM_CREATE_PIT2, &pit);
	if (r < 0)
		return err_set(r, "KVM_CREATE_PIT2: %s", strerror(-r));
	r = commit_routes(ic);
	if (r < 0)
		return err_set(r, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
	for (i = 0; i < 3; i++) {
		ic->chip_snap[i].chip_id = (uint32_t)i;
		vm_ioctl(vm, KVM_GET_IRQCHIP, &ic->chip_snap[i]);
	}
	vm_ioctl(vm, KVM_GET_PIT2, &ic->pit_snap);
	return 0;
}

static int register_models(struct irqchip *ic)
{
	struct vm *vm = ic->vm;
	int r;

	r = bus_register(&vm->mmio, MM_IOAPIC, MM_IOAPIC_SIZE, &ioapic_ops, &ic->ioapic);
	if (!r)
		r = bus_register(&vm->pio, PORT_PIC_MASTER, 2, &pic_ops, &ic->pic.chip[0]);
	if (!r)
		r = bus_register(&vm->pio, PORT_PIC_SLAVE, 2, &pic_ops, &ic->pic.chip[1]);
	if (!r)
		r = bus_register(&vm->pio, PORT_ELCR, 2, &pic_elcr_ops, &ic->pic);
	if (!r)
		r = bus_register(&vm->pio, PORT_PIT, 4, &pit_ops, &ic->pit);
	if (!r)
		r = bus_register(&vm->pio, PORT_PORT61, 1, &pit_port61_ops, &ic->pit);
	if (!r && ic->mode == IRQCHIP_USER)
		r = bus_register(&vm->mmio, MM_LAPIC, MM_LAPIC_SIZE, &apic_bus_mmio_ops, &ic->bus);
	if (r < 0)
		return err_set(r, "irqchip: cannot register its I/O ranges: %s", strerror(-r));
	return 0;
}

static void unregister_models(struct irqchip *ic)
{
	struct vm *vm = ic->vm;

	bus_unregister_dev(&vm->mmio, &ic->ioapic);
	bus_unregister_dev(&vm->mmio, &ic->bus);
	bus_unregister_dev(&vm->pio, &ic->pic.chip[0]);
	bus_unregister_dev(&vm->pio, &ic->pic.chip[1]);
	bus_unregister_dev(&vm->pio, &ic->pic);
	bus_unregister_dev(&vm->pio, &ic->pit);
}

static int create_models(struct irqchip *ic)
{
	bool user = ic->mode == IRQCHIP_USER;
	struct ioapic_cfg io = {
		.id = ic->cfg.ioapic_id,
		.deliver = user ? user_ioapic_deliver : split_ioapic_deliver,
		.redir_changed = user ? NULL : split_redir_changed,
		.opaque = ic,
	};
	struct pic_cfg pc = { .intr = user ? user_pic_intr : split_pic_intr, .opaque = ic };
	struct pit_cfg pt = { .clock = ic->cfg.clock, .irq0 = &ic->lines[0] };
	int i;

	ioapic_init(&ic->ioapic, &io);
	pic_init(&ic->pic, &pc);
	pit_init(&ic->pit, &pt);
	apic_bus_init(&ic->bus, &ic->ioapic, &ic->pic);
	ic->models = true;
	if (!user)
		return 0;
	ic->lapics = calloc((size_t)ic->nr_cpus, sizeof(*ic->lapics));
	if (!ic->lapics)
		return -ENOMEM;
	for (i = 0; i < ic->nr_cpus; i++) {
		struct lapic_cfg lc = {
			.cpu = i,
			.apic_id = (uint8_t)i,
			.bsp = i == 0,
			.clock = ic->cfg.clock,
			.cb = { .send = lapic_send_cb, .eoi = lapic_eoi_cb,
				.notify = lapic_notify_cb, .opaque = ic },
		};

		lapic_init(&ic->lapics[i], &lc);
		ic->cpus[i].lapic = &ic->lapics[i];
		apic_bus_add_lapic(&ic->bus, &ic->lapics[i]);
	}
	return 0;
}

static int create_split(struct irqchip *ic)
{
	struct vm *vm = ic->vm;
	const struct kvm_caps *caps = &vm->kvm->caps;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP };
	int r;

	if (!caps->split_irqchip || !caps->irq_routing || !caps->signal_msi)
		return err_set(-ENOTSUP, "host KVM lacks %s (needed for kernel-irqchip=split)",
			       !caps->split_irqchip ? "KVM_CAP_SPLIT_IRQCHIP" :
			       !caps->irq_routing ? "KVM_CAP_IRQ_ROUTING" : "KVM_CAP_SIGNAL_MSI");
	cap.args[0] = SPLIT_IOAPIC_PINS;
	r = vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	/* EEXIST: already enabled (the TDX setup does it before us). */
	if (r < 0 && r != -EEXIST)
		return err_set(r, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s", strerror(-r));
	r = create_models(ic);
	if (r < 0)
		return r;
	r = commit_routes(ic);
	if (r < 0)
		return err_set(r, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
	return register_models(ic);
}

static int create_user(struct irqchip *ic)
{
	int r = create_models(ic);

	return r < 0 ? r : register_models(ic);
}

static void free_ic(struct irqchip *ic)
{
	int i;

	if (ic->models) {
		pit_fini(&ic->pit);
		for (i = 0; ic->lapics && i < ic->nr_cpus; i++)
			lapic_fini(&ic->lapics[i]);
	}
	for (i = 0; ic->cpus && i < ic->nr_cpus; i++) {
		free(ic->cpus[i].lapic_snap);
		pthread_cond_destroy(&ic->cpus[i].cond);
		pthread_mutex_destroy(&ic->cpus[i].mu);
	}
	free(ic->lapics);
	free(ic->cpus);
	free(ic);
}

int irqchip_create(struct vm *vm, const struct irqchip_cfg *cfg, struct irqchip **out)
{
	static const struct vcpu_hooks *const hooks[] = {
		[IRQCHIP_KERNEL] = &kernel_hooks,
		[IRQCHIP_USER] = &user_hooks,
		[IRQCHIP_SPLIT] = &split_hooks,
	};
	pthread_condattr_t ca;
	struct irqchip *ic;
	int i, r;

	if ((unsigned)cfg->mode >= ARRAY_SIZE(hooks))
		return err_set(-EINVAL, "irqchip: unknown mode %d", cfg->mode);
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > VM_MAX_VCPUS || cfg->nr_cpus > APIC_BUS_MAX_CPUS)
		return err_set(-EINVAL, "irqchip: %d vCPUs (1..%d supported)", cfg->nr_cpus,
			       MIN(VM_MAX_VCPUS, APIC_BUS_MAX_CPUS));
	if (cfg->mode != IRQCHIP_KERNEL && !cfg->clock)
		return err_set(-EINVAL, "irqchip: the %s irqchip needs a clock",
			       irqchip_mode_name(cfg->mode));
	if (vm->nr_vcpus)
		return err_set(-EINVAL, "irqchip: create it before the vCPUs");
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return -ENOMEM;
	ic->vm = vm;
	ic->cfg = *cfg;
	ic->mode = cfg->mode;
	ic->nr_cpus = cfg->nr_cpus;
	ic->cpus = calloc((size_t)ic->nr_cpus, sizeof(*ic->cpus));
	if (!ic->cpus) {
		free(ic);
		return -ENOMEM;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (i = 0; i < ic->nr_cpus; i++) {
		struct irqchip_cpu *c = &ic->cpus[i];

		c->ic = ic;
		c->id = i;
		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cond, &ca);
	}
	pthread_condattr_destroy(&ca);
	for (i = 0; i < IRQCHIP_NR_GSI; i++) {
		ic->lines[i] = (struct irq_line){ .set_level = line_set, .opaque = ic,
						  .gsi = (unsigned)i };
		ic->level[i] = -1;
	}
	ic->msi = (struct msi_sink){ .send = msi_cb, .opaque = ic };

	switch (ic->mode) {
	case IRQCHIP_KERNEL:
		r = create_kernel(ic);
		break;
	case IRQCHIP_SPLIT:
		r = create_split(ic);
		break;
	default:
		r = create_user(ic);
		break;
	}
	if (r < 0)
		goto fail;
	r = vm_add_hooks(vm, hooks[ic->mode], ic);
	if (r < 0) {
		err_set(r, "irqchip: no room for its vCPU hooks");
		goto fail_unregister;
	}
	log_info("irqchip: %s (%d vCPU%s)", irqchip_mode_name(ic->mode), ic->nr_cpus,
		 ic->nr_cpus > 1 ? "s" : "");
	*out = ic;
	return 0;
fail_unregister:
	unregister_models(ic);
fail:
	/* Kernel objects (irqchip, PIT) live until the VM fd is closed. */
	free_ic(ic);
	return r;
}

void irqchip_destroy(struct irqchip *ic)
{
	struct vm *vm;
	int i;

	if (!ic)
		return;
	vm = ic->vm;
	/* The VM keeps its hook table: make our entries inert. */
	for (i = 0; i < vm->nr_hooks; i++)
		if (vm->hooks[i].opaque == ic)
			vm->hooks[i].ops = &dead_hooks;
	for (i = 0; i < ic->nr_cpus; i++)
		if (ic->cpus[i].v && ic->cpus[i].v->irqchip == &ic->cpus[i])
			ic->cpus[i].v->irqchip = NULL;
	if (ic->models)
		unregister_models(ic);
	free_ic(ic);
}

void irqchip_set_smm(struct irqchip *ic, int cpu, bool in_smm)
{
	struct irqchip_cpu *c;

	if (!ic || ic->mode != IRQCHIP_USER || cpu < 0 || cpu >= ic->nr_cpus)
		return;
	c = &ic->cpus[cpu];
	atomic_store(&c->in_smm, in_smm);
	/* The state KVM reported no longer describes the next entry. */
	c->fresh = false;
	if (in_smm) {
		c->halted = false;   /* an SMI ends a HLT */
	} else if (c->v && vcpu_current() != c->v) {
		vcpu_kick(c->v);     /* perform a latched INIT */
	}
}

bool irqchip_cpu_wait_sipi(struct irqchip *ic, int cpu)
{
	bool w;

	if (!ic || ic->mode != IRQCHIP_USER || cpu < 0 || cpu >= ic->nr_cpus)
		return false;
	lock(ic);
	w = lapic_wait_sipi(ic->cpus[cpu].lapic);
	unlock(ic);
	return w;
}

void irqchip_smm_notify(void *ic, int cpu, bool in_smm)
{
	irqchip_set_smm(ic, cpu, in_smm);
}

void irqchip_reset(struct irqchip *ic)
{
	int i;

	if (!ic)
		return;
	if (ic->mode == IRQCHIP_KERNEL) {
		for (i = 0; i < 3; i++)
			vm_ioctl(ic->vm, KVM_SET_IRQCHIP, &ic->chip_snap[i]);
		vm_ioctl(ic->vm, KVM_SET_PIT2, &ic->pit_snap);
		return;
	}
	pic_reset(&ic->pic);
	ioapic_reset(&ic->ioapic);
	pit_reset(&ic->pit);
	for (i = 0; i < IRQCHIP_NR_GSI; i++)
		ic->level[i] = -1;
	if (ic->mode == IRQCHIP_SPLIT) {
		atomic_store(&ic->pic_intr, false);
		if (commit_routes(ic) < 0)
			log_warn("irqchip: cannot reset the IOAPIC MSI routes");
		return;
	}
	for (i = 0; i < ic->nr_cpus; i++) {
		struct irqchip_cpu *c = &ic->cpus[i];

		lapic_reset(c->lapic);
		c->halted = false;
		c->fresh = false;
		atomic_store(&c->in_smm, false);
	}
}
