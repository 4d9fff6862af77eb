"""The Internet checksum (RFC 1071), shared by the scripts that craft
packets byte by byte (exthdr_syn.py, synflood.py)."""
import struct


def csum(data):
    """One's-complement sum of 16-bit big-endian words, complemented."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF
