/*
 * Byte-wide ISA registers (8259, 8254, ELCR, port 0x61): a wider access
 * becomes byte accesses to consecutive ports, as on the ISA bus; bytes past
 * the device's @nports read 0xff and are dropped on write.
 */
#ifndef KVMRUN_ISA_PORT_H
#define KVMRUN_ISA_PORT_H

#include <stdint.h>

typedef uint8_t (*isa_port_rd)(void *dev, unsigned port);
typedef void (*isa_port_wr)(void *dev, unsigned port, uint8_t val);

uint64_t isa_port_read(isa_port_rd rd, void *dev, uint64_t off, unsigned size, unsigned nports);
void isa_port_write(isa_port_wr wr, void *dev, uint64_t off, uint64_t val, unsigned size,
		    unsigned nports);

#endif
