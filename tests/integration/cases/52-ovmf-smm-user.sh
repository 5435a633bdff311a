# The same with kvmrun's userspace SMM: kvmrun injects the SMIs, writes the
# save area and performs RSM itself.
. ./lib.sh
. ./ovmf-lib.sh
need_file "$OVMF_DIR/OVMF_CODE_4M.secboot.fd"
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$TMP/vars-user.fd"
ovmf_run "$TMP/ovmf-smm-user.log" ovmf-shell.chat "$OVMF_DIR/OVMF_CODE_4M.secboot.fd" \
	"$TMP/vars-user.fd" -machine smm=on -smm-backend user \
	-global driver=cfi.pflash01,property=secure,value=on -v
rc=$?
grep -a 'SMM: user backend' "$TMP/ovmf-smm-user.log" || die "the user backend was not used"
expect_status $rc 0 "secboot OVMF with the userspace SMM backend"
