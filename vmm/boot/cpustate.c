#include "vmm/boot/cpustate.h"

#include <errno.h>
#include <linux/kvm.h>

#include "vmm/boot/bootparams.h"
#include "vmm/memmap.h"

/* Descriptor access bytes: present, DPL 0, code/data, accessed already set
 * so the CPU never has to write the (possibly read-only) GDT. */
#define ACC_CODE 0x9b
#define ACC_DATA 0x93
/* Flags nibble: G (4 KiB granularity), D/B (32-bit), L (64-bit code). */
#define FLG_G 0x8
#define FLG_DB 0x4
#define FLG_L 0x2

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_PS BIT(7)

#define PD_COUNT 4              /* 4 x 1 GiB */
#define PAGE_SIZE_4K 4096

uint64_t bootcpu_gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) |
	       (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 |
	       (uint64_t)(base >> 24) << 56;
}

static struct boot_seg flat_seg(uint16_t sel, uint8_t type, bool l)
{
	return (struct boot_seg){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .s = 1, .g = 1, .avl = 0,
		.l = l, .db = !l,
	};
}

void bootcpu_init_flat32(struct boot_cpu_state *s)
{
	struct boot_seg data = flat_seg(BOOT_DS, 0x3, false);

	memset(s, 0, sizeof(*s));
	s->rflags = BOOT_RFLAGS_FIXED;
	s->cs = flat_seg(BOOT_CS, 0xb, false);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->cr0 = BOOT_CR0_PE | BOOT_CR0_ET | BOOT_CR0_NE;
	s->gdt_base = MM_BOOT_GDT;
	s->gdt_limit = BOOT_GDT_ENTRIES * 8 - 1;
	/* An empty IDT: any exception before the kernel installs its own is a
	 * triple fault, which the VMM reports, rather than a jump to junk. */
	s->idt_base = MM_BOOT_IDT;
	s->idt_limit = 0;
}

void bootcpu_init_long64(struct boot_cpu_state *s)
{
	bootcpu_init_flat32(s);
	s->cs = flat_seg(BOOT_CS, 0xb, true);
	s->cr0 |= BOOT_CR0_WP | BOOT_CR0_PG;
	s->cr3 = MM_PML4;
	s->cr4 = BOOT_CR4_PAE;
	s->efer = BOOT_EFER_LME | BOOT_EFER_LMA;
}

int bootcpu_write_gdt(const struct guest_mem *gm, bool long_mode)
{
	uint8_t gdt[BOOT_GDT_ENTRIES * 8] = { 0 };
	uint8_t code_flags = FLG_G | (long_mode ? FLG_L : FLG_DB);

	st_le64(gdt + BOOT_CS, bootcpu_gdt_entry(0, 0xfffff, ACC_CODE, code_flags));
	st_le64(gdt + BOOT_DS, bootcpu_gdt_entry(0, 0xfffff, ACC_DATA, FLG_G | FLG_DB));
	return boot_copy(gm, MM_BOOT_GDT, gdt, sizeof(gdt), sizeof(gdt), "boot GDT");
}

int bootcpu_write_identity_map(const struct guest_mem *gm)
{
	uint8_t page[PAGE_SIZE_4K];
	unsigned i, j;
	int ret;

	memset(page, 0, sizeof(page));
	st_le64(page, MM_PDPT | PTE_P | PTE_RW);
	ret = boot_copy(gm, MM_PML4, page, sizeof(page), 0, "boot PML4");
	if (ret)
		return ret;

	memset(page, 0, sizeof(page));
	for (i = 0; i < PD_COUNT; i++)
		st_le64(page + 8 * i, (MM_PD + i * PAGE_SIZE_4K) | PTE_P | PTE_RW);
	ret = boot_copy(gm, MM_PDPT, page, sizeof(page), 0, "boot PDPT");
	if (ret)
		return ret;

	for (i = 0; i < PD_COUNT; i++) {
		for (j = 0; j < 512; j++) {
			uint64_t addr = (uint64_t)i * GiB + (uint64_t)j * 2 * MiB;

			st_le64(page + 8 * j, addr | PTE_P | PTE_RW | PTE_PS);
		}
		ret = boot_copy(gm, MM_PD + i * PAGE_SIZE_4K, page, sizeof(page), 0,
				"boot page directory");
		if (ret)
			return ret;
	}
	return 0;
}

static void seg_to_kvm(const struct boot_seg *b, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = b->base;
	k->limit = b->limit;
	k->selector = b->selector;
	k->type = b->type;
	k->present = b->present;
	k->dpl = b->dpl;
	k->db = b->db;
	k->s = b->s;
	k->l = b->l;
	k->g = b->g;
	k->avl = b->avl;
	k->unusable = !b->present;
}

void bootcpu_to_kvm(const struct boot_cpu_state *s, struct kvm_regs *regs,
		    struct kvm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rax = s->rax;
	regs->rbx = s->rbx;
	regs->rcx = s->rcx;
	regs->rdx = s->rdx;
	regs->rsi = s->rsi;
	regs->rdi = s->rdi;
	regs->rsp = s->rsp;
	regs->rbp = s->rbp;
	regs->r8 = s->r8;
	regs->r9 = s->r9;
	regs->r10 = s->r10;
	regs->r11 = s->r11;
	regs->r12 = s->r12;
	regs->r13 = s->r13;
	regs->r14 = s->r14;
	regs->r15 = s->r15;
	regs->rip = s->rip;
	regs->rflags = s->rflags | BOOT_RFLAGS_FIXED;

	seg_to_kvm(&s->cs, &sregs->cs);
	seg_to_kvm(&s->ds, &sregs->ds);
	seg_to_kvm(&s->es, &sregs->es);
	seg_to_kvm(&s->fs, &sregs->fs);
	seg_to_kvm(&s->gs, &sregs->gs);
	seg_to_kvm(&s->ss, &sregs->ss);
	sregs->gdt.base = s->gdt_base;
	sregs->gdt.limit = s->gdt_limit;
	memset(sregs->gdt.padding, 0, sizeof(sregs->gdt.padding));
	sregs->idt.base = s->idt_base;
	sregs->idt.limit = s->idt_limit;
	memset(sregs->idt.padding, 0, sizeof(sregs->idt.padding));
	sregs->cr0 = s->cr0;
	sregs->cr3 = s->cr3;
	sregs->cr4 = s->cr4;
	sregs->efer = s->efer;
}
