#include "tdx/tdx_log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "tdx/tdx_err.h"
#include "vmm/err.h"

uint64_t tdx_log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int tdx_log_open(struct tdx_log *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	atomic_init(&l->seq, 0);
	l->t0_ns = tdx_log_now_ns();
	if (!path)
		return 0;
	l->f = fopen(path, "we");
	if (!l->f)
		return err_set(-errno, "-tdx-log %s: cannot open: %s", path, strerror(errno));
	return 0;
}

void tdx_log_close(struct tdx_log *l)
{
	if (l->f)
		fclose(l->f);
	l->f = NULL;
}

bool tdx_log_enabled(const struct tdx_log *l)
{
	return l->f != NULL;
}

/* Append @s as JSON string content (without quotes) to @out. */
static size_t json_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = 0;
	return n;
}

void tdx_log_write(struct tdx_log *l, const struct tdx_log_rec *r)
{
	char detail[512], hw[224] = "", step[96];
	const char *en = "";
	int err = r->ret < 0 ? -r->ret : 0;
	unsigned seq;

	if (!l->f)
		return;
	seq = atomic_fetch_add(&l->seq, 1) + 1;
	if (err)
		en = strerrorname_np(err) ? strerrorname_np(err) : "?";
	json_escape(step, sizeof(step), r->step);
	json_escape(detail, sizeof(detail), r->detail);
	if (r->has_hw_error) {
		char txt[96], esc[128];

		json_escape(esc, sizeof(esc), tdx_err_format(r->hw_error, txt, sizeof(txt)));
		snprintf(hw, sizeof(hw), "\"hw_error\":\"0x%016" PRIx64 "\",\"hw_error_text\":\"%s\",",
			 r->hw_error, esc);
	}
	fprintf(l->f,
		"{\"seq\":%u,\"t_us\":%" PRIu64 ",\"step\":\"%s\",\"ioctl\":\"%s\",\"target\":\"%s\","
		"\"vcpu\":%d,\"attempt\":%d,\"duration_us\":%" PRIu64 ",\"ret\":%d,\"errno\":%d,"
		"\"errname\":\"%s\",%s%s\"detail\":\"%s\"}\n",
		seq, (tdx_log_now_ns() - l->t0_ns) / 1000, step, r->ioctl ? r->ioctl : "",
		r->target ? r->target : "", r->vcpu, r->attempt, r->duration_ns / 1000, r->ret, err,
		en, hw, r->extra ? r->extra : "", detail);
	fflush(l->f);
}
