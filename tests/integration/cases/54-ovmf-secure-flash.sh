# With secure=on, flash writes from outside SMM are refused: the shell's
# attempt to program a byte of the variable store leaves it unchanged, in
# the guest and in the vars file. Control: without secure=on the same
# sequence does change the byte (so the check can fail).
. ./lib.sh
. ./ovmf-lib.sh
need_file "$OVMF_DIR/OVMF_CODE_4M.secboot.fd"
need_kvm_smm
byte_at_0x10() { od -An -tx1 -j16 -N1 "$1" | tr -d ' \n'; }
v=$TMP/vars-secure.fd
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$v"
ovmf_run "$TMP/secure.log" ovmf-flashpoke.chat "$OVMF_DIR/OVMF_CODE_4M.secboot.fd" "$v" \
	-machine smm=on -global driver=cfi.pflash01,property=secure,value=on
expect_status $? 0 "secure flash run"
grep -a -q 'FFC00010 : 0xFFF12B8D' "$TMP/secure.log" || die "the guest saw the flash byte change"
[ "$(byte_at_0x10 "$v")" = 8d ] || die "the vars file byte changed: $(byte_at_0x10 "$v")"
c=$TMP/vars-insecure.fd
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$c"
ovmf_run "$TMP/insecure.log" ovmf-flashpoke.chat "$OVMF_DIR/OVMF_CODE_4M.secboot.fd" "$c" \
	-machine smm=on
expect_status $? 0 "control run without secure=on"
[ "$(byte_at_0x10 "$c")" = 00 ] || die "control: the byte was not programmed ($(byte_at_0x10 "$c"))"
grep -a -q 'FFC00010 : 0xFFF12B00' "$TMP/insecure.log" || die "control: the guest did not see the change"
echo "secure=on refused the non-SMM program; without it the byte became 00"
