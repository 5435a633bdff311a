#include "vmm/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/err.h"

/* ---- small parsers ---- */

int cli_parse_bool(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
		return 1;
	if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
		return 0;
	return -EINVAL;
}

int cli_parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t unit = default_unit, res;

	if (!s || !*s || *s == '-' || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -EINVAL;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'B': unit = 1; break;
		case 'K': unit = KiB; break;
		case 'M': unit = MiB; break;
		case 'G': unit = GiB; break;
		case 'T': unit = 1024 * GiB; break;
		default: return -EINVAL;
		}
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if ((*end == 'b' || *end == 'B') && unit != 1)
			end++;
		if (*end)
			return -EINVAL;
	}
	if (__builtin_mul_overflow((uint64_t)v, unit, &res))
		return -EINVAL;
	*out = res;
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* ---- option lists: "name,key=val,key2=val2" with ",," escaping a comma ---- */

static char *next_item(const char **p)
{
	const char *s = *p;
	size_t n = 0, cap = strlen(s) + 1;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	while (*s) {
		if (*s == ',') {
			if (s[1] == ',') {
				out[n++] = ',';
				s += 2;
				continue;
			}
			s++;
			break;
		}
		out[n++] = *s++;
	}
	out[n] = 0;
	*p = s;
	return out;
}

int cli_parse_optlist(const char *s, bool first_is_name, struct optlist *ol)
{
	const char *p = s;
	bool first = true;

	memset(ol, 0, sizeof(*ol));
	if (!s)
		return -EINVAL;
	while (*p || first) {
		char *item = next_item(&p);
		char *eq;

		if (!item)
			return -ENOMEM;
		eq = strchr(item, '=');
		if (first && first_is_name && !eq) {
			ol->name = item;
			first = false;
			continue;
		}
		first = false;
		if (!*item) {
			free(item);
			if (!*p)
				break;
			continue;
		}
		if (ol->nprops == CFG_MAX_PROPS) {
			free(item);
			return err_set(-EINVAL, "too many properties in '%s'", s);
		}
		if (eq) {
			*eq = 0;
			ol->props[ol->nprops].key = item;
			ol->props[ol->nprops].val = strdup(eq + 1);
		} else {
			/* "key" alone means key=on, as QEMU does for booleans */
			ol->props[ol->nprops].key = item;
			ol->props[ol->nprops].val = strdup("on");
		}
		ol->nprops++;
	}
	return 0;
}

const char *optlist_get(struct optlist *ol, const char *key)
{
	int i;
	const char *v = NULL;

	for (i = 0; i < ol->nprops; i++) {
		if (!strcmp(ol->props[i].key, key)) {
			ol->used[i] = true;
			v = ol->props[i].val;   /* the last one wins */
		}
	}
	return v;
}

bool optlist_has(const struct optlist *ol, const char *key)
{
	int i;

	for (i = 0; i < ol->nprops; i++)
		if (!strcmp(ol->props[i].key, key))
			return true;
	return false;
}

const char *optlist_unused(const struct optlist *ol)
{
	int i;

	for (i = 0; i < ol->nprops; i++)
		if (!ol->used[i])
			return ol->props[i].key;
	return NULL;
}

void optlist_free(struct optlist *ol)
{
	int i;

	free(ol->name);
	for (i = 0; i < ol->nprops; i++) {
		free(ol->props[i].key);
		free(ol->props[i].val);
	}
	memset(ol, 0, sizeof(*ol));
}

const char *cfg_global(struct config *cfg, const char *driver, const char *prop)
{
	int i;
	const char *v = NULL;

	for (i = 0; i < cfg->nglobals; i++) {
		if (!strcmp(cfg->globals[i].driver, driver) &&
		    !strcmp(cfg->globals[i].property, prop)) {
			cfg->globals[i].used = true;
			v = cfg->globals[i].value;
		}
	}
	return v;
}

/* ---- option handlers ---- */

struct opt;
typedef int (*opt_fn)(struct config *cfg, const struct opt *o, const char *arg);

struct opt {
	const char *name;
	bool has_arg;
	opt_fn fn;
	const char *help;
};

static int bad(const struct opt *o, const char *fmt, ...) __printf(2, 3);

static int bad(const struct opt *o, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(-EINVAL, "-%s: %s", o->name, msg);
}

static int set_str(char **dst, const char *arg)
{
	free(*dst);
	*dst = strdup(arg);
	return *dst ? 0 : -ENOMEM;
}

static int opt_m(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist ol;
	const char *sz = arg;
	uint64_t v;
	int r;

	if (strchr(arg, '=')) {
		r = cli_parse_optlist(arg, false, &ol);
		if (r)
			return r;
		sz = optlist_get(&ol, "size");
		optlist_get(&ol, "slots");
		optlist_get(&ol, "maxmem");
		if (optlist_unused(&ol)) {
			r = bad(o, "invalid parameter '%s'", optlist_unused(&ol));
			optlist_free(&ol);
			return r;
		}
		if (!sz) {
			optlist_free(&ol);
			return bad(o, "missing size in '%s'", arg);
		}
		r = cli_parse_size(sz, MiB, &v);
		optlist_free(&ol);
	} else {
		r = cli_parse_size(sz, MiB, &v);
	}
	if (r)
		return bad(o, "invalid RAM size '%s'", arg);
	if (v < 2 * MiB)
		return bad(o, "RAM size '%s' is too small (at least 2M)", arg);
	if (v > 1024 * GiB)
		return bad(o, "RAM size '%s' is too large (at most 1T)", arg);
	cfg->ram_size = ALIGN_UP(v, 2 * MiB);
	return 0;
}

static int opt_smp(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist ol;
	unsigned long long v;
	bool have_cpus = false;
	int r = 0, i;
	static const char *const keys[] = { "cpus", "sockets", "cores", "threads", "maxcpus",
					    "dies", "clusters" };

	if (!strchr(arg, '=') && !strchr(arg, ',')) {
		if (parse_uint(arg, 1024, &v) || v == 0)
			return bad(o, "invalid CPU count '%s'", arg);
		cfg->smp_cpus = (int)v;
		return 0;
	}
	r = cli_parse_optlist(arg, true, &ol);
	if (r)
		return r;
	if (ol.name) {
		if (parse_uint(ol.name, 1024, &v) || v == 0) {
			r = bad(o, "invalid CPU count '%s'", ol.name);
			goto out;
		}
		cfg->smp_cpus = (int)v;
		have_cpus = true;
	}
	for (i = 0; i < (int)ARRAY_SIZE(keys); i++) {
		const char *val = optlist_get(&ol, keys[i]);

		if (!val)
			continue;
		if (parse_uint(val, 1024, &v) || v == 0) {
			r = bad(o, "invalid value in '%s'", arg);
			goto out;
		}
		switch (i) {
		case 0: cfg->smp_cpus = (int)v; have_cpus = true; break;
		case 1: cfg->sockets = (int)v; break;
		case 2: cfg->cores = (int)v; break;
		case 3: cfg->threads = (int)v; break;
		case 4: cfg->smp_maxcpus = (int)v; break;
		default: break;
		}
	}
	if (optlist_unused(&ol)) {
		r = bad(o, "invalid parameter '%s'", optlist_unused(&ol));
		goto out;
	}
	if (!have_cpus) {
		int s = cfg->sockets ? cfg->sockets : 1, c = cfg->cores ? cfg->cores : 1,
		    t = cfg->threads ? cfg->threads : 1;
		cfg->smp_cpus = s * c * t;
	}
out:
	optlist_free(&ol);
	return r;
}

static int set_machine_type(struct config *cfg, const struct opt *o, const char *name)
{
	if (!strcmp(name, "pc") || !strncmp(name, "pc-i440fx", 9) || !strcmp(name, "microvm")) {
		if (!strcmp(name, "microvm"))
			return bad(o, "machine type '%s' is not supported (use pc or q35)", name);
		cfg->machine = MACHINE_PC;
	} else if (!strcmp(name, "q35") || !strncmp(name, "pc-q35", 6)) {
		cfg->machine = MACHINE_Q35;
	} else if (!strcmp(name, "help") || !strcmp(name, "?")) {
		cfg->action = CLI_MACHINE_HELP;
	} else {
		return bad(o, "unsupported machine type '%s' (use -machine help)", name);
	}
	cfg->machine_set = true;
	return 0;
}

static int opt_machine(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist ol;
	const char *v;
	int r, b;

	r = cli_parse_optlist(arg, true, &ol);
	if (r)
		return r;
	if (ol.name && (r = set_machine_type(cfg, o, ol.name)))
		goto out;
	if ((v = optlist_get(&ol, "type")) && (r = set_machine_type(cfg, o, v)))
		goto out;
	if ((v = optlist_get(&ol, "accel"))) {
		if (strcmp(v, "kvm")) {
			r = bad(o, "accelerator '%s' is not supported (kvmrun only uses KVM)", v);
			goto out;
		}
		cfg->accel_kvm = true;
	}
	if ((v = optlist_get(&ol, "kernel-irqchip")) || (v = optlist_get(&ol, "kernel_irqchip"))) {
		if (!strcmp(v, "split")) {
			cfg->irqchip = IRQCHIP_SPLIT;
		} else if ((b = cli_parse_bool(v)) >= 0) {
			cfg->irqchip = b ? IRQCHIP_KERNEL : IRQCHIP_USER;
		} else {
			r = bad(o, "kernel-irqchip must be on, off or split, not '%s'", v);
			goto out;
		}
		cfg->irqchip_set = true;
	}
	if ((v = optlist_get(&ol, "smm"))) {
		if (!strcmp(v, "auto")) {
			cfg->smm = OOA_AUTO;
		} else if ((b = cli_parse_bool(v)) >= 0) {
			cfg->smm = b ? OOA_ON : OOA_OFF;
		} else {
			r = bad(o, "smm must be on, off or auto, not '%s'", v);
			goto out;
		}
	}
	if ((v = optlist_get(&ol, "smm-backend"))) {
		if (!strcmp(v, "auto"))
			cfg->smm_backend = SMM_BACKEND_AUTO;
		else if (!strcmp(v, "kvm"))
			cfg->smm_backend = SMM_BACKEND_KVM;
		else if (!strcmp(v, "user"))
			cfg->smm_backend = SMM_BACKEND_USER;
		else {
			r = bad(o, "smm-backend must be auto, kvm or user, not '%s'", v);
			goto out;
		}
	}
	if ((v = optlist_get(&ol, "dumpdtb")) && (r = set_str(&cfg->dumpdtb, v)))
		goto out;
	if ((v = optlist_get(&ol, "confidential-guest-support")) &&
	    (r = set_str(&cfg->confidential_guest_support, v)))
		goto out;
	/* accepted for compatibility, no effect */
	optlist_get(&ol, "usb");
	optlist_get(&ol, "vmport");
	optlist_get(&ol, "hpet");
	optlist_get(&ol, "graphics");
	optlist_get(&ol, "mem-merge");
	if ((v = optlist_get(&ol, "memory-backend"))) {
		r = bad(o, "memory-backend is not supported ('%s')", v);
		goto out;
	}
	if (optlist_unused(&ol))
		r = bad(o, "unsupported machine property '%s'", optlist_unused(&ol));
out:
	optlist_free(&ol);
	return r;
}

static int opt_accel(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist ol;
	const char *v;
	int r = cli_parse_optlist(arg, true, &ol);

	if (r)
		return r;
	if (!ol.name || strcmp(ol.name, "kvm")) {
		r = bad(o, "accelerator '%s' is not supported (kvmrun only uses KVM)",
			ol.name ? ol.name : arg);
		goto out;
	}
	cfg->accel_kvm = true;
	if ((v = optlist_get(&ol, "kernel-irqchip"))) {
		int b = cli_parse_bool(v);

		if (!strcmp(v, "split"))
			cfg->irqchip = IRQCHIP_SPLIT;
		else if (b >= 0)
			cfg->irqchip = b ? IRQCHIP_KERNEL : IRQCHIP_USER;
		else
			r = bad(o, "kernel-irqchip must be on, off or split, not '%s'", v);
		cfg->irqchip_set = true;
	}
	if (!r && optlist_unused(&ol))
		r = bad(o, "unsupported accelerator property '%s'", optlist_unused(&ol));
out:
	optlist_free(&ol);
	return r;
}

static int opt_enable_kvm(struct config *cfg, const struct opt *o, const char *arg)
{
	cfg->accel_kvm = true;
	return 0;
}

static int opt_cpu(struct config *cfg, const struct opt *o, const char *arg)
{
	char name[64];
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);

	if (n >= sizeof(name))
		return bad(o, "invalid CPU model '%s'", arg);
	memcpy(name, arg, n);
	name[n] = 0;
	if (strcmp(name, "host") && strcmp(name, "max"))
		return bad(o, "CPU model '%s' is not supported (kvmrun passes the host CPU: use "
			      "host or max)", name);
	if (comma)
		return bad(o, "CPU feature flags are not supported ('%s')", comma + 1);
	return set_str(&cfg->cpu_model, name);
}

static int opt_kernel(struct config *cfg, const struct opt *o, const char *arg)
{
	return set_str(&cfg->kernel, arg);
}

static int opt_initrd(struct config *cfg, const struct opt *o, const char *arg)
{
	return set_str(&cfg->initrd, arg);
}

static int opt_append(struct config *cfg, const struct opt *o, const char *arg)
{
	return set_str(&cfg->append, arg);
}

static int opt_bios(struct config *cfg, const struct opt *o, const char *arg)
{
	return set_str(&cfg->bios, arg);
}

/* Chardev specs as -serial takes them: stdio, file:PATH, null, none, pty,
 * mon:stdio (the monitor part is ignored), chardev:ID. */
static int check_chardev_spec(const struct opt *o, const char *arg)
{
	if (!strcmp(arg, "stdio") || !strcmp(arg, "null") || !strcmp(arg, "none") ||
	    !strcmp(arg, "pty") || !strcmp(arg, "mon:stdio") || !strcmp(arg, "vc"))
		return 0;
	if (!strncmp(arg, "file:", 5) && arg[5])
		return 0;
	if (!strncmp(arg, "chardev:", 8) && arg[8])
		return 0;
	return bad(o, "unsupported character device '%s' (use stdio, file:PATH, pty, null or "
		      "none)", arg);
}

static int opt_serial(struct config *cfg, const struct opt *o, const char *arg)
{
	int r = check_chardev_spec(o, arg);

	if (r)
		return r;
	if (cfg->nserial == CFG_MAX_SERIAL)
		return bad(o, "too many serial ports (at most %s)", "4");
	cfg->serial_given = true;
	return set_str(&cfg->serial[cfg->nserial++], arg);
}

static int opt_debugcon(struct config *cfg, const struct opt *o, const char *arg)
{
	int r = check_chardev_spec(o, arg);

	return r ? r : set_str(&cfg->debugcon, arg);
}

static int opt_chardev(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist *ol;
	int r;

	if (cfg->nchardevs == CFG_MAX_CHARDEVS)
		return bad(o, "too many character devices ('%s')", arg);
	ol = &cfg->chardevs[cfg->nchardevs];
	r = cli_parse_optlist(arg, true, ol);
	if (r)
		return r;
	cfg->nchardevs++;
	if (!ol->name)
		return bad(o, "missing backend in '%s'", arg);
	if (strcmp(ol->name, "stdio") && strcmp(ol->name, "file") && strcmp(ol->name, "null") &&
	    strcmp(ol->name, "pty"))
		return bad(o, "backend '%s' is not supported (use stdio, file, pty or null)",
			   ol->name);
	if (!optlist_get(ol, "id"))
		return bad(o, "missing id= in '%s'", arg);
	if (!strcmp(ol->name, "file") && !optlist_get(ol, "path"))
		return bad(o, "file backend needs path= in '%s'", arg);
	optlist_get(ol, "signal");
	optlist_get(ol, "mux");
	optlist_get(ol, "append");
	optlist_get(ol, "logfile");
	if (optlist_unused(ol))
		return bad(o, "unsupported chardev property '%s'", optlist_unused(ol));
	return 0;
}

static int opt_nographic(struct config *cfg, const struct opt *o, const char *arg)
{
	cfg->nographic = true;
	return 0;
}

static int opt_display(struct config *cfg, const struct opt *o, const char *arg)
{
	if (strcmp(arg, "none") && strncmp(arg, "none,", 5))
		return bad(o, "display '%s' is not supported (kvmrun has no display; use none)",
			   arg);
	cfg->display_none = true;
	return 0;
}

static int opt_vga(struct config *cfg, const struct opt *o, const char *arg)
{
	if (strcmp(arg, "none"))
		return bad(o, "VGA card '%s' is not supported (use none)", arg);
	return 0;
}

static int opt_flag(struct config *cfg, const struct opt *o, const char *arg)
{
	if (!strcmp(o->name, "nodefaults"))
		cfg->nodefaults = true;
	else if (!strcmp(o->name, "no-reboot"))
		cfg->no_reboot = true;
	else if (!strcmp(o->name, "no-shutdown"))
		cfg->no_shutdown = true;
	return 0;
}

static int opt_name(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist ol;
	const char *v;
	int r = cli_parse_optlist(arg, true, &ol);

	if (r)
		return r;
	v = ol.name ? ol.name : optlist_get(&ol, "guest");
	optlist_get(&ol, "process");
	optlist_get(&ol, "debug-threads");
	if (optlist_unused(&ol))
		r = bad(o, "invalid parameter '%s'", optlist_unused(&ol));
	else if (v)
		r = set_str(&cfg->name, v);
	optlist_free(&ol);
	return r;
}

static int opt_drive(struct config *cfg, const struct opt *o, const char *arg)
{
	struct drive_cfg *d;
	struct optlist ol;
	const char *v;
	unsigned long long n;
	int r, b;

	if (cfg->ndrives == CFG_MAX_DRIVES)
		return bad(o, "too many drives ('%s')", arg);
	r = cli_parse_optlist(arg, false, &ol);
	if (r)
		return r;
	d = &cfg->drives[cfg->ndrives];
	memset(d, 0, sizeof(*d));
	d->unit = -1;
	d->index = -1;
	d->iface = DRIVE_IF_NONE;
	d->spec = strdup(arg);
	if (!(v = optlist_get(&ol, "file"))) {
		r = bad(o, "missing file= in '%s'", arg);
		goto out;
	}
	d->file = strdup(v);
	if ((v = optlist_get(&ol, "if"))) {
		if (!strcmp(v, "pflash"))
			d->iface = DRIVE_IF_PFLASH;
		else if (!strcmp(v, "virtio"))
			d->iface = DRIVE_IF_VIRTIO;
		else if (!strcmp(v, "none"))
			d->iface = DRIVE_IF_NONE;
		else {
			r = bad(o, "interface '%s' is not supported (use pflash, virtio or none)",
				v);
			goto out;
		}
	} else {
		/* QEMU's default is ide, which kvmrun lacks: say so. */
		r = bad(o, "'%s' needs if=pflash, if=virtio or if=none (kvmrun has no IDE)",
			arg);
		goto out;
	}
	if ((v = optlist_get(&ol, "format"))) {
		if (strcmp(v, "raw")) {
			r = bad(o, "image format '%s' is not supported (only raw)", v);
			goto out;
		}
		d->format = strdup(v);
	}
	if ((v = optlist_get(&ol, "unit"))) {
		if (parse_uint(v, 15, &n)) {
			r = bad(o, "invalid unit '%s'", v);
			goto out;
		}
		d->unit = (int)n;
	}
	if ((v = optlist_get(&ol, "index"))) {
		if (parse_uint(v, 15, &n)) {
			r = bad(o, "invalid index '%s'", v);
			goto out;
		}
		d->index = (int)n;
	}
	if ((v = optlist_get(&ol, "readonly"))) {
		if ((b = cli_parse_bool(v)) < 0) {
			r = bad(o, "readonly must be on or off, not '%s'", v);
			goto out;
		}
		d->readonly = b;
	}
	if ((v = optlist_get(&ol, "cache"))) {
		if (!strcmp(v, "writeback"))
			d->cache = DRIVE_CACHE_WRITEBACK;
		else if (!strcmp(v, "none"))
			d->cache = DRIVE_CACHE_NONE;
		else if (!strcmp(v, "unsafe"))
			d->cache = DRIVE_CACHE_UNSAFE;
		else if (!strcmp(v, "writethrough"))
			d->cache = DRIVE_CACHE_WRITETHROUGH;
		else if (!strcmp(v, "directsync"))
			d->cache = DRIVE_CACHE_DIRECTSYNC;
		else {
			r = bad(o, "invalid cache mode '%s'", v);
			goto out;
		}
	}
	if ((v = optlist_get(&ol, "aio"))) {
		if (!strcmp(v, "io_uring"))
			d->aio = DRIVE_AIO_IO_URING;
		else if (!strcmp(v, "threads"))
			d->aio = DRIVE_AIO_THREADS;
		else if (!strcmp(v, "native"))
			d->aio = DRIVE_AIO_NATIVE;
		else {
			r = bad(o, "invalid aio mode '%s'", v);
			goto out;
		}
	}
	if ((v = optlist_get(&ol, "discard"))) {
		if (!strcmp(v, "unmap") || !strcmp(v, "on"))
			d->discard_unmap = true;
		else if (strcmp(v, "ignore") && strcmp(v, "off")) {
			r = bad(o, "invalid discard mode '%s'", v);
			goto out;
		}
	}
	if ((v = optlist_get(&ol, "id")))
		d->id = strdup(v);
	if ((v = optlist_get(&ol, "media")) && strcmp(v, "disk")) {
		r = bad(o, "media '%s' is not supported", v);
		goto out;
	}
	if ((v = optlist_get(&ol, "snapshot")) && cli_parse_bool(v) == 1) {
		r = bad(o, "snapshot=on is not supported ('%s')", arg);
		goto out;
	}
	optlist_get(&ol, "werror");
	optlist_get(&ol, "rerror");
	optlist_get(&ol, "detect-zeroes");
	if (optlist_unused(&ol)) {
		r = bad(o, "unsupported drive property '%s'", optlist_unused(&ol));
		goto out;
	}
	cfg->ndrives++;
out:
	if (r) {
		free(d->file);
		free(d->id);
		free(d->format);
		free(d->spec);
		memset(d, 0, sizeof(*d));
	}
	optlist_free(&ol);
	return r;
}

static int opt_device(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist *ol;
	int r;

	if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
		cfg->action = CLI_DEVICE_HELP;
		return 0;
	}
	if (cfg->ndevices == CFG_MAX_DEVICES)
		return bad(o, "too many devices ('%s')", arg);
	ol = &cfg->devices[cfg->ndevices];
	r = cli_parse_optlist(arg, true, ol);
	if (r)
		return r;
	cfg->ndevices++;
	if (!ol->name || !ol->name[0])
		return bad(o, "missing device name in '%s'", arg);
	/* Names and properties are checked by the machine, which knows the devices. */
	return 0;
}

static int opt_global(struct config *cfg, const struct opt *o, const char *arg)
{
	struct global_cfg *g;
	char *driver = NULL, *prop = NULL, *value = NULL;

	if (cfg->nglobals == CFG_MAX_GLOBALS)
		return bad(o, "too many globals ('%s')", arg);
	if (!strncmp(arg, "driver=", 7)) {
		struct optlist ol;
		int r = cli_parse_optlist(arg, false, &ol);
		const char *d, *p, *v;

		if (r)
			return r;
		d = optlist_get(&ol, "driver");
		p = optlist_get(&ol, "property");
		v = optlist_get(&ol, "value");
		if (!d || !p || !v || optlist_unused(&ol)) {
			optlist_free(&ol);
			return bad(o, "expected driver=D,property=P,value=V, got '%s'", arg);
		}
		driver = strdup(d);
		prop = strdup(p);
		value = strdup(v);
		optlist_free(&ol);
	} else {
		const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');

		if (!dot || !eq || dot > eq || dot == arg || eq == dot + 1)
			return bad(o, "expected DRIVER.PROPERTY=VALUE, got '%s'", arg);
		driver = strndup(arg, (size_t)(dot - arg));
		prop = strndup(dot + 1, (size_t)(eq - dot - 1));
		value = strdup(eq + 1);
	}
	g = &cfg->globals[cfg->nglobals++];
	g->driver = driver;
	g->property = prop;
	g->value = value;
	return 0;
}

static int opt_object(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist *ol;
	int r;

	if (cfg->nobjects == CFG_MAX_OBJECTS)
		return bad(o, "too many objects ('%s')", arg);
	ol = &cfg->objects[cfg->nobjects];
	r = cli_parse_optlist(arg, true, ol);
	if (r)
		return r;
	cfg->nobjects++;
	if (!ol->name || !ol->name[0])
		return bad(o, "missing object type in '%s'", arg);
	if (!optlist_has(ol, "id"))
		return bad(o, "missing id= in '%s'", arg);
	return 0;
}

static int opt_ignore_value(struct config *cfg, const struct opt *o, const char *arg)
{
	/* -net none, -nic none: no network devices, which is what kvmrun has. */
	if (strcmp(arg, "none"))
		return bad(o, "networking is not supported (only '-%s none')", o->name);
	cfg->net_none = true;
	return 0;
}

static int opt_ignore(struct config *cfg, const struct opt *o, const char *arg)
{
	return 0;
}

static int opt_boot(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist ol;
	const char *v;
	int r = cli_parse_optlist(arg, true, &ol);

	if (r)
		return r;
	if (ol.name)
		r = set_str(&cfg->boot_order, ol.name);
	if (!r && (v = optlist_get(&ol, "order")))
		r = set_str(&cfg->boot_order, v);
	if (!r && (v = optlist_get(&ol, "menu"))) {
		int b = cli_parse_bool(v);

		if (b < 0)
			r = bad(o, "menu must be on or off, not '%s'", v);
		else
			cfg->boot_menu = b;
	}
	optlist_get(&ol, "once");
	optlist_get(&ol, "strict");
	optlist_get(&ol, "splash-time");
	optlist_get(&ol, "reboot-timeout");
	if (!r && optlist_unused(&ol))
		r = bad(o, "invalid parameter '%s'", optlist_unused(&ol));
	optlist_free(&ol);
	return r;
}

static int opt_rtc(struct config *cfg, const struct opt *o, const char *arg)
{
	struct optlist ol;
	const char *v;
	int r = cli_parse_optlist(arg, false, &ol);

	if (r)
		return r;
	if ((v = optlist_get(&ol, "base"))) {
		if (!strcmp(v, "localtime"))
			cfg->rtc_localtime = true;
		else if (strcmp(v, "utc"))
			r = bad(o, "base must be utc or localtime, not '%s'", v);
	}
	if (!r && (v = optlist_get(&ol, "clock")) && strcmp(v, "host") && strcmp(v, "rt") &&
	    strcmp(v, "vm"))
		r = bad(o, "invalid clock '%s'", v);
	optlist_get(&ol, "driftfix");
	if (!r && optlist_unused(&ol))
		r = bad(o, "invalid parameter '%s'", optlist_unused(&ol));
	optlist_free(&ol);
	return r;
}

static int opt_verbose(struct config *cfg, const struct opt *o, const char *arg)
{
	cfg->verbose++;
	return 0;
}

static int opt_trace(struct config *cfg, const struct opt *o, const char *arg)
{
	if (!cfg->trace)
		return set_str(&cfg->trace, arg);
	{
		size_t n = strlen(cfg->trace) + strlen(arg) + 2;
		char *s = malloc(n);

		if (!s)
			return -ENOMEM;
		snprintf(s, n, "%s,%s", cfg->trace, arg);
		free(cfg->trace);
		cfg->trace = s;
	}
	return 0;
}

static int opt_smm_backend(struct config *cfg, const struct opt *o, const char *arg)
{
	if (!strcmp(arg, "auto"))
		cfg->smm_backend = SMM_BACKEND_AUTO;
	else if (!strcmp(arg, "kvm"))
		cfg->smm_backend = SMM_BACKEND_KVM;
	else if (!strcmp(arg, "user"))
		cfg->smm_backend = SMM_BACKEND_USER;
	else
		return bad(o, "backend must be auto, kvm or user, not '%s'", arg);
	return 0;
}

static int opt_tdx_log(struct config *cfg, const struct opt *o, const char *arg)
{
	return set_str(&cfg->tdx_log, arg);
}

static int opt_no_io_uring(struct config *cfg, const struct opt *o, const char *arg)
{
	cfg->force_event_fallback = true;
	return 0;
}

static int opt_kvm_device(struct config *cfg, const struct opt *o, const char *arg)
{
	return set_str(&cfg->kvm_device, arg);
}

static int opt_unsupported(struct config *cfg, const struct opt *o, const char *arg)
{
	return err_set(-EINVAL, "-%s: not supported by kvmrun", o->name);
}

static int opt_help(struct config *cfg, const struct opt *o, const char *arg)
{
	cfg->action = CLI_HELP;
	return 0;
}

static int opt_version(struct config *cfg, const struct opt *o, const char *arg)
{
	cfg->action = CLI_VERSION;
	return 0;
}

static const struct opt options[] = {
	{ "m", true, opt_m, "-m SIZE              guest RAM (default 128M; suffixes K M G T)" },
	{ "smp", true, opt_smp, "-smp N[,sockets=,cores=,threads=,maxcpus=]  number of vCPUs" },
	{ "machine", true, opt_machine,
	  "-machine pc|q35[,accel=kvm][,kernel-irqchip=on|off|split][,smm=on|off|auto]\n"
	  "         [,smm-backend=auto|kvm|user][,dumpdtb=FILE][,confidential-guest-support=ID]" },
	{ "M", true, opt_machine, NULL },
	{ "accel", true, opt_accel, "-accel kvm[,kernel-irqchip=...]  (KVM is the only accelerator)" },
	{ "enable-kvm", false, opt_enable_kvm, NULL },
	{ "cpu", true, opt_cpu, "-cpu host|max       the host CPU (the only model)" },
	{ "kernel", true, opt_kernel, "-kernel FILE         Linux bzImage or Multiboot kernel" },
	{ "initrd", true, opt_initrd, "-initrd FILE[,FILE]  initrd (Linux) or modules (Multiboot)" },
	{ "append", true, opt_append, "-append CMDLINE      kernel command line" },
	{ "bios", true, opt_bios, "-bios FILE           firmware image mapped below 4 GiB" },
	{ "drive", true, opt_drive,
	  "-drive file=F,if=pflash|virtio|none[,format=raw][,unit=N][,readonly=on]\n"
	  "       [,cache=none|writeback|unsafe][,aio=io_uring|threads][,id=ID]" },
	{ "serial", true, opt_serial, "-serial DEV          stdio, file:PATH, pty, null, none, chardev:ID" },
	{ "debugcon", true, opt_debugcon, "-debugcon DEV        isa-debugcon output (port 0x402)" },
	{ "chardev", true, opt_chardev, "-chardev stdio|file|pty|null,id=ID[,path=F]" },
	{ "nographic", false, opt_nographic, "-nographic           serial on stdio, no display" },
	{ "display", true, opt_display, "-display none" },
	{ "vga", true, opt_vga, NULL },
	{ "nodefaults", false, opt_flag, "-nodefaults          no default devices" },
	{ "no-reboot", false, opt_flag, "-no-reboot           exit (status 0) instead of rebooting" },
	{ "no-shutdown", false, opt_flag, NULL },
	{ "name", true, opt_name, "-name NAME" },
	{ "device", true, opt_device, "-device NAME[,prop=value...]  (-device help lists devices)" },
	{ "global", true, opt_global, "-global DRIVER.PROP=VALUE | driver=D,property=P,value=V" },
	{ "object", true, opt_object, "-object tdx-guest,id=ID[,attributes=,sept-ve-disable=,mrconfigid=...]" },
	{ "net", true, opt_ignore_value, "-net none" },
	{ "nic", true, opt_ignore_value, NULL },
	{ "no-user-config", false, opt_ignore, NULL },
	{ "nodefconfig", false, opt_ignore, NULL },
	{ "no-hpet", false, opt_ignore, NULL },
	{ "boot", true, opt_boot, NULL },
	{ "rtc", true, opt_rtc, "-rtc base=utc|localtime" },
	{ "trace", true, opt_trace, "-trace GROUP[,GROUP...][,file=F]  groups: smm io exit pci fwcfg irq virtio tdx flash all" },
	{ "v", false, opt_verbose, "-v                   verbose (repeat for more)" },
	{ "smm-backend", true, opt_smm_backend, "-smm-backend auto|kvm|user  SMM in KVM or in kvmrun" },
	{ "tdx-log", true, opt_tdx_log, "-tdx-log FILE        TDX lifecycle log, one JSON object per line" },
	{ "no-io-uring", false, opt_no_io_uring, NULL },
	{ "kvm-device", true, opt_kvm_device, NULL },
	{ "S", false, opt_unsupported, NULL },
	{ "s", false, opt_unsupported, NULL },
	{ "gdb", true, opt_unsupported, NULL },
	{ "daemonize", false, opt_unsupported, NULL },
	{ "monitor", true, opt_unsupported, NULL },
	{ "qmp", true, opt_unsupported, NULL },
	{ "hda", true, opt_unsupported, NULL },
	{ "cdrom", true, opt_unsupported, NULL },
	{ "usb", false, opt_unsupported, NULL },
	{ "loadvm", true, opt_unsupported, NULL },
	{ "incoming", true, opt_unsupported, NULL },
	{ "h", false, opt_help, "-h, -help            this help" },
	{ "help", false, opt_help, NULL },
	{ "version", false, opt_version, "-version" },
};

const char *cli_usage(void)
{
	static char buf[4096];
	size_t n = 0, i;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			      "usage: kvmrun [options]\n"
			      "       kvmrun tdx-measure TDVF.fd\n"
			      "       kvmrun -tdx-capabilities [json]\n"
			      "With no options, kvmrun boots its built-in demo guest.\n\n");
	for (i = 0; i < ARRAY_SIZE(options) && n < sizeof(buf); i++)
		if (options[i].help)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "  %s\n", options[i].help);
	return buf;
}

int cli_parse(int argc, char **argv, struct config *cfg)
{
	int i = 1;

	memset(cfg, 0, sizeof(*cfg));
	cfg->argv0 = argc > 0 ? argv[0] : "kvmrun";
	cfg->ram_size = 128 * MiB;
	cfg->smp_cpus = 1;
	cfg->irqchip = IRQCHIP_KERNEL;
	cfg->smm = OOA_AUTO;

	if (argc <= 1) {
		cfg->default_guest = true;
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "tdx-measure")) {
		if (argc != 3)
			return err_set(-EINVAL, "tdx-measure: usage: kvmrun tdx-measure TDVF.fd");
		cfg->action = CLI_TDX_MEASURE;
		return set_str(&cfg->tdx_measure_file, argv[2]);
	}
	while (i < argc) {
		const char *a = argv[i];
		const struct opt *o = NULL;
		const char *name;
		size_t k;
		int r;

		if (!strcmp(a, "tdx-measure") || !strcmp(a, "-tdx-measure")) {
			if (i + 1 >= argc)
				return err_set(-EINVAL, "tdx-measure: usage: kvmrun tdx-measure TDVF.fd");
			cfg->action = CLI_TDX_MEASURE;
			if (set_str(&cfg->tdx_measure_file, argv[i + 1]))
				return -ENOMEM;
			i += 2;
			continue;
		}
		if (a[0] != '-' || !a[1])
			return err_set(-EINVAL, "%s: unexpected argument (options start with '-')", a);
		name = a + 1;
		if (*name == '-')
			name++;   /* --option works like -option */
		if (!strcmp(name, "tdx-capabilities")) {
			cfg->action = CLI_TDX_CAPS;
			if (i + 1 < argc && !strcmp(argv[i + 1], "json")) {
				cfg->tdx_json = true;
				i++;
			}
			i++;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(options); k++) {
			if (!strcmp(options[k].name, name)) {
				o = &options[k];
				break;
			}
		}
		if (!o)
			return err_set(-EINVAL, "%s: invalid option", a);
		if (o->has_arg && i + 1 >= argc)
			return err_set(-EINVAL, "%s: requires an argument", a);
		r = o->fn(cfg, o, o->has_arg ? argv[i + 1] : NULL);
		if (r < 0)
			return err_set_default(r, "%s: invalid argument", a);
		i += o->has_arg ? 2 : 1;
	}
	if (cfg->smp_maxcpus && cfg->smp_maxcpus < cfg->smp_cpus)
		return err_set(-EINVAL, "-smp: maxcpus (%d) is less than cpus (%d)", cfg->smp_maxcpus,
			       cfg->smp_cpus);
	if (cfg->initrd && !cfg->kernel)
		return err_set(-EINVAL, "-initrd: only allowed together with -kernel");
	if (cfg->append && !cfg->kernel)
		return err_set(-EINVAL, "-append: only allowed together with -kernel");
	return 0;
}

void cli_free(struct config *cfg)
{
	int i;

	free(cfg->dumpdtb);
	free(cfg->confidential_guest_support);
	free(cfg->cpu_model);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->append);
	free(cfg->bios);
	for (i = 0; i < cfg->nserial; i++)
		free(cfg->serial[i]);
	free(cfg->debugcon);
	free(cfg->name);
	for (i = 0; i < cfg->ndrives; i++) {
		free(cfg->drives[i].file);
		free(cfg->drives[i].id);
		free(cfg->drives[i].format);
		free(cfg->drives[i].spec);
	}
	for (i = 0; i < cfg->ndevices; i++)
		optlist_free(&cfg->devices[i]);
	for (i = 0; i < cfg->nglobals; i++) {
		free(cfg->globals[i].driver);
		free(cfg->globals[i].property);
		free(cfg->globals[i].value);
	}
	for (i = 0; i < cfg->nobjects; i++)
		optlist_free(&cfg->objects[i]);
	for (i = 0; i < cfg->nchardevs; i++)
		optlist_free(&cfg->chardevs[i]);
	free(cfg->boot_order);
	free(cfg->trace);
	free(cfg->tdx_log);
	free(cfg->tdx_measure_file);
	free(cfg->kvm_device);
	memset(cfg, 0, sizeof(*cfg));
}
