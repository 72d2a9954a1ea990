/* SPDX-License-Identifier: MIT */
/*
 * The name rules (DESIGN.md §3) as one hash table keyed by name.  The
 * loader's unprivileged policy compiler (loader/compile.c) builds it, the
 * loader hands it over as a sealed memfd; the DNS proxy maps it
 * read-only, validates every offset once, and then looks names up by hashing
 * each label suffix of the query: the cost depends on the query's labels, not
 * on the number of rules.
 */
#ifndef CGFW_NAMEPOLICY_H
#define CGFW_NAMEPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/rules.h"

enum np_verdict { NP_NONE = 0, NP_ALLOW = 1, NP_BLOCK = 2 };
enum np_kind { NP_K_EXACT = 1, NP_K_SUFFIX, NP_K_WILDCARD, NP_K_URL };

struct np_match {
	enum np_verdict verdict;
	enum np_kind kind;
	uint32_t rule_id;      /* as given to np_builder_add */
	const char *rule_text; /* in the table, not NUL-terminated: the rule as written */
	size_t rule_text_len;
	const char *origin;   /* "--allow-list", "/path/list.txt": NUL-terminated, in the table */
	uint32_t origin_line; /* line in origin, 0 = none */
	uint16_t port;        /* the rule's port ("example.com:22"), 0 = any */
	int has_allow_url;    /* some allow URL rule exists for exactly this qname */
	int has_block_url;    /* some block URL rule exists for exactly this qname */
};

/*
 * The memfd, in host byte order (it never leaves the host):
 *
 *	struct np_hdr
 *	char pool[pool_len]		names, rule texts, origins
 *	uint32_t origins[n_origins]	pool offsets of NUL-terminated origin strings
 *	uint32_t buckets[n_buckets + 1]	bucket i holds entries[buckets[i] .. buckets[i + 1])
 *	struct np_entry [n_entries]	one per distinct name, in bucket order
 *	struct np_ext [n_ext]		the winners of names with several rules
 *	struct np_rule [n_rules]	the rules no entry holds inline
 *
 * Every section starts 8-aligned, in this order.  The bucket of a name is
 * hash & (n_buckets - 1), its tag hash >> 32; buckets[] never decreases and
 * ends at n_entries, so a probe stays inside the entries.
 *
 * Most names have one rule, written as the name ("ads.example", "*.ads.example",
 * "=ads.example"), from one origin and with no port: the entry holds that
 * rule inline (NP_E_INLINE) and nothing else is stored for it, which is what
 * keeps a list of a million names small.
 */
#define NP_MAGIC   0x504e4743u /* "CGNP" */
#define NP_VERSION 3u

struct np_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t seed; /* hash seed, random per build */
	uint32_t total_len;
	uint32_t n_added; /* rules given to the builder: np_table_count() */
	uint32_t n_buckets;
	uint32_t n_entries;
	uint32_t n_ext;
	uint32_t n_rules;
	uint32_t n_origins;
	uint32_t pool_len;
	uint32_t off_pool;
	uint32_t off_origins;
	uint32_t off_buckets;
	uint32_t off_entries;
	uint32_t off_ext;
	uint32_t off_rules;
};

/*
 * An entry is one name.  NP_E_INLINE: the name's only rule is in the entry
 * (a: its id, line, origin; its kind and action in flags; no port; its
 * text is the name, or with NP_E_PFX the name with "*." or "=" in front,
 * just before the name in the pool).  Otherwise a indexes ext[] and line,
 * origin and the inline bits are 0.
 */
#define NP_E_BLOCK_URL  0x01 /* a block URL rule for exactly this name */
#define NP_E_INLINE     0x02
#define NP_E_BLOCK      0x04 /* inline: the rule blocks (else allows) */
#define NP_E_KIND_SHIFT 3    /* inline: enum np_kind, NP_K_EXACT .. NP_K_WILDCARD */
#define NP_E_KIND_MASK  0x18
#define NP_E_PFX        0x20 /* inline: the text has the kind's prefix */

struct np_entry {
	uint32_t tag; /* hash >> 32 */
	uint32_t name_off;
	uint32_t a;      /* inline: the rule's id; else the index into ext[] */
	uint32_t line;   /* inline: the rule's line in its origin, 0 = none */
	uint16_t origin; /* inline: index into origins */
	uint8_t name_len;
	uint8_t flags; /* NP_E_* */
};

/*
 * The winners are decided when the table is built: "self" is the host rule
 * that decides a query for exactly this name (exact, else suffix), "anc" the
 * one that decides for names below it (suffix or wildcard), "url" the first
 * allow URL rule for exactly this name.  Each a rule index + 1, 0 = none.
 */
struct np_ext {
	uint32_t self;
	uint32_t anc;
	uint32_t url;
};

struct np_rule {
	uint32_t id;
	uint32_t text_off;
	uint32_t line;
	uint16_t text_len;
	uint16_t port;
	uint16_t origin; /* index into origins */
	uint8_t kind;    /* enum np_kind */
	uint8_t action;  /* enum np_verdict: NP_ALLOW or NP_BLOCK */
};

struct np_builder;

struct np_builder *np_builder_new(void);
/* Room for n_names more names and pool_bytes more bytes of text, to skip regrowing. */
int np_builder_reserve(struct np_builder *b, size_t n_names, size_t pool_bytes);
/*
 * r: a name kind (NAME/WILDCARD/EXACT_NAME, or URL with a host name); others
 * -EINVAL.  An origin "PATH:LINE" is stored as PATH and LINE.
 */
int np_builder_add(struct np_builder *b, const struct cgfw_rule *r, uint32_t rule_id);
/*
 * The hot path for list files: no struct cgfw_rule.  name must already be
 * valid and lower-case (1..253 bytes); origin is kept once per distinct
 * string, line separately (0 = none).
 */
int np_builder_add_name(struct np_builder *b, int kind /* RULE_* */, int action /* CGFW_ACT_* */,
    const char *name, size_t name_len, const char *text, size_t text_len, const char *origin,
    uint32_t line, uint32_t rule_id);
/*
 * The same, with the origin as np_builder_origin() gave it: a list file
 * looks its path up once, not once a line.
 */
int np_builder_origin(struct np_builder *b, const char *origin, uint16_t *ret_idx);
int np_builder_add_at(struct np_builder *b, int kind, int action, const char *name, size_t name_len,
    const char *text, size_t text_len, uint16_t origin, uint32_t line, uint32_t rule_id);
/*
 * A builder for a part of a list parsed apart (listfile.c, on another
 * thread): b's hash seed, nothing else of b's.  np_builder_merge() appends
 * its rules to b as if added there, their ids + id_delta and their origin,
 * sub's only (at most one), origin in b.  sub is unchanged (free it).
 */
struct np_builder *np_builder_sub(const struct np_builder *b);
int np_builder_merge(
    struct np_builder *b, const struct np_builder *sub, uint16_t origin, uint32_t id_delta);
/* Rules added (duplicates included). */
size_t np_builder_count(const struct np_builder *b);
/* Rules added with this action (CGFW_ACT_ALLOW or CGFW_ACT_BLOCK). */
size_t np_builder_count_action(const struct np_builder *b, int action);
/*
 * Serialises into a memfd (MFD_ALLOW_SEALING|MFD_CLOEXEC), seals it
 * (F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE), returns the fd.
 * The builder stays valid (and must still be freed).
 */
int np_builder_finish(struct np_builder *b, int *ret_fd);
void np_builder_free(struct np_builder *b);

struct np_table {
	const uint8_t *base;
	size_t len;
	int mapped; /* base is our mmap */
	uint64_t seed;
	uint32_t mask;
	const uint32_t *buckets; /* n_buckets + 1 */
	const struct np_entry *entries;
	const struct np_ext *ext;
	const struct np_rule *rules;
	const uint32_t *origins;
	const char *pool;
	uint32_t n_added;
};

/*
 * Checks the seals (all four: -EPERM if not), maps the memfd PROT_READ
 * (shared: every worker reads the same pages, none copies them) and
 * validates the whole layout (-EBADMSG).  The fd is not closed; the mapping
 * outlives it.
 */
int np_table_open(int fd, struct np_table *ret);
/* Sealed, and its header's length is its size (what the loader checks): 0 or -EBADMSG. */
int np_sealed_ok(int fd);
void np_table_close(struct np_table *t);
/* The validator np_table_open() runs: 0 or -EBADMSG.  For tests. */
int np_table_validate(const uint8_t *base, size_t len);
/*
 * Returns the verdict; ret (may be NULL) is filled in either way.  qname is
 * matched case-insensitively, one trailing dot ignored.  The longest matching
 * name decides; at one name exact beats suffix; suffix and wildcard tie; a
 * tie goes to block.  An allow URL rule for exactly qname wins unless a host
 * rule allows it (kind NP_K_URL: answer, the HTTP proxy judges the path); a
 * block URL rule only sets has_block_url.
 */
int np_lookup(const struct np_table *t, const char *qname, struct np_match *ret);
size_t np_table_count(const struct np_table *t);

#endif
