#!/bin/bash
# run-kvmrun.sh [--fw DIR] [--kvmrun BINARY] [SPEC...]
#
# Runs kvmrun's firmware test guests with kvmrun itself (needs /dev/kvm:
# a KVM host or the nested sandbox) and checks each against its spec (see
# common.sh). Without SPEC arguments, every *.spec in this directory runs.
#
# kvmrun is started as
#	kvmrun -display none -serial file:$WORK/serial.log ARGS
# and its own stdout+stderr is matched against KVMRUN_EXPECT_OUTPUT (e.g.
# the register dump after a triple fault).
#
# Exit: 0 all passed, 1 a failure, 77 everything skipped (e.g. no KVM).
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"

root=$(cd "$here/../../.." && pwd)
FW=$root/build/firmware
KVMRUN_BIN=${KVMRUN_BIN:-$root/build/kvmrun}
while [ $# -gt 0 ]; do
	case $1 in
	--fw) FW=$2; shift 2 ;;
	--kvmrun) KVMRUN_BIN=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -o/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "run-kvmrun.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
FILES=$here/files
export FW FILES

run_one_kvmrun() {
	local spec=$1 name status=0
	name=$(basename "$spec" .spec)
	spec_load "$spec" || return 1

	if [ "${KVMRUN:-yes}" = no ]; then
		echo "SKIP $name: ${KVMRUN_WHY:-not applicable to kvmrun}"
		return 77
	fi
	if [ "${SLOW:-0}" = 1 ] && [ "${GUESTS_SLOW:-0}" != 1 ]; then
		echo "SKIP $name: slow (set GUESTS_SLOW=1)"
		return 77
	fi
	if [ ! -x "$KVMRUN_BIN" ]; then
		echo "SKIP $name: $KVMRUN_BIN not found"
		return 77
	fi
	if [ ! -w /dev/kvm ]; then
		echo "SKIP $name: /dev/kvm not available"
		return 77
	fi

	: > "$WORK/serial.log"
	timeout -k 5 "$TIMEOUT" "$KVMRUN_BIN" -display none -serial "file:$WORK/serial.log" \
		"${ARGS[@]}" > "$WORK/output.log" 2>&1 < /dev/null || status=$?
	if [ -n "${KVMRUN_EXPECT_OUTPUT:-}" ] &&
	   ! grep -E -q -- "$KVMRUN_EXPECT_OUTPUT" "$WORK/output.log"; then
		echo "FAIL $name: kvmrun output lacks /$KVMRUN_EXPECT_OUTPUT/"
		tail -n 30 "$WORK/output.log" | sed 's/^/    /'
		return 1
	fi
	check_outcome "$name" "$status" "$EXPECT_STATUS" "$WORK/serial.log" "$WORK/output.log" \
		"${EXPECT_SERIAL[@]}"
}

rc=0
run_specs run_one_kvmrun "$@" || rc=$?
exit "$rc"
