// SPDX-License-Identifier: MIT
/*
 * lib/status.c: the status file's parser (what `cgfw-loader status`, that is
 * cgfw-ctl, reads) and the one summary line it and systemd's STATUS= show.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/status.h"

static const char good[] = "# cgfw instance status (docs/status.md)\n"
                           "version=1\n"
                           "name=web\n"
                           "pid=4711\n"
                           "command=attach\n"
                           "state=enforcing\n"
                           "mode=allow-list\n"
                           "target=cgfw-web.slice\n"
                           "cgroup=/sys/fs/cgroup/cgfw.slice/cgfw-web.slice\n"
                           "cgroup_id=8123\n"
                           "started=1795960000\n"
                           "updated=1795960327\n"
                           "rules=3\n"
                           "rules_ip=1\n"
                           "rules_cidr=0\n"
                           "rules_name=2\n"
                           "rules_url=1\n"
                           "list_files=0\n"
                           "blocked=4\n"
                           "connect_blocked=2\n"
                           "egress_dropped=0\n"
                           "ring_lost=0\n"
                           "dns_blocked=1\n"
                           "http_blocked=1\n"
                           "events=9\n"
                           "events_lost=0\n"
                           "worker.cgfw-monitor=up\n"
                           "worker.cgfw-monitor.restarts=0\n"
                           "worker.cgfw-dnsproxy=restarting\n"
                           "worker.cgfw-dnsproxy.restarts=2\n"
                           "worker.cgfw-httpproxy=up\n"
                           "worker.cgfw-httpproxy.restarts=0\n";

/* s parsed from text with line (if any) appended. */
static int
parse(const char *extra, struct inst_status *s)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s%s", good, extra ? extra : "");
	return status_parse(buf, s);
}

static void
test_parse_good(void **state)
{
	struct inst_status s;

	(void)state;
	assert_int_equal(parse(NULL, &s), 0);
	assert_string_equal(s.name, "web");
	assert_int_equal(s.pid, 4711);
	assert_string_equal(s.command, "attach");
	assert_string_equal(s.state, "enforcing");
	assert_string_equal(s.mode, "allow-list");
	assert_string_equal(s.target, "cgfw-web.slice");
	assert_string_equal(s.cgroup, "/sys/fs/cgroup/cgfw.slice/cgfw-web.slice");
	assert_int_equal(s.cgroup_id, 8123);
	assert_int_equal(s.started, 1795960000);
	assert_int_equal(s.updated, 1795960327);
	assert_int_equal(s.rules, 3);
	assert_int_equal(s.rules_name, 2);
	assert_int_equal(s.rules_url, 1);
	assert_int_equal(s.blocked, 4);
	assert_int_equal(s.connect_blocked, 2);
	assert_int_equal(s.dns_blocked, 1);
	assert_int_equal(s.http_blocked, 1);
	assert_int_equal(s.events, 9);
	assert_int_equal(s.n_workers, 3);
	assert_string_equal(s.workers[1].name, "cgfw-dnsproxy");
	assert_int_equal(s.workers[0].up, 1);
	assert_int_equal(s.workers[1].up, 0);
	assert_int_equal(s.workers[1].restarts, 2);
	assert_string_equal(s.down, "cgfw-dnsproxy");
}

/* Hostile or broken files: each case is good + one line. */
static void
test_parse_table(void **state)
{
	static const struct {
		const char *line;
		int want;
	} cases[] = {
	    {"future_key=whatever\n", 0},                /* a newer loader's: skipped */
	    {"no equals sign here\n", 0},                /* not a key: skipped */
	    {"\n\n# a comment=with equals\n", 0},        /* blank and comment lines */
	    {"version=2\n", -EPROTO},                    /* another format */
	    {"version=x\n", -EPROTO},                    /* not a number */
	    {"pid=-1\n", -EBADMSG},                      /* negative */
	    {"pid=99999999999\n", -EBADMSG},             /* no pid */
	    {"pid=12abc\n", -EBADMSG},                   /* trailing garbage */
	    {"blocked=\n", -EBADMSG},                    /* empty number */
	    {"events=18446744073709551616\n", -EBADMSG}, /* over 64 bits */
	    {"started=9223372036854775808\n", -EBADMSG}, /* over int64 */
	    {"name=\n", -EBADMSG},                       /* a name is needed */
	    {"state=\n", -EBADMSG},
	};
	struct inst_status s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse(cases[i].line, &s);

		if (r != cases[i].want)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].line, r, cases[i].want);
	}
	/* Nothing at all, or no version line: missing keys. */
	{
		char empty[] = "";
		char noname[] = "version=1\npid=1\nstate=enforcing\nmode=allow-list\n";

		assert_int_equal(status_parse(empty, &s), -EBADMSG);
		assert_int_equal(status_parse(noname, &s), -EBADMSG);
	}
	/* Long values are cut to their field, never past it. */
	{
		char buf[8192];
		size_t n = (size_t)snprintf(buf, sizeof(buf), "%sname=", good);

		memset(buf + n, 'x', 1000);
		buf[n + 1000] = '\n';
		buf[n + 1001] = '\0';
		assert_int_equal(status_parse(buf, &s), 0);
		assert_int_equal(strlen(s.name), sizeof(s.name) - 1);
	}
	/* More workers than the struct holds: the rest are skipped. */
	{
		char buf[8192];
		size_t n = (size_t)snprintf(buf, sizeof(buf), "%s", good);

		for (int i = 0; i < STATUS_MAX_WORKERS + 4; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "worker.w%d=up\n", i);
		assert_int_equal(status_parse(buf, &s), 0);
		assert_int_equal(s.n_workers, STATUS_MAX_WORKERS);
	}
}

/* The one line of STATUS= and of `cgfw-loader status`. */
static void
test_summary(void **state)
{
	struct inst_status s;
	char line[512];

	(void)state;
	assert_int_equal(parse(NULL, &s), 0);
	snprintf(s.state, sizeof(s.state), "enforcing");
	status_summary(&s, line, sizeof(line));
	assert_string_equal(line,
	    "enforcing on cgfw-web.slice: allow-list mode, 3 rules; 4 blocked; "
	    "workers up");
	snprintf(s.state, sizeof(s.state), "degraded");
	status_summary(&s, line, sizeof(line));
	assert_string_equal(line,
	    "degraded on cgfw-web.slice: allow-list mode, 3 rules; 4 blocked; "
	    "cgfw-dnsproxy is down (its traffic fails until it is back)");
	snprintf(s.state, sizeof(s.state), "stale");
	status_summary(&s, line, sizeof(line));
	assert_string_equal(line, "stale: cgfw-loader pid 4711 is gone; cgfw-web.slice stays "
	                          "filtered until cgfw-loader cleanup");
	snprintf(s.state, sizeof(s.state), "enforcing");
	snprintf(s.mode, sizeof(s.mode), "log-only");
	status_summary(&s, line, sizeof(line));
	assert_string_equal(line, "enforcing on cgfw-web.slice: log-only mode (nothing blocked); "
	                          "workers up");
	snprintf(s.mode, sizeof(s.mode), "block-list");
	s.rules = 1;
	s.blocked = 0;
	status_summary(&s, line, sizeof(line));
	assert_string_equal(line,
	    "enforcing on cgfw-web.slice: block-list mode, 1 rule; 0 blocked; "
	    "workers up");
	/* A short buffer is cut, still a string. */
	status_summary(&s, line, 10);
	assert_string_equal(line, "enforcing");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
