#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A burst of DNS queries over one connected UDP socket, run inside the
cgroup under test: COUNT A queries for PREFIX<i>.DOMAIN (distinct names, so
nothing is served from a cache), at most WINDOW outstanding, each one sent
once and given TIMEOUT seconds to be answered.  Prints one line:

  sent=N answered=N noerror=N servfail=N other=N unanswered=N

  dnsburst.py SERVER COUNT DOMAIN [WINDOW] [TIMEOUT]
"""
import os
import socket
import struct
import sys
import time


def query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)


def main():
    server, count, domain = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    window = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((server, 53))
    base = os.getpid() & 0xFFFF
    pending = {}  # query id -> deadline
    rcodes = {}
    sent = 0
    unanswered = 0
    while sent < count or pending:
        while sent < count and len(pending) < window:
            qid = (base + sent) & 0xFFFF
            s.send(query(qid, "q%d-%d.%s" % (os.getpid(), sent, domain)))
            pending[qid] = time.monotonic() + timeout
            sent += 1
        now = time.monotonic()
        for qid in [k for k, d in pending.items() if d <= now]:
            del pending[qid]
            unanswered += 1
        if not pending:
            continue
        s.settimeout(max(0.001, min(pending.values()) - now))
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        if len(data) < 12:
            continue
        qid, flags = struct.unpack(">HH", data[:4])
        if qid in pending and flags & 0x8000:
            del pending[qid]
            rc = flags & 0xF
            rcodes[rc] = rcodes.get(rc, 0) + 1
    answered = sum(rcodes.values())
    print("sent=%d answered=%d noerror=%d servfail=%d other=%d unanswered=%d" % (
        sent, answered, rcodes.get(0, 0), rcodes.get(2, 0),
        answered - rcodes.get(0, 0) - rcodes.get(2, 0), unanswered))
    return 0 if answered == sent else 1


if __name__ == "__main__":
    sys.exit(main())
