// SPDX-License-Identifier: MIT
/*
 * Rule parsing (lib/rules.c): every accepted form with its normalised fields,
 * every rejection with the rule and its origin quoted, and the all-or-nothing
 * contract of rules_add_list().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bpf/egress.h"
#include "lib/log.h"
#include "lib/rules.h"

#define ORIGIN "/etc/cgfw.conf:7"

#define assert_has(hay, needle)                                                                    \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("\"%s\" not found in \"%s\"", (needle), (hay));                   \
	} while (0)

#define check_int(what, got, want)                                                                 \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (g_ != w_)                                                                      \
			fail_msg("%s: %s is %lld, expected %lld", (what), #got, g_, w_);           \
	} while (0)

#define check_str(what, got, want)                                                                 \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if ((g_ == NULL) != (w_ == NULL) || (g_ && strcmp(g_, w_)))                        \
			fail_msg("%s: %s is \"%s\", expected \"%s\"", (what), #got,                \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                               \
	} while (0)

static uint32_t
ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* A name of exactly len bytes: labels of 63 'a's, the last one shorter. */
static char *
long_name(size_t len, size_t label)
{
	char *s = malloc(len + 1);
	size_t in_label = 0;

	assert_non_null(s);
	for (size_t i = 0; i < len; i++) {
		if (in_label == label && i + 1 < len) {
			s[i] = '.';
			in_label = 0;
			continue;
		}
		s[i] = 'a';
		in_label++;
	}
	s[len] = '\0';
	return s;
}

struct ok_case {
	const char *text;
	enum cgfw_rule_kind kind;
	const char *addr; /* NULL: 0 */
	uint8_t plen;
	uint16_t port;
	const char *name;
	const char *scheme;
	const char *path;
	const char *stored; /* r.text; NULL: same as text */
};

static const struct ok_case ok_cases[] = {
    {"192.0.2.7", RULE_IP4, "192.0.2.7", 32, 0, NULL, NULL, NULL, NULL},
    {"192.0.2.7:443", RULE_IP4, "192.0.2.7", 32, 443, NULL, NULL, NULL, NULL},
    {"192.0.2.7:65535", RULE_IP4, "192.0.2.7", 32, 65535, NULL, NULL, NULL, NULL},
    {"192.0.2.7:1", RULE_IP4, "192.0.2.7", 32, 1, NULL, NULL, NULL, NULL},
    {"  192.0.2.7\t", RULE_IP4, "192.0.2.7", 32, 0, NULL, NULL, NULL, "192.0.2.7"},
    {"198.51.100.0/24", RULE_CIDR4, "198.51.100.0", 24, 0, NULL, NULL, NULL, NULL},
    {"10.0.0.0/8", RULE_CIDR4, "10.0.0.0", 8, 0, NULL, NULL, NULL, NULL},
    {"0.0.0.0/0", RULE_CIDR4, "0.0.0.0", 0, 0, NULL, NULL, NULL, NULL},
    {"192.0.2.7/32", RULE_CIDR4, "192.0.2.7", 32, 0, NULL, NULL, NULL, NULL},
    {"192.0.2.128/25", RULE_CIDR4, "192.0.2.128", 25, 0, NULL, NULL, NULL, NULL},
    {"example.com", RULE_NAME, NULL, 0, 0, "example.com", NULL, NULL, NULL},
    {"Example.COM.", RULE_NAME, NULL, 0, 0, "example.com", NULL, NULL, NULL},
    {"example.com:22", RULE_NAME, NULL, 0, 22, "example.com", NULL, NULL, NULL},
    {"\texample.com \n", RULE_NAME, NULL, 0, 0, "example.com", NULL, NULL, "example.com"},
    {"localhost", RULE_NAME, NULL, 0, 0, "localhost", NULL, NULL, NULL},
    {"_dmarc.example.com", RULE_NAME, NULL, 0, 0, "_dmarc.example.com", NULL, NULL, NULL},
    {"a-b.x-1.example", RULE_NAME, NULL, 0, 0, "a-b.x-1.example", NULL, NULL, NULL},
    {"1.2.3.4.example.com", RULE_NAME, NULL, 0, 0, "1.2.3.4.example.com", NULL, NULL, NULL},
    {"*.Example.com", RULE_WILDCARD, NULL, 0, 0, "example.com", NULL, NULL, NULL},
    {"*.example.com:443", RULE_WILDCARD, NULL, 0, 443, "example.com", NULL, NULL, NULL},
    {"=example.com", RULE_EXACT_NAME, NULL, 0, 0, "example.com", NULL, NULL, NULL},
    {"=WWW.example.com.:8443", RULE_EXACT_NAME, NULL, 0, 8443, "www.example.com", NULL, NULL, NULL},
    {"http://example.com", RULE_URL, NULL, 0, 0, "example.com", "http", "/", NULL},
    {"https://example.com/", RULE_URL, NULL, 0, 0, "example.com", "https", "/", NULL},
    {"HTTPS://Example.COM:8443/a/./b/../c", RULE_URL, NULL, 0, 8443, "example.com", "https", "/a/c",
        NULL},
    {"https://example.com/news/", RULE_URL, NULL, 0, 0, "example.com", "https", "/news", NULL},
    {"https://example.com/a/b/..", RULE_URL, NULL, 0, 0, "example.com", "https", "/a", NULL},
    {"https://example.com/a/..", RULE_URL, NULL, 0, 0, "example.com", "https", "/", NULL},
    {"https://example.com/./", RULE_URL, NULL, 0, 0, "example.com", "https", "/", NULL},
    {"https://example.com/a/b/../../c/", RULE_URL, NULL, 0, 0, "example.com", "https", "/c", NULL},
    {"http://192.0.2.7:8080/x", RULE_URL, "192.0.2.7", 32, 8080, "192.0.2.7", "http", "/x", NULL},
};

static void
test_parse_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct cgfw_rule r;
		char err[CGFW_ERR_LEN] = "";
		int res;

		res = rules_parse_one(c->text, CGFW_ACT_BLOCK, ORIGIN, &r, err, sizeof(err));
		if (res != 0)
			fail_msg("\"%s\": %d (%s)", c->text, res, err);
		check_int(c->text, r.kind, c->kind);
		check_int(c->text, r.action, CGFW_ACT_BLOCK);
		check_int(c->text, r.addr, c->addr ? ip4(c->addr) : 0);
		check_int(c->text, r.plen, c->plen);
		check_int(c->text, r.port, c->port);
		check_str(c->text, r.name, c->name);
		check_str(c->text, r.scheme, c->scheme);
		check_str(c->text, r.path, c->path);
		check_str(c->text, r.text, c->stored ? c->stored : c->text);
		check_str(c->text, r.origin, ORIGIN);
		rule_clear(&r);
	}
}

struct bad_case {
	const char *text;
	const char *why; /* a part of the reason */
};

static const struct bad_case bad_cases[] = {
    {"1.2.3.256", "not a valid IPv4 address"},
    {"1.2.3", "not a valid IPv4 address"},
    {"1.2.3.4.5", "not a valid IPv4 address"},
    {"01.2.3.4", "not a valid IPv4 address"},
    {"10.0.0.1/8", "host bits are set"},
    {"192.0.2.7/24", "host bits are set"},
    {"1.0.0.0/0", "host bits are set"},
    {"10.0.0.0/33", "invalid prefix length"},
    {"10.0.0.0/", "invalid prefix length"},
    {"10.0.0.0/8/8", "invalid prefix length"},
    {"10.0.0.0/8:80", "a port can only follow a single IP or a name"},
    {"192.0.2.7:0", "invalid port"},
    {"192.0.2.7:65536", "invalid port"},
    {"192.0.2.7:", "invalid port"},
    {"example.com:0", "invalid port"},
    {"example.com:70000", "invalid port"},
    {"example.com:000022", "invalid port"},
    {"example.com:", "invalid port"},
    {"example.com:ssh", "invalid port"},
    {"example.com:-1", "invalid port"},
    {"*", "'*' is only allowed as a leading \"*.\""},
    {"a.*.com", "'*' is only allowed as a leading \"*.\""},
    {"*example.com", "'*' is only allowed as a leading \"*.\""},
    {"*.*.example.com", "'*' is only allowed as a leading \"*.\""},
    {"=*.example.com", "'*' is only allowed as a leading \"*.\""},
    {"-example.com", "label starts with '-'"},
    {"a.-b.com", "label starts with '-'"},
    {"example-.com", "label ends with '-'"},
    {"example.com-", "label ends with '-'"},
    {"example..com", "empty label"},
    {".example.com", "empty label"},
    {"example.com..", "empty label"},
    {".", "not a valid IPv4 address"},
    {".", "not a valid IPv4 address"},
    {"*.", "empty name"},
    {"=:443", "empty name"},
    {"exa mple.com", "invalid character in name"},
    {"ex!ample.com", "invalid character in name"},
    {"ex\xc3\xa9mple.com", "invalid character in name"},
    /* Control bytes are refused, and quoted escaped: no terminal escape, no new line. */
    {"a\x1b[31m.example", "invalid character in name"},
    {"a.example\nfake line", "invalid character in name"},
    {"a\x7f.example", "invalid character in name"},
    {"1.2.3.4\x01", "invalid character in name"},
    {"\"quoted\".example", "invalid character in name"},
    {"example.com/path", "invalid character in name"},
    {"::1", "IPv6"},
    {"2001:db8::1", "IPv6"},
    {"[2001:db8::1]:443", "IPv6"},
    {"[::1]", "IPv6"},
    {"::ffff:192.0.2.7", "IPv6"},
    {"ftp://example.com/", "URL scheme must be http or https"},
    {"ws://example.com/", "URL scheme must be http or https"},
    {"http://[::1]/", "IPv6"},
    {"https://[2001:db8::1]:443/x", "IPv6"},
    {"https://example.com/?q=1", "URL rules take scheme, host, port and path only"},
    {"https://example.com/a#frag", "URL rules take scheme, host, port and path only"},
    {"https://user@example.com/", "URL rules take scheme, host, port and path only"},
    {"https://user:pw@example.com/", "URL rules take scheme, host, port and path only"},
    {"https://example.com/..", "URL path climbs above '/'"},
    {"https://example.com/../x", "URL path climbs above '/'"},
    {"https://example.com/a/../../x", "URL path climbs above '/'"},
    {"https://example.com:0/", "invalid port"},
    {"https://", "not a valid URL"},
    {"://example.com", "not a valid URL"},
    {"http://1.2.3.256/", "not a valid IPv4 address"},
    {"http://-bad.example/", "label starts with '-'"},
    {"http://bad-.example/", "label ends with '-'"},
};

static void
test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char quoted[CGFW_RULE_MAX_LEN + 3], esc[LOG_ESC_LEN];
		char err[CGFW_ERR_LEN] = "";
		struct cgfw_rule r, untouched;
		int res;

		memset(&r, 0xa5, sizeof(r));
		memcpy(&untouched, &r, sizeof(r));
		res = rules_parse_one(c->text, CGFW_ACT_ALLOW, ORIGIN, &r, err, sizeof(err));
		if (res != -EINVAL)
			fail_msg("\"%s\": %d, expected -EINVAL (err \"%s\")", c->text, res, err);
		/* A rejected rule leaves nothing behind for the caller to free. */
		assert_memory_equal(&r, &untouched, sizeof(r));
		/* Quoted as log_escape() shows it (bytes past ASCII as \xNN). */
		snprintf(quoted, sizeof(quoted), "\"%s\"",
		    log_escape(esc, sizeof(esc), c->text, strlen(c->text)));
		assert_has(err, quoted);
		assert_has(err, " in " ORIGIN);
		assert_has(err, c->why);
	}
}

static void
test_parse_empty(void **state)
{
	static const char *const empty[] = {"", " ", "\t\n  \r"};

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		char err[CGFW_ERR_LEN] = "";
		struct cgfw_rule r;

		assert_int_equal(
		    rules_parse_one(empty[i], CGFW_ACT_ALLOW, "--allow-list", &r, err, sizeof(err)),
		    -EINVAL);
		assert_string_equal(err, "empty rule in --allow-list");
	}
}

static void
test_parse_ipv6_message(void **state)
{
	char err[CGFW_ERR_LEN] = "";
	struct cgfw_rule r;

	(void)state;
	assert_int_equal(
	    rules_parse_one("2001:db8::1", CGFW_ACT_ALLOW, "--allow-list", &r, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "invalid rule \"2001:db8::1\" in --allow-list: IPv6 rules are not "
	                         "supported yet (IPv6 is always blocked)");
}

static void
test_parse_name_limits(void **state)
{
	struct {
		size_t len, label;
		int trailing_dot;
		int res;
		const char *why;
	} cases[] = {
	    {63, 63, 0, 0, NULL},
	    {67, 63, 0, 0, NULL}, /* 63 + "." + 3 */
	    {64, 64, 0, -EINVAL, "label longer than 63 bytes"},
	    {68, 64, 0, -EINVAL, "label longer than 63 bytes"},
	    {253, 63, 0, 0, NULL},
	    {253, 63, 1, 0, NULL}, /* 254 bytes with the dot, 253 without */
	    {254, 63, 0, -EINVAL, "name longer than 253 bytes"},
	    {254, 63, 1, -EINVAL, "name longer than 253 bytes"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *name = long_name(cases[i].len, cases[i].label);
		char text[300], err[CGFW_ERR_LEN] = "";
		struct cgfw_rule r;
		int res;

		snprintf(text, sizeof(text), "%s%s", name, cases[i].trailing_dot ? "." : "");
		res = rules_parse_one(text, CGFW_ACT_ALLOW, ORIGIN, &r, err, sizeof(err));
		check_int(text, res, cases[i].res);
		if (res == 0) {
			check_int(text, r.kind, RULE_NAME);
			check_int(text, strlen(r.name), cases[i].len);
			check_str(text, r.name, name);
			rule_clear(&r);
		} else {
			assert_has(err, cases[i].why);
			assert_has(err, ORIGIN);
		}
		free(name);
	}
}

static void
test_parse_long_rule(void **state)
{
	static const char url[] = "https://example.com/";
	char text[CGFW_RULE_MAX_LEN + 64], err[CGFW_ERR_LEN] = "";
	char quoted[256];
	struct cgfw_rule r;
	size_t n;

	(void)state;
	/* Exactly CGFW_RULE_MAX_LEN bytes: accepted. */
	memcpy(text, url, sizeof(url) - 1);
	memset(text + sizeof(url) - 1, 'p', CGFW_RULE_MAX_LEN - (sizeof(url) - 1));
	text[CGFW_RULE_MAX_LEN] = '\0';
	assert_int_equal(rules_parse_one(text, CGFW_ACT_ALLOW, ORIGIN, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, RULE_URL);
	assert_int_equal(strlen(r.path), CGFW_RULE_MAX_LEN - (sizeof(url) - 2));
	rule_clear(&r);

	/* One more byte: refused, naming the origin. */
	text[CGFW_RULE_MAX_LEN] = 'p';
	text[CGFW_RULE_MAX_LEN + 1] = '\0';
	assert_int_equal(
	    rules_parse_one(text, CGFW_ACT_ALLOW, ORIGIN, &r, err, sizeof(err)), -EINVAL);
	assert_has(err, ORIGIN);
	assert_has(err, "longer than 2048 bytes");

	/* Padding is trimmed before the length is checked. */
	n = 1000;
	memset(text, ' ', n);
	strcpy(text + n, "example.com");
	memset(text + n + 11, ' ', sizeof(text) - n - 12);
	text[sizeof(text) - 1] = '\0';
	assert_true(strlen(text) > CGFW_RULE_MAX_LEN);
	assert_int_equal(rules_parse_one(text, CGFW_ACT_ALLOW, ORIGIN, &r, err, sizeof(err)), 0);
	assert_string_equal(r.text, "example.com");
	rule_clear(&r);

	/* A long bad rule is quoted, cut at 200 bytes and marked so. */
	memset(text, 'x', 300);
	text[300] = '\0';
	assert_int_equal(
	    rules_parse_one(text, CGFW_ACT_ALLOW, ORIGIN, &r, err, sizeof(err)), -EINVAL);
	quoted[0] = '"';
	memset(quoted + 1, 'x', 200);
	strcpy(quoted + 201, "...\" in " ORIGIN ": name longer than 253 bytes");
	assert_has(err, quoted);
	assert_true(strlen(err) < sizeof(err) - 1);
}

static void
test_kind_names(void **state)
{
	static const struct {
		enum cgfw_rule_kind kind;
		const char *name;
		int is_name;
	} cases[] = {
	    {RULE_IP4, "IP", 0},
	    {RULE_CIDR4, "CIDR", 0},
	    {RULE_NAME, "Domain", 1},
	    {RULE_WILDCARD, "Wildcard", 1},
	    {RULE_EXACT_NAME, "ExactDomain", 1},
	    {RULE_URL, "URL", 1},
	    {(enum cgfw_rule_kind)0, "Unknown", 0},
	    {(enum cgfw_rule_kind)99, "Unknown", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(rules_kind_name(cases[i].kind), cases[i].name);
		assert_int_equal(rules_is_name_kind(cases[i].kind), cases[i].is_name);
	}
}

static void
test_add_list(void **state)
{
	static const struct {
		const char *text;
		enum cgfw_rule_kind kind;
		const char *origin;
		int action;
	} want[] = {
	    {"192.0.2.1", RULE_IP4, "--block-list", CGFW_ACT_BLOCK},
	    {"example.com", RULE_NAME, "--block-list", CGFW_ACT_BLOCK},
	    {"*.example.org:443", RULE_WILDCARD, "--block-list", CGFW_ACT_BLOCK},
	    {"=a.example", RULE_EXACT_NAME, "--allow-list", CGFW_ACT_ALLOW},
	    {"https://b.example/x", RULE_URL, "--allow-list", CGFW_ACT_ALLOW},
	};
	struct cgfw_ruleset rs = {0};
	char err[CGFW_ERR_LEN] = "";

	(void)state;
	assert_int_equal(rules_add_list(&rs, "192.0.2.1, example.com ,\t*.example.org:443",
	                     CGFW_ACT_BLOCK, "--block-list", err, sizeof(err)),
	    0);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rules_add_list(&rs, "=a.example,https://b.example/x", CGFW_ACT_ALLOW,
	                     "--allow-list", err, sizeof(err)),
	    0);
	assert_int_equal(rs.n, 5);
	for (size_t i = 0; i < rs.n; i++) {
		check_str(want[i].text, rs.v[i].text, want[i].text);
		check_int(want[i].text, rs.v[i].kind, want[i].kind);
		check_str(want[i].text, rs.v[i].origin, want[i].origin);
		check_int(want[i].text, rs.v[i].action, want[i].action);
	}
	rules_free(&rs);
	assert_int_equal(rs.n, 0);
	assert_null(rs.v);
}

static void
test_add_list_all_or_nothing(void **state)
{
	static const struct {
		const char *list;
		const char *err;
	} cases[] = {
	    {"a.example,1.2.3.256,b.example",
	        "invalid rule \"1.2.3.256\" in --block-list: not a valid IPv4 address"},
	    {"a.example, b.example , *bad", "invalid rule \"*bad\" in --block-list"},
	    {"a.example,,b.example", "empty rule in --block-list"},
	    {"a.example,", "empty rule in --block-list"},
	    {",a.example", "empty rule in --block-list"},
	    {"", "empty rule in --block-list"},
	    {"a.example,ftp://x.example/", "invalid rule \"ftp://x.example/\" in --block-list"},
	};
	struct cgfw_ruleset rs = {0};
	char err[CGFW_ERR_LEN];

	(void)state;
	assert_int_equal(rules_add_list(&rs, "10.0.0.0/8,keep.example", CGFW_ACT_ALLOW, "cfg:1",
	                     err, sizeof(err)),
	    0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int res;

		err[0] = '\0';
		res = rules_add_list(
		    &rs, cases[i].list, CGFW_ACT_BLOCK, "--block-list", err, sizeof(err));
		check_int(cases[i].list, res, -EINVAL);
		assert_has(err, cases[i].err);
		check_int(cases[i].list, rs.n, 2);
		assert_string_equal(rs.v[0].text, "10.0.0.0/8");
		assert_string_equal(rs.v[1].text, "keep.example");
		assert_string_equal(rs.v[1].origin, "cfg:1");
	}
	rules_free(&rs);
}

/* Enough rules to grow the array, then a failure that has to roll all of them back. */
static void
test_add_list_grow_and_rollback(void **state)
{
	struct cgfw_ruleset rs = {0};
	char list[2048], err[CGFW_ERR_LEN];
	size_t off = 0;

	(void)state;
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(
		    list + off, sizeof(list) - off, "%s10.0.%d.1", i ? "," : "", i);
	assert_int_equal(rules_add_list(&rs, list, CGFW_ACT_ALLOW, "big", err, sizeof(err)), 0);
	assert_int_equal(rs.n, 40);
	assert_true(rs.cap >= 40);
	for (int i = 0; i < 40; i++) {
		char want[32];

		snprintf(want, sizeof(want), "10.0.%d.1", i);
		assert_string_equal(rs.v[i].text, want);
	}
	snprintf(list + off, sizeof(list) - off, ",10.0.0.0/33");
	assert_int_equal(
	    rules_add_list(&rs, list, CGFW_ACT_ALLOW, "big", err, sizeof(err)), -EINVAL);
	assert_int_equal(rs.n, 40);
	assert_has(err, "\"10.0.0.0/33\" in big");
	rules_free(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_empty),
	    cmocka_unit_test(test_parse_ipv6_message),
	    cmocka_unit_test(test_parse_name_limits),
	    cmocka_unit_test(test_parse_long_rule),
	    cmocka_unit_test(test_kind_names),
	    cmocka_unit_test(test_add_list),
	    cmocka_unit_test(test_add_list_all_or_nothing),
	    cmocka_unit_test(test_add_list_grow_and_rollback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
