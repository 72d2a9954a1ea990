// SPDX-License-Identifier: MIT
/*
 * log_escape() (lib/log.c): input quoted in error messages cannot forge a
 * line, a terminal escape or a closing quote, and long input is cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/log.h"

struct esc_case {
	const char *in;
	size_t n;
	size_t buf_len;
	const char *want;
};

#define S(s) s, sizeof(s) - 1

static const struct esc_case esc_cases[] = {
    {S("example.com"), LOG_ESC_LEN, "example.com"},
    {S(""), LOG_ESC_LEN, ""},
    {S("exa mple.com"), LOG_ESC_LEN, "exa mple.com"},
    /* A NUL is shown, and what follows it too. */
    {S("198.51.100.8\0,198.51.100.7"), LOG_ESC_LEN, "198.51.100.8\\x00,198.51.100.7"},
    /* A newline cannot start a forged log line; a terminal escape is inert. */
    {S("a\nfake: line"), LOG_ESC_LEN, "a\\x0afake: line"},
    {S("\x1b[31mred"), LOG_ESC_LEN, "\\x1b[31mred"},
    {S("tab\there\r"), LOG_ESC_LEN, "tab\\x09here\\x0d"},
    {S("del\x7f"), LOG_ESC_LEN, "del\\x7f"},
    /* Quotes and backslashes cannot close the quoting. */
    {S("say \"hi\" \\ bye"), LOG_ESC_LEN, "say \\\"hi\\\" \\\\ bye"},
    /* Bytes past ASCII are escaped one by one (no guessing at UTF-8). */
    {S("caf\xc3\xa9"), LOG_ESC_LEN, "caf\\xc3\\xa9"},
    /* Exactly fits: no cut. */
    {S("abcde"), 6, "abcde"},
    {S("abcdef"), 6, "ab..."},
    {S("abc"), 4, "abc"},
    {S("abcd"), 4, "..."},
    /* An escape is never split by the cut. */
    {S("ab\x01zzzz"), 8, "ab..."},
    {S("ab\x01"), 8, "ab\\x01"},
    {S("\"\""), 5, "\\\"\\\""},
    {S("\"\"x"), 5, "..."},
    {S("\"\"x"), 6, "\\\"\\\"x"},
    {S("\"\"xy"), 6, "\\\"..."},
};

static void
test_escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		char buf[LOG_ESC_LEN + 8];

		memset(buf, 'Z', sizeof(buf));
		log_escape(buf, c->buf_len, c->in, c->n);
		if (strcmp(buf, c->want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, buf, c->want);
		assert_true(strlen(buf) < c->buf_len);
		assert_int_equal(buf[c->buf_len], 'Z');
	}
}

/* Long input: capped, and every output byte printable. */
static void
test_escape_long(void **state)
{
	char in[5000], buf[LOG_ESC_LEN];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	log_escape(buf, sizeof(buf), in, sizeof(in));
	n = strlen(buf);
	assert_true(n < sizeof(buf));
	assert_true(n >= sizeof(buf) - 5);
	assert_string_equal(buf + n - 3, "...");
	for (size_t i = 0; i < n; i++)
		assert_true(buf[i] >= 0x20 && buf[i] < 0x7f);

	memset(in, 'a', sizeof(in));
	log_escape(buf, sizeof(buf), in, sizeof(in));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, in, sizeof(buf) - 4);
	assert_string_equal(buf + sizeof(buf) - 4, "...");
}

static void
test_escape_tiny_buffer(void **state)
{
	char buf[4] = "xyz";

	(void)state;
	log_escape(buf, 1, "abc", 3);
	assert_string_equal(buf, "");
	memcpy(buf, "xyz", 4);
	log_escape(buf, 0, "abc", 3);
	assert_string_equal(buf, "xyz");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_escape_long),
	    cmocka_unit_test(test_escape_tiny_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
