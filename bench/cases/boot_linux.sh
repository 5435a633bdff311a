# boot_linux: time from the VMM's process start to Linux userspace (the
# first line the initramfs init prints, "BENCH: booted"), kvmrun -kernel
# -initrd (its own direct boot) vs QEMU -accel kvm -kernel -initrd
# (SeaBIOS + linuxboot option ROM); same bzImage, initramfs, command line,
# memory and CPU model, 1 and 2 vCPUs. Also reported: the part before the
# kernel's clock started (the time of the guest's "BENCH: uptime U" line
# minus U: VMM start-up, firmware, kernel loading and decompression, which
# is where the VMMs differ; the rest is the same kernel running) and the
# time to the VMM's exit after the guest's immediate power-off.

LINUX_APPEND=${BENCH_LINUX_APPEND:-console=ttyS0 quiet}

# linux_cmd WHO SMP MIB INITRD BENCH_ACTION [VMM ARGS...]: the command in CMD.
linux_cmd() {
	local who=$1 smp=$2 mib=$3 initrd=$4 action=$5
	shift 5
	case $who in
	kvmrun) CMD=("$KVMRUN" -machine pc -cpu host -m "$mib" -smp "$smp" -kernel "$LINUX/vmlinuz"
		     -initrd "$initrd" -append "$LINUX_APPEND bench=$action" -display none
		     -serial stdio "$@") ;;
	qemu) CMD=("$QEMU" -accel kvm -machine pc -cpu host -m "$mib" -smp "$smp"
		   -kernel "$LINUX/vmlinuz" -initrd "$initrd" -append "$LINUX_APPEND bench=$action"
		   -nodefaults -display none -serial stdio "$@") ;;
	esac
}

bench_boot_linux() {
	local smp rep who r up
	local -A boot=() total=() pre=()
	[ -f "$LINUX/vmlinuz" ] && [ -f "$LINUX/initrd.gz" ] ||
		{ echo "SKIP boot_linux: no Linux guest in the payload"; return 0; }
	echo "  guest: $(basename "$(readlink -f "$LINUX/vmlinuz")") + busybox initramfs" \
	     "($(du -k "$LINUX/initrd.gz" | cut -f1) KiB), -m 256, append '$LINUX_APPEND bench=boot'"
	linux_cmd kvmrun 'N' 256 INITRD boot && echo "  kvmrun: ${CMD[*]}"
	linux_cmd qemu 'N' 256 INITRD boot && echo "  qemu:   ${CMD[*]}"
	for smp in 1 2; do
		for rep in $(seq "$REPS"); do
			for who in kvmrun qemu; do
				linux_cmd "$who" "$smp" 256 "$LINUX/initrd.gz" boot
				bx "$WORK/boot.log" -t "$(run_timeout 300)" -e '^BENCH: booted' \
					-M '^BENCH: uptime ' -- "${CMD[@]}"
				r=$?
				if [ "$(bx_get e0)" = -1.000000 ]; then
					fail boot_linux "$who" "smp $smp rep $rep: no 'BENCH: booted' (status $r)" \
						"$WORK/boot.log"
					continue
				fi
				[ $r = 0 ] || fail boot_linux "$who" "smp $smp rep $rep: booted, but exit status $r" \
					"$WORK/boot.log"
				boot[$who$smp]+="$(bx_get e0) "
				total[$who$smp]+="$(bx_get wall) "
				up=$(printf '%s\n' "$BX_MARKS" |
					sed -n 's/^MARK t=\([^ ]*\) .*BENCH: uptime \([0-9.]*\).*/\1 \2/p')
				[ -n "$up" ] && pre[$who$smp]+="$(calc "${up% *} - ${up#* }") "
				vlog "smp $smp rep $rep $who: userspace at $(bx_get e0)s, exit at $(bx_get wall)s"
			done
		done
	done
	for smp in 1 2; do
		report_all boot_linux "smp$smp to userspace" s 3 boot "$smp" kvmrun qemu
		ratio "boot_linux_smp$smp" kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" lower "<=" 0.5
		report_all boot_linux "smp$smp before kernel clock" s 3 pre "$smp" kvmrun qemu
		ratio "boot_linux_smp${smp}_before_kernel" kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" \
			lower - -
		report_all boot_linux "smp$smp to exit" s 3 total "$smp" kvmrun qemu
	done
}
