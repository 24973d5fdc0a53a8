"""Shared helpers of the end-to-end tests: start and stop the real
processes, and read what mgwctl shows (counters, status) as Python values.

Failures raise Failure, prerequisites the machine lacks raise Skip; each
test's main() hands its body to run_test(), which turns them into exit 1
and exit 77.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

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


ROOT_WHY = "DPDK end-to-end tests need root (for the DPDK runtime and /dev/shm)"


def run_test(doc, tmp_prefix, body, root_why=ROOT_WHY, prepare=None, check_binaries=False,
             dump_logs=False, note_kept=True, keep_on_skip=True, cleanup=None):
    """main() of a test given BUILD_DIR as sys.argv[1]; returns its exit code.

    Prints DOC and returns 2 without a build directory; unless root, logs
    "SKIP: " + ROOT_WHY and returns SKIP. PREPARE() then checks what else the test
    needs (raising Skip). With CHECK_BINARIES a program missing from the build
    is a failure before anything starts. BODY(b, tmp, procs) gets binaries(),
    a fresh directory named TMP_PREFIX... and a Procs; it raises Failure or
    Skip, else passes: "PASS", or "PASS: " + what it returns when that is a
    string. Processes are then stopped, CLEANUP() runs (a Failure it raises
    fails the test). The directory is removed on a pass, kept on a failure
    (and on a skip if KEEP_ON_SKIP), saying so if NOTE_KEPT; DUMP_LOGS prints
    the processes' logs on a failure."""
    if len(sys.argv) < 2:
        print(doc)
        return 2
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        log("SKIP: " + root_why)
        return SKIP
    if prepare is not None:
        try:
            prepare()
        except Skip as e:
            log("SKIP: %s" % e)
            return SKIP
    b = binaries(build)
    if check_binaries:
        for v in b.values():
            if not os.access(v, os.X_OK):
                log("FAIL: missing binary %s" % v)
                return 1
    tmp = tempfile.mkdtemp(prefix=tmp_prefix)
    procs = Procs()
    rc, passed = 1, None
    try:
        passed = body(b, tmp, procs)
        rc = 0
    except Skip as e:
        log("SKIP: %s" % e)
        rc = SKIP
    except Failure as e:
        log("FAIL: %s" % e)
        if dump_logs:
            procs.dump_logs()
    finally:
        procs.stop_all()
        if cleanup is not None:
            try:
                cleanup()
            except Failure as e:
                log("FAIL: %s" % e)
                rc = 1
        if rc == 0 or (rc == SKIP and not keep_on_skip):
            shutil.rmtree(tmp, ignore_errors=True)
        elif note_kept:
            log("logs kept in " + tmp)
    if rc == 0:
        log("PASS: " + passed if isinstance(passed, str) else "PASS")
    return rc


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
