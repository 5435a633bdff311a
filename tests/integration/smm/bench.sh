#!/bin/sh
# SMI -> RSM round trip per backend: 1000 SMIs from long mode (smm_bench.bin)
# with the SMM counters printed by the harness. "user -M" keeps TSEG mapped
# outside SMM: no memslot changes per SMI, and the guest's isolation check
# (after the round trips) fails by design (status 161).
# Usage: bench.sh HARNESS SMM_BENCH.BIN
set -u
harness=$1 bench=$2
for mode in "kvm" "user" "user -M"; do
	set -- $mode
	out=$("$harness" -b "$@" -S "$bench" 2>&1)
	status=$?
	echo "$out" | grep -q "lacks" && { echo "bench: $mode: backend unavailable"; continue; }
	echo "bench: $mode (status $status): $(echo "$out" | sed -n 's/.*stats //p')"
done
