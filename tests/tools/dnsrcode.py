#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A DNS server that fails: every UDP query to ADDR:PORT is answered with
the question and RCODE (2 SERVFAIL, 5 REFUSED, ...), one port per rcode.

  dnsrcode.py --ready FILE ADDR PORT:RCODE...
"""
import argparse
import os
import selectors
import socket
import struct


def answer(query, rcode):
    if len(query) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", query[:12])
    # QR, the opcode and RD of the query, RA, the rcode; the question (and an
    # EDNS OPT) as asked.
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | rcode
    return struct.pack(">HHHHHH", qid, flags, qd, 0, 0, ar) + query[12:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready", required=True)
    ap.add_argument("addr")
    ap.add_argument("ports", nargs="+")
    args = ap.parse_args()
    sel = selectors.DefaultSelector()
    for spec in args.ports:
        port, rcode = (int(x) for x in spec.split(":"))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((args.addr, port))
        sel.register(s, selectors.EVENT_READ, rcode)
    with open(args.ready + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(args.ready + ".tmp", args.ready)
    while True:
        for key, _ in sel.select():
            try:
                data, peer = key.fileobj.recvfrom(4096)
            except OSError:
                continue
            out = answer(data, key.data)
            if out:
                key.fileobj.sendto(out, peer)


if __name__ == "__main__":
    main()
