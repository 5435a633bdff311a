/*
 * Device access to guest memory (DMA), handed to devices as a parameter.
 * ptr() returns a host pointer to [gpa, gpa+len) or NULL if that range is
 * not entirely ordinary guest RAM a device may touch (out of RAM, crossing
 * regions, SMRAM). Devices must treat NULL as a guest error, never crash.
 */
#ifndef KVMRUN_GUESTMEM_H
#define KVMRUN_GUESTMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct guest_mem {
	void *(*ptr)(void *opaque, uint64_t gpa, uint64_t len, bool write);
	void *opaque;
};

static inline void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len, bool write)
{
	if (!len || gpa + len < gpa)
		return NULL;
	return m->ptr(m->opaque, gpa, len, write);
}

static inline int gmem_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len, false);

	if (!p)
		return -1;
	memcpy(buf, p, len);
	return 0;
}

static inline int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *buf,
			     uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len, true);

	if (!p)
		return -1;
	memcpy(p, buf, len);
	return 0;
}

#endif
