#include "tdx/tdx_err.h"

#include <inttypes.h>
#include <stdio.h>

#include "vmm/util.h"

static const struct {
	uint64_t code;
	const char *name;
} classes[] = {
	{ TDX_SUCCESS, "TDX_SUCCESS" },
	{ TDX_NON_RECOVERABLE_VCPU, "TDX_NON_RECOVERABLE_VCPU" },
	{ TDX_NON_RECOVERABLE_TD, "TDX_NON_RECOVERABLE_TD" },
	{ TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE, "TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE" },
	{ TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE, "TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE" },
	{ TDX_INTERRUPTED_RESUMABLE, "TDX_INTERRUPTED_RESUMABLE" },
	{ TDX_OPERAND_INVALID, "TDX_OPERAND_INVALID" },
	{ TDX_OPERAND_BUSY, "TDX_OPERAND_BUSY" },
	{ TDX_PREVIOUS_TLB_EPOCH_BUSY, "TDX_PREVIOUS_TLB_EPOCH_BUSY" },
	{ TDX_SYS_BUSY, "TDX_SYS_BUSY" },
	{ TDX_RND_NO_ENTROPY, "TDX_RND_NO_ENTROPY" },
	{ TDX_PAGE_METADATA_INCORRECT, "TDX_PAGE_METADATA_INCORRECT" },
	{ TDX_TD_FATAL, "TDX_TD_FATAL" },
	{ TDX_LIFECYCLE_STATE_INCORRECT, "TDX_LIFECYCLE_STATE_INCORRECT" },
	{ TDX_OP_STATE_INCORRECT, "TDX_OP_STATE_INCORRECT" },
	{ TDX_NO_VCPUS, "TDX_NO_VCPUS" },
	{ TDX_VCPU_NOT_ASSOCIATED, "TDX_VCPU_NOT_ASSOCIATED" },
	{ TDX_KEY_GENERATION_FAILED, "TDX_KEY_GENERATION_FAILED" },
	{ TDX_TD_KEYS_NOT_CONFIGURED, "TDX_TD_KEYS_NOT_CONFIGURED" },
	{ TDX_KEY_STATE_INCORRECT, "TDX_KEY_STATE_INCORRECT" },
	{ TDX_KEY_CONFIGURED, "TDX_KEY_CONFIGURED" },
	{ TDX_WBCACHE_NOT_COMPLETE, "TDX_WBCACHE_NOT_COMPLETE" },
	{ TDX_HKID_NOT_FREE, "TDX_HKID_NOT_FREE" },
	{ TDX_NO_HKID_READY_TO_WBCACHE, "TDX_NO_HKID_READY_TO_WBCACHE" },
	{ TDX_FLUSHVP_NOT_DONE, "TDX_FLUSHVP_NOT_DONE" },
	{ TDX_EPT_WALK_FAILED, "TDX_EPT_WALK_FAILED" },
	{ TDX_EPT_ENTRY_NOT_PRESENT, "TDX_EPT_ENTRY_NOT_PRESENT" },
	{ TDX_EPT_ENTRY_STATE_INCORRECT, "TDX_EPT_ENTRY_STATE_INCORRECT" },
	{ TDX_METADATA_FIELD_NOT_READABLE, "TDX_METADATA_FIELD_NOT_READABLE" },
	{ TDX_SW_ERROR, "TDX_SW_ERROR (SEAMCALL faulted)" },
};

static const struct {
	uint32_t id;
	const char *name;
} operands[] = {
	{ TDX_OPERAND_ID_RCX, "RCX" },
	{ TDX_OPERAND_ID_RDX, "RDX" },
	{ TDX_OPERAND_ID_TDR, "TDR" },
	{ TDX_OPERAND_ID_SEPT, "SEPT" },
	{ TDX_OPERAND_ID_TD_EPOCH, "TD_EPOCH" },
	{ TDX_OPERAND_ID_KOT, "KOT" },
	{ TDX_OPERAND_ID_WBCACHE, "WBCACHE" },
};

const char *tdx_err_class_name(uint64_t status)
{
	uint64_t cls = status & TDX_STATUS_MASK;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(classes); i++)
		if (classes[i].code == cls)
			return classes[i].name;
	return NULL;
}

const char *tdx_err_operand_name(uint32_t id)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(operands); i++)
		if (operands[i].id == id)
			return operands[i].name;
	return NULL;
}

char *tdx_err_format(uint64_t status, char *buf, size_t len)
{
	uint64_t cls = status & TDX_STATUS_MASK;
	uint32_t detail = (uint32_t)status;
	const char *name = tdx_err_class_name(status);
	const char *op;

	if (!len)
		return buf;
	if (!name) {
		snprintf(buf, len, "unknown TDX status 0x%016" PRIx64, status);
		return buf;
	}
	/* Only the OPERAND_* classes carry an operand id in the detail bits. */
	if (cls == TDX_OPERAND_INVALID || cls == TDX_OPERAND_BUSY) {
		op = tdx_err_operand_name(detail);
		if (op)
			snprintf(buf, len, "%s, operand 0x%x (%s)", name, detail, op);
		else
			snprintf(buf, len, "%s, operand 0x%x", name, detail);
	} else if (detail) {
		snprintf(buf, len, "%s, detail 0x%x", name, detail);
	} else {
		snprintf(buf, len, "%s", name);
	}
	return buf;
}
