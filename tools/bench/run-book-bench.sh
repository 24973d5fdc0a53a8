#!/usr/bin/env bash
# run-book-bench.sh - the L3 book figure of docs/PERFORMANCE.md: ITCH decode +
# book apply on one core (mgw-bench-book) over a 20 M message stream from
# mgw-itchgen whose cancels, deletes and executions hit uniformly random live
# orders (the cache-hostile case).
#
# Builds Release into BUILD_DIR (default build-bench-book), generates the
# stream into /tmp/mgw-bench once, then runs the benchmark RUNS times
# (default 3; the machine may be shared, so look at the best and the spread).
#
# Usage: tools/bench/run-book-bench.sh [BUILD_DIR]
#   env: MESSAGES (20000000) SYMBOLS (5000) SEED (42) PREFETCH (16) RUNS (3)
#        CPU (core to pin to with taskset, default 1 if taskset exists)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-bench-book}
N=${MESSAGES:-20000000}
S=${SYMBOLS:-5000}
SEED=${SEED:-42}
K=${PREFETCH:-16}
RUNS=${RUNS:-3}
dir=${BENCH_DIR:-/tmp/mgw-bench}
bin=$dir/book-$N-$S-$SEED-uniform.itch

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target mgw-bench-book mgw-itchgen >/dev/null

mkdir -p "$dir"
if [ ! -s "$bin" ]; then
	echo "generating $N messages over $S symbols, uniform cancel targets -> $bin"
	"$build/tools/itchgen/mgw-itchgen" --messages "$N" --symbols "$S" --seed "$SEED" \
		--cancel-target uniform --binfile "$bin.tmp"
	mv "$bin.tmp" "$bin"
fi

pin=()
if command -v taskset >/dev/null; then
	pin=(taskset -c "${CPU:-1}")
fi
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cpus"
echo "command: ${pin[*]} $build/tools/bench/mgw-bench-book $bin --prefetch $K"
for i in $(seq "$RUNS"); do
	echo "== run $i"
	"${pin[@]}" "$build/tools/bench/mgw-bench-book" "$bin" --prefetch "$K"
done
echo "== dp_book_apply_burst, bursts of 256 (what the book lcore does)"
"${pin[@]}" "$build/tools/bench/mgw-bench-book" "$bin" --burst 256 | grep -E 'ns/message|messages/s|prefetch'
echo "== decode only (no book), for the split"
"${pin[@]}" "$build/tools/bench/mgw-bench-book" "$bin" --decode-only | grep -E 'ns/message|messages/s'
