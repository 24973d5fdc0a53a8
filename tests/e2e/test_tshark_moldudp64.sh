#!/usr/bin/env bash
# test_tshark_moldudp64.sh - cross-check mgw-itchgen's pcap with an
# independent decoder: Wireshark's MoldUDP64 dissector must decode every
# packet without malformed/warning expert info, and the message counts it
# sees must add up to what the generator says it wrote (also with --ab,
# where every packet appears twice).
# usage: test_tshark_moldudp64.sh PATH/TO/mgw-itchgen      (exit 77: skipped)
set -euo pipefail

gen=${1:?usage: $0 PATH/TO/mgw-itchgen}
if ! command -v tshark >/dev/null 2>&1; then
  echo "SKIP: tshark not installed (apt-get install tshark, or tools/install-deps.sh)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

N=20000
PORT=26477
ts() { tshark -r "$1" -d "udp.port==$PORT,moldudp64" "${@:2}" 2>"$tmp/tshark.err"; }

check() { # check NAME LINES [extra mgw-itchgen args]
  local name=$1 lines=$2; shift 2
  local pcap="$tmp/$name.pcap"
  "$gen" --messages $N --symbols 200 --seed 42 --pcap "$pcap" --stats "$@" 2>"$tmp/$name.stats" \
    || fail "$name: mgw-itchgen failed: $(cat "$tmp/$name.stats")"

  # Field names checked against `tshark -G fields | grep -i mold`.
  ts "$pcap" -T fields -e frame.number -e moldudp64.session -e moldudp64.sequence \
     -e moldudp64.count > "$tmp/$name.fields" || fail "$name: tshark failed: $(cat "$tmp/tshark.err")"
  local frames
  frames=$(wc -l < "$tmp/$name.fields")
  [ "$frames" -gt 0 ] || fail "$name: no frames"

  # Every frame must decode as MoldUDP64 of our session.
  awk -F'\t' '$2 != "MGWDEMO001" || $3 == "" || $4 == "" { print; bad=1 } END { exit bad }' \
    "$tmp/$name.fields" > "$tmp/$name.undecoded" \
    || fail "$name: frames not decoded as MoldUDP64: $(head -3 "$tmp/$name.undecoded")"

  # Nothing malformed, no expert warning or error.
  ts "$pcap" -Y '_ws.malformed || _ws.expert.severity >= warning' > "$tmp/$name.bad" \
    || fail "$name: tshark filter failed: $(cat "$tmp/tshark.err")"
  [ ! -s "$tmp/$name.bad" ] || fail "$name: malformed/expert: $(head -5 "$tmp/$name.bad")"

  # Messages: count over data packets (0 = heartbeat, 65535 = end of session).
  local msgs eos
  msgs=$(awk -F'\t' '$4 != 65535 { s += $4 } END { print s + 0 }' "$tmp/$name.fields")
  eos=$(awk -F'\t' '$4 == 65535' "$tmp/$name.fields" | wc -l)
  [ "$msgs" -eq $((N * lines)) ] || fail "$name: tshark counted $msgs messages, want $((N * lines))"
  [ "$eos" -eq "$lines" ] || fail "$name: $eos end-of-session packets, want $lines"
  grep -q "^messages $N " "$tmp/$name.stats" || fail "$name: generator stats disagree: $(head -1 "$tmp/$name.stats")"

  # Sequence numbers are contiguous per line: next = sequence + count.
  awk -F'\t' -v lines="$lines" '
    { line = lines == 2 ? (NR - 1) % 2 : 0
      if (line in next_seq && $3 != next_seq[line]) { print "frame " $1 ": seq " $3 " want " next_seq[line]; bad = 1 }
      next_seq[line] = ($4 == 0 || $4 == 65535) ? $3 : $3 + $4 }
    END { exit bad }' "$tmp/$name.fields" > "$tmp/$name.seq" \
    || fail "$name: sequence gap: $(head -3 "$tmp/$name.seq")"

  # Every message block has the ITCH 5.0 spec length of its type byte.
  ts "$pcap" -Y 'moldudp64.count > 0 && moldudp64.count < 65535' -T fields -E occurrence=a \
     -E aggregator=, -e moldudp64.msglen -e moldudp64.msgdata > "$tmp/$name.blocks" \
     || fail "$name: tshark failed: $(cat "$tmp/tshark.err")"
  awk -F'\t' '
    BEGIN { split("53:12 52:39 48:25 41:36 46:40 45:31 43:36 58:23 44:19 55:35 50:44", kv, " ")
            for (i in kv) { split(kv[i], p, ":"); want[p[1]] = p[2] } }
    { n = split($1, len, ","); split($2, data, ",")
      for (i = 1; i <= n; i++) { t = substr(data[i], 1, 2); nblk++
        if (!(t in want) || want[t] != len[i]) { print "type 0x" t " length " len[i]; bad = 1 } } }
    END { print nblk + 0 > "/dev/stderr"; exit bad }' "$tmp/$name.blocks" \
     > "$tmp/$name.lenbad" 2> "$tmp/$name.nblk" \
    || fail "$name: bad ITCH block lengths: $(sort | uniq -c < "$tmp/$name.lenbad" | head -3)"
  [ "$(cat "$tmp/$name.nblk")" -eq $((N * lines)) ] \
    || fail "$name: $(cat "$tmp/$name.nblk") message blocks, want $((N * lines))"
  echo "ok: $name: $frames frames, $msgs messages"
}

check single 1
check ab 2 --ab
echo "PASS"
