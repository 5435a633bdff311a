#include "vmm/machine.h"
