#!/bin/sh
# Run the SMM test guests on this host's KVM under both SMM backends, with
# one and two vCPUs. Usage: run_harness.sh HARNESS SMM_TEST.BIN SMM_RSMFAIL.BIN
# Exit 77 (skip) without /dev/kvm; a backend the host cannot do is skipped.
set -u
harness=$1 guest=$2 rsmfail=$3
kvmdev=${KVM_DEVICE:-/dev/kvm}
[ -c "$kvmdev" ] || { echo "SKIP: no $kvmdev"; exit 77; }
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
fails=0 runs=0

run() {    # expected-status backend cpus bios [output-pattern [harness-flag]]
	want=$1 backend=$2 cpus=$3 bios=$4 pattern=${5:-} flag=${6:--S}
	# The user backend must have caught RSM both ways: breakpoint and stepping.
	if [ "$backend" = user ] && [ -z "$pattern" ]; then
		pattern="backend=user .* hwbp=[1-9][0-9]* steps=[1-9]"
	fi
	"$harness" -d "$kvmdev" -b "$backend" -s "$cpus" -T "${SMM_RUN_TIMEOUT:-300}" "$flag" \
		"$bios" >"$log" 2>&1
	got=$?
	if grep -q "lacks" "$log" && [ "$got" = 2 ]; then
		echo "skip: $backend backend unavailable: $(grep lacks "$log" | head -1)"
		return
	fi
	runs=$((runs + 1))
	if [ "$got" != "$want" ] || { [ -n "$pattern" ] && ! grep -q "$pattern" "$log"; }; then
		echo "FAIL: $backend -smp $cpus $(basename "$bios"): status $got, want $want"
		sed 's/^/    /' "$log"
		fails=$((fails + 1))
	else
		echo "ok: $backend -smp $cpus $(basename "$bios") $flag (status $got)"
		grep "stats" "$log" | sed 's/^/    /'
	fi
}

for backend in user kvm; do
	for cpus in 1 2; do
		run 1 "$backend" "$cpus" "$guest"
	done
	# kvm: KVM_EXIT_SHUTDOWN; user: kvmrun's own check names the field.
	if [ "$backend" = user ]; then
		run 2 "$backend" 1 "$rsmfail" "RSM: invalid SMRAM state-save area.*CR0.PG"
	else
		run 2 "$backend" 1 "$rsmfail" "triple fault"
	fi
done
# -trace smm: one line per SMI entry and RSM, naming the relocation.
run 1 user 1 "$guest" "RSM (user): smbase=0x30000 relocated to 0x7ef8000 rev=0x00020064" -t
run 1 user 1 "$guest" "SMI entry (user): smbase=0x30000 rev=0x00020064 entry_rip=0x8000" -t
run 1 kvm 1 "$guest" "RSM (kvm): smbase=0x30000 relocated to 0x7ef8000" -t
[ "$runs" -gt 0 ] || { echo "SKIP: no SMM backend on this host"; exit 77; }
[ "$fails" = 0 ]
