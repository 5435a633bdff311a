#include "vmm/err.h"

#include <stdarg.h>
#include <stdio.h>

static __thread char err_buf[512];

int err_set(int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return errnum;
}

int err_set_default(int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err_buf[0])
		return errnum;
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return errnum;
}

int err_prefix(int errnum, const char *fmt, ...)
{
	char prefix[256], old[sizeof(err_buf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err_buf, sizeof(old));
	if (old[0])
		snprintf(err_buf, sizeof(err_buf), "%s: %s", prefix, old);
	else
		snprintf(err_buf, sizeof(err_buf), "%s", prefix);
	return errnum;
}

const char *err_get(void)
{
	return err_buf;
}

void err_clear(void)
{
	err_buf[0] = 0;
}
