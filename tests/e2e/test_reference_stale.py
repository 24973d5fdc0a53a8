#!/usr/bin/env python3
"""End-to-end: reference prices from a dead feed are not used.

mgw-dataplane runs rx, book and match on one lcore over a net_pcap port
that replays an mgw-itchgen capture once. Two runs:

  1. the capture without its end-of-session packet, reference.stale_after_ms
     500: once the replay is over and 500 ms passed, `mgwctl status` says
     the reference is stale because the feed is silent, the transition is
     counted (mgw_reference_transitions_total{state="silent"},
     mgw_reference_state 3), a marketable order is rejected no_reference
     (23, counted), and a non-marketable limit order still rests;
  2. the capture as generated (it ends its MoldUDP64 session) with the
     silence check off (stale_after_ms 0): status says end_of_session,
     mgw_mold_sessions_ended is 1, the market order is rejected the same way.

Usage: test_reference_stale.py BUILD_DIR
Exit 0 pass, 1 fail, 77 skip (not root, or DPDK cannot start here).
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import (Skip, counters, ctr, fail, log, mgwctl, run_test, status,  # noqa: E402
                     strip_end_of_session)

PORT = 26477


def config_text(inst, pcap, sock, stale_ms):
    return """instance: %s
dataplane:
  hugepages: off
  memory_mb: 512
  lcores:
    - id: 1
      roles: [rx, book, match]
ports:
  - name: feed0
    device: "net_pcap0,rx_pcap=%s"
feed:
  udp_ports: [%d]
book:
  max_symbols: 4096
matching:
  max_orders: 8192
  max_levels: 2048
  max_sessions: 64
  report_ring_size: 1024
risk:
  accounts:
    - id: 1
reference:
  stale_after_ms: %d
control:
  socket: %s
  metrics: "off"
""" % (inst, pcap, PORT, stale_ms, sock)


def expect(cond, msg):
    if not cond:
        fail(msg)


def inject(b, inst, *orders):
    exe = os.path.join(os.path.dirname(b["dataplane"]), "../../tools/orderinject/mgw-orderinject")
    r = subprocess.run([exe, "-i", inst, "-w", "300"] + list(orders), capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        fail("mgw-orderinject exited %d: %s" % (r.returncode, r.stderr))
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def run(b, tmp, procs, name, pcap, stale_ms, want_state):
    inst = "rs%s%d" % (name, os.getpid())
    sock = "%s/%s.sock" % (tmp, name)
    cfg = "%s/%s.yaml" % (tmp, name)
    with open(cfg, "w") as f:
        f.write(config_text(inst, pcap, sock, stale_ms))
    dp = procs.start([b["dataplane"], "-c", cfg], "%s/%s-dataplane.log" % (tmp, name))
    ctlp = procs.start([b["control"], "-c", cfg], "%s/%s-control.log" % (tmp, name))
    deadline = time.time() + 60
    ref = None
    while True:
        if dp.poll() is not None:
            procs.dump_logs()
            with open("%s/%s-dataplane.log" % (tmp, name)) as f:
                if "EAL init failed" in f.read():
                    raise Skip("DPDK EAL cannot start on this machine")
            fail("mgw-dataplane exited early with %d" % dp.returncode)
        st = status(b, sock) if os.path.exists(sock) else None
        if st and st["dataplane"].get("reference"):
            ref = st["dataplane"]["reference"]
            if ref["state"] == want_state:
                break
        if time.time() > deadline:
            procs.dump_logs()
            fail("%s: reference never became %s: %s" % (name, want_state, ref))
        time.sleep(0.2)
    expect(ref["stale"] and ref["reason"] == want_state, "%s: status reference %s" % (name, ref))
    expect(ref["stale_after_ms"] == stale_ms, "%s: stale_after_ms %s" % (name, ref))
    if want_state == "silent":
        expect(ref["feed_idle_ms"] >= stale_ms, "%s: idle %s" % (name, ref))
    txt = mgwctl(b, sock, "status").stdout
    expect("reference      STALE: %s" % want_state in txt, "%s: status text:\n%s" % (name, txt))
    cs = counters(b, sock)
    expect(ctr(cs, "mgw_reference_transitions_total", state=want_state) == 1,
           "%s: transition counted once: %s" % (name, ref))
    expect(ctr(cs, "mgw_reference_stale") == 1, "%s: mgw_reference_stale" % name)
    expect(ctr(cs, "mgw_reference_state") == {"gap": 1, "end_of_session": 2, "silent": 3}[want_state],
           "%s: mgw_reference_state" % name)
    expect(ctr(cs, "mgw_mold_gaps_total") == 0, "%s: no gap in the replay" % name)
    expect(ctr(cs, "mgw_mold_sessions_ended") == (1 if want_state == "end_of_session" else 0),
           "%s: mgw_mold_sessions_ended" % name)

    # The books still hold the last prices: a symbol with both sides.
    top = json.loads(mgwctl(b, sock, "top", "5", "--json").stdout)["symbols"]
    sym = next(s for s in top if s["bid"]["qty"] and s["ask"]["qty"])
    loc, bid, ask = sym["locate"], sym["bid"]["price"], sym["ask"]["price"]
    ob = json.loads(mgwctl(b, sock, "orders", "book", sym["symbol"].strip(), "--json").stdout)
    expect(not ob["reference"]["valid"], "%s: orders book reference %s" % (name, ob["reference"]))
    S = "sym=%d" % loc
    # A market order needs a reference: refused no_reference.
    r = inject(b, inst, "new acct=1 sess=1 id=1 %s side=B px=0 qty=10 type=market" % S)
    expect([x["kind"] for x in r] == ["rejected"] and r[0]["reason"] == 23,
           "%s: market order on a stale reference: %s" % (name, r))
    # A resting sell, then a marketable buy against it: refused no_reference, nothing trades.
    r = inject(b, inst, "new acct=1 sess=1 id=2 %s side=S px=%d qty=10" % (S, ask))
    expect([x["kind"] for x in r] == ["accepted"], "%s: a resting limit needs no reference: %s" % (name, r))
    r = inject(b, inst, "new acct=1 sess=2 id=3 %s side=B px=%d qty=10" % (S, ask))
    expect([x["kind"] for x in r] == ["rejected"] and r[0]["reason"] == 23,
           "%s: marketable limit on a stale reference: %s" % (name, r))
    expect(ctr(counters(b, sock), "mgw_order_rejects_total", reason="no_reference") == 2,
           "%s: no_reference rejects counted" % name)
    expect(dp.poll() is None and ctlp.poll() is None, "%s: a process died" % name)
    log("%s: reference %s after the replay (bid %d ask %d), marketable orders refused no_reference"
        % (name, want_state, bid, ask))
    dp.terminate()
    ctlp.terminate()
    dp.wait(timeout=30)
    ctlp.wait(timeout=30)


def test(b, tmp, procs):
    pcap = tmp + "/feed.pcap"
    subprocess.run([b["itchgen"], "--messages", "20000", "--symbols", "20", "--seed", "5",
                    "--pcap", pcap, "--port", str(PORT)], check=True, capture_output=True)
    silent = tmp + "/silent.pcap"
    shutil.copy(pcap, silent)
    expect(strip_end_of_session(silent) == 1, "one end-of-session frame in the capture")
    run(b, tmp, procs, "silent", silent, 500, "silent")
    run(b, tmp, procs, "ended", pcap, 0, "end_of_session")


def main():
    return run_test(__doc__, "mgw-refstale-", test, dump_logs=True, note_kept=False)


if __name__ == "__main__":
    sys.exit(main())
