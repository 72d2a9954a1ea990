// SPDX-License-Identifier: MIT
/* The event socket's request line (monitor/stream.c): what a reader may ask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor/events.h"
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

static struct sockaddr_un sun;

static int
listener(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "cgfw-test-stream-%d", (int)getpid());
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* A reader that asked req (NULL: nothing). */
static int
reader(uv_loop_t *loop, const char *req)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (req)
		assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	for (int i = 0; i < 4; i++)
		uv_run(loop, UV_RUN_NOWAIT);
	return fd;
}

/* What fd has for us now, appended to buf (NUL-terminated, cap bytes). */
static size_t
drain(int fd, char *buf, size_t len, size_t cap)
{
	ssize_t n;

	while (len + 1 < cap && (n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * Two readers: one reads, one never does.  The one that never reads is cut
 * off once 1 MiB waits for it, counted and said (READER DROPPED) to the
 * other, which got every line; "last" gets the kept lines, then EOF; a bad
 * request is closed at once.
 */
static void
test_readers(void **state)
{
	static char got[8 << 20];
	uv_loop_t loop;
	struct mon_out out = {.json_fd = -1, .journal_fd = -1, .text_fd = -1};
	struct mon_stream *s = calloc(1, sizeof(*s));
	char line[600];
	size_t len = 0;
	int fast, slow, last, bad, i, sent = 0;

	(void)state;
	assert_non_null(s);
	assert_int_equal(uv_loop_init(&loop), 0);
	mon_stream_start(s, &loop, listener(), &out);
	fast = reader(&loop, "follow\n");
	slow = reader(&loop, "follow\n");
	assert_int_equal(s->n_readers, 2);
	assert_int_equal(s->served, 2);
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < 5000 && !s->dropped; i++) {
		mon_stream_line(s, line, sizeof(line));
		sent++;
		len = drain(fast, got, len, sizeof(got));
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	assert_int_equal(s->dropped, 1);
	assert_int_equal(s->n_readers, 1);
	/* More than the queue, less than the queue and two socket buffers. */
	assert_true((size_t)sent * sizeof(line) > MON_STREAM_QUEUE);
	assert_true((size_t)sent * sizeof(line) < MON_STREAM_QUEUE + (4U << 20));
	for (i = 0; i < 4; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	len = drain(fast, got, len, sizeof(got));
	assert_int_equal(count(got, "xxx\n"), sent);
	assert_int_equal(count(got, "\"msg\":\"READER DROPPED\""), 1);
	assert_int_equal(count(got, "\"count\":1,"), 1);
	/* The one cut off: what its socket held, then EOF. */
	{
		char *rest = malloc(8 << 20);
		size_t n = 0;
		ssize_t r;

		assert_non_null(rest);
		while ((r = recv(slow, rest, 8 << 20, MSG_DONTWAIT)) > 0)
			n += (size_t)r;
		assert_int_equal(r, 0);
		assert_true(n < (size_t)sent * sizeof(line));
		free(rest);
	}
	/* last 2: the last two lines kept (the READER DROPPED line last), then the end. */
	last = reader(&loop, "last 2\n");
	len = drain(last, got, 0, sizeof(got));
	assert_int_equal(count(got, "\n"), 2);
	assert_int_equal(count(got, "READER DROPPED"), 1);
	assert_int_equal(recv(last, got, 1, MSG_DONTWAIT), 0);
	/* A bad request: closed. */
	bad = reader(&loop, "tail\n");
	assert_int_equal(recv(bad, got, 1, MSG_DONTWAIT), 0);
	assert_int_equal(s->bad, 1);
	assert_int_equal(s->n_readers, 1);

	mon_stream_stop(s);
	(void)close(s->listen_fd);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(recv(fast, got, 1, MSG_DONTWAIT), 0); /* the end */
	(void)close(fast);
	(void)close(slow);
	(void)close(last);
	(void)close(bad);
	mon_out_free(&out);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request),
	    cmocka_unit_test(test_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
