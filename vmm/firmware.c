#include "vmm/machine_internal.h"

#include <errno.h>

#include "vmm/err.h"

int firmware_load(struct machine *m)
{
	return err_set(-ENOTSUP, "no boot path yet");
}

int firmware_reset(struct machine *m)
{
	return 0;
}

void firmware_destroy(struct machine *m)
{
}
