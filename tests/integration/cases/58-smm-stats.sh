# The SMM counters kvmrun prints at exit (smm/README.md: "smm: stats ..."),
# from firmware/smm_bench (smm_test followed by 1000 SMIs from long mode),
# under both backends: every SMI is counted and comes back with an RSM, and
# the round-trip mean is printed (bench/ parses this line). The kvm backend
# is skipped (status 77 after the user run passed) where KVM has no SMM.
. ./lib.sh
need_file "$FW/smm_bench.bin"

kvm_skip=""
for b in user kvm; do
	log="$TMP/smm-stats-$b.log"
	timeout -s KILL "${SMM_RUN_TIMEOUT:-300}" "$KVMRUN" -machine q35,smm=on,kernel-irqchip=off \
		-smm-backend "$b" -m 128M -bios "$FW/smm_bench.bin" -device smm-test-port \
		-device isa-debug-exit,iobase=0xf4,iosize=0x4 -serial stdio -display none \
		-no-reboot -v </dev/null >"$log" 2>&1
	rc=$?
	if [ "$b" = kvm ] && ! grep -aq "smm: kvm backend" "$log" &&
		grep -aEq "KVM_CAP_X86_SMM|lacks SMM" "$log"; then
		kvm_skip=$(grep -aE -m1 "KVM_CAP_X86_SMM|lacks SMM" "$log")
		break
	fi
	[ $rc = 1 ] || { tail -n 30 "$log"; die "smm_bench, $b backend: exit status $rc, expected 1"; }
	expect_grep "$log" 'smm_test: SMI round trips' "smm_bench, $b backend"
	expect_grep "$log" 'smm_test: PASS' "smm_bench, $b backend"
	line=$(grep -a 'smm: stats ' "$log" | tail -n 1)
	[ -n "$line" ] || die "$b backend: no 'smm: stats' line at exit"
	echo "$line"
	val() { echo "$line" | sed -n "s/.* $1=\([0-9a-z]*\).*/\1/p"; }
	[ "$(val backend)" = "$b" ] || die "$b backend: the stats line names backend '$(val backend)'"
	smis=$(val smis) rsms=$(val rsms) rt=$(val rt_mean_ns)
	[ -n "$smis" ] && [ "$smis" -ge 1000 ] || die "$b backend: smis=$smis, expected >= 1000"
	# kvm: an SMI latched inside SMM and the RSM before it can fall between
	# the same two exits, and kvmrun sees one return for both.
	[ -n "$rsms" ] && [ "$rsms" -ge 1000 ] && [ "$rsms" -le "$smis" ] ||
		die "$b backend: rsms=$rsms, expected 1000..smis ($smis)"
	[ "$b" = kvm ] || [ "$rsms" = "$smis" ] || die "$b backend: rsms=$rsms differs from smis=$smis"
	[ -n "$rt" ] && [ "$rt" -gt 0 ] || die "$b backend: rt_mean_ns=$rt, expected > 0"
	if [ "$b" = user ]; then
		[ "$(val entry_mean_ns)" -gt 0 ] && [ "$(val rsm_mean_ns)" -gt 0 ] ||
			die "user backend: entry/RSM emulation times missing"
	fi
done
[ -z "$kvm_skip" ] || skip "user backend passed; kvm backend: this host's KVM has no SMM ($kvm_skip)"
echo "SMM counters printed and consistent under both backends"
