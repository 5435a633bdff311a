# The Debian kernel boots under kvmrun (in-kernel irqchip), brings up 2 CPUs,
# reaches userspace, runs work on both and powers off: status 0.
. ./lib.sh
need_file "$LINUX_KERNEL"
o=$TMP/linux-k.log
run_kvmrun 600 "$o" -m 512 -smp 2 -machine kernel-irqchip=on -kernel "$LINUX_KERNEL" \
	-initrd "$LINUX_INITRD" \
	-append "console=ttyS0 kvmtest=smp"
expect_status $? 0 "Linux boot (kernel irqchip)"
expect_grep "$o" 'KVMTEST: cpus=2 online=0-1' "both CPUs online"
expect_grep "$o" 'KVMTEST: smp-ok' "work ran on both CPUs"
expect_grep "$o" 'ACPI: PM: Preparing to enter system sleep state S5' "ACPI power-off"
