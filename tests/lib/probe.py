#!/usr/bin/python3
"""Connect to HOST PORT (optionally from --src) within --timeout seconds.
Exit 0 if the TCP handshake completes, 1 if not. With --count N, make N
connections and print how many succeeded (exit 0 if all did); with
--interval S, attempts start S seconds apart (a paced client). With
--srcs A,B,..., one attempt from each source; prints how many connected. With
--hold S, keep them open S seconds, then print JSON saying how many are
still alive (the lab server echoes) and how many were reset."""
import argparse
import json
import socket
import sys
import time


def connect(host, port, src, timeout):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if src:
            s.bind((src, 0))
        s.connect((host, port))
        return s
    except OSError:
        s.close()
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--src")
    ap.add_argument("--timeout", type=float, default=0.8)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--hold", type=float)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--srcs")
    a = ap.parse_args()
    if a.srcs:
        n = 0
        for src in a.srcs.split(","):
            s = connect(a.host, a.port, src, a.timeout)
            if s:
                n += 1
                s.close()
        print(n)
        sys.exit(0)
    ok = 0
    held = []
    start = time.monotonic()
    for i in range(a.count):
        if a.interval:
            time.sleep(max(0.0, start + i * a.interval - time.monotonic()))
        s = connect(a.host, a.port, a.src, a.timeout)
        if s:
            ok += 1
            if a.hold is None:
                s.close()
            else:
                held.append(s)
    if a.hold is not None:
        time.sleep(a.hold)
        alive = reset = 0
        for s in held:
            s.settimeout(1.0)
            try:
                s.sendall(b"x")
                if s.recv(16):
                    alive += 1
                else:
                    reset += 1
            except OSError:
                reset += 1
            s.close()
        print(json.dumps({"connected": ok, "alive": alive, "reset": reset}))
        sys.exit(0)
    if a.count > 1:
        print(ok)
    sys.exit(0 if ok == a.count else 1)


if __name__ == "__main__":
    main()
