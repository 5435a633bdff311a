# The edk2 CI flow on kvmrun: stock OVMF (OVMF_CODE_4M.fd, no SMM) on q35
# with the userspace irqchip boots a virtio disk holding a FAT file system
# with startup.nsh, next to a virtio-rng-pci. The shell runs the script,
# which prints a marker and powers off with `reset -s`: status 0.
. ./lib.sh
need_file "$OVMF_DIR/OVMF_CODE_4M.fd"
need_file "$OVMF_DIR/OVMF_VARS_4M.fd"
command -v mkfs.fat >/dev/null || skip "mkfs.fat is not in the sandbox"

# mcopy needs iconv modules the sandbox lacks, so the file goes into the
# FAT16 file system by hand: a directory entry, its cluster chain, its data.
u8() { od -An -tu1 -j"$2" -N1 "$1" | tr -d ' \n'; }
u16() { echo $(($(u8 "$1" "$2") + 256 * $(u8 "$1" $(($2 + 1))))); }
le() {
	v=$1 n=$2 out=
	while [ "$n" -gt 0 ]; do
		out="$out\\x$(printf %02x $((v & 255)))"
		v=$((v >> 8)) n=$((n - 1))
	done
	printf "$out"
}
put() { dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }
fat16_add() {   # IMG 8.3-NAME (11 characters) FILE
	bps=$(u16 "$1" 11) spc=$(u8 "$1" 13) rsv=$(u16 "$1" 14) nfat=$(u8 "$1" 16)
	rootn=$(u16 "$1" 17) fatsz=$(u16 "$1" 22)
	size=$(wc -c <"$3")
	last=$((1 + (size + bps * spc - 1) / (bps * spc)))     # clusters 2..last
	f=0
	while [ $f -lt "$nfat" ]; do
		c=2
		while [ $c -le $last ]; do
			next=$((c + 1))
			[ $c = $last ] && next=65535
			le $next 2 | put "$1" $(((rsv + f * fatsz) * bps + 2 * c))
			c=$((c + 1))
		done
		f=$((f + 1))
	done
	root=$(((rsv + nfat * fatsz) * bps))
	{ printf '%s\x20' "$2"; head -c 14 /dev/zero; le 2 2; le "$size" 4; } | put "$1" $root
	put "$1" $((root + rootn * 32)) <"$3"
}

img=$TMP/vovmf-fat.img
rm -f "$img"
truncate -s 32M "$img"
mkfs.fat -F 16 "$img" >/dev/null || die "mkfs.fat failed"
printf 'echo KVMRUN-VIRTIO-OVMF-OK\r\nreset -s\r\n' >"$TMP/startup.nsh"
fat16_add "$img" "STARTUP NSH" "$TMP/startup.nsh"
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$TMP/vovmf-vars.fd"
o=$TMP/vovmf.log
run_kvmrun 900 "$o" -machine q35,kernel-irqchip=off -m 256 -nographic -net none \
	-drive if=pflash,format=raw,unit=0,readonly=on,file="$OVMF_DIR/OVMF_CODE_4M.fd" \
	-drive if=pflash,format=raw,unit=1,file="$TMP/vovmf-vars.fd" \
	-drive file="$img",format=raw,if=virtio -device virtio-rng-pci
expect_status $? 0 "OVMF runs startup.nsh from the virtio disk"
expect_grep "$o" 'KVMRUN-VIRTIO-OVMF-OK' "startup.nsh ran"
