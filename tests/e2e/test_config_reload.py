#!/usr/bin/env python3
"""End-to-end: config show / validate / reload as numbered epochs.

The dataplane replays a small MoldUDP64 capture forever (net_pcap
infinite_rx=1), so the feed keeps flowing while the config changes:

  * reload with feed.udp_ports changed: epoch 1 -> 2 on both sides, `config
    show` has the new value, frames to the old port are now dropped as
    udp_port_filter and no more MoldUDP64 packets are accepted;
  * reload of a file with a YAML syntax error: refused with file:line,
    epoch and config in force unchanged;
  * reload with a restart-only key changed (book.max_orders): refused, the
    key named, a restart asked for;
  * SIGHUP with the original port back: same as reload (epoch 3, audit line
    says SIGHUP), packets accepted again;
  * config validate on a good file (relative path) and a bad one.

Usage: test_config_reload.py BUILD_DIR
Exit 0 pass, 1 fail, 77 skip (not root, or DPDK cannot start here).
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import Skip, counters, ctr, fail, log, mgwctl, run_test  # noqa: E402

PORT, OTHER = 26477, 26478


def config_text(inst, pcap, sock, port, max_orders=1048576):
    return """instance: %s
dataplane:
  hugepages: off
  memory_mb: 256
  lcores:
    - id: 1
      roles: [rx, book]
ports:
  - name: feed0
    device: "net_pcap0,rx_pcap=%s,infinite_rx=1"
feed:
  udp_ports: [%d]
  groups: ["233.54.12.111"]
book:
  max_orders: %d
control:
  socket: %s
  metrics: "off"
""" % (inst, pcap, port, max_orders, sock)


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)  # a reload never reads a half-written file


def show(b, sock):
    r = mgwctl(b, sock, "config", "show", "--json")
    j = json.loads(r.stdout)
    return j, {k["key"]: k["value"] for k in j["keys"]}


def epochs(b, sock):
    st = json.loads(mgwctl(b, sock, "status", "--json").stdout)
    return st["control"]["config_epoch"], st["dataplane"]["config_epoch"]


def flow(b, sock, secs=0.6):
    """How the feed counters move over secs: (mold packets, udp_port_filter drops)."""
    c0 = counters(b, sock)
    time.sleep(secs)
    c1 = counters(b, sock)
    d = lambda *k, **kw: ctr(c1, *k, **kw) - ctr(c0, *k, **kw)  # noqa: E731
    return d("mgw_mold_packets_total"), d("mgw_pkt_dropped_total", reason="udp_port_filter")


def test(b, tmp, procs):
    pcap = tmp + "/feed.pcap"
    subprocess.run([b["itchgen"], "--messages", "20000", "--symbols", "50", "--seed", "5",
                    "--pcap", pcap, "--port", str(PORT)], check=True, capture_output=True)
    inst = "rl%d" % os.getpid()
    sock = tmp + "/ctl.sock"
    cfg = tmp + "/mgw.yaml"
    write(cfg, config_text(inst, pcap, sock, PORT))

    dp = procs.start([b["dataplane"], "-c", cfg], tmp + "/dataplane.log")
    ctl = procs.start([b["control"], "-c", cfg], tmp + "/control.log")
    deadline = time.time() + 60
    while True:
        if dp.poll() is not None:
            procs.dump_logs()
            with open(tmp + "/dataplane.log") as f:
                if "EAL init failed" in f.read():
                    raise Skip("DPDK EAL cannot start on this machine")
            fail("mgw-dataplane exited early with %d" % dp.returncode)
        r = mgwctl(b, sock, "counters", "mgw_mold_packets", check=False) if os.path.exists(sock) else None
        if r is not None and r.returncode == 0 and ctr(counters(b, sock), "mgw_mold_packets_total") > 0:
            break
        if time.time() > deadline:
            procs.dump_logs()
            fail("no MoldUDP64 packets within 60 s")
        time.sleep(0.2)

    # 1. Epoch 1: the file as read at start.
    j, keys = show(b, sock)
    if j["epoch"] != 1 or j["dataplane_epoch"] != 1 or keys["feed.udp_ports"] != [PORT]:
        fail("initial config show: %s" % j)
    if j["source"] != cfg:
        fail("config show source %s, expected %s" % (j["source"], cfg))
    if epochs(b, sock) != (1, 1):
        fail("initial epochs %s" % (epochs(b, sock),))
    pk, dr = flow(b, sock)
    if pk == 0:
        fail("feed not flowing before the reload (infinite_rx?)")
    log("epoch 1: %d packets accepted in 0.6 s, %d port drops" % (pk, dr))

    # 2. Live change: feed.udp_ports -> OTHER.
    write(cfg, config_text(inst, pcap, sock, OTHER))
    r = mgwctl(b, sock, "config", "reload")
    if "epoch 2" not in r.stdout or "feed.udp_ports" not in r.stdout:
        fail("reload answer: %s" % r.stdout)
    if epochs(b, sock) != (2, 2):
        fail("epochs after reload: %s" % (epochs(b, sock),))
    j, keys = show(b, sock)
    if keys["feed.udp_ports"] != [OTHER] or j["epoch"] != 2:
        fail("config show after reload: %s" % keys["feed.udp_ports"])
    time.sleep(0.1)  # events already in the ring drain
    pk, dr = flow(b, sock)
    if pk != 0 or dr == 0:
        fail("after the reload: %d packets accepted, %d udp_port_filter drops" % (pk, dr))
    log("epoch 2: old port now dropped as udp_port_filter (%d in 0.6 s), none accepted" % dr)

    # 3. Syntax error: refused with file:line, nothing changes.
    good = open(cfg).read()
    write(cfg, good.replace("feed:\n", "feed:\n  udp_ports: [1\n", 1))
    r = mgwctl(b, sock, "config", "reload", check=False)
    if r.returncode != 1 or (cfg + ":") not in r.stderr or "refused" not in r.stderr:
        fail("bad file reload: exit %d, %s" % (r.returncode, r.stderr))
    if "epoch 2 stays" not in r.stderr:
        fail("bad file reload does not say the epoch stays: %s" % r.stderr)
    if epochs(b, sock) != (2, 2) or show(b, sock)[1]["feed.udp_ports"] != [OTHER]:
        fail("a refused reload changed the config in force")
    log("syntax error refused: %s" % r.stderr.strip())

    # 4. Restart-only key: refused whole, the key named.
    write(cfg, config_text(inst, pcap, sock, PORT, max_orders=1000))
    r = mgwctl(b, sock, "config", "reload", check=False)
    if r.returncode != 1 or "book.max_orders" not in r.stderr or "restart" not in r.stderr:
        fail("restart-only reload: exit %d, %s" % (r.returncode, r.stderr))
    if epochs(b, sock) != (2, 2) or show(b, sock)[1]["feed.udp_ports"] != [OTHER]:
        fail("a refused reload applied its live part")
    log("restart-only key refused: %s" % r.stderr.strip())

    # 5. config validate: good (relative path from another cwd), bad, usage.
    write(tmp + "/good.yaml", config_text(inst, pcap, sock, PORT))
    r = subprocess.run([b["mgwctl"], "-s", sock, "config", "validate", "good.yaml"], cwd=tmp,
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or "OK" not in r.stdout or "feed.udp_ports" not in r.stdout:
        fail("validate good: exit %d %s %s" % (r.returncode, r.stdout, r.stderr))
    write(tmp + "/bad.yaml", "feed:\n  udp_ports: [0]\n")
    r = subprocess.run([b["mgwctl"], "-s", sock, "config", "validate", "bad.yaml"], cwd=tmp,
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 1 or (tmp + "/bad.yaml:") not in r.stderr:
        fail("validate bad: exit %d %s" % (r.returncode, r.stderr))
    if mgwctl(b, sock, "config", "validate", check=False).returncode != 2:
        fail("validate without FILE should exit 2")
    log("validate: good OK, bad refused (%s)" % r.stderr.strip())

    # 6. SIGHUP = reload: the original port back, epoch 3.
    write(cfg, config_text(inst, pcap, sock, PORT))
    ctl.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while epochs(b, sock) != (3, 3):
        if time.time() > deadline:
            procs.dump_logs()
            fail("SIGHUP did not reach epoch 3: %s" % (epochs(b, sock),))
        time.sleep(0.1)
    time.sleep(0.1)
    pk, dr = flow(b, sock)
    if pk == 0 or dr != 0:
        fail("after SIGHUP: %d packets accepted, %d port drops" % (pk, dr))
    log("SIGHUP: epoch 3, port %d accepted again (%d packets in 0.6 s)" % (PORT, pk))

    # 7. Audit lines: one per reload, with who asked and the keys.
    with open(tmp + "/control.log") as f:
        audit = [l for l in f if l.startswith("audit: config reload")]
    want = [("uid=0", "result=applied", "feed.udp_ports"), ("uid=0", "result=refused", ""),
            ("uid=0", "result=refused", "book.max_orders"), ("SIGHUP", "result=applied", "feed.udp_ports")]
    if len(audit) != len(want):
        fail("expected %d reload audit lines, got: %s" % (len(want), audit))
    for line, words in zip(audit, want):
        if not all(w in line for w in words):
            fail("audit line %r lacks %s" % (line, words))
    log("audit lines: %d, e.g. %s" % (len(audit), audit[0].strip()))

    # 8. Clean stop.
    dp.send_signal(signal.SIGTERM)
    if dp.wait(timeout=20) != 0:
        fail("mgw-dataplane exited non-zero after SIGTERM")
    ctl.send_signal(signal.SIGTERM)
    if ctl.wait(timeout=10) != 0:
        fail("mgw-control exited non-zero after SIGTERM")


def main():
    return run_test(__doc__, "mgw-reload-", test)


if __name__ == "__main__":
    sys.exit(main())
