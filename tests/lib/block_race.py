#!/usr/bin/python3
"""The race of issue 11 item 4, from the server namespace (run under `ip
netns exec SERVER`): for each source, send failed auth-policy reports for
--users distinct users (enough for a spray block), and the moment the last
report is answered, connect to HOST PORT from that source in the client
namespace (--client-ns, a socket made there beforehand). Prints one JSON
line per round: {"src", "codes", "connected"}."""
import argparse
import ctypes
import http.client
import json
import os
import socket

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + path)
    finally:
        os.close(fd)


def client_sockets(ns, srcs):
    """Sockets bound to each source, made in the client namespace (a
    socket keeps the namespace it was made in)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    setns("/run/netns/" + ns)
    try:
        socks = []
        for s in srcs:
            k = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            k.bind((s, 0))
            k.settimeout(0.8)
            socks.append(k)
        return socks
    finally:
        libc.setns(home, CLONE_NEWNET)
        os.close(home)


def report(policy, key, src, user):
    c = http.client.HTTPConnection(policy[0], policy[1], timeout=5)
    body = json.dumps({"remote": src, "login": user, "protocol": "imap", "tls": True,
                       "success": False})
    c.request("POST", "/policy?command=report", body,
              {"X-API-Key": key, "Content-Type": "application/json"})
    code = c.getresponse().status
    c.close()
    return code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--client-ns", required=True)
    ap.add_argument("--policy", default="127.0.0.1:9744")
    ap.add_argument("--key", required=True)
    ap.add_argument("--users", type=int, default=4)
    ap.add_argument("srcs", nargs="+")
    a = ap.parse_args()
    host, port = a.policy.rsplit(":", 1)
    socks = client_sockets(a.client_ns, a.srcs)
    for src, k in zip(a.srcs, socks):
        codes = [report((host, int(port)), a.key, src, "race%d" % i) for i in range(a.users)]
        try:
            k.connect((a.host, a.port))
            ok = True
        except OSError:
            ok = False
        k.close()
        print(json.dumps({"src": src, "codes": codes, "connected": ok}), flush=True)


if __name__ == "__main__":
    main()
