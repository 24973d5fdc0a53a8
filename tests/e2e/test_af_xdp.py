#!/usr/bin/env python3
"""End-to-end on AF_XDP: the real dataplane on DPDK's net_af_xdp PMD over a veth pair.

Shows that the dataplane runs on a kernel interface through AF_XDP, fed by a
real packet sender rather than a file-backed PMD:

  * creates a network namespace and a veth pair: the sender end inside the
    namespace, the dataplane end in the root namespace (nothing leaves the
    machine: no address is configured, frames only cross the pair);
  * starts mgw-control and mgw-dataplane with the port
    "net_af_xdp0,iface=<veth>,start_queue=0,queue_count=1" (the PMD loads its
    default XDP program, which redirects every frame of queue 0 to the
    AF_XDP socket), EAL without hugepages;
  * brings the sender end up, so the kernel sends its own frames (IPv6
    neighbour discovery, MLD reports...) into the dataplane; a packet socket
    in the namespace records every frame that leaves the sender end;
  * sends an mgw-itchgen MoldUDP64 pcap with tcpreplay at a bounded rate;
  * waits until the session has ended and the rx->book ring is drained,
    checks no gaps, no book refusals, book event counts equal to the offline
    ones, and compares `mgwctl book SYM --depth 64 --json` for the top 10 and
    10 random symbols with mgw-bookdump;
  * checks that every frame the sender end emitted was received, and that
    every frame that was not feed was dropped and counted by reason;
  * stops both processes with SIGTERM, checks clean exits, and always removes
    the namespace and the veth pair.

Usage: test_af_xdp.py BUILD_DIR [--pps N] [--hugepages off|auto|on]
Exit 0 pass, 1 fail, 77 skip (not root, no `ip`, no veth/netns, no
net_af_xdp PMD, no tcpreplay).
"""
import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import (Failure, Skip, by_label, counters, ctr, fail, log, mgwctl,  # noqa: E402
                     run_test, status)

PORT = 26477
GROUP = "233.54.12.111"
SESSION = "MGWDEMO001"


# ---- capture helper (runs inside the namespace) ------------------------------

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_STATISTICS = 6

ICMP6_NAMES = {133: "router_solicitation", 134: "router_advertisement",
               135: "neighbour_solicitation", 136: "neighbour_advertisement",
               143: "mldv2_report", 131: "mld_report", 132: "mld_done"}


def classify(fr):
    """A short description of one frame; 'feed' for the MoldUDP64 datagrams."""
    if len(fr) < 14:
        return "runt"
    et = struct.unpack("!H", fr[12:14])[0]
    off = 14
    while et in (0x8100, 0x88A8) and len(fr) >= off + 4:
        et = struct.unpack("!H", fr[off + 2:off + 4])[0]
        off += 4
    if et == 0x0800 and len(fr) >= off + 20:
        ihl = (fr[off] & 0x0F) * 4
        proto = fr[off + 9]
        if proto == 17 and len(fr) >= off + ihl + 4:
            dport = struct.unpack("!H", fr[off + ihl + 2:off + ihl + 4])[0]
            if dport == PORT:
                return "feed"
            return "ipv4_udp_%d" % dport
        return "ipv4_proto_%d" % proto
    if et == 0x86DD and len(fr) >= off + 40:
        nh = fr[off + 6]
        p = off + 40
        if nh == 0 and len(fr) >= p + 8:  # hop-by-hop options (MLD carries router alert)
            nh = fr[p]
            p += (fr[p + 1] + 1) * 8
        if nh == 58 and len(fr) > p:
            t = fr[p]
            return "ipv6_icmpv6_" + ICMP6_NAMES.get(t, "type_%d" % t)
        return "ipv6_next_%d" % nh
    if et == 0x0806:
        return "arp"
    return "ethertype_0x%04x" % et


def capture_main(iface, outpath):
    """Count the frames leaving IFACE by kind until SIGTERM; write JSON to OUTPATH."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((iface, 0))
    s.settimeout(0.1)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    kinds = {}
    # tell the parent the socket is bound
    with open(outpath + ".ready", "w") as f:
        f.write("1")
    while True:
        try:
            fr, addr = s.recvfrom(65536)
        except socket.timeout:
            if stop:
                break
            continue
        except InterruptedError:
            continue
        except OSError as e:
            # ENETDOWN while the interface is down (before bring-up, after take-down)
            if e.errno != errno.ENETDOWN:
                raise
            if stop:
                break
            time.sleep(0.05)
            continue
        if addr[2] != PACKET_OUTGOING:
            continue
        k = classify(fr)
        kinds[k] = kinds.get(k, 0) + 1
    st = s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    _, drops = struct.unpack("II", st)
    with open(outpath + ".tmp", "w") as f:
        json.dump({"kinds": kinds, "socket_drops": drops}, f)
    os.rename(outpath + ".tmp", outpath)
    return 0


# ---- helpers around the processes -------------------------------------------

def run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
    if check and r.returncode != 0:
        fail("%s exited %d: %s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r


# ---- the test ----------------------------------------------------------------

class Net:
    """A namespace holding the sender end of a veth pair; the other end in the root namespace."""

    def __init__(self, tag):
        self.ns = "mgwx%s" % tag
        self.dp_if = "mgwxd%s" % tag
        self.tx_if = "mgwxs%s" % tag
        self.made_ns = False

    def create(self):
        r = run(["ip", "netns", "add", self.ns], check=False)
        if r.returncode != 0:
            raise Skip("cannot create a network namespace: %s" % r.stderr.strip())
        self.made_ns = True
        r = run(["ip", "link", "add", self.dp_if, "type", "veth", "peer", "name", self.tx_if,
                 "netns", self.ns], check=False)
        if r.returncode != 0:
            raise Skip("cannot create a veth pair: %s" % r.stderr.strip())
        run(["ip", "link", "set", "dev", self.dp_if, "up"])
        run(["ip", "-n", self.ns, "link", "set", "dev", "lo", "up"])

    def sender_up(self):
        run(["ip", "-n", self.ns, "link", "set", "dev", self.tx_if, "up"])

    def sender_down(self):
        run(["ip", "-n", self.ns, "link", "set", "dev", self.tx_if, "down"])

    def in_ns(self, argv):
        return ["ip", "netns", "exec", self.ns] + argv

    def destroy(self):
        # Deleting either end removes the pair; deleting the namespace removes its end.
        if os.path.exists("/sys/class/net/" + self.dp_if):
            subprocess.run(["ip", "link", "del", self.dp_if], capture_output=True)
        if self.made_ns:
            subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        left = []
        if os.path.exists("/sys/class/net/" + self.dp_if):
            left.append(self.dp_if)
        if os.path.exists("/run/netns/" + self.ns):
            left.append("netns " + self.ns)
        return left


def wait_for(pred, timeout, what, on_timeout=None):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            if on_timeout:
                on_timeout()
            fail("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(0.1)


def check_dp_alive(dp, procs, tmp):
    if dp.poll() is None:
        return
    procs.dump_logs()
    with open(tmp + "/dataplane.log") as f:
        text = f.read()
    if "DPDK has no device 'net_af_xdp0'" in text:
        why = [l for l in text.splitlines() if "af_xdp" in l or "vdev" in l or "EAL:" in l]
        raise Skip("the net_af_xdp PMD is not available here: " + " | ".join(why[-4:]))
    fail("mgw-dataplane exited early with %d" % dp.returncode)


def test(b, pps, huge, tmp, procs, net):
    for k, v in b.items():
        if not os.access(v, os.X_OK):
            fail("missing binary %s" % v)
    tcpreplay = shutil.which("tcpreplay") or next(
        (p for p in ("/usr/bin/tcpreplay", "/usr/sbin/tcpreplay", "/usr/local/bin/tcpreplay")
         if os.access(p, os.X_OK)), None)
    if not tcpreplay:
        raise Skip("tcpreplay not found (Debian package tcpreplay, tools/install-deps.sh)")

    # 1. One stream, two forms.
    itch, pcap = tmp + "/feed.itch", tmp + "/feed.pcap"
    run([b["itchgen"], "--messages", "60000", "--symbols", "200", "--seed", "5",
         "--binfile", itch, "--pcap", pcap])
    n_frames = 0
    with open(pcap, "rb") as f:
        data = f.read()
    off = 24
    while off < len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        if incl > 1514:
            fail("pcap frame of %d bytes would not fit the veth MTU" % incl)
        off += 16 + incl
        n_frames += 1
    log("feed: %d MoldUDP64 frames, sent at %d pps (about %.1f s)" % (n_frames, pps, n_frames / pps))

    # 2. The wire: namespace + veth, dataplane end up, sender end still down.
    net.create()
    log("veth %s (dataplane, root namespace) <-> %s (sender, namespace %s)" %
        (net.dp_if, net.tx_if, net.ns))

    # 3. Processes.
    inst = "xdp%d" % os.getpid()
    sock = tmp + "/ctl.sock"
    cfg = tmp + "/mgw.yaml"
    device = "net_af_xdp0,iface=%s,start_queue=0,queue_count=1" % net.dp_if
    with open(cfg, "w") as f:
        f.write("""instance: %s
dataplane:
  hugepages: %s
  memory_mb: 256
  lcores:
    - id: 1
      roles: [rx, book]
ports:
  - name: feed0
    device: "%s"
feed:
  udp_ports: [%d]
  groups: ["%s"]
book:
  max_orders: 1048576
  max_levels: 262144
control:
  socket: %s
""" % (inst, huge, device, PORT, GROUP, sock))
    log("device: " + device)

    ctl = procs.start([b["control"], "-c", cfg], tmp + "/control.log")
    wait_for(lambda: os.path.exists(sock), 10, "the control socket")
    dp = procs.start([b["dataplane"], "-c", cfg], tmp + "/dataplane.log")

    def running():
        check_dp_alive(dp, procs, tmp)
        st = status(b, sock)
        return st if st and st["dataplane"].get("attached") and st["dataplane"]["state"] == "running" \
            else None
    st = wait_for(running, 60, "the dataplane to run", procs.dump_logs)
    port = st["dataplane"]["ports"][0]
    if port["device"] != "net_af_xdp0":
        fail("port device is %s" % port["device"])
    r = run(["ip", "link", "show", "dev", net.dp_if])
    m = re.search(r"\s(xdp|xdpgeneric|xdpdrv|xdpoffload)\s", r.stdout)
    prog = re.search(r"prog/xdp id \d+ name (\S+)", r.stdout)
    if not m or not prog:
        fail("no XDP program on %s while the dataplane runs:\n%s" % (net.dp_if, r.stdout))
    log("XDP program %s attached to %s (mode %s)" % (prog.group(1), net.dp_if,
        "native" if m.group(1) in ("xdp", "xdpdrv") else m.group(1)))

    # 4. Sender end up, watched by a packet socket in the namespace.
    capout = tmp + "/capture.json"
    cap = procs.start(net.in_ns([sys.executable, os.path.abspath(__file__), "--capture",
                                 net.tx_if, capout]), tmp + "/capture.log")
    wait_for(lambda: os.path.exists(capout + ".ready") or cap.poll() is not None, 10,
             "the capture socket")
    if cap.poll() is not None:
        procs.dump_logs()
        fail("capture helper exited %d" % cap.returncode)
    net.sender_up()

    def link_up():
        check_dp_alive(dp, procs, tmp)
        st = status(b, sock)
        return st and st["dataplane"]["ports"][0]["link_up"]
    wait_for(link_up, 20, "the AF_XDP port link")
    time.sleep(1.5)  # let the kernel's bring-up frames (IPv6 DAD, RS, MLD) arrive
    cs0 = counters(b, sock)
    log("after bring-up, before the feed: rx %d frames, drops %s" %
        (ctr(cs0, "mgw_rx_packets_total"), by_label(cs0, "mgw_pkt_dropped_total") or "none"))

    # 5. The feed, from a real sender at a bounded rate.
    t0 = time.time()
    r = subprocess.run(net.in_ns([tcpreplay, "-i", net.tx_if, "--pps", str(pps), pcap]),
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        fail("tcpreplay exited %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    sent = [l for l in r.stdout.splitlines() if "Successful packets" in l or "Failed packets" in l
            or l.startswith("Actual") or l.startswith("Rated")]
    log("tcpreplay (%.1f s): %s" % (time.time() - t0, " | ".join(s.strip() for s in sent)))
    failed = [l for l in sent if "Failed packets" in l and l.split(":")[1].strip() != "0"]
    if failed:
        fail("tcpreplay could not send every frame: " + failed[0])

    def link_stats():
        a = run(["ip", "-s", "link", "show", "dev", net.dp_if], check=False).stdout
        z = run(["ip", "-n", net.ns, "-s", "link", "show", "dev", net.tx_if], check=False).stdout
        return "dataplane end:\n%s\nsender end:\n%s" % (a, z)

    progress = {"rx": -1, "t": time.time()}

    def drained():
        check_dp_alive(dp, procs, tmp)
        st = status(b, sock)
        if not st:
            return None
        sess = [s for s in st["dataplane"]["feed_sessions"] if s["session"] == SESSION]
        cs = counters(b, sock)
        rx = ctr(cs, "mgw_rx_packets_total")
        if rx != progress["rx"]:
            progress.update(rx=rx, t=time.time())
        elif time.time() - progress["t"] > 5:
            # the sender is done and nothing arrives any more: frames were lost on the way
            fail("feed incomplete: %d of %d datagrams received, %d gaps (%d messages), no frame "
                 "for 5 s; tcpreplay rate too high for this machine?\nport: %s\n%s" %
                 (ctr(cs, "mgw_mold_packets_total"), n_frames, ctr(cs, "mgw_mold_gaps_total"),
                  ctr(cs, "mgw_mold_gap_messages_total"), st["dataplane"]["ports"][0],
                  link_stats()))
        enq = ctr(cs, "mgw_ring_rx_book_enqueued_total")
        deq = ctr(cs, "mgw_ring_rx_book_dequeued_total")
        if sess and sess[0]["ended"] and enq == deq and ctr(cs, "mgw_mold_packets_total") >= n_frames:
            return st

    def dump_state():
        procs.dump_logs()
        log(mgwctl(b, sock, "status", check=False).stdout)
        log(mgwctl(b, sock, "counters", check=False).stdout)
    wait_for(drained, 60, "the session to end and the ring to drain", dump_state)
    time.sleep(0.3)  # the book lcore publishes every 100 us; let the last tick land
    cs = counters(b, sock)
    st = status(b, sock)

    # 6. Feed counters: nothing lost, nothing refused, same events as offline.
    mold = ctr(cs, "mgw_mold_packets_total")
    if mold != n_frames:
        fail("MoldUDP64 datagrams accepted %d, sent %d" % (mold, n_frames))
    if ctr(cs, "mgw_mold_gaps_total") or ctr(cs, "mgw_mold_gap_messages_total"):
        fail("gaps on a gap-free stream: %d gaps" % ctr(cs, "mgw_mold_gaps_total"))
    if ctr(cs, "mgw_mold_duplicate_messages_total"):
        fail("duplicates on a stream sent once")
    refused = by_label(cs, "mgw_book_refused_total")
    if refused:
        fail("book refused events on a consistent stream: %s" % refused)
    for name in ("mgw_mold_dropped_total", "mgw_itch_errors_total"):
        if by_label(cs, name):
            fail("%s on a clean stream: %s" % (name, by_label(cs, name)))
    if ctr(cs, "mgw_feed_event_overflow_total"):
        fail("feed event overflow")
    p = st["dataplane"]["ports"][0]
    if p["rx_missed"] or p["rx_errors"] or p["rx_nombuf"]:
        fail("port lost frames: missed %d errors %d nombuf %d" %
             (p["rx_missed"], p["rx_errors"], p["rx_nombuf"]))
    off = run([b["bookdump"], itch, "--top", "0", "--stats"])
    ostats = json.loads(off.stdout.strip().splitlines()[-1])["stats"]
    for kind in ("add", "exec", "exec_px", "cancel", "delete", "replace", "directory", "trading_state"):
        got = ctr(cs, "mgw_book_events_total", kind=kind)
        if got != ostats[kind]:
            fail("book events %s: dataplane %d, offline %d" % (kind, got, ostats[kind]))
    if ctr(cs, "mgw_book_live_orders") != ostats["live_orders"]:
        fail("live orders: dataplane %d, offline %d" % (ctr(cs, "mgw_book_live_orders"),
                                                        ostats["live_orders"]))
    log("feed: %d datagrams, %d book events, no gaps, no refusals, %d live orders as offline" %
        (mold, ctr(cs, "mgw_ring_rx_book_dequeued_total"), ostats["live_orders"]))

    # 7. Books: the 10 busiest and 10 random symbols, 64 levels a side.
    top = [json.loads(l) for l in run([b["bookdump"], itch, "--top", "256", "--depth", "64"]).stdout.splitlines()]
    if len(top) < 20:
        fail("mgw-bookdump listed only %d symbols" % len(top))
    pick = top[:10] + random.Random(5).sample(top[10:], 10)
    for want in pick:
        got = json.loads(mgwctl(b, sock, "book", want["symbol"], "--depth", "64", "--json").stdout)
        if got != want:
            fail("book %s differs:\n dataplane %s\n offline   %s" % (want["symbol"], got, want))
    log("books match for %d symbols (top 10 + 10 random, 64 levels a side)" % len(pick))

    # 8. Every frame the sender end emitted arrived; every non-feed frame was dropped
    #    and counted. Take the sender end down first so the kernel cannot add frames
    #    between the capture and the counters.
    net.sender_down()
    time.sleep(0.5)
    cap.send_signal(signal.SIGTERM)
    if cap.wait(timeout=10) != 0:
        procs.dump_logs()
        fail("capture helper exited %d" % cap.returncode)
    with open(capout) as f:
        capd = json.load(f)
    time.sleep(0.3)
    cs = counters(b, sock)
    rx = ctr(cs, "mgw_rx_packets_total")
    mold = ctr(cs, "mgw_mold_packets_total")
    drops = by_label(cs, "mgw_pkt_dropped_total")
    port_rx = status(b, sock)["dataplane"]["ports"][0]["rx_packets"]
    if port_rx != rx:
        fail("port counted %d frames, rx lcore %d" % (port_rx, rx))
    if rx - mold != sum(drops.values()):
        fail("%d frames were not feed but drop counters sum to %d (%s)" %
             (rx - mold, sum(drops.values()), drops))
    other = {k: v for k, v in capd["kinds"].items() if k != "feed"}
    log("kernel frames from the sender end: %s" % (other or "none"))
    log("dataplane: rx %d = %d feed + %d dropped %s" % (rx, mold, rx - mold, drops or ""))
    if capd["socket_drops"]:
        log("note: the capture socket lost %d frames; exact per-frame accounting not checked" %
            capd["socket_drops"])
    else:
        if capd["kinds"].get("feed", 0) != n_frames:
            fail("capture saw %d feed frames, tcpreplay sent %d" % (capd["kinds"].get("feed", 0), n_frames))
        if rx != sum(capd["kinds"].values()):
            fail("sender end emitted %d frames, dataplane received %d" % (sum(capd["kinds"].values()), rx))
        if rx - mold != sum(other.values()):
            fail("%d non-feed frames sent, %d counted as dropped" % (sum(other.values()), rx - mold))
        log("every frame the sender end emitted (%d) was received; all %d non-feed frames "
            "dropped and counted" % (rx, rx - mold))
    # Books untouched by the extra frames: compare the busiest one again.
    got = json.loads(mgwctl(b, sock, "book", top[0]["symbol"], "--depth", "64", "--json").stdout)
    if got != top[0]:
        fail("book %s changed after the link went down" % top[0]["symbol"])

    # 9. Clean stop.
    dp.send_signal(signal.SIGTERM)
    try:
        rc = dp.wait(timeout=20)
    except subprocess.TimeoutExpired:
        fail("mgw-dataplane did not stop within 20 s of SIGTERM")
    if rc != 0:
        fail("mgw-dataplane exited %d after SIGTERM" % rc)
    if os.path.exists("/dev/shm/mgw." + inst):
        fail("segment left behind after a clean stop")
    r = run(["ip", "link", "show", "dev", net.dp_if])
    if "prog/xdp" in r.stdout or re.search(r"\sxdp(generic|drv|offload)?\s", r.stdout):
        fail("XDP program still attached to %s after the dataplane stopped:\n%s" % (net.dp_if, r.stdout))
    ctl.send_signal(signal.SIGTERM)
    if ctl.wait(timeout=10) != 0:
        fail("mgw-control exited non-zero after SIGTERM")
    if os.path.exists(sock):
        fail("control socket left behind")
    log("both processes stopped cleanly; XDP program detached")


def clear_stale_netns():
    """Namespaces and veths of earlier runs that were killed before their cleanup
    (named after a pid that no longer exists) are removed first."""
    for name in (os.listdir("/run/netns") if os.path.isdir("/run/netns") else []):
        m = re.fullmatch(r"mgwx(\d+)", name)
        if m and not os.path.exists("/proc/" + m.group(1)):
            log("removing stale namespace %s of a killed run" % name)
            stale = Net(m.group(1))
            stale.made_ns = True
            stale.destroy()


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--capture":
        return capture_main(sys.argv[2], sys.argv[3])
    pps, huge = 5000, "off"
    if "--pps" in sys.argv:
        pps = int(sys.argv[sys.argv.index("--pps") + 1])
    if "--hugepages" in sys.argv:
        huge = sys.argv[sys.argv.index("--hugepages") + 1]
    net = Net(os.getpid())

    def on_term(signum, frame):
        raise Failure("stopped by signal %d" % signum)

    def prepare():
        if not shutil.which("ip"):
            raise Skip("`ip` (iproute2) not found")
        clear_stale_netns()
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)

    def cleanup():
        # a killed dataplane leaves its segment; it is this run's own instance
        seg = "/dev/shm/mgw.xdp%d" % os.getpid()
        if os.path.exists(seg):
            os.unlink(seg)
        left = net.destroy()
        if left:
            fail("could not remove %s" % ", ".join(left))

    return run_test(__doc__, "mgw-afxdp-", lambda b, tmp, procs: test(b, pps, huge, tmp, procs, net),
                    root_why="needs root (network namespaces, veth, XDP, the DPDK runtime)",
                    prepare=prepare, keep_on_skip=False, cleanup=cleanup)


if __name__ == "__main__":
    sys.exit(main())
