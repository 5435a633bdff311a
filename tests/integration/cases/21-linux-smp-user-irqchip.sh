# The same with kvmrun's userspace LAPIC/IOAPIC/PIC/PIT (-machine
# kernel-irqchip=off): SMP bring-up goes through INIT/SIPI in kvmrun.
. ./lib.sh
need_file "$LINUX_KERNEL"
o=$TMP/linux-u.log
run_kvmrun 900 "$o" -m 512 -smp 2 -machine kernel-irqchip=off -kernel "$LINUX_KERNEL" \
	-initrd "$LINUX_INITRD" -append "console=ttyS0 kvmtest=smp"
expect_status $? 0 "Linux boot (userspace irqchip)"
expect_grep "$o" 'KVMTEST: cpus=2 online=0-1' "both CPUs online"
expect_grep "$o" 'KVMTEST: smp-ok' "work ran on both CPUs"
