#!/bin/bash
# run.sh [--kvmrun BINARY] [CHECK...]
#
# TDX checks of the kvmrun binary on whatever host runs it. No TDX hardware
# is needed: on a host without TDX (the nested sandbox, other KVMs) a TD
# launch must fail fast with the capability message and status 1. The
# lifecycle itself is covered by the unit tests against the ABI model.
#
# Checks (all by default):
#   no_tdx_host   a TD launch on a host without TDX: status 1 after the
#                 discovery step alone (no VM, no retries), one line naming
#                 the missing component, -tdx-log records it
#   capabilities  -tdx-capabilities (text and json) reports every component
#   measure       tdx-measure on the Debian OVMF images: the unified 2 MiB
#                 image gives an MRTD, OVMF_CODE.fd and OVMF_CODE_4M.fd are
#                 rejected with a precise message
#   config        bad tdx-guest properties are refused with status 1 before
#                 anything else happens
#
# Exit: 0 all passed, 1 a failure, 77 everything skipped (meson's convention).
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
KVMRUN_BIN=${KVMRUN_BIN:-$root/build/kvmrun}
while [ $# -gt 0 ]; do
	case $1 in
	--kvmrun) KVMRUN_BIN=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -o/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done

WORK=$(mktemp -d /tmp/kvmrun-tdx-it.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

UNIFIED=${TDX_OVMF_DIR:-/usr/share/ovmf}/OVMF.fd          # ovmf package: VARS+CODE, has TDX metadata
CODE=${TDX_OVMF_DIR:-/usr/share/OVMF}/OVMF_CODE.fd        # CODE half: metadata offsets overflow it
CODE_4M=${TDX_OVMF_DIR:-/usr/share/OVMF}/OVMF_CODE_4M.fd  # no TDX metadata at all

# The messages kvmrun gives for a host that cannot run TDs (tdx/tdx.c).
NO_TDX_RE='kernel without TDX support \(KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM'
NO_TDX_RE+='|TDX module not loaded/initialised|kernel without .*which TDX requires'
NO_TDX_RE+='|kernel cannot forward MapGPA'
NO_TDX_RE+='|kernel without (guest_memfd|private memory attributes|KVM_SET_USER_MEMORY_REGION2)'

TD_MACHINE=(-machine q35,confidential-guest-support=tdx0,kernel-irqchip=split)

have_kvm() {
	[ -w /dev/kvm ]
}

# tdx_usable: 0 if this host can run TDs (then the no-TDX checks do not apply).
tdx_usable() {
	"$KVMRUN_BIN" -tdx-capabilities json 2>/dev/null | grep -q '"usable":true'
}

# run_kvmrun OUT ARGS...: run kvmrun, stdout+stderr to OUT; prints the status.
run_kvmrun() {
	local out=$1 status=0
	shift
	timeout -k 5 30 "$KVMRUN_BIN" -display none "$@" > "$out" 2>&1 < /dev/null || status=$?
	echo "$status"
}

fail() {
	echo "FAIL $1: $2"
	[ -n "${3:-}" ] && [ -f "$3" ] && tail -n 20 "$3" | sed 's/^/    /'
	return 1
}

check_no_tdx_host() {
	local bios=$UNIFIED status
	have_kvm || { echo "SKIP no_tdx_host: /dev/kvm not available"; return 77; }
	tdx_usable && { echo "SKIP no_tdx_host: this host runs TDs"; return 77; }
	# Any file will do: the host is checked before the firmware is read.
	[ -f "$bios" ] || { bios=$WORK/dummy.fd; head -c 65536 /dev/zero > "$bios"; }
	status=$(run_kvmrun "$WORK/no_tdx.out" "${TD_MACHINE[@]}" -object tdx-guest,id=tdx0 \
		-bios "$bios" -tdx-log "$WORK/tdx.log")
	[ "$status" = 1 ] ||
		{ fail no_tdx_host "status $status, expected 1" "$WORK/no_tdx.out"; return 1; }
	grep -E -q -- "$NO_TDX_RE" "$WORK/no_tdx.out" ||
		{ fail no_tdx_host "no capability message" "$WORK/no_tdx.out"; return 1; }
	# "Fails fast" means: one discovery step, no retries, no VM (below).
	[ "$(grep -c '"step"' "$WORK/tdx.log")" -le 2 ] ||
		{ fail no_tdx_host "more than discovery was attempted" "$WORK/tdx.log"; return 1; }
	grep -q '"step":"discovery".*"errname":"EOPNOTSUPP"' "$WORK/tdx.log" ||
		{ fail no_tdx_host "no failed discovery step in -tdx-log" "$WORK/tdx.log"; return 1; }
	# No KVM object was made for a TD that cannot exist.
	! grep -q '"step":"KVM_CREATE_VM"' "$WORK/tdx.log" ||
		{ fail no_tdx_host "a VM was created anyway" "$WORK/tdx.log"; return 1; }
	echo "PASS no_tdx_host: $(grep -E -o -- "$NO_TDX_RE" "$WORK/no_tdx.out" | head -n 1)"
}

check_capabilities() {
	local status
	have_kvm || { echo "SKIP capabilities: /dev/kvm not available"; return 77; }
	status=$(run_kvmrun "$WORK/caps.txt" -tdx-capabilities)
	case $status in 0|1) ;; *) fail capabilities "status $status" "$WORK/caps.txt"; return 1 ;; esac
	for want in 'KVM_X86_TDX_VM' 'KVM_CAP_SPLIT_IRQCHIP' 'KVM_CAP_X86_APIC_BUS_CYCLES_NS' \
		    'KVM_CAP_EXIT_HYPERCALL' 'KVM_CAP_GUEST_MEMFD' 'KVM_CAP_MEMORY_ATTRIBUTES' \
		    'KVM_CAP_USER_MEMORY2' 'TDX usable: '; do
		grep -q -- "$want" "$WORK/caps.txt" ||
			{ fail capabilities "text report lacks $want" "$WORK/caps.txt"; return 1; }
	done
	status=$(run_kvmrun "$WORK/caps.json" -tdx-capabilities json)
	case $status in
	0|1) ;;
	*) fail capabilities "json: status $status" "$WORK/caps.json"; return 1 ;;
	esac
	head -c 1 "$WORK/caps.json" | grep -q '{' && tail -n 1 "$WORK/caps.json" | grep -q '}$' ||
		{ fail capabilities "json: not one object" "$WORK/caps.json"; return 1; }
	for key in tdx_vm_type split_irqchip apic_bus_cycles_ns exit_hypercall_map_gpa \
		   guest_memfd memory_attributes_private user_memory2 capabilities usable problem; do
		grep -q "\"$key\":" "$WORK/caps.json" ||
			{ fail capabilities "json lacks \"$key\"" "$WORK/caps.json"; return 1; }
	done
	# The status agrees with the verdict.
	if grep -q '"usable":true' "$WORK/caps.json"; then
		[ "$status" = 0 ] || { fail capabilities "usable but status $status"; return 1; }
	else
		[ "$status" = 1 ] || { fail capabilities "not usable but status $status"; return 1; }
	fi
	echo "PASS capabilities (status $status)"
}

check_measure() {
	local status ran=0
	if [ -f "$UNIFIED" ]; then
		status=$(run_kvmrun "$WORK/m1" tdx-measure "$UNIFIED")
		[ "$status" = 0 ] || { fail measure "$UNIFIED: status $status" "$WORK/m1"; return 1; }
		grep -E -q '^[0-9a-f]{96}$' "$WORK/m1" ||
			{ fail measure "$UNIFIED: no SHA-384 line" "$WORK/m1"; return 1; }
		# Deterministic.
		run_kvmrun "$WORK/m1b" tdx-measure "$UNIFIED" > /dev/null
		cmp -s "$WORK/m1" "$WORK/m1b" || { fail measure "two runs differ"; return 1; }
		ran=1
	fi
	if [ -f "$CODE" ]; then
		status=$(run_kvmrun "$WORK/m2" tdx-measure "$CODE")
		[ "$status" = 1 ] || { fail measure "$CODE: status $status" "$WORK/m2"; return 1; }
		grep -q 'past the end of the 0x1e0000-byte file (a split OVMF_CODE image' "$WORK/m2" ||
			{ fail measure "$CODE: message" "$WORK/m2"; return 1; }
		ran=1
	fi
	if [ -f "$CODE_4M" ]; then
		status=$(run_kvmrun "$WORK/m3" tdx-measure "$CODE_4M")
		[ "$status" = 1 ] || { fail measure "$CODE_4M: status $status" "$WORK/m3"; return 1; }
		grep -q 'has no TDX metadata' "$WORK/m3" ||
			{ fail measure "$CODE_4M: message" "$WORK/m3"; return 1; }
		ran=1
	fi
	status=$(run_kvmrun "$WORK/m4" tdx-measure "$WORK/missing.fd")
	[ "$status" = 1 ] && grep -q 'cannot open' "$WORK/m4" ||
		{ fail measure "missing file: status $status" "$WORK/m4"; return 1; }
	[ "$ran" = 1 ] || { echo "SKIP measure: no OVMF images installed"; return 77; }
	echo "PASS measure"
}

check_config() {
	local status bios=$UNIFIED
	have_kvm || { echo "SKIP config: /dev/kvm not available"; return 77; }
	[ -f "$bios" ] || { bios=$WORK/dummy.fd; head -c 65536 /dev/zero > "$bios"; }
	while IFS='|' read -r props want; do
		status=$(run_kvmrun "$WORK/cfg.out" "${TD_MACHINE[@]}" \
			-object "tdx-guest,id=tdx0$props" -bios "$bios")
		[ "$status" = 1 ] || { fail config "$props: status $status" "$WORK/cfg.out"; return 1; }
		grep -q -- "$want" "$WORK/cfg.out" ||
			{ fail config "$props: no \"$want\"" "$WORK/cfg.out"; return 1; }
	done <<'CASES'
,mrconfigid=abc|mrconfigid is not valid base64
,mrowner=AAAA|mrowner decodes to 3 bytes; a SHA-384 digest is 48
,attributes=0x1|the DEBUG attribute (bit 0) is not supported
,colour=blue|unknown property 'colour'
,quote-generation-socket=/run/qgs|quote-generation-socket is not supported
CASES
	status=$(run_kvmrun "$WORK/cfg.out" \
		-machine q35,confidential-guest-support=tdx0,kernel-irqchip=on \
		-object tdx-guest,id=tdx0 -bios "$bios")
	[ "$status" = 1 ] && grep -q 'kernel-irqchip=split' "$WORK/cfg.out" ||
		{ fail config "kernel-irqchip=on: status $status" "$WORK/cfg.out"; return 1; }
	echo "PASS config"
}

[ -x "$KVMRUN_BIN" ] || { echo "SKIP: $KVMRUN_BIN not found"; exit 77; }
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(no_tdx_host capabilities measure config)
pass=0 failed=0 skipped=0
for c in "${checks[@]}"; do
	if ! declare -F "check_$c" > /dev/null; then
		echo "run.sh: unknown check $c" >&2
		exit 2
	fi
	rc=0
	"check_$c" || rc=$?
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
echo "tdx: $pass passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || exit 1
[ "$pass" -gt 0 ] || exit 77
exit 0
