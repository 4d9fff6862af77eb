#!/usr/bin/python3
"""Idle connections: open COUNT connections from SRC to HOST:PORT, send
nothing, and after WAIT seconds print how many the server still holds.

  idle_conns.py SRC HOST:PORT COUNT WAIT"""
import json
import socket
import sys
import time

src, dst, count, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
host, port = dst.rsplit(":", 1)
socks = []
for _ in range(count):
    s = socket.socket()
    s.bind((src, 0))
    s.connect((host, int(port)))
    s.setblocking(False)
    socks.append(s)
time.sleep(wait)


def alive(s):
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


print(json.dumps({"opened": count, "open_after": sum(alive(s) for s in socks)}))
