#!/usr/bin/env python3
"""End-to-end: counters as Prometheus and DPDK telemetry see them.

Starts mgw-control (with control.metrics on a free loopback port), a real
Prometheus server (Debian's `prometheus`) scraping its /metrics every
second, and mgw-dataplane replaying a generated pcap through net_pcap. The
pcap is salted with hostile frames, a duplicate datagram and a missing one
(a gap), so drop, duplicate and gap counters are not all zero. Then:

  * waits until Prometheus reports the target up;
  * once the feed has ended and the counters are stable, every counter row
    of `mgwctl counters --json` must equal the sum over lcores of the same
    series queried from Prometheus' HTTP API, and port and feed-session
    series must equal `mgwctl status --json`;
  * `promtool check metrics` must accept a fetched /metrics body with no
    error and no lint warning; another path answers 404;
  * the DPDK telemetry socket (SOCK_SEQPACKET) answers /mgw/counters with
    the same values as mgwctl, and /mgw/status, /mgw/ports, /mgw/counters,<lcore>;
  * after the dataplane stops, /metrics serves only control metrics with
    mgw_dataplane_up 0, and Prometheus sees that.

Usage: test_metrics_prometheus.py BUILD_DIR
Exit 0 pass, 1 fail, 77 skip (not root, prometheus/promtool not installed,
or DPDK cannot start here).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import Skip, counters, ctr, fail, log, run_test, status  # noqa: E402
from test_dataplane_books import PORT, hostile_frames, read_pcap, write_pcap  # noqa: E402

SESSION = "MGWDEMO001"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=5):
    """(status, body text); HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def prom_query(base, q):
    """Instant vector of a PromQL query: [(labels dict, float value)]."""
    st, body = http_get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    if st != 200:
        fail("prometheus query %s: HTTP %d %s" % (q, st, body[:200]))
    data = json.loads(body)["data"]["result"]
    return [(r["metric"], float(r["value"][1])) for r in data]


def telemetry(path, cmd):
    """One DPDK telemetry v2 request: connect, read the greeting, send cmd, parse the answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    greeting = json.loads(s.recv(16384).decode())
    s.send(cmd.encode())
    reply = json.loads(s.recv(greeting.get("max_output_len", 16384)).decode())
    s.close()
    return greeting, reply[cmd.split(",")[0]]


def volatile(name):
    """Loop counters keep counting while idle: compared as 'not less than an earlier read'."""
    return name.startswith("mgw_lcore_")


def same(name, earlier, later):
    if later is None:
        return False
    return later >= earlier if volatile(name) else later == earlier


def label_key(labels):
    return tuple(sorted((k, v) for k, v in labels.items()
                        if k not in ("__name__", "lcore", "instance", "job")))


def test(b, tmp, procs, prometheus, promtool, inst, runtime_dir):
    # 1. A stream with some of everything: junk, a duplicate and a gap.
    subprocess.run([b["itchgen"], "--messages", "60000", "--symbols", "200", "--seed", "3",
                    "--pcap", tmp + "/clean.pcap"], check=True, capture_output=True)
    ghdr, recs = read_pcap(tmp + "/clean.pcap")
    out, junk = [], hostile_frames()
    for i, r in enumerate(recs):
        if i == 500:
            continue  # lost datagram: one gap on the session
        out.append(r)
        if i % 300 == 10:
            out.append((r[0], r[1], junk[(i // 300) % len(junk)][0]))
        if i == 1000:
            out.append(recs[990])  # duplicate datagram
    pcap = tmp + "/feed.pcap"
    write_pcap(pcap, ghdr, out)
    n_frames = len(out)

    mport, pport = free_port(), free_port()
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
  - name: feed0
    device: "net_pcap0,rx_pcap=%s"
feed:
  udp_ports: [%d]
  groups: ["233.54.12.111"]
control:
  socket: %s
  metrics: 127.0.0.1:%d
""" % (inst, pcap, PORT, sock, mport))
    metrics_url = "http://127.0.0.1:%d/metrics" % mport

    # 2. Control, then Prometheus scraping it every second.
    procs.start([b["control"], "-c", cfg], tmp + "/control.log")
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    st, body = http_get(metrics_url)
    if st != 200 or "mgw_dataplane_up 0" not in body:
        fail("/metrics before the dataplane: HTTP %d, body:\n%s" % (st, body))
    if any(l.startswith("mgw_pkt") for l in body.splitlines()):
        fail("dataplane series served while detached")
    with open(tmp + "/prometheus.yml", "w") as f:
        f.write("""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mgw
    static_configs:
      - targets: ["127.0.0.1:%d"]
""" % mport)
    procs.start([prometheus, "--config.file=" + tmp + "/prometheus.yml",
                 "--storage.tsdb.path=" + tmp + "/tsdb",
                 "--web.listen-address=127.0.0.1:%d" % pport], tmp + "/prometheus.log")
    prom = "http://127.0.0.1:%d" % pport

    # 3. The dataplane; wait for the whole feed.
    dp = procs.start([b["dataplane"], "-c", cfg], tmp + "/dataplane.log")
    deadline = time.time() + 120
    while True:
        if dp.poll() is not None:
            procs.dump_logs()
            with open(tmp + "/dataplane.log") as f:
                if "EAL init failed" in f.read():
                    raise Skip("DPDK EAL cannot start on this machine")
            fail("mgw-dataplane exited early with %d" % dp.returncode)
        s = status(b, sock)
        if s:
            sess = [x for x in s["dataplane"]["feed_sessions"] if x["session"] == SESSION]
            cs = counters(b, sock)
            if (sess and sess[0]["ended"] and ctr(cs, "mgw_rx_packets_total") == n_frames and
                    ctr(cs, "mgw_ring_rx_book_enqueued_total") == ctr(cs, "mgw_ring_rx_book_dequeued_total")):
                break
        if time.time() > deadline:
            procs.dump_logs()
            fail("feed not fully processed within 120 s")
        time.sleep(0.2)
    # Counters settle (book lcore publishes every 100 us, ports every 100 ms).
    time.sleep(0.5)
    cs = counters(b, sock)
    st_json = status(b, sock)
    for name, labels in (("mgw_mold_gaps_total", {}), ("mgw_mold_duplicate_messages_total", {}),
                         ("mgw_pkt_dropped_total", {"reason": "runt"})):
        if not ctr(cs, name, **labels):
            fail("%s%s is 0: the salted stream should have made it count" % (name, labels))
    log("dataplane processed %d frames" % n_frames)

    # 4. Prometheus: target up, then every counter equal to mgwctl's.
    deadline = time.time() + 60
    while True:
        try:
            st, body = http_get(prom + "/api/v1/targets")
            if st == 200:
                t = json.loads(body)["data"]["activeTargets"]
                if t and t[0]["health"] == "up":
                    break
        except (OSError, ValueError):
            pass
        if time.time() > deadline:
            procs.dump_logs()
            fail("prometheus target never came up")
        time.sleep(0.5)
    log("prometheus target up")

    want = {(name, labels): v for (name, labels), v in cs.items()}
    deadline = time.time() + 30
    while True:
        got = {}
        for m, v in prom_query(prom, '{__name__=~"mgw_.+", lcore!=""}'):
            k = (m["__name__"], label_key(m))
            got[k] = got.get(k, 0) + v
        diff = {k: (v, got.get(k)) for k, v in want.items() if not same(k[0], v, got.get(k))}
        if not diff and len(got) == len(want):
            break
        if time.time() > deadline:
            extra = set(got) - set(want)
            fail("prometheus differs from mgwctl counters --json (mgwctl, prometheus): %s; "
                 "only in prometheus: %s" % (sorted(diff.items())[:10], sorted(extra)[:10]))
        time.sleep(1)
    log("prometheus equals mgwctl for all %d counter rows" % len(want))

    port = st_json["dataplane"]["ports"][0]
    sess = [x for x in st_json["dataplane"]["feed_sessions"] if x["session"] == SESSION][0]
    checks = [
        ('mgw_port_rx_packets_total{port="feed0"}', port["rx_packets"]),
        ('mgw_port_rx_bytes_total{port="feed0"}', port["rx_bytes"]),
        ('mgw_port_rx_missed_total{port="feed0"}', port["rx_missed"]),
        ('mgw_port_link_up{port="feed0"}', 1 if port["link_up"] else 0),
        ('mgw_feed_next_sequence{session="%s"}' % SESSION, sess["next_seq"]),
        ('mgw_feed_gaps_total{session="%s"}' % SESSION, sess["gaps"]),
        ('mgw_feed_gap_messages_total{session="%s"}' % SESSION, sess["gap_messages"]),
        ('mgw_feed_duplicate_messages_total{session="%s"}' % SESSION, sess["duplicate_messages"]),
        ('mgw_feed_session_ended{session="%s"}' % SESSION, 1),
        ("mgw_dataplane_up", 1),
        ("mgw_control_dataplane_attaches_total", 1),
    ]
    for q, v in checks:
        r = prom_query(prom, q)
        if len(r) != 1 or r[0][1] != v:
            fail("prometheus %s = %s, expected %s" % (q, r, v))
    if sess["gaps"] != 1 or sess["duplicate_messages"] == 0:
        fail("session counters: %s (expected 1 gap and some duplicates)" % sess)
    bi = {m["component"]: m for m, v in prom_query(prom, "mgw_build_info") if v == 1}
    if set(bi) != {"control", "dataplane"} or bi["control"]["abi"] != bi["dataplane"]["abi"]:
        fail("mgw_build_info: %s" % bi)
    r = prom_query(prom, "mgw_dataplane_heartbeat_age_seconds")
    if len(r) != 1 or not 0 <= r[0][1] < 5:
        fail("heartbeat age %s" % r)
    r = prom_query(prom, "mgw_control_http_requests_total")
    if len(r) != 1 or r[0][1] < 2:
        fail("http requests %s" % r)
    log("ports, feed session, build info and liveness series match")

    # 5. The format: promtool, HELP/TYPE once, 404 elsewhere.
    st, body = http_get(metrics_url)
    if st != 200:
        fail("/metrics: HTTP %d" % st)
    pt = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True)
    if pt.returncode != 0 or pt.stdout.strip() or pt.stderr.strip():
        fail("promtool check metrics (exit %d):\n%s%s" % (pt.returncode, pt.stdout, pt.stderr))
    types = [l.split()[2] for l in body.splitlines() if l.startswith("# TYPE ")]
    if len(types) != len(set(types)):
        fail("a metric family has two # TYPE lines")
    lcore_ids = [str(x["lcore"]) for x in st_json["dataplane"]["lcores"]]
    lines = [l for l in body.splitlines() if l.startswith('mgw_pkt_dropped_total{lcore="')]
    n_reasons = len([k for k in cs if k[0] == "mgw_pkt_dropped_total"])
    if len(lines) != n_reasons * len(lcore_ids):
        fail("expected one mgw_pkt_dropped_total sample per reason and lcore: %d x %d, got %d" %
             (n_reasons, len(lcore_ids), len(lines)))
    st, _ = http_get(metrics_url.replace("/metrics", "/other"))
    if st != 404:
        fail("/other answered %d, expected 404" % st)
    log("promtool check metrics: clean; /other: 404")

    # 6. DPDK telemetry: same counters through the dataplane's own socket.
    tsock = runtime_dir + "/dpdk_telemetry.v2"
    if not os.path.exists(tsock):
        fail("no DPDK telemetry socket at %s" % tsock)
    cs2 = counters(b, sock)  # the feed is over: only loop counters still move
    greeting, tc = telemetry(tsock, "/mgw/counters")
    if "pid" not in greeting or greeting["pid"] != dp.pid:
        fail("telemetry greeting from another process: %s" % greeting)
    for (name, labels), v in cs2.items():
        t = tc.get(name)
        if labels:
            t = t.get("/".join(lv for _, lv in labels)) if isinstance(t, dict) else None
        if not same(name, v, t):
            fail("telemetry /mgw/counters %s%s = %s, mgwctl %d" % (name, dict(labels), t, v))
    _, per = telemetry(tsock, "/mgw/counters,%s" % lcore_ids[1])
    if per["mgw_rx_packets_total"] != ctr(cs2, "mgw_rx_packets_total") or per["mgw_lcore_loop_passes_total"] == 0:
        fail("telemetry per-lcore rx packets %s" % per["mgw_rx_packets_total"])
    _, tst = telemetry(tsock, "/mgw/status")
    if (tst["instance"] != inst or tst["pid"] != dp.pid or tst["state"] != "running" or
            tst["lcores"] != {lcore_ids[0]: "main", lcore_ids[1]: "rx,book"}):
        fail("telemetry /mgw/status: %s" % tst)
    _, tp = telemetry(tsock, "/mgw/ports")
    if tp["feed0"]["rx_packets"] != port["rx_packets"] or tp["feed0"]["link_up"] != 1:
        fail("telemetry /mgw/ports: %s" % tp)
    log("DPDK telemetry /mgw/counters equals mgwctl (%d rows); /mgw/status, /mgw/ports ok" % len(cs2))

    # 7. Dataplane gone: control metrics only, up 0, in Prometheus too.
    dp.send_signal(signal.SIGTERM)
    if dp.wait(timeout=20) != 0:
        fail("mgw-dataplane exited %d after SIGTERM" % dp.returncode)
    st, body = http_get(metrics_url)
    if "mgw_dataplane_up 0" not in body or "mgw_pkt_dropped_total" in body or "component=\"dataplane\"" in body:
        fail("/metrics after the dataplane stopped:\n%s" % body)
    deadline = time.time() + 15
    while prom_query(prom, "mgw_dataplane_up") != [] and prom_query(prom, "mgw_dataplane_up")[0][1] != 0:
        if time.time() > deadline:
            fail("prometheus never saw mgw_dataplane_up 0")
        time.sleep(0.5)
    log("after the dataplane stopped: mgw_dataplane_up 0, control metrics only")


def main():
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")

    def need_prometheus():
        if not prometheus or not promtool:
            raise Skip("prometheus/promtool not installed (apt-get install prometheus, or tools/install-deps.sh)")

    inst = "prom%d" % os.getpid()
    runtime_dir = "/var/run/dpdk/mgw_" + inst
    return run_test(__doc__, "mgw-prom-",
                    lambda b, tmp, procs: test(b, tmp, procs, prometheus, promtool, inst, runtime_dir),
                    prepare=need_prometheus, check_binaries=True,
                    cleanup=lambda: shutil.rmtree(runtime_dir, ignore_errors=True))


if __name__ == "__main__":
    sys.exit(main())
