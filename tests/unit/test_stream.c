// SPDX-License-Identifier: MIT
/* The event socket's request line (monitor/stream.c): what a reader may ask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/stream.h"

static enum mon_stream_req
req(const char *s, unsigned *n)
{
	*n = 12345;
	return mon_stream_request(s, strlen(s), n);
}

static void
test_request(void **state)
{
	char big[MON_STREAM_REQ_MAX];
	unsigned n;

	(void)state;
	assert_int_equal(req("follow\n", &n), MON_REQ_FOLLOW);
	assert_int_equal(n, MON_STREAM_KEEP);
	assert_int_equal(req("last\n", &n), MON_REQ_LAST);
	assert_int_equal(n, MON_STREAM_KEEP);
	assert_int_equal(req("last 10\n", &n), MON_REQ_LAST);
	assert_int_equal(n, 10);
	assert_int_equal(req("follow 0\n", &n), MON_REQ_FOLLOW);
	assert_int_equal(n, 0);
	/* More than is kept: what is kept. */
	assert_int_equal(req("last 99999\n", &n), MON_REQ_LAST);
	assert_int_equal(n, MON_STREAM_KEEP);
	/* Not yet a line. */
	assert_int_equal(req("", &n), MON_REQ_MORE);
	assert_int_equal(req("foll", &n), MON_REQ_MORE);
	assert_int_equal(req("follow", &n), MON_REQ_MORE);
	/* Anything else. */
	assert_int_equal(req("\n", &n), MON_REQ_BAD);
	assert_int_equal(req("FOLLOW\n", &n), MON_REQ_BAD);
	assert_int_equal(req("follow\r\n", &n), MON_REQ_BAD);
	assert_int_equal(req("followx\n", &n), MON_REQ_BAD);
	assert_int_equal(req("last \n", &n), MON_REQ_BAD);
	assert_int_equal(req("last -1\n", &n), MON_REQ_BAD);
	assert_int_equal(req("last 1x\n", &n), MON_REQ_BAD);
	assert_int_equal(req("last 100000\n", &n), MON_REQ_BAD);
	assert_int_equal(req("last  1\n", &n), MON_REQ_BAD);
	assert_int_equal(req("las\n", &n), MON_REQ_BAD);
	/* Something after the line. */
	assert_int_equal(req("follow\nlast\n", &n), MON_REQ_BAD);
	assert_int_equal(req("last\nx", &n), MON_REQ_BAD);
	/* A NUL inside. */
	assert_int_equal(mon_stream_request("last\0\n", 6, &n), MON_REQ_BAD);
	/* Too long without a newline: cut off, not waited for. */
	memset(big, 'f', sizeof(big));
	assert_int_equal(mon_stream_request(big, MON_STREAM_REQ_MAX - 2, &n), MON_REQ_MORE);
	assert_int_equal(mon_stream_request(big, MON_STREAM_REQ_MAX - 1, &n), MON_REQ_BAD);
	assert_int_equal(mon_stream_request(big, MON_STREAM_REQ_MAX, &n), MON_REQ_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
