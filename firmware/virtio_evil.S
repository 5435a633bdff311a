/*
 * virtio_evil.S - a hostile virtio-blk driver. From 32-bit protected mode
 * (no paging, no interrupts: everything is polled) it finds the modern
 * virtio-blk function (1af4:1042) through PCI configuration mechanism #1,
 * reads its vendor capabilities, maps BAR 4 at EVIL_BAR and drives the
 * device by hand: a good read first, then malformed requests, each on a
 * freshly reset device:
 *	loop		two descriptors pointing at each other
 *	past-ram	a data buffer at 0x7ff00000000
 *	huge		a 4 GiB - 512 byte data buffer
 *	short-header	an 8-byte request header
 *	bad-type	request type 0x55
 *	bad-sector	a read at sector 0xffffffff
 *	direction	a device-readable buffer after a device-writable one
 *	nested		an indirect table inside an indirect table
 *	no-status	no device-writable byte for the status
 *	zero-length	a zero-length buffer
 *	avail-jump	the available index moved by 100 (queue size 8)
 *	bad-head	head descriptor 200 in an 8-entry table
 * For each, the device must either complete the request with a failure
 * status (not OK) or set DEVICE_NEEDS_RESET; it must never report success,
 * hang, or take kvmrun down. A last good read shows that a reset revives
 * the device.
 *
 * Run with (kvmrun; QEMU with disable-legacy=on passes every case but
 * past-ram: it discards DMA to unassigned addresses and completes the read):
 *	-bios virtio_evil.bin -m 128 -device isa-debug-exit,iobase=0xf4,iosize=0x4
 *	-drive file=IMG,format=raw,if=virtio
 * where IMG starts with "KVMRUN-EVIL-DISK" and has at least 1 MiB.
 *
 * Each step prints "virtio_evil: <step> ok" on COM1. Exit (isa-debug-exit):
 * 0 when everything passed, else:
 */
#define E_NO_DEVICE		0x01	/* no 1af4:1042 on bus 0 */
#define E_CAPS			0x02	/* capabilities missing or not in BAR 4 */
#define E_RESET			0x03	/* status never read 0 after a reset */
#define E_VERSION_1		0x04	/* VERSION_1 not offered */
#define E_FEATURES_OK		0x05	/* FEATURES_OK did not stick */
#define E_DRIVER_OK		0x06	/* DRIVER_OK did not stick */
#define E_QUEUE_SIZE		0x07	/* queue 0 offers fewer than QSIZE entries */
#define E_TIMEOUT		0x08	/* neither a completion nor NEEDS_RESET */
#define E_GOOD_READ		0x09	/* the good read failed or read wrong data */
#define E_ACCEPTED		0x0a	/* a malformed request completed with OK */
#define E_BROKEN_GOOD		0x0b	/* the good read broke the device */

#include "lib.inc"

/* Where the guest puts the BAR, its rings and buffers (all in RAM below 640 KiB). */
#define EVIL_BAR		0xc0000000	/* inside kvmrun's 32-bit PCI window;
						   TODO move to memmap.h */
#define QSIZE			8
#define RING_DESC		0x70000
#define RING_AVAIL		0x70080		/* 6 + 2 * QSIZE bytes */
#define RING_USED		0x70100		/* 6 + 8 * QSIZE bytes */
#define HDR			0x71000		/* request header */
#define DATA			0x72000		/* 4 KiB data buffer */
#define STATUS			0x73000		/* status byte */
#define IND			0x74000		/* indirect tables */
#define IND2			0x74100
#define BUFS_END		0x75000

/* Variables (RAM_SCRATCH) */
#define V_CFG			(RAM_SCRATCH + 0x00)	/* u32: PCI_CFG(slot, 0, 0) */
#define V_COMMON		(RAM_SCRATCH + 0x04)	/* u32: common configuration */
#define V_NOTIFY		(RAM_SCRATCH + 0x08)	/* u32: notification area */
#define V_MULT			(RAM_SCRATCH + 0x0c)	/* u32: notify_off_multiplier */
#define V_DOORBELL		(RAM_SCRATCH + 0x10)	/* u32: queue 0's doorbell */
#define V_AVAIL			(RAM_SCRATCH + 0x14)	/* u16: next available index */
#define V_USED			(RAM_SCRATCH + 0x18)	/* u16: used index seen */

/* virtio */
#define VENDOR_DEVICE		0x10421af4	/* modern virtio-blk */
#define CAP_VENDOR		0x09
#define CAP_COMMON		1
#define CAP_NOTIFY		2
#define COMMON_DFSELECT		0x00
#define COMMON_DF		0x04
#define COMMON_GFSELECT		0x08
#define COMMON_GF		0x0c
#define COMMON_STATUS		0x14
#define COMMON_Q_SELECT		0x16
#define COMMON_Q_SIZE		0x18
#define COMMON_Q_ENABLE		0x1c
#define COMMON_Q_NOTIFY_OFF	0x1e
#define COMMON_Q_DESC		0x20
#define COMMON_Q_DRIVER		0x28
#define COMMON_Q_DEVICE		0x30
#define S_FEATURES_OK		0x0b	/* ACKNOWLEDGE | DRIVER | FEATURES_OK */
#define S_DRIVER_OK		0x0f
#define S_NEEDS_RESET		0x40
#define F_INDIRECT_DESC		(1 << 28)
#define D_NEXT			1
#define D_WRITE			2
#define D_INDIRECT		4
#define T_IN			0
#define BLK_S_OK		0
#define WAIT_POLLS		300000	/* each poll reads the status register */

/*
 * EVIL name: start a malformed case: reset and set up the device, put a
 * valid IN header for sector 0 at HDR (the case may spoil it).
 */
	.macro EVIL name
	.text 1
97:	.asciz "\name"
	.text 0
	call dev_init
	call hdr_init
	movl $97b, %esi
	.endm

/* DESC i, addr, len, flags, next[, addr_hi]: write descriptor i of the ring. */
	.macro DESC i, addr, len, flags, next, hi=0
	movl $(\addr), RING_DESC + 16 * \i
	movl $(\hi), RING_DESC + 16 * \i + 4
	movl $(\len), RING_DESC + 16 * \i + 8
	movw $(\flags), RING_DESC + 16 * \i + 12
	movw $(\next), RING_DESC + 16 * \i + 14
	.endm

/* REJECT head: submit, and require failure or NEEDS_RESET (%esi = case name). */
	.macro REJECT head
	movl $(\head), %eax
	call reject
	.endm

	ROM_BEGIN

entry16:
	BOOT16
	POST 0x40
	ENTER_PM32
	movl $RAM_IDT, %edi
	call idt_install32
	PRINT 32, "virtio_evil: 32-bit protected mode\n"
	call find_device
	call find_caps
	PRINT 32, "virtio_evil: found 1af4:1042, capabilities in BAR 4 ok\n"

	/* A good read of sector 0 works and returns the image's marker. */
	call good_read
	PRINT 32, "virtio_evil: good read ok\n"

	EVIL loop
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, DATA, 512, D_NEXT, 0
	REJECT 0

	EVIL past-ram
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, 0, 512, (D_WRITE | D_NEXT), 2, 0x7ff
	DESC 2, STATUS, 1, D_WRITE, 0
	REJECT 0

	EVIL huge
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, DATA, 0xfffffe00, (D_WRITE | D_NEXT), 2
	DESC 2, STATUS, 1, D_WRITE, 0
	REJECT 0

	EVIL short-header
	DESC 0, HDR, 8, D_NEXT, 1
	DESC 1, DATA, 512, (D_WRITE | D_NEXT), 2
	DESC 2, STATUS, 1, D_WRITE, 0
	REJECT 0

	EVIL bad-type
	movl $0x55, HDR
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, DATA, 512, (D_WRITE | D_NEXT), 2
	DESC 2, STATUS, 1, D_WRITE, 0
	REJECT 0

	EVIL bad-sector
	movl $0xffffffff, HDR + 8
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, DATA, 512, (D_WRITE | D_NEXT), 2
	DESC 2, STATUS, 1, D_WRITE, 0
	REJECT 0

	EVIL direction
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, STATUS, 1, (D_WRITE | D_NEXT), 2
	DESC 2, DATA, 512, 0, 0
	REJECT 0

	EVIL nested
	DESC 0, IND, 32, D_INDIRECT, 0
	movl $IND2, IND			/* IND[0]: another indirect table */
	movl $16, IND + 8
	movw $D_INDIRECT, IND + 12
	movl $HDR, IND2
	movl $16, IND2 + 8
	REJECT 0

	EVIL no-status
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, DATA, 512, 0, 0
	REJECT 0

	EVIL zero-length
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, DATA, 0, (D_WRITE | D_NEXT), 2
	DESC 2, STATUS, 1, D_WRITE, 0
	REJECT 0

	EVIL avail-jump
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, STATUS, 1, D_WRITE, 0
	movw $99, V_AVAIL		/* submit makes it 100 */
	REJECT 0

	EVIL bad-head
	REJECT 200

	/* After all that, a reset brings the device back. */
	call good_read
	PRINT 32, "virtio_evil: good read after the malformed ones ok\n"
	PRINT 32, "virtio_evil: all checks passed\n"
	DEBUG_EXIT EXIT_OK
	HALT_FOREVER

/* ------------------------------------------------------------------------ */

/* %eax = config address -> %eax = dword */
pci_read32:
	pushl %edx
	movw $PORT_PCI_ADDR, %dx
	outl %eax, %dx
	movw $PORT_PCI_DATA, %dx
	inl %dx, %eax
	popl %edx
	ret

/* %eax = config address, %ecx = value */
pci_write32:
	pushl %edx
	movw $PORT_PCI_ADDR, %dx
	outl %eax, %dx
	movw $PORT_PCI_DATA, %dx
	movl %ecx, %eax
	outl %eax, %dx
	popl %edx
	ret

/* %eax = register offset in our function -> %al = the byte there */
cfg_read8:
	pushl %ecx
	movl %eax, %ecx
	andl $~3, %eax
	orl V_CFG, %eax
	call pci_read32
	andl $3, %ecx
	shll $3, %ecx
	shrl %cl, %eax
	andl $0xff, %eax
	popl %ecx
	ret

/* %eax = register offset (dword aligned) -> %eax */
cfg_read32:
	orl V_CFG, %eax
	jmp pci_read32

find_device:
	xorl %ebx, %ebx
1:	movl %ebx, %eax
	shll $11, %eax
	orl $0x80000000, %eax
	movl %eax, V_CFG
	call pci_read32
	cmpl $VENDOR_DEVICE, %eax
	je 2f
	incl %ebx
	cmpl $32, %ebx
	jb 1b
	FAIL 32, E_NO_DEVICE, "virtio_evil: no virtio-blk (1af4:1042) on bus 0"
2:	/* BAR 4 (64-bit) at EVIL_BAR, then memory decoding and bus mastering. */
	movl V_CFG, %eax
	orl $0x20, %eax
	movl $EVIL_BAR, %ecx
	call pci_write32
	movl V_CFG, %eax
	orl $0x24, %eax
	xorl %ecx, %ecx
	call pci_write32
	movl V_CFG, %eax
	orl $0x04, %eax
	movl $0x0006, %ecx
	call pci_write32
	ret

/* Walk the capability list for the common and notify structures. */
find_caps:
	movl $0, V_COMMON
	movl $0, V_NOTIFY
	movl $0x34, %eax
	call cfg_read8
	movl %eax, %ebx			/* current capability */
	movl $48, %edi			/* bound on the walk */
1:	testl %ebx, %ebx
	jz 5f
	decl %edi
	jz 5f
	movl %ebx, %eax
	call cfg_read8
	cmpb $CAP_VENDOR, %al
	jne 4f
	leal 4(%ebx), %eax		/* bar must be 4 (offset 4 is dword aligned) */
	call cfg_read32
	cmpb $4, %al
	jne 4f
	leal 8(%ebx), %eax		/* offset in the BAR */
	call cfg_read32
	movl %eax, %ecx
	addl $EVIL_BAR, %ecx
	leal 3(%ebx), %eax		/* cfg_type */
	call cfg_read8
	cmpb $CAP_COMMON, %al
	jne 2f
	movl %ecx, V_COMMON
	jmp 4f
2:	cmpb $CAP_NOTIFY, %al
	jne 4f
	movl %ecx, V_NOTIFY
	leal 16(%ebx), %eax
	call cfg_read32
	movl %eax, V_MULT
4:	leal 1(%ebx), %eax
	call cfg_read8
	movl %eax, %ebx
	jmp 1b
5:	cmpl $0, V_COMMON
	je 6f
	cmpl $0, V_NOTIFY
	je 6f
	ret
6:	FAIL 32, E_CAPS, "virtio_evil: no common/notify capability in BAR 4"

/* Reset the device and bring it up with queue 0 (QSIZE entries) and empty rings. */
dev_init:
	movl V_COMMON, %ebx
	movb $0, COMMON_STATUS(%ebx)
	movl $WAIT_POLLS, %ecx
1:	movb COMMON_STATUS(%ebx), %al
	testb %al, %al
	jz 2f
	pause
	loop 1b
	FAIL 32, E_RESET, "virtio_evil: device status never read 0 after a reset"
2:	movb $0x01, COMMON_STATUS(%ebx)
	movb $0x03, COMMON_STATUS(%ebx)
	movl $1, COMMON_DFSELECT(%ebx)
	movl COMMON_DF(%ebx), %eax
	testl $1, %eax
	jnz 3f
	FAIL_EAX 32, E_VERSION_1, "virtio_evil: VERSION_1 not offered"
3:	movl $0, COMMON_GFSELECT(%ebx)
	movl $F_INDIRECT_DESC, COMMON_GF(%ebx)
	movl $1, COMMON_GFSELECT(%ebx)
	movl $1, COMMON_GF(%ebx)
	movb $S_FEATURES_OK, COMMON_STATUS(%ebx)
	movb COMMON_STATUS(%ebx), %al
	EXPECT_AL 32, S_FEATURES_OK, E_FEATURES_OK, "virtio_evil: FEATURES_OK did not stick"
	/* Empty rings and buffers. */
	movl $RING_DESC, %edi
	movl $((BUFS_END - RING_DESC) / 4), %ecx
	xorl %eax, %eax
	rep stosl
	movw $0, V_AVAIL
	movw $0, V_USED
	movw $0, COMMON_Q_SELECT(%ebx)
	movzwl COMMON_Q_SIZE(%ebx), %eax
	cmpl $QSIZE, %eax
	jae 4f
	FAIL_EAX 32, E_QUEUE_SIZE, "virtio_evil: queue 0 is too small"
4:	movw $QSIZE, COMMON_Q_SIZE(%ebx)
	movl $RING_DESC, COMMON_Q_DESC(%ebx)
	movl $0, COMMON_Q_DESC + 4(%ebx)
	movl $RING_AVAIL, COMMON_Q_DRIVER(%ebx)
	movl $0, COMMON_Q_DRIVER + 4(%ebx)
	movl $RING_USED, COMMON_Q_DEVICE(%ebx)
	movl $0, COMMON_Q_DEVICE + 4(%ebx)
	movw $1, COMMON_Q_ENABLE(%ebx)
	movzwl COMMON_Q_NOTIFY_OFF(%ebx), %eax
	imull V_MULT, %eax
	addl V_NOTIFY, %eax
	movl %eax, V_DOORBELL
	movb $S_DRIVER_OK, COMMON_STATUS(%ebx)
	movb COMMON_STATUS(%ebx), %al
	EXPECT_AL 32, S_DRIVER_OK, E_DRIVER_OK, "virtio_evil: DRIVER_OK did not stick"
	ret

/* A valid header: IN, sector 0. */
hdr_init:
	movl $T_IN, HDR
	movl $0, HDR + 4
	movl $0, HDR + 8
	movl $0, HDR + 12
	movb $0xee, STATUS
	ret

/* Make descriptor %eax available and ring the doorbell. */
submit:
	movzwl V_AVAIL, %ecx
	movl %ecx, %edx
	andl $(QSIZE - 1), %edx
	movw %ax, RING_AVAIL + 4(, %edx, 2)
	incl %ecx
	movw %cx, V_AVAIL
	movw %cx, RING_AVAIL + 2	/* x86 keeps stores in order */
	movl V_DOORBELL, %edx
	movw $0, (%edx)
	ret

/* Wait for the request: %eax = 0 completed, 1 the device wants a reset. */
wait_result:
	movl V_COMMON, %ebx
	movl $WAIT_POLLS, %ecx
1:	movzwl RING_USED + 2, %eax
	cmpw V_USED, %ax
	jne 2f
	movb COMMON_STATUS(%ebx), %al
	testb $S_NEEDS_RESET, %al
	jnz 3f
	pause
	loop 1b
	FAIL 32, E_TIMEOUT, "virtio_evil: no completion and no DEVICE_NEEDS_RESET"
2:	movw %ax, V_USED
	xorl %eax, %eax
	ret
3:	movl $1, %eax
	ret

/* The good read: sector 0 into DATA, which must start with "KVMR". */
good_read:
	call dev_init
	call hdr_init
	DESC 0, HDR, 16, D_NEXT, 1
	DESC 1, DATA, 512, (D_WRITE | D_NEXT), 2
	DESC 2, STATUS, 1, D_WRITE, 0
	xorl %eax, %eax
	call submit
	call wait_result
	testl %eax, %eax
	jz 1f
	FAIL 32, E_BROKEN_GOOD, "virtio_evil: a good read set DEVICE_NEEDS_RESET"
1:	movzbl STATUS, %eax
	cmpb $BLK_S_OK, %al
	je 2f
	FAIL_EAX 32, E_GOOD_READ, "virtio_evil: good read status"
2:	movl DATA, %eax
	cmpl $0x524d564b, %eax		/* "KVMR" */
	je 3f
	FAIL_EAX 32, E_GOOD_READ, "virtio_evil: good read data"
3:	ret

/* Submit head %eax of the case named at %esi; it must be refused. */
reject:
	call submit
	call wait_result
	PRINT 32, "virtio_evil: "
	call puts32
	testl %eax, %eax
	jz 1f
	PRINT 32, ": DEVICE_NEEDS_RESET ok\n"
	ret
1:	movzbl STATUS, %eax
	cmpb $BLK_S_OK, %al
	jne 2f
	FAIL 32, E_ACCEPTED, "virtio_evil: the malformed request completed with OK"
2:	PRINT 32, ": failed with status 0x"
	PRINT_HEX 32, %eax
	PRINT 32, " ok\n"
	ret

	LIB_CODE
	ROM_END entry16
