/*
 * The virtio 1.x PCI transport (modern only, section 4.1) on kvmrun's PCI
 * core: vendor 0x1af4, device 0x1040 + device ID, revision 1, QEMU's
 * subsystem IDs, INTA.
 *
 * Everything lives in one 64-bit memory BAR (VIRTIO_PCI_BAR):
 *   0x0000  common configuration
 *   0x1000  ISR status (read to clear; drives INTx when MSI-X is off)
 *   0x2000  device-specific configuration
 *   0x3000  notifications: queue q at q * VIRTIO_PCI_NOTIFY_MULT
 *   0x4000  MSI-X table (one vector per queue plus one for configuration)
 *   0x5000  MSI-X PBA
 * described by vendor capabilities (common, notify, ISR, device, and the
 * PCI configuration access window) and an MSI-X capability.
 *
 * Kicks: each queue has an eventfd watched by the event loop. Through the
 * ioeventfd callback the wiring makes it a KVM_IOEVENTFD on the queue's
 * doorbell, so a kick never leaves the kernel on the vCPU side; the
 * doorbells follow the BAR whenever it moves or memory decoding changes.
 * A doorbell without ioeventfd traps and the transport signals the same
 * eventfd itself, deferring the work to the loop. Without an event loop
 * (unit tests) kicks are handled at once.
 *
 * Interrupts: MSI-X through the PCI core (masking, pending bits), or, when
 * the wiring provides MSI routes and irqfd (in-kernel irqchip), through
 * an irqfd per vector whose route follows the guest's table entry. With
 * MSI-X disabled, INTx with the ISR register.
 *
 * Locking: the machine lock, like every device.
 */
#ifndef KVMRUN_DEVICES_VIRTIO_VIRTIO_PCI_H
#define KVMRUN_DEVICES_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/chipset/pci.h"
#include "devices/virtio/virtio.h"
#include "vmm/util.h"

#define VIRTIO_PCI_VENDOR       0x1af4
#define VIRTIO_PCI_DEVICE_BASE  0x1040  /* + virtio device ID */
#define VIRTIO_PCI_REVISION     1       /* non-transitional */
#define VIRTIO_PCI_NO_VECTOR    0xffff

/* The BAR and its layout */
#define VIRTIO_PCI_BAR          4       /* 64-bit: also takes BAR 5 */
#define VIRTIO_PCI_BAR_SIZE     0x8000
#define VIRTIO_PCI_COMMON_OFF   0x0000
#define VIRTIO_PCI_ISR_OFF      0x1000
#define VIRTIO_PCI_DEVCFG_OFF   0x2000
#define VIRTIO_PCI_NOTIFY_OFF   0x3000
#define VIRTIO_PCI_MSIX_OFF     0x4000
#define VIRTIO_PCI_PBA_OFF      0x5000
#define VIRTIO_PCI_REGION_SIZE  0x1000
#define VIRTIO_PCI_NOTIFY_MULT  4
#define VIRTIO_PCI_MAX_QUEUES   (VIRTIO_PCI_REGION_SIZE / VIRTIO_PCI_NOTIFY_MULT)
#define VIRTIO_PCI_MAX_VECTORS  (VIRTIO_PCI_REGION_SIZE / PCI_MSIX_ENTRY_SIZE)

/* Vendor capability types (cfg_type) */
#define VIRTIO_PCI_CAP_COMMON   1
#define VIRTIO_PCI_CAP_NOTIFY   2
#define VIRTIO_PCI_CAP_ISR      3
#define VIRTIO_PCI_CAP_DEVICE   4
#define VIRTIO_PCI_CAP_PCI_CFG  5

/* Vendor capability fields (offsets in the capability) */
#define VIRTIO_PCI_CAP_TYPE     3
#define VIRTIO_PCI_CAP_BARNO    4
#define VIRTIO_PCI_CAP_OFFSET   8
#define VIRTIO_PCI_CAP_LENGTH   12
#define VIRTIO_PCI_CAP_MULT     16      /* notify capability only */
#define VIRTIO_PCI_CAP_DATA     16      /* PCI configuration access only */

/* Common configuration registers */
#define VIRTIO_PCI_DFSELECT     0x00
#define VIRTIO_PCI_DF           0x04
#define VIRTIO_PCI_GFSELECT     0x08
#define VIRTIO_PCI_GF           0x0c
#define VIRTIO_PCI_MSIX_CONFIG  0x10
#define VIRTIO_PCI_NUM_QUEUES   0x12
#define VIRTIO_PCI_STATUS       0x14
#define VIRTIO_PCI_CFG_GEN      0x15
#define VIRTIO_PCI_Q_SELECT     0x16
#define VIRTIO_PCI_Q_SIZE       0x18
#define VIRTIO_PCI_Q_MSIX       0x1a
#define VIRTIO_PCI_Q_ENABLE     0x1c
#define VIRTIO_PCI_Q_NOTIFY_OFF 0x1e
#define VIRTIO_PCI_Q_DESC       0x20
#define VIRTIO_PCI_Q_DRIVER     0x28
#define VIRTIO_PCI_Q_DEVICE     0x30
#define VIRTIO_PCI_COMMON_LEN   0x38

#define VIRTIO_PCI_ISR_QUEUE    0x1
#define VIRTIO_PCI_ISR_CONFIG   0x2

struct event_loop;
struct virtio_pci;

/*
 * Host services from the wiring; each may be NULL. Return >= 0 or -errno.
 * They are called with the machine lock held, on vCPU threads (register
 * writes) or the event-loop thread (interrupts).
 */
struct virtio_pci_host_ops {
	/* (De)assign eventfd @fd to guest writes of @len bytes (0: any) at @gpa. */
	int (*ioeventfd)(void *opaque, uint64_t gpa, unsigned len, int fd, bool assign);
	/* MSI routes: add returns a GSI for irqfd. */
	int (*msi_route_add)(void *opaque, uint64_t addr, uint32_t data);
	int (*msi_route_update)(void *opaque, int gsi, uint64_t addr, uint32_t data);
	void (*msi_route_del)(void *opaque, int gsi);
	/* Make writes to @fd raise @gsi (assign) or stop doing so. */
	int (*irqfd)(void *opaque, int fd, int gsi, bool assign);
};

struct virtio_pci_config {
	struct virtio_dev *vdev;        /* the device; must outlive the transport */
	uint32_t class_code;            /* PCI class << 16 | subclass << 8 | prog-if */
	struct event_loop *loop;        /* NULL: kicks run inline (tests) */
	const struct virtio_pci_host_ops *host;
	void *opaque;                   /* for host */
};

/* Build the PCI function. 0 or -errno (err_get() set). */
int virtio_pci_create(const struct virtio_pci_config *cfg, struct virtio_pci **out) __must_check;
/* Put it at @devfn on @bus. 0, -EEXIST (slot taken) or -EINVAL. */
int virtio_pci_register(struct virtio_pci *vp, struct pci_bus *bus, unsigned devfn) __must_check;
/* Unregister (if registered), drop eventfds, routes and irqfds, free. Accepts NULL. */
void virtio_pci_destroy(struct virtio_pci *vp);

struct pci_dev *virtio_pci_dev(struct virtio_pci *vp);
/* The BAR's ops, for tests that access registers without a bus. */
extern const struct dev_ops virtio_pci_bar_ops;
/* How many doorbells are served by ioeventfd right now (tests, logs). */
unsigned virtio_pci_ioeventfds(const struct virtio_pci *vp);

/* Notification counters (benchmarks: how well suppression works). */
struct virtio_pci_stats {
	uint64_t kicks;                 /* queue notifications handled */
	uint64_t trapped_kicks;         /* doorbell writes that reached us, not KVM */
	uint64_t irqfd_irqs;            /* interrupts sent through an irqfd */
	uint64_t msi_irqs;              /* ... through the PCI core (MSI-X) */
	uint64_t intx_irqs;             /* ... as INTx */
};
const struct virtio_pci_stats *virtio_pci_get_stats(const struct virtio_pci *vp);

#endif
