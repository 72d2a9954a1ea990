#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Arrival recorder for the bypass suite, run inside the fake internet's netns:
whatever reaches it got past the firewall.

  sink.py --log FILE --ready FILE [--tcp PORT,...] [--udp PORT,...] [--icmp]

TCP and UDP sockets are dual-stack on the wildcard address (IPV6_V6ONLY=0), so
every local address of the netns answers; a port already taken (fakeinet.py
holds TCP 7, 22, 80, 5432 and UDP 9) is an error.  --icmp adds raw ICMP and
ICMPv6 sockets.  Each arrival appends one line to --log, flushed at once:

  proto=tcp|udp|icmp src=IP:PORT dst=IP:PORT data=HEX

  tcp   one line per accepted connection, written when the first data (up to
        64 bytes), EOF or 0.5 s of silence comes: poll the log, don't read it
        once.  The connection is then closed.
  udp   one line per datagram (data: its first 64 bytes).
  icmp  echo requests only (ICMP type 8, ICMPv6 type 128); the source "port"
        is the echo identifier, the destination port 0; data is the payload.

IPv4 peers appear as plain IPv4 (not ::ffff:a.b.c.d), IPv6 without brackets
or scope (the port follows the last colon); data is lowercase hex, empty if
none.  TCP listeners get TCP_FASTOPEN (queue 16) and TCP_FASTOPEN_NO_COOKIE,
and, if this netns is one "ip netns add" named (never the machine's own),
net.ipv4.tcp_fastopen gets the server bit (0x2), so Fast Open data arrives in
the SYN.  --ready FILE is written ("ready") once everything listens; SIGTERM
exits.
"""
import argparse
import os
import selectors
import signal
import socket
import struct
import sys
import time

DATA_MAX = 64
TCP_WAIT = 0.5
TCP_FASTOPEN_NO_COOKIE = 34
TFO_SERVER_ENABLE = 0x2
TFO_SYSCTL = "/proc/sys/net/ipv4/tcp_fastopen"


def ports(text):
    return [int(p) for p in text.split(",") if p] if text else []


def ip(addr):
    addr = addr.split("%")[0]
    if addr.startswith("::ffff:") and "." in addr:
        return addr[7:]
    return addr


def enable_tfo_server():
    """Only in a netns that "ip netns add" made (named in /run/netns): the
    initial one is the machine's, and /proc/1/ns/net may be unreadable."""
    me = os.stat("/proc/self/ns/net")
    try:
        named = [n for n in os.listdir("/run/netns")
                 if os.stat(os.path.join("/run/netns", n)).st_ino == me.st_ino]
    except OSError:
        named = []
    if not named:
        print("sink: not a named netns, leaving %s alone" % TFO_SYSCTL, file=sys.stderr)
        return
    with open(TFO_SYSCTL) as f:
        cur = int(f.read().split()[0])
    if not cur & TFO_SERVER_ENABLE:
        with open(TFO_SYSCTL, "w") as f:
            f.write("%d\n" % (cur | TFO_SERVER_ENABLE))


def dual_stack(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.setblocking(False)
    return s


class Sink:
    def __init__(self, log):
        self.fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.sel = selectors.DefaultSelector()
        self.pending = {}  # accepted TCP socket -> (deadline, src, dst)

    def record(self, proto, src, dst, data):
        line = "proto=%s src=%s:%d dst=%s:%d data=%s\n" % (
            proto, src[0], src[1], dst[0], dst[1], data[:DATA_MAX].hex())
        os.write(self.fd, line.encode())  # one write to an O_APPEND fd: whole lines

    def tcp_listen(self, port):
        s = dual_stack(socket.SOCK_STREAM, port)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1)
        s.listen(64)
        self.sel.register(s, selectors.EVENT_READ, self.on_accept)

    def udp_bind(self, port):
        s = dual_stack(socket.SOCK_DGRAM, port)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        self.sel.register(s, selectors.EVENT_READ, self.on_udp)

    def icmp_open(self):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s4.setblocking(False)
        self.sel.register(s4, selectors.EVENT_READ, self.on_icmp4)
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s6.setblocking(False)
        self.sel.register(s6, selectors.EVENT_READ, self.on_icmp6)

    def on_accept(self, s):
        while True:
            try:
                c, peer = s.accept()
            except BlockingIOError:
                return
            c.setblocking(False)
            here = c.getsockname()
            self.pending[c] = (time.monotonic() + TCP_WAIT, (ip(peer[0]), peer[1]),
                               (ip(here[0]), here[1]))
            self.sel.register(c, selectors.EVENT_READ, self.on_tcp_data)

    def tcp_done(self, c, data):
        _, src, dst = self.pending.pop(c)
        self.sel.unregister(c)
        c.close()
        self.record("tcp", src, dst, data)

    def on_tcp_data(self, c):
        try:
            data = c.recv(DATA_MAX)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self.tcp_done(c, data)

    def expire(self):
        now = time.monotonic()
        for c in [c for c, p in self.pending.items() if p[0] <= now]:
            self.tcp_done(c, b"")

    def on_udp(self, s):
        try:
            data, anc, _, peer = s.recvmsg(2048, 256)
        except BlockingIOError:
            return
        self.record("udp", (ip(peer[0]), peer[1]), (pktinfo_dst(anc), s.getsockname()[1]),
                    data)

    def on_icmp4(self, s):
        try:
            pkt = s.recv(2048)
        except BlockingIOError:
            return
        hl = (pkt[0] & 0xF) * 4
        icmp = pkt[hl:]
        if len(icmp) < 8 or icmp[0] != 8:
            return
        ident = struct.unpack("!H", icmp[4:6])[0]
        self.record("icmp", (socket.inet_ntoa(pkt[12:16]), ident),
                    (socket.inet_ntoa(pkt[16:20]), 0), icmp[8:])

    def on_icmp6(self, s):
        try:
            icmp, anc, _, peer = s.recvmsg(2048, 256)
        except BlockingIOError:
            return
        if len(icmp) < 8 or icmp[0] != 128:
            return
        ident = struct.unpack("!H", icmp[4:6])[0]
        self.record("icmp", (ip(peer[0]), ident), (pktinfo_dst(anc), 0), icmp[8:])

    def run(self):
        while True:
            timeout = None
            if self.pending:
                timeout = max(0, min(p[0] for p in self.pending.values()) - time.monotonic())
            for key, _ in self.sel.select(timeout):
                key.data(key.fileobj)
            self.expire()


def pktinfo_dst(anc):
    """The destination address of a datagram from its IPV6_PKTINFO (in6_pktinfo)."""
    for level, kind, data in anc:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(data) >= 16:
            return ip(socket.inet_ntop(socket.AF_INET6, data[:16]))
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--tcp", type=ports, default=[])
    ap.add_argument("--udp", type=ports, default=[])
    ap.add_argument("--icmp", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    sink = Sink(args.log)
    if args.tcp:
        enable_tfo_server()
    for p in args.tcp:
        sink.tcp_listen(p)
    for p in args.udp:
        sink.udp_bind(p)
    if args.icmp:
        sink.icmp_open()
    with open(args.ready, "w") as f:
        f.write("ready\n")
    sink.run()


if __name__ == "__main__":
    main()
