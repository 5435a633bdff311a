# Bad input: one clear line naming the culprit, status 1, nothing started.
. ./lib.sh
o=$TMP/cli.log
check() {
	want=$1
	shift
	timeout 30 "$KVMRUN" "$@" </dev/null >"$o" 2>&1
	rc=$?
	[ $rc = 1 ] || die "kvmrun $*: status $rc, expected 1 ($(cat "$o"))"
	[ "$(wc -l <"$o")" = 1 ] || die "kvmrun $*: expected one line, got: $(cat "$o")"
	grep -q -- "$want" "$o" || die "kvmrun $*: message '$(cat "$o")' lacks '$want'"
	echo "ok: kvmrun $* -> $(cat "$o")"
}
check "-frob: invalid option" -frob
check "-m: invalid RAM size 'lots'" -m lots
check "-smp" -smp 0
check "-bios /nonexistent.bin" -bios /nonexistent.bin
head -c 1000 /dev/zero >"$TMP/odd.bin"
check "$TMP/odd.bin" -bios "$TMP/odd.bin"
check "-kernel" -kernel /nonexistent-kernel
head -c 8192 /dev/urandom >"$TMP/junk.img"
check "neither a Linux bzImage nor a Multiboot kernel" -kernel "$TMP/junk.img"
check "unknown device" -device no-such-device
check "-device isa-debug-exit: invalid iobase" -device isa-debug-exit,iobase=zz
check "SMM needs the q35 machine" -machine pc,smm=on
check "pflash unit 5" -machine q35 -drive if=pflash,format=raw,unit=5,file=/dev/null
check "cannot open '/nonexistent.fd'" -machine q35 -drive if=pflash,format=raw,unit=0,file=/nonexistent.fd,readonly=on
check "multiple of 4 KiB" -machine q35 -drive if=pflash,format=raw,unit=0,file="$TMP/odd.bin",readonly=on
check "/dev/kvm-missing" -kvm-device /dev/kvm-missing
