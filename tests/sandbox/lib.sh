# Shared helpers for the nested-KVM sandbox (sourced by tests/sandbox/run
# and by the integration tests that build guest initramfs images).
#
# Everything downloaded is cached in $KVMRUN_SANDBOX_CACHE (default
# ~/.cache/kvmrun-sandbox) so repeated CI runs on one machine stay offline.

SANDBOX_CACHE=${KVMRUN_SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmrun-sandbox}

sb_die() {
	echo "sandbox: $*" >&2
	exit 125
}

sb_log() {
	[ -n "${SB_QUIET:-}" ] || echo "sandbox: $*" >&2
}

# sb_apt SUITE ARGS...: apt-get with a private source list for SUITE
# ("bookworm" or "bookworm-backports"), leaving the host's apt config alone.
sb_apt() {
	local tool=apt-get
	if [ "$1" = --cache ]; then
		tool=apt-cache
		shift
	fi
	local suite=$1
	shift
	local d="$SANDBOX_CACHE/apt-$suite"
	mkdir -p "$d/lists/partial"
	if [ ! -f "$d/sources.list" ]; then
		echo "deb http://deb.debian.org/debian $suite main" >"$d/sources.list"
	fi
	$tool -q -o Dir::Etc::SourceList="$d/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$d/lists" \
		-o Debug::NoLocking=1 "$@"
}

# sb_fetch_kernel SERIES -> prints the directory of the unpacked kernel
# package (with boot/vmlinuz-* and lib/modules/*). SERIES: 6.1 or 6.12.
sb_fetch_kernel() {
	local series=$1 suite
	case "$series" in
	6.1) suite=bookworm ;;
	6.12) suite=bookworm-backports ;;
	*) sb_die "unknown kernel series '$series' (use 6.1 or 6.12)" ;;
	esac
	local kd="$SANDBOX_CACHE/kernel-$series"
	if [ -f "$kd/.complete" ]; then
		echo "$kd"
		return 0
	fi
	command -v apt-get >/dev/null || sb_die "apt-get not found: the sandbox needs a Debian host"
	command -v dpkg-deb >/dev/null || sb_die "dpkg-deb not found"
	rm -rf "$kd" && mkdir -p "$kd/deb"
	sb_log "fetching Debian kernel $series ($suite)"
	sb_apt "$suite" update >/dev/null 2>&1 || sb_die "apt-get update for $suite failed"
	local meta dep
	meta=$(sb_apt --cache "$suite" show linux-image-amd64 2>/dev/null |
		awk '/^Depends:/ { print $2; exit }')
	[ -n "$meta" ] || sb_die "cannot resolve linux-image-amd64 in $suite"
	dep=$meta
	(cd "$kd/deb" && sb_apt "$suite" download "$dep" >/dev/null 2>&1) ||
		sb_die "cannot download $dep"
	dpkg-deb -x "$kd"/deb/*.deb "$kd/root" || sb_die "cannot unpack $dep"
	rm -rf "$kd/deb"
	ls "$kd"/root/boot/vmlinuz-* >/dev/null 2>&1 || sb_die "no vmlinuz in $dep"
	touch "$kd/.complete"
	echo "$kd"
}

sb_kernel_image() { ls "$1"/root/boot/vmlinuz-* | head -n 1; }
sb_kernel_moddir() { ls -d "$1"/root/lib/modules/* | head -n 1; }

# sb_module_path MODDIR NAME -> path of NAME.ko[.xz|.zst] (dashes and
# underscores are interchangeable in module names).
sb_module_path() {
	local moddir=$1 name=$2 alt
	alt=$(echo "$name" | tr '_-' '-_')
	find "$moddir/kernel" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \
		-o -name "$alt.ko" -o -name "$alt.ko.xz" -o -name "$alt.ko.zst" \) -print -quit
}

# sb_module_closure MODDIR NAMES... -> module paths in load order (deps first).
sb_module_closure() {
	local moddir=$1
	shift
	declare -A seen=()
	local order=()
	visit() {
		local n=$1 p deps d
		n=$(echo "$n" | tr '-' '_')
		[ -n "${seen[$n]:-}" ] && return 0
		seen[$n]=1
		p=$(sb_module_path "$moddir" "$n")
		if [ -z "$p" ]; then
			# Built into the kernel (or absent): nothing to load.
			grep -q "/$(echo "$n" | tr '_' '-')\.ko\|/$n\.ko" "$moddir/modules.builtin" 2>/dev/null ||
				sb_log "module $n not found (assuming built-in)"
			return 0
		fi
		deps=$(modinfo -F depends "$p" 2>/dev/null | tr ',' ' ')
		for d in $deps; do visit "$d"; done
		order+=("$p")
	}
	local m
	for m in "$@"; do visit "$m"; done
	printf '%s\n' "${order[@]}"
}

# sb_copy_modules MODDIR DESTDIR NAMES... : copies the closure of NAMES into
# DESTDIR (uncompressed, numbered in load order).
sb_copy_modules() {
	local moddir=$1 dest=$2 i=0 p base
	shift 2
	mkdir -p "$dest"
	while read -r p; do
		[ -n "$p" ] || continue
		base=$(basename "$p")
		base=${base%.xz}
		base=${base%.zst}
		i=$((i + 1))
		case "$p" in
		*.xz) xz -dc "$p" >"$dest/$(printf %02d $i)-$base" ;;
		*.zst) zstd -qdc "$p" >"$dest/$(printf %02d $i)-$base" ;;
		*) cp "$p" "$dest/$(printf %02d $i)-$base" ;;
		esac
	done < <(sb_module_closure "$moddir" "$@")
}

# sb_busybox -> path of a statically linked busybox.
sb_busybox() {
	local b
	for b in /bin/busybox /usr/bin/busybox; do
		if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then
			echo "$b"
			return 0
		fi
	done
	if [ -x /bin/busybox ]; then
		echo /bin/busybox
		return 0
	fi
	sb_die "busybox not found (apt-get install busybox-static)"
}

# sb_mkcpio ROOTDIR OUT: pack ROOTDIR as an uncompressed newc cpio (the
# TCG guest unpacks it far faster than a gzip'ed one).
sb_mkcpio() {
	(cd "$1" && find . -print0 | cpio --null -o -H newc --quiet) >"$2"
}

# sb_mkinitramfs ROOTDIR OUT: pack ROOTDIR as a gzip'ed newc cpio.
sb_mkinitramfs() {
	(cd "$1" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$2"
}

# sb_copy_host_binary ROOTDIR PATH: copy a dynamically linked host program
# and the shared libraries it needs (per ldd) into ROOTDIR at the same
# paths, so it runs inside the sandbox. Also copies the dynamic loader.
sb_copy_host_binary() {
	local root=$1 bin=$2 lib
	[ -x "$bin" ] || sb_die "host program $bin not found"
	mkdir -p "$root$(dirname "$bin")"
	cp -L "$bin" "$root$bin"
	ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
		[ -f "$lib" ] || continue
		mkdir -p "$root$(dirname "$lib")"
		cp -Ln "$lib" "$root$lib"
	done
}
