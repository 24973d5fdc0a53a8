#!/usr/bin/env bash
# demo.sh - the appliance's main job on its bundled default data.
#
# mgw-dataplane replays the bundled ITCH 5.0 capture (build/data/demo.pcap,
# made at build time by mgw-itchgen with a fixed seed) through a DPDK
# net_pcap port on a pinned lcore and builds the order-by-order books of
# every symbol; mgw-control attaches; mgwctl then shows the status, the feed
# counters, the busiest symbols and a few levels of depth for the top ones;
# both processes are stopped cleanly.
#
# Usage: tools/demo.sh BUILD_DIR [CONFIG]   (run as root: DPDK needs it)
set -euo pipefail

build=$(cd "${1:?usage: demo.sh BUILD_DIR [CONFIG]}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
cfg=${2:-$src/control/config/mgw.yaml}

export MGW_DATA_DIR=$build/data
export MGW_RUN_DIR=$build/run
mkdir -p "$MGW_RUN_DIR"
dp=$build/dataplane/core/mgw-dataplane
ctl=$build/control/server/mgw-control
mgwctl() { "$build/control/cli/mgwctl" -c "$cfg" "$@"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: DPDK needs root; run as root (or with sudo)" >&2
	exit 1
fi
[ -f "$MGW_DATA_DIR/demo.pcap" ] || { echo "demo: $MGW_DATA_DIR/demo.pcap missing (build target demo-data)" >&2; exit 1; }

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "== starting mgw-dataplane (config $cfg)"
"$dp" -c "$cfg" > "$MGW_RUN_DIR/dataplane.log" 2>&1 &
dp_pid=$!; pids+=("$dp_pid")
echo "== starting mgw-control"
"$ctl" -c "$cfg" > "$MGW_RUN_DIR/control.log" 2>&1 &
ctl_pid=$!; pids+=("$ctl_pid")

# Wait until the whole capture went through: the feed session has ended and
# the rx->book ring is drained.
for _ in $(seq 1 600); do
	if ! kill -0 "$dp_pid" 2>/dev/null; then
		echo "demo: mgw-dataplane exited:" >&2; cat "$MGW_RUN_DIR/dataplane.log" >&2; exit 1
	fi
	if out=$(mgwctl counters mgw_ring 2>/dev/null) && mgwctl status 2>/dev/null | grep -q " ended$"; then
		enq=$(awk '/enqueued/ {print $2}' <<<"$out"); deq=$(awk '/dequeued/ {print $2}' <<<"$out")
		[ -n "$enq" ] && [ "$enq" = "$deq" ] && break
	fi
	sleep 0.2
done
sleep 0.3
cat "$MGW_RUN_DIR/dataplane.log"
echo
echo "== mgwctl status"
mgwctl status
echo
echo "== mgwctl counters (feed and book, non-zero)"
mgwctl counters | awk '$2 != 0' | grep -E "^mgw_(rx|pkt|mold|itch|book)" || true
echo
echo "== mgwctl top 10"
mgwctl top 10
for sym in $(mgwctl top 3 --json | grep -o '"symbol":"[^"]*"' | cut -d'"' -f4); do
	echo
	echo "== mgwctl book $sym --depth 5"
	mgwctl book "$sym" --depth 5
done
echo
echo "== stopping"
kill -TERM "$dp_pid"; wait "$dp_pid"; rc_dp=$?
kill -TERM "$ctl_pid"; wait "$ctl_pid"; rc_ctl=$?
pids=()
echo "mgw-dataplane exit $rc_dp, mgw-control exit $rc_ctl"
[ "$rc_dp" -eq 0 ] && [ "$rc_ctl" -eq 0 ]
