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
