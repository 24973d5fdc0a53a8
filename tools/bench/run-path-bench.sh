#!/usr/bin/env bash
# run-path-bench.sh - messages per second through the whole DPDK path:
# net_pcap port -> rx lcore (Ethernet/IPv4/UDP, MoldUDP64, ITCH decode) ->
# rte_ring -> book (L3 apply), on ONE lcore running both roles.
#
# Baseline in the same run: the same stream as a BinaryFILE through decode +
# book only (mgw-bench-book), so the difference is what the packet path,
# the PMD and the ring cost.
#
# The path figure is messages / busy time of the worker lcore
# (mgw_lcore_busy_cycles_total / TSC Hz): the time the lcore spent in loop
# passes that did work, i.e. while there was feed to process.
#
# Usage: tools/bench/run-path-bench.sh [BUILD_DIR]   (root; env MESSAGES, SYMBOLS, HUGEPAGES)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
N=${MESSAGES:-20000000}
S=${SYMBOLS:-5000}
HUGE=${HUGEPAGES:-auto}
dir=${BENCH_DIR:-/tmp/mgw-bench}
mkdir -p "$dir"
pcap=$dir/path-$N-$S.pcap
bin=$dir/path-$N-$S.itch

if [ ! -s "$pcap" ] || [ ! -s "$bin" ]; then
	echo "generating $N messages over $S symbols (uniform cancel targets)..."
	"$build/tools/itchgen/mgw-itchgen" --messages "$N" --symbols "$S" --seed 42 \
		--cancel-target uniform --pcap "$pcap" --binfile "$bin"
fi
frames=$(python3 -c '
import struct,sys
d=open(sys.argv[1],"rb"); d.seek(24); n=0
while True:
    h=d.read(16)
    if len(h)<16: break
    d.seek(struct.unpack("<IIII",h)[2],1); n+=1
print(n)' "$pcap")

inst=bench$$
sock=$dir/$inst.sock
cfg=$dir/$inst.yaml
cat > "$cfg" <<EOF
instance: $inst
dataplane:
  hugepages: $HUGE
  memory_mb: 1024
  lcores:
    - id: 1
      roles: [rx, book]
ports:
  - name: feed0
    device: "net_pcap0,rx_pcap=$pcap"
    rx_desc: 4096
feed:
  udp_ports: [26477]
book:
  max_orders: 2097152
  max_levels: 1048576
control:
  socket: $sock
EOF

echo "== baseline: decode + book from the BinaryFILE (mgw-bench-book)"
"$build/tools/bench/mgw-bench-book" "$bin"

echo "== whole path: net_pcap -> rx -> ring -> book on lcore 1"
"$build/dataplane/core/mgw-dataplane" -c "$cfg" > "$dir/$inst.dp.log" 2>&1 &
dp=$!
"$build/control/server/mgw-control" -c "$cfg" > "$dir/$inst.ctl.log" 2>&1 &
ctl=$!
trap 'kill $dp $ctl 2>/dev/null || true; wait 2>/dev/null || true; rm -f "$cfg"' EXIT
mgwctl() { "$build/control/cli/mgwctl" -s "$sock" "$@"; }
start=$(date +%s.%N)
for _ in $(seq 1 3000); do
	if out=$(mgwctl counters --json 2>/dev/null); then
		done_=$(python3 -c '
import json,sys
c={(x["name"],tuple(sorted(x["labels"].items()))):x["value"] for x in json.load(sys.stdin)["counters"]}
rx=c[("mgw_rx_packets_total",())]; e=c[("mgw_ring_rx_book_enqueued_total",())]; d=c[("mgw_ring_rx_book_dequeued_total",())]
print(1 if rx>=int(sys.argv[1]) and e==d else 0)' "$frames" <<<"$out")
		[ "$done_" = 1 ] && break
	fi
	sleep 0.2
done
end=$(date +%s.%N)
sleep 0.3
head -3 "$dir/$inst.dp.log"
mgwctl status --json > "$dir/$inst.status.json"
mgwctl counters --json > "$dir/$inst.counters.json"
python3 - "$dir/$inst.status.json" "$dir/$inst.counters.json" "$start" "$end" <<'EOF'
import json, sys
st = json.load(open(sys.argv[1]))["dataplane"]
cs = json.load(open(sys.argv[2]))["counters"]
msgs = sum(c["value"] for c in cs if c["name"] == "mgw_itch_messages_total")
frames = sum(c["value"] for c in cs if c["name"] == "mgw_rx_packets_total")
refused = sum(c["value"] for c in cs if c["name"] == "mgw_book_refused_total")
lc = [l for l in st["lcores"] if l["lcore"] == 1][0]
busy_s = lc["busy_cycles"] / st["tsc_hz"]
wall = float(sys.argv[4]) - float(sys.argv[3])
print("frames %d, ITCH messages %d, book refusals %d, hugepages %s" % (frames, msgs, refused, st["hugepages"]))
print("lcore 1 busy %.3f s -> %.1f ns/message, %.2f M messages/s through the whole path" %
      (busy_s, busy_s * 1e9 / msgs, msgs / busy_s / 1e6))
print("wall clock from start to drained (includes EAL start, polled every 0.2 s): %.2f s" % wall)
EOF
