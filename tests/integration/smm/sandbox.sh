#!/bin/sh
# Run the SMM guests on real KVM: directly when this host has /dev/kvm,
# else inside the nested-KVM sandbox (tests/sandbox/run: QEMU TCG boots a
# Debian kernel whose kvm_amd offers /dev/kvm with SMM).
#
#   tests/integration/smm/sandbox.sh [test|kvmrun|bench|all] [STATIC_BUILD_DIR]
#
#   test    smm_harness (core + SMM module only): both backends, 1 and 2
#           vCPUs, the corrupted save area, -trace smm  (run_harness.sh)
#   kvmrun  the same guests under kvmrun -machine q35,smm=on  (kvmrun.sh)
#   bench   SMI -> RSM round trip per backend, 1000 SMIs  (bench.sh)
#   all     test, then kvmrun
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
mode=${1:-test}
build=${2:-$top/build-static}

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" -Dstatic=true >/dev/null
fi
ninja -C "$build" kvmrun smm/smm_harness firmware/smm_test.bin firmware/smm_rsmfail.bin \
	firmware/smm_bench.bin >/dev/null

pl=$(mktemp -d "${TMPDIR:-/tmp}/kvmrun-smm.XXXXXX")
trap 'rm -rf "$pl"' EXIT
cp "$build/kvmrun" "$build/smm/smm_harness" "$build"/firmware/smm_*.bin \
	"$here/run_harness.sh" "$here/kvmrun.sh" "$here/bench.sh" "$pl/"

d=/payload/smm
test_cmd="sh $d/run_harness.sh $d/smm_harness $d/smm_test.bin $d/smm_rsmfail.bin"
kvmrun_cmd="sh $d/kvmrun.sh $d/kvmrun $d/smm_test.bin $d/smm_rsmfail.bin"
case "$mode" in
test) cmd=$test_cmd ;;
kvmrun) cmd=$kvmrun_cmd ;;
bench) cmd="sh $d/bench.sh $d/smm_harness $d/smm_bench.bin" ;;
all) cmd="$test_cmd && $kvmrun_cmd" ;;
*) echo "usage: $0 [test|kvmrun|bench|all] [STATIC_BUILD_DIR]" >&2; exit 64 ;;
esac

if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	mkdir -p "$pl/payload" && ln -s "$pl" "$pl/payload/smm"
	exec sh -c "$(echo "$cmd" | sed "s|/payload/smm|$pl|g")"
fi
"$top/tests/sandbox/run" -q --timeout "${SMM_SANDBOX_TIMEOUT:-1800}" \
	${SMM_SANDBOX_LOG:+--log "$SMM_SANDBOX_LOG"} --payload "$pl:$d" -- sh -c "$cmd"
