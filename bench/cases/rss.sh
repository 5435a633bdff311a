# rss: the VMM's own memory beyond guest RAM. The Linux guest (-m 256,
# 1 vCPU) boots and stays up for a few seconds (bench=idle:SEC) while
# benchexec samples /proc/PID/smaps every 100 ms: the mapping of the guest
# RAM's size is guest RAM, every other mapping's Rss (binary, libraries,
# heap, stacks, ROM copies, rings, ...) is overhead. Reported, for kvmrun
# and for QEMU in the same scenario (-machine pc with SeaBIOS): the
# overhead while the guest idles (sampled when it prints "BENCH: idle",
# after SEC seconds up: the goal applies to this one), the peak over the
# whole run (start-up included: file buffers of the kernel and initrd
# while they are loaded), and the guest RAM's Rss for reference.

RSS_GUEST_MIB=256

bench_rss() {
	local rep who idle=${BENCH_RSS_IDLE:-3} r maps steady
	local -A over=() peak=() anon=() guest=()
	[ -f "$LINUX/vmlinuz" ] && [ -f "$LINUX/initrd.gz" ] ||
		{ echo "SKIP rss: no Linux guest in the payload"; return 0; }
	echo "  guest: Linux, -m $RSS_GUEST_MIB, 1 vCPU, up for ${idle}s after boot; smaps every 100 ms"
	for rep in $(seq "$REPS"); do
		for who in kvmrun qemu; do
			linux_cmd "$who" 1 "$RSS_GUEST_MIB" "$LINUX/initrd.gz" "idle:$idle"
			bx "$WORK/rss.log" -t "$(run_timeout 300)" -r "$RSS_GUEST_MIB" -i 100 -v \
				-M '^BENCH: idle' -- "${CMD[@]}"
			r=$?
			steady=$(printf '%s\n' "$BX_MARKS" | sed -n 's/.* rss_other_kb=\([0-9]*\) .*/\1/p' |
				head -n 1)
			if [ -z "$steady" ] || [ "$(bx_get rss_samples)" = 0 ]; then
				fail rss "$who" "rep $rep: the guest did not reach 'BENCH: idle' (status $r)" \
					"$WORK/rss.log"
				continue
			fi
			maps=$(bx_get rss_guest_maps)
			[ "$maps" = 1 ] || echo "  note: $who rep $rep: $maps mappings of the guest RAM's size"
			over[$who]+="$(calc "$steady / 1024") "
			peak[$who]+="$(calc "$(bx_get rss_other_max_kb) / 1024") "
			anon[$who]+="$(calc "$(bx_get rss_other_anon_at_max_kb) / 1024") "
			guest[$who]+="$(calc "$(bx_get rss_guest_max_kb) / 1024") "
			vlog "rep $rep $who: idle ${steady} kB, peak $(bx_get rss_other_max_kb) kB" \
			     "at $(bx_get rss_t_other_max)s"
			if [ "${BENCH_VERBOSE:-0}" = 1 ] && [ "$rep" = 1 ]; then
				echo "    $who: largest non-guest mappings at the peak:"
				printf '%s\n' "$BX_MAPS" | sed 's/^MAP /      /'
			fi
		done
	done
	report_all rss "overhead while idle" MiB 2 over "" kvmrun qemu
	if [ -n "${MED[kvmrun]}" ]; then
		if [ "$(calc "${MED[kvmrun]} <= 5")" = 1 ]; then r=met; else r=missed; fi
		echo "GOAL rss kvmrun overhead = $(fmt "${MED[kvmrun]}" 2) MiB" \
		     "(while idle; goal <= 5 MiB) [$r]"
	fi
	ratio rss kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" lower - -
	report_all rss "overhead, peak of the run" MiB 2 peak "" kvmrun qemu
	report_all rss "peak, anonymous part" MiB 2 anon "" kvmrun qemu
	report_all rss "guest RAM resident (peak)" MiB 1 guest "" kvmrun qemu
}
