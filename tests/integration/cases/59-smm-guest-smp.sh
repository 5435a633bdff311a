# firmware/smm_test with 2 vCPUs under both SMM backends: the AP relocates
# its own SMBASE, and a broadcast SMI reaches the AP while it is halted.
# The checks are 57-smm-guest.sh's, in its SMP mode.
# Needs the userspace irqchip to end a HLT for a pending SMI (irqchip_cfg
# .smi_pending wired to smm_smi_pending()) and smm_cfg.smi_blocked wired
# to the irqchip's wait-for-SIPI state; without them the broadcast never
# reaches the halted AP and the guest fails with code 0x61 (status 195).
SMM_GUEST_SMP=1
. ./cases/57-smm-guest.sh
