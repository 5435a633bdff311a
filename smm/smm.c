#include "smm/smm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smm/savestate_kvm.h"
#include "smm/smm_kvm.h"
#include "smm/smm_user.h"
#include "vmm/bus.h"
#include "vmm/err.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"

/* ---- small shared helpers ---- */

uint64_t smm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int smm_fail(struct vcpu *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->exit_msg, sizeof(v->exit_msg), fmt, ap);
	va_end(ap);
	if (vm_stop_reason(v->vm) == VM_RUNNING)
		log_error("cpu%d: smm: %s", v->id, v->exit_msg);
	vm_request_stop(v->vm, VM_STOP_ERROR, 2, "cpu%d: smm: %s", v->id, v->exit_msg);
	return -1;
}

void smm_stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void smm_stat_max(uint64_t *counter, uint64_t v)
{
	uint64_t cur = __atomic_load_n(counter, __ATOMIC_RELAXED);

	while (v > cur && !__atomic_compare_exchange_n(counter, &cur, v, true, __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

/* ---- backend choice ---- */

static bool kvm_backend_ok(const struct kvm_caps *c, const char **why)
{
	if (!c->smm) {
		*why = "KVM_CAP_X86_SMM";
		return false;
	}
	if (c->nr_as < 2) {
		*why = "a second memslot address space (KVM_CAP_MULTI_ADDRESS_SPACE)";
		return false;
	}
	return true;
}

static bool user_backend_ok(const struct kvm_caps *c, const char **why)
{
	const unsigned need = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP |
			      KVM_GUESTDBG_USE_HW_BP;

	if (!c->immediate_exit) {
		*why = "KVM_CAP_IMMEDIATE_EXIT";
		return false;
	}
	if (!c->guest_debug) {
		*why = "KVM_CAP_SET_GUEST_DEBUG";
		return false;
	}
	/* Older kernels lack the GUEST_DEBUG2 query; they support these bits. */
	if (c->guest_debug2 && (c->guest_debug2 & need) != need) {
		*why = "hardware breakpoints and single-step in KVM_SET_GUEST_DEBUG";
		return false;
	}
	if (!c->vcpu_events) {
		*why = "KVM_CAP_VCPU_EVENTS";
		return false;
	}
	if (!c->debugregs) {
		*why = "KVM_CAP_DEBUGREGS";
		return false;
	}
	return true;
}

int smm_select(const struct kvm *kvm, enum smm_backend_sel sel, enum smm_impl *out)
{
	const char *why_k = "", *why_u = "";
	bool k = kvm_backend_ok(&kvm->caps, &why_k);
	bool u = user_backend_ok(&kvm->caps, &why_u);

	switch (sel) {
	case SMM_BACKEND_KVM:
		if (!k)
			return err_set(-ENOTSUP, "-smm-backend kvm: host KVM lacks %s "
				       "(try -smm-backend user)", why_k);
		*out = SMM_IMPL_KVM;
		return 0;
	case SMM_BACKEND_USER:
		if (!u)
			return err_set(-ENOTSUP, "-smm-backend user: host KVM lacks %s", why_u);
		*out = SMM_IMPL_USER;
		return 0;
	case SMM_BACKEND_AUTO:
		if (k) {
			*out = SMM_IMPL_KVM;
			return 0;
		}
		if (u) {
			*out = SMM_IMPL_USER;
			return 0;
		}
		return err_set(-ENOTSUP, "SMM: host KVM lacks %s (kernel SMM) and %s "
			       "(userspace SMM)", why_k, why_u);
	}
	return err_set(-EINVAL, "-smm-backend: unknown value %d", (int)sel);
}

int smm_machine_enable(const struct kvm *kvm, enum onoffauto smm, bool has_mch,
		       enum smm_backend_sel sel)
{
	enum smm_impl impl;
	int r;

	switch (smm) {
	case OOA_OFF:
		return 0;
	case OOA_ON:
		if (!has_mch)
			return err_set(-ENOTSUP, "-machine smm=on needs the q35 machine "
				       "(SMRAM control and an SMI source)");
		r = smm_select(kvm, sel, &impl);
		return r < 0 ? r : 1;
	case OOA_AUTO:
		if (!has_mch)
			return 0;
		if (smm_select(kvm, sel, &impl) < 0) {
			err_clear();
			return 0;
		}
		return 1;
	}
	return err_set(-EINVAL, "-machine smm: unknown value %d", (int)smm);
}

const char *smm_backend_name(const struct smm *smm)
{
	if (!smm)
		return "none";
	return smm->ops->name;
}

/* ---- SMRAM views ---- */

static uint64_t block_end(const struct smm *smm)
{
	return smm->cfg.lowram_gpa + smm->cfg.lowram_size;
}

static bool in_hole(const struct smm *smm, uint64_t gpa, uint64_t size)
{
	int i;

	for (i = 0; i < smm->nr_holes; i++)
		if (ranges_overlap(smm->holes[i].gpa, smm->holes[i].size, gpa, size))
			return true;
	return false;
}

static bool contains(uint64_t base, uint64_t size, uint64_t gpa, uint64_t len)
{
	return size && gpa >= base && gpa - base < size && len <= size - (gpa - base);
}

static enum smm_piece_kind piece_kind(const struct smm *smm, const struct smm_piece *p)
{
	const struct smm_smram_cfg *c = &smm->smram;

	if (contains(c->tseg_base, c->tseg_size, p->gpa, p->size))
		return SMM_PIECE_TSEG;
	if (contains(MM_VGA, SMM_ASEG_SIZE, p->gpa, p->size))
		return SMM_PIECE_ASEG;
	return SMM_PIECE_RAM;
}

static bool tseg_hidden(const struct smm *smm)
{
	return smm->smram.tseg_size && smm->smram.tseg_closed;
}

static bool aseg_hidden(const struct smm *smm)
{
	return smm->smram.low_smram && !smm->smram.d_open;
}

bool smm_gpa_hidden(const struct smm *smm, uint64_t gpa, uint64_t len)
{
	if (tseg_hidden(smm) && ranges_overlap(smm->smram.tseg_base, smm->smram.tseg_size, gpa,
					       len))
		return true;
	return aseg_hidden(smm) && ranges_overlap(MM_VGA, SMM_ASEG_SIZE, gpa, len);
}

static bool piece_visible(const struct smm *smm, const struct smm_piece *p, int as)
{
	bool user_smm = smm->impl == SMM_IMPL_USER && smm->nr_in_smm > 0;

	if (as == 1)
		return true;     /* the SMM view sees all of low RAM */
	switch (piece_kind(smm, p)) {
	case SMM_PIECE_TSEG:
		return !tseg_hidden(smm) || user_smm ||
		       (smm->impl == SMM_IMPL_USER && smm->cfg.user_tseg_always_mapped);
	case SMM_PIECE_ASEG:
		return !aseg_hidden(smm) || (user_smm && smm->aseg_in_smm);
	default:
		return true;
	}
}

/*
 * Split the piece containing @x so that a boundary falls there. Cuts are
 * never merged again: once TSEG's edges are cuts, opening and closing it
 * only adds or removes its own slots and never remaps the RAM around it
 * (a vCPU running there would otherwise fault into the MMIO path while
 * the slot is briefly gone).
 */
static int split_at(struct smm *smm, uint64_t x)
{
	int i, as;

	for (i = 0; i < smm->nr_pieces; i++) {
		struct smm_piece *p = &smm->pieces[i];

		if (x <= p->gpa || x >= p->gpa + p->size)
			continue;
		if (smm->nr_pieces == SMM_MAX_PIECES)
			return -ENOSPC;
		for (as = 0; as < 2; as++) {
			if (p->slot[as] >= 0)
				vm_unmap(smm->vm, p->slot[as]);
			p->slot[as] = -1;
		}
		memmove(p + 2, p + 1, (size_t)(smm->nr_pieces - i - 1) * sizeof(*p));
		p[1] = (struct smm_piece){ .gpa = x, .size = p->gpa + p->size - x,
					   .slot = { -1, -1 } };
		p->size = x - p->gpa;
		smm->nr_pieces++;
		return 0;
	}
	return 0;
}

static void add_cut(struct smm *smm, uint64_t x)
{
	if (x <= smm->cfg.lowram_gpa || x >= block_end(smm) || !IS_ALIGNED(x, 4096))
		return;
	if (split_at(smm, x) < 0)
		log_warn("smm: too many SMRAM memslot pieces; boundary 0x%llx ignored",
			 (unsigned long long)x);
}

/* The initial pieces: the block without its holes. */
static int build_pieces(struct smm *smm)
{
	uint64_t cuts[2 * (SMM_MAX_HOLES + VM_MAX_SLOTS) + 2];
	uint64_t base = smm->cfg.lowram_gpa, end = block_end(smm);
	int n = 0, i, j;

	cuts[n++] = base;
	cuts[n++] = end;
	for (i = 0; i < smm->nr_holes; i++) {
		cuts[n++] = MAX(smm->holes[i].gpa, base);
		cuts[n++] = MIN(smm->holes[i].gpa + smm->holes[i].size, end);
	}
	/* insertion sort; n is small */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			uint64_t t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	smm->nr_pieces = 0;
	for (i = 0; i + 1 < n; i++) {
		uint64_t a = cuts[i], b = cuts[i + 1];

		if (b <= a || in_hole(smm, a, b - a))
			continue;
		if (smm->nr_pieces == SMM_MAX_PIECES)
			return err_set(-ENOSPC, "smm: low RAM has too many holes");
		smm->pieces[smm->nr_pieces++] = (struct smm_piece){ .gpa = a, .size = b - a,
								    .slot = { -1, -1 } };
	}
	return 0;
}

static void set_blackhole(struct smm *smm, int idx, uint64_t gpa, uint64_t size, bool on);

static int views_apply(struct smm *smm)
{
	int nas = smm->impl == SMM_IMPL_KVM ? 2 : 1;
	int i, as, r, ret = 0;

	for (i = 0; i < smm->nr_pieces; i++) {
		struct smm_piece *p = &smm->pieces[i];

		for (as = 0; as < nas; as++) {
			bool want = piece_visible(smm, p, as);

			if (want && p->slot[as] < 0) {
				r = vm_map(smm->vm, as, p->gpa, p->size,
					   smm->cfg.lowram_hva + (p->gpa - smm->cfg.lowram_gpa), 0);
				if (r < 0) {
					log_error("smm: %s", err_get());
					ret = r;
					continue;
				}
				p->slot[as] = r;
			} else if (!want && p->slot[as] >= 0) {
				vm_unmap(smm->vm, p->slot[as]);
				p->slot[as] = -1;
			}
		}
	}
	set_blackhole(smm, 0, smm->smram.tseg_base, smm->smram.tseg_size, tseg_hidden(smm));
	set_blackhole(smm, 1, MM_VGA, SMM_ASEG_SIZE, aseg_hidden(smm));
	vm_set_protected(smm->vm, SMM_PROT_TSEG, smm->smram.tseg_base, smm->smram.tseg_size,
			 tseg_hidden(smm));
	vm_set_protected(smm->vm, SMM_PROT_ASEG, MM_VGA, SMM_ASEG_SIZE, aseg_hidden(smm));
	return ret;
}

void smm_views_update(struct smm *smm, uint32_t smbase)
{
	/* A handler running from the A-segment needs it mapped: code cannot
	 * be fetched through MMIO. */
	if (smbase && ranges_overlap(MM_VGA, SMM_ASEG_SIZE, (uint64_t)smbase + MM_SMM_HANDLER_OFF,
				     0x8000))
		smm->aseg_in_smm = true;
	if (smm->nr_in_smm == 0)
		smm->aseg_in_smm = false;
	views_apply(smm);
}

/*
 * An access to hidden SMRAM from SMM: that only happens with the user
 * backend, for the A-segment, which is mapped lazily. Map it for the rest
 * of this SMM session and serve this access from RAM. NULL otherwise.
 */
static uint8_t *bh_smm_access(struct smm_blackhole *bh, const struct io_ctx *ctx, uint64_t off,
			      unsigned size)
{
	struct smm *smm = bh->smm;

	if (!ctx->smm || smm->impl != SMM_IMPL_USER || smm->nr_in_smm == 0)
		return NULL;
	if (bh->aseg && !smm->aseg_in_smm) {
		smm->aseg_in_smm = true;
		views_apply(smm);
	}
	return vm_gpa_ptr(smm->vm, bh->gpa + off, size);
}

/* Closed SMRAM seen from outside SMM: reads all-ones, writes dropped. */
static uint64_t bh_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	const uint8_t *p = bh_smm_access(dev, ctx, off, size);
	uint64_t v = 0;
	unsigned i;

	if (!p)
		return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void bh_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		     unsigned size)
{
	uint8_t *p = bh_smm_access(dev, ctx, off, size);
	unsigned i;

	for (i = 0; p && i < size; i++)
		p[i] = (uint8_t)(val >> (8 * i));
}

static const struct dev_ops blackhole_ops = {
	.name = "smram-blackhole",
	.read = bh_read,
	.write = bh_write,
};

static void set_blackhole(struct smm *smm, int idx, uint64_t gpa, uint64_t size, bool on)
{
	struct smm_blackhole *bh = &smm->bh[idx];
	struct bus *mmio = &smm->vm->mmio;

	if (!on || !size)
		gpa = size = 0;
	if (bh->gpa == gpa && bh->size == size)
		return;
	if (bh->size)
		bus_unregister(mmio, bh->gpa, bh);
	bh->smm = smm;
	bh->aseg = idx == 1;
	bh->gpa = bh->size = 0;
	if (!size)
		return;
	/* Another device may own the range (VGA at the A-segment): it wins. */
	if (bus_register(mmio, gpa, size, &blackhole_ops, bh) == 0) {
		bh->gpa = gpa;
		bh->size = size;
	}
}

static bool slot_is_mine(const struct smm *smm, int idx)
{
	int i;

	for (i = 0; i < smm->nr_pieces; i++)
		if (smm->pieces[i].slot[0] == idx || smm->pieces[i].slot[1] == idx)
			return true;
	for (i = 0; i < smm->nr_mirror; i++)
		if (smm->mirror[i].dst == idx)
			return true;
	return false;
}

int smm_sync_memslots(struct smm *smm)
{
	struct vm *vm = smm->vm;
	int i, j, r, ret = 0;

	if (smm->impl != SMM_IMPL_KVM)
		return 0;
	/* Drop copies whose source went away or changed. */
	for (i = 0; i < smm->nr_mirror;) {
		struct smm_mirror *m = &smm->mirror[i];
		const struct vm_slot *s = &vm->slots[m->src];

		if (s->used && (s->slot >> 16) == 0 && s->gpa == m->gpa && s->size == m->size &&
		    s->hva == m->hva && s->flags == m->flags) {
			i++;
			continue;
		}
		vm_unmap(vm, m->dst);
		*m = smm->mirror[--smm->nr_mirror];
	}
	/* Copy the new ones, unless vm_map_all() already put a twin in AS1. */
	for (i = 0; i < VM_MAX_SLOTS; i++) {
		const struct vm_slot *s = &vm->slots[i];
		bool have = false;

		if (!s->used || (s->slot >> 16) != 0 || slot_is_mine(smm, i))
			continue;
		for (j = 0; j < smm->nr_mirror; j++)
			have |= smm->mirror[j].src == i;
		for (j = 0; j < VM_MAX_SLOTS && !have; j++) {
			const struct vm_slot *t = &vm->slots[j];

			have = t->used && (t->slot >> 16) == 1 && t->gpa == s->gpa &&
			       t->size == s->size && t->hva == s->hva && t->flags == s->flags;
		}
		if (have)
			continue;
		r = vm_map(vm, 1, s->gpa, s->size, s->hva, s->flags);
		if (r < 0) {
			ret = r;
			continue;
		}
		smm->mirror[smm->nr_mirror++] = (struct smm_mirror){
			.src = i, .dst = r, .gpa = s->gpa, .size = s->size, .hva = s->hva,
			.flags = s->flags };
	}
	return ret;
}

void smm_set_smram(struct smm *smm, const struct smm_smram_cfg *c)
{
	if (!smm || !c)
		return;
	smm->smram = *c;
	if (c->tseg_size && (c->tseg_base + c->tseg_size < c->tseg_base ||
			     !contains(smm->cfg.lowram_gpa, smm->cfg.lowram_size, c->tseg_base,
				       c->tseg_size))) {
		/* TSEG is carved out of low RAM; anything else is a machine bug. */
		log_warn("smm: TSEG [0x%llx, +0x%llx) outside low RAM: ignored",
			 (unsigned long long)c->tseg_base, (unsigned long long)c->tseg_size);
		smm->smram.tseg_size = 0;
	}
	if (smm->smram.tseg_size) {
		add_cut(smm, smm->smram.tseg_base);
		add_cut(smm, smm->smram.tseg_base + smm->smram.tseg_size);
	}
	TRACE(TRACE_SMM, "smm: SMRAM tseg=[0x%llx,+0x%llx) %s d_open=%d d_lck=%d low=%d",
	      (unsigned long long)smm->smram.tseg_base, (unsigned long long)smm->smram.tseg_size,
	      smm->smram.tseg_closed ? "closed" : "open", c->d_open, c->d_lck, c->low_smram);
	views_apply(smm);
}

/*
 * Take the low-RAM block over from the machine: its own mapping of that
 * memory is removed (SMM maps it in pieces), any other slot overlapping
 * the block becomes a hole.
 */
static int take_over_lowram(struct smm *smm)
{
	struct vm *vm = smm->vm;
	uint64_t base = smm->cfg.lowram_gpa, end = block_end(smm);
	int i;

	for (i = 0; i < VM_MAX_SLOTS; i++) {
		const struct vm_slot *s = &vm->slots[i];

		if (!s->used || !ranges_overlap(s->gpa, s->size, base, end - base))
			continue;
		if (s->gpa >= base && s->gpa + s->size <= end &&
		    (uintptr_t)s->hva - (uintptr_t)smm->cfg.lowram_hva == s->gpa - base) {
			vm_unmap(vm, i);     /* in either address space */
			continue;
		}
		if ((s->slot >> 16) == 0)
			smm->holes[smm->nr_holes++] = (struct smm_range){ .gpa = s->gpa,
									  .size = s->size };
	}
	for (i = 0; i < smm->cfg.nr_holes && i < SMM_MAX_HOLES; i++)
		if (smm->cfg.holes[i].size)
			smm->holes[smm->nr_holes++] = smm->cfg.holes[i];
	return build_pieces(smm);
}

/* TSEG sizes the MCH can choose (1/2/8 MiB, extended 16/64 MiB) and the
 * A-segment: pre-cut so that SMRAM changes never remap surrounding RAM. */
static void precut(struct smm *smm)
{
	static const uint64_t tseg_mb[] = { 1, 2, 8, 16, 64 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tseg_mb); i++)
		if (smm->cfg.lowram_size > tseg_mb[i] * MiB + MM_HIGH_RAM)
			add_cut(smm, block_end(smm) - tseg_mb[i] * MiB);
	if (!in_hole(smm, MM_VGA, SMM_ASEG_SIZE)) {
		add_cut(smm, MM_VGA);
		add_cut(smm, MM_VGA + SMM_ASEG_SIZE);
	}
}

/* ---- vCPU plumbing ---- */

int smm_hook_vcpu_init(void *opaque, struct vcpu *v)
{
	struct smm *smm = opaque;
	struct smm_vcpu *sv;

	if (v->id < 0 || v->id >= smm->nr_cpus)
		return err_set(-EINVAL, "smm: vCPU %d beyond the %d vCPUs SMM was set up for",
			       v->id, smm->nr_cpus);
	sv = &smm->vcpus[v->id];
	sv->v = v;
	v->smm = sv;
	v->ioctx.smm = false;
	return 0;
}

void smm_set_vcpu_smm(struct smm_vcpu *sv, bool in_smm)
{
	struct smm *smm = sv->smm;

	sv->in_smm = in_smm;
	if (sv->v)
		sv->v->ioctx.smm = in_smm;
	if (smm->cfg.set_smm)
		smm->cfg.set_smm(smm->cfg.opaque, sv->cpu, in_smm);
}

static void raise_one(struct smm *smm, struct smm_vcpu *sv)
{
	smm_stat_add(&smm->stats.raised, 1);
	if (sv->in_smm)
		smm_stat_add(&smm->stats.latched, 1);
	atomic_store(&sv->pending, true);
	/* The vCPU looks at its pending flag before every KVM_RUN. */
	if (sv->v && vcpu_current() != sv->v)
		vcpu_kick(sv->v);
}

void smm_raise(struct smm *smm, int cpu)
{
	int i;

	if (!smm)
		return;
	if (cpu >= smm->nr_cpus) {
		TRACE(TRACE_SMM, "smm: SMI for nonexistent cpu%d dropped", cpu);
		return;
	}
	if (cpu >= 0) {
		raise_one(smm, &smm->vcpus[cpu]);
		return;
	}
	for (i = 0; i < smm->nr_cpus; i++)
		raise_one(smm, &smm->vcpus[i]);
}

void smm_apm_smi(void *opaque, bool broadcast)
{
	struct vcpu *cur = vcpu_current();

	smm_raise(opaque, broadcast || !cur ? -1 : cur->id);
}

void smm_ipi_smi(void *opaque, int cpu)
{
	/* A LAPIC message never broadcasts by itself: the irqchip fans out. */
	if (cpu >= 0)
		smm_raise(opaque, cpu);
}

bool smm_vcpu_in_smm(const struct smm *smm, int cpu)
{
	if (!smm || cpu < 0 || cpu >= smm->nr_cpus)
		return false;
	return smm->vcpus[cpu].in_smm;
}

bool smm_smi_pending(const struct smm *smm, int cpu)
{
	if (!smm || cpu < 0 || cpu >= smm->nr_cpus)
		return false;
	return atomic_load(&smm->vcpus[cpu].pending);
}

void smm_get_stats(struct smm *smm, struct smm_stats *out)
{
	const uint64_t *src = (const uint64_t *)&smm->stats;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void smm_reset(struct smm *smm)
{
	int i;

	if (!smm)
		return;
	for (i = 0; i < smm->nr_cpus; i++) {
		struct smm_vcpu *sv = &smm->vcpus[i];

		smm->ops->vcpu_reset(smm, sv);
		atomic_store(&sv->pending, false);
	}
	smm->nr_in_smm = 0;
	smm->aseg_in_smm = false;
	pthread_mutex_lock(&smm->cache_lock);
	memset(smm->rsm_cache, 0, sizeof(smm->rsm_cache));
	pthread_mutex_unlock(&smm->cache_lock);
	views_apply(smm);
}

/* ---- the test port ---- */

static uint64_t tp_read(void *dev, const struct io_ctx *ctx, uint64_t off, unsigned size)
{
	return 0;
}

static void tp_write(void *dev, const struct io_ctx *ctx, uint64_t off, uint64_t val,
		     unsigned size)
{
	struct smm *smm = dev;

	if ((val & 0xff) == 0xff || ctx->cpu < 0)
		smm_raise(smm, -1);
	else
		smm_raise(smm, ctx->cpu);
}

static const struct dev_ops test_port_ops = {
	.name = "smm-test-port",
	.read = tp_read,
	.write = tp_write,
};

int smm_register_test_port(struct smm *smm)
{
	int r;

	if (smm->test_port)
		return 0;
	r = bus_register(&smm->vm->pio, PORT_TEST_SMI, 1, &test_port_ops, smm);
	if (r < 0)
		return err_set(r, "-device smm-test-port: I/O port 0x%x is taken", PORT_TEST_SMI);
	smm->test_port = true;
	return 0;
}

/* ---- creation ---- */

static int check_cfg(const struct smm_cfg *cfg)
{
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > VM_MAX_VCPUS)
		return err_set(-EINVAL, "smm: %d vCPUs is out of range", cfg->nr_cpus);
	if (!cfg->lowram_hva || !cfg->lowram_size || !IS_ALIGNED(cfg->lowram_gpa, 4096) ||
	    !IS_ALIGNED(cfg->lowram_size, 4096) ||
	    cfg->lowram_gpa + cfg->lowram_size < cfg->lowram_gpa)
		return err_set(-EINVAL, "smm: bad low-RAM block [0x%llx, +0x%llx)",
			       (unsigned long long)cfg->lowram_gpa,
			       (unsigned long long)cfg->lowram_size);
	if (cfg->nr_holes < 0 || cfg->nr_holes > SMM_MAX_HOLES)
		return err_set(-EINVAL, "smm: %d holes (max %d)", cfg->nr_holes, SMM_MAX_HOLES);
	return 0;
}

int smm_create(struct vm *vm, const struct smm_cfg *cfg, struct smm **out)
{
	struct smm *smm;
	int r, i;

	r = check_cfg(cfg);
	if (r < 0)
		return r;
	smm = calloc(1, sizeof(*smm));
	if (!smm)
		return -ENOMEM;
	smm->vm = vm;
	smm->cfg = *cfg;
	pthread_mutex_init(&smm->cache_lock, NULL);
	r = smm_select(vm->kvm, cfg->backend, &smm->impl);
	if (r < 0)
		goto fail;
	if (smm->impl == SMM_IMPL_KVM && vm->nr_as < 2) {
		r = err_set(-ENOTSUP, "smm: this VM has one memslot address space; "
			    "kernel SMM needs two (try -smm-backend user)");
		goto fail;
	}
	smm->ops = smm->impl == SMM_IMPL_KVM ? &smm_kvm_ops : &smm_user_ops;
	/* From now on vm_map_all() also maps into the SMRAM view (AS1). */
	if (smm->impl == SMM_IMPL_KVM)
		vm->mirror_as1 = true;
	smm_caps_from_cpuid(&smm->caps, vm->kvm->supported_cpuid);
	smm->layout = smm_layout_for(&smm->caps);
	smm->nr_cpus = cfg->nr_cpus;
	smm->vcpus = calloc((size_t)cfg->nr_cpus, sizeof(*smm->vcpus));
	if (!smm->vcpus) {
		r = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < cfg->nr_cpus; i++) {
		smm->vcpus[i].smm = smm;
		smm->vcpus[i].cpu = i;
		smm->vcpus[i].smbase = MM_SMBASE_DEFAULT;
	}
	r = take_over_lowram(smm);
	if (r < 0)
		goto fail;
	precut(smm);
	r = views_apply(smm);
	if (r < 0)
		goto fail_slots;
	r = smm_sync_memslots(smm);
	if (r < 0) {
		err_prefix(r, "smm: cannot mirror memory into the SMM address space");
		goto fail_slots;
	}
	r = vm_add_hooks(vm, smm->ops->hooks, smm);
	if (r < 0) {
		err_set(r, "smm: too many vCPU hook sets");
		goto fail_slots;
	}
	if (smm->impl == SMM_IMPL_USER && cfg->kernel_irqchip)
		log_warn("smm: userspace SMM with the in-kernel LAPIC: SMI IPIs (OVMF's SMBASE "
			 "relocation) never reach kvmrun; use -machine kernel-irqchip=off");
	log_info("smm: %s backend (%s save-state layout, revision 0x%08x)%s", smm->ops->name,
		 smm->layout == SMM_LAYOUT_64 ? "64-bit" : "32-bit",
		 smm_layout_revision(smm->layout),
		 cfg->backend == SMM_BACKEND_AUTO ? ", chosen automatically" : "");
	*out = smm;
	return 0;
fail_slots:
	for (i = 0; i < smm->nr_mirror; i++)
		vm_unmap(vm, smm->mirror[i].dst);
	for (i = 0; i < smm->nr_pieces; i++) {
		if (smm->pieces[i].slot[0] >= 0)
			vm_unmap(vm, smm->pieces[i].slot[0]);
		if (smm->pieces[i].slot[1] >= 0)
			vm_unmap(vm, smm->pieces[i].slot[1]);
	}
	set_blackhole(smm, 0, 0, 0, false);
	set_blackhole(smm, 1, 0, 0, false);
fail:
	free(smm->vcpus);
	pthread_mutex_destroy(&smm->cache_lock);
	free(smm);
	return r;
}

/*
 * One line for bench/ and -v users; the format is documented in
 * smm/README.md (key=value pairs, times in nanoseconds, means rounded down).
 */
static void print_stats(struct smm *smm)
{
	struct smm_stats st;
	char line[320];
	uint64_t n;

	if (log_verbosity < 1 && !trace_on(TRACE_SMM))
		return;
	smm_get_stats(smm, &st);
	n = st.rsms ? st.rsms : 1;
	snprintf(line, sizeof(line), "smm: stats backend=%s smis=%llu rsms=%llu latched=%llu "
		 "deferred=%llu hwbp=%llu steps=%llu rt_mean_ns=%llu rt_max_ns=%llu "
		 "entry_mean_ns=%llu rsm_mean_ns=%llu", smm->ops->name,
		 (unsigned long long)st.entries, (unsigned long long)st.rsms,
		 (unsigned long long)st.latched, (unsigned long long)st.deferred,
		 (unsigned long long)st.hwbp_hits, (unsigned long long)st.steps,
		 (unsigned long long)(st.roundtrip_ns / n), (unsigned long long)st.roundtrip_max_ns,
		 (unsigned long long)(st.entry_ns / n), (unsigned long long)(st.exit_ns / n));
	/* Once: on stderr with -v, else on the trace stream with -trace smm. */
	if (log_verbosity >= 1)
		log_info("%s", line);
	else
		trace_printf("%s", line);
}

void smm_destroy(struct smm *smm)
{
	int i;

	if (!smm)
		return;
	print_stats(smm);
	set_blackhole(smm, 0, 0, 0, false);
	set_blackhole(smm, 1, 0, 0, false);
	if (smm->test_port)
		bus_unregister(&smm->vm->pio, PORT_TEST_SMI, smm);
	for (i = 0; i < smm->nr_cpus; i++)
		if (smm->vcpus[i].v && smm->vcpus[i].v->smm == &smm->vcpus[i])
			smm->vcpus[i].v->smm = NULL;
	pthread_mutex_destroy(&smm->cache_lock);
	free(smm->vcpus);
	free(smm);
}
