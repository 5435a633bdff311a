/*
 * exitcode.S - checks the isa-debug-exit mapping: writing V to port 0xf4
 * ends the VM with exit status (V << 1) | 1, taken modulo 256 by the OS
 * (so only V's low 7 bits show). Built in three variants (meson.build):
 *
 *	exitcode	outb 0x2a        -> status 85
 *	exitcode_w	outw 0x0142      -> status 133  (0x285 & 0xff)
 *	exitcode_l	outl 0x12345603  -> status 7    (0x2468ac07 & 0xff)
 *
 * The whole access width goes to the device (-device isa-debug-exit,
 * iobase=0xf4,iosize=0x4 covers 0xf4..0xf7), as with QEMU. If the write
 * does not end the VM the guest says so and halts (the runner's timeout
 * then fails the test).
 */
#include "lib.inc"

#ifndef EXIT_WIDTH
#define EXIT_WIDTH		1
#define EXIT_VALUE		0x2a
#endif
#define EXPECTED_STATUS		((((EXIT_VALUE) << 1) | 1) & 0xff)

	ROM_BEGIN

entry16:
	BOOT16
	POST 0x40
	PRINT 16, "exitcode: writing 0x"
	PRINT_HEX 16, $EXIT_VALUE
	PRINT 16, " with a "
	PRINT_DEC 16, $EXIT_WIDTH
	PRINT 16, "-byte access to port 0xf4, expecting status "
	PRINT_DEC 16, $EXPECTED_STATUS
	PRINT 16, "\n"
#if EXIT_WIDTH == 1
	movb $EXIT_VALUE, %al
	outb %al, $PORT_DEBUG_EXIT
#elif EXIT_WIDTH == 2
	movw $EXIT_VALUE, %ax
	outw %ax, $PORT_DEBUG_EXIT
#elif EXIT_WIDTH == 4
	movl $EXIT_VALUE, %eax
	outl %eax, $PORT_DEBUG_EXIT
#else
#error "EXIT_WIDTH must be 1, 2 or 4"
#endif
	PRINT 16, "FAIL: exitcode: still running after the isa-debug-exit write\n"
	HALT_FOREVER

	LIB_CODE
	ROM_END entry16
