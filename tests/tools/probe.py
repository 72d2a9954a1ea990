#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Socket probes run inside the cgroup under test.  Prints one line:
"pid=N result=ok|EPERM|ECONNREFUSED|TIMEOUT|..." so tests can compare the
errno and the pid with the events.

  probe.py tcp HOST PORT         connect()
  probe.py udp-sendto HOST PORT  unconnected sendto() + wait for the echo
  probe.py udp-connect HOST PORT connect() + send() + wait for the echo
  probe.py icmp HOST             raw ICMP echo (needs root)
  probe.py hold NAME SECONDS     resolve NAME, open a connection to its echo port 7,
                                 wait SECONDS, use it again, then try a new one:
                                 "held=ok|... new=ok|EPERM|..."
  probe.py resolve NAME          getaddrinfo (glibc): the IPv4 addresses or the error
  probe.py udp-peer HOST PORT    connect() a UDP socket, print getpeername()
  probe.py udp-burst HOST PORT N N sendto()s as fast as one process can, one socket:
                                 "sent=N eperm=N" (each EPERM is a blocked event)
"""
import errno
import os
import socket
import struct
import sys


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def result(fn):
    try:
        return fn()
    except socket.timeout:
        return "TIMEOUT"
    except __import__("ssl").SSLError as e:
        return "SSLError:%s" % (e.reason or "")
    except socket.gaierror as e:
        return "gai:%s" % e.strerror
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def tcp(host, port):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect((host, port))
    s.close()
    return "ok"


def udp(host, port, connected):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(2)
    if connected:
        s.connect((host, port))
        s.send(b"ping")
    else:
        s.sendto(b"ping", (host, port))
    data = s.recv(64)
    return "ok" if data == b"ping" else "bad-reply"


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def icmp(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2)
    hdr = struct.pack("!BBHHH", 8, 0, 0, os.getpid() & 0xffff, 1) + b"cgfw"
    pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr), os.getpid() & 0xffff, 1) + b"cgfw"
    s.sendto(pkt, (host, 0))
    while True:
        data, _ = s.recvfrom(1024)
        if data[20] == 0:
            return "ok"


def echo_once(s):
    s.sendall(b"cgfw")
    return "ok" if s.recv(16) == b"cgfw" else "bad-echo"


def hold(name, seconds):
    import time
    addr = socket.gethostbyname(name)
    s = socket.create_connection((addr, 7), timeout=3)
    first = echo_once(s)
    time.sleep(seconds)
    held = result(lambda: echo_once(s))
    new = result(lambda: echo_once(socket.create_connection((addr, 7), timeout=3)))
    return "first=%s held=%s new=%s" % (first, held, new)


def resolve(name):
    infos = socket.getaddrinfo(name, 80, socket.AF_UNSPEC, socket.SOCK_STREAM)
    return ",".join(sorted({i[4][0] for i in infos}))


def udp_peer(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    return "%s:%d" % s.getpeername()


def udp_burst(host, port, n):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    sent = eperm = 0
    for _ in range(n):
        try:
            s.sendto(b"x", (host, port))
            sent += 1
        except PermissionError:
            eperm += 1
    return "ok sent=%d eperm=%d" % (sent, eperm)


def tls_nosni(host, port):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection((host, port), timeout=3)
    ctx.wrap_socket(s)  # no server_hostname: no SNI
    return "ok"


def main():
    kind, host = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    fns = {
        "tcp": lambda: tcp(host, port),
        "udp-sendto": lambda: udp(host, port, False),
        "udp-connect": lambda: udp(host, port, True),
        "icmp": lambda: icmp(host),
        "hold": lambda: hold(host, port),
        "resolve": lambda: resolve(host),
        "udp-peer": lambda: udp_peer(host, port),
        "tls-nosni": lambda: tls_nosni(host, port),
        "udp-burst": lambda: udp_burst(host, port, int(sys.argv[4])),
    }
    print("pid=%d result=%s" % (os.getpid(), result(fns[kind])), flush=True)


if __name__ == "__main__":
    main()
