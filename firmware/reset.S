/*
 * reset.S - the three ways a pc guest asks for a reset, one per boot:
 *
 *	boot 1 (cold)		0xcf9 <- 0x06 (reset control: SYS_RST | RST_CPU)
 *	boot 2			port 0x92 bit 0: 0 -> 1 (fast reset; A20 kept)
 *	boot 3			i8042 command 0xfe (pulse output line 0: CPU reset)
 *	boot 4			"reset: all three reset paths rebooted", exit 0
 *
 * The boot number is kept in CMOS byte 0x40, a byte no firmware or VMM
 * gives a meaning to: CMOS RAM survives a reset (it is battery-backed on
 * real hardware; QEMU keeps it, except the shutdown status byte 0x0f,
 * which its reset clears). The guest stores 0xa1..0xa3 there before each
 * request and clears it at the end. RAM is not relied upon.
 *
 * Expected:
 *  - without -no-reboot: four boots, then isa-debug-exit 0 (status 1);
 *  - with -no-reboot: the first request ends the VM with status 0 after
 *    "reset: boot 1".
 * A request that does not reset within 500 ms ends the run through
 * isa-debug-exit with the code of the path that failed (status 3/5/7).
 */
#include "lib.inc"

#define E_CF9_NO_RESET		0x01
#define E_PORT92_NO_RESET	0x02
#define E_I8042_NO_RESET	0x03

#define CMOS_RESET_STAGE	0x40

#define STAGE_AFTER_CF9		0xa1
#define STAGE_AFTER_PORT92	0xa2
#define STAGE_AFTER_I8042	0xa3
#define RESET_WAIT_MS		500

	ROM_BEGIN

entry16:
	BOOT16
	POST 0x50
	CMOS_READ CMOS_RESET_STAGE
	cmpb $STAGE_AFTER_CF9, %al
	je boot2
	cmpb $STAGE_AFTER_PORT92, %al
	je boot3
	cmpb $STAGE_AFTER_I8042, %al
	je boot4

	PRINT 16, "reset: boot 1 (cold), resetting through 0xcf9\n"
	movb $STAGE_AFTER_CF9, %al
	CMOS_WRITE CMOS_RESET_STAGE
	OUT8 PORT_RESET_CTRL, 0x06
	movl $RESET_WAIT_MS, %ecx
	call pit_delay_ms16
	FAIL 16, E_CF9_NO_RESET, "reset: writing 0x06 to 0xcf9 did not reset"

boot2:
	PRINT 16, "reset: boot 2 (after 0xcf9), resetting through port 0x92\n"
	movb $STAGE_AFTER_PORT92, %al
	CMOS_WRITE CMOS_RESET_STAGE
	inb $PORT_SYS_CTRL_A, %al
	andb $0xfe, %al			/* the reset is the 0 -> 1 edge of bit 0 */
	outb %al, $PORT_SYS_CTRL_A
	orb $0x01, %al
	outb %al, $PORT_SYS_CTRL_A
	movl $RESET_WAIT_MS, %ecx
	call pit_delay_ms16
	FAIL 16, E_PORT92_NO_RESET, "reset: port 0x92 bit 0 did not reset"

boot3:
	PRINT 16, "reset: boot 3 (after port 0x92), resetting through the i8042\n"
	movb $STAGE_AFTER_I8042, %al
	CMOS_WRITE CMOS_RESET_STAGE
	movl $0x100000, %ecx		/* wait until the controller takes input */
1:	inb $PORT_I8042_CMD, %al
	testb $0x02, %al
	jz 2f
	decl %ecx
	jnz 1b
2:	OUT8 PORT_I8042_CMD, 0xfe
	movl $RESET_WAIT_MS, %ecx
	call pit_delay_ms16
	FAIL 16, E_I8042_NO_RESET, "reset: i8042 command 0xfe did not reset"

boot4:
	movb $0x00, %al
	CMOS_WRITE CMOS_RESET_STAGE
	PRINT 16, "reset: boot 4 (after the i8042)\n"
	PRINT 16, "reset: all three reset paths rebooted\n"
	POST 0x51
	DEBUG_EXIT EXIT_OK
	HALT_FOREVER

	LIB_CODE
	ROM_END entry16
