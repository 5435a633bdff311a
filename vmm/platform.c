#include "vmm/machine_internal.h"

#include <stdio.h>

int platform_create(struct machine *m)
{
	return 0;
}

int platform_late_init(struct machine *m)
{
	return 0;
}

void platform_reset(struct machine *m)
{
}

void platform_destroy(struct machine *m)
{
}

void platform_print_devices(void)
{
	printf("(no devices yet)\n");
}
