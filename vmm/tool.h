/* Sub-commands that do not run a guest (TDX capabilities, MRTD prediction). */
#ifndef KVMRUN_TOOL_H
#define KVMRUN_TOOL_H

#include "vmm/cli.h"

/* Returns the process exit status; prints its own errors. */
int tool_run(struct config *cfg);

#endif
