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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_entries),
	    cmocka_unit_test(test_explicit_rule_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
