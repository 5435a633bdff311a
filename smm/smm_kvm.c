#include "smm/smm_kvm.h"

#include <errno.h>
#include <string.h>

#include "smm/savestate.h"
#include "vmm/log.h"
#include "vmm/memmap.h"
#include "vmm/vcpu.h"

union msr_buf {
	struct kvm_msrs m;
	uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

static int smbase_msr(struct vcpu *v, bool set, uint32_t *smbase)
{
	union msr_buf b;
	int r;

	memset(&b, 0, sizeof(b));
	b.m.nmsrs = 1;
	b.m.entries[0].index = SMM_MSR_IA32_SMBASE;
	b.m.entries[0].data = *smbase;
	r = vcpu_ioctl(v, set ? KVM_SET_MSRS : KVM_GET_MSRS, &b);
	if (r != 1)
		return r < 0 ? r : -EIO;     /* the ioctls return how many MSRs they did */
	*smbase = (uint32_t)b.m.entries[0].data;
	return 0;
}

/* Only for -trace smm: what KVM just wrote into the save area. */
static void trace_entry(struct smm *smm, struct smm_vcpu *sv, struct vcpu *v)
{
	uint32_t smbase = 0;
	const uint8_t *img;
	struct smm_cpu_state st;

	if (smbase_msr(v, false, &smbase) < 0) {
		trace_printf("smm: cpu%d SMI entry (kvm): SMBASE unreadable", v->id);
		return;
	}
	sv->smbase = smbase;
	img = vm_gpa_ptr(smm->vm, (uint64_t)smbase + SMM_SAVE_BASE, SMM_SAVE_SIZE);
	if (!img) {
		trace_printf("smm: cpu%d SMI entry (kvm): smbase=0x%x, save area outside RAM",
			     v->id, smbase);
		return;
	}
	smm_save_decode(img, smm->layout, &st);
	trace_printf("smm: cpu%d SMI entry (kvm): smbase=0x%x rev=0x%08x entry_rip=0x%llx "
		     "saved_rip=0x%llx", v->id, smbase, st.revision,
		     (unsigned long long)MM_SMM_HANDLER_OFF, (unsigned long long)st.rip);
}

static void left_smm(struct smm *smm, struct smm_vcpu *sv, struct vcpu *v)
{
	uint64_t rt = sv->t_smi ? smm_now_ns() - sv->t_smi : 0;
	uint32_t smbase = sv->smbase;

	sv->t_smi = 0;
	smm_stat_add(&smm->stats.rsms, 1);
	smm_stat_add(&smm->stats.roundtrip_ns, rt);
	smm_stat_max(&smm->stats.roundtrip_max_ns, rt);
	if (!trace_on(TRACE_SMM))
		return;
	if (smbase_msr(v, false, &smbase) == 0 && smbase != sv->smbase)
		trace_printf("smm: cpu%d RSM (kvm): smbase=0x%x relocated to 0x%x rt=%lluns",
			     v->id, sv->smbase, smbase, (unsigned long long)rt);
	else
		trace_printf("smm: cpu%d RSM (kvm): smbase=0x%x rt=%lluns", v->id, smbase,
			     (unsigned long long)rt);
	sv->smbase = smbase;
}

/* Queue the pending SMI on this (the target's own) thread. */
static int kvm_pre_run(void *opaque, struct vcpu *v)
{
	struct smm *smm = opaque;
	struct smm_vcpu *sv = v->smm;
	int r;

	if (!sv || !atomic_load_explicit(&sv->pending, memory_order_relaxed))
		return 0;
	/* KVM would take the SMI in the INIT state that only userspace knows. */
	if (smm->cfg.smi_blocked && smm->cfg.smi_blocked(smm->cfg.opaque, v->id))
		return 0;
	if (!atomic_exchange(&sv->pending, false))
		return 0;
	r = vcpu_ioctl(v, KVM_SMI, NULL);
	if (r < 0)
		return smm_fail(v, "KVM_SMI failed: %s", strerror(-r));
	smm_stat_add(&smm->stats.entries, 1);
	if (!sv->t_smi)
		sv->t_smi = smm_now_ns();
	TRACE(TRACE_SMM, "smm: cpu%d KVM_SMI queued%s", v->id, sv->in_smm ? " (latched)" : "");
	return 0;
}

static void kvm_post_run(void *opaque, struct vcpu *v)
{
	struct smm *smm = opaque;
	struct smm_vcpu *sv = v->smm;
	struct kvm_vcpu_events ev;
	bool in;

	if (!sv)
		return;
	in = v->run->flags & KVM_RUN_X86_SMM;
	if (in != sv->in_smm) {
		/* Before the exit is dispatched: secure flash writes look at this. */
		smm_set_vcpu_smm(sv, in);
		if (in) {
			if (!sv->t_smi) {        /* an SMI from KVM's own LAPIC */
				smm_stat_add(&smm->stats.entries, 1);
				sv->t_smi = smm_now_ns();
			}
			if (trace_on(TRACE_SMM))
				trace_entry(smm, sv, v);
		} else {
			left_smm(smm, sv, v);
		}
		return;
	}
	/*
	 * An SMI was queued and SMM is not visible at this exit: either the
	 * whole SMI ran between two exits, or KVM_RUN returned before
	 * entering the guest. The vCPU events tell which.
	 */
	if (!in && sv->t_smi && vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &ev) == 0 && !ev.smi.pending &&
	    !ev.smi.smm)
		left_smm(smm, sv, v);
}

static void kvm_vcpu_reset(struct smm *smm, struct smm_vcpu *sv)
{
	struct vcpu *v = sv->v;
	struct kvm_vcpu_events ev;
	uint32_t smbase = MM_SMBASE_DEFAULT;
	int r;

	atomic_store(&sv->pending, false);
	sv->t_smi = 0;
	sv->smbase = MM_SMBASE_DEFAULT;
	if (sv->in_smm)
		smm_set_vcpu_smm(sv, false);
	if (!v)
		return;
	r = smbase_msr(v, true, &smbase);
	if (r < 0)
		log_warn("cpu%d: smm: cannot reset MSR_IA32_SMBASE: %s", v->id, strerror(-r));
	/*
	 * This is the one place kvmrun deliberately changes KVM's SMM state,
	 * so only here does it set KVM_VCPUEVENT_VALID_SMM (setting it with
	 * stale values elsewhere would drop a pending SMI).
	 */
	r = vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &ev);
	if (r == 0) {
		memset(&ev.smi, 0, sizeof(ev.smi));
		ev.flags = KVM_VCPUEVENT_VALID_SMM;
		r = vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev);
	}
	if (r < 0)
		log_warn("cpu%d: smm: cannot leave SMM at reset: %s", v->id, strerror(-r));
}

static void kvm_hook_reset(void *opaque, struct vcpu *v)
{
	if (v->smm)
		kvm_vcpu_reset(opaque, v->smm);
}

static const struct vcpu_hooks kvm_hooks = {
	.name = "smm-kvm",
	.vcpu_init = smm_hook_vcpu_init,
	.pre_run = kvm_pre_run,
	.post_run = kvm_post_run,
	.vcpu_reset = kvm_hook_reset,
};

const struct smm_impl_ops smm_kvm_ops = {
	.name = "kvm",
	.hooks = &kvm_hooks,
	.vcpu_reset = kvm_vcpu_reset,
};
