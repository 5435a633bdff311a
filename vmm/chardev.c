#include "vmm/chardev.h"
/* Back-ends are added with the machine (stdio, file, null). */
