# `kvmrun` with no arguments boots the built-in demo guest, which prints a
# banner on COM1 and powers off: status 0. Also on 4 vCPUs, with each
# irqchip and on q35.
. ./lib.sh
o=$TMP/default.log
run_kvmrun 60 "$o"
expect_status $? 0 "kvmrun (no arguments)"
expect_grep "$o" '^kvmrun: default guest booted in 64-bit mode on 1 CPU' "banner"
run_kvmrun 60 "$o" -smp 4 -machine kernel-irqchip=off
expect_status $? 0 "kvmrun -smp 4 -machine kernel-irqchip=off"
expect_grep "$o" 'booted in 64-bit mode on 4 CPUs' "banner with 4 CPUs"
run_kvmrun 60 "$o" -machine kernel-irqchip=on -smp 2
expect_status $? 0 "kvmrun -machine kernel-irqchip=on -smp 2"
expect_grep "$o" 'on 2 CPUs' "in-kernel irqchip banner"
run_kvmrun 60 "$o" -machine q35 -smp 2
expect_status $? 0 "kvmrun -machine q35 -smp 2"
expect_grep "$o" 'on 2 CPUs' "q35 banner"
