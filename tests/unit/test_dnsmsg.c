// SPDX-License-Identifier: MIT
/*
 * lib/dnsmsg.c on packets built byte by byte here: valid queries and answers,
 * then the hostile ones (truncation, oversized labels and names, compression
 * loops and forward pointers, CNAME loops), AAAA stripping and the responses
 * we make ourselves, which must parse back as answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dnsmsg.h"

#define QID 0x1234
#define QN  "www.example.com" /* at offset 12; "example.com" at 16, "com" at 24 */

struct pkt {
	uint8_t b[70000]; /* room for a message over 64 KiB */
	size_t len;
};

/* ---- a tiny packet builder ---- */

static void
put8(struct pkt *p, unsigned v)
{
	assert_true(p->len < sizeof(p->b));
	p->b[p->len++] = (uint8_t)v;
}

static void
put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void
put_bytes(struct pkt *p, const void *d, size_t n)
{
	assert_true(n <= sizeof(p->b) - p->len);
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

/*
 * A name from a spec: "a.b.c" is labels and the root, "a.b@16" labels then a
 * pointer to offset 16, "@12" a bare pointer, "" the root.
 */
static void
put_dname(struct pkt *p, const char *spec)
{
	const char *at = strchr(spec, '@');
	const char *end = at ? at : spec + strlen(spec);

	while (spec < end) {
		const char *dot = memchr(spec, '.', (size_t)(end - spec));
		size_t n = dot ? (size_t)(dot - spec) : (size_t)(end - spec);

		put8(p, (unsigned)n);
		put_bytes(p, spec, n);
		spec += n + (dot ? 1 : 0);
	}
	if (at)
		put16(p, 0xc000 | (unsigned)atoi(at + 1));
	else
		put8(p, 0);
}

static void
put_hdr(
    struct pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	p->len = 0;
	put16(p, id);
	put16(p, flags);
	put16(p, qd);
	put16(p, an);
	put16(p, ns);
	put16(p, ar);
}

static void
set_counts(struct pkt *p, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	unsigned v[4] = {qd, an, ns, ar};

	for (int i = 0; i < 4; i++) {
		p->b[4 + 2 * i] = (uint8_t)(v[i] >> 8);
		p->b[5 + 2 * i] = (uint8_t)v[i];
	}
}

static void
put_question(struct pkt *p, const char *name, unsigned type, unsigned class)
{
	put_dname(p, name);
	put16(p, type);
	put16(p, class);
}

/* The fixed part after an owner; returns where rdlength goes. */
static size_t
rr_begin(struct pkt *p, unsigned type, unsigned class, uint32_t ttl)
{
	size_t at;

	put16(p, type);
	put16(p, class);
	put32(p, ttl);
	at = p->len;
	put16(p, 0);
	return at;
}

static void
rr_end(struct pkt *p, size_t at)
{
	size_t n = p->len - at - 2;

	p->b[at] = (uint8_t)(n >> 8);
	p->b[at + 1] = (uint8_t)n;
}

static void
rr_a(struct pkt *p, const char *owner, uint32_t ttl, const char *ip)
{
	struct in_addr a;
	size_t at;

	assert_int_equal(inet_pton(AF_INET, ip, &a), 1);
	put_dname(p, owner);
	at = rr_begin(p, DNS_TYPE_A, DNS_CLASS_IN, ttl);
	put_bytes(p, &a, 4);
	rr_end(p, at);
}

static void
rr_aaaa(struct pkt *p, const char *owner, uint32_t ttl)
{
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	size_t at;

	put_dname(p, owner);
	at = rr_begin(p, DNS_TYPE_AAAA, DNS_CLASS_IN, ttl);
	put_bytes(p, v6, sizeof(v6));
	rr_end(p, at);
}

static void
rr_cname(struct pkt *p, const char *owner, uint32_t ttl, const char *target)
{
	size_t at;

	put_dname(p, owner);
	at = rr_begin(p, DNS_TYPE_CNAME, DNS_CLASS_IN, ttl);
	put_dname(p, target);
	rr_end(p, at);
}

static void
rr_opt(struct pkt *p, unsigned udp_size)
{
	put8(p, 0);
	rr_end(p, rr_begin(p, DNS_TYPE_OPT, udp_size, 0));
}

/* A query for name/type, with an OPT if udp_size. */
static void
build_query(struct pkt *p, const char *name, unsigned type, unsigned udp_size)
{
	put_hdr(p, QID, DNS_FLAG_RD, 1, 0, 0, udp_size ? 1 : 0);
	put_question(p, name, type, DNS_CLASS_IN);
	if (udp_size)
		rr_opt(p, udp_size);
}

/* The header and question of an answer to QN/A; counts are set by the caller. */
static void
answer_start(struct pkt *p)
{
	put_hdr(p, QID, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA, 1, 0, 0, 0);
	put_question(p, QN, DNS_TYPE_A, DNS_CLASS_IN);
}

static void
query_for(struct dns_query *q, const char *name, unsigned type)
{
	struct pkt p;

	build_query(&p, name, type, 0);
	assert_int_equal(dns_parse_query(p.b, p.len, q), 0);
}

/* ---- queries ---- */

static void
q_a(struct pkt *p)
{
	build_query(p, "WWW.Example.COM", DNS_TYPE_A, 0);
}

static void
q_aaaa(struct pkt *p)
{
	build_query(p, "ipv6.example.org", DNS_TYPE_AAAA, 0);
}

static void
q_edns(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 4096);
}

static void
q_edns_cookie(struct pkt *p)
{
	size_t at;

	put_hdr(p, QID, DNS_FLAG_RD, 1, 0, 0, 1);
	put_question(p, QN, DNS_TYPE_HTTPS, DNS_CLASS_IN);
	put8(p, 0);
	at = rr_begin(p, DNS_TYPE_OPT, 1232, 0x8000);
	put16(p, 10); /* COOKIE */
	put16(p, 8);
	put_bytes(p, "\1\2\3\4\5\6\7\10", 8);
	rr_end(p, at);
}

static void
q_root(struct pkt *p)
{
	build_query(p, "", DNS_TYPE_NS, 0);
}

static void
q_name_255(struct pkt *p)
{
	char name[256];

	/* 3 * (1 + 63) + (1 + 61) + the root = 255 */
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	build_query(p, name, DNS_TYPE_A, 0);
}

static void
q_name_256(struct pkt *p)
{
	char name[256];

	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[254] = '\0';
	build_query(p, name, DNS_TYPE_A, 0);
}

static void
q_name_long(struct pkt *p)
{
	char name[64 * 5];

	memset(name, 'b', sizeof(name));
	for (int i = 1; i < 5; i++)
		name[64 * i - 1] = '.';
	name[sizeof(name) - 1] = '\0';
	build_query(p, name, DNS_TYPE_A, 0);
}

static void
q_label_63(struct pkt *p)
{
	char name[80];

	memset(name, 'x', 63);
	strcpy(name + 63, ".com");
	build_query(p, name, DNS_TYPE_A, 0);
}

static void
q_label_64(struct pkt *p)
{
	char name[80];

	memset(name, 'x', 64);
	strcpy(name + 64, ".com");
	build_query(p, name, DNS_TYPE_A, 0);
}

static void
q_label_0x80(struct pkt *p)
{
	put_hdr(p, QID, 0, 1, 0, 0, 0);
	put8(p, 0x80);
	put_bytes(p, "\0\0\1\0\1", 5);
}

static void
q_trunc_header(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	p->len = 11;
}

static void
q_trunc_name(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	p->len = 12 + 6;
}

static void
q_trunc_type(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	p->len -= 2;
}

static void
q_trunc_opt(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 1232);
	p->len -= 1;
}

static void
q_trailing(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	put8(p, 0);
}

static void
q_compressed(struct pkt *p)
{
	/* Legal in answers, never needed in a question: strict. */
	put_hdr(p, QID, 0, 1, 0, 0, 0);
	put_dname(p, "www@12");
	put16(p, DNS_TYPE_A);
	put16(p, DNS_CLASS_IN);
}

static void
q_self_pointer(struct pkt *p)
{
	put_hdr(p, QID, 0, 1, 0, 0, 0);
	put_dname(p, "@12");
	put16(p, DNS_TYPE_A);
	put16(p, DNS_CLASS_IN);
}

static void
q_qd0(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	set_counts(p, 0, 0, 0, 0);
}

static void
q_qd2(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	put_question(p, "example.net", DNS_TYPE_A, DNS_CLASS_IN);
	set_counts(p, 2, 0, 0, 0);
}

static void
q_qr(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	p->b[2] |= 0x80;
}

static void
q_opcode_status(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	p->b[2] |= 2 << 3;
}

static void
q_an1(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	rr_a(p, "www.example.com", 60, "192.0.2.1");
	set_counts(p, 1, 1, 0, 0);
}

static void
q_ar_not_opt(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 0);
	rr_a(p, "www.example.com", 60, "192.0.2.1");
	set_counts(p, 1, 0, 0, 1);
}

static void
q_two_opts(struct pkt *p)
{
	build_query(p, QN, DNS_TYPE_A, 1232);
	rr_opt(p, 1232);
	set_counts(p, 1, 0, 0, 2);
}

static void
q_opt_bad_option(struct pkt *p)
{
	size_t at;

	put_hdr(p, QID, 0, 1, 0, 0, 1);
	put_question(p, QN, DNS_TYPE_A, DNS_CLASS_IN);
	put8(p, 0);
	at = rr_begin(p, DNS_TYPE_OPT, 1232, 0);
	put16(p, 10);
	put16(p, 9); /* one byte more than there is */
	put_bytes(p, "12345678", 8);
	rr_end(p, at);
}

static void
q_opt_named(struct pkt *p)
{
	put_hdr(p, QID, 0, 1, 0, 0, 1);
	put_question(p, QN, DNS_TYPE_A, DNS_CLASS_IN);
	put_dname(p, "x");
	rr_end(p, rr_begin(p, DNS_TYPE_OPT, 1232, 0));
}

static void
q_dot_in_label(struct pkt *p)
{
	/* One label "evil.com" must not read as two. */
	put_hdr(p, QID, 0, 1, 0, 0, 0);
	put8(p, 8);
	put_bytes(p, "evil.com", 8);
	put8(p, 0);
	put16(p, DNS_TYPE_A);
	put16(p, DNS_CLASS_IN);
}

static void
q_nul_in_label(struct pkt *p)
{
	put_hdr(p, QID, 0, 1, 0, 0, 0);
	put8(p, 4);
	put_bytes(p, "ab\0c", 4);
	put8(p, 0);
	put16(p, DNS_TYPE_A);
	put16(p, DNS_CLASS_IN);
}

static void
test_parse_query(void **state)
{
	static const struct {
		const char *what;
		void (*build)(struct pkt *);
		int want;
		const char *qname;
		uint16_t qtype;
		int has_edns;
		uint16_t udp;
	} cases[] = {
	    {"A, mixed case", q_a, 0, "www.example.com", DNS_TYPE_A, 0, 0},
	    {"AAAA", q_aaaa, 0, "ipv6.example.org", DNS_TYPE_AAAA, 0, 0},
	    {"EDNS 4096", q_edns, 0, QN, DNS_TYPE_A, 1, 4096},
	    {"EDNS with a cookie", q_edns_cookie, 0, QN, DNS_TYPE_HTTPS, 1, 1232},
	    {"the root", q_root, 0, "", DNS_TYPE_NS, 0, 0},
	    {"name of 255", q_name_255, 0, NULL, DNS_TYPE_A, 0, 0},
	    {"label of 63", q_label_63, 0, NULL, DNS_TYPE_A, 0, 0},
	    {"name of 256", q_name_256, -EBADMSG, NULL, 0, 0, 0},
	    {"name of 320", q_name_long, -EBADMSG, NULL, 0, 0, 0},
	    {"label of 64", q_label_64, -EBADMSG, NULL, 0, 0, 0},
	    {"label type 0x80", q_label_0x80, -EBADMSG, NULL, 0, 0, 0},
	    {"truncated header", q_trunc_header, -EBADMSG, NULL, 0, 0, 0},
	    {"truncated name", q_trunc_name, -EBADMSG, NULL, 0, 0, 0},
	    {"truncated type", q_trunc_type, -EBADMSG, NULL, 0, 0, 0},
	    {"truncated OPT", q_trunc_opt, -EBADMSG, NULL, 0, 0, 0},
	    {"trailing byte", q_trailing, -EBADMSG, NULL, 0, 0, 0},
	    {"compressed question", q_compressed, -EBADMSG, NULL, 0, 0, 0},
	    {"pointer to itself", q_self_pointer, -EBADMSG, NULL, 0, 0, 0},
	    {"QDCOUNT 0", q_qd0, -EBADMSG, NULL, 0, 0, 0},
	    {"QDCOUNT 2", q_qd2, -EBADMSG, NULL, 0, 0, 0},
	    {"QR set", q_qr, -EBADMSG, NULL, 0, 0, 0},
	    {"opcode STATUS", q_opcode_status, -EBADMSG, NULL, 0, 0, 0},
	    {"ANCOUNT 1", q_an1, -EBADMSG, NULL, 0, 0, 0},
	    {"additional A", q_ar_not_opt, -EBADMSG, NULL, 0, 0, 0},
	    {"two OPTs", q_two_opts, -EBADMSG, NULL, 0, 0, 0},
	    {"OPT option past its end", q_opt_bad_option, -EBADMSG, NULL, 0, 0, 0},
	    {"OPT not at the root", q_opt_named, -EBADMSG, NULL, 0, 0, 0},
	    {"'.' inside a label", q_dot_in_label, -EBADMSG, NULL, 0, 0, 0},
	    {"NUL inside a label", q_nul_in_label, -EBADMSG, NULL, 0, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = {.len = 0};
		struct dns_query q, untouched;
		uint8_t *exact;
		int r;

		cases[i].build(&p);
		/* An exact-size copy, so ASan sees any read past the end. */
		exact = malloc(p.len ? p.len : 1);
		assert_non_null(exact);
		memcpy(exact, p.b, p.len);
		memset(&q, 0x5a, sizeof(q));
		untouched = q;
		r = dns_parse_query(exact, p.len, &q);
		free(exact);
		if (r != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what, r, cases[i].want);
		if (r < 0) {
			if (memcmp(&q, &untouched, sizeof(q)) != 0)
				fail_msg("%s: ret_q written on failure", cases[i].what);
			continue;
		}
		if (cases[i].qname)
			assert_string_equal(q.qname, cases[i].qname);
		assert_int_equal(q.id, QID);
		assert_int_equal(q.qtype, cases[i].qtype);
		assert_int_equal(q.qclass, DNS_CLASS_IN);
		assert_int_equal(q.has_edns, cases[i].has_edns);
		assert_int_equal(q.edns_udp_size, cases[i].udp);
	}
}

static void
test_query_name_limits(void **state)
{
	struct pkt p = {.len = 0};
	struct dns_query q;

	(void)state;
	q_name_255(&p);
	assert_int_equal(dns_parse_query(p.b, p.len, &q), 0);
	assert_int_equal(strlen(q.qname), 253);
	assert_int_equal(q.question_end, p.len);
	q_label_63(&p);
	assert_int_equal(dns_parse_query(p.b, p.len, &q), 0);
	assert_int_equal(strlen(q.qname), 67);
	/* Every prefix of a valid query is invalid. */
	build_query(&p, QN, DNS_TYPE_A, 1232);
	for (size_t n = 0; n < p.len; n++)
		assert_int_equal(dns_parse_query(p.b, n, &q), -EBADMSG);
	assert_int_equal(dns_parse_query(p.b, p.len, &q), 0);
	assert_int_equal(q.question_end, 12 + 17 + 4);
}

/* ---- answers ---- */

static void
a_simple(struct pkt *p)
{
	answer_start(p);
	rr_a(p, "@12", 300, "192.0.2.1");
	rr_a(p, "www.example.com", 100, "192.0.2.2");
	set_counts(p, 1, 2, 0, 0);
}

static void
a_case(struct pkt *p)
{
	put_hdr(p, QID, DNS_FLAG_QR, 1, 1, 0, 0);
	put_question(p, "wWw.ExAmPlE.cOm", DNS_TYPE_A, DNS_CLASS_IN);
	rr_a(p, "WWW@16", 60, "192.0.2.1");
}

static void
a_chain(struct pkt *p)
{
	char c[16], b[16];

	/* www -> b -> c, listed backwards, c's address first. */
	answer_start(p);
	snprintf(c, sizeof(c), "@%zu", p->len);
	rr_a(p, "c.example.net", 500, "198.51.100.7");
	snprintf(b, sizeof(b), "@%zu", p->len);
	rr_cname(p, "b.example.org", 200, c);
	rr_cname(p, "@12", 400, b);
	set_counts(p, 1, 3, 0, 0);
}

static void
a_chain_loop(struct pkt *p)
{
	answer_start(p);
	rr_cname(p, "@12", 60, "b@16");
	rr_cname(p, "b@16", 60, "@12");
	rr_a(p, "b@16", 60, "192.0.2.1");
	set_counts(p, 1, 3, 0, 0);
}

static void
a_chain_self(struct pkt *p)
{
	answer_start(p);
	rr_cname(p, "@12", 60, "@12");
	set_counts(p, 1, 1, 0, 0);
}

static void
a_chain_fork(struct pkt *p)
{
	answer_start(p);
	rr_cname(p, "@12", 60, "b@16");
	rr_cname(p, "@12", 60, "c@16");
	set_counts(p, 1, 2, 0, 0);
}

static void
a_chain_dup(struct pkt *p)
{
	answer_start(p);
	rr_cname(p, "@12", 60, "b@16");
	rr_cname(p, "@12", 30, "B@16");
	rr_a(p, "b@16", 90, "192.0.2.9");
	set_counts(p, 1, 3, 0, 0);
}

/* www -> n1 -> n2 -> ... -> n<links>, then an A for the last. */
static void
chain_of(struct pkt *p, int links)
{
	char owner[32], target[32];

	answer_start(p);
	for (int i = 0; i < links; i++) {
		if (i == 0)
			snprintf(owner, sizeof(owner), "@12");
		else
			snprintf(owner, sizeof(owner), "n%d@16", i);
		snprintf(target, sizeof(target), "n%d@16", i + 1);
		rr_cname(p, owner, 60, target);
	}
	snprintf(owner, sizeof(owner), "n%d@16", links);
	rr_a(p, owner, 60, "192.0.2.16");
	set_counts(p, 1, (unsigned)links + 1, 0, 0);
}

static void
a_chain_15(struct pkt *p)
{
	chain_of(p, DNS_MAX_CHAIN - 1);
}

static void
a_chain_16(struct pkt *p)
{
	chain_of(p, DNS_MAX_CHAIN);
}

static void
a_unrelated(struct pkt *p)
{
	size_t at;

	answer_start(p);
	rr_a(p, "other.example.org", 5, "203.0.113.1");
	rr_cname(p, "x.example.org", 5, "@12"); /* points at us, not from us */
	put_dname(p, "@12");
	at = rr_begin(p, DNS_TYPE_A, 3 /* CH */, 5);
	put_bytes(p, "\1\2\3\4\5\6", 6);
	rr_end(p, at);
	rr_aaaa(p, "@12", 5);
	rr_a(p, "@12", 77, "192.0.2.77");
	set_counts(p, 1, 5, 0, 0);
}

static void
a_ttl(struct pkt *p)
{
	answer_start(p);
	rr_a(p, "@12", 3600, "192.0.2.1");
	rr_a(p, "@12", 0x80000000u, "192.0.2.2"); /* top bit: zero */
	rr_a(p, "@12", 3600, "192.0.2.1");        /* a duplicate */
	set_counts(p, 1, 3, 0, 0);
}

static void
a_many(struct pkt *p)
{
	char ip[32];

	answer_start(p);
	for (int i = 0; i < DNS_MAX_A + 6; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 200, i % 200 + 1);
		rr_a(p, "@12", 60, ip);
	}
	set_counts(p, 1, DNS_MAX_A + 6, 0, 0);
}

static void
a_nxdomain(struct pkt *p)
{
	size_t at;

	put_hdr(p, QID, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | DNS_RCODE_NXDOMAIN, 1, 0, 1, 1);
	put_question(p, QN, DNS_TYPE_A, DNS_CLASS_IN);
	put_dname(p, "@16");
	at = rr_begin(p, DNS_TYPE_SOA, DNS_CLASS_IN, 900);
	put_dname(p, "ns1@16");
	put_dname(p, "hostmaster@16");
	for (int i = 0; i < 5; i++)
		put32(p, 1000 + (uint32_t)i);
	rr_end(p, at);
	rr_opt(p, 1232);
}

static void
a_rdlen_past_end(struct pkt *p)
{
	a_simple(p);
	p->b[p->len - 5] = 0xff; /* the last A's rdlength: 0x00ff */
}

static void
a_rdlen_5(struct pkt *p)
{
	size_t at;

	answer_start(p);
	put_dname(p, "@12");
	at = rr_begin(p, DNS_TYPE_A, DNS_CLASS_IN, 60);
	put_bytes(p, "\1\2\3\4\5", 5);
	rr_end(p, at);
	set_counts(p, 1, 1, 0, 0);
}

static void
a_cname_rdata_short(struct pkt *p)
{
	size_t at;

	answer_start(p);
	put_dname(p, "@12");
	at = rr_begin(p, DNS_TYPE_CNAME, DNS_CLASS_IN, 60);
	put_dname(p, "b@16");
	rr_end(p, at);
	p->b[at + 1] -= 1; /* the target's pointer runs out of the RDATA */
	p->len -= 1;
	set_counts(p, 1, 1, 0, 0);
}

static void
a_truncated(struct pkt *p)
{
	a_chain(p);
	p->len -= 3;
}

static void
a_trailing(struct pkt *p)
{
	a_simple(p);
	put8(p, 0);
}

static void
a_bad_authority(struct pkt *p)
{
	a_simple(p);
	put_dname(p, "@16");
	put16(p, DNS_TYPE_NS);
	set_counts(p, 1, 2, 1, 0);
}

static void
a_ptr_self(struct pkt *p)
{
	answer_start(p);
	put16(p, 0xc000 | (unsigned)p->len); /* a pointer to itself */
	rr_end(p, rr_begin(p, DNS_TYPE_A, DNS_CLASS_IN, 1));
	set_counts(p, 1, 1, 0, 0);
}

static void
a_ptr_pair(struct pkt *p)
{
	size_t first;

	/* Owner 1 is "x" then a pointer to owner 2, which points back at owner 1. */
	answer_start(p);
	first = p->len;
	put8(p, 1);
	put8(p, 'x');
	put16(p, 0xc000 | (unsigned)(first + 4 + 10));
	rr_end(p, rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 1));
	put16(p, 0xc000 | (unsigned)first);
	rr_end(p, rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 1));
	set_counts(p, 1, 2, 0, 0);
}

static void
a_ptr_forward(struct pkt *p)
{
	answer_start(p);
	put16(p, 0xc000 | (unsigned)(p->len + 12));
	rr_end(p, rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 1));
	put_dname(p, "x@12");
	rr_end(p, rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 1));
	set_counts(p, 1, 2, 0, 0);
}

static void
a_ptr_header(struct pkt *p)
{
	answer_start(p);
	put_dname(p, "@4");
	rr_end(p, rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 1));
	set_counts(p, 1, 1, 0, 0);
}

static void
a_ptr_loop_run(struct pkt *p)
{
	size_t at;

	/* "\1x" then a pointer back to that same label: backwards, but a loop. */
	answer_start(p);
	at = p->len;
	put8(p, 1);
	put8(p, 'x');
	put16(p, 0xc000 | (unsigned)at);
	rr_end(p, rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 1));
	set_counts(p, 1, 1, 0, 0);
}

static void
a_ptr_long_name(struct pkt *p)
{
	char label[64];
	size_t prev = 12;

	/* Each owner adds one 60-byte label in front of the previous one: > 255 by the 5th. */
	memset(label, 'k', 60);
	label[60] = '\0';
	answer_start(p);
	for (int i = 0; i < 5; i++) {
		char spec[96];
		size_t here = p->len;

		snprintf(spec, sizeof(spec), "%s@%zu", label, prev);
		put_dname(p, spec);
		rr_end(p, rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 1));
		prev = here;
	}
	set_counts(p, 1, 5, 0, 0);
}

static void
a_wrong_id(struct pkt *p)
{
	a_simple(p);
	p->b[1] ^= 1;
}

static void
a_not_qr(struct pkt *p)
{
	a_simple(p);
	p->b[2] &= 0x7f;
}

static void
a_wrong_name(struct pkt *p)
{
	put_hdr(p, QID, DNS_FLAG_QR, 1, 0, 0, 0);
	put_question(p, "www.example.org", DNS_TYPE_A, DNS_CLASS_IN);
}

static void
a_wrong_type(struct pkt *p)
{
	put_hdr(p, QID, DNS_FLAG_QR, 1, 0, 0, 0);
	put_question(p, QN, DNS_TYPE_AAAA, DNS_CLASS_IN);
}

static void
a_qd0(struct pkt *p)
{
	put_hdr(p, QID, DNS_FLAG_QR | DNS_RCODE_FORMERR, 0, 0, 0, 0);
}

static void
a_servfail(struct pkt *p)
{
	put_hdr(p, QID, DNS_FLAG_QR | DNS_FLAG_RA | DNS_RCODE_SERVFAIL, 1, 0, 0, 0);
	put_question(p, QN, DNS_TYPE_A, DNS_CLASS_IN);
}

#define BAD(w, f)                                                                                  \
	{                                                                                          \
		.what = (w), .build = (f), .want = -EBADMSG                                        \
	}

static void
test_parse_answer(void **state)
{
	static const struct {
		const char *what;
		void (*build)(struct pkt *);
		int want;
		int rcode;
		size_t n_a;
		const char *addrs[3];
		size_t n_chain;
		const char *chain[3];
		uint32_t min_ttl;
	} cases[] = {
	    {"two A", a_simple, 0, 0, 2, {"192.0.2.1", "192.0.2.2"}, 1, {QN}, 100},
	    {"question case", a_case, 0, 0, 1, {"192.0.2.1"}, 1, {QN}, 60},
	    {"chain www->b->c", a_chain, 0, 0, 1, {"198.51.100.7"}, 3,
	        {QN, "b.example.org", "c.example.net"}, 200},
	    BAD("CNAME loop", a_chain_loop),
	    BAD("CNAME to itself", a_chain_self),
	    BAD("two CNAMEs", a_chain_fork),
	    {"same CNAME twice", a_chain_dup, 0, 0, 1, {"192.0.2.9"}, 2, {QN, "b.example.com"}, 30},
	    {"chain of 16 names", a_chain_15, 0, 0, 1, {"192.0.2.16"}, DNS_MAX_CHAIN, {QN}, 60},
	    BAD("chain of 17 names", a_chain_16),
	    {"unrelated records", a_unrelated, 0, 0, 1, {"192.0.2.77"}, 1, {QN}, 77},
	    {"TTLs", a_ttl, 0, 0, 2, {"192.0.2.1", "192.0.2.2"}, 1, {QN}, 0},
	    {"NXDOMAIN with SOA", a_nxdomain, 0, DNS_RCODE_NXDOMAIN, 0, {NULL}, 1, {QN}, 0},
	    {"SERVFAIL", a_servfail, 0, DNS_RCODE_SERVFAIL, 0, {NULL}, 1, {QN}, 0},
	    BAD("rdlength past end", a_rdlen_past_end),
	    BAD("A of 5 bytes", a_rdlen_5),
	    BAD("CNAME past its RDATA", a_cname_rdata_short),
	    BAD("truncated", a_truncated),
	    BAD("trailing byte", a_trailing),
	    BAD("truncated authority", a_bad_authority),
	    BAD("pointer to itself", a_ptr_self),
	    BAD("two pointers to each other", a_ptr_pair),
	    BAD("forward pointer", a_ptr_forward),
	    BAD("pointer into the header", a_ptr_header),
	    BAD("pointer loop inside one name", a_ptr_loop_run),
	    BAD("compressed name over 255", a_ptr_long_name),
	    BAD("wrong id", a_wrong_id),
	    BAD("QR clear", a_not_qr),
	    BAD("other question name", a_wrong_name),
	    BAD("other question type", a_wrong_type),
	    BAD("no question", a_qd0),
	};
	struct dns_query q;
	struct dns_answer_info *ai = malloc(sizeof(*ai));

	(void)state;
	assert_non_null(ai);
	query_for(&q, QN, DNS_TYPE_A);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = {.len = 0};
		uint8_t *exact;
		int r;

		cases[i].build(&p);
		exact = malloc(p.len);
		assert_non_null(exact);
		memcpy(exact, p.b, p.len);
		memset(ai, 0x5a, sizeof(*ai));
		r = dns_parse_answer(exact, p.len, &q, ai);
		free(exact);
		if (r != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what, r, cases[i].want);
		if (r < 0) {
			if (ai->n_a != 0x5a5a5a5a5a5a5a5aULL)
				fail_msg("%s: ret written on failure", cases[i].what);
			continue;
		}
		assert_int_equal(ai->id, QID);
		assert_int_equal(ai->rcode, cases[i].rcode);
		if (ai->n_a != cases[i].n_a || ai->n_chain != cases[i].n_chain ||
		    ai->min_ttl != cases[i].min_ttl)
			fail_msg("%s: n_a %zu n_chain %zu min_ttl %u", cases[i].what, ai->n_a,
			    ai->n_chain, ai->min_ttl);
		for (size_t k = 0; k < ai->n_a && k < 3; k++) {
			char ip[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &ai->a[k].addr, ip, sizeof(ip));
			assert_string_equal(ip, cases[i].addrs[k]);
		}
		for (size_t k = 0; k < ai->n_chain && k < 3 && cases[i].chain[k]; k++)
			assert_string_equal(ai->chain[k], cases[i].chain[k]);
	}
	free(ai);
}

static void
test_answer_details(void **state)
{
	struct dns_answer_info *ai = malloc(sizeof(*ai));
	struct dns_query q;
	struct pkt p = {.len = 0};

	(void)state;
	assert_non_null(ai);
	query_for(&q, QN, DNS_TYPE_A);

	a_ttl(&p);
	assert_int_equal(dns_parse_answer(p.b, p.len, &q, ai), 0);
	assert_int_equal(ai->a[0].ttl, 3600);
	assert_int_equal(ai->a[1].ttl, 0);

	a_many(&p);
	assert_int_equal(dns_parse_answer(p.b, p.len, &q, ai), 0);
	assert_int_equal(ai->n_a, DNS_MAX_A);

	a_chain_15(&p);
	assert_int_equal(dns_parse_answer(p.b, p.len, &q, ai), 0);
	assert_string_equal(ai->chain[DNS_MAX_CHAIN - 1], "n15.example.com");

	/* Every prefix of a valid answer is invalid. */
	a_chain(&p);
	for (size_t n = 0; n < p.len; n++)
		assert_int_equal(dns_parse_answer(p.b, n, &q, ai), -EBADMSG);

	/* An answer to a question for the root. */
	query_for(&q, "", DNS_TYPE_NS);
	put_hdr(&p, QID, DNS_FLAG_QR, 1, 0, 0, 0);
	put_question(&p, "", DNS_TYPE_NS, DNS_CLASS_IN);
	assert_int_equal(dns_parse_answer(p.b, p.len, &q, ai), 0);
	assert_int_equal(ai->n_chain, 1);
	assert_string_equal(ai->chain[0], "");
	free(ai);
}

/* ---- AAAA stripping ---- */

/* Types per section of a message we made ourselves (trusted: no checks). */
static void
section_types(const uint8_t *m, size_t len, int *ret_aaaa, unsigned counts[4])
{
	size_t pos = 12;

	*ret_aaaa = 0;
	for (int s = 0; s < 4; s++) {
		counts[s] = (unsigned)(m[4 + 2 * s] << 8 | m[5 + 2 * s]);
		for (unsigned i = 0; i < counts[s]; i++) {
			while (m[pos] && (m[pos] & 0xc0) != 0xc0)
				pos += 1 + m[pos];
			pos += m[pos] ? 2 : 1;
			if (s == 0) {
				pos += 4;
				continue;
			}
			if ((m[pos] << 8 | m[pos + 1]) == DNS_TYPE_AAAA)
				(*ret_aaaa)++;
			pos += 10 + (size_t)(m[pos + 8] << 8 | m[pos + 9]);
		}
	}
	assert_int_equal(pos, len);
}

static void
s_mixed(struct pkt *p)
{
	size_t at;

	answer_start(p);
	rr_aaaa(p, "@12", 60);
	rr_a(p, "@12", 60, "192.0.2.1");
	rr_aaaa(p, "@12", 60);
	rr_a(p, "@12", 60, "192.0.2.2");
	/* authority: NS with a compressed target */
	put_dname(p, "@16");
	at = rr_begin(p, DNS_TYPE_NS, DNS_CLASS_IN, 3600);
	put_dname(p, "ns1@16");
	rr_end(p, at);
	/* additional: glue for ns1, both families, and an OPT */
	rr_a(p, "ns1@16", 3600, "192.0.2.53");
	rr_aaaa(p, "ns1@16", 3600);
	rr_opt(p, 1232);
	set_counts(p, 1, 4, 1, 3);
}

/* The same without its AAAA records, compressed differently. */
static void
s_mixed_expected(struct pkt *p)
{
	size_t at;

	answer_start(p);
	rr_a(p, "www.example.com", 60, "192.0.2.1");
	rr_a(p, "@12", 60, "192.0.2.2");
	put_dname(p, "example.com");
	at = rr_begin(p, DNS_TYPE_NS, DNS_CLASS_IN, 3600);
	put_dname(p, "ns1.example.com");
	rr_end(p, at);
	rr_a(p, "ns1.example@24", 3600, "192.0.2.53");
	rr_opt(p, 1232);
	set_counts(p, 1, 2, 1, 2);
}

static void
s_into_removed(struct pkt *p)
{
	size_t aaaa_owner;

	/* The only literal copy of alias.example.com is the AAAA's owner. */
	answer_start(p);
	aaaa_owner = p->len;
	rr_aaaa(p, "alias@16", 60);
	{
		char spec[16];

		snprintf(spec, sizeof(spec), "@%zu", aaaa_owner);
		rr_cname(p, "@12", 60, spec);
		rr_a(p, spec, 60, "10.0.0.1");
	}
	set_counts(p, 1, 3, 0, 0);
}

static void
s_rdata_names(struct pkt *p)
{
	size_t at;

	/* SOA, MX and SRV RDATA names pointing into the AAAA's owner. */
	answer_start(p);
	rr_aaaa(p, "v6@16", 60);
	put_dname(p, "@16");
	at = rr_begin(p, DNS_TYPE_MX, DNS_CLASS_IN, 60);
	put16(p, 10);
	put_dname(p, "mx@33");
	rr_end(p, at);
	put_dname(p, "_sip._udp@16");
	at = rr_begin(p, DNS_TYPE_SRV, DNS_CLASS_IN, 60);
	put16(p, 1);
	put16(p, 2);
	put16(p, 5060);
	put_dname(p, "@33");
	rr_end(p, at);
	put_dname(p, "@16");
	at = rr_begin(p, DNS_TYPE_SOA, DNS_CLASS_IN, 60);
	put_dname(p, "@33");
	put_dname(p, "h@33");
	for (int i = 0; i < 5; i++)
		put32(p, (uint32_t)i);
	rr_end(p, at);
	put_dname(p, "@16");
	at = rr_begin(p, 99 /* unknown: copied as it is */, DNS_CLASS_IN, 60);
	put_bytes(p, "\xc0\x0c", 2);
	rr_end(p, at);
	set_counts(p, 1, 5, 0, 0);
}

static void
s_rdata_names_expected(struct pkt *p)
{
	size_t at;

	answer_start(p);
	put_dname(p, "example.com");
	at = rr_begin(p, DNS_TYPE_MX, DNS_CLASS_IN, 60);
	put16(p, 10);
	put_dname(p, "mx.v6.example.com");
	rr_end(p, at);
	put_dname(p, "_sip._udp.example.com");
	at = rr_begin(p, DNS_TYPE_SRV, DNS_CLASS_IN, 60);
	put16(p, 1);
	put16(p, 2);
	put16(p, 5060);
	put_dname(p, "v6.example.com");
	rr_end(p, at);
	put_dname(p, "example.com");
	at = rr_begin(p, DNS_TYPE_SOA, DNS_CLASS_IN, 60);
	put_dname(p, "v6.example.com");
	put_dname(p, "h.v6.example.com");
	for (int i = 0; i < 5; i++)
		put32(p, (uint32_t)i);
	rr_end(p, at);
	put_dname(p, "example.com");
	at = rr_begin(p, 99, DNS_CLASS_IN, 60);
	put_bytes(p, "\xc0\x0c", 2);
	rr_end(p, at);
	set_counts(p, 1, 4, 0, 0);
}

static void
strip_ok(const struct pkt *p, uint8_t *out, size_t cap, size_t *ret_len)
{
	uint8_t *exact = malloc(p->len);

	assert_non_null(exact);
	memcpy(exact, p->b, p->len);
	assert_int_equal(dns_strip_aaaa(exact, p->len, out, cap, ret_len), 0);
	free(exact);
}

static void
test_strip(void **state)
{
	static const struct {
		const char *what;
		void (*build)(struct pkt *);
		void (*expected)(struct pkt *);
		unsigned counts[4];
	} cases[] = {
	    {"every section", s_mixed, s_mixed_expected, {1, 2, 1, 2}},
	    {"pointers into a removed AAAA", s_into_removed, NULL, {1, 2, 0, 0}},
	    {"RDATA names", s_rdata_names, s_rdata_names_expected, {1, 4, 0, 0}},
	    {"no AAAA", a_chain, a_chain, {1, 3, 0, 0}},
	    {"NXDOMAIN", a_nxdomain, a_nxdomain, {1, 0, 1, 1}},
	};
	struct dns_answer_info *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	struct dns_query q;

	(void)state;
	assert_non_null(before);
	assert_non_null(after);
	query_for(&q, QN, DNS_TYPE_A);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = {.len = 0}, e = {.len = 0};
		uint8_t out[4096], again[4096], want[4096];
		size_t out_len = 0, again_len = 0, want_len = 0;
		unsigned counts[4];
		int n_aaaa;

		cases[i].build(&p);
		strip_ok(&p, out, sizeof(out), &out_len);
		section_types(out, out_len, &n_aaaa, counts);
		if (n_aaaa || memcmp(counts, cases[i].counts, sizeof(counts)) != 0)
			fail_msg("%s: %d AAAA, counts %u %u %u %u", cases[i].what, n_aaaa,
			    counts[0], counts[1], counts[2], counts[3]);
		assert_true(out_len <= p.len);

		/* The A records and chain survive, and the result parses. */
		assert_int_equal(dns_parse_answer(p.b, p.len, &q, before), 0);
		assert_int_equal(dns_parse_answer(out, out_len, &q, after), 0);
		assert_memory_equal(before, after, sizeof(*before));

		/* Stripping again changes nothing. */
		assert_int_equal(dns_strip_aaaa(out, out_len, again, sizeof(again), &again_len), 0);
		assert_int_equal(again_len, out_len);
		assert_memory_equal(again, out, out_len);

		/* Same content as the message built without AAAA. */
		if (cases[i].expected) {
			cases[i].expected(&e);
			strip_ok(&e, want, sizeof(want), &want_len);
			assert_int_equal(want_len, out_len);
			assert_memory_equal(want, out, out_len);
		}
	}
	free(before);
	free(after);
}

static void
test_strip_bytes(void **state)
{
	static const uint8_t want[] = {
	    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, /* header, AN 1 */
	    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, /* */
	    0, 1, 0, 1,                                                                  /* A IN */
	    0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,                       /* the A */
	};
	uint8_t out[512];
	size_t out_len = 0;
	struct pkt p = {.len = 0};

	(void)state;
	answer_start(&p);
	rr_aaaa(&p, "www.example.com", 60);
	rr_a(&p, "www.example.com", 60, "192.0.2.1");
	set_counts(&p, 1, 2, 0, 0);
	strip_ok(&p, out, sizeof(out), &out_len);
	assert_int_equal(out_len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));

	/* Too small an output, at every size. */
	for (size_t cap = 0; cap < sizeof(want); cap++)
		assert_int_equal(dns_strip_aaaa(p.b, p.len, out, cap, &out_len), -ENOSPC);

	/* Malformed input. */
	for (size_t n = 0; n < p.len; n++)
		assert_int_equal(dns_strip_aaaa(p.b, n, out, sizeof(out), &out_len), -EBADMSG);
	a_ptr_forward(&p);
	assert_int_equal(dns_strip_aaaa(p.b, p.len, out, sizeof(out), &out_len), -EBADMSG);
	a_ptr_self(&p);
	assert_int_equal(dns_strip_aaaa(p.b, p.len, out, sizeof(out), &out_len), -EBADMSG);
}

/* A message is at most 64 KiB, on the way in and on the way out. */
static void
test_size_limits(void **state)
{
	struct pkt *p = malloc(sizeof(*p));
	struct dns_answer_info *ai = malloc(sizeof(*ai));
	size_t out_cap = 200000, out_len = 0;
	uint8_t *out = malloc(out_cap);
	struct dns_query q;

	(void)state;
	assert_non_null(p);
	assert_non_null(ai);
	assert_non_null(out);
	query_for(&q, QN, DNS_TYPE_A);
	for (size_t rdlen = 65400; rdlen <= 65500; rdlen += 100) {
		size_t at;
		int want;

		answer_start(p);
		put_dname(p, "@12");
		at = rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 60);
		for (size_t i = 0; i < rdlen; i++)
			put8(p, 'x');
		rr_end(p, at);
		set_counts(p, 1, 1, 0, 0);
		want = p->len <= DNS_MSG_MAX ? 0 : -EBADMSG;
		assert_int_equal(dns_parse_answer(p->b, p->len, &q, ai), want);
		assert_int_equal(dns_strip_aaaa(p->b, p->len, out, out_cap, &out_len), want);
	}

	/* SRV targets are written uncompressed: 2-byte pointers become 241-byte names. */
	for (int n_srv = 200; n_srv <= 300; n_srv += 100) {
		size_t name_at;

		answer_start(p);
		name_at = p->len;
		put_dname(p, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz."
		             "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz."
		             "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz."
		             "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
		assert_int_equal(p->len - name_at, 241);
		rr_end(p, rr_begin(p, DNS_TYPE_TXT, DNS_CLASS_IN, 60));
		for (int i = 0; i < n_srv; i++) {
			size_t at;

			put_dname(p, "@12");
			at = rr_begin(p, DNS_TYPE_SRV, DNS_CLASS_IN, 60);
			put16(p, 0);
			put16(p, 0);
			put16(p, 443);
			put16(p, 0xc000 | (unsigned)name_at);
			rr_end(p, at);
		}
		set_counts(p, 1, (unsigned)n_srv + 1, 0, 0);
		assert_int_equal(dns_parse_answer(p->b, p->len, &q, ai), 0);
		assert_int_equal(dns_strip_aaaa(p->b, p->len, out, out_cap, &out_len),
		    n_srv == 200 ? 0 : -ENOSPC);
		if (n_srv == 200)
			assert_int_equal(out_len, 33 + 241 + 10 + 200 * (2 + 10 + 6 + 241));
	}
	free(out);
	free(ai);
	free(p);
}

/* ---- our own responses ---- */

static void
test_make_response(void **state)
{
	static const int rcodes[] = {
	    DNS_RCODE_NOERROR, DNS_RCODE_SERVFAIL, DNS_RCODE_NXDOMAIN, DNS_RCODE_REFUSED};
	struct dns_answer_info *ai = malloc(sizeof(*ai));

	(void)state;
	assert_non_null(ai);
	for (int edns = 0; edns < 2; edns++) {
		for (size_t i = 0; i <= sizeof(rcodes) / sizeof(rcodes[0]); i++) {
			int truncated = i == sizeof(rcodes) / sizeof(rcodes[0]);
			int rcode = truncated ? 0 : rcodes[i];
			struct pkt p = {.len = 0};
			struct dns_query q, back;
			uint8_t out[512];
			ssize_t n;
			uint16_t flags;

			build_query(&p, "Mixed.Example.NET", DNS_TYPE_AAAA, edns ? 4096 : 0);
			assert_int_equal(dns_parse_query(p.b, p.len, &q), 0);
			if (truncated)
				n = dns_make_truncated(&q, p.b, p.len, out, sizeof(out));
			else
				n = dns_make_response(&q, p.b, p.len, rcode, out, sizeof(out));
			assert_true(n > 12);
			assert_int_equal(dns_parse_answer(out, (size_t)n, &q, ai), 0);
			assert_int_equal(ai->rcode, rcode);
			assert_int_equal(ai->n_a, 0);
			assert_string_equal(ai->chain[0], "mixed.example.net");
			flags = (uint16_t)(out[2] << 8 | out[3]);
			assert_true(flags & DNS_FLAG_QR);
			assert_true(flags & DNS_FLAG_RD);
			assert_true(flags & DNS_FLAG_RA);
			assert_int_equal(!!(flags & DNS_FLAG_TC), truncated);
			assert_int_equal(out[11], edns);
			/* The question, case and all, is the client's own. */
			assert_memory_equal(out + 12, p.b + 12, q.question_end - 12);
			if (edns) {
				assert_int_equal(out[q.question_end + 3], 1232 >> 8);
				assert_int_equal(out[q.question_end + 4], 1232 & 0xff);
			}
			/* And it is not mistaken for a query. */
			assert_int_equal(dns_parse_query(out, (size_t)n, &back), -EBADMSG);
			/* Every size too small. */
			for (size_t cap = 0; cap < (size_t)n; cap++)
				assert_int_equal(
				    dns_make_response(&q, p.b, p.len, rcode, out, cap), -ENOSPC);
		}
	}
	free(ai);
}

static void
test_make_response_bad(void **state)
{
	struct pkt p = {.len = 0};
	struct dns_query q;
	uint8_t out[512];

	(void)state;
	build_query(&p, QN, DNS_TYPE_A, 0);
	assert_int_equal(dns_parse_query(p.b, p.len, &q), 0);
	assert_int_equal(dns_make_response(&q, p.b, p.len, 16, out, sizeof(out)), -EINVAL);
	assert_int_equal(dns_make_response(&q, p.b, p.len, -1, out, sizeof(out)), -EINVAL);
	assert_int_equal(dns_make_response(&q, p.b, 20, 0, out, sizeof(out)), -EINVAL);
}

static void
test_names(void **state)
{
	static const struct {
		uint16_t type;
		const char *name;
	} types[] = {
	    {1, "A"},
	    {28, "AAAA"},
	    {5, "CNAME"},
	    {15, "MX"},
	    {16, "TXT"},
	    {2, "NS"},
	    {6, "SOA"},
	    {12, "PTR"},
	    {33, "SRV"},
	    {65, "HTTPS"},
	    {255, "ANY"},
	    {123, "TYPE123"},
	    {65535, "TYPE65535"},
	    {0, "TYPE0"},
	};
	static const struct {
		int rcode;
		const char *name;
	} rcodes[] = {
	    {0, "NOERROR"},
	    {1, "FORMERR"},
	    {2, "SERVFAIL"},
	    {3, "NXDOMAIN"},
	    {4, "NOTIMP"},
	    {5, "REFUSED"},
	    {9, "RCODE9"},
	    {15, "RCODE15"},
	    {16, "RCODE?"},
	    {-1, "RCODE?"},
	};
	char buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		assert_string_equal(dns_qtype_name(types[i].type, buf, sizeof(buf)), types[i].name);
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		assert_string_equal(dns_rcode_name(rcodes[i].rcode), rcodes[i].name);
	assert_string_equal(dns_qtype_name(4242, buf, 5), "TYPE");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_query),
	    cmocka_unit_test(test_query_name_limits),
	    cmocka_unit_test(test_parse_answer),
	    cmocka_unit_test(test_answer_details),
	    cmocka_unit_test(test_strip),
	    cmocka_unit_test(test_strip_bytes),
	    cmocka_unit_test(test_size_limits),
	    cmocka_unit_test(test_make_response),
	    cmocka_unit_test(test_make_response_bad),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
