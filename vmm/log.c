#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/err.h"

int log_verbosity;
unsigned trace_flags;
static FILE *trace_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "kvmrun: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 2)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap);
	va_end(ap);
}

void trace_printf(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;
	FILE *f = trace_file ? trace_file : stderr;

	if (!fmt)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&log_lock);
	fprintf(f, "[%5ld.%06ld] ", (long)ts.tv_sec, ts.tv_nsec / 1000);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	pthread_mutex_unlock(&log_lock);
}

static const struct {
	const char *name;
	unsigned flag;
} trace_table[] = {
	{ "smm", TRACE_SMM },     { "io", TRACE_IO },       { "exit", TRACE_EXIT },
	{ "pci", TRACE_PCI },     { "fwcfg", TRACE_FWCFG }, { "irq", TRACE_IRQ },
	{ "virtio", TRACE_VIRTIO }, { "tdx", TRACE_TDX },   { "flash", TRACE_FLASH },
};

const char *trace_names(void)
{
	return "smm, io, exit, pci, fwcfg, irq, virtio, tdx, flash, all";
}

int trace_parse(const char *spec)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(spec) >= sizeof(buf))
		return err_set(-EINVAL, "-trace: specification too long");
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		int found = 0;

		if (!strncmp(tok, "file=", 5)) {
			trace_file = fopen(tok + 5, "w");
			if (!trace_file)
				return err_set(-errno, "-trace: cannot open '%s': %s", tok + 5,
					       strerror(errno));
			setvbuf(trace_file, NULL, _IOLBF, 0);
			continue;
		}
		if (!strcmp(tok, "all")) {
			trace_flags = ~0u;
			continue;
		}
		if (!strncmp(tok, "enable=", 7))
			tok += 7;
		for (i = 0; i < ARRAY_SIZE(trace_table); i++) {
			if (!strcmp(tok, trace_table[i].name)) {
				trace_flags |= trace_table[i].flag;
				found = 1;
			}
		}
		if (!found)
			return err_set(-EINVAL, "-trace: unknown event group '%s' (known: %s)",
				       tok, trace_names());
	}
	return 0;
}
