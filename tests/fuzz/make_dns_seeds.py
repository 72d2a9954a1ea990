#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_dnsmsg: valid queries and answers, then broken ones.

Answers answer the fuzzer's fixed query (id 0x1234, www.example.com A IN), whose
question sits at offset 12 ("example.com" at 16).  Usage: make_dns_seeds.py [DIR]
(default: tests/fuzz/corpus/dnsmsg next to this script).  Output is deterministic.
"""
import os
import random
import struct
import sys

QID = 0x1234
QR, RD, RA, TC = 0x8000, 0x0100, 0x0080, 0x0200
A, NS, CNAME, SOA, PTR, MX, TXT, RP, SIG, AAAA, SRV, NAPTR, OPT, HTTPS = (
    1, 2, 5, 6, 12, 15, 16, 17, 24, 28, 33, 35, 41, 65)


def dname(spec):
    """'a.b' -> labels + root; 'a@16' -> labels + pointer; '@12' -> pointer; '' -> root."""
    labels, _, ptr = spec.partition("@")
    out = b""
    for label in labels.split(".") if labels else []:
        out += bytes([len(label)]) + label.encode()
    return out + (struct.pack(">H", 0xC000 | int(ptr)) if ptr else b"\0")


class Msg:
    def __init__(self, id=QID, flags=QR | RD | RA):
        self.id, self.flags, self.body, self.counts = id, flags, b"", [0, 0, 0, 0]

    def here(self):
        return 12 + len(self.body)

    def question(self, name, qtype=A, qclass=1):
        self.body += dname(name) + struct.pack(">HH", qtype, qclass)
        self.counts[0] += 1
        return self

    def rr(self, section, owner, rtype, rdata, ttl=300, rclass=1):
        self.body += dname(owner) + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata
        self.counts[section] += 1
        return self

    def opt(self, size=1232, options=b""):
        return self.rr(3, "", OPT, options, ttl=0, rclass=size)

    def bytes(self):
        return struct.pack(">HH4H", self.id, self.flags, *self.counts) + self.body


def ip(s):
    return bytes(int(x) for x in s.split("."))


def answer(flags=QR | RD | RA):
    return Msg(flags=flags).question("www.example.com")


def seeds():
    s = {}
    s["query_a"] = Msg(flags=RD).question("www.example.com").bytes()
    s["query_aaaa_mixed_case"] = Msg(0xBEEF, RD).question("IPv6.Example.ORG", AAAA).bytes()
    s["query_edns_cookie"] = (Msg(flags=RD).question("www.example.com", HTTPS)
                              .opt(1232, struct.pack(">HH", 10, 8) + bytes(range(8))).bytes())
    s["query_edns_4096"] = Msg(flags=RD).question("www.example.com").opt(4096).bytes()
    s["query_root_ns"] = Msg(7, 0).question("", NS).bytes()
    s["query_compressed_bad"] = Msg(flags=RD).question("www@12").bytes()

    s["answer_a"] = (answer().rr(1, "@12", A, ip("192.0.2.1"))
                     .rr(1, "www.example.com", A, ip("192.0.2.2"), ttl=60).opt().bytes())

    m = answer()
    c = m.here()
    m.rr(1, "c.example.net", A, ip("198.51.100.7"), ttl=500)
    b = m.here()
    m.rr(1, "b.example.org", CNAME, dname("@%d" % c), ttl=200)
    m.rr(1, "@12", CNAME, dname("@%d" % b), ttl=400)
    s["answer_cname_chain"] = m.bytes()

    # CNAME cloaking: an alias of another zone (mixed case), its A owned by a
    # pointer into the CNAME's RDATA; cgfw-dnsproxy judges every chain name.
    m = answer()
    target = m.here() + 2 + 10  # past the owner pointer and the fixed fields
    m.rr(1, "@12", CNAME, dname("Tracker.BLOCKED.test"), ttl=60)
    m.rr(1, "@%d" % target, A, ip("198.51.100.9"), ttl=60)
    s["answer_cname_cloak"] = m.bytes()

    s["answer_cname_loop"] = (answer().rr(1, "@12", CNAME, dname("b@16"))
                              .rr(1, "b@16", CNAME, dname("@12")).bytes())

    m = answer()
    for i in range(15):
        m.rr(1, "@12" if i == 0 else "n%d@16" % i, CNAME, dname("n%d@16" % (i + 1)))
    s["answer_chain_16"] = m.rr(1, "n15@16", A, ip("192.0.2.16")).bytes()

    m = answer()
    for i in range(70):
        m.rr(1, "@12", A, ip("10.0.0.%d" % (i + 1)))
    s["answer_many_a"] = m.bytes()

    s["answer_aaaa_mixed"] = (answer().rr(1, "@12", AAAA, bytes(16)).rr(1, "@12", A, ip("192.0.2.1"))
                              .rr(2, "@16", NS, dname("ns1@16"), ttl=3600)
                              .rr(3, "ns1@16", A, ip("192.0.2.53"))
                              .rr(3, "ns1@16", AAAA, bytes(15) + b"\1").opt().bytes())

    soa = dname("ns1@16") + dname("hostmaster@16") + struct.pack(">5I", 1, 2, 3, 4, 5)
    s["answer_nxdomain_soa"] = Msg(flags=QR | RD | RA | 3).question("www.example.com") \
        .rr(2, "@16", SOA, soa, ttl=900).opt().bytes()

    m = answer()
    v6 = m.here()
    m.rr(1, "alias@16", AAAA, bytes(16))
    m.rr(1, "@12", CNAME, dname("@%d" % v6))
    m.rr(1, "@%d" % v6, A, ip("10.0.0.1"))
    s["answer_ptr_into_aaaa"] = m.bytes()

    m = answer()
    v6 = m.here()
    m.rr(1, "v6@16", AAAA, bytes(16))
    m.rr(1, "@16", MX, struct.pack(">H", 10) + dname("mx@%d" % v6))
    m.rr(1, "_sip._udp@16", SRV, struct.pack(">3H", 1, 2, 5060) + dname("@%d" % v6))
    m.rr(2, "@16", SOA, dname("@%d" % v6) + dname("h@%d" % v6) + bytes(20))
    m.rr(3, "@16", RP, dname("me@16") + dname("txt@16"))
    m.rr(3, "@16", NAPTR, struct.pack(">HH", 1, 2) + b"\1U\7E2U+sip\0" + dname("@16"))
    m.rr(3, "@16", SIG, bytes(18) + dname("example.com") + b"sig")
    m.rr(3, "@16", 99, b"\xc0\x0c")
    m.rr(3, "@16", PTR, dname("@12"), rclass=3)
    s["answer_rdata_names"] = m.bytes()

    s["answer_tc"] = answer(QR | RD | RA | TC).bytes()
    s["answer_servfail"] = answer(QR | RD | RA | 2).opt().bytes()
    s["answer_txt_case"] = (Msg(flags=QR).question("WWW.example.COM")
                            .rr(1, "wWw@16", TXT, b"\5hello").rr(1, "@12", A, ip("192.0.2.3"))
                            .bytes())

    # Broken ones: the fuzzer mutates these towards the edges.
    good = s["answer_a"]
    s["trunc_header"] = good[:7]
    s["trunc_name"] = good[:20]
    s["trunc_rdata"] = good[:-13]
    s["rdlength_past_end"] = good[:-2] + b"\0\xff"  # the OPT's
    s["ptr_self"] = answer().bytes() + b"\xc0\x21" + struct.pack(">HHIH", A, 1, 1, 0)
    s["ptr_forward"] = answer().bytes() + b"\xc0\x2d" + struct.pack(">HHIH", TXT, 1, 1, 0) + \
        dname("x@12") + struct.pack(">HHIH", TXT, 1, 1, 0)
    s["label_64"] = Msg(flags=RD).question("x" * 64 + ".com").bytes()
    s["name_256"] = Msg(flags=RD).question(".".join(["a" * 63] * 3 + ["a" * 62])).bytes()
    s["empty"] = b""
    rnd = random.Random(1)
    s["garbage"] = bytes(rnd.randrange(256) for _ in range(96))
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "dnsmsg")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds()), out))


if __name__ == "__main__":
    main()
