// SPDX-License-Identifier: MIT
/*
 * The name-rule table (layout in namepolicy.h).  Adding a rule only appends
 * a record (and its name to the pool); finishing sorts the records by bucket
 * and resolves specificity and ties once per name, so a lookup is one probe per label
 * suffix of the query and finds the deciding rule without comparing rules.
 * The reader trusts nothing in the memfd until table_init() has checked it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpf/egress.h"
#include "lib/cpolicy.h"
#include "lib/namepolicy.h"
#include "lib/par.h"

#define NP_NAME_MAX    253
#define NP_ORIGIN_MAX  4200 /* a path (PATH_MAX) and then some */
#define NP_TEXT_MAX    UINT16_MAX
#define NP_BUCKETS_MIN 16u
#define NP_BUCKETS_MAX (1u << 30)
#define NP_SEALS       (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define NP_HUGE        (2u << 20)

#define NP_H0 0xcbf29ce484222325ull /* the hash of the root, before the seed */
#define NP_HK 0x9e3779b97f4a7c15ull /* the multiplier of each 8-byte step */

/*
 * One per rule added, appended in order; finish sorts them by bucket.  The
 * rank inputs ride along, so only a name with several rules compares rules.
 * A rule written as its name, with no port (the bulk of any list), is all
 * here: it becomes an inline entry, or a rules[] record only if its name has
 * other rules too.  Any other rule is in rules[] from the start (REC_RULE).
 */
#define REC_KIND  0x07 /* enum np_kind */
#define REC_BLOCK 0x08 /* the rule blocks (else allows) */
#define REC_PFX   0x10 /* text is the kind's prefix and the name */
#define REC_RULE  0x20 /* id_or_rule is an index into rules[]: line and origin are unused */

struct np_rec {
	uint32_t bucket_hash; /* the hash's low half */
	uint32_t tag;         /* its high half */
	uint32_t name_off;
	uint32_t id_or_rule;
	uint32_t line;
	uint16_t origin;
	uint8_t name_len;
	uint8_t kind; /* REC_* */
};

_Static_assert(sizeof(struct np_rec) == 24, "a million records are 24 MB");

struct np_builder {
	uint64_t seed;
	struct np_rec *recs;
	size_t n_recs, cap_recs;
	struct np_rule *rules;
	size_t n_rules, cap_rules;
	uint32_t *origins;
	size_t n_origins, cap_origins;
	char *pool;
	size_t pool_len, pool_cap;
	size_t n_allow, n_block;
	const char *last_origin; /* the caller's string, to skip strlen() on the hot path */
	size_t last_origin_len;
	uint16_t last_origin_idx;
};

/* murmur3's finaliser: the tag and the bucket bits each see every input bit. */
static inline uint64_t
np_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* 64 x 64 -> 128-bit multiply, folded: mixes up and down at once. */
static inline uint64_t
np_mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* The last 0..7 bytes of a label, read without going past them. */
static inline uint64_t
np_tail(const char *s, size_t k)
{
	uint32_t a, b;

	if (k >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, s + k - 4, 4);
		return a | (uint64_t)b << (8 * (k - 4));
	}
	if (k == 0)
		return 0;
	return (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[k / 2] << (8 * (k / 2)) |
	       (uint64_t)(unsigned char)s[k - 1] << (8 * (k - 1));
}

/*
 * One label (s, n bytes, no dot) onto h, the hash of the labels right of it:
 * 8 bytes a step, then a last step with the 0..7 bytes left and, in its top
 * byte, 0x80 | the label's length.  Name bytes are ASCII, so that byte tells
 * the last step from a full one, and a name's labels come out as one
 * sequence of steps ("abcdefghi.x" and "i.abcdefgh.x" differ).
 */
static inline uint64_t
np_label(uint64_t h, const char *s, size_t n)
{
	size_t i = 0;
	uint64_t v;

	for (; i + 8 <= n; i += 8) {
		memcpy(&v, s + i, 8);
		h = np_mum(h ^ v, NP_HK);
	}
	v = np_tail(s + i, n - i) | (uint64_t)(0x80 | (n & 0x7f)) << 56;
	return np_mum(h ^ v, NP_HK);
}

/*
 * A name's hash is its labels folded from the root down (np_label()), so
 * that one right-to-left pass over a query yields the hash of every label
 * suffix (np_lookup()).
 */
static inline uint64_t
np_hash(uint64_t seed, const char *s, size_t n)
{
	uint64_t h = NP_H0 ^ seed;
	size_t end = n;

	for (size_t i = n; i-- > 0;)
		if (s[i] == '.') {
			h = np_label(h, s + i + 1, end - i - 1);
			end = i;
		}
	return np_mix(np_label(h, s, end));
}

static inline char
np_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/*
 * Precedence among the host rules of one name, higher wins, first added wins
 * among equals.  As the rule for exactly this name ("self"): exact beats
 * suffix, then block beats allow, then any port beats one port.  As the rule
 * for names below it ("anc"): suffix and wildcard tie, so block beats allow,
 * then suffix beats wildcard.  URL rules are not host rules: see np_lookup().
 */
static int
self_rank(int kind, int action, int any_port)
{
	int rank = (action == NP_BLOCK) << 2 | !!any_port;

	switch (kind) {
	case NP_K_EXACT:
		return 8 | rank;
	case NP_K_SUFFIX:
		return rank;
	default:
		return -1;
	}
}

static int
anc_rank(int kind, int action, int any_port)
{
	int rank = (action == NP_BLOCK) << 2 | !!any_port;

	switch (kind) {
	case NP_K_SUFFIX:
		return rank | 2;
	case NP_K_WILDCARD:
		return rank;
	default:
		return -1;
	}
}

/* Big arrays: ask for huge pages, which saves most page faults and TLB misses. */
static void
huge_hint(void *p, size_t n)
{
	uintptr_t lo = ((uintptr_t)p + NP_HUGE - 1) & ~(uintptr_t)(NP_HUGE - 1);
	uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)(NP_HUGE - 1);

	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

static int
grow(void **v, size_t *cap, size_t need, size_t size, size_t max)
{
	size_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -E2BIG;
	while (n < need)
		n = n > max / 2 ? max : n * 2;
	p = realloc(*v, n * size);
	if (!p)
		return -ENOMEM;
	if (n * size >= 4 * NP_HUGE)
		huge_hint(p, n * size);
	*v = p;
	*cap = n;
	return 0;
}

static int
pool_add(struct np_builder *b, const char *s, size_t n, int nul, uint32_t *ret_off)
{
	size_t need = b->pool_len + n + !!nul;
	int r;

	r = grow((void **)&b->pool, &b->pool_cap, need, 1, UINT32_MAX);
	if (r < 0)
		return r;
	memcpy(b->pool + b->pool_len, s, n);
	if (nul)
		b->pool[b->pool_len + n] = '\0';
	*ret_off = (uint32_t)b->pool_len;
	b->pool_len = need;
	return 0;
}

/* Origins repeat (one per list file or option): look among the last few. */
static int
b_origin(struct np_builder *b, const char *s, size_t n, uint16_t *ret_idx)
{
	size_t lo = b->n_origins > 16 ? b->n_origins - 16 : 0;
	uint32_t off;
	int r;

	if (n > NP_ORIGIN_MAX || memchr(s, '\0', n))
		return -EINVAL;
	for (size_t i = b->n_origins; i-- > lo;) {
		const char *o = b->pool + b->origins[i];

		if (!strncmp(o, s, n) && o[n] == '\0') {
			*ret_idx = (uint16_t)i;
			return 0;
		}
	}
	r = grow((void **)&b->origins, &b->cap_origins, b->n_origins + 1, sizeof(uint32_t),
	    UINT16_MAX + 1);
	if (r < 0)
		return r;
	r = pool_add(b, s, n, 1, &off);
	if (r < 0)
		return r;
	b->origins[b->n_origins] = off;
	*ret_idx = (uint16_t)b->n_origins++;
	return 0;
}

struct np_builder *
np_builder_new(void)
{
	struct np_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (getrandom(&b->seed, sizeof(b->seed), GRND_NONBLOCK) != sizeof(b->seed))
		b->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)b;
	return b;
}

void
np_builder_free(struct np_builder *b)
{
	if (!b)
		return;
	free(b->recs);
	free(b->rules);
	free(b->origins);
	free(b->pool);
	free(b);
}

struct np_builder *
np_builder_sub(const struct np_builder *b)
{
	struct np_builder *s;

	if (!b)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s)
		s->seed = b->seed;
	return s;
}

int
np_builder_merge(
    struct np_builder *b, const struct np_builder *sub, uint16_t origin, uint32_t id_delta)
{
	size_t pool_off, rule_off;
	int r;

	if (!b || !sub || sub->seed != b->seed || sub->n_origins > 1 || origin >= b->n_origins ||
	    b->pool_len + sub->pool_len > UINT32_MAX)
		return -EINVAL;
	r = grow((void **)&b->pool, &b->pool_cap, b->pool_len + sub->pool_len, 1, UINT32_MAX);
	if (r == 0)
		r = grow((void **)&b->rules, &b->cap_rules, b->n_rules + sub->n_rules,
		    sizeof(*b->rules), NP_BUCKETS_MAX);
	if (r == 0)
		r = grow((void **)&b->recs, &b->cap_recs, b->n_recs + sub->n_recs, sizeof(*b->recs),
		    NP_BUCKETS_MAX);
	if (r < 0)
		return r;
	pool_off = b->pool_len;
	rule_off = b->n_rules;
	/* sub's origins are its pool's first bytes, if any: copied along, unused. */
	memcpy(b->pool + pool_off, sub->pool, sub->pool_len);
	b->pool_len += sub->pool_len;
	for (size_t i = 0; i < sub->n_rules; i++) {
		struct np_rule *nr = &b->rules[b->n_rules++];

		*nr = sub->rules[i];
		nr->id += id_delta;
		nr->text_off += (uint32_t)pool_off;
		nr->origin = origin;
	}
	for (size_t i = 0; i < sub->n_recs; i++) {
		struct np_rec *rc = &b->recs[b->n_recs++];

		*rc = sub->recs[i];
		rc->name_off += (uint32_t)pool_off;
		if (rc->kind & REC_RULE) {
			rc->id_or_rule += (uint32_t)rule_off;
		} else {
			rc->id_or_rule += id_delta;
			rc->origin = origin;
		}
	}
	b->n_allow += sub->n_allow;
	b->n_block += sub->n_block;
	return 0;
}

int
np_builder_reserve(struct np_builder *b, size_t n_names, size_t pool_bytes)
{
	int r;

	if (!b)
		return -EINVAL;
	if (n_names > NP_BUCKETS_MAX || pool_bytes > UINT32_MAX)
		return -E2BIG;
	r = grow(
	    (void **)&b->recs, &b->cap_recs, b->n_recs + n_names, sizeof(*b->recs), NP_BUCKETS_MAX);
	if (r < 0)
		return r;
	return grow((void **)&b->pool, &b->pool_cap, b->pool_len + pool_bytes, 1, UINT32_MAX);
}

/* The bytes a rule of this kind is written with before its name. */
static size_t
kind_pfx_len(int kind)
{
	return kind == NP_K_WILDCARD ? 2 : kind == NP_K_EXACT ? 1 : 0;
}

static int
text_is_name(int kind, const char *name, size_t name_len, const char *text, size_t text_len)
{
	size_t p = kind_pfx_len(kind);

	if (text_len != name_len + p || memcmp(text + p, name, name_len))
		return 0;
	return p == 0 || (p == 2 ? text[0] == '*' && text[1] == '.' : text[0] == '=');
}

/* Append only: which rules win is decided in np_builder_finish(). */
static int
b_add(struct np_builder *b, enum np_kind kind, int action, const char *name, size_t name_len,
    const char *text, size_t text_len, uint16_t origin, uint32_t line, uint16_t port, uint32_t id)
{
	uint64_t hash = np_hash(b->seed, name, name_len);
	struct np_rec rec = {.bucket_hash = (uint32_t)hash,
	    .tag = (uint32_t)(hash >> 32),
	    .id_or_rule = id,
	    .line = line,
	    .origin = origin,
	    .name_len = (uint8_t)name_len,
	    .kind = (uint8_t)(kind | (action == NP_BLOCK ? REC_BLOCK : 0))};
	int r;

	if (name_len == 0 || name_len > NP_NAME_MAX || text_len > NP_TEXT_MAX ||
	    (action != NP_ALLOW && action != NP_BLOCK))
		return -EINVAL;
	r = grow((void **)&b->recs, &b->cap_recs, b->n_recs + 1, sizeof(*b->recs), NP_BUCKETS_MAX);
	if (r < 0)
		return r;
	if (kind != NP_K_URL && port == 0 && text_is_name(kind, name, name_len, text, text_len)) {
		/* The text holds the name: one copy of both. */
		uint32_t off;

		r = pool_add(b, text, text_len, 0, &off);
		if (r < 0)
			return r;
		rec.name_off = off + (uint32_t)kind_pfx_len(kind);
		if (kind_pfx_len(kind))
			rec.kind |= REC_PFX;
	} else {
		struct np_rule nr = {.id = id,
		    .line = line,
		    .origin = origin,
		    .text_len = (uint16_t)text_len,
		    .port = port,
		    .kind = (uint8_t)kind,
		    .action = (uint8_t)action};

		r = grow((void **)&b->rules, &b->cap_rules, b->n_rules + 1, sizeof(*b->rules),
		    NP_BUCKETS_MAX);
		if (r < 0)
			return r;
		r = pool_add(b, name, name_len, 0, &rec.name_off);
		if (r < 0)
			return r;
		if (text_len == name_len && !memcmp(text, name, name_len))
			nr.text_off = rec.name_off;
		else if ((r = pool_add(b, text, text_len, 0, &nr.text_off)) < 0)
			return r;
		rec.id_or_rule = (uint32_t)b->n_rules;
		rec.kind |= REC_RULE;
		rec.line = 0;
		rec.origin = 0;
		b->rules[b->n_rules++] = nr;
	}
	b->recs[b->n_recs++] = rec;
	if (action == NP_ALLOW)
		b->n_allow++;
	else
		b->n_block++;
	return 0;
}

static int
np_kind_of(int rule_kind)
{
	switch (rule_kind) {
	case RULE_NAME:
		return NP_K_SUFFIX;
	case RULE_WILDCARD:
		return NP_K_WILDCARD;
	case RULE_EXACT_NAME:
		return NP_K_EXACT;
	case RULE_URL:
		return NP_K_URL;
	default:
		return -EINVAL;
	}
}

int
np_builder_origin(struct np_builder *b, const char *origin, uint16_t *ret_idx)
{
	size_t n;
	int r;

	if (!b || !ret_idx)
		return -EINVAL;
	if (!origin)
		origin = "";
	/* The same string as last time: no search. */
	if (origin == b->last_origin &&
	    !strncmp(origin, b->pool + b->origins[b->last_origin_idx], b->last_origin_len + 1)) {
		*ret_idx = b->last_origin_idx;
		return 0;
	}
	n = strlen(origin);
	r = b_origin(b, origin, n, ret_idx);
	if (r < 0)
		return r;
	b->last_origin = origin;
	b->last_origin_len = n;
	b->last_origin_idx = *ret_idx;
	return 0;
}

int
np_builder_add_at(struct np_builder *b, int kind, int action, const char *name, size_t name_len,
    const char *text, size_t text_len, uint16_t origin, uint32_t line, uint32_t rule_id)
{
	int k = np_kind_of(kind);

	if (!b || !name || !text || k < 0 || origin >= b->n_origins)
		return -EINVAL;
	/* CGFW_ACT_ALLOW/BLOCK and NP_ALLOW/BLOCK share their values. */
	return b_add(
	    b, (enum np_kind)k, action, name, name_len, text, text_len, origin, line, 0, rule_id);
}

int
np_builder_add_name(struct np_builder *b, int kind, int action, const char *name, size_t name_len,
    const char *text, size_t text_len, const char *origin, uint32_t line, uint32_t rule_id)
{
	uint16_t o;
	int r;

	if (!b || !name || !text || np_kind_of(kind) < 0)
		return -EINVAL;
	r = np_builder_origin(b, origin, &o);
	if (r < 0)
		return r;
	return np_builder_add_at(b, kind, action, name, name_len, text, text_len, o, line, rule_id);
}

int
np_builder_add(struct np_builder *b, const struct cgfw_rule *r, uint32_t rule_id)
{
	const char *origin, *colon, *text;
	size_t origin_len;
	uint32_t line = 0;
	uint16_t o;
	int k, res;

	if (!b || !r || !r->name)
		return -EINVAL;
	k = np_kind_of(r->kind);
	if (k < 0 || (r->kind == RULE_URL && r->addr))
		return -EINVAL;
	origin = r->origin ? r->origin : "";
	origin_len = strlen(origin);
	text = r->text ? r->text : r->name;
	/* "FILE:LINE" from a config or list file: keep the file once, the line apart. */
	colon = strrchr(origin, ':');
	if (colon && colon > origin && colon[1] && strlen(colon + 1) <= 10) {
		const char *p = colon + 1;
		uint64_t v = 0;

		while (*p >= '0' && *p <= '9')
			v = v * 10 + (uint64_t)(*p++ - '0');
		if (*p == '\0' && v > 0 && v <= UINT32_MAX) {
			line = (uint32_t)v;
			origin_len = (size_t)(colon - origin);
		}
	}
	res = b_origin(b, origin, origin_len, &o);
	if (res < 0)
		return res;
	return b_add(b, (enum np_kind)k, r->action, r->name, strlen(r->name), text, strlen(text), o,
	    line, r->port, rule_id);
}

size_t
np_builder_count(const struct np_builder *b)
{
	return b ? b->n_recs : 0;
}

size_t
np_builder_count_action(const struct np_builder *b, int action)
{
	if (!b)
		return 0;
	return action == CGFW_ACT_ALLOW ? b->n_allow : action == CGFW_ACT_BLOCK ? b->n_block : 0;
}

/*
 * Stable LSD radix sort of the records on their bucket bits, 11 at a time:
 * a few sequential passes instead of a cache miss per insert, and records of
 * one name keep the order they were added in.  tmp: room for n records.
 */
static void
sort_recs(struct np_rec *v, struct np_rec *tmp, size_t n, uint32_t mask)
{
	struct np_rec *src = v, *dst = tmp;
	uint32_t bits = 0;

	while (bits < 32 && (mask >> bits))
		bits++;
	if (n < 2 || bits == 0)
		return;
	for (uint32_t shift = 0; shift < bits; shift += 11) {
		size_t count[2048] = {0}, sum = 0;
		uint32_t dmask = (1u << (bits - shift < 11 ? bits - shift : 11)) - 1;
		struct np_rec *t;

		for (size_t i = 0; i < n; i++)
			count[(src[i].bucket_hash >> shift) & dmask]++;
		for (size_t d = 0; d <= dmask; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].bucket_hash >> shift) & dmask]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

struct build {
	struct np_builder *b;
	struct np_ext *ext;
	size_t n_ext, cap_ext;
};

/* Rank of the rule an ext holds (index + 1), -1 for none. */
static int
held_rank(const struct np_builder *b, uint32_t idx, int (*rank)(int, int, int))
{
	const struct np_rule *o;

	if (!idx)
		return -1;
	o = &b->rules[idx - 1];
	return rank(o->kind, o->action, o->port == 0);
}

/* A rule held by a record or an inline entry, as a rules[] record: its index. */
static int
rule_record(struct np_builder *b, const struct np_rule *nr, uint32_t *ret_idx)
{
	int r = grow(
	    (void **)&b->rules, &b->cap_rules, b->n_rules + 1, sizeof(*b->rules), NP_BUCKETS_MAX);

	if (r < 0)
		return r;
	b->rules[b->n_rules] = *nr;
	*ret_idx = (uint32_t)b->n_rules++;
	return 0;
}

static int
rec_rule(struct np_builder *b, const struct np_rec *rc, uint32_t *ret_idx)
{
	int kind = rc->kind & REC_KIND;
	size_t pfx = rc->kind & REC_PFX ? kind_pfx_len(kind) : 0;
	struct np_rule nr = {.id = rc->id_or_rule,
	    .text_off = rc->name_off - (uint32_t)pfx,
	    .line = rc->line,
	    .text_len = (uint16_t)(rc->name_len + pfx),
	    .origin = rc->origin,
	    .kind = (uint8_t)kind,
	    .action = rc->kind & REC_BLOCK ? NP_BLOCK : NP_ALLOW};

	if (rc->kind & REC_RULE) {
		*ret_idx = rc->id_or_rule;
		return 0;
	}
	return rule_record(b, &nr, ret_idx);
}

/* Fold one rule (index idx) into an ext: the higher rank wins, the first among equals. */
static void
ext_fold(const struct np_builder *b, struct np_ext *x, uint8_t *flags, uint32_t idx)
{
	const struct np_rule *nr = &b->rules[idx];
	int any = nr->port == 0;

	if (self_rank(nr->kind, nr->action, any) > held_rank(b, x->self, self_rank))
		x->self = idx + 1;
	if (anc_rank(nr->kind, nr->action, any) > held_rank(b, x->anc, anc_rank))
		x->anc = idx + 1;
	if (nr->kind == NP_K_URL && nr->action == NP_ALLOW && !x->url)
		x->url = idx + 1;
	if (nr->kind == NP_K_URL && nr->action == NP_BLOCK)
		*flags |= NP_E_BLOCK_URL;
}

/* A new ext for entry e, holding its inline rule if it has one. */
static int
ext_new(struct build *bd, struct np_entry *e)
{
	struct np_builder *b = bd->b;
	struct np_ext *x;
	int r;

	r = grow((void **)&bd->ext, &bd->cap_ext, bd->n_ext + 1, sizeof(*bd->ext), NP_BUCKETS_MAX);
	if (r < 0)
		return r;
	x = &bd->ext[bd->n_ext];
	*x = (struct np_ext){0};
	if (e->flags & NP_E_INLINE) {
		int kind = (e->flags & NP_E_KIND_MASK) >> NP_E_KIND_SHIFT;
		size_t pfx = e->flags & NP_E_PFX ? kind_pfx_len(kind) : 0;
		struct np_rule nr = {.id = e->a,
		    .text_off = e->name_off - (uint32_t)pfx,
		    .line = e->line,
		    .text_len = (uint16_t)(e->name_len + pfx),
		    .origin = e->origin,
		    .kind = (uint8_t)kind,
		    .action = e->flags & NP_E_BLOCK ? NP_BLOCK : NP_ALLOW};
		uint32_t idx;

		r = rule_record(b, &nr, &idx);
		if (r < 0)
			return r;
		ext_fold(b, x, &e->flags, idx);
	}
	e->flags &= NP_E_BLOCK_URL;
	e->a = (uint32_t)bd->n_ext++;
	e->line = 0;
	e->origin = 0;
	return 0;
}

/* A record into its name's entry: inline if it is the name's only rule so far. */
static int
entry_add(struct build *bd, struct np_entry *e, int is_new, const struct np_rec *rc)
{
	uint32_t idx;
	int r;

	if (is_new && !(rc->kind & REC_RULE)) {
		int kind = rc->kind & REC_KIND;

		e->a = rc->id_or_rule;
		e->line = rc->line;
		e->origin = rc->origin;
		e->flags = (uint8_t)(NP_E_INLINE | (rc->kind & REC_BLOCK ? NP_E_BLOCK : 0) |
		                     kind << NP_E_KIND_SHIFT | (rc->kind & REC_PFX ? NP_E_PFX : 0));
		return 0;
	}
	if (is_new || (e->flags & NP_E_INLINE)) {
		r = ext_new(bd, e);
		if (r < 0)
			return r;
	}
	r = rec_rule(bd->b, rc, &idx);
	if (r < 0)
		return r;
	ext_fold(bd->b, &bd->ext[e->a], &e->flags, idx);
	return 0;
}

/* Records sorted by bucket into entries (one per name) and the bucket index. */
static int
build_entries(
    struct build *bd, uint32_t n_buckets, uint32_t *buckets, struct np_entry *ents, size_t *ret_n)
{
	struct np_builder *b = bd->b;
	uint32_t mask = n_buckets - 1;
	size_t n = 0, i = 0;
	int r;

	for (uint32_t k = 0; k < n_buckets; k++) {
		size_t first = n;

		buckets[k] = (uint32_t)n;
		for (; i < b->n_recs && (b->recs[i].bucket_hash & mask) == k; i++) {
			const struct np_rec *rc = &b->recs[i];
			size_t j;
			int fresh;

			/* Buckets hold one or two names: a scan is the cheap way. */
			for (j = first; j < n; j++)
				if (ents[j].tag == rc->tag && ents[j].name_len == rc->name_len &&
				    !memcmp(b->pool + ents[j].name_off, b->pool + rc->name_off,
				        rc->name_len))
					break;
			fresh = j == n;
			if (fresh)
				ents[n++] = (struct np_entry){.tag = rc->tag,
				    .name_off = rc->name_off,
				    .name_len = rc->name_len};
			r = entry_add(bd, &ents[j], fresh, rc);
			if (r < 0)
				return r;
		}
	}
	buckets[n_buckets] = (uint32_t)n;
	*ret_n = n;
	return 0;
}

static int
pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;

	while (n) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static uint64_t
align8(uint64_t v)
{
	return (v + 7) & ~(uint64_t)7;
}

/* The pool's copy into the memfd, on the spare thread while the entries are built. */
struct pool_write {
	int fd;
	const char *pool;
	size_t len;
	uint64_t room_from, room_to; /* then the memfd's pages for these bytes, if > from */
	int r;
};

static void
pool_write(void *arg)
{
	struct pool_write *w = arg;

	w->r = pwrite_all(w->fd, w->pool, w->len, (off_t)align8(sizeof(struct np_hdr)));
	/*
	 * The pages of the sections after it (most of them the entries, at most
	 * one per record) made now, on this thread, while the entries are
	 * built: allocating a page of the memfd costs more than copying it.
	 * Only room: the file is cut to its size before it is sealed, and a
	 * failure leaves it to pwrite().
	 */
	if (w->r == 0 && w->room_to > w->room_from)
		(void)fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->room_from,
		    (off_t)(w->room_to - w->room_from));
}

/*
 * The entries are built in memory and written to the memfd with pwrite():
 * the kernel copies through its own large-page mapping, where writing
 * through a mapping of the memfd would take a TLB miss every 4 KiB.  The
 * ext and rules[] records exist only for names with several rules or rules
 * not written as their name.
 */
int
np_builder_finish(struct np_builder *b, int *ret_fd)
{
	struct np_hdr h = {.magic = NP_MAGIC, .version = NP_VERSION};
	struct build bd = {.b = b};
	uint32_t n_buckets = NP_BUCKETS_MIN, *buckets = NULL;
	size_t n_rules0 = b ? b->n_rules : 0, n_ents = 0;
	struct np_entry *ents = NULL;
	struct pool_write pw;
	uint64_t off;
	int fd = -1, pw_running = 0, r;

	if (!b || !ret_fd)
		return -EINVAL;
	/* Load factor at most 1. */
	while (n_buckets < b->n_recs)
		n_buckets *= 2;
	/*
	 * The sort's scratch copy then holds the entries: fresh memory is what
	 * costs most here (zeroed pages, and on a VM the host's faults).
	 */
	_Static_assert(sizeof(struct np_entry) <= sizeof(struct np_rec), "entries fit the scratch");
	buckets = malloc(((size_t)n_buckets + 1) * sizeof(*buckets));
	ents = malloc((b->n_recs ? b->n_recs : 1) * sizeof(struct np_rec));
	if (!buckets || !ents) {
		r = -ENOMEM;
		goto out;
	}
	if (b->n_recs * sizeof(struct np_rec) >= 4 * NP_HUGE)
		huge_hint(ents, b->n_recs * sizeof(struct np_rec));
	fd = memfd_create("cgfw-namepolicy", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* The pool is final and first: copied in (grows the file) while the entries are made. */
	pw = (struct pool_write){.fd = fd, .pool = b->pool, .len = b->pool_len};
	if (b->pool_len >= NP_HUGE) {
		/* Where the buckets start, and where the entries end at most. */
		off = align8(align8(sizeof(h)) + b->pool_len);
		off = align8(off + (uint64_t)b->n_origins * sizeof(uint32_t));
		pw.room_from = off;
		off = align8(off + ((uint64_t)n_buckets + 1) * sizeof(uint32_t));
		pw.room_to = off + (uint64_t)b->n_recs * sizeof(struct np_entry);
	}
	if (b->pool_len >= NP_HUGE && par_run(pool_write, &pw) == 0) {
		pw_running = 1;
	} else {
		pw.room_to = 0; /* on this thread: no gain */
		pool_write(&pw);
	}
	sort_recs(b->recs, (struct np_rec *)(void *)ents, b->n_recs, n_buckets - 1);
	r = build_entries(&bd, n_buckets, buckets, ents, &n_ents);
	if (pw_running)
		par_wait();
	pw_running = 0;
	if (r == 0)
		r = pw.r;
	if (r < 0)
		goto out;

	off = align8(sizeof(h));
	h.off_pool = (uint32_t)off;
	off = align8(off + b->pool_len);
	h.off_origins = (uint32_t)off;
	off = align8(off + (uint64_t)b->n_origins * sizeof(uint32_t));
	h.off_buckets = (uint32_t)off;
	off = align8(off + ((uint64_t)n_buckets + 1) * sizeof(uint32_t));
	h.off_entries = (uint32_t)off;
	off = align8(off + (uint64_t)n_ents * sizeof(struct np_entry));
	h.off_ext = (uint32_t)off;
	off = align8(off + (uint64_t)bd.n_ext * sizeof(struct np_ext));
	h.off_rules = (uint32_t)off;
	off = align8(off + (uint64_t)b->n_rules * sizeof(struct np_rule));
	if (off > UINT32_MAX) {
		r = -E2BIG;
		goto out;
	}
	h.total_len = (uint32_t)off;
	h.seed = b->seed;
	h.n_added = (uint32_t)b->n_recs;
	h.n_buckets = n_buckets;
	h.n_entries = (uint32_t)n_ents;
	h.n_ext = (uint32_t)bd.n_ext;
	h.n_rules = (uint32_t)b->n_rules;
	h.n_origins = (uint32_t)b->n_origins;
	h.pool_len = (uint32_t)b->pool_len;

	/* The whole size: the gaps between sections read as zeros. */
	if (ftruncate(fd, (off_t)h.total_len) < 0) {
		r = -errno;
		goto out;
	}
	if ((r = pwrite_all(fd, &h, sizeof(h), 0)) < 0 ||
	    (r = pwrite_all(fd, b->origins, b->n_origins * sizeof(uint32_t), h.off_origins)) < 0 ||
	    (r = pwrite_all(
	         fd, buckets, ((size_t)n_buckets + 1) * sizeof(uint32_t), h.off_buckets)) < 0 ||
	    (r = pwrite_all(fd, ents, n_ents * sizeof(struct np_entry), h.off_entries)) < 0 ||
	    (r = pwrite_all(fd, bd.ext, bd.n_ext * sizeof(struct np_ext), h.off_ext)) < 0 ||
	    (r = pwrite_all(fd, b->rules, b->n_rules * sizeof(struct np_rule), h.off_rules)) < 0)
		goto out;
	if (fcntl(fd, F_ADD_SEALS, NP_SEALS) < 0) {
		r = -errno;
		goto out;
	}
	*ret_fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	free(buckets);
	free(ents);
	free(bd.ext);
	/* The rules promoted for this table are its own: the builder stays as it was. */
	b->n_rules = n_rules0;
	return r;
}

/* Is [off, off + n * size) inside the table and 8-aligned, past the header? */
static int
section_ok(size_t len, uint32_t off, uint64_t n, size_t size)
{
	if (off % 8 || off < sizeof(struct np_hdr))
		return 0;
	return (uint64_t)off + n * size <= len;
}

/* How far ahead table_init() asks for entries and buckets: about 4 KiB. */
#define NP_AHEAD_E 192
#define NP_AHEAD_B 1024

/* Everything np_lookup() dereferences is checked here, once. */
static int
table_init(const uint8_t *base, size_t len, struct np_table *t)
{
	const struct np_hdr *h = (const struct np_hdr *)base;
	const uint32_t *buckets, *origins;
	const struct np_entry *ents;
	const struct np_ext *ext;
	const struct np_rule *rules;
	const char *pool;

	if (!base || (uintptr_t)base % 8 || len < sizeof(*h) || len > UINT32_MAX)
		return -EBADMSG;
	if (h->magic != NP_MAGIC || h->version != NP_VERSION || h->total_len != len)
		return -EBADMSG;
	if (h->n_buckets == 0 || h->n_buckets > NP_BUCKETS_MAX ||
	    (h->n_buckets & (h->n_buckets - 1)) || h->n_entries > NP_BUCKETS_MAX ||
	    h->n_origins > UINT16_MAX + 1)
		return -EBADMSG;
	/* The sections in their order, each where the one before ends, the last at the end. */
	if (!section_ok(len, h->off_pool, h->pool_len, 1) ||
	    !section_ok(len, h->off_origins, h->n_origins, sizeof(uint32_t)) ||
	    !section_ok(len, h->off_buckets, (uint64_t)h->n_buckets + 1, sizeof(uint32_t)) ||
	    !section_ok(len, h->off_entries, h->n_entries, sizeof(struct np_entry)) ||
	    !section_ok(len, h->off_ext, h->n_ext, sizeof(struct np_ext)) ||
	    !section_ok(len, h->off_rules, h->n_rules, sizeof(struct np_rule)) ||
	    h->off_pool != align8(sizeof(*h)) ||
	    h->off_origins != align8((uint64_t)h->off_pool + h->pool_len) ||
	    h->off_buckets != align8(h->off_origins + (uint64_t)h->n_origins * sizeof(uint32_t)) ||
	    h->off_entries !=
	        align8(h->off_buckets + ((uint64_t)h->n_buckets + 1) * sizeof(uint32_t)) ||
	    h->off_ext !=
	        align8(h->off_entries + (uint64_t)h->n_entries * sizeof(struct np_entry)) ||
	    h->off_rules != align8(h->off_ext + (uint64_t)h->n_ext * sizeof(struct np_ext)) ||
	    len != align8(h->off_rules + (uint64_t)h->n_rules * sizeof(struct np_rule)))
		return -EBADMSG;
	pool = (const char *)(base + h->off_pool);
	origins = (const uint32_t *)(base + h->off_origins);
	buckets = (const uint32_t *)(base + h->off_buckets);
	ents = (const struct np_entry *)(base + h->off_entries);
	ext = (const struct np_ext *)(base + h->off_ext);
	rules = (const struct np_rule *)(base + h->off_rules);

	for (uint32_t i = 0; i < h->n_origins; i++) {
		uint32_t o = origins[i];
		size_t room;

		if (o >= h->pool_len)
			return -EBADMSG;
		room = h->pool_len - o;
		if (!memchr(pool + o, '\0', room < NP_ORIGIN_MAX + 1 ? room : NP_ORIGIN_MAX + 1))
			return -EBADMSG;
	}
	for (uint32_t i = 0; i < h->n_rules; i++) {
		const struct np_rule *r = &rules[i];

		if (r->kind < NP_K_EXACT || r->kind > NP_K_URL ||
		    (r->action != NP_ALLOW && r->action != NP_BLOCK) || r->origin >= h->n_origins ||
		    (uint64_t)r->text_off + r->text_len > h->pool_len)
			return -EBADMSG;
	}
	for (uint32_t i = 0; i < h->n_ext; i++)
		if (ext[i].self > h->n_rules || ext[i].anc > h->n_rules || ext[i].url > h->n_rules)
			return -EBADMSG;
	/* Never decreasing, from 0 to n_entries: every probe stays in the entries. */
	if (buckets[0] != 0 || buckets[h->n_buckets] != h->n_entries)
		return -EBADMSG;
	for (uint32_t i = 0; i < h->n_buckets; i++) {
		if (i + NP_AHEAD_B < h->n_buckets)
			__builtin_prefetch(&buckets[i + NP_AHEAD_B]);
		if (buckets[i] > buckets[i + 1])
			return -EBADMSG;
	}
	/*
	 * Bounds only: whether an ext's self really is an exact or suffix rule is
	 * the builder's business, and checking it here costs a cache miss per name.
	 */
	for (uint32_t i = 0; i < h->n_entries; i++) {
		const struct np_entry *e = &ents[i];

		/*
		 * A memfd's pages are 4 KiB, where the hardware prefetcher stops:
		 * this loop waits on memory unless asked ahead.
		 */
		if (i + NP_AHEAD_E < h->n_entries)
			__builtin_prefetch(&ents[i + NP_AHEAD_E]);
		if (e->name_len == 0 || e->name_len > NP_NAME_MAX ||
		    (uint64_t)e->name_off + e->name_len > h->pool_len)
			return -EBADMSG;
		if (e->flags & NP_E_INLINE) {
			uint32_t kind = (e->flags & NP_E_KIND_MASK) >> NP_E_KIND_SHIFT;

			if ((e->flags & ~(NP_E_INLINE | NP_E_BLOCK | NP_E_KIND_MASK | NP_E_PFX)) ||
			    kind < NP_K_EXACT || kind > NP_K_WILDCARD ||
			    e->origin >= h->n_origins ||
			    ((e->flags & NP_E_PFX) &&
			        (kind == NP_K_SUFFIX || e->name_off < kind_pfx_len((int)kind))))
				return -EBADMSG;
		} else if ((e->flags & ~NP_E_BLOCK_URL) || e->a >= h->n_ext || e->line ||
		           e->origin) {
			return -EBADMSG;
		}
	}
	if (t) {
		*t = (struct np_table){.base = base,
		    .len = len,
		    .seed = h->seed,
		    .mask = h->n_buckets - 1,
		    .buckets = buckets,
		    .entries = ents,
		    .ext = ext,
		    .rules = rules,
		    .origins = origins,
		    .pool = pool,
		    .n_added = h->n_added};
	}
	return 0;
}

int
np_table_validate(const uint8_t *base, size_t len)
{
	return table_init(base, len, NULL);
}

int
np_table_open(int fd, struct np_table *ret)
{
	struct np_table t;
	struct stat st;
	void *base;
	int seals, r;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return errno == EINVAL ? -EPERM : -errno; /* EINVAL: not a memfd */
	if ((seals & NP_SEALS) != NP_SEALS)
		return -EPERM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct np_hdr) ||
	    (uint64_t)st.st_size > UINT32_MAX)
		return -EBADMSG;
	/* Sealed against writes and shrinking: the bytes checked are the bytes read. */
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	r = table_init(base, (size_t)st.st_size, &t);
	if (r < 0) {
		(void)munmap(base, (size_t)st.st_size);
		return r;
	}
	t.mapped = 1;
	*ret = t;
	return 0;
}

void
np_table_close(struct np_table *t)
{
	if (!t)
		return;
	if (t->mapped && t->base)
		(void)munmap((void *)t->base, t->len);
	memset(t, 0, sizeof(*t));
}

size_t
np_table_count(const struct np_table *t)
{
	return t && t->base ? t->n_added : 0;
}

/* The entry of a name, probing its bucket's run; NULL if none. */
static inline const struct np_entry *
table_find(const struct np_table *t, uint64_t hash, const char *name, size_t len)
{
	uint32_t k = (uint32_t)hash & t->mask, tag = (uint32_t)(hash >> 32);

	for (uint32_t i = t->buckets[k], end = t->buckets[k + 1]; i < end; i++) {
		const struct np_entry *e = &t->entries[i];

		if (e->tag == tag && e->name_len == len &&
		    !memcmp(t->pool + e->name_off, name, len))
			return e;
	}
	return NULL;
}

/* An inline entry's rule as a rules[] record would hold it. */
static const struct np_rule *
inline_rule(const struct np_entry *e, int kind, struct np_rule *buf)
{
	uint32_t pfx = e->flags & NP_E_PFX ? (uint32_t)kind_pfx_len(kind) : 0;

	*buf = (struct np_rule){.id = e->a,
	    .text_off = e->name_off - pfx,
	    .line = e->line,
	    .text_len = (uint16_t)(e->name_len + pfx),
	    .origin = e->origin,
	    .kind = (uint8_t)kind,
	    .action = e->flags & NP_E_BLOCK ? NP_BLOCK : NP_ALLOW};
	return buf;
}

/*
 * The longest name with a host rule that applies decides (np_ext comment).
 * An allow URL rule for exactly the query is more specific than any host
 * rule ("URL over host", DESIGN.md §3): unless a host rule allows the name
 * outright, the match is the URL rule, so the name resolves and the HTTP
 * proxy judges the path.  Block URL rules never block a name: they only set
 * has_block_url.
 */
int
np_lookup(const struct np_table *t, const char *qname, struct np_match *ret)
{
	char buf[NP_NAME_MAX + 1];
	uint8_t at[NP_NAME_MAX + 1];
	uint64_t hs[NP_NAME_MAX + 1], h;
	const struct np_rule *r = NULL, *url = NULL;
	struct np_rule rbuf;
	size_t len, start, n, end, n_suf = 0;
	int block_url = 0;

	if (ret)
		memset(ret, 0, sizeof(*ret));
	if (!t || !t->base || !qname)
		return NP_NONE;
	len = strlen(qname);
	if (len && qname[len - 1] == '.')
		len--;
	if (len == 0)
		return NP_NONE;
	/* No rule name is longer than 253 bytes: only the tail of a longer query can match. */
	start = len > NP_NAME_MAX ? len - NP_NAME_MAX : 0;
	n = len - start;
	for (size_t i = 0; i < n; i++)
		buf[i] = np_lower(qname[start + i]);

	/* Every suffix that starts a label, shortest first, with its hash. */
	h = NP_H0 ^ t->seed;
	end = n;
	for (size_t i = n; i-- > 0;) {
		if (buf[i] != '.')
			continue;
		h = np_label(h, buf + i + 1, end - i - 1);
		end = i;
		if (i + 1 < n) {
			at[n_suf] = (uint8_t)(i + 1);
			hs[n_suf] = np_mix(h);
			/* The probes are independent: start every cache miss now. */
			__builtin_prefetch(&t->buckets[(uint32_t)hs[n_suf] & t->mask]);
			n_suf++;
		}
	}
	if (start == 0 || qname[start - 1] == '.') {
		at[n_suf] = 0;
		hs[n_suf] = np_mix(np_label(h, buf, end));
		__builtin_prefetch(&t->buckets[(uint32_t)hs[n_suf] & t->mask]);
		n_suf++;
	}
	/* Then the first entry of each bucket, again all at once. */
	for (size_t j = 0; j < n_suf; j++)
		__builtin_prefetch(&t->entries[t->buckets[(uint32_t)hs[j] & t->mask]]);
	while (n_suf-- > 0) {
		size_t i = at[n_suf];
		const struct np_entry *e = table_find(t, hs[n_suf], buf + i, n - i);
		const struct np_ext *x;

		if (!e)
			continue;
		if (e->flags & NP_E_INLINE) {
			int kind = (e->flags & NP_E_KIND_MASK) >> NP_E_KIND_SHIFT;

			/* Exact and suffix decide for the name, suffix and wildcard below it. */
			if (start + i == 0 ? kind != NP_K_WILDCARD : kind != NP_K_EXACT) {
				r = inline_rule(e, kind, &rbuf);
				break;
			}
			continue;
		}
		x = &t->ext[e->a];
		if (start + i == 0) {
			url = x->url ? &t->rules[x->url - 1] : NULL;
			block_url = e->flags & NP_E_BLOCK_URL;
			if (x->self) {
				r = &t->rules[x->self - 1];
				break;
			}
		} else if (x->anc) {
			r = &t->rules[x->anc - 1];
			break;
		}
	}
	if (url && (!r || r->action != NP_ALLOW))
		r = url;
	if (ret) {
		ret->has_allow_url = url != NULL;
		ret->has_block_url = block_url != 0;
	}
	if (!r)
		return NP_NONE;
	if (ret) {
		ret->verdict = (enum np_verdict)r->action;
		ret->kind = (enum np_kind)r->kind;
		ret->rule_id = r->id;
		ret->rule_text = t->pool + r->text_off;
		ret->rule_text_len = r->text_len;
		ret->origin = t->pool + t->origins[r->origin];
		ret->origin_line = r->line;
		ret->port = r->port;
	}
	return r->action;
}

int
np_sealed_ok(int fd)
{
	struct np_hdr h;
	struct stat st;

	if (cp_sealed(fd) < 0 || fstat(fd, &st) < 0 ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EBADMSG;
	return h.magic == NP_MAGIC && h.version == NP_VERSION && h.total_len == (uint64_t)st.st_size
	           ? 0
	           : -EBADMSG;
}
