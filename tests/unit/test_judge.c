// SPDX-License-Identifier: MIT
/*
 * dnsproxy/judge.c: what the DNS proxy does with a question under each mode,
 * rule kind and --allow-dns-request, then with the CNAME chain of the
 * answer, on real name tables built from rule text as the loader builds
 * them; and one answer from the wire, as lib/dnsmsg.c hands it over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf/egress.h"
#include "dnsproxy/judge.h"
#include "lib/dnsmsg.h"
#include "lib/namepolicy.h"
#include "lib/rules.h"

#define ALLOW CGFW_MODE_ALLOW_LIST
#define BLOCK CGFW_MODE_BLOCK_LIST
#define LOG   CGFW_MODE_LOG_ONLY

/* A table from comma-separated allow and block lists (either may be NULL). */
static void
table_with(const char *allow, const char *block, struct np_table *t)
{
	struct np_builder *b = np_builder_new();
	const char *lists[2] = {allow, block};
	uint32_t id = 1;
	int fd = -1;

	assert_non_null(b);
	for (int l = 0; l < 2; l++) {
		char buf[512], *save = NULL;

		if (!lists[l])
			continue;
		snprintf(buf, sizeof(buf), "%s", lists[l]);
		for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int action = l == 0 ? CGFW_ACT_ALLOW : CGFW_ACT_BLOCK;
			struct cgfw_rule r;
			char err[CGFW_ERR_LEN];

			if (rules_parse_one(tok, action, l == 0 ? "--allow-list" : "--block-list",
			        &r, err, sizeof(err)) < 0)
				fail_msg("%s", err);
			assert_int_equal(np_builder_add(b, &r, id++), 0);
			rule_clear(&r);
		}
	}
	assert_int_equal(np_builder_finish(b, &fd), 0);
	assert_int_equal(np_table_open(fd, t), 0);
	assert_int_equal(close(fd), 0);
	np_builder_free(b);
}

static void
rule_is(const char *what, const struct np_match *m, const char *want)
{
	if (!want) {
		if (m->verdict != NP_NONE)
			fail_msg(
			    "%s: rule %.*s, want none", what, (int)m->rule_text_len, m->rule_text);
		return;
	}
	if (m->verdict == NP_NONE || m->rule_text_len != strlen(want) ||
	    memcmp(m->rule_text, want, m->rule_text_len) != 0)
		fail_msg("%s: rule %.*s, want %s", what,
		    m->verdict == NP_NONE ? 4 : (int)m->rule_text_len,
		    m->verdict == NP_NONE ? "none" : m->rule_text, want);
}

struct qcase {
	const char *what;
	const char *allow, *block;
	int mode, allow_dns_request;
	const char *qname;
	int blocked, refuse;
	const char *because, *rule;
};

static const struct qcase qcases[] = {
    {"allowed name", "example.com", NULL, ALLOW, 0, "www.example.com", 0, 0,
        "MatchedAllowListDomain", "example.com"},
    {"not in the allow list", "example.com", NULL, ALLOW, 0, "other.test", 1, 1, "NotInAllowList",
        NULL},
    {"not in the allow list, answered", "example.com", NULL, ALLOW, 1, "other.test", 1, 0,
        "AllowDNSRequest", NULL},
    {"block below an allow", "example.com", "ads.example.com", ALLOW, 0, "x.ads.example.com", 1, 1,
        "MatchedBlockListDomain", "ads.example.com"},
    {"URL rule host", "https://example.com/x", NULL, ALLOW, 0, "example.com", 0, 0,
        "MatchedAllowListURLHost", "https://example.com/x"},
    {"blocked name", NULL, "blocked.test", BLOCK, 0, "www.blocked.test", 1, 1,
        "MatchedBlockListDomain", "blocked.test"},
    {"blocked name, answered", NULL, "blocked.test", BLOCK, 1, "blocked.test", 1, 0,
        "AllowDNSRequest", "blocked.test"},
    {"not blocked", NULL, "blocked.test", BLOCK, 0, "notblocked.test", 0, 0, "NotInBlockList",
        NULL},
    {"not blocked, the flag changes nothing", NULL, "blocked.test", BLOCK, 1, "example.com", 0, 0,
        "NotInBlockList", NULL},
    {"URL block rule: the name is not blocked", NULL, "https://example.com/x", BLOCK, 1,
        "example.com", 0, 0, "NotInBlockList", NULL},
    {"log-only", NULL, NULL, LOG, 1, "anything.test", 0, 0, "LogOnly", NULL},
};

static void
test_query(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
		const struct qcase *c = &qcases[i];
		struct np_table t;
		struct dns_verdict v;

		table_with(c->allow, c->block, &t);
		memset(&v, 0xa5, sizeof(v));
		dns_judge_query(&t, c->mode, c->allow_dns_request, c->qname, &v);
		if (v.blocked != c->blocked || v.refuse != c->refuse)
			fail_msg("%s: blocked %d refuse %d, want %d %d", c->what, v.blocked,
			    v.refuse, c->blocked, c->refuse);
		if (strcmp(v.because, c->because) != 0)
			fail_msg("%s: because %s, want %s", c->what, v.because, c->because);
		rule_is(c->what, &v.m, c->rule);
		np_table_close(&t);
	}
}

/* chain[0] is the question; the names a CNAME chain in an answer would give. */
struct acase {
	const char *what;
	const char *allow, *block;
	int mode, allow_dns_request;
	const char *chain[5];
	int changed, blocked, refuse;
	const char *because, *rule;
	size_t link;
};

static const struct acase acases[] = {
    {"alias of a blocked name", "example.com", "blocked.test", ALLOW, 0,
        {"cname.example.com", "blocked.test"}, 1, 1, 1, "CNAMEBlocked", "blocked.test", 1},
    {"... answered with --allow-dns-request, still blocked", "example.com", "blocked.test", ALLOW,
        1, {"cname.example.com", "blocked.test"}, 1, 1, 0, "AllowDNSRequest", "blocked.test", 1},
    {"block-list mode", NULL, "blocked.test", BLOCK, 0, {"cname.example.com", "blocked.test"}, 1, 1,
        1, "CNAMEBlocked", "blocked.test", 1},
    {"a subdomain deep in the chain; the first blocked link decides", NULL, "blocked.test,ads.test",
        BLOCK, 0, {"www.example.com", "edge.cdn.test", "x.blocked.test", "ads.test", "a.cdn.test"},
        1, 1, 1, "CNAMEBlocked", "blocked.test", 2},
    {"label boundary", NULL, "blocked.test", BLOCK, 0,
        {"www.example.com", "notblocked.test", "blocked.test.cdn.net"}, 0, 0, 0, "NotInBlockList",
        NULL, 0},
    {"an alias no rule allows does not block (allow-list)", "example.com", NULL, ALLOW, 0,
        {"cname.example.com", "blocked.test"}, 0, 0, 0, "MatchedAllowListDomain", "example.com", 0},
    {"an allowed alias", "example.com,cdn.test", "blocked.test", ALLOW, 0,
        {"www.example.com", "x.cdn.test"}, 0, 0, 0, "MatchedAllowListDomain", "example.com", 0},
    {"an exact block matches only that name", NULL, "=blocked.test", BLOCK, 0,
        {"www.example.com", "www.blocked.test"}, 0, 0, 0, "NotInBlockList", NULL, 0},
    {"... and that name", NULL, "=blocked.test", BLOCK, 0,
        {"www.example.com", "www.other.test", "blocked.test"}, 1, 1, 1, "CNAMEBlocked",
        "=blocked.test", 2},
    {"a wildcard block spares the apex", NULL, "*.blocked.test", BLOCK, 0,
        {"www.example.com", "blocked.test"}, 0, 0, 0, "NotInBlockList", NULL, 0},
    {"... not its subdomains", NULL, "*.blocked.test", BLOCK, 0,
        {"www.example.com", "a.blocked.test"}, 1, 1, 1, "CNAMEBlocked", "*.blocked.test", 1},
    {"a longer allow below the block wins", "example.com,=ok.cdn.test", "cdn.test", ALLOW, 0,
        {"www.example.com", "ok.cdn.test"}, 0, 0, 0, "MatchedAllowListDomain", "example.com", 0},
    {"... elsewhere the block", "example.com,=ok.cdn.test", "cdn.test", ALLOW, 0,
        {"www.example.com", "bad.cdn.test"}, 1, 1, 1, "CNAMEBlocked", "cdn.test", 1},
    {"the question's own block is not replaced", "example.com", "blocked.test,evil.test", ALLOW, 1,
        {"blocked.test", "evil.test"}, 0, 1, 0, "AllowDNSRequest", "blocked.test", 0},
    {"no alias", "example.com", "blocked.test", ALLOW, 0, {"example.com"}, 0, 0, 0,
        "MatchedAllowListDomain", "example.com", 0},
    {"log-only: nothing blocks", NULL, NULL, LOG, 0, {"www.example.com", "blocked.test"}, 0, 0, 0,
        "LogOnly", NULL, 0},
};

static void
test_answer(void **state)
{
	struct dns_answer_info *ai = calloc(1, sizeof(*ai));

	(void)state;
	assert_non_null(ai);
	for (size_t i = 0; i < sizeof(acases) / sizeof(acases[0]); i++) {
		const struct acase *c = &acases[i];
		struct np_table t;
		struct dns_verdict v;
		int r;

		table_with(c->allow, c->block, &t);
		memset(ai, 0, sizeof(*ai));
		for (ai->n_chain = 0; ai->n_chain < 5 && c->chain[ai->n_chain]; ai->n_chain++)
			snprintf(ai->chain[ai->n_chain], sizeof(ai->chain[0]), "%s",
			    c->chain[ai->n_chain]);
		dns_judge_query(&t, c->mode, c->allow_dns_request, ai->chain[0], &v);
		r = dns_judge_answer(&t, c->allow_dns_request, ai, &v);
		if (r != c->changed || v.blocked != c->blocked || v.refuse != c->refuse ||
		    v.link != c->link)
			fail_msg("%s: changed %d blocked %d refuse %d link %zu, want %d %d %d %zu",
			    c->what, r, v.blocked, v.refuse, v.link, c->changed, c->blocked,
			    c->refuse, c->link);
		if (strcmp(v.because, c->because) != 0)
			fail_msg("%s: because %s, want %s", c->what, v.because, c->because);
		rule_is(c->what, &v.m, c->rule);
		np_table_close(&t);
	}
	free(ai);
}

/*
 * From the wire: cname.example.com CNAME BLOCKED.Test (mixed case, the
 * owner compressed), BLOCKED.Test A 198.51.100.9 (owner a pointer into the
 * CNAME's RDATA).
 */
static void
test_answer_wire(void **state)
{
	static const uint8_t query[] = {
	    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, /* header */
	    5, 'c', 'n', 'a', 'm', 'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	    0, 1, 0, 1, /* cname.example.com A IN */
	};
	static const uint8_t answer[] = {
	    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, /* header */
	    5, 'c', 'n', 'a', 'm', 'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	    0, 1, 0, 1,                               /* the question, at 12 */
	    0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 14, /* CNAME, 60 s */
	    7, 'B', 'L', 'O', 'C', 'K', 'E', 'D', 4, 'T', 'e', 's', 't', 0, /* at 47 */
	    0xc0, 47, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 9,       /* A */
	};
	struct dns_answer_info *ai = calloc(1, sizeof(*ai));
	struct dns_query q;
	struct np_table t;
	struct dns_verdict v;

	(void)state;
	assert_non_null(ai);
	assert_int_equal(dns_parse_query(query, sizeof(query), &q), 0);
	assert_int_equal(dns_parse_answer(answer, sizeof(answer), &q, ai), 0);
	assert_int_equal(ai->n_chain, 2);
	assert_string_equal(ai->chain[1], "blocked.test");
	assert_int_equal(ai->n_a, 1);

	table_with("example.com", "blocked.test", &t);
	dns_judge_query(&t, ALLOW, 0, q.qname, &v);
	assert_int_equal(v.blocked, 0);
	assert_int_equal(dns_judge_answer(&t, 0, ai, &v), 1);
	assert_true(v.refuse);
	assert_int_equal(v.link, 1);
	assert_string_equal(v.because, "CNAMEBlocked");
	rule_is("wire", &v.m, "blocked.test");
	np_table_close(&t);
	free(ai);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query),
	    cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_answer_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
