// SPDX-License-Identifier: MIT
/*
 * The policy compiler (lib/policy.c): mode selection, tie-breaking between
 * allow and block on one key, and policy_lookup4() as the userspace twin of
 * the BPF decision (loopback, IP:port, exact IP, longest CIDR, default).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bpf/egress.h"
#include "lib/policy.h"
#include "lib/rules.h"

static uint32_t
ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* Rules in the order given: first..., then second...; ids are 1 + that order. */
static void
build(struct cgfw_ruleset *rs, struct cgfw_policy *pol, int first_action, const char *first,
    const char *second)
{
	int second_action = first_action == CGFW_ACT_ALLOW ? CGFW_ACT_BLOCK : CGFW_ACT_ALLOW;
	char err[CGFW_ERR_LEN] = "";

	memset(rs, 0, sizeof(*rs));
	if (first && rules_add_list(rs, first, first_action, "first", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (second && rules_add_list(rs, second, second_action, "second", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(policy_compile(rs, pol), 0);
}

struct mode_case {
	const char *allow, *block;
	int mode;
	int block_unresolved;
	size_t n_names, n_ip4, n_cidr4;
};

static const struct mode_case mode_cases[] = {
    {NULL, NULL, CGFW_MODE_LOG_ONLY, 0, 0, 0, 0},
    {"192.0.2.7", NULL, CGFW_MODE_ALLOW_LIST, 0, 0, 1, 0},
    {"example.com", NULL, CGFW_MODE_ALLOW_LIST, 0, 1, 0, 0},
    {NULL, "192.0.2.7", CGFW_MODE_BLOCK_LIST, 0, 0, 1, 0},
    {NULL, "10.0.0.0/8", CGFW_MODE_BLOCK_LIST, 0, 0, 0, 1},
    {NULL, "example.com", CGFW_MODE_BLOCK_LIST, 1, 1, 0, 0},
    {NULL, "*.example.com", CGFW_MODE_BLOCK_LIST, 1, 1, 0, 0},
    {NULL, "=example.com", CGFW_MODE_BLOCK_LIST, 1, 1, 0, 0},
    {NULL, "https://example.com/x", CGFW_MODE_BLOCK_LIST, 1, 1, 0, 0},
    {NULL, "192.0.2.7,example.com,10.0.0.0/8", CGFW_MODE_BLOCK_LIST, 1, 1, 1, 1},
    /* With any allow rule it is allow-list mode, and unresolved IPs are blocked anyway. */
    {"a.example", "b.example", CGFW_MODE_ALLOW_LIST, 0, 2, 0, 0},
    {"192.0.2.7", "b.example", CGFW_MODE_ALLOW_LIST, 0, 1, 1, 0},
    {"a.example,192.0.2.7,*.b.example,=c.example,https://d.example/x,10.0.0.0/8,192.0.2.8:443",
        NULL, CGFW_MODE_ALLOW_LIST, 0, 4, 2, 1},
};

static void
test_mode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mode_cases) / sizeof(mode_cases[0]); i++) {
		const struct mode_case *c = &mode_cases[i];
		struct cgfw_ruleset rs;
		struct cgfw_policy pol;

		build(&rs, &pol, CGFW_ACT_ALLOW, c->allow, c->block);
		if (pol.mode != c->mode || pol.block_unresolved != c->block_unresolved ||
		    pol.n_names != c->n_names || pol.n_ip4 != c->n_ip4 || pol.n_cidr4 != c->n_cidr4)
			fail_msg("case %zu (allow %s, block %s): mode %d unresolved %d names %zu "
			         "ip4 %zu cidr4 %zu",
			    i, c->allow ? c->allow : "-", c->block ? c->block : "-", pol.mode,
			    pol.block_unresolved, pol.n_names, pol.n_ip4, pol.n_cidr4);
		policy_free(&pol);
		rules_free(&rs);
	}
}

struct lookup_case {
	int first_action; /* whose list comes first, so gets the lower rule ids */
	const char *first, *second;
	const char *ip;
	uint16_t port;
	int verdict, reason;
	uint32_t rule_id;
};

#define A  CGFW_ACT_ALLOW
#define B  CGFW_ACT_BLOCK
#define VA CGFW_V_ALLOW
#define VB CGFW_V_BLOCK

static const struct lookup_case lookup_cases[] = {
    /* Longest prefix wins, whichever order the rules came in. */
    {A, "10.0.0.0/8,10.1.0.0/16", NULL, "10.1.2.3", 0, VA, CGFW_R_ALLOW_RULE, 2},
    {A, "10.1.0.0/16,10.0.0.0/8", NULL, "10.1.2.3", 0, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "10.0.0.0/8,10.1.0.0/16", NULL, "10.2.0.1", 0, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "10.0.0.0/8", "10.1.0.0/16", "10.1.255.255", 80, VB, CGFW_R_BLOCK_RULE, 2},
    {A, "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0", 80, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "10.0.0.0/8", "10.1.0.0/16", "11.0.0.1", 80, VB, CGFW_R_NOT_ALLOWED, 0},
    {A, "10.0.0.0/8", "10.1.0.0/16", "9.255.255.255", 80, VB, CGFW_R_NOT_ALLOWED, 0},
    {B, "10.1.0.0/16", "10.0.0.0/8", "10.1.2.3", 0, VB, CGFW_R_BLOCK_RULE, 1},
    {A, "0.0.0.0/0", "10.0.0.0/8", "8.8.8.8", 53, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "0.0.0.0/0", "10.0.0.0/8", "10.9.9.9", 53, VB, CGFW_R_BLOCK_RULE, 2},
    {A, "192.0.2.0/31", NULL, "192.0.2.1", 0, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "192.0.2.0/31", NULL, "192.0.2.2", 0, VB, CGFW_R_NOT_ALLOWED, 0},
    {A, "192.0.2.7/32", NULL, "192.0.2.7", 0, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "192.0.2.7/32", NULL, "192.0.2.6", 0, VB, CGFW_R_NOT_ALLOWED, 0},
    /* An exact IP beats any CIDR, even a /32, in both directions. */
    {A, "192.0.2.7", "192.0.2.0/24", "192.0.2.7", 443, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "192.0.2.7", "192.0.2.7/32", "192.0.2.7", 443, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "192.0.2.0/24", "192.0.2.7", "192.0.2.7", 443, VB, CGFW_R_BLOCK_RULE, 2},
    {A, "192.0.2.0/24", "192.0.2.7", "192.0.2.8", 443, VA, CGFW_R_ALLOW_RULE, 1},
    /* IP:port beats IP; a port rule does not match other ports. */
    {A, "192.0.2.7:443", "192.0.2.7", "192.0.2.7", 443, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "192.0.2.7:443", "192.0.2.7", "192.0.2.7", 80, VB, CGFW_R_BLOCK_RULE, 2},
    {A, "192.0.2.7:443", "192.0.2.7", "192.0.2.7", 0, VB, CGFW_R_BLOCK_RULE, 2},
    {B, "192.0.2.7:22", "192.0.2.7", "192.0.2.7", 22, VB, CGFW_R_BLOCK_RULE, 1},
    {B, "192.0.2.7:22", "192.0.2.7", "192.0.2.7", 23, VA, CGFW_R_ALLOW_RULE, 2},
    {A, "192.0.2.7:443", NULL, "192.0.2.7", 80, VB, CGFW_R_NOT_ALLOWED, 0},
    {A, "192.0.2.7:443", NULL, "192.0.2.7", 0, VB, CGFW_R_NOT_ALLOWED, 0},
    {A, "192.0.2.7:443", "192.0.2.0/24", "192.0.2.7", 443, VA, CGFW_R_ALLOW_RULE, 1},
    {A, "192.0.2.7:443", "192.0.2.0/24", "192.0.2.7", 444, VB, CGFW_R_BLOCK_RULE, 2},
    /* Allow and block on one key: block wins, whichever came first. */
    {A, "192.0.2.7", "192.0.2.7", "192.0.2.7", 0, VB, CGFW_R_BLOCK_RULE, 2},
    {B, "192.0.2.7", "192.0.2.7", "192.0.2.7", 0, VB, CGFW_R_BLOCK_RULE, 1},
    {A, "192.0.2.7:443", "192.0.2.7:443", "192.0.2.7", 443, VB, CGFW_R_BLOCK_RULE, 2},
    {B, "192.0.2.7:443", "192.0.2.7:443", "192.0.2.7", 443, VB, CGFW_R_BLOCK_RULE, 1},
    {A, "10.0.0.0/8", "10.0.0.0/8", "10.1.1.1", 0, VB, CGFW_R_BLOCK_RULE, 2},
    {B, "10.0.0.0/8", "10.0.0.0/8", "10.1.1.1", 0, VB, CGFW_R_BLOCK_RULE, 1},
    {A, "a.example,10.0.0.0/8,192.0.2.7", "192.0.2.7,10.0.0.0/8", "192.0.2.7", 0, VB,
        CGFW_R_BLOCK_RULE, 4},
    {A, "a.example,10.0.0.0/8,192.0.2.7", "192.0.2.7,10.0.0.0/8", "10.0.0.1", 0, VB,
        CGFW_R_BLOCK_RULE, 5},
    /* Same action twice: the first rule keeps the key. */
    {A, "192.0.2.7,192.0.2.7", NULL, "192.0.2.7", 0, VA, CGFW_R_ALLOW_RULE, 1},
    {B, "10.0.0.0/8,10.0.0.0/8", NULL, "10.0.0.1", 0, VB, CGFW_R_BLOCK_RULE, 1},
    /* Ids count name rules too: 1 + the index in the ruleset. */
    {A, "a.example,192.0.2.7,*.b.example,10.0.0.0/8", NULL, "192.0.2.7", 0, VA, CGFW_R_ALLOW_RULE,
        2},
    {A, "a.example,192.0.2.7,*.b.example,10.0.0.0/8", NULL, "10.0.0.1", 0, VA, CGFW_R_ALLOW_RULE,
        4},
    {A, "a.example", "b.example,192.0.2.7", "192.0.2.7", 0, VB, CGFW_R_BLOCK_RULE, 3},
    /* Loopback is allowed before any rule, in every mode. */
    {A, "192.0.2.7", NULL, "127.0.0.1", 80, VA, CGFW_R_LOOPBACK, 0},
    {A, "192.0.2.7", NULL, "127.255.255.254", 80, VA, CGFW_R_LOOPBACK, 0},
    {B, "127.0.0.1,127.0.0.0/8", NULL, "127.0.0.1", 0, VA, CGFW_R_LOOPBACK, 0},
    {B, "example.com", NULL, "127.0.0.53", 53, VA, CGFW_R_LOOPBACK, 0},
    {A, "192.0.2.7", NULL, "126.255.255.255", 80, VB, CGFW_R_NOT_ALLOWED, 0},
    {A, "192.0.2.7", NULL, "128.0.0.1", 80, VB, CGFW_R_NOT_ALLOWED, 0},
    {A, "192.0.2.7", NULL, "1.2.3.127", 80, VB, CGFW_R_NOT_ALLOWED, 0},
    /* Defaults per mode. */
    {A, NULL, NULL, "192.0.2.7", 80, VA, CGFW_R_LOG_ONLY, 0},
    {B, "198.51.100.0/24", NULL, "192.0.2.7", 80, VA, CGFW_R_NOT_BLOCKED, 0},
    {B, "198.51.100.0/24,example.com", NULL, "192.0.2.7", 80, VB, CGFW_R_NOT_RESOLVED, 0},
    {B, "198.51.100.0/24,example.com", NULL, "198.51.100.9", 80, VB, CGFW_R_BLOCK_RULE, 1},
    {A, "example.com", NULL, "192.0.2.7", 80, VB, CGFW_R_NOT_ALLOWED, 0},
    {A, "example.com", "other.example", "192.0.2.7", 80, VB, CGFW_R_NOT_ALLOWED, 0},
};

static void
test_lookup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(lookup_cases) / sizeof(lookup_cases[0]); i++) {
		const struct lookup_case *c = &lookup_cases[i];
		struct cgfw_ruleset rs;
		struct cgfw_policy pol;
		uint32_t rule_id = 0xdead;
		int verdict, reason = -1;

		build(&rs, &pol, c->first_action, c->first, c->second);
		verdict = policy_lookup4(&pol, ip4(c->ip), c->port, &reason, &rule_id);
		if (verdict != c->verdict || reason != c->reason || rule_id != c->rule_id)
			fail_msg("case %zu (%s: %s, then %s): %s port %u -> verdict %d reason %d "
			         "rule %u, expected %d %d %u",
			    i, c->first_action == A ? "allow" : "block", c->first ? c->first : "-",
			    c->second ? c->second : "-", c->ip, c->port, verdict, reason, rule_id,
			    c->verdict, c->reason, c->rule_id);
		policy_free(&pol);
		rules_free(&rs);
	}
}

/* The entries are what goes into the BPF maps: check their layout, not just lookups. */
static void
test_entries(void **state)
{
	struct cgfw_ruleset rs;
	struct cgfw_policy pol;

	(void)state;
	build(&rs, &pol, A, "192.0.2.7:443,name.example,198.51.100.0/24,192.0.2.7:443",
	    "192.0.2.7:443,192.0.2.9");
	assert_int_equal(pol.n_ip4, 2);
	assert_int_equal(pol.ip4[0].key.addr, ip4("192.0.2.7"));
	assert_int_equal(pol.ip4[0].key.port, 443);
	assert_int_equal(pol.ip4[0].key.pad, 0);
	assert_int_equal(pol.ip4[0].val.action, CGFW_ACT_BLOCK);
	assert_int_equal(pol.ip4[0].val.rule_id, 5);
	assert_int_equal(pol.ip4[0].val.expires_ns, 0);
	assert_int_equal(pol.ip4[1].key.addr, ip4("192.0.2.9"));
	assert_int_equal(pol.ip4[1].key.port, 0);
	assert_int_equal(pol.ip4[1].val.action, CGFW_ACT_BLOCK);
	assert_int_equal(pol.ip4[1].val.rule_id, 6);
	assert_int_equal(pol.n_cidr4, 1);
	assert_int_equal(pol.cidr4[0].key.prefixlen, 24);
	assert_int_equal(pol.cidr4[0].key.addr, ip4("198.51.100.0"));
	assert_int_equal(pol.cidr4[0].val.action, CGFW_ACT_ALLOW);
	assert_int_equal(pol.cidr4[0].val.rule_id, 3);
	assert_int_equal(pol.n_names, 1);
	policy_free(&pol);
	assert_null(pol.ip4);
	assert_null(pol.cidr4);
	assert_int_equal(pol.n_ip4, 0);
	rules_free(&rs);
}

/* A rule that carries its own id (rules from several lists) keeps it in the maps. */
static void
test_explicit_rule_id(void **state)
{
	struct cgfw_ruleset rs;
	struct cgfw_policy pol;
	uint32_t rule_id;
	int reason;

	(void)state;
	build(&rs, &pol, A, "192.0.2.7,10.0.0.0/8", NULL);
	policy_free(&pol);
	rs.v[0].id = 42;
	assert_int_equal(policy_compile(&rs, &pol), 0);
	assert_int_equal(
	    policy_lookup4(&pol, ip4("192.0.2.7"), 80, &reason, &rule_id), CGFW_V_ALLOW);
	assert_int_equal(rule_id, 42);
	assert_int_equal(
	    policy_lookup4(&pol, ip4("10.0.0.7"), 80, &reason, &rule_id), CGFW_V_ALLOW);
	assert_int_equal(rule_id, 2);
	policy_free(&pol);
	rules_free(&rs);
}

/* xorshift32: the same rules every run. */
static uint32_t
rnd(uint32_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	return *st;
}

static void
push(struct cgfw_ruleset *rs, int kind, int action, uint32_t addr_h, uint8_t plen, uint16_t port,
    uint32_t id)
{
	struct cgfw_rule r = {.kind = kind, .action = action, .plen = plen, .port = port, .id = id};

	r.addr = htonl(addr_h);
	assert_int_equal(rules_push(rs, &r), 0);
}

/*
 * Dedup against the rule as written: for every key, the entry is the first
 * block rule on it if there is one, else the first allow rule.  Many
 * collisions (a small address space), both actions, ports and prefixes.
 */
static void
test_dedup_reference(void **state)
{
	struct cgfw_ruleset rs = {0};
	struct cgfw_policy pol;
	uint32_t st = 12345;
	size_t n_keys_ip4 = 0, n_keys_cidr4 = 0;
	const size_t n = 4000;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = rnd(&st);
		int action = (x >> 8) % 3 == 0 ? CGFW_ACT_BLOCK : CGFW_ACT_ALLOW;
		/* Explicit ids, not in index order: the index decides ties, the id travels. */
		uint32_t id = (x >> 4) % 2 ? 0 : 100000 + (uint32_t)(n - i);

		if (x % 4 == 0) {
			uint8_t plen = (uint8_t)(8 + (x >> 12) % 3 * 8);

			push(&rs, RULE_CIDR4, action,
			    (0x0a000000 | ((x >> 16) % 64) << 8) & ~0u << (32 - plen), plen, 0, id);
		} else if (x % 4 == 1) {
			push(&rs, RULE_NAME, action, 0, 0, 0, id);
		} else {
			push(&rs, RULE_IP4, action, 0xc0000200 | (x >> 16) % 200, 32,
			    (uint16_t)((x >> 24) % 3 == 0 ? 443 : 0), id);
		}
	}
	assert_int_equal(policy_compile(&rs, &pol), 0);

	/* Sorted, unique keys. */
	for (size_t i = 1; i < pol.n_ip4; i++) {
		uint32_t a = ntohl(pol.ip4[i - 1].key.addr), b = ntohl(pol.ip4[i].key.addr);

		assert_true(a < b || (a == b && pol.ip4[i - 1].key.port < pol.ip4[i].key.port));
	}
	for (size_t i = 1; i < pol.n_cidr4; i++) {
		const struct cgfw_lpm4_key *a = &pol.cidr4[i - 1].key, *b = &pol.cidr4[i].key;

		assert_true(a->prefixlen < b->prefixlen ||
		            (a->prefixlen == b->prefixlen && ntohl(a->addr) < ntohl(b->addr)));
	}
	/* Every rule's key has exactly the entry the reference picks. */
	for (size_t i = 0; i < rs.n; i++) {
		const struct cgfw_rule *r = &rs.v[i];
		const struct cgfw_rule *want = NULL;
		size_t want_i = 0;
		const struct cgfw_policy_val *got = NULL;
		int first = 1;

		if (r->kind == RULE_NAME)
			continue;
		for (size_t j = 0; j < rs.n; j++) {
			const struct cgfw_rule *o = &rs.v[j];

			if (o->kind != r->kind || o->addr != r->addr || o->plen != r->plen ||
			    o->port != r->port)
				continue;
			if (j < i)
				first = 0;
			if (!want ||
			    (o->action == CGFW_ACT_BLOCK && want->action != CGFW_ACT_BLOCK)) {
				want = o;
				want_i = j;
			}
		}
		if (r->kind == RULE_IP4) {
			n_keys_ip4 += first;
			for (size_t k = 0; k < pol.n_ip4; k++)
				if (pol.ip4[k].key.addr == r->addr &&
				    pol.ip4[k].key.port == r->port)
					got = &pol.ip4[k].val;
		} else {
			n_keys_cidr4 += first;
			for (size_t k = 0; k < pol.n_cidr4; k++)
				if (pol.cidr4[k].key.addr == r->addr &&
				    pol.cidr4[k].key.prefixlen == r->plen)
					got = &pol.cidr4[k].val;
		}
		assert_non_null(got);
		assert_int_equal(got->action, want->action);
		assert_int_equal(got->rule_id, want->id ? want->id : (uint32_t)want_i + 1);
	}
	assert_int_equal(pol.n_ip4, n_keys_ip4);
	assert_int_equal(pol.n_cidr4, n_keys_cidr4);
	assert_true(pol.n_ip4 < 700 && pol.n_cidr4 < 250); /* many collisions indeed */
	assert_int_equal(pol.n_dup, rs.n - pol.n_names - pol.n_ip4 - pol.n_cidr4);
	policy_free(&pol);
	rules_free(&rs);
}

/* Ties on a key with explicit ids: block beats allow, then the first in the ruleset. */
static void
test_dedup_ties(void **state)
{
	struct cgfw_ruleset rs = {0};
	struct cgfw_policy pol;
	uint32_t rule_id;
	int reason;

	(void)state;
	push(&rs, RULE_IP4, A, 0xc0000207, 32, 0, 50);
	push(&rs, RULE_IP4, A, 0xc0000207, 32, 0, 10);
	push(&rs, RULE_CIDR4, A, 0x0a000000, 8, 0, 60);
	push(&rs, RULE_CIDR4, B, 0x0a000000, 8, 0, 70);
	push(&rs, RULE_CIDR4, B, 0x0a000000, 8, 0, 20);
	push(&rs, RULE_CIDR4, A, 0x0a000000, 8, 0, 5);
	assert_int_equal(policy_compile(&rs, &pol), 0);
	assert_int_equal(pol.n_ip4, 1);
	assert_int_equal(pol.n_cidr4, 1);
	assert_int_equal(pol.n_dup, 4);
	assert_int_equal(policy_lookup4(&pol, ip4("192.0.2.7"), 80, &reason, &rule_id), VA);
	assert_int_equal(rule_id, 50);
	assert_int_equal(policy_lookup4(&pol, ip4("10.1.2.3"), 80, &reason, &rule_id), VB);
	assert_int_equal(rule_id, 70);
	policy_free(&pol);
	rules_free(&rs);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A list of a million IPs, a quarter of them repeated: sort and merge, not a
 * search per rule (that took minutes).  The bound is loose for sanitizer
 * builds; bench/ has the real figure.
 */
static void
test_dedup_scale(void **state)
{
	struct cgfw_ruleset rs = {0};
	struct cgfw_policy pol;
	const uint32_t n = 1000000;
	uint32_t rule_id;
	double t0, dt;
	int reason;

	(void)state;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = i % 4 == 3 ? i / 2 : i;

		push(&rs, i % 2 ? RULE_IP4 : RULE_CIDR4, i % 1000 == 7 ? B : A,
		    0x0a000000 + (i % 2 ? a : a << 8), i % 2 ? 32 : 24, 0, 0);
	}
	/* The CIDRs must be network addresses: 10.x.y.0/24 wraps past 10/8, which is fine. */
	t0 = now_s();
	assert_int_equal(policy_compile(&rs, &pol), 0);
	dt = now_s() - t0;
	print_message("# policy_compile of %u rules: %.0f ms, %zu IP and %zu CIDR entries\n", n,
	    dt * 1e3, pol.n_ip4, pol.n_cidr4);
	assert_true(dt < 10.0);
	assert_int_equal(pol.n_ip4 + pol.n_cidr4 + pol.n_dup, n);
	assert_true(pol.n_dup > 0);
	assert_int_equal(policy_lookup4(&pol, ip4("10.0.0.1"), 80, &reason, &rule_id), VA);
	assert_int_equal(rule_id, 2);
	policy_free(&pol);
	rules_free(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_entries),
	    cmocka_unit_test(test_explicit_rule_id),
	    cmocka_unit_test(test_dedup_reference),
	    cmocka_unit_test(test_dedup_ties),
	    cmocka_unit_test(test_dedup_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
