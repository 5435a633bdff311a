/*
 * pio_loop.S - PIO exit benchmark guest: long mode, then
 * PIO_LOOP_ITERATIONS (default 1,000,000; the pio_loop_0 variant does 0,
 * to measure everything but the loop) byte writes to PIO_LOOP_PORT, an
 * I/O port no device decodes on kvmrun's or QEMU's pc and q35 machines,
 * so that each iteration is one complete exit to the VMM and back with no
 * device work. The host times the whole run (and may timestamp the two
 * serial lines); the guest only counts.
 *
 * Output on COM1:
 *	pio_loop: start, N writes to port 0xe00
 *	pio_loop: done
 * Exit: ACPI power-off (kvmrun: status 0), see power_off in lib.inc.
 */
#include "lib.inc"

#ifndef PIO_LOOP_ITERATIONS
#define PIO_LOOP_ITERATIONS	1000000
#endif
#define PIO_LOOP_PORT		0x0e00	/* TODO move to memmap.h: kept unassigned */

	ROM_BEGIN

entry16:
	BOOT16
	ENTER_PM32
	movl $4, %ecx
	ENTER_LONG
	movl $RAM_IDT, %edi
	call idt_install64
	PRINT 64, "pio_loop: start, "
	PRINT_DEC 64, $PIO_LOOP_ITERATIONS
	PRINT 64, " writes to port 0x"
	PRINT_HEX 64, $PIO_LOOP_PORT
	PRINT 64, "\n"

	movl $PIO_LOOP_ITERATIONS, %ecx
	movw $PIO_LOOP_PORT, %dx
	xorl %eax, %eax
	testl %ecx, %ecx
	jz 2f
1:	outb %al, %dx
	decl %ecx
	jnz 1b
2:	PRINT 64, "pio_loop: done\n"
	call power_off64

	LIB_CODE
	ROM_END entry16
