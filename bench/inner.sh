#!/bin/bash
# The measuring half of bench/run: runs the selected benchmarks where
# /dev/kvm is (inside the nested-KVM sandbox, or directly on a KVM host),
# from a payload directory that bench/run assembled:
#	bin/		kvmrun, benchexec, chat (static)
#	firmware/	the built guests (pio_loop*.bin, smm_bench.bin, ...)
#	linux/		vmlinuz, initrd.gz (boot/rss), initrd-fio.gz (virtio_blk)
#	ovmf/		OVMF_CODE_4M.secboot.fd, OVMF_VARS_4M.fd
#	mods/		brd.ko (virtio_blk's RAM disk inside the sandbox)
#	bench/		this script, lib.sh, cases/
#	host-results	results measured on the bare host (QEMU TCG), if any
#
#   inner.sh [--host-peers] NAME...
#
# --host-peers runs only the parts of the cases that belong on the bare
# host (QEMU TCG for ovmf_shell) and appends their results to
# $BENCH_HOST_RESULTS. Settings come from the environment (bench/run sets
# them): BENCH_REPS, BENCH_PIO_ITERS, BENCH_FIO_RUNTIME, BENCH_VERBOSE,
# BENCH_MODE (direct|sandbox), BENCH_HOST_INFO, QEMU (the peer binary).
set -u
here=$(cd "$(dirname "$0")" && pwd)
PAYLOAD=$(cd "$here/.." && pwd)
export PAYLOAD
. "$here/lib.sh"

host_peers=0
if [ "${1:-}" = --host-peers ]; then
	host_peers=1
	shift
fi

KVMRUN=$PAYLOAD/bin/kvmrun
BENCHEXEC=$PAYLOAD/bin/benchexec
CHAT=$PAYLOAD/bin/chat
FW=$PAYLOAD/firmware
LINUX=$PAYLOAD/linux
OVMF_DIR=$PAYLOAD/ovmf
QEMU=${QEMU:-qemu-system-x86_64}
REPS=${BENCH_REPS:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
BENCH_HOST_RESULTS=${BENCH_HOST_RESULTS:-$PAYLOAD/host-results}
export KVMRUN BENCHEXEC CHAT FW LINUX OVMF_DIR QEMU REPS WORK BENCH_HOST_RESULTS
trap 'rm -rf "$WORK"' EXIT

for c in "$here"/cases/*.sh; do
	. "$c"
done

if [ $host_peers = 1 ]; then
	for name in "$@"; do
		if declare -F "host_$name" >/dev/null; then
			"host_$name"
		fi
	done
	exit 0
fi

cpu_model() {
	sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1
}

echo "== environment"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
if [ "${BENCH_MODE:-direct}" = sandbox ]; then
	echo "mode:     nested-KVM sandbox (QEMU TCG on the host, KVM inside; every number here is"
	echo "          nested and far slower than on a KVM host: compare ratios, not absolutes)"
else
	echo "mode:     direct KVM on this host"
fi
[ -n "${BENCH_HOST_INFO:-}" ] && printf '%s\n' "$BENCH_HOST_INFO"
echo "kernel:   $(uname -r) ($(uname -m))"
echo "cpu:      $(cpu_model), $(grep -c ^processor /proc/cpuinfo) online"
kmod=$(ls /sys/module 2>/dev/null | grep -E '^kvm_(amd|intel)$' | tr '\n' ' ')
echo "kvm:      $( [ -c /dev/kvm ] && echo /dev/kvm ) $kmod"
echo "kvmrun:   $("$KVMRUN" -version 2>&1 | head -n 1)"
echo "peer:     $("$QEMU" --version 2>&1 | head -n 1)"
echo "reps:     $REPS per measurement, kvmrun and the peer alternating"
echo

for name in "$@"; do
	echo "== $name"
	t0=$(date +%s)
	"bench_$name" 2>&1 | tee -a "$WORK/all.out"
	echo "   ($name took $(( $(date +%s) - t0 )) s)"
	echo
done
echo "== summary"
grep -E '^(RATIO|GOAL|FAIL|SKIP) ' "$WORK/all.out" || echo "(nothing measured)"
# The sandbox finds the command's status on a line of its own.
echo
