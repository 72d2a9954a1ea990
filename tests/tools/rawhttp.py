#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Send raw request bytes, as no well-behaved client would, and report what
came back.  Run inside the cgroup under test (cgfw run ... -- rawhttp.py).

  rawhttp.py --host HOST --port PORT [--tls] [--pad N] [--tail N] [--gap S] REQUEST...

HOST is resolved by name (so the DNS proxy admits it).  Each REQUEST is one
Python-escaped string ('GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); they are
sent back to back (pipelined) in one go, or S seconds apart with --gap S.
--pad N puts an "X-Pad" header of N bytes into the first request's head;
--tail N sends N more bytes of junk after the last request.  --tls speaks
TLS with SNI HOST, verified against the default trust (cgfw run's bundle).

Prints one line per response, "STATUS-LINE|BODY" (the body's newlines as
spaces), then "end=eof" (the server closed), "end=timeout" or
"end=ERRNO-NAME", and "sent=all" or "sent=ERRNO-NAME".
"""
import argparse
import codecs
import errno
import socket
import ssl
import sys
import time


def err_name(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, ssl.SSLError):
        return "SSLError"
    return errno.errorcode.get(e.errno, str(e.errno))


def read_all(s):
    """Everything until the server closes, or an error or 5 s of silence."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (OSError, ssl.SSLError) as e:
            return data, err_name(e)
        if not chunk:
            return data, "eof"
        data += chunk


def responses(data):
    """Split a byte stream into (status line, body) pairs by Content-Length."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            out.append((head.split(b"\r\n")[0], b"<truncated head>"))
            break
        lines = head.split(b"\r\n")
        n = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                n = int(value.strip())
        out.append((lines[0], rest[:n]))
        data = rest[n:]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--tail", type=int, default=0)
    ap.add_argument("--gap", type=float, default=0)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("request", nargs="+")
    a = ap.parse_args()

    reqs = [codecs.escape_decode(r.encode())[0] for r in a.request]
    if a.pad:
        first = reqs[0]
        i = first.index(b"\r\n") + 2
        reqs[0] = first[:i] + b"X-Pad: " + b"a" * a.pad + b"\r\n" + first[i:]
    if a.tail:
        reqs.append(b"a" * a.tail)
    s = socket.create_connection((a.host, a.port), timeout=5)
    if a.tls:
        s = ssl.create_default_context().wrap_socket(s, server_hostname=a.host)
    try:
        if a.gap:
            for i, r in enumerate(reqs):
                if i:
                    time.sleep(a.gap)
                s.sendall(r)
        else:
            s.sendall(b"".join(reqs))
        sent = "all"
    except (OSError, ssl.SSLError) as e:
        sent = err_name(e)
    data, end = read_all(s)
    for status, body in responses(data):
        print("%s|%s" % (status.decode(errors="replace"),
                         body.decode(errors="replace").strip().replace("\n", " ")))
    print("end=%s" % end)
    print("sent=%s" % sent)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
