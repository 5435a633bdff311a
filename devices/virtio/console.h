/*
 * virtio-console (virtio 1.x, section 5.3) with a single port and no
 * multiport control queue: receiveq0 (queue 0) carries host input to the
 * guest, transmitq0 (queue 1) guest output to the host. The port is the
 * driver's console (Linux: hvc0). Input and output go through a kvmrun
 * chardev: output is written as it comes, input is handed to the guest
 * as soon as it posted receive buffers (each buffer is returned as soon
 * as something is in it, so short input is not delayed).
 */
#ifndef KVMRUN_DEVICES_VIRTIO_CONSOLE_H
#define KVMRUN_DEVICES_VIRTIO_CONSOLE_H

#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "vmm/chardev.h"
#include "vmm/guestmem.h"

#define VIRTIO_CONSOLE_RXQ      0
#define VIRTIO_CONSOLE_TXQ      1
#define VIRTIO_CONSOLE_CFG_LEN  12      /* cols, rows, max_nr_ports, emerg_wr */
#define CONSOLE_QUEUE_SIZE      128

struct console;

struct console_config {
	const char *name;
	const struct guest_mem *mem;
	struct chardev *chr;            /* NULL: output dropped, no input */
};

int console_create(const struct console_config *cfg, struct console **out) __must_check;
/* Detaches from the chardev (which the caller closes). Accepts NULL. */
void console_destroy(struct console *c);
struct virtio_dev *console_virtio(struct console *c);

#endif
