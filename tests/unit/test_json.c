// SPDX-License-Identifier: MIT
/*
 * The JSON line builder (lib/json.c).  Event fields carry bytes from the
 * monitored processes, so the escaper is checked byte for byte on hostile
 * input, and its output is handed to a real JSON parser.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/json.h"

#define FFFD "\\ufffd"

struct esc_case {
	const char *in;
	size_t n; /* 0: strlen(in) */
	const char *want;
};

static const struct esc_case esc_cases[] = {
    {"", 0, "\"\""},
    {"plain text", 0, "\"plain text\""},
    {"a\"b", 0, "\"a\\\"b\""},
    {"a\\b", 0, "\"a\\\\b\""},
    {"\\\"", 0, "\"\\\\\\\"\""},
    {"/", 0, "\"/\""},
    {"\n\r\t", 0, "\"\\n\\r\\t\""},
    {"\x01\x08\x0b\x0c\x1b\x1f", 0, "\"\\u0001\\u0008\\u000b\\u000c\\u001b\\u001f\""},
    {" ~", 0, "\" ~\""},
    {"\x7f", 0, "\"\\u007f\""},
    {"x\0y", 3, "\"x\\u0000y\""},
    {"\0", 1, "\"\\u0000\""},
    {"a\0\0", 3, "\"a\\u0000\\u0000\""},
    /* Valid UTF-8 passes through, at every length and at the edges of each. */
    {"\xc2\x80", 0, "\"\xc2\x80\""},
    {"caf\xc3\xa9", 0, "\"caf\xc3\xa9\""},
    {"\xdf\xbf", 0, "\"\xdf\xbf\""},
    {"\xe0\xa0\x80", 0, "\"\xe0\xa0\x80\""},
    {"\xe2\x82\xac", 0, "\"\xe2\x82\xac\""},
    {"\xed\x9f\xbf", 0, "\"\xed\x9f\xbf\""},
    {"\xee\x80\x80", 0, "\"\xee\x80\x80\""},
    {"\xef\xbf\xbf", 0, "\"\xef\xbf\xbf\""},
    {"\xf0\x90\x80\x80", 0, "\"\xf0\x90\x80\x80\""},
    {"\xf0\x9f\x98\x80", 0, "\"\xf0\x9f\x98\x80\""},
    {"\xf4\x8f\xbf\xbf", 0, "\"\xf4\x8f\xbf\xbf\""},
    /* Invalid UTF-8: one U+FFFD per byte that does not start a valid sequence. */
    {"\x80", 0, "\"" FFFD "\""},
    {"a\x80z", 0, "\"a" FFFD "z\""},
    {"\xbf\xbf", 0, "\"" FFFD FFFD "\""},
    {"\xc0\x80", 0, "\"" FFFD FFFD "\""},
    {"\xc1\xbf", 0, "\"" FFFD FFFD "\""},
    {"\xe0\x80\x80", 0, "\"" FFFD FFFD FFFD "\""},
    {"\xe0\x9f\xbf", 0, "\"" FFFD FFFD FFFD "\""},
    {"\xf0\x80\x80\x80", 0, "\"" FFFD FFFD FFFD FFFD "\""},
    {"\xf0\x8f\xbf\xbf", 0, "\"" FFFD FFFD FFFD FFFD "\""},
    {"\xed\xa0\x80", 0, "\"" FFFD FFFD FFFD "\""},
    {"\xed\xbf\xbf", 0, "\"" FFFD FFFD FFFD "\""},
    {"\xf4\x90\x80\x80", 0, "\"" FFFD FFFD FFFD FFFD "\""},
    {"\xf5\x80\x80\x80", 0, "\"" FFFD FFFD FFFD FFFD "\""},
    {"\xf8\x88\x80\x80\x80", 0, "\"" FFFD FFFD FFFD FFFD FFFD "\""},
    {"\xfe\xff", 0, "\"" FFFD FFFD "\""},
    /* Truncated sequences, at the end and before other bytes. */
    {"\xc3", 0, "\"" FFFD "\""},
    {"\xe2\x82", 0, "\"" FFFD FFFD "\""},
    {"\xf0\x9f\x98", 0, "\"" FFFD FFFD FFFD "\""},
    {"\xe2\x82z", 0, "\"" FFFD FFFD "z\""},
    {"\xc3\xc3\xa9", 0, "\"" FFFD "\xc3\xa9\""},
    {"\xe2\"", 0, "\"" FFFD "\\\"\""},
    {"\xe2\x82\0", 3, "\"" FFFD FFFD "\\u0000\""},
    /* A sequence cut by the explicit length is truncated, whatever follows in memory. */
    {"\xc3\xa9", 1, "\"" FFFD "\""},
    {"\xe2\x82\xac", 2, "\"" FFFD FFFD "\""},
};

static void
test_escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		struct jbuf jb = {0};

		jb_escape(&jb, c->in, c->n ? c->n : strlen(c->in));
		assert_int_equal(jb.err, 0);
		if (strcmp(jb.p, c->want) != 0)
			fail_msg("case %zu: got %s, expected %s", i, jb.p, c->want);
		assert_int_equal(jb.len, strlen(c->want));
		jb_free(&jb);
	}
}

static void
test_object(void **state)
{
	static const char want[] =
	    "{\"s\":\"x\",\"null\":\"\",\"n\":\"a\\u0000b\",\"i\":-5,\"zero\":0,"
	    "\"min\":-9223372036854775808,\"max\":9223372036854775807,"
	    "\"u\":18446744073709551615,\"t\":true,\"f\":false,\"k\\\"\\n\":1}\n";
	struct jbuf jb = {0};

	(void)state;
	jb_begin(&jb);
	jb_str(&jb, "s", "x");
	jb_str(&jb, "null", NULL);
	jb_strn(&jb, "n", "a\0b", 3);
	jb_int(&jb, "i", -5);
	jb_int(&jb, "zero", 0);
	jb_int(&jb, "min", INT64_MIN);
	jb_int(&jb, "max", INT64_MAX);
	jb_uint(&jb, "u", UINT64_MAX);
	jb_bool(&jb, "t", 42);
	jb_bool(&jb, "f", 0);
	jb_int(&jb, "k\"\n", 1);
	jb_end(&jb);
	assert_int_equal(jb.err, 0);
	assert_string_equal(jb.p, want);
	assert_int_equal(jb.len, sizeof(want) - 1);
	jb_free(&jb);
	assert_null(jb.p);
	assert_int_equal(jb.len, 0);
	assert_int_equal(jb.cap, 0);
}

static void
test_empty_and_reuse(void **state)
{
	struct jbuf jb = {0};

	(void)state;
	jb_reset(&jb); /* before any allocation */
	assert_null(jb.p);
	jb_begin(&jb);
	jb_end(&jb);
	assert_string_equal(jb.p, "{}\n");

	/* A second object starts from scratch: no stale bytes, no leading comma. */
	jb_begin(&jb);
	jb_str(&jb, "a", "1");
	jb_str(&jb, "b", "2");
	jb_end(&jb);
	assert_string_equal(jb.p, "{\"a\":\"1\",\"b\":\"2\"}\n");
	jb_begin(&jb);
	jb_bool(&jb, "c", 1);
	jb_end(&jb);
	assert_string_equal(jb.p, "{\"c\":true}\n");
	assert_int_equal(jb.len, 11);

	jb_reset(&jb);
	assert_int_equal(jb.len, 0);
	assert_string_equal(jb.p, "");
	jb_raw(&jb, "ab", 2);
	jb_raw(&jb, "", 0);
	jb_raw(&jb, "cd", 1);
	assert_string_equal(jb.p, "abc");
	assert_int_equal(jb.len, 3);
	jb_free(&jb);
}

/* Growth past the first 256 bytes, many times over, keeps every byte. */
static void
test_growth(void **state)
{
	enum { N = 100000 };
	struct jbuf jb = {0};
	char *in;

	(void)state;
	in = malloc(N);
	assert_non_null(in);
	for (size_t i = 0; i < N; i++)
		in[i] = i % 1000 == 999 ? '"' : (char)('a' + i % 26);
	jb_escape(&jb, in, N);
	assert_int_equal(jb.err, 0);
	assert_int_equal(jb.len, N + 2 + N / 1000);
	assert_true(jb.cap > jb.len);
	assert_int_equal(jb.p[jb.len], '\0');
	assert_int_equal(jb.p[0], '"');
	assert_memory_equal(jb.p + 1, in, 999);
	assert_memory_equal(jb.p + 1000, "\\\"", 2);
	assert_int_equal(jb.p[jb.len - 1], '"');
	assert_int_equal(jb.p[jb.len - 2], '"');
	assert_int_equal(jb.p[jb.len - 3], '\\');
	free(in);
	jb_free(&jb);
}

/* After an allocation failure, nothing more is appended and the error stays. */
static void
test_sticky_error(void **state)
{
	struct jbuf jb = {0};

	(void)state;
	jb_begin(&jb);
	jb_str(&jb, "a", "b");
	jb.err = -ENOMEM;
	jb_str(&jb, "c", "d");
	jb_raw(&jb, "xyz", 3);
	jb_end(&jb);
	assert_int_equal(jb.err, -ENOMEM);
	assert_string_equal(jb.p, "{\"a\":\"b\"");
	jb_begin(&jb); /* a new object clears it */
	jb_end(&jb);
	assert_int_equal(jb.err, 0);
	assert_string_equal(jb.p, "{}\n");
	jb_free(&jb);
}

/*
 * Hand the hostile values to python3's strict parser: the whole line must be
 * valid UTF-8, parse as one object, and hold only encodable strings (no lone
 * surrogates).  Prints the number of fields.
 */
static const char py_check[] = "import json,sys\n"
                               "s=sys.stdin.buffer.read().decode('utf-8')\n"
                               "assert s.count('\\n')==1 and s.endswith('\\n')\n"
                               "d=json.loads(s)\n"
                               "[v.encode('utf-8') for v in d.values()]\n"
                               "print(len(d))\n";

static void
test_python_parses(void **state)
{
	static const char hostile[][8] = {"\x80", "\xc0\x80", "\xed\xa0\x80", "\xf5\x80",
	    "\xe2\x82", "\x7f\x01\"\\", "\xff\xfe", "\xf4\x90\x80\x80", "\n\r\t\b\f", "\xc3"};
	char path[] = "/tmp/cgfw-test-json-XXXXXX";
	char cmd[256], out[32] = "", key[16];
	struct jbuf jb = {0};
	size_t n_fields = 0;
	FILE *f;
	int fd, r;

	(void)state;
	jb_begin(&jb);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		snprintf(key, sizeof(key), "h%zu", i);
		jb_str(&jb, key, hostile[i]);
		n_fields++;
	}
	for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		snprintf(key, sizeof(key), "e%zu", i);
		jb_strn(&jb, key, esc_cases[i].in,
		    esc_cases[i].n ? esc_cases[i].n : strlen(esc_cases[i].in));
		n_fields++;
	}
	jb_strn(&jb, "\x80key\"\0", "v", 1);
	n_fields++;
	jb_end(&jb);
	assert_int_equal(jb.err, 0);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, jb.p, jb.len), (ssize_t)jb.len);
	(void)close(fd);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$CGFW_PY\" <%s", path);
	assert_int_equal(setenv("CGFW_PY", py_check, 1), 0);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(out, sizeof(out), f))
		out[0] = '\0';
	r = pclose(f);
	(void)unlink(path);
	assert_int_equal(r, 0);
	assert_int_equal(strtoul(out, NULL, 10), n_fields);
	jb_free(&jb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_object),
	    cmocka_unit_test(test_empty_and_reuse),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_sticky_error),
	    cmocka_unit_test(test_python_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
