# The unit-test binaries that need /dev/kvm (tests/unit/needs-kvm.txt; they
# skip elsewhere) run here on real KVM and must pass.
. ./lib.sh
ran=0
for t in "$PAYLOAD"/bin/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	echo "$out" | tail -n 3
	case $rc in
	0) ran=$((ran + 1)) ;;
	77) die "$(basename "$t") skipped on real KVM: $out" ;;
	*) die "$(basename "$t") failed with status $rc" ;;
	esac
done
[ $ran -gt 0 ] || die "no unit test binary ran"
echo "$ran unit-test binaries passed on real KVM"
