/*
 * SMM test guest (-bios image, 64 KiB ending at 4 GiB; needs -m 128M).
 *
 * It installs an SMI handler at the default SMBASE 0x30000 (+0x8000) that
 * relocates each CPU's SMBASE into TSEG through the save area, like OVMF,
 * and a second handler per CPU at the relocated base. Then it raises SMIs
 * from real mode, 32-bit protected mode and 64-bit long mode with paging,
 * and after each RSM checks that every GPR, segment selector, control
 * register, RFLAGS and RIP came back bit-exact and that the handler saw
 * the right save-area contents (revision, SMBASE, CR3, CR0, RIP). Then:
 * an SMI raised inside SMM must be latched and taken right after RSM;
 * with a q35 MCH, closed TSEG must read all-ones outside SMM and ignore
 * writes; with more CPUs, the APs relocate one at a time and a broadcast
 * SMI must reach every CPU at its own SMBASE. Built with SMM_TEST_CORRUPT
 * (smm_rsmfail.S), the handler finally corrupts the saved CR0 (PG without
 * PE) and RSM must end the VM with a triple fault.
 *
 * SMIs come from kvmrun's test port 0xB4 when it exists (a read returns
 * 0), else from the ICH9 APM port 0xB2 after enabling APMC_EN|GBL_SMI_EN
 * (so the guest also runs on QEMU: -machine q35,smm=on). Progress goes to
 * COM1; the result to isa-debug-exit at 0xf4: 0 (status 1) on success, a
 * distinct code per failed check otherwise (see the FAIL_* list).
 */

#define TSEG_BASE     0x07f00000      /* 128 MiB RAM, 1 MiB TSEG at the top */
#define SMBASE0       (TSEG_BASE - 0x8000)
#define MAX_CPUS      8

#define AP_TRAMP      0x7000          /* SIPI vector 0x07 */
#define RM_STUB       0x8000          /* real-mode test code, CS = 0x0800 */
#define MB_A_COUNT    0x9000          /* mailbox shared with the handlers */
#define MB_FLAGS      0x9004          /* 1 latch, 2 corrupt, 4 TSEG check */
#define MB_TURN       0x9008
#define MB_CHECKIN    0x900c
#define MB_METHOD     0x9010          /* 0: port 0xB4, 1: APM 0xB2 */
#define MB_TSEG       0x9014
#define MB_MCH        0x9018
#define PCPU          0x9100          /* + cpu * 0x40 */
#define PC_B_COUNT    0x00
#define PC_REV        0x04
#define PC_SMBASE     0x08
#define PC_ERR        0x0c
#define PC_RIP        0x10
#define PC_CR3        0x18
#define PC_CR0        0x20
#define PC_RFL        0x28
#define PC_A_COUNT    0x30
#define DUMP          0x9400          /* registers after an SMI */
#define BEFORE        0x9500          /* values before it */
#define GDT_LOW       0x9800          /* GDT descriptor for the APs */
#define PML4          0x10000
#define STACK         0x80000

#define FAIL_A_REV    0x10            /* handler A: revision is not 0x00020064 */
#define FAIL_A_SMBASE 0x11            /* handler A: SMBASE field is not 0x30000 */
#define FAIL_RM_RIP   0x12            /* real mode: saved RIP is not after the OUT */
#define FAIL_RM_REGS  0x13            /* real mode: registers changed across SMI */
#define FAIL_RELOC    0x14            /* relocated SMBASE not used by the next SMI */
#define FAIL_B_SMBASE 0x15            /* handler B: SMBASE field is not its own */
#define FAIL_A_COUNT  0x16            /* handler A did not run exactly once */
#define FAIL_PM_REGS  0x20
#define FAIL_PM_SAVE  0x21            /* PM: save area RIP/CR0/CR3 wrong */
#define FAIL_LM_REGS  0x30
#define FAIL_LM_SAVE  0x31
#define FAIL_LM_CTRL  0x32            /* LM: CR0/CR3/CR4/EFER/FS.base/GS.base changed */
#define FAIL_NO_SMI   0x3f            /* the handler did not run at all */
#define FAIL_LATCH    0x40
#define FAIL_TSEG_RD  0x50            /* closed TSEG readable outside SMM */
#define FAIL_TSEG_WR  0x51            /* a write to closed TSEG landed */
#define FAIL_TSEG_LK  0x52            /* SMM data visible outside SMM */
#define FAIL_AP_RELOC 0x60
#define FAIL_BCAST    0x61
#define FAIL_SURVIVED 0x70            /* corrupt save area, yet RSM returned */

/*
 * OVMF ends its SMI handlers with StuffRsb64's "add rsp, 0x100" right
 * before RSM; kvmrun's userspace SMM finds RSM by that signature. In
 * 16-bit code the same bytes are "dec ax; add sp, 0x100; add [bx+si], al",
 * harmless with ax = 1 and bx = si = 0 (the handlers need no stack).
 */
.macro STUFF_RSB_TAIL
	movw	$1, %ax
	xorw	%bx, %bx
	xorw	%si, %si
	.byte	0x48, 0x81, 0xc4, 0x00, 0x01, 0x00, 0x00
.endm

/* The 32-bit register sentinels, their dump after an SMI, and the check. */
.macro LOAD_SENTINELS32
	movl	$0xa1b2c35a, %eax        /* AL = 0x5a: not a broadcast, not ACPI on/off */
	movl	$0x1b2c3d4e, %ebx
	movl	$0x2c3d4e5f, %ecx
	movl	$0x3d4e5f60, %edx
	movl	$0x4e5f6071, %esi
	movl	$0x5f607182, %edi
	movl	$0x60718293, %ebp
	pushl	$0x00000cd7              /* CF PF AF ZF SF DF OF */
	popfl
.endm

.macro DUMP_REGS32
	movl	%eax, DUMP + 0x00
	movl	%ebx, DUMP + 0x04
	movl	%ecx, DUMP + 0x08
	movl	%edx, DUMP + 0x0c
	movl	%esi, DUMP + 0x10
	movl	%edi, DUMP + 0x14
	movl	%ebp, DUMP + 0x18
	movl	%esp, DUMP + 0x1c
	movw	%es, DUMP + 0x20
	movw	%fs, DUMP + 0x22
	movw	%gs, DUMP + 0x24
	movw	%ds, DUMP + 0x26
	movw	%ss, DUMP + 0x28
	movw	%cs, DUMP + 0x2a
	pushfl
	popl	DUMP + 0x2c
.endm

.macro CHECK_SENTINELS32 bad
	cmpl	$0xa1b2c35a, DUMP + 0x00
	jne	\bad
	cmpl	$0x1b2c3d4e, DUMP + 0x04
	jne	\bad
	cmpl	$0x2c3d4e5f, DUMP + 0x08
	jne	\bad
	cmpl	$0x3d4e5f60, DUMP + 0x0c
	jne	\bad
	cmpl	$0x4e5f6071, DUMP + 0x10
	jne	\bad
	cmpl	$0x5f607182, DUMP + 0x14
	jne	\bad
	cmpl	$0x60718293, DUMP + 0x18
	jne	\bad
.endm

/* DS, ES, FS, GS and SS = the flat 32-bit data segment. */
.macro FLAT_DATA_SEGS
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
.endm

/* Raise an SMI on this CPU; the labels name the possible saved RIPs. */
.macro SMI tag
	outb	%al, $0xb4
\tag\()_a1:
	outb	%al, $0xb2
\tag\()_a2:
	jmp	1f
1:
\tag\()_a3:
.endm

/* Polled COM1 output and the failure exit, for 32-bit (w=32, %eax) or 64-bit code. */
.macro SERIAL_FUNCS w, ax
putc\w:
	push	\ax
	movw	$0x3fd, %dx
1:	inb	%dx, %al
	testb	$0x20, %al
	jz	1b
	pop	\ax
	movw	$0x3f8, %dx
	outb	%al, %dx
	ret

puts\w:
	cld
1:	lodsb
	testb	%al, %al
	jz	2f
	call	putc\w
	jmp	1b
2:	ret

hex\w:                             /* %al as two hex digits */
	push	\ax
	shrb	$4, %al
	call	nibble\w
	pop	\ax
nibble\w:
	andb	$15, %al
	addb	$'0', %al
	cmpb	$'9', %al
	jbe	1f
	addb	$7, %al
1:	jmp	putc\w

fail\w:
	movl	%eax, %ebx
	movl	$STACK, %esp
	movl	$msg_fail, %esi
	call	puts\w
	movl	%ebx, %eax
	call	hex\w
	movb	$'\n', %al
	call	putc\w
	movl	%ebx, %eax
	outb	%al, $0xf4
1:	hlt
	jmp	1b
.endm

	.text
	.globl	rom_start

/* ------------------------------------------------------------------ */
/* Reset: real mode at F000:FFF0 (CS.base 0xFFFF0000) -> 32-bit flat.  */
/* ------------------------------------------------------------------ */
	.code16
rom_start:
reset16:
	cli
	cld
	lgdtl	%cs:(gdt_desc - rom_start)
	movl	%cr0, %eax
	andl	$0x9fffffff, %eax        /* caches on (CD/NW clear) */
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x08, $pm32_entry

	.p2align 3
gdt:
	.quad	0
	.quad	0x00cf9b000000ffff       /* 0x08 code32 flat (accessed: ROM) */
	.quad	0x00cf93000000ffff       /* 0x10 data32 flat */
	.quad	0x00009b008000ffff       /* 0x18 code16, base 0x8000 */
	.quad	0x000093000000ffff       /* 0x20 data16 */
	.quad	0x00af9b000000ffff       /* 0x28 code64 */
	.quad	0x00cf93000000ffff       /* 0x30 data32 flat (another selector) */
	.quad	0x00cf93000000ffff       /* 0x38 data32 flat (another selector) */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

/* ------------------------------------------------------------------ */
/* Handler A at 0x38000 (default SMBASE): relocate this CPU. Laid out   */
/* like OVMF's: a template that jumps through a pointer to the body.    */
/* ------------------------------------------------------------------ */
#define HA_BODY       0x3a000

	.code16
ha_start:
	movl	%cs:(ha_ptr - ha_start + 0x8000), %ebp
	subl	$0x30000, %ebp
	jmp	*%ebp
	.p2align 3
ha_ptr:
	.quad	HA_BODY
ha_end:

/* The body, copied to HA_BODY; runs with CS.base = 0x30000. */
hab_start:
	movl	$1, %eax
	cpuid
	shrl	$24, %ebx
	movl	%ebx, %esi               /* esi = cpu (initial APIC ID) */
	movl	%ebx, %edi
	shll	$6, %edi
	addl	$PCPU, %edi              /* edi = this CPU's mailbox */
	addr32 incl	PC_A_COUNT(%edi)
	incl	MB_A_COUNT
	addr32 movl	0x3fefc, %eax
	addr32 movl	%eax, PC_REV(%edi)
	movb	$FAIL_A_REV, %cl
	cmpl	$0x00020064, %eax
	jne	hab_err
	addr32 movl	0x3ff00, %eax
	movb	$FAIL_A_SMBASE, %cl
	cmpl	$0x30000, %eax
	jne	hab_err
	addr32 movl	0x3ff78, %eax    /* saved RIP */
	addr32 movl	%eax, PC_RIP(%edi)
	addr32 movl	0x3ff7c, %eax
	addr32 movl	%eax, PC_RIP+4(%edi)
	addr32 movl	0x3ff50, %eax    /* saved CR3 */
	addr32 movl	%eax, PC_CR3(%edi)
	addr32 movl	0x3ff58, %eax    /* saved CR0 */
	addr32 movl	%eax, PC_CR0(%edi)
	addr32 movl	0x3ff70, %eax    /* saved RFLAGS */
	addr32 movl	%eax, PC_RFL(%edi)
	/* new SMBASE: one 32 KiB SMRAM window per CPU, handler at TSEG + cpu * 32K */
	movl	%esi, %eax
	shll	$15, %eax
	addl	$SMBASE0, %eax
	addr32 movl	%eax, 0x3ff00
	jmp	hab_exit
hab_err:
	addr32 cmpb	$0, PC_ERR(%edi)
	jne	hab_exit
	addr32 movb	%cl, PC_ERR(%edi)
hab_exit:
	STUFF_RSB_TAIL
	rsm
hab_end:

/* ------------------------------------------------------------------ */
/* Handler B, one copy per CPU at TSEG + cpu * 0x8000 (SMBASE + 0x8000) */
/* ------------------------------------------------------------------ */
	.code16
hb_start:
	movl	$1, %eax
	cpuid
	shrl	$24, %ebx
	movl	%ebx, %edi
	shll	$6, %edi
	addl	$PCPU, %edi
	movl	%cs:(hb_smbase - hb_start + 0x8000), %ebx   /* my SMBASE */
	addr32 incl	PC_B_COUNT(%edi)
	addr32 movl	0xfefc(%ebx), %eax
	addr32 movl	%eax, PC_REV(%edi)
	addr32 movl	0xff00(%ebx), %eax
	addr32 movl	%eax, PC_SMBASE(%edi)
	cmpl	%ebx, %eax
	je	1f
	addr32 cmpb	$0, PC_ERR(%edi)
	jne	1f
	addr32 movb	$FAIL_B_SMBASE, PC_ERR(%edi)
1:	addr32 movl	0xff78(%ebx), %eax
	addr32 movl	%eax, PC_RIP(%edi)
	addr32 movl	0xff7c(%ebx), %eax
	addr32 movl	%eax, PC_RIP+4(%edi)
	addr32 movl	0xff50(%ebx), %eax
	addr32 movl	%eax, PC_CR3(%edi)
	addr32 movl	0xff58(%ebx), %eax
	addr32 movl	%eax, PC_CR0(%edi)
	addr32 movl	0xff70(%ebx), %eax
	addr32 movl	%eax, PC_RFL(%edi)
	/* Raise an SMI from inside SMM: it must wait for RSM. */
	testl	$1, MB_FLAGS
	jz	2f
	andl	$~1, MB_FLAGS
	movb	$0x5a, %al
	outb	%al, $0xb4
	outb	%al, $0xb2
2:	/* Corrupt the save area: CR0.PG without CR0.PE. */
	testl	$2, MB_FLAGS
	jz	3f
	andl	$~2, MB_FLAGS
	addr32 movl	$0x80000010, 0xff58(%ebx)
	addr32 movl	$0, 0xff5c(%ebx)
3:	/* TSEG from inside SMM: the outside write must not have landed. */
	testl	$4, MB_FLAGS
	jz	4f
	andl	$~4, MB_FLAGS
	movl	$0x600d, %edx
	addr32 cmpl	$0, TSEG_BASE + 0x7000
	je	5f
	movl	$0xbad1, %edx
5:	movl	%edx, MB_TSEG
	addr32 movl	$0xc0de5afe, TSEG_BASE + 0x7004
4:
	movw	$1, %ax                  /* STUFF_RSB_TAIL, with a label */
	xorw	%bx, %bx
	xorw	%si, %si
hb_sig:
	.byte	0x48, 0x81, 0xc4, 0x00, 0x01, 0x00, 0x00
	rsm
	.p2align 2
hb_smbase:
	.long	0
hb_end:

/* ------------------------------------------------------------------ */
/* Real-mode test, copied to 0x8000 and entered through 16-bit PM.      */
/* ------------------------------------------------------------------ */
	.code16
rm_start:
	movw	$0x20, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movl	%cr0, %eax
	andl	$~1, %eax
	movl	%eax, %cr0
	ljmp	$0x0800, $(rm_real - rm_start)
rm_real:
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %ss
	movl	$0x7c00, %esp

/* One SMI from real mode with sentinels in every register, then a dump. */
.macro RM_SMI n
	movl	%cr0, %eax
	movl	%eax, BEFORE
	movw	$0x1234, %ax
	movw	%ax, %es
	movw	$0x2345, %ax
	movw	%ax, %fs
	movw	$0x3456, %ax
	movw	%ax, %gs
	LOAD_SENTINELS32
	outb	%al, $0xb4
rm_a1_\n:
	outb	%al, $0xb2
rm_a2_\n:
	jmp	1f
1:
rm_a3_\n:
	DUMP_REGS32
	movl	%cr0, %eax
	movl	%eax, DUMP + 0x30
	xorw	%ax, %ax
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movb	$FAIL_RM_REGS, %cl
	CHECK_SENTINELS32 rm_fail_\n
	cmpl	$0x7c00, DUMP + 0x1c
	jne	rm_fail_\n
	cmpw	$0x1234, DUMP + 0x20
	jne	rm_fail_\n
	cmpw	$0x2345, DUMP + 0x22
	jne	rm_fail_\n
	cmpw	$0x3456, DUMP + 0x24
	jne	rm_fail_\n
	cmpw	$0, DUMP + 0x26
	jne	rm_fail_\n
	cmpw	$0, DUMP + 0x28
	jne	rm_fail_\n
	cmpw	$0x0800, DUMP + 0x2a
	jne	rm_fail_\n
	cmpl	$0x00000cd7, DUMP + 0x2c
	jne	rm_fail_\n
	movl	BEFORE, %eax
	cmpl	%eax, DUMP + 0x30
	jne	rm_fail_\n
	/* The handler saw RIP just after the OUT that raised the SMI. */
	movb	$FAIL_RM_RIP, %cl
	cmpl	$0, PCPU + PC_RIP + 4
	jne	rm_fail_\n
	movl	PCPU + PC_RIP, %eax
	cmpl	$0, MB_METHOD
	jne	2f
	cmpl	$(rm_a1_\n - rm_start), %eax
	je	rm_ok_\n
	jmp	rm_fail_\n
2:	cmpl	$(rm_a2_\n - rm_start), %eax
	je	rm_ok_\n
	cmpl	$(rm_a3_\n - rm_start), %eax
	je	rm_ok_\n
rm_fail_\n:
	cmpb	$0, DUMP + 0x60
	jne	rm_ok_\n
	movb	%cl, DUMP + 0x60
rm_ok_\n:
.endm

	/* SMI 1: default SMBASE, handler A relocates. */
	RM_SMI	1
	movb	$FAIL_A_COUNT, %cl
	cmpl	$1, PCPU + PC_A_COUNT
	jne	rm_bad
	movb	PCPU + PC_ERR, %cl
	cmpb	$0, %cl
	jne	rm_bad
	/* SMI 2: must enter handler B at the relocated SMBASE. */
	RM_SMI	2
	movb	$FAIL_RELOC, %cl
	cmpl	$1, PCPU + PC_B_COUNT
	jne	rm_bad
	cmpl	$1, PCPU + PC_A_COUNT
	jne	rm_bad
	cmpl	$SMBASE0, PCPU + PC_SMBASE
	jne	rm_bad
	movb	PCPU + PC_ERR, %cl
	cmpb	$0, %cl
	je	rm_back
rm_bad:
	cmpb	$0, DUMP + 0x60
	jne	rm_back
	movb	%cl, DUMP + 0x60
rm_back:
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x08, $pm_after_rm
rm_end:

/* ------------------------------------------------------------------ */
/* AP trampoline, copied to 0x7000: to 32-bit flat code in ROM.        */
/* ------------------------------------------------------------------ */
	.code16
ap_start:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	GDT_LOW
	movl	%cr0, %eax
	andl	$0x9fffffff, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x08, $ap_pm32
ap_end:

/* ------------------------------------------------------------------ */
/* 32-bit code                                                          */
/* ------------------------------------------------------------------ */
	.code32

.macro FAIL32 code
	movb	$\code, %al
	jmp	fail32
.endm

.macro FAIL64 code
	movb	$\code, %al
	jmp	fail64
.endm

.macro CHK32 addr, val, code
	cmpl	$\val, \addr
	je	1f
	FAIL32	\code
1:
.endm

/* movl zero-extends in 64-bit mode, so these work in both. */
.macro PUTS32 msg
	movl	$\msg, %esi
	call	puts32
.endm

.macro PUTS64 msg
	movl	$\msg, %esi
	call	puts64
.endm

.macro COPY32 from, to, len
	movl	$\from, %esi
	movl	$\to, %edi
	movl	$\len, %ecx
	rep movsb
.endm

pm32_entry:
	FLAT_DATA_SEGS
	movl	$STACK, %esp
	call	serial_init
	PUTS32	msg_start
	xorl	%eax, %eax
	movl	$0x9000, %edi
	movl	$(0x1000 / 4), %ecx
	rep stosl
	/* kvmrun's test port reads 0; elsewhere use ICH9 APM. */
	inb	$0xb4, %al
	testb	%al, %al
	jz	1f
	movl	$1, MB_METHOD
	call	ich9_apm_enable
	PUTS32	msg_apm
	jmp	2f
1:	PUTS32	msg_port
2:	/* A q35 MCH (8086:29C0) at 00:00.0 controls TSEG. */
	movl	$0x80000000, %eax
	movw	$0xcf8, %dx
	outl	%eax, %dx
	movw	$0xcfc, %dx
	inl	%dx, %eax
	cmpl	$0x29c08086, %eax
	jne	3f
	movl	$1, MB_MCH
3:
	COPY32	ha_start, 0x38000, (ha_end-ha_start)
	COPY32	hab_start, HA_BODY, (hab_end-hab_start)
	/* Handler B per CPU, with its SMBASE patched in. TSEG is open now. */
	xorl	%ebx, %ebx
4:	movl	%ebx, %edi
	shll	$15, %edi
	addl	$TSEG_BASE, %edi
	movl	%edi, %edx
	movl	$hb_start, %esi
	movl	$(hb_end - hb_start), %ecx
	rep movsb
	movl	%ebx, %eax
	shll	$15, %eax
	addl	$SMBASE0, %eax
	movl	%eax, (hb_smbase - hb_start)(%edx)
	incl	%ebx
	cmpl	$MAX_CPUS, %ebx
	jb	4b
	movl	$0, TSEG_BASE + 0x7000
	movl	$0, TSEG_BASE + 0x7004
	COPY32	rm_start, RM_STUB, (rm_end-rm_start)
	COPY32	ap_start, AP_TRAMP, (ap_end-ap_start)
	COPY32	gdt_desc, GDT_LOW, 6
	call	build_page_tables

	/* ---- real mode ---- */
	PUTS32	msg_rm
	ljmp	$0x18, $0
pm_after_rm:
	FLAT_DATA_SEGS
	movl	$STACK, %esp
	movzbl	DUMP + 0x60, %eax
	testb	%al, %al
	jz	5f
	jmp	fail32
5:	PUTS32	msg_ok

	/* ---- 32-bit protected mode ---- */
	PUTS32	msg_pm
	movl	$PML4, %eax
	movl	%eax, %cr3
	movl	PCPU + PC_B_COUNT, %eax
	movl	%eax, BEFORE + 0x08
	movl	%cr0, %eax
	movl	%eax, BEFORE
	movl	%cr4, %eax
	movl	%eax, BEFORE + 0x04
	movw	$0x30, %ax
	movw	%ax, %es
	movw	$0x38, %ax
	movw	%ax, %fs
	movl	$0x7fff0, %esp
	LOAD_SENTINELS32
	SMI	pm
	DUMP_REGS32
	movl	%cr0, %eax
	movl	%eax, DUMP + 0x30
	movl	%cr4, %eax
	movl	%eax, DUMP + 0x34
	movl	%cr3, %eax
	movl	%eax, DUMP + 0x38
	movl	$STACK, %esp
	movw	$0x10, %ax
	movw	%ax, %es
	movw	%ax, %fs
	CHECK_SENTINELS32 pm_regs_bad
	CHK32	DUMP + 0x1c, 0x7fff0, FAIL_PM_REGS
	CHK32	DUMP + 0x20, 0x00380030, FAIL_PM_REGS      /* ES 0x30, FS 0x38 (as words) */
	cmpw	$0x38, DUMP + 0x22
	jne	pm_regs_bad
	cmpl	$0x00100010, DUMP + 0x24                  /* GS 0x10, DS 0x10 */
	jne	pm_regs_bad
	cmpl	$0x00080010, DUMP + 0x28                  /* SS 0x10, CS 0x08 */
	jne	pm_regs_bad
	CHK32	DUMP + 0x2c, 0x00000cd7, FAIL_PM_REGS
	movl	BEFORE, %eax
	cmpl	%eax, DUMP + 0x30
	jne	pm_regs_bad
	movl	BEFORE + 0x04, %eax
	cmpl	%eax, DUMP + 0x34
	jne	pm_regs_bad
	CHK32	DUMP + 0x38, PML4, FAIL_PM_REGS
	/* What the handler read from the save area. */
	movl	BEFORE + 0x08, %eax
	incl	%eax
	cmpl	%eax, PCPU + PC_B_COUNT
	je	6f
	FAIL32	FAIL_NO_SMI
6:	CHK32	PCPU + PC_REV, 0x00020064, FAIL_PM_SAVE
	CHK32	PCPU + PC_SMBASE, SMBASE0, FAIL_PM_SAVE
	CHK32	PCPU + PC_CR3, PML4, FAIL_PM_SAVE
	CHK32	PCPU + PC_CR3 + 4, 0, FAIL_PM_SAVE
	movl	BEFORE, %eax
	cmpl	%eax, PCPU + PC_CR0
	jne	pm_save_bad
	CHK32	PCPU + PC_RIP + 4, 0, FAIL_PM_SAVE
	movl	PCPU + PC_RIP, %eax
	cmpl	$0, MB_METHOD
	jne	7f
	cmpl	$pm_a1, %eax
	je	8f
	jmp	pm_save_bad
7:	cmpl	$pm_a2, %eax
	je	8f
	cmpl	$pm_a3, %eax
	je	8f
pm_save_bad:
	FAIL32	FAIL_PM_SAVE
pm_regs_bad:
	FAIL32	FAIL_PM_REGS
8:	CHK32	PCPU + PC_ERR, 0, FAIL_PM_SAVE
	PUTS32	msg_ok

	/* ---- into long mode ---- */
	movl	%cr4, %eax
	orl	$0x20, %eax              /* PAE */
	movl	%eax, %cr4
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$0x100, %eax             /* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000000, %eax
	movl	%eax, %cr0
	ljmp	$0x28, $lm64_entry

/* Identity map 4 GiB with 2 MiB pages at 0x10000. */
build_page_tables:
	xorl	%eax, %eax
	movl	$PML4, %edi
	movl	$(0x6000 / 4), %ecx
	rep stosl
	movl	$(PML4 + 0x1003), PML4
	movl	$(PML4 + 0x2003), PML4 + 0x1000
	movl	$(PML4 + 0x3003), PML4 + 0x1008
	movl	$(PML4 + 0x4003), PML4 + 0x1010
	movl	$(PML4 + 0x5003), PML4 + 0x1018
	movl	$(PML4 + 0x2000), %edi
	movl	$0x83, %eax
	movl	$2048, %ecx
1:	movl	%eax, (%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	1b
	ret

ich9_apm_enable:
	movw	$0xcf8, %dx
	movl	$0x8000f840, %eax        /* 00:1f.0 PMBASE = 0x600 */
	outl	%eax, %dx
	movw	$0xcfc, %dx
	movl	$0x601, %eax
	outl	%eax, %dx
	movw	$0xcf8, %dx
	movl	$0x8000f844, %eax        /* ACPI_CNTL: ACPI_EN */
	outl	%eax, %dx
	movw	$0xcfc, %dx
	inb	%dx, %al
	orb	$0x80, %al
	outb	%al, %dx
	movw	$0x630, %dx              /* SMI_EN |= APMC_EN | GBL_SMI_EN */
	inl	%dx, %eax
	orl	$0x21, %eax
	outl	%eax, %dx
	ret

serial_init:
	movw	$0x3f9, %dx
	xorb	%al, %al
	outb	%al, %dx
	movw	$0x3fb, %dx
	movb	$0x80, %al
	outb	%al, %dx
	movw	$0x3f8, %dx
	movb	$1, %al
	outb	%al, %dx
	movw	$0x3f9, %dx
	xorb	%al, %al
	outb	%al, %dx
	movw	$0x3fb, %dx
	movb	$3, %al
	outb	%al, %dx
	ret

	SERIAL_FUNCS 32, %eax

/* An AP: check in, relocate its SMBASE when its turn comes, then halt. */
ap_pm32:
	FLAT_DATA_SEGS
	movl	$1, %eax
	cpuid
	shrl	$24, %ebx
	movl	%ebx, %esi
	movl	%ebx, %eax
	shll	$12, %eax
	movl	$0x70000, %esp
	subl	%eax, %esp
	lock incl	MB_CHECKIN
1:	pause
	cmpl	%esi, MB_TURN
	jne	1b
	movb	$0x5a, %al
	SMI	ap
	incl	MB_TURN
2:	hlt
	jmp	2b

/* ------------------------------------------------------------------ */
/* 64-bit code                                                          */
/* ------------------------------------------------------------------ */
	.code64

.macro CHK64 addr, val, code
	movabsq	$\val, %rax
	cmpq	%rax, \addr
	je	1f
	FAIL64	\code
1:
.endm

/* Wait (rdtsc) for about @cycles. */
.macro DELAY cycles
	rdtsc
	shlq	$32, %rdx
	orq	%rax, %rdx
	movq	%rdx, %rcx
	movabsq	$\cycles, %rax
	addq	%rax, %rcx
1:	pause
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	cmpq	%rcx, %rax
	jb	1b
.endm

lm64_entry:
	FLAT_DATA_SEGS
	movq	$STACK, %rsp
	PUTS64	msg_lm
	/* FS/GS bases live in MSRs in long mode: distinct values. */
	movl	$0xc0000100, %ecx
	movl	$0x56789000, %eax
	movl	$0x1234, %edx
	wrmsr
	movl	$0xc0000101, %ecx
	movl	$0xcba98000, %eax
	movl	$0x0fed, %edx
	wrmsr
	movl	PCPU + PC_B_COUNT, %eax
	movl	%eax, BEFORE + 0x08
	movq	%cr0, %rax
	movq	%rax, BEFORE + 0x10
	movq	%cr3, %rax
	movq	%rax, BEFORE + 0x18
	movq	%cr4, %rax
	movq	%rax, BEFORE + 0x20
	movl	$0xc0000080, %ecx
	rdmsr
	movl	%eax, BEFORE + 0x28
	movl	%edx, BEFORE + 0x2c
	movw	$0x30, %ax
	movw	%ax, %es
	movw	$0x38, %ax
	movw	%ax, %ds
	movq	$0x7fff0, %rsp
	movabsq	$0x0123456789abcd5a, %rax
	movabsq	$0x1123456789abcdef, %rbx
	movabsq	$0x2123456789abcdef, %rcx
	movabsq	$0x3123456789abcdef, %rdx
	movabsq	$0x4123456789abcdef, %rsi
	movabsq	$0x5123456789abcdef, %rdi
	movabsq	$0x6123456789abcdef, %rbp
	movabsq	$0x8123456789abcdef, %r8
	movabsq	$0x9123456789abcdef, %r9
	movabsq	$0xa123456789abcdef, %r10
	movabsq	$0xb123456789abcdef, %r11
	movabsq	$0xc123456789abcdef, %r12
	movabsq	$0xd123456789abcdef, %r13
	movabsq	$0xe123456789abcdef, %r14
	movabsq	$0xf123456789abcdef, %r15
	pushq	$0x00000cd7
	popfq
	SMI	lm
	movq	%rax, DUMP + 0x00
	movq	%rbx, DUMP + 0x08
	movq	%rcx, DUMP + 0x10
	movq	%rdx, DUMP + 0x18
	movq	%rsi, DUMP + 0x20
	movq	%rdi, DUMP + 0x28
	movq	%rbp, DUMP + 0x30
	movq	%rsp, DUMP + 0x38
	movq	%r8, DUMP + 0x40
	movq	%r9, DUMP + 0x48
	movq	%r10, DUMP + 0x50
	movq	%r11, DUMP + 0x58
	movq	%r12, DUMP + 0x60
	movq	%r13, DUMP + 0x68
	movq	%r14, DUMP + 0x70
	movq	%r15, DUMP + 0x78
	movw	%es, DUMP + 0x80
	movw	%ds, DUMP + 0x82
	movw	%fs, DUMP + 0x84
	movw	%gs, DUMP + 0x86
	movw	%ss, DUMP + 0x88
	movw	%cs, DUMP + 0x8a
	pushfq
	popq	DUMP + 0x90
	movq	$STACK, %rsp
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	CHK64	DUMP + 0x00, 0x0123456789abcd5a, FAIL_LM_REGS
	CHK64	DUMP + 0x08, 0x1123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x10, 0x2123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x18, 0x3123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x20, 0x4123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x28, 0x5123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x30, 0x6123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x38, 0x7fff0, FAIL_LM_REGS
	CHK64	DUMP + 0x40, 0x8123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x48, 0x9123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x50, 0xa123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x58, 0xb123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x60, 0xc123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x68, 0xd123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x70, 0xe123456789abcdef, FAIL_LM_REGS
	CHK64	DUMP + 0x78, 0xf123456789abcdef, FAIL_LM_REGS
	/* ES 0x30, DS 0x38, FS 0x10, GS 0x10 ; SS 0x10, CS 0x28 */
	CHK64	DUMP + 0x80, 0x0010001000380030, FAIL_LM_REGS
	movl	DUMP + 0x88, %eax
	cmpl	$0x00280010, %eax
	je	1f
	FAIL64	FAIL_LM_REGS
1:	CHK64	DUMP + 0x90, 0xcd7, FAIL_LM_REGS
	/* Control registers, EFER and the FS/GS bases. */
	movq	%cr0, %rax
	cmpq	BEFORE + 0x10, %rax
	jne	lm_ctrl_bad
	movq	%cr3, %rax
	cmpq	BEFORE + 0x18, %rax
	jne	lm_ctrl_bad
	movq	%cr4, %rax
	cmpq	BEFORE + 0x20, %rax
	jne	lm_ctrl_bad
	movl	$0xc0000080, %ecx
	rdmsr
	cmpl	BEFORE + 0x28, %eax
	jne	lm_ctrl_bad
	cmpl	BEFORE + 0x2c, %edx
	jne	lm_ctrl_bad
	movl	$0xc0000100, %ecx
	rdmsr
	cmpl	$0x56789000, %eax
	jne	lm_ctrl_bad
	cmpl	$0x1234, %edx
	jne	lm_ctrl_bad
	movl	$0xc0000101, %ecx
	rdmsr
	cmpl	$0xcba98000, %eax
	jne	lm_ctrl_bad
	cmpl	$0x0fed, %edx
	je	2f
lm_ctrl_bad:
	FAIL64	FAIL_LM_CTRL
2:	/* The save area the handler saw. */
	movl	BEFORE + 0x08, %eax
	incl	%eax
	cmpl	%eax, PCPU + PC_B_COUNT
	je	3f
	FAIL64	FAIL_NO_SMI
3:	movl	PCPU + PC_REV, %eax
	cmpl	$0x00020064, %eax
	jne	lm_save_bad
	movq	PCPU + PC_CR3, %rax
	cmpq	BEFORE + 0x18, %rax
	jne	lm_save_bad
	movq	PCPU + PC_CR0, %rax
	cmpq	BEFORE + 0x10, %rax
	jne	lm_save_bad
	movq	PCPU + PC_RFL, %rax
	cmpq	$0xcd7, %rax
	jne	lm_save_bad
	movq	PCPU + PC_RIP, %rax
	cmpl	$0, MB_METHOD
	jne	4f
	leaq	lm_a1(%rip), %rcx
	cmpq	%rcx, %rax
	je	5f
	jmp	lm_save_bad
4:	leaq	lm_a2(%rip), %rcx
	cmpq	%rcx, %rax
	je	5f
	leaq	lm_a3(%rip), %rcx
	cmpq	%rcx, %rax
	je	5f
lm_save_bad:
	FAIL64	FAIL_LM_SAVE
5:	cmpb	$0, PCPU + PC_ERR
	jne	lm_save_bad
	PUTS64	msg_ok

	/* ---- an SMI raised inside SMM is latched until RSM ---- */
	PUTS64	msg_latch
	movl	PCPU + PC_B_COUNT, %ebx
	orl	$1, MB_FLAGS
	movb	$0x5a, %al
	SMI	latch
	addl	$2, %ebx
	cmpl	%ebx, PCPU + PC_B_COUNT
	je	6f
	FAIL64	FAIL_LATCH
6:	testl	$1, MB_FLAGS
	jz	7f
	FAIL64	FAIL_LATCH
7:	PUTS64	msg_ok

#ifdef SMM_TEST_BENCH
	/*
	 * SMM_TEST_BENCH more SMIs from long mode with TSEG closed, for
	 * round-trip timing (before the isolation test, which fails by design
	 * with TSEG always mapped: smm_harness -M).
	 */
	PUTS64	msg_bench
	cmpl	$0, MB_MCH
	je	27f
	call	close_tseg               /* time the OVMF case: TSEG closed */
27:	movl	$SMM_TEST_BENCH, %r12d
26:	movb	$0x5a, %al
	SMI	bench
	decl	%r12d
	jnz	26b
#endif
	/*
	 * From here on the BSP's handler has no RSM signature, so kvmrun's
	 * userspace SMM has to find its RSM by single-stepping.
	 */
	movl	$(TSEG_BASE + hb_sig - hb_start), %edi
	movl	$0x90909090, (%rdi)
	movw	$0x9090, 4(%rdi)
	movb	$0x90, 6(%rdi)

	/* ---- SMRAM isolation (needs the q35 MCH) ---- */
	cmpl	$0, MB_MCH
	jne	8f
	PUTS64	msg_no_mch
	jmp	tseg_done
8:	PUTS64	msg_tseg
	call	close_tseg
	cmpl	$0xffffffff, TSEG_BASE + 0x8000
	je	9f
	FAIL64	FAIL_TSEG_RD
9:	movl	$0xdeadbeef, TSEG_BASE + 0x7000
	movl	PCPU + PC_B_COUNT, %ebx
	orl	$4, MB_FLAGS
	movb	$0x5a, %al
	SMI	tseg
	incl	%ebx
	cmpl	%ebx, PCPU + PC_B_COUNT
	je	10f
	FAIL64	FAIL_NO_SMI
10:	cmpl	$0x600d, MB_TSEG
	je	11f
	FAIL64	FAIL_TSEG_WR
11:	cmpl	$0xffffffff, TSEG_BASE + 0x7004
	je	12f
	FAIL64	FAIL_TSEG_LK
12:	PUTS64	msg_ok
tseg_done:

	/* ---- more CPUs: relocate each AP, then a broadcast SMI ---- */
	movl	$0xfee00300, %edi
	movl	$0x000c4500, (%rdi)      /* INIT to all but self */
	DELAY	20000000
	movl	$0x000c4607, (%rdi)      /* SIPI, vector 0x07 */
	DELAY	2000000
	movl	$0x000c4607, (%rdi)
	DELAY	1000000000
	movl	MB_CHECKIN, %r12d
	testl	%r12d, %r12d
	jnz	13f
	PUTS64	msg_one_cpu
	jmp	smp_done
13:	PUTS64	msg_smp
	movl	$1, MB_TURN
	leal	1(%r12), %r13d           /* the turn after the last AP */
	rdtsc
	shlq	$32, %rdx
	orq	%rax, %rdx
	movabsq	$20000000000, %r14
	addq	%rdx, %r14
14:	pause
	cmpl	%r13d, MB_TURN
	je	15f
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	cmpq	%r14, %rax
	jb	14b
	FAIL64	FAIL_AP_RELOC
15:	movl	$1, %ecx                 /* each AP: handler A once, no error */
16:	movl	%ecx, %edx
	shll	$6, %edx
	cmpl	$1, PCPU + PC_A_COUNT(%rdx)
	jne	17f
	cmpb	$0, PCPU + PC_ERR(%rdx)
	jne	17f
	incl	%ecx
	cmpl	%r13d, %ecx
	jb	16b
	jmp	18f
17:	FAIL64	FAIL_AP_RELOC
18:	cmpl	$0, MB_METHOD
	je	19f
	PUTS64	msg_no_bcast             /* APM SMIs go to the writing CPU only */
	jmp	smp_done
19:	/* Broadcast: every CPU must run its own handler B. */
	movl	$BEFORE + 0x40, %edi
	xorl	%ecx, %ecx
20:	movl	%ecx, %edx
	shll	$6, %edx
	movl	PCPU + PC_B_COUNT(%rdx), %eax
	movl	%eax, (%rdi,%rcx,4)
	incl	%ecx
	cmpl	%r13d, %ecx
	jb	20b
	movb	$0xff, %al
	outb	%al, $0xb4
	rdtsc
	shlq	$32, %rdx
	orq	%rax, %rdx
	movabsq	$20000000000, %r14
	addq	%rdx, %r14
21:	xorl	%ecx, %ecx
22:	movl	%ecx, %edx
	shll	$6, %edx
	movl	PCPU + PC_B_COUNT(%rdx), %eax
	cmpl	(%rdi,%rcx,4), %eax
	je	23f
	incl	%ecx
	cmpl	%r13d, %ecx
	jb	22b
	jmp	24f
23:	pause
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	cmpq	%r14, %rax
	jb	21b
	FAIL64	FAIL_BCAST
24:	PUTS64	msg_ok
smp_done:

#ifdef SMM_TEST_CORRUPT
	PUTS64	msg_corrupt
	orl	$2, MB_FLAGS
	movb	$0x5a, %al
	SMI	corrupt
	FAIL64	FAIL_SURVIVED
#endif
	PUTS64	msg_pass
	xorb	%al, %al
	outb	%al, $0xf4
25:	hlt
	jmp	25b

	SERIAL_FUNCS 64, %rax

/* Close TSEG through the q35 MCH: ESMRAMC = T_EN (1 MiB), SMRAM = G_SMRAME. */
close_tseg:
	movw	$0xcf8, %dx
	movl	$0x8000009c, %eax
	outl	%eax, %dx
	movw	$0xcfe, %dx
	movb	$0x01, %al
	outb	%al, %dx
	movw	$0xcfd, %dx
	movb	$0x0a, %al
	outb	%al, %dx
	ret

msg_start:	.asciz	"smm_test: start\n"
msg_port:	.asciz	"smm_test: SMIs from test port 0xb4\n"
msg_apm:	.asciz	"smm_test: SMIs from ICH9 APM 0xb2\n"
msg_rm:		.asciz	"smm_test: real mode SMI, SMBASE relocation\n"
msg_pm:		.asciz	"smm_test: 32-bit protected mode SMI\n"
msg_lm:		.asciz	"smm_test: 64-bit long mode SMI\n"
msg_latch:	.asciz	"smm_test: SMI inside SMM is latched\n"
msg_tseg:	.asciz	"smm_test: closed TSEG is isolated\n"
msg_no_mch:	.asciz	"smm_test: no q35 MCH, TSEG isolation skipped\n"
msg_smp:	.asciz	"smm_test: APs relocate, broadcast SMI\n"
msg_one_cpu:	.asciz	"smm_test: one CPU\n"
msg_no_bcast:	.asciz	"smm_test: no broadcast with APM SMIs\n"
msg_corrupt:	.asciz	"smm_test: corrupt save area, RSM must triple fault\n"
msg_ok:		.asciz	"smm_test:   ok\n"
msg_bench:	.asciz	"smm_test: SMI round trips\n"
msg_pass:	.asciz	"smm_test: PASS\n"
msg_fail:	.asciz	"smm_test: FAIL 0x"

	.code16
	.org	0xfff0
reset_vector:
	jmp	reset16
	.org	0x10000
