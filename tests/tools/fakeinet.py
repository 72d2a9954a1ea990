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
import http.server
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


class Hello(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: "hello from ADDR" for GET, the byte count for a body."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/big"):
            # 100 MiB, streamed in 64 KiB writes.
            total = 100 << 20
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            chunk = b"\0" * 65536
            for _ in range(total // len(chunk)):
                self.wfile.write(chunk)
            return
        host = self.connection.getsockname()[0]
        host = host[7:] if host.startswith("::ffff:") else host
        self.reply(("hello from %s\n" % host).encode())

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        while n > 0:
            n -= len(self.rfile.read(min(n, 1 << 16)) or b"x" * n)
        self.reply(b"received\n")


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


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
    import threading
    web = Server6(("::", 80), Hello)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    for port in (22, 5432, 7):
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
