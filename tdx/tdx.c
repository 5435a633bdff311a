#include "tdx/tdx.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tdx/hob.h"
#include "tdx/measure.h"
#include "tdx/tdvf.h"
#include "tdx/tdx_cfg.h"
#include "tdx/tdx_err.h"
#include "tdx/tdx_exits.h"
#include "tdx/tdx_log.h"
#include "vmm/err.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"

#define PAGE 4096ULL
#define FW_MAX_SIZE (64 * MiB)
#define TDX_MAX_SLOTS (TDX_MAX_RAM + 1)
#define CPUID_X2APIC (1u << 21)
#define BACKOFF_MAX_SHIFT 6

struct tdx_slot {
	int vm_idx;                 /* entry in vm->slots, -1 until the memslot exists */
	uint32_t id;
	uint64_t gpa, size;
	int gmem_fd;
};

struct tdx_machine {
	struct kvm *kvm;
	struct vm *vm;
	struct tdx_cfg cfg;
	struct tdx_layout layout;
	struct tdx_log log;
	uint8_t *fw;
	size_t fw_size;
	struct tdvf tdvf;
	struct hob_memmap memmap;
	uint64_t fw_lo, fw_hi;      /* firmware window outside RAM; fw_hi == 0: none */
	struct kvm_tdx_capabilities *caps;
	struct tdx_slot slots[TDX_MAX_SLOTS];
	int nslots;
	bool dead;                  /* KVM marked the VM dead: no more ioctls on it */
	struct tdx_exits exits;
	uint8_t mrtd[SHA384_DIGEST_SIZE];
};

static void sleep_default(unsigned us)
{
	usleep(us);
}

static const struct tdx_tuning tuning_default = {
	.init_vm_attempts = 20,
	.busy_attempts = 100,
	.sleep_us = sleep_default,
	.sysfs_root = "/sys",
};
static struct tdx_tuning tuning = {
	.init_vm_attempts = 20,
	.busy_attempts = 100,
	.sleep_us = sleep_default,
	.sysfs_root = "/sys",
};

void tdx_set_tuning(const struct tdx_tuning *t)
{
	tuning = t ? *t : tuning_default;
	if (tuning.init_vm_attempts < 1)
		tuning.init_vm_attempts = 1;
	if (tuning.busy_attempts < 1)
		tuning.busy_attempts = 1;
	if (!tuning.sleep_us)
		tuning.sleep_us = sleep_default;
	if (!tuning.sysfs_root)
		tuning.sysfs_root = "/sys";
}

/* 1, 2, 4 ... 64 ms: enough for an entropy source or a busy lock to recover. */
static void backoff(int attempt)
{
	tuning.sleep_us(1000u << MIN(attempt - 1, BACKOFF_MAX_SHIFT));
}

/* ---------------------------------------------------------------- logging */

struct step {
	const char *name;
	const char *ioctl;
	const char *target;
	int vcpu;
	int attempt;
	const char *detail;
	const char *extra;
};

static void log_step(struct tdx_machine *td, const struct step *s, uint64_t t0, int ret,
		     bool has_hw, uint64_t hw)
{
	struct tdx_log_rec rec = {
		.step = s->name, .ioctl = s->ioctl, .target = s->target, .vcpu = s->vcpu,
		.attempt = s->attempt ? s->attempt : 1, .duration_ns = tdx_log_now_ns() - t0,
		.ret = ret, .has_hw_error = has_hw, .hw_error = hw, .detail = s->detail,
		.extra = s->extra,
	};

	tdx_log_write(&td->log, &rec);
}

static void log_simple(struct tdx_machine *td, const char *name, uint64_t t0, int ret,
		       const char *detail)
{
	struct step s = { .name = name, .vcpu = -1, .detail = detail };

	log_step(td, &s, t0, ret, false, 0);
}

/* A plain ioctl, timed and logged. */
static int td_ioctl(struct tdx_machine *td, const struct step *s, int fd, unsigned long req,
		    void *arg)
{
	uint64_t t0 = tdx_log_now_ns();
	int r = kvm_ioctl(td->kvm, fd, req, arg);

	log_step(td, s, t0, r, false, 0);
	return r;
}

/* A TDX sub-command through KVM_MEMORY_ENCRYPT_OP; only VM-fd commands report hw_error. */
static int td_cmd(struct kvm *kvm, struct tdx_machine *td, const struct step *s, int fd,
		  uint32_t id, uint32_t flags, uint64_t data, uint64_t *hw_error)
{
	struct kvm_tdx_cmd cmd = { .id = id, .flags = flags, .data = data, .hw_error = 0 };
	uint64_t t0 = tdx_log_now_ns();
	int r = kvm_ioctl(kvm, fd, KVM_MEMORY_ENCRYPT_OP, &cmd);

	if (td)
		log_step(td, s, t0, r, s->vcpu < 0, cmd.hw_error);
	if (hw_error)
		*hw_error = cmd.hw_error;
	return r;
}

/* After an EIO: is the whole VM dead (KVM_BUG_ON / kvm_vm_dead)? */
static bool td_check_dead(struct tdx_machine *td)
{
	uint64_t t0;
	int r;

	if (td->dead || !td->vm)
		return td->dead;
	t0 = tdx_log_now_ns();
	r = kvm_ioctl_val(td->kvm, td->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	if (r == -EIO) {
		td->dead = true;
		log_simple(td, "vm-dead-check", t0, r, "KVM marked the TD dead");
	}
	return td->dead;
}

static int __printf(3, 4) td_fail(struct tdx_machine *td, int r, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r == -EIO && td_check_dead(td))
		return err_set(r, "%s: %s; KVM has marked the TD dead (a SEAMCALL failed, see the "
				  "kernel log): giving up", msg, strerror(EIO));
	return err_set(r, "%s: %s", msg, strerror(-r));
}

/* ---------------------------------------------------------------- discovery */

static int read_sysfs_bool(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' || c == 'y' || c == '1' ? 1 : c == 'N' || c == 'n' || c == '0' ? 0 : -1;
}

void tdx_host_probe(struct kvm *kvm, struct tdx_host *h)
{
	char path[512];
	int r;

	memset(h, 0, sizeof(*h));
	r = kvm_check_extension(kvm, kvm->fd, KVM_CAP_VM_TYPES);
	h->vm_types = r > 0 ? (uint64_t)r : 0;
	h->tdx_vm_type = h->vm_types & BIT(KVM_X86_TDX_VM);
	h->split_irqchip = kvm_check_extension(kvm, kvm->fd, KVM_CAP_SPLIT_IRQCHIP) > 0;
	h->apic_bus_cycles = kvm_check_extension(kvm, kvm->fd, KVM_CAP_X86_APIC_BUS_CYCLES_NS) > 0;
	r = kvm_check_extension(kvm, kvm->fd, KVM_CAP_EXIT_HYPERCALL);
	h->hypercall_mask = r > 0 ? (uint64_t)r : 0;
	h->guest_memfd = kvm_check_extension(kvm, kvm->fd, KVM_CAP_GUEST_MEMFD) > 0;
	r = kvm_check_extension(kvm, kvm->fd, KVM_CAP_MEMORY_ATTRIBUTES);
	h->mem_attributes = r > 0 ? (uint64_t)r : 0;
	h->user_memory2 = kvm_check_extension(kvm, kvm->fd, KVM_CAP_USER_MEMORY2) > 0;
	snprintf(path, sizeof(path), "%s/module/kvm_intel/parameters/tdx", tuning.sysfs_root);
	h->kvm_intel_tdx = read_sysfs_bool(path);
	snprintf(path, sizeof(path), "%s/module/kvm_amd", tuning.sysfs_root);
	h->amd_host = access(path, F_OK) == 0;
}

int tdx_host_check(const struct tdx_host *h)
{
	if (!h->tdx_vm_type) {
		if (h->kvm_intel_tdx == 0)
			return err_set(-ENOTSUP, "TDX module not loaded/initialised (kvm_intel.tdx=N: "
						 "enable TDX in the BIOS, load kvm_intel with tdx=1, "
						 "and see the kernel log for 'virt/tdx')");
		if (h->kvm_intel_tdx == 1)
			return err_set(-ENOTSUP, "TDX module not loaded/initialised (kvm_intel.tdx=Y "
						 "but KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM; see the "
						 "kernel log)");
		return err_set(-ENOTSUP, "kernel without TDX support (KVM_CAP_VM_TYPES lacks "
					 "KVM_X86_TDX_VM%s)",
			       h->amd_host ? "; this is an AMD host: TDX needs Intel CPUs" :
			       !h->vm_types ? "; KVM_CAP_VM_TYPES itself is missing: Linux 6.16+ "
					      "is needed" : "");
	}
	if (!h->split_irqchip)
		return err_set(-ENOTSUP, "kernel without split irqchip support "
					 "(KVM_CAP_SPLIT_IRQCHIP), which TDX requires");
	if (!h->apic_bus_cycles)
		return err_set(-ENOTSUP, "kernel without KVM_CAP_X86_APIC_BUS_CYCLES_NS, which TDX "
					 "requires (the TD's APIC timer runs at 25 MHz)");
	if (!(h->hypercall_mask & BIT(KVM_HC_MAP_GPA_RANGE)))
		return err_set(-ENOTSUP, "kernel cannot forward MapGPA to userspace "
					 "(KVM_CAP_EXIT_HYPERCALL lacks KVM_HC_MAP_GPA_RANGE)");
	if (!h->guest_memfd)
		return err_set(-ENOTSUP, "kernel without guest_memfd (KVM_CAP_GUEST_MEMFD), which "
					 "TD private memory requires");
	if (!(h->mem_attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return err_set(-ENOTSUP, "kernel without private memory attributes "
					 "(KVM_CAP_MEMORY_ATTRIBUTES lacks "
					 "KVM_MEMORY_ATTRIBUTE_PRIVATE)");
	if (!h->user_memory2)
		return err_set(-ENOTSUP, "kernel without KVM_SET_USER_MEMORY_REGION2 "
					 "(KVM_CAP_USER_MEMORY2), which guest_memfd memslots need");
	return 0;
}

static int get_caps(struct kvm *kvm, struct tdx_machine *td, int vm_fd,
		    struct kvm_tdx_capabilities **out)
{
	unsigned nent;
	int attempt = 1, r;

	*out = NULL;
	/* -E2BIG leaves nent alone, so the needed size is unknown: grow blindly. */
	for (nent = TDX_CAPS_MIN_NENT;; nent *= 2, attempt++) {
		size_t size = sizeof(struct kvm_tdx_capabilities) +
			      nent * sizeof(struct kvm_cpuid_entry2);
		struct kvm_tdx_capabilities *c = calloc(1, size);
		char extra[64];
		struct step s = { .name = "KVM_TDX_CAPABILITIES", .ioctl = "KVM_MEMORY_ENCRYPT_OP",
				  .target = "vm", .vcpu = -1, .attempt = attempt, .extra = extra };
		uint64_t hw;

		if (!c)
			return err_set(-ENOMEM, "out of memory for KVM_TDX_CAPABILITIES");
		snprintf(extra, sizeof(extra), "\"nent\":%u,", nent);
		c->cpuid.nent = nent;
		r = td_cmd(kvm, td, &s, vm_fd, KVM_TDX_CAPABILITIES, 0, (uintptr_t)c, &hw);
		if (r == -E2BIG) {
			free(c);
			if (nent >= TDX_CAPS_MAX_NENT)
				return err_set(-E2BIG, "KVM_TDX_CAPABILITIES: the TDX module reports "
						       "more than %d configurable CPUID leaves",
					       TDX_CAPS_MAX_NENT);
			continue;
		}
		if (r < 0) {
			free(c);
			if (r == -EIO && td && td_check_dead(td))
				return td_fail(td, r, "KVM_TDX_CAPABILITIES failed");
			return err_set(r, "TDX module not loaded/initialised (KVM_TDX_CAPABILITIES "
					  "failed: %s)", strerror(-r));
		}
		if (c->cpuid.nent > nent) {
			r = err_set(-EPROTO, "KVM_TDX_CAPABILITIES returned %u CPUID entries in a "
					     "%u-entry buffer", c->cpuid.nent, nent);
			free(c);
			return r;
		}
		*out = c;
		return 0;
	}
}

int tdx_get_capabilities(struct kvm *kvm, int vm_fd, struct kvm_tdx_capabilities **out)
{
	return get_caps(kvm, NULL, vm_fd, out);
}

/* ---------------------------------------------------------------- capability report */

static void print_bit_names(FILE *out, uint64_t v, const char *(*name)(unsigned), bool json)
{
	unsigned b;
	bool first = true;

	if (!json) {
		for (b = 0; b < 64; b++)
			if (v & BIT(b))
				fprintf(out, " %s", name(b) ? name(b) : "?");
		return;
	}
	fputc('[', out);
	for (b = 0; b < 64; b++) {
		const char *n;

		if (!(v & BIT(b)))
			continue;
		n = name(b);
		if (n)
			fprintf(out, "%s\"%s\"", first ? "" : ",", n);
		else
			fprintf(out, "%s\"bit%u\"", first ? "" : ",", b);
		first = false;
	}
	fputc(']', out);
}

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

static void print_human(FILE *out, const struct tdx_host *h,
			const struct kvm_tdx_capabilities *c, bool usable, const char *why)
{
	uint32_t i;

	fprintf(out, "TDX host capabilities\n");
	fprintf(out, "  %-52s %s (KVM_CAP_VM_TYPES 0x%" PRIx64 ")\n", "KVM_X86_TDX_VM",
		yesno(h->tdx_vm_type), h->vm_types);
	fprintf(out, "  %-52s %s\n", "kvm_intel.tdx",
		h->kvm_intel_tdx < 0 ? "unknown" : h->kvm_intel_tdx ? "Y" : "N");
	fprintf(out, "  %-52s %s\n", "split irqchip (KVM_CAP_SPLIT_IRQCHIP)", yesno(h->split_irqchip));
	fprintf(out, "  %-52s %s\n", "APIC bus cycles (KVM_CAP_X86_APIC_BUS_CYCLES_NS)",
		yesno(h->apic_bus_cycles));
	fprintf(out, "  %-52s %s (mask 0x%" PRIx64 ")\n",
		"MapGPA exits (KVM_CAP_EXIT_HYPERCALL)",
		yesno(h->hypercall_mask & BIT(KVM_HC_MAP_GPA_RANGE)), h->hypercall_mask);
	fprintf(out, "  %-52s %s\n", "guest_memfd (KVM_CAP_GUEST_MEMFD)", yesno(h->guest_memfd));
	fprintf(out, "  %-52s %s (0x%" PRIx64 ")\n", "private memory (KVM_CAP_MEMORY_ATTRIBUTES)",
		yesno(h->mem_attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE), h->mem_attributes);
	fprintf(out, "  %-52s %s\n", "KVM_SET_USER_MEMORY_REGION2 (KVM_CAP_USER_MEMORY2)",
		yesno(h->user_memory2));
	if (c) {
		fprintf(out, "TDX module (KVM_TDX_CAPABILITIES)\n");
		fprintf(out, "  supported attributes  0x%016" PRIx64 " ", (uint64_t)c->supported_attrs);
		print_bit_names(out, c->supported_attrs, tdx_cfg_attr_name, false);
		fprintf(out, "\n  supported XFAM        0x%016" PRIx64 " ",
			(uint64_t)c->supported_xfam);
		print_bit_names(out, c->supported_xfam, tdx_cfg_xfam_name, false);
		fprintf(out, "\n  TDVMCALL info leaf 1  kernel r11 0x%" PRIx64 " r12 0x%" PRIx64
			", user r11 0x%" PRIx64 " r12 0x%" PRIx64 "\n",
			(uint64_t)c->kernel_tdvmcallinfo_1_r11, (uint64_t)c->kernel_tdvmcallinfo_1_r12,
			(uint64_t)c->user_tdvmcallinfo_1_r11, (uint64_t)c->user_tdvmcallinfo_1_r12);
		fprintf(out, "  configurable CPUID leaves: %u\n", c->cpuid.nent);
		for (i = 0; i < c->cpuid.nent; i++) {
			const struct kvm_cpuid_entry2 *e = &c->cpuid.entries[i];

			fprintf(out, "    0x%08x.%-2u eax 0x%08x ebx 0x%08x ecx 0x%08x edx 0x%08x\n",
				e->function, e->index, e->eax, e->ebx, e->ecx, e->edx);
		}
	}
	if (usable)
		fprintf(out, "TDX usable: yes\n");
	else
		fprintf(out, "TDX usable: no: %s\n", why);
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void print_json(FILE *out, const struct tdx_host *h, const struct kvm_tdx_capabilities *c,
		       bool usable, const char *why)
{
	uint32_t i;

	fprintf(out, "{\"tdx_vm_type\":%s,\"vm_types\":\"0x%" PRIx64 "\",\"kvm_intel_tdx\":%s,",
		h->tdx_vm_type ? "true" : "false", h->vm_types,
		h->kvm_intel_tdx < 0 ? "null" : h->kvm_intel_tdx ? "true" : "false");
	fprintf(out, "\"split_irqchip\":%s,\"apic_bus_cycles_ns\":%s,\"exit_hypercall_map_gpa\":%s,"
		"\"hypercall_mask\":\"0x%" PRIx64 "\",\"guest_memfd\":%s,"
		"\"memory_attributes_private\":%s,\"user_memory2\":%s,",
		h->split_irqchip ? "true" : "false", h->apic_bus_cycles ? "true" : "false",
		h->hypercall_mask & BIT(KVM_HC_MAP_GPA_RANGE) ? "true" : "false", h->hypercall_mask,
		h->guest_memfd ? "true" : "false",
		h->mem_attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE ? "true" : "false",
		h->user_memory2 ? "true" : "false");
	if (c) {
		fprintf(out, "\"capabilities\":{\"supported_attrs\":\"0x%" PRIx64 "\","
			"\"supported_attrs_names\":", (uint64_t)c->supported_attrs);
		print_bit_names(out, c->supported_attrs, tdx_cfg_attr_name, true);
		fprintf(out, ",\"supported_xfam\":\"0x%" PRIx64 "\",\"supported_xfam_names\":",
			(uint64_t)c->supported_xfam);
		print_bit_names(out, c->supported_xfam, tdx_cfg_xfam_name, true);
		fprintf(out, ",\"kernel_tdvmcallinfo_1_r11\":\"0x%" PRIx64 "\","
			"\"user_tdvmcallinfo_1_r11\":\"0x%" PRIx64 "\","
			"\"kernel_tdvmcallinfo_1_r12\":\"0x%" PRIx64 "\","
			"\"user_tdvmcallinfo_1_r12\":\"0x%" PRIx64 "\",\"cpuid\":[",
			(uint64_t)c->kernel_tdvmcallinfo_1_r11, (uint64_t)c->user_tdvmcallinfo_1_r11,
			(uint64_t)c->kernel_tdvmcallinfo_1_r12, (uint64_t)c->user_tdvmcallinfo_1_r12);
		for (i = 0; i < c->cpuid.nent; i++) {
			const struct kvm_cpuid_entry2 *e = &c->cpuid.entries[i];

			fprintf(out, "%s{\"function\":\"0x%x\",\"index\":%u,\"eax\":\"0x%x\","
				"\"ebx\":\"0x%x\",\"ecx\":\"0x%x\",\"edx\":\"0x%x\"}", i ? "," : "",
				e->function, e->index, e->eax, e->ebx, e->ecx, e->edx);
		}
		fprintf(out, "]},");
	} else {
		fprintf(out, "\"capabilities\":null,");
	}
	fprintf(out, "\"usable\":%s,\"problem\":", usable ? "true" : "false");
	if (usable)
		fprintf(out, "null");
	else
		json_str(out, why);
	fprintf(out, "}\n");
}

int tdx_print_capabilities(struct kvm *kvm, bool json, FILE *out)
{
	struct kvm_tdx_capabilities *caps = NULL;
	struct tdx_host h;
	char why[512] = "";
	int r, vm_fd;

	tdx_host_probe(kvm, &h);
	r = tdx_host_check(&h);
	if (r < 0)
		snprintf(why, sizeof(why), "%s", err_get());
	if (h.tdx_vm_type) {
		/* KVM_TDX_CAPABILITIES is a VM ioctl: make a TD just to ask, then drop it. */
		vm_fd = kvm_ioctl_val(kvm, kvm->fd, KVM_CREATE_VM, KVM_X86_TDX_VM);
		if (vm_fd < 0) {
			if (!why[0])
				snprintf(why, sizeof(why), "KVM_CREATE_VM(KVM_X86_TDX_VM) failed: %s",
					 strerror(-vm_fd));
		} else {
			if (get_caps(kvm, NULL, vm_fd, &caps) < 0 && !why[0])
				snprintf(why, sizeof(why), "%s", err_get());
			kvm->be->close(kvm->be, vm_fd);
		}
	}
	if (json)
		print_json(out, &h, caps, !why[0], why);
	else
		print_human(out, &h, caps, !why[0], why);
	free(caps);
	if (fflush(out) || ferror(out))
		return err_set(-EIO, "cannot write the TDX capability report");
	return why[0] ? 1 : 0;
}

/* ---------------------------------------------------------------- firmware */

static int load_file(const char *path, uint8_t **buf, size_t *size)
{
	struct stat st;
	size_t done = 0;
	uint8_t *p;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, "firmware %s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = err_set(-errno, "firmware %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > FW_MAX_SIZE) {
		r = err_set(-EINVAL, "firmware %s: not a regular file of 1 byte to %llu MiB", path,
			    (unsigned long long)(FW_MAX_SIZE >> 20));
		goto out_close;
	}
	p = malloc((size_t)st.st_size);
	if (!p) {
		r = err_set(-ENOMEM, "firmware %s: out of memory", path);
		goto out_close;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, p + done, (size_t)st.st_size - done);

		if (n <= 0) {
			r = err_set(n < 0 ? -errno : -EIO, "firmware %s: read failed: %s", path,
				    n < 0 ? strerror(errno) : "short read");
			free(p);
			goto out_close;
		}
		done += (size_t)n;
	}
	*buf = p;
	*size = done;
	r = 0;
out_close:
	close(fd);
	return r;
}

int tdx_measure_file(const char *path, FILE *out)
{
	uint8_t mrtd[SHA384_DIGEST_SIZE];
	char hex[2 * SHA384_DIGEST_SIZE + 1];
	struct tdvf *t;
	uint8_t *img;
	size_t size;
	int r;

	if (!path)
		return err_set(-EINVAL, "tdx-measure: no firmware file given");
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = load_file(path, &img, &size);
	if (r < 0)
		goto out;
	r = tdvf_parse(img, size, path, t);
	if (r == 0) {
		measure_tdvf(t, img, size, mrtd);
		sha384_hex(mrtd, hex);
		fprintf(out, "%s\n", hex);
		if (fflush(out) || ferror(out))
			r = err_set(-EIO, "tdx-measure: cannot write the result");
	}
	free(img);
out:
	free(t);
	return r;
}

int tdx_layout_q35(uint64_t ram_size, struct tdx_layout *out)
{
	uint64_t low;

	memset(out, 0, sizeof(*out));
	if (!ram_size || !IS_ALIGNED(ram_size, PAGE))
		return err_set(-EINVAL, "-m: the TD's RAM size must be a non-zero multiple of 4 KiB");
	low = ram_size >= MM_Q35_LOWMEM_MAX ? MM_Q35_LOWMEM_SPLIT : ram_size;
	out->ram[0].gpa = 0;
	out->ram[0].size = low;
	out->nram = 1;
	if (ram_size > low) {
		out->ram[1].gpa = MM_HIGHMEM_START;
		out->ram[1].size = ram_size - low;
		out->nram = 2;
	}
	return 0;
}

static bool overlaps_ram(const struct tdx_layout *l, uint64_t gpa, uint64_t size)
{
	int i;

	for (i = 0; i < l->nram; i++)
		if (ranges_overlap(l->ram[i].gpa, l->ram[i].size, gpa, size))
			return true;
	return false;
}

/* Decide where every section lives and which RAM the HOB reports as already added. */
static int place_sections(struct tdx_machine *td)
{
	const char *fw = td->cfg.firmware;
	uint32_t i;
	int r;

	hob_memmap_init(&td->memmap);
	for (i = 0; i < (uint32_t)td->layout.nram; i++) {
		r = hob_memmap_add_ram(&td->memmap, td->layout.ram[i].gpa, td->layout.ram[i].size);
		if (r < 0)
			return err_set(-EINVAL, "TD RAM block %u (0x%" PRIx64 "+0x%" PRIx64 ") is "
						"invalid or overlaps another", i,
				       td->layout.ram[i].gpa, td->layout.ram[i].size);
	}
	td->fw_lo = UINT64_MAX;
	td->fw_hi = 0;
	for (i = 0; i < td->tdvf.nsec; i++) {
		const struct tdvf_section *s = &td->tdvf.sec[i];
		bool in_ram = hob_memmap_contains(&td->memmap, s->mem_addr, s->mem_size);
		bool fv = s->type == TDVF_SEC_BFV || s->type == TDVF_SEC_CFV;

		if (s->mem_addr + s->mem_size > TDX_SHARED_BIT)
			return err_set(-EINVAL, "firmware %s: section %u (%s) at 0x%" PRIx64 "+0x%"
						PRIx64 " lies beyond the TD's private address space "
						"(below 0x%llx)", fw, i, tdvf_type_name(s->type),
				       s->mem_addr, s->mem_size, TDX_SHARED_BIT);
		if (!in_ram && !fv)
			return err_set(-EINVAL, "firmware %s: section %u (%s, 0x%" PRIx64 "+0x%" PRIx64
						") is not inside guest RAM (%d MiB in %d block%s): "
						"give the TD more memory with -m", fw, i,
				       tdvf_type_name(s->type), s->mem_addr, s->mem_size,
				       (int)(td->cfg.ram_size >> 20), td->layout.nram,
				       td->layout.nram > 1 ? "s" : "");
		if (!in_ram) {
			if (overlaps_ram(&td->layout, s->mem_addr, s->mem_size))
				return err_set(-EINVAL, "firmware %s: section %u (%s, 0x%" PRIx64 "+0x%"
							PRIx64 ") straddles the end of guest RAM", fw,
					       i, tdvf_type_name(s->type), s->mem_addr,
					       s->mem_size);
			td->fw_lo = MIN(td->fw_lo, s->mem_addr);
			td->fw_hi = MAX(td->fw_hi, s->mem_addr + s->mem_size);
			continue;
		}
		r = hob_memmap_accept(&td->memmap, s->mem_addr, s->mem_size);
		if (r < 0)
			return err_set(-EINVAL, "firmware %s: section %u (%s): the TD HOB cannot "
						"describe it (%s)", fw, i, tdvf_type_name(s->type),
				       r == -ENOSPC ? "too many memory ranges" : "overlap");
	}
	if (td->fw_hi && overlaps_ram(&td->layout, td->fw_lo, td->fw_hi - td->fw_lo))
		return err_set(-EINVAL, "firmware %s: its volumes span 0x%" PRIx64 "..0x%" PRIx64
					", across guest RAM", fw, td->fw_lo, td->fw_hi);
	if (hob_size(&td->memmap) > td->tdvf.sec[td->tdvf.hob].mem_size)
		return err_set(-EINVAL, "firmware %s: the TD HOB needs %zu bytes but the TD_HOB "
					"section has 0x%" PRIx64, fw, hob_size(&td->memmap),
			       td->tdvf.sec[td->tdvf.hob].mem_size);
	return 0;
}

static int load_firmware(struct tdx_machine *td)
{
	uint64_t t0 = tdx_log_now_ns();
	char hex[2 * SHA384_DIGEST_SIZE + 1], detail[160];
	int r;

	r = load_file(td->cfg.firmware, &td->fw, &td->fw_size);
	if (r == 0)
		r = tdvf_parse(td->fw, td->fw_size, td->cfg.firmware, &td->tdvf);
	if (r == 0)
		r = place_sections(td);
	if (r == 0) {
		measure_tdvf(&td->tdvf, td->fw, td->fw_size, td->mrtd);
		sha384_hex(td->mrtd, hex);
		snprintf(detail, sizeof(detail), "%u sections, predicted MRTD %s", td->tdvf.nsec,
			 hex);
	}
	log_simple(td, "firmware", t0, r, r ? err_get() : detail);
	return r;
}

/* ---------------------------------------------------------------- VM */

static int create_vm(struct tdx_machine *td)
{
	struct step s = { .name = "KVM_CREATE_VM", .ioctl = "KVM_CREATE_VM", .target = "system",
			  .vcpu = -1, .detail = "type KVM_X86_TDX_VM" };
	uint64_t t0 = tdx_log_now_ns();
	int r, max;

	r = vm_create(td->kvm, KVM_X86_TDX_VM, &td->vm);
	log_step(td, &s, t0, r, false, 0);
	if (r < 0) {
		td->vm = NULL;
		return err_set(r, "KVM_CREATE_VM(KVM_X86_TDX_VM) failed: %s", strerror(-r));
	}
	tdx_exits_init(&td->exits, td->vm, &td->log);
	r = vm_add_hooks(td->vm, &tdx_exits_hooks, &td->exits);
	if (r < 0)
		return err_set(r, "cannot register the TDX exit handler");
	if (td->cfg.ncpus > VM_MAX_VCPUS)
		return err_set(-EINVAL, "-smp %d: kvmrun supports at most %d vCPUs", td->cfg.ncpus,
			       VM_MAX_VCPUS);
	/* TDX limits vCPUs further (present CPUs); the VM fd says how many. */
	max = kvm_check_extension(td->kvm, td->vm->fd, KVM_CAP_MAX_VCPUS);
	if (max > 0 && td->cfg.ncpus > max)
		return err_set(-EINVAL, "-smp %d: this host supports at most %d vCPUs per TD",
			       td->cfg.ncpus, max);
	return 0;
}

static int enable_cap(struct tdx_machine *td, const char *name, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap ec = { .cap = cap, .args = { arg0 } };
	char detail[64];
	struct step s = { .name = name, .ioctl = "KVM_ENABLE_CAP", .target = "vm", .vcpu = -1,
			  .detail = detail };
	int r;

	snprintf(detail, sizeof(detail), "args[0]=0x%" PRIx64, arg0);
	r = td_ioctl(td, &s, td->vm->fd, KVM_ENABLE_CAP, &ec);
	if (r < 0)
		return td_fail(td, r, "%s failed", name);
	return 0;
}

static int query_caps(struct tdx_machine *td)
{
	int r = get_caps(td->kvm, td, td->vm->fd, &td->caps);

	if (r < 0)
		return r;
	tdx_exits_set_info(&td->exits, td->caps->kernel_tdvmcallinfo_1_r11,
			   td->caps->user_tdvmcallinfo_1_r11, td->caps->kernel_tdvmcallinfo_1_r12,
			   td->caps->user_tdvmcallinfo_1_r12);
	return 0;
}

static const struct kvm_cpuid_entry2 *find_exact(const struct kvm_cpuid2 *c, uint32_t fn,
						 uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/*
 * The TD's CPUID: KVM's supported set restricted to the leaves the TDX
 * module lets us configure, each ANDed with the configurable bits, plus
 * the guest physical address width in CPUID 0x80000008 EAX[23:16].
 */
static int build_td_cpuid(struct tdx_machine *td, struct kvm_cpuid2 *dst, uint32_t cap)
{
	const struct kvm_cpuid2 *src = td->kvm->supported_cpuid, *conf = &td->caps->cpuid;
	const struct kvm_cpuid_entry2 *gconf = find_exact(conf, 0x80000008, 0);
	struct kvm_cpuid_entry2 *g = NULL;
	uint32_t i, n = 0;

	if (!gconf)
		return err_set(-ENOTSUP, "the TDX module does not report CPUID 0x80000008 as "
					 "configurable: cannot set the TD's physical address width");
	for (i = 0; src && i < src->nent && n < cap; i++) {
		const struct kvm_cpuid_entry2 *e = &src->entries[i];
		const struct kvm_cpuid_entry2 *m = find_exact(conf, e->function, e->index);
		struct kvm_cpuid_entry2 *d;

		if (!m)
			continue;
		d = &dst->entries[n++];
		*d = *e;
		d->eax &= m->eax;
		d->ebx &= m->ebx;
		d->ecx &= m->ecx;
		d->edx &= m->edx;
		if (e->function == 0x80000008 && e->index == 0)
			g = d;
	}
	if (!g && n < cap) {
		g = &dst->entries[n++];
		memset(g, 0, sizeof(*g));
		g->function = 0x80000008;
	}
	if (!g)
		return err_set(-E2BIG, "too many CPUID entries for KVM_TDX_INIT_VM");
	g->eax = ((g->eax & ~0x00ff0000u) | ((uint32_t)TDX_GPAW << 16)) & gconf->eax;
	if (((g->eax >> 16) & 0xff) != TDX_GPAW)
		return err_set(-ENOTSUP, "the TDX module does not let the guest physical address "
					 "width be configured (CPUID 0x80000008 EAX mask 0x%08x)",
			       gconf->eax);
	dst->nent = n;
	return 0;
}

static int check_attrs(struct tdx_machine *td)
{
	uint64_t extra = td->cfg.attributes & ~td->caps->supported_attrs;
	unsigned bit;

	if (!extra)
		return 0;
	bit = (unsigned)__builtin_ctzll(extra);
	return err_set(-EINVAL, "-object tdx-guest,id=%s: attributes=0x%" PRIx64 ": bit %u (%s) is "
				"not supported by this host's TDX module (supported_attrs 0x%"
				PRIx64 ")",
		       td->cfg.id, td->cfg.attributes, bit,
		       tdx_cfg_attr_name(bit) ? tdx_cfg_attr_name(bit) : "reserved",
		       (uint64_t)td->caps->supported_attrs);
}

static int init_vm_error(struct tdx_machine *td, int r, uint64_t hw, int attempts)
{
	char txt[96];

	switch (r) {
	case -EAGAIN:
		return err_set(r, "KVM_TDX_INIT_VM failed with EAGAIN %d times: the CPU's random "
				  "number generator is out of entropy (TDX_RND_NO_ENTROPY, "
				  "RDRAND/RDSEED busy); try again later", attempts);
	case -ENOSPC:
		return err_set(r, "KVM_TDX_INIT_VM: no free TDX key IDs (too many TDs running)");
	case -EINVAL:
		if (hw)
			return err_set(r, "KVM_TDX_INIT_VM: the TDX module rejected the TD "
					  "parameters: %s (hw_error 0x%016" PRIx64 ")",
				       tdx_err_format(hw, txt, sizeof(txt)), hw);
		return err_set(r, "KVM_TDX_INIT_VM: KVM rejected the TD parameters (attributes "
				  "0x%" PRIx64 ", xfam 0x%" PRIx64 ", CPUID): %s",
			       td->cfg.attributes, (uint64_t)td->caps->supported_xfam,
			       strerror(EINVAL));
	case -EBUSY:
		return err_set(r, "KVM_TDX_INIT_VM: busy (vCPUs already exist, or the misc cgroup's "
				  "TDX limit is reached)");
	case -EIO:
		if (td_check_dead(td))
			return td_fail(td, r, "KVM_TDX_INIT_VM failed");
		return err_set(r, "KVM_TDX_INIT_VM failed: %s: TDX needs an online CPU in every CPU "
				  "package (socket): online one and retry (see the kernel log)",
			       strerror(EIO));
	default:
		return td_fail(td, r, "KVM_TDX_INIT_VM failed");
	}
}

static int init_vm(struct tdx_machine *td)
{
	uint32_t cap = (td->kvm->supported_cpuid ? td->kvm->supported_cpuid->nent : 0) + 1;
	struct kvm_tdx_init_vm *iv;
	char extra[160];
	struct step s = { .name = "KVM_TDX_INIT_VM", .ioctl = "KVM_MEMORY_ENCRYPT_OP",
			  .target = "vm", .vcpu = -1, .extra = extra };
	uint64_t hw = 0;
	int r;

	r = check_attrs(td);
	if (r < 0)
		return r;
	iv = calloc(1, sizeof(*iv) + cap * sizeof(struct kvm_cpuid_entry2));
	if (!iv)
		return err_set(-ENOMEM, "out of memory for KVM_TDX_INIT_VM");
	iv->attributes = td->cfg.attributes;
	iv->xfam = td->caps->supported_xfam;
	memcpy(iv->mrconfigid, td->cfg.mrconfigid, TDX_DIGEST_SIZE);
	memcpy(iv->mrowner, td->cfg.mrowner, TDX_DIGEST_SIZE);
	memcpy(iv->mrownerconfig, td->cfg.mrownerconfig, TDX_DIGEST_SIZE);
	r = build_td_cpuid(td, &iv->cpuid, cap);
	if (r < 0)
		goto out;
	if (iv->cpuid.nent > KVM_MAX_CPUID_ENTRIES) {
		r = err_set(-E2BIG, "KVM_TDX_INIT_VM: %u CPUID entries, KVM takes at most %d",
			    iv->cpuid.nent, KVM_MAX_CPUID_ENTRIES);
		goto out;
	}
	snprintf(extra, sizeof(extra), "\"attributes\":\"0x%" PRIx64 "\",\"xfam\":\"0x%" PRIx64
		 "\",\"cpuid_entries\":%u,", (uint64_t)iv->attributes, (uint64_t)iv->xfam,
		 iv->cpuid.nent);
	/* EAGAIN: TDH.MNG.CREATE found no entropy; the state is unchanged, so retry. */
	for (s.attempt = 1;; s.attempt++) {
		r = td_cmd(td->kvm, td, &s, td->vm->fd, KVM_TDX_INIT_VM, 0, (uintptr_t)iv, &hw);
		if (r != -EAGAIN || s.attempt >= tuning.init_vm_attempts)
			break;
		backoff(s.attempt);
	}
	if (r < 0)
		r = init_vm_error(td, r, hw, s.attempt);
out:
	free(iv);
	return r;
}

static uint64_t hob_gpa(const struct tdx_machine *td)
{
	return td->tdvf.sec[td->tdvf.hob].mem_addr;
}

static int create_vcpus(struct tdx_machine *td)
{
	const struct kvm_cpuid_entry2 *l1 = kvm_find_cpuid(td->kvm->supported_cpuid, 1, 0);
	int i, r;

	/* KVM_TDX_INIT_VCPU puts the APIC in x2APIC mode, which the vCPU's CPUID must allow. */
	if (!l1 || !(l1->ecx & CPUID_X2APIC))
		return err_set(-ENOTSUP, "host KVM does not offer x2APIC in KVM_GET_SUPPORTED_CPUID; "
					 "TDX requires it");
	for (i = 0; i < td->cfg.ncpus; i++) {
		struct step s = { .name = "KVM_CREATE_VCPU", .ioctl = "KVM_CREATE_VCPU",
				  .target = "vm", .vcpu = i };
		char detail[64];
		struct vcpu *v;
		uint64_t t0 = tdx_log_now_ns();

		r = vcpu_create(td->vm, i, &v);
		log_step(td, &s, t0, r, false, 0);
		if (r < 0)
			return r == -EIO && td_check_dead(td) ?
				       td_fail(td, r, "KVM_CREATE_VCPU(%d) failed", i) : r;
		s = (struct step){ .name = "KVM_SET_CPUID2", .ioctl = "KVM_SET_CPUID2",
				   .target = "vcpu", .vcpu = i };
		t0 = tdx_log_now_ns();
		r = vcpu_setup_cpuid(v, td->cfg.ncpus, false);
		log_step(td, &s, t0, r, false, 0);
		if (r < 0)
			return r == -EIO && td_check_dead(td) ?
				       td_fail(td, r, "KVM_SET_CPUID2(vCPU %d) failed", i) : r;
		snprintf(detail, sizeof(detail), "rcx = TD HOB 0x%" PRIx64, hob_gpa(td));
		s = (struct step){ .name = "KVM_TDX_INIT_VCPU", .ioctl = "KVM_MEMORY_ENCRYPT_OP",
				   .target = "vcpu", .vcpu = i, .detail = detail };
		r = td_cmd(td->kvm, td, &s, v->fd, KVM_TDX_INIT_VCPU, 0, hob_gpa(td), NULL);
		if (r < 0)
			return td_fail(td, r, "KVM_TDX_INIT_VCPU(vCPU %d, TD HOB at 0x%" PRIx64
					      ") failed", i, hob_gpa(td));
	}
	return 0;
}

/* Put the memslot into vm->slots too, so generic code sees it and picks other ids. */
static int register_slot(struct vm *vm, uint32_t id, uint64_t gpa, uint64_t size, void *hva)
{
	int i;

	for (i = 0; i < VM_MAX_SLOTS; i++) {
		if (vm->slots[i].used)
			continue;
		vm->slots[i] = (struct vm_slot){ .used = true, .slot = id, .gpa = gpa, .size = size,
						 .hva = hva, .flags = KVM_MEM_GUEST_MEMFD };
		return i;
	}
	return -ENOSPC;
}

static int map_block(struct tdx_machine *td, const char *name, uint64_t gpa, uint64_t size,
		     bool dma_ok)
{
	struct tdx_slot *sl = &td->slots[td->nslots];
	struct kvm_create_guest_memfd gm = { .size = size };
	struct kvm_userspace_memory_region2 reg;
	struct kvm_memory_attributes attr = { .address = gpa, .size = size,
					       .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };
	char detail[96];
	struct step s = { .name = "KVM_CREATE_GUEST_MEMFD", .ioctl = "KVM_CREATE_GUEST_MEMFD",
			  .target = "vm", .vcpu = -1, .detail = detail };
	uint8_t *hva;
	int r;

	snprintf(detail, sizeof(detail), "%s 0x%" PRIx64 "+0x%" PRIx64, name, gpa, size);
	*sl = (struct tdx_slot){ .vm_idx = -1, .id = (uint32_t)td->nslots, .gpa = gpa,
				 .size = size, .gmem_fd = -1 };
	td->nslots++;
	/* The shared view: what the TD sees once it converts pages to shared (DMA buffers). */
	r = vm_alloc_ram(td->vm, name, gpa, size, dma_ok, &hva);
	if (r < 0)
		return r;
	r = td_ioctl(td, &s, td->vm->fd, KVM_CREATE_GUEST_MEMFD, &gm);
	if (r < 0)
		return td_fail(td, r, "KVM_CREATE_GUEST_MEMFD(%s, 0x%" PRIx64 " bytes) failed", name,
			       size);
	sl->gmem_fd = r;
	reg = (struct kvm_userspace_memory_region2){
		.slot = sl->id, .flags = KVM_MEM_GUEST_MEMFD, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)hva, .guest_memfd_offset = 0,
		.guest_memfd = (uint32_t)sl->gmem_fd,
	};
	s.name = s.ioctl = "KVM_SET_USER_MEMORY_REGION2";
	r = td_ioctl(td, &s, td->vm->fd, KVM_SET_USER_MEMORY_REGION2, &reg);
	if (r < 0)
		return td_fail(td, r, "KVM_SET_USER_MEMORY_REGION2(%s, slot %u, 0x%" PRIx64 "+0x%"
				      PRIx64 ") failed", name, sl->id, gpa, size);
	sl->vm_idx = register_slot(td->vm, sl->id, gpa, size, hva);
	if (sl->vm_idx < 0)
		return err_set(-ENOSPC, "out of memory slots");
	/* Private from the start: the TDVF sections are added as private pages. */
	s.name = s.ioctl = "KVM_SET_MEMORY_ATTRIBUTES";
	r = td_ioctl(td, &s, td->vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &attr);
	if (r < 0)
		return td_fail(td, r, "KVM_SET_MEMORY_ATTRIBUTES(%s 0x%" PRIx64 "+0x%" PRIx64
				      ", PRIVATE) failed", name, gpa, size);
	r = tdx_exits_add_range(&td->exits, gpa, size);
	if (r < 0)
		return err_set(r, "too many TD memory blocks");
	return 0;
}

static int map_memory(struct tdx_machine *td)
{
	static const char *const names[TDX_MAX_RAM] = { "ram-below-4g", "ram-above-4g", "ram2",
							 "ram3" };
	int i, r;

	for (i = 0; i < td->layout.nram; i++) {
		r = map_block(td, names[i], td->layout.ram[i].gpa, td->layout.ram[i].size, true);
		if (r < 0)
			return r;
	}
	if (td->fw_hi)
		return map_block(td, "tdvf", td->fw_lo, td->fw_hi - td->fw_lo, false);
	return 0;
}

/* Add one TDVF section: page by page in the kernel, resumable from the written-back region. */
static int add_section(struct tdx_machine *td, uint32_t idx, int vcpu_fd)
{
	const struct tdvf_section *sec = &td->tdvf.sec[idx];
	bool measure = sec->attributes & TDVF_ATTR_MR_EXTEND;
	uint64_t total = sec->mem_size / PAGE, prev;
	struct kvm_tdx_init_mem_region reg;
	int stalls = 0, r;
	char extra[224];
	struct step s = { .name = "KVM_TDX_INIT_MEM_REGION", .ioctl = "KVM_MEMORY_ENCRYPT_OP",
			  .target = "vcpu", .vcpu = 0, .extra = extra };
	uint8_t *buf;

	buf = mmap(NULL, sec->mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return err_set(-ENOMEM, "cannot stage TDVF section %u (0x%" PRIx64 " bytes)", idx,
			       sec->mem_size);
	if ((int)idx == td->tdvf.hob)
		r = (int)hob_build(buf, sec->mem_size, sec->mem_addr, &td->memmap);
	else
		r = 0, tdvf_section_load(sec, td->fw, td->fw_size, buf);
	if (r < 0) {
		r = err_set(r, "the TD HOB does not fit in its section");
		goto out;
	}
	reg = (struct kvm_tdx_init_mem_region){ .source_addr = (uintptr_t)buf,
						.gpa = sec->mem_addr, .nr_pages = total };
	for (s.attempt = 1;; s.attempt++) {
		prev = reg.nr_pages;
		snprintf(extra, sizeof(extra), "\"section\":%u,\"type\":\"%s\",\"gpa\":\"0x%" PRIx64
			 "\",\"pages\":%" PRIu64 ",\"measure\":%s,", idx, tdvf_type_name(sec->type),
			 (uint64_t)reg.gpa, (uint64_t)reg.nr_pages, measure ? "true" : "false");
		r = td_cmd(td->kvm, td, &s, vcpu_fd, KVM_TDX_INIT_MEM_REGION,
			   measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0, (uintptr_t)&reg, NULL);
		/* The kernel writes back how far it got; it must be a consistent suffix. */
		if (reg.nr_pages > prev ||
		    reg.gpa != sec->mem_addr + (total - reg.nr_pages) * PAGE ||
		    reg.source_addr != (uintptr_t)buf + (total - reg.nr_pages) * PAGE) {
			r = err_set(-EPROTO, "KVM_TDX_INIT_MEM_REGION(section %u) wrote back an "
					     "inconsistent region (gpa 0x%llx, %llu pages left)", idx,
				    (unsigned long long)reg.gpa, (unsigned long long)reg.nr_pages);
			goto out;
		}
		if (r == 0 && reg.nr_pages == 0)
			break;
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			r = td_fail(td, r, "KVM_TDX_INIT_MEM_REGION(section %u %s, gpa 0x%" PRIx64
					   ", %" PRIu64 " pages) failed", idx,
				    tdvf_type_name(sec->type), sec->mem_addr, total);
			goto out;
		}
		/* Interrupted or busy: resume. Give up only if nothing moves for long. */
		stalls = reg.nr_pages < prev ? 0 : stalls + 1;
		if (stalls >= tuning.busy_attempts) {
			r = err_set(r < 0 ? r : -EPROTO, "KVM_TDX_INIT_MEM_REGION(section %u) made no "
							  "progress in %d attempts (%s)", idx,
				    stalls, r < 0 ? strerror(-r) : "no error");
			goto out;
		}
		if (r == -EBUSY)
			backoff(MIN(stalls, BACKOFF_MAX_SHIFT + 1));
	}
	r = 0;
out:
	munmap(buf, sec->mem_size);
	return r;
}

static int init_memory(struct tdx_machine *td)
{
	uint32_t i;
	int r;

	for (i = 0; i < td->tdvf.nsec; i++) {
		r = add_section(td, i, td->vm->vcpus[0]->fd);
		if (r < 0)
			return r;
	}
	return 0;
}

static int finalize(struct tdx_machine *td)
{
	char extra[160], hex[2 * SHA384_DIGEST_SIZE + 1], txt[96];
	struct step s = { .name = "KVM_TDX_FINALIZE_VM", .ioctl = "KVM_MEMORY_ENCRYPT_OP",
			  .target = "vm", .vcpu = -1, .extra = extra };
	uint64_t hw = 0;
	int r;

	sha384_hex(td->mrtd, hex);
	snprintf(extra, sizeof(extra), "\"predicted_mrtd\":\"%s\",", hex);
	for (s.attempt = 1;; s.attempt++) {
		r = td_cmd(td->kvm, td, &s, td->vm->fd, KVM_TDX_FINALIZE_VM, 0, 0, &hw);
		if (r != -EBUSY || s.attempt >= tuning.busy_attempts)
			break;
		backoff(s.attempt);
	}
	if (r < 0 && hw)
		return td_fail(td, r, "KVM_TDX_FINALIZE_VM failed (%s)",
			       tdx_err_format(hw, txt, sizeof(txt)));
	if (r < 0)
		return td_fail(td, r, "KVM_TDX_FINALIZE_VM failed");
	return 0;
}

/* ---------------------------------------------------------------- lifecycle */

int tdx_machine_setup(struct kvm *kvm, struct config *cfg, const struct tdx_layout *layout,
		      struct tdx_machine **out)
{
	struct tdx_machine *td;
	struct tdx_host h;
	uint64_t t0;
	int r;

	*out = NULL;
	td = calloc(1, sizeof(*td));
	if (!td)
		return err_set(-ENOMEM, "out of memory");
	td->kvm = kvm;
	r = tdx_log_open(&td->log, cfg->tdx_log);
	if (r < 0) {
		free(td);
		return r;
	}
	t0 = tdx_log_now_ns();
	r = tdx_cfg_parse(cfg, &td->cfg);
	if (r == 0 && layout)
		td->layout = *layout;
	else if (r == 0)
		r = tdx_layout_q35(td->cfg.ram_size, &td->layout);
	log_simple(td, "config", t0, r, r ? err_get() : td->cfg.id);
	if (r < 0)
		goto fail;
	/* Host first: on a host without TDX, say so before looking at anything else. */
	t0 = tdx_log_now_ns();
	tdx_host_probe(kvm, &h);
	r = tdx_host_check(&h);
	log_simple(td, "discovery", t0, r, r ? err_get() : "TDX offered by KVM");
	if (r < 0)
		goto fail;
	r = load_firmware(td);
	if (r < 0)
		goto fail;
	r = create_vm(td);
	if (r == 0)
		r = enable_cap(td, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)", KVM_CAP_SPLIT_IRQCHIP,
			       TDX_SPLIT_IRQCHIP_PINS);
	if (r == 0)
		r = query_caps(td);
	if (r == 0)
		r = enable_cap(td, "KVM_ENABLE_CAP(KVM_CAP_X86_APIC_BUS_CYCLES_NS)",
			       KVM_CAP_X86_APIC_BUS_CYCLES_NS, TDX_APIC_BUS_CYCLES_NS);
	if (r == 0)
		r = enable_cap(td, "KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL)", KVM_CAP_EXIT_HYPERCALL,
			       BIT(KVM_HC_MAP_GPA_RANGE));
	if (r == 0)
		r = init_vm(td);
	if (r == 0)
		r = create_vcpus(td);
	if (r == 0)
		r = map_memory(td);
	if (r == 0)
		r = init_memory(td);
	if (r == 0)
		r = finalize(td);
	if (r < 0)
		goto fail;
	*out = td;
	return 0;
fail:
	tdx_machine_destroy(td);
	return r;
}

struct vm *tdx_machine_vm(struct tdx_machine *td)
{
	return td->vm;
}

const uint8_t *tdx_machine_mrtd(const struct tdx_machine *td)
{
	return td->mrtd;
}

static void teardown_vm(struct tdx_machine *td)
{
	struct vm *vm = td->vm;
	struct step s = { .vcpu = -1 };
	uint64_t t0;
	int i, r;

	/* 1. vCPUs (threads joined, kvm_run unmapped, fds closed). */
	for (i = vm->nr_vcpus - 1; i >= 0; i--) {
		s = (struct step){ .name = "teardown", .ioctl = "close", .target = "vcpu", .vcpu = i };
		t0 = tdx_log_now_ns();
		vcpu_destroy(vm->vcpus[i]);
		vm->vcpus[i] = NULL;
		log_step(td, &s, t0, 0, false, 0);
	}
	vm->nr_vcpus = 0;
	/* 2. memslots; a dead VM refuses every ioctl, closing the fds is all that is left. */
	for (i = td->nslots - 1; i >= 0; i--) {
		struct tdx_slot *sl = &td->slots[i];
		struct kvm_userspace_memory_region2 reg = { .slot = sl->id };

		if (sl->vm_idx < 0)
			continue;
		vm->slots[sl->vm_idx].used = false;
		if (td->dead)
			continue;
		s = (struct step){ .name = "teardown", .ioctl = "KVM_SET_USER_MEMORY_REGION2",
				   .target = "vm", .vcpu = -1, .detail = "delete memslot" };
		r = td_ioctl(td, &s, vm->fd, KVM_SET_USER_MEMORY_REGION2, &reg);
		(void)r;
	}
	/* 3. guest_memfds. */
	for (i = td->nslots - 1; i >= 0; i--) {
		if (td->slots[i].gmem_fd < 0)
			continue;
		s = (struct step){ .name = "teardown", .ioctl = "close", .target = "guest_memfd",
				   .vcpu = -1 };
		t0 = tdx_log_now_ns();
		r = td->kvm->be->close(td->kvm->be, td->slots[i].gmem_fd);
		td->slots[i].gmem_fd = -1;
		log_step(td, &s, t0, r, false, 0);
	}
	/* 4. the VM (its fd, and the shared RAM views). */
	s = (struct step){ .name = "teardown", .ioctl = "close", .target = "vm", .vcpu = -1 };
	t0 = tdx_log_now_ns();
	vm_destroy(vm);
	td->vm = NULL;
	log_step(td, &s, t0, 0, false, 0);
}

void tdx_machine_destroy(struct tdx_machine *td)
{
	if (!td)
		return;
	if (td->vm)
		teardown_vm(td);
	free(td->caps);
	free(td->fw);
	tdx_log_close(&td->log);
	free(td);
}
