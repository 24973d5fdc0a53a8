#!/usr/bin/env python3
"""End-to-end: the real processes on a virtual DPDK port.

mgw-itchgen writes one stream twice: a BinaryFILE and a pcap of MoldUDP64
frames. This test salts the pcap with hostile frames (runts, non-IPv4,
bad checksums, fragments, other protocols, other ports and groups, broken
MoldUDP64 framing, unknown ITCH types) and with duplicate datagrams (a
B-line copy), then:

  * starts mgw-control first (it must wait for the dataplane), then
    mgw-dataplane replaying the pcap through net_pcap on a pinned lcore;
  * waits until the feed session has ended and the rx->book ring is drained;
  * checks every drop counter against what was injected, and that no
    message was lost or applied twice;
  * compares `mgwctl book SYMBOL --json` for the busiest and for random
    symbols with the books mgw-bookdump builds offline from the BinaryFILE;
  * stops both processes with SIGTERM and checks they exit cleanly.

Usage: test_dataplane_books.py BUILD_DIR [--hugepages auto|on|off] [--split]
  --split  rx and book on separate lcores (book lcore 2 pinned to CPU 0,
           beside the mostly idle main lcore), joined only by the ring
Exit 0 pass, 1 fail, 77 skip (not root, or DPDK cannot start here).
"""
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import Skip, counters, ctr, fail, log, mgwctl, run_test  # noqa: E402


# ---- frame builders (independent of the C code under test) -----------------

def ip_checksum(hdr):
    s = 0
    for i in range(0, len(hdr), 2):
        s += (hdr[i] << 8) | hdr[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, frag=0, bad_csum=False):
    total = 20 + len(payload)
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, frag, 64, proto, 0,
                                bytes(src), bytes(dst)))
    c = ip_checksum(hdr)
    if bad_csum:
        c ^= 0x5A5A
    hdr[10:12] = struct.pack("!H", c)
    return bytes(hdr) + payload


def eth(payload, ethertype=0x0800):
    return b"\x01\x00\x5e\x36\x0c\x6f" + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", ethertype) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def mold(session, seq, msgs):
    body = b"".join(struct.pack("!H", len(m)) + m for m in msgs)
    return session.encode().ljust(10)[:10] + struct.pack("!QH", seq, len(msgs)) + body


GROUP = [233, 54, 12, 111]
SRC = [10, 0, 0, 1]
PORT = 26477


def feed_frame(payload, dst=GROUP, dport=PORT, **kw):
    return eth(ipv4(SRC, dst, 17, udp(40000, dport, payload), **kw))


def hostile_frames():
    """(frame, counter name, labels) for every kind of junk, each dropped for one reason."""
    ok_mold = mold("JUNKSESS01", 1, [b"S" + b"\x00" * 11])
    j = []
    j.append((b"\x01\x02\x03", "mgw_pkt_dropped_total", {"reason": "runt"}))
    j.append((eth(b"\x00" * 28, 0x0806), "mgw_pkt_dropped_total", {"reason": "not_ipv4"}))
    bad_ihl = bytearray(ipv4(SRC, GROUP, 17, udp(1, PORT, ok_mold)))
    bad_ihl[0] = 0x44
    j.append((eth(bytes(bad_ihl)), "mgw_pkt_dropped_total", {"reason": "ip_header"}))
    j.append((feed_frame(ok_mold, bad_csum=True), "mgw_pkt_dropped_total", {"reason": "ip_checksum"}))
    j.append((feed_frame(ok_mold, frag=0x2000), "mgw_pkt_dropped_total", {"reason": "ip_fragment"}))
    j.append((eth(ipv4(SRC, GROUP, 6, b"\x00" * 40)), "mgw_pkt_dropped_total", {"reason": "not_udp"}))
    bad_udp = bytearray(ipv4(SRC, GROUP, 17, udp(1, PORT, ok_mold)))
    bad_udp[20 + 4:20 + 6] = struct.pack("!H", 4000)
    bad_udp[10:12] = b"\x00\x00"
    bad_udp[10:12] = struct.pack("!H", ip_checksum(bytes(bad_udp[:20])))
    j.append((eth(bytes(bad_udp)), "mgw_pkt_dropped_total", {"reason": "udp_header"}))
    j.append((feed_frame(ok_mold, dport=9999), "mgw_pkt_dropped_total", {"reason": "udp_port_filter"}))
    j.append((feed_frame(ok_mold, dst=[233, 1, 1, 1]), "mgw_pkt_dropped_total", {"reason": "group_filter"}))
    j.append((feed_frame(b"MGW"), "mgw_mold_dropped_total", {"reason": "short"}))
    trunc = mold("JUNKSESS01", 1, [b"A" * 36])[:-10]
    j.append((feed_frame(trunc), "mgw_mold_dropped_total", {"reason": "truncated"}))
    return j


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    ghdr, off, recs = data[:24], 24, []
    while off < len(data):
        ts_s, ts_us, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        recs.append((ts_s, ts_us, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return ghdr, recs


def write_pcap(path, ghdr, recs):
    with open(path, "wb") as f:
        f.write(ghdr)
        for ts_s, ts_us, fr in recs:
            f.write(struct.pack("<IIII", ts_s, ts_us, len(fr), len(fr)))
            f.write(fr)


def test(b, tmp, procs, huge, lcores):
    # 1. One stream, two forms.
    itch, pcap = tmp + "/feed.itch", tmp + "/feed.pcap"
    subprocess.run([b["itchgen"], "--messages", "300000", "--symbols", "800", "--seed", "7",
                    "--cancel-target", "uniform", "--binfile", itch, "--pcap", tmp + "/clean.pcap"],
                   check=True, capture_output=True)

    # 2. Salt the pcap: hostile frames and duplicate datagrams (as a B line would send).
    ghdr, recs = read_pcap(tmp + "/clean.pcap")
    rnd = random.Random(11)
    junk = hostile_frames()
    out, expect_drops, dups = [], {}, 0
    for i, (ts_s, ts_us, fr) in enumerate(recs):
        out.append((ts_s, ts_us, fr))
        if i % 997 == 5:
            fr2, name, labels = junk[(i // 997) % len(junk)]
            out.append((ts_s, ts_us, fr2))
            key = (name, tuple(sorted(labels.items())))
            expect_drops[key] = expect_drops.get(key, 0) + 1
        if i % 1499 == 7 and i > 10:
            back = rnd.randint(1, 10)
            out.append((ts_s, ts_us, recs[i - back][2]))
            dups += 1
    write_pcap(pcap, ghdr, out)
    n_frames = len(out)
    log("pcap: %d frames (%d clean, %d hostile, %d duplicate datagrams)" %
        (n_frames, len(recs), sum(expect_drops.values()), dups))

    # 3. Config for this run.
    inst = "e2e%d" % os.getpid()
    sock = tmp + "/ctl.sock"
    cfg = tmp + "/mgw.yaml"
    with open(cfg, "w") as f:
        f.write("""instance: %s
dataplane:
  hugepages: %s
  memory_mb: 256
  lcores:
%sports:
  - name: feed0
    device: "net_pcap0,rx_pcap=%s"
feed:
  udp_ports: [%d]
  groups: ["233.54.12.111"]
book:
  max_orders: 1048576
  max_levels: 262144
control:
  socket: %s
""" % (inst, huge, lcores, pcap, PORT, sock))

    # 4. Control first: it must come up and wait for the dataplane.
    ctl = procs.start([b["control"], "-c", cfg], tmp + "/control.log")
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    r = mgwctl(b, sock, "status", check=False)
    if r.returncode != 4:
        fail("status before the dataplane started: expected exit 4, got %d" % r.returncode)

    dp = procs.start([b["dataplane"], "-c", cfg], tmp + "/dataplane.log")
    deadline = time.time() + 120
    while True:
        if dp.poll() is not None:
            procs.dump_logs()
            with open(tmp + "/dataplane.log") as f:
                text = f.read()
            if "EAL init failed" in text:
                raise Skip("DPDK EAL cannot start on this machine")
            fail("mgw-dataplane exited early with %d" % dp.returncode)
        r = mgwctl(b, sock, "status", "--json", check=False)
        if r.returncode == 0:
            st = json.loads(r.stdout)
            sess = [s for s in st["dataplane"]["feed_sessions"] if s["session"] == "MGWDEMO001"]
            cs = counters(b, sock)
            rx = ctr(cs, "mgw_rx_packets_total")
            enq, deq = ctr(cs, "mgw_ring_rx_book_enqueued_total"), ctr(cs, "mgw_ring_rx_book_dequeued_total")
            if sess and sess[0]["ended"] and rx == n_frames and enq == deq:
                # the book lcore publishes counters every 100 us; let the last tick land
                time.sleep(0.3)
                cs = counters(b, sock)
                break
        if time.time() > deadline:
            procs.dump_logs()
            fail("feed not fully processed within 120 s")
        time.sleep(0.2)
    log("dataplane processed %d frames" % rx)

    # 5. Counters: every injected frame dropped for its reason, no loss, no double apply.
    for key, n in sorted(expect_drops.items()):
        got = cs.get(key, 0)
        if got != n:
            fail("counter %s%s = %d, injected %d" % (key[0], dict(key[1]), got, n))
    if ctr(cs, "mgw_mold_gaps_total") != 0:
        fail("gaps reported on a gap-free stream")
    dup_msgs = ctr(cs, "mgw_mold_duplicate_messages_total")
    if dups and dup_msgs == 0:
        fail("duplicate datagrams were not detected")
    for reason in ("unknown_ref", "duplicate_ref", "overfill", "orders_full", "levels_full"):
        if ctr(cs, "mgw_book_refused_total", reason=reason):
            fail("book refused events (%s) on a consistent stream" % reason)
    off = subprocess.run([b["bookdump"], itch, "--top", "0", "--stats"], capture_output=True,
                         text=True, check=True)
    ostats = json.loads(off.stdout.strip().splitlines()[-1])["stats"]
    for kind in ("add", "exec", "exec_px", "cancel", "delete", "replace", "directory", "trading_state"):
        got = ctr(cs, "mgw_book_events_total", kind=kind)
        if got != ostats[kind]:
            fail("book events %s: dataplane %d, offline %d" % (kind, got, ostats[kind]))
    if ctr(cs, "mgw_book_live_orders") != ostats["live_orders"]:
        fail("live orders: dataplane %d, offline %d" % (ctr(cs, "mgw_book_live_orders"), ostats["live_orders"]))
    log("counters match: %d adds, %d deletes, %d live orders, %d duplicate messages skipped" %
        (ostats["add"], ostats["delete"], ostats["live_orders"], dup_msgs))

    # 6. Books: busiest and random symbols, full depth, field by field.
    top = [json.loads(l) for l in subprocess.run(
        [b["bookdump"], itch, "--top", "256", "--depth", "64"], capture_output=True, text=True,
        check=True).stdout.splitlines()]
    pick = top[:20] + rnd.sample(top[20:], 20)
    for want in pick:
        r = mgwctl(b, sock, "book", want["symbol"], "--depth", "64", "--json")
        got = json.loads(r.stdout)
        if got != want:
            fail("book %s differs:\n dataplane %s\n offline   %s" % (want["symbol"], got, want))
    toplive = json.loads(mgwctl(b, sock, "top", "10", "--json").stdout)["symbols"]
    if [s["symbol"] for s in toplive] != [s["symbol"] for s in top[:10]]:
        fail("top 10 differs from offline")
    log("books match for %d symbols (top 20 + 20 random, 64 levels a side)" % len(pick))

    # 7. Unknown symbol and bad usage give their documented exit codes.
    if mgwctl(b, sock, "book", "NOSUCH", check=False).returncode != 3:
        fail("unknown symbol should exit 3")
    if mgwctl(b, sock, "book", "X", "--depth", "0", check=False).returncode != 2:
        fail("bad --depth should exit 2")

    # 8. Clean stop.
    dp.send_signal(signal.SIGTERM)
    try:
        rc = dp.wait(timeout=20)
    except subprocess.TimeoutExpired:
        fail("mgw-dataplane did not stop within 20 s of SIGTERM")
    if rc != 0:
        fail("mgw-dataplane exited %d after SIGTERM" % rc)
    if os.path.exists("/dev/shm/mgw." + inst):
        fail("segment left behind after a clean stop")
    time.sleep(0.5)
    if mgwctl(b, sock, "status", check=False).returncode != 4:
        fail("status after the dataplane stopped should exit 4")
    ctl.send_signal(signal.SIGTERM)
    if ctl.wait(timeout=10) != 0:
        fail("mgw-control exited non-zero after SIGTERM")
    if os.path.exists(sock):
        fail("control socket left behind")


def hugepages_free():
    """Skip unless 256 MB of hugepages are free."""
    with open("/proc/meminfo") as f:
        info = dict(l.split(":", 1) for l in f)
    free_mb = int(info["HugePages_Free"]) * int(info["Hugepagesize"].split()[0]) // 1024
    if free_mb < 256:
        raise Skip("%d MB of free hugepages, 256 needed (echo 512 > /proc/sys/vm/nr_hugepages)" % free_mb)


def main():
    huge = "off"
    if "--hugepages" in sys.argv:
        huge = sys.argv[sys.argv.index("--hugepages") + 1]
    if "--split" in sys.argv:
        lcores = "    - id: 1\n      roles: [rx]\n    - id: 2\n      cpu: 0\n      roles: [book]\n"
    else:
        lcores = "    - id: 1\n      roles: [rx, book]\n"
    return run_test(__doc__, "mgw-e2e-", lambda b, tmp, procs: test(b, tmp, procs, huge, lcores),
                    prepare=hugepages_free if huge == "on" else None, check_binaries=True)


if __name__ == "__main__":
    sys.exit(main())
