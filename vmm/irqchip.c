/* Placeholder: the irqchip glue (kernel / userspace / split) lands here. */
#include "vmm/irqchip.h"
