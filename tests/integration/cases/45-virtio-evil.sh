# A hostile virtio-blk driver (firmware/virtio_evil.S) programs the device
# by hand and posts malformed chains: loops, buffers past RAM, a 4 GiB
# buffer, a short header, bad types and sectors, wrong directions, nested
# indirect tables, missing status bytes, zero-length buffers, a runaway
# available index, a bad head. kvmrun must fail each request or set
# DEVICE_NEEDS_RESET, survive, and serve a good read afterwards: the guest
# then exits through isa-debug-exit with 0 (status 1). The image is never
# written. Run on pc (in-kernel irqchip) and q35 (userspace irqchip).
. ./lib.sh
need_file "$FW/virtio_evil.bin"

img=$TMP/vevil.img
rm -f "$img"
printf 'KVMRUN-EVIL-DISK' >"$img"
truncate -s 1M "$img"
before=$(md5sum <"$img" | cut -d' ' -f1)
for m in pc q35,kernel-irqchip=off; do
	o=$TMP/vevil-${m%%,*}.log
	s=$TMP/vevil-${m%%,*}-serial.log
	run_kvmrun 300 "$o" -machine "$m" -bios "$FW/virtio_evil.bin" -m 128 -display none \
		-serial "file:$s" -device isa-debug-exit,iobase=0xf4,iosize=0x4 \
		-drive file="$img",format=raw,if=virtio
	rc=$?
	cat "$s"
	expect_status $rc 1 "virtio_evil on $m"
	expect_grep "$s" '^virtio_evil: all checks passed' "every malformed request refused ($m)"
	expect_grep "$o" 'guest error: descriptor chain loops' "the guest error is reported ($m)"
done
after=$(md5sum <"$img" | cut -d' ' -f1)
[ "$before" = "$after" ] || die "the image changed"
