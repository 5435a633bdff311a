/*
 * TDX module SEAMCALL status codes as KVM reports them in
 * kvm_tdx_cmd.hw_error, and their decoding into a one-line text
 * ("TDX_OPERAND_INVALID, operand 0x80 (TDR)"). Values are the kernel's
 * (arch/x86/.../tdx_errno.h); the model uses the same constants.
 */
#ifndef KVMRUN_TDX_ERR_H
#define KVMRUN_TDX_ERR_H

#include <stddef.h>
#include <stdint.h>

#define TDX_STATUS_MASK                    0xFFFFFFFF00000000ULL
#define TDX_SUCCESS                        0x0000000000000000ULL
#define TDX_NON_RECOVERABLE_VCPU           0x4000000100000000ULL
#define TDX_NON_RECOVERABLE_TD             0x4000000200000000ULL
#define TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE 0x6000000500000000ULL
#define TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE 0x6000000700000000ULL
#define TDX_INTERRUPTED_RESUMABLE          0x8000000300000000ULL
#define TDX_OPERAND_INVALID                0xC000010000000000ULL
#define TDX_OPERAND_BUSY                   0x8000020000000000ULL
#define TDX_PREVIOUS_TLB_EPOCH_BUSY        0x8000020100000000ULL
#define TDX_SYS_BUSY                       0x8000020200000000ULL
#define TDX_RND_NO_ENTROPY                 0x8000020300000000ULL
#define TDX_PAGE_METADATA_INCORRECT        0xC000030000000000ULL
#define TDX_TD_FATAL                       0xE000060400000000ULL
#define TDX_LIFECYCLE_STATE_INCORRECT      0xC000060700000000ULL
#define TDX_OP_STATE_INCORRECT             0xC000060800000000ULL
#define TDX_NO_VCPUS                       0xC000060900000000ULL
#define TDX_VCPU_NOT_ASSOCIATED            0x8000070200000000ULL
#define TDX_KEY_GENERATION_FAILED          0x8000080000000000ULL
#define TDX_TD_KEYS_NOT_CONFIGURED         0x8000081000000000ULL
#define TDX_KEY_STATE_INCORRECT            0xC000081100000000ULL
#define TDX_KEY_CONFIGURED                 0x0000081500000000ULL
#define TDX_WBCACHE_NOT_COMPLETE           0x8000081700000000ULL
#define TDX_HKID_NOT_FREE                  0xC000082000000000ULL
#define TDX_NO_HKID_READY_TO_WBCACHE       0x0000082100000000ULL
#define TDX_FLUSHVP_NOT_DONE               0x8000082400000000ULL
#define TDX_EPT_WALK_FAILED                0xC0000B0000000000ULL
#define TDX_EPT_ENTRY_NOT_PRESENT          0xC0000B0300000000ULL
#define TDX_EPT_ENTRY_STATE_INCORRECT      0xC0000B0D00000000ULL
#define TDX_METADATA_FIELD_NOT_READABLE    0xC0000C0200000000ULL
/* Kernel-made codes for a SEAMCALL that faulted (TDX_SW_ERROR | ...). */
#define TDX_SW_ERROR                       0x8000FF0000000000ULL
#define TDX_SEAMCALL_VMFAILINVALID         0x8000FF00FFFF0000ULL

/* Operand ids carried in the low 32 bits of OPERAND_INVALID / OPERAND_BUSY. */
#define TDX_OPERAND_ID_RCX                 0x01
#define TDX_OPERAND_ID_RDX                 0x02
#define TDX_OPERAND_ID_TDR                 0x80
#define TDX_OPERAND_ID_SEPT                0x92
#define TDX_OPERAND_ID_TD_EPOCH            0xa9
#define TDX_OPERAND_ID_KOT                 0xba
#define TDX_OPERAND_ID_WBCACHE             0xbc

/* Name of the status class of @status (upper 32 bits), or NULL if unknown. */
const char *tdx_err_class_name(uint64_t status);
/* Name of operand id @id, or NULL if unknown. */
const char *tdx_err_operand_name(uint32_t id);
/*
 * "TDX_OPERAND_INVALID, operand 0x80 (TDR)", "TDX_RND_NO_ENTROPY",
 * "unknown TDX status 0x...". Always NUL-terminates @buf. Returns @buf.
 */
char *tdx_err_format(uint64_t status, char *buf, size_t len);

#endif
