#!/usr/bin/python3
"""Connect to HOST PORT (optionally from --src) within --timeout seconds.
Exit 0 if the TCP handshake completes, 1 if not. With --count N, make N
connections and print how many succeeded (exit 0 if all did)."""
import argparse
import socket
import sys


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
    a = ap.parse_args()
    ok = 0
    for _ in range(a.count):
        s = connect(a.host, a.port, a.src, a.timeout)
        if s:
            ok += 1
            s.close()
    if a.count > 1:
        print(ok)
    sys.exit(0 if ok == a.count else 1)


if __name__ == "__main__":
    main()
