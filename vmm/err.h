/*
 * Error reporting without printing: a function that fails returns -errno
 * and may leave a one-line explanation in a thread-local buffer with
 * err_set(). Only main() (and test harnesses) print it.
 */
#ifndef KVMRUN_ERR_H
#define KVMRUN_ERR_H

#include "vmm/util.h"

/* Record a message and return @errnum (a negative errno) unchanged. */
int err_set(int errnum, const char *fmt, ...) __printf(2, 3);
/* Like err_set() but only if no message is recorded yet. */
int err_set_default(int errnum, const char *fmt, ...) __printf(2, 3);
/* Prefix the recorded message with "prefix: ". Returns @errnum. */
int err_prefix(int errnum, const char *fmt, ...) __printf(2, 3);
const char *err_get(void);
void err_clear(void);

#endif
