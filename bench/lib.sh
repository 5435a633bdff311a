# Helpers for the benchmark cases (sourced by bench/inner.sh; bash, also
# inside the nested-KVM sandbox).
#
# Every case measures kvmrun and its peer in the same run, alternating
# between them repetition by repetition (so that slow drift of a noisy
# host hits both alike), and reports medians with their spread. Lines
# meant for machines start with a capital keyword:
#	RESULT BENCH METRIC WHO median=V min=V max=V n=N unit=U  (METRIC: no blanks)
#	RATIO BENCH A/B = R (lower|higher is better; goal OP G) [met|missed]
#	FAIL BENCH WHO: reason
# Everything else is for people.

# bx LOG [benchexec options] -- COMMAND...: run COMMAND under benchexec
# with its output in LOG; the BENCHEXEC summary line ends up in BX (and
# MARK lines in BX_MARKS). Returns COMMAND's status.
bx() {
	local log=$1 rc=0 out
	shift
	out=$("$BENCHEXEC" -o "$log" "$@") || rc=$?
	BX=$(printf '%s\n' "$out" | grep '^BENCHEXEC ' | tail -n 1)
	BX_MARKS=$(printf '%s\n' "$out" | grep '^MARK ')
	BX_MAPS=$(printf '%s\n' "$out" | grep '^MAP ')
	return $rc
}

# bx_get KEY: a field of the last BX line ("" if absent).
bx_get() {
	printf '%s\n' "$BX" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# calc EXPR: floating-point arithmetic (awk), printed with %.6g.
calc() {
	# In parentheses: a bare ">" in awk's printf would be a redirection.
	awk "BEGIN { printf \"%.6g\n\", ($*) }"
}

# fmt VALUE DIGITS: fixed-point formatting.
fmt() {
	awk -v v="$1" -v d="$2" 'BEGIN { printf "%." d "f\n", v }'
}

# summary VALUES...: "median min max n" (median of an even count: mean of
# the middle two); "" when there are no values.
summary() {
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.6g %.6g %.6g %d\n", m, v[1], v[NR], NR
		}'
}

# report BENCH METRIC WHO UNIT DIGITS VALUES...: print one measurement
# (human line + RESULT line); its median is left in MEDIAN ("" if no
# value was measured).
report() {
	local bench=$1 metric=$2 who=$3 unit=$4 digits=$5 s med min max n spread
	shift 5
	MEDIAN=
	s=$(summary "$@")
	if [ -z "$s" ]; then
		printf '  %-28s %-14s no successful run\n' "$metric" "$who"
		return 0
	fi
	set -- $s
	med=$1 min=$2 max=$3 n=$4
	MEDIAN=$med
	spread=$(awk -v a="$min" -v b="$max" -v m="$med" \
		'BEGIN { if (m != 0) printf "%.0f", 100 * (b - a) / (m < 0 ? -m : m); else print 0 }')
	printf '  %-28s %-14s median %s %s  (min %s, max %s, spread %s%%, n=%s)\n' "$metric" \
		"$who" "$(fmt "$med" "$digits")" "$unit" "$(fmt "$min" "$digits")" \
		"$(fmt "$max" "$digits")" "$spread" "$n"
	echo "RESULT $bench $(printf '%s' "$metric" | tr -c 'A-Za-z0-9.+/()-' '_') $who" \
		"median=$med min=$min max=$max n=$n unit=$unit"
}

# report_all BENCH METRIC UNIT DIGITS ARRAY SUFFIX WHO...: report() for
# every WHO, its values being ${ARRAY[WHO SUFFIX]} (an associative array of
# the caller's holding space-separated values); the medians end up in
# MED[WHO].
report_all() {
	local bench=$1 metric=$2 unit=$3 digits=$4 suffix=$6 who
	local -n _ra_values=$5
	shift 6
	declare -gA MED=()
	for who in "$@"; do
		report "$bench" "$metric" "$who" "$unit" "$digits" ${_ra_values[$who$suffix]:-}
		MED[$who]=$MEDIAN
	done
}

# ratio BENCH A B VA VB lower|higher OP GOAL: print the RATIO line for
# VA/VB (medians of A and B); OP is <= or >= (or "-" for no goal).
ratio() {
	local bench=$1 a=$2 b=$3 va=$4 vb=$5 better=$6 op=$7 goal=$8 r verdict goaltxt
	if [ -z "$va" ] || [ -z "$vb" ] || [ "$(calc "$vb == 0")" = 1 ]; then
		echo "RATIO $bench $a/$b = n/a (a side has no measurement)"
		return 0
	fi
	r=$(fmt "$(calc "$va / $vb")" 2)
	if [ "$op" = - ]; then
		echo "RATIO $bench $a/$b = $r ($better is better)"
		return 0
	fi
	goaltxt="goal $op $goal"
	if [ "$op" = "<=" ]; then
		verdict=$(calc "$r <= $goal")
	else
		verdict=$(calc "$r >= $goal")
	fi
	[ "$verdict" = 1 ] && verdict=met || verdict=missed
	echo "RATIO $bench $a/$b = $r ($better is better; $goaltxt) [$verdict]"
}

# fail BENCH WHO REASON LOG: say that one run failed, with its log's tail.
fail() {
	echo "FAIL $1 $2: $3"
	if [ -n "${4:-}" ] && [ -f "$4" ]; then
		tail -n "${BENCH_FAIL_LINES:-15}" "$4" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' |
			cut -c1-160 | sed 's/^/    | /'
	fi
}

# fail_or_skip BENCH WHO REASON LOG: like fail(), but for a run of a
# configuration that is known not to be reliable yet (kvmrun's userspace
# SMM backend on OVMF: WHO kvmrun-user or user) the line is a SKIP, which
# neither fails bench/run nor hides the reason; BENCH_STRICT=1 makes it a
# FAIL like any other. Returns 1 when it was a SKIP (the caller then stops
# running that configuration), else 0.
fail_or_skip() {
	case $2 in
	kvmrun-user|user)
		if [ "${BENCH_STRICT:-0}" != 1 ]; then
			echo "SKIP $1 $2: $3; the userspace SMM backend is not reliable here yet" \
				"(its later runs skipped; BENCH_STRICT=1 makes this a FAIL)"
			[ -n "${4:-}" ] && [ -f "$4" ] && tail -n "${BENCH_FAIL_LINES:-15}" "$4" |
				tr -d '\r' | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | cut -c1-160 | sed 's/^/    | /'
			return 1
		fi
		;;
	esac
	fail "$@"
	return 0
}

# vlog TEXT: a detail shown with -v.
vlog() {
	[ "${BENCH_VERBOSE:-0}" = 1 ] && echo "    $*"
	return 0
}

# kvmrun_has WORD: does kvmrun's -device help mention WORD?
kvmrun_has() {
	"$KVMRUN" -device help 2>&1 | grep -q -- "$1"
}

# run_timeout SECONDS...: a per-run time limit scaled by BENCH_TIME_SCALE
# (the sandbox is slower than a KVM host).
run_timeout() {
	calc "int($1 * ${BENCH_TIME_SCALE:-1})"
}
