# ovmf_shell: time from the VMM's start to the UEFI shell prompt of stock
# Debian OVMF with SMM (OVMF_CODE_4M.secboot.fd + a fresh copy of
# OVMF_VARS_4M.fd, -machine q35,smm=on, 1 vCPU, 256 MiB, COM1 on stdio;
# Debian's own CI boot test without its second serial port), under:
#	kvmrun-kvm	kvmrun, SMM by KVM         } same sandbox / host,
#	kvmrun-user	kvmrun, SMM in userspace   } same run
#	qemu-kvm	QEMU -accel kvm            }
#	qemu-tcg	QEMU -accel tcg on the bare host (what edk2's CI uses),
#			measured by bench/run before the KVM part
# tests/tools/chat sends ESC at the "Press ESC ... any other key" prompt
# (skipping the 5 s countdown), waits for "Shell> " and types "reset -s".
# Times: to the prompt and to "Shell> ", from benchexec's start of chat.
#
# In the nested sandbox, KVM's in-kernel LAPIC makes the outer QEMU TCG
# abort on the CR8 writes OVMF does, so there every VMM under KVM runs
# with kernel-irqchip=off (the userspace irqchip); on a KVM host the
# in-kernel irqchip is used (BENCH_OVMF_IRQCHIP overrides: on|off).

ovmf_irqchip() {
	if [ -n "${BENCH_OVMF_IRQCHIP:-}" ]; then
		echo "$BENCH_OVMF_IRQCHIP"
	elif [ "${BENCH_MODE:-direct}" = sandbox ]; then
		echo off
	else
		echo on
	fi
}

# ovmf_cmd WHO VARS [ARGS...]: the command in CMD.
ovmf_cmd() {
	local who=$1 vars=$2 machine="q35,smm=on"
	shift 2
	[ "$who" = qemu-tcg ] || machine+=",kernel-irqchip=$(ovmf_irqchip)"
	case $who in
	kvmrun-*) CMD=("$KVMRUN" -machine "$machine" -smm-backend "${who#kvmrun-}") ;;
	qemu-kvm) CMD=("$QEMU" -accel kvm -machine "$machine") ;;
	qemu-tcg) CMD=("$QEMU" -accel tcg -machine "$machine") ;;
	esac
	CMD+=(-m 256 -smp 1 -nodefaults -display none -serial stdio
	      -drive "file=$OVMF_DIR/OVMF_CODE_4M.secboot.fd,if=pflash,format=raw,unit=0,readonly=on"
	      -drive "file=$vars,if=pflash,format=raw,unit=1,readonly=off" "$@")
}

# ovmf_run WHO LOG [ARGS...]: one boot to the shell under chat; the times
# are in BX (e0: the ESC prompt, e1: "Shell> "; -1 if never).
ovmf_run() {
	local who=$1 log=$2 t
	shift 2
	t=$(run_timeout "${BENCH_OVMF_TIMEOUT:-400}")
	cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$WORK/vars.fd"
	printf '%s\n' 'expect Press .* or any other key' 'send \e' 'expect Shell> ' \
		'send reset -s\r' >"$WORK/ovmf.chat"
	ovmf_cmd "$who" "$WORK/vars.fd" "$@"
	# An exception dump means OVMF will not get anywhere: stop at once.
	bx "$log" -t "$((t + 10))" -e 'Press .* or any other key' -e 'Shell> ' \
		-x '!!!! (X64|IA32) Exception' -- "$CHAT" -t "$t" "$WORK/ovmf.chat" -- "${CMD[@]}"
}

# ovmf_series WHO...: REPS boots of each, alternating; medians in OVMF_SHELL[WHO].
ovmf_series() {
	local rep who r
	local -A skipped=()
	declare -gA OVMF_SHELL=() OVMF_PROMPT=()
	for rep in $(seq "$REPS"); do
		for who in "$@"; do
			[ -n "${skipped[$who]:-}" ] && continue
			ovmf_run "$who" "$WORK/ovmf.log"
			r=$?
			if [ "$(bx_get e1)" = -1.000000 ]; then
				fail_or_skip ovmf_shell "$who" "rep $rep: no 'Shell> ' (status $r)" \
					"$WORK/ovmf.log" || skipped[$who]=1
				continue
			fi
			[ $r = 0 ] || echo "  note: $who rep $rep: reached the shell, exit status $r"
			OVMF_SHELL[$who]+="$(bx_get e1) "
			OVMF_PROMPT[$who]+="$(bx_get e0) "
			vlog "rep $rep $who: prompt $(bx_get e0)s, Shell> $(bx_get e1)s"
		done
	done
}

ovmf_present() {
	[ -f "$OVMF_DIR/OVMF_CODE_4M.secboot.fd" ] && [ -f "$OVMF_DIR/OVMF_VARS_4M.fd" ]
}

# On the bare host (bench/run --host-peers): QEMU TCG, results to a file.
host_ovmf_shell() {
	local who=qemu-tcg
	ovmf_present || return 0
	echo "== ovmf_shell: QEMU TCG on the bare host" \
	     "($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
	ovmf_cmd "$who" VARS && echo "  qemu-tcg: ${CMD[*]}"
	ovmf_series "$who"
	report_all ovmf_shell "to ESC prompt" s 2 OVMF_PROMPT "" "$who"
	report_all ovmf_shell "to Shell prompt" s 2 OVMF_SHELL "" "$who" | tee -a "$BENCH_HOST_RESULTS"
	echo
}

bench_ovmf_shell() {
	local who tcg
	ovmf_present || { echo "SKIP ovmf_shell: no OVMF_CODE_4M.secboot.fd/OVMF_VARS_4M.fd"; return 0; }
	echo "  firmware: OVMF_CODE_4M.secboot.fd + copy of OVMF_VARS_4M.fd; irqchip $(ovmf_irqchip)"
	for who in kvmrun-kvm kvmrun-user qemu-kvm; do
		ovmf_cmd "$who" VARS && echo "  $who: ${CMD[*]}"
	done
	ovmf_series kvmrun-kvm kvmrun-user qemu-kvm
	report_all ovmf_shell "to ESC prompt" s 2 OVMF_PROMPT "" kvmrun-kvm kvmrun-user qemu-kvm
	report_all ovmf_shell "to Shell prompt" s 2 OVMF_SHELL "" kvmrun-kvm kvmrun-user qemu-kvm
	tcg=
	if [ -f "$BENCH_HOST_RESULTS" ]; then
		tcg=$(sed -n 's/^RESULT ovmf_shell to_Shell_prompt qemu-tcg median=\([^ ]*\).*/\1/p' \
			"$BENCH_HOST_RESULTS" | tail -n 1)
		echo "  qemu-tcg (bare host, measured before this part):"
		grep '^  ' "$BENCH_HOST_RESULTS" | sed 's/^/  /'
	else
		echo "  qemu-tcg: not measured (bench/run --no-tcg, or no QEMU on the host)"
	fi
	ratio ovmf_shell kvmrun-kvm qemu-kvm "${MED[kvmrun-kvm]}" "${MED[qemu-kvm]}" lower "<=" 1.0
	ratio ovmf_shell kvmrun-user qemu-kvm "${MED[kvmrun-user]}" "${MED[qemu-kvm]}" lower "<=" 1.0
	if [ -n "$tcg" ]; then
		[ "${BENCH_MODE:-direct}" = sandbox ] &&
			echo "  note: qemu-tcg ran on the bare host, the others nested: not like for like"
		ratio ovmf_shell_vs_tcg kvmrun-kvm qemu-tcg "${MED[kvmrun-kvm]}" "$tcg" lower "<=" 1.0
		ratio ovmf_shell_vs_tcg kvmrun-user qemu-tcg "${MED[kvmrun-user]}" "$tcg" lower "<=" 1.0
	fi
}
