#!/bin/bash
# run-qemu.sh [--fw DIR] [--qemu BINARY] [SPEC...]
#
# Runs kvmrun's firmware test guests under QEMU TCG (no KVM needed) and
# checks each against its spec (see common.sh for the format). Without
# SPEC arguments, every *.spec in this directory is run.
#
# QEMU is started as
#	qemu-system-x86_64 -accel tcg -machine pc -display none -nodefaults
#		-serial file:$WORK/serial.log  ARGS  QEMU_EXTRA_ARGS
# (-machine pc only when ARGS names no machine). Where QEMU's platform
# differs from kvmrun's, the spec says so with QEMU_* keys:
#  - a triple fault is a reset request in QEMU (status 0 with -no-reboot),
#    while kvmrun stops with a register dump and status 2;
#  - QEMU's pc has no ACPI PM block until firmware enables PIIX4's PMBASE;
#    the guests' power_off does that as a fallback, so power-off still
#    gives status 0 (after an extra 0.5 s);
#  - QEMU has no embedded default guest (`kvmrun` with no arguments).
#
# Exit: 0 all passed, 1 a failure, 77 everything skipped (e.g. no QEMU).
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"

FW=$(cd "$here/../../.." && pwd)/build/firmware
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
while [ $# -gt 0 ]; do
	case $1 in
	--fw) FW=$2; shift 2 ;;
	--qemu) QEMU_BIN=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -o/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "run-qemu.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
FILES=$here/files
export FW FILES

run_one_qemu() {
	local spec=$1 name args=() want status=0
	name=$(basename "$spec" .spec)
	spec_load "$spec" || return 1

	if [ "${QEMU:-yes}" = no ]; then
		echo "SKIP $name: ${QEMU_WHY:-not applicable to QEMU}"
		return 77
	fi
	if [ "${SLOW:-0}" = 1 ] && [ "${GUESTS_SLOW:-0}" != 1 ]; then
		echo "SKIP $name: slow (set GUESTS_SLOW=1)"
		return 77
	fi
	if ! command -v "$QEMU_BIN" >/dev/null 2>&1; then
		echo "SKIP $name: $QEMU_BIN not found"
		return 77
	fi
	if [ "${#QEMU_ARGS[@]}" -gt 0 ]; then
		args=("${QEMU_ARGS[@]}")
	else
		args=("${ARGS[@]}")
	fi
	if [[ " ${args[*]} " != *" -machine "* ]] && [[ " ${args[*]} " != *" -M "* ]]; then
		args=(-machine pc "${args[@]}")
	fi
	args+=("${QEMU_EXTRA_ARGS[@]}")
	want=${QEMU_EXPECT_STATUS:-$EXPECT_STATUS}
	local expect=("${EXPECT_SERIAL[@]}")
	if [ "${#QEMU_EXPECT_SERIAL[@]}" -gt 0 ]; then
		expect=("${QEMU_EXPECT_SERIAL[@]}")
	fi

	: > "$WORK/serial.log"
	timeout -k 5 "$TIMEOUT" "$QEMU_BIN" -accel tcg -display none -nodefaults \
		-serial "file:$WORK/serial.log" "${args[@]}" \
		> "$WORK/output.log" 2>&1 < /dev/null || status=$?
	check_outcome "$name" "$status" "$want" "$WORK/serial.log" "$WORK/output.log" \
		"${expect[@]}"
}

rc=0
run_specs run_one_qemu "$@" || rc=$?
exit "$rc"
