#include "devices/legacy/serial.h"

#include <errno.h>
#include <stdlib.h>

#include "devices/byteio.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define NSEC_PER_SEC 1000000000ULL
/* Character-timeout: this many character times without RX activity. */
#define TIMEOUT_CHARS 4
/*
 * Floor for one character time. Divisor 1 at 5N1 already gives ~61 us,
 * so this only matters for a divisor of 0 (undefined on real parts, taken
 * as 1 here); it keeps the timeout timer from firing absurdly often.
 */
#define MIN_CHAR_NS 50000ULL
/* Divisor after reset: 9600 baud, what BIOSes traditionally program. */
#define RESET_DIVISOR 12
/* Modem inputs when not in loopback: a connected peer that is ready. */
#define IDLE_MODEM_LINES (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD)

struct serial {
	struct chardev *chr;
	struct irq_line irq;
	struct clock *clk;
	struct ktimer timeout_timer;
	uint16_t base;          /* for traces only */

	uint8_t ier, lcr, mcr, scr;
	uint8_t lsr_err;        /* latched OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr_lines;      /* CTS/DSR/RI/DCD as seen by the UART */
	uint8_t msr_delta;      /* DCTS/DDSR/TERI/DDCD, cleared by reading MSR */
	uint8_t fcr;            /* trigger and DMA bits of the last enabling FCR write */
	bool fifo_on;
	uint16_t divisor;

	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint8_t last_rx;        /* what an empty RBR reads back */

	bool thri;              /* THR-empty interrupt pending */
	bool timeout;           /* character-timeout interrupt pending */
	bool irq_level;
};

static unsigned rx_capacity(const struct serial *s)
{
	return s->fifo_on ? SERIAL_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct serial *s)
{
	static const uint8_t levels[4] = { 1, 4, 8, 14 };

	return levels[(s->fcr & UART_FCR_TRIG_MASK) >> 6];
}

static uint8_t word_mask(const struct serial *s)
{
	return (uint8_t)(0xff >> (3 - (s->lcr & UART_LCR_WLEN_MASK)));
}

/* One character on the wire: start + data + parity + stop bits. */
static uint64_t char_time_ns(const struct serial *s)
{
	unsigned wlen = 5 + (s->lcr & UART_LCR_WLEN_MASK);
	unsigned half_bits = 2 * (1 + wlen + !!(s->lcr & UART_LCR_PARITY));
	uint64_t div = s->divisor ? s->divisor : 1;
	uint64_t ns;

	/* 1.5 stop bits for 5-bit words, 2 otherwise */
	if (s->lcr & UART_LCR_STOP)
		half_bits += wlen == 5 ? 3 : 4;
	else
		half_bits += 2;
	ns = half_bits * div * NSEC_PER_SEC / (2 * SERIAL_BAUD_BASE);
	return MAX(ns, MIN_CHAR_NS);
}

/* The interrupt the IIR reports now, by priority. */
static uint8_t pending_id(const struct serial *s)
{
	if ((s->ier & UART_IER_ELSI) && s->lsr_err)
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_ERBFI) && s->rx_count &&
	    (!s->fifo_on || s->rx_count >= rx_trigger(s)))
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_ERBFI) && s->fifo_on && s->timeout && s->rx_count)
		return UART_IIR_CTI;
	if ((s->ier & UART_IER_ETBEI) && s->thri)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_EDSSI) && s->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void update_irq(struct serial *s)
{
	bool pending = pending_id(s) != UART_IIR_NO_INT;
	/* OUT2 pin gates the PC's IRQ buffer; loopback forces the pin inactive. */
	bool level = pending && (s->mcr & UART_MCR_OUT2) && !(s->mcr & UART_MCR_LOOP);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_set(&s->irq, level);
	}
}

/* Any RX activity restarts the character-timeout clock. */
static void restart_timeout(struct serial *s)
{
	s->timeout = false;
	if (s->fifo_on && s->rx_count)
		ktimer_mod(&s->timeout_timer,
			   clock_now(s->clk) + TIMEOUT_CHARS * char_time_ns(s));
	else
		ktimer_del(&s->timeout_timer);
}

static void timeout_fire(void *arg)
{
	struct serial *s = arg;

	if (s->fifo_on && s->rx_count) {
		s->timeout = true;
		update_irq(s);
	}
}

static void rx_clear(struct serial *s)
{
	s->rx_head = s->rx_count = 0;
	s->timeout = false;
	ktimer_del(&s->timeout_timer);
}

/* A character arrives in the receiver (from the wire or from loopback). */
static void rx_put(struct serial *s, uint8_t c)
{
	c &= word_mask(s);
	if (s->rx_count == rx_capacity(s)) {
		/*
		 * Overrun. Without FIFOs the new character overwrites RBR; with
		 * FIFOs it dies in the shift register and the FIFO is kept.
		 */
		s->lsr_err |= UART_LSR_OE;
		if (!s->fifo_on)
			s->rx[s->rx_head] = c;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = c;
	s->rx_count++;
}

static size_t fe_can_receive(void *opaque)
{
	struct serial *s = opaque;

	/* Loopback disconnects the serial input. */
	if (s->mcr & UART_MCR_LOOP)
		return 0;
	return rx_capacity(s) - s->rx_count;
}

static void fe_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	size_t i;

	if ((s->mcr & UART_MCR_LOOP) || !len)
		return;
	for (i = 0; i < len; i++)
		rx_put(s, buf[i]);
	restart_timeout(s);
	update_irq(s);
}

/* Tell the back-end there is room again (never in loopback: input is cut). */
static void poll_backend(struct serial *s)
{
	if (!(s->mcr & UART_MCR_LOOP) && s->rx_count < rx_capacity(s))
		chardev_poll(s->chr);
}

static void write_thr(struct serial *s, uint8_t c)
{
	/* Writing THR clears the THRE interrupt... */
	s->thri = false;
	update_irq(s);
	c &= word_mask(s);
	if (s->mcr & UART_MCR_LOOP) {
		rx_put(s, c);
		restart_timeout(s);
	} else {
		chardev_write(s->chr, &c, 1);
	}
	/* ...and the instantaneous transmission empties THR at once: a new edge. */
	if (s->ier & UART_IER_ETBEI)
		s->thri = true;
	update_irq(s);
}

static uint8_t read_rbr(struct serial *s)
{
	uint8_t c = s->last_rx;
	bool drained = false;

	if (s->rx_count) {
		c = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
		s->rx_count--;
		s->last_rx = c;
		drained = !s->rx_count;
	}
	restart_timeout(s);
	update_irq(s);
	/* Last: the back-end may push more input from inside this call. */
	if (drained)
		poll_backend(s);
	return c;
}

static uint8_t read_iir(struct serial *s)
{
	uint8_t id = pending_id(s);

	/* Reading IIR acknowledges a THRE interrupt it reports. */
	if (id == UART_IIR_THRI) {
		s->thri = false;
		update_irq(s);
	}
	return id | (s->fifo_on ? UART_IIR_FIFO_ON : 0);
}

static uint8_t read_lsr(struct serial *s)
{
	uint8_t v = s->lsr_err | UART_LSR_THRE | UART_LSR_TEMT;

	if (s->rx_count)
		v |= UART_LSR_DR;
	/* FIFOE only concerns PE/FE/BI, which nothing generates here. */
	if (s->fifo_on && (s->lsr_err & (UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)))
		v |= UART_LSR_FIFOE;
	s->lsr_err = 0;
	update_irq(s);
	return v;
}

static uint8_t read_msr(struct serial *s)
{
	uint8_t v = s->msr_lines | s->msr_delta;

	s->msr_delta = 0;
	update_irq(s);
	return v;
}

static uint8_t serial_read_byte(void *dev, unsigned off)
{
	struct serial *s = dev;
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_RBR:
		return dlab ? (uint8_t)s->divisor : read_rbr(s);
	case UART_IER:
		return dlab ? (uint8_t)(s->divisor >> 8) : s->ier;
	case UART_IIR:
		return read_iir(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return read_lsr(s);
	case UART_MSR:
		return read_msr(s);
	default:
		return s->scr;
	}
}

/* Modem inputs follow MCR in loopback; record which ones changed. */
static void update_modem_lines(struct serial *s)
{
	uint8_t lines = IDLE_MODEM_LINES, changed;

	if (s->mcr & UART_MCR_LOOP) {
		lines = 0;
		if (s->mcr & UART_MCR_RTS)
			lines |= UART_MSR_CTS;
		if (s->mcr & UART_MCR_DTR)
			lines |= UART_MSR_DSR;
		if (s->mcr & UART_MCR_OUT1)
			lines |= UART_MSR_RI;
		if (s->mcr & UART_MCR_OUT2)
			lines |= UART_MSR_DCD;
	}
	changed = lines ^ s->msr_lines;
	if (changed & UART_MSR_CTS)
		s->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		s->msr_delta |= UART_MSR_DDSR;
	if ((changed & UART_MSR_RI) && !(lines & UART_MSR_RI))
		s->msr_delta |= UART_MSR_TERI;   /* trailing edge only */
	if (changed & UART_MSR_DCD)
		s->msr_delta |= UART_MSR_DDCD;
	s->msr_lines = lines;
}

static void write_fcr(struct serial *s, uint8_t v)
{
	bool enable = v & UART_FCR_ENABLE;

	/* Switching between FIFO and 16450 mode empties the FIFOs. */
	if (enable != s->fifo_on) {
		rx_clear(s);
		s->fifo_on = enable;
	}
	/* The other FCR bits are only programmed together with ENABLE. */
	if (enable) {
		if (v & UART_FCR_CLEAR_RX)
			rx_clear(s);
		s->fcr = v & (UART_FCR_TRIG_MASK | UART_FCR_DMA);
	}
	TRACE(TRACE_IO, "serial %#x: FCR=%#x (fifo %s, trigger %u)", s->base, v,
	      s->fifo_on ? "on" : "off", rx_trigger(s));
	restart_timeout(s);
	update_irq(s);
	poll_backend(s);
}

static void write_ier(struct serial *s, uint8_t v)
{
	uint8_t old = s->ier;

	s->ier = v & 0x0f;
	/* THR is always empty here: enabling ETBEI raises THRE at once. */
	if ((s->ier & UART_IER_ETBEI) && !(old & UART_IER_ETBEI))
		s->thri = true;
	if (!(s->ier & UART_IER_ETBEI))
		s->thri = false;
	update_irq(s);
}

static void write_mcr(struct serial *s, uint8_t v)
{
	bool was_loop = s->mcr & UART_MCR_LOOP;

	s->mcr = v & 0x1f;
	if (was_loop != !!(s->mcr & UART_MCR_LOOP))
		TRACE(TRACE_IO, "serial %#x: loopback %s", s->base, was_loop ? "off" : "on");
	update_modem_lines(s);
	update_irq(s);
	if (was_loop && !(s->mcr & UART_MCR_LOOP))
		poll_backend(s);
}

static void serial_write_byte(void *dev, unsigned off, uint8_t v)
{
	struct serial *s = dev;
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_THR:
		if (dlab) {
			s->divisor = (uint16_t)((s->divisor & 0xff00) | v);
			TRACE(TRACE_IO, "serial %#x: divisor %u", s->base, s->divisor);
		} else {
			write_thr(s, v);
		}
		break;
	case UART_IER:
		if (dlab) {
			s->divisor = (uint16_t)((s->divisor & 0x00ff) | v << 8);
			TRACE(TRACE_IO, "serial %#x: divisor %u", s->base, s->divisor);
		} else {
			write_ier(s, v);
		}
		break;
	case UART_FCR:
		write_fcr(s, v);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		write_mcr(s, v);
		break;
	case UART_LSR:
	case UART_MSR:
		/* read-only (factory test on real parts) */
		break;
	default:
		s->scr = v;
		break;
	}
}

BYTEIO_DEV_OPS(serial_ops, "serial", serial_read_byte, serial_write_byte, SERIAL_IO_LEN);

void serial_reset(struct serial *s)
{
	s->ier = s->lcr = s->mcr = s->scr = 0;
	s->lsr_err = 0;
	s->msr_lines = IDLE_MODEM_LINES;
	s->msr_delta = 0;
	s->fcr = 0;
	s->fifo_on = false;
	s->divisor = RESET_DIVISOR;
	s->last_rx = 0;
	s->thri = false;
	rx_clear(s);
	update_irq(s);
}

int serial_create(struct chardev *chr, const struct irq_line *irq, struct clock *clk,
		  struct serial **out)
{
	struct serial *s;

	if (!clk || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->chr = chr;
	if (irq)
		s->irq = *irq;
	s->clk = clk;
	ktimer_init(&s->timeout_timer, clk, timeout_fire, s);
	serial_reset(s);
	if (chr) {
		struct chardev_frontend fe = {
			.can_receive = fe_can_receive,
			.receive = fe_receive,
			.opaque = s,
		};

		chardev_set_frontend(chr, &fe);
	}
	*out = s;
	return 0;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	ktimer_del(&s->timeout_timer);
	if (s->chr) {
		struct chardev_frontend none = { 0 };

		chardev_set_frontend(s->chr, &none);
	}
	free(s);
}

int serial_attach(struct serial *s, struct bus *pio, uint16_t base)
{
	s->base = base;
	return bus_register(pio, base, SERIAL_IO_LEN, &serial_ops, s);
}

bool serial_irq_level(const struct serial *s)
{
	return s->irq_level;
}
