# A guest reboot ends kvmrun with status 0 under -no-reboot (as QEMU does).
. ./lib.sh
need_file "$LINUX_KERNEL"
o=$TMP/linux-r.log
run_kvmrun 600 "$o" -m 256 -no-reboot -kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" \
	-append "console=ttyS0 kvmtest=reboot"
expect_status $? 0 "Linux reboot with -no-reboot"
expect_grep "$o" 'KVMTEST: rebooting' "guest asked for a reboot"
