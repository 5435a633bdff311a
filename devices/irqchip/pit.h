/*
 * 8254 programmable interval timer at 0x40-0x43 (input clock 1.193182 MHz)
 * and the system control port B at 0x61.
 *
 * Three channels, modes 0-5, access modes LSB / MSB / LSB-then-MSB, counter
 * latch and read-back commands, BCD counting and the status byte. Counter
 * values and OUT levels are computed from the injected clock when they are
 * read; nothing ticks. Only channel 0's rising OUT edges raise an
 * interrupt (a pulse on its IRQ 0 line), and a timer is armed for exactly
 * the next such edge. Missed periods are coalesced into one edge, and IRQ 0
 * edges come at most every PIT_MIN_PERIOD_NS (the counters stay exact).
 *
 * Gates: channels 0 and 1 are always enabled; channel 2's gate is bit 0 of
 * port 0x61. Port 0x61 reads: bit 0 gate 2, bit 1 speaker data enable,
 * bits 2-3 as written, bit 4 the refresh-request toggle (flips every
 * 15.085 us), bit 5 channel 2 OUT. Linux's pit_calibrate_tsc() and
 * quick_pit_calibrate() use exactly these.
 *
 * At reset the channels are unprogrammed and silent (as with KVM's PIT).
 * Everything runs under the machine lock.
 */
#ifndef KVMRUN_PIT_H
#define KVMRUN_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/irq.h"

#define PIT_HZ              1193182ULL
#define PIT_REFRESH_NS      15085ULL   /* port 0x61 bit 4 half period */
#define PIT_MIN_PERIOD_NS   100000ULL  /* IRQ 0 edges at most every 100 us */

/* Access / read-write states. */
enum { PIT_RW_LATCH = 0, PIT_RW_LSB = 1, PIT_RW_MSB = 2, PIT_RW_WORD = 3, PIT_RW_WORD1 = 4 };

struct pit;

struct pit_channel {
	struct pit *pit;
	uint16_t count;          /* programmed reload value (0 = maximum) */
	uint8_t mode_bits;       /* control word bits 3-1 as written */
	uint8_t mode;            /* effective mode 0-5 */
	bool bcd;
	uint8_t rw_mode;         /* PIT_RW_LSB/MSB/WORD */
	uint8_t read_state, write_state;
	uint8_t write_lsb;
	uint16_t latched;
	uint8_t latch_state;     /* 0 none, else PIT_RW_* of the pending latched read */
	bool status_latched;
	uint8_t status;

	bool gate;
	bool counting;           /* a count was loaded since the control word */
	bool triggered;          /* modes 1 and 5: a gate edge started the count */
	bool paused;             /* gate low in modes 0, 2, 3, 4 */
	uint64_t load_time;      /* clock ns when counting (re)started */
	uint64_t paused_at;
};

struct pit_cfg {
	struct clock *clock;
	const struct irq_line *irq0;   /* channel 0 output (ISA IRQ 0) */
};

struct pit {
	struct pit_channel ch[3];
	struct clock *clock;
	const struct irq_line *irq0;
	struct ktimer timer;
	uint64_t edge_tick;      /* channel 0 tick of the armed edge */
	uint8_t port61;          /* bits 0-3 as written */
};

void pit_init(struct pit *p, const struct pit_cfg *cfg);
void pit_fini(struct pit *p);
void pit_reset(struct pit *p);

void pit_set_gate(struct pit *p, unsigned ch, bool gate);
/* OUT level of channel @ch now (0 or 1); 0 for a bad channel. */
int pit_get_out(struct pit *p, unsigned ch);
/* Counter value of channel @ch now, as the guest would read it (BCD if so). */
uint16_t pit_get_count(struct pit *p, unsigned ch);

extern const struct dev_ops pit_ops;        /* 0x40-0x43, dev = struct pit */
extern const struct dev_ops pit_port61_ops; /* 0x61, dev = struct pit */

#endif
