#!/usr/bin/python3
"""Hostile clients of the auth-policy server (bounded in count and time).

  policy_abuse.py HOST:PORT API_KEY CHECK

CHECK is one of: auth, bodies, slowloris, concurrent. Prints one JSON
object with what happened."""
import json
import socket
import sys
import threading
import time

HOST, PORT = sys.argv[1].split(":")
PORT = int(PORT)
KEY = sys.argv[2]
REQ = {"remote": "198.18.9.9", "login": "victim", "protocol": "imap", "tls": True,
       "secured": "TLS", "success": False, "policy_reject": False}


def raw(data, timeout=5.0):
    """Send raw bytes; return the status code (0 if closed without one)."""
    s = socket.create_connection((HOST, PORT), timeout)
    try:
        s.sendall(data)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return int(buf.split(b" ")[1]) if buf.startswith(b"HTTP/1.") else 0
    except OSError:
        return 0
    finally:
        s.close()


def post(body, headers=None, command="report", method="POST"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    h = {"Host": "x", "Content-Type": "application/json", "Content-Length": str(len(body))}
    h.update(headers if headers is not None else {"X-API-Key": KEY})
    head = f"{method} /policy?command={command} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in h.items()) + "Connection: close\r\n\r\n"
    return raw(head.encode() + body)


def check_auth():
    return {"missing": post(REQ, headers={}),
            "wrong_key": post(REQ, headers={"X-API-Key": KEY[:-1] + "x"}),
            "wrong_bearer": post(REQ, headers={"Authorization": "Bearer nope"}),
            "basic": post(REQ, headers={"Authorization": "Basic " + KEY}),
            "prefix_of_key": post(REQ, headers={"X-API-Key": KEY[:8]})}


def check_bodies():
    chunked = ("POST /policy?command=report HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY +
               "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    big = b"a" * 4096
    chunked += b"".join(b"1000\r\n" + big + b"\r\n" for _ in range(6)) + b"0\r\n\r\n"
    return {"oversized": post("x" * 20000),
            "oversized_chunked": raw(chunked),
            "broken_json": post('{"remote": "198.18.9.9", '),
            "array": post([REQ]),
            "trailing_garbage": post(json.dumps(REQ) + "}}"),
            "no_remote": post({"login": "victim", "success": False}),
            "remote_not_ip": post(dict(REQ, remote="not-an-ip")),
            "remote_is_cidr": post(dict(REQ, remote="198.18.9.0/24")),
            "deep_nesting": post('{"a":' * 100 + "1" + "}" * 100),
            "huge_string": post(dict(REQ, login="x" * 9000)),
            "unknown_command": post(REQ, command="reboot"),
            "get": post("", method="GET"),
            "unknown_fields_ignored": post(dict(REQ, remote="198.18.9.8", extra={"x": [1, 2]},
                                                success=True), command="allow")}


def check_slowloris():
    """200 connections that dribble a header byte by byte, then a real one."""
    socks = []
    for _ in range(200):
        try:
            s = socket.create_connection((HOST, PORT), 2)
            s.sendall(b"POST /policy?command=allow HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            pass
    t0 = time.time()
    while time.time() - t0 < 3:
        for s in socks:
            try:
                s.send(b"X")
            except OSError:
                pass
        time.sleep(0.5)
    t1 = time.monotonic()
    code = post(dict(REQ, success=True), command="allow")
    took = time.monotonic() - t1
    for s in socks:
        s.close()
    return {"held": len(socks), "good_request": code, "good_seconds": round(took, 3)}


def check_concurrent():
    """1000 requests at once, in 100 threads, keep-alive where allowed."""
    codes = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            c = post(dict(REQ, success=True, remote="198.18.9.10"), command="allow")
            with lock:
                codes.append(c)

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(100)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    t1 = time.monotonic()
    after = post(dict(REQ, success=True), command="allow")
    return {"requests": len(codes), "ok": codes.count(200), "seconds": round(t1 - t0, 2),
            "after": after, "after_seconds": round(time.monotonic() - t1, 3)}


print(json.dumps({"auth": check_auth, "bodies": check_bodies, "slowloris": check_slowloris,
                  "concurrent": check_concurrent}[sys.argv[3]]()))
