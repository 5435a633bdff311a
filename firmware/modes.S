/*
 * modes.S - real mode -> 32-bit protected mode -> 64-bit long mode, with
 * checks at every stage and a memory test sized from the CMOS.
 *
 * What it shows about the platform:
 *  - reset: CS selector 0xF000 (base 0xFFFF0000), IP 0xFFF0, RAM at 0;
 *  - the last 64 KiB of the -bios image also appear at 0xF0000 (the ISA
 *    BIOS alias), and real-mode interrupts work through the IVT into it;
 *  - protected mode: flat segments, stack, IDT delivery (int3) and iret;
 *  - long mode: EFER.LMA, RIP-relative addressing at the link address,
 *    64-bit stack, IDT delivery;
 *  - RAM: the size the CMOS announces is really there, every page distinct
 *    (no aliasing between memslots), and nothing answers as RAM above it.
 *
 * RAM size, from the CMOS (as kvmrun's and QEMU's pc machines fill it):
 *	below 4 GiB = 16 MiB + 64 KiB * [0x35:0x34]  if that field is non-zero,
 *	              1 MiB + 1 KiB * [0x31:0x30]    otherwise;
 *	above 4 GiB = 64 KiB * [0x5d:0x5c:0x5b].
 *
 * Memory tests (writes never touch the guest's own RAM below RAM_GUEST_END):
 *  - 32-bit: every dword of [RAM_GUEST_END, 0x9f000) and [1 MiB, min(16
 *    MiB, top)) with address ^ pattern, for a pattern and its complement;
 *  - 64-bit: every qword of the last MiB below the top, then one qword per
 *    4 KiB page across [1 MiB, top) and all RAM above 4 GiB (offset within
 *    the page varies), so that a missing or aliased page is found;
 *  - the first page above the top (if it is below 0xB0000000, where q35's
 *    ECAM starts) must not keep what was written to it.
 *
 * Output: one "modes: ..." line per stage, "modes: all checks passed".
 * Exit (isa-debug-exit, status = (code << 1) | 1): 0 on success, else:
 */
#define E_REAL_CS		0x01	/* CS selector after reset is not 0xF000 */
#define E_REAL_STACK		0x02	/* real-mode push/pop */
#define E_REAL_SEGMENTS		0x03	/* segment:offset arithmetic */
#define E_REAL_ALIAS		0x04	/* 0xF0000 differs from the top 64 KiB */
#define E_REAL_INT		0x05	/* int3 through the IVT not delivered */
#define E_PM_SELECTORS		0x10	/* CS/DS/SS are not what was loaded */
#define E_PM_STACK		0x11
#define E_PM_INT		0x12	/* int3 through the IDT not delivered */
#define E_PM_MEM_LOW		0x13	/* dword test below 640 KiB */
#define E_PM_MEM_16M		0x14	/* dword test in [1 MiB, 16 MiB) */
#define E_LM_STATE		0x20	/* CS, EFER.LMA or RIP-relative wrong */
#define E_LM_STACK		0x21
#define E_LM_INT		0x22
#define E_LM_MEM_TOP		0x23	/* qword test of the last MiB below 4G */
#define E_LM_PAGES_LOW		0x24	/* page-stride test below 4 GiB */
#define E_LM_PAGES_HIGH		0x25	/* page-stride test above 4 GiB */
#define E_LM_BEYOND_TOP		0x26	/* memory above the top holds data */
#define E_CMOS_TOO_SMALL	0x27	/* CMOS reports less than 2 MiB */

#include "lib.inc"

#define VAR_LOW_TOP		(RAM_SCRATCH + 0x00)	/* u32: end of RAM below 4G */
#define VAR_HIGH_SIZE		(RAM_SCRATCH + 0x08)	/* u64: bytes of RAM above 4G */
#define VAR_BP_COUNT		(RAM_SCRATCH + 0x10)	/* u32: int3 handler runs */
#define VAR_MAP_GIB		(RAM_SCRATCH + 0x14)	/* u32: GiB to identity-map */
#define REAL_SCRATCH_SEG	0x1000			/* 0x10010 is free until the page tables */

#define PATTERN32		0x5a3cc3a5
#define PATTERN64		0xa55a3cc3c33c5aa5

	ROM_BEGIN

/* ---------------------------------------------------------------- real mode */
entry16:
	BOOT16
	POST 0x10
	PRINT 16, "modes: real mode at the reset vector\n"

	movw %cs, %ax
	cmpw $0xf000, %ax
	je 1f
	FAIL 16, E_REAL_CS, "real mode: CS selector after reset is not 0xf000"

1:	movw %sp, %bx			/* the stack is RAM at SS:SP */
	pushl $0xcafebabe
	movw %sp, %bp
	cmpl $0xcafebabe, (%bp)
	jne 2f
	popl %eax
	cmpl $0xcafebabe, %eax
	jne 2f
	cmpw %sp, %bx
	je 3f
2:	FAIL 16, E_REAL_STACK, "real mode: stack push/pop"

	/* The same byte through two segment:offset pairs: 1000:0010 = 1001:0000. */
3:	movw $REAL_SCRATCH_SEG, %ax
	movw %ax, %es
	movl $0x13572468, %es:0x0010
	movw $(REAL_SCRATCH_SEG + 1), %ax
	movw %ax, %ds
	cmpl $0x13572468, 0x0000
	je 4f
	FAIL 16, E_REAL_SEGMENTS, "real mode: 1000:0010 and 1001:0000 differ"
4:	xorw %ax, %ax
	movw %ax, %ds

	/* The ISA BIOS alias: F000:0000..FFFF must show the image's last 64 KiB. */
	movw $0xf000, %ax
	movw %ax, %es
	xorw %si, %si
	xorw %di, %di
	movw $0x8000, %cx
	cld
	repe cmpsw %es:(%di), %cs:(%si)
	je 5f
	FAIL 16, E_REAL_ALIAS, "real mode: 0xf0000 does not alias the top 64 KiB of the image"
5:	xorw %ax, %ax
	movw %ax, %es

	/* int3 through the IVT into the alias: vector 3 -> F000:bp_handler16. */
	movl $0, VAR_BP_COUNT
	movw $ROM16(bp_handler16), 3 * 4
	movw $0xf000, 3 * 4 + 2
	int3
	cmpl $1, VAR_BP_COUNT
	je 6f
	FAIL 16, E_REAL_INT, "real mode: int3 through the IVT did not arrive"
6:	PRINT 16, "modes: real mode ok (stack, segments, BIOS alias at 0xf0000, IVT)\n"
	POST 0x11
	ENTER_PM32
	jmp pm32

/* Runs as F000:xxxx, through the alias. */
	.code16
bp_handler16:
	pushw %ds
	pushw $0
	popw %ds
	incl VAR_BP_COUNT
	popw %ds
	iret

/* ------------------------------------------------------- 32-bit protected */
	.code32
pm32:
	POST 0x12
	PRINT 32, "modes: 32-bit protected mode\n"
	movw %cs, %ax
	cmpw $SEL_CODE32, %ax
	jne 1f
	movw %ds, %ax
	cmpw $SEL_DATA, %ax
	jne 1f
	movw %ss, %ax
	cmpw $SEL_DATA, %ax
	je 2f
1:	FAIL 32, E_PM_SELECTORS, "protected mode: segment selectors"

2:	movl %esp, %ebx
	pushl $0x89abcdef
	cmpl $0x89abcdef, (%esp)
	jne 3f
	popl %eax
	cmpl $0x89abcdef, %eax
	jne 3f
	cmpl %esp, %ebx
	je 4f
3:	FAIL 32, E_PM_STACK, "protected mode: stack push/pop"

4:	movl $RAM_IDT, %edi
	call idt_install32
	movl $bp_handler32, %eax	/* replace the vector 3 stub */
	movw %ax, RAM_IDT + 3 * 8
	shrl $16, %eax
	movw %ax, RAM_IDT + 3 * 8 + 6
	movl $0, VAR_BP_COUNT
	int3
	cmpl $1, VAR_BP_COUNT
	je 5f
	FAIL 32, E_PM_INT, "protected mode: int3 through the IDT did not arrive"

5:	call cmos_ram_size32
	PRINT 32, "modes: CMOS: RAM below 4 GiB ends at 0x"
	PRINT_HEX 32, VAR_LOW_TOP
	PRINT 32, ", above 4 GiB 0x"
	PRINT_HEX 32, (VAR_HIGH_SIZE + 4)
	PRINT_HEX 32, VAR_HIGH_SIZE
	PRINT 32, " bytes\n"

	movl $RAM_GUEST_END, %esi
	movl $0x9f000, %edi
	call mem_test32
	jnc 6f
	call report_mismatch32
	FAIL 32, E_PM_MEM_LOW, "protected mode: memory test below 640 KiB"
6:	movl $0x100000, %esi
	movl VAR_LOW_TOP, %edi
	cmpl $0x1000000, %edi
	jbe 7f
	movl $0x1000000, %edi
7:	call mem_test32
	jnc 8f
	call report_mismatch32
	FAIL 32, E_PM_MEM_16M, "protected mode: memory test in [1 MiB, 16 MiB)"
8:	PRINT 32, "modes: protected mode ok (selectors, stack, IDT, memory to 16 MiB)\n"
	POST 0x13
	movl VAR_MAP_GIB, %ecx
	ENTER_LONG
	jmp lm64

	.code32
bp_handler32:
	incl VAR_BP_COUNT
	iret

/*
 * cmos_ram_size32: fill VAR_LOW_TOP, VAR_HIGH_SIZE and VAR_MAP_GIB from the
 * CMOS memory-size fields (see the header).
 */
cmos_ram_size32:
	LIB_PUSH 32, ax, bx, cx, dx
	CMOS_READ (CMOS_EXT16_LO + 1)
	movzbl %al, %ebx
	shll $8, %ebx
	CMOS_READ CMOS_EXT16_LO
	movb %al, %bl
	testl %ebx, %ebx
	jz 1f
	shll $16, %ebx			/* 64 KiB units above 16 MiB */
	addl $0x1000000, %ebx
	jmp 2f
1:	CMOS_READ (CMOS_EXT_KB2_LO + 1)
	movzbl %al, %ebx
	shll $8, %ebx
	CMOS_READ CMOS_EXT_KB2_LO
	movb %al, %bl
	shll $10, %ebx			/* KiB above 1 MiB */
	addl $0x100000, %ebx
2:	cmpl $0x200000, %ebx
	jae 3f
	FAIL 32, E_CMOS_TOO_SMALL, "CMOS reports less than 2 MiB of RAM"
3:	movl %ebx, VAR_LOW_TOP
	CMOS_READ (CMOS_HIGH_LO + 2)
	movzbl %al, %ebx
	shll $8, %ebx
	CMOS_READ (CMOS_HIGH_LO + 1)
	movb %al, %bl
	shll $8, %ebx
	CMOS_READ CMOS_HIGH_LO
	movb %al, %bl			/* %ebx = 64 KiB units above 4 GiB */
	movl %ebx, %eax
	shll $16, %eax
	movl %eax, VAR_HIGH_SIZE
	movl %ebx, %eax
	shrl $16, %eax
	movl %eax, VAR_HIGH_SIZE + 4
	addl $(16384 - 1), %ebx		/* GiB above 4 GiB, rounded up */
	shrl $14, %ebx
	addl $4, %ebx
	movl %ebx, VAR_MAP_GIB
	LIB_POP 32, dx, cx, bx, ax
	ret

/*
 * mem_test32: for the pattern and its complement, write address ^ pattern
 * to every dword of [%esi, %edi), then read all back. CF=0 if all matched;
 * else CF=1 with %eax = address, %ecx = expected, %edx = read.
 */
mem_test32:
	LIB_PUSH 32, bx
	movl $PATTERN32, %ebx
	call 1f
	jc 9f
	notl %ebx
	call 1f
9:	LIB_POP 32, bx
	ret

1:	movl %esi, %eax
2:	cmpl %edi, %eax
	jae 3f
	movl %eax, %ecx
	xorl %ebx, %ecx
	movl %ecx, (%eax)
	addl $4, %eax
	jmp 2b
3:	movl %esi, %eax
4:	cmpl %edi, %eax
	jae 5f
	movl %eax, %ecx
	xorl %ebx, %ecx
	movl (%eax), %edx
	cmpl %ecx, %edx
	jne 6f
	addl $4, %eax
	jmp 4b
5:	clc
	ret
6:	stc
	ret

report_mismatch32:
	PRINT 32, "modes: at 0x"
	PRINT_HEX 32, %eax
	PRINT 32, " wrote 0x"
	PRINT_HEX 32, %ecx
	PRINT 32, " read 0x"
	PRINT_HEX 32, %edx
	PRINT 32, "\n"
	ret

/* ---------------------------------------------------------------- long mode */
	.code64
lm64:
	POST 0x14
	PRINT 64, "modes: 64-bit long mode, identity-mapped\n"
	movw %cs, %ax
	cmpw $SEL_CODE64, %ax
	jne 1f
	movl $MSR_EFER, %ecx
	rdmsr
	testl $(1 << 10), %eax		/* EFER.LMA */
	jz 1f
	leaq 2f(%rip), %rax		/* RIP-relative = link address */
	movl $2f, %ecx
	cmpq %rcx, %rax
	je 2f
1:	FAIL 64, E_LM_STATE, "long mode: CS, EFER.LMA or RIP-relative addressing"

2:	movq %rsp, %rbx
	movq $0xfedcba9876543210, %rax
	pushq %rax
	cmpq %rax, (%rsp)
	jne 3f
	popq %rcx
	cmpq %rax, %rcx
	jne 3f
	cmpq %rsp, %rbx
	je 4f
3:	FAIL 64, E_LM_STACK, "long mode: stack push/pop"

4:	movl $RAM_IDT, %edi
	call idt_install64
	movl $bp_handler64, %eax
	movw %ax, RAM_IDT + 3 * 16
	shrl $16, %eax
	movw %ax, RAM_IDT + 3 * 16 + 6
	movl $0, VAR_BP_COUNT
	int3
	cmpl $1, VAR_BP_COUNT
	je 5f
	FAIL 64, E_LM_INT, "long mode: int3 through the IDT did not arrive"

	/* Every qword of the last MiB below the top of low RAM. */
5:	movl VAR_LOW_TOP, %edi
	leaq -0x100000(%rdi), %rsi
	cmpq $0x1000000, %rsi		/* [1M, 16M) was done in 32-bit mode */
	jae 6f
	movl $0x1000000, %esi
6:	cmpq %rdi, %rsi
	jae 7f
	call mem_test64
	jnc 7f
	call report_mismatch64
	FAIL 64, E_LM_MEM_TOP, "long mode: memory test of the last MiB below the top"

	/* One qword per page across all RAM: finds missing or aliased pages. */
7:	movl $0x100000, %esi
	movl VAR_LOW_TOP, %edi
	call page_test64
	jnc 8f
	call report_mismatch64
	FAIL 64, E_LM_PAGES_LOW, "long mode: page-stride test below 4 GiB"
8:	movq VAR_HIGH_SIZE, %rdi
	testq %rdi, %rdi
	jz 9f
	movq $0x100000000, %rsi
	addq %rsi, %rdi
	call page_test64
	jnc 9f
	call report_mismatch64
	FAIL 64, E_LM_PAGES_HIGH, "long mode: page-stride test above 4 GiB"

	/* Nothing may keep data just above the top of low RAM. */
9:	movl VAR_LOW_TOP, %esi
	cmpl $0xb0000000, %esi
	jae 10f
	movq $PATTERN64, %rax
	movq %rax, (%rsi)
	cmpq %rax, (%rsi)
	jne 10f
	FAIL 64, E_LM_BEYOND_TOP, "long mode: memory above the CMOS top of RAM keeps data"

10:	PRINT 64, "modes: long mode ok (state, stack, IDT, memory to the top)\n"
	PRINT 64, "modes: all checks passed\n"
	POST 0x15
	DEBUG_EXIT EXIT_OK
	HALT_FOREVER

bp_handler64:
	incl VAR_BP_COUNT
	iretq

/*
 * mem_test64: like mem_test32 with qwords: [%rsi, %rdi), CF=1 on mismatch
 * with %rax = address, %rcx = expected, %rdx = read.
 */
mem_test64:
	LIB_PUSH 64, bx
	movq $PATTERN64, %rbx
	call 1f
	jc 9f
	notq %rbx
	call 1f
9:	LIB_POP 64, bx
	ret

1:	movq %rsi, %rax
2:	cmpq %rdi, %rax
	jae 3f
	movq %rax, %rcx
	xorq %rbx, %rcx
	movq %rcx, (%rax)
	addq $8, %rax
	jmp 2b
3:	movq %rsi, %rax
4:	cmpq %rdi, %rax
	jae 5f
	movq %rax, %rcx
	xorq %rbx, %rcx
	movq (%rax), %rdx
	cmpq %rcx, %rdx
	jne 6f
	addq $8, %rax
	jmp 4b
5:	clc
	ret
6:	stc
	ret

/*
 * page_test64: one qword in every 4 KiB page of [%rsi, %rdi) (both page
 * aligned), at offset (page number * 8) mod 4096 so that successive pages
 * use different cache lines; all written first, then all checked, so a
 * page that aliases another is caught. Same result registers as above.
 */
page_test64:
	LIB_PUSH 64, bx, si
	movq $PATTERN64, %rbx
	movq %rsi, %rax
1:	cmpq %rdi, %rax
	jae 2f
	call page_slot64
	movq %rcx, (%rdx)
	addq $0x1000, %rax
	jmp 1b
2:	movq %rsi, %rax
3:	cmpq %rdi, %rax
	jae 4f
	call page_slot64
	movq (%rdx), %rsi
	cmpq %rcx, %rsi
	jne 5f
	addq $0x1000, %rax
	jmp 3b
4:	clc
	jmp 6f
5:	movq %rdx, %rax
	movq %rsi, %rdx
	stc
6:	LIB_POP 64, si, bx
	ret

/* page_slot64: page %rax -> slot address %rdx, value %rcx = slot ^ %rbx. */
page_slot64:
	movq %rax, %rdx
	shrq $9, %rdx
	andl $0xff8, %edx
	addq %rax, %rdx
	movq %rdx, %rcx
	xorq %rbx, %rcx
	ret

report_mismatch64:
	PRINT 64, "modes: at 0x"
	movq %rax, %rbx
	shrq $32, %rbx
	PRINT_HEX 64, %ebx
	PRINT_HEX 64, %eax
	PRINT 64, " wrote 0x"
	movq %rcx, %rbx
	shrq $32, %rbx
	PRINT_HEX 64, %ebx
	PRINT_HEX 64, %ecx
	PRINT 64, " read 0x"
	movq %rdx, %rbx
	shrq $32, %rbx
	PRINT_HEX 64, %ebx
	PRINT_HEX 64, %edx
	PRINT 64, "\n"
	ret

	LIB_CODE
	ROM_END entry16
