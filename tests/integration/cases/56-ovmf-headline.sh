# The exact command line edk2 and distributions use with QEMU (from the
# README), unchanged: kvmrun picks the SMM backend and the irqchip itself.
. ./lib.sh
need_file "$OVMF_DIR/OVMF_CODE_4M.secboot.fd"
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$TMP/vars.fd"
cd "$TMP"
chat -t 300 -l "$TMP/headline.log" "$PAYLOAD/cases/ovmf-shell.chat" -- "$KVMRUN" \
	-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
	-drive if=pflash,format=raw,unit=0,file="$OVMF_DIR/OVMF_CODE_4M.secboot.fd",readonly=on \
	-drive if=pflash,format=raw,unit=1,file=vars.fd -m 256 -serial stdio -nographic -net none \
	>/dev/null
rc=$?
[ $rc = 0 ] || sed 's/\x1b\[[0-9;]*[a-zA-Z]//g' "$TMP/headline.log" | tail -n 25
expect_status $rc 0 "the README's OVMF command line"
