#include "vmm/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/err.h"
#include "vmm/event.h"

enum chr_kind { CHR_NULL, CHR_STDIO, CHR_FILE, CHR_PTY };

struct chr {
	struct chardev c;
	enum chr_kind kind;
	int in_fd, out_fd;
	struct event_loop *loop;
	bool watching;
	bool escape;               /* saw Ctrl-A on stdio */
	uint8_t buf[4096];         /* input not yet taken by the front-end */
	size_t head, len;
};

static bool stdio_taken;
static bool tty_saved;
static struct termios saved_tty;
static void (*quit_fn)(void *);
static void *quit_opaque;

void chardev_set_quit_handler(void (*fn)(void *opaque), void *opaque)
{
	quit_fn = fn;
	quit_opaque = opaque;
}

void chardev_restore_tty(void)
{
	if (tty_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
		tty_saved = false;
	}
}

static void set_raw_tty(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return;
	tty_saved = true;
	atexit(chardev_restore_tty);
	t = saved_tty;
	t.c_iflag &= ~(unsigned)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_oflag |= OPOST;
	t.c_lflag &= ~(unsigned)(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
	t.c_cflag &= ~(unsigned)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;   /* output gone (closed pipe): drop, never block the guest */
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void chr_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	struct chr *ch = container_of(c, struct chr, c);

	if (ch->out_fd >= 0)
		write_all(ch->out_fd, buf, len);
}

/* Hand buffered input to the front-end as far as it can take it. */
static void push_input(struct chr *ch)
{
	while (ch->len && ch->c.fe.can_receive && ch->c.fe.receive) {
		size_t room = ch->c.fe.can_receive(ch->c.fe.opaque), n = ch->len;

		if (!room)
			break;
		if (n > room)
			n = room;
		if (ch->head + n > sizeof(ch->buf))
			n = sizeof(ch->buf) - ch->head;
		ch->c.fe.receive(ch->c.fe.opaque, ch->buf + ch->head, n);
		ch->head = (ch->head + n) % sizeof(ch->buf);
		ch->len -= n;
	}
	if (!ch->len)
		ch->head = 0;
}

static void input_cb(void *opaque, int revents);

static void watch(struct chr *ch, bool on)
{
	if (on == ch->watching || ch->in_fd < 0 || !ch->loop)
		return;
	if (on) {
		if (event_add_fd(ch->loop, ch->in_fd, input_cb, ch) == 0)
			ch->watching = true;
	} else {
		event_del_fd(ch->loop, ch->in_fd);
		ch->watching = false;
	}
}

static void input_cb(void *opaque, int revents)
{
	struct chr *ch = opaque;
	uint8_t tmp[sizeof(ch->buf)];
	size_t room = sizeof(ch->buf) - ch->len, i;
	ssize_t n;

	if (!room) {
		watch(ch, false);   /* resumed by chr_poll() */
		return;
	}
	n = read(ch->in_fd, tmp, room);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			watch(ch, false);   /* EOF: stop watching, output still works */
		return;
	}
	for (i = 0; i < (size_t)n; i++) {
		uint8_t b = tmp[i];

		if (ch->kind == CHR_STDIO && tty_saved) {
			if (ch->escape) {
				ch->escape = false;
				if (b == 'x' || b == 'X') {
					if (quit_fn)
						quit_fn(quit_opaque);
					continue;
				}
				if (b != 0x01)
					continue;   /* unknown escape: swallow */
			} else if (b == 0x01) {
				ch->escape = true;
				continue;
			}
		}
		ch->buf[(ch->head + ch->len) % sizeof(ch->buf)] = b;
		ch->len++;
	}
	push_input(ch);
	if (ch->len == sizeof(ch->buf))
		watch(ch, false);
}

static void chr_poll(struct chardev *c)
{
	struct chr *ch = container_of(c, struct chr, c);

	push_input(ch);
	if (ch->len < sizeof(ch->buf))
		watch(ch, true);
}

static const struct chardev_ops chr_ops = { .write = chr_write, .poll = chr_poll };

int chardev_open(const char *spec, const char *label, struct event_loop *loop,
		 struct chardev **out)
{
	struct chr *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return -ENOMEM;
	ch->c.ops = &chr_ops;
	ch->in_fd = ch->out_fd = -1;
	ch->loop = loop;
	if (!strcmp(spec, "null") || !strcmp(spec, "none")) {
		ch->kind = CHR_NULL;
	} else if (!strcmp(spec, "stdio") || !strcmp(spec, "mon:stdio")) {
		if (stdio_taken) {
			free(ch);
			return err_set(-EBUSY, "%s: cannot use stdio for more than one character "
					       "device", label);
		}
		stdio_taken = true;
		ch->kind = CHR_STDIO;
		ch->in_fd = STDIN_FILENO;
		ch->out_fd = STDOUT_FILENO;
		set_raw_tty();
		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	} else if (!strncmp(spec, "file:", 5)) {
		ch->kind = CHR_FILE;
		ch->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (ch->out_fd < 0) {
			int e = errno;

			free(ch);
			return err_set(-e, "%s: cannot open '%s': %s", label, spec + 5, strerror(e));
		}
	} else if (!strcmp(spec, "pty")) {
		int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		struct termios t;

		if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
			int e = errno;

			if (fd >= 0)
				close(fd);
			free(ch);
			return err_set(-e, "%s: cannot create a pty: %s", label, strerror(e));
		}
		if (tcgetattr(fd, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(fd, TCSANOW, &t);
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		ch->kind = CHR_PTY;
		ch->in_fd = ch->out_fd = fd;
		fprintf(stderr, "char device redirected to %s (label %s)\n", ptsname(fd), label);
	} else {
		free(ch);
		return err_set(-EINVAL, "%s: unsupported character device '%s'", label, spec);
	}
	if (ch->in_fd >= 0 && loop)
		watch(ch, true);
	*out = &ch->c;
	return 0;
}

void chardev_close(struct chardev *c)
{
	struct chr *ch;

	if (!c)
		return;
	ch = container_of(c, struct chr, c);
	watch(ch, false);
	if (ch->kind == CHR_STDIO) {
		chardev_restore_tty();
		stdio_taken = false;
	} else if (ch->out_fd >= 0) {
		close(ch->out_fd);
	}
	free(ch);
}
