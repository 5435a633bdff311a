# firmware/smm_test under kvmrun -machine q35,smm=on with the SMI test port,
# under both SMM backends: SMIs from real, protected and long mode come back
# bit-exact, SMBASE relocation (trace lines name it), an SMI raised inside SMM
# is latched, the closed TSEG is isolated; smm_rsmfail (CR0.PG without PE in
# the save area) must make RSM triple-fault: status 2 with a message.
# With SMM_GUEST_SMP=1 (59-smm-guest-smp.sh) it runs the 2-vCPU checks
# instead: each AP relocates its own SMBASE, a broadcast SMI reaches both.
# The user backend always runs; the kvm backend is skipped (status 77 after
# the user checks passed) where the host KVM has no SMM.
. ./lib.sh
need_file "$FW/smm_test.bin"
need_file "$FW/smm_rsmfail.bin"

fails=0
kvm_skip=""

# smm_guest BACKEND CPUS BIOS LOG: run one guest, return kvmrun's status.
# The trace goes to its own file, appended afterwards: on the shared
# stdout/stderr it would split serial lines.
smm_guest() {
	rm -f "$4.trace"
	timeout -s KILL "${SMM_RUN_TIMEOUT:-300}" "$KVMRUN" -machine q35,smm=on,kernel-irqchip=off \
		-smm-backend "$1" -m 128M -smp "$2" -bios "$3" -device smm-test-port \
		-device isa-debug-exit,iobase=0xf4,iosize=0x4 -serial stdio -display none \
		-no-reboot -trace "smm,file=$4.trace" -v </dev/null >"$4" 2>&1
	_st=$?
	[ -f "$4.trace" ] && cat "$4.trace" >>"$4"
	return $_st
}

# check LOG WHAT REGEX...: every REGEX must occur in LOG.
check() {
	_log=$1 _what=$2
	shift 2
	for _re in "$@"; do
		if ! grep -aEq "$_re" "$_log"; then
			echo "FAIL: $_what: output lacks /$_re/"
			fails=$((fails + 1))
			return 1
		fi
	done
	return 0
}

# one BACKEND CPUS BIOS WANT_STATUS REGEX...
one() {
	_b=$1 _c=$2 _bios=$3 _want=$4
	shift 4
	_log="$TMP/smm-guest-$_b-$_c-$(basename "$_bios" .bin).log"
	smm_guest "$_b" "$_c" "$_bios" "$_log"
	_rc=$?
	_what="-smm-backend $_b -smp $_c $(basename "$_bios")"
	# Whatever the status (a setup error may exit 1 too): no kvm backend.
	if [ "$_b" = kvm ] && ! grep -aq "SMM: kvm backend" "$_log" &&
		grep -aEq "KVM_CAP_X86_SMM|lacks SMM" "$_log"; then
		kvm_skip="$(grep -aE -m1 'KVM_CAP_X86_SMM|lacks SMM' "$_log")"
		echo "skip: $_what: $kvm_skip"
		return
	fi
	if [ "$_rc" != "$_want" ]; then
		echo "FAIL: $_what: exit status $_rc, expected $_want; the last lines:"
		grep -av 'smm: cpu[0-9]* \(SMI entry\|RSM\|KVM_SMI\)' "$_log" | tail -n 30 |
			sed 's/^/    | /'
		fails=$((fails + 1))
		return
	fi
	check "$_log" "$_what" "SMM: $_b backend" "$@" || { tail -n 30 "$_log" | sed 's/^/    | /'; return; }
	echo "ok: $_what (status $_rc)"
	grep -a 'smm: stats' "$_log" | sed 's/^/    /'
}

for b in user kvm; do
	[ -n "$kvm_skip" ] && break
	if [ -n "${SMM_GUEST_SMP:-}" ]; then
		# Two vCPUs: the AP relocates its own SMBASE, a broadcast reaches
		# both (the AP is halted then: the SMI must end its HLT).
		one "$b" 2 "$FW/smm_test.bin" 1 \
			'smm_test: APs relocate, broadcast SMI' \
			'smm_test: PASS' \
			"cpu1 RSM \\($b\\): smbase=0x30000 relocated to 0x"
		continue
	fi
	# One vCPU: every mode, relocation, latching, TSEG isolation.
	one "$b" 1 "$FW/smm_test.bin" 1 \
		'smm_test: SMIs from test port 0xb4' \
		'smm_test: real mode SMI, SMBASE relocation' \
		'smm_test: 32-bit protected mode SMI' \
		'smm_test: 64-bit long mode SMI' \
		'smm_test: SMI inside SMM is latched' \
		'smm_test: closed TSEG is isolated' \
		'smm_test: one CPU' \
		'smm_test: PASS' \
		"cpu0 RSM \\($b\\): smbase=0x30000 relocated to 0x7ef8000" \
		"smm: stats backend=$b smis=[1-9]"
	[ -n "$kvm_skip" ] && break
	# The save area revision and SMBASE as the backend wrote them (KVM's own
	# entries are only seen when the handler exits to kvmrun).
	if [ "$b" = user ]; then
		check "$TMP/smm-guest-user-1-smm_test.log" "user: -trace smm entry line" \
			'cpu0 SMI entry \(user\): smbase=0x30000 rev=0x00020064 entry_rip=0x8000' \
			'cpu0 SMI entry \(user\): smbase=0x7ef8000 rev=0x00020064'
	fi
	# A corrupted save area: RSM triple-faults, the VM stops with status 2.
	if [ "$b" = user ]; then
		one "$b" 1 "$FW/smm_rsmfail.bin" 2 \
			'smm_test: corrupt save area, RSM must triple fault' \
			'RSM: invalid SMRAM state-save area at 0x[0-9a-f]+: .*CR0.PG.*triple fault'
	else
		one "$b" 1 "$FW/smm_rsmfail.bin" 2 \
			'smm_test: corrupt save area, RSM must triple fault' \
			'[Tt]riple fault|shutdown'
	fi
done

[ "$fails" = 0 ] || die "$fails SMM guest check(s) failed"
[ -z "$kvm_skip" ] || skip "user backend passed; kvm backend: this host's KVM has no SMM ($kvm_skip)"
echo "all SMM guest checks passed under both backends"
