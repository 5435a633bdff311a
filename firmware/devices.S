/*
 * devices.S - every legacy device register a pc guest can see, checked
 * from 32-bit protected mode (no interrupts: everything is polled).
 *
 * Run with (kvmrun and QEMU alike):
 *	-device isa-debug-exit,iobase=0xf4,iosize=0x4
 *	-debugcon file:LOG -global isa-debugcon.iobase=0x402
 *	-m 128 (anything above 16 MiB: the CMOS check wants the 0x34 field)
 *
 * Checks, in order, each printed as "devices: <what> ok" on COM1:
 *  UART (COM1, 16550A):
 *   - scratch register keeps two patterns;
 *   - LCR.DLAB exposes the divisor latch (DLL/DLM read back), clearing it
 *     brings IER back; LCR reads back;
 *   - after a write to THR, LSR shows THRE|TEMT (bounded wait: kvmrun
 *     transmits at once, QEMU may take a moment);
 *   - IIR bits 7:6 = 11 with FIFOs enabled, 00 with them disabled, and
 *     bit 0 = 1 (nothing pending, IER = 0);
 *   - loopback (MCR bit 4): a byte written to THR arrives in RBR with
 *     LSR.DR, which clears once it is read; MSR's upper nibble mirrors
 *     MCR (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD).
 *  RTC/CMOS (MC146818):
 *   - register D has VRT (bit 7);
 *   - register A's UIP clears within a bounded wait;
 *   - register B = 0x02 (BCD, 24 h) reads back; time and date are valid
 *     BCD within range; in binary mode (B = 0x06) they are binary and in
 *     range; the seconds advance within 1.5 s;
 *   - memory size: 0x15/0x16 = 640 KiB, 0x17/0x18 = 0x30/0x31 != 0,
 *     0x34/0x35 != 0.
 *  PIT (8254) channel 2, gated through port 0x61:
 *   - in mode 2 with count 0xffff, two latched reads decrease;
 *   - in mode 0, OUT2 (port 0x61 bit 5) is low after programming and goes
 *     high at terminal count;
 *   - the read-back command returns channel 2's status (mode 0, lo/hi).
 *  POST port 0x80: progress codes are written all along (no read check).
 *  isa-debugcon at 0x402: reads return 0xe9; a line is written to it.
 *  Unassigned ports (0xcd8..0xcdf): dword/word/byte reads return all ones,
 *    also after writes.
 *  i8042: self test 0xaa -> 0x55, keyboard interface test 0xab -> 0x00.
 *
 * Exit (isa-debug-exit): 0 when everything passed, else the check's code:
 */
#define E_UART_SCR		0x01
#define E_UART_DLAB		0x02
#define E_UART_LSR		0x03
#define E_UART_IIR		0x04
#define E_UART_LOOP		0x05
#define E_UART_MSR		0x06
#define E_RTC_VRT		0x10
#define E_RTC_UIP		0x11
#define E_RTC_REGB		0x12
#define E_RTC_BCD		0x13
#define E_RTC_BINARY		0x14
#define E_CMOS_MEM		0x15
#define E_RTC_TICK		0x16
#define E_PIT_COUNT		0x20
#define E_PIT_OUT		0x21
#define E_PIT_READBACK		0x22
#define E_DEBUGCON		0x30
#define E_UNASSIGNED		0x31
#define E_I8042_SELFTEST	0x40
#define E_I8042_KBDTEST		0x41

#include "lib.inc"

#define UNASSIGNED_PORT		0xcd8	/* nothing decodes 0xcd8..0xcdf on pc (q35: CPU
					   hotplug in QEMU); TODO move to memmap.h */
#define POLL_LIMIT		0x100000

	ROM_BEGIN

entry16:
	BOOT16
	POST 0x20
	ENTER_PM32
	movl $RAM_IDT, %edi
	call idt_install32
	PRINT 32, "devices: 32-bit protected mode, polling\n"

/* ------------------------------------------------------------------- UART */
	POST 0x21
	OUT8 (COM1 + UART_SCR), 0x5a
	IN8 (COM1 + UART_SCR)
	EXPECT_AL 32, 0x5a, E_UART_SCR, "uart: scratch register lost 0x5a"
	OUT8 (COM1 + UART_SCR), 0xa5
	IN8 (COM1 + UART_SCR)
	EXPECT_AL 32, 0xa5, E_UART_SCR, "uart: scratch register lost 0xa5"
	PRINT 32, "devices: uart scratch register ok\n"

	OUT8 (COM1 + UART_LCR), (UART_LCR_DLAB | 0x03)
	OUT8 (COM1 + UART_DLL), 0x0c	/* 9600 baud */
	OUT8 (COM1 + UART_DLM), 0x01
	IN8 (COM1 + UART_DLL)
	EXPECT_AL 32, 0x0c, E_UART_DLAB, "uart: DLL did not read back"
	IN8 (COM1 + UART_DLM)
	EXPECT_AL 32, 0x01, E_UART_DLAB, "uart: DLM did not read back"
	IN8 (COM1 + UART_LCR)
	EXPECT_AL 32, (UART_LCR_DLAB | 0x03), E_UART_DLAB, "uart: LCR with DLAB did not read back"
	OUT8 (COM1 + UART_DLL), 0x01	/* back to 115200 */
	OUT8 (COM1 + UART_DLM), 0x00
	OUT8 (COM1 + UART_LCR), 0x03
	IN8 (COM1 + UART_IER)		/* offset 1 is IER again, still 0 */
	EXPECT_AL 32, 0x00, E_UART_DLAB, "uart: IER after clearing DLAB"
	IN8 (COM1 + UART_LCR)
	EXPECT_AL 32, 0x03, E_UART_DLAB, "uart: LCR did not read back"
	PRINT 32, "devices: uart divisor latch ok\n"

	OUT8 (COM1 + UART_THR), '.'
	movl $POLL_LIMIT, %ecx
1:	IN8 (COM1 + UART_LSR)
	andb $(UART_LSR_THRE | UART_LSR_TEMT), %al
	cmpb $(UART_LSR_THRE | UART_LSR_TEMT), %al
	je 2f
	decl %ecx
	jnz 1b
	FAIL_EAX 32, E_UART_LSR, "uart: LSR never showed THRE|TEMT after a write"
2:	PRINT 32, "\ndevices: uart LSR THRE/TEMT ok\n"

	IN8 (COM1 + UART_IIR)		/* FIFOs on since SERIAL_INIT */
	andb $0xcf, %al
	EXPECT_AL 32, 0xc1, E_UART_IIR, "uart: IIR with FIFOs enabled"
	OUT8 (COM1 + UART_FCR), 0x00
	IN8 (COM1 + UART_IIR)
	andb $0xcf, %al
	EXPECT_AL 32, 0x01, E_UART_IIR, "uart: IIR with FIFOs disabled"
	OUT8 (COM1 + UART_FCR), 0x07
	PRINT 32, "devices: uart IIR/FIFO ok\n"

	/* Loopback: nothing reaches the outside until MCR is restored. */
	OUT8 (COM1 + UART_MCR), (UART_MCR_LOOP | 0x03)
	OUT8 (COM1 + UART_THR), 0x42
	movl $POLL_LIMIT, %ecx
3:	IN8 (COM1 + UART_LSR)
	testb $UART_LSR_DR, %al
	jnz 4f
	decl %ecx
	jnz 3b
	OUT8 (COM1 + UART_MCR), 0x03
	FAIL 32, E_UART_LOOP, "uart: loopback byte never arrived (LSR.DR)"
4:	IN8 (COM1 + UART_RBR)
	movb %al, %bl
	IN8 (COM1 + UART_LSR)
	movb %al, %bh
	OUT8 (COM1 + UART_MCR), 0x03
	movb %bl, %al
	EXPECT_AL 32, 0x42, E_UART_LOOP, "uart: loopback RBR"
	movb %bh, %al
	andb $UART_LSR_DR, %al
	EXPECT_AL 32, 0x00, E_UART_LOOP, "uart: LSR.DR still set after reading RBR"
	PRINT 32, "devices: uart loopback ok\n"

	/* MSR in loopback: upper nibble = DCD RI DSR CTS = OUT2 OUT1 DTR RTS. */
	movb $0x1f, %bl			/* loop | OUT2 | OUT1 | RTS | DTR */
	movb $0xf0, %bh
	call msr_check
	movb $0x10, %bl			/* nothing */
	movb $0x00, %bh
	call msr_check
	movb $0x11, %bl			/* DTR -> DSR */
	movb $0x20, %bh
	call msr_check
	movb $0x12, %bl			/* RTS -> CTS */
	movb $0x10, %bh
	call msr_check
	movb $0x14, %bl			/* OUT1 -> RI */
	movb $0x40, %bh
	call msr_check
	movb $0x18, %bl			/* OUT2 -> DCD */
	movb $0x80, %bh
	call msr_check
	OUT8 (COM1 + UART_MCR), 0x03
	PRINT 32, "devices: uart MSR in loopback ok\n"

/* -------------------------------------------------------------------- RTC */
	POST 0x22
	CMOS_READ CMOS_REG_D
	andb $0x80, %al
	EXPECT_AL 32, 0x80, E_RTC_VRT, "rtc: register D without VRT"
	call rtc_wait_uip
	PRINT 32, "devices: rtc VRT and UIP ok\n"

	movb $0x02, %al			/* BCD, 24 h, no interrupts */
	CMOS_WRITE CMOS_REG_B
	CMOS_READ CMOS_REG_B
	EXPECT_AL 32, 0x02, E_RTC_REGB, "rtc: register B did not read back 0x02"
	call rtc_wait_uip
	PRINT 32, "devices: rtc time "
	movl $bcd_fields, %esi
	call rtc_check_fields
	PRINT 32, " ok (BCD)\n"

	movb $0x06, %al			/* binary, 24 h */
	CMOS_WRITE CMOS_REG_B
	call rtc_wait_uip
	PRINT 32, "devices: rtc time "
	movl $binary_fields, %esi
	call rtc_check_fields
	PRINT 32, " ok (binary, shown in hex)\n"
	movb $0x02, %al
	CMOS_WRITE CMOS_REG_B

	/* The clock runs: the seconds change within 1.5 s. */
	call rtc_wait_uip
	CMOS_READ CMOS_RTC_SECONDS
	movb %al, %bl
	movl $150, %edi
5:	movl $10, %ecx
	call pit_delay_ms32
	call rtc_wait_uip
	CMOS_READ CMOS_RTC_SECONDS
	cmpb %al, %bl
	jne 6f
	decl %edi
	jnz 5b
	FAIL_EAX 32, E_RTC_TICK, "rtc: seconds did not advance in 1.5 s"
6:	PRINT 32, "devices: rtc seconds advance ok\n"

	/* Memory size fields, as the machine fills them. */
	movl $CMOS_BASE_KB_LO, %ebx
	call cmos_read16
	cmpl $640, %eax
	je 7f
	FAIL_EAX 32, E_CMOS_MEM, "cmos: 0x15/0x16 is not 640 KiB"
7:	movl $CMOS_EXT_KB_LO, %ebx
	call cmos_read16
	movl %eax, %edi
	testl %eax, %eax
	jnz 8f
	FAIL_EAX 32, E_CMOS_MEM, "cmos: 0x17/0x18 (KiB above 1 MiB) is zero"
8:	movl $CMOS_EXT_KB2_LO, %ebx
	call cmos_read16
	cmpl %edi, %eax
	je 9f
	FAIL_EAX 32, E_CMOS_MEM, "cmos: 0x30/0x31 differs from 0x17/0x18"
9:	movl $CMOS_EXT16_LO, %ebx
	call cmos_read16
	testl %eax, %eax
	jnz 10f
	FAIL_EAX 32, E_CMOS_MEM, "cmos: 0x34/0x35 (64 KiB above 16 MiB) is zero"
10:	PRINT 32, "devices: cmos memory size ok (0x34/0x35 = 0x"
	PRINT_HEX 32, %eax
	PRINT 32, ")\n"

/* -------------------------------------------------------------------- PIT */
	POST 0x23
	inb $PORT_SYS_CTRL_B, %al
	andb $0xfc, %al			/* gate off, speaker off */
	outb %al, $PORT_SYS_CTRL_B
	movb $0xb4, %al			/* ch2, lo/hi, mode 2, binary */
	outb %al, $PORT_PIT_CMD
	movb $0xff, %al
	outb %al, $PORT_PIT_CH2
	outb %al, $PORT_PIT_CH2
	inb $PORT_SYS_CTRL_B, %al
	orb $0x01, %al			/* gate on */
	outb %al, $PORT_SYS_CTRL_B
	/*
	 * Two latched reads a few port accesses apart must show a decrease
	 * (modulo the 16-bit wrap) smaller than half the 55 ms period. A host
	 * that deschedules the vCPU between the reads for longer than that
	 * (a loaded nested sandbox does) can make one pair look wrong, so
	 * up to 8 pairs are tried; a counter that does not count fails all.
	 */
	movl $8, %esi
10:	call pit2_latch
	movl %eax, %ebx
	movl $4, %ecx
11:	inb $PORT_SYS_CTRL_B, %al
	decl %ecx
	jnz 11b
	call pit2_latch
	movl %ebx, %ecx
	subl %eax, %ecx			/* decrease, modulo the 16-bit wrap */
	andl $0xffff, %ecx
	jz 12f
	cmpl $0x8000, %ecx
	jb 13f
12:	decl %esi
	jnz 10b
	PRINT 32, "devices: pit counts 0x"
	PRINT_HEX 32, %ebx
	PRINT 32, " then 0x"
	PRINT_HEX 32, %eax
	PRINT 32, "\n"
	FAIL 32, E_PIT_COUNT, "pit: channel 2 count does not decrease"
13:	PRINT 32, "devices: pit channel 2 counts down ok\n"

	inb $PORT_SYS_CTRL_B, %al
	andb $0xfc, %al
	outb %al, $PORT_SYS_CTRL_B
	movb $0xb0, %al			/* ch2, lo/hi, mode 0 */
	outb %al, $PORT_PIT_CMD
	movb $0xa9, %al			/* 1193 = 1 ms */
	outb %al, $PORT_PIT_CH2
	movb $0x04, %al
	outb %al, $PORT_PIT_CH2
	inb $PORT_SYS_CTRL_B, %al
	testb $0x20, %al
	jz 14f
	FAIL_EAX 32, E_PIT_OUT, "pit: OUT2 high right after programming mode 0"
14:	orb $0x01, %al
	outb %al, $PORT_SYS_CTRL_B
	movl $POLL_LIMIT, %ecx
15:	inb $PORT_SYS_CTRL_B, %al
	testb $0x20, %al
	jnz 16f
	decl %ecx
	jnz 15b
	FAIL_EAX 32, E_PIT_OUT, "pit: OUT2 never rose at terminal count"
16:	movb $0xe8, %al			/* read-back: status only, channel 2 */
	outb %al, $PORT_PIT_CMD
	inb $PORT_PIT_CH2, %al
	andb $0x3e, %al			/* access mode and operating mode */
	EXPECT_AL 32, 0x30, E_PIT_READBACK, "pit: read-back status of channel 2"
	inb $PORT_SYS_CTRL_B, %al
	andb $0xfc, %al
	outb %al, $PORT_SYS_CTRL_B
	PRINT 32, "devices: pit OUT2 and read-back ok\n"

/* --------------------------------------------------- POST, debugcon, ports */
	POST 0x24
	PRINT 32, "devices: post codes written to port 0x80\n"

	IN8 PORT_DEBUGCON
	EXPECT_AL 32, DEBUGCON_READBACK, E_DEBUGCON, "debugcon: port 0x402 does not read 0xe9"
	movl $debugcon_text, %esi
	movw $PORT_DEBUGCON, %dx
17:	movb (%esi), %al
	testb %al, %al
	jz 18f
	outb %al, %dx
	incl %esi
	jmp 17b
18:	PRINT 32, "devices: debugcon ok\n"

	movw $UNASSIGNED_PORT, %dx
	inl %dx, %eax
	cmpl $0xffffffff, %eax
	jne 19f
	movl $0x12345678, %eax		/* writes go nowhere */
	outl %eax, %dx
	inl %dx, %eax
	cmpl $0xffffffff, %eax
	jne 19f
	movw $(UNASSIGNED_PORT + 4), %dx
	xorl %eax, %eax
	inw %dx, %ax
	cmpw $0xffff, %ax
	jne 19f
	movw $(UNASSIGNED_PORT + 7), %dx
	xorl %eax, %eax
	inb %dx, %al
	cmpb $0xff, %al
	je 20f
19:	FAIL_EAX 32, E_UNASSIGNED, "unassigned port read is not all ones"
20:	PRINT 32, "devices: unassigned ports read all ones ok\n"

/* ----------------------------------------------------------------- i8042 */
	POST 0x25
	call kbc_drain
	movb $0xaa, %al			/* controller self test */
	call kbc_command
	call kbc_read
	EXPECT_AL 32, 0x55, E_I8042_SELFTEST, "i8042: self test did not answer 0x55"
	movb $0xab, %al			/* keyboard interface test */
	call kbc_command
	call kbc_read
	EXPECT_AL 32, 0x00, E_I8042_KBDTEST, "i8042: keyboard interface test did not answer 0x00"
	PRINT 32, "devices: i8042 self test ok\n"

	PRINT 32, "devices: all checks passed\n"
	POST 0x26
	DEBUG_EXIT EXIT_OK
	HALT_FOREVER

/* ------------------------------------------------------------- helpers */

/* msr_check: MCR = %bl (loopback set), expect MSR & 0xf0 == %bh. */
msr_check:
	movb %bl, %al
	movw $(COM1 + UART_MCR), %dx
	outb %al, %dx
	IN8 (COM1 + UART_MSR)
	andb $0xf0, %al
	cmpb %bh, %al
	je 1f
	movb %al, %cl
	OUT8 (COM1 + UART_MCR), 0x03
	movzbl %cl, %eax
	PRINT 32, "devices: MCR 0x"
	PRINT_HEX 32, %ebx
	PRINT 32, " (low byte; expected MSR in the next byte)\n"
	FAIL_EAX 32, E_UART_MSR, "uart: MSR does not mirror MCR in loopback"
1:	ret

/* rtc_wait_uip: wait (bounded) until register A's UIP bit is clear. */
rtc_wait_uip:
	LIB_PUSH 32, ax, cx, dx
	movl $POLL_LIMIT, %ecx
1:	CMOS_READ CMOS_REG_A
	testb $0x80, %al
	jz 2f
	decl %ecx
	jnz 1b
	FAIL_EAX 32, E_RTC_UIP, "rtc: UIP stayed set"
2:	LIB_POP 32, dx, cx, ax
	ret

/*
 * rtc_check_fields: read the time/date registers described by the table
 * at %esi ({register, min, max, error code} per entry, ending with 0xff),
 * print each one in hex (as "YYYY-MM-DD hh:mm:ss" in BCD mode) and check
 * its range and, in BCD mode (error code E_RTC_BCD), that both nibbles are
 * decimal digits.
 */
rtc_check_fields:
	LIB_PUSH 32, ax, bx, cx, dx, si
1:	movb (%esi), %bl		/* register */
	cmpb $0xff, %bl
	je 9f
	movb %bl, %al
	outb %al, $PORT_CMOS_INDEX
	inb $PORT_CMOS_DATA, %al
	movb %al, %cl
	call put2hex
	movb 4(%esi), %al		/* separator after the field */
	testb %al, %al
	jz 2f
	call putc32
2:	movb %cl, %al
	cmpb 1(%esi), %al
	jb 8f
	cmpb 2(%esi), %al
	ja 8f
	cmpb $E_RTC_BCD, 3(%esi)
	jne 3f
	andb $0x0f, %al
	cmpb $9, %al
	ja 8f
	movb %cl, %al
	shrb $4, %al
	cmpb $9, %al
	ja 8f
3:	addl $5, %esi
	jmp 1b
8:	PRINT 32, "\n"
	movzbl %cl, %eax
	cmpb $E_RTC_BCD, 3(%esi)
	jne 4f
	FAIL_EAX 32, E_RTC_BCD, "rtc: a time/date register is not valid BCD in range"
4:	FAIL_EAX 32, E_RTC_BINARY, "rtc: a time/date register is out of range in binary mode"
9:	LIB_POP 32, si, dx, cx, bx, ax
	ret

/* put2hex: %al as two hex digits. */
put2hex:
	LIB_PUSH 32, ax, bx
	movb %al, %bl
	shrb $4, %al
	call 1f
	movb %bl, %al
	andb $0x0f, %al
	call 1f
	LIB_POP 32, bx, ax
	ret
1:	addb $'0', %al
	cmpb $'9', %al
	jbe 2f
	addb $('a' - '0' - 10), %al
2:	jmp putc32

/* cmos_read16: CMOS bytes %ebx (low) and %ebx + 1 (high) -> %eax. */
cmos_read16:
	LIB_PUSH 32, bx, dx
	leal 1(%ebx), %eax
	outb %al, $PORT_CMOS_INDEX
	inb $PORT_CMOS_DATA, %al
	movb %al, %bh
	movb %bl, %al
	outb %al, $PORT_CMOS_INDEX
	inb $PORT_CMOS_DATA, %al
	movb %al, %bl
	movzwl %bx, %eax
	LIB_POP 32, dx, bx
	ret

/* pit2_latch: latch and read PIT channel 2's count -> %eax. */
pit2_latch:
	movb $0x80, %al			/* counter latch, channel 2 */
	outb %al, $PORT_PIT_CMD
	xorl %eax, %eax
	inb $PORT_PIT_CH2, %al
	movb %al, %ah
	inb $PORT_PIT_CH2, %al
	xchgb %al, %ah
	ret

/* i8042 helpers: status bit 0 = output buffer full, bit 1 = input full. */
kbc_drain:
	LIB_PUSH 32, ax, cx
	movl $64, %ecx
1:	inb $PORT_I8042_CMD, %al
	testb $0x01, %al
	jz 2f
	inb $PORT_I8042_DATA, %al
	decl %ecx
	jnz 1b
2:	LIB_POP 32, cx, ax
	ret

kbc_command:				/* %al -> command port */
	LIB_PUSH 32, ax, cx
	movb %al, %ah
	movl $POLL_LIMIT, %ecx
1:	inb $PORT_I8042_CMD, %al
	testb $0x02, %al
	jz 2f
	decl %ecx
	jnz 1b
2:	movb %ah, %al
	outb %al, $PORT_I8042_CMD
	LIB_POP 32, cx, ax
	ret

kbc_read:				/* -> %al, 0xff after a timeout */
	LIB_PUSH 32, cx
	movl $POLL_LIMIT, %ecx
1:	inb $PORT_I8042_CMD, %al
	testb $0x01, %al
	jnz 2f
	decl %ecx
	jnz 1b
	movb $0xff, %al
	jmp 3f
2:	inb $PORT_I8042_DATA, %al
3:	LIB_POP 32, cx
	ret

	LIB_CODE

/* {register, min, max, error code, separator printed after it} */
	.text 1
bcd_fields:
	.byte CMOS_RTC_CENTURY, 0x19, 0x21, E_RTC_BCD, 0	/* century (0x32) */
	.byte CMOS_RTC_YEAR, 0x00, 0x99, E_RTC_BCD, '-'
	.byte CMOS_RTC_MONTH, 0x01, 0x12, E_RTC_BCD, '-'
	.byte CMOS_RTC_DAY, 0x01, 0x31, E_RTC_BCD, ' '
	.byte CMOS_RTC_HOURS, 0x00, 0x23, E_RTC_BCD, ':'
	.byte CMOS_RTC_MINUTES, 0x00, 0x59, E_RTC_BCD, ':'
	.byte CMOS_RTC_SECONDS, 0x00, 0x59, E_RTC_BCD, 0
	.byte 0xff
binary_fields:
	.byte CMOS_RTC_YEAR, 0, 99, E_RTC_BINARY, '-'
	.byte CMOS_RTC_MONTH, 1, 12, E_RTC_BINARY, '-'
	.byte CMOS_RTC_DAY, 1, 31, E_RTC_BINARY, ' '
	.byte CMOS_RTC_HOURS, 0, 23, E_RTC_BINARY, ':'
	.byte CMOS_RTC_MINUTES, 0, 59, E_RTC_BINARY, ':'
	.byte CMOS_RTC_SECONDS, 0, 59, E_RTC_BINARY, 0
	.byte 0xff
debugcon_text:
	.asciz "devices: hello from the debugcon port\n"
	.text 0

	ROM_END entry16
