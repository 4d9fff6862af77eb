#!/usr/bin/python3
"""How long a blocked source gets through while someone else's change has
removed its block: run CMD (in the background), and meanwhile connect to
HOST PORT from --src every few milliseconds for --for seconds, each attempt
given --timeout seconds (a dropped SYN just times out). Prints JSON:
{"attempts", "passed", "first_ms", "last_ms", "window_ms"}: times from the
start of CMD; window_ms from the first to the last connection that passed
plus one attempt's timeout (0 when none passed)."""
import argparse
import json
import socket
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--src", required=True)
    ap.add_argument("--timeout", type=float, default=0.02)
    ap.add_argument("--for", dest="dur", type=float, default=3.0)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    t0 = time.monotonic()
    proc = subprocess.Popen(a.cmd)
    passed, attempts = [], 0
    while time.monotonic() - t0 < a.dur:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        try:
            s.bind((a.src, 0))
            s.connect((a.host, a.port))
            passed.append(time.monotonic() - t0)
        except OSError:
            pass
        finally:
            s.close()
        attempts += 1
        time.sleep(0.002)
    proc.wait(timeout=10)
    ms = [round(p * 1000) for p in passed]
    print(json.dumps({"attempts": attempts, "passed": len(ms),
                      "first_ms": ms[0] if ms else None, "last_ms": ms[-1] if ms else None,
                      "window_ms": ms[-1] - ms[0] + round(a.timeout * 1000) if ms else 0}))


if __name__ == "__main__":
    main()
