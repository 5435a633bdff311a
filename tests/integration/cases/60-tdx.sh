# TDX on a host without TDX (the sandbox, other KVMs): a TD launch fails
# fast with the capability message and status 1; -tdx-capabilities and
# tdx-measure work; bad tdx-guest properties are refused. The TD lifecycle
# itself is proven by the unit tests against the KVM TDX ABI model.
. ./lib.sh
[ -f "$PAYLOAD/tdx/run.sh" ] || skip "tests/integration/tdx/run.sh is not in the payload"
export KVMRUN_BIN=$KVMRUN
export TDX_OVMF_DIR="$OVMF_DIR"
bash "$PAYLOAD/tdx/run.sh" --kvmrun "$KVMRUN"
