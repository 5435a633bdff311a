/*
 * default.S - the guest kvmrun runs when started without arguments.
 *
 * It is compiled into the kvmrun binary (firmware/embedded.h) and shows,
 * in a few milliseconds, that the basics work: reset vector in ROM at the
 * top of 4 GiB, real mode -> protected mode -> long mode with paging, the
 * serial port, the local APIC (INIT/SIPI wakes the other CPUs, each of
 * which checks in), the PIT for timing, and ACPI power-off.
 *
 * Output on COM1 (N = CPUs that answered the INIT/SIPI broadcast):
 *	kvmrun: default guest booted in 64-bit mode on N CPUs
 *	kvmrun: powering off
 *
 * Exit: ACPI S5 through PM1a_CNT (kvmrun pc: status 0). See power_off in
 * lib.inc for what happens on machines without kvmrun's fixed PM block.
 * An unexpected exception prints its vector and exits via isa-debug-exit
 * with 0x60 | vector, if that device is present.
 */
#include "lib.inc"

/* How long to wait for the APs: with a CPU count from fw_cfg we stop as
 * soon as all have checked in, so the limit can be generous. */
#define AP_WAIT_KNOWN_MS	2000
#define AP_WAIT_UNKNOWN_MS	100

	ROM_BEGIN

entry16:
	BOOT16
	POST 0x01
	ENTER_PM32
	POST 0x02
	movl $4, %ecx
	ENTER_LONG
	POST 0x03
	movl $RAM_IDT, %edi
	call idt_install64

	call count_cpus
	movl %eax, %ebx
	PRINT 64, "kvmrun: default guest booted in 64-bit mode on "
	PRINT_DEC 64, %ebx
	cmpl $1, %ebx
	jne 1f
	PRINT 64, " CPU\n"
	jmp 2f
1:	PRINT 64, " CPUs\n"
2:	PRINT 64, "kvmrun: powering off\n"
	POST 0x04
	call power_off64

/*
 * count_cpus: wake every other CPU and count them. Returns the number of
 * CPUs (this one included) in %eax.
 *
 * Each AP starts in real mode at RAM_AP_TRAMPOLINE (the SIPI vector is its
 * page number), increments RAM_AP_COUNT with a locked add and halts with
 * interrupts off for good. The BSP sends INIT then SIPI twice (the MP
 * specification's sequence; an AP that already started ignores the second
 * SIPI) to all CPUs but itself, then waits until fw_cfg's CPU count is
 * reached or a timeout passes.
 */
	.code64
count_cpus:
	LIB_PUSH 64, bx, cx, dx, si, di
	movl $1, %eax
	cpuid
	testl $CPUID_1_APIC, %edx
	jnz 1f
	movl $1, %eax			/* no local APIC: no way to wake APs */
	jmp 9f

1:	call fwcfg_nb_cpus
	movl %eax, %ebx			/* expected CPUs, 0 = unknown */
	movl $0, RAM_AP_COUNT
	movl $ap_trampoline, %esi
	movl $RAM_AP_TRAMPOLINE, %edi
	movl $(ap_trampoline_end - ap_trampoline), %ecx
	rep movsb

	/* LAPIC registers are addressed off %rsi: an absolute 0xfee00xxx
	 * displacement would be sign-extended in 64-bit mode. */
	movl $LAPIC_BASE, %esi
	movl LAPIC_SVR(%rsi), %eax
	orl $0x1ff, %eax		/* software enable, spurious vector 0xff */
	movl %eax, LAPIC_SVR(%rsi)
	movl $0, LAPIC_ICR_HI(%rsi)
	movl $ICR_INIT_ALL_BUT_SELF, %eax
	call icr_send
	movl $10, %ecx
	call pit_delay_ms64
	movl $(ICR_SIPI_ALL_BUT_SELF | (RAM_AP_TRAMPOLINE >> 12)), %eax
	call icr_send
	movl $1, %ecx
	call pit_delay_ms64
	movl $(ICR_SIPI_ALL_BUT_SELF | (RAM_AP_TRAMPOLINE >> 12)), %eax
	call icr_send

	movl $AP_WAIT_UNKNOWN_MS, %edi
	testl %ebx, %ebx
	jz 2f
	movl $AP_WAIT_KNOWN_MS, %edi
2:	movl RAM_AP_COUNT, %eax
	incl %eax
	testl %ebx, %ebx
	jz 3f
	cmpl %ebx, %eax
	jae 4f
3:	movl $1, %ecx
	call pit_delay_ms64
	decl %edi
	jnz 2b
4:	movl RAM_AP_COUNT, %eax
	incl %eax
	testl %ebx, %ebx
	jz 9f
	cmpl %ebx, %eax
	je 9f
	PRINT 64, "kvmrun: warning: fw_cfg announces "
	PRINT_DEC 64, %ebx
	PRINT 64, " CPUs, "
	PRINT_DEC 64, %eax
	PRINT 64, " answered\n"
9:	LIB_POP 64, di, si, dx, cx, bx
	ret

/* icr_send: write %eax to ICR low (LAPIC base in %rsi), then wait (bounded)
 * for the delivery status bit to clear. */
icr_send:
	LIB_PUSH 64, cx
	movl %eax, LAPIC_ICR_LO(%rsi)
	movl $0x100000, %ecx
1:	testl $(1 << 12), LAPIC_ICR_LO(%rsi)
	jz 2f
	decl %ecx
	jnz 1b
2:	LIB_POP 64, cx
	ret

/*
 * fwcfg_nb_cpus: the CPU count QEMU-style fw_cfg announces, or 0 when no
 * fw_cfg answers with the "QEMU" signature (selector 0x0000).
 */
fwcfg_nb_cpus:
	LIB_PUSH 64, cx, dx
	OUT16 PORT_FWCFG_SEL, FWCFG_SIGNATURE
	movw $PORT_FWCFG_DATA, %dx
	movl $4, %ecx
1:	inb %dx, %al			/* gather the 4 signature bytes in %eax */
	rorl $8, %eax
	decl %ecx
	jnz 1b
	cmpl $0x554d4551, %eax		/* "QEMU", little-endian */
	movl $0, %eax
	jne 2f
	OUT16 PORT_FWCFG_SEL, FWCFG_NB_CPUS
	movw $PORT_FWCFG_DATA, %dx
	inb %dx, %al
	movb %al, %cl
	inb %dx, %al
	movb %al, %ch
	movzwl %cx, %eax
2:	LIB_POP 64, dx, cx
	ret

/*
 * The AP trampoline, copied to RAM_AP_TRAMPOLINE: an AP leaves SIPI in real
 * mode with CS = vector << 8, IP = 0. Position-independent on purpose.
 */
	.text 1
	.code16
ap_trampoline:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	lock incl RAM_AP_COUNT
1:	hlt
	jmp 1b
ap_trampoline_end:
	.text 0

	LIB_CODE
	ROM_END entry16
