/*
 * Minimal PS/2 controller (8042) with a keyboard behind it, at ports 0x60
 * (data, PORT_I8042_DATA) and 0x64 (status/command, PORT_I8042_CMD);
 * IRQ 1 (keyboard) and IRQ 12 (aux) as levels.
 *
 * Port 0x60: read  the output buffer (clears OBF; an empty buffer reads
 *                  its last value again),
 *            write data for a pending controller command (0x60-0x7f,
 *                  0xd1-0xd4), else a byte to the keyboard.
 * Port 0x64: read  status, write a controller command.
 *
 * Status: bit 0 OBF, 1 IBF (always 0: input is consumed at once), 2 SYS
 * (command byte bit 2), 3 A2 (last write was to 0x64), 4 keylock (1 = not
 * inhibited), 5 AUX OBF (the output byte comes from the aux port),
 * 6 timeout (set with a 0xfe "no aux device" byte), 7 parity (0).
 *
 * Command byte (controller RAM 0): bit 0 kbd IRQ enable, 1 aux IRQ enable,
 * 2 SYS, 4 kbd disable, 5 aux disable, 6 set-2 -> set-1 translation.
 * Power-on value 0x61 (translation, aux disabled, kbd IRQ on: what a BIOS
 * leaves, for kernels booted directly) with SYS = 0, so OVMF's
 * Ps2KeyboardDxe takes its cold-start path (self test, then 0x67).
 *
 * Controller commands: 0x20-0x3f read RAM, 0x60-0x7f write RAM, 0xa4
 * password test (0xf1: none), 0xa7/0xa8 aux disable/enable, 0xa9 aux
 * interface test (0x00), 0xaa self test (0x55, sets SYS), 0xab kbd
 * interface test (0x00), 0xad/0xae kbd disable/enable, 0xc0 input port
 * (0xa0: not inhibited, no manufacturing jumper), 0xd0 output port (bits
 * 4/5 show a pending kbd/aux byte), 0xd1 write output port (bit 0 = 0 calls
 * reset_cb, bit 1 = A20, stored), 0xd2/0xd3 next byte appears as kbd/aux
 * output, 0xd4 next byte goes to the aux device, 0xf0-0xff pulse output
 * port bits 3:0 low for each 0 bit (bit 0: reset_cb). Others are ignored.
 *
 * Keyboard (port 0x60 writes): 0xff reset (0xfa, 0xaa), 0xfe resend the
 * last byte, 0xf6 defaults, 0xf5 defaults + stop scanning, 0xf4 start
 * scanning (each of these empties the keyboard's queue first), 0xf3 + arg
 * typematic, 0xf2 identify (0xfa, 0xab, 0x83), 0xf0 + arg scan code set
 * (0: query, 1-3: select), 0xee echo (0xee), 0xed + arg LEDs, 0xf7-0xfd
 * acknowledged, anything else 0xfe (resend). A bad argument gets 0xfe and
 * the keyboard keeps waiting for it; a command byte (>= 0xed) instead of
 * an argument starts that command. Writing to the keyboard clears the kbd
 * disable bit and 0xd4 clears the aux disable bit, as on real controllers.
 *
 * Aux port: the controller side is complete (0xa7/0xa8/0xa9, 0xd3 loop,
 * IRQ 12) but no mouse is plugged in. A byte sent with 0xd4 comes back as
 * 0xfe with AUX OBF and the timeout bit set, which is what a controller
 * reports for an absent device: Linux's psmouse sees SERIO_TIMEOUT and gives
 * up at once, and the i8042 aux/IRQ 12 probes (loopback) still pass.
 *
 * Output priority: controller replies (including 0xd2/0xd3 data and the
 * 0xd4 "no device" answer) first, then keyboard bytes, which are held while
 * the kbd interface is disabled. The translation bit is stored and reported but not applied:
 * bytes pass through unchanged (no real input source exists yet).
 */
#ifndef KVMRUN_DEVICES_LEGACY_I8042_H
#define KVMRUN_DEVICES_LEGACY_I8042_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"
#include "vmm/util.h"

/* Status register (port 0x64 read) */
#define I8042_STR_OBF       0x01
#define I8042_STR_IBF       0x02
#define I8042_STR_SYS       0x04
#define I8042_STR_A2        0x08
#define I8042_STR_KEYLOCK   0x10   /* 1 = keyboard not inhibited */
#define I8042_STR_AUXOBF    0x20
#define I8042_STR_TIMEOUT   0x40
#define I8042_STR_PARITY    0x80

/* Command byte */
#define I8042_CTR_KBDINT    0x01
#define I8042_CTR_AUXINT    0x02
#define I8042_CTR_SYS       0x04
#define I8042_CTR_KBDDIS    0x10
#define I8042_CTR_AUXDIS    0x20
#define I8042_CTR_XLATE     0x40
#define I8042_CTR_POWER_ON  (I8042_CTR_XLATE | I8042_CTR_AUXDIS | I8042_CTR_KBDINT)

/* Controller commands (port 0x64 write) */
#define I8042_CMD_READ_CTR     0x20
#define I8042_CMD_WRITE_CTR    0x60
#define I8042_CMD_PWD_TEST     0xa4
#define I8042_CMD_AUX_DISABLE  0xa7
#define I8042_CMD_AUX_ENABLE   0xa8
#define I8042_CMD_AUX_TEST     0xa9
#define I8042_CMD_SELF_TEST    0xaa
#define I8042_CMD_KBD_TEST     0xab
#define I8042_CMD_KBD_DISABLE  0xad
#define I8042_CMD_KBD_ENABLE   0xae
#define I8042_CMD_READ_INPORT  0xc0
#define I8042_CMD_READ_OUTPORT 0xd0
#define I8042_CMD_WRITE_OUTPORT 0xd1
#define I8042_CMD_WRITE_KBD_OB 0xd2
#define I8042_CMD_WRITE_AUX_OB 0xd3
#define I8042_CMD_WRITE_AUX    0xd4
#define I8042_CMD_PULSE_RESET  0xfe

/* Output port (0xd0/0xd1) */
#define I8042_OUT_RESET     0x01   /* 0 = assert system reset */
#define I8042_OUT_A20       0x02
#define I8042_OUT_KBD_OBF   0x10
#define I8042_OUT_AUX_OBF   0x20
#define I8042_OUT_POWER_ON  0xcf   /* reset released, A20 on, lines idle high */
#define I8042_INPORT        0xa0

/* Replies */
#define I8042_SELF_TEST_OK  0x55
#define I8042_NO_PASSWORD   0xf1
#define KBD_ACK             0xfa
#define KBD_RESEND          0xfe
#define KBD_BAT_OK          0xaa
#define KBD_ECHO            0xee
#define KBD_ID0             0xab
#define KBD_ID1             0x83

/* Keyboard commands (port 0x60 write) */
#define KBD_CMD_SET_LEDS    0xed
#define KBD_CMD_ECHO        0xee
#define KBD_CMD_SCANSET     0xf0
#define KBD_CMD_IDENTIFY    0xf2
#define KBD_CMD_TYPEMATIC   0xf3
#define KBD_CMD_ENABLE      0xf4
#define KBD_CMD_DISABLE     0xf5
#define KBD_CMD_DEFAULTS    0xf6
#define KBD_CMD_RESEND      0xfe
#define KBD_CMD_RESET       0xff

#define I8042_QUEUE_SIZE    16

typedef void (*i8042_reset_cb)(void *opaque);

struct i8042;

/*
 * @kbd_irq (IRQ 1) and @aux_irq (IRQ 12) may be NULL and are copied.
 * @reset_cb (required) is called for 0xd1 with bit 0 clear and for 0xfe-style
 * pulses; it only requests the reset.
 */
int i8042_create(const struct irq_line *kbd_irq, const struct irq_line *aux_irq,
		 i8042_reset_cb reset_cb, void *opaque, struct i8042 **out) __must_check;
void i8042_destroy(struct i8042 *k);
/* Power-on state of controller and keyboard (machine reset). */
void i8042_reset(struct i8042 *k);
/* Register 0x60 and 0x64 (one byte each) on @pio. */
int i8042_attach(struct i8042 *k, struct bus *pio) __must_check;

/*
 * Queue bytes as the keyboard would send them, in the form the guest
 * expects: set i8042_scancode_set(), already translated to set 1 when
 * i8042_translating() (the controller does not translate). Returns how many
 * were queued: 0 while scanning is disabled, fewer when the queue is full.
 */
size_t i8042_inject_scancode(struct i8042 *k, const uint8_t *bytes, size_t len);
unsigned i8042_scancode_set(const struct i8042 *k);
bool i8042_translating(const struct i8042 *k);
/* Output port A20 bit. */
bool i8042_a20(const struct i8042 *k);

#endif
