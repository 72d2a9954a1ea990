// SPDX-License-Identifier: MIT
/*
 * The name-rule table (lib/namepolicy.c) and list files (lib/listfile.c):
 * the matching semantics of DESIGN.md §3 case by case, the sealed memfd and
 * its validator against corrupted copies, list-file parsing and its errors,
 * and one million names (the time is printed, not asserted).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf/egress.h"
#include "lib/listfile.h"
#include "lib/namepolicy.h"
#include "lib/par.h"
#include "lib/rules.h"

#define A CGFW_ACT_ALLOW
#define B CGFW_ACT_BLOCK

#define assert_has(hay, needle)                                                                    \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("\"%s\" not found in \"%s\"", (needle), (hay));                   \
	} while (0)

static char tmpdir[] = "/tmp/cgfw-np-XXXXXX";

struct rspec {
	int action; /* 0 ends the list */
	const char *text;
};

struct qspec {
	const char *qname; /* NULL ends the list */
	enum np_verdict verdict;
	enum np_kind kind;
	const char *rule; /* the rule text reported; NULL: none */
	int allow_url;
};

struct pcase {
	const char *what;
	struct rspec rules[6];
	struct qspec q[8];
};

static const struct pcase cases[] = {
    {"label boundary", {{A, "google.com"}},
        {{"google.com", NP_ALLOW, NP_K_SUFFIX, "google.com", 0},
            {"www.google.com", NP_ALLOW, NP_K_SUFFIX, "google.com", 0},
            {"a.b.c.google.com", NP_ALLOW, NP_K_SUFFIX, "google.com", 0},
            {"notgoogle.com", NP_NONE, 0, NULL, 0}, {"oogle.com", NP_NONE, 0, NULL, 0},
            {"google.com.evil.net", NP_NONE, 0, NULL, 0}, {"com", NP_NONE, 0, NULL, 0}}},
    {"wildcard excludes the apex", {{A, "*.example.com"}},
        {{"example.com", NP_NONE, 0, NULL, 0},
            {"a.example.com", NP_ALLOW, NP_K_WILDCARD, "*.example.com", 0},
            {"a.b.example.com", NP_ALLOW, NP_K_WILDCARD, "*.example.com", 0},
            {"aexample.com", NP_NONE, 0, NULL, 0}}},
    {"exact", {{A, "=example.com"}},
        {{"example.com", NP_ALLOW, NP_K_EXACT, "=example.com", 0},
            {"www.example.com", NP_NONE, 0, NULL, 0}, {"com", NP_NONE, 0, NULL, 0}}},
    {"longer block below an allow", {{A, "example.com"}, {B, "ads.example.com"}},
        {{"ads.example.com", NP_BLOCK, NP_K_SUFFIX, "ads.example.com", 0},
            {"x.ads.example.com", NP_BLOCK, NP_K_SUFFIX, "ads.example.com", 0},
            {"www.example.com", NP_ALLOW, NP_K_SUFFIX, "example.com", 0},
            {"example.com", NP_ALLOW, NP_K_SUFFIX, "example.com", 0},
            {"notads.example.com", NP_ALLOW, NP_K_SUFFIX, "example.com", 0}}},
    {"exact allow below a block", {{B, "example.com"}, {A, "=www.example.com"}},
        {{"www.example.com", NP_ALLOW, NP_K_EXACT, "=www.example.com", 0},
            {"a.www.example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0},
            {"example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0}}},
    {"tie: block wins (allow first)", {{A, "example.com"}, {B, "example.com"}},
        {{"example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0},
            {"www.example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0}}},
    {"tie: block wins (block first)", {{B, "=example.com"}, {A, "=example.com"}},
        {{"example.com", NP_BLOCK, NP_K_EXACT, "=example.com", 0}}},
    {"name and wildcard at one base tie", {{A, "example.com"}, {B, "*.example.com"}},
        {{"example.com", NP_ALLOW, NP_K_SUFFIX, "example.com", 0},
            {"a.example.com", NP_BLOCK, NP_K_WILDCARD, "*.example.com", 0}}},
    {"name and wildcard tie, the other way", {{B, "example.com"}, {A, "*.example.com"}},
        {{"example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0},
            {"a.example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0}}},
    {"exact beats suffix at one name", {{B, "example.com"}, {A, "=example.com"}},
        {{"example.com", NP_ALLOW, NP_K_EXACT, "=example.com", 0},
            {"www.example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0}}},
    {"exact block beats suffix allow at one name", {{A, "example.com"}, {B, "=example.com"}},
        {{"example.com", NP_BLOCK, NP_K_EXACT, "=example.com", 0},
            {"www.example.com", NP_ALLOW, NP_K_SUFFIX, "example.com", 0}}},
    {"longest name beats exact-ness",
        {{A, "=example.com"}, {B, "*.example.com"}, {A, "a.example.com"}},
        {{"example.com", NP_ALLOW, NP_K_EXACT, "=example.com", 0},
            {"b.example.com", NP_BLOCK, NP_K_WILDCARD, "*.example.com", 0},
            {"x.a.example.com", NP_ALLOW, NP_K_SUFFIX, "a.example.com", 0}}},
    {"case and trailing dot", {{A, "Example.COM."}},
        {{"example.com", NP_ALLOW, NP_K_SUFFIX, "Example.COM.", 0},
            {"WWW.Example.Com.", NP_ALLOW, NP_K_SUFFIX, "Example.COM.", 0},
            {"example.com.", NP_ALLOW, NP_K_SUFFIX, "Example.COM.", 0},
            {"example.com..", NP_NONE, 0, NULL, 0},
            {".example.com", NP_ALLOW, NP_K_SUFFIX, "Example.COM.", 0}, {".", NP_NONE, 0, NULL, 0},
            {"", NP_NONE, 0, NULL, 0}}},
    {"URL: exact host only", {{A, "https://example.com/path"}},
        {{"example.com", NP_ALLOW, NP_K_URL, "https://example.com/path", 1},
            {"EXAMPLE.com.", NP_ALLOW, NP_K_URL, "https://example.com/path", 1},
            {"www.example.com", NP_NONE, 0, NULL, 0}}},
    {"URL over a host block",
        {{B, "example.com"}, {A, "https://www.example.com/x"}, {B, "=a.example.com"},
            {A, "http://a.example.com/"}},
        {{"www.example.com", NP_ALLOW, NP_K_URL, "https://www.example.com/x", 1},
            {"a.example.com", NP_ALLOW, NP_K_URL, "http://a.example.com/", 1},
            {"b.www.example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0},
            {"example.com", NP_BLOCK, NP_K_SUFFIX, "example.com", 0}}},
    {"host allow beats URL allow", {{A, "https://example.com/x"}, {A, "example.com"}},
        {{"example.com", NP_ALLOW, NP_K_SUFFIX, "example.com", 1},
            {"www.example.com", NP_ALLOW, NP_K_SUFFIX, "example.com", 0}}},
    {"block URL never blocks the name",
        {{A, "example.com"}, {B, "https://example.com/ads"}, {B, "https://other.example/x"}},
        {{"example.com", NP_ALLOW, NP_K_SUFFIX, "example.com", 0},
            {"other.example", NP_NONE, 0, NULL, 0}}},
    {"service labels and digits", {{B, "_dmarc.example.com"}, {A, "1.2.3.4.example.com"}},
        {{"_dmarc.example.com", NP_BLOCK, NP_K_SUFFIX, "_dmarc.example.com", 0},
            {"x.1.2.3.4.example.com", NP_ALLOW, NP_K_SUFFIX, "1.2.3.4.example.com", 0},
            {"2.3.4.example.com", NP_NONE, 0, NULL, 0}}},
};

static enum np_kind
kind_of(enum cgfw_rule_kind k)
{
	switch (k) {
	case RULE_NAME:
		return NP_K_SUFFIX;
	case RULE_WILDCARD:
		return NP_K_WILDCARD;
	case RULE_EXACT_NAME:
		return NP_K_EXACT;
	default:
		return NP_K_URL;
	}
}

static struct np_builder *
builder_with(const struct rspec *rs)
{
	struct np_builder *b = np_builder_new();

	assert_non_null(b);
	for (size_t i = 0; rs[i].action; i++) {
		struct cgfw_rule r;
		char err[CGFW_ERR_LEN];

		if (rules_parse_one(rs[i].text, rs[i].action,
		        rs[i].action == A ? "--allow-list" : "--block-list", &r, err,
		        sizeof(err)) < 0)
			fail_msg("%s", err);
		assert_int_equal(np_builder_add(b, &r, (uint32_t)i + 1), 0);
		rule_clear(&r);
	}
	return b;
}

static void
table_from(struct np_builder *b, struct np_table *t)
{
	int fd = -1;

	assert_int_equal(np_builder_finish(b, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(np_table_open(fd, t), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_semantics(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		struct np_builder *b = builder_with(c->rules);
		struct np_table t;

		table_from(b, &t);
		np_builder_free(b);
		for (const struct qspec *q = c->q; q->qname; q++) {
			struct np_match m;
			int v = np_lookup(&t, q->qname, &m);

			if (v != (int)q->verdict || m.verdict != q->verdict)
				fail_msg("%s: \"%s\" is %d, expected %d", c->what, q->qname, v,
				    q->verdict);
			if (m.has_allow_url != q->allow_url)
				fail_msg("%s: \"%s\": has_allow_url %d", c->what, q->qname,
				    m.has_allow_url);
			if (q->verdict == NP_NONE)
				continue;
			if (m.kind != q->kind)
				fail_msg("%s: \"%s\": kind %d, expected %d", c->what, q->qname,
				    m.kind, q->kind);
			if (m.rule_text_len != strlen(q->rule) ||
			    memcmp(m.rule_text, q->rule, m.rule_text_len))
				fail_msg("%s: \"%s\": rule \"%.*s\", expected \"%s\"", c->what,
				    q->qname, (int)m.rule_text_len, m.rule_text, q->rule);
		}
		np_table_close(&t);
	}
}

static void
test_match_fields(void **state)
{
	struct np_builder *b = np_builder_new();
	struct cgfw_rule r;
	struct np_table t;
	struct np_match m;
	char err[CGFW_ERR_LEN];

	(void)state;
	assert_int_equal(
	    rules_parse_one("*.Example.COM:443", B, "/etc/cgfw.conf:7", &r, err, sizeof(err)), 0);
	assert_int_equal(np_builder_add(b, &r, 42), 0);
	rule_clear(&r);
	assert_int_equal(rules_parse_one("=a.b:22", A, "--allow-list", &r, err, sizeof(err)), 0);
	assert_int_equal(np_builder_add(b, &r, 43), 0);
	rule_clear(&r);
	assert_int_equal(np_builder_add_name(b, RULE_NAME, B, "ads.test", 8, "ADS.test", 8,
	                     "/lists/block.txt", 1234, 44),
	    0);
	assert_int_equal(np_builder_add(b,
	                     &(struct cgfw_rule){.kind = RULE_URL,
	                         .action = B,
	                         .name = "u.test",
	                         .text = "https://u.test/x",
	                         .origin = "cfg:x"},
	                     45),
	    0);
	table_from(b, &t);
	np_builder_free(b);

	assert_int_equal(np_lookup(&t, "www.example.com", &m), NP_BLOCK);
	assert_int_equal(m.rule_id, 42);
	assert_int_equal(m.kind, NP_K_WILDCARD);
	assert_int_equal(m.port, 443);
	assert_string_equal(m.origin, "/etc/cgfw.conf");
	assert_int_equal(m.origin_line, 7);
	assert_int_equal(m.rule_text_len, strlen("*.Example.COM:443"));
	assert_memory_equal(m.rule_text, "*.Example.COM:443", m.rule_text_len);

	assert_int_equal(np_lookup(&t, "a.b", &m), NP_ALLOW);
	assert_int_equal(m.rule_id, 43);
	assert_int_equal(m.port, 22);
	assert_string_equal(m.origin, "--allow-list");
	assert_int_equal(m.origin_line, 0);

	assert_int_equal(np_lookup(&t, "x.ads.test", &m), NP_BLOCK);
	assert_int_equal(m.rule_id, 44);
	assert_string_equal(m.origin, "/lists/block.txt");
	assert_int_equal(m.origin_line, 1234);
	assert_memory_equal(m.rule_text, "ADS.test", 8);

	/* A block URL rule only says so. */
	assert_int_equal(np_lookup(&t, "u.test", &m), NP_NONE);
	assert_int_equal(m.has_block_url, 1);
	assert_int_equal(m.has_allow_url, 0);
	assert_null(m.origin);

	assert_int_equal(np_lookup(&t, "u.test", NULL), NP_NONE);
	assert_int_equal(np_lookup(&t, NULL, &m), NP_NONE);
	assert_int_equal(np_lookup(NULL, "a.b", &m), NP_NONE);
	assert_int_equal(np_table_count(&t), 4);
	np_table_close(&t);
	assert_int_equal(np_lookup(&t, "a.b", &m), NP_NONE);
}

static void
test_counts(void **state)
{
	static const struct rspec rs[] = {{A, "a.test"}, {A, "a.test"}, {B, "a.test"},
	    {B, "=a.test"}, {A, "*.b.test"}, {0, NULL}};
	struct np_builder *b = builder_with(rs);
	struct np_table t;

	(void)state;
	assert_int_equal(np_builder_count(b), 5);
	assert_int_equal(np_builder_count_action(b, A), 3);
	assert_int_equal(np_builder_count_action(b, B), 2);
	assert_int_equal(np_builder_count_action(b, 7), 0);
	table_from(b, &t);
	assert_int_equal(np_table_count(&t), 5);
	np_table_close(&t);
	np_builder_free(b);
	np_builder_free(NULL);
	np_table_close(NULL);
	assert_int_equal(np_builder_count(NULL), 0);
}

static void
test_add_invalid(void **state)
{
	struct np_builder *b = np_builder_new();
	char name[300];
	struct cgfw_rule r;
	char err[CGFW_ERR_LEN];

	(void)state;
	assert_int_equal(rules_parse_one("192.0.2.7", A, "x", &r, err, sizeof(err)), 0);
	assert_int_equal(np_builder_add(b, &r, 1), -EINVAL);
	rule_clear(&r);
	assert_int_equal(rules_parse_one("10.0.0.0/8", A, "x", &r, err, sizeof(err)), 0);
	assert_int_equal(np_builder_add(b, &r, 1), -EINVAL);
	rule_clear(&r);
	assert_int_equal(rules_parse_one("https://192.0.2.7/x", A, "x", &r, err, sizeof(err)), 0);
	assert_int_equal(np_builder_add(b, &r, 1), -EINVAL);
	rule_clear(&r);
	assert_int_equal(np_builder_add(b, NULL, 1), -EINVAL);
	assert_int_equal(np_builder_add(NULL, NULL, 1), -EINVAL);

	memset(name, 'a', sizeof(name));
	assert_int_equal(np_builder_add_name(b, RULE_NAME, A, name, 0, "x", 1, "o", 1, 1), -EINVAL);
	assert_int_equal(
	    np_builder_add_name(b, RULE_NAME, A, name, 254, "x", 1, "o", 1, 1), -EINVAL);
	assert_int_equal(np_builder_add_name(b, RULE_NAME, A, name, 253, "x", 1, "o", 1, 1), 0);
	assert_int_equal(np_builder_add_name(b, RULE_NAME, 0, "a", 1, "x", 1, "o", 1, 1), -EINVAL);
	assert_int_equal(np_builder_add_name(b, RULE_NAME, 3, "a", 1, "x", 1, "o", 1, 1), -EINVAL);
	assert_int_equal(np_builder_add_name(b, RULE_IP4, A, "a", 1, "x", 1, "o", 1, 1), -EINVAL);
	assert_int_equal(np_builder_count(b), 1);
	np_builder_free(b);
}

/* Names of 253 bytes, and queries longer than any rule. */
/*
 * A name that is held inline until a second rule for it arrives: both rules
 * keep their id, origin, line and text as written when they move out of the
 * entry, and the table says the same as one built the other way round.
 */
static void
test_inline_then_more(void **state)
{
	struct np_builder *b = np_builder_new();
	struct np_table t;
	struct np_match m;

	(void)state;
	assert_int_equal(np_builder_add_name(b, RULE_WILDCARD, B, "ads.test", 8, "*.ads.test", 10,
	                     "/lists/one", 5, 11),
	    0);
	assert_int_equal(np_builder_add_name(b, RULE_EXACT_NAME, A, "ads.test", 8, "=ads.test", 9,
	                     "/lists/two", 7, 12),
	    0);
	assert_int_equal(np_builder_add_name(
	                     b, RULE_NAME, A, "only.test", 9, "only.test", 9, "/lists/two", 9, 13),
	    0);
	table_from(b, &t);
	np_builder_free(b);

	assert_int_equal(np_lookup(&t, "x.ads.test", &m), NP_BLOCK);
	assert_int_equal(m.kind, NP_K_WILDCARD);
	assert_int_equal(m.rule_id, 11);
	assert_string_equal(m.origin, "/lists/one");
	assert_int_equal(m.origin_line, 5);
	assert_int_equal(m.rule_text_len, 10);
	assert_memory_equal(m.rule_text, "*.ads.test", 10);

	assert_int_equal(np_lookup(&t, "ADS.test.", &m), NP_ALLOW);
	assert_int_equal(m.kind, NP_K_EXACT);
	assert_int_equal(m.rule_id, 12);
	assert_string_equal(m.origin, "/lists/two");
	assert_int_equal(m.origin_line, 7);
	assert_int_equal(m.rule_text_len, 9);
	assert_memory_equal(m.rule_text, "=ads.test", 9);

	assert_int_equal(np_lookup(&t, "a.only.test", &m), NP_ALLOW);
	assert_int_equal(m.kind, NP_K_SUFFIX);
	assert_int_equal(m.rule_id, 13);
	assert_int_equal(m.origin_line, 9);
	assert_memory_equal(m.rule_text, "only.test", 9);
	assert_int_equal(np_lookup(&t, "test", &m), NP_NONE);
	np_table_close(&t);
}

static void
test_long_names(void **state)
{
	char name[254], q[600];
	struct np_builder *b = np_builder_new();
	struct np_table t;
	struct np_match m;
	size_t n = 0;

	(void)state;
	/* 3 labels of 63, one of 61: 3 * 64 + 61 = 253 */
	for (int l = 0; l < 4; l++) {
		size_t k = l < 3 ? 63 : 61;

		memset(name + n, 'a' + l, k);
		n += k;
		if (l < 3)
			name[n++] = '.';
	}
	name[n] = '\0';
	assert_int_equal(n, 253);
	assert_int_equal(
	    np_builder_add_name(b, RULE_EXACT_NAME, A, name, n, name, n, "o", 0, 1), 0);
	assert_int_equal(
	    np_builder_add_name(b, RULE_NAME, B, "x.test", 6, "x.test", 6, "o", 0, 2), 0);
	table_from(b, &t);
	np_builder_free(b);

	assert_int_equal(np_lookup(&t, name, &m), NP_ALLOW);
	snprintf(q, sizeof(q), "z.%s", name);
	assert_int_equal(np_lookup(&t, q, &m), NP_NONE);

	/* 520 bytes of labels, then x.test: the tail still matches. */
	memset(q, 0, sizeof(q));
	for (size_t i = 0; i < 520; i += 2)
		memcpy(q + i, "a.", 2);
	strcat(q, "x.test");
	assert_int_equal(np_lookup(&t, q, &m), NP_BLOCK);
	assert_int_equal(m.rule_id, 2);
	/* A 300-byte label in front: no boundary inside the tail but the real ones. */
	memset(q, 'b', 300);
	strcpy(q + 300, ".x.test");
	assert_int_equal(np_lookup(&t, q, &m), NP_BLOCK);
	memset(q, 'b', 300);
	strcpy(q + 300, "x.test");
	assert_int_equal(np_lookup(&t, q, &m), NP_NONE);
	np_table_close(&t);
}

/* Enough names to regrow the buckets several times: every one is found. */
static void
test_many_names(void **state)
{
	struct np_builder *b = np_builder_new();
	struct np_table t;
	struct np_match m;
	char name[64], q[80];

	(void)state;
	for (uint32_t i = 0; i < 50000; i++) {
		int n = snprintf(name, sizeof(name), "n%u.d%u.test", i, i % 97);

		assert_int_equal(np_builder_add_name(b, RULE_NAME, i % 3 ? A : B, name, (size_t)n,
		                     name, (size_t)n, "list", i + 1, i + 1),
		    0);
	}
	table_from(b, &t);
	np_builder_free(b);
	for (uint32_t i = 0; i < 50000; i++) {
		snprintf(q, sizeof(q), "w.n%u.d%u.test", i, i % 97);
		if (np_lookup(&t, q, &m) != (i % 3 ? NP_ALLOW : NP_BLOCK) || m.rule_id != i + 1 ||
		    m.origin_line != i + 1)
			fail_msg("%s: %d id %u", q, m.verdict, m.rule_id);
	}
	assert_int_equal(np_lookup(&t, "n50000.d0.test", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "d1.test", &m), NP_NONE);
	np_table_close(&t);
}

/*
 * The hash folds label by label, 8 bytes a step: names that share their
 * bytes but not their label boundaries, or whose labels end on a step's
 * edge, are all told apart, whatever the case and trailing dot of the query.
 */
static void
test_label_steps(void **state)
{
	static const char *const names[] = {"abcdefghi.x", "i.abcdefgh.x", "abcdefgh.ix",
	    "abcdefgh.x", "abcdefghabcdefgh.x", "abcdefgh.abcdefgh.x", "a.b.c.d", "ab.c.d",
	    "a.bc.d", "abc.d", "x", "xx", "xxx", "xxxx", "xxxxx", "xxxxxxx", "xxxxxxxx",
	    "xxxxxxxxx", "x-y_z.0-9.test"};
	size_t n = sizeof(names) / sizeof(names[0]);
	struct np_builder *b = np_builder_new();
	struct np_table t;
	struct np_match m;
	char q[80];

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
		    np_builder_add_name(b, RULE_EXACT_NAME, i % 2 ? A : B, names[i],
		        strlen(names[i]), names[i], strlen(names[i]), "o", 0, (uint32_t)i + 1),
		    0);
	table_from(b, &t);
	np_builder_free(b);
	for (size_t i = 0; i < n; i++) {
		size_t k;

		assert_int_equal(np_lookup(&t, names[i], &m), i % 2 ? NP_ALLOW : NP_BLOCK);
		assert_int_equal(m.rule_id, i + 1);
		/* Upper case and a trailing dot: the same name. */
		for (k = 0; names[i][k]; k++)
			q[k] = (char)(names[i][k] >= 'a' && names[i][k] <= 'z' ? names[i][k] - 32
			                                                       : names[i][k]);
		q[k++] = '.';
		q[k] = '\0';
		assert_int_equal(np_lookup(&t, q, &m), i % 2 ? NP_ALLOW : NP_BLOCK);
		assert_int_equal(m.rule_id, i + 1);
		/* Exact rules: nothing below them matches. */
		snprintf(q, sizeof(q), "w.%s", names[i]);
		assert_int_equal(np_lookup(&t, q, &m), NP_NONE);
	}
	assert_int_equal(np_lookup(&t, "abcdefghix", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "abcdefgh..x", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, ".x", &m), NP_NONE);
	np_table_close(&t);
}

/* An 8-aligned copy of a sealed table, for the validator. */
static uint8_t *
table_copy(size_t *ret_len)
{
	static const struct rspec rs[] = {{A, "example.com"}, {B, "*.ads.example.com"},
	    {A, "https://example.org/x"}, {B, "=www.example.net"}, {0, NULL}};
	struct np_builder *b = builder_with(rs);
	struct stat st;
	uint8_t *buf;
	int fd = -1;

	assert_int_equal(np_builder_finish(b, &fd), 0);
	np_builder_free(b);
	assert_int_equal(fstat(fd, &st), 0);
	buf = aligned_alloc(8, ((size_t)st.st_size + 7) & ~(size_t)7);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*ret_len = (size_t)st.st_size;
	return buf;
}

#define HDR(buf)     ((struct np_hdr *)(buf))
#define ENT(buf, i)  ((struct np_entry *)((buf) + HDR(buf)->off_entries) + (i))
#define RULE(buf, i) ((struct np_rule *)((buf) + HDR(buf)->off_rules) + (i))
#define BKT(buf, i)  ((uint32_t *)((buf) + HDR(buf)->off_buckets) + (i))
#define ORIG(buf, i) ((uint32_t *)((buf) + HDR(buf)->off_origins) + (i))
#define EXT(buf, i)  ((struct np_ext *)((buf) + HDR(buf)->off_ext) + (i))

/*
 * The entry of table_copy()'s name with this inline kind, or (kind 0) the
 * one entry with an ext: which index each has depends on the hash seed.
 */
static struct np_entry *
entry_of(uint8_t *b, int kind)
{
	for (uint32_t i = 0; i < HDR(b)->n_entries; i++) {
		struct np_entry *e = ENT(b, i);

		if (kind ? (e->flags & NP_E_INLINE) && (unsigned)((e->flags & NP_E_KIND_MASK) >>
		                                                  NP_E_KIND_SHIFT) == (unsigned)kind
		         : !(e->flags & NP_E_INLINE))
			return e;
	}
	fail_msg("no entry of kind %d", kind);
	return NULL;
}

/* Each case breaks one rule of the layout in a copy; *len may shrink. */
static const char *
corrupt(int which, uint8_t *b, size_t *len)
{
	struct np_hdr *h = HDR(b);

	switch (which) {
	case 0:
		h->magic ^= 1;
		return "magic";
	case 1:
		h->version = 1;
		return "version";
	case 2:
		h->total_len += 8;
		return "total_len";
	case 3:
		*len -= 8;
		return "truncated by 8";
	case 4:
		*len -= 1;
		return "truncated by 1";
	case 5:
		*len = sizeof(struct np_hdr) - 1;
		return "truncated header";
	case 6:
		*len -= 8;
		h->total_len = (uint32_t)*len;
		return "short, total_len agreeing";
	case 7:
		h->n_buckets = 0;
		return "no buckets";
	case 8:
		h->n_buckets -= 1;
		return "buckets not a power of two";
	case 9:
		h->n_buckets *= 2;
		return "buckets past the end";
	case 10:
		h->n_entries += 1000;
		return "entries past the end";
	case 11:
		h->n_rules = 0x10000000;
		return "rules past the end";
	case 12:
		h->n_origins = 0xffffffff;
		return "origins past the end";
	case 13:
		h->pool_len += 9;
		return "pool past the end";
	case 14:
		h->off_entries += 4;
		return "unaligned section";
	case 15:
		h->off_rules = 0xfffffff8;
		return "section offset wraps";
	case 16:
		h->off_buckets = 0;
		return "section over the header";
	case 17:
		h->off_pool = (uint32_t)*len;
		return "pool starts at the end";
	case 18:
		*BKT(b, 0) = 1;
		return "first bucket not at 0";
	case 19:
		*BKT(b, h->n_buckets) += 1;
		return "last bucket not at the end";
	case 20:
		*BKT(b, 1) = *BKT(b, 2) + 1;
		return "buckets decrease";
	case 21:
		*BKT(b, h->n_buckets - 1) = h->n_entries + 1;
		return "bucket past the entries";
	case 22:
		ENT(b, 1)->name_off = h->pool_len - 3;
		return "name past the pool";
	case 23:
		ENT(b, 1)->name_len = 0;
		return "empty name";
	case 24:
		ENT(b, 1)->name_len = 254;
		return "name of 254 bytes";
	case 25:
		entry_of(b, NP_K_SUFFIX)->flags |= 0x80;
		return "unknown flag";
	case 26:
		EXT(b, 0)->self = h->n_rules + 1;
		return "self past the rules";
	case 27:
		EXT(b, 0)->anc = h->n_rules + 1;
		return "anc past the rules";
	case 28:
		EXT(b, 0)->url = h->n_rules + 1;
		return "url past the rules";
	case 29:
		RULE(b, 0)->text_off = h->pool_len;
		RULE(b, 0)->text_len = 1;
		return "rule text past the pool";
	case 30:
		RULE(b, 0)->text_len = 0xffff;
		return "rule text too long";
	case 31:
		RULE(b, 0)->origin = h->n_origins;
		return "origin index past the origins";
	case 32:
		RULE(b, 0)->kind = 0;
		return "rule kind 0";
	case 33:
		RULE(b, 0)->kind = 5;
		return "rule kind 5";
	case 34:
		RULE(b, 0)->action = 3;
		return "rule action 3";
	case 35:
		*ORIG(b, 0) = h->pool_len;
		return "origin past the pool";
	case 36:
		*ORIG(b, 0) = h->pool_len - 1;
		b[h->off_pool + h->pool_len - 1] = 'x';
		return "origin without a NUL";
	case 37:
		h->n_ext = 1000;
		return "ext past the end";
	case 38:
		entry_of(b, NP_K_SUFFIX)->flags &= (uint8_t)~NP_E_KIND_MASK;
		return "inline kind 0";
	case 39:
		entry_of(b, NP_K_EXACT)->origin = (uint16_t)h->n_origins;
		return "inline origin past the origins";
	case 40:
		entry_of(b, 0)->a = h->n_ext;
		return "ext index past the ext";
	case 41:
		entry_of(b, 0)->line = 1;
		return "an ext entry with a line";
	case 42:
		entry_of(b, 0)->flags |= NP_E_BLOCK;
		return "an ext entry with an inline flag";
	case 43:
		entry_of(b, NP_K_SUFFIX)->flags |= NP_E_PFX;
		return "a suffix with a prefix";
	case 44:
		entry_of(b, NP_K_WILDCARD)->name_off = 1;
		return "a prefix before the pool";
	default:
		return NULL;
	}
}

static void
test_validate(void **state)
{
	size_t len;
	uint8_t *orig = table_copy(&len), *buf = aligned_alloc(8, len + 8);

	(void)state;
	assert_non_null(buf);
	assert_true(HDR(orig)->n_entries >= 3);
	assert_int_equal(np_table_validate(orig, len), 0);
	memcpy(buf + 1, orig, len);
	assert_int_equal(np_table_validate(buf + 1, len), -EBADMSG);
	assert_int_equal(np_table_validate(NULL, len), -EBADMSG);
	for (int i = 0;; i++) {
		const char *what;
		size_t l = len;
		int r;

		memcpy(buf, orig, len);
		what = corrupt(i, buf, &l);
		if (!what)
			break;
		r = np_table_validate(buf, l);
		if (r != -EBADMSG)
			fail_msg("%s: %d, expected -EBADMSG", what, r);
	}
	free(buf);
	free(orig);
}

static int
memfd_with(const uint8_t *buf, size_t len, unsigned int seals)
{
	int fd = memfd_create("test", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static void
test_seals(void **state)
{
	static const struct rspec rs[] = {{A, "example.com"}, {0, NULL}};
	const unsigned int all = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	struct np_builder *b = builder_with(rs);
	struct np_table t;
	size_t len;
	uint8_t *buf;
	char path[] = "/tmp/cgfw-np-file-XXXXXX";
	int fd = -1, seals;

	(void)state;
	assert_int_equal(np_builder_finish(b, &fd), 0);
	np_builder_free(b);
	seals = fcntl(fd, F_GET_SEALS);
	assert_int_equal(seals & all, all);
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	buf = table_copy(&len);
	/* The same bytes, sealed, are fine; any seal missing is not. */
	fd = memfd_with(buf, len, all);
	assert_int_equal(np_table_open(fd, &t), 0);
	assert_int_equal(np_lookup(&t, "www.example.com", NULL), NP_ALLOW);
	np_table_close(&t);
	close(fd);
	fd = memfd_with(buf, len, 0);
	assert_int_equal(np_table_open(fd, &t), -EPERM);
	close(fd);
	fd = memfd_with(buf, len, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(np_table_open(fd, &t), -EPERM);
	close(fd);
	fd = memfd_with(buf, len, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(np_table_open(fd, &t), -EPERM);
	close(fd);
	/* Sealed garbage. */
	buf[0] ^= 0xff;
	fd = memfd_with(buf, len, all);
	assert_int_equal(np_table_open(fd, &t), -EBADMSG);
	close(fd);
	fd = memfd_with(buf, 10, all);
	assert_int_equal(np_table_open(fd, &t), -EBADMSG);
	close(fd);
	/* Not a memfd at all. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(np_table_open(fd, &t), -EPERM);
	close(fd);
	assert_int_equal(np_table_open(-1, &t), -EBADF);
	free(buf);
}

/* An empty builder makes a valid, empty table. */
static void
test_empty(void **state)
{
	struct np_builder *b = np_builder_new();
	struct np_table t;
	struct np_match m;

	(void)state;
	table_from(b, &t);
	np_builder_free(b);
	assert_int_equal(np_table_count(&t), 0);
	assert_int_equal(np_lookup(&t, "example.com", &m), NP_NONE);
	np_table_close(&t);
}

static char *
write_file(const char *name, const char *content, size_t len)
{
	char *path;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char hosts_list[] = "\xef\xbb\xbf# a blocklist, hosts-file style\n"
                                 "127.0.0.1 localhost\n"
                                 "127.0.0.1\tlocalhost.localdomain local\n"
                                 "255.255.255.255 broadcasthost\n"
                                 "::1 localhost ip6-localhost ip6-loopback\n"
                                 "0.0.0.0 0.0.0.0\n"
                                 "\n"
                                 "   # indented comment\n"
                                 "0.0.0.0 Ads.Example.com tracker.example.net # two names\n"
                                 "0.0.0.0 ads.example.com\r\n"
                                 ":: v6.example.org.\n"
                                 "plain.example\n"
                                 "*.wild.example\n"
                                 "=exact.example\n"
                                 "192.0.2.7\n"
                                 "198.51.100.0/24   # a network\n"
                                 "https://url.example/path\n"
                                 "ssh.example:22\n"
                                 "last.example";

static void
test_listfile_hosts(void **state)
{
	/* broadcasthost's line has an address we do not take: a file of its own. */
	char *path = write_file("hosts.txt", hosts_list, sizeof(hosts_list) - 1), *p2;
	struct cgfw_ruleset rs = {0};
	struct np_builder *b = np_builder_new();
	struct np_table t;
	struct np_match m;
	char err[CGFW_ERR_LEN + 4096] = "";
	uint32_t next_id = 100;
	int r;

	(void)state;
	r = listfile_load(path, B, b, &rs, &next_id, err, sizeof(err));
	assert_int_equal(r, -EINVAL);
	assert_has(err, ":4: invalid rule \"255.255.255.255 broadcasthost\"");
	assert_has(err, "0.0.0.0, 127.0.0.1, :: or ::1");
	assert_int_equal(next_id, 100);
	assert_int_equal(rs.n, 0);
	np_builder_free(b);

	{
		char *fixed = strdup(hosts_list), *bh = strstr(fixed, "255.255.255.255");

		memcpy(bh, "0.0.0.0        ", 15);
		p2 = write_file("hosts2.txt", fixed, strlen(fixed));
		free(fixed);
	}
	b = np_builder_new();
	r = listfile_load(p2, B, b, &rs, &next_id, err, sizeof(err));
	if (r < 0)
		fail_msg("%s", err);
	/* ads, tracker, ads (again), v6, plain, wild, exact, 2 IPs, url, ssh, last */
	assert_int_equal(next_id, 112);
	assert_int_equal(np_builder_count(b), 10);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.v[0].kind, RULE_IP4);
	assert_int_equal(rs.v[0].id, 107);
	assert_int_equal(rs.v[1].kind, RULE_CIDR4);
	assert_int_equal(rs.v[1].id, 108);
	assert_int_equal(rs.v[2].kind, RULE_URL);
	assert_int_equal(rs.v[2].id, 109);
	assert_string_equal(rs.v[2].path, "/path");
	{
		char want[4200];

		snprintf(want, sizeof(want), "%s:16", p2);
		assert_string_equal(rs.v[1].origin, want);
	}
	table_from(b, &t);
	np_builder_free(b);

	assert_int_equal(np_lookup(&t, "x.ads.example.com", &m), NP_BLOCK);
	assert_int_equal(m.rule_id, 100);
	assert_string_equal(m.origin, p2);
	assert_int_equal(m.origin_line, 9);
	assert_memory_equal(m.rule_text, "Ads.Example.com", m.rule_text_len);
	assert_int_equal(np_lookup(&t, "tracker.example.net", &m), NP_BLOCK);
	assert_int_equal(m.rule_id, 101);
	assert_int_equal(np_lookup(&t, "v6.example.org", &m), NP_BLOCK);
	assert_int_equal(m.origin_line, 11);
	assert_int_equal(np_lookup(&t, "plain.example", &m), NP_BLOCK);
	assert_int_equal(m.origin_line, 12);
	assert_int_equal(np_lookup(&t, "wild.example", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "a.wild.example", &m), NP_BLOCK);
	assert_int_equal(m.kind, NP_K_WILDCARD);
	assert_int_equal(np_lookup(&t, "exact.example", &m), NP_BLOCK);
	assert_int_equal(np_lookup(&t, "a.exact.example", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "url.example", &m), NP_NONE);
	assert_int_equal(m.has_block_url, 1);
	assert_int_equal(np_lookup(&t, "ssh.example", &m), NP_BLOCK);
	assert_int_equal(m.port, 22);
	assert_int_equal(m.origin_line, 18);
	assert_string_equal(m.origin, p2);
	assert_int_equal(np_lookup(&t, "last.example", &m), NP_BLOCK);
	assert_int_equal(m.rule_id, 111);
	assert_int_equal(m.origin_line, 19);
	assert_int_equal(np_lookup(&t, "localhost", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "ip6-loopback", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "broadcasthost", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "0.0.0.0", &m), NP_NONE);
	np_table_close(&t);
	rules_free(&rs);
	unlink(path);
	unlink(p2);
	free(path);
	free(p2);
}

struct bad_line {
	const char *content;
	const char *where; /* ":LINE: invalid rule \"...\"" */
	const char *why;
};

static const struct bad_line bad_lines[] = {
    {"ok.example\nbad..name\n", ":2: invalid rule \"bad..name\"", "empty label"},
    {"-x.example\n", ":1: invalid rule \"-x.example\"", "label starts with '-'"},
    {"# c\n\nx-.example\n", ":3: invalid rule \"x-.example\"", "label ends with '-'"},
    {"a*.example\n", ":1: invalid rule \"a*.example\"", "'*' is only allowed"},
    {"ex!ample.com\n", ":1: invalid rule \"ex!ample.com\"", "invalid character in name"},
    {"0.0.0.0 good.example bad_name-\n", ":1: invalid rule \"bad_name-\"", "ends with '-'"},
    {"1.2.3.4 example.com\n", ":1: invalid rule \"1.2.3.4 example.com\"", "hosts-file lines"},
    {"::2 example.com\n", ":1: invalid rule \"::2 example.com\"", "hosts-file lines"},
    {"foo bar\n", ":1: invalid rule \"foo bar\"", "one rule per line"},
    {"10.0.0.0/33\n", ":1: invalid rule \"10.0.0.0/33\"", "invalid prefix length (0-32)"},
    {"192.0.2.7\n1.2.3\n", ":2: invalid rule \"1.2.3\"", "not a valid IPv4 address"},
    {"example.com:0\n", ":1: invalid rule \"example.com:0\"", "invalid port"},
    {"ftp://x.example/\n", ":1: invalid rule \"ftp://x.example/\"", "scheme"},
    {"2001:db8::1\n", ":1: invalid rule \"2001:db8::1\"", "IPv6"},
    {"0.0.0.0 1.2.3.4\n", ":1: invalid rule \"1.2.3.4\"", "address where"},
    {"*.\n", ":1: invalid rule \"*.\"", "empty name"},
    {"a\0b.example\n", ":1: control character \\x00 in \"a\\x00b.example\"", "text only"},
    {"a.example\n"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n",
        ":2: invalid rule", "label longer than 63 bytes"},
};

static void
test_listfile_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		const struct bad_line *c = &bad_lines[i];
		size_t len = strlen(c->content);
		struct cgfw_ruleset rs = {0};
		struct np_builder *b = np_builder_new();
		char err[CGFW_ERR_LEN + 4096] = "", want[4200], *path;
		uint32_t next_id = 7;
		int r;

		if (i == sizeof(bad_lines) / sizeof(bad_lines[0]) - 2)
			len = 12; /* the one with a NUL */
		path = write_file("bad.txt", c->content, len);
		r = listfile_load(path, A, b, &rs, &next_id, err, sizeof(err));
		if (r != -EINVAL)
			fail_msg("case %zu: %d (%s)", i, r, err);
		snprintf(want, sizeof(want), "%s%s", path, c->where);
		if (strncmp(err, want, strlen(want)))
			fail_msg("case %zu: \"%s\" does not start with \"%s\"", i, err, want);
		assert_has(err, c->why);
		assert_int_equal(next_id, 7);
		assert_int_equal(rs.n, 0);
		np_builder_free(b);
		rules_free(&rs);
		unlink(path);
		free(path);
	}
}

struct text_case {
	const char *content;
	size_t len;
	uint32_t line; /* 0: accepted */
	const char *quoted;
};

#define TC(s) s, sizeof(s) - 1

static const struct text_case text_cases[] = {
    /* Once a NUL cut the line and the rest of it was never seen. */
    {TC("198.51.100.8\0,198.51.100.7\n"), 1, "\"198.51.100.8\\x00,198.51.100.7\""},
    {TC("a.example\nb.example\n# c\0mment\nc.example\n"), 3, "\"# c\\x00mment\""},
    {TC("a.example\n\x1b[2Jb.example\n"), 2, "\"\\x1b[2Jb.example\""},
    {TC("a.example\vb.example\n"), 1, "\\x0b"},
    {TC("a.example\fb.example\n"), 1, "\\x0c"},
    {TC("a.example\rb.example\n"), 1, "\"a.example\\x0db.example\""},
    {TC("a.example\r\r\n"), 1, "\\x0d\\x0d"},
    {TC("a.example\n\x7f\n"), 2, "\"\\x7f\""},
    {TC("ok.example\n\n\n\x01"), 4, "\"\\x01\""},
    /* Text: tabs, CRLF line ends (and a last line's CR), bytes past ASCII in comments. */
    {TC("a.example\t# tab\r\nb.example\r\n"), 0, NULL},
    {TC("a.example\r"), 0, NULL},
    {TC("# caf\xc3\xa9\n\xef\xbb\xbfx.example\n"), 0, NULL},
    {TC(""), 0, NULL},
};

/* listfile_check_text(): what list files and the config file may hold. */
static void
test_text_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct text_case *c = &text_cases[i];
		char err[CGFW_ERR_LEN + 64] = "", want[64];
		int r;

		r = listfile_check_text("F", c->content, c->len, err, sizeof(err));
		if (!c->line) {
			if (r != 0)
				fail_msg("case %zu: %d (%s)", i, r, err);
			continue;
		}
		if (r != -EINVAL)
			fail_msg("case %zu: %d, expected -EINVAL", i, r);
		snprintf(want, sizeof(want), "F:%u: control character \\x", c->line);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: \"%s\" does not start with \"%s\"", i, err, want);
		assert_has(err, c->quoted);
	}
}

/* The line of a control byte deep in a big text: its line feeds are counted in blocks. */
static void
test_text_check_far(void **state)
{
	static const unsigned lines[] = {1, 2, 255, 256, 257, 1000, 4097, 70000};
	size_t cap = 80000 * 17 + 64;
	char *s = malloc(cap), err[CGFW_ERR_LEN + 64], want[64];

	(void)state;
	assert_non_null(s);
	for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		for (size_t col = 0; col < 3; col++) {
			size_t n = 0;

			/* Lines of 16 bytes and of 1, so blocks and lines fall out of step. */
			for (unsigned l = 1; l < lines[k]; l++) {
				if (l % 3) {
					memcpy(s + n, "ab.example.test\n", 16);
					n += 16;
				} else {
					s[n++] = '\n';
				}
			}
			memcpy(s + n, "xy.example", 10);
			s[n + col * 4] = '\x01';
			n += 10;
			memcpy(s + n, "\nlast.example\n", 14);
			n += 14;
			assert_int_equal(listfile_check_text("F", s, n, err, sizeof(err)), -EINVAL);
			snprintf(want, sizeof(want), "F:%u: control character \\x01", lines[k]);
			if (strncmp(err, want, strlen(want)) != 0)
				fail_msg("line %u col %zu: \"%s\"", lines[k], col * 4, err);
		}
	}
	free(s);
}

/* A control byte fails the whole file, wherever it is, and the rules before it are undone. */
static void
test_listfile_control(void **state)
{
	static const char content[] =
	    "192.0.2.7\n10.0.0.0/8\nok.example\n198.51.100.8\0,198.51.100.7\n";
	struct cgfw_ruleset rs = {0};
	struct np_builder *b = np_builder_new();
	char err[CGFW_ERR_LEN + 4096] = "", want[4200], *path;
	uint32_t next_id = 7;

	(void)state;
	path = write_file("ctl.txt", content, sizeof(content) - 1);
	assert_int_equal(listfile_load(path, A, b, &rs, &next_id, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
	    "%s:4: control character \\x00 in \"198.51.100.8\\x00,198.51.100.7\"", path);
	assert_has(err, want);
	assert_int_equal(next_id, 7);
	assert_int_equal(rs.n, 0);
	assert_int_equal(np_builder_count(b), 0);
	np_builder_free(b);
	unlink(path);
	free(path);
}

/* The fast name check says what rules.c says, token for token. */
static void
test_listfile_like_rules(void **state)
{
	static const char *const tokens[] = {"example.com", "Example.COM.", "*.Example.com",
	    "=example.com", "=WWW.example.com.", "_dmarc.example.com", "a-b.x-1.example",
	    "1.2.3.4.example.com", "=1.2.3.4", "*.1.2.3.4", "localhost", "*", "a.*.com",
	    "*example.com", "*.*.example.com", "=*.example.com", "-example.com", "a.-b.com",
	    "example-.com", "example.com-", "example..com", ".example.com", "example.com..", ".",
	    "*.", "=", "=.", "*..x", "ex!ample.com", "ex\xc3\xa9mple.com", "a+b.com",
	    "example.com/path", "a=b.com", "x.y_", "_", "-", "0", "0.0.0.0", "1.2.3.4", "1.2.3.4.5",
	    "=example.com:22", "example.com:22", "abc:1:2"};
	(void)state;
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		struct cgfw_rule r;
		struct cgfw_ruleset rs = {0};
		struct np_builder *b = np_builder_new();
		char err1[CGFW_ERR_LEN] = "", err2[CGFW_ERR_LEN + 4096] = "", *path;
		const char *why1, *why2;
		uint32_t next_id = 1;
		int r1, r2;

		path = write_file("tok.txt", tokens[i], strlen(tokens[i]));
		r1 = rules_parse_one(tokens[i], B, "o", &r, err1, sizeof(err1));
		r2 = listfile_load(path, B, b, &rs, &next_id, err2, sizeof(err2));
		if ((r1 < 0) != (r2 < 0))
			fail_msg("\"%s\": rules.c %d (%s), listfile %d (%s)", tokens[i], r1, err1,
			    r2, err2);
		if (r1 < 0) {
			why1 = strstr(err1, " in o: ");
			why2 = strstr(err2, "\": ");
			assert_non_null(why1);
			assert_non_null(why2);
			if (strcmp(why1 + 7, why2 + 3))
				fail_msg("\"%s\": rules.c \"%s\", listfile \"%s\"", tokens[i],
				    why1 + 7, why2 + 3);
		} else {
			struct np_table t;
			struct np_match m;
			char q[300];

			if (rules_is_name_kind(r.kind)) {
				table_from(b, &t);
				snprintf(q, sizeof(q), "%s%s",
				    r.kind == RULE_WILDCARD ? "sub." : "", r.name);
				if (np_lookup(&t, q, &m) != NP_BLOCK)
					fail_msg("\"%s\": \"%s\" not found", tokens[i], q);
				assert_int_equal(kind_of(r.kind), m.kind);
				np_table_close(&t);
			} else {
				assert_int_equal(rs.n, 1);
				assert_int_equal(rs.v[0].addr, r.addr);
			}
			rule_clear(&r);
		}
		np_builder_free(b);
		rules_free(&rs);
		unlink(path);
		free(path);
	}
}

static void
test_listfile_misc(void **state)
{
	struct cgfw_ruleset rs = {0};
	struct np_builder *b = np_builder_new();
	char err[CGFW_ERR_LEN + 4096] = "", *path;
	uint32_t next_id = 1;

	(void)state;
	assert_int_equal(
	    listfile_load("/nonexistent/list.txt", A, b, &rs, &next_id, err, sizeof(err)), -ENOENT);
	assert_has(err, "/nonexistent/list.txt: cannot open");
	path = write_file("empty.txt", "", 0);
	assert_int_equal(listfile_load(path, A, b, &rs, &next_id, err, sizeof(err)), 0);
	unlink(path);
	free(path);
	path = write_file("comments.txt", "# only\n\n  \t\n#\n", 14);
	assert_int_equal(listfile_load(path, A, b, &rs, &next_id, err, sizeof(err)), 0);
	unlink(path);
	free(path);
	/* Not a regular file: read, not mapped. */
	assert_int_equal(listfile_load("/dev/null", A, b, &rs, &next_id, err, sizeof(err)), 0);
	assert_int_equal(next_id, 1);
	assert_int_equal(np_builder_count(b), 0);
	assert_int_equal(rs.n, 0);
	np_builder_free(b);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A big list parsed once, into fresh structures: its rules and table, or its error. */
struct parsed {
	int r;
	char err[CGFW_ERR_LEN + 4096];
	struct cgfw_ruleset rs;
	struct np_table t;
	uint32_t next_id;
};

static void
parse_big(const char *path, struct parsed *out)
{
	struct np_builder *b = np_builder_new();
	int fd = -1;

	memset(out, 0, sizeof(*out));
	out->next_id = 5;
	assert_non_null(b);
	/* A rule before the file: ids and origins follow it. */
	assert_int_equal(np_builder_add_name(b, RULE_NAME, A, "first.test", 10, "first.test", 10,
	                     "--allow-list", 0, 4),
	    0);
	out->r = listfile_load(path, B, b, &out->rs, &out->next_id, out->err, sizeof(out->err));
	if (out->r == 0) {
		assert_int_equal(np_builder_finish(b, &fd), 0);
		assert_int_equal(np_table_open(fd, &out->t), 0);
		close(fd);
	}
	np_builder_free(b);
}

/* What two parses of the same big list say about name i (line, id, verdict). */
static void
same_match(const struct parsed *a, const struct parsed *b, const char *q)
{
	struct np_match ma, mb;
	int va = np_lookup(&a->t, q, &ma), vb = np_lookup(&b->t, q, &mb);

	if (va != vb || ma.rule_id != mb.rule_id || ma.origin_line != mb.origin_line ||
	    ma.kind != mb.kind || ma.port != mb.port || ma.rule_text_len != mb.rule_text_len ||
	    !ma.origin != !mb.origin ||
	    (ma.origin && (memcmp(ma.rule_text, mb.rule_text, ma.rule_text_len) ||
	                      strcmp(ma.origin, mb.origin))))
		fail_msg("%s: %d id %u line %u vs %d id %u line %u", q, va, ma.rule_id,
		    ma.origin_line, vb, mb.rule_id, mb.origin_line);
}

/*
 * A list over 1 MiB is parsed in two halves when the spare thread runs
 * (lib/par.h): the same rules, ids, lines and origins as in one pass, and
 * the same error, wherever it is.
 */
static void
test_listfile_halves(void **state)
{
	const uint32_t n = 60000;
	size_t cap = (size_t)n * 64 + 256, len = 0, bad_at[3];
	char *text = malloc(cap), *path, q[80];
	struct parsed *one = calloc(2, sizeof(*one)), *two = one + 1;

	(void)state;
	assert_non_null(text);
	assert_non_null(one);
	len += (size_t)snprintf(text, cap, "\xef\xbb\xbf# big\n127.0.0.1 localhost\n");
	for (uint32_t i = 0; i < n; i++) {
		/* Hosts lines, plain names, IPs, CIDRs, ports, URLs, exact and wildcard rules. */
		switch (i % 9) {
		case 0:
			len += (size_t)snprintf(
			    text + len, cap - len, "192.0.%u.%u\n", i / 256 % 256, i % 256);
			break;
		case 1:
			len += (size_t)snprintf(text + len, cap - len, "n%u.test:443\n", i);
			break;
		case 2:
			len += (size_t)snprintf(text + len, cap - len, "https://u%u.test/p\n", i);
			break;
		case 3:
			len += (size_t)snprintf(text + len, cap - len, "=e%u.test # c\n", i);
			break;
		case 4:
			len += (size_t)snprintf(text + len, cap - len, "*.w%u.test\n\n", i);
			break;
		case 5:
			len += (size_t)snprintf(text + len, cap - len, "10.%u.0.0/16\n", i % 256);
			break;
		default:
			len += (size_t)snprintf(text + len, cap - len,
			    "0.0.0.0 h%u.test H%u.Dup.test dup.test\n", i, i % 50);
		}
	}
	assert_true(len > (1u << 20) + 4096);
	path = write_file("halves.txt", text, len);

	parse_big(path, one);
	if (one->r)
		fail_msg("%s", one->err);
	assert_int_equal(par_start(), 0);
	parse_big(path, two);
	if (two->r)
		fail_msg("%s", two->err);
	assert_int_equal(one->next_id, two->next_id);
	assert_int_equal(np_table_count(&one->t), np_table_count(&two->t));
	assert_int_equal(one->rs.n, two->rs.n);
	for (size_t i = 0; i < one->rs.n; i++) {
		const struct cgfw_rule *x = &one->rs.v[i], *y = &two->rs.v[i];

		if (x->id != y->id || x->kind != y->kind || strcmp(x->text, y->text) ||
		    strcmp(x->origin, y->origin))
			fail_msg("rule %zu: %u %s %s vs %u %s %s", i, x->id, x->text, x->origin,
			    y->id, y->text, y->origin);
	}
	for (uint32_t i = 0; i < n; i++) {
		snprintf(q, sizeof(q), "%s%u.test",
		    (const char *[]){"i", "n", "u", "e", "x.w", "i", "h", "h", "h"}[i % 9], i);
		same_match(one, two, q);
		snprintf(q, sizeof(q), "h%u.dup.test", i % 50);
		same_match(one, two, q);
	}
	same_match(one, two, "dup.test");
	same_match(one, two, "first.test");
	for (int k = 0; k < 2; k++) {
		rules_free(&one[k].rs);
		np_table_close(&one[k].t);
	}

	/*
	 * A bad line near the start, in the middle, near the end, and two (one
	 * in each half); a control character in each of those places with a bad
	 * line elsewhere: the error names the first (the control character),
	 * with its line, and nothing of the file is kept.
	 */
	bad_at[0] = 100;
	bad_at[1] = len / 2 + 1000;
	bad_at[2] = len - 100;
	for (int k = 0; k < 7; k++) {
		char *t2 = malloc(len), want[128];
		size_t at = bad_at[k % 3], line = 1;

		assert_non_null(t2);
		memcpy(t2, text, len);
		while (t2[at - 1] != '\n' || t2[at] == '\n')
			at++;
		/* k 4..6: a control character, which beats a bad line anywhere. */
		t2[at] = k < 4 ? '!' : '\x01';
		if (k >= 4)
			t2[bad_at[(k + 1) % 3] + 1] = '!';
		if (k == 3) {
			size_t at2 = bad_at[1];

			while (t2[at2 - 1] != '\n' || t2[at2] == '\n')
				at2++;
			t2[at2] = '!';
		}
		for (size_t i = 0; i < at; i++)
			line += t2[i] == '\n';
		unlink(path);
		free(path);
		path = write_file("halves.txt", t2, len);
		free(t2);
		parse_big(path, one);
		assert_int_equal(one->r, -EINVAL);
		snprintf(want, sizeof(want), "halves.txt:%zu: %s", line,
		    k < 4 ? "" : "control character \\x01");
		if (!strstr(one->err, want))
			fail_msg("case %d: \"%s\" has no \"%s\"", k, one->err, want);
		assert_int_equal(one->rs.n, 0);
		assert_int_equal(one->next_id, 5);
		rules_free(&one->rs);
	}
	unlink(path);
	free(path);
	free(text);
	free(one);
}

/* One million hosts-file names: counts and lookups asserted, time printed. */
static void
test_million(void **state)
{
	const uint32_t n = 1000000;
	size_t cap = (size_t)n * 48, len = 0;
	char *text = malloc(cap), *path, err[CGFW_ERR_LEN + 4096] = "";
	struct cgfw_ruleset rs = {0};
	struct np_builder *b;
	struct np_table t;
	struct np_match m;
	double t0, t1, t2, t3;
	uint32_t next_id = 1;
	int fd = -1, r;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text, cap, "# generated\n127.0.0.1 localhost\n");
	for (uint32_t i = 0; i < n; i++)
		len += (size_t)snprintf(
		    text + len, cap - len, "0.0.0.0 ad%u.tracker%u.example\n", i, i % 1000);
	path = write_file("million.txt", text, len);
	free(text);

	b = np_builder_new();
	assert_non_null(b);
	t0 = now_ms();
	r = listfile_load(path, B, b, &rs, &next_id, err, sizeof(err));
	t1 = now_ms();
	if (r < 0)
		fail_msg("%s", err);
	assert_int_equal(np_builder_finish(b, &fd), 0);
	t2 = now_ms();
	assert_int_equal(np_table_open(fd, &t), 0);
	t3 = now_ms();
	np_builder_free(b);
	close(fd);
	printf("# 1M names: %.0f ms (list %.0f, finish %.0f, open+validate %.0f), %zu-byte "
	       "table\n",
	    t3 - t0, t1 - t0, t2 - t1, t3 - t2, t.len);

	assert_int_equal(np_table_count(&t), n);
	assert_int_equal(next_id, n + 1);
	assert_int_equal(np_lookup(&t, "ad0.tracker0.example", &m), NP_BLOCK);
	assert_int_equal(m.rule_id, 1);
	assert_int_equal(m.origin_line, 3);
	assert_int_equal(np_lookup(&t, "x.ad999999.tracker999.example", &m), NP_BLOCK);
	assert_int_equal(m.rule_id, n);
	assert_int_equal(np_lookup(&t, "ad123456.tracker456.example", &m), NP_BLOCK);
	assert_int_equal(np_lookup(&t, "ad123456.tracker457.example", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "tracker456.example", &m), NP_NONE);
	assert_int_equal(np_lookup(&t, "localhost", &m), NP_NONE);
	np_table_close(&t);
	rules_free(&rs);
	unlink(path);
	free(path);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_semantics),
	    cmocka_unit_test(test_match_fields),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_add_invalid),
	    cmocka_unit_test(test_inline_then_more),
	    cmocka_unit_test(test_long_names),
	    cmocka_unit_test(test_many_names),
	    cmocka_unit_test(test_label_steps),
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_seals),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_listfile_hosts),
	    cmocka_unit_test(test_listfile_errors),
	    cmocka_unit_test(test_text_check),
	    cmocka_unit_test(test_text_check_far),
	    cmocka_unit_test(test_listfile_control),
	    cmocka_unit_test(test_listfile_like_rules),
	    cmocka_unit_test(test_listfile_misc),
	    cmocka_unit_test(test_listfile_halves),
	    cmocka_unit_test(test_million),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
