#include "vmm/vdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/chipset/pci.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/err.h"
#include "vmm/event.h"
#include "vmm/irqchip.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define MAX_ITEMS       (CFG_MAX_DRIVES + CFG_MAX_DEVICES)
#define PC_FIRST_SLOT   2       /* QEMU's pc has its PIIX3 at slot 1 */
#define Q35_FIRST_SLOT  1
#define Q35_LPC_SLOT    0x1f
#define PCI_LAST_SLOT   31

/* PCI class codes QEMU gives these functions. */
#define CLASS_STORAGE_SCSI      0x010000
#define CLASS_COMM_OTHER        0x078000
#define CLASS_OTHERS            0x00ff00

enum vkind { VK_BLK, VK_CONSOLE, VK_RNG };

struct vdev_item {
	enum vkind kind;
	char name[48];                  /* "virtio-blk 00:03.0": the devices keep the pointer */
	struct blk *blk;
	struct console *con;
	struct rng *rng;
	struct chardev *chr;
	struct virtio_pci *vp;
	bool serial_bus;                /* virtio-serial-pci still waiting for its virtconsole */
	unsigned slot;
};

struct vdev {
	struct vdev_env env;
	struct vdev_item items[MAX_ITEMS];
	unsigned n;
	bool poll_warned;
};

static const char *const blk_names[] = { "virtio-blk-pci", "virtio-blk",
					 "virtio-blk-pci-non-transitional" };
static const char *const serial_names[] = { "virtio-serial-pci", "virtio-serial",
					    "virtio-serial-pci-non-transitional" };
static const char *const rng_names[] = { "virtio-rng-pci", "virtio-rng",
					 "virtio-rng-pci-non-transitional" };

static bool name_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

#define NAME_IN(name, list) name_in(name, list, ARRAY_SIZE(list))

bool vdev_claim(const char *name)
{
	return NAME_IN(name, blk_names) || NAME_IN(name, serial_names) ||
	       NAME_IN(name, rng_names) || !strcmp(name, "virtconsole") ||
	       !strcmp(name, "virtio-console-pci");
}

/* ------------------------------------------------------------------ */
/* Host services for the transport */

static int host_ioeventfd(void *opaque, uint64_t gpa, unsigned len, int fd, bool assign)
{
	struct vdev *v = opaque;
	struct kvm_ioeventfd io = {
		.addr = gpa,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return vm_ioctl(v->env.vm, KVM_IOEVENTFD, &io);
}

static int host_route_add(void *opaque, uint64_t addr, uint32_t data)
{
	struct vdev *v = opaque;

	return irqchip_msi_route_add(v->env.ic, addr, data);
}

static int host_route_update(void *opaque, int gsi, uint64_t addr, uint32_t data)
{
	struct vdev *v = opaque;

	return irqchip_msi_route_update(v->env.ic, gsi, addr, data);
}

static void host_route_del(void *opaque, int gsi)
{
	struct vdev *v = opaque;

	irqchip_msi_route_del(v->env.ic, gsi);
}

static int host_irqfd(void *opaque, int fd, int gsi, bool assign)
{
	struct vdev *v = opaque;

	return irqchip_irqfd(v->env.ic, fd, gsi, assign);
}

static const struct virtio_pci_host_ops host_ops = {
	.ioeventfd = host_ioeventfd,
	.msi_route_add = host_route_add,
	.msi_route_update = host_route_update,
	.msi_route_del = host_route_del,
	.irqfd = host_irqfd,
};

/* Without an in-kernel irqchip there are no MSI routes: the PCI core's MSI path. */
static const struct virtio_pci_host_ops host_ops_user = {
	.ioeventfd = host_ioeventfd,
};

/* ------------------------------------------------------------------ */
/* Slots */

static bool slot_free(struct vdev *v, unsigned slot)
{
	if (slot == 0 || slot > PCI_LAST_SLOT || (v->env.q35 && slot == Q35_LPC_SLOT))
		return false;
	return !pci_bus_find(v->env.pci, PCI_DEVFN(slot, 0));
}

/* addr=SLOT[.FN] (hex, as QEMU reads it), or the first free slot. */
static int pick_slot(struct vdev *v, struct optlist *ol, const char *what, unsigned *slot)
{
	const char *a = optlist_get(ol, "addr");
	unsigned long s, fn = 0;
	char *end;

	if (!a) {
		for (s = v->env.q35 ? Q35_FIRST_SLOT : PC_FIRST_SLOT; s <= PCI_LAST_SLOT; s++)
			if (slot_free(v, (unsigned)s)) {
				*slot = (unsigned)s;
				return 0;
			}
		return err_set(-ENOSPC, "%s: no free PCI slot left", what);
	}
	errno = 0;
	s = strtoul(a, &end, 16);
	if (*end == '.')
		fn = strtoul(end + 1, &end, 16);
	if (errno || end == a || *end || s > PCI_LAST_SLOT || fn > 7)
		return err_set(-EINVAL, "%s: invalid addr '%s' (use SLOT or SLOT.0, hex)", what, a);
	if (fn)
		return err_set(-EINVAL, "%s: addr '%s': only function 0 is supported", what, a);
	if (!slot_free(v, (unsigned)s))
		return err_set(-EEXIST, "%s: PCI slot %02lx is not available", what, s);
	*slot = (unsigned)s;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Properties */

static int parse_uint(const char *what, const char *key, const char *val, unsigned long max,
		      unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(val, &end, 0);
	if (errno || end == val || *end || *out > max)
		return err_set(-EINVAL, "%s: invalid %s '%s'", what, key, val);
	return 0;
}

/* Properties every virtio -device accepts; only the modern interface exists. */
static int common_props(struct optlist *ol, const char *what)
{
	const char *v;

	optlist_get(ol, "id");
	optlist_get(ol, "bus");
	optlist_get(ol, "addr");        /* read by pick_slot() */
	optlist_get(ol, "bootindex");   /* firmware boots from what it finds */
	if ((v = optlist_get(ol, "disable-legacy")) && cli_parse_bool(v) == 0)
		return err_set(-EINVAL, "%s: kvmrun has no legacy virtio interface "
					"(disable-legacy=off)", what);
	if ((v = optlist_get(ol, "disable-modern")) && cli_parse_bool(v) == 1)
		return err_set(-EINVAL, "%s: disable-modern=on would leave no interface", what);
	return 0;
}

static int unknown_prop(struct optlist *ol, const char *what)
{
	if (optlist_unused(ol))
		return err_set(-EINVAL, "%s: unknown property '%s'", what, optlist_unused(ol));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Devices */

static struct vdev_item *item_new(struct vdev *v, enum vkind kind, unsigned slot)
{
	struct vdev_item *it = &v->items[v->n++];
	static const char *const kinds[] = { "virtio-blk", "virtio-console", "virtio-rng" };

	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->slot = slot;
	snprintf(it->name, sizeof(it->name), "%s 00:%02x.0", kinds[kind], slot);
	return it;
}

static struct virtio_dev *item_virtio(struct vdev_item *it)
{
	switch (it->kind) {
	case VK_BLK:
		return blk_virtio(it->blk);
	case VK_CONSOLE:
		return console_virtio(it->con);
	case VK_RNG:
		return rng_virtio(it->rng);
	}
	return NULL;
}

/* Put the device of @it on the PCI bus. */
static int item_attach(struct vdev *v, struct vdev_item *it, uint32_t class_code)
{
	bool kernel_irqchip = irqchip_mode(v->env.ic) != IRQCHIP_USER;
	struct virtio_pci_config pc = {
		.vdev = item_virtio(it),
		.class_code = class_code,
		.loop = v->env.loop,
		.host = kernel_irqchip ? &host_ops : &host_ops_user,
		.opaque = v,
	};
	int r;

	r = virtio_pci_create(&pc, &it->vp);
	if (r < 0)
		return r;
	r = virtio_pci_register(it->vp, v->env.pci, PCI_DEVFN(it->slot, 0));
	if (r < 0)
		return err_set(r, "%s: cannot register on the PCI bus: %s", it->name, strerror(-r));
	log_info("%s: %04x:%04x", it->name, VIRTIO_PCI_VENDOR,
		 VIRTIO_PCI_DEVICE_BASE + item_virtio(it)->device_id);
	return 0;
}

static const char *cache_name(enum drive_cache c)
{
	static const char *const names[] = {
		[DRIVE_CACHE_WRITEBACK] = "writeback", [DRIVE_CACHE_NONE] = "none",
		[DRIVE_CACHE_UNSAFE] = "unsafe", [DRIVE_CACHE_WRITETHROUGH] = "writethrough",
		[DRIVE_CACHE_DIRECTSYNC] = "directsync",
	};

	return (unsigned)c < ARRAY_SIZE(names) ? names[c] : "?";
}

struct blk_props {
	unsigned long num_queues, queue_size;
	const char *serial;
};

static int add_blk(struct vdev *v, struct drive_cfg *d, const struct blk_props *bp,
		   unsigned slot)
{
	struct vdev_item *it = item_new(v, VK_BLK, slot);
	struct blk_open_opts oo = {
		.readonly = d->readonly,
		.direct = d->cache == DRIVE_CACHE_NONE || d->cache == DRIVE_CACHE_DIRECTSYNC,
		.dsync = d->cache == DRIVE_CACHE_WRITETHROUGH || d->cache == DRIVE_CACHE_DIRECTSYNC,
	};
	struct blk_config bc = {
		.name = it->name,
		.mem = &v->env.vm->dma,
		.loop = v->env.loop,
		.num_queues = (unsigned)bp->num_queues,
		.queue_size = (uint16_t)bp->queue_size,
		.discard = d->discard_unmap,
		.flush_noop = d->cache == DRIVE_CACHE_UNSAFE,
		.serial = bp->serial,
	};
	int r;

	r = blk_image_open(d->file, &oo, &bc.image);
	if (r < 0)
		return err_prefix(r, "-drive %s", d->spec);
	d->used = true;
	r = blk_create(&bc, &it->blk);
	if (r < 0)
		return r;
	if (d->aio != DRIVE_AIO_IO_URING)
		log_info("%s: aio=%s is served by the event loop's io_uring engine too", it->name,
			 d->aio == DRIVE_AIO_THREADS ? "threads" : "native");
	if (strcmp(event_loop_backend(v->env.loop), "io_uring") && !v->poll_warned) {
		v->poll_warned = true;
		log_warn("virtio-blk: io_uring is unavailable (%s): disk I/O runs synchronously "
			 "on the event loop", event_loop_fallback_reason(v->env.loop));
	}
	log_info("%s: '%s', %llu MiB, cache=%s%s%s, %lu queue(s) of %lu", it->name, d->file,
		 (unsigned long long)(bc.image.size / MiB), cache_name(d->cache),
		 d->readonly ? ", read-only" : "", d->discard_unmap ? ", discard=unmap" : "",
		 bp->num_queues, bp->queue_size);
	return item_attach(v, it, CLASS_STORAGE_SCSI);
}

static struct drive_cfg *find_drive(struct config *cfg, const char *id)
{
	int i;

	for (i = 0; i < cfg->ndrives; i++)
		if (cfg->drives[i].id && !strcmp(cfg->drives[i].id, id))
			return &cfg->drives[i];
	return NULL;
}

static int device_blk(struct vdev *v, struct optlist *ol, const char *what)
{
	struct blk_props bp = { .num_queues = 1, .queue_size = BLK_DEFAULT_QUEUE_SIZE };
	const char *id, *val;
	struct drive_cfg *d;
	unsigned slot;
	int r;

	if ((r = common_props(ol, what)) < 0)
		return r;
	id = optlist_get(ol, "drive");
	if ((val = optlist_get(ol, "num-queues")) &&
	    (r = parse_uint(what, "num-queues", val, BLK_MAX_QUEUES, &bp.num_queues)) < 0)
		return r;
	if ((val = optlist_get(ol, "queue-size")) &&
	    (r = parse_uint(what, "queue-size", val, 1024, &bp.queue_size)) < 0)
		return r;
	bp.serial = optlist_get(ol, "serial");
	if ((r = unknown_prop(ol, what)) < 0 || (r = pick_slot(v, ol, what, &slot)) < 0)
		return r;
	if (!bp.num_queues || bp.queue_size < 4 || (bp.queue_size & (bp.queue_size - 1)))
		return err_set(-EINVAL, "%s: num-queues must be 1..%d, queue-size a power of two "
					"from 4 to 1024", what, BLK_MAX_QUEUES);
	if (!id)
		return err_set(-EINVAL, "%s: needs drive=ID (a -drive if=none,id=ID)", what);
	d = find_drive(v->env.cfg, id);
	if (!d)
		return err_set(-EINVAL, "%s: no -drive with id '%s'", what, id);
	if (d->iface != DRIVE_IF_NONE)
		return err_set(-EINVAL, "%s: drive '%s' is not if=none", what, id);
	if (d->used)
		return err_set(-EBUSY, "%s: drive '%s' is already in use", what, id);
	return add_blk(v, d, &bp, slot);
}

static int device_console(struct vdev *v, struct optlist *ol, const char *what,
			  struct vdev_item *bus)
{
	const char *chr_id = optlist_get(ol, "chardev");
	struct console_config cc;
	struct vdev_item *it;
	char spec[128];
	unsigned slot;
	int r;

	if (bus) {
		/* virtconsole: a port of the last virtio-serial-pci */
		optlist_get(ol, "id");
		optlist_get(ol, "bus");
		optlist_get(ol, "name");
		optlist_get(ol, "nr");
		if ((r = unknown_prop(ol, what)) < 0)
			return r;
		slot = bus->slot;
		v->n--;         /* the placeholder becomes the console */
	} else {
		if ((r = common_props(ol, what)) < 0 || (r = unknown_prop(ol, what)) < 0 ||
		    (r = pick_slot(v, ol, what, &slot)) < 0)
			return r;
	}
	if (!chr_id)
		return err_set(-EINVAL, "%s: needs chardev=ID", what);
	it = item_new(v, VK_CONSOLE, slot);
	if (!v->env.open_chardev)
		return err_set(-ENOTSUP, "%s: no character devices on this machine", what);
	snprintf(spec, sizeof(spec), "chardev:%s", chr_id);
	r = v->env.open_chardev(v->env.opaque, spec, it->name, &it->chr);
	if (r < 0)
		return r;
	cc = (struct console_config){ .name = it->name, .mem = &v->env.vm->dma, .chr = it->chr };
	r = console_create(&cc, &it->con);
	if (r < 0)
		return r;
	return item_attach(v, it, CLASS_COMM_OTHER);
}

static int device_rng(struct vdev *v, struct optlist *ol, const char *what)
{
	struct rng_config rc;
	struct vdev_item *it;
	unsigned slot;
	int r;

	/* Entropy comes from getrandom(2), unlimited: these QEMU knobs change nothing. */
	optlist_get(ol, "rng");
	optlist_get(ol, "max-bytes");
	optlist_get(ol, "period");
	if ((r = common_props(ol, what)) < 0 || (r = unknown_prop(ol, what)) < 0 ||
	    (r = pick_slot(v, ol, what, &slot)) < 0)
		return r;
	it = item_new(v, VK_RNG, slot);
	rc = (struct rng_config){ .name = it->name, .mem = &v->env.vm->dma };
	r = rng_create(&rc, &it->rng);
	if (r < 0)
		return r;
	return item_attach(v, it, CLASS_OTHERS);
}

/* virtio-serial-pci: a slot for the virtconsole that must follow. */
static int device_serial_bus(struct vdev *v, struct optlist *ol, const char *what)
{
	struct vdev_item *it;
	unsigned slot;
	int r;

	optlist_get(ol, "max_ports");
	optlist_get(ol, "vectors");
	if ((r = common_props(ol, what)) < 0 || (r = unknown_prop(ol, what)) < 0 ||
	    (r = pick_slot(v, ol, what, &slot)) < 0)
		return r;
	it = item_new(v, VK_CONSOLE, slot);
	it->serial_bus = true;
	return 0;
}

/* Turn a virtio-serial-pci left without a virtconsole into a console on "null". */
static int finish_serial_bus(struct vdev *v, struct vdev_item *it)
{
	struct console_config cc = { .name = it->name, .mem = &v->env.vm->dma };
	int r;

	it->serial_bus = false;
	r = console_create(&cc, &it->con);
	if (r < 0)
		return r;
	return item_attach(v, it, CLASS_COMM_OTHER);
}

static int add_device(struct vdev *v, struct optlist *ol)
{
	struct vdev_item *last = v->n ? &v->items[v->n - 1] : NULL;
	char what[96];
	int r;

	snprintf(what, sizeof(what), "-device %s", ol->name);
	if (!strcmp(ol->name, "virtconsole")) {
		if (!last || !last->serial_bus)
			return err_set(-EINVAL, "%s: needs a -device virtio-serial-pci before it "
						"(one port each: no multiport)", what);
		return device_console(v, ol, what, last);
	}
	/* A virtio-serial-pci not followed by its virtconsole gets an empty port. */
	if (last && last->serial_bus && (r = finish_serial_bus(v, last)) < 0)
		return r;
	if (NAME_IN(ol->name, blk_names))
		return device_blk(v, ol, what);
	if (NAME_IN(ol->name, rng_names))
		return device_rng(v, ol, what);
	if (NAME_IN(ol->name, serial_names))
		return device_serial_bus(v, ol, what);
	return device_console(v, ol, what, NULL);     /* virtio-console-pci */
}

static int create_all(struct vdev *v)
{
	struct config *cfg = v->env.cfg;
	struct blk_props bp = { .num_queues = 1, .queue_size = BLK_DEFAULT_QUEUE_SIZE };
	unsigned slot;
	int i, r;

	for (i = 0; i < cfg->ndrives; i++) {
		struct drive_cfg *d = &cfg->drives[i];
		char what[160];
		struct optlist none = { 0 };

		if (d->iface != DRIVE_IF_VIRTIO)
			continue;
		snprintf(what, sizeof(what), "-drive %s", d->spec);
		r = pick_slot(v, &none, what, &slot);
		if (r < 0)
			return r;
		r = add_blk(v, d, &bp, slot);
		if (r < 0)
			return r;
	}
	for (i = 0; i < cfg->ndevices; i++) {
		if (!vdev_claim(cfg->devices[i].name))
			continue;
		if (v->n == MAX_ITEMS)
			return err_set(-ENOSPC, "too many virtio devices");
		r = add_device(v, &cfg->devices[i]);
		if (r < 0)
			return r;
	}
	if (v->n && v->items[v->n - 1].serial_bus)
		return finish_serial_bus(v, &v->items[v->n - 1]);
	return 0;
}

int vdev_create(const struct vdev_env *env, struct vdev **out)
{
	struct vdev *v = calloc(1, sizeof(*v));
	int r;

	*out = NULL;
	if (!v)
		return -ENOMEM;
	v->env = *env;
	r = create_all(v);
	if (r < 0) {
		/* Not running yet: nothing is in flight, the lock may stay held. */
		vdev_destroy(v);
		return r;
	}
	*out = v;
	return 0;
}

/* Counters for -v: what the guest did and how many notifications it took. */
static void log_stats(struct vdev_item *it)
{
	const struct virtio_pci_stats *ps = virtio_pci_get_stats(it->vp);
	const struct blk_stats *bs;

	log_info("%s: %llu kicks (%llu trapped), interrupts: %llu irqfd, %llu MSI-X, %llu INTx",
		 it->name, (unsigned long long)ps->kicks, (unsigned long long)ps->trapped_kicks,
		 (unsigned long long)ps->irqfd_irqs, (unsigned long long)ps->msi_irqs,
		 (unsigned long long)ps->intx_irqs);
	if (!it->blk)
		return;
	bs = blk_get_stats(it->blk);
	log_info("%s: %llu reads (%llu MiB), %llu writes (%llu MiB), %llu flushes, %llu discards, "
		 "%llu write-zeroes, %llu failed; %llu bounced, %llu buffered, %llu resumed, "
		 "%llu stalls", it->name, (unsigned long long)bs->reads,
		 (unsigned long long)(bs->bytes_read / MiB), (unsigned long long)bs->writes,
		 (unsigned long long)(bs->bytes_written / MiB), (unsigned long long)bs->flushes,
		 (unsigned long long)bs->discards, (unsigned long long)bs->write_zeroes,
		 (unsigned long long)bs->errors, (unsigned long long)bs->bounced,
		 (unsigned long long)bs->buffered, (unsigned long long)bs->resubmits,
		 (unsigned long long)bs->stalls);
}

void vdev_destroy(struct vdev *v)
{
	unsigned i;

	if (!v)
		return;
	for (i = v->n; i-- > 0;) {
		struct vdev_item *it = &v->items[i];

		if (it->vp)
			log_stats(it);
		virtio_pci_destroy(it->vp);
		blk_destroy(it->blk);
		console_destroy(it->con);
		rng_destroy(it->rng);
		chardev_close(it->chr);
	}
	free(v);
}

void vdev_print_help(void)
{
	printf("  virtio-blk-pci   drive=ID (a -drive if=none,id=ID), num-queues=N (1),\n"
	       "                   queue-size=N (%d), serial=STR; -drive if=virtio makes one\n"
	       "  virtio-serial-pci + virtconsole,chardev=ID: a virtio console (hvc0), one port\n"
	       "  virtio-console-pci chardev=ID: the same in one device\n"
	       "  virtio-rng-pci   entropy from getrandom(2), not rate-limited\n"
	       "                   (virtio devices also take addr=SLOT, id=, bus=)\n",
	       BLK_DEFAULT_QUEUE_SIZE);
}
