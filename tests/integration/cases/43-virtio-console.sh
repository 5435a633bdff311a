# virtio-console as the Linux console: console=hvc0 with QEMU's spelling
# (-device virtio-serial-pci -device virtconsole,chardev=ID) on stdio. The
# guest's KVMTEST lines come through hvc0, and a line typed on kvmrun's
# stdin reaches the guest through the receive queue.
. ./lib.sh
need_file "$LINUX_KERNEL"
command -v chat >/dev/null || skip "tests/tools/chat is not in the payload"

o=$TMP/vcon.log
cat >"$TMP/vcon.chat" <<'CHAT'
expect KVMTEST: type a line
send hello-virtio-console\r
expect KVMTEST: got 'hello-virtio-console'
CHAT
chat -t 600 -l "$o" "$TMP/vcon.chat" -- "$KVMRUN" -m 256 -serial "file:$TMP/vcon-serial.log" \
	-kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" -append "console=hvc0 kvmtest=hvc" \
	-chardev stdio,id=con0 -device virtio-serial-pci,id=vser0 \
	-device virtconsole,chardev=con0,id=console0 >/dev/null
rc=$?
cat "$o"
expect_status $rc 0 "Linux on hvc0"
expect_grep "$o" 'KVMTEST: hvc0 consoles: hvc0' "hvc0 is the kernel console"
expect_grep "$o" "KVMTEST: got 'hello-virtio-console'" "input reached the guest"
expect_grep "$o" 'KVMTEST: done' "output after the input"
# Kernel messages from after the module bound the device go to hvc0 too.
expect_grep "$o" 'reboot: Power down|Preparing to enter system sleep state S5' \
	"kernel messages on hvc0"
expect_nogrep "$TMP/vcon-serial.log" 'KVMTEST' "nothing on the serial port"
