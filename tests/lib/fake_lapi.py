#!/usr/bin/python3
"""A lying CrowdSec Local API: GET /v1/decisions/stream answers what the
file MODE_FILE names (read at each request), on ADDR PORT. Modes:
  garbage   an HTML error page with HTTP 200
  many      N decisions (N from the mode line, "many 2000"), all valid
  startup   "many N", and one decision in test_fleet's allow list
            (198.18.70.77) and one Range (198.18.121.0/24)
  huge      a valid start, then MB megabytes of spaces ("huge 300"), no end
  bulk      N Ip decisions from 198.18.4.1 up ("bulk 100000"), their
            scenarios a few real CrowdSec names in turn
  badaddr   one good decision and one whose address does not parse
  forbidden HTTP 403, as for a wrong key
  hang      headers and the first bytes, then nothing for S seconds ("hang 60")
  good      one valid decision (198.18.99.1), as the real LAPI gives it
  slowstart nothing for S seconds, not even the headers, then "good"
            ("slowstart 13"), as CrowdSec 1.4.6 builds a large answer whole
            before its first byte
  reject    the watcher side: POST /v1/watchers/login gives a token, POST
            /v1/alerts answers HTTP 500 with a validation error, as the LAPI
            does for an alert it refuses; the stream is empty
  relogin   the same, but POST /v1/alerts answers 401 to the first token
            (fake.jwt.1, as for an expired JWT) and 201 to later ones
Each POST /v1/alerts appends its Authorization header to MODE_FILE.alerts,
each login a line to MODE_FILE.logins (the Nth login's token is fake.jwt.N).
Prints "listening" once bound."""
import http.server
import json
import sys
import time


def decision(i, value, duration="1h"):
    return {"duration": duration, "id": i, "origin": "cscli", "scenario": "fake",
            "scope": "Ip", "type": "ban", "value": value}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        words = open(MODE_FILE).read().split()
        mode = words[0] if words else "good"
        arg = int(words[1]) if len(words) > 1 else 0
        try:
            if mode == "garbage":
                self.send(200, b"<html><body>502 Bad Gateway</body></html>")
            elif mode == "many":
                new = [decision(i, "198.18.%d.%d" % (100 + i // 250, 1 + i % 250))
                       for i in range(arg)]
                self.send(200, json.dumps({"deleted": None, "new": new}).encode())
            elif mode == "startup":
                new = [decision(i, "198.18.%d.%d" % (100 + i // 250, 1 + i % 250))
                       for i in range(arg)]
                new.append(decision(arg, "198.18.70.77"))
                rng = decision(arg + 1, "198.18.121.0/24")
                rng["scope"] = "Range"
                new.append(rng)
                self.send(200, json.dumps({"deleted": None, "new": new}).encode())
            elif mode == "bulk":
                base = (198 << 24) | (18 << 16) | (4 << 8) | 1
                names = ["crowdsecurity/imap-bf", "crowdsecurity/dovecot-spam",
                         "crowdsecurity/http-bad-user-agent", "imapguard/spray"]
                new = []
                for i in range(arg):
                    a = base + i
                    d = decision(i + 1, "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255,
                                                        (a >> 8) & 255, a & 255), "4h")
                    d["scenario"] = names[i % len(names)]
                    new.append(d)
                self.send(200, json.dumps({"deleted": None, "new": new}).encode())
            elif mode == "huge":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"deleted":null,"new":[' )
                chunk = b" " * (1 << 20)
                for _ in range(arg):
                    self.wfile.write(chunk)
            elif mode == "badaddr":
                new = [decision(1, "198.18.99.2"), decision(2, "198.18.99.300")]
                self.send(200, json.dumps({"deleted": None, "new": new}).encode())
            elif mode == "hang":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"deleted":null,')
                self.wfile.flush()
                time.sleep(arg)
            elif mode == "slowstart":
                time.sleep(arg)
                self.send(200, json.dumps({"deleted": None,
                                           "new": [decision(1, "198.18.99.1")]}).encode())
            elif mode in ("reject", "relogin"):
                self.send(200, b'{"deleted":null,"new":null}')
            elif mode == "forbidden":
                self.send(403, b'{"message":"access forbidden"}')
            else:
                self.send(200, json.dumps({"deleted": None,
                                           "new": [decision(1, "198.18.99.1")]}).encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(n, 1 << 20))
        try:
            words = open(MODE_FILE).read().split()
            if self.path.startswith("/v1/watchers/login"):
                with open(MODE_FILE + ".logins", "a") as f:
                    f.write("login\n")
                n = len(open(MODE_FILE + ".logins").read().split())
                self.send(200, json.dumps({"code": 200, "expire": "2099-01-01T00:00:00Z",
                                           "token": "fake.jwt.%d" % n}).encode())
            elif self.path.startswith("/v1/alerts"):
                auth = self.headers.get("Authorization", "")
                with open(MODE_FILE + ".alerts", "a") as f:
                    f.write(auth + "\n")
                if words and words[0] == "relogin":
                    if auth == "Bearer fake.jwt.1":
                        self.send(401, b'{"code":401,"message":"Token is expired"}')
                    else:
                        self.send(201, b'["1"]')
                    return
                self.send(500, b'{"message":"validation failure list:\\n'
                          b'decisions.0.scope in body is required"}')
            else:
                self.send(404, b'{"message":"not found"}')
        except (BrokenPipeError, ConnectionResetError):
            pass


MODE_FILE = sys.argv[3]
srv = http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H)
print("listening", flush=True)
srv.serve_forever()
