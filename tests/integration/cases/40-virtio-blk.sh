# virtio-blk under Linux (the Debian kernel with virtio_pci/virtio_blk):
#  1. pc, in-kernel irqchip, -drive if=virtio: mount the ext4 image, write a
#     file, sync, power off; the file is on the image afterwards (debugfs).
#  2. two vCPUs, -drive if=none + -device virtio-blk-pci with two queues and
#     a serial, cache=none (O_DIRECT, where the host file system has it),
#     discard=unmap, next to a virtio-rng-pci: parallel 1 MiB direct writes
#     and reads compared in the guest and against the image on the host, a
#     discard that reads back as zeros on both sides.
#  3. kernel-irqchip=split (MSI-X through irqfd on KVM's LAPICs): the same.
# (pc, not q35: Linux booted with -kernel on q35 cannot power off yet.)
. ./lib.sh
need_file "$LINUX_KERNEL"
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 is not in the sandbox"
command -v debugfs >/dev/null || skip "debugfs is not in the sandbox"

img=$TMP/vblk-ext4.img
rm -f "$img"
truncate -s 64M "$img"
# No metadata checksums: the guest's initramfs has no crc32c module.
mkfs.ext4 -q -F -O ^metadata_csum "$img" || die "mkfs.ext4 failed"
o=$TMP/vblk-1.log
run_kvmrun 600 "$o" -m 256 -kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" \
	-drive file="$img",format=raw,if=virtio -append "console=ttyS0 kvmtest=blk-write"
expect_status $? 0 "Linux with a virtio disk"
! grep -q 'Cannot load crc32c driver' "$o" ||
	die "ext4 in the guest needs crc32c: tests/integration/run must put crc32c_generic" \
		"into the guest initramfs"
expect_grep "$o" 'virtio_blk virtio[0-9]+: \[vda\] 131072 512-byte logical blocks' "disk found"
expect_grep "$o" 'KVMTEST: blk-write-ok' "file written in the guest"
debugfs -R 'cat /hello.txt' "$img" 2>/dev/null | grep -q 'written by the kvmrun guest' ||
	die "/hello.txt is not on the image after the guest powered off"

# 2 and 3: the stress run on a raw disk.
raw=$TMP/vblk-raw.img
zeros=$(head -c 4194304 /dev/zero | md5sum | cut -d' ' -f1)
stress() {
	name=$1
	shift
	rm -f "$raw"
	truncate -s 48M "$raw"
	o=$TMP/vblk-$name.log
	run_kvmrun 600 "$o" -m 256 -smp 2 -kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" "$@" \
		-append "console=ttyS0 kvmtest=blk-stress"
	expect_status $? 0 "blk-stress ($name)"
	expect_grep "$o" 'KVMTEST: vda sectors=98304 queues=2 serial=kvmrun-disk-1 ro=0' \
		"two queues and the serial ($name)"
	expect_grep "$o" 'KVMTEST: blk-stress-ok' "data compared in the guest ($name)"
	want=$(sed -n 's/.*KVMTEST: blk-stress md5=\([0-9a-f]*\).*/\1/p' "$o" | tr -d '\r')
	[ -n "$want" ] || die "no checksum from the guest ($name)"
	# Region 0 was discarded afterwards; regions 1..7 hold the pattern.
	for i in 1 4 7; do
		got=$(dd if="$raw" bs=1M skip=$((i * 4)) count=4 2>/dev/null | md5sum | cut -d' ' -f1)
		[ "$got" = "$want" ] || die "image region $i differs from what the guest wrote ($name)"
	done
	expect_grep "$o" "KVMTEST: blk-discard md5=$zeros" "discard reads back zeros ($name)"
	got=$(dd if="$raw" bs=1M count=4 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$got" = "$zeros" ] || die "discarded region is not zero on the image ($name)"
}

# cache=none needs O_DIRECT from the file system holding $TMP (tmpfs has it
# from Linux 6.6); where it is missing kvmrun says so and we use writeback.
cache=none
o=$TMP/vblk-probe.log
run_kvmrun 60 "$o" -m 64 -display none -no-reboot -kernel /nonexistent \
	-drive file="$img",format=raw,if=none,id=d0,cache=none -device virtio-blk-pci,drive=d0 \
	>/dev/null
if grep -q 'does not support O_DIRECT' "$o"; then
	echo "note: no O_DIRECT on $TMP: the stress runs use cache=writeback"
	cache=writeback
fi

stress mq -device virtio-rng-pci \
	-drive file="$raw",format=raw,if=none,id=d0,cache=$cache,aio=io_uring,discard=unmap \
	-device virtio-blk-pci,drive=d0,num-queues=2,serial=kvmrun-disk-1
stress split -machine pc,kernel-irqchip=split \
	-drive file="$raw",format=raw,if=none,id=d0,discard=unmap \
	-device virtio-blk-pci,drive=d0,num-queues=2,serial=kvmrun-disk-1,addr=0x5
