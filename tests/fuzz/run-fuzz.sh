#!/bin/sh
# run-fuzz.sh - build the libFuzzer harnesses with clang and run each one.
#
# Usage: tests/fuzz/run-fuzz.sh [seconds-per-harness (default 60)] [harness...]
#
# Needs clang with libFuzzer: apt-get install -y clang libclang-rt-14-dev
# Builds in build-fuzz/ (override with MGW_FUZZ_BUILD). Each harness runs on a
# working copy of its seed corpus (build-fuzz/corpus-work/<harness>) so inputs
# the fuzzer discovers never land in the repository; crashes are written to
# build-fuzz/artifacts/ and make the script exit non-zero. To keep an
# interesting input as a seed, copy it into tests/fuzz/corpus/<harness>/.
# MGW_FUZZ_CMAKE_SRC may point at another CMake source tree that includes
# dataplane/proto and tests/fuzz (useful while the full tree does not configure).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
harnesses=${*:-"fuzz_itch fuzz_mold_pkt fuzz_feed_book fuzz_book fuzz_config fuzz_ctl_proto fuzz_match"}
build=${MGW_FUZZ_BUILD:-$root/build-fuzz}
src=${MGW_FUZZ_CMAKE_SRC:-$root}

if ! command -v clang >/dev/null 2>&1; then
	echo "run-fuzz.sh: clang not found; apt-get install -y clang libclang-rt-14-dev" >&2
	exit 2
fi

# Instrument mgw_proto as well as the harness: coverage feedback has to come
# from the code under test. The harness targets add -fsanitize=fuzzer to link.
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release \
	-DMGW_FUZZ=ON -DMGW_WERROR=ON \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $harnesses

status=0
mkdir -p "$build/artifacts"
for h in $harnesses; do
	bin=$(find "$build" -type f -name "$h" -perm -u+x | head -n 1)
	work="$build/corpus-work/$h"
	mkdir -p "$work"
	cp -n "$here/corpus/$h"/* "$work"/ 2>/dev/null || true
	echo "== $h for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$build/artifacts/$h-" "$work"; then
		echo "== $h FOUND A CRASH: see $build/artifacts/" >&2
		status=1
	fi
done
exit $status
