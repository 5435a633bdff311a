# Missing or wrong-size firmware files give one clear line and status 1,
# and the vars file is left untouched.
. ./lib.sh
o=$TMP/badfw.log
head -c 540672 /dev/zero >"$TMP/vars-ok.fd"
sum_before=$(md5sum "$TMP/vars-ok.fd")
timeout 30 "$KVMRUN" -machine q35 -drive if=pflash,format=raw,unit=0,file=/nonexistent/OVMF_CODE_4M.fd,readonly=on \
	-drive if=pflash,format=raw,unit=1,file="$TMP/vars-ok.fd" </dev/null >"$o" 2>&1
expect_status $? 1 "missing CODE"
expect_grep "$o" "cannot open '/nonexistent/OVMF_CODE_4M.fd'" "missing CODE message"
head -c 12345 /dev/zero >"$TMP/code-odd.fd"
timeout 30 "$KVMRUN" -machine q35 -drive if=pflash,format=raw,unit=0,file="$TMP/code-odd.fd",readonly=on \
	-drive if=pflash,format=raw,unit=1,file="$TMP/vars-ok.fd" </dev/null >"$o" 2>&1
expect_status $? 1 "odd-size CODE"
expect_grep "$o" "code-odd.fd.*12345 bytes" "odd-size message"
head -c $((20 * 1024 * 1024)) /dev/zero >"$TMP/huge.fd"
timeout 30 "$KVMRUN" -machine q35 -drive if=pflash,format=raw,unit=0,file="$TMP/huge.fd",readonly=on \
	</dev/null >"$o" 2>&1
expect_status $? 1 "oversized CODE"
expect_grep "$o" "huge.fd" "oversized message names the file"
[ "$(md5sum "$TMP/vars-ok.fd")" = "$sum_before" ] || die "the vars file changed"
