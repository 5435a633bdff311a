# Shared by the OVMF cases: run stock OVMF on q35 from pflash under chat.
# ovmf_run LOG CHATSCRIPT CODE VARS [EXTRA ARGS...]; returns kvmrun's status.
# kernel-irqchip=off: inside the nested sandbox QEMU's TCG aborts when OVMF
# writes CR8 with KVM's in-kernel LAPIC (it is harmless elsewhere).
ovmf_run() {
	local log=$1 script=$2 code=$3 vars=$4
	shift 4
	chat -t 300 -l "$log" "$PAYLOAD/cases/$script" -- "$KVMRUN" -machine q35,kernel-irqchip=off \
		-m 256 -nographic -net none \
		-drive if=pflash,format=raw,unit=0,file="$code",readonly=on \
		-drive if=pflash,format=raw,unit=1,file="$vars" "$@" >/dev/null
	local rc=$?
	if [ $rc != 0 ]; then
		echo "kvmrun status $rc; the last console lines:"
		sed 's/\x1b\[[0-9;]*[a-zA-Z]//g' "$log" | tail -n 25
	fi
	return $rc
}

# The kernel SMM backend needs KVM_CAP_X86_SMM: skip loudly where it is absent.
need_kvm_smm() {
	if ! "$KVMRUN" -machine q35,smm=on -smm-backend kvm -nographic \
		-bios "$FW/default.bin" </dev/null >"$TMP/smmprobe.log" 2>&1; then
		grep -q "KVM_CAP_X86_SMM\|lacks SMM" "$TMP/smmprobe.log" &&
			skip "this host's KVM has no SMM (kernel backend): $(head -n1 "$TMP/smmprobe.log")"
	fi
}
