#!/bin/sh
# Run the SMM guests on real KVM inside the nested-KVM sandbox: QEMU TCG
# (-cpu max) boots a Debian 6.1 kernel whose kvm_amd offers /dev/kvm with
# SMM, and runs run_harness.sh there (both backends, 1 and 2 vCPUs, and
# the corrupted-save-area guest). Needs qemu-system-x86_64, busybox-static,
# cpio, and the Debian kernel package (fetched with apt-get download).
#
#   tests/integration/smm/sandbox.sh [STATIC_BUILD_DIR] [bench]
#
# With "bench", it times the SMI round trip of each backend (bench.sh)
# instead of running the tests.
#
# Environment: SMM_SANDBOX_KVMRUN=1 also runs kvmrun.sh with the static
# kvmrun (once the q35 machine has SMM wired in), SANDBOX_DIR (cache,
# default /tmp/kvmrun-smm-sandbox),
# SANDBOX_KERNEL_PKG (default linux-image-6.1.0-56-amd64), SANDBOX_TIMEOUT.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=${1:-$top/build-static}
mode=${2:-test}
sb=${SANDBOX_DIR:-/tmp/kvmrun-smm-sandbox}
pkg=${SANDBOX_KERNEL_PKG:-linux-image-6.1.0-56-amd64}
timeout=${SANDBOX_TIMEOUT:-1500}

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" -Dstatic=true
fi
ninja -C "$build" smm/smm_harness smm/smm_test.bin smm/smm_rsmfail.bin smm/smm_bench.bin \
	>/dev/null

mkdir -p "$sb"
if [ ! -d "$sb/k/boot" ]; then
	(cd "$sb" && apt-get download "$pkg" >/dev/null && dpkg-deb -x "$pkg"_*.deb k)
fi
root=$sb/root
rm -rf "$root"
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/mods" "$root/smm"
cp "$(command -v busybox)" "$root/bin/busybox"
for m in irqbypass kvm ccp kvm-amd; do
	cp "$(find "$sb/k/lib/modules" -name "$m.ko" | head -1)" "$root/mods/"
done
cp "$build/smm/smm_harness" "$build/smm/smm_test.bin" "$build/smm/smm_rsmfail.bin" \
   "$build/smm/smm_bench.bin" "$here/run_harness.sh" "$here/bench.sh" "$root/smm/"
if [ "$mode" = bench ]; then
	payload="sh ./bench.sh ./smm_harness smm_bench.bin"
else
	payload="sh ./run_harness.sh ./smm_harness smm_test.bin smm_rsmfail.bin"
fi
if [ "${SMM_SANDBOX_KVMRUN:-0}" = 1 ]; then
	ninja -C "$build" kvmrun >/dev/null
	cp "$build/kvmrun" "$here/kvmrun.sh" "$root/smm/"
	payload="$payload && sh ./kvmrun.sh ./kvmrun smm_test.bin smm_rsmfail.bin"
fi
cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in irqbypass kvm ccp kvm-amd; do insmod /mods/\$m.ko; done
cd /smm
$payload
echo "SMM-SANDBOX-RESULT=\$?"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$sb/initrd.gz")

out=$sb/console.log
timeout "$timeout" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 -nographic \
	-no-reboot -kernel "$(ls "$sb"/k/boot/vmlinuz-* | head -1)" -initrd "$sb/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1" >"$out" 2>&1 || true
grep -aE "(ok|FAIL|skip|SKIP|bench):|^    " "$out" || true
result=$(sed -n 's/.*SMM-SANDBOX-RESULT=\([0-9]*\).*/\1/p' "$out" | tail -1)
if [ -z "$result" ]; then
	echo "sandbox did not finish; see $out"
	exit 1
fi
exit "$result"
