#!/usr/bin/python3
"""TCP listeners for the namespace lab: accept on every given port (IPv4 and
IPv6), keep each connection open and echo what it sends, so a test can see
a session being reset. Bounded: at most 4096 open connections."""
import select
import socket
import sys

MAX_CONNS = 4096


def listen(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(1024)
    return s


def main():
    listeners = [listen(int(p)) for p in sys.argv[1:]]
    conns = []
    print("listening", flush=True)
    while True:
        ready, _, _ = select.select(listeners + conns, [], [])
        for s in ready:
            if s in listeners:
                c, _ = s.accept()
                if len(conns) >= MAX_CONNS:
                    c.close()
                else:
                    conns.append(c)
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                try:
                    s.sendall(data)
                except OSError:
                    data = b""
            if not data:
                conns.remove(s)
                s.close()


if __name__ == "__main__":
    main()
