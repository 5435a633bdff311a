#include "vmm/machine.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/machine_internal.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"
#include "smm/smm.h"
#include "tdx/tdx.h"

bool machine_is_q35(const struct machine *m)
{
	return m->cfg->machine == MACHINE_Q35;
}

void machine_add_reserved(struct machine *m, uint64_t gpa, uint64_t size, const char *name)
{
	if (m->nr_reserved < DESC_MAX_RANGES && size)
		m->reserved[m->nr_reserved++] = (struct desc_range){ gpa, size, name };
}

/* ------------------------------------------------------------------ */
/* Phase: core — /dev/kvm, the VM, the event loop, signals. */

static void on_vm_stop(void *opaque)
{
	event_loop_wake(opaque);
}

static void on_signal(void *opaque, int res)
{
	struct machine *m = opaque;
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
		log_info("terminating on signal %u", si.ssi_signo);
		vm_request_stop(m->vm, VM_STOP_SIGNAL, 128 + (int)si.ssi_signo,
				"terminated by signal %u", si.ssi_signo);
	}
}

static void on_quit_key(void *opaque)
{
	struct machine *m = opaque;

	vm_request_stop(m->vm, VM_STOP_POWEROFF, 0, "quit from the console (Ctrl-A x)");
}

static int loop_init(struct machine *m);

/* True when the CPU we run on is QEMU's TCG (kvmrun inside a TCG guest). */
static bool host_is_tcg(void)
{
	unsigned a, b, c, d;
	char sig[13];

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
	return !strcmp(sig, "TCGTCGTCGTCG");
}

/*
 * The irqchip when the command line does not say (QEMU's default is the
 * in-kernel one). Two cases need kvmrun's own:
 *  - SMM emulated in userspace: only a userspace LAPIC sees the SMI IPIs
 *    that OVMF sends to relocate SMBASE (KVM without SMM drops them);
 *  - running nested under QEMU's TCG: TCG aborts when the guest writes CR8
 *    while KVM's in-kernel LAPIC has an interrupt pending (OVMF does).
 */
static int choose_irqchip(struct machine *m)
{
	struct config *cfg = m->cfg;
	bool smm = cfg->machine == MACHINE_Q35 && cfg->smm != OOA_OFF;
	bool user_smm = false;

	if (smm) {
		enum smm_impl impl;

		if (smm_select(&m->kvm, cfg->smm_backend, &impl) == 0)
			user_smm = impl == SMM_IMPL_USER;
		err_clear();
	}
	if (cfg->irqchip_set) {
		if (user_smm && cfg->irqchip != IRQCHIP_USER)
			return err_set(-EINVAL, "-machine kernel-irqchip=%s: SMM in userspace needs "
						"kernel-irqchip=off (SMI IPIs must reach kvmrun)",
				       cfg->irqchip == IRQCHIP_SPLIT ? "split" : "on");
		return 0;
	}
	if (user_smm) {
		cfg->irqchip = IRQCHIP_USER;
		log_info("irqchip: userspace (SMM runs in userspace)");
	} else if (host_is_tcg()) {
		cfg->irqchip = IRQCHIP_USER;
		log_info("irqchip: userspace (nested under QEMU TCG, whose in-kernel LAPIC path "
			 "aborts on guest CR8 writes)");
	}
	return 0;
}

static int open_kvm(struct machine *m)
{
	int r = kvm_open(&m->kvm, NULL, m->cfg->kvm_device);

	m->kvm_open = r == 0;
	return r;
}

/* RAM below the 32-bit hole and above 4 GiB, as QEMU splits it. */
static void split_ram(struct machine *m)
{
	uint64_t ram = m->cfg->ram_size, max_low, split;

	if (machine_is_q35(m)) {
		max_low = MM_Q35_LOWMEM_MAX;
		split = MM_Q35_LOWMEM_SPLIT;
	} else {
		max_low = MM_PC_LOWMEM_MAX;
		split = MM_PC_LOWMEM_SPLIT;
	}
	m->low_size = ram >= max_low ? split : ram;
	m->high_size = ram - m->low_size;
}

static int core_init(struct machine *m)
{
	struct config *cfg = m->cfg;
	int r;

	r = open_kvm(m);
	if (r < 0)
		return r;
	r = choose_irqchip(m);
	if (r < 0)
		return r;
	r = kvm_require_basic(&m->kvm, cfg->irqchip == IRQCHIP_KERNEL);
	if (r < 0)
		return r;
	if (m->nr_cpus > m->kvm.caps.max_vcpus && m->kvm.caps.max_vcpus > 0)
		return err_set(-EINVAL, "-smp %d: this host's KVM supports at most %d vCPUs",
			       m->nr_cpus, m->kvm.caps.max_vcpus);
	r = vm_create(&m->kvm, 0, &m->vm);
	if (r < 0)
		return r;
	m->vm->machine = m;
	r = vm_ioctl(m->vm, KVM_SET_TSS_ADDR, (void *)(uintptr_t)MM_KVM_TSS);
	if (r < 0)
		return err_set(r, "KVM_SET_TSS_ADDR failed: %s", strerror(-r));
	{
		uint64_t idmap = MM_KVM_IDENTITY_MAP;

		r = vm_ioctl(m->vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
		if (r < 0 && r != -ENOTTY && r != -EINVAL)
			return err_set(r, "KVM_SET_IDENTITY_MAP_ADDR failed: %s", strerror(-r));
	}
	return loop_init(m);
}

/* The event loop, signals and the console quit key: shared by both paths. */
static int loop_init(struct machine *m)
{
	struct config *cfg = m->cfg;
	sigset_t set;
	int r;

	r = event_loop_create(&m->vm->bql, cfg->force_event_fallback, &m->loop);
	if (r < 0)
		return err_set(r, "cannot create the event loop: %s", strerror(-r));
	if (strcmp(event_loop_backend(m->loop), "io_uring"))
		log_info("io_uring unavailable (%s): using poll(2) and synchronous I/O",
			 event_loop_fallback_reason(m->loop));
	m->vm->on_stop = on_vm_stop;
	m->vm->on_stop_opaque = m->loop;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m->sigfd < 0)
		return err_set(-errno, "signalfd: %s", strerror(errno));
	r = event_add_fd(m->loop, m->sigfd, on_signal, m);
	if (r < 0)
		return r;
	chardev_set_quit_handler(on_quit_key, m);
	return 0;
}

static void core_exit(struct machine *m)
{
	if (m->td)
		tdx_machine_destroy(m->td);   /* vCPUs, memslots, guest_memfd, VM */
	else
		vm_destroy(m->vm);   /* vCPUs first, then memslots, then the VM fd */
	m->td = NULL;
	m->vm = NULL;
	event_loop_destroy(m->loop);
	m->loop = NULL;
	if (m->sigfd > 0)
		close(m->sigfd);
	m->sigfd = -1;
	if (m->kvm_open)
		kvm_close(&m->kvm);
	m->kvm_open = false;
}

/*
 * A TDX trust domain: the TDX module creates the VM (type KVM_X86_TDX_VM),
 * its private memory, TDVF and the vCPUs in the order the kernel requires;
 * on a host without TDX it fails fast, naming the missing component.
 */
static int tdx_core_init(struct machine *m)
{
	struct config *cfg = m->cfg;
	int r;

	r = open_kvm(m);
	if (r < 0)
		return r;
	r = tdx_machine_setup(&m->kvm, cfg, NULL, &m->td);
	if (r < 0)
		return r;
	m->vm = tdx_machine_vm(m->td);
	m->vm->machine = m;
	split_ram(m);   /* the same split as the TDX module's q35 layout */
	return loop_init(m);
}

/* ------------------------------------------------------------------ */
/* Phase: memory — RAM below and above the 32-bit hole. */

static int memory_init(struct machine *m)
{
	int r;

	split_ram(m);
	r = vm_alloc_ram(m->vm, "ram-low", 0, m->low_size, true, &m->low_hva);
	if (r < 0)
		return r;
	if (m->high_size) {
		r = vm_alloc_ram(m->vm, "ram-high", MM_HIGHMEM_START, m->high_size, true,
				 &m->high_hva);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Map RAM not owned by the SMM module. Runs after the SMM module decided. */
static int memory_map(struct machine *m)
{
	int r;

	r = firmware_map(m);
	if (r < 0)
		return r;
	if (!m->smm_owns_low && m->low_hole_end > m->low_hole_start) {
		/* RAM around the read-only ISA BIOS window (memslots cannot overlap) */
		r = vm_map_all(m->vm, 0, m->low_hole_start, m->low_hva, 0, &m->low_map[0]);
		if (r < 0)
			return r;
		m->nr_low_map = 1;
		if (m->low_size > m->low_hole_end) {
			r = vm_map_all(m->vm, m->low_hole_end, m->low_size - m->low_hole_end,
				       m->low_hva + m->low_hole_end, 0, &m->low_map[1]);
			if (r < 0)
				return r;
			m->nr_low_map = 2;
		}
	} else if (!m->smm_owns_low) {
		r = vm_map_all(m->vm, 0, m->low_size, m->low_hva, 0, &m->low_map[0]);
		if (r < 0)
			return r;
		m->nr_low_map = 1;
	}
	if (m->high_size) {
		r = vm_map_all(m->vm, MM_HIGHMEM_START, m->high_size, m->high_hva, 0, &m->high_map);
		if (r < 0)
			return r;
	}
	return 0;
}

static void memory_exit(struct machine *m)
{
	/* RAM and memslots are released by vm_destroy() in core_exit(). */
}

/* ------------------------------------------------------------------ */
/* Phase: vCPUs. */

static int vcpus_init(struct machine *m)
{
	int i, r;

	for (i = 0; i < m->nr_cpus; i++) {
		struct vcpu *v;

		r = vcpu_create(m->vm, i, &v);
		if (r < 0)
			return r;
	}
	return 0;
}

static int vcpus_snapshot(struct machine *m)
{
	int i, r;

	for (i = 0; i < m->vm->nr_vcpus; i++) {
		r = vcpu_snapshot_save(m->vm->vcpus[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Phase: description — the device tree the e820/ACPI/CMOS data come from. */

static int describe(struct machine *m)
{
	struct desc_cfg d = { 0 };
	int i, r;

	d.model = machine_is_q35(m) ? "q35" : "pc";
	d.nr_cpus = m->nr_cpus;
	d.ram[d.nr_ram++] = (struct desc_range){ 0, m->low_size, "ram" };
	if (m->high_size)
		d.ram[d.nr_ram++] = (struct desc_range){ MM_HIGHMEM_START, m->high_size, "ram" };
	for (i = 0; i < m->nr_reserved; i++)
		d.reserved[d.nr_reserved++] = m->reserved[i];
	d.bootargs = m->cfg->append;
	d.pio = &m->vm->pio;
	d.mmio = &m->vm->mmio;
	free(m->fdt);
	m->fdt = NULL;
	r = desc_build(&d, &m->fdt, &m->fdt_size);
	if (r < 0)
		return r;
	if (m->cfg->dumpdtb) {
		r = desc_dump(m->fdt, m->cfg->dumpdtb);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The phase table: init in order, exit in reverse for those that ran. */

static int ph_core(struct machine *m) { return core_init(m); }
static int ph_memory(struct machine *m) { return memory_init(m); }
static int ph_platform(struct machine *m) { return platform_create(m); }
static int ph_map(struct machine *m) { return memory_map(m); }
static int ph_vcpus(struct machine *m) { return vcpus_init(m); }
static int ph_firmware(struct machine *m) { return firmware_prepare(m); }
static int ph_boot(struct machine *m) { return firmware_boot(m); }
static int ph_describe(struct machine *m) { return describe(m); }
static int ph_late(struct machine *m) { return platform_late_init(m); }
static int ph_snapshot(struct machine *m) { return vcpus_snapshot(m); }

static void ex_platform(struct machine *m) { platform_destroy(m); }
static void ex_firmware(struct machine *m) { firmware_destroy(m); }
static void ex_none(struct machine *m) { }

static const struct phase {
	const char *name;
	int (*init)(struct machine *m);
	void (*exit)(struct machine *m);
} phases[] = {
	{ "core", ph_core, core_exit },
	{ "memory", ph_memory, memory_exit },
	{ "platform", ph_platform, ex_platform },   /* irqchip, SMM, devices */
	{ "firmware", ph_firmware, ex_firmware },   /* read -bios / pflash / -kernel */
	{ "map", ph_map, ex_none },                 /* memslots for RAM and images */
	{ "vcpus", ph_vcpus, ex_none },             /* freed by vm_destroy() */
	{ "snapshot", ph_snapshot, ex_none },       /* power-on state, for reset */
	{ "describe", ph_describe, ex_none },       /* the device tree */
	{ "late", ph_late, ex_none },               /* ACPI, fw_cfg, CMOS from the description */
	{ "boot", ph_boot, ex_none },               /* load the kernel, set the boot CPU */
};

/* A TD: the TDX module owns memory, firmware and vCPUs. */
static int ph_tdx(struct machine *m) { return tdx_core_init(m); }

static const struct phase tdx_phases[] = {
	{ "tdx", ph_tdx, core_exit },
	{ "platform", ph_platform, ex_platform },   /* split irqchip, ISA devices */
	{ "describe", ph_describe, ex_none },
	{ "late", ph_late, ex_none },
};

static int validate(struct config *cfg)
{
	int i;

	if (!cfg->machine_set)
		cfg->machine = MACHINE_PC;
	if (cfg->smp_cpus < 1 || cfg->smp_cpus > VM_MAX_VCPUS)
		return err_set(-EINVAL, "-smp: %d vCPUs requested, kvmrun supports 1 to %d",
			       cfg->smp_cpus, VM_MAX_VCPUS);
	if (cfg->smm == OOA_ON && cfg->machine != MACHINE_Q35)
		return err_set(-EINVAL, "-machine smm=on: SMM needs the q35 machine "
					"(-machine q35,smm=on)");
	if (cfg->bios && cfg->kernel && !cfg->bios[0])
		return err_set(-EINVAL, "-bios: empty file name");
	for (i = 0; i < cfg->ndrives; i++)
		if (cfg->drives[i].iface == DRIVE_IF_PFLASH && cfg->machine != MACHINE_Q35)
			return err_set(-EINVAL, "-drive if=pflash: flash needs the q35 machine "
						"(-machine q35)");
	if (cfg->confidential_guest_support) {
		if (cfg->machine != MACHINE_Q35)
			return err_set(-EINVAL, "-machine confidential-guest-support: a TD needs "
						"-machine q35");
		if (cfg->smm == OOA_ON)
			return err_set(-EINVAL, "-machine smm=on: a TD cannot have SMM");
		if (cfg->kernel)
			return err_set(-EINVAL, "-kernel: a TD boots TDVF given with -bios");
		cfg->smm = OOA_OFF;
	}
	if (cfg->irqchip == IRQCHIP_SPLIT && !cfg->confidential_guest_support)
		log_info("kernel-irqchip=split: local APICs in KVM, IOAPIC/PIC/PIT in kvmrun");
	return 0;
}

int machine_create(struct config *cfg, struct machine **out)
{
	struct machine *m;
	int r;
	size_t i;

	r = validate(cfg);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = cfg;
	m->sigfd = -1;
	m->nr_cpus = cfg->smp_cpus;
	if (cfg->confidential_guest_support) {
		m->phases = tdx_phases;
		m->nr_phases = (int)ARRAY_SIZE(tdx_phases);
	} else {
		m->phases = phases;
		m->nr_phases = (int)ARRAY_SIZE(phases);
	}
	for (i = 0; i < (size_t)m->nr_phases; i++) {
		r = m->phases[i].init(m);
		if (r < 0) {
			err_set_default(r, "machine setup (%s) failed: %s", m->phases[i].name,
					strerror(-r));
			machine_destroy(m);
			return r;
		}
		m->phases_done = (int)i + 1;
	}
	*out = m;
	return 0;
}

void machine_destroy(struct machine *m)
{
	int i;

	if (!m)
		return;
	if (m->vm)
		for (i = 0; i < m->vm->nr_vcpus; i++) {
			atomic_store(&m->vm->vcpus[i]->stop, true);
			vcpu_kick(m->vm->vcpus[i]);
			vcpu_join(m->vm->vcpus[i]);
		}
	for (i = m->phases_done; i > 0; i--)
		m->phases[i - 1].exit(m);
	if (m->phases_done == 0)
		core_exit(m);
	free(m->fdt);
	free(m);
}

/* ------------------------------------------------------------------ */
/* Running, stopping, resetting. */

static void stop_vcpus(struct machine *m)
{
	int i;

	for (i = 0; i < m->vm->nr_vcpus; i++) {
		atomic_store(&m->vm->vcpus[i]->stop, true);
		vcpu_kick(m->vm->vcpus[i]);
	}
	for (i = 0; i < m->vm->nr_vcpus; i++)
		vcpu_join(m->vm->vcpus[i]);
}

static int machine_reset(struct machine *m)
{
	int i, j, r;

	log_info("system reset");
	pthread_mutex_lock(&m->vm->bql);
	platform_reset(m);
	pthread_mutex_unlock(&m->vm->bql);
	for (i = 0; i < m->vm->nr_vcpus; i++) {
		struct vcpu *v = m->vm->vcpus[i];

		r = vcpu_snapshot_restore(v);
		if (r < 0)
			return r;
		for (j = 0; j < m->vm->nr_hooks; j++)
			if (m->vm->hooks[j].ops->vcpu_reset)
				m->vm->hooks[j].ops->vcpu_reset(m->vm->hooks[j].opaque, v);
	}
	return m->fw ? firmware_reset(m) : 0;
}

static int exit_status(struct machine *m)
{
	struct vm *vm = m->vm;

	switch (vm->stop_reason) {
	case VM_STOP_POWEROFF:
		log_info("%s", vm->stop_msg[0] ? vm->stop_msg : "guest powered off");
		return 0;
	case VM_STOP_RESET:
		log_info("guest reset with -no-reboot: exiting");
		return 0;
	case VM_STOP_EXIT:
		return vm->exit_code;
	case VM_STOP_SIGNAL:
		return vm->exit_code;
	case VM_STOP_SHUTDOWN:
	case VM_STOP_ERROR:
		/* the vCPU already printed the message and registers */
		return vm->exit_code ? vm->exit_code : 2;
	case VM_RUNNING:
		break;
	}
	return 2;
}

int machine_run(struct machine *m)
{
	struct vm *vm = m->vm;
	int i, r;

	for (;;) {
		for (i = 0; i < vm->nr_vcpus; i++) {
			r = vcpu_start(vm->vcpus[i]);
			if (r < 0) {
				log_error("%s", err_get());
				vm_request_stop(vm, VM_STOP_ERROR, 1, "%s", err_get());
				break;
			}
		}
		while (vm_stop_reason(vm) == VM_RUNNING) {
			r = event_loop_poll_once(m->loop, -1);
			if (r < 0) {
				vm_request_stop(vm, VM_STOP_ERROR, 1, "event loop failed: %s",
						strerror(-r));
				log_error("event loop failed: %s", strerror(-r));
			}
		}
		stop_vcpus(m);
		if (vm->stop_reason == VM_STOP_RESET && !m->cfg->no_reboot) {
			r = machine_reset(m);
			if (r < 0) {
				log_error("reset failed: %s", err_get());
				return 1;
			}
			vm_clear_stop(vm);
			continue;
		}
		return exit_status(m);
	}
}

void machine_print_devices(void)
{
	platform_print_devices();
}

void machine_print_machines(void)
{
	printf("Supported machines are:\n"
	       "pc                   PC with ISA devices, ACPI PM at 0x600 (default)\n"
	       "q35                  Q35 + ICH9 chipset (PCIe, SMM, pflash, fw_cfg)\n");
}
