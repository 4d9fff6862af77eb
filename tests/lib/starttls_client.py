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
  raw            a session line by line (--proto imap|pop3|smtp): each
                 --say LINE must be answered (a harmless command); then
                 --forbidden LINE must be refused              0 = refused
                 or, without --forbidden, STLS/STARTTLS, the TLS
                 handshake and a login (IMAP LOGIN, POP3 USER/PASS,
                 SMTP EHLO + AUTH PLAIN)                       0 = logged in
                 Every line sent and the first line of each answer are
                 printed ("> ", "< "); a refusal prints "refused: reset"
                 (the connection was reset), "refused: closed" or
                 "refused: silent" (no answer within --timeout).
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
    try:
        s.quit()
    except smtplib.SMTPServerDisconnected:
        # the test's relay is down: after 235 Dovecot answers 421 and
        # closes, sometimes before our QUIT is read (dovecot.sh)
        pass
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


class Wire:
    """One raw session: lines out, protocol replies in (raw mode)."""

    def __init__(self, a):
        self.a, self.proto = a, a.proto
        self.s = socket.create_connection((a.host, a.port), a.timeout,
                                          (a.src, 0) if a.src else None)
        self.f = self.s.makefile("rb")

    def line(self):
        got = self.f.readline(8192)
        if not got:
            raise EOFError("closed")
        return got.decode(errors="replace").rstrip("\r\n")

    def reply(self, cmd=""):
        """The whole reply to cmd ("" for the greeting); its first line."""
        first = self.line()
        if self.proto == "smtp":
            last = first
            while len(last) > 3 and last[3] == "-":
                last = self.line()
        elif self.proto == "pop3":
            if cmd.upper().startswith("CAPA") and first.startswith("+OK"):
                while self.line() != ".":
                    pass
        elif cmd:  # imap: up to the tagged line
            tag = cmd.split(" ", 1)[0] + " "
            last = first
            while not last.startswith(tag):
                last = self.line()
            first = last
        return first

    def say(self, cmd):
        print(">", cmd)
        self.s.sendall(cmd.encode() + b"\r\n")
        r = self.reply(cmd)
        print("<", r)
        return r

    def starttls(self):
        self.s = tls_ctx().wrap_socket(self.s)
        self.f = self.s.makefile("rb")


def raw(a):
    w = Wire(a)
    print("<", w.reply())
    for cmd in a.say:
        w.say(cmd)  # a refusal here raises: a harmless command refused
    if a.say and a.say[-1].split()[-1].upper() in ("QUIT", "LOGOUT"):
        print("ok: every command answered, the session ended")
        return 0
    if a.forbidden:
        print(">", a.forbidden)
        w.s.sendall(a.forbidden.encode() + b"\r\n")
        try:
            r = w.reply(a.forbidden)
        except ConnectionResetError:
            print("refused: reset")
            return 0
        except EOFError:
            print("refused: closed")
            return 0
        except (TimeoutError, socket.timeout):
            print("refused: silent")
            return 0
        print("< %s\nthe server answered the forbidden command" % r)
        return 1
    b64 = __import__("base64").b64encode(
        ("\0%s\0%s" % (a.user, a.password)).encode()).decode()
    if a.proto == "imap":
        ok = w.say("t1 STARTTLS").startswith("t1 OK")
        w.starttls()
        ok = ok and w.say("t2 LOGIN %s %s" % (a.user, a.password)).startswith("t2 OK")
        w.say("t3 LOGOUT")
    elif a.proto == "pop3":
        ok = w.say("STLS").startswith("+OK")
        w.starttls()
        ok = ok and w.say("USER " + a.user).startswith("+OK")
        ok = ok and w.say("PASS " + a.password) == "+OK Logged in."
        w.say("QUIT")
    else:
        ok = w.say("STARTTLS").startswith("220 ")
        w.starttls()
        w.say("EHLO client.test")
        ok = ok and w.say("AUTH PLAIN " + b64).startswith("235 ")
    print("ok: logged in after %s" % ("STLS" if a.proto == "pop3" else "STARTTLS")
          if ok else "login failed")
    return 0 if ok else 1


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
    ap.add_argument("--proto", choices=("imap", "pop3", "smtp"), default="imap")
    ap.add_argument("--say", action="append", default=[])
    ap.add_argument("--forbidden")
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
        "raw": lambda: raw(a),
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
