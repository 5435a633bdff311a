/*
 * triple.S - a guest that triple-faults on purpose, in long mode.
 *
 * It loads an IDT with limit 0 and executes ud2: #UD cannot be delivered
 * (vector beyond the IDT limit -> #GP), neither can #GP (-> #DF) nor #DF,
 * so the CPU shuts down. Before that, every general-purpose register is
 * loaded with a recognisable value so a register dump can be checked:
 *
 *	rax 1111111111111111  rbx 2222222222222222  rcx 3333333333333333
 *	rdx 4444444444444444  rsi 5555555555555555  rdi 6666666666666666
 *	rbp 7777777777777777  r8  8888888888888888  r9  9999999999999999
 *	r10 aaaaaaaaaaaaaaaa  r11 bbbbbbbbbbbbbbbb  r12 cccccccccccccccc
 *	r13 dddddddddddddddd  r14 eeeeeeeeeeeeeeee  r15 0123456789abcdef
 *	rsp RAM_STACK_TOP (0x7000), rip = the ud2 (printed on COM1 first)
 *
 * (On AMD hosts KVM reinitialises the vCPU state on the SHUTDOWN intercept,
 * so a dump taken after the exit shows the reset state instead; the ud2
 * address printed on COM1 is the reliable record.)
 *
 * Expected: kvmrun stops with a register dump and exit status 2. QEMU
 * treats a triple fault as a reset request instead: with -no-reboot it
 * exits with status 0, without it the guest runs again (and again).
 * If the machine survives the fault somehow, the guest exits through
 * isa-debug-exit with 0x01 (status 3).
 */
#include "lib.inc"

#define E_SURVIVED		0x01

	ROM_BEGIN

entry16:
	BOOT16
	POST 0x30
	ENTER_PM32
	movl $4, %ecx
	ENTER_LONG
	PRINT 64, "triple: long mode; loading an empty IDT, ud2 at 0x"
	leaq triple_ud2(%rip), %rax
	movq %rax, %rbx
	shrq $32, %rbx
	PRINT_HEX 64, %ebx
	PRINT_HEX 64, %eax
	PRINT 64, "\ntriple: a triple fault must follow\n"
	POST 0x31

	lidt empty_idtr(%rip)
	movq $0x1111111111111111, %rax
	movq $0x2222222222222222, %rbx
	movq $0x3333333333333333, %rcx
	movq $0x4444444444444444, %rdx
	movq $0x5555555555555555, %rsi
	movq $0x6666666666666666, %rdi
	movq $0x7777777777777777, %rbp
	movq $0x8888888888888888, %r8
	movq $0x9999999999999999, %r9
	movq $0xaaaaaaaaaaaaaaaa, %r10
	movq $0xbbbbbbbbbbbbbbbb, %r11
	movq $0xcccccccccccccccc, %r12
	movq $0xdddddddddddddddd, %r13
	movq $0xeeeeeeeeeeeeeeee, %r14
	movq $0x0123456789abcdef, %r15
triple_ud2:
	ud2

	/* Not reached on a correct machine. */
	movl $RAM_STACK_TOP, %esp
	PRINT 64, "FAIL: triple: the machine survived a triple fault\n"
	DEBUG_EXIT E_SURVIVED
	HALT_FOREVER

	LIB_CODE

	.text 1
	.balign 16
empty_idtr:
	.word 0				/* limit 0: no vector fits */
	.quad 0
	.text 0

	ROM_END entry16
