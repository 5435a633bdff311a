# pio_exit: cost of one PIO exit round trip (guest `out` to an unassigned
# port -> VMM -> back into the guest), kvmrun vs QEMU.
#
# Guests: firmware/pio_loop.S built with N iterations (pio_loop.bin: 1,000,000;
# bench/meson.build adds pio_loop_100k.bin for the slow nested sandbox) and
# with 0 (pio_loop_0.bin: the same boot, long mode and power-off without
# the loop). Per-exit cost = (t(N) - t(0)) / N with t the whole process
# lifetime, paired within a repetition. As a cross-check the loop alone is
# also timed between its two serial lines ("start" and "done").
#
# QEMU: -accel kvm -machine pc -bios BIN -nodefaults -display none; the
# guest's power_off enables PIIX4's PM block itself (firmware/lib.inc), so
# QEMU exits with status 0 like kvmrun and needs no isa-debug-exit.

pio_cmd() {    # WHO BIN: the command in CMD
	case $1 in
	kvmrun) CMD=("$KVMRUN" -machine pc -bios "$2" -m 128 -display none -serial stdio) ;;
	qemu) CMD=("$QEMU" -accel kvm -machine pc -bios "$2" -m 128 -nodefaults -display none
		   -serial stdio) ;;
	esac
}

bench_pio_exit() {
	local n=${BENCH_PIO_ITERS:-1000000} bin_n bin_0=$FW/pio_loop_0.bin rep who v t0 tn loop
	local -A per_exit=() per_loop=() base=()
	case $n in
	1000000) bin_n=$FW/pio_loop.bin ;;
	100000) bin_n=$FW/pio_loop_100k.bin ;;
	*) echo "SKIP pio_exit: no guest for $n iterations (1000000 or 100000)"; return 0 ;;
	esac
	for f in "$bin_n" "$bin_0"; do
		[ -f "$f" ] || { echo "SKIP pio_exit: $f was not built"; return 0; }
	done
	echo "  guest: pio_loop, N = $n outb to port 0xe00 (and N = 0); -m 128, 1 vCPU"
	pio_cmd kvmrun BIN && echo "  kvmrun: ${CMD[*]}"
	pio_cmd qemu BIN && echo "  qemu:   ${CMD[*]}"
	for rep in $(seq "$REPS"); do
		for who in kvmrun qemu; do
			# The 0-iteration run first: a cold start costs the same in both pairs.
			pio_cmd "$who" "$bin_0"
			if ! bx "$WORK/pio0.log" -t "$(run_timeout 120)" -e '^pio_loop: done' -- \
				"${CMD[@]}" || [ "$(bx_get e0)" = -1.000000 ]; then
				fail pio_exit "$who" "rep $rep, N=0: status $(bx_get rc)" "$WORK/pio0.log"
				continue
			fi
			t0=$(bx_get wall)
			pio_cmd "$who" "$bin_n"
			if ! bx "$WORK/pion.log" -t "$(run_timeout "$(calc "60 + $n * 0.0003")")" \
				-e '^pio_loop: start' -e '^pio_loop: done' -- "${CMD[@]}" ||
				[ "$(bx_get e1)" = -1.000000 ]; then
				fail pio_exit "$who" "rep $rep, N=$n: status $(bx_get rc)" "$WORK/pion.log"
				continue
			fi
			tn=$(bx_get wall)
			loop=$(calc "$(bx_get e1) - $(bx_get e0)")
			per_exit[$who]+="$(calc "($tn - $t0) / $n * 1e6") "
			per_loop[$who]+="$(calc "$loop / $n * 1e6") "
			base[$who]+="$t0 "
			vlog "rep $rep $who: t(N)=${tn}s t(0)=${t0}s loop=${loop}s"
		done
	done
	report_all pio_exit "per-exit (t(N)-t(0))/N" us 3 per_exit "" kvmrun qemu
	ratio pio_exit kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" lower "<=" 1.0
	report_all pio_exit "per-exit serial stamps" us 3 per_loop "" kvmrun qemu
	ratio pio_exit_serial kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" lower "<=" 1.0
	report_all pio_exit "t(0) start+power-off" s 3 base "" kvmrun qemu
}
