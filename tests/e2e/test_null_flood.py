#!/usr/bin/env python3
"""End-to-end: a junk flood at line rate on DPDK's net_null PMD.

net_null hands the rx lcore an endless stream of all-zero 64-byte frames
(ethertype 0: not IPv4). For a few seconds the dataplane must take them as
fast as it can, drop every one as not_ipv4, apply nothing to the books,
keep answering control, and stop cleanly on SIGTERM.

Usage: test_null_flood.py BUILD_DIR     Exit 0 pass, 1 fail, 77 skip.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import SKIP, Failure, binaries, counters, fail, mgwctl  # noqa: E402


def main():
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: DPDK end-to-end tests need root")
        return SKIP
    b = binaries(build)
    tmp = tempfile.mkdtemp(prefix="mgw-null-")
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
    dlog = open(tmp + "/dataplane.log", "w")
    clog = open(tmp + "/control.log", "w")
    dp = subprocess.Popen([b["dataplane"], "-c", cfg], stdout=dlog, stderr=subprocess.STDOUT)
    ctl = subprocess.Popen([b["control"], "-c", cfg], stdout=clog, stderr=subprocess.STDOUT)
    ok = False
    try:
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
                    print("SKIP: DPDK or net_null unavailable here:\n" + text)
                    return SKIP
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
        ok = True
        print("PASS")
        return 0
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        for p in (dp, ctl):
            if p.poll() is None:
                p.kill()
                p.wait()
        dlog.close()
        clog.close()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("logs kept in " + tmp)


if __name__ == "__main__":
    sys.exit(main())
