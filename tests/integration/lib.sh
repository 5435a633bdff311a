# Helpers for integration cases (sourced; busybox sh compatible).

die() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# run_kvmrun TIMEOUT OUTFILE ARGS... : run kvmrun, capture stdout+stderr,
# return its status (124 on timeout).
run_kvmrun() {
	_t=$1
	_out=$2
	shift 2
	timeout -s KILL "$_t" "$KVMRUN" "$@" </dev/null >"$_out" 2>&1
	_rc=$?
	cat "$_out"
	return $_rc
}

# expect_status GOT WANT WHAT
expect_status() {
	[ "$1" = "$2" ] || die "$3: exit status $1, expected $2"
}

# expect_grep FILE REGEX WHAT
expect_grep() {
	grep -Eq "$2" "$1" || die "$3: output lacks /$2/"
}

expect_nogrep() {
	! grep -Eq "$2" "$1" || die "$3: output unexpectedly has /$2/"
}

need_file() {
	[ -e "$1" ] || skip "$1 is not in the payload"
}
