#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Clients of the STARTTLS guard's test (tests/netns/test_starttls.sh).

    starttls_client.py HOST PORT MODE [--src ADDR] [--user U --password P]

Modes, each bounded by --timeout seconds; the exit status says what the
server side did, and one line on stdout says how:
  imap-tls       imaplib: STARTTLS, LOGIN, SELECT INBOX, LOGOUT      0 = ok
  imap-append    the same and an APPEND of --size bytes, fetched back and
                 compared by sha256                                   0 = equal
  imap-plain     imaplib LOGIN without STARTTLS                       0 = refused
  imap-split     raw: "a LO", a pause, "GIN user pass" (TCP_NODELAY)  0 = refused
  pop3-tls       poplib: STLS, USER, PASS, STAT, QUIT                 0 = ok
  pop3-plain     poplib USER before STLS                              0 = refused
  smtp-tls       smtplib: EHLO, STARTTLS, EHLO, AUTH, QUIT            0 = ok
  smtp-plain     smtplib AUTH before STARTTLS                         0 = refused
"Refused" means the connection was reset, closed or went silent; a reply
to the credentials (OK, NO, -ERR, 235, 535) means they reached the server:
exit 1. Any other failure exits 2.
"""
import argparse
import hashlib
import imaplib
import os
import poplib
import smtplib
import socket
import ssl
import sys
import time

REFUSED = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, EOFError,
           TimeoutError, socket.timeout, imaplib.IMAP4.abort, poplib.error_proto,
           smtplib.SMTPServerDisconnected)


def tls_ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def bind_src(a):
    if not a.src:
        return
    orig = socket.create_connection

    def create_connection(address, timeout=None, source_address=None, **kw):
        return orig(address, timeout, (a.src, 0), **kw)
    socket.create_connection = create_connection


def imap_tls(a, size=0):
    m = imaplib.IMAP4(a.host, a.port, timeout=a.timeout)
    m.starttls(ssl_context=tls_ctx())
    m.login(a.user, a.password)
    m.select("INBOX")
    if size:
        body = os.urandom(size // 2).hex().encode()
        msg = b"From: a@test\r\nSubject: big\r\n\r\n" + b"\r\n".join(
            body[i:i + 76] for i in range(0, len(body), 76)) + b"\r\n"
        want = hashlib.sha256(msg).hexdigest()
        typ, _ = m.append("INBOX", None, None, msg)
        if typ != "OK":
            print("append:", typ)
            return 2
        m.select("INBOX")
        typ, data = m.search(None, "SUBJECT", "big")
        num = data[0].split()[-1]
        typ, data = m.fetch(num, "(BODY.PEEK[])")
        got = hashlib.sha256(data[0][1]).hexdigest()
        print("append", len(msg), "bytes sha256", "equal" if got == want else "DIFFERENT")
        if got != want:
            return 1
    m.logout()
    print("ok: logged in over STARTTLS")
    return 0


def imap_plain(a):
    m = imaplib.IMAP4(a.host, a.port, timeout=a.timeout)
    try:
        typ, data = m.login(a.user, a.password)
    except imaplib.IMAP4.error as e:
        if isinstance(e, imaplib.IMAP4.abort):
            raise
        print("server answered the plaintext LOGIN:", e)
        return 1
    print("server accepted the plaintext LOGIN:", typ, data)
    return 1


def imap_split(a):
    s = socket.create_connection((a.host, a.port), a.timeout,
                                 (a.src, 0) if a.src else None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.recv(4096)  # the greeting
    s.sendall(b"a LO")
    time.sleep(0.3)
    s.sendall(("GIN %s %s\r\n" % (a.user, a.password)).encode())
    data = s.recv(4096)
    if not data:
        raise EOFError("closed")
    print("server answered the split LOGIN:", data[:60])
    return 1


def pop3_tls(a):
    p = poplib.POP3(a.host, a.port, timeout=a.timeout)
    p.stls(context=tls_ctx())
    p.user(a.user)
    p.pass_(a.password)
    p.stat()
    p.quit()
    print("ok: logged in over STLS")
    return 0


def pop3_plain(a):
    p = poplib.POP3(a.host, a.port, timeout=a.timeout)
    try:
        r = p.user(a.user)
    except poplib.error_proto as e:
        if str(e).startswith("-ERR"):
            print("server answered USER:", e)
            return 1
        raise
    print("server answered USER:", r)
    return 1


def smtp_tls(a):
    s = smtplib.SMTP(a.host, a.port, timeout=a.timeout)
    s.ehlo()
    s.starttls(context=tls_ctx())
    s.ehlo()
    s.login(a.user, a.password)
    s.quit()
    print("ok: authenticated over STARTTLS")
    return 0


def smtp_plain(a):
    s = smtplib.SMTP(a.host, a.port, timeout=a.timeout)
    s.ehlo()
    try:
        code, resp = s.docmd("AUTH", "PLAIN " + __import__("base64").b64encode(
            ("\0%s\0%s" % (a.user, a.password)).encode()).decode())
    except smtplib.SMTPServerDisconnected:
        raise
    print("server answered AUTH:", code, resp[:60])
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("mode")
    ap.add_argument("--src")
    ap.add_argument("--user", default="alice")
    ap.add_argument("--password", default="alice-secret")
    ap.add_argument("--size", type=int, default=10 * 1024 * 1024)
    ap.add_argument("--timeout", type=float, default=5.0)
    a = ap.parse_args()
    bind_src(a)
    modes = {
        "imap-tls": lambda: imap_tls(a),
        "imap-append": lambda: imap_tls(a, a.size),
        "imap-plain": lambda: imap_plain(a),
        "imap-split": lambda: imap_split(a),
        "pop3-tls": lambda: pop3_tls(a),
        "pop3-plain": lambda: pop3_plain(a),
        "smtp-tls": lambda: smtp_tls(a),
        "smtp-plain": lambda: smtp_plain(a),
    }
    plain = a.mode.endswith(("-plain", "-split"))
    try:
        return modes[a.mode]()
    except REFUSED as e:
        print("refused:", type(e).__name__, e)
        return 0 if plain else 2
    except OSError as e:
        if plain and e.errno in (104, 32, 103):
            print("refused:", e)
            return 0
        print("error:", type(e).__name__, e)
        return 2
    except Exception as e:  # noqa: BLE001 - the test wants one line, not a trace
        print("error:", type(e).__name__, e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
