#!/usr/bin/python3
"""IMAP logins with Debian's python3 imaplib, for the Dovecot lab.

  imap_login.py HOST [--mode imaps|starttls|plain] [--src ADDR]
                --login USER:PASSWORD [--login USER:PASSWORD ...] [--parallel]

One JSON line per login: {"user","ok","detail","seconds"}. With
--parallel all logins start at once (Dovecot's anvil penalty then cannot
delay them one after another). Exit 0 when every login succeeded."""
import argparse
import imaplib
import json
import socket
import ssl
import sys
import threading
import time

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


class SrcIMAP4(imaplib.IMAP4):
    """imaplib binds no source address; this one does."""
    src = None

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.src, 0) if self.src else None)


class SrcIMAP4_SSL(imaplib.IMAP4_SSL):
    src = None

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.src, 0) if self.src else None)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def login(host, mode, src, user, password):
    t0 = time.monotonic()
    try:
        if mode == "imaps":
            cls = type("C", (SrcIMAP4_SSL,), {"src": src})
            m = cls(host, 993, ssl_context=CTX, timeout=20)
        else:
            cls = type("C", (SrcIMAP4,), {"src": src})
            m = cls(host, 143, timeout=20)
            if mode == "starttls":
                m.starttls(ssl_context=CTX)
        try:
            typ, data = m.login(user, password)
            ok, detail = typ == "OK", data[0].decode(errors="replace")
        finally:
            try:
                m.logout()
            except Exception:
                pass
    except Exception as e:  # NO answers arrive as imaplib.IMAP4.error
        ok, detail = False, f"{type(e).__name__}: {e}"
    return {"user": user, "ok": ok, "detail": detail,
            "seconds": round(time.monotonic() - t0, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("--mode", default="imaps", choices=["imaps", "starttls", "plain"])
    ap.add_argument("--src")
    ap.add_argument("--login", action="append", required=True)
    ap.add_argument("--parallel", action="store_true")
    a = ap.parse_args()
    creds = [x.split(":", 1) for x in a.login]
    results = [None] * len(creds)

    def run(i):
        results[i] = login(a.host, a.mode, a.src, *creds[i])

    if a.parallel:
        ts = [threading.Thread(target=run, args=(i,)) for i in range(len(creds))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
    else:
        for i in range(len(creds)):
            run(i)
    for r in results:
        print(json.dumps(r))
    sys.exit(0 if all(r and r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
