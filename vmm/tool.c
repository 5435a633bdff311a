#include "vmm/tool.h"

#include <stdio.h>

int tool_run(struct config *cfg)
{
	/* The TDX sub-commands land with the tdx/ module. */
	fprintf(stderr, "kvmrun: this sub-command is not available in this build\n");
	return 1;
}
