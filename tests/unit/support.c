#include "tests/unit/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fake clock ---- */

static uint64_t fc_now(struct clock *c)
{
	return container_of(c, struct fake_clock, clock)->now;
}

static void fc_arm(struct clock *c, struct ktimer *t)
{
	struct fake_clock *fc = container_of(c, struct fake_clock, clock);

	if (fc->n < ARRAY_SIZE(fc->timers)) {
		t->heap_idx = fc->n;
		fc->timers[fc->n++] = t;
		t->armed = true;
	}
}

static void fc_cancel(struct clock *c, struct ktimer *t)
{
	struct fake_clock *fc = container_of(c, struct fake_clock, clock);
	unsigned i;

	for (i = 0; i < fc->n; i++) {
		if (fc->timers[i] == t) {
			fc->timers[i] = fc->timers[--fc->n];
			break;
		}
	}
	t->armed = false;
}

static const struct clock_ops fc_ops = { .now = fc_now, .arm = fc_arm, .cancel = fc_cancel };

void fake_clock_init(struct fake_clock *fc, uint64_t start_ns)
{
	memset(fc, 0, sizeof(*fc));
	fc->clock.ops = &fc_ops;
	fc->now = start_ns;
}

uint64_t fake_clock_next(const struct fake_clock *fc)
{
	uint64_t best = 0;
	unsigned i;

	for (i = 0; i < fc->n; i++)
		if (!best || fc->timers[i]->deadline < best)
			best = fc->timers[i]->deadline;
	return best;
}

void fake_clock_advance(struct fake_clock *fc, uint64_t ns)
{
	uint64_t target = fc->now + ns;

	for (;;) {
		struct ktimer *t = NULL;
		unsigned i, bi = 0;

		for (i = 0; i < fc->n; i++) {
			if (fc->timers[i]->deadline <= target &&
			    (!t || fc->timers[i]->deadline < t->deadline)) {
				t = fc->timers[i];
				bi = i;
			}
		}
		if (!t)
			break;
		fc->timers[bi] = fc->timers[--fc->n];
		t->armed = false;
		if (t->deadline > fc->now)
			fc->now = t->deadline;
		t->cb(t->arg);
	}
	fc->now = target;
}

/* ---- fake memory ---- */

static void *fm_ptr(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	struct fake_mem *m = opaque;

	if (m->deny_size && ranges_overlap(m->deny_gpa, m->deny_size, gpa, len))
		return NULL;
	if (gpa < m->base || gpa - m->base > m->size || len > m->size - (gpa - m->base))
		return NULL;
	return m->buf + (gpa - m->base);
}

void fake_mem_init(struct fake_mem *m, uint64_t base, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->base = base;
	m->size = size;
	m->buf = calloc(1, size);
	m->gm.ptr = fm_ptr;
	m->gm.opaque = m;
}

void fake_mem_free(struct fake_mem *m)
{
	free(m->buf);
	m->buf = NULL;
}

/* ---- IRQ recorder ---- */

static void rec_set(void *opaque, unsigned gsi, int level)
{
	struct irq_rec *r = opaque;

	if (gsi >= IRQ_REC_MAX)
		return;
	if (level && !r->level[gsi])
		r->raises[gsi]++;
	r->level[gsi] = level;
}

static void rec_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct irq_rec *r = opaque;

	if (r->nmsi < ARRAY_SIZE(r->msi_addr)) {
		r->msi_addr[r->nmsi] = addr;
		r->msi_data[r->nmsi] = data;
		r->nmsi++;
	}
}

void irq_rec_init(struct irq_rec *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < IRQ_REC_MAX; i++)
		r->line[i] = (struct irq_line){ .set_level = rec_set, .opaque = r, .gsi = i };
	r->msi.send = rec_msi;
	r->msi.opaque = r;
}

const struct irq_line *irq_rec_line(struct irq_rec *r, unsigned gsi)
{
	return &r->line[gsi];
}

/* ---- chardev capture ---- */

static void cap_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	struct cap_chardev *cc = container_of(c, struct cap_chardev, chr);
	size_t room = sizeof(cc->out) - 1 - cc->len;

	if (len > room)
		len = room;
	memcpy(cc->out + cc->len, buf, len);
	cc->len += len;
	cc->out[cc->len] = 0;
}

static void cap_poll(struct chardev *c)
{
	container_of(c, struct cap_chardev, chr)->polls++;
}

static const struct chardev_ops cap_ops = { .write = cap_write, .poll = cap_poll };

void cap_chardev_init(struct cap_chardev *c)
{
	memset(c, 0, sizeof(*c));
	c->chr.ops = &cap_ops;
}

size_t cap_chardev_input(struct cap_chardev *c, const void *buf, size_t len)
{
	size_t room;

	if (!c->chr.fe.can_receive || !c->chr.fe.receive)
		return 0;
	room = c->chr.fe.can_receive(c->chr.fe.opaque);
	if (len > room)
		len = room;
	if (len)
		c->chr.fe.receive(c->chr.fe.opaque, buf, len);
	return len;
}

int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
