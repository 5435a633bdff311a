# virtio_blk: fio inside the same Linux guest (-m 512, BENCH_FIO_SMP vCPUs,
# default 1) on a virtio-blk disk, kvmrun vs QEMU:
#	kvmrun	-drive file=DISK,if=virtio,format=raw,aio=io_uring,cache=none
#	qemu	-object iothread,id=io0 -drive file=DISK,if=none,id=d0,format=raw,
#		aio=io_uring,cache=none -device virtio-blk-pci,drive=d0,iothread=io0
# Jobs (libaio, O_DIRECT, BENCH_FIO_RUNTIME s each after 1 s of ramp):
# 4 KiB random read at QD1 and QD32 (IOPS), 1 MiB sequential read and
# write at QD8 (MiB/s). Host CPU per I/O: the VMM's utime+stime
# (/proc/PID/stat, all threads, guest time included) between the guest's
# "BENCH: begin/end JOB" lines, divided by the I/Os the guest's
# /sys/block/vda/stat counted in between.
#
# The disk must take O_DIRECT: inside the sandbox (whose files live in
# tmpfs, which does not on its 6.1 kernel) it is a brd RAM disk of
# BENCH_DISK_MIB (default 256), filled first; on a KVM host it is a file
# of that size in BENCH_DISK_DIR (default /var/tmp).

FIO_JOBS="randread-qd1 randread-qd32 seqread-1m seqwrite-1m"

virtio_cmd() {    # WHO DISK: the command in CMD
	local who=$1 disk=$2 smp=${BENCH_FIO_SMP:-1}
	local rt=${BENCH_FIO_RUNTIME:-10}
	case $who in
	kvmrun) linux_cmd kvmrun "$smp" 512 "$LINUX/initrd-fio.gz" "fio:$rt" \
			-drive "file=$disk,if=virtio,format=raw,aio=io_uring,cache=none" ;;
	qemu) linux_cmd qemu "$smp" 512 "$LINUX/initrd-fio.gz" "fio:$rt" \
			-object iothread,id=io0 \
			-drive "file=$disk,if=none,id=d0,format=raw,aio=io_uring,cache=none" \
			-device virtio-blk-pci,drive=d0,iothread=io0 ;;
	esac
}

# virtio_disk: set DISK to an O_DIRECT-capable disk of BENCH_DISK_MIB, filled.
virtio_disk() {
	local mib=${BENCH_DISK_MIB:-256} ko
	if [ "${BENCH_MODE:-direct}" = sandbox ]; then
		DISK=/dev/ram0
		if [ ! -b $DISK ]; then
			ko=$(ls "$PAYLOAD"/mods/*brd.ko 2>/dev/null | head -n 1)
			[ -n "$ko" ] && insmod "$ko" rd_nr=1 rd_size=$((mib * 1024)) ||
				{ echo "SKIP virtio_blk: cannot load brd for a RAM disk"; return 1; }
		fi
	else
		DISK=${BENCH_DISK_DIR:-/var/tmp}/kvmrun-bench-disk.img
		rm -f "$DISK"
	fi
	# Written through, so that reads hit real pages (brd allocates on write).
	dd if=/dev/zero of="$DISK" bs=1M count="$mib" conv=fsync 2>/dev/null &&
		dd if="$DISK" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null ||
		{ echo "SKIP virtio_blk: $DISK cannot be written or read with O_DIRECT"; return 1; }
}

# fio_field LOG JOB N: field N of JOB's terse line.
fio_field() {
	sed -n "s/^BENCH: fio $2 //p" "$1" | tr -d '\r' | tail -n 1 | cut -d';' -f"$3"
}

# mark_field JOB begin|end: "CPU_SECONDS IOS" at that line (IOS: reads + writes).
mark_field() {
	printf '%s\n' "$BX_MARKS" | grep " line=BENCH: $2 $1 " | tail -n 1 |
		sed 's/^MARK t=[^ ]* cpu=\([^ ]*\) line=BENCH: [a-z]* [^ ]* /\1 /' |
		awk '{ print $1, $2 + $6 }'
}

bench_virtio_blk() {
	local rep who r job v b e rt=${BENCH_FIO_RUNTIME:-10}
	local -A val=() cpu=()
	[ -f "$LINUX/initrd-fio.gz" ] ||
		{ echo "SKIP virtio_blk: no fio initramfs in the payload"; return 0; }
	if ! kvmrun_has virtio-blk && [ "${BENCH_PEER_ONLY:-0}" != 1 ]; then
		echo "SKIP virtio_blk: this kvmrun has no virtio-blk yet (kvmrun -device help)"
		return 0
	fi
	virtio_disk || return 0
	echo "  disk: $DISK, ${BENCH_DISK_MIB:-256} MiB; guest -m 512, fio jobs of ${rt}s: $FIO_JOBS"
	virtio_cmd kvmrun DISK && echo "  kvmrun: ${CMD[*]}"
	virtio_cmd qemu DISK && echo "  qemu:   ${CMD[*]}"
	for rep in $(seq "$REPS"); do
		for who in kvmrun qemu; do
			if [ "$who" = kvmrun ] && ! kvmrun_has virtio-blk; then
				continue
			fi
			virtio_cmd "$who" "$DISK"
			bx "$WORK/fio.log" -t "$(run_timeout $((300 + 4 * (rt + 30))))" \
				-M '^BENCH: (begin|end) ' -e '^BENCH: done' -- "${CMD[@]}"
			r=$?
			if [ "$(bx_get e0)" = -1.000000 ]; then
				fail virtio_blk "$who" "rep $rep: the guest did not finish (status $r)" \
					"$WORK/fio.log"
				continue
			fi
			for job in $FIO_JOBS; do
				case $job in
				seqwrite*) v=$(fio_field "$WORK/fio.log" "$job" 48) ;;
				seqread*) v=$(fio_field "$WORK/fio.log" "$job" 7) ;;
				*) v=$(fio_field "$WORK/fio.log" "$job" 8) ;;
				esac
				b=$(mark_field "$job" begin)
				e=$(mark_field "$job" end)
				if [ -z "$v" ] || [ -z "$b" ] || [ -z "$e" ]; then
					fail virtio_blk "$who" "rep $rep: no result for $job" "$WORK/fio.log"
					continue
				fi
				# bandwidth KiB/s -> MiB/s
				case $job in seq*) v=$(calc "$v / 1024") ;; esac
				val[$who$job]+="$v "
				set -- $b $e
				[ "$4" -gt "$2" ] && cpu[$who$job]+="$(calc "($3 - $1) * 1e6 / ($4 - $2)") "
				vlog "rep $rep $who $job: $v, cpu $(calc "$3 - $1")s for $(($4 - $2)) I/Os"
			done
		done
	done
	for job in $FIO_JOBS; do
		case $job in
		seq*) report_all virtio_blk "$job MiB/s" MiB/s 1 val "$job" kvmrun qemu ;;
		*) report_all virtio_blk "$job IOPS" IOPS 0 val "$job" kvmrun qemu ;;
		esac
		case $job in
		randread-qd32) ratio virtio_blk_qd32_iops kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" \
				higher ">=" 1.2 ;;
		randread-qd1) ratio virtio_blk_qd1_iops kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" \
				higher ">=" 1.0 ;;
		*) ratio "virtio_blk_${job}" kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" higher - - ;;
		esac
		report_all virtio_blk "$job CPU per I/O" us 1 cpu "$job" kvmrun qemu
		ratio "virtio_blk_${job}_cpu_per_io" kvmrun qemu "${MED[kvmrun]}" "${MED[qemu]}" lower - -
	done
}
