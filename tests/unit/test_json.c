// SPDX-License-Identifier: MIT
/*
 * The JSON line builder (lib/json.c).  Event fields carry bytes from the
 * monitored processes, so the escaper is checked byte for byte on hostile
 * input, and its output is handed to a real JSON parser.
 */
#include <errno.h>
#include <inttypes.h>
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

/* The fast paths against printf and a plain escaper, on edge and random input. */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
check_num(uint64_t u)
{
	char want[32], got[JB_NUM_MAX + 1];
	size_t n;

	snprintf(want, sizeof(want), "%" PRIu64, u);
	n = jb_fmt_uint(got, u);
	got[n] = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("jb_fmt_uint(%s) = %s", want, got);
	snprintf(want, sizeof(want), "%" PRId64, (int64_t)u);
	n = jb_fmt_int(got, (int64_t)u);
	got[n] = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("jb_fmt_int(%s) = %s", want, got);
}

static void
test_fmt_num(void **state)
{
	struct jbuf jb = {0};
	uint64_t p = 1;

	(void)state;
	check_num(0);
	check_num(UINT64_MAX);
	check_num((uint64_t)INT64_MIN);
	check_num((uint64_t)INT64_MAX);
	check_num((uint64_t)INT64_MIN + 1);
	/* Every length, at its edges: 10^k - 1, 10^k, 10^k + 1, and their negatives. */
	for (int k = 0; k < 20; k++, p *= 10)
		for (int d = -1; d <= 1; d++) {
			check_num(p + (uint64_t)d);
			check_num(-(p + (uint64_t)d));
		}
	for (int i = 0; i < 200000; i++) {
		uint64_t v = rnd();

		check_num(v >> (v & 63)); /* every magnitude */
	}
	/* As fields, after a key. */
	jb_begin(&jb);
	jb_int(&jb, "a", INT64_MIN);
	jb_uint(&jb, "b", UINT64_MAX);
	jb_int(&jb, "c", -1);
	jb_uint(&jb, "d", 0);
	jb_end(&jb);
	assert_string_equal(
	    jb.p, "{\"a\":-9223372036854775808,\"b\":18446744073709551615,\"c\":-1,\"d\":0}\n");
	jb_free(&jb);
}

/* The escaper as it was, a byte at a time with snprintf: the reference. */
static size_t
ref_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static size_t
ref_escape(char *out, const unsigned char *s, size_t n)
{
	size_t o = 0, l;

	out[o++] = '"';
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
		} else if ((l = ref_utf8_len(s + i, n - i)) == 0) {
			memcpy(out + o, "\\ufffd", 6);
			o += 6;
		} else {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
			continue;
		}
		i++;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

static int
ref_bare(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == '"' || s[i] == '\\' || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Random bytes, mostly plain, with every kind of byte and UTF-8 piece in between. */
static size_t
rnd_bytes(unsigned char *s, size_t max)
{
	static const char *const pieces[] = {"\"", "\\", "\n", "\r", "\t", "\x01", "\x1f", "\x7f",
	    " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xc3",
	    "\xe2\x82", "\xf0\x9f\x98", "\x80", "\xbf", "\xc0\x80", "\xed\xa0\x80",
	    "\xf4\x90\x80\x80", "\xf5", "\xff", "\xfe", "\x20", "\x7e", "\x21"};
	size_t n = 0, want = rnd() % max;

	while (n < want) {
		uint64_t r = rnd();

		if (r % 8) {
			s[n++] = (unsigned char)(0x20 + (r >> 8) % 95);
		} else if (r % 64 == 0) {
			s[n++] = (unsigned char)(r >> 8); /* any byte, NUL included */
		} else {
			const char *p = pieces[(r >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = p[0] ? strlen(p) : 1;

			if (n + l > max)
				break;
			memcpy(s + n, p, l);
			n += l;
		}
	}
	return n;
}

static void
test_escape_reference(void **state)
{
	enum { MAX = 48 };
	unsigned char in[MAX];
	char want[6 * MAX + 3];
	struct jbuf jb = {0};

	(void)state;
	/* Every byte alone and every pair, then random strings after 0-7 bytes already there. */
	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b <= 256; b++) {
			size_t n = b == 256 ? 1 : 2;

			in[0] = (unsigned char)a;
			in[1] = (unsigned char)b;
			jb_reset(&jb);
			jb_escape(&jb, in, n);
			ref_escape(want, in, n);
			if (jb.err || strcmp(jb.p, want) != 0)
				fail_msg("bytes %02x %02x: got %s, expected %s", a, b, jb.p, want);
			assert_int_equal(jb_bare(in, n), ref_bare(in, n));
		}
	for (int i = 0; i < 300000; i++) {
		size_t n = rnd_bytes(in, MAX), pre = (size_t)i % 8, wl;

		jb_reset(&jb);
		jb_raw(&jb, "xxxxxxx", pre);
		jb_escape(&jb, in, n);
		wl = ref_escape(want, in, n);
		assert_int_equal(jb.err, 0);
		assert_int_equal(jb.len, pre + wl);
		if (memcmp(jb.p + pre, want, wl + 1) != 0)
			fail_msg(
			    "case %d (%zu bytes): got %s, expected %s", i, n, jb.p + pre, want);
		if (jb_bare(in, n) != ref_bare(in, n))
			fail_msg("case %d: jb_bare() %d", i, jb_bare(in, n));
	}
	jb_free(&jb);
}

/* jb_reserve()/jb_commit(): the room and the NUL after it; nothing after an error. */
static void
test_reserve(void **state)
{
	struct jbuf jb = {0};
	char *o;

	(void)state;
	o = jb_reserve(&jb, 1000);
	assert_non_null(o);
	assert_true(jb.cap > 1000);
	memset(o, 'a', 1000);
	jb_commit(&jb, 3);
	assert_string_equal(jb.p, "aaa");
	jb.err = -ENOMEM;
	assert_null(jb_reserve(&jb, 1));
	jb_raw(&jb, "b", 1);
	jb_escape(&jb, "c", 1);
	assert_string_equal(jb.p, "aaa");
	jb_reset(&jb);
	assert_non_null(jb_reserve(&jb, 1));
	/* A length no buffer can hold fails, and sticks. */
	jb_escape(&jb, "", SIZE_MAX / 4);
	assert_int_equal(jb.err, -ENOMEM);
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
	    cmocka_unit_test(test_fmt_num),
	    cmocka_unit_test(test_escape_reference),
	    cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
