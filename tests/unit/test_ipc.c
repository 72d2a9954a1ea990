// SPDX-License-Identifier: MIT
/*
 * IPC framing (lib/ipc.c) over a real SOCK_SEQPACKET socketpair: round trips,
 * fd passing, every receive-side violation (garbage, bad seq, oversized,
 * truncated control data, wrong fd count or kind) and the dispatch table.
 * Received fds must be closed on every error path, so the tests count them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ipc.h"

#define assert_has(hay, needle)                                                                    \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("\"%s\" not found in \"%s\"", (needle), (hay));                   \
	} while (0)

struct fix {
	struct ipc_peer tx; /* the loader's end */
	struct ipc_peer rx; /* the worker's end, receiving from "loader" */
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	int sv[2];

	if (!f)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		free(f);
		return -1;
	}
	ipc_peer_init(&f->tx, sv[0], "monitor");
	ipc_peer_init(&f->rx, sv[1], "loader");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	ipc_peer_close(&f->tx);
	ipc_peer_close(&f->rx);
	free(f);
	return 0;
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* One datagram, bytes and fds as given, bypassing ipc_send(). */
static void
send_raw(int sock, const void *buf, size_t n, const int *fds, size_t n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	assert_true(n_fds <= 16);
	if (n_fds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)n);
}

/* A packed envelope with the given seq and an empty commit body. */
static size_t
pack_commit(uint64_t seq, uint8_t *buf, size_t len)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__ConfigCommit c = CGFW__CONFIG_COMMIT__INIT;

	env.seq = seq;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT;
	env.loader_mon_commit = &c;
	assert_true(cgfw__envelope__get_packed_size(&env) <= len);
	return cgfw__envelope__pack(&env, buf);
}

static int
send_fds_msg(
    struct ipc_peer *p, const Cgfw__FdKind *kinds, size_t n_kinds, const int *fds, size_t n_fds)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Fds m = CGFW__FDS__INIT;

	m.kinds = (Cgfw__FdKind *)kinds;
	m.n_kinds = n_kinds;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_FDS;
	env.loader_mon_fds = &m;
	return ipc_send(p, &env, fds, n_fds);
}

static int
send_body(struct ipc_peer *p, Cgfw__Envelope__BodyCase body, const int *fds, size_t n_fds)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Hello h = CGFW__HELLO__INIT;
	Cgfw__MonRule r = CGFW__MON_RULE__INIT, *pr = &r;
	Cgfw__MonRules rs = CGFW__MON_RULES__INIT;
	Cgfw__ConfigCommit c = CGFW__CONFIG_COMMIT__INIT;
	Cgfw__MonStats st = CGFW__MON_STATS__INIT;
	Cgfw__DnsEvent ev = CGFW__DNS_EVENT__INIT;

	env.body_case = body;
	switch (body) {
	case CGFW__ENVELOPE__BODY_LOADER_MON_HELLO:
		h.protocol_version = CGFW_PROTOCOL_VERSION;
		h.role = CGFW__ROLE__ROLE_LOADER;
		env.loader_mon_hello = &h;
		break;
	case CGFW__ENVELOPE__BODY_LOADER_MON_RULES:
		r.id = 1;
		r.action = CGFW__ACTION__ACTION_ALLOW;
		r.text = "example.com";
		rs.rules = &pr;
		rs.n_rules = 1;
		env.loader_mon_rules = &rs;
		break;
	case CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT:
		env.loader_mon_commit = &c;
		break;
	case CGFW__ENVELOPE__BODY_MON_LOADER_STATS:
		st.events = 3;
		env.mon_loader_stats = &st;
		break;
	case CGFW__ENVELOPE__BODY_DNS_MON_EVENT:
		ev.qname = "example.com";
		env.dns_mon_event = &ev;
		break;
	case CGFW__ENVELOPE__BODY__NOT_SET:
		break;
	default:
		fail_msg("send_body: no body for case %d", (int)body);
	}
	return ipc_send(p, &env, fds, n_fds);
}

static Cgfw__Envelope *
recv_ok(struct ipc_peer *p)
{
	Cgfw__Envelope *env = NULL;
	int r = ipc_recv(p, &env);

	if (r != 0)
		fail_msg("ipc_recv: %d (%s)", r, p->violation);
	assert_non_null(env);
	return env;
}

static void
test_round_trip(void **state)
{
	struct fix *f = *state;
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT, *got;
	Cgfw__MonRule rule = CGFW__MON_RULE__INIT, *prule = &rule;
	Cgfw__MonRules rules = CGFW__MON_RULES__INIT;
	Cgfw__MonConfigBegin cfg = CGFW__MON_CONFIG_BEGIN__INIT;

	rule.id = 7;
	rule.action = CGFW__ACTION__ACTION_BLOCK;
	rule.text = "192.0.2.7";
	rule.origin = "--block-list";
	rule.kind = "IP";
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_RULES;
	rules.rules = &prule;
	rules.n_rules = 1;
	env.loader_mon_rules = &rules;
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	assert_int_equal(env.seq, 1);

	cfg.mode = CGFW__MODE__MODE_BLOCK_LIST;
	cfg.target_cgroup_id = UINT64_MAX;
	cfg.target_cgroup = "/sys/fs/cgroup/a b";
	cfg.n_rules = 1;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_CONFIG;
	env.loader_mon_config = &cfg;
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	assert_int_equal(env.seq, 2);
	assert_int_equal(f->tx.seq_out, 2);

	got = recv_ok(&f->rx);
	assert_int_equal(got->seq, 1);
	assert_int_equal(got->body_case, CGFW__ENVELOPE__BODY_LOADER_MON_RULES);
	assert_int_equal(got->loader_mon_rules->rules[0]->id, 7);
	assert_int_equal(got->loader_mon_rules->rules[0]->action, CGFW__ACTION__ACTION_BLOCK);
	assert_string_equal(got->loader_mon_rules->rules[0]->text, "192.0.2.7");
	assert_string_equal(got->loader_mon_rules->rules[0]->origin, "--block-list");
	assert_string_equal(got->loader_mon_rules->rules[0]->kind, "IP");
	assert_int_equal(f->rx.n_fds, 0);
	cgfw__envelope__free_unpacked(got, NULL);

	got = recv_ok(&f->rx);
	assert_int_equal(got->seq, 2);
	assert_int_equal(got->body_case, CGFW__ENVELOPE__BODY_LOADER_MON_CONFIG);
	assert_int_equal(got->loader_mon_config->mode, CGFW__MODE__MODE_BLOCK_LIST);
	assert_true(got->loader_mon_config->target_cgroup_id == UINT64_MAX);
	assert_string_equal(got->loader_mon_config->target_cgroup, "/sys/fs/cgroup/a b");
	assert_int_equal(f->rx.seq_in, 2);
	cgfw__envelope__free_unpacked(got, NULL);

	assert_int_equal(ipc_recv(&f->rx, &got), -EAGAIN);
	assert_string_equal(f->rx.violation, "");
}

static void
test_hello(void **state)
{
	static const Cgfw__Envelope__BodyCase bodies[] = {CGFW__ENVELOPE__BODY_MON_LOADER_HELLO,
	    CGFW__ENVELOPE__BODY_LOADER_DNS_HELLO, CGFW__ENVELOPE__BODY_DNS_MON_HELLO};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		Cgfw__Envelope *got;

		assert_int_equal(ipc_send_hello(&f->tx, bodies[i], CGFW__ROLE__ROLE_MONITOR), 0);
		got = recv_ok(&f->rx);
		assert_int_equal(got->body_case, bodies[i]);
		/* Every Hello body shares the union slot. */
		assert_non_null(got->mon_loader_hello);
		assert_int_equal(got->mon_loader_hello->protocol_version, CGFW_PROTOCOL_VERSION);
		assert_int_equal(got->mon_loader_hello->role, CGFW__ROLE__ROLE_MONITOR);
		assert_int_equal(
		    ipc_check_hello(&f->rx, got->mon_loader_hello, CGFW__ROLE__ROLE_MONITOR), 0);
		assert_int_equal(
		    ipc_check_hello(&f->rx, got->mon_loader_hello, CGFW__ROLE__ROLE_DNSPROXY),
		    -EPROTO);
		assert_has(f->rx.violation, "role 2, expected 3");
		cgfw__envelope__free_unpacked(got, NULL);
	}
}

static void
test_check_hello(void **state)
{
	static const struct {
		uint32_t version;
		Cgfw__Role role, want;
		int res;
		const char *violation;
	} cases[] = {
	    {1, CGFW__ROLE__ROLE_LOADER, CGFW__ROLE__ROLE_LOADER, 0, ""},
	    {1, CGFW__ROLE__ROLE_HTTPPROXY, CGFW__ROLE__ROLE_HTTPPROXY, 0, ""},
	    {0, CGFW__ROLE__ROLE_LOADER, CGFW__ROLE__ROLE_LOADER, -EPROTO,
	        "protocol version 0, expected 1"},
	    {2, CGFW__ROLE__ROLE_LOADER, CGFW__ROLE__ROLE_LOADER, -EPROTO,
	        "protocol version 2, expected 1"},
	    {UINT32_MAX, CGFW__ROLE__ROLE_LOADER, CGFW__ROLE__ROLE_LOADER, -EPROTO,
	        "protocol version 4294967295, expected 1"},
	    {1, CGFW__ROLE__ROLE_UNSPEC, CGFW__ROLE__ROLE_LOADER, -EPROTO, "role 0, expected 1"},
	    {1, CGFW__ROLE__ROLE_MONITOR, CGFW__ROLE__ROLE_LOADER, -EPROTO, "role 2, expected 1"},
	    {1, (Cgfw__Role)77, CGFW__ROLE__ROLE_LOADER, -EPROTO, "role 77, expected 1"},
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Cgfw__Hello h = CGFW__HELLO__INIT;

		f->rx.violation[0] = '\0';
		h.protocol_version = cases[i].version;
		h.role = cases[i].role;
		assert_int_equal(ipc_check_hello(&f->rx, &h, cases[i].want), cases[i].res);
		assert_string_equal(f->rx.violation, cases[i].violation);
	}
}

static void
test_empty_and_eof(void **state)
{
	struct fix *f = *state;
	Cgfw__Envelope *got = NULL;

	assert_int_equal(ipc_recv(&f->rx, &got), -EAGAIN);
	assert_int_equal(ipc_recv(&f->rx, &got), -EAGAIN);
	assert_null(got);
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT, NULL, 0), 0);
	(void)close(f->tx.fd);
	f->tx.fd = -1;
	/* What was queued before the close is still delivered, then EOF. */
	got = recv_ok(&f->rx);
	cgfw__envelope__free_unpacked(got, NULL);
	got = NULL;
	assert_int_equal(ipc_recv(&f->rx, &got), -EPIPE);
	assert_int_equal(ipc_recv(&f->rx, &got), -EPIPE);
	assert_null(got);
	assert_string_equal(f->rx.violation, "");
}

static void
test_fd_passing(void **state)
{
	static const Cgfw__FdKind want[] = {CGFW__FD_KIND__FD_LOG_FILE};
	struct fix *f = *state;
	Cgfw__Envelope *got;
	int pfd[2], fd = -1, base;
	char buf[8] = "";

	base = count_fds();
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(send_fds_msg(&f->tx, want, 1, &pfd[1], 1), 0);
	(void)close(pfd[1]);

	got = recv_ok(&f->rx);
	assert_int_equal(got->body_case, CGFW__ENVELOPE__BODY_LOADER_MON_FDS);
	assert_int_equal(f->rx.n_fds, 1);
	assert_int_equal(ipc_take_fds(&f->rx, got->loader_mon_fds, want, 1, &fd), 0);
	assert_int_equal(f->rx.n_fds, 0);
	assert_true(fd >= 0);
	assert_true(fd != pfd[0]);
	/* Received with MSG_CMSG_CLOEXEC: no leak into an exec'd child. */
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
	assert_int_equal(write(fd, "hi!", 3), 3);
	assert_int_equal(read(pfd[0], buf, sizeof(buf)), 3);
	assert_string_equal(buf, "hi!");
	cgfw__envelope__free_unpacked(got, NULL);

	/* The next receive does not close an fd that was taken. */
	assert_int_equal(ipc_recv(&f->rx, &got), -EAGAIN);
	assert_true(fd_is_open(fd));
	(void)close(fd);
	(void)close(pfd[0]);
	assert_int_equal(count_fds(), base);
}

/* Fds the receiver does not take are closed by the next receive. */
static void
test_fds_closed_by_next_recv(void **state)
{
	static const Cgfw__FdKind kinds[] = {CGFW__FD_KIND__FD_LOG_FILE};
	struct fix *f = *state;
	Cgfw__Envelope *got;
	int pfd[2], base, got_fd;

	base = count_fds();
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(send_fds_msg(&f->tx, kinds, 1, &pfd[1], 1), 0);
	(void)close(pfd[1]);
	(void)close(pfd[0]);
	got = recv_ok(&f->rx);
	cgfw__envelope__free_unpacked(got, NULL);
	assert_int_equal(f->rx.n_fds, 1);
	got_fd = f->rx.fds[0];
	assert_true(fd_is_open(got_fd));
	assert_int_equal(ipc_recv(&f->rx, &got), -EAGAIN);
	assert_false(fd_is_open(got_fd));
	assert_int_equal(count_fds(), base);
}

static void
test_take_fds_bad(void **state)
{
	static const struct {
		size_t n_send;
		Cgfw__FdKind kinds[3];
		size_t n_kinds;
		Cgfw__FdKind want[3];
		size_t n_want;
		const char *violation;
	} cases[] = {
	    {2, {CGFW__FD_KIND__FD_LOG_FILE}, 1, {CGFW__FD_KIND__FD_LOG_FILE}, 1,
	        "expected 1 fds, message lists 1 and carries 2"},
	    {1, {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP}, 2,
	        {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP}, 2,
	        "expected 2 fds, message lists 2 and carries 1"},
	    {0, {CGFW__FD_KIND__FD_LOG_FILE}, 1, {CGFW__FD_KIND__FD_LOG_FILE}, 1,
	        "expected 1 fds, message lists 1 and carries 0"},
	    {3,
	        {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP,
	            CGFW__FD_KIND__FD_LOG_FILE},
	        3, {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP}, 2,
	        "expected 2 fds, message lists 3 and carries 3"},
	    {1, {CGFW__FD_KIND__FD_RINGBUF}, 1, {CGFW__FD_KIND__FD_LOG_FILE}, 1,
	        "fd 0 has kind 1, expected 3"},
	    {2, {CGFW__FD_KIND__FD_STATS_MAP, CGFW__FD_KIND__FD_RINGBUF}, 2,
	        {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP}, 2,
	        "fd 0 has kind 2, expected 1"},
	    {2, {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_UNSPEC}, 2,
	        {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP}, 2,
	        "fd 1 has kind 0, expected 2"},
	};
	struct fix *f = *state;
	int base = count_fds();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fds[3], ret_fds[3] = {-1, -1, -1}, received[CGFW_IPC_MAX_FDS];
		size_t n_received;
		Cgfw__Envelope *got;

		for (size_t j = 0; j < cases[i].n_send; j++) {
			fds[j] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			assert_true(fds[j] >= 0);
		}
		assert_int_equal(
		    send_fds_msg(&f->tx, cases[i].kinds, cases[i].n_kinds, fds, cases[i].n_send),
		    0);
		for (size_t j = 0; j < cases[i].n_send; j++)
			(void)close(fds[j]);

		got = recv_ok(&f->rx);
		n_received = f->rx.n_fds;
		assert_int_equal(n_received, cases[i].n_send);
		memcpy(received, f->rx.fds, sizeof(received));
		for (size_t j = 0; j < n_received; j++)
			assert_true(fd_is_open(received[j]));

		f->rx.violation[0] = '\0';
		assert_int_equal(ipc_take_fds(&f->rx, got->loader_mon_fds, cases[i].want,
		                     cases[i].n_want, ret_fds),
		    -EPROTO);
		assert_string_equal(f->rx.violation, cases[i].violation);
		assert_int_equal(f->rx.n_fds, 0);
		for (size_t j = 0; j < n_received; j++)
			if (fd_is_open(received[j]))
				fail_msg("case %zu: received fd %d still open", i, received[j]);
		for (size_t j = 0; j < 3; j++)
			assert_int_equal(ret_fds[j], -1);
		cgfw__envelope__free_unpacked(got, NULL);
		assert_int_equal(count_fds(), base);
	}
}

static void
test_garbage(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
	} cases[] = {
	    {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11}, /* varint too long */
	    {"\x08", 1},                                          /* truncated varint */
	    {"\x08\x01\x0a\005ab", 6},     /* seq 1, then a short length-delimited field */
	    {"\x08\x01\xe2\x12\005ab", 7}, /* seq 1, a Hello body cut short */
	    {"\x08\x01\x0f", 3},           /* wire type 7 */
	    {"hello, world\n", 13},
	};
	struct fix *f = *state;
	int base = count_fds();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Cgfw__Envelope *got = NULL;
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), received;

		assert_true(fd >= 0);
		send_raw(f->tx.fd, cases[i].bytes, cases[i].n, &fd, 1);
		(void)close(fd);
		f->rx.violation[0] = '\0';
		if (ipc_recv(&f->rx, &got) != -EPROTO)
			fail_msg("case %zu: not -EPROTO", i);
		assert_null(got);
		assert_has(f->rx.violation, "not a valid envelope");
		received = f->rx.fds[0];
		assert_false(fd_is_open(received));
		assert_int_equal(f->rx.seq_in, 0);
		assert_int_equal(count_fds(), base);
	}
}

static void
test_bad_seq(void **state)
{
	static const struct {
		uint64_t seq;
		const char *violation;
	} cases[] = {
	    {5, "sequence 5, expected 1"},
	    {0, "sequence 0, expected 1"},
	    {2, "sequence 2, expected 1"},
	    {UINT64_MAX, "sequence 18446744073709551615, expected 1"},
	};
	struct fix *f = *state;
	Cgfw__Envelope *got = NULL;
	uint8_t buf[64];
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = pack_commit(cases[i].seq, buf, sizeof(buf));
		send_raw(f->tx.fd, buf, n, NULL, 0);
		assert_int_equal(ipc_recv(&f->rx, &got), -EPROTO);
		assert_null(got);
		assert_string_equal(f->rx.violation, cases[i].violation);
		assert_int_equal(f->rx.seq_in, 0);
	}

	/* In order, then a replay. */
	n = pack_commit(1, buf, sizeof(buf));
	send_raw(f->tx.fd, buf, n, NULL, 0);
	got = recv_ok(&f->rx);
	cgfw__envelope__free_unpacked(got, NULL);
	got = NULL;
	send_raw(f->tx.fd, buf, n, NULL, 0);
	assert_int_equal(ipc_recv(&f->rx, &got), -EPROTO);
	assert_null(got);
	assert_string_equal(f->rx.violation, "sequence 1, expected 2");
}

/* An envelope of exactly CGFW_IPC_MAX bytes goes through; one byte more does not. */
static void
test_size_limit(void **state)
{
	struct fix *f = *state;
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT, *got;
	Cgfw__MonRule rule = CGFW__MON_RULE__INIT, *prule = &rule;
	Cgfw__MonRules rules = CGFW__MON_RULES__INIT;
	size_t len = 0;
	char *text;

	text = malloc(CGFW_IPC_MAX + 1);
	assert_non_null(text);
	env.seq = 1;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_RULES;
	rules.rules = &prule;
	rules.n_rules = 1;
	env.loader_mon_rules = &rules;
	rule.text = text;
	for (len = CGFW_IPC_MAX - 32; len < CGFW_IPC_MAX; len++) {
		memset(text, 'x', len);
		text[len] = '\0';
		if (cgfw__envelope__get_packed_size(&env) == CGFW_IPC_MAX)
			break;
	}
	assert_int_equal(cgfw__envelope__get_packed_size(&env), CGFW_IPC_MAX);
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	got = recv_ok(&f->rx);
	assert_int_equal(strlen(got->loader_mon_rules->rules[0]->text), len);
	cgfw__envelope__free_unpacked(got, NULL);

	text[len] = 'x';
	text[len + 1] = '\0';
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), -EMSGSIZE);
	assert_int_equal(ipc_recv(&f->rx, &got), -EAGAIN);
	free(text);
}

static void
test_oversized(void **state)
{
	static const size_t sizes[] = {CGFW_IPC_MAX + 1, CGFW_IPC_MAX + 2, CGFW_IPC_MAX + 4096};
	static const char *const why[] = {"message larger than 65536 bytes",
	    "message or its fds truncated", "message or its fds truncated"};
	struct fix *f = *state;
	int base = count_fds();
	uint8_t *buf;

	buf = calloc(1, CGFW_IPC_MAX + 4096);
	assert_non_null(buf);
	/* A valid envelope prefix, so only the size can be the reason. */
	(void)pack_commit(1, buf, 64);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		Cgfw__Envelope *got = NULL;
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		send_raw(f->tx.fd, buf, sizes[i], &fd, 1);
		(void)close(fd);
		assert_int_equal(ipc_recv(&f->rx, &got), -EPROTO);
		assert_null(got);
		assert_string_equal(f->rx.violation, why[i]);
		assert_int_equal(count_fds(), base);
	}
	free(buf);
}

/* More fds than the receiver makes room for: MSG_CTRUNC, and none of them may leak. */
static void
test_ctrunc(void **state)
{
	struct fix *f = *state;
	Cgfw__Envelope *got = NULL;
	int fds[CGFW_IPC_MAX_FDS + 1], base = count_fds(), received[CGFW_IPC_MAX_FDS];
	uint8_t buf[64];
	size_t n;

	for (size_t i = 0; i < CGFW_IPC_MAX_FDS + 1; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	n = pack_commit(1, buf, sizeof(buf));
	send_raw(f->tx.fd, buf, n, fds, CGFW_IPC_MAX_FDS + 1);
	for (size_t i = 0; i < CGFW_IPC_MAX_FDS + 1; i++)
		(void)close(fds[i]);

	assert_int_equal(ipc_recv(&f->rx, &got), -EPROTO);
	assert_null(got);
	assert_string_equal(f->rx.violation, "message or its fds truncated");
	assert_int_equal(f->rx.n_fds, 0);
	memcpy(received, f->rx.fds, sizeof(received));
	for (size_t i = 0; i < CGFW_IPC_MAX_FDS; i++)
		assert_false(fd_is_open(received[i]));
	assert_int_equal(count_fds(), base);

	/* The sender side refuses to build such a message at all. */
	assert_int_equal(send_fds_msg(&f->tx, NULL, 0, fds, CGFW_IPC_MAX_FDS + 1), -EINVAL);
	assert_int_equal(f->tx.seq_out, 0);
	assert_int_equal(ipc_recv(&f->rx, &got), -EAGAIN);
}

/* Exactly CGFW_IPC_MAX_FDS fds fit. */
static void
test_max_fds(void **state)
{
	Cgfw__FdKind kinds[CGFW_IPC_MAX_FDS];
	int fds[CGFW_IPC_MAX_FDS], out[CGFW_IPC_MAX_FDS], base = count_fds();
	struct fix *f = *state;
	Cgfw__Envelope *got;

	for (size_t i = 0; i < CGFW_IPC_MAX_FDS; i++) {
		kinds[i] = CGFW__FD_KIND__FD_LOG_FILE;
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(send_fds_msg(&f->tx, kinds, CGFW_IPC_MAX_FDS, fds, CGFW_IPC_MAX_FDS), 0);
	for (size_t i = 0; i < CGFW_IPC_MAX_FDS; i++)
		(void)close(fds[i]);
	got = recv_ok(&f->rx);
	assert_int_equal(f->rx.n_fds, CGFW_IPC_MAX_FDS);
	assert_int_equal(
	    ipc_take_fds(&f->rx, got->loader_mon_fds, kinds, CGFW_IPC_MAX_FDS, out), 0);
	cgfw__envelope__free_unpacked(got, NULL);
	for (size_t i = 0; i < CGFW_IPC_MAX_FDS; i++) {
		assert_true(fd_is_open(out[i]));
		(void)close(out[i]);
	}
	assert_int_equal(count_fds(), base);
}

/* A datagram that is nothing but fds: no EOF, and the fds are closed. */
static void
test_fds_without_message(void **state)
{
	struct fix *f = *state;
	Cgfw__Envelope *got = NULL;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), base;

	assert_true(fd >= 0);
	base = count_fds() - 1;
	send_raw(f->tx.fd, "", 0, &fd, 1);
	(void)close(fd);
	assert_int_equal(ipc_recv(&f->rx, &got), -EPROTO);
	assert_null(got);
	assert_string_equal(f->rx.violation, "sequence 0, expected 1");
	assert_int_equal(count_fds(), base);
}

/* ---- dispatch ---- */

struct dctx {
	int n_hello, n_rule, n_fds, n_commit;
	int commit_res;
	int fd;
};

static int
on_hello(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dctx *c = ctx;

	c->n_hello++;
	return ipc_check_hello(p, env->loader_mon_hello, CGFW__ROLE__ROLE_LOADER);
}

static int
on_rule(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dctx *c = ctx;

	(void)p;
	assert_string_equal(env->loader_mon_rules->rules[0]->text, "example.com");
	c->n_rule++;
	return 0;
}

static int
on_fds(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	static const Cgfw__FdKind want[] = {CGFW__FD_KIND__FD_LOG_FILE};
	struct dctx *c = ctx;

	c->n_fds++;
	return ipc_take_fds(p, env->loader_mon_fds, want, 1, &c->fd);
}

static int
on_commit(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dctx *c = ctx;

	(void)p;
	(void)env;
	c->n_commit++;
	return c->commit_res;
}

static const struct ipc_rule table[] = {
    {CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, IPC_ONCE, on_hello},
    {CGFW__ENVELOPE__BODY_LOADER_MON_RULES, 0, on_rule},
    {CGFW__ENVELOPE__BODY_LOADER_MON_FDS, IPC_ONCE, on_fds},
    {CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT, IPC_ONCE, on_commit},
    {0, 0, NULL},
};

static int
recv_dispatch(struct ipc_peer *p, struct dctx *c)
{
	return ipc_dispatch(p, table, c, recv_ok(p));
}

/* Every row, in a normal conversation. */
static void
test_dispatch_rows(void **state)
{
	static const Cgfw__FdKind kinds[] = {CGFW__FD_KIND__FD_LOG_FILE};
	struct fix *f = *state;
	struct dctx c = {.fd = -1};
	int pfd[2], base = count_fds();
	char buf[4] = "";

	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_RULES, NULL, 0), 0);
		assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	}
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(send_fds_msg(&f->tx, kinds, 1, &pfd[1], 1), 0);
	(void)close(pfd[1]);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	assert_true(c.fd >= 0);
	assert_int_equal(write(c.fd, "ok", 2), 2);
	assert_int_equal(read(pfd[0], buf, sizeof(buf)), 2);
	assert_string_equal(buf, "ok");
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);

	assert_int_equal(c.n_hello, 1);
	assert_int_equal(c.n_rule, 3);
	assert_int_equal(c.n_fds, 1);
	assert_int_equal(c.n_commit, 1);
	assert_string_equal(f->rx.violation, "");
	(void)close(c.fd);
	(void)close(pfd[0]);
	assert_int_equal(count_fds(), base);
}

static void
test_dispatch_unknown(void **state)
{
	static const struct {
		Cgfw__Envelope__BodyCase body;
		const char *violation;
	} cases[] = {
	    {CGFW__ENVELOPE__BODY_MON_LOADER_STATS, "loader may not send mon_loader_stats (402)"},
	    {CGFW__ENVELOPE__BODY_DNS_MON_EVENT, "loader may not send dns_mon_event (701)"},
	    {CGFW__ENVELOPE__BODY__NOT_SET, "loader may not send unknown (0)"},
	};
	struct fix *f = *state;
	struct dctx c = {.fd = -1};
	int base = count_fds();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(send_body(&f->tx, cases[i].body, &fd, 1), 0);
		(void)close(fd);
		assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
		assert_string_equal(f->rx.violation, cases[i].violation);
		assert_int_equal(count_fds(), base);
	}
	assert_int_equal(c.n_hello + c.n_rule + c.n_fds + c.n_commit, 0);
}

static void
test_dispatch_once(void **state)
{
	struct fix *f = *state;
	struct dctx c = {.fd = -1};

	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_hello twice");
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_commit twice");
	/* The handlers of the repeats never ran. */
	assert_int_equal(c.n_hello, 1);
	assert_int_equal(c.n_commit, 1);
	/* A row without IPC_ONCE may repeat. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(
		    send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_RULES, NULL, 0), 0);
		assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	}
	assert_int_equal(c.n_rule, 5);
}

/* Fds that ride with a message whose handler does not take them are a violation. */
static void
test_dispatch_stray_fds(void **state)
{
	static const Cgfw__FdKind two[] = {CGFW__FD_KIND__FD_LOG_FILE, CGFW__FD_KIND__FD_LOG_FILE};
	struct fix *f = *state;
	struct dctx c = {.fd = -1};
	int fds[2], base = count_fds(), received;

	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fds[0] >= 0 && fds[1] >= 0);

	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_RULES, fds, 1), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent fds with loader_mon_rules");
	assert_int_equal(c.n_rule, 1);
	assert_int_equal(f->rx.n_fds, 0);
	received = f->rx.fds[0];
	assert_false(fd_is_open(received));

	/* The fds handler with a wrong count: its ipc_take_fds() refuses, all closed. */
	assert_int_equal(send_fds_msg(&f->tx, two, 2, fds, 2), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "expected 1 fds, message lists 2 and carries 2");
	assert_int_equal(c.n_fds, 1);
	assert_int_equal(c.fd, -1);

	(void)close(fds[0]);
	(void)close(fds[1]);
	assert_int_equal(count_fds(), base);
}

static void
test_dispatch_handler_error(void **state)
{
	struct fix *f = *state;
	struct dctx c = {.fd = -1, .commit_res = -ECANCELED};
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), base;

	assert_true(fd >= 0);
	base = count_fds() - 1;
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT, &fd, 1), 0);
	(void)close(fd);
	assert_int_equal(recv_dispatch(&f->rx, &c), -ECANCELED);
	assert_int_equal(c.n_commit, 1);
	assert_string_equal(f->rx.violation, "");
	assert_int_equal(f->rx.n_fds, 0);
	assert_int_equal(count_fds(), base);

	/* A handler's own violation comes back as -EPROTO. */
	c.commit_res = 0;
	assert_int_equal(ipc_send_hello(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO,
	                     CGFW__ROLE__ROLE_DNSPROXY),
	    0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "role 3, expected 1");
}

static void
test_check_socket(void **state)
{
	struct fix *f = *state;
	int pfd[2];

	assert_int_equal(ipc_check_socket(f->rx.fd, AF_UNIX, SOCK_SEQPACKET), 0);
	assert_int_equal(ipc_check_socket(f->rx.fd, AF_UNIX, SOCK_STREAM), -EPROTOTYPE);
	assert_int_equal(ipc_check_socket(f->rx.fd, AF_UNIX, SOCK_DGRAM), -EPROTOTYPE);
	assert_int_equal(ipc_check_socket(f->rx.fd, AF_INET, SOCK_SEQPACKET), -EPROTOTYPE);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(ipc_check_socket(pfd[0], AF_UNIX, SOCK_SEQPACKET), -ENOTSOCK);
	(void)close(pfd[0]);
	(void)close(pfd[1]);
	assert_int_equal(ipc_check_socket(pfd[0], AF_UNIX, SOCK_SEQPACKET), -EBADF);
}

static void
test_body_name(void **state)
{
	static const struct {
		Cgfw__Envelope__BodyCase body;
		const char *name;
	} cases[] = {
	    {CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, "loader_mon_hello"},
	    {CGFW__ENVELOPE__BODY_LOADER_MON_FDS, "loader_mon_fds"},
	    {CGFW__ENVELOPE__BODY_DNS_MON_EVENT, "dns_mon_event"},
	    {CGFW__ENVELOPE__BODY__NOT_SET, "unknown"},
	    {(Cgfw__Envelope__BodyCase)99999, "unknown"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(ipc_body_name(cases[i].body), cases[i].name);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_round_trip),
	    T(test_hello),
	    T(test_check_hello),
	    T(test_empty_and_eof),
	    T(test_fd_passing),
	    T(test_fds_closed_by_next_recv),
	    T(test_take_fds_bad),
	    T(test_garbage),
	    T(test_bad_seq),
	    T(test_size_limit),
	    T(test_oversized),
	    T(test_ctrunc),
	    T(test_max_fds),
	    T(test_fds_without_message),
	    T(test_dispatch_rows),
	    T(test_dispatch_unknown),
	    T(test_dispatch_once),
	    T(test_dispatch_stray_fds),
	    T(test_dispatch_handler_error),
	    T(test_check_socket),
	    T(test_body_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
