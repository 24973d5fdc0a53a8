#!/usr/bin/env python3
"""End-to-end: the order path on the dataplane while the feed runs.

mgw-dataplane runs rx, book and match on one lcore over a net_pcap port
replaying an mgw-itchgen capture forever (infinite_rx=1); mgw-control
serves the CLI. Orders go in through mgw-orderinject (it attaches to the
segment without EAL, enqueues dp_order_msg records on the order ring and
prints the reports of the report ring as JSON lines). Checked:

  * accepted / fill / cancel reports with correct leaves, cum and avg_px;
  * one rejection per risk check: max qty, max notional, collar,
    restricted, unknown account, kill switch;
  * no trade-through: every fill price inside the reference BBO that
    `mgwctl book SYMBOL` shows, and a cross outside it is cancelled;
  * `kill on account N` cancels its resting orders and refuses new ones,
    `kill off` accepts again; a global kill too;
  * `mgwctl risk set` changes a limit live and the next order sees it;
  * counters (mgw_exec_reports_total, mgw_orders_total, rejects) and
    `mgwctl positions` agree with the reports seen;
  * backpressure: with nobody reading the report ring, orders above its
    high-water mark are refused with DP_RJ_BACKPRESSURE (counted) and not
    one report is lost;
  * audit lines for risk set and kill; exit codes for unknown accounts and bad usage.

Usage: test_orders.py BUILD_DIR
Exit 0 pass, 1 fail, 77 skip (not root, or DPDK cannot start here).
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgw_e2e import (Skip, counters, ctr, fail, log, mgwctl, run_test, status,  # noqa: E402
                     strip_end_of_session)

PORT = 26477
REPORT_RING = 1024               # headroom 256 (mgw_report_headroom), high-water 767
HIWAT = REPORT_RING - 1 - REPORT_RING // 4


def config_text(inst, pcap, sock):
    return """instance: %s
dataplane:
  hugepages: off
  memory_mb: 512
  lcores:
    - id: 1
      roles: [rx, book, match]
ports:
  - name: feed0
    device: "net_pcap0,rx_pcap=%s,infinite_rx=1"
feed:
  udp_ports: [%d]
book:
  max_symbols: 4096
matching:
  max_orders: 8192
  max_levels: 2048
  max_sessions: 64
  stp: cancel_newest
  order_ring_size: 4096
  report_ring_size: %d
risk:
  accounts:
    - id: 1
      max_order_qty: 1000
      collar_bps: 500
    - id: 2
      max_order_qty: 5000
      stp: none
control:
  socket: %s
  metrics: "off"
""" % (inst, pcap, PORT, REPORT_RING, sock)


class Orders:
    """Sends orders through mgw-orderinject and keeps every report seen."""

    def __init__(self, b, inst):
        self.exe = os.path.join(os.path.dirname(b["dataplane"]), "../../tools/orderinject/mgw-orderinject")
        self.inst = inst
        self.all = []
        self.sent = {"new": 0, "cancel": 0, "replace": 0, "mass": 0}

    def run(self, *orders, wait_ms=300, read=True):
        argv = [self.exe, "-i", self.inst, "-w", str(wait_ms)] + ([] if read else ["-N"]) + list(orders)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail("mgw-orderinject exited %d: %s" % (r.returncode, r.stderr))
        for o in orders:
            self.sent[o.split()[0]] += 1
        reps = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        self.all += reps
        return reps

    def one(self, order, want_kinds):
        reps = self.run(order)
        kinds = [r["kind"] for r in reps]
        if kinds != want_kinds:
            fail("%s: reports %s, expected %s: %s" % (order, kinds, want_kinds, reps))
        return reps


def expect(cond, msg):
    if not cond:
        fail(msg)


def test(b, tmp, procs):
    pcap = tmp + "/feed.pcap"
    subprocess.run([b["itchgen"], "--messages", "20000", "--symbols", "20", "--seed", "11",
                    "--pcap", pcap, "--port", str(PORT)], check=True, capture_output=True)
    # Replayed forever: without its end of session, or the references go stale
    # (session ended) after the first pass (docs/MATCHING.md, "Reference prices").
    expect(strip_end_of_session(pcap) == 1, "one end-of-session frame in the capture")
    inst = "or%d" % os.getpid()
    sock = tmp + "/ctl.sock"
    cfg = tmp + "/mgw.yaml"
    with open(cfg, "w") as f:
        f.write(config_text(inst, pcap, sock))
    dp = procs.start([b["dataplane"], "-c", cfg], tmp + "/dataplane.log")
    ctlp = procs.start([b["control"], "-c", cfg], tmp + "/control.log")
    deadline = time.time() + 60
    while True:
        if dp.poll() is not None:
            procs.dump_logs()
            with open(tmp + "/dataplane.log") as f:
                if "EAL init failed" in f.read():
                    raise Skip("DPDK EAL cannot start on this machine")
            fail("mgw-dataplane exited early with %d" % dp.returncode)
        if os.path.exists(sock):
            r = mgwctl(b, sock, "top", "1", "--json", check=False)
            if r.returncode == 0 and json.loads(r.stdout)["symbols"]:
                # two passes of the capture: the book is complete and stable
                if ctr(counters(b, sock), "mgw_mold_duplicate_messages_total") > 20000:
                    break
        if time.time() > deadline:
            procs.dump_logs()
            fail("feed not replayed twice within 60 s")
        time.sleep(0.3)

    ref = status(b, sock)["dataplane"]["reference"]
    expect(ref["state"] == "valid" and not ref["stale"], "reference under a flowing feed: %s" % ref)
    top = json.loads(mgwctl(b, sock, "top", "1", "--json").stdout)["symbols"][0]
    sym, loc = top["symbol"].strip(), top["locate"]
    book = json.loads(mgwctl(b, sock, "book", sym, "--json").stdout)
    rb, ra = book["bids"][0]["price"], book["asks"][0]["price"]
    ob = json.loads(mgwctl(b, sock, "orders", "book", sym, "--json").stdout)
    expect(ob["reference"] == {"valid": True, "bid": rb, "ask": ra},
           "orders book reference %s, exchange book %d x %d" % (ob["reference"], rb, ra))
    log("symbol %s locate %d reference %d x %d" % (sym, loc, rb, ra))
    o = Orders(b, inst)
    S = "sym=%d" % loc

    # 1. Rest, fill, partial fill, IOC remainder.
    o.one("new acct=1 sess=1 id=1 %s side=B px=%d qty=100" % (S, rb), ["accepted"])
    r = o.one("new acct=2 sess=2 id=1 %s side=S px=%d qty=40" % (S, rb), ["accepted", "fill", "fill"])
    agg, rest = r[1], r[2]
    expect(agg["account"] == 2 and agg["aggressor"] and agg["last_qty"] == 40 and agg["leaves_qty"] == 0
           and agg["cum_qty"] == 40 and agg["avg_px"] == rb, "aggressor fill %s" % agg)
    expect(rest["account"] == 1 and rest["leaves_qty"] == 60 and rest["cum_qty"] == 40
           and rest["avg_px"] == rb and rest["contra"] == 2, "resting fill %s" % rest)
    r = o.one("new acct=2 sess=2 id=2 %s side=S px=%d qty=100 tif=ioc" % (S, rb),
              ["accepted", "fill", "fill", "cancelled"])
    expect(r[2]["leaves_qty"] == 0 and r[2]["cum_qty"] == 100 and r[2]["avg_px"] == rb,
           "acct 1 filled: %s" % r[2])
    expect(r[3]["reason_text"] == "IOC remainder" or r[3]["reason"] == 22, "IOC remainder %s" % r[3])
    expect(r[3]["cum_qty"] == 60 and r[3]["leaves_qty"] == 0, "IOC cancel %s" % r[3])

    # 2. No trade-through: a resting bid above the reference ask cannot be hit there.
    o.one("new acct=1 sess=1 id=3 %s side=B px=%d qty=50" % (S, ra + 100), ["accepted"])
    r = o.one("new acct=2 sess=2 id=3 %s side=S px=%d qty=50" % (S, rb), ["accepted", "cancelled"])
    expect(r[1]["reason"] == 24, "cross outside the reference: %s" % r[1])
    o.one("cancel acct=1 sess=1 id=4 orig=3 %s" % S, ["cancelled"])

    # 3. A resting order, then one rejection per risk check.
    o.one("new acct=1 sess=1 id=5 %s side=B px=%d qty=10" % (S, rb - 100), ["accepted"])
    checks = [
        ("new acct=1 sess=1 id=6 %s side=B px=%d qty=2000" % (S, rb), 40),         # max qty
        ("new acct=1 sess=1 id=7 %s side=B px=%d qty=10" % (S, rb * 12 // 10), 42),  # collar
        ("new acct=9 sess=1 id=8 %s side=B px=%d qty=10" % (S, rb), 47),           # unknown account
    ]
    for order, reason in checks:
        r = o.one(order, ["rejected"])
        expect(r[0]["reason"] == reason, "%s: reason %d, expected %d" % (order, r[0]["reason"], reason))
    # max notional, set live: 10 shares fit, 1000 do not
    dollars = rb * 100 // 10000 + 1
    mgwctl(b, sock, "risk", "set", "1", "max_order_notional", str(dollars))
    o.one("new acct=1 sess=1 id=9 %s side=B px=%d qty=1000" % (S, rb - 100), ["rejected"])
    expect(o.all[-1]["reason"] == 41, "notional: %s" % o.all[-1])
    o.one("new acct=1 sess=1 id=10 %s side=B px=%d qty=10" % (S, rb - 100), ["accepted"])
    mgwctl(b, sock, "risk", "set", "1", "max_order_notional", "0")
    # max qty changed live: the next order sees it
    mgwctl(b, sock, "risk", "set", "1", "max_order_qty", "5")
    o.one("new acct=1 sess=1 id=11 %s side=B px=%d qty=10" % (S, rb - 100), ["rejected"])
    expect(o.all[-1]["reason"] == 40, "live max qty: %s" % o.all[-1])
    rs = json.loads(mgwctl(b, sock, "risk", "show", "1", "--json").stdout)
    expect(rs["accounts"][0]["max_order_qty"] == 5, "risk show after set: %s" % rs)
    mgwctl(b, sock, "risk", "set", "1", "max_order_qty", "1000")
    # restricted symbol, by name
    mgwctl(b, sock, "risk", "set", "1", "restrict", sym)
    o.one("new acct=1 sess=1 id=12 %s side=B px=%d qty=10" % (S, rb - 100), ["rejected"])
    expect(o.all[-1]["reason"] == 45, "restricted: %s" % o.all[-1])
    mgwctl(b, sock, "risk", "set", "1", "unrestrict", sym)
    o.one("new acct=1 sess=1 id=13 %s side=B px=%d qty=10" % (S, rb - 100), ["accepted"])

    # 4. Kill switch: account 1 has three resting orders (5, 10, 13).
    ob = json.loads(mgwctl(b, sock, "orders", "book", sym, "--json").stdout)
    expect(ob["orders"] == 3 and ob["bids"][0] == {"price": rb - 100, "qty": 30, "orders": 3},
           "client book before kill: %s" % ob)
    r = mgwctl(b, sock, "kill", "on", "account", "1", "--json")
    expect(json.loads(r.stdout)["mass_cancel"], "kill on: %s" % r.stdout)
    reps = o.run()  # the mass cancel's reports
    expect(sorted(x["cl_ord_id"] for x in reps if x["kind"] == "cancelled") == [5, 10, 13],
           "kill on cancelled %s" % reps)
    o.one("new acct=1 sess=1 id=14 %s side=B px=%d qty=10" % (S, rb - 100), ["rejected"])
    expect(o.all[-1]["reason"] == 48, "kill switch reject: %s" % o.all[-1])
    o.one("new acct=2 sess=2 id=4 %s side=B px=%d qty=10" % (S, rb - 200), ["accepted"])
    mgwctl(b, sock, "kill", "off", "account", "1")
    o.one("new acct=1 sess=1 id=15 %s side=B px=%d qty=10" % (S, rb - 100), ["accepted"])
    mgwctl(b, sock, "kill", "on", "global")
    reps = o.run()
    expect(sorted(x["cl_ord_id"] for x in reps if x["kind"] == "cancelled") == [4, 15],
           "global kill cancelled %s" % reps)
    o.one("new acct=2 sess=2 id=5 %s side=B px=%d qty=10" % (S, rb - 100), ["rejected"])
    mgwctl(b, sock, "kill", "off", "global")
    ob = json.loads(mgwctl(b, sock, "orders", "book", sym, "--json").stdout)
    expect(ob["orders"] == 0, "client book after the kills: %s" % ob)

    # 5. Every fill inside the reference; positions agree with the fills.
    fills = [x for x in o.all if x["kind"] == "fill"]
    expect(all(rb <= x["last_px"] <= ra for x in fills), "fill outside the reference: %s" % fills)
    pos = {}
    for x in fills:
        q = x["last_qty"] if x["side"] == "B" else -x["last_qty"]
        pos[x["account"]] = pos.get(x["account"], 0) + q
    for acct in (1, 2):
        p = json.loads(mgwctl(b, sock, "positions", str(acct), "--json").stdout)
        rows = {r["locate"]: r for r in p["positions"]}
        expect(rows.get(loc, {}).get("qty") == pos[acct], "positions %d: %s, fills say %d"
               % (acct, p, pos[acct]))
        expect(rows[loc]["avg_px"] == rb, "avg_px %s" % rows[loc])
    log("positions: %s" % pos)

    # 6. Counters agree with the reports seen.
    cs = counters(b, sock)
    for kind in ("accepted", "rejected", "fill", "cancelled", "cancel_rejected"):
        seen = sum(1 for x in o.all if x["kind"] == kind)
        got = ctr(cs, "mgw_exec_reports_total", kind=kind)
        expect(got == seen, "mgw_exec_reports_total{kind=%s} %d, reports seen %d" % (kind, got, seen))
    expect(ctr(cs, "mgw_orders_total", kind="new") == o.sent["new"], "new orders counted")
    expect(ctr(cs, "mgw_orders_total", kind="mass_cancel") == 2, "kill mass cancels counted")
    for reason, label in ((40, "risk_max_qty"), (41, "risk_max_notional"), (42, "risk_price_collar"),
                          (45, "risk_restricted"), (47, "risk_unknown_account"), (48, "kill_switch"),
                          (24, "trade_through")):
        seen = sum(1 for x in o.all if x["reason"] == reason)
        expect(ctr(cs, "mgw_order_rejects_total", reason=label) == seen, "rejects %s" % label)

    # 7. Backpressure: nobody reads the report ring while 900 orders arrive.
    bad = ["new acct=77 sess=3 id=%d %s side=B px=%d qty=1" % (100 + i, S, rb) for i in range(900)]
    o.run(*bad, read=False)
    time.sleep(0.5)
    reps = o.run(wait_ms=500)
    bp = [x for x in reps if x["reason"] == 49]
    expect(len(reps) == 900, "%d reports for 900 orders: none may be lost" % len(reps))
    expect(len(bp) == 900 - (HIWAT + 1), "%d backpressure rejects, expected %d" % (len(bp), 900 - HIWAT - 1))
    expect(ctr(counters(b, sock), "mgw_match_backpressure_total") == len(bp), "backpressure counter")
    o.one("new acct=2 sess=2 id=6 %s side=B px=%d qty=10" % (S, rb - 100), ["accepted"])
    log("backpressure: %d of 900 refused above the high-water mark, all reported" % len(bp))

    # 7b. Risk limits by config reload: the file wins over `risk set`, a new
    # account is created, an account removed is refused, and a reload the
    # match lcore refuses half-way is rolled back (all or nothing).
    def write_risk(risk):
        base = config_text(inst, pcap, sock)
        head, rest = base.split("risk:\n", 1)
        with open(cfg, "w") as f:
            f.write(head + "risk:\n" + risk + rest[rest.index("control:"):])

    def acct(rs, n):
        return next((a for a in rs["accounts"] if a["account"] == n), None)

    mgwctl(b, sock, "risk", "set", "1", "max_order_qty", "7")  # drift: the file will win
    write_risk("  accounts:\n    - id: 1\n      max_order_qty: 50\n      collar_bps: 500\n"
               "    - id: 2\n      max_order_qty: 5000\n      stp: none\n      restricted: [%s]\n"
               "    - id: 3\n      max_order_qty: 20\n" % sym)
    rl = json.loads(mgwctl(b, sock, "config", "reload", "--json").stdout)
    expect(rl["applied"] and rl["epoch"] == 2 and rl["risk_commands"] == 3, "risk reload: %s" % rl)
    rs = json.loads(mgwctl(b, sock, "risk", "show", "--json").stdout)
    expect(acct(rs, 1)["max_order_qty"] == 50 and acct(rs, 1)["collar_bps"] == 500,
           "account 1 after reload: %s" % acct(rs, 1))
    expect(acct(rs, 3) is not None and acct(rs, 3)["max_order_qty"] == 20
           and acct(rs, 3)["collar_bps"] is None, "account 3 created by reload: %s" % rs)
    expect(status(b, sock)["dataplane"]["config_epoch"] == 2, "dataplane epoch 2")
    P = rb - 100
    r = o.one("new acct=1 sess=5 id=1 %s side=B px=%d qty=60" % (S, P), ["rejected"])
    expect(r[0]["reason"] == 40, "reloaded max qty 50: %s" % r)
    o.one("new acct=1 sess=5 id=2 %s side=B px=%d qty=50" % (S, P), ["accepted"])
    o.one("cancel acct=1 sess=5 id=3 orig=2 %s" % S, ["cancelled"])
    r = o.one("new acct=3 sess=6 id=1 %s side=B px=%d qty=21" % (S, P), ["rejected"])
    expect(r[0]["reason"] == 40, "new account's max qty: %s" % r)
    o.one("new acct=3 sess=6 id=2 %s side=B px=%d qty=20" % (S, P), ["accepted"])
    o.one("cancel acct=3 sess=6 id=3 orig=2 %s" % S, ["cancelled"])
    r = o.one("new acct=2 sess=7 id=1 %s side=B px=%d qty=10" % (S, P), ["rejected"])
    expect(r[0]["reason"] == 45, "restricted by reload: %s" % r)
    log("risk reload: epoch 2, max qty 7 (risk set) -> 50 (file), account 3 created, %s restricted" % sym)

    # account 3 removed from the file: refused by name, nothing changes
    write_risk("  accounts:\n    - id: 1\n      max_order_qty: 40\n      collar_bps: 500\n"
               "    - id: 2\n      max_order_qty: 5000\n      stp: none\n      restricted: [%s]\n" % sym)
    r = mgwctl(b, sock, "config", "reload", check=False)
    expect(r.returncode != 0 and "risk.accounts[2].id (3 -> (absent))" in r.stdout + r.stderr
           and "cannot be removed live" in r.stdout + r.stderr, "account removal refused: %s %s"
           % (r.stdout, r.stderr))
    rs = json.loads(mgwctl(b, sock, "risk", "show", "--json").stdout)
    expect(acct(rs, 1)["max_order_qty"] == 50 and acct(rs, 3), "nothing applied: %s" % rs)

    # 64 accounts x 16 restricted names: one pair more than the match stage's list
    # holds (1024, two pairs in use), so the match lcore refuses a restrict after
    # about a thousand applied commands; every one is taken back, and the 61 accounts
    # the reload created get their kill switch on (they cannot be removed live).
    risk = ""
    for n in range(1, 65):
        lim = {1: "      max_order_qty: 77\n      collar_bps: 500\n",
               2: "      max_order_qty: 5000\n      stp: none\n", 3: "      max_order_qty: 20\n"}.get(n, "")
        names = ", ".join("Q%02dN%02d" % (n, k) for k in range(16))
        risk += "    - id: %d\n%s      restricted: [%s]\n" % (n, lim, names)
    write_risk("  accounts:\n" + risk)
    r = subprocess.run([b["mgwctl"], "-s", sock, "-t", "60000", "config", "reload", "--json"],
                       capture_output=True, text=True, timeout=90)
    out = r.stdout + r.stderr
    expect(r.returncode != 0 and "restricted symbol list full" in out and "rolled back" in out
           and "ROLLBACK INCOMPLETE" not in out, "half-way refusal rolled back: %s" % out)
    rs = json.loads(mgwctl(b, sock, "risk", "show", "--json").stdout)
    expect(acct(rs, 1)["max_order_qty"] == 50, "account 1 rolled back: %s" % acct(rs, 1))
    created = [a for a in rs["accounts"] if a["account"] > 3]
    expect(len(created) == 61 and all(a["killed"] for a in created),
           "accounts created by the refused reload are killed: %s" % created[:3])
    cs = json.loads(mgwctl(b, sock, "config", "show", "--json").stdout)
    expect(cs["epoch"] == 2, "config epoch stays 2: %s" % cs["epoch"])
    r = o.one("new acct=1 sess=5 id=4 %s side=B px=%d qty=51" % (S, P), ["rejected"])
    expect(r[0]["reason"] == 40, "account 1 limit is the old one: %s" % r)
    r = o.one("new acct=40 sess=8 id=1 %s side=B px=%d qty=1" % (S, P), ["rejected"])
    expect(r[0]["reason"] == 48, "created account fenced by its kill switch: %s" % r)
    log("risk reload refused half-way: %s" % out.strip()[:300])

    # 8. Exit codes and audit.
    expect(mgwctl(b, sock, "risk", "show", "99", check=False).returncode == 3, "unknown account exit 3")
    expect(mgwctl(b, sock, "kill", "on", "bogus", check=False).returncode == 2, "usage exit 2")
    expect(mgwctl(b, sock, "risk", "set", "1", "nope", "1", check=False).returncode == 2, "bad key exit 2")
    time.sleep(0.3)
    with open(tmp + "/control.log") as f:
        logtxt = f.read()
    for want in ('cmd="kill on account 1 --json" result=ok', 'cmd="risk set 1 max_order_qty 5" result=ok',
                 'cmd="risk set 1 max_order_qty 50" via="config reload epoch=2" result=ok old=7 new=50',
                 'cmd="risk set 3 max_order_qty 20" via="config reload epoch=2" result=ok old=0 new=20',
                 'cmd="risk set 1 max_order_qty 50" via="config reload epoch=3 rollback" result=ok',
                 'result=refused epoch=2'):
        expect(want in logtxt, "audit line missing: %s" % want)
    expect(dp.poll() is None and ctlp.poll() is None, "a process died")
    return "%d reports checked" % len(o.all)


def main():
    return run_test(__doc__, "mgw-orders-", test, dump_logs=True, note_kept=False)


if __name__ == "__main__":
    sys.exit(main())
