#!/usr/bin/python3
# Mail servers that misbehave, for `imapguard audit`'s tests (stdlib only):
#
#   mail_hostile.py MODE PORT [--addr ADDR] [--cert PEM --key PEM] [--sock PATH]
#
#   vuln-smtp  SMTP with STARTTLS, vulnerable to CVE-2011-0411: lines read
#              in clear after STARTTLS are answered inside TLS. --addr ::
#              listens dual-stack (IPV6_V6ONLY off).
#   bigline    a greeting of 1 MB without a newline, then silence
#   silent     accepts, never says anything
#   tls-cut    accepts, reads the ClientHello, sends half a TLS record, closes
#   orphan     makes a listener, sends its descriptor to the unix datagram
#              socket --sock (held by `keeper`, which never reads it) and
#              exits: the listener lives on with no process holding it
#   keeper     binds the unix datagram socket --sock and sleeps
#   imap       a minimal IMAP server that behaves: STARTTLS, LOGINDISABLED
#              (make bench's audit of many listeners; --addr may be a list)
#
# Prints "listening" once ready. Every wait is bounded (a test's trap kills
# the process by its PID anyway).
import argparse
import array
import select
import socket
import ssl
import sys
import threading
import time

LIFETIME = 300  # seconds: a leftover server ends by itself


def listener(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port))
    s.listen(16)
    return s


def lines(sock, buf):
    """Yield lines read from sock; buf[0] holds what was read past them."""
    while True:
        while b"\n" not in buf[0]:
            data = sock.recv(4096)
            if not data or len(buf[0]) > 4096:
                return
            buf[0] += data
        line, buf[0] = buf[0].split(b"\n", 1)
        yield line.strip()


def vuln_smtp(c, ctx):
    c.settimeout(10)
    buf = [b""]
    c.sendall(b"220 vuln.test ESMTP\r\n")
    for cmd in lines(c, buf):
        cmd = cmd.upper()
        if cmd.startswith(b"EHLO"):
            c.sendall(b"250-vuln.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
        elif cmd == b"STARTTLS":
            c.sendall(b"220 go ahead\r\n")
            # the flaw: what was read in clear past STARTTLS is kept, and
            # answered once TLS is up
            pending = buf[0]
            t = ctx.wrap_socket(c, server_side=True)
            for cmd2 in pending.split(b"\r\n"):
                if cmd2:
                    t.sendall(b"250 " + cmd2 + b" ok (injected)\r\n")
            tbuf = [b""]
            for l2 in lines(t, tbuf):
                if l2.upper() == b"QUIT":
                    return
                if l2.upper().startswith(b"EHLO"):
                    t.sendall(b"250-vuln.test\r\n250 AUTH PLAIN LOGIN\r\n")
                else:
                    t.sendall(b"250 ok\r\n")
            return
        elif cmd == b"QUIT":
            c.sendall(b"221 bye\r\n")
            return
        else:
            c.sendall(b"250 ok\r\n")


def imap(c, ctx):
    c.settimeout(10)
    buf = [b""]
    sock = c
    c.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n")
    while True:
        line = next(lines(sock, buf), None)
        if line is None:
            return
        tag, _, cmd = line.partition(b" ")
        cmd = cmd.upper()
        if cmd == b"CAPABILITY":
            caps = b"IMAP4rev1 AUTH=PLAIN" if sock is not c else b"IMAP4rev1 STARTTLS LOGINDISABLED"
            sock.sendall(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
        elif cmd == b"STARTTLS" and sock is c:
            c.sendall(tag + b" OK begin TLS\r\n")
            sock = ctx.wrap_socket(c, server_side=True)
            buf = [b""]
        elif cmd == b"LOGOUT":
            sock.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
            return
        else:
            sock.sendall(tag + b" BAD unknown\r\n")


def bigline(c, ctx):
    c.settimeout(10)
    try:
        c.sendall(b"* OK " + b"x" * (1 << 20))
        time.sleep(10)
    except OSError:
        pass


def silent(c, ctx):
    time.sleep(10)


def tls_cut(c, ctx):
    c.settimeout(10)
    try:
        c.recv(4096)  # the ClientHello
        c.sendall(b"\x16\x03\x03\x00\x40" + b"\x02" * 10)  # a record cut short
    except OSError:
        pass


def serve(args, handler, ctx=None):
    socks = [listener(a, args.port) for a in args.addr.split(",")]
    print("listening", flush=True)
    end = time.time() + LIFETIME
    while time.time() < end:
        ready, _, _ = select.select(socks, [], [], 1)
        if not ready:
            continue
        c, _ = ready[0].accept()
        def run(c=c):
            try:
                handler(c, ctx)
            except (OSError, ssl.SSLError):
                pass
            finally:
                c.close()
        threading.Thread(target=run, daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("port", type=int)
    p.add_argument("--addr", default="0.0.0.0")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--sock")
    a = p.parse_args()
    if a.mode == "keeper":
        u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        u.bind(a.sock)
        print("listening", flush=True)
        time.sleep(LIFETIME)
        return
    if a.mode == "orphan":
        s = listener(a.addr, a.port)
        u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        u.sendmsg([b"fd"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [s.fileno()]))],
                  0, a.sock)
        print("listening", flush=True)
        return  # the listener now lives only in the keeper's queue
    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
    handlers = {"imap": imap, "vuln-smtp": vuln_smtp, "bigline": bigline, "silent": silent, "tls-cut": tls_cut}
    if a.mode not in handlers:
        sys.exit("unknown mode " + a.mode)
    serve(a, handlers[a.mode], ctx)


if __name__ == "__main__":
    main()
