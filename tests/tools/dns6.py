#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One DNS query for example.com (A) from an AF_INET6 UDP socket to the
IPv4-mapped address of SERVER, port 53.  Prints "src=ADDR rcode=N answers=N":
the address the answer appeared to come from, so a test can see that cgfw's
redirect to its DNS proxy was undone for the client (recvmsg6).

  dns6.py SERVER
"""
import socket
import struct
import sys


def main():
    q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    q += b"\x07example\x03com\x00" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ("::ffff:" + sys.argv[1], 53))
    data, src = s.recvfrom(512)
    print("src=%s rcode=%d answers=%d" % (src[0], data[3] & 0xF, struct.unpack("!H", data[6:8])[0]))


if __name__ == "__main__":
    main()
