/*
 * 16550A UART (PC COM ports: COM1 0x3f8/IRQ4, COM2 0x2f8/IRQ3, 8 ports each).
 *
 * Register map (offset from the base port; DLAB = LCR bit 7):
 *
 *   off  read                      write
 *   0    RBR receive buffer        THR transmit holding       (DLAB=0)
 *   0    DLL divisor latch low     DLL                        (DLAB=1)
 *   1    IER interrupt enable      IER                        (DLAB=0)
 *   1    DLM divisor latch high    DLM                        (DLAB=1)
 *   2    IIR interrupt ident.      FCR FIFO control
 *   3    LCR line control          LCR
 *   4    MCR modem control         MCR
 *   5    LSR line status           (ignored: factory test on real parts)
 *   6    MSR modem status          (ignored)
 *   7    SCR scratch               SCR
 *
 * Model: transmission is instantaneous (THR writes go straight to the
 * chardev, THRE/TEMT always read 1). Input is pushed by the chardev
 * back-end into a 16-byte RX FIFO (a 1-byte holding register when FIFOs
 * are disabled). Without loopback the modem inputs read as a connected,
 * ready peer: CTS, DSR and DCD set, RI clear.
 *
 * Interrupt output: the IIR ladder is evaluated continuously; the IRQ line
 * is driven high while an interrupt is pending and the OUT2 *pin* enables
 * the PC's IRQ buffer. In loopback mode the 16550 forces its modem outputs,
 * OUT2 included, to the inactive state, so on a PC no IRQ reaches the
 * interrupt controller while LOOP is set (the IIR still reports it).
 *
 * Accesses wider than a byte are split into byte accesses at consecutive
 * offsets (as the ISA bus does); offsets >= 8 read 0xff and ignore writes.
 */
#ifndef KVMRUN_DEVICES_LEGACY_SERIAL_H
#define KVMRUN_DEVICES_LEGACY_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/chardev.h"
#include "vmm/clock.h"
#include "vmm/irq.h"
#include "vmm/util.h"

#define SERIAL_IO_LEN     8
#define SERIAL_FIFO_SIZE  16
/* Input clock 1.8432 MHz / 16: the baud rate for divisor 1. */
#define SERIAL_BAUD_BASE  115200

/* Register offsets */
#define UART_RBR  0   /* in, DLAB=0 */
#define UART_THR  0   /* out, DLAB=0 */
#define UART_DLL  0   /* DLAB=1 */
#define UART_IER  1   /* DLAB=0 */
#define UART_DLM  1   /* DLAB=1 */
#define UART_IIR  2   /* in */
#define UART_FCR  2   /* out */
#define UART_LCR  3
#define UART_MCR  4
#define UART_LSR  5
#define UART_MSR  6
#define UART_SCR  7

/* IER */
#define UART_IER_ERBFI  0x01  /* received data available (and timeout) */
#define UART_IER_ETBEI  0x02  /* transmitter holding register empty */
#define UART_IER_ELSI   0x04  /* receiver line status */
#define UART_IER_EDSSI  0x08  /* modem status */

/* IIR: bit 0 clear = interrupt pending; bits 3:1 identify it */
#define UART_IIR_NO_INT   0x01
#define UART_IIR_ID_MASK  0x0e
#define UART_IIR_MSI      0x00  /* modem status */
#define UART_IIR_THRI     0x02  /* THR empty */
#define UART_IIR_RDI      0x04  /* received data available */
#define UART_IIR_RLSI     0x06  /* receiver line status */
#define UART_IIR_CTI      0x0c  /* character timeout */
#define UART_IIR_FIFO_ON  0xc0  /* FIFOs enabled */

/* FCR */
#define UART_FCR_ENABLE     0x01
#define UART_FCR_CLEAR_RX   0x02
#define UART_FCR_CLEAR_TX   0x04
#define UART_FCR_DMA        0x08
#define UART_FCR_TRIG_MASK  0xc0  /* 00: 1, 01: 4, 10: 8, 11: 14 bytes */

/* LCR */
#define UART_LCR_WLEN_MASK  0x03  /* 5 + n data bits */
#define UART_LCR_STOP       0x04  /* 2 stop bits (1.5 with 5 data bits) */
#define UART_LCR_PARITY     0x08
#define UART_LCR_EPAR       0x10
#define UART_LCR_SPAR       0x20
#define UART_LCR_SBC        0x40  /* set break */
#define UART_LCR_DLAB       0x80

/* MCR */
#define UART_MCR_DTR   0x01
#define UART_MCR_RTS   0x02
#define UART_MCR_OUT1  0x04
#define UART_MCR_OUT2  0x08
#define UART_MCR_LOOP  0x10

/* LSR */
#define UART_LSR_DR    0x01  /* data ready */
#define UART_LSR_OE    0x02  /* overrun error */
#define UART_LSR_PE    0x04  /* parity error */
#define UART_LSR_FE    0x08  /* framing error */
#define UART_LSR_BI    0x10  /* break interrupt */
#define UART_LSR_THRE  0x20  /* THR empty */
#define UART_LSR_TEMT  0x40  /* transmitter empty */
#define UART_LSR_FIFOE 0x80  /* error in RX FIFO */
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

/* MSR */
#define UART_MSR_DCTS  0x01
#define UART_MSR_DDSR  0x02
#define UART_MSR_TERI  0x04
#define UART_MSR_DDCD  0x08
#define UART_MSR_CTS   0x10
#define UART_MSR_DSR   0x20
#define UART_MSR_RI    0x40
#define UART_MSR_DCD   0x80
#define UART_MSR_DELTAS 0x0f

struct serial;

/*
 * Create a UART. @chr (may be NULL: output is dropped, no input) becomes
 * the device's back-end: the UART installs itself as its front-end. @irq
 * (may be NULL) is copied. @clk (required) times the character timeout.
 * Returns 0 or -EINVAL/-ENOMEM.
 */
int serial_create(struct chardev *chr, const struct irq_line *irq, struct clock *clk,
		  struct serial **out) __must_check;
/* Detaches from the chardev and frees. Unregister from the bus first. NULL ok. */
void serial_destroy(struct serial *s);
/* Power-on state (machine reset). Keeps the chardev and IRQ wiring. */
void serial_reset(struct serial *s);
/* Register the 8 ports at @base (PORT_COM1, ...). 0 or bus_register's error. */
int serial_attach(struct serial *s, struct bus *pio, uint16_t base) __must_check;

/* Current IRQ output level, after OUT2/loopback gating (for tests, traces). */
bool serial_irq_level(const struct serial *s);

#endif
