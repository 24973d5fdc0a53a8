"""Shared helpers of the end-to-end tests: start and stop the real
processes, and read what mgwctl shows (counters, status) as Python values.

Failures raise Failure, prerequisites the machine lacks raise Skip; each
test's main() turns them into exit 1 and exit 77.
"""
import json
import subprocess

SKIP = 77


def log(msg):
    print(msg, flush=True)


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def fail(msg):
    raise Failure(msg)


class Procs:
    """Background processes of one test, each logging to a file."""

    def __init__(self):
        self.procs = []

    def start(self, argv, logpath):
        f = open(logpath, "w")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)
        self.procs.append((p, f, logpath))
        return p

    def stop_all(self):
        for p, f, _ in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            f.close()

    def dump_logs(self):
        for _, _, path in self.procs:
            log("---- " + path)
            try:
                with open(path) as f:
                    log(f.read()[-4000:])
            except OSError:
                pass


def binaries(build):
    """Paths of the programs under test in a CMake build directory."""
    return {
        "itchgen": build + "/tools/itchgen/mgw-itchgen",
        "bookdump": build + "/tools/bookdump/mgw-bookdump",
        "dataplane": build + "/dataplane/core/mgw-dataplane",
        "control": build + "/control/server/mgw-control",
        "mgwctl": build + "/control/cli/mgwctl",
    }


def mgwctl(b, sock, *args, check=True):
    r = subprocess.run([b["mgwctl"], "-s", sock] + list(args), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        fail("mgwctl %s exited %d: %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def counters(b, sock):
    """{(name, ((label, value), ...)): value} from mgwctl counters --json."""
    r = mgwctl(b, sock, "counters", "--json")
    out = {}
    for c in json.loads(r.stdout)["counters"]:
        key = (c["name"], tuple(sorted(c["labels"].items())))
        out[key] = c["value"]
    return out


def ctr(cs, name, **labels):
    return cs.get((name, tuple(sorted(labels.items()))), 0)


def by_label(cs, name):
    """{label value: count} of the non-zero counters called NAME."""
    return {",".join("%s=%s" % kv for kv in k[1]): v for k, v in cs.items() if k[0] == name and v}


def status(b, sock):
    """mgwctl status --json as a dict, or None when it does not answer 0."""
    r = mgwctl(b, sock, "status", "--json", check=False)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def strip_end_of_session(pcap):
    """Rewrite an mgw-itchgen pcap without its MoldUDP64 end-of-session packet.

    The dataplane marks reference prices stale once every session has ended
    (and an ended session stays ended), so a capture replayed forever
    (net_pcap infinite_rx=1) that an order test trades against must not end
    its session. Frames are Ethernet/IPv4/UDP without VLAN tags, as
    mgw-itchgen writes them. Returns the number of frames removed."""
    import struct
    with open(pcap, "rb") as f:
        data = f.read()
    out, pos, removed = [data[:24]], 24, 0
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        rec = data[pos:pos + 16 + incl]
        frame = rec[16:]
        pos += 16 + incl
        if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 17:
            ihl = (frame[14] & 15) * 4
            mold = frame[14 + ihl + 8:]
            if len(mold) >= 20 and mold[18:20] == b"\xff\xff":
                removed += 1
                continue
        out.append(rec)
    with open(pcap, "wb") as f:
        f.write(b"".join(out))
    return removed
