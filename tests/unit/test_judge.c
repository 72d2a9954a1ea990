// SPDX-License-Identifier: MIT
/*
 * dnsproxy/judge.c: what the DNS proxy does with a question under each mode,
 * rule kind and --allow-dns-request, on real name tables built from rule
 * text as the loader builds them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf/egress.h"
#include "dnsproxy/judge.h"
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
