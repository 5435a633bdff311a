/*
 * smm_harness: run an SMM test guest (firmware/smm_test.bin) on real KVM
 * with kvmrun's core (struct vm/vcpu, buses, vCPU threads) and the SMM
 * module, before the full machine exists. It provides just what the guest
 * needs: RAM, the -bios image at the top of 4 GiB, COM1 output, the
 * isa-debug-exit port, kvmrun's SMI test port, KVM's in-kernel irqchip
 * (INIT/SIPI for the APs) and a minimal q35 MCH (00:00.0, 8086:29C0)
 * whose SMRAM/ESMRAMC registers drive smm_set_smram().
 *
 *   smm_harness [-b kvm|user|auto] [-s CPUS] [-t] [-S] [-M] [-d /dev/kvm] BIOS
 *
 * -t traces SMM, -S prints the SMM counters, -M keeps a closed TSEG mapped
 * outside SMM with the user backend (cfg.user_tseg_always_mapped).
 *
 * Exit status as kvmrun: (v << 1) | 1 for a debug-exit write of v,
 * 2 for a triple fault or a VM error (message on stderr), 77 without KVM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smm/smm.h"
#include "vmm/bus.h"
#include "vmm/err.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define RAM_SIZE   (128 * MiB)
#define BIOS_SIZE  (64 * KiB)

struct harness {
	struct vm *vm;
	struct smm *smm;
	uint32_t cf8;
	uint8_t smram, esmramc;       /* MCH 0x9D, 0x9E */
};

/* ---- COM1: transmit only ---- */

static uint64_t com_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return off == 5 ? 0x60 : 0;   /* LSR: transmitter empty */
}

static void com_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	if (off == 0) {
		putchar((int)(val & 0xff));
		fflush(stdout);
	}
}

static const struct dev_ops com_ops = { .name = "com1", .read = com_read, .write = com_write };

/* ---- isa-debug-exit ---- */

static uint64_t dbgexit_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return 0;
}

static void dbgexit_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
			  unsigned size)
{
	struct harness *h = dev;

	vm_request_stop(h->vm, VM_STOP_EXIT, (int)(((val & 0xff) << 1) | 1),
			"debug exit 0x%llx", (unsigned long long)val);
}

static const struct dev_ops dbgexit_ops = {
	.name = "isa-debug-exit", .read = dbgexit_read, .write = dbgexit_write,
};

/* ---- a minimal q35 MCH: enough for TSEG ---- */

static void mch_update(struct harness *h)
{
	static const uint64_t tseg_mb[4] = { 1, 2, 8, 16 };
	bool g_smrame = h->smram & 0x08, t_en = h->esmramc & 0x01;
	uint64_t size = tseg_mb[(h->esmramc >> 1) & 3] * MiB;
	struct smm_smram_cfg c = {
		.tseg_base = RAM_SIZE - size,
		.tseg_size = t_en ? size : 0,
		.tseg_closed = t_en && g_smrame,
		.d_open = h->smram & 0x40,
		.d_lck = h->smram & 0x10,
		.low_smram = g_smrame && !(h->esmramc & 0x80),
	};

	smm_set_smram(h->smm, &c);
}

static uint64_t pci_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	struct harness *h = dev;
	unsigned reg = (h->cf8 & 0xfc) + (unsigned)(off - 4);
	uint64_t v = 0;
	unsigned i;

	if (off < 4)
		return h->cf8;
	/* Only 00:00.0 exists. */
	if (!(h->cf8 & 0x80000000u) || (h->cf8 & 0x00fff800u))
		return size >= 4 ? 0xffffffff : (1u << (8 * size)) - 1;
	for (i = 0; i < size; i++) {
		unsigned r = reg + i;
		uint8_t b = 0;

		if (r < 4)
			b = (uint8_t)(0x29c08086u >> (8 * r));
		else if (r == 0x9d)
			b = h->smram;
		else if (r == 0x9e)
			b = h->esmramc;
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

static void pci_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		      unsigned size)
{
	struct harness *h = dev;
	unsigned reg = (h->cf8 & 0xfc) + (unsigned)(off - 4);
	unsigned i;

	if (off < 4) {
		if (off == 0 && size == 4)
			h->cf8 = (uint32_t)val;
		return;
	}
	if (!(h->cf8 & 0x80000000u) || (h->cf8 & 0x00fff800u))
		return;
	for (i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));

		if (reg + i == 0x9d)
			h->smram = (uint8_t)((b & 0x78) | 0x02);      /* C_BASE_SEG = 010b */
		else if (reg + i == 0x9e)
			h->esmramc = (uint8_t)((b & 0x87) | 0x38);    /* bits 5:3 read-only */
	}
	mch_update(h);
}

static const struct dev_ops pci_ops = { .name = "pci-cfg", .read = pci_read, .write = pci_write };

/* ---- setup ---- */

static int load_bios(const char *path, uint8_t *dst)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size != (off_t)BIOS_SIZE) {
		close(fd);
		return err_set(-EINVAL, "%s: must be exactly 64 KiB", path);
	}
	n = read(fd, dst, BIOS_SIZE);
	close(fd);
	return n == (ssize_t)BIOS_SIZE ? 0 : err_set(-EIO, "%s: short read", path);
}

static int setup(struct harness *h, struct kvm *kvm, enum smm_backend_sel sel, int ncpu,
		 bool tseg_mapped, const char *bios_path)
{
	struct vm *vm;
	uint8_t *ram, *bios;
	struct smm_cfg cfg;
	int r, i;

	r = vm_create(kvm, 0, &h->vm);
	if (r < 0)
		return r;
	vm = h->vm;
	if ((r = vm_ioctl(vm, KVM_SET_TSS_ADDR, (void *)(uintptr_t)MM_KVM_TSS)) < 0)
		return err_set(r, "KVM_SET_TSS_ADDR: %s", strerror(-r));
	{
		uint64_t idmap = MM_KVM_IDENTITY_MAP;

		if ((r = vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap)) < 0)
			return err_set(r, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(-r));
	}
	if ((r = vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL)) < 0)
		return err_set(r, "KVM_CREATE_IRQCHIP: %s", strerror(-r));
	if ((r = vm_alloc_ram(vm, "ram", 0, RAM_SIZE, true, &ram)) < 0 ||
	    (r = vm_alloc_ram(vm, "bios", MM_FLASH_TOP - BIOS_SIZE, BIOS_SIZE, false, &bios)) < 0)
		return r;
	if ((r = load_bios(bios_path, bios)) < 0)
		return r;
	if ((r = vm_map(vm, 0, MM_FLASH_TOP - BIOS_SIZE, BIOS_SIZE, bios, KVM_MEM_READONLY)) < 0)
		return r;
	if ((r = vm_map(vm, 0, 0, RAM_SIZE, ram, 0)) < 0)
		return r;
	if ((r = bus_register(&vm->pio, PORT_COM1, 8, &com_ops, h)) < 0 ||
	    (r = bus_register(&vm->pio, PORT_DEBUG_EXIT, 4, &dbgexit_ops, h)) < 0 ||
	    (r = bus_register(&vm->pio, PORT_PCI_CONFIG, 8, &pci_ops, h)) < 0)
		return err_set(r, "cannot register the harness devices");
	h->smram = 0x02;
	h->esmramc = 0x38;

	memset(&cfg, 0, sizeof(cfg));
	cfg.backend = sel;
	cfg.nr_cpus = ncpu;
	cfg.lowram_gpa = 0;
	cfg.lowram_size = RAM_SIZE;
	cfg.lowram_hva = ram;
	cfg.kernel_irqchip = true;
	cfg.user_tseg_always_mapped = tseg_mapped;
	if ((r = smm_create(vm, &cfg, &h->smm)) < 0)
		return r;
	if ((r = smm_register_test_port(h->smm)) < 0)
		return r;
	for (i = 0; i < ncpu; i++) {
		struct vcpu *v;

		if ((r = vcpu_create(vm, i, &v)) < 0)
			return r;
		if ((r = vcpu_setup_cpuid(v, ncpu, false)) < 0)
			return r;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: smm_harness [-b kvm|user|auto] [-s CPUS] [-t] [-S] [-M] "
			"[-d DEV] [-T SECONDS] BIOS\n");
	exit(64);
}

int main(int argc, char **argv)
{
	enum smm_backend_sel sel = SMM_BACKEND_AUTO;
	const char *dev = NULL;
	struct harness h;
	struct kvm kvm;
	struct smm_stats st;
	struct timespec until;
	bool stats = false, tseg_mapped = false;
	int ncpu = 1, timeout = 120, c, i, r, status;

	memset(&h, 0, sizeof(h));
	while ((c = getopt(argc, argv, "b:s:tSMd:T:v")) != -1) {
		switch (c) {
		case 'b':
			if (!strcmp(optarg, "kvm"))
				sel = SMM_BACKEND_KVM;
			else if (!strcmp(optarg, "user"))
				sel = SMM_BACKEND_USER;
			else if (!strcmp(optarg, "auto"))
				sel = SMM_BACKEND_AUTO;
			else
				usage();
			break;
		case 's':
			ncpu = atoi(optarg);
			if (ncpu < 1 || ncpu > 8)
				usage();
			break;
		case 't':
			trace_flags |= TRACE_SMM;
			break;
		case 'S':
			stats = true;
			break;
		case 'M':
			tseg_mapped = true;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'T':
			timeout = atoi(optarg);
			break;
		case 'v':
			log_verbosity++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	r = kvm_open(&kvm, NULL, dev);
	if (r < 0) {
		fprintf(stderr, "smm_harness: %s\n", err_get());
		return r == -ENOENT ? 77 : 2;
	}
	if (vcpu_signals_init() < 0 || setup(&h, &kvm, sel, ncpu, tseg_mapped, argv[optind]) < 0) {
		fprintf(stderr, "smm_harness: %s\n", err_get());
		return 2;
	}
	fprintf(stderr, "smm_harness: %s backend, %d vCPU(s)\n", smm_backend_name(h.smm), ncpu);
	for (i = 0; i < h.vm->nr_vcpus; i++) {
		if (vcpu_start(h.vm->vcpus[i]) < 0) {
			fprintf(stderr, "smm_harness: %s\n", err_get());
			return 2;
		}
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout;
	pthread_mutex_lock(&h.vm->stop_lock);
	while (h.vm->stop_reason == VM_RUNNING)
		if (pthread_cond_timedwait(&h.vm->stop_cond, &h.vm->stop_lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&h.vm->stop_lock);
	if (vm_stop_reason(h.vm) == VM_RUNNING)
		vm_request_stop(h.vm, VM_STOP_ERROR, 2, "timeout after %d s", timeout);
	for (i = 0; i < h.vm->nr_vcpus; i++) {
		atomic_store(&h.vm->vcpus[i]->stop, true);
		vcpu_kick(h.vm->vcpus[i]);
	}
	for (i = 0; i < h.vm->nr_vcpus; i++)
		vcpu_join(h.vm->vcpus[i]);

	switch (h.vm->stop_reason) {
	case VM_STOP_EXIT:
		status = h.vm->exit_code;
		break;
	case VM_STOP_POWEROFF:
		status = 0;
		break;
	default:
		status = 2;
		fprintf(stderr, "smm_harness: %s\n", h.vm->stop_msg);
		break;
	}
	if (stats) {
		smm_get_stats(h.smm, &st);
		fprintf(stderr, "smm_harness: stats backend=%s smis=%llu entries=%llu rsms=%llu "
			"latched=%llu hwbp=%llu steps=%llu deferred=%llu entry_ns=%llu "
			"rsm_ns=%llu roundtrip_avg_ns=%llu roundtrip_max_ns=%llu\n",
			smm_backend_name(h.smm), (unsigned long long)st.raised,
			(unsigned long long)st.entries, (unsigned long long)st.rsms,
			(unsigned long long)st.latched, (unsigned long long)st.hwbp_hits,
			(unsigned long long)st.steps, (unsigned long long)st.deferred,
			(unsigned long long)(st.rsms ? st.entry_ns / st.rsms : 0),
			(unsigned long long)(st.rsms ? st.exit_ns / st.rsms : 0),
			(unsigned long long)(st.rsms ? st.roundtrip_ns / st.rsms : 0),
			(unsigned long long)st.roundtrip_max_ns);
	}
	smm_destroy(h.smm);
	vm_destroy(h.vm);
	kvm_close(&kvm);
	return status;
}
