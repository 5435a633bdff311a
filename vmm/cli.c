#include "vmm/cli.h"
