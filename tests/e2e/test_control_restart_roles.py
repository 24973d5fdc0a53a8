#!/usr/bin/env python3
"""End-to-end: the control plane can die without the dataplane noticing, and
CLI roles are enforced against a second uid.

  * mgw-dataplane replays a small MoldUDP64 capture forever (net_pcap with
    infinite_rx=1), so its counters keep rising;
  * `mgwctl counters clear` (root = admin) stores a baseline;
  * mgw-control is killed with SIGKILL; the dataplane keeps running and its
    counters keep rising, read straight from /dev/shm/mgw.<instance> here
    (an independent reader of the segment layout in dataplane/shm/mgw_shm.h);
  * mgw-control is restarted: it re-attaches, its counters are not lower
    than before, and the baseline survived (value = raw - the same baseline);
  * `counters --tsv`, `--raw` and `mgwctl counters --watch --count 2`;
  * as uid 65534 (nobody, granted viewer): `counters clear` exits 7 with the
    documented message and leaves an audit line in the control log, while
    `status` works; as uid 65533 (no grant, default_role none) even `status`
    is refused.

Usage: test_control_restart_roles.py BUILD_DIR   Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import Skip, fail, log, mgwctl, run_test  # noqa: E402

# mgw_shm_hdr field offsets (dataplane/shm/mgw_shm.h). These fields have not
# moved since ABI 1 (later versions added fields after them), so any ABI is
# read, with sanity checks that fail loudly if the layout ever changes.
HDR_MAGIC, HDR_ABI, HDR_PID, HDR_START = 0, 8, 88, 96
HDR_N_LCORES, HDR_N_COUNTERS, HDR_STRIDE, HDR_DESC_OFF, HDR_BLOCKS_OFF = 124, 648, 652, 656, 664
MAGIC = 0x31304D4853574D47
DESC_ROW = 256


def shm_counter(inst, name):
    """(start_ns, total of counter NAME over all lcore blocks) read from the segment."""
    with open("/dev/shm/mgw." + inst, "rb") as f:
        data = f.read()
    magic, abi = struct.unpack_from("<QI", data, HDR_MAGIC)
    if magic != MAGIC:
        fail("segment magic %x is not mgw's" % magic)
    start_ns, = struct.unpack_from("<Q", data, HDR_START)
    n_lcores, = struct.unpack_from("<I", data, HDR_N_LCORES)
    n_ctr, stride = struct.unpack_from("<II", data, HDR_N_COUNTERS)
    desc_off, blocks_off = struct.unpack_from("<QQ", data, HDR_DESC_OFF)
    if not (1 <= n_lcores <= 65 and 0 < n_ctr < 4096 and stride >= 8 * n_ctr
            and desc_off + n_ctr * DESC_ROW <= len(data) and blocks_off + n_lcores * stride <= len(data)):
        fail("segment header (ABI %d) does not match this test's reader: update HDR_* offsets" % abi)
    for i in range(n_ctr):
        row = desc_off + i * DESC_ROW
        if data[row:row + 64].rstrip(b"\0").decode() == name:
            cid, = struct.unpack_from("<I", data, row + 248)
            return start_ns, sum(struct.unpack_from("<Q", data, blocks_off + s * stride + cid * 8)[0]
                                 for s in range(n_lcores))
    fail("counter %s not in the segment" % name)


def as_uid(uid, argv):
    """Run argv as uid/gid `uid` with no supplementary groups."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          preexec_fn=lambda: (os.setgroups([]), os.setgid(uid), os.setuid(uid)))


def rx_json(b, sock, *extra):
    r = mgwctl(b, sock, "counters", "mgw_rx_packets_total", "--json", *extra)
    c = json.loads(r.stdout)
    return c["counters"][0]["value"], c["counters"][0]["raw"], c["baseline"]


def test(b, tmp, procs):
    os.chmod(tmp, 0o755)  # other uids reach the socket and mgwctl in here
    pcap = tmp + "/feed.pcap"
    subprocess.run([b["itchgen"], "--messages", "20000", "--symbols", "50", "--seed", "5",
                    "--pcap", pcap], check=True, capture_output=True)
    # A copy of mgwctl other uids can surely execute.
    ctl_bin = tmp + "/mgwctl"
    shutil.copy(b["mgwctl"], ctl_bin)
    os.chmod(ctl_bin, 0o755)

    inst = "ctlrr%d" % os.getpid()
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
    device: "net_pcap0,rx_pcap=%s,infinite_rx=1"
feed:
  udp_ports: [26477]
control:
  socket: %s
  socket_mode: "0666"
  metrics: "off"
access:
  default_role: none
  grants:
    - uid: 65534
      role: viewer
""" % (inst, pcap, sock))

    dp = procs.start([b["dataplane"], "-c", cfg], tmp + "/dataplane.log")
    ctl = procs.start([b["control"], "-c", cfg], tmp + "/control.log")
    deadline = time.time() + 60
    while True:
        if dp.poll() is not None:
            with open(tmp + "/dataplane.log") as f:
                text = f.read()
            if "EAL init failed" in text or "has no device" in text:
                raise Skip("DPDK or net_pcap unavailable here:\n" + text)
            fail("mgw-dataplane exited %d:\n%s" % (dp.returncode, text))
        if mgwctl(b, sock, "status", check=False).returncode == 0:
            if rx_json(b, sock)[1] > 0:
                break
        if time.time() > deadline:
            procs.dump_logs()
            fail("dataplane not receiving within 60 s")
        time.sleep(0.2)

    # 1. Baseline as root (admin).
    r = mgwctl(b, sock, "counters", "clear")
    if not os.path.exists(sock + ".baseline"):
        fail("counters clear left no baseline file")
    v1, raw1, bl = rx_json(b, sock)
    base = raw1 - v1
    if not bl or base <= 0:
        fail("after clear: value %d raw %d baseline flag %s" % (v1, raw1, bl))
    log("cleared: rx_packets view %d, raw %d (baseline %d)" % (v1, raw1, base))

    # 2. kill -9 control; the dataplane goes on.
    start0, shm1 = shm_counter(inst, "mgw_rx_packets_total")
    ctl.send_signal(signal.SIGKILL)
    ctl.wait()
    time.sleep(1.0)
    start1, shm2 = shm_counter(inst, "mgw_rx_packets_total")
    if dp.poll() is not None:
        fail("mgw-dataplane died with mgw-control (exit %d)" % dp.returncode)
    if start1 != start0 or shm2 <= shm1:
        fail("dataplane counters did not rise while control was dead: %d -> %d" % (shm1, shm2))
    log("control killed; dataplane kept going: rx_packets %d -> %d in 1 s" % (shm1, shm2))

    # 3. Restart control: re-attach, nothing lower, baseline kept.
    ctl = procs.start([b["control"], "-c", cfg], tmp + "/control2.log")
    for _ in range(100):
        if mgwctl(b, sock, "status", check=False).returncode == 0:
            break
        time.sleep(0.1)
    else:
        fail("restarted mgw-control did not re-attach")
    v2, raw2, bl2 = rx_json(b, sock)
    if raw2 < shm2 or v2 < v1:
        fail("counters went down across the restart: raw %d < %d or view %d < %d" % (raw2, shm2, v2, v1))
    if not bl2 or raw2 - v2 != base:
        fail("baseline lost across kill -9: raw %d view %d (baseline was %d)" % (raw2, v2, base))
    with open(tmp + "/control2.log") as f:
        if "counters baseline loaded" not in f.read():
            fail("restarted control did not say it loaded the baseline")
    vraw, rawraw, blraw = rx_json(b, sock, "--raw")
    if blraw or vraw != rawraw or vraw < raw2:
        fail("--raw should show raw totals: value %d raw %d" % (vraw, rawraw))
    log("control restarted: view %d >= %d, raw %d, baseline %d kept" % (v2, v1, raw2, base))

    # 4. --tsv and --watch.
    tsv = mgwctl(b, sock, "counters", "mgw_pkt_dropped", "--tsv").stdout.splitlines()
    if not tsv or not all(l.startswith("mgw_pkt_dropped_total{reason=\"") and
                          l.split("\t")[1].isdigit() for l in tsv):
        fail("--tsv lines malformed: %r" % tsv[:3])
    w = mgwctl(b, sock, "counters", "mgw_rx_packets", "--watch", "0.3", "--count", "2")
    rows = [l.split() for l in w.stdout.splitlines() if l.startswith("mgw_rx_packets_total")]
    if len(rows) != 2 or rows[0][2] != "-" or float(rows[1][2]) <= 0:
        fail("--watch output unexpected:\n" + w.stdout)
    log("--tsv: %d lines; --watch: rate %s/s" % (len(tsv), rows[1][2]))

    # 5. Roles against other uids.
    r = as_uid(65534, [ctl_bin, "-s", sock, "counters", "clear"])
    want = "'counters clear' needs role operator; uid 65534 (nobody) has role viewer"
    if r.returncode != 7 or want not in r.stderr:
        fail("nobody: counters clear gave %d %r, want 7 and %r" % (r.returncode, r.stderr, want))
    r = as_uid(65534, [ctl_bin, "-s", sock, "status"])
    if r.returncode != 0:
        fail("nobody (viewer): status exited %d: %s" % (r.returncode, r.stderr))
    r = as_uid(65533, [ctl_bin, "-s", sock, "status"])
    if r.returncode != 7 or "has role none" not in r.stderr:
        fail("uid 65533 (no grant, default none): status gave %d %r" % (r.returncode, r.stderr))
    time.sleep(0.2)
    with open(tmp + "/control2.log") as f:
        audit = [l for l in f if l.startswith("audit: ")]
    if not any("uid=65534 gid=65534" in l and 'cmd="counters clear"' in l and "role=viewer" in l
               and l.rstrip().endswith("result=denied") for l in audit):
        fail("no audit line for nobody's refused counters clear:\n" + "".join(audit))
    if not any("uid=65533" in l and 'cmd="status"' in l and "result=denied" in l for l in audit):
        fail("no audit line for uid 65533's refused status:\n" + "".join(audit))
    if any('cmd="status"' in l and "uid=65534" in l for l in audit):
        fail("a read-only command was audited as state-changing")
    v3 = rx_json(b, sock)[0]
    if v3 < v2:
        fail("a refused clear changed the view")
    log("roles: nobody refused counters clear (7) and audited, status ok; uid 65533 refused status")

    # 6. Clean stop of both.
    dp.send_signal(signal.SIGTERM)
    if dp.wait(timeout=20) != 0:
        fail("mgw-dataplane did not exit cleanly")
    ctl.send_signal(signal.SIGTERM)
    if ctl.wait(timeout=10) != 0:
        fail("mgw-control did not exit cleanly")


def main():
    return run_test(__doc__, "mgw-ctlrr-", test, root_why="needs root (DPDK, /dev/shm, and switching to uid 65534)",
                    check_binaries=True, dump_logs=True)


if __name__ == "__main__":
    sys.exit(main())
