#include "tests/model/tdx_model.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tdx/sha384.h"
#include "tdx/tdx_err.h"
#include "tdx/tdx_uapi.h"

#define PG 4096ULL
#define MAX_OBJS 256
#define MAX_VCPUS 16
#define MAX_SLOTS 16
#define MAX_RANGES 256
#define MAX_RUNS 32
#define MAX_EVENTS 64
#define MAX_TRACE 4096
#define MAX_SUPPORTED_CPUID 16
#define API_VERSION 12
#define RUN_SIZE (3 * 4096)
#define MAP_GPA_CHUNK (2ULL << 20)
#define RESERVED_IOAPIC_PINS 48
#define ATTR_SEPT_VE_DISABLE (1ULL << 28)
#define TDVMCALLINFO_SETUP_EVENT_NOTIFY (1ULL << 1)
#define TDCS_PAGES 4

enum { TD_UNINIT, TD_INIT, TD_RUNNABLE };
enum obj_kind { OBJ_SYS, OBJ_VM, OBJ_VCPU, OBJ_GMEM };
enum pending { PEND_NONE, PEND_MAP_GPA, PEND_TDX, PEND_FATAL };

struct mvm;

struct mgmem {
	struct mvm *vm;
	uint64_t size;
	uint8_t **pages;             /* private contents, by page index */
	int fd;
};

struct mslot {
	bool used;
	uint32_t id;
	uint32_t flags;
	uint64_t gpa, size, uaddr, off;
	struct mgmem *gmem;          /* NULL once the guest_memfd is gone */
};

struct mvcpu {
	struct mvm *vm;
	int id, fd;
	int state;
	bool x2apic;
	uint64_t rcx;
	void *tdvpr;                 /* stands for the TDVPR/TDCX pages */
	struct kvm_run *run;
};

struct range {
	uint64_t start, end;
};

struct mvm {
	struct tdx_model *m;
	int fd;                      /* -1 once closed */
	int refs;                    /* VM fd + vCPU fds + guest_memfd fds */
	unsigned long type;
	int td_state, hkid;
	bool bugged;
	bool split_irqchip;
	uint64_t ioapic_pins, apic_bus_ns, hypercall_mask;
	int created_vcpus;
	struct mvcpu *vcpus[MAX_VCPUS];
	struct mslot slots[MAX_SLOTS];
	struct range priv[MAX_RANGES];   /* private attribute, sorted, disjoint */
	unsigned npriv;
	struct sha384_ctx mrtd;
	uint64_t attributes, xfam;
	uint8_t mrconfigid[48], mrowner[48], mrownerconfig[48];
	struct kvm_cpuid_entry2 cpuid[KVM_MAX_CPUID_ENTRIES];
	unsigned cpuid_nent;
	int gpaw;
	void *control;               /* TDR + TDCS pages */
	unsigned pages_added;
};

struct obj {
	int fd;
	enum obj_kind kind;
	void *p;
};

struct run_map {
	void *p;
	size_t len;
	struct mvcpu *owner;         /* NULL once the vCPU is gone (the mapping outlives it) */
};

struct vcpu_script {
	struct tdx_model_event ev[MAX_EVENTS];
	struct tdx_model_result res[MAX_EVENTS];
	unsigned n, pos;
	enum pending pending;
	uint64_t map_pos, map_chunk;
	unsigned fault_repeats;
};

struct tdx_model {
	struct kvm_backend be;
	pthread_mutex_t lock;
	struct tdx_model_config cfg;
	struct tdx_model_faults f;
	struct obj objs[MAX_OBJS];
	int nobjs;
	struct run_map runs[MAX_RUNS];
	struct mvm *newest;
	long allocs;
	uint64_t hkid_used;
	int hkids_leaked;
	unsigned calls[TM_OP_NR];
	enum tdx_model_op trace[MAX_TRACE];
	size_t ntrace;
	char destroy_log[1024];
	uint8_t last_mrtd[48];
	bool have_mrtd;
	struct kvm_cpuid_entry2 supported[MAX_SUPPORTED_CPUID];
	unsigned nsupported;
	struct kvm_cpuid_entry2 *conf;   /* configurable leaves (num_cpuid_config) */
	int pages_ok, extends_ok, eintr_pages;
	struct vcpu_script scripts[MAX_VCPUS];
};

/* ---------------------------------------------------------------- bookkeeping */

static void *m_alloc(struct tdx_model *m, size_t n)
{
	void *p = calloc(1, n);

	if (p)
		m->allocs++;
	return p;
}

static void m_free(struct tdx_model *m, void *p)
{
	if (!p)
		return;
	free(p);
	m->allocs--;
}

static const char *const op_names[TM_OP_NR] = {
	[TM_OP_CREATE_VM] = "KVM_CREATE_VM",
	[TM_OP_ENABLE_CAP_SPLIT_IRQCHIP] = "KVM_ENABLE_CAP(SPLIT_IRQCHIP)",
	[TM_OP_ENABLE_CAP_APIC_BUS] = "KVM_ENABLE_CAP(X86_APIC_BUS_CYCLES_NS)",
	[TM_OP_ENABLE_CAP_HYPERCALL] = "KVM_ENABLE_CAP(EXIT_HYPERCALL)",
	[TM_OP_TDX_CAPABILITIES] = "KVM_TDX_CAPABILITIES",
	[TM_OP_TDX_INIT_VM] = "KVM_TDX_INIT_VM",
	[TM_OP_CREATE_VCPU] = "KVM_CREATE_VCPU",
	[TM_OP_MMAP_RUN] = "mmap(kvm_run)",
	[TM_OP_SET_CPUID2] = "KVM_SET_CPUID2",
	[TM_OP_TDX_INIT_VCPU] = "KVM_TDX_INIT_VCPU",
	[TM_OP_TDX_GET_CPUID] = "KVM_TDX_GET_CPUID",
	[TM_OP_CREATE_GUEST_MEMFD] = "KVM_CREATE_GUEST_MEMFD",
	[TM_OP_SET_MEMORY_REGION2] = "KVM_SET_USER_MEMORY_REGION2",
	[TM_OP_SET_MEMORY_REGION] = "KVM_SET_USER_MEMORY_REGION",
	[TM_OP_SET_MEMORY_ATTRIBUTES] = "KVM_SET_MEMORY_ATTRIBUTES",
	[TM_OP_TDX_INIT_MEM_REGION] = "KVM_TDX_INIT_MEM_REGION",
	[TM_OP_TDX_FINALIZE_VM] = "KVM_TDX_FINALIZE_VM",
	[TM_OP_RUN] = "KVM_RUN",
	[TM_OP_CHECK_EXTENSION] = "KVM_CHECK_EXTENSION",
	[TM_OP_OTHER] = "other",
};

const char *tdx_model_op_name(enum tdx_model_op op)
{
	return (unsigned)op < TM_OP_NR ? op_names[op] : "?";
}

/* Count the call; return the injected errno if this is the one to fail. */
static int enter(struct tdx_model *m, enum tdx_model_op op)
{
	m->calls[op]++;
	if (m->ntrace < MAX_TRACE)
		m->trace[m->ntrace++] = op;
	if (m->f.fail_nth && m->f.fail_op == op && (int)m->calls[op] == m->f.fail_nth)
		return m->f.fail_err ? m->f.fail_err : -EIO;
	return 0;
}

static int add_obj(struct tdx_model *m, enum obj_kind kind, void *p)
{
	int fd;

	if (m->nobjs == MAX_OBJS)
		return -EMFILE;
	fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	m->objs[m->nobjs++] = (struct obj){ .fd = fd, .kind = kind, .p = p };
	return fd;
}

/* A zeroed object of @size with its own fd; returns the fd, the object in *out. */
static int new_obj(struct tdx_model *m, enum obj_kind kind, size_t size, void **out)
{
	void *p = m_alloc(m, size);
	int fd;

	if (!p)
		return -ENOMEM;
	fd = add_obj(m, kind, p);
	if (fd < 0) {
		m_free(m, p);
		return fd;
	}
	*out = p;
	return fd;
}

static struct obj *find_obj(struct tdx_model *m, int fd)
{
	int i;

	for (i = 0; i < m->nobjs; i++)
		if (m->objs[i].fd == fd)
			return &m->objs[i];
	return NULL;
}

static void drop_obj(struct tdx_model *m, struct obj *o)
{
	close(o->fd);
	*o = m->objs[--m->nobjs];
}

/* ---------------------------------------------------------------- CPUID tables */

static void set_entry(struct kvm_cpuid_entry2 *e, uint32_t fn, uint32_t idx, uint32_t flags,
		      uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	*e = (struct kvm_cpuid_entry2){ .function = fn, .index = idx, .flags = flags,
					.eax = a, .ebx = b, .ecx = c, .edx = d };
}

static void build_tables(struct tdx_model *m)
{
	struct kvm_cpuid_entry2 *s = m->supported;
	unsigned i, n;

	/* KVM_GET_SUPPORTED_CPUID: a plausible host. */
	set_entry(&s[0], 0, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69);
	set_entry(&s[1], 1, 0, 0, 0x000806f8, 0x00000800,
		  0xf7da3223u | (m->cfg.no_x2apic ? 0 : (1u << 21)), 0x0f8bfbff);
	set_entry(&s[2], 7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 2, 0xf3bfbfbf, 0x1b415f6e,
		  0xbc1c4432);
	set_entry(&s[3], 7, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0x1c30, 0, 0, 0);
	set_entry(&s[4], 0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0x602e7, 0x2b00, 0x2b00, 0);
	set_entry(&s[5], 0xd, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0x1f, 0, 0, 0);
	set_entry(&s[6], 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	set_entry(&s[7], 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	set_entry(&s[8], 0x80000001, 0, 0, 0, 0, 0x121, 0x2c100800);
	set_entry(&s[9], 0x80000008, 0, 0, 0x3934, 0, 0, 0);
	m->nsupported = 10;
	/* The TDX module's configurable leaves: masks, 0x80000008 with GPAW configurable. */
	n = m->cfg.num_cpuid_config;
	m->conf = m_alloc(m, n * sizeof(*m->conf));
	if (!m->conf)
		return;
	set_entry(&m->conf[0], 1, 0, 0, 0x0fff3fff, 0, 0x31044d88, 0xb8440000);
	/* TSX (HLE bit 4, RTM bit 11) and WAITPKG (ECX bit 5) are never configurable. */
	set_entry(&m->conf[1], 7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0,
		  0xffffffffu & ~((1u << 4) | (1u << 11)), 0xffffffffu & ~(1u << 5), 0xffffffffu);
	set_entry(&m->conf[2], 0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0x602e7, 0, 0, 0);
	set_entry(&m->conf[3], 0xd, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0x1f, 0, 0, 0);
	set_entry(&m->conf[4], 0x80000001, 0, 0, 0, 0, 0x121, 0x2c100800);
	set_entry(&m->conf[5], 0x80000008, 0, 0, m->cfg.gpaw_fixed ? 0 : 0x00ff0000, 0, 0, 0);
	/* More leaves the module lists but the host set does not have. */
	for (i = 6; i < n; i++)
		set_entry(&m->conf[i], 0x1c + i, 0, 0, 0xffffffff, 0, 0, 0);
}

static const struct kvm_cpuid_entry2 *find_conf(const struct tdx_model *m, uint32_t fn,
						uint32_t idx)
{
	unsigned i;

	for (i = 0; i < m->cfg.num_cpuid_config; i++)
		if (m->conf[i].function == fn && m->conf[i].index == idx)
			return &m->conf[i];
	return NULL;
}

/* ---------------------------------------------------------------- capabilities */

static long check_ext(struct tdx_model *m, struct mvm *vm, long cap)
{
	const struct tdx_model_config *c = &m->cfg;
	bool td = vm && vm->type == KVM_X86_TDX_VM;

	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_ROUTING:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_IRQFD:
	case KVM_CAP_IOEVENTFD:
		return 1;
	case KVM_CAP_NR_MEMSLOTS:
		return c->nr_memslots;
	case KVM_CAP_MAX_VCPUS:
	case KVM_CAP_NR_VCPUS:
		return c->max_vcpus;
	case KVM_CAP_MULTI_ADDRESS_SPACE:
		return td ? 1 : 2;
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_X86_SMM:
		return td ? 0 : 1;
	case KVM_CAP_SPLIT_IRQCHIP:
		return !c->no_split_irqchip;
	case KVM_CAP_VM_TYPES:
		return (long)c->vm_types;
	case KVM_CAP_EXIT_HYPERCALL:
		return c->no_exit_hypercall ? 0 : (long)BIT(KVM_HC_MAP_GPA_RANGE);
	case KVM_CAP_GUEST_MEMFD:
		return !c->no_guest_memfd;
	case KVM_CAP_MEMORY_ATTRIBUTES:
		return c->no_mem_attributes ? 0 : (long)KVM_MEMORY_ATTRIBUTE_PRIVATE;
	case KVM_CAP_USER_MEMORY2:
		return !c->no_user_memory2;
	case KVM_CAP_X86_APIC_BUS_CYCLES_NS:
		return !c->no_apic_bus_cycles;
	default:
		return 0;
	}
}

static int sys_get_supported_cpuid(struct tdx_model *m, struct kvm_cpuid2 *c)
{
	if (c->nent < m->nsupported)
		return -E2BIG;
	memcpy(c->entries, m->supported, m->nsupported * sizeof(m->supported[0]));
	c->nent = m->nsupported;
	return 0;
}

/* ---------------------------------------------------------------- attributes */

static bool range_private(const struct mvm *vm, uint64_t gpa)
{
	unsigned i;

	for (i = 0; i < vm->npriv; i++)
		if (gpa >= vm->priv[i].start && gpa < vm->priv[i].end)
			return true;
	return false;
}

/* Set [start, end) private or shared, keeping the interval list sorted and merged. */
static int set_private(struct mvm *vm, uint64_t start, uint64_t end, bool priv)
{
	struct range out[MAX_RANGES + 2];
	unsigned i, n = 0;

	for (i = 0; i < vm->npriv; i++) {
		struct range r = vm->priv[i];

		if (r.end <= start || r.start >= end) {
			out[n++] = r;
			continue;
		}
		if (r.start < start)
			out[n++] = (struct range){ r.start, start };
		if (r.end > end)
			out[n++] = (struct range){ end, r.end };
	}
	if (priv)
		out[n++] = (struct range){ start, end };
	/* sort + merge */
	for (i = 1; i < n; i++) {
		struct range t = out[i];
		unsigned j = i;

		for (; j > 0 && out[j - 1].start > t.start; j--)
			out[j] = out[j - 1];
		out[j] = t;
	}
	vm->npriv = 0;
	for (i = 0; i < n; i++) {
		if (vm->npriv && vm->priv[vm->npriv - 1].end >= out[i].start) {
			if (out[i].end > vm->priv[vm->npriv - 1].end)
				vm->priv[vm->npriv - 1].end = out[i].end;
			continue;
		}
		if (vm->npriv == MAX_RANGES)
			return -ENOMEM;
		vm->priv[vm->npriv++] = out[i];
	}
	return 0;
}

static int vm_set_attributes(struct mvm *vm, struct kvm_memory_attributes *a)
{
	uint64_t end;

	if (vm->m->cfg.no_mem_attributes)
		return -ENOTTY;
	if (a->flags || (a->attributes & ~KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return -EINVAL;
	if (a->attributes && vm->type != KVM_X86_TDX_VM)
		return -EINVAL;
	if (!a->size || (a->address | a->size) & (PG - 1) ||
	    __builtin_add_overflow(a->address, a->size, &end))
		return -EINVAL;
	return set_private(vm, a->address, end, a->attributes != 0);
}

/* ---------------------------------------------------------------- memslots */

static struct mslot *slot_for(struct mvm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < MAX_SLOTS; i++) {
		struct mslot *s = &vm->slots[i];

		if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

static struct mgmem *gmem_of(struct tdx_model *m, struct mvm *vm, uint32_t fd)
{
	struct obj *o = find_obj(m, (int)fd);

	if (!o || o->kind != OBJ_GMEM || ((struct mgmem *)o->p)->vm != vm)
		return NULL;
	return o->p;
}

static int vm_set_region(struct mvm *vm, const struct kvm_userspace_memory_region2 *r,
			 bool v2)
{
	struct tdx_model *m = vm->m;
	bool td = vm->type == KVM_X86_TDX_VM;
	uint32_t valid = KVM_MEM_LOG_DIRTY_PAGES | (td ? 0 : KVM_MEM_READONLY);
	struct mslot *s = NULL, *freeslot = NULL;
	struct mgmem *g = NULL;
	uint64_t end;
	int i;

	if (v2)
		valid |= KVM_MEM_GUEST_MEMFD;
	if (r->flags & KVM_MEM_GUEST_MEMFD)
		valid &= ~KVM_MEM_LOG_DIRTY_PAGES;
	if (r->flags & ~valid)
		return -EINVAL;
	if ((r->slot >> 16) >= (td ? 1u : 2u) || (r->slot & 0xffff) >= m->cfg.nr_memslots)
		return -EINVAL;
	if ((r->guest_phys_addr | r->memory_size | r->userspace_addr) & (PG - 1) ||
	    __builtin_add_overflow(r->guest_phys_addr, r->memory_size, &end))
		return -EINVAL;
	for (i = 0; i < MAX_SLOTS; i++) {
		if (vm->slots[i].used && vm->slots[i].id == r->slot)
			s = &vm->slots[i];
		else if (!vm->slots[i].used && !freeslot)
			freeslot = &vm->slots[i];
	}
	if (!r->memory_size) {
		if (!s)
			return -EINVAL;
		s->used = false;
		return 0;
	}
	if (s)
		return -EINVAL;       /* moving or resizing slots is not modelled */
	for (i = 0; i < MAX_SLOTS; i++) {
		struct mslot *o = &vm->slots[i];

		if (o->used && (o->id >> 16) == (r->slot >> 16) &&
		    r->guest_phys_addr < o->gpa + o->size && o->gpa < end)
			return -EEXIST;
	}
	if (r->flags & KVM_MEM_GUEST_MEMFD) {
		g = gmem_of(m, vm, r->guest_memfd);
		if (!g || (r->guest_memfd_offset & (PG - 1)) ||
		    r->guest_memfd_offset + r->memory_size > g->size ||
		    r->guest_memfd_offset + r->memory_size < r->guest_memfd_offset)
			return -EINVAL;
		for (i = 0; i < MAX_SLOTS; i++) {
			struct mslot *o = &vm->slots[i];

			if (o->used && o->gmem == g && r->guest_memfd_offset < o->off + o->size &&
			    o->off < r->guest_memfd_offset + r->memory_size)
				return -EEXIST;
		}
	}
	if (!freeslot)
		return -ENOSPC;
	*freeslot = (struct mslot){ .used = true, .id = r->slot, .flags = r->flags,
				    .gpa = r->guest_phys_addr, .size = r->memory_size,
				    .uaddr = r->userspace_addr, .off = r->guest_memfd_offset,
				    .gmem = g };
	return 0;
}

/* ---------------------------------------------------------------- VM lifetime */

static void dlog(struct tdx_model *m, const char *s)
{
	size_t n = strlen(m->destroy_log);

	snprintf(m->destroy_log + n, sizeof(m->destroy_log) - n, "%s%s", n ? " " : "", s);
}

static void hkid_free(struct tdx_model *m, struct mvm *vm)
{
	if (vm->hkid >= 0)
		m->hkid_used &= ~BIT(vm->hkid);
	vm->hkid = -1;
}

static void destroy_vm(struct tdx_model *m, struct mvm *vm)
{
	char buf[64];
	int i, p, k;
	bool released = true;

	m->destroy_log[0] = 0;
	if (vm->hkid >= 0) {
		/* tdx_mmu_release_hkid: flush, write back caches per package, free the key. */
		if (m->f.flushvp_not_done) {
			dlog(m, "TDH.MNG.VPFLUSHDONE=TDX_FLUSHVP_NOT_DONE");
			m->f.flushvp_not_done = false;
			m->hkids_leaked++;
			vm->hkid = -1;          /* stays marked used in the pool: leaked */
			released = false;
		} else {
			dlog(m, "TDH.MNG.VPFLUSHDONE");
			for (p = 0; p < m->cfg.packages; p++) {
				for (k = 0; k < m->f.cache_wb_interrupted; k++) {
					snprintf(buf, sizeof(buf), "TDH.PHYMEM.CACHE.WB(pkg%d)="
						 "TDX_INTERRUPTED_RESUMABLE", p);
					dlog(m, buf);
				}
				snprintf(buf, sizeof(buf), "TDH.PHYMEM.CACHE.WB(pkg%d)", p);
				dlog(m, buf);
			}
			dlog(m, "TDH.MNG.KEY.FREEID");
			hkid_free(m, vm);
		}
	}
	for (i = 0; i < MAX_VCPUS; i++) {
		struct mvcpu *v = vm->vcpus[i];

		if (!v)
			continue;
		for (k = 0; k < MAX_RUNS; k++)
			if (m->runs[k].owner == v)
				m->runs[k].owner = NULL;
		if (v->tdvpr && released) {
			snprintf(buf, sizeof(buf), "TDH.PHYMEM.PAGE.RECLAIM(TDVPR,vcpu%d)", v->id);
			dlog(m, buf);
		}
		m_free(m, v->tdvpr);
		m_free(m, v);
	}
	if (vm->control && released) {
		dlog(m, "TDH.PHYMEM.PAGE.RECLAIM(TDCS)");
		dlog(m, "TDH.PHYMEM.PAGE.RECLAIM(TDR)");
	}
	m_free(m, vm->control);
	if (m->newest == vm)
		m->newest = NULL;
	m_free(m, vm);
}

static void vm_put(struct tdx_model *m, struct mvm *vm)
{
	if (--vm->refs == 0)
		destroy_vm(m, vm);
}

static void destroy_gmem(struct tdx_model *m, struct mgmem *g)
{
	uint64_t i;
	int k;

	/* Closing the file unbinds its memslots and frees the private pages. */
	for (k = 0; k < MAX_SLOTS; k++)
		if (g->vm->slots[k].gmem == g)
			g->vm->slots[k].gmem = NULL;
	for (i = 0; i < g->size / PG; i++)
		m_free(m, g->pages[i]);
	m_free(m, g->pages);
	vm_put(m, g->vm);
	m_free(m, g);
}

/* ---------------------------------------------------------------- TDX VM commands */

static void fill_caps(struct tdx_model *m, struct kvm_tdx_capabilities *c)
{
	c->supported_attrs = m->cfg.supported_attrs;
	c->supported_xfam = m->cfg.supported_xfam;
	c->kernel_tdvmcallinfo_1_r11 = 0;
	c->user_tdvmcallinfo_1_r11 = TDVMCALLINFO_SETUP_EVENT_NOTIFY;
	c->kernel_tdvmcallinfo_1_r12 = 0;
	c->user_tdvmcallinfo_1_r12 = 0;
	memcpy(c->cpuid.entries, m->conf, m->cfg.num_cpuid_config * sizeof(*m->conf));
	c->cpuid.nent = m->cfg.num_cpuid_config;
}

static int hkid_alloc(struct tdx_model *m)
{
	int i;

	for (i = 0; i < m->cfg.hkids; i++) {
		if (!(m->hkid_used & BIT(i))) {
			m->hkid_used |= BIT(i);
			return i;
		}
	}
	return -1;
}

/* Rows 9-11 of the INIT_VM table: GPAW, unsupported bits, unconfigurable leaves. */
static int check_td_cpuid(struct tdx_model *m, const struct kvm_cpuid2 *c, int *gpaw)
{
	bool have_gpaw = false;
	uint32_t i;

	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0x80000008 && e->index == 0) {
			int g = (e->eax >> 16) & 0xff;

			if (g != 48 && g != 52)
				return -EINVAL;
			if (g == 52 && !m->cfg.five_level_ept)
				return -EINVAL;
			*gpaw = g;
			have_gpaw = true;
		}
	}
	if (!have_gpaw)
		return -EINVAL;
	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 7 && e->index == 0 &&
		    ((e->ebx & ((1u << 4) | (1u << 11))) || (e->ecx & (1u << 5))))
			return -EINVAL;
	}
	for (i = 0; i < c->nent; i++)
		if (!find_conf(m, c->entries[i].function, c->entries[i].index))
			return -EINVAL;
	return 0;
}

static int td_init_vm(struct tdx_model *m, struct mvm *vm, struct kvm_tdx_cmd *cmd)
{
	struct kvm_tdx_init_vm *iv = (void *)(uintptr_t)cmd->data;
	struct tdx_model_faults *f = &m->f;
	unsigned i;
	int gpaw = 0, r;

	if (vm->td_state != TD_UNINIT || cmd->flags)
		return -EINVAL;
	if (!iv)
		return -EFAULT;
	if (iv->cpuid.nent > KVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	for (i = 0; i < ARRAY_SIZE(iv->reserved); i++)
		if (iv->reserved[i])
			return -EINVAL;
	if (iv->cpuid.padding)
		return -EINVAL;
	if (vm->created_vcpus)
		return -EBUSY;
	if (iv->attributes & ~m->cfg.supported_attrs)
		return -EINVAL;
	if (iv->xfam & ~m->cfg.supported_xfam)
		return -EINVAL;
	r = check_td_cpuid(m, &iv->cpuid, &gpaw);
	if (r)
		return r;
	vm->hkid = hkid_alloc(m);
	if (vm->hkid < 0)
		return -ENOSPC;
	r = 0;
	if (f->misc_cg_busy) {
		f->misc_cg_busy = false;
		r = -EBUSY;
	} else if (f->package_offline) {
		r = -EIO;
	} else if (f->create_no_entropy > 0) {
		f->create_no_entropy--;       /* after the kernel's own 10 tries */
		r = -EAGAIN;
	} else if (f->create_busy) {
		f->create_busy = false;
		r = -EIO;
	} else if (f->key_config_fail) {
		f->key_config_fail = false;
		vm->bugged = true;            /* KVM_BUG_ON */
		r = -EIO;
	} else if (f->addcx_no_entropy > 0) {
		f->addcx_no_entropy--;
		r = -EAGAIN;
	} else if (f->mng_init_status) {
		/* Only OPERAND_INVALID reaches userspace in hw_error; others are a WARN + EIO. */
		if ((f->mng_init_status & TDX_STATUS_MASK) == TDX_OPERAND_INVALID) {
			cmd->hw_error = f->mng_init_status;
			r = -EINVAL;
		} else {
			r = -EIO;
		}
		f->mng_init_status = 0;
	}
	if (r) {
		/* __tdx_td_init tears down after itself: the state stays UNINITIALIZED. */
		hkid_free(m, vm);
		return r;
	}
	vm->control = m_alloc(m, (1 + TDCS_PAGES) * PG);
	if (!vm->control) {
		hkid_free(m, vm);
		return -ENOMEM;
	}
	vm->attributes = iv->attributes;
	vm->xfam = iv->xfam;
	memcpy(vm->mrconfigid, iv->mrconfigid, 48);
	memcpy(vm->mrowner, iv->mrowner, 48);
	memcpy(vm->mrownerconfig, iv->mrownerconfig, 48);
	vm->cpuid_nent = iv->cpuid.nent;
	memcpy(vm->cpuid, iv->cpuid.entries, iv->cpuid.nent * sizeof(vm->cpuid[0]));
	vm->gpaw = gpaw;
	sha384_init(&vm->mrtd);             /* TDH.MNG.INIT */
	vm->td_state = TD_INIT;
	return 0;
}

static int td_finalize(struct tdx_model *m, struct mvm *vm, struct kvm_tdx_cmd *cmd)
{
	int i, n = 0;

	if (cmd->flags || cmd->data)
		return -EINVAL;
	if (vm->hkid < 0 || vm->td_state != TD_INIT)
		return -EINVAL;
	for (i = 0; i < MAX_VCPUS; i++)
		if (vm->vcpus[i] && vm->vcpus[i]->state)
			n++;
	if (!n) {
		cmd->hw_error = TDX_NO_VCPUS;
		vm->bugged = true;
		return -EIO;
	}
	if (m->f.finalize_busy > 0) {
		m->f.finalize_busy--;
		cmd->hw_error = TDX_OPERAND_BUSY;
		return -EBUSY;
	}
	if (m->f.finalize_status) {
		cmd->hw_error = m->f.finalize_status;
		m->f.finalize_status = 0;
		vm->bugged = true;
		return -EIO;
	}
	sha384_final(&vm->mrtd, m->last_mrtd);  /* TDH.MR.FINALIZE */
	m->have_mrtd = true;
	vm->td_state = TD_RUNNABLE;
	return 0;
}

static int vm_tdx_op(struct tdx_model *m, struct mvm *vm, struct kvm_tdx_cmd *cmd)
{
	int r;

	if (vm->type != KVM_X86_TDX_VM)
		return -ENOTTY;
	if (cmd->hw_error)
		return -EINVAL;
	switch (cmd->id) {
	case KVM_TDX_CAPABILITIES: {
		struct kvm_tdx_capabilities *c = (void *)(uintptr_t)cmd->data;

		r = enter(m, TM_OP_TDX_CAPABILITIES);
		if (r)
			return r;
		if (cmd->flags)
			return -EINVAL;
		if (!c)
			return -EFAULT;
		/* Too small: -E2BIG and nent is NOT updated (userspace must guess). */
		if (c->cpuid.nent < m->cfg.num_cpuid_config)
			return -E2BIG;
		fill_caps(m, c);
		return 0;
	}
	case KVM_TDX_INIT_VM:
		r = enter(m, TM_OP_TDX_INIT_VM);
		return r ? r : td_init_vm(m, vm, cmd);
	case KVM_TDX_FINALIZE_VM:
		r = enter(m, TM_OP_TDX_FINALIZE_VM);
		return r ? r : td_finalize(m, vm, cmd);
	default:
		return -EINVAL;
	}
}

static int vm_enable_cap(struct tdx_model *m, struct mvm *vm, struct kvm_enable_cap *ec)
{
	int r;

	switch (ec->cap) {
	case KVM_CAP_SPLIT_IRQCHIP:
		r = enter(m, TM_OP_ENABLE_CAP_SPLIT_IRQCHIP);
		if (r)
			return r;
		if (m->cfg.no_split_irqchip || ec->args[0] > RESERVED_IOAPIC_PINS ||
		    vm->created_vcpus)
			return -EINVAL;
		if (vm->split_irqchip)
			return -EEXIST;
		vm->split_irqchip = true;
		vm->ioapic_pins = ec->args[0];
		return 0;
	case KVM_CAP_X86_APIC_BUS_CYCLES_NS:
		r = enter(m, TM_OP_ENABLE_CAP_APIC_BUS);
		if (r)
			return r;
		if (m->cfg.no_apic_bus_cycles || !ec->args[0])
			return -EINVAL;
		if (!vm->split_irqchip)
			return -ENXIO;
		if (vm->created_vcpus)
			return -EINVAL;
		vm->apic_bus_ns = ec->args[0];
		return 0;
	case KVM_CAP_EXIT_HYPERCALL:
		r = enter(m, TM_OP_ENABLE_CAP_HYPERCALL);
		if (r)
			return r;
		if (m->cfg.no_exit_hypercall || (ec->args[0] & ~BIT(KVM_HC_MAP_GPA_RANGE)))
			return -EINVAL;
		vm->hypercall_mask = ec->args[0];
		return 0;
	default:
		return -EINVAL;
	}
}

static int vm_create_vcpu(struct tdx_model *m, struct mvm *vm, unsigned long id)
{
	struct mvcpu *v;
	int fd, r = enter(m, TM_OP_CREATE_VCPU);

	if (r)
		return r;
	if (vm->type == KVM_X86_TDX_VM) {
		if (vm->td_state != TD_INIT)
			return -EIO;
		if (!vm->split_irqchip)
			return -EINVAL;
	}
	if (id >= MAX_VCPUS || vm->created_vcpus >= m->cfg.max_vcpus)
		return -EINVAL;
	if (vm->vcpus[id])
		return -EEXIST;
	fd = new_obj(m, OBJ_VCPU, sizeof(*v), (void **)&v);
	if (fd < 0)
		return fd;
	*v = (struct mvcpu){ .vm = vm, .id = (int)id, .fd = fd };
	vm->vcpus[id] = v;
	vm->created_vcpus++;
	vm->refs++;
	return fd;
}

static int vm_create_gmem(struct tdx_model *m, struct mvm *vm, struct kvm_create_guest_memfd *c)
{
	struct mgmem *g;
	uint8_t **pages;
	unsigned i;
	int fd, r = enter(m, TM_OP_CREATE_GUEST_MEMFD);

	if (r)
		return r;
	if (m->cfg.no_guest_memfd)
		return -ENOTTY;
	/* No flags for a TD (mmap/init-shared are for VMs without private memory). */
	if (c->flags || !c->size || (c->size & (PG - 1)))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(c->reserved); i++)
		if (c->reserved[i])
			return -EINVAL;
	pages = m_alloc(m, (c->size / PG) * sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	fd = new_obj(m, OBJ_GMEM, sizeof(*g), (void **)&g);
	if (fd < 0) {
		m_free(m, pages);
		return fd;
	}
	g->pages = pages;
	g->vm = vm;
	g->size = c->size;
	g->fd = fd;
	vm->refs++;
	return fd;
}

static int vm_ioctl_(struct tdx_model *m, struct mvm *vm, unsigned long req, void *arg)
{
	int r;

	if (vm->bugged)
		return -EIO;
	switch (req) {
	case KVM_CHECK_EXTENSION:
		enter(m, TM_OP_CHECK_EXTENSION);
		return (int)check_ext(m, vm, (long)(uintptr_t)arg);
	case KVM_ENABLE_CAP:
		return vm_enable_cap(m, vm, arg);
	case KVM_MEMORY_ENCRYPT_OP:
		return vm_tdx_op(m, vm, arg);
	case KVM_CREATE_VCPU:
		return vm_create_vcpu(m, vm, (unsigned long)(uintptr_t)arg);
	case KVM_SET_USER_MEMORY_REGION: {
		const struct kvm_userspace_memory_region *o = arg;
		struct kvm_userspace_memory_region2 r2 = {
			.slot = o->slot, .flags = o->flags, .guest_phys_addr = o->guest_phys_addr,
			.memory_size = o->memory_size, .userspace_addr = o->userspace_addr,
		};

		r = enter(m, TM_OP_SET_MEMORY_REGION);
		return r ? r : vm_set_region(vm, &r2, false);
	}
	case KVM_SET_USER_MEMORY_REGION2:
		r = enter(m, TM_OP_SET_MEMORY_REGION2);
		if (r)
			return r;
		if (m->cfg.no_user_memory2)
			return -ENOTTY;
		return vm_set_region(vm, arg, true);
	case KVM_SET_MEMORY_ATTRIBUTES:
		r = enter(m, TM_OP_SET_MEMORY_ATTRIBUTES);
		return r ? r : vm_set_attributes(vm, arg);
	case KVM_CREATE_GUEST_MEMFD:
		return vm_create_gmem(m, vm, arg);
	case KVM_SET_TSC_KHZ:
		return 0;
	default:
		enter(m, TM_OP_OTHER);
		return -ENOTTY;
	}
}

/* ---------------------------------------------------------------- TDX vCPU commands */

static void mr_block(struct sha384_ctx *c, const char *name, uint64_t gpa)
{
	uint8_t b[128];
	int i;

	memset(b, 0, sizeof(b));
	strncpy((char *)b, name, 16);
	for (i = 0; i < 8; i++)
		b[16 + i] = (uint8_t)(gpa >> (i * 8));
	sha384_update(c, b, sizeof(b));
}

/* One page of kvm_gmem_populate + tdx_gmem_post_populate. */
static int populate_page(struct tdx_model *m, struct mvm *vm, uint64_t gpa, const uint8_t *src,
			 bool measure)
{
	struct mslot *s = slot_for(vm, gpa);
	uint64_t idx;
	unsigned c;

	if (!s || !(s->flags & KVM_MEM_GUEST_MEMFD))
		return -EINVAL;
	if (!s->gmem)
		return -EFAULT;
	if (!range_private(vm, gpa))
		return -EINVAL;
	idx = (s->off + gpa - s->gpa) / PG;
	if (s->gmem->pages[idx])
		return -EEXIST;
	if (m->f.page_add_busy > 0) {
		m->f.page_add_busy--;
		return -EBUSY;
	}
	if (m->f.page_add_fail_after > 0 && m->pages_ok >= m->f.page_add_fail_after) {
		m->f.page_add_fail_after = 0;
		return -EIO;
	}
	s->gmem->pages[idx] = m_alloc(m, PG);
	if (!s->gmem->pages[idx])
		return -ENOMEM;
	memcpy(s->gmem->pages[idx], src, PG);
	mr_block(&vm->mrtd, "MEM.PAGE.ADD", gpa);
	m->pages_ok++;
	vm->pages_added++;
	if (!measure)
		return 0;
	for (c = 0; c < PG; c += 256) {
		if (m->f.mr_extend_fail_after > 0 && m->extends_ok >= m->f.mr_extend_fail_after) {
			m->f.mr_extend_fail_after = 0;
			return -EIO;
		}
		mr_block(&vm->mrtd, "MR.EXTEND", gpa + c);
		sha384_update(&vm->mrtd, src + c, 256);
		m->extends_ok++;
	}
	return 0;
}

static int vcpu_init_mem_region(struct tdx_model *m, struct mvcpu *v, struct kvm_tdx_cmd *cmd)
{
	struct kvm_tdx_init_mem_region *u = (void *)(uintptr_t)cmd->data, reg;
	struct mvm *vm = v->vm;
	uint64_t shared = 1ULL << (vm->gpaw - 1), end;
	int r = 0, done = 0;

	if (v->state != 1)
		return -EINVAL;
	if (cmd->flags & ~KVM_TDX_MEASURE_MEMORY_REGION)
		return -EINVAL;
	if (!u)
		return -EFAULT;
	reg = *u;
	if ((reg.source_addr | reg.gpa) & (PG - 1) || !reg.nr_pages || reg.nr_pages > (1ULL << 40) ||
	    __builtin_add_overflow(reg.gpa, reg.nr_pages * PG, &end) || reg.gpa >= shared ||
	    end - 1 >= shared)
		return -EINVAL;
	while (reg.nr_pages) {
		if (m->f.eintr_after_pages > 0 && done == m->f.eintr_after_pages) {
			if (--m->f.eintr_count <= 0)
				m->f.eintr_after_pages = 0;
			r = -EINTR;
			break;
		}
		r = populate_page(m, vm, reg.gpa, (const uint8_t *)(uintptr_t)reg.source_addr,
				  cmd->flags & KVM_TDX_MEASURE_MEMORY_REGION);
		if (r)
			break;
		reg.source_addr += PG;
		reg.gpa += PG;
		reg.nr_pages--;
		done++;
	}
	*u = reg;                 /* progress is always written back */
	return r;
}

static int vcpu_tdx_op(struct tdx_model *m, struct mvcpu *v, struct kvm_tdx_cmd *cmd)
{
	struct mvm *vm = v->vm;
	int r;

	if (vm->type != KVM_X86_TDX_VM)
		return -ENOTTY;
	if (vm->hkid < 0 || vm->td_state == TD_RUNNABLE || cmd->hw_error)
		return -EINVAL;
	switch (cmd->id) {
	case KVM_TDX_INIT_VCPU:
		r = enter(m, TM_OP_TDX_INIT_VCPU);
		if (r)
			return r;
		/* The APIC goes to x2APIC mode, which the vCPU's CPUID must allow. */
		if (cmd->flags || v->state || !v->x2apic)
			return -EINVAL;
		if (m->f.vp_init_fail) {
			m->f.vp_init_fail = false;
			vm->bugged = true;
			return -EIO;
		}
		v->tdvpr = m_alloc(m, PG);
		if (!v->tdvpr)
			return -ENOMEM;
		v->rcx = cmd->data;
		v->state = 1;
		return 0;
	case KVM_TDX_INIT_MEM_REGION:
		r = enter(m, TM_OP_TDX_INIT_MEM_REGION);
		return r ? r : vcpu_init_mem_region(m, v, cmd);
	case KVM_TDX_GET_CPUID: {
		struct kvm_cpuid2 *c = (void *)(uintptr_t)cmd->data;

		r = enter(m, TM_OP_TDX_GET_CPUID);
		if (r)
			return r;
		if (!c)
			return -EFAULT;
		/* Unlike CAPABILITIES, this one tells the caller the size it needs. */
		if (c->nent < vm->cpuid_nent) {
			c->nent = vm->cpuid_nent;
			return -E2BIG;
		}
		memcpy(c->entries, vm->cpuid, vm->cpuid_nent * sizeof(vm->cpuid[0]));
		c->nent = vm->cpuid_nent;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* ---------------------------------------------------------------- KVM_RUN */

static void finish(struct vcpu_script *s, uint64_t r10)
{
	s->res[s->pos].done = true;
	s->res[s->pos].r10 = r10;
	s->pos++;
	s->pending = PEND_NONE;
	s->fault_repeats = 0;
}

/* Take up the result of the exit userspace just handled. */
static int complete(struct vcpu_script *s, struct kvm_run *run)
{
	union tdx_run_exit *e = tdx_run_exit(run);
	struct tdx_model_event *ev = &s->ev[s->pos];
	struct tdx_model_result *res = &s->res[s->pos];

	switch (s->pending) {
	case PEND_MAP_GPA:
		if (e->hypercall.ret == 0) {
			s->map_pos += s->map_chunk;
			s->pending = PEND_NONE;
			if (s->map_pos == ev->gpa + ev->size)
				finish(s, TDVMCALL_STATUS_SUCCESS);
			return 0;
		}
		res->r11 = s->map_pos;
		if (e->hypercall.ret == EAGAIN) {
			finish(s, TDVMCALL_STATUS_RETRY);
			return 0;
		}
		if (e->hypercall.ret == EINVAL) {
			finish(s, TDVMCALL_STATUS_INVALID_OPERAND);
			return 0;
		}
		finish(s, ~0ULL);
		return -EINVAL;     /* newest kernels refuse other values */
	case PEND_TDX:
		res->r11 = e->tdx.get_tdvmcall_info.r11;
		res->r12 = e->tdx.get_tdvmcall_info.r12;
		res->r13 = e->tdx.get_tdvmcall_info.r13;
		res->r14 = e->tdx.get_tdvmcall_info.r14;
		finish(s, e->tdx.unknown.ret);
		return 0;
	case PEND_FATAL:
		finish(s, 0);
		return 0;
	default:
		return 0;
	}
}

static void exit_tdx(struct kvm_run *run, uint64_t nr, uint64_t ret)
{
	union tdx_run_exit *e = tdx_run_exit(run);

	memset(e, 0, sizeof(*e));
	run->exit_reason = KVM_EXIT_TDX;
	e->tdx.nr = nr;
	e->tdx.unknown.ret = ret;
}

static int vcpu_run(struct tdx_model *m, struct mvcpu *v, struct kvm_run *run)
{
	struct mvm *vm = v->vm;
	struct vcpu_script *s = &m->scripts[v->id];
	uint64_t shared = 1ULL << (vm->gpaw ? vm->gpaw - 1 : 47);
	union tdx_run_exit *e;
	int r;

	if (vm->type == KVM_X86_TDX_VM && (v->state != 1 || vm->td_state != TD_RUNNABLE))
		return -EINVAL;
	if (!run)
		return -EFAULT;
	e = tdx_run_exit(run);
	r = complete(s, run);
	if (r)
		return r;
	if (run->immediate_exit)
		return -EINTR;
	while (s->pos < s->n) {
		struct tdx_model_event *ev = &s->ev[s->pos];
		struct tdx_model_result *res = &s->res[s->pos];
		uint64_t end;

		switch (ev->kind) {
		case TM_EV_ACCESS:
			if (range_private(vm, ev->gpa) == ev->private_) {
				finish(s, 0);
				continue;
			}
			if (++s->fault_repeats > 16) {
				run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
				return 0;
			}
			res->exits++;
			memset(e, 0, sizeof(*e));
			run->exit_reason = KVM_EXIT_MEMORY_FAULT;
			e->memory_fault.flags = ev->private_ ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
			e->memory_fault.gpa = ev->gpa & ~(PG - 1);
			e->memory_fault.size = PG;
			return -EFAULT;   /* unique among exits: KVM_RUN fails with EFAULT */
		case TM_EV_MAP_GPA:
			if (!(vm->hypercall_mask & BIT(KVM_HC_MAP_GPA_RANGE))) {
				finish(s, TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED);
				continue;
			}
			if ((ev->gpa | ev->size) & (PG - 1)) {
				finish(s, TDVMCALL_STATUS_ALIGN_ERROR);
				continue;
			}
			if (!ev->size || __builtin_add_overflow(ev->gpa, ev->size, &end) ||
			    end > shared) {
				finish(s, TDVMCALL_STATUS_INVALID_OPERAND);
				continue;
			}
			if (!res->exits)
				s->map_pos = ev->gpa;
			s->map_chunk = end - s->map_pos < MAP_GPA_CHUNK ? end - s->map_pos :
									  MAP_GPA_CHUNK;
			res->exits++;
			memset(e, 0, sizeof(*e));
			run->exit_reason = KVM_EXIT_HYPERCALL;
			e->hypercall.nr = KVM_HC_MAP_GPA_RANGE;
			e->hypercall.args[0] = s->map_pos;
			e->hypercall.args[1] = s->map_chunk / PG;
			e->hypercall.args[2] = ev->private_ ? KVM_MAP_GPA_RANGE_ENCRYPTED :
							      KVM_MAP_GPA_RANGE_DECRYPTED;
			e->hypercall.flags = KVM_EXIT_HYPERCALL_LONG_MODE;
			s->pending = PEND_MAP_GPA;
			return 0;
		case TM_EV_GET_QUOTE:
			if (ev->private_) {
				finish(s, TDVMCALL_STATUS_INVALID_OPERAND);
				continue;
			}
			res->exits++;
			exit_tdx(run, TDVMCALL_GET_QUOTE, TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED);
			e->tdx.get_quote.gpa = ev->gpa;
			e->tdx.get_quote.size = ev->size;
			s->pending = PEND_TDX;
			return 0;
		case TM_EV_TDVMCALL_INFO:
			if (ev->arg == 0) {
				finish(s, TDVMCALL_STATUS_SUCCESS);
				continue;
			}
			if (ev->arg != 1) {
				finish(s, TDVMCALL_STATUS_INVALID_OPERAND);
				continue;
			}
			res->exits++;
			exit_tdx(run, TDVMCALL_GET_TD_VM_CALL_INFO, TDVMCALL_STATUS_SUCCESS);
			e->tdx.get_tdvmcall_info.leaf = 1;
			s->pending = PEND_TDX;
			return 0;
		case TM_EV_EVENT_NOTIFY:
			if (ev->arg < 32 || ev->arg > 255) {
				finish(s, TDVMCALL_STATUS_INVALID_OPERAND);
				continue;
			}
			res->exits++;
			exit_tdx(run, TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT,
				 TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED);
			e->tdx.setup_event_notify.vector = ev->arg;
			s->pending = PEND_TDX;
			return 0;
		case TM_EV_UNKNOWN_TDVMCALL:
			res->exits++;
			exit_tdx(run, ev->arg, TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED);
			s->pending = PEND_TDX;
			return 0;
		case TM_EV_FATAL:
			res->exits++;
			memset(e, 0, sizeof(*e));
			run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
			e->system_event.type = KVM_SYSTEM_EVENT_TDX_FATAL;
			e->system_event.ndata = 16;
			memcpy(e->system_event.data, ev->regs, sizeof(ev->regs));
			s->pending = PEND_FATAL;
			return 0;
		case TM_EV_SHUTDOWN:
			goto shutdown;
		}
	}
shutdown:
	memset(e, 0, sizeof(*e));
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	e->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	return 0;
}

static int vcpu_ioctl_(struct tdx_model *m, struct mvcpu *v, unsigned long req, void *arg)
{
	struct mvm *vm = v->vm;
	int r;

	if (vm->bugged)
		return -EIO;
	switch (req) {
	case KVM_SET_CPUID2: {
		struct kvm_cpuid2 *c = arg;
		uint32_t i;

		r = enter(m, TM_OP_SET_CPUID2);
		if (r)
			return r;
		if (c->nent > KVM_MAX_CPUID_ENTRIES)
			return -E2BIG;
		v->x2apic = false;
		for (i = 0; i < c->nent; i++)
			if (c->entries[i].function == 1)
				v->x2apic = c->entries[i].ecx & (1u << 21);
		return 0;
	}
	case KVM_MEMORY_ENCRYPT_OP:
		return vcpu_tdx_op(m, v, arg);
	case KVM_RUN:
		r = enter(m, TM_OP_RUN);
		return r ? r : vcpu_run(m, v, v->run);
	case KVM_GET_REGS:
	case KVM_GET_SREGS:
		/* A TD's register state is protected. */
		return vm->type == KVM_X86_TDX_VM ? -EINVAL : 0;
	default:
		enter(m, TM_OP_OTHER);
		return -ENOTTY;
	}
}

/* ---------------------------------------------------------------- backend */

static struct tdx_model *model_of(struct kvm_backend *b)
{
	return b->ctx;
}

static int b_open(struct kvm_backend *b, const char *path)
{
	struct tdx_model *m = model_of(b);
	int fd;

	pthread_mutex_lock(&m->lock);
	fd = add_obj(m, OBJ_SYS, NULL);
	pthread_mutex_unlock(&m->lock);
	return fd;
}

static int b_close(struct kvm_backend *b, int fd)
{
	struct tdx_model *m = model_of(b);
	struct obj *o;

	pthread_mutex_lock(&m->lock);
	o = find_obj(m, fd);
	if (!o) {
		pthread_mutex_unlock(&m->lock);
		return -EBADF;
	}
	switch (o->kind) {
	case OBJ_VM: {
		struct mvm *vm = o->p;

		drop_obj(m, o);
		vm->fd = -1;
		vm_put(m, vm);
		break;
	}
	case OBJ_VCPU: {
		struct mvcpu *v = o->p;

		drop_obj(m, o);
		v->fd = -1;
		vm_put(m, v->vm);
		break;
	}
	case OBJ_GMEM: {
		struct mgmem *g = o->p;

		drop_obj(m, o);
		destroy_gmem(m, g);
		break;
	}
	default:
		drop_obj(m, o);
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int sys_ioctl(struct tdx_model *m, unsigned long req, void *arg)
{
	struct mvm *vm;
	unsigned long type;
	int fd, r;

	switch (req) {
	case KVM_GET_API_VERSION:
		return API_VERSION;
	case KVM_GET_VCPU_MMAP_SIZE:
		return RUN_SIZE;
	case KVM_CHECK_EXTENSION:
		enter(m, TM_OP_CHECK_EXTENSION);
		return (int)check_ext(m, NULL, (long)(uintptr_t)arg);
	case KVM_GET_SUPPORTED_CPUID:
		return sys_get_supported_cpuid(m, arg);
	case KVM_CREATE_VM:
		r = enter(m, TM_OP_CREATE_VM);
		if (r)
			return r;
		type = (unsigned long)(uintptr_t)arg;
		if (type >= 64 || !(m->cfg.vm_types & BIT(type)))
			return -EINVAL;
		fd = new_obj(m, OBJ_VM, sizeof(*vm), (void **)&vm);
		if (fd < 0)
			return fd;
		vm->m = m;
		vm->fd = fd;
		vm->refs = 1;
		vm->type = type;
		vm->hkid = -1;
		if (type == KVM_X86_TDX_VM)
			m->newest = vm;
		return fd;
	default:
		return -ENOTTY;
	}
}

static int b_ioctl(struct kvm_backend *b, int fd, unsigned long req, void *arg)
{
	struct tdx_model *m = model_of(b);
	struct obj *o;
	int r;

	pthread_mutex_lock(&m->lock);
	o = find_obj(m, fd);
	if (!o)
		r = -EBADF;
	else if (o->kind == OBJ_SYS)
		r = sys_ioctl(m, req, arg);
	else if (o->kind == OBJ_VM)
		r = vm_ioctl_(m, o->p, req, arg);
	else if (o->kind == OBJ_VCPU)
		r = vcpu_ioctl_(m, o->p, req, arg);
	else
		r = -ENOTTY;
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void *b_mmap_run(struct kvm_backend *b, int fd, size_t len)
{
	struct tdx_model *m = model_of(b);
	struct obj *o;
	void *p = NULL;

	pthread_mutex_lock(&m->lock);
	o = find_obj(m, fd);
	if (enter(m, TM_OP_MMAP_RUN) || m->f.mmap_run_fail || !o || o->kind != OBJ_VCPU ||
	    len < sizeof(struct kvm_run)) {
		m->f.mmap_run_fail = false;
		errno = ENOMEM;
	} else {
		struct mvcpu *v = o->p;
		int i;

		for (i = 0; i < MAX_RUNS && m->runs[i].p; i++)
			;
		if (v->run || i == MAX_RUNS) {
			errno = EBUSY;
		} else {
			p = m_alloc(m, len);
			m->runs[i] = (struct run_map){ .p = p, .len = len, .owner = v };
			v->run = p;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return p;
}

static int b_munmap_run(struct kvm_backend *b, void *p, size_t len)
{
	struct tdx_model *m = model_of(b);
	int i, r = -EINVAL;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < MAX_RUNS; i++) {
		if (m->runs[i].p == p && p) {
			if (m->runs[i].owner)
				m->runs[i].owner->run = NULL;
			m_free(m, p);
			m->runs[i] = (struct run_map){ 0 };
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* ---------------------------------------------------------------- public */

void tdx_model_default_config(struct tdx_model_config *c)
{
	memset(c, 0, sizeof(*c));
	c->vm_types = BIT(KVM_X86_DEFAULT_VM) | BIT(KVM_X86_TDX_VM);
	c->hkids = 4;
	c->max_vcpus = 8;
	c->packages = 2;
	c->num_cpuid_config = 12;
	c->supported_attrs = ATTR_SEPT_VE_DISABLE;
	c->supported_xfam = 0x2e7;    /* x87 SSE AVX OPMASK ZMM_HI256 HI16_ZMM PKRU */
	c->nr_memslots = 512;
}

int tdx_model_new(const struct tdx_model_config *cfg, struct tdx_model **out)
{
	struct tdx_model *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	if (cfg)
		m->cfg = *cfg;
	else
		tdx_model_default_config(&m->cfg);
	if (m->cfg.num_cpuid_config < 6)
		m->cfg.num_cpuid_config = 6;
	if (m->cfg.hkids > 64)
		m->cfg.hkids = 64;
	pthread_mutex_init(&m->lock, NULL);
	m->be = (struct kvm_backend){ .name = "tdx-model", .ctx = m, .open = b_open,
				      .close = b_close, .ioctl = b_ioctl,
				      .mmap_run = b_mmap_run, .munmap_run = b_munmap_run };
	build_tables(m);
	if (!m->conf) {
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void tdx_model_free(struct tdx_model *m)
{
	int i;

	if (!m)
		return;
	/* Close leftovers like the kernel does at process exit: vCPUs and gmem before VMs. */
	for (i = m->nobjs - 1; i >= 0; i--)
		if (i < m->nobjs && (m->objs[i].kind == OBJ_VCPU || m->objs[i].kind == OBJ_GMEM))
			b_close(&m->be, m->objs[i].fd);
	while (m->nobjs)
		b_close(&m->be, m->objs[m->nobjs - 1].fd);
	for (i = 0; i < MAX_RUNS; i++)
		if (m->runs[i].p)
			m_free(m, m->runs[i].p);
	m_free(m, m->conf);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

struct kvm_backend *tdx_model_backend(struct tdx_model *m)
{
	return &m->be;
}

struct tdx_model_faults *tdx_model_faults(struct tdx_model *m)
{
	return &m->f;
}

unsigned tdx_model_calls(const struct tdx_model *m, enum tdx_model_op op)
{
	return (unsigned)op < TM_OP_NR ? m->calls[op] : 0;
}

size_t tdx_model_trace(const struct tdx_model *m, enum tdx_model_op *ops, size_t max)
{
	size_t n = MIN(max, m->ntrace);

	if (ops)
		memcpy(ops, m->trace, n * sizeof(*ops));
	return m->ntrace;
}

long tdx_model_live_allocs(const struct tdx_model *m)
{
	return m->allocs - 1;     /* the CPUID configuration table lives as long as the model */
}

int tdx_model_open_fds(const struct tdx_model *m)
{
	return m->nobjs;
}

int tdx_model_live_vms(const struct tdx_model *m)
{
	int i, n = 0;

	for (i = 0; i < m->nobjs; i++)
		n += m->objs[i].kind == OBJ_VM;
	return n;
}

int tdx_model_hkids_in_use(const struct tdx_model *m)
{
	return __builtin_popcountll(m->hkid_used);
}

const char *tdx_model_destroy_log(const struct tdx_model *m)
{
	return m->destroy_log;
}

bool tdx_model_last_mrtd(const struct tdx_model *m, uint8_t out[48])
{
	if (m->have_mrtd)
		memcpy(out, m->last_mrtd, 48);
	return m->have_mrtd;
}

bool tdx_model_td_info(struct tdx_model *m, struct tdx_model_td_info *out)
{
	struct mvm *vm;
	int i;

	pthread_mutex_lock(&m->lock);
	vm = m->newest;
	if (vm) {
		memset(out, 0, sizeof(*out));
		out->state = vm->td_state;
		out->bugged = vm->bugged;
		out->hkid = vm->hkid;
		out->attributes = vm->attributes;
		out->xfam = vm->xfam;
		memcpy(out->mrconfigid, vm->mrconfigid, 48);
		memcpy(out->mrowner, vm->mrowner, 48);
		memcpy(out->mrownerconfig, vm->mrownerconfig, 48);
		out->cpuid_nent = vm->cpuid_nent;
		out->split_irqchip = vm->split_irqchip;
		out->ioapic_pins = vm->ioapic_pins;
		out->apic_bus_ns = vm->apic_bus_ns;
		out->hypercall_mask = vm->hypercall_mask;
		out->pages_added = vm->pages_added;
		for (i = 0; i < MAX_VCPUS; i++) {
			out->nvcpus += vm->vcpus[i] != NULL;
			out->init_vcpus += vm->vcpus[i] && vm->vcpus[i]->state;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return vm != NULL;
}

bool tdx_model_is_private(struct tdx_model *m, uint64_t gpa)
{
	bool r;

	pthread_mutex_lock(&m->lock);
	r = m->newest && range_private(m->newest, gpa);
	pthread_mutex_unlock(&m->lock);
	return r;
}

const uint8_t *tdx_model_private_page(struct tdx_model *m, uint64_t gpa)
{
	const uint8_t *p = NULL;
	struct mslot *s;

	pthread_mutex_lock(&m->lock);
	if (m->newest) {
		s = slot_for(m->newest, gpa);
		if (s && s->gmem)
			p = s->gmem->pages[(s->off + (gpa & ~(PG - 1)) - s->gpa) / PG];
	}
	pthread_mutex_unlock(&m->lock);
	return p;
}

uint64_t tdx_model_vcpu_rcx(struct tdx_model *m, int vcpu)
{
	uint64_t r = 0;

	pthread_mutex_lock(&m->lock);
	if (m->newest && vcpu >= 0 && vcpu < MAX_VCPUS && m->newest->vcpus[vcpu])
		r = m->newest->vcpus[vcpu]->rcx;
	pthread_mutex_unlock(&m->lock);
	return r;
}

int tdx_model_script(struct tdx_model *m, int vcpu, const struct tdx_model_event *ev, unsigned n)
{
	struct vcpu_script *s;

	if (vcpu < 0 || vcpu >= MAX_VCPUS || n > MAX_EVENTS)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	s = &m->scripts[vcpu];
	memset(s, 0, sizeof(*s));
	memcpy(s->ev, ev, n * sizeof(*ev));
	s->n = n;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

const struct tdx_model_result *tdx_model_result(struct tdx_model *m, int vcpu, unsigned idx)
{
	if (vcpu < 0 || vcpu >= MAX_VCPUS || idx >= MAX_EVENTS)
		return NULL;
	return &m->scripts[vcpu].res[idx];
}
