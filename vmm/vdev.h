/*
 * The virtio devices of a machine, created from the configuration:
 *   -drive file=IMG,if=virtio[,...]                      a virtio-blk-pci
 *   -drive file=IMG,if=none,id=D -device virtio-blk-pci,drive=D[,num-queues=N]
 *          [,queue-size=N][,serial=S]
 *   -device virtio-serial-pci -device virtconsole,chardev=C   (QEMU's spelling)
 *   -device virtio-console-pci,chardev=C                 the same, in one
 *   -device virtio-rng-pci
 * every -device also taking id=, bus= (ignored) and addr=SLOT[.0].
 *
 * Devices go on PCI slots in this order: if=virtio drives, then -device
 * entries as given, each on the first free slot from 2 (pc) or 1 (q35,
 * skipping the LPC's 0x1f) unless addr= says where. Images open with an
 * error naming the file; readonly=on opens them read-only.
 *
 * The host side is wired here: queue doorbells become KVM_IOEVENTFDs on
 * the VM and, with the in-kernel irqchip (on or split), MSI-X vectors
 * become irqfds on MSI routes of the irqchip.
 */
#ifndef KVMRUN_VMM_VDEV_H
#define KVMRUN_VMM_VDEV_H

#include <stdbool.h>

#include "vmm/chardev.h"
#include "vmm/cli.h"
#include "vmm/util.h"

struct vm;
struct pci_bus;
struct irqchip;
struct event_loop;
struct vdev;

struct vdev_env {
	struct config *cfg;             /* drives are marked used */
	struct vm *vm;                  /* KVM_IOEVENTFD, guest memory for DMA */
	struct pci_bus *pci;
	struct irqchip *ic;
	struct event_loop *loop;
	bool q35;
	/*
	 * Opens a character device the way -serial names it ("chardev:ID");
	 * the virtio console closes it with chardev_close().
	 */
	int (*open_chardev)(void *opaque, const char *spec, const char *label,
			    struct chardev **out);
	void *opaque;
};

/* True if -device @name is one of ours (platform asks before refusing a name). */
bool vdev_claim(const char *name);

/*
 * Create every virtio device the configuration asks for. Call with the
 * machine lock held, after the PCI bus and chipset exist (their slots are
 * taken into account). On failure returns -errno with err_get() naming
 * the option, and *out is NULL (everything created is undone).
 */
int vdev_create(const struct vdev_env *env, struct vdev **out) __must_check;

/*
 * Undo vdev_create(): unregister the functions, wait for disk I/O in
 * flight (this runs the event loop, so call it WITHOUT the machine lock
 * and with the vCPUs stopped), close images and chardevs. Call it before
 * the PCI bus, the irqchip and the event loop go away. Accepts NULL.
 */
void vdev_destroy(struct vdev *v);

/* Lines for `-device help`. */
void vdev_print_help(void);

#endif
