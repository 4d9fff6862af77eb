#!/usr/bin/python3
"""Continuous probing for tests/netns/test_onetruth.sh, and the judge.

  onetruth.py tcp  --out FILE --stop FILE --dst4 A --dst6 B --port P KIND=ADDR...
      every --interval s (0.1) a TCP connect from each source ADDR (bound
      to it) to the server, with a --timeout (0.3 s): "pass" when the
      handshake completes, "drop" when it does not within the timeout,
      "refused" on a reset. Sockets are non-blocking, so a dropped probe
      does not delay the next one. Runs in the client namespace.
  onetruth.py auth --out FILE --stop FILE --url URL --key KEY KIND=REMOTE...
      every --interval s the agent's auth-policy answer to
      POST URL?command=allow for each REMOTE (any text Dovecot could send:
      an IPv4-mapped or non-canonical IPv6 address too): "accept" (status
      0), "reject" (negative), "tarpit" (positive), "error". Runs in the
      server namespace, on one keep-alive connection.
  Both write one JSON line per probe: kind, addr, t0 (just before the
  attempt), t1 (its answer, or t0 + timeout for a drop), verdict; times
  are CLOCK_REALTIME seconds, as bash's $EPOCHREALTIME. Both stop when the
  stop file exists or after --max-seconds (bounded either way).

  onetruth.py after --src S --dst D --port P [--timeout T] -- CMD...
      runs CMD (a change), and the moment it returns, from the same
      process, a TCP connect from S: no process start between the two.
      Prints JSON: rc (CMD's exit status), t0 and t1 (when CMD started and
      returned), after_ms
      (from then to the SYN), verdict (pass | drop | refused | error).
  onetruth.py judge --timeline FILE --tcp FILE --auth FILE --attach X
      judges every probe against the listed state (see judge() below) and
      prints one line per assertion: "ok<TAB>description" or
      "fail<TAB>description", with "#" lines of detail. Exit 0.
"""
import argparse
import errno
import http.client
import ipaddress
import json
import os
import selectors
import socket
import subprocess
import sys
import time


def parse_pairs(pairs):
    out = []
    for p in pairs:
        kind, _, addr = p.partition("=")
        out.append((kind, addr))
    return out


def run_tcp(a):
    srcs = parse_pairs(a.sources)
    sel = selectors.DefaultSelector()
    out = open(a.out, "w", buffering=1)
    start = time.monotonic()
    tick = 0
    pending = {}  # fd -> (sock, kind, addr, t0, deadline)

    def finish(fd, verdict, t1):
        s, kind, addr, t0, _ = pending.pop(fd)
        sel.unregister(s)
        s.close()
        out.write(json.dumps({"kind": kind, "addr": addr, "t0": t0, "t1": t1,
                              "verdict": verdict}) + "\n")

    while True:
        now = time.monotonic()
        stopping = (os.path.exists(a.stop) or now - start > a.max_seconds)
        if stopping and not pending:
            break
        if not stopping and now >= start + tick * a.interval:
            tick += 1
            for kind, addr in srcs:
                fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setblocking(False)
                s.bind((addr, 0))
                t0 = time.time()
                rc = s.connect_ex((a.dst6 if fam == socket.AF_INET6 else a.dst4, a.port))
                if rc not in (0, errno.EINPROGRESS):
                    out.write(json.dumps({"kind": kind, "addr": addr, "t0": t0,
                                          "t1": time.time(), "verdict": "error"}) + "\n")
                    s.close()
                    continue
                pending[s.fileno()] = (s, kind, addr, t0, time.monotonic() + a.timeout)
                sel.register(s, selectors.EVENT_WRITE)
        wait = max(0.0, min([start + tick * a.interval - time.monotonic()] +
                            [p[4] - time.monotonic() for p in pending.values()]))
        for key, _ in sel.select(min(wait, 0.05)):
            fd = key.fileobj.fileno()
            err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            finish(fd, "pass" if err == 0 else
                   "refused" if err == errno.ECONNREFUSED else "error", time.time())
        now = time.monotonic()
        for fd in [fd for fd, p in pending.items() if p[4] <= now]:
            t0 = pending[fd][3]
            finish(fd, "drop", t0 + a.timeout)
    out.close()


# the user every auth probe logs in as
AUTH_USER = "probe"


def run_auth(a):
    remotes = parse_pairs(a.sources)
    u = a.url.split("://", 1)[1]
    hostport, _, path = u.partition("/")
    host, _, port = hostport.rpartition(":")
    conn = None
    out = open(a.out, "w", buffering=1)
    start = time.monotonic()
    tick = 0
    while not os.path.exists(a.stop) and time.monotonic() - start < a.max_seconds:
        time.sleep(max(0.0, start + tick * a.interval - time.monotonic()))
        tick += 1
        for kind, remote in remotes:
            body = json.dumps({"remote": remote, "login": AUTH_USER, "protocol": "imap",
                               "tls": True})
            t0 = time.time()
            verdict = "error"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=2)
                conn.request("POST", "/" + path + "?command=allow", body,
                             {"X-API-Key": a.key, "Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                if r.status == 200:
                    st = json.loads(data)["status"]
                    verdict = "accept" if st == 0 else "reject" if st < 0 else "tarpit"
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                conn = None
            out.write(json.dumps({"kind": kind, "addr": remote, "t0": t0, "t1": time.time(),
                                  "verdict": verdict}) + "\n")
    out.close()


def run_after(a):
    t0 = time.time()
    r = subprocess.run(a.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    t1 = time.time()
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    s.bind((a.src, 0))
    t_syn = time.time()
    try:
        s.connect((a.dst, a.port))
        verdict = "pass"
    except socket.timeout:
        verdict = "drop"
    except ConnectionRefusedError:
        verdict = "refused"
    except OSError:
        verdict = "error"
    s.close()
    sys.stderr.write(r.stderr.decode(errors="replace"))
    print(json.dumps({"rc": r.returncode, "t0": t0, "t1": t1, "after_ms": round((t_syn - t1) * 1000, 2),
                      "verdict": verdict}))


# ---------------------------------------------------------------- the judge

def canon(addr):
    """An address as the data plane keys it: IPv4-mapped IPv6 is IPv4."""
    ip = ipaddress.ip_address(addr)
    if ip.version == 6 and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def covers(nets, ip):
    return any(ip.version == n.version and ip in n for n in nets)


def read_policy(path):
    """[allow]/[deny] cidr lists and `default` of a policy file."""
    pol = {"allow": [], "deny": [], "default": "allow"}
    section = ""
    with open(path) as f:
        for line in f:
            line = line.split(" ;")[0].strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif "=" in line:
                k, v = (x.strip() for x in line.split("=", 1))
                if section in ("allow", "deny") and k == "cidr":
                    pol[section] += [ipaddress.ip_network(c.strip()) for c in v.split(",")]
                elif section == "general" and k == "default":
                    pol["default"] = v
    return pol


def standing(ip, snap, pol):
    """The precedence of a policed port whose action is allow (README,
    "Precedence on a policed port"), from the listed state."""
    if covers(pol["allow"], ip):
        return "allow_list"
    if covers(pol["deny"], ip):
        return "deny_list"
    if covers(snap["blocks"], ip):
        return "blocked"
    if pol["default"] == "deny" and not covers(snap["grants"], ip):
        return "default_deny"
    return "pass"


def expect(channel, st, snap):
    """The verdict the listed standing implies. The auth policy follows the
    data plane's precedence (README, "Dovecot auth policy"): the allow list
    accepts, the deny list and a block reject (`denied`, `blocked`), and
    default deny without a source grant rejects (`no_grant`) unless the
    login's user ("probe") holds a user grant."""
    if channel == "tcp":
        return "pass" if st in ("allow_list", "pass") else "drop"
    if st == "default_deny" and AUTH_USER in snap["users"]:
        return "accept"
    return {"allow_list": "accept", "pass": "accept", "blocked": "reject",
            "deny_list": "reject", "default_deny": "reject"}[st]


def load_timeline(path):
    changes, snaps = [], []
    pols = {}
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            if ev["ev"] == "change":
                changes.append(ev)
            elif ev["ev"] == "snap":
                if ev["policy"] not in pols:
                    pols[ev["policy"]] = read_policy(ev["policy"])
                snaps.append({
                    "t0": ev["t0"], "t1": ev["t1"], "pol": pols[ev["policy"]],
                    "blocks": [ipaddress.ip_network(b["prefix"]) for b in ev["blocks"]["blocks"]],
                    "grants": [ipaddress.ip_network(g["source"]) for g in ev["grants"]["grants"]
                               if g.get("kind") == "source"],
                    "users": {g["user"] for g in ev["grants"]["grants"]
                              if g.get("kind") == "user"}})
    return changes, snaps


def quiet_intervals(changes, snaps):
    """The times between change windows (overlapping ones merged), each
    with the listings taken wholly inside it: there, the listed state is
    what those listings say."""
    merged = []
    for t0, t1 in sorted((c["t0"], c["t1"]) for c in changes):
        if merged and t0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], t1)
        else:
            merged.append([t0, t1])
    bounds = [-1e18] + [x for w in merged for x in w] + [1e18]
    out = []
    for lo, hi in zip(bounds[0::2], bounds[1::2]):
        inside = [s for s in snaps if s["t0"] >= lo and s["t1"] <= hi]
        if inside:
            out.append({"lo": lo, "hi": hi, "snaps": inside})
    return out


def runs(bad, origin):
    """Contradictions as runs of consecutive probes of one source."""
    out = []
    for p, want in sorted(bad, key=lambda x: (x[0]["addr"], x[0]["t0"])):
        r = out[-1] if out else None
        if r and r["addr"] == p["addr"] and p["t0"] - r["last"] < 0.5:
            r["last"], r["n"] = p["t0"], r["n"] + 1
        else:
            out.append({"addr": p["addr"], "got": p["verdict"], "want": want,
                        "first": p["t0"], "last": p["t0"], "n": 1})
    return [dict(r, first=r["first"] - origin, last=r["last"] - origin) for r in out]


def judge(a):
    """Judge every probe (see tests/netns/test_onetruth.sh for the rules)."""
    changes, snaps = load_timeline(a.timeline)
    flush = next((c for c in changes if c.get("flush")), None)
    t_end = max(s["t1"] for s in snaps)
    origin = snaps[0]["t0"]
    quiet = quiet_intervals(changes, snaps)
    phases = sorted((c["t0"], c["label"]) for c in changes)

    def phase(t):
        return ([lab for t0, lab in phases if t0 <= t + origin] or ["start"])[-1]

    results = {}
    for channel, path in (("tcp", a.tcp), ("auth", a.auth)):
        with open(path) as f:
            probes = [json.loads(x) for x in f if x.strip()]
        for p in probes:
            # the network's verdicts after someone else's flush: one account
            after_flush = flush is not None and p["t0"] >= flush["t0"] and channel == "tcp"
            key = (channel, "after someone else's flush" if after_flush else p["kind"])
            r = results.setdefault(key, {"judged": 0, "ambiguous": 0, "bad": [],
                                         "excused": []})
            if p["t1"] > t_end:
                r["ambiguous"] += 1
                continue
            ip = canon(p["addr"])
            # the quiet intervals the probe touches; when it lies between
            # two (in flight during a change), the ones on both sides
            touched = [q for q in quiet if q["lo"] <= p["t1"] and q["hi"] >= p["t0"]]
            inside = len(touched) == 1 and touched[0]["lo"] <= p["t0"] and \
                p["t1"] <= touched[0]["hi"]
            if not inside:
                before = [q for q in quiet if q["hi"] <= p["t0"]]
                after = [q for q in quiet if q["lo"] >= p["t1"]]
                touched = touched + before[-1:] + after[:1]
            wants = {expect(channel, standing(ip, s, s["pol"]), s) for q in touched
                     for s in q["snaps"]}
            if len(wants) != 1:
                r["ambiguous"] += 1
                continue
            want = wants.pop()
            r["judged"] += 1
            if p["verdict"] == want:
                continue
            # the rebuild window the issue accepts: the network's verdicts,
            # with attach = nft, within window_s of the flush's end
            if after_flush and flush["flush"] == a.attach and \
                    p["t0"] <= flush["t1"] + flush["window_s"]:
                r["excused"].append(p)
                continue
            r["bad"].append((p, want))

    for (channel, kind), r in sorted(results.items(), key=lambda x: (x[0][0], "~" in x[0][1],
                                                                      x[0][1])):
        desc = (f"{a.attach}: {channel} from {kind}: {r['judged']} probes judged, "
                f"{len(r['bad'])} contradict the listed state ({r['ambiguous']} in flight "
                "across a change that moves them, not judged")
        if flush is not None and kind.startswith("after"):
            desc = (f"{a.attach}: {channel} probes of every kind {kind}: {r['judged']} judged, "
                    f"{len(r['bad'])} contradict the listed state")
            if flush["flush"] == a.attach:
                last = max([p["t1"] for p in r["excused"]] +
                           [p["t1"] for p, _ in r["bad"]] + [flush["t1"]])
                desc += (f" beyond the accepted {flush['window_s'] * 1000:.0f} ms rebuild "
                         f"window ({len(r['excused'])} within it; the last contradicting "
                         f"probe ended {(last - flush['t1']) * 1000:.0f} ms after the flush")
            else:
                desc += " (no window accepted here"
        print(("ok" if r["judged"] and not r["bad"] else "fail") + "\t" + desc + ")")
        for x in runs(r["bad"], origin)[:8]:
            print(f"#   {x['addr']}: {x['n']} probes got {x['got']}, the listed state says "
                  f"{x['want']}, from +{x['first']:.2f} s to +{x['last']:.2f} s "
                  f"(after '{phase(x['first'])}')")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("tcp", "auth"):
        p = sub.add_parser(name)
        p.add_argument("--out", required=True)
        p.add_argument("--stop", required=True)
        p.add_argument("--interval", type=float, default=0.1)
        p.add_argument("--max-seconds", type=float, default=120)
        p.add_argument("sources", nargs="+")
    sub.choices["tcp"].add_argument("--dst4", required=True)
    sub.choices["tcp"].add_argument("--dst6", required=True)
    sub.choices["tcp"].add_argument("--port", type=int, required=True)
    sub.choices["tcp"].add_argument("--timeout", type=float, default=0.3)
    sub.choices["auth"].add_argument("--url", required=True)
    sub.choices["auth"].add_argument("--key", required=True)
    f = sub.add_parser("after")
    f.add_argument("--src", required=True)
    f.add_argument("--dst", required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--timeout", type=float, default=0.3)
    f.add_argument("command", nargs="+")
    j = sub.add_parser("judge")
    for x in ("--timeline", "--tcp", "--auth", "--attach"):
        j.add_argument(x, required=True)
    a = ap.parse_args()
    {"tcp": run_tcp, "auth": run_auth, "after": run_after, "judge": judge}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
