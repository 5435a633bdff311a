/*
 * The devices of the two machines, wired to the irqchip, the SMM module
 * and each other:
 *   pc:  PCI host (0xCF8, i440FX-style host bridge 00:0), COM1..COM4,
 *        RTC/CMOS, i8042, reset control (0xCF9, 0x92), POST port, ACPI PM
 *        block fixed at 0x600, fw_cfg, and -device/-debugcon extras.
 *   q35: the same ISA devices, Q35 MCH 00:0 (PCIe ECAM, SMRAM/TSEG),
 *        ICH9 LPC 00:1F.0 (PM block at PMBASE, APM SMIs, PIRQ routing),
 *        SMM (kernel or userspace backend) and fw_cfg with SMI feature
 *        negotiation and ACPI tables through the table loader.
 * Device callbacks run with the machine lock held and only request work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/chipset/acpi_pm.h"
#include "devices/chipset/fwcfg.h"
#include "devices/chipset/ich9_lpc.h"
#include "devices/chipset/pci.h"
#include "devices/chipset/q35_mch.h"
#include "devices/legacy/debugcon.h"
#include "devices/legacy/debugexit.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/post.h"
#include "devices/legacy/reset.h"
#include "devices/legacy/rtc.h"
#include "devices/legacy/serial.h"
#include "smm/smm.h"
#include "vmm/boot/acpi.h"
#include "vmm/boot/e820.h"
#include "vmm/err.h"
#include "vmm/irqchip.h"
#include "vmm/log.h"
#include "vmm/machine_internal.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"
#include "vmm/vdev.h"

#define MAX_SERIAL 4
#define MAX_DEBUGEXIT 4

static const uint16_t com_ports[MAX_SERIAL] = { PORT_COM1, PORT_COM2, PORT_COM3, PORT_COM4 };
static const unsigned com_gsis[MAX_SERIAL] = { GSI_COM1, GSI_COM2, GSI_COM1, GSI_COM2 };

/* Two devices on one ISA IRQ (COM1/COM3, COM2/COM4): OR their levels. */
struct shared_irq {
	const struct irq_line *out;
	unsigned levels;
	struct irq_line in[2];
};

struct platform {
	struct machine *m;
	struct irqchip *ic;
	struct smm *smm;
	struct clock *clock;

	struct chardev *com_chr[MAX_SERIAL];
	struct serial *com[MAX_SERIAL];
	struct shared_irq com_irq[2];
	int ncom;
	struct chardev *dbgcon_chr;
	struct debugcon *dbgcon;
	struct debugexit *dbgexit[MAX_DEBUGEXIT];
	int ndbgexit;
	struct post *post;
	struct rtc *rtc;
	struct i8042 *kbd;
	struct reset *rst;

	struct pci_bus *pci;
	struct pci_dev host_bridge;      /* pc */
	bool host_bridge_registered;
	struct acpi_pm *pm;              /* pc */
	struct q35_mch *mch;             /* q35 */
	struct ich9_lpc *lpc;            /* q35 */

	struct fwcfg *fwcfg;
	bool smm_test_port;
	struct vdev *vdev;
};

/* ------------------------------------------------------------------ */
/* Callbacks that turn guest requests into machine stops. */

static void request_reset(void *opaque)
{
	struct platform *p = opaque;

	vm_request_stop(p->m->vm, VM_STOP_RESET, 0, "guest requested a reset");
}

static void request_sleep(void *opaque, unsigned slp_typ)
{
	struct platform *p = opaque;

	if (slp_typ == ACPI_SLP_TYP_S5)
		vm_request_stop(p->m->vm, VM_STOP_POWEROFF, 0, "guest powered off (ACPI S5)");
	else
		log_warn("guest asked for ACPI sleep type %u, which kvmrun does not implement",
			 slp_typ);
}

static void debug_exit(void *opaque, uint64_t status)
{
	struct platform *p = opaque;

	/* QEMU passes (v << 1) | 1 to exit(): the process sees the low 8 bits. */
	vm_request_stop(p->m->vm, VM_STOP_EXIT, (int)(status & 0xff),
			"isa-debug-exit: status %d", (int)(status & 0xff));
}

static void apm_smi(void *opaque, int cpu, bool broadcast)
{
	struct platform *p = opaque;

	if (p->smm)
		smm_raise(p->smm, broadcast ? -1 : cpu);
}

static void ipi_smi(void *opaque, int cpu)
{
	struct platform *p = opaque;

	if (p->smm)
		smm_raise(p->smm, cpu);
}

static bool smm_pending_for_irqchip(void *opaque, int cpu)
{
	struct platform *p = opaque;

	return p->smm && smm_smi_pending(p->smm, cpu);
}

static bool irqchip_holds_cpu(void *opaque, int cpu)
{
	struct platform *p = opaque;

	return irqchip_cpu_wait_sipi(p->ic, cpu);
}

static void smm_tell_irqchip(void *opaque, int cpu, bool in_smm)
{
	struct platform *p = opaque;

	irqchip_set_smm(p->ic, cpu, in_smm);
}

static void mch_smram(void *opaque, const struct mch_smram *s)
{
	struct platform *p = opaque;
	struct smm_smram_cfg c = {
		.tseg_base = s->tseg_base,
		.tseg_size = s->tseg_size,
		.tseg_closed = s->tseg_closed,
		.d_open = s->d_open,
		.d_lck = s->d_lck,
		.low_smram = s->low_smram,
	};

	if (p->smm)
		smm_set_smram(p->smm, &c);
}

static void smi_features(void *opaque, uint64_t features)
{
	struct platform *p = opaque;

	if (p->lpc)
		ich9_lpc_set_smi_broadcast(p->lpc, features & FWCFG_SMI_F_BROADCAST);
}

static void shared_irq_set(void *opaque, unsigned idx, int level)
{
	struct shared_irq *s = opaque;

	if (level)
		s->levels |= 1u << idx;
	else
		s->levels &= ~(1u << idx);
	irq_set(s->out, s->levels != 0);
}

static void lpc_irq(void *opaque, unsigned gsi, int level)
{
	struct platform *p = opaque;

	irq_set(irqchip_gsi(p->ic, gsi), level);
}

/* 0xCF9 lives inside the PCI host's 0xCF8 dword: it forwards byte accesses. */
static uint64_t cf9_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return reset_rcr_read(dev);
}

static void cf9_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	reset_rcr_write(dev, (uint8_t)val);
}

static const struct dev_ops cf9_ops = { .name = "reset-control", .read = cf9_read,
					.write = cf9_write };

/* ------------------------------------------------------------------ */
/* Character devices named by -serial/-debugcon/-chardev. */

static int resolve_chardev(struct platform *p, const char *spec, const char *label,
			   struct chardev **out)
{
	struct config *cfg = p->m->cfg;
	char buf[512];
	int i;

	*out = NULL;
	if (!strcmp(spec, "none"))
		return 0;
	if (!strncmp(spec, "chardev:", 8)) {
		for (i = 0; i < cfg->nchardevs; i++) {
			struct optlist *ol = &cfg->chardevs[i];
			const char *id = optlist_get(ol, "id");

			if (!id || strcmp(id, spec + 8))
				continue;
			if (!strcmp(ol->name, "file"))
				snprintf(buf, sizeof(buf), "file:%s", optlist_get(ol, "path"));
			else
				snprintf(buf, sizeof(buf), "%s", ol->name);
			return chardev_open(buf, label, p->m->loop, out);
		}
		return err_set(-EINVAL, "%s: no -chardev with id '%s'", label, spec + 8);
	}
	return chardev_open(spec, label, p->m->loop, out);
}

/* ------------------------------------------------------------------ */
/* ISA devices common to both machines. */

static int add_serial(struct platform *p, const char *spec)
{
	int idx = p->ncom, r;
	char label[16];
	const struct irq_line *line;

	if (idx >= MAX_SERIAL)
		return err_set(-EINVAL, "too many serial ports (at most %d)", MAX_SERIAL);
	snprintf(label, sizeof(label), "serial%d", idx);
	r = resolve_chardev(p, spec, label, &p->com_chr[idx]);
	if (r < 0)
		return r;
	/* COM3/COM4 share IRQ 4/3 with COM1/COM2. */
	line = &p->com_irq[idx & 1].in[idx >> 1];
	r = serial_create(p->com_chr[idx], line, p->clock, &p->com[idx]);
	if (r < 0)
		return r;
	r = serial_attach(p->com[idx], &p->m->vm->pio, com_ports[idx]);
	if (r < 0)
		return err_set(r, "%s: port 0x%x is taken", label, com_ports[idx]);
	p->ncom++;
	return 0;
}

static int add_serials(struct platform *p)
{
	struct config *cfg = p->m->cfg;
	int i, r;

	for (i = 0; i < 2; i++) {
		p->com_irq[i].out = irqchip_gsi(p->ic, com_gsis[i]);
		p->com_irq[i].in[0] = (struct irq_line){ .set_level = shared_irq_set,
							 .opaque = &p->com_irq[i], .gsi = 0 };
		p->com_irq[i].in[1] = (struct irq_line){ .set_level = shared_irq_set,
							 .opaque = &p->com_irq[i], .gsi = 1 };
	}
	if (cfg->serial_given) {
		for (i = 0; i < cfg->nserial; i++) {
			r = add_serial(p, cfg->serial[i]);
			if (r < 0)
				return r;
		}
	} else if (!cfg->nodefaults) {
		r = add_serial(p, "stdio");
		if (r < 0)
			return r;
	}
	return 0;
}

static unsigned long parse_num(const char *s, bool *ok)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	*ok = s[0] && !*end && !errno;
	return v;
}

static int add_debugcon(struct platform *p, const char *spec, const char *iobase_s,
			const char *what)
{
	unsigned long iobase = DEBUGCON_QEMU_IOBASE;
	bool ok = true;
	int r;

	if (p->dbgcon)
		return err_set(-EINVAL, "%s: only one isa-debugcon is supported", what);
	if (iobase_s) {
		iobase = parse_num(iobase_s, &ok);
		if (!ok || iobase > 0xffff)
			return err_set(-EINVAL, "%s: invalid iobase '%s'", what, iobase_s);
	}
	r = resolve_chardev(p, spec, "debugcon", &p->dbgcon_chr);
	if (r < 0)
		return r;
	r = debugcon_create(p->dbgcon_chr, (uint16_t)iobase, DEBUGCON_DEFAULT_READBACK, &p->dbgcon);
	if (r < 0)
		return r;
	r = debugcon_attach(p->dbgcon, &p->m->vm->pio);
	if (r < 0)
		return err_set(r, "%s: port 0x%lx is taken", what, iobase);
	return 0;
}

static int add_device(struct platform *p, struct optlist *ol)
{
	struct config *cfg = p->m->cfg;
	const char *v;
	char what[96];
	bool ok;
	int r;

	snprintf(what, sizeof(what), "-device %s", ol->name);
	if (vdev_claim(ol->name))
		return 0;       /* created by add_virtio() once the PCI bus exists */
	if (!strcmp(ol->name, "isa-debug-exit")) {
		unsigned long iobase = DEBUGEXIT_QEMU_IOBASE, iosize = DEBUGEXIT_QEMU_IOSIZE;

		if ((v = optlist_get(ol, "iobase"))) {
			iobase = parse_num(v, &ok);
			if (!ok || iobase > 0xffff)
				return err_set(-EINVAL, "%s: invalid iobase '%s'", what, v);
		}
		if ((v = optlist_get(ol, "iosize"))) {
			iosize = parse_num(v, &ok);
			if (!ok)
				return err_set(-EINVAL, "%s: invalid iosize '%s'", what, v);
		}
		optlist_get(ol, "id");
		if (optlist_unused(ol))
			return err_set(-EINVAL, "%s: unknown property '%s'", what, optlist_unused(ol));
		if (p->ndbgexit == MAX_DEBUGEXIT)
			return err_set(-EINVAL, "%s: too many", what);
		r = debugexit_create((uint16_t)iobase, (unsigned)iosize, debug_exit, p,
				     &p->dbgexit[p->ndbgexit]);
		if (r < 0)
			return err_prefix(r, "%s", what);
		r = debugexit_attach(p->dbgexit[p->ndbgexit++], &p->m->vm->pio);
		if (r < 0)
			return err_set(r, "%s: ports 0x%lx..0x%lx are taken", what, iobase,
				       iobase + iosize - 1);
		return 0;
	}
	if (!strcmp(ol->name, "isa-debugcon")) {
		const char *chr = optlist_get(ol, "chardev");
		char spec[128];

		v = optlist_get(ol, "iobase");
		optlist_get(ol, "id");
		if (optlist_unused(ol))
			return err_set(-EINVAL, "%s: unknown property '%s'", what, optlist_unused(ol));
		if (!chr)
			return err_set(-EINVAL, "%s: needs chardev=ID", what);
		snprintf(spec, sizeof(spec), "chardev:%s", chr);
		return add_debugcon(p, spec, v ? v : cfg_global(cfg, "isa-debugcon", "iobase"),
				    what);
	}
	if (!strcmp(ol->name, "isa-serial")) {
		const char *chr = optlist_get(ol, "chardev");
		char spec[128];

		optlist_get(ol, "id");
		optlist_get(ol, "index");
		if (optlist_unused(ol))
			return err_set(-EINVAL, "%s: unknown property '%s'", what, optlist_unused(ol));
		if (!chr)
			return err_set(-EINVAL, "%s: needs chardev=ID", what);
		snprintf(spec, sizeof(spec), "chardev:%s", chr);
		return add_serial(p, spec);
	}
	if (!strcmp(ol->name, "smm-test-port")) {
		if (optlist_unused(ol))
			return err_set(-EINVAL, "%s: unknown property '%s'", what, optlist_unused(ol));
		if (!p->smm)
			return err_set(-EINVAL, "%s: needs SMM (-machine q35,smm=on)", what);
		p->smm_test_port = true;
		return smm_register_test_port(p->smm);
	}
	return err_set(-EINVAL, "%s: unknown device (see -device help)", what);
}

static int add_isa_devices(struct platform *p)
{
	struct machine *m = p->m;
	struct config *cfg = m->cfg;
	struct bus *pio = &m->vm->pio;
	time_t now = time(NULL);
	int i, r;

	r = add_serials(p);
	if (r < 0)
		return r;
	if (cfg->rtc_localtime) {
		struct tm tm;

		localtime_r(&now, &tm);
		now += tm.tm_gmtoff;
	}
	if ((r = rtc_create(p->clock, irqchip_gsi(p->ic, GSI_RTC), (uint64_t)now, &p->rtc)) < 0 ||
	    (r = rtc_attach(p->rtc, pio)) < 0)
		return err_prefix(r, "RTC");
	if ((r = i8042_create(irqchip_gsi(p->ic, GSI_KBD), irqchip_gsi(p->ic, GSI_MOUSE),
			      request_reset, p, &p->kbd)) < 0 ||
	    (r = i8042_attach(p->kbd, pio)) < 0)
		return err_prefix(r, "i8042");
	if ((r = reset_create(request_reset, p, &p->rst)) < 0 ||
	    (r = reset_attach_port92(p->rst, pio)) < 0)
		return err_prefix(r, "port 0x92");
	if ((r = post_create(&p->post)) < 0 || (r = post_attach(p->post, pio)) < 0)
		return err_prefix(r, "POST port");
	if (cfg->debugcon) {
		r = add_debugcon(p, cfg->debugcon, cfg_global(cfg, "isa-debugcon", "iobase"),
				 "-debugcon");
		if (r < 0)
			return r;
	}
	for (i = 0; i < cfg->ndevices; i++) {
		r = add_device(p, &cfg->devices[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The PCI host and chipset. */

static int add_pci(struct platform *p)
{
	struct pci_bus_config pc = {
		.intx = { .set_level = lpc_irq, .opaque = p, .gsi = GSI_PCI_FIRST },
		.msi = *irqchip_msi(p->ic),
		.cf9_ops = &cf9_ops,
		.cf9_dev = p->rst,
	};
	int r;

	r = pci_bus_create(&p->m->vm->pio, &p->m->vm->mmio, &pc, &p->pci);
	if (r < 0)
		return err_prefix(r, "PCI host");
	if (!machine_is_q35(p->m)) {
		static const struct pci_dev_info hb = {
			.name = "i440fx-host", .vendor = 0x8086, .device = 0x1237,
			.class_code = 0x060000, .revision = 2,
		};

		pci_dev_init(&p->host_bridge, &hb);
		r = pci_dev_register(p->pci, 0, &p->host_bridge);
		if (r < 0)
			return err_set(r, "PCI host bridge: %s", strerror(-r));
		p->host_bridge_registered = true;
	}
	return 0;
}

static int add_pc_chipset(struct platform *p)
{
	struct acpi_pm_config pc = {
		.clock = p->clock,
		.sci = *irqchip_gsi(p->ic, GSI_SCI),
		.sleep = request_sleep,
		.opaque = p,
		.sci_en_at_reset = true,   /* no SMI_CMD on pc: ACPI mode from the start */
	};
	int r;

	r = acpi_pm_create(&pc, &p->pm);
	if (r < 0)
		return err_prefix(r, "ACPI PM");
	r = acpi_pm_map(p->pm, &p->m->vm->pio, PORT_PC_ACPI_PM);
	if (r < 0)
		return err_set(r, "ACPI PM block at 0x%x is taken", PORT_PC_ACPI_PM);
	return 0;
}

static int add_q35_chipset(struct platform *p)
{
	struct machine *m = p->m;
	struct q35_mch_config mc = {
		.low_top = m->low_size,
		.ext_tseg_mb = Q35_EXT_TSEG_MB_DEFAULT,
		.on_smram = mch_smram,
		.opaque = p,
	};
	struct ich9_lpc_config lc = {
		.pio = &m->vm->pio,
		.mmio = &m->vm->mmio,
		.clock = p->clock,
		.irq = { .set_level = lpc_irq, .opaque = p },
		.smi = apm_smi,
		.sleep = request_sleep,
		.opaque = p,
	};
	const char *v;
	int r;

	if ((v = cfg_global(m->cfg, "mch", "extended-tseg-mbytes"))) {
		bool ok;
		unsigned long mb = parse_num(v, &ok);

		if (!ok || mb > 0xfff)
			return err_set(-EINVAL, "-global mch.extended-tseg-mbytes: invalid '%s'", v);
		mc.ext_tseg_mb = (uint16_t)mb;
	}
	if (!IS_ALIGNED(m->low_size, MiB))
		return err_set(-EINVAL, "q35: RAM below 4 GiB must be a multiple of 1 MiB");
	r = q35_mch_create(p->pci, &mc, &p->mch);
	if (r < 0)
		return err_prefix(r, "q35 MCH");
	r = ich9_lpc_create(p->pci, &lc, &p->lpc);
	if (r < 0)
		return err_prefix(r, "ICH9 LPC");
	/* Accepted for compatibility with QEMU command lines; S3/S4 are absent anyway. */
	cfg_global(m->cfg, "ICH9-LPC", "disable_s3");
	cfg_global(m->cfg, "ICH9-LPC", "disable_s4");
	return 0;
}

static int open_chardev(void *opaque, const char *spec, const char *label, struct chardev **out)
{
	return resolve_chardev(opaque, spec, label, out);
}

static int add_virtio(struct platform *p)
{
	struct vdev_env env = {
		.cfg = p->m->cfg,
		.vm = p->m->vm,
		.pci = p->pci,
		.ic = p->ic,
		.loop = p->m->loop,
		.q35 = machine_is_q35(p->m),
		.open_chardev = open_chardev,
		.opaque = p,
	};

	return vdev_create(&env, &p->vdev);
}

static int fwcfg_create_dev(struct platform *p)
{
	struct machine *m = p->m;
	struct fwcfg_config fc = {
		.mem = &m->vm->dma,
		.nb_cpus = (uint16_t)m->nr_cpus,
		.max_cpus = (uint16_t)m->nr_cpus,
		.smi_features = p->smm ? FWCFG_SMI_F_BROADCAST : 0,
		.smi_features_cb = smi_features,
		.opaque = p,
	};
	int r;

	r = fwcfg_create(&p->fwcfg, &fc);
	if (r < 0)
		return err_prefix(r, "fw_cfg");
	r = bus_register(&m->vm->pio, PORT_FW_CFG, FWCFG_IO_LEN, &fwcfg_ops, p->fwcfg);
	if (r < 0)
		return err_set(r, "fw_cfg ports 0x%x.. are taken", PORT_FW_CFG);
	return 0;
}

/* ------------------------------------------------------------------ */
/* SMM (q35 only). */

static int add_smm(struct platform *p)
{
	struct machine *m = p->m;
	struct smm_cfg sc = { 0 };
	int on, r;

	on = smm_machine_enable(&m->kvm, m->cfg->smm, machine_is_q35(m), m->cfg->smm_backend);
	if (on < 0)
		return on;
	if (!on)
		return 0;
	sc.backend = m->cfg->smm_backend;
	sc.nr_cpus = m->nr_cpus;
	sc.lowram_gpa = 0;
	sc.lowram_size = m->low_size;
	sc.lowram_hva = m->low_hva;
	sc.kernel_irqchip = m->cfg->irqchip != IRQCHIP_USER;
	sc.set_smm = smm_tell_irqchip;
	sc.smi_blocked = irqchip_holds_cpu;
	sc.opaque = p;
	r = smm_create(m->vm, &sc, &p->smm);
	if (r < 0)
		return err_prefix(r, "SMM");
	m->smm_owns_low = true;
	log_info("SMM: %s backend", smm_backend_name(p->smm));
	return 0;
}

/* ------------------------------------------------------------------ */

int platform_create(struct machine *m)
{
	struct platform *p = calloc(1, sizeof(*p));
	struct irqchip_cfg ic = { 0 };
	int r;

	if (!p)
		return -ENOMEM;
	m->plat = p;
	p->m = m;
	p->clock = event_clock(m->loop);
	ic.mode = m->cfg->irqchip;
	ic.nr_cpus = m->nr_cpus;
	ic.clock = p->clock;
	ic.smi = ipi_smi;
	ic.smi_pending = smm_pending_for_irqchip;
	ic.opaque = p;
	r = irqchip_create(m->vm, &ic, &p->ic);
	if (r < 0)
		return err_prefix(r, "irqchip (kernel-irqchip=%s)", irqchip_mode_name(ic.mode));
	log_info("irqchip: %s", irqchip_mode_name(ic.mode));
	pthread_mutex_lock(&m->vm->bql);
	if (machine_is_q35(m)) {
		r = add_smm(p);
		if (r < 0)
			goto out;
	}
	r = add_isa_devices(p);
	if (r < 0)
		goto out;
	r = add_pci(p);
	if (r < 0)
		goto out;
	r = machine_is_q35(m) ? add_q35_chipset(p) : add_pc_chipset(p);
	if (r < 0)
		goto out;
	r = add_virtio(p);
	if (r < 0)
		goto out;
	r = fwcfg_create_dev(p);
out:
	pthread_mutex_unlock(&m->vm->bql);
	return r;
}

/* ---- after the description exists: fw_cfg, ACPI, CMOS ---- */

static int pci_gsi(void *opaque, unsigned slot, unsigned pin)
{
	struct platform *p = opaque;

	if (p->lpc)
		return ich9_lpc_pirq(slot << 3, pin + 1) + GSI_PCI_FIRST;
	return GSI_PCI_FIRST + (int)((slot + pin) % 4);
}

static void acpi_setup(struct platform *p, struct acpi_config *ac)
{
	struct machine *m = p->m;

	acpi_config_default(ac, machine_is_q35(m) ? ACPI_MACHINE_Q35 : ACPI_MACHINE_PC,
			    (unsigned)m->nr_cpus);
	ac->com_mask = (1u << p->ncom) - 1;
	ac->pci_irq_gsi = pci_gsi;
	ac->pci_irq_opaque = p;
	if (!machine_is_q35(m)) {
		ac->smi_cmd = 0;   /* the pc machine starts in ACPI mode */
		ac->acpi_enable = ac->acpi_disable = 0;
	}
	if (ac->pci_mmio32_base < m->low_size)
		ac->pci_mmio32_base = (uint32_t)ALIGN_UP(m->low_size, 256 * MiB);
	ac->pci_mmio32_size = (uint32_t)(MM_PCI_MMIO32_END - ac->pci_mmio32_base);
}

/* The files derived from the machine description: e820, boot menu, ACPI. */
static int fwcfg_fill(struct platform *p)
{
	struct machine *m = p->m;
	struct fwcfg_e820 fe[E820_MAX_ENTRIES];
	struct e820_map map;
	struct acpi_config ac;
	struct acpi_blobs blobs;
	unsigned i;
	int r;

	/* Firmware places TSEG itself: RAM only, as CMOS 0x34/0x35 also say. */
	r = firmware_e820(m, false, false, &map);
	if (r < 0)
		return r;
	for (i = 0; i < map.n; i++)
		fe[i] = (struct fwcfg_e820){ map.e[i].addr, map.e[i].size, map.e[i].type };
	if ((r = fwcfg_add_e820(p->fwcfg, fe, map.n)) < 0 ||
	    (r = fwcfg_add_boot_menu(p->fwcfg, m->cfg->boot_menu, m->cfg->boot_menu ? 3000 : 0)) < 0)
		return err_prefix(r, "fw_cfg");
	if (m->cfg->kernel)
		return 0;   /* direct boot: the tables go straight into RAM */
	acpi_setup(p, &ac);
	r = acpi_build_loader(&ac, &blobs);
	if (r < 0)
		return err_prefix(r, "ACPI tables");
	if ((r = fwcfg_add_file(p->fwcfg, ACPI_FWCFG_TABLES, blobs.tables,
				(uint32_t)blobs.tables_len)) < 0 ||
	    (r = fwcfg_add_file(p->fwcfg, ACPI_FWCFG_RSDP, blobs.rsdp, (uint32_t)blobs.rsdp_len)) <
		    0 ||
	    (r = fwcfg_add_file(p->fwcfg, ACPI_FWCFG_LOADER, blobs.loader,
				(uint32_t)blobs.loader_len)) < 0)
		r = err_prefix(r, "fw_cfg ACPI files");
	acpi_blobs_free(&blobs);
	return r;
}

static int acpi_direct_boot(struct platform *p)
{
	struct machine *m = p->m;
	struct acpi_config ac;
	void *buf = vm_gpa_ptr(m->vm, MM_ACPI_TABLES, MM_ACPI_TABLES_SIZE);
	long n;

	if (!buf)
		return err_set(-EINVAL, "no RAM for the ACPI tables at 0x%llx",
			       (unsigned long long)MM_ACPI_TABLES);
	acpi_setup(p, &ac);
	n = acpi_build_fixed(&ac, buf, MM_ACPI_TABLES_SIZE, MM_ACPI_TABLES);
	if (n < 0)
		return err_prefix((int)n, "ACPI tables");
	m->acpi_rsdp = MM_ACPI_TABLES;
	if (p->pci && machine_is_q35(m))
		/* No firmware programs PCIEXBAR: enable ECAM as OVMF would. */
		pci_bus_cfg_write(p->pci, 0, 0, MCH_PCIEXBAR, (uint32_t)MM_PCIE_ECAM | 1, 4);
	return 0;
}

int platform_late_init(struct machine *m)
{
	struct platform *p = m->plat;
	int r, i;

	pthread_mutex_lock(&m->vm->bql);
	rtc_cmos_fill_memory(p->rtc, desc_low_ram_top(m->fdt), desc_high_ram_size(m->fdt));
	rtc_cmos_set(p->rtc, CMOS_CPU_COUNT, (uint8_t)(desc_nr_cpus(m->fdt) - 1));
	r = fwcfg_fill(p);
	if (r == 0 && m->cfg->kernel)
		r = acpi_direct_boot(p);
	pthread_mutex_unlock(&m->vm->bql);
	if (r < 0)
		return r;
	for (i = 0; i < m->cfg->nglobals; i++) {
		struct global_cfg *g = &m->cfg->globals[i];

		if (!g->used)
			log_warn("-global %s.%s=%s: no such device property; ignored", g->driver,
				 g->property, g->value);
	}
	return 0;
}

void platform_reset(struct machine *m)
{
	struct platform *p = m->plat;
	int i;

	if (!p)
		return;
	irqchip_reset(p->ic);
	if (p->smm)
		smm_reset(p->smm);
	for (i = 0; i < p->ncom; i++)
		serial_reset(p->com[i]);
	rtc_reset(p->rtc);
	i8042_reset(p->kbd);
	reset_power_on(p->rst);
	if (p->pci)
		pci_bus_reset(p->pci);   /* MCH, LPC and its PM block included */
	if (p->pm)
		acpi_pm_reset(p->pm);
	if (p->fwcfg)
		fwcfg_reset(p->fwcfg);
}

void platform_destroy(struct machine *m)
{
	struct platform *p = m->plat;
	struct bus *pio;
	int i;

	if (!p)
		return;
	pio = &m->vm->pio;
	vdev_destroy(p->vdev);   /* waits for disk I/O: before everything it uses */
	if (p->fwcfg) {
		bus_unregister_dev(pio, p->fwcfg);
		fwcfg_destroy(p->fwcfg);
	}
	if (p->lpc)
		ich9_lpc_destroy(p->lpc);
	if (p->mch)
		q35_mch_destroy(p->mch);
	if (p->pm) {
		acpi_pm_unmap(p->pm);
		acpi_pm_destroy(p->pm);
	}
	if (p->host_bridge_registered)
		pci_dev_unregister(&p->host_bridge);
	if (p->pci)
		pci_bus_destroy(p->pci);
	for (i = 0; i < p->ndbgexit; i++) {
		bus_unregister_dev(pio, p->dbgexit[i]);
		debugexit_destroy(p->dbgexit[i]);
	}
	if (p->dbgcon) {
		bus_unregister_dev(pio, p->dbgcon);
		debugcon_destroy(p->dbgcon);
	}
	chardev_close(p->dbgcon_chr);
	if (p->post) {
		bus_unregister_dev(pio, p->post);
		post_destroy(p->post);
	}
	if (p->rst) {
		bus_unregister_dev(pio, p->rst);
		reset_destroy(p->rst);
	}
	if (p->kbd) {
		bus_unregister_dev(pio, p->kbd);
		i8042_destroy(p->kbd);
	}
	if (p->rtc) {
		bus_unregister_dev(pio, p->rtc);
		rtc_destroy(p->rtc);
	}
	for (i = 0; i < MAX_SERIAL; i++) {
		if (p->com[i]) {
			bus_unregister_dev(pio, p->com[i]);
			serial_destroy(p->com[i]);
		}
		chardev_close(p->com_chr[i]);
	}
	smm_destroy(p->smm);
	irqchip_destroy(p->ic);
	free(p);
	m->plat = NULL;
}

void platform_print_devices(void)
{
	printf("Devices (-device NAME[,prop=value...]):\n"
	       "  isa-debug-exit   iobase=PORT (0x501), iosize=1|2|4 (2): a write of V exits\n"
	       "                   kvmrun with status (V << 1) | 1\n"
	       "  isa-debugcon     chardev=ID, iobase=PORT (0xe9): byte output port\n"
	       "  isa-serial       chardev=ID: another 16550A (COM1..COM4)\n"
	       "  smm-test-port    (q35, smm=on) port 0xb4: a write raises an SMI on the\n"
	       "                   writing vCPU, 0xff on all (for SMM tests)\n");
	vdev_print_help();
	printf("Always present: 16550A COM1 (unless -nodefaults/-serial none), MC146818\n"
	       "RTC/CMOS, i8042, POST port 0x80, reset control 0xcf9 and 0x92, fw_cfg\n"
	       "0x510, PCI host; pc: ACPI PM block at 0x600; q35: MCH, ICH9 LPC.\n");
}
