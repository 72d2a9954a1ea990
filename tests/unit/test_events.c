// SPDX-License-Identifier: MIT
/*
 * Ring-buffer records -> event lines (monitor/events.c).  Records are crafted
 * here as BPF would write them, malformed ones included; the process command
 * line comes from a fake /proc so hostile argv bytes can be checked against a
 * real JSON parser.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf/egress.h"
#include "monitor/events.h"

#define PID 4242

#define assert_has(hay, needle)                                                                    \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("'%s' not found in '%s'", (needle), (hay));                       \
	} while (0)

#define assert_lacks(hay, needle)                                                                  \
	do {                                                                                       \
		if (strstr((hay), (needle)))                                                       \
			fail_msg("'%s' unexpected in '%s'", (needle), (hay));                      \
	} while (0)

/* Ids as the loader numbers them: name rules in between leave gaps. */
static const struct mon_rule rules[] = {
    {.id = 1,
        .action = CGFW_ACT_BLOCK,
        .text = "192.0.2.7",
        .origin = "--block-list",
        .kind = "IP"},
    {.id = 2,
        .action = CGFW_ACT_ALLOW,
        .text = "10.0.0.0/8",
        .origin = "cgfw.conf:3",
        .kind = "CIDR"},
    {.id = 5,
        .action = CGFW_ACT_BLOCK,
        .text = "198.51.100.0/24",
        .origin = "cgfw.conf:9",
        .kind = "CIDR"},
};

struct fix {
	struct mon_out out;
	struct mon_rule rules[sizeof(rules) / sizeof(rules[0])];
	char proc[64]; /* a fake /proc */
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->proc, sizeof(f->proc), "/tmp/cgfw-test-events-XXXXXX");
	if (!mkdtemp(f->proc)) {
		free(f);
		return -1;
	}
	memcpy(f->rules, rules, sizeof(rules));
	f->out.mode = CGFW_MODE_BLOCK_LIST;
	f->out.rules = f->rules;
	f->out.n_rules = sizeof(rules) / sizeof(rules[0]);
	f->out.cgroup_id = 9001;
	f->out.json_fd = -1;
	f->out.journal_fd = -1;
	f->out.text_fd = -1;
	f->out.realtime_offset_ns = 1700000000LL * 1000000000LL;
	f->out.proc_root = f->proc;
	f->out.argv_fd = -1; /* no exec map: the fake /proc is the only source */
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char path[128];

	snprintf(path, sizeof(path), "%s/%d/cmdline", f->proc, PID);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/%d", f->proc, PID);
	(void)rmdir(path);
	(void)rmdir(f->proc);
	/* The rules are the fixture's (static), the rest is what the writer allocated. */
	f->out.rules = f->out.alt_rules = NULL;
	f->out.n_rules = f->out.n_alt_rules = 0;
	mon_out_free(&f->out);
	free(f);
	return 0;
}

/* A blocked TCP connect to 192.0.2.7:443 by a known owner, matching rule 1. */
static struct cgfw_event
base_event(void)
{
	struct cgfw_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = 1500000000ULL;
	e.cgroup_id = 77;
	e.cookie = 12345;
	e.tgid = PID;
	e.pid = PID + 1;
	e.uid = 1000;
	e.rule_id = 1;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &e.daddr[0]), 1);
	e.dport = 443;
	e.family = AF_INET;
	e.proto = 6;
	e.hook = CGFW_HOOK_CONNECT4;
	e.verdict = CGFW_V_BLOCK;
	e.reason = CGFW_R_BLOCK_RULE;
	e.flags = CGFW_EV_OWNER_KNOWN;
	memcpy(e.comm, "curl", 5);
	return e;
}

static void
format_ok(struct fix *f, const struct cgfw_event *e)
{
	uint64_t bad = f->out.n_bad;

	assert_int_equal(mon_event_format(&f->out, e, sizeof(*e)), 0);
	assert_int_equal(f->out.n_bad, bad);
	/* One line each. */
	assert_non_null(f->out.jb.p);
	assert_non_null(f->out.tb.p);
	assert_int_equal(f->out.jb.len, strlen(f->out.jb.p));
	assert_int_equal(f->out.tb.len, strlen(f->out.tb.p));
	assert_ptr_equal(strchr(f->out.jb.p, '\n'), f->out.jb.p + f->out.jb.len - 1);
	assert_ptr_equal(strchr(f->out.tb.p, '\n'), f->out.tb.p + f->out.tb.len - 1);
}

static void
write_cmdline(struct fix *f, const char *bytes, size_t n)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%d", f->proc, PID);
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/%d/cmdline", f->proc, PID);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, n), (ssize_t)n);
	(void)close(fd);
}

/*
 * python3's strict parser on the JSON line: valid UTF-8, exactly one line,
 * one object.  Writes the named field, as UTF-8, to out (NUL-terminated).
 */
static const char py_field[] = "import json,sys\n"
                               "s=sys.stdin.buffer.read().decode('utf-8')\n"
                               "assert s.count('\\n')==1 and s.endswith('\\n')\n"
                               "d=json.loads(s)\n"
                               "sys.stdout.buffer.write(str(d[sys.argv[1]]).encode('utf-8'))\n";

static void
py_get(const struct jbuf *jb, const char *field, char *out, size_t len)
{
	char path[] = "/tmp/cgfw-test-events-json-XXXXXX";
	char cmd[256];
	size_t n;
	FILE *p;
	int fd, r;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, jb->p, jb->len), (ssize_t)jb->len);
	(void)close(fd);
	assert_int_equal(setenv("CGFW_PY", py_field, 1), 0);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$CGFW_PY\" %s <%s", field, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	r = pclose(p);
	(void)unlink(path);
	assert_int_equal(r, 0);
}

static void
test_blocked_connect(void **state)
{
	static const char *const want[] = {
	    "{\"time\":\"2023-11-14T22:13:21.500000000Z\",",
	    "\"level\":\"WARN\"",
	    "\"msg\":\"PACKET BLOCKED\"",
	    "\"because\":\"MatchedBlockListIP\"",
	    "\"blocked\":true",
	    "\"blockedAt\":\"connect\"",
	    "\"ruleSource\":\"MatchedBlockListIP\"",
	    "\"ruleSourceComment\":\"192.0.2.7 matched block list rule 192.0.2.7 (--block-list)\"",
	    "\"pid\":4242,",
	    "\"port\":\"443\"",
	    "\"ip\":\"192.0.2.7\"",
	    "\"cmd\":\"curl\"",
	    "\"comm\":\"curl\"",
	    "\"uid\":1000,",
	    "\"tid\":4243,",
	    "\"cgroup\":77,",
	    "\"proto\":\"tcp\"",
	    "\"rule\":\"192.0.2.7\"",
	    "\"hook\":\"connect4\"",
	    "\"mode\":\"block-list\"}\n",
	};
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	char got[64];

	format_ok(f, &e);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_has(f->out.jb.p, want[i]);
	assert_string_equal(f->out.tb.p,
	    "WARN PACKET BLOCKED because=MatchedBlockListIP blocked=true blockedAt=connect "
	    "ip=192.0.2.7 port=443 proto=tcp rule=192.0.2.7 pid=4242 cmd=curl\n");
	py_get(&f->out.jb, "pid", got, sizeof(got));
	assert_string_equal(got, "4242");
	py_get(&f->out.jb, "blocked", got, sizeof(got));
	assert_string_equal(got, "True");
}

static void
test_owner_unknown(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();

	/* Even with a cmdline for the tgid, an unknown owner is not looked up. */
	write_cmdline(f, "wrong\0", 6);
	e.flags = 0;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"pid\":-1,");
	assert_has(f->out.jb.p, "\"cmd\":\"unknown\"");
	assert_has(f->out.jb.p, "\"uid\":-1,");
	assert_has(f->out.jb.p, "\"tid\":-1,");
	assert_has(f->out.jb.p, "\"cgroup\":9001,");
	assert_lacks(f->out.jb.p, "wrong");
	assert_has(f->out.tb.p, " pid=-1 cmd=unknown\n");
}

static void
test_allowed_and_defaults(void **state)
{
	static const struct {
		uint8_t hook, verdict, reason;
		uint32_t rule_id;
		int mode;
		const char *want[5];
		const char *text;
	} cases[] = {
	    {CGFW_HOOK_CONNECT4, CGFW_V_ALLOW, CGFW_R_ALLOW_RULE, 2, CGFW_MODE_ALLOW_LIST,
	        {"\"level\":\"INFO\",\"msg\":\"PACKET ALLOWED\",\"because\":\"MatchedAllowListCIDR\","
	         "\"blocked\":false,\"blockedAt\":\"\"",
	            "\"ruleSource\":\"MatchedAllowListCIDR\"",
	            "\"ruleSourceComment\":\"192.0.2.7 matched allow list rule 10.0.0.0/8 "
	            "(cgfw.conf:3)\"",
	            "\"rule\":\"10.0.0.0/8\"", "\"mode\":\"allow-list\""},
	        "INFO PACKET ALLOWED because=MatchedAllowListCIDR blocked=false ip=192.0.2.7 "
	        "port=443 proto=tcp rule=10.0.0.0/8 pid=4242 cmd=curl\n"},
	    {CGFW_HOOK_EGRESS, CGFW_V_BLOCK, CGFW_R_BLOCK_RULE, 5, CGFW_MODE_BLOCK_LIST,
	        {"\"blockedAt\":\"packet\"", "\"hook\":\"egress\"",
	            "\"because\":\"MatchedBlockListCIDR\"", "\"rule\":\"198.51.100.0/24\"",
	            "(cgfw.conf:9)"},
	        "WARN PACKET BLOCKED because=MatchedBlockListCIDR blocked=true blockedAt=packet "
	        "ip=192.0.2.7 port=443 proto=tcp rule=198.51.100.0/24 pid=4242 cmd=curl\n"},
	    {CGFW_HOOK_SENDMSG4, CGFW_V_BLOCK, CGFW_R_NOT_ALLOWED, 0, CGFW_MODE_ALLOW_LIST,
	        {"\"because\":\"IPNotAllowed\"", "\"ruleSource\":\"Default\"", "\"rule\":\"\"",
	            "\"ruleSourceComment\":\"allow-list mode: 192.0.2.7 matches no allow rule\"",
	            "\"hook\":\"sendmsg4\""},
	        "WARN PACKET BLOCKED because=IPNotAllowed blocked=true blockedAt=connect "
	        "ip=192.0.2.7 port=443 proto=tcp pid=4242 cmd=curl\n"},
	    {CGFW_HOOK_CONNECT4, CGFW_V_ALLOW, CGFW_R_NOT_BLOCKED, 0, CGFW_MODE_BLOCK_LIST,
	        {"\"because\":\"NotInBlockList\"", "\"blocked\":false",
	            "block-list mode: 192.0.2.7 matches no block rule",
	            "\"ruleSource\":\"Default\"", "\"mode\":\"block-list\""},
	        NULL},
	    {CGFW_HOOK_CONNECT4, CGFW_V_BLOCK, CGFW_R_NOT_RESOLVED, 0, CGFW_MODE_BLOCK_LIST,
	        {"\"because\":\"IPNotResolvedForAllowedDomain\"",
	            "192.0.2.7 was not resolved for an allowed domain", "\"blocked\":true",
	            "\"blockedAt\":\"connect\"", "\"rule\":\"\""},
	        NULL},
	    {CGFW_HOOK_CONNECT4, CGFW_V_ALLOW, CGFW_R_LOG_ONLY, 0, CGFW_MODE_LOG_ONLY,
	        {"\"because\":\"LogOnly\"", "log-only mode: nothing is blocked",
	            "\"mode\":\"log-only\"", "\"blocked\":false", "\"level\":\"INFO\""},
	        NULL},
	    {CGFW_HOOK_CONNECT4, CGFW_V_ALLOW, CGFW_R_LOOPBACK, 0, CGFW_MODE_ALLOW_LIST,
	        {"\"because\":\"Loopback\"", "loopback is always allowed", "\"blocked\":false",
	            "\"ruleSource\":\"Default\"", "\"mode\":\"allow-list\""},
	        NULL},
	    {CGFW_HOOK_CONNECT4, CGFW_V_BLOCK, CGFW_R_URL_ONLY, 0, CGFW_MODE_ALLOW_LIST,
	        {"\"because\":\"URLRuleHostOtherPort\"",
	            "\"ruleSourceComment\":\"192.0.2.7 is allowed by URL rules only, which open "
	            "HTTP and HTTPS\"",
	            "\"hook\":\"connect4\"", "\"blockedAt\":\"connect\"",
	            "\"ruleSource\":\"Default\""},
	        NULL},
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgfw_event e = base_event();

		e.hook = cases[i].hook;
		e.verdict = cases[i].verdict;
		e.reason = cases[i].reason;
		e.rule_id = cases[i].rule_id;
		f->out.mode = cases[i].mode;
		format_ok(f, &e);
		for (size_t j = 0; j < 5; j++)
			assert_has(f->out.jb.p, cases[i].want[j]);
		if (cases[i].text)
			assert_string_equal(f->out.tb.p, cases[i].text);
	}
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *what;
		size_t len; /* 0: full */
		int field;  /* which one to set */
		uint64_t val;
	} cases[] = {
	    {"short by one", sizeof(struct cgfw_event) - 1, 0, 0},
	    {"one byte", 1, 0, 0},
	    {"hook 0", 0, 1, 0},
	    {"hook past the last", 0, 1, CGFW_HOOK_MAX},
	    {"hook 255", 0, 1, 255},
	    {"verdict 0", 0, 2, 0},
	    {"verdict 3", 0, 2, 3},
	    {"reason 0", 0, 3, 0},
	    {"reason max", 0, 3, CGFW_R_MAX},
	    {"reason 255", 0, 3, 255},
	    {"family 0", 0, 4, 0},
	    {"family AF_UNIX", 0, 4, AF_UNIX},
	    {"family AF_PACKET outside sock_create", 0, 4, AF_PACKET},
	    {"rule 3 (a gap)", 0, 5, 3},
	    {"rule 6 (past the last)", 0, 5, 6},
	    {"rule UINT32_MAX", 0, 5, UINT32_MAX},
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgfw_event e = base_event();
		uint64_t bad = f->out.n_bad;
		int r;

		switch (cases[i].field) {
		case 1:
			e.hook = (uint8_t)cases[i].val;
			break;
		case 2:
			e.verdict = (uint8_t)cases[i].val;
			break;
		case 3:
			e.reason = (uint8_t)cases[i].val;
			break;
		case 4:
			e.family = (uint8_t)cases[i].val;
			break;
		case 5:
			e.rule_id = (uint32_t)cases[i].val;
			break;
		}
		r = mon_event_format(&f->out, &e, cases[i].len ? cases[i].len : sizeof(e));
		if (r != -EINVAL)
			fail_msg("%s: %d, expected -EINVAL", cases[i].what, r);
		if (f->out.n_bad != bad + 1)
			fail_msg("%s: n_bad not counted", cases[i].what);
	}
	assert_int_equal(f->out.n_events, 0);

	/* A longer record (a newer BPF object) is fine. */
	{
		unsigned char big[sizeof(struct cgfw_event) + 16];
		struct cgfw_event e = base_event();

		memset(big, 0xff, sizeof(big));
		memcpy(big, &e, sizeof(e));
		assert_int_equal(mon_event_format(&f->out, big, sizeof(big)), 0);
	}
}

/*
 * After a reload: an event names the rule of the policy slot that decided it
 * (CGFW_EV_SLOT1), the other slot's table holding the rules before; with no
 * table for its slot (a monitor started after a reload) it is written without
 * a rule, not refused.
 */
static void
test_slots(void **state)
{
	static const struct mon_rule alt[] = {
	    {.id = 1,
	        .action = CGFW_ACT_ALLOW,
	        .text = "192.0.2.0/24",
	        .origin = "cgfw.conf:2",
	        .kind = "CIDR"},
	};
	struct fix *f = *state;
	struct cgfw_event e = base_event();

	f->out.alt_rules = (struct mon_rule *)alt;
	f->out.n_alt_rules = 1;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"rule\":\"192.0.2.7\"");
	e.flags |= CGFW_EV_SLOT1;
	e.verdict = CGFW_V_ALLOW;
	e.reason = CGFW_R_ALLOW_RULE;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"rule\":\"192.0.2.0/24\"");
	assert_has(f->out.jb.p, "\"because\":\"MatchedAllowListCIDR\"");
	/* The slot in force is 1 now: the same event of slot 0 names slot 0's table. */
	f->out.slot = 1;
	f->out.rules = (struct mon_rule *)alt;
	f->out.n_rules = 1;
	f->out.alt_rules = f->rules;
	f->out.n_alt_rules = sizeof(rules) / sizeof(rules[0]);
	e.flags &= ~CGFW_EV_SLOT1;
	e.verdict = CGFW_V_BLOCK;
	e.reason = CGFW_R_BLOCK_RULE;
	e.rule_id = 5;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"rule\":\"198.51.100.0/24\"");
	/* No table for slot 0: no rule named, and not malformed. */
	f->out.alt_rules = NULL;
	f->out.n_alt_rules = 0;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"rule\":\"\"");
	/* A missing rule of the slot in force is still malformed. */
	e.flags |= CGFW_EV_SLOT1;
	e.rule_id = 2;
	assert_int_equal(mon_event_format(&f->out, &e, sizeof(e)), -EINVAL);
	f->out.slot = 0;
	f->out.rules = f->rules;
	f->out.n_rules = sizeof(rules) / sizeof(rules[0]);
}

/* The command line: NUL-separated argv with a quote, a newline and invalid UTF-8. */
static void
test_cmdline(void **state)
{
	static const char argv[] = "/usr/bin/curl\0-H\0X-A: \"q\"\0line1\nline2\0\xff\xfe\xc3\0\0";
	static const char want_cmd[] =
	    "/usr/bin/curl -H X-A: \"q\" line1\nline2 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";
	static const char want_json[] =
	    "\"cmd\":\"/usr/bin/curl -H X-A: \\\"q\\\" line1\\nline2 \\ufffd\\ufffd\\ufffd\"";
	static const char want_text[] =
	    " pid=4242 cmd=\"/usr/bin/curl -H X-A: \\\"q\\\" line1\\nline2 \\ufffd\\ufffd\\ufffd\"\n";
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	char got[256];
	size_t n;

	write_cmdline(f, argv, sizeof(argv) - 1);
	format_ok(f, &e);
	assert_has(f->out.jb.p, want_json);
	/* comm stays what the kernel said. */
	assert_has(f->out.jb.p, "\"comm\":\"curl\"");
	py_get(&f->out.jb, "cmd", got, sizeof(got));
	assert_string_equal(got, want_cmd);

	n = strlen(f->out.tb.p);
	assert_true(n > sizeof(want_text) - 1);
	assert_string_equal(f->out.tb.p + n - (sizeof(want_text) - 1), want_text);
}

static void
test_comm_fallback(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	char got[64];

	/* No cmdline (the process is gone): comm, all 16 bytes, no NUL. */
	memcpy(e.comm, "0123456789\"bcd\n\xff", 16);
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"cmd\":\"0123456789\\\"bcd\\n\\ufffd\"");
	assert_has(f->out.jb.p, "\"comm\":\"0123456789\\\"bcd\\n\\ufffd\"");
	assert_has(f->out.tb.p, " cmd=\"0123456789\\\"bcd\\n\\ufffd\"\n");
	py_get(&f->out.jb, "comm", got, sizeof(got));
	assert_string_equal(got, "0123456789\"bcd\n\xef\xbf\xbd");

	/* An empty or all-NUL cmdline (a kernel thread, a zombie) also falls back. */
	write_cmdline(f, "\0\0\0", 3);
	memcpy(e.comm, "kworker\0", 8);
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"cmd\":\"kworker\"");
	write_cmdline(f, "", 0);
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"cmd\":\"kworker\"");
	assert_has(f->out.tb.p, " cmd=kworker\n");
}

static void
test_ipv6(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();

	e.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", e.daddr), 1);
	e.hook = CGFW_HOOK_CONNECT6;
	e.reason = CGFW_R_IPV6;
	e.rule_id = 0;
	e.dport = 80;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"ip\":\"2001:db8::1\"");
	assert_has(f->out.jb.p, "\"originalIp\":\"2001:db8::1\"");
	assert_has(f->out.jb.p, "\"because\":\"IPv6AlwaysBlocked\"");
	assert_has(f->out.jb.p, "\"hook\":\"connect6\"");
	assert_has(f->out.jb.p, "IPv6 is not supported yet and always blocked");
	assert_has(f->out.tb.p, " ip=2001:db8::1 port=80 ");

	/* A v4-mapped address and UDP on sendmsg6. */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.7", e.daddr), 1);
	e.hook = CGFW_HOOK_SENDMSG6;
	e.proto = 17;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"ip\":\"::ffff:192.0.2.7\"");
	assert_has(f->out.jb.p, "\"proto\":\"udp\"");
	assert_has(f->out.jb.p, "\"hook\":\"sendmsg6\"");
}

static void
test_protocols(void **state)
{
	static const struct {
		uint8_t proto;
		const char *name;
	} cases[] = {
	    {1, "icmp"},
	    {6, "tcp"},
	    {17, "udp"},
	    {58, "icmpv6"},
	    {0, "0"},
	    {132, "132"},
	    {255, "255"},
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgfw_event e = base_event();
		char want[32];

		e.proto = cases[i].proto;
		format_ok(f, &e);
		snprintf(want, sizeof(want), "\"proto\":\"%s\"", cases[i].name);
		assert_has(f->out.jb.p, want);
		snprintf(want, sizeof(want), " proto=%s ", cases[i].name);
		assert_has(f->out.tb.p, want);
	}
}

/* The address, port and numbers written by hand, against inet_ntop() and printf. */
static void
test_texts_by_hand(void **state)
{
	static const char *const addrs[] = {"0.0.0.0", "255.255.255.255", "1.2.3.4", "10.0.0.1",
	    "100.10.1.0", "192.168.99.255", "9.99.199.249"};
	static const uint16_t ports[] = {0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535};
	struct fix *f = *state;
	char want[128], ip[INET_ADDRSTRLEN];

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]) * 40; i++) {
		struct cgfw_event e = base_event();

		e.reason = CGFW_R_NOT_BLOCKED;
		if (i < sizeof(addrs) / sizeof(addrs[0]))
			assert_int_equal(inet_pton(AF_INET, addrs[i], &e.daddr[0]), 1);
		else
			e.daddr[0] = (uint32_t)(i * 2654435761u);
		e.dport = ports[i % (sizeof(ports) / sizeof(ports[0]))];
		e.tgid = (uint32_t)(i * 7919u);
		e.pid = UINT32_MAX - (uint32_t)i;
		e.uid = (uint32_t)i * 1000003u;
		e.cgroup_id = i ? UINT64_MAX / i : 0;
		format_ok(f, &e);
		assert_non_null(inet_ntop(AF_INET, &e.daddr[0], ip, sizeof(ip)));
		snprintf(want, sizeof(want), "\"port\":\"%u\",\"ip\":\"%s\",\"originalIp\":\"%s\"",
		    e.dport, ip, ip);
		assert_has(f->out.jb.p, want);
		snprintf(want, sizeof(want),
		    "\"ruleSourceComment\":\"block-list mode: %s matches no "
		    "block rule\",\"pid\":%u,",
		    ip, e.tgid);
		assert_has(f->out.jb.p, want);
		snprintf(want, sizeof(want), "\"uid\":%u,\"tid\":%u,\"cgroup\":%" PRIu64 ",", e.uid,
		    e.pid, (uint64_t)e.cgroup_id);
		assert_has(f->out.jb.p, want);
		snprintf(want, sizeof(want), " ip=%s port=%u proto=tcp pid=%u cmd=", ip, e.dport,
		    e.tgid);
		assert_has(f->out.tb.p, want);
	}
}

/* A comment longer than its buffer is cut where snprintf() would cut it. */
static void
test_long_comment(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	char text[2100], cmt[1024], want[1100];

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	f->rules[0].text = text;
	format_ok(f, &e);
	/* snprintf(cmt, 1024, "%s matched %s list rule %s (%s)", ...): the text's first bytes. */
	strcpy(cmt, "192.0.2.7 matched block list rule ");
	memcpy(cmt + strlen(cmt), text, sizeof(cmt) - 1 - strlen(cmt));
	cmt[sizeof(cmt) - 1] = '\0';
	assert_int_equal(strlen(cmt), sizeof(cmt) - 1);
	snprintf(want, sizeof(want), "\"ruleSourceComment\":\"%s\",", cmt);
	assert_has(f->out.jb.p, want);
}

static void
test_because(void **state)
{
	static const struct {
		int reason, action;
		const char *kind, *want;
	} cases[] = {
	    {CGFW_R_LOOPBACK, 0, NULL, "Loopback"},
	    {CGFW_R_ALLOW_RULE, CGFW_ACT_ALLOW, "Domain", "MatchedAllowListDomain"},
	    {CGFW_R_BLOCK_RULE, CGFW_ACT_BLOCK, "URL", "MatchedBlockListURL"},
	    {CGFW_R_BLOCK_RULE, CGFW_ACT_BLOCK, NULL, "MatchedBlockListIP"},
	    {CGFW_R_ALLOW_RULE, 0, NULL, "MatchedAllowListIP"},
	    {CGFW_R_NOT_ALLOWED, 0, NULL, "IPNotAllowed"},
	    {CGFW_R_NOT_BLOCKED, 0, NULL, "NotInBlockList"},
	    {CGFW_R_NOT_RESOLVED, 0, NULL, "IPNotResolvedForAllowedDomain"},
	    {CGFW_R_LOG_ONLY, 0, NULL, "LogOnly"},
	    {CGFW_R_IPV6, 0, NULL, "IPv6AlwaysBlocked"},
	    {CGFW_R_IO_URING, 0, NULL, "IoUringRefused"},
	    {CGFW_R_MAX, 0, NULL, "Unknown"},
	    {0, 0, NULL, "Unknown"},
	    {200, 0, NULL, "Unknown"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];

		assert_string_equal(
		    mon_because(cases[i].reason, cases[i].action, cases[i].kind, buf, sizeof(buf)),
		    cases[i].want);
	}
}

static void
test_mon_cmdline(void **state)
{
	struct fix *f = *state;
	size_t len = 0;
	char *s, *big;

	assert_null(mon_cmdline(f->proc, PID, &len));
	write_cmdline(f, "a\0b c\0\0", 7);
	s = mon_cmdline(f->proc, PID, &len);
	assert_non_null(s);
	assert_int_equal(len, 5);
	assert_memory_equal(s, "a b c", 5);
	free(s);

	/* Capped at 4096 bytes. */
	big = malloc(10000);
	assert_non_null(big);
	memset(big, 'z', 10000);
	write_cmdline(f, big, 10000);
	s = mon_cmdline(f->proc, PID, &len);
	assert_non_null(s);
	assert_int_equal(len, 4096);
	assert_memory_equal(s, big, 4096);
	free(s);
	free(big);
}

static const uint64_t *
args(uint64_t a0, uint64_t a1, uint64_t a2)
{
	static uint64_t v[3];

	v[0] = a0;
	v[1] = a1;
	v[2] = a2;
	return v;
}

/* What the command's seccomp filter hands over: raw, packet, other families, io_uring. */
static void
test_sock_refused(void **state)
{
	struct fix *f = *state;
	char path[128];
	int fd, jp[2];
	char buf[4096];
	ssize_t n;
	static const char status[] = "Name:\tevil tool\nUmask:\t0022\nState:\tR\nTgid:\t4242\n"
	                             "Pid:\t4243\nUid:\t65534\t65534\t65534\t65534\n";

	snprintf(path, sizeof(path), "%s/4243", f->proc);
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/4243/status", f->proc);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, status, sizeof(status) - 1), (ssize_t)sizeof(status) - 1);
	(void)close(fd);
	write_cmdline(f, "tool\0--raw\0", 12);
	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.json_fd = jp[1];

	/* AF_PACKET: family packet, no IP, no protocol, the thread's process named. */
	assert_int_equal(
	    mon_seccomp_emit(&f->out, 4243, SYS_socket, args(AF_PACKET, SOCK_RAW, 0x0300)), 0);
	n = read(jp[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_has(buf, "\"msg\":\"PACKET BLOCKED\"");
	assert_has(buf, "\"because\":\"RawSocketRefused\"");
	assert_has(buf, "\"blockedAt\":\"socket\"");
	assert_has(buf, "\"ip\":\"\"");
	assert_has(buf, "\"pid\":4242,");
	assert_has(buf, "\"tid\":4243,");
	assert_has(buf, "\"uid\":65534,");
	assert_has(buf, "\"cmd\":\"tool --raw\"");
	assert_has(buf, "\"hook\":\"sock_create\"");
	assert_has(buf, "packet (AF_PACKET)");

	/* Raw ICMP over IPv4: the protocol is named. */
	assert_int_equal(
	    mon_seccomp_emit(&f->out, 4243, SYS_socket, args(AF_INET, SOCK_RAW, 1)), 0);
	n = read(jp[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_has(buf, "\"proto\":\"icmp\"");
	assert_has(buf, "raw (SOCK_RAW)");

	/* A thread already gone: still reported, the owner unknown. */
	assert_int_equal(
	    mon_seccomp_emit(&f->out, 999999, SYS_socket, args(AF_INET6, SOCK_RAW, 58)), 0);
	n = read(jp[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_has(buf, "\"pid\":-1,");

	/* Another family (AF_VSOCK), with garbage in the high word: refused as a family. */
	assert_int_equal(
	    mon_seccomp_emit(&f->out, 4243, SYS_socket, args(0x100000028ULL, SOCK_STREAM, 0)), 0);
	n = read(jp[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_has(buf, "\"because\":\"SocketFamilyRefused\"");
	assert_has(buf, "socket family 255 is refused");

	/* io_uring_setup: a syscall event. */
	assert_int_equal(mon_seccomp_emit(&f->out, 4243, SYS_io_uring_setup, args(8, 0, 0)), 0);
	n = read(jp[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_has(buf, "\"because\":\"IoUringRefused\"");
	assert_has(buf, "\"blockedAt\":\"syscall\"");
	assert_has(buf, "\"hook\":\"syscall\"");

	/* Nothing else is handed over: any other syscall is malformed. */
	assert_int_equal(mon_seccomp_emit(&f->out, 4243, SYS_connect, args(3, 0, 0)), -EINVAL);

	assert_int_equal(read(jp[0], buf, sizeof(buf)), -1);
	(void)close(jp[0]);
	(void)close(jp[1]);
	f->out.json_fd = -1;
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/4243", f->proc);
	(void)rmdir(path);
}

/* The loader's notices: fields bounded, one ERROR line. */
static void
test_notice(void **state)
{
	struct fix *f = *state;
	Cgfw__Notice n = CGFW__NOTICE__INIT;
	char buf[4096], big[600];
	int jp[2];
	ssize_t r;

	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.json_fd = jp[1];
	n.msg = "ATTACH LOST";
	n.because = "CgroupRemoved";
	n.comment = "/sys/fs/cgroup/x\n(cgroup id 7) was removed";
	assert_int_equal(mon_notice_emit(&f->out, &n), 0);
	r = read(jp[0], buf, sizeof(buf) - 1);
	assert_true(r > 0);
	buf[r] = '\0';
	assert_has(
	    buf, "\"level\":\"ERROR\",\"msg\":\"ATTACH LOST\",\"because\":\"CgroupRemoved\"");
	assert_has(buf, "x\\n(cgroup");
	assert_has(buf, ",\"schema\":1,\"cgroup\":9001,\"mode\":\"block-list\"}\n");
	assert_int_equal(strchr(buf, '\n') - buf, r - 1);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n.comment = big;
	assert_int_equal(mon_notice_emit(&f->out, &n), -EINVAL);
	n.comment = "x";
	n.msg = "";
	assert_int_equal(mon_notice_emit(&f->out, &n), -EINVAL);
	assert_int_equal(read(jp[0], buf, sizeof(buf)), -1);
	(void)close(jp[0]);
	(void)close(jp[1]);
	f->out.json_fd = -1;
}

static void
test_emit(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	int jp[2], tp[2];
	char buf[4096];
	ssize_t n;

	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(pipe2(tp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.json_fd = jp[1];
	f->out.text_fd = tp[1];
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	assert_int_equal(f->out.n_events, 1);
	n = read(jp[0], buf, sizeof(buf) - 1);
	assert_int_equal(n, (ssize_t)f->out.jb.len);
	buf[n] = '\0';
	assert_string_equal(buf, f->out.jb.p);
	n = read(tp[0], buf, sizeof(buf) - 1);
	assert_int_equal(n, (ssize_t)f->out.tb.len);
	buf[n] = '\0';
	assert_string_equal(buf, f->out.tb.p);

	/* A malformed record writes nothing. */
	e.verdict = 0;
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), -EINVAL);
	assert_int_equal(f->out.n_events, 1);
	assert_int_equal(read(jp[0], buf, sizeof(buf)), -1);
	assert_int_equal(read(tp[0], buf, sizeof(buf)), -1);

	/* No text stream. */
	e.verdict = CGFW_V_ALLOW;
	f->out.text_fd = -1;
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	assert_int_equal(f->out.n_events, 2);
	assert_true(read(jp[0], buf, sizeof(buf)) > 0);

	/* A closed JSON stream is an error, and the event is not counted. */
	(void)close(jp[0]);
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), -EPIPE);
	assert_int_equal(f->out.n_events, 2);
	(void)close(jp[1]);
	(void)close(tp[0]);
	(void)close(tp[1]);
}

/* The length-prefixed form of a journal field: NAME, '\n', 64-bit LE length, value, '\n'. */
static const char *
jn_binary(const char *buf, size_t n, const char *name, size_t *ret_len)
{
	size_t nl = strlen(name);

	for (const char *p = buf; p + nl + 9 <= buf + n; p++)
		if ((p == buf || p[-1] == '\n') && !memcmp(p, name, nl) && p[nl] == '\n') {
			uint64_t len = 0;

			for (int i = 7; i >= 0; i--)
				len = (len << 8) | (unsigned char)p[nl + 1 + i];
			*ret_len = (size_t)len;
			return p + nl + 9;
		}
	return NULL;
}

/* Binary-safe: a journal entry has length-prefixed values (NULs in lengths). */
#define assert_mem_has(buf, n, needle)                                                             \
	do {                                                                                       \
		if (!memmem((buf), (n), (needle), strlen(needle)))                                 \
			fail_msg("\"%s\" not found in the entry", (needle));                       \
	} while (0)

/* Under systemd: each line a native journal entry, its fields the JSON's; no stderr line. */
static void
test_journal(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	Cgfw__Notice n = CGFW__NOTICE__INIT;
	int sv[2], tp[2];
	char buf[16384], json[8192];
	const char *v;
	size_t vl = 0;
	ssize_t got;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(tp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.journal_fd = sv[0];
	f->out.text_fd = tp[1];
	write_cmdline(f, "curl\0-d\0a\nb\0", 12);
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	got = recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(got > 0);
	buf[got] = '\0';
	assert_mem_has(buf, (size_t)got, "\nCGFW_MSG=PACKET BLOCKED\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_BLOCKED=true\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_BLOCKED_AT=connect\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_IP=192.0.2.7\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_PORT=443\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_RULE_SOURCE_COMMENT=");
	assert_mem_has(buf, (size_t)got, "\nCGFW_ORIGINAL_IP=192.0.2.7\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_SCHEMA=1\n");
	assert_mem_has(buf, (size_t)got, "\nPRIORITY=4\n");
	assert_mem_has(buf, (size_t)got, "\nSYSLOG_IDENTIFIER=cgfw-monitor\n");
	assert_true(!strncmp(buf, "CGFW_TIME=", 10));
	/* A value with a newline: the length-prefixed form, whole. */
	v = jn_binary(buf, (size_t)got, "CGFW_CMD", &vl);
	assert_non_null(v);
	assert_int_equal(vl, 11);
	assert_memory_equal(v, "curl -d a\nb", 11);
	assert_int_equal(v[vl], '\n');
	/* MESSAGE= the text line, CGFW_JSON= the JSON line (without their newlines). */
	snprintf(json, sizeof(json), "\nMESSAGE=%.*s\n", (int)f->out.tb.len - 1, f->out.tb.p);
	assert_mem_has(buf, (size_t)got, json);
	snprintf(json, sizeof(json), "\nCGFW_JSON=%.*s\n", (int)f->out.jb.len - 1, f->out.jb.p);
	assert_mem_has(buf, (size_t)got, json);
	/* The text line went to the journal, not to stderr. */
	assert_int_equal(read(tp[0], buf, sizeof(buf)), -1);

	/* A notice: its fields too, priority error. */
	n.msg = "ATTACH LOST";
	n.because = "CgroupRemoved";
	n.comment = "gone";
	assert_int_equal(mon_notice_emit(&f->out, &n), 0);
	got = recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(got > 0);
	buf[got] = '\0';
	assert_mem_has(buf, (size_t)got, "\nCGFW_MSG=ATTACH LOST\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_RULE_SOURCE_COMMENT=gone\n");
	assert_mem_has(buf, (size_t)got, "\nPRIORITY=3\n");

	/* A journal that does not take the entry: a lost event, reported when it does. */
	(void)close(sv[1]);
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	assert_int_equal(f->out.lost[MON_LOST_JOURNAL].pending, 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv + 0), 0);
	(void)close(f->out.journal_fd);
	f->out.journal_fd = sv[0];
	assert_int_equal(mon_lost_flush(&f->out), 0);
	got = recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(got > 0);
	buf[got] = '\0';
	assert_mem_has(buf, (size_t)got, "\nCGFW_MSG=EVENTS LOST\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_BECAUSE=JournalUnwritable\n");
	assert_mem_has(buf, (size_t)got, "\nCGFW_COUNT=1\n");
	assert_int_equal(f->out.lost[MON_LOST_JOURNAL].pending, 0);
	(void)close(sv[0]);
	(void)close(sv[1]);
	(void)close(tp[0]);
	(void)close(tp[1]);
	f->out.journal_fd = -1;
	f->out.text_fd = -1;
	jb_free(&f->out.jn);
	jb_free(&f->out.lost_jn);
}

/* ---- The record: whole lines, and losses reported in it ---- */

/*
 * python3's strict parser on a whole log: every line ends in a newline and is
 * one JSON object.  Writes "msg|because|count|reason|port" per line to out.
 */
static const char py_lines[] =
    "import json,sys\n"
    "s=sys.stdin.buffer.read().decode('utf-8')\n"
    "assert s.endswith('\\n')\n"
    "for l in s.split('\\n')[:-1]:\n"
    "  d=json.loads(l)\n"
    "  print('|'.join(str(d.get(k,'')) for k in ('msg','because','count','reason','port')))\n";

static void
py_log(const char *path, char *out, size_t len)
{
	char cmd[256];
	size_t n;
	FILE *p;

	assert_int_equal(setenv("CGFW_PY", py_lines, 1), 0);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$CGFW_PY\" <%s", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
}

/*
 * A log file that takes only part of a line (a full disk; here a file size
 * limit): the part is taken back, the events are counted, and the first line
 * written afterwards says how many were lost and why.  The same for a file
 * without O_APPEND (stdout redirected), where the offset must go back too.
 */
static void
write_short(struct fix *f, int append)
{
	struct cgfw_event e = base_event();
	char path[] = "/tmp/cgfw-test-events-log-XXXXXX", got[1024];
	struct rlimit old, lim;
	struct stat st;
	size_t first;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, append ? O_APPEND : 0), 0);
	f->out.json_fd = fd;
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	first = f->out.jb.len;

	/* Room for part of any line (SIGXFSZ is ignored: the write is cut short). */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = first + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	e.dport = 1;
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), -EFBIG);
	e.dport = 2;
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), -EFBIG);
	/* Nor does the EVENTS LOST line fit. */
	assert_int_equal(mon_lost_flush(&f->out), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, first);
	assert_int_equal(f->out.n_events, 1);
	assert_int_equal(f->out.lost[MON_LOST_WRITE].pending, 2);
	assert_int_equal(f->out.lost[MON_LOST_WRITE].total, 2);
	assert_int_equal(f->out.json_broken, 0);

	/* Room again: the loss first, then the event. */
	e.dport = 3;
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	assert_int_equal(f->out.n_events, 2);
	assert_int_equal(f->out.lost[MON_LOST_WRITE].pending, 0);
	assert_int_equal(f->out.lost[MON_LOST_WRITE].total, 2);
	py_log(path, got, sizeof(got));
	assert_string_equal(got, "PACKET BLOCKED|MatchedBlockListIP|||443\n"
	                         "EVENTS LOST|LogUnwritable|2|log file: File too large|\n"
	                         "PACKET BLOCKED|MatchedBlockListIP|||3\n");
	/* Reported once. */
	assert_int_equal(fstat(fd, &st), 0);
	first = (size_t)st.st_size;
	assert_int_equal(mon_lost_flush(&f->out), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, first);
	(void)close(fd);
	(void)unlink(path);
}

static void
test_write_short(void **state)
{
	write_short(*state, 1);
}

static void
test_write_short_no_append(void **state)
{
	write_short(*state, 0);
}

/*
 * A batch the disk cuts short in its third line: the two lines written whole
 * stay and are counted, the part of the third is taken back, and the third
 * and fourth are lost, said by the next line written.
 */
static void
test_write_short_batch(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	char path[] = "/tmp/cgfw-test-events-log-XXXXXX", got[1024];
	struct rlimit old, lim;
	struct stat st;
	size_t one;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
	f->out.json_fd = fd;
	assert_int_equal(mon_event_format(&f->out, &e, sizeof(e)), 0);
	one = f->out.jb.len; /* every line below is as long (ports 1-4) */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 2 * (one - 2) + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	mon_batch_begin(&f->out);
	for (int i = 1; i <= 4; i++) {
		e.dport = (uint16_t)i;
		assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	}
	assert_int_equal(f->out.n_events, 0); /* counted when written */
	assert_int_equal(mon_batch_end(&f->out), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 2 * (one - 2));
	assert_int_equal(f->out.n_events, 2);
	assert_int_equal(f->out.lost[MON_LOST_WRITE].pending, 2);
	assert_int_equal(f->out.json_broken, 0);
	e.dport = 5;
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	assert_int_equal(f->out.n_events, 3);
	py_log(path, got, sizeof(got));
	assert_string_equal(got, "PACKET BLOCKED|MatchedBlockListIP|||1\n"
	                         "PACKET BLOCKED|MatchedBlockListIP|||2\n"
	                         "EVENTS LOST|LogUnwritable|2|log file: File too large|\n"
	                         "PACKET BLOCKED|MatchedBlockListIP|||5\n");
	(void)close(fd);
	(void)unlink(path);
}

/*
 * On a pipe a partial line cannot be taken back: the stream is given up
 * rather than have the next line land on the fragment.
 */
static void
test_write_short_pipe(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	char cmdline[4096], *buf;
	int jp[2];
	ssize_t n;

	memset(cmdline, 0x01, sizeof(cmdline)); /* \u0001 each: a 24 KiB line */
	write_cmdline(f, cmdline, sizeof(cmdline));
	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	assert_true(fcntl(jp[1], F_SETPIPE_SZ, 4096) >= 4096);
	f->out.json_fd = jp[1];
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), -EAGAIN);
	assert_true(f->out.jb.len > 16384);
	assert_int_equal(f->out.json_broken, -EAGAIN);
	buf = malloc(f->out.jb.len);
	assert_non_null(buf);
	n = read(jp[0], buf, f->out.jb.len);
	assert_true(n > 0 && (size_t)n < f->out.jb.len && buf[n - 1] != '\n');

	/* The pipe has room now; nothing more goes there, every event is counted. */
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), -EAGAIN);
	assert_int_equal(mon_lost_flush(&f->out), -EAGAIN);
	assert_int_equal(read(jp[0], buf, f->out.jb.len), -1);
	assert_int_equal(f->out.n_events, 0);
	assert_int_equal(f->out.lost[MON_LOST_WRITE].total, 2);
	assert_int_equal(f->out.lost[MON_LOST_WRITE].pending, 2);
	free(buf);
	(void)close(jp[0]);
	(void)close(jp[1]);
}

/* Ring-buffer drops are their own line, with their own count, and no event. */
static void
test_lost_ring(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	char line[4096];
	int jp[2], tp[2];
	ssize_t n;

	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(pipe2(tp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.json_fd = jp[1];
	f->out.text_fd = tp[1];
	assert_int_equal(mon_lost_flush(&f->out), 0); /* nothing to say */
	assert_int_equal(read(jp[0], line, sizeof(line)), -1);
	mon_lost_add(&f->out, MON_LOST_RING, 0, 0);
	assert_int_equal(mon_lost_flush(&f->out), 0);
	assert_int_equal(read(jp[0], line, sizeof(line)), -1);

	mon_lost_add(&f->out, MON_LOST_RING, 700, 0);
	mon_lost_add(&f->out, MON_LOST_RING, 20, 0);
	assert_int_equal(mon_lost_flush(&f->out), 0);
	n = read(jp[0], line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = '\0';
	assert_true(strncmp(line, "{\"time\":\"", 9) == 0);
	assert_has(line, "\"level\":\"ERROR\",\"msg\":\"EVENTS LOST\",\"because\":"
	                 "\"RingBufferFull\",\"count\":720,\"reason\":\"ring buffer full\","
	                 "\"schema\":1,\"cgroup\":9001,\"mode\":\"block-list\"}\n");
	assert_ptr_equal(strchr(line, '\n'), line + n - 1);
	n = read(tp[0], line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = '\0';
	assert_string_equal(line, "ERROR EVENTS LOST count=720 reason=\"ring buffer full\"\n");
	assert_int_equal(f->out.n_events, 0);
	assert_int_equal(f->out.lost[MON_LOST_RING].total, 720);
	assert_int_equal(f->out.lost[MON_LOST_RING].pending, 0);

	/* Reported once; the next event is written alone. */
	assert_int_equal(mon_event_emit(&f->out, &e, sizeof(e)), 0);
	n = read(jp[0], line, sizeof(line) - 1);
	assert_int_equal(n, (ssize_t)f->out.jb.len);
	line[n] = '\0';
	assert_lacks(line, "EVENTS LOST");
	(void)close(jp[0]);
	(void)close(jp[1]);
	(void)close(tp[0]);
	(void)close(tp[1]);
}

/* ---- DNS events from cgfw-dnsproxy: peer input, checked before use ---- */

static char *dns_ips[] = {"192.0.2.7", "192.0.2.8"};
static char *dns_chain[] = {"www.example.com", "example.com"};

static Cgfw__DnsEvent
dns_event(void)
{
	Cgfw__DnsEvent ev = CGFW__DNS_EVENT__INIT;

	ev.time_ns = 1700000000ULL * 1000000000ULL + 7;
	ev.qname = "www.example.com";
	ev.qtype = "A";
	ev.because = "MatchedAllowListDomain";
	ev.rule = "*.example.com";
	ev.rule_origin = "--allow-list";
	ev.rule_kind = "Wildcard";
	ev.owner_known = 1;
	ev.pid = PID;
	ev.tid = PID;
	ev.uid = 1000;
	ev.comm = "curl";
	ev.cgroup = 77;
	ev.server = "198.51.100.53";
	ev.proto = "udp";
	ev.rcode = "NOERROR";
	ev.n_ips = 2;
	ev.ips = dns_ips;
	ev.n_chain = 2;
	ev.chain = dns_chain;
	ev.ttl = 300;
	ev.admitted = 1;
	return ev;
}

static void
test_dns_invalid(void **state)
{
	static char *bad_ip[] = {"1.2.3.256"}, *v6_ip[] = {"2001:db8::1"};
	static char *padded_ip[] = {" 192.0.2.7"}, *many[65];
	static char long_name[300], *long_chain[] = {long_name};
	struct fix *f = *state;
	int jp[2];
	char buf[64];

	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.json_fd = jp[1];
	memset(long_name, 'a', sizeof(long_name) - 1);
	for (size_t i = 0; i < 65; i++)
		many[i] = "192.0.2.1";
	for (int i = 0;; i++) {
		Cgfw__DnsEvent ev = dns_event();
		uint64_t bad = f->out.n_bad;
		const char *what;

		ev.blocked = 1; /* would be written if it were valid */
		switch (i) {
		case 0:
			what = "qname of 256 bytes";
			long_name[256] = '\0';
			ev.qname = long_name;
			break;
		case 1:
			what = "qtype of 16 bytes";
			ev.qtype = "AAAAAAAAAAAAAAAA";
			break;
		case 2:
			what = "because of 40 bytes";
			ev.because = "MatchedAllowListDomainMatchedAllowListDo";
			break;
		case 3:
			what = "comm of 17 bytes";
			ev.comm = "0123456789abcdefg";
			break;
		case 4:
			what = "server of 46 bytes";
			ev.server = "0123456789012345678901234567890123456789012345";
			break;
		case 5:
			what = "proto icmp";
			ev.proto = "icmp";
			break;
		case 6:
			what = "empty proto";
			ev.proto = "";
			break;
		case 7:
			what = "answer 1.2.3.256";
			ev.ips = bad_ip;
			ev.n_ips = 1;
			break;
		case 8:
			what = "IPv6 answer";
			ev.ips = v6_ip;
			ev.n_ips = 1;
			break;
		case 9:
			what = "answer with a space";
			ev.ips = padded_ip;
			ev.n_ips = 1;
			break;
		case 10:
			what = "65 answers";
			ev.ips = many;
			ev.n_ips = 65;
			break;
		case 11:
			what = "17 chain names";
			ev.chain = many;
			ev.n_chain = 17;
			break;
		case 12:
			what = "chain name of 256 bytes";
			long_name[256] = '\0';
			ev.chain = long_chain;
			ev.n_chain = 1;
			break;
		case 13:
			what = "ttl past 30 days";
			ev.ttl = 30 * 86400 + 1;
			break;
		case 14:
			what = "rule kind of 16 bytes";
			ev.rule_kind = "WildcardWildcard";
			break;
		default:
			what = NULL;
			break;
		}
		if (!what)
			break;
		if (mon_dns_event_emit(&f->out, &ev) != -EINVAL)
			fail_msg("%s: accepted", what);
		if (f->out.n_bad != bad + 1)
			fail_msg("%s: n_bad not counted", what);
	}
	assert_int_equal(read(jp[0], buf, sizeof(buf)), -1);
	assert_int_equal(f->out.n_events, 0);
	assert_null(mon_ipdom_find(&f->out, inet_addr("192.0.2.1")));

	/* At the limits, it goes through. */
	{
		Cgfw__DnsEvent ev = dns_event();

		long_name[255] = '\0';
		ev.qname = long_name;
		ev.blocked = 1;
		ev.ttl = 30 * 86400;
		ev.ips = many;
		ev.n_ips = 64;
		assert_int_equal(mon_dns_event_emit(&f->out, &ev), 0);
		assert_int_equal(f->out.n_events, 1);
	}
	(void)close(jp[0]);
	(void)close(jp[1]);
}

/* A blocked query with hostile bytes in the name is written as valid JSON. */
static void
test_dns_blocked(void **state)
{
	static const char qname[] = "ev\"il\n\xff.example";
	struct fix *f = *state;
	Cgfw__DnsEvent ev = dns_event();
	char got[256], line[4096];
	int jp[2];

	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.json_fd = jp[1];
	ev.blocked = 1;
	ev.qname = (char *)qname;
	ev.because = "MatchedBlockListDomain";
	ev.rule = "*.example";
	ev.rule_origin = "/etc/cgfw.conf";
	ev.rule_line = 12;
	ev.rcode = "REFUSED";
	ev.n_ips = 0;
	ev.admitted = 0;
	assert_int_equal(mon_dns_event_emit(&f->out, &ev), 0);
	assert_int_equal(f->out.n_events, 1);
	assert_int_equal(f->out.n_dns_blocked, 1); /* for the loader's status (PROGRESS) */
	assert_int_equal(f->out.n_http_blocked, 0);
	assert_int_equal(read(jp[0], line, sizeof(line)), (ssize_t)f->out.jb.len);
	assert_has(f->out.jb.p, "\"msg\":\"DNS BLOCKED\"");
	assert_has(f->out.jb.p, "\"blockedAt\":\"dns\"");
	assert_has(f->out.jb.p, "\"ruleSource\":\"MatchedBlockListWildcard\"");
	assert_has(f->out.jb.p, "(/etc/cgfw.conf:12)");
	assert_has(f->out.jb.p, "\"answers\":[],");
	assert_has(f->out.tb.p, " domains=\"ev\\\"il\\n\\ufffd.example\" ");
	py_get(&f->out.jb, "domains", got, sizeof(got));
	assert_string_equal(got, "ev\"il\n\xef\xbf\xbd.example");
	(void)close(jp[0]);
	(void)close(jp[1]);
}

/* Allowed answers name the addresses in later packet events. */
static void
test_dns_learned(void **state)
{
	struct fix *f = *state;
	Cgfw__DnsEvent ev = dns_event();
	struct cgfw_event e = base_event();
	char *other_ip[] = {"192.0.2.8"};

	/* Allowed, block-list mode, no debug: remembered, not written. */
	f->out.json_fd = -1;
	assert_int_equal(mon_dns_event_emit(&f->out, &ev), 0);
	assert_int_equal(f->out.n_events, 0);
	assert_int_equal(f->out.n_dns_blocked, 0);
	assert_non_null(mon_ipdom_find(&f->out, inet_addr("192.0.2.8")));
	assert_null(mon_ipdom_find(&f->out, inet_addr("192.0.2.9")));

	e.rule_id = 0;
	e.verdict = CGFW_V_ALLOW;
	e.reason = CGFW_R_DNS_LEARNED;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.8", &e.daddr[0]), 1);
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"because\":\"MatchedAllowListDomain\"");
	assert_has(f->out.jb.p, "\"domains\":\"www.example.com\"");
	assert_has(f->out.jb.p, "\"ruleSource\":\"MatchedAllowListDomain\"");
	assert_has(f->out.jb.p, "\"rule\":\"*.example.com\"");
	assert_has(f->out.jb.p, "192.0.2.8 was resolved by cgfw-dnsproxy for an allowed domain");

	/* A second name for the same address is added. */
	ev.qname = "cdn.example.net";
	ev.ips = other_ip;
	ev.n_ips = 1;
	assert_int_equal(mon_dns_event_emit(&f->out, &ev), 0);
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"domains\":\"www.example.com,cdn.example.net\"");

	/* An address nobody resolved. */
	assert_int_equal(inet_pton(AF_INET, "192.0.2.99", &e.daddr[0]), 1);
	e.reason = CGFW_R_NOT_BLOCKED;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "\"domains\":\"None\"");
	assert_has(f->out.jb.p, "\"ruleSource\":\"Default\"");
}

/* A block rule on a CNAME target: the event names that alias (the last name of the chain). */
static void
test_dns_cname(void **state)
{
	static char *chain[] = {"cname.example.com", "blocked.test"};
	struct fix *f = *state;
	Cgfw__DnsEvent ev = dns_event();

	ev.blocked = 1;
	ev.qname = "cname.example.com";
	ev.because = "CNAMEBlocked";
	ev.rule = "blocked.test";
	ev.rule_origin = "--block-list";
	ev.rule_kind = "Domain";
	ev.rcode = "REFUSED";
	ev.n_ips = 0;
	ev.chain = chain;
	ev.n_chain = 2;
	ev.admitted = 0;
	assert_int_equal(mon_dns_event_format(&f->out, &ev), 0);
	assert_has(f->out.jb.p, "\"because\":\"CNAMEBlocked\"");
	assert_has(f->out.jb.p, "\"cname\":\"blocked.test\"");
	assert_has(f->out.jb.p, "\"ruleSource\":\"MatchedBlockListDomain\"");
	assert_has(f->out.jb.p, "\"ruleSourceComment\":\"cname.example.com is an alias (CNAME) of "
	                        "blocked.test, which matched block list rule blocked.test "
	                        "(--block-list)\"");
	assert_has(f->out.tb.p, " cname=blocked.test ");

	/* Answered with --allow-dns-request: the alias still named, the rule a block rule. */
	ev.blocked = 0;
	ev.because = "AllowDNSRequest";
	ev.rcode = "NOERROR";
	assert_int_equal(mon_dns_event_format(&f->out, &ev), 0);
	assert_has(f->out.jb.p, "\"cname\":\"blocked.test\"");
	assert_has(f->out.jb.p, "\"ruleSource\":\"MatchedBlockListDomain\"");
	assert_has(f->out.jb.p, "; answered (--allow-dns-request), nothing admitted\"");

	/* The question itself blocked: the proxy sends a chain of one, no alias. */
	ev.qname = "blocked.test";
	ev.chain = chain + 1;
	ev.n_chain = 1;
	assert_int_equal(mon_dns_event_format(&f->out, &ev), 0);
	assert_has(f->out.jb.p, "\"cname\":\"\"");
	assert_has(f->out.jb.p, "\"ruleSourceComment\":\"blocked.test matched block list rule "
	                        "blocked.test (--block-list); answered");
	assert_null(strstr(f->out.tb.p, "cname="));

	/* Blocked by allow-list mode, answered anyway: no rule. */
	ev.rule = "";
	assert_int_equal(mon_dns_event_format(&f->out, &ev), 0);
	assert_has(f->out.jb.p, "\"ruleSource\":\"Default\"");
	assert_has(f->out.jb.p, "allow-list mode: blocked.test matches no allow rule; answered");

	/* An allowed answer with a chain names no alias. */
	ev = dns_event();
	assert_int_equal(mon_dns_event_format(&f->out, &ev), 0);
	assert_has(f->out.jb.p, "\"cname\":\"\"");
	assert_has(f->out.jb.p, "\"ruleSource\":\"MatchedAllowListWildcard\"");
}

/* Allowed, but the upstream failed: always written, at WARN, with what happened. */
static void
test_dns_upstream_failed(void **state)
{
	struct fix *f = *state;
	Cgfw__DnsEvent ev = dns_event();
	char line[8192];
	int jp[2];

	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.json_fd = jp[1];
	ev.n_ips = 0;
	ev.n_chain = 0;
	ev.admitted = 0;
	ev.ttl = 0;
	ev.rcode = "SERVFAIL";
	ev.upstream_failure = "UpstreamTimeout";
	/* Block-list mode, no --debug: an allowed query would not be written. */
	assert_int_equal(mon_dns_event_emit(&f->out, &ev), 0);
	assert_int_equal(f->out.n_events, 1);
	assert_int_equal(read(jp[0], line, sizeof(line)), (ssize_t)f->out.jb.len);
	assert_has(f->out.jb.p, "\"level\":\"WARN\"");
	assert_has(f->out.jb.p, "\"msg\":\"DNS UPSTREAM FAILED\"");
	assert_has(f->out.jb.p, "\"because\":\"UpstreamTimeout\"");
	assert_has(f->out.jb.p, "\"blocked\":false,\"blockedAt\":\"\"");
	assert_has(f->out.jb.p, "\"rcode\":\"SERVFAIL\"");
	assert_has(f->out.jb.p, "\"ruleSource\":\"MatchedAllowListWildcard\"");
	assert_has(f->out.jb.p, "\"rule\":\"*.example.com\"");
	assert_has(f->out.jb.p,
	    "matched allow list rule *.example.com (--allow-list); no upstream server answered "
	    "in time, the client got SERVFAIL\"");
	assert_has(f->out.tb.p, "WARN DNS UPSTREAM FAILED because=UpstreamTimeout ");

	/* What the upstream answered is relayed, and still its failure. */
	ev.rcode = "REFUSED";
	ev.upstream_failure = "UpstreamRefused";
	assert_int_equal(mon_dns_event_emit(&f->out, &ev), 0);
	assert_int_equal(f->out.n_events, 2);
	assert_has(f->out.jb.p, "the upstream server answered REFUSED, the client got REFUSED\"");
	assert_true(read(jp[0], line, sizeof(line)) > 0);

	/* Only the known failures, and never on a blocked query. */
	ev.upstream_failure = "UpstreamOnFire";
	assert_int_equal(mon_dns_event_emit(&f->out, &ev), -EINVAL);
	ev.upstream_failure = "UpstreamTimeout";
	ev.blocked = 1;
	assert_int_equal(mon_dns_event_emit(&f->out, &ev), -EINVAL);
	assert_int_equal(f->out.n_bad, 2);
	assert_int_equal(f->out.n_events, 2);
	assert_int_equal(read(jp[0], line, sizeof(line)), -1);
	(void)close(jp[0]);
	(void)close(jp[1]);
}

/* Events a proxy dropped: one ERROR line with the count and the reason. */
static void
test_proxy_lost(void **state)
{
	static const char *const keys[] = {
	    "time", "level", "msg", "because", "count", "reason", "schema", "cgroup", "mode"};
	struct fix *f = *state;
	char got[64], line[1024];
	int jp[2], tp[2];
	ssize_t n;

	assert_int_equal(pipe2(jp, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(pipe2(tp, O_CLOEXEC | O_NONBLOCK), 0);
	f->out.json_fd = jp[1];
	f->out.text_fd = tp[1];
	assert_int_equal(mon_proxy_lost_emit(&f->out, 0, MON_LOST_DNSQ), -EINVAL);
	assert_int_equal(mon_proxy_lost_emit(&f->out, 5, MON_LOST_RING), -EINVAL);
	assert_int_equal(read(jp[0], line, sizeof(line)), -1);
	assert_int_equal(mon_proxy_lost_emit(&f->out, 1743, MON_LOST_DNSQ), 0);
	assert_int_equal(f->out.lost[MON_LOST_DNSQ].total, 1743);
	assert_int_equal(f->out.lost[MON_LOST_DNSQ].pending, 0);
	n = read(jp[0], line, sizeof(line) - 1);
	assert_int_equal(n, (ssize_t)f->out.lost_jb.len);
	line[n] = '\0';
	assert_has(line,
	    "\"level\":\"ERROR\",\"msg\":\"EVENTS LOST\",\"because\":\"ProxyQueueFull\","
	    "\"count\":1743,\"reason\":\"dnsproxy queue full\",\"schema\":1,"
	    "\"cgroup\":9001,\"mode\":\"block-list\"}\n");
	/* Exactly these keys, in a line a strict parser reads. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		py_get(&f->out.lost_jb, keys[i], got, sizeof(got));
	py_get(&f->out.lost_jb, "count", got, sizeof(got));
	assert_string_equal(got, "1743");
	n = read(tp[0], line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = '\0';
	assert_string_equal(line, "ERROR EVENTS LOST count=1743 reason=\"dnsproxy queue full\"\n");
	assert_int_equal(mon_proxy_lost_emit(&f->out, 2, MON_LOST_HTTPQ), 0);
	assert_int_equal(mon_lost_sum(&f->out, 0), 1745);
	(void)close(jp[0]);
	(void)close(jp[1]);
	(void)close(tp[0]);
	(void)close(tp[1]);
}

/*
 * The keys of a JSON line, in order, each as "| `key` |" (a docs table row),
 * into keys; nested arrays are skipped.
 */
static void
json_keys(const char *p, char *keys, size_t len)
{
	int depth = 0, key = 0;

	keys[0] = '\0';
	for (; *p; p++) {
		if (*p == '"') {
			const char *start = ++p;

			while (*p && *p != '"')
				p += *p == '\\' ? 2 : 1;
			if (key && depth == 1) {
				size_t n = strlen(keys);

				snprintf(
				    keys + n, len - n, "| `%.*s` |\n", (int)(p - start), start);
			}
			key = 0;
		} else if (*p == '{' || *p == '[') {
			depth++;
			key = *p == '{';
		} else if (*p == '}' || *p == ']') {
			depth--;
		} else if (*p == ',') {
			key = depth == 1;
		}
	}
}

/* docs/events.md's field tables (make docs) list every key the lines have, in their order. */
static void
test_events_doc(void **state)
{
	static const char *const extras[] = {NULL, "dns-fields", "http-fields"};
	struct fix *f = *state;
	struct cgfw_event e = base_event();
	Cgfw__DnsEvent dns = CGFW__DNS_EVENT__INIT;
	Cgfw__HttpEvent http = CGFW__HTTP_EVENT__INIT;
	char *ips[] = {"192.0.2.1"};
	char keys[4096], *doc;
	size_t doc_len;

	dns.qname = "a.example";
	dns.qtype = "A";
	dns.because = "MatchedAllowListDomain";
	dns.comm = "dig";
	dns.server = "192.0.2.53";
	dns.proto = "udp";
	dns.rcode = "NOERROR";
	dns.n_ips = 1;
	dns.ips = ips;
	http.method = "GET";
	http.url = "http://a.example/";
	http.host = "a.example";
	http.because = "MatchedAllowListURL";
	http.comm = "curl";
	http.ip = "192.0.2.1";
	for (int kind = 0; kind < 3; kind++) {
		FILE *m = open_memstream(&doc, &doc_len);
		const char *at;

		assert_non_null(m);
		assert_int_equal(mon_events_doc(m, "fields"), 0);
		if (extras[kind])
			assert_int_equal(mon_events_doc(m, extras[kind]), 0);
		assert_int_equal(fclose(m), 0);
		if (kind == 0)
			format_ok(f, &e);
		else if (kind == 1)
			assert_int_equal(mon_dns_event_format(&f->out, &dns), 0);
		else
			assert_int_equal(mon_http_event_format(&f->out, &http), 0);
		json_keys(f->out.jb.p, keys, sizeof(keys));
		at = doc;
		for (char *k = keys, *nl; (nl = strchr(k, '\n')); k = nl + 1) {
			*nl = '\0';
			at = strstr(at, k);
			if (!at)
				fail_msg("%s: not in the docs table, or out of order", k);
		}
		free(doc);
	}
	for (size_t i = 0; i < 5; i++) {
		static const char *const names[] = {
		    "fields", "dns-fields", "http-fields", "hooks", "because"};
		FILE *m = open_memstream(&doc, &doc_len);

		assert_int_equal(mon_events_doc(m, names[i]), 0);
		assert_int_equal(fclose(m), 0);
		assert_true(doc_len > 0);
		free(doc);
	}
	assert_int_equal(mon_events_doc(stdout, "nonsense"), -EINVAL);
}

/* A kernel stamp past what int64 nanoseconds hold (none is real) still makes one valid line. */
static void
test_time_overflow(void **state)
{
	struct fix *f = *state;
	struct cgfw_event e = base_event();

	e.ts_ns = UINT64_MAX;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "{\"time\":\"2262-04-11T23:47:16.854775807Z\",");
	e.ts_ns = (uint64_t)INT64_MAX - 5;
	format_ok(f, &e);
	assert_has(f->out.jb.p, "{\"time\":\"2262-04-11T23:47:16.854775807Z\",");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_blocked_connect),
	    T(test_owner_unknown),
	    T(test_allowed_and_defaults),
	    T(test_malformed),
	    T(test_slots),
	    T(test_cmdline),
	    T(test_comm_fallback),
	    T(test_ipv6),
	    T(test_protocols),
	    T(test_texts_by_hand),
	    T(test_long_comment),
	    T(test_because),
	    T(test_mon_cmdline),
	    T(test_emit),
	    T(test_journal),
	    T(test_sock_refused),
	    T(test_write_short),
	    T(test_write_short_no_append),
	    T(test_write_short_batch),
	    T(test_write_short_pipe),
	    T(test_lost_ring),
	    T(test_notice),
	    T(test_dns_invalid),
	    T(test_dns_blocked),
	    T(test_dns_learned),
	    T(test_dns_cname),
	    T(test_dns_upstream_failed),
	    T(test_proxy_lost),
	    T(test_events_doc),
	    T(test_time_overflow),
	};

	/* Writing to a closed pipe or past the file size limit must be an error, not a signal. */
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGXFSZ, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
