# Command-line errors of the virtio devices end kvmrun with status 1 and one
# line naming the culprit, before any guest code runs.
. ./lib.sh
img=$TMP/vcli.img
rm -f "$img"
truncate -s 1M "$img"
mkdir -p "$TMP/vcli.dir"

# expect_error PATTERN ARGS...: kvmrun fails with status 1 and says PATTERN.
expect_error() {
	pat=$1
	shift
	o=$TMP/vcli.log
	run_kvmrun 60 "$o" -m 64 -display none -serial none "$@"
	expect_status $? 1 "kvmrun $*"
	expect_grep "$o" "$pat" "kvmrun $*"
}

expect_error "'$TMP/missing.img': no such file" -drive file="$TMP/missing.img",format=raw,if=virtio
expect_error "not a regular file or a block device" -drive file="$TMP/vcli.dir",if=virtio
expect_error "virtio-blk-pci: unknown property 'bogus'" \
	-drive file="$img",if=none,id=d0 -device virtio-blk-pci,drive=d0,bogus=1
expect_error "virtio-blk-pci: no -drive with id 'nope'" -device virtio-blk-pci,drive=nope
expect_error "virtio-blk-pci: needs drive=ID" -device virtio-blk-pci
expect_error "drive 'd0' is already in use" -drive file="$img",if=none,id=d0 \
	-device virtio-blk-pci,drive=d0 -device virtio-blk-pci,drive=d0
expect_error "drive 'd0' is not if=none" -drive file="$img",if=virtio,id=d0 \
	-device virtio-blk-pci,drive=d0
expect_error "invalid num-queues" -drive file="$img",if=none,id=d0 \
	-device virtio-blk-pci,drive=d0,num-queues=999
expect_error "virtconsole: needs a -device virtio-serial-pci" -chardev null,id=c0 \
	-device virtconsole,chardev=c0
expect_error "no -chardev with id 'c9'" -device virtio-console-pci,chardev=c9
expect_error "virtio-rng-pci: PCI slot 1f is not available" -machine q35 \
	-device virtio-rng-pci,addr=1f
expect_error "virtio-rng-pci: invalid addr 'zz'" -device virtio-rng-pci,addr=zz
expect_error "no legacy virtio" -device virtio-rng-pci,disable-legacy=off
