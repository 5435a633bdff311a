#!/bin/sh
# The SMM test guests under kvmrun itself (q35 with SMM, kvmrun's test
# port and isa-debug-exit), under both SMM backends, 1 and 2 vCPUs, plus the
# corrupted-save-area guest. For when the machine has SMM wired in; runs on
# a host with /dev/kvm (or inside tests/integration/smm/sandbox.sh).
#   kvmrun.sh KVMRUN SMM_TEST.BIN SMM_RSMFAIL.BIN
set -u
kvmrun=$1 guest=$2 rsmfail=$3
[ -c "${KVM_DEVICE:-/dev/kvm}" ] || { echo "SKIP: no /dev/kvm"; exit 77; }
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
fails=0

run() {    # expected-status backend cpus bios [output-pattern]
	want=$1 backend=$2 cpus=$3 bios=$4 pattern=${5:-}
	timeout -s KILL "${SMM_RUN_TIMEOUT:-300}" \
	"$kvmrun" -machine q35,smm=on,kernel-irqchip=off -smm-backend "$backend" -m 128M \
		-smp "$cpus" -bios "$bios" -device smm-test-port \
		-device isa-debug-exit,iobase=0xf4,iosize=0x4 -serial stdio -display none \
		-no-reboot -trace smm >"$log" 2>&1
	got=$?
	if [ "$got" != "$want" ] || { [ -n "$pattern" ] && ! grep -q "$pattern" "$log"; }; then
		echo "FAIL: kvmrun -smm-backend $backend -smp $cpus $(basename "$bios"): status $got"
		sed 's/^/    /' "$log" | tail -40
		fails=$((fails + 1))
	else
		echo "ok: kvmrun -smm-backend $backend -smp $cpus $(basename "$bios")"
	fi
}

for backend in user kvm; do
	run 1 "$backend" 1 "$guest" "RSM ($backend)"
	run 1 "$backend" 2 "$guest"
	run 2 "$backend" 1 "$rsmfail" "triple fault"
done
[ "$fails" = 0 ]
