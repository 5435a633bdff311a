# Shared by run-qemu.sh and run-kvmrun.sh: load a guest spec, run a VMM
# command, check the outcome. Sourced, not executed (bash).
#
# A spec (NAME.spec) is a bash fragment of KEY=value lines, sourced with
# these variables set:
#	FW	the built firmware directory (build/firmware)
#	FILES	this directory's files/ (data such as multiboot modules)
#	WORK	an empty scratch directory for this run
# Keys:
#	DESC			one line: what the guest shows
#	ARGS=(...)		VMM arguments (machine, firmware, devices). The runner
#				adds the console plumbing itself: COM1 goes to a file
#				that EXPECT_SERIAL is matched against.
#	EXPECT_STATUS		exit status under kvmrun
#	EXPECT_SERIAL=(...)	extended regexes that must each match a line of COM1
#	REJECT_SERIAL		a regex no line of COM1 may match (default FAIL|EXCEPTION)
#	EXPECT_DEBUGCON		a regex that must match a line of $WORK/debugcon.log
#	KVMRUN_EXPECT_OUTPUT	a regex kvmrun's own stdout+stderr must match
#	TIMEOUT			seconds (default 60)
#	SLOW=1			run only when GUESTS_SLOW=1 (large memory, long runs)
#	KVMRUN=no, KVMRUN_WHY	not applicable to kvmrun (skipped, with the reason)
#	QEMU=no, QEMU_WHY	not applicable to QEMU TCG (skipped, with the reason)
#	QEMU_ARGS=(...)		replaces ARGS under QEMU
#	QEMU_EXTRA_ARGS=(...)	appended to the arguments under QEMU
#	QEMU_EXPECT_STATUS	replaces EXPECT_STATUS under QEMU
#	QEMU_EXPECT_SERIAL=(...) replaces EXPECT_SERIAL under QEMU
#	QEMU_WHY		also used to explain an override
#
# Exit codes of the runners: 0 pass, 1 fail, 77 skip (meson's convention).

guests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Clear every key, so that nothing leaks from one spec into the next.
spec_reset() {
	unset DESC ARGS EXPECT_STATUS EXPECT_SERIAL REJECT_SERIAL EXPECT_DEBUGCON \
		KVMRUN_EXPECT_OUTPUT TIMEOUT SLOW KVMRUN KVMRUN_WHY QEMU QEMU_WHY \
		QEMU_ARGS QEMU_EXTRA_ARGS QEMU_EXPECT_STATUS QEMU_EXPECT_SERIAL
}

# spec_load FILE: source a spec into the variables above, with defaults.
spec_load() {
	local spec=$1
	spec_reset
	if [ ! -f "$spec" ]; then
		echo "error: $spec: no such spec" >&2
		return 1
	fi
	# shellcheck disable=SC1090
	if ! source "$spec"; then
		echo "error: $spec: could not be sourced" >&2
		return 1
	fi
	if [ -z "${EXPECT_STATUS:-}" ]; then
		echo "error: $spec: EXPECT_STATUS is missing" >&2
		return 1
	fi
	: "${TIMEOUT:=60}"
	: "${REJECT_SERIAL:=FAIL|EXCEPTION}"
	return 0
}

# clean_log FILE: COM1 output as plain lines (no CR, no terminal escapes).
clean_log() {
	sed -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' "$1"
}

# check_outcome NAME STATUS WANT_STATUS SERIAL_LOG OUTPUT_LOG REGEX...
# Prints the verdict and returns 0 (pass) or 1 (fail). The regexes after
# the fifth argument are the EXPECT_SERIAL list in force.
check_outcome() {
	local name=$1 status=$2 want=$3 serial=$4 output=$5
	shift 5
	local ok=1 re

	if [ "$status" = 124 ] || [ "$status" = 137 ]; then
		echo "FAIL $name: timed out after ${TIMEOUT}s"
		ok=0
	elif [ "$status" != "$want" ]; then
		echo "FAIL $name: exit status $status, expected $want"
		ok=0
	fi
	for re in "$@"; do
		if ! clean_log "$serial" | grep -E -q -- "$re"; then
			echo "FAIL $name: serial output lacks /$re/"
			ok=0
		fi
	done
	if clean_log "$serial" | grep -E -q -- "$REJECT_SERIAL"; then
		echo "FAIL $name: serial output matches /$REJECT_SERIAL/:"
		clean_log "$serial" | grep -E -- "$REJECT_SERIAL" | head -5 | sed 's/^/    /'
		ok=0
	fi
	if [ -n "${EXPECT_DEBUGCON:-}" ]; then
		if [ ! -f "$WORK/debugcon.log" ] ||
		   ! clean_log "$WORK/debugcon.log" | grep -E -q -- "$EXPECT_DEBUGCON"; then
			echo "FAIL $name: debugcon output lacks /$EXPECT_DEBUGCON/"
			ok=0
		fi
	fi
	if [ "$ok" = 1 ]; then
		echo "PASS $name"
		return 0
	fi
	echo "---- $name: serial (last 30 lines)"
	clean_log "$serial" | tail -n 30 | sed 's/^/    /'
	if [ -s "$output" ]; then
		echo "---- $name: VMM output (last 30 lines)"
		tail -n 30 "$output" | sed 's/^/    /'
	fi
	return 1
}

# run_specs RUN_ONE [SPEC...]: run RUN_ONE (a function taking a spec path)
# for each spec (default: every *.spec here), each with a fresh $WORK.
# Returns 1 if any failed, 77 if all were skipped, else 0.
run_specs() {
	local run_one=$1
	shift
	local specs=("$@") spec rc failed=0 passed=0
	if [ "${#specs[@]}" -eq 0 ]; then
		specs=("$guests_dir"/*.spec)
	fi
	for spec in "${specs[@]}"; do
		echo "--- $(basename "$spec" .spec)"
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvmrun-guest.XXXXXX")
		export WORK
		rc=0
		"$run_one" "$spec" || rc=$?
		rm -rf "$WORK"
		case $rc in
		0) passed=$((passed + 1)) ;;
		77) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done
	if [ "$failed" -gt 0 ]; then
		return 1
	fi
	if [ "$passed" -eq 0 ]; then
		return 77
	fi
	return 0
}
