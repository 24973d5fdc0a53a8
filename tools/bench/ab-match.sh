#!/usr/bin/env bash
# ab-match.sh - compare two builds of mgw-bench-match chunk by chunk.
#
#   tools/bench/ab-match.sh [-r ROUNDS] [-c CPU] [-a "A ARGS"] [-b "B ARGS"] A B [bench args...]
#
# A and B are two mgw-bench-match binaries (say, one built from main and
# one from a change; their stream generators must be the same). Each round
# starts both on the same core; they take turns through two FIFOs, chunk i
# of one right after chunk i of the other (mgw-bench-match --turns), so a
# slow stretch of the host hits both alike. Rounds alternate which one
# goes first. Prints, over all chunks of all rounds: each build's best and
# median chunk, the median and geometric mean of B/A per chunk, and in how
# many chunks B was faster. B/A below 1 means B is faster.
#
# -a / -b: arguments for A only / B only (split on spaces), after the
# common ones: one binary against itself with a setting changed on one
# side, e.g. -b "--plain-mem" or -b "--no-risk" (A and B may then be the
# same file; B's stream must still be A's for the ratio to mean much).
set -euo pipefail
rounds=3
cpu=1
a_args=""
b_args=""
usage="usage: $0 [-r ROUNDS] [-c CPU] [-a \"A ARGS\"] [-b \"B ARGS\"] A B [bench args...]"
while getopts "r:c:a:b:" o; do
	case $o in
	r) rounds=$OPTARG ;;
	c) cpu=$OPTARG ;;
	a) a_args=$OPTARG ;;
	b) b_args=$OPTARG ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
a=$1 b=$2
shift 2
dir=$(mktemp -d /tmp/ab-match.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
mkfifo "$dir/t1" "$dir/t2"

ready() { grep -q "^turns: ready" "$1" 2>/dev/null; }

for r in $(seq "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then
		first=$a second=$b fa=A fb=B x1=$a_args x2=$b_args
	else
		first=$b second=$a fa=B fb=A x1=$b_args x2=$a_args
	fi
	# shellcheck disable=SC2086 # -a/-b hold several arguments
	taskset -c "$cpu" "$first" --turns "$dir/t1" "$dir/t2" "$@" $x1 >"$dir/$fa.$r" 2>&1 &
	p1=$!
	# shellcheck disable=SC2086
	taskset -c "$cpu" "$second" --turns "$dir/t2" "$dir/t1" "$@" $x2 >"$dir/$fb.$r" 2>&1 &
	p2=$!
	until ready "$dir/$fa.$r" && ready "$dir/$fb.$r"; do
		kill -0 $p1 2>/dev/null && kill -0 $p2 2>/dev/null ||
			{ cat "$dir/$fa.$r" "$dir/$fb.$r" >&2; exit 1; }
		sleep 0.2
	done
	printf t >"$dir/t1"
	wait $p1 $p2
	echo "round $r ($fa first): $(grep '^pass 1' "$dir/A.$r" | sed -E 's/.* ([0-9.]+) ns\/msg.*/A \1/')" \
		"$(grep '^pass 1' "$dir/B.$r" | sed -E 's/.* ([0-9.]+) ns\/msg.*/B \1 ns\/msg/')"
done

for r in $(seq "$rounds"); do
	echo "$(grep '^chunks' "$dir/A.$r" | cut -d: -f2)"
	echo "$(grep '^chunks' "$dir/B.$r" | cut -d: -f2)"
done | python3 -c '
import math, statistics as st, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
A = [x for r in rows[0::2] for x in r]
B = [x for r in rows[1::2] for x in r]
q = [b / a for a, b in zip(A, B)]
print("chunks: %d" % len(q))
print("A best %.1f median %.1f ns/msg" % (min(A), st.median(A)))
print("B best %.1f median %.1f ns/msg" % (min(B), st.median(B)))
gm = math.exp(st.mean(math.log(x) for x in q))
print("B/A per chunk: median %.4f, geometric mean %.4f; B faster in %d of %d chunks"
      % (st.median(q), gm, sum(1 for x in q if x < 1), len(q)))
'
