/* SPDX-License-Identifier: MIT */
/*
 * DNS wire format: parse queries and answers, strip AAAA, build short
 * responses.  Everything is bounds-checked against the given length and
 * nothing allocates; the bytes are untrusted in both directions (RFC 1035).
 */
#ifndef CGFW_DNSMSG_H
#define CGFW_DNSMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DNS_MAX_A         64
#define DNS_MAX_CHAIN     16
#define DNS_MAX_PTR_JUMPS 64
#define DNS_HEADER_LEN    12
#define DNS_MSG_MAX       65535 /* longer input is -EBADMSG, longer output -ENOSPC */
#define DNS_EDNS_UDP_SIZE 1232
#define DNS_UDP_PLAIN_MAX 512 /* a UDP message without EDNS (RFC 1035) */

#define DNS_FLAG_QR       0x8000
#define DNS_FLAG_AA       0x0400
#define DNS_FLAG_TC       0x0200
#define DNS_FLAG_RD       0x0100
#define DNS_FLAG_RA       0x0080
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE_MASK    0xf /* the header's rcode: its flags' low 4 bits */

#define DNS_TYPE_A     1
#define DNS_TYPE_NS    2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA   6
#define DNS_TYPE_PTR   12
#define DNS_TYPE_MX    15
#define DNS_TYPE_TXT   16
#define DNS_TYPE_AAAA  28
#define DNS_TYPE_SRV   33
#define DNS_TYPE_OPT   41
#define DNS_TYPE_HTTPS 65
#define DNS_TYPE_ANY   255
#define DNS_CLASS_IN   1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5

struct dns_query {
	uint16_t id;
	uint16_t flags;  /* header flags word as received */
	char qname[256]; /* dotted, lower-cased, no trailing dot; "" for the root */
	uint16_t qtype, qclass;
	size_t question_end;    /* offset just past the (single) question */
	int has_edns;           /* an OPT RR in the additional section */
	uint16_t edns_udp_size; /* its UDP payload size (0 if none) */
};

/*
 * A query: QR=0, opcode 0, QDCOUNT 1, ANCOUNT and NSCOUNT 0, ARCOUNT 0 or one
 * OPT (root owner, well-formed options).  The question name must not be
 * compressed, and its labels may not hold '.', control bytes or DEL, so
 * qname is unambiguous.  Nothing may follow the last record.
 * Returns 0 or -EBADMSG; *ret_q is set only on success.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *ret_q);

struct dns_a {
	uint32_t addr; /* network order */
	uint32_t ttl;
};

struct dns_answer_info {
	uint16_t id, flags;
	int rcode;                 /* low 4 bits of flags (extended rcode ignored) */
	size_t n_a;                /* A records on the CNAME chain from the question name */
	struct dns_a a[DNS_MAX_A]; /* distinct addresses, the first DNS_MAX_A */
	size_t n_chain;            /* chain[0] = qname, then CNAME targets */
	char chain[DNS_MAX_CHAIN][256];
	uint32_t min_ttl; /* smallest TTL of the A and CNAME records used, 0 if none */
};

/*
 * An answer to q: QR=1, opcode 0, q's id, QDCOUNT 1 and q's question (name
 * compared case-insensitively).  Every record of every section must be
 * well-formed and the message must end with the last one.  Follows CNAMEs
 * (class IN) from the question name through the answer section in any order;
 * a loop, two different CNAMEs for one name or a chain longer than
 * DNS_MAX_CHAIN is -EBADMSG.  Collects the class-IN A records owned by a
 * name on the chain.  TTLs with the top bit set count as 0 (RFC 2181).
 * Returns 0 or -EBADMSG; *ret is set only on success.
 */
int dns_parse_answer(
    const uint8_t *msg, size_t len, const struct dns_query *q, struct dns_answer_info *ret);

/*
 * Copy msg to out without its AAAA records (any section), fixing the counts.
 * Names are decompressed and compressed again against the output, so no
 * pointer can dangle; names inside the RDATA of the RFC 1035 types are
 * rewritten too, the other RFC 3597 §4 types are written uncompressed, and
 * unknown RDATA is copied as it is.  Returns 0, -EBADMSG or -ENOSPC;
 * *ret_len is set only on success.
 */
int dns_strip_aaaa(const uint8_t *msg, size_t len, uint8_t *out, size_t out_cap, size_t *ret_len);

/*
 * A response to q (parsed from query): q's id, QR=1, opcode 0, RD copied,
 * RA=1, rcode (0-15), the question copied verbatim, no records, plus an OPT
 * (UDP size DNS_EDNS_UDP_SIZE, no options) if the query had one.  Returns the
 * length, -EINVAL or -ENOSPC.
 */
ssize_t dns_make_response(const struct dns_query *q, const uint8_t *query, size_t query_len,
    int rcode, uint8_t *out, size_t out_cap);
/* The same with TC=1 and NOERROR: a UDP client should retry over TCP. */
ssize_t dns_make_truncated(const struct dns_query *q, const uint8_t *query, size_t query_len,
    uint8_t *out, size_t out_cap);

/* "A", "AAAA", … or "TYPE<n>" written into buf (16 bytes are enough). */
const char *dns_qtype_name(uint16_t qtype, char *buf, size_t len);
/* "NOERROR", "SERVFAIL", … or "RCODE<n>" (a static string). */
const char *dns_rcode_name(int rcode);

#endif
