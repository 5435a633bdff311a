# A read-only virtio disk refuses writes: the guest's write fails and the
# image is unchanged byte for byte. Run with the userspace irqchip (MSI-X
# delivered by kvmrun's own LAPICs) and without io_uring (the event loop's
# poll(2) fallback with synchronous I/O, which kvmrun announces once).
. ./lib.sh
need_file "$LINUX_KERNEL"

img=$TMP/vblk-ro.img
rm -f "$img"
head -c 8388608 /dev/urandom >"$img"
before=$(md5sum <"$img" | cut -d' ' -f1)
o=$TMP/vblk-ro.log
run_kvmrun 600 "$o" -m 256 -machine pc,kernel-irqchip=off -no-io-uring \
	-kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" \
	-drive file="$img",format=raw,if=virtio,readonly=on -append "console=ttyS0 kvmtest=blk-ro"
expect_status $? 0 "Linux with a read-only virtio disk"
expect_grep "$o" 'io_uring is unavailable .*synchronously' "the poll fallback is announced"
expect_grep "$o" 'KVMTEST: blk-ro-refused' "the guest could not write"
expect_nogrep "$o" 'KVMTEST: blk-ro-WROTE' "the guest could not write"
after=$(md5sum <"$img" | cut -d' ' -f1)
[ "$before" = "$after" ] || die "the read-only image changed"
