/*
 * hello_mb.S - a Multiboot (v1) kernel for testing `-kernel` boot: it
 * prints what the boot loader handed over and exits.
 *
 * Built as hello_mb.elf (32-bit ELF at 1 MiB, hello_mb.ld). Run as
 *	-kernel hello_mb.elf -append "hello world" \
 *	-initrd "mod_a.txt alpha-arg,mod_b.txt" \
 *	-device isa-debug-exit,iobase=0xf4,iosize=0x4
 * (QEMU's syntax: -initrd lists the modules, comma-separated, each with
 * its own command line after the file name.)
 *
 * The header asks for page-aligned modules (flag 0) and memory info (flag
 * 1). Entry state per the specification: 32-bit protected mode, paging
 * off, flat CS/DS, EAX = 0x2BADB002, EBX = physical address of the
 * multiboot information; no stack, GDTR/IDTR unusable. The kernel loads
 * its own GDT, stack (in .bss) and IDT (exception reporter from lib.inc).
 *
 * Output on COM1 (fields only when the info flags say they are valid):
 *	hello_mb: multiboot magic ok, info at 0x...
 *	hello_mb: mem_lower N KiB, mem_upper N KiB
 *	hello_mb: cmdline "..."
 *	hello_mb: N modules
 *	hello_mb: module I at 0x...-0x... cmdline "..." data "<first line>"
 *	hello_mb: mmap base 0x... length 0x... type N     (one per entry)
 *	hello_mb: boot loader "..."
 *	hello_mb: done
 * Exit (isa-debug-exit): 0 on success, else:
 */
#define E_BAD_MAGIC		0x01	/* EAX is not 0x2BADB002 */
#define E_MODULE_ALIGN		0x02	/* a module is not page-aligned */
#define E_MODULE_RANGE		0x03	/* a module ends before it starts */
#define E_MMAP_ENTRY		0x04	/* an mmap entry has a size < 20 */

#include "lib.inc"

#define MB_HEADER_MAGIC		0x1badb002
#define MB_HEADER_FLAGS		0x00000003	/* page-aligned modules, memory info */
#define MB_BOOT_MAGIC		0x2badb002

/* struct multiboot_info offsets and flags */
#define MBI_FLAGS		0
#define MBI_MEM_LOWER		4
#define MBI_MEM_UPPER		8
#define MBI_CMDLINE		16
#define MBI_MODS_COUNT		20
#define MBI_MODS_ADDR		24
#define MBI_MMAP_LENGTH		44
#define MBI_MMAP_ADDR		48
#define MBI_BOOT_LOADER_NAME	64
#define MBI_F_MEM		(1 << 0)
#define MBI_F_CMDLINE		(1 << 2)
#define MBI_F_MODS		(1 << 3)
#define MBI_F_MMAP		(1 << 6)
#define MBI_F_LOADER_NAME	(1 << 9)

#define MAX_MODULE_PREVIEW	40	/* bytes of module data shown */
#define STACK_SIZE		16384

	.section .multiboot, "a"
	.balign 4
	.long MB_HEADER_MAGIC
	.long MB_HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

	.text
	.code32
	.globl mb_entry
mb_entry:
	cli
	cld
	movl %eax, %edi			/* keep the boot magic */
	lgdt gdt_desc
	ljmp $SEL_CODE32, $1f
1:	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movl $stack_top, %esp
	SERIAL_INIT
	pushl %edi
	movl $idt, %edi
	call idt_install32
	popl %edi

	cmpl $MB_BOOT_MAGIC, %edi
	je 2f
	movl %edi, %eax
	FAIL_EAX 32, E_BAD_MAGIC, "hello_mb: bad multiboot magic in EAX"
2:	movl %ebx, %ebp			/* %ebp = multiboot info, from here on */
	PRINT 32, "hello_mb: multiboot magic ok, info at 0x"
	PRINT_HEX 32, %ebp
	PRINT 32, ", flags 0x"
	PRINT_HEX 32, MBI_FLAGS(%ebp)
	PRINT 32, "\n"

	testl $MBI_F_MEM, MBI_FLAGS(%ebp)
	jz 3f
	PRINT 32, "hello_mb: mem_lower "
	PRINT_DEC 32, MBI_MEM_LOWER(%ebp)
	PRINT 32, " KiB, mem_upper "
	PRINT_DEC 32, MBI_MEM_UPPER(%ebp)
	PRINT 32, " KiB\n"

3:	testl $MBI_F_CMDLINE, MBI_FLAGS(%ebp)
	jz 4f
	PRINT 32, "hello_mb: cmdline \""
	movl MBI_CMDLINE(%ebp), %esi
	call puts32
	PRINT 32, "\"\n"

4:	testl $MBI_F_MODS, MBI_FLAGS(%ebp)
	jz 8f
	PRINT 32, "hello_mb: "
	PRINT_DEC 32, MBI_MODS_COUNT(%ebp)
	PRINT 32, " modules\n"
	movl MBI_MODS_ADDR(%ebp), %ebx	/* struct multiboot_mod_list[] */
	xorl %ecx, %ecx
5:	cmpl MBI_MODS_COUNT(%ebp), %ecx
	jae 8f
	call print_module
	addl $16, %ebx
	incl %ecx
	jmp 5b

8:	testl $MBI_F_MMAP, MBI_FLAGS(%ebp)
	jz 12f
	movl MBI_MMAP_ADDR(%ebp), %ebx
	movl %ebx, %edx
	addl MBI_MMAP_LENGTH(%ebp), %edx
9:	cmpl %edx, %ebx
	jae 12f
	movl (%ebx), %eax		/* entry size, not counting itself */
	cmpl $20, %eax
	jae 10f
	FAIL_EAX 32, E_MMAP_ENTRY, "hello_mb: mmap entry smaller than 20 bytes"
10:	PRINT 32, "hello_mb: mmap base 0x"
	PRINT_HEX 32, 8(%ebx)
	PRINT_HEX 32, 4(%ebx)
	PRINT 32, " length 0x"
	PRINT_HEX 32, 16(%ebx)
	PRINT_HEX 32, 12(%ebx)
	PRINT 32, " type "
	PRINT_DEC 32, 20(%ebx)
	PRINT 32, "\n"
	leal 4(%ebx, %eax), %ebx
	jmp 9b

12:	testl $MBI_F_LOADER_NAME, MBI_FLAGS(%ebp)
	jz 13f
	PRINT 32, "hello_mb: boot loader \""
	movl MBI_BOOT_LOADER_NAME(%ebp), %esi
	call puts32
	PRINT 32, "\"\n"

13:	PRINT 32, "hello_mb: done\n"
	DEBUG_EXIT EXIT_OK
	HALT_FOREVER

/*
 * print_module: module %ecx described at %ebx {start, end, string, 0}.
 * Shows its range, command line and the start of its data (up to the first
 * newline, NUL or unprintable byte, MAX_MODULE_PREVIEW bytes at most).
 */
print_module:
	LIB_PUSH 32, ax, cx, dx, si
	PRINT 32, "hello_mb: module "
	PRINT_DEC 32, %ecx
	PRINT 32, " at 0x"
	PRINT_HEX 32, (%ebx)
	PRINT 32, "-0x"
	PRINT_HEX 32, 4(%ebx)
	PRINT 32, " cmdline \""
	movl 8(%ebx), %esi
	testl %esi, %esi
	jz 1f
	call puts32
1:	PRINT 32, "\" data \""
	movl (%ebx), %esi
	movl 4(%ebx), %edx
	cmpl %esi, %edx
	jae 2f
	movl %edx, %eax
	FAIL_EAX 32, E_MODULE_RANGE, "hello_mb: module ends before it starts"
2:	movl $MAX_MODULE_PREVIEW, %ecx
3:	cmpl %edx, %esi
	jae 4f
	movb (%esi), %al
	cmpb $0x20, %al
	jb 4f
	cmpb $0x7e, %al
	ja 4f
	call putc32
	incl %esi
	decl %ecx
	jnz 3b
4:	PRINT 32, "\"\n"
	testl $0xfff, (%ebx)
	jz 5f
	movl (%ebx), %eax
	FAIL_EAX 32, E_MODULE_ALIGN, "hello_mb: module not page-aligned (header flag 0)"
5:	LIB_POP 32, si, dx, cx, ax
	ret

	LIB_SERIAL_FUNCS 32
	LIB_EXC_FUNCS 32
	LIB_GDT

	.bss
	.balign 16
idt:
	.skip 32 * 8
	.balign 16
stack:
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
