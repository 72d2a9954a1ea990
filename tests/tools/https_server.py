#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An HTTPS server for the fake internet: the same answers as fakeinet.py's
port 80, with the certificate given.  Writes --ready FILE once it listens."""
import argparse
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeinet import Hello  # noqa: E402
import http.server  # noqa: E402


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv = Server((a.addr, 443), Hello)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(a.ready, "w") as f:
        f.write(str(os.getpid()))
    srv.serve_forever()


if __name__ == "__main__":
    main()
