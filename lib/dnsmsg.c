// SPDX-License-Identifier: MIT
/*
 * DNS messages from clients and from upstream servers, both untrusted.  Every
 * read is checked against the message length, every name is bounded (labels
 * <= 63, names <= 255, compression pointers strictly backwards and at most
 * DNS_MAX_PTR_JUMPS), and a malformed message is rejected whole.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/dnsmsg.h"

#define DNS_NAME_MAX  255
#define DNS_RR_FIXED  10 /* type, class, ttl, rdlength */
#define DICT_SLOTS    1024
#define DICT_FILL_MAX (DICT_SLOTS * 3 / 4)
#define DICT_PROBES   32 /* hostile names may share slots: give up early */
#define PTR_MAX       0x3fff

/* One resource record as read from a message; name is uncompressed. */
struct rr {
	uint8_t name[DNS_NAME_MAX];
	size_t name_len;
	uint16_t type, class;
	uint32_t ttl;
	size_t rdata, rdlen; /* offset and length of the RDATA */
	size_t end;          /* offset just past the record */
};

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Read the name at off into wire (uncompressed, <= 255 bytes with the root
 * label).  *ret_end is the offset just past the name where it sits, i.e.
 * after its first pointer.  A pointer must land in the message body (not the
 * header) and before the start of the label run that holds it, so the walk
 * always moves backwards and ends; the jump cap is a second fence.
 */
static int
name_read(const uint8_t *msg, size_t len, size_t off, int allow_ptr, uint8_t *wire,
    size_t *ret_wire_len, size_t *ret_end)
{
	size_t pos = off, run = off, wire_len = 0, end = 0;
	int jumps = 0;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -EBADMSG;
		c = msg[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (!allow_ptr || pos + 1 >= len || ++jumps > DNS_MAX_PTR_JUMPS)
				return -EBADMSG;
			target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			if (target < DNS_HEADER_LEN || target >= run)
				return -EBADMSG;
			if (jumps == 1)
				end = pos + 2;
			pos = run = target;
			continue;
		}
		/* 0x40 and 0x80 are the extended and reserved label types. */
		if (c & 0xc0)
			return -EBADMSG;
		if (wire_len + 1 + c > DNS_NAME_MAX || pos + 1 + c > len)
			return -EBADMSG;
		memcpy(wire + wire_len, msg + pos, 1 + (size_t)c);
		wire_len += 1 + (size_t)c;
		pos += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	*ret_wire_len = wire_len;
	*ret_end = jumps ? end : pos;
	return 0;
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 'a' - 'A') : c;
}

/* Length bytes are <= 63, below 'A', so one loop compares both. */
static int
name_eq(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	if (a_len != b_len)
		return 0;
	for (size_t i = 0; i < a_len; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/*
 * Dotted and lower-cased into text[256].  A '.' inside a label would make
 * the text ambiguous, and control bytes have no business in a log line, so
 * both are rejected.
 */
static int
name_to_text(const uint8_t *wire, size_t wire_len, char *text)
{
	size_t i = 0, n = 0;

	while (i < wire_len && wire[i] != 0) {
		uint8_t l = wire[i++];

		if (n)
			text[n++] = '.';
		for (uint8_t k = 0; k < l; k++) {
			uint8_t c = wire[i++];

			if (c == '.' || c < 0x20 || c == 0x7f)
				return -EBADMSG;
			text[n++] = (char)lower(c);
		}
	}
	text[n] = '\0';
	return 0;
}

static int
rr_read(const uint8_t *msg, size_t len, size_t off, struct rr *rr)
{
	size_t end;
	int r;

	r = name_read(msg, len, off, 1, rr->name, &rr->name_len, &end);
	if (r < 0)
		return r;
	if (len - end < DNS_RR_FIXED)
		return -EBADMSG;
	rr->type = get16(msg + end);
	rr->class = get16(msg + end + 2);
	rr->ttl = get32(msg + end + 4);
	rr->rdlen = get16(msg + end + 8);
	rr->rdata = end + DNS_RR_FIXED;
	if (len - rr->rdata < rr->rdlen)
		return -EBADMSG;
	rr->end = rr->rdata + rr->rdlen;
	return 0;
}

static uint32_t
ttl_clamp(uint32_t ttl)
{
	/* RFC 2181 §8: a TTL with the top bit set means zero. */
	return ttl & 0x80000000u ? 0 : ttl;
}

/* EDNS options: code, length, data; they must fill the RDATA exactly. */
static int
opt_check(const uint8_t *msg, const struct rr *rr)
{
	size_t pos = rr->rdata, end = rr->end;

	if (rr->name_len != 1)
		return -EBADMSG;
	while (pos < end) {
		size_t olen;

		if (end - pos < 4)
			return -EBADMSG;
		olen = get16(msg + pos + 2);
		pos += 4;
		if (end - pos < olen)
			return -EBADMSG;
		pos += olen;
	}
	return 0;
}

int
dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *ret_q)
{
	struct dns_query q = {0};
	uint8_t wire[DNS_NAME_MAX];
	size_t wire_len, pos;
	uint16_t qd, an, ns, ar;
	int r;

	if (len < DNS_HEADER_LEN || len > DNS_MSG_MAX)
		return -EBADMSG;
	q.id = get16(msg);
	q.flags = get16(msg + 2);
	qd = get16(msg + 4);
	an = get16(msg + 6);
	ns = get16(msg + 8);
	ar = get16(msg + 10);
	if ((q.flags & DNS_FLAG_QR) || DNS_OPCODE(q.flags) != 0)
		return -EBADMSG;
	if (qd != 1 || an != 0 || ns != 0 || ar > 1)
		return -EBADMSG;

	/* A client has nothing to point back to: no compression here. */
	r = name_read(msg, len, DNS_HEADER_LEN, 0, wire, &wire_len, &pos);
	if (r < 0)
		return r;
	r = name_to_text(wire, wire_len, q.qname);
	if (r < 0)
		return r;
	if (len - pos < 4)
		return -EBADMSG;
	q.qtype = get16(msg + pos);
	q.qclass = get16(msg + pos + 2);
	pos += 4;
	q.question_end = pos;

	if (ar == 1) {
		struct rr rr;

		r = rr_read(msg, len, pos, &rr);
		if (r < 0)
			return r;
		if (rr.type != DNS_TYPE_OPT)
			return -EBADMSG;
		r = opt_check(msg, &rr);
		if (r < 0)
			return r;
		q.has_edns = 1;
		q.edns_udp_size = rr.class;
		pos = rr.end;
	}
	if (pos != len)
		return -EBADMSG;
	*ret_q = q;
	return 0;
}

/*
 * Walk count records from *pos, checking each one.  In the answer section an
 * IN A must have 4 bytes of RDATA and an IN CNAME exactly one name.
 */
static int
section_check(const uint8_t *msg, size_t len, size_t *pos, unsigned count, int answers)
{
	for (unsigned i = 0; i < count; i++) {
		struct rr rr;
		int r;

		r = rr_read(msg, len, *pos, &rr);
		if (r < 0)
			return r;
		if (answers && rr.class == DNS_CLASS_IN && rr.type == DNS_TYPE_A && rr.rdlen != 4)
			return -EBADMSG;
		if (answers && rr.class == DNS_CLASS_IN && rr.type == DNS_TYPE_CNAME) {
			uint8_t target[DNS_NAME_MAX];
			size_t target_len, end;

			r = name_read(msg, rr.end, rr.rdata, 1, target, &target_len, &end);
			if (r < 0)
				return r;
			if (end != rr.end)
				return -EBADMSG;
		}
		*pos = rr.end;
	}
	return 0;
}

/* The CNAME target of name in the answer section: 1 found, 0 none, or -EBADMSG. */
static int
cname_find(const uint8_t *msg, size_t len, size_t an_start, unsigned an, const uint8_t *name,
    size_t name_len, uint8_t *ret_target, size_t *ret_target_len, uint32_t *ret_ttl)
{
	size_t pos = an_start;
	int found = 0, r;

	for (unsigned i = 0; i < an; i++) {
		uint8_t target[DNS_NAME_MAX];
		size_t target_len, end;
		struct rr rr;

		r = rr_read(msg, len, pos, &rr);
		if (r < 0)
			return r;
		pos = rr.end;
		if (rr.type != DNS_TYPE_CNAME || rr.class != DNS_CLASS_IN ||
		    !name_eq(rr.name, rr.name_len, name, name_len))
			continue;
		r = name_read(msg, rr.end, rr.rdata, 1, target, &target_len, &end);
		if (r < 0)
			return r;
		if (found) {
			/* A CNAME is a singleton: two different ones are a lie. */
			if (!name_eq(target, target_len, ret_target, *ret_target_len))
				return -EBADMSG;
			if (ttl_clamp(rr.ttl) < *ret_ttl)
				*ret_ttl = ttl_clamp(rr.ttl);
			continue;
		}
		memcpy(ret_target, target, target_len);
		*ret_target_len = target_len;
		*ret_ttl = ttl_clamp(rr.ttl);
		found = 1;
	}
	return found;
}

int
dns_parse_answer(
    const uint8_t *msg, size_t len, const struct dns_query *q, struct dns_answer_info *ret)
{
	struct dns_answer_info ai;
	uint8_t chain[DNS_MAX_CHAIN][DNS_NAME_MAX];
	size_t chain_len[DNS_MAX_CHAIN];
	char qname[256];
	size_t pos, an_start;
	uint16_t qd, an, ns, ar;
	uint32_t ttl = 0;
	int have_ttl = 0, r;

	if (len < DNS_HEADER_LEN || len > DNS_MSG_MAX)
		return -EBADMSG;
	memset(&ai, 0, sizeof(ai));
	ai.id = get16(msg);
	ai.flags = get16(msg + 2);
	ai.rcode = ai.flags & DNS_RCODE_MASK;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	ns = get16(msg + 8);
	ar = get16(msg + 10);
	if (!(ai.flags & DNS_FLAG_QR) || DNS_OPCODE(ai.flags) != 0 || ai.id != q->id || qd != 1)
		return -EBADMSG;

	r = name_read(msg, len, DNS_HEADER_LEN, 1, chain[0], &chain_len[0], &pos);
	if (r < 0)
		return r;
	r = name_to_text(chain[0], chain_len[0], qname);
	if (r < 0)
		return r;
	if (strcmp(qname, q->qname) != 0 || len - pos < 4)
		return -EBADMSG;
	if (get16(msg + pos) != q->qtype || get16(msg + pos + 2) != q->qclass)
		return -EBADMSG;
	pos += 4;
	an_start = pos;

	r = section_check(msg, len, &pos, an, 1);
	if (r < 0)
		return r;
	r = section_check(msg, len, &pos, ns, 0);
	if (r < 0)
		return r;
	r = section_check(msg, len, &pos, ar, 0);
	if (r < 0)
		return r;
	if (pos != len)
		return -EBADMSG;

	memcpy(ai.chain[0], qname, strlen(qname) + 1);
	ai.n_chain = 1;
	for (;;) {
		uint8_t target[DNS_NAME_MAX];
		size_t target_len = 0, last = ai.n_chain - 1;
		uint32_t cname_ttl = 0;

		r = cname_find(msg, len, an_start, an, chain[last], chain_len[last], target,
		    &target_len, &cname_ttl);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		for (size_t i = 0; i < ai.n_chain; i++)
			if (name_eq(chain[i], chain_len[i], target, target_len))
				return -EBADMSG; /* a loop */
		if (ai.n_chain == DNS_MAX_CHAIN)
			return -EBADMSG;
		memcpy(chain[ai.n_chain], target, target_len);
		chain_len[ai.n_chain] = target_len;
		r = name_to_text(target, target_len, ai.chain[ai.n_chain]);
		if (r < 0)
			return r;
		ai.n_chain++;
		if (!have_ttl || cname_ttl < ttl)
			ttl = cname_ttl;
		have_ttl = 1;
	}

	pos = an_start;
	for (unsigned i = 0; i < an; i++) {
		struct rr rr;
		uint32_t addr;
		size_t k;

		r = rr_read(msg, len, pos, &rr);
		if (r < 0)
			return r;
		pos = rr.end;
		if (rr.type != DNS_TYPE_A || rr.class != DNS_CLASS_IN)
			continue;
		for (k = 0; k < ai.n_chain; k++)
			if (name_eq(rr.name, rr.name_len, chain[k], chain_len[k]))
				break;
		if (k == ai.n_chain)
			continue;
		if (!have_ttl || ttl_clamp(rr.ttl) < ttl)
			ttl = ttl_clamp(rr.ttl);
		have_ttl = 1;
		memcpy(&addr, msg + rr.rdata, 4);
		for (k = 0; k < ai.n_a; k++)
			if (ai.a[k].addr == addr)
				break;
		if (k < ai.n_a) {
			if (ttl_clamp(rr.ttl) < ai.a[k].ttl)
				ai.a[k].ttl = ttl_clamp(rr.ttl);
			continue;
		}
		/* More addresses than DNS_MAX_A: the rest are relayed, not admitted. */
		if (ai.n_a == DNS_MAX_A)
			continue;
		ai.a[ai.n_a].addr = addr;
		ai.a[ai.n_a].ttl = ttl_clamp(rr.ttl);
		ai.n_a++;
	}
	ai.min_ttl = have_ttl ? ttl : 0;
	memcpy(ret, &ai, sizeof(ai));
	return 0;
}

/*
 * The rewriter's output and its compression dictionary: every name suffix
 * written out as labels (owners, the question, RFC 1035 RDATA names), keyed
 * by a hash of its exact bytes and verified by reading it back, so a pointer
 * only ever replaces the very same labels.
 */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	size_t n_dict;
	struct {
		uint32_t hash;
		uint16_t off; /* 0: empty (offset 0 is the header) */
	} dict[DICT_SLOTS];
};

static int
w_put(struct wbuf *w, const void *p, size_t n)
{
	if (w->cap - w->len < n)
		return -ENOSPC;
	memcpy(w->p + w->len, p, n);
	w->len += n;
	return 0;
}

static int
w_put16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	return w_put(w, b, 2);
}

static int
dict_find(const struct wbuf *w, uint32_t hash, const uint8_t *suffix, size_t suffix_len)
{
	for (size_t i = hash % DICT_SLOTS, n = 0; n < DICT_PROBES && w->dict[i].off;
	     i = (i + 1) % DICT_SLOTS, n++) {
		uint8_t have[DNS_NAME_MAX];
		size_t have_len, end;

		if (w->dict[i].hash != hash)
			continue;
		if (name_read(w->p, w->len, w->dict[i].off, 1, have, &have_len, &end) < 0)
			continue;
		if (have_len == suffix_len && memcmp(have, suffix, suffix_len) == 0)
			return w->dict[i].off;
	}
	return -ENOENT;
}

static void
dict_add(struct wbuf *w, uint32_t hash, size_t off)
{
	size_t i = hash % DICT_SLOTS, n = 0;

	if (off > PTR_MAX || w->n_dict >= DICT_FILL_MAX)
		return;
	while (w->dict[i].off) {
		if (++n == DICT_PROBES)
			return;
		i = (i + 1) % DICT_SLOTS;
	}
	w->dict[i].hash = hash;
	w->dict[i].off = (uint16_t)off;
	w->n_dict++;
}

/*
 * Write an uncompressed name, compressed if allowed: the longest suffix
 * already in the output becomes a pointer, and the labels written before it
 * become dictionary entries themselves.
 */
static int
w_name(struct wbuf *w, const uint8_t *wire, size_t wire_len, int compress)
{
	size_t start[DNS_NAME_MAX / 2 + 1], n = 0, i, lit;
	uint32_t hash[DNS_NAME_MAX / 2 + 1], h = 2166136261u;
	size_t base = w->len;
	int target = -ENOENT, r;

	if (!compress)
		return w_put(w, wire, wire_len);
	for (i = 0; wire[i] != 0; i += 1 + (size_t)wire[i])
		start[n++] = i;
	/* Hash each suffix from the root up, one label at a time (FNV-1a). */
	for (i = n; i-- > 0;) {
		for (size_t k = start[i]; k <= start[i] + wire[start[i]]; k++)
			h = (h ^ wire[k]) * 16777619u;
		hash[i] = h;
	}
	for (lit = 0; lit < n; lit++) {
		target = dict_find(w, hash[lit], wire + start[lit], wire_len - start[lit]);
		if (target >= 0)
			break;
	}
	r = w_put(w, wire, lit < n ? start[lit] : wire_len);
	if (r < 0)
		return r;
	if (lit < n) {
		r = w_put16(w, (uint16_t)(0xc000 | target));
		if (r < 0)
			return r;
	}
	for (i = 0; i < lit; i++)
		dict_add(w, hash[i], base + start[i]);
	return 0;
}

/*
 * RDATA layouts that hold names: 'c' a name compressed by RFC 1035 rules,
 * 'u' a name senders may compress but we must not (RFC 3597 §4), 's' a
 * character-string, '1'..'9' fixed bytes, 'r' the rest as it is.
 */
static const struct {
	uint16_t type;
	const char *layout;
} rdata_layouts[] = {
    {2, "c"},       /* NS */
    {3, "c"},       /* MD */
    {4, "c"},       /* MF */
    {5, "c"},       /* CNAME */
    {6, "cc44444"}, /* SOA */
    {7, "c"},       /* MB */
    {8, "c"},       /* MG */
    {9, "c"},       /* MR */
    {12, "c"},      /* PTR */
    {14, "cc"},     /* MINFO */
    {15, "2c"},     /* MX */
    {17, "uu"},     /* RP */
    {18, "2u"},     /* AFSDB */
    {21, "2u"},     /* RT */
    {24, "99ur"},   /* SIG */
    {26, "2uu"},    /* PX */
    {30, "ur"},     /* NXT */
    {33, "222u"},   /* SRV */
    {35, "22sssu"}, /* NAPTR */
    {36, "2u"},     /* KX */
    {39, "u"},      /* DNAME */
};

static int
w_rdata(struct wbuf *w, const uint8_t *msg, const struct rr *rr)
{
	const char *layout = NULL;
	size_t pos = rr->rdata, len_at = w->len, rd_start;
	int r;

	for (size_t i = 0; i < sizeof(rdata_layouts) / sizeof(rdata_layouts[0]); i++)
		if (rdata_layouts[i].type == rr->type)
			layout = rdata_layouts[i].layout;
	if (!layout) {
		r = w_put16(w, (uint16_t)rr->rdlen);
		if (r < 0)
			return r;
		return w_put(w, msg + rr->rdata, rr->rdlen);
	}
	r = w_put16(w, 0); /* patched below */
	if (r < 0)
		return r;
	rd_start = w->len;
	for (const char *l = layout; *l; l++) {
		uint8_t wire[DNS_NAME_MAX];
		size_t wire_len, end, n;

		switch (*l) {
		case 'c':
		case 'u':
			r = name_read(msg, rr->end, pos, 1, wire, &wire_len, &end);
			if (r < 0)
				return r;
			r = w_name(w, wire, wire_len, *l == 'c');
			pos = end;
			break;
		case 's':
			if (pos >= rr->end || rr->end - pos < 1 + (size_t)msg[pos])
				return -EBADMSG;
			n = 1 + (size_t)msg[pos];
			r = w_put(w, msg + pos, n);
			pos += n;
			break;
		case 'r':
			r = w_put(w, msg + pos, rr->end - pos);
			pos = rr->end;
			break;
		default:
			n = (size_t)(*l - '0');
			if (rr->end - pos < n)
				return -EBADMSG;
			r = w_put(w, msg + pos, n);
			pos += n;
			break;
		}
		if (r < 0)
			return r;
	}
	if (pos != rr->end || w->len - rd_start > 0xffff)
		return -EBADMSG;
	put16(w->p + len_at, (uint16_t)(w->len - rd_start));
	return 0;
}

int
dns_strip_aaaa(const uint8_t *msg, size_t len, uint8_t *out, size_t out_cap, size_t *ret_len)
{
	struct wbuf w;
	uint16_t count[4];
	size_t pos;
	int r;

	if (len < DNS_HEADER_LEN || len > DNS_MSG_MAX)
		return -EBADMSG;
	memset(&w, 0, sizeof(w));
	w.p = out;
	/* Decompressed names can grow a message past what DNS can carry. */
	w.cap = out_cap < DNS_MSG_MAX ? out_cap : DNS_MSG_MAX;
	r = w_put(&w, msg, DNS_HEADER_LEN);
	if (r < 0)
		return r;
	for (int s = 0; s < 4; s++)
		count[s] = get16(msg + 4 + 2 * s);

	pos = DNS_HEADER_LEN;
	for (unsigned i = 0; i < count[0]; i++) {
		uint8_t wire[DNS_NAME_MAX];
		size_t wire_len;

		r = name_read(msg, len, pos, 1, wire, &wire_len, &pos);
		if (r < 0)
			return r;
		if (len - pos < 4)
			return -EBADMSG;
		r = w_name(&w, wire, wire_len, 1);
		if (r < 0)
			return r;
		r = w_put(&w, msg + pos, 4);
		if (r < 0)
			return r;
		pos += 4;
	}
	for (int s = 1; s < 4; s++) {
		unsigned kept = 0;

		for (unsigned i = 0; i < count[s]; i++) {
			struct rr rr;

			r = rr_read(msg, len, pos, &rr);
			if (r < 0)
				return r;
			pos = rr.end;
			if (rr.type == DNS_TYPE_AAAA)
				continue;
			r = w_name(&w, rr.name, rr.name_len, 1);
			if (r < 0)
				return r;
			r = w_put(&w, msg + rr.rdata - DNS_RR_FIXED, DNS_RR_FIXED - 2);
			if (r < 0)
				return r;
			r = w_rdata(&w, msg, &rr);
			if (r < 0)
				return r;
			kept++;
		}
		put16(out + 4 + 2 * s, (uint16_t)kept);
	}
	if (pos != len)
		return -EBADMSG;
	*ret_len = w.len;
	return 0;
}

static ssize_t
make_response(const struct dns_query *q, const uint8_t *query, size_t query_len, int rcode,
    uint16_t extra, uint8_t *out, size_t out_cap)
{
	static const uint8_t opt[] = {
	    0,                                                /* root owner */
	    0, DNS_TYPE_OPT,                                  /* type */
	    DNS_EDNS_UDP_SIZE >> 8, DNS_EDNS_UDP_SIZE & 0xff, /* class: UDP size */
	    0, 0, 0, 0,                                       /* extended rcode, version, flags */
	    0, 0,                                             /* rdlength */
	};
	size_t qlen, n;
	uint16_t flags;

	if (rcode < 0 || rcode > DNS_RCODE_MASK || q->question_end < DNS_HEADER_LEN + 5 ||
	    q->question_end > query_len)
		return -EINVAL;
	qlen = q->question_end - DNS_HEADER_LEN;
	n = DNS_HEADER_LEN + qlen + (q->has_edns ? sizeof(opt) : 0);
	if (n > out_cap)
		return -ENOSPC;
	flags = (uint16_t)(DNS_FLAG_QR | (q->flags & DNS_FLAG_RD) | DNS_FLAG_RA | extra | rcode);
	put16(out, q->id);
	put16(out + 2, flags);
	put16(out + 4, 1);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, q->has_edns ? 1 : 0);
	memcpy(out + DNS_HEADER_LEN, query + DNS_HEADER_LEN, qlen);
	if (q->has_edns)
		memcpy(out + DNS_HEADER_LEN + qlen, opt, sizeof(opt));
	return (ssize_t)n;
}

ssize_t
dns_make_response(const struct dns_query *q, const uint8_t *query, size_t query_len, int rcode,
    uint8_t *out, size_t out_cap)
{
	return make_response(q, query, query_len, rcode, 0, out, out_cap);
}

ssize_t
dns_make_truncated(
    const struct dns_query *q, const uint8_t *query, size_t query_len, uint8_t *out, size_t out_cap)
{
	return make_response(q, query, query_len, DNS_RCODE_NOERROR, DNS_FLAG_TC, out, out_cap);
}

const char *
dns_qtype_name(uint16_t qtype, char *buf, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
	    {DNS_TYPE_A, "A"},
	    {DNS_TYPE_AAAA, "AAAA"},
	    {DNS_TYPE_CNAME, "CNAME"},
	    {DNS_TYPE_MX, "MX"},
	    {DNS_TYPE_TXT, "TXT"},
	    {DNS_TYPE_NS, "NS"},
	    {DNS_TYPE_SOA, "SOA"},
	    {DNS_TYPE_PTR, "PTR"},
	    {DNS_TYPE_SRV, "SRV"},
	    {DNS_TYPE_HTTPS, "HTTPS"},
	    {DNS_TYPE_ANY, "ANY"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == qtype)
			return names[i].name;
	if (len)
		(void)snprintf(buf, len, "TYPE%u", (unsigned)qtype);
	return len ? buf : "";
}

const char *
dns_rcode_name(int rcode)
{
	/* Constant strings only: no buffer to share between callers. */
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
	    "REFUSED", "RCODE6", "RCODE7", "RCODE8", "RCODE9", "RCODE10", "RCODE11", "RCODE12",
	    "RCODE13", "RCODE14", "RCODE15"};

	if (rcode < 0 || rcode > DNS_RCODE_MASK)
		return "RCODE?";
	return names[rcode];
}
