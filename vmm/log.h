/* Logging for the VMM proper (not for wrappers: they return -errno). */
#ifndef KVMRUN_LOG_H
#define KVMRUN_LOG_H

#include "vmm/util.h"

enum trace_flag {
	TRACE_SMM = 1u << 0,
	TRACE_IO = 1u << 1,
	TRACE_EXIT = 1u << 2,
	TRACE_PCI = 1u << 3,
	TRACE_FWCFG = 1u << 4,
	TRACE_IRQ = 1u << 5,
	TRACE_VIRTIO = 1u << 6,
	TRACE_TDX = 1u << 7,
	TRACE_FLASH = 1u << 8,
};

extern int log_verbosity;        /* 0 = errors+warnings, 1 = -v, 2 = -vv */
extern unsigned trace_flags;

void log_error(const char *fmt, ...) __printf(1, 2);
void log_warn(const char *fmt, ...) __printf(1, 2);
void log_info(const char *fmt, ...) __printf(1, 2);   /* shown with -v */
void log_debug(const char *fmt, ...) __printf(1, 2);  /* shown with -vv */
void trace_printf(const char *fmt, ...) __printf(1, 2);

/* Parse "smm,io,..." into trace_flags. Returns 0 or -EINVAL (err set). */
int trace_parse(const char *spec);
const char *trace_names(void);

#define trace_on(flag) (__builtin_expect(trace_flags & (flag), 0))
#define TRACE(flag, ...)                                                        \
	do {                                                                    \
		if (trace_on(flag))                                             \
			trace_printf(__VA_ARGS__);                              \
	} while (0)

#endif
