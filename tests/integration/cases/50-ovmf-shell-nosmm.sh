# Debian's non-SMM OVMF_CODE_4M.fd reaches Shell> and `reset -s` exits 0.
. ./lib.sh
. ./ovmf-lib.sh
need_file "$OVMF_DIR/OVMF_CODE_4M.fd"
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$TMP/vars-nosmm.fd"
ovmf_run "$TMP/ovmf-nosmm.log" ovmf-shell.chat "$OVMF_DIR/OVMF_CODE_4M.fd" "$TMP/vars-nosmm.fd"
expect_status $? 0 "OVMF_CODE_4M.fd to the shell and reset -s"
