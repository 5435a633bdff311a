# smi_roundtrip: SMI -> RSM round trip of kvmrun's two SMM backends, kvm
# (KVM's own SMM) and user (SMM emulated in kvmrun), in the same run.
#
# Guest: firmware/smm_bench.bin (the SMM engineer's smm_test guest plus
# 1000 SMIs from long mode through -device smm-test-port, TSEG closed),
# -machine q35,smm=on,kernel-irqchip=off (the user backend needs the
# userspace LAPIC; the kvm backend gets the same machine). Three views:
#  - guest-visible: the 1000 SMIs sit between the serial lines "smm_test:
#    SMI round trips" and the next "smm_test:" line: their distance / 1000
#    (each iteration: the exit of the write to port 0xb4, the SMI, the
#    handler, RSM, and the exit of the guest's write to APM port 0xb2,
#    which raises no SMI there: the same for both backends);
#  - kvmrun's SMM counters, if it prints them at exit with -v (a line
#    "smm: stats backend=B smis=N rsms=N ... rt_mean_ns=N ...", format in
#    smm/README.md): the mean over all SMIs of the run (kvm's rt runs to
#    the first exit outside SMM, so it includes guest time);
#  - -trace smm: the median of the per-SMI "rt=" values of the RSM lines
#    (tracing slows both backends down; runs of their own), and for the
#    user backend the medians of its "entry=" and "rsm=" parts. kvm's rt
#    runs from KVM_SMI to the first exit after RSM, user's from the start
#    of the entry emulation to the end of the RSM emulation.
# Without smm_bench.bin (not built yet) the fallback guest is stock OVMF
# (its variable services are SMIs), -trace view only; its kvm-backend rt
# also counts the wait for the next exit after RSM, so it reads high.

SMI_BENCH_COUNT=1000     # SMM_TEST_BENCH in firmware/smm_bench.S

smi_cmd() {    # BACKEND BIN [ARGS...]: the command in CMD
	local be=$1 bin=$2
	shift 2
	CMD=("$KVMRUN" -machine q35,smm=on,kernel-irqchip=off -smm-backend "$be" -m 128M
	     -bios "$bin" -device smm-test-port -device isa-debug-exit,iobase=0xf4,iosize=0x4
	     -serial stdio -display none -no-reboot "$@")
}

# rt_median LOG BACKEND [FIELD]: "MEDIAN COUNT" of a per-SMI time of the
# trace's RSM lines, in us: FIELD rt (default: round trip), or, for the
# user backend, entry (SMI entry emulation) and rsm (RSM emulation).
rt_median() {
	local vals
	vals=$(sed -n "s/.*RSM ($2):.* ${3:-rt}=\([0-9]*\)ns.*/\1/p" "$1")
	[ -n "$vals" ] || return 0
	summary $vals | awk '{ printf "%.6g %d\n", $1 / 1000, $4 }'
}

# rsm_count "MEDIAN COUNT": the count ("no" if empty).
rsm_count() {
	[ -n "$1" ] && echo "${1##* }" || echo no
}

bench_smi_roundtrip() {
	local bin=$FW/smm_bench.bin rep be r d v stats n_smi
	local -A guest=() counters=() trace=() part=()
	if [ ! -f "$bin" ]; then
		smi_roundtrip_ovmf
		return 0
	fi
	smi_cmd BACKEND "$bin"
	echo "  guest: smm_bench ($SMI_BENCH_COUNT SMIs from long mode, TSEG closed), 1 vCPU"
	echo "  kvmrun: ${CMD[*]} [-v | -trace smm]"
	local -A skipped=()
	for rep in $(seq "$REPS"); do
		for be in kvm user; do
			[ -n "${skipped[$be]:-}" ] && continue
			smi_cmd "$be" "$bin" -v
			bx "$WORK/smi.log" -t "$(run_timeout 120)" -e '^smm_test: SMI round trips' \
				-a '^smm_test: ' -e '^smm_test: PASS' -- "${CMD[@]}"
			r=$?
			if [ $r != 1 ] || [ "$(bx_get e2)" = -1.000000 ] || [ "$(bx_get e1)" = -1.000000 ]; then
				fail_or_skip smi_roundtrip "$be" "rep $rep: status $r (want 1 and PASS)" \
					"$WORK/smi.log" || skipped[$be]=1
				continue
			fi
			d=$(calc "($(bx_get e1) - $(bx_get e0)) / $SMI_BENCH_COUNT * 1e6")
			guest[$be]+="$d "
			# smm/README.md: "smm: stats backend=B smis=N rsms=N ...
			# rt_mean_ns=N ...", parsed by key.
			stats=$(grep -m1 'smm: stats ' "$WORK/smi.log" | tr -d '\r' | tr ' ' '\n')
			v=$(printf '%s\n' "$stats" | sed -n 's/^rt_mean_ns=\([0-9]*\)$/\1/p')
			if [ -n "$v" ]; then
				counters[$be]+="$(calc "$v / 1000") "
				n_smi=$(printf '%s\n' "$stats" | sed -n 's/^rsms=//p')
			fi
			vlog "rep $rep $be: ${d} us per SMI (guest-visible)"

			smi_cmd "$be" "$bin" -trace smm
			bx "$WORK/smit.log" -t "$(run_timeout 120)" -e '^smm_test: PASS' -- "${CMD[@]}"
			r=$?
			d=$(rt_median "$WORK/smit.log" "$be")
			if [ $r != 1 ] || [ -z "$d" ]; then
				fail_or_skip smi_roundtrip "$be" \
					"rep $rep, -trace smm: status $r, no RSM lines" \
					"$WORK/smit.log" || skipped[$be]=1
				continue
			fi
			trace[$be]+="${d%% *} "
			vlog "rep $rep $be: trace median ${d%% *} us over ${d##* } SMIs"
			if [ "$be" = user ]; then
				d=$(rt_median "$WORK/smit.log" user entry)
				[ -n "$d" ] && part[entry]+="${d%% *} "
				d=$(rt_median "$WORK/smit.log" user rsm)
				[ -n "$d" ] && part[rsm]+="${d%% *} "
			fi
		done
	done
	report_all smi_roundtrip "per SMI, guest-visible" us 1 guest "" kvm user
	ratio smi_roundtrip user kvm "${MED[user]}" "${MED[kvm]}" lower "<=" 3
	if [ -n "${counters[kvm]:-}${counters[user]:-}" ]; then
		report_all smi_roundtrip "per SMI, kvmrun counters" us 1 counters "" kvm user
		echo "  (counters: mean over all ${n_smi:-?} SMIs of a run)"
		ratio smi_roundtrip_counters user kvm "${MED[user]}" "${MED[kvm]}" lower "<=" 3
	else
		echo "  (kvmrun printed no 'smm: stats' line with -v: counters view not available)"
	fi
	report_all smi_roundtrip "per SMI, -trace median" us 1 trace "" kvm user
	ratio smi_roundtrip_trace user kvm "${MED[user]}" "${MED[kvm]}" lower "<=" 3
	report smi_roundtrip "user: SMI entry emulation" user us 1 ${part[entry]:-}
	report smi_roundtrip "user: RSM emulation" user us 1 ${part[rsm]:-}
}

# Fallback: OVMF to the shell under -trace smm, per-SMI rt medians.
smi_roundtrip_ovmf() {
	local rep be d
	local -A trace=() skipped=()
	echo "  note: firmware/smm_bench.bin was not built (it comes with the SMM engineer's guests);"
	echo "        falling back to stock OVMF under -trace smm (rt of the kvm backend reads high)"
	[ -f "$OVMF_DIR/OVMF_CODE_4M.secboot.fd" ] ||
		{ echo "SKIP smi_roundtrip: no smm_bench.bin and no OVMF in the payload"; return 0; }
	for rep in $(seq "$REPS"); do
		for be in kvm user; do
			[ -n "${skipped[$be]:-}" ] && continue
			ovmf_run "kvmrun-$be" "$WORK/smio.log" -trace smm
			d=$(rt_median "$WORK/smio.log" "$be")
			# A boot that stopped early saw other SMIs than a whole one
			# (OVMF's first ones are the slow relocation and setup):
			# its median compares with nothing.
			if [ -z "$d" ] || [ "$(bx_get e1)" = -1.000000 ]; then
				fail_or_skip smi_roundtrip "$be" \
					"rep $rep (OVMF): no 'Shell> ', $(rsm_count "$d") RSMs traced" \
					"$WORK/smio.log" || skipped[$be]=1
				continue
			fi
			trace[$be]+="${d%% *} "
		done
	done
	report_all smi_roundtrip "per SMI, OVMF -trace median" us 1 trace "" kvm user
	ratio smi_roundtrip_ovmf_trace user kvm "${MED[user]}" "${MED[kvm]}" lower "<=" 3
}
