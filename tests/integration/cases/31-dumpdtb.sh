# -machine dumpdtb=FILE writes the machine description; dtc decompiles it
# and it lists the RAM, the CPUs and the devices.
. ./lib.sh
command -v dtc >/dev/null || skip "dtc is not available"
dtb=$TMP/m.dtb
o=$TMP/dtb.log
run_kvmrun 60 "$o" -machine q35,dumpdtb="$dtb" -m 3G -smp 3
expect_status $? 0 "kvmrun with dumpdtb"
dtc -I dtb -O dts -o "$TMP/m.dts" "$dtb" || die "dtc cannot decompile the dump"
cat "$TMP/m.dts"
grep -q 'memory@0 {' "$TMP/m.dts" || die "no low RAM node"
grep -q 'memory@100000000 {' "$TMP/m.dts" || die "no RAM above 4 GiB for -m 3G"
[ "$(grep -c 'device_type = "cpu"' "$TMP/m.dts")" = 3 ] || die "expected 3 CPU nodes"
grep -q 'serial@i3f8' "$TMP/m.dts" || die "no COM1 node"
grep -q 'fw_cfg@i510' "$TMP/m.dts" || die "no fw_cfg node"
grep -q 'compatible = "kvmrun,q35"' "$TMP/m.dts" || die "wrong model"
