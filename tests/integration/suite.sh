#!/bin/bash
# Runs every tests/integration/cases/*.sh (busybox sh compatible) from the
# payload directory with bash. A case exits 0 (pass), 77 (skip: it says why) or
# anything else (fail). Prints a summary line "N passed, N failed, N skipped".
# Each case runs under a time limit: 600 s, or what a "# timeout: N" line in
# the case says; a case past it is killed and fails.
cd "$(dirname "$0")"
export PAYLOAD=$(pwd)
export PATH="$PAYLOAD/bin:$PATH"
export KVMRUN="$PAYLOAD/bin/kvmrun"
export FW="$PAYLOAD/firmware"
export LINUX_KERNEL="$PAYLOAD/linux/vmlinuz"
export LINUX_INITRD="$PAYLOAD/linux/initrd.gz"
export OVMF_DIR="$PAYLOAD/ovmf"
export TMP=${TMPDIR:-/tmp}

pass=0; fail=0; skip=0; failed=""
start_all=$(date +%s)
for c in cases/*.sh; do
	name=$(basename "$c" .sh)
	if [ $# -gt 0 ]; then
		sel=0
		for p in "$@"; do case "$name" in *"$p"*) sel=1 ;; esac; done
		[ $sel = 1 ] || continue
	fi
	echo "=== $name"
	t0=$(date +%s)
	log="$TMP/itest-$name.log"
	limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\)$/\1/p' "$c" | head -n 1)
	if [ -n "${KVMRUN_IN_SANDBOX:-}" ]; then
		# Also stream the case's output (prefixed "  . ") to the sandbox
		# console, so a sandbox that wedges still shows where it was.
		timeout -k 10 "${limit:-600}" bash "$c" 2>&1 | tee "$log" |
			while IFS= read -r l; do printf '  . %s\n' "$l"; done
		rc=${PIPESTATUS[0]}
	else
		timeout -k 10 "${limit:-600}" bash "$c" >"$log" 2>&1
		rc=$?
	fi
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "case killed after its time limit of ${limit:-600}s" >>"$log"
	fi
	t1=$(date +%s)
	if [ $rc = 0 ]; then
		pass=$((pass + 1))
		echo "PASS $name ($((t1 - t0))s)"
	elif [ $rc = 77 ]; then
		skip=$((skip + 1))
		echo "SKIP $name: $(grep -m1 '^SKIP' "$log" | cut -c6-)"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name (status $rc, $((t1 - t0))s) -- last lines of its log:"
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
done
echo "integration: $(( $(date +%s) - start_all ))s; failed:${failed:- none}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
