# OVMF_CODE_4M.secboot.fd (SMM_REQUIRE) with KVM's own SMM, secure flash:
# reaches Shell>, `reset -s` exits 0.
. ./lib.sh
. ./ovmf-lib.sh
need_file "$OVMF_DIR/OVMF_CODE_4M.secboot.fd"
need_kvm_smm
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$TMP/vars-kvm.fd"
ovmf_run "$TMP/ovmf-smm-kvm.log" ovmf-shell.chat "$OVMF_DIR/OVMF_CODE_4M.secboot.fd" \
	"$TMP/vars-kvm.fd" -machine smm=on -smm-backend kvm \
	-global driver=cfi.pflash01,property=secure,value=on
expect_status $? 0 "secboot OVMF with the kernel SMM backend"
