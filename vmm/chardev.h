/*
 * Character back-ends (stdio, file, null) as seen by a front-end device
 * such as a UART. Output is a plain write; input is pushed to the
 * front-end, which says how much it can take and calls chardev_poll()
 * when it has room again.
 */
#ifndef KVMRUN_CHARDEV_H
#define KVMRUN_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

struct chardev;

struct chardev_ops {
	void (*write)(struct chardev *c, const uint8_t *buf, size_t len);
	/* Front-end has room again: push buffered input now. */
	void (*poll)(struct chardev *c);
};

struct chardev_frontend {
	size_t (*can_receive)(void *opaque);
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

struct chardev {
	const struct chardev_ops *ops;
	struct chardev_frontend fe;
};

static inline void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (c && c->ops && c->ops->write)
		c->ops->write(c, buf, len);
}

static inline void chardev_poll(struct chardev *c)
{
	if (c && c->ops && c->ops->poll)
		c->ops->poll(c);
}

static inline void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe)
{
	if (c)
		c->fe = *fe;
}

struct event_loop;

/*
 * Back-ends. @spec: "stdio", "mon:stdio", "file:PATH", "pty", "null".
 * Input (stdio, pty) is read on the event loop. @label names the front-end
 * in messages ("serial0"). On failure returns -errno with err_get() set.
 */
int chardev_open(const char *spec, const char *label, struct event_loop *loop,
		 struct chardev **out);
void chardev_close(struct chardev *c);
/* Called when the user types the quit escape (Ctrl-A x) on stdio. */
void chardev_set_quit_handler(void (*fn)(void *opaque), void *opaque);
/* Restore the terminal (also done at exit). */
void chardev_restore_tty(void);

#endif
