# A UEFI variable set from the shell (through SMM to the secure flash)
# persists across a second boot using the same vars file.
. ./lib.sh
. ./ovmf-lib.sh
need_file "$OVMF_DIR/OVMF_CODE_4M.secboot.fd"
need_kvm_smm
v=$TMP/vars-persist.fd
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$v"
set -- -machine smm=on -global driver=cfi.pflash01,property=secure,value=on
ovmf_run "$TMP/persist-1.log" ovmf-setvar.chat "$OVMF_DIR/OVMF_CODE_4M.secboot.fd" "$v" "$@"
expect_status $? 0 "boot 1 (setvar)"
! cmp -s "$v" "$OVMF_DIR/OVMF_VARS_4M.fd" || die "the vars file did not change"
ovmf_run "$TMP/persist-2.log" ovmf-getvar.chat "$OVMF_DIR/OVMF_CODE_4M.secboot.fd" "$v" "$@"
expect_status $? 0 "boot 2 (variable read back)"
