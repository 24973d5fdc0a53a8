#!/usr/bin/env python3
"""End-to-end: a junk flood at line rate on DPDK's net_null PMD.

net_null hands the rx lcore an endless stream of all-zero 64-byte frames
(ethertype 0: not IPv4). For a few seconds the dataplane must take them as
fast as it can, drop every one as not_ipv4, apply nothing to the books,
keep answering control, and stop cleanly on SIGTERM.

Usage: test_null_flood.py BUILD_DIR     Exit 0 pass, 1 fail, 77 skip.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import Skip, counters, fail, mgwctl, run_test  # noqa: E402


def test(b, tmp, procs):
    inst = "null%d" % os.getpid()
    sock = tmp + "/ctl.sock"
    cfg = tmp + "/mgw.yaml"
    with open(cfg, "w") as f:
        f.write("""instance: %s
dataplane:
  hugepages: off
  memory_mb: 256
  lcores:
    - id: 1
      roles: [rx, book]
ports:
  - name: junk0
    device: "net_null0,size=64"
feed:
  udp_ports: [26477]
control:
  socket: %s
""" % (inst, sock))
    dp = procs.start([b["dataplane"], "-c", cfg], tmp + "/dataplane.log")
    ctl = procs.start([b["control"], "-c", cfg], tmp + "/control.log")

    def snapshot():
        if mgwctl(b, sock, "ping", check=False).returncode != 0:
            return None
        return counters(b, sock) if mgwctl(b, sock, "status", check=False).returncode == 0 else None

    cs = None
    for _ in range(100):
        if dp.poll() is not None:
            with open(tmp + "/dataplane.log") as f:
                text = f.read()
            if "EAL init failed" in text or "has no device" in text:
                raise Skip("DPDK or net_null unavailable here:\n" + text)
            fail("mgw-dataplane exited %d:\n%s" % (dp.returncode, text))
        cs = snapshot()
        if cs and cs.get(("mgw_rx_packets_total", ()), 0) > 0:
            break
        time.sleep(0.1)
    if not cs:
        fail("dataplane never became visible through mgwctl")
    time.sleep(3)
    cs = snapshot()
    rx = cs[("mgw_rx_packets_total", ())]
    bad = cs[("mgw_pkt_dropped_total", (("reason", "not_ipv4"),))]
    events = sum(v for (n, _), v in cs.items() if n == "mgw_book_events_total")
    msgs = sum(v for (n, _), v in cs.items() if n == "mgw_itch_messages_total")
    print("flood: %d frames received, %d dropped as not_ipv4, %d ITCH messages, %d book events"
          % (rx, bad, msgs, events))
    if rx < 100000:
        fail("too few frames for a flood: %d" % rx)
    # Frames of the last partial burst may be counted received a moment before dropped.
    if rx - bad > 64 or msgs or events:
        fail("junk reached the feed path or the book")
    r = mgwctl(b, sock, "status", check=False)
    if r.returncode != 0:
        fail("status failed during the flood: " + r.stderr)
    dp.send_signal(signal.SIGTERM)
    if dp.wait(timeout=20) != 0:
        fail("mgw-dataplane did not exit cleanly")
    ctl.send_signal(signal.SIGTERM)
    if ctl.wait(timeout=10) != 0:
        fail("mgw-control did not exit cleanly")


def main():
    return run_test(__doc__, "mgw-null-", test, root_why="DPDK end-to-end tests need root")


if __name__ == "__main__":
    sys.exit(main())
