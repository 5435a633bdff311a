/* Placeholder header for the irqchip glue. */
#ifndef KVMRUN_IRQCHIP_H
#define KVMRUN_IRQCHIP_H
#endif
