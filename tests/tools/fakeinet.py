#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The fake internet's servers, run inside the test's inet network namespace.

TCP: an HTTP/1.0 responder on port 80 that answers with the address it was
reached on, accept-and-close banners on 22 and 5432 (ssh/postgres
stand-ins), and an echo service on 7 that keeps connections open.  UDP: an echo server on port 9.  All sockets are dual-stack on
the wildcard address, so every address on the namespace's lo answers.
Writes --ready FILE once every socket listens, and exits on SIGTERM.
"""
import argparse
import os
import selectors
import signal
import socket
import sys


def tcp_listener(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(128)
    s.setblocking(False)
    return s


def local_addr(conn):
    host = conn.getsockname()[0]
    return host[7:] if host.startswith("::ffff:") else host


def serve_http(conn):
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        body = ("hello from %s\n" % local_addr(conn)).encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready", required=True)
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sel = selectors.DefaultSelector()
    banners = {22: b"SSH-2.0-fake\r\n", 5432: b"postgres-fake\n"}
    for port in (80, 22, 5432, 7):
        sel.register(tcp_listener(port), selectors.EVENT_READ, ("tcp", port))
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    u.bind(("::", 9))
    u.setblocking(False)
    sel.register(u, selectors.EVENT_READ, ("udp", 9))

    with open(args.ready + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(args.ready + ".tmp", args.ready)

    while True:
        for key, _ in sel.select():
            kind, port = key.data
            if kind == "echo":
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if data:
                    key.fileobj.sendall(data)
                else:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                continue
            if kind == "udp":
                try:
                    data, peer = key.fileobj.recvfrom(2048)
                    key.fileobj.sendto(data, peer)
                except OSError:
                    pass
                continue
            try:
                conn, _ = key.fileobj.accept()
            except OSError:
                continue
            if port == 7:
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, ("echo", 7))
                continue
            conn.setblocking(True)
            if port == 80:
                serve_http(conn)
            else:
                try:
                    conn.sendall(banners[port])
                except OSError:
                    pass
                conn.close()


if __name__ == "__main__":
    main()
