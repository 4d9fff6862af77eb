#!/usr/bin/python3
"""Send one IPv6 TCP SYN behind a chain of extension headers, crafted byte
by byte on an AF_PACKET socket, and wait for the SYN-ACK.

  exthdr_syn.py IFACE DST_MAC SRC DST DPORT --ext dst:8*7,rt:320
               [--pad BYTES] [--timeout S]

--ext lists the headers in order, TYPE:BYTES[*COUNT], TYPE one of hop, dst,
rt (a routing header of the experimental type 253, RFC 4727, with no
segments left, which the receiver skips: RFC 8200 4.4). Options are ones Linux accepts: unknown type 0x1e ("skip", RFC 8200
4.2) in runs of at most 255 bytes and Pad1, never more than 7 bytes of
padding in a row. --pad adds that many bytes of data to the SYN (the
receiver ignores them): a frame over a page leaves the sender's AF_PACKET
socket non-linear, only its Ethernet header in the skb's head. Exit 0: a SYN-ACK came back; 1: none within the timeout.
The client's kernel has no socket for the SYN and resets the SYN-ACK; the
frame is captured before that."""
import argparse
import random
import socket
import struct
import sys
import time

from inetsum import csum

ETH_P_IPV6 = 0x86DD
TYPES = {"hop": 0, "rt": 43, "dst": 60}


def options(n):
    out = b""
    while n >= 2:
        take = min(n - 2, 255)
        if n - 2 - take == 1:
            take -= 1
        out += bytes([0x1E, take]) + b"\0" * take
        n -= 2 + take
    return out + b"\0" * n  # Pad1


def ext_header(kind, size, nxt):
    if size % 8 or not 8 <= size <= 2048:
        raise SystemExit("extension header size must be a multiple of 8 in 8..2048")
    if kind == "rt":
        body = bytes([253, 0]) + b"\0" * (size - 4)  # segments left 0
    else:
        body = options(size - 2)
    return bytes([nxt, size // 8 - 1]) + body


def parse_ext(spec):
    out = []
    for item in filter(None, spec.split(",")):
        kind, _, rest = item.partition(":")
        size, _, count = rest.partition("*")
        out += [(kind, int(size))] * int(count or 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("dst_mac")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("dport", type=int)
    ap.add_argument("--ext", default="")
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1.5)
    a = ap.parse_args()
    src = socket.inet_pton(socket.AF_INET6, a.src)
    dst = socket.inet_pton(socket.AF_INET6, a.dst)
    sport = random.randrange(20000, 60000)
    seq = random.getrandbits(32)

    tcp = struct.pack("!HHIIBBHHH", sport, a.dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp += b"\0" * a.pad
    pseudo = src + dst + struct.pack("!I3xB", len(tcp), socket.IPPROTO_TCP)
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    chain = parse_ext(a.ext)
    payload, nxt = tcp, socket.IPPROTO_TCP
    for kind, size in reversed(chain):
        payload = ext_header(kind, size, nxt) + payload
        nxt = TYPES[kind]
    ip6 = struct.pack("!IHBB", 6 << 28, len(payload), nxt, 64) + src + dst
    with open("/sys/class/net/%s/address" % a.iface) as f:
        smac = bytes.fromhex(f.read().strip().replace(":", ""))
    dmac = bytes.fromhex(a.dst_mac.replace(":", ""))
    frame = dmac + smac + struct.pack("!H", ETH_P_IPV6) + ip6 + payload

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    s.bind((a.iface, ETH_P_IPV6))
    s.send(frame)
    deadline = time.monotonic() + a.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 1
        s.settimeout(left)
        try:
            f = s.recv(65536)
        except socket.timeout:
            return 1
        ip = f[14:]
        if len(ip) < 60 or ip[6] != socket.IPPROTO_TCP or ip[8:24] != dst:
            continue
        sp, dp, _, ack, _, flags = struct.unpack("!HHIIBB", ip[40:54])
        if sp == a.dport and dp == sport and flags & 0x12 == 0x12 and ack == (seq + 1) % 2**32:
            return 0


if __name__ == "__main__":
    sys.exit(main())
