/* SPDX-License-Identifier: MIT */
/*
 * Rules as users write them (DESIGN.md §3): IPs, CIDRs, names, wildcards,
 * exact names and URLs, each optionally with a port.  Parsing is strict: a
 * rule that does not parse is an error quoting it, never a guess.
 */
#ifndef CGFW_RULES_H
#define CGFW_RULES_H

#include <stddef.h>
#include <stdint.h>

enum cgfw_rule_kind {
	RULE_IP4 = 1,    /* 192.0.2.7 (port optional) */
	RULE_CIDR4,      /* 198.51.100.0/24 */
	RULE_NAME,       /* example.com and its subdomains */
	RULE_WILDCARD,   /* *.example.com: subdomains only */
	RULE_EXACT_NAME, /* =example.com */
	RULE_URL,        /* https://example.com/path */
};

struct cgfw_rule {
	enum cgfw_rule_kind kind;
	int action;    /* CGFW_ACT_ALLOW or CGFW_ACT_BLOCK (bpf/egress.h) */
	uint32_t addr; /* IP4/CIDR4 (and URL to an IP): network order */
	uint8_t plen;  /* CIDR4 prefix length; 32 for IP4 */
	uint16_t port; /* 0 = any */
	char *name;    /* lower case, no trailing dot, no "*." or "=" */
	char *scheme;  /* URL: "http" or "https" */
	char *path;    /* URL: starts with '/' */
	char *text;    /* as written, trimmed */
	char *origin;  /* "--allow-list", "FILE:LINE", ... */
	uint32_t id;   /* id in maps and events; 0 = index + 1 in its ruleset */
};

struct cgfw_ruleset {
	struct cgfw_rule *v;
	size_t n;
	size_t cap;
};

#define CGFW_RULE_MAX_LEN 2048
#define CGFW_ERR_LEN      512

int rules_parse_one(const char *text, int action, const char *origin, struct cgfw_rule *ret,
    char *err, size_t err_len);
int rules_add_list(struct cgfw_ruleset *rs, const char *list, int action, const char *origin,
    char *err, size_t err_len);
/* Appends r (moved in, not copied); -ENOMEM leaves rs and r as they were. */
int rules_push(struct cgfw_ruleset *rs, struct cgfw_rule *r);
/* Room for n_more rules past rs->n, so a long list does not regrow. */
int rules_reserve(struct cgfw_ruleset *rs, size_t n_more);
void rules_free(struct cgfw_ruleset *rs);
void rule_clear(struct cgfw_rule *r);
const char *rules_kind_name(enum cgfw_rule_kind kind);
/* Resolve "." and ".." segments in place; -EINVAL if the path climbs above '/'. */
int rules_path_normalize(char *p);
/* A request path (n bytes) in the form URL rules compare; see rules.c. */
int rules_url_path_canon(const char *in, size_t n, char *out, size_t out_len);
int rules_is_name_kind(enum cgfw_rule_kind kind);

/* The longest DNS name a rule may name (without a trailing dot). */
#define RULES_NAME_MAX 253
/*
 * A DNS name of n bytes (s need not be NUL-terminated): lower-cased into out
 * (which may be s), one trailing dot dropped; its length, or -EINVAL with
 * *ret_why.  The one check of names in rules and list files.
 */
int rules_name_check(const char *s, size_t n, char *out, const char **ret_why);

#endif
