/* Unit tests for devices/legacy/serial.c: the 16550A register model. */
#include <errno.h>

#include "devices/legacy/serial.h"
#include "tests/unit/support.h"
#include "vmm/memmap.h"

#define NS 1000000000ULL

struct fixture {
	struct fake_clock clk;
	struct irq_rec irq;
	struct cap_chardev chr;
	struct bus bus;
	struct serial *s;
	const struct bus_range *r;
};

static struct fixture f;

static void setup(void)
{
	fake_clock_init(&f.clk, 1000);
	irq_rec_init(&f.irq);
	cap_chardev_init(&f.chr);
	bus_init(&f.bus, "pio");
	ck_assert_int_eq(serial_create(&f.chr.chr, irq_rec_line(&f.irq, GSI_COM1), &f.clk.clock,
				       &f.s), 0);
	ck_assert_int_eq(serial_attach(f.s, &f.bus, PORT_COM1), 0);
	f.r = bus_find(&f.bus, PORT_COM1);
	ck_assert_ptr_nonnull(f.r);
}

static void teardown(void)
{
	bus_unregister_dev(&f.bus, f.s);
	serial_destroy(f.s);
	bus_free(&f.bus);
}

static uint8_t rd(unsigned off)
{
	return (uint8_t)dev_read(f.r->ops, f.r->dev, off, 1);
}

static void wr(unsigned off, uint8_t v)
{
	dev_write(f.r->ops, f.r->dev, off, v, 1);
}

static int level(void)
{
	return f.irq.level[GSI_COM1];
}

static unsigned raises(void)
{
	return f.irq.raises[GSI_COM1];
}

/* Push bytes straight into the front-end, bypassing can_receive (hostile back-end). */
static void force_rx(const char *buf, size_t len)
{
	f.chr.chr.fe.receive(f.chr.chr.fe.opaque, (const uint8_t *)buf, len);
}

/* Character time the tests expect, computed from first principles. */
static uint64_t expect_char_ns(unsigned divisor, unsigned tenth_bits)
{
	return (uint64_t)tenth_bits * divisor * NS / (10ULL * SERIAL_BAUD_BASE);
}

START_TEST(test_reset_values)
{
	ck_assert_uint_eq(rd(UART_IER), 0);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
	ck_assert_uint_eq(rd(UART_LCR), 0);
	ck_assert_uint_eq(rd(UART_MCR), 0);
	ck_assert_uint_eq(rd(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	ck_assert_uint_eq(rd(UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	ck_assert_uint_eq(rd(UART_SCR), 0);
	wr(UART_LCR, UART_LCR_DLAB);
	ck_assert_uint_eq(rd(UART_DLL), 12);
	ck_assert_uint_eq(rd(UART_DLM), 0);
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(f.r->len, SERIAL_IO_LEN);
}
END_TEST

START_TEST(test_tx_and_word_length)
{
	wr(UART_LCR, 0x03);
	wr(UART_THR, 'H');
	wr(UART_THR, 'i');
	ck_assert_str_eq(f.chr.out, "Hi");
	/* transmission is instantaneous */
	ck_assert_uint_eq(rd(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			  UART_LSR_THRE | UART_LSR_TEMT);
	/* 7-bit words drop bit 7, 5-bit words keep 5 bits */
	wr(UART_LCR, 0x02);
	wr(UART_THR, 0xc1);
	wr(UART_LCR, 0x00);
	wr(UART_THR, 0xff);
	ck_assert_uint_eq(f.chr.len, 4);
	ck_assert_uint_eq((uint8_t)f.chr.out[2], 0x41);
	ck_assert_uint_eq((uint8_t)f.chr.out[3], 0x1f);
}
END_TEST

START_TEST(test_dlab_divisor_and_scratch)
{
	wr(UART_IER, UART_IER_ERBFI);
	wr(UART_LCR, UART_LCR_DLAB | 0x03);
	wr(UART_DLL, 0x01);
	wr(UART_DLM, 0x80);
	ck_assert_uint_eq(rd(UART_DLL), 0x01);
	ck_assert_uint_eq(rd(UART_DLM), 0x80);
	/* with DLAB set, offset 0 is not THR and offset 1 is not IER */
	ck_assert_uint_eq(f.chr.len, 0);
	wr(UART_LCR, 0x03);
	ck_assert_uint_eq(rd(UART_IER), UART_IER_ERBFI);
	wr(UART_SCR, 0x5a);
	ck_assert_uint_eq(rd(UART_SCR), 0x5a);
	wr(UART_SCR, 0xa5);
	ck_assert_uint_eq(rd(UART_SCR), 0xa5);
}
END_TEST

START_TEST(test_rx_holding_register)
{
	unsigned polls;

	wr(UART_LCR, 0x03);
	ck_assert_uint_eq(f.chr.chr.fe.can_receive(f.chr.chr.fe.opaque), 1);
	ck_assert_uint_eq(cap_chardev_input(&f.chr, "AB", 2), 1);
	ck_assert_uint_eq(f.chr.chr.fe.can_receive(f.chr.chr.fe.opaque), 0);
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	polls = f.chr.polls;
	ck_assert_uint_eq(rd(UART_RBR), 'A');
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_DR, 0);
	/* draining the holding register asks the back-end for more */
	ck_assert_uint_eq(f.chr.polls, polls + 1);
	/* an empty RBR reads back the last character */
	ck_assert_uint_eq(rd(UART_RBR), 'A');
	/* overrun without FIFO: the new character overwrites RBR */
	force_rx("XY", 2);
	ck_assert_uint_eq(rd(UART_LSR) & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_OE, 0);   /* cleared by the read */
	ck_assert_uint_eq(rd(UART_RBR), 'Y');
	/* no timeout machinery without FIFOs */
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
}
END_TEST

START_TEST(test_fifo_trigger_levels)
{
	static const unsigned trig[4] = { 1, 4, 8, 14 };
	unsigned t, i;

	wr(UART_LCR, 0x03);
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_ERBFI);
	for (t = 0; t < 4; t++) {
		wr(UART_FCR, (uint8_t)(t << 6 | UART_FCR_ENABLE | UART_FCR_CLEAR_RX));
		ck_assert_uint_eq(rd(UART_IIR), UART_IIR_FIFO_ON | UART_IIR_NO_INT);
		for (i = 1; i < trig[t]; i++) {
			ck_assert_uint_eq(cap_chardev_input(&f.chr, "x", 1), 1);
			ck_assert_uint_eq(rd(UART_IIR), UART_IIR_FIFO_ON | UART_IIR_NO_INT);
			ck_assert_int_eq(level(), 0);
		}
		ck_assert_uint_eq(cap_chardev_input(&f.chr, "y", 1), 1);
		ck_assert_uint_eq(rd(UART_IIR), UART_IIR_FIFO_ON | UART_IIR_RDI);
		ck_assert_int_eq(level(), 1);
		/* one read takes it below the trigger again */
		rd(UART_RBR);
		ck_assert_uint_ne(rd(UART_IIR) & UART_IIR_ID_MASK, UART_IIR_RDI);
		ck_assert_int_eq(level(), 0);
	}
}
END_TEST

START_TEST(test_fifo_char_timeout)
{
	uint64_t to;

	wr(UART_LCR, 0x03);                /* 8N1: 10 bits, divisor 12 */
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_ERBFI);
	wr(UART_FCR, 0x80 | UART_FCR_ENABLE);   /* trigger 8 */
	to = 4 * expect_char_ns(12, 100);
	ck_assert_uint_eq(cap_chardev_input(&f.chr, "abc", 3), 3);
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);
	fake_clock_advance(&f.clk, to - 1000);
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);
	ck_assert_int_eq(level(), 0);
	fake_clock_advance(&f.clk, 2000);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_FIFO_ON | UART_IIR_CTI);
	ck_assert_int_eq(level(), 1);
	/* reading a character clears the timeout and restarts its clock */
	ck_assert_uint_eq(rd(UART_RBR), 'a');
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);
	ck_assert_int_eq(level(), 0);
	/* new data also restarts it */
	fake_clock_advance(&f.clk, to / 2);
	ck_assert_uint_eq(cap_chardev_input(&f.chr, "d", 1), 1);
	fake_clock_advance(&f.clk, to / 2 + to / 4);
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);
	fake_clock_advance(&f.clk, to / 2);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_FIFO_ON | UART_IIR_CTI);
	/* draining the FIFO stops the timer */
	rd(UART_RBR);
	rd(UART_RBR);
	rd(UART_RBR);
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_DR, 0);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);
}
END_TEST

START_TEST(test_timeout_follows_line_settings)
{
	uint64_t to;

	/* 5 data bits, 1.5 stop bits, parity: 1 + 5 + 1 + 1.5 = 8.5 bits, divisor 3 */
	wr(UART_LCR, UART_LCR_DLAB | UART_LCR_STOP | UART_LCR_PARITY);
	wr(UART_DLL, 3);
	wr(UART_DLM, 0);
	wr(UART_LCR, UART_LCR_STOP | UART_LCR_PARITY);
	wr(UART_IER, UART_IER_ERBFI);
	wr(UART_FCR, 0xc1);
	to = 4 * expect_char_ns(3, 85);
	force_rx("q", 1);
	fake_clock_advance(&f.clk, to - 500);
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);
	fake_clock_advance(&f.clk, 1000);
	ck_assert_uint_eq(rd(UART_IIR), 0xcc);
	/* divisor 0 is taken as 1: a short but non-zero timeout */
	rd(UART_RBR);
	wr(UART_LCR, UART_LCR_DLAB | 0x03);
	wr(UART_DLL, 0);
	wr(UART_LCR, 0x03);
	force_rx("r", 1);
	ck_assert_uint_ge(fake_clock_next(&f.clk), f.clk.now + 4 * expect_char_ns(1, 100) - 1);
	fake_clock_advance(&f.clk, 4 * expect_char_ns(1, 100) + 1);
	ck_assert_uint_eq(rd(UART_IIR), 0xcc);
}
END_TEST

START_TEST(test_fifo_overflow)
{
	char buf[20];
	unsigned i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('A' + i);
	wr(UART_LCR, 0x03);
	wr(UART_FCR, UART_FCR_ENABLE);
	ck_assert_uint_eq(cap_chardev_input(&f.chr, buf, sizeof(buf)), SERIAL_FIFO_SIZE);
	ck_assert_uint_eq(f.chr.chr.fe.can_receive(f.chr.chr.fe.opaque), 0);
	/* a back-end that ignores can_receive causes an overrun, FIFO kept */
	force_rx("!!", 2);
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_OE, UART_LSR_OE);
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_OE, 0);
	for (i = 0; i < SERIAL_FIFO_SIZE; i++)
		ck_assert_uint_eq(rd(UART_RBR), (uint8_t)('A' + i));
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_DR, 0);
	ck_assert_uint_eq(f.chr.chr.fe.can_receive(f.chr.chr.fe.opaque), SERIAL_FIFO_SIZE);
}
END_TEST

START_TEST(test_fcr_clear_and_toggle)
{
	wr(UART_LCR, 0x03);
	wr(UART_IER, UART_IER_ERBFI);
	wr(UART_FCR, 0xc1);
	force_rx("abcdef", 6);
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	/* RX reset */
	wr(UART_FCR, 0xc1 | UART_FCR_CLEAR_RX);
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_DR, 0);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	/* FIFO off empties it and drops to a 1-byte holding register */
	force_rx("gh", 2);
	wr(UART_FCR, 0x00);
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_DR, 0);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
	ck_assert_uint_eq(f.chr.chr.fe.can_receive(f.chr.chr.fe.opaque), 1);
	/* TX reset leaves RX alone; trigger 4 then needs four bytes */
	wr(UART_FCR, 0x41);
	force_rx("abc", 3);
	wr(UART_FCR, 0x41 | UART_FCR_CLEAR_TX);
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);
	force_rx("d", 1);
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_RDI);
	ck_assert_uint_eq(rd(UART_RBR), 'a');
}
END_TEST

START_TEST(test_iir_priority_ladder)
{
	char buf[SERIAL_FIFO_SIZE + 1];
	unsigned i;

	memset(buf, 'z', sizeof(buf));
	wr(UART_LCR, 0x03);
	wr(UART_FCR, UART_FCR_ENABLE);          /* trigger 1 */
	/* loopback: TX feeds RX, MCR changes feed MSR deltas */
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	wr(UART_IER, 0x0f);
	for (i = 0; i < sizeof(buf); i++)
		wr(UART_THR, (uint8_t)buf[i]);          /* 17 bytes: overrun */
	ck_assert_uint_eq(f.chr.len, 0);
	/* RLS outranks everything */
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_RLSI);
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_RLSI);  /* reading IIR does not clear */
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_OE, UART_LSR_OE);
	/* then received data */
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_RDI);
	for (i = 0; i < SERIAL_FIFO_SIZE; i++)
		ck_assert_uint_eq(rd(UART_RBR), 'z');
	/* then THRE (pending since the last THR write); reading IIR acks it */
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_THRI);
	/* then modem status, cleared by reading MSR */
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_MSI);
	ck_assert_uint_ne(rd(UART_MSR) & UART_MSR_DELTAS, 0);
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);

	/* character timeout sits between RDI and THRE */
	wr(UART_FCR, 0x41);                      /* trigger 4 */
	wr(UART_THR, 'k');                       /* 1 byte below trigger; THRE pending again */
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_THRI);
	wr(UART_IER, 0x0d);
	wr(UART_IER, 0x0f);                      /* re-arm THRE */
	fake_clock_advance(&f.clk, 10 * 1000 * 1000);
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_CTI);
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_CTI);   /* THRE not acked by this */
	ck_assert_uint_eq(rd(UART_RBR), 'k');
	ck_assert_uint_eq(rd(UART_IIR), 0xc0 | UART_IIR_THRI);
	ck_assert_uint_eq(rd(UART_IIR), 0xc1);
	/* the whole time the IRQ pin stayed low: loopback gates OUT2 */
	ck_assert_uint_eq(raises(), 0);
}
END_TEST

START_TEST(test_thre_semantics)
{
	wr(UART_LCR, 0x03);
	wr(UART_MCR, UART_MCR_OUT2);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
	/* enabling ETBEI while THR is empty raises THRE at once */
	wr(UART_IER, UART_IER_ETBEI);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(raises(), 1);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_THRI);
	/* reading IIR that reported it clears it */
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
	/* rewriting the same IER does not re-raise */
	wr(UART_IER, UART_IER_ETBEI);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
	/* off then on does (what Linux's THRE test relies on) */
	wr(UART_IER, 0);
	wr(UART_IER, UART_IER_ETBEI);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_THRI);
	/* each THR write gives a fresh edge, even when THRE was still pending */
	wr(UART_IER, 0);
	wr(UART_IER, UART_IER_ETBEI);
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(raises(), 3);
	wr(UART_THR, 'a');
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(raises(), 4);
	/* THRE pending but masked by a higher source: reading IIR keeps it */
	wr(UART_IER, UART_IER_ETBEI | UART_IER_ERBFI);
	force_rx("r", 1);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_RDI);
	rd(UART_RBR);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_THRI);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
	/* disabling ETBEI forgets it */
	wr(UART_THR, 'b');
	wr(UART_IER, UART_IER_ERBFI);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
	ck_assert_int_eq(level(), 0);
	/* THR writes without ETBEI raise nothing */
	wr(UART_THR, 'c');
	ck_assert_int_eq(level(), 0);
	ck_assert_str_eq(f.chr.out, "abc");
}
END_TEST

START_TEST(test_loopback)
{
	unsigned polls;

	wr(UART_LCR, 0x03);
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT1 | UART_MCR_OUT2);
	/* MSR mirrors the outputs; CTS/DSR/DCD were already up, RI rose */
	ck_assert_uint_eq(rd(UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD);
	/* Linux's probe: LOOP|OUT2|RTS reads back DCD|CTS */
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	ck_assert_uint_eq(rd(UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	/* all lines drop: every delta, TERI for RI's trailing edge */
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	rd(UART_MSR);
	wr(UART_MCR, UART_MCR_LOOP);
	ck_assert_uint_eq(rd(UART_MSR), UART_MSR_TERI);
	/* TX goes to RX, not to the back-end; the back-end is cut off */
	wr(UART_THR, 'x');
	ck_assert_uint_eq(f.chr.len, 0);
	ck_assert_uint_eq(cap_chardev_input(&f.chr, "no", 2), 0);
	force_rx("no", 2);
	ck_assert_uint_eq(rd(UART_RBR), 'x');
	ck_assert_uint_eq(rd(UART_LSR) & UART_LSR_DR, 0);
	/* leaving loopback restores the idle inputs and asks for input */
	polls = f.chr.polls;
	wr(UART_MCR, 0);
	ck_assert_uint_eq(rd(UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD |
					 UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	ck_assert_uint_eq(f.chr.polls, polls + 1);
	wr(UART_THR, 'y');
	ck_assert_str_eq(f.chr.out, "y");
}
END_TEST

START_TEST(test_out2_gating)
{
	wr(UART_IER, UART_IER_ETBEI);
	ck_assert_uint_eq(rd(UART_IIR) & UART_IIR_NO_INT, 0);   /* acks THRE */
	wr(UART_IER, 0);
	wr(UART_IER, UART_IER_ETBEI);
	ck_assert_int_eq(level(), 0);
	ck_assert(!serial_irq_level(f.s));
	wr(UART_MCR, UART_MCR_OUT2);
	ck_assert_int_eq(level(), 1);
	ck_assert(serial_irq_level(f.s));
	wr(UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	ck_assert_int_eq(level(), 0);
	wr(UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
	ck_assert_int_eq(level(), 1);
	wr(UART_MCR, UART_MCR_DTR);
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(raises(), 2);
	/* still pending in the UART */
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_THRI);
}
END_TEST

START_TEST(test_modem_status_interrupt)
{
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_EDSSI);
	ck_assert_int_eq(level(), 0);
	wr(UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);   /* CTS/DSR drop: deltas */
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_MSI);
	wr(UART_MCR, UART_MCR_OUT2);                    /* back: interrupt delivered */
	ck_assert_int_eq(level(), 1);
	ck_assert_uint_eq(rd(UART_MSR) & UART_MSR_DELTAS, UART_MSR_DCTS | UART_MSR_DDSR);
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
}
END_TEST

START_TEST(test_malformed_accesses)
{
	wr(UART_SCR, 0x33);
	/* out-of-range offsets: all-ones, writes dropped */
	ck_assert_uint_eq(dev_read(f.r->ops, f.r->dev, 8, 1), 0xff);
	ck_assert_uint_eq(dev_read(f.r->ops, f.r->dev, 0x1000, 4), 0xffffffff);
	ck_assert_uint_eq(dev_read(f.r->ops, f.r->dev, ~0ULL, 2), 0xffff);
	dev_write(f.r->ops, f.r->dev, ~0ULL, 0x4141, 2);   /* must not wrap to THR */
	dev_write(f.r->ops, f.r->dev, 8, 0x41, 1);
	ck_assert_uint_eq(f.chr.len, 0);
	/* wide accesses split into bytes: LSR, MSR, SCR, then one out of range */
	ck_assert_uint_eq(dev_read(f.r->ops, f.r->dev, UART_LSR, 4),
			  0xff330000u | (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD) << 8 | 0x60);
	/* a dword write at offset 6: MSR ignored, SCR written, rest dropped */
	dev_write(f.r->ops, f.r->dev, UART_MSR, 0xaabbcc00, 4);
	ck_assert_uint_eq(rd(UART_SCR), 0xcc);
	ck_assert_uint_eq(rd(UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	/* 8-byte read over the whole file */
	ck_assert_uint_eq(dev_read(f.r->ops, f.r->dev, 0, 8) >> 56, 0xcc);
	/* writes to read-only LSR/MSR change nothing */
	wr(UART_LSR, 0xff);
	wr(UART_MSR, 0xff);
	ck_assert_uint_eq(rd(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	ck_assert_uint_eq(rd(UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	/* reserved IER and MCR bits read as 0 (what Linux's probes check) */
	wr(UART_IER, 0xf0);
	ck_assert_uint_eq(rd(UART_IER), 0);
	wr(UART_MCR, 0xe0);
	ck_assert_uint_eq(rd(UART_MCR), 0);
	/* IIR bits 5:4 read 0 even after a 64-byte-FIFO request (16750 probe) */
	wr(UART_FCR, 0x21);
	ck_assert_uint_eq(rd(UART_IIR) & 0x30, 0);
	/* the bus splits a straddling access the same way */
	{
		struct io_ctx ctx = { .cpu = 0 };
		uint8_t b[4];

		ck_assert_int_eq(bus_read(&f.bus, &ctx, PORT_COM1 + 6, b, 4), 0);
		ck_assert_uint_eq(b[1], 0xcc);
		ck_assert_uint_eq(b[2], 0xff);
	}
}
END_TEST

START_TEST(test_reset_and_create_errors)
{
	struct serial *s2 = NULL;

	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_ETBEI);
	wr(UART_FCR, 0xc1);
	force_rx("abc", 3);
	ck_assert_int_eq(level(), 1);
	serial_reset(f.s);
	ck_assert_int_eq(level(), 0);
	ck_assert_uint_eq(rd(UART_IIR), UART_IIR_NO_INT);
	ck_assert_uint_eq(rd(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	ck_assert_uint_eq(fake_clock_next(&f.clk), 0);
	ck_assert_int_eq(serial_create(NULL, NULL, NULL, &s2), -EINVAL);
	ck_assert_ptr_null(s2);
	/* no chardev, no IRQ: still a working register file */
	ck_assert_int_eq(serial_create(NULL, NULL, &f.clk.clock, &s2), 0);
	serial_reset(s2);
	ck_assert(!serial_irq_level(s2));
	serial_destroy(s2);
	serial_destroy(NULL);
	/* the same base cannot be attached twice */
	ck_assert_int_eq(serial_attach(f.s, &f.bus, PORT_COM1), -EEXIST);
}
END_TEST

START_TEST(test_destroy_detaches_frontend)
{
	struct cap_chardev c2;
	struct serial *s2;

	cap_chardev_init(&c2);
	ck_assert_int_eq(serial_create(&c2.chr, NULL, &f.clk.clock, &s2), 0);
	ck_assert_ptr_nonnull(c2.chr.fe.can_receive);
	ck_assert_uint_eq(cap_chardev_input(&c2, "a", 1), 1);
	serial_destroy(s2);
	ck_assert_ptr_null(c2.chr.fe.can_receive);
	ck_assert_uint_eq(cap_chardev_input(&c2, "a", 1), 0);
}
END_TEST

START_TEST(test_rx_polls_backend_when_drained)
{
	unsigned i, polls;

	wr(UART_LCR, 0x03);
	wr(UART_FCR, UART_FCR_ENABLE);
	ck_assert_uint_eq(cap_chardev_input(&f.chr, "0123456789abcdef", 16), 16);
	polls = f.chr.polls;
	for (i = 0; i < 15; i++)
		rd(UART_RBR);
	ck_assert_uint_eq(f.chr.polls, polls);
	rd(UART_RBR);
	ck_assert_uint_eq(f.chr.polls, polls + 1);
	/* reading an empty FIFO does not spin the back-end */
	rd(UART_RBR);
	ck_assert_uint_eq(f.chr.polls, polls + 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reset_values);
	tcase_add_test(tc, test_tx_and_word_length);
	tcase_add_test(tc, test_dlab_divisor_and_scratch);
	tcase_add_test(tc, test_rx_holding_register);
	tcase_add_test(tc, test_fifo_trigger_levels);
	tcase_add_test(tc, test_fifo_char_timeout);
	tcase_add_test(tc, test_timeout_follows_line_settings);
	tcase_add_test(tc, test_fifo_overflow);
	tcase_add_test(tc, test_fcr_clear_and_toggle);
	tcase_add_test(tc, test_iir_priority_ladder);
	tcase_add_test(tc, test_thre_semantics);
	tcase_add_test(tc, test_loopback);
	tcase_add_test(tc, test_out2_gating);
	tcase_add_test(tc, test_modem_status_interrupt);
	tcase_add_test(tc, test_malformed_accesses);
	tcase_add_test(tc, test_reset_and_create_errors);
	tcase_add_test(tc, test_destroy_detaches_frontend);
	tcase_add_test(tc, test_rx_polls_backend_when_drained);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
