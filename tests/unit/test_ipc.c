// SPDX-License-Identifier: MIT
/*
 * IPC framing (lib/ipc.c) over a real SOCK_SEQPACKET socketpair: round trips,
 * fd passing, every receive-side violation (garbage, bad seq, oversized,
 * truncated control data, wrong fd count or kind, NUL in a string) and the
 * protocol table's dispatcher (states, fds, validators).
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

#include "tests/unit/fds.h"

#include "lib/ipc.h"
#include "lib/ipc_send.h"
#include "lib/protocol.h"

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

/* Each HELLO in its own field, with the role of its channel's sender. */
static void
test_hello(void **state)
{
	struct fix *f = *state;
	Cgfw__Envelope *got;

	assert_int_equal(ipc_send_mon_loader_hello(&f->tx), 0);
	got = recv_ok(&f->rx);
	assert_int_equal(got->body_case, CGFW__ENVELOPE__BODY_MON_LOADER_HELLO);
	assert_int_equal(got->mon_loader_hello->protocol_version, CGFW_PROTOCOL_VERSION);
	assert_int_equal(got->mon_loader_hello->role, CGFW__ROLE__ROLE_MONITOR);
	cgfw__envelope__free_unpacked(got, NULL);

	assert_int_equal(ipc_send_loader_dns_hello(&f->tx), 0);
	got = recv_ok(&f->rx);
	assert_int_equal(got->body_case, CGFW__ENVELOPE__BODY_LOADER_DNS_HELLO);
	assert_int_equal(got->loader_dns_hello->role, CGFW__ROLE__ROLE_LOADER);
	cgfw__envelope__free_unpacked(got, NULL);

	assert_int_equal(ipc_send_dns_mon_hello(&f->tx), 0);
	got = recv_ok(&f->rx);
	assert_int_equal(got->body_case, CGFW__ENVELOPE__BODY_DNS_MON_HELLO);
	assert_int_equal(got->dns_mon_hello->role, CGFW__ROLE__ROLE_DNSPROXY);
	cgfw__envelope__free_unpacked(got, NULL);

	assert_int_equal(ipc_send_http_loader_hello(&f->tx), 0);
	got = recv_ok(&f->rx);
	assert_int_equal(got->body_case, CGFW__ENVELOPE__BODY_HTTP_LOADER_HELLO);
	assert_int_equal(got->http_loader_hello->role, CGFW__ROLE__ROLE_HTTPPROXY);
	cgfw__envelope__free_unpacked(got, NULL);
}

struct dctx;
static int recv_dispatch(struct ipc_peer *p, struct dctx *c);

/* The HELLO validator, on the loader -> monitor channel. */
static void
test_check_hello(void **state)
{
	static const struct {
		uint32_t version;
		Cgfw__Role role;
		int res;
		const char *violation;
	} cases[] = {
	    {1, CGFW__ROLE__ROLE_LOADER, 0, ""},
	    {0, CGFW__ROLE__ROLE_LOADER, -EPROTO, "protocol version 0, expected 1"},
	    {2, CGFW__ROLE__ROLE_LOADER, -EPROTO, "protocol version 2, expected 1"},
	    {UINT32_MAX, CGFW__ROLE__ROLE_LOADER, -EPROTO,
	        "protocol version 4294967295, expected 1"},
	    {1, CGFW__ROLE__ROLE_UNSPEC, -EPROTO, "role 0, expected 1"},
	    {1, CGFW__ROLE__ROLE_MONITOR, -EPROTO, "role 2, expected 1"},
	    {1, (Cgfw__Role)77, -EPROTO, "role 77, expected 1"},
	};
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
		Cgfw__Hello h = CGFW__HELLO__INIT;

		f->rx.violation[0] = '\0';
		f->rx.state = IPC_ST_HELLO;
		h.protocol_version = cases[i].version;
		h.role = cases[i].role;
		env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_HELLO;
		env.loader_mon_hello = &h;
		assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
		assert_int_equal(recv_dispatch(&f->rx, NULL), cases[i].res);
		assert_string_equal(f->rx.violation, cases[i].violation);
		assert_int_equal(f->rx.state, cases[i].res ? IPC_ST_HELLO : IPC_ST_CONFIG);
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
/* A message of exactly CGFW_IPC_MAX bytes goes through; one byte more is refused. */
static void
test_size_limit(void **state)
{
	enum { N = 17 };
	struct fix *f = *state;
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT, *got;
	Cgfw__MonRule rule[N], *prule[N];
	Cgfw__MonRules rules = CGFW__MON_RULES__INIT;
	static char fill[3901], last[CGFW_IPC_STR_MAX + 2];
	size_t len = 0;

	memset(fill, 'y', sizeof(fill) - 1);
	for (int i = 0; i < N; i++) {
		cgfw__mon_rule__init(&rule[i]);
		rule[i].text = i < N - 1 ? fill : last;
		prule[i] = &rule[i];
	}
	env.seq = 1;
	rules.rules = prule;
	rules.n_rules = N;
	ipc_env_loader_mon_rules(&env, &rules);
	for (len = 1; len < CGFW_IPC_STR_MAX; len++) {
		memset(last, 'x', len);
		last[len] = '\0';
		if (cgfw__envelope__get_packed_size(&env) == CGFW_IPC_MAX)
			break;
	}
	assert_int_equal(cgfw__envelope__get_packed_size(&env), CGFW_IPC_MAX);
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	got = recv_ok(&f->rx);
	assert_int_equal(strlen(got->loader_mon_rules->rules[N - 1]->text), len);
	cgfw__envelope__free_unpacked(got, NULL);

	last[len] = 'x';
	last[len + 1] = '\0';
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), -EMSGSIZE);
	assert_int_equal(ipc_recv(&f->rx, &got), -EAGAIN);
}

/* A string over CGFW_IPC_STR_MAX is refused on the wire. */
static void
test_string_max(void **state)
{
	struct fix *f = *state;
	Cgfw__Notice n = CGFW__NOTICE__INIT;
	static char big[CGFW_IPC_STR_MAX + 2];
	Cgfw__Envelope *got = NULL;

	memset(big, 'z', CGFW_IPC_STR_MAX);
	n.msg = "X";
	n.because = "Y";
	n.comment = big;
	assert_int_equal(ipc_send_loader_mon_notice(&f->tx, &n), 0);
	got = recv_ok(&f->rx);
	cgfw__envelope__free_unpacked(got, NULL);
	big[CGFW_IPC_STR_MAX] = 'z';
	assert_int_equal(ipc_send_loader_mon_notice(&f->tx, &n), 0);
	assert_int_equal(ipc_recv(&f->rx, &got), -EPROTO);
	assert_string_equal(
	    f->rx.violation, "string comment has a NUL inside or is over 4096 bytes");
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

/* ---- dispatch: the protocol table (lib/protocol.def) ---- */

struct dctx {
	int n_config, n_rule, n_fds, n_commit;
	int commit_res;
	int fds[6];
	size_t n_taken;
};

static int
on_config(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dctx *c = ctx;

	(void)p;
	(void)env;
	c->n_config++;
	return 0;
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

/* Takes whatever the table let through. */
static int
on_fds(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dctx *c = ctx;

	c->n_fds++;
	c->n_taken = p->n_fds;
	return ipc_take_fds(p, env->loader_mon_fds, env->loader_mon_fds->kinds, p->n_fds, c->fds);
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

static const struct ipc_handlers handlers = {
    .chan = IPC_CH_LOADER_MON,
    .on =
        {
            [IPC_M_LOADER_MON_CONFIG] = on_config,
            [IPC_M_LOADER_MON_RULES] = on_rule,
            [IPC_M_LOADER_MON_FDS] = on_fds,
            [IPC_M_LOADER_MON_COMMIT] = on_commit,
        },
};

static int
recv_dispatch(struct ipc_peer *p, struct dctx *c)
{
	Cgfw__Envelope *env = NULL;
	int r = ipc_recv(p, &env);

	if (r < 0)
		return r;
	return ipc_dispatch(p, &handlers, c, env);
}

static int
send_config(struct ipc_peer *p, Cgfw__Mode mode)
{
	Cgfw__MonConfigBegin cfg = CGFW__MON_CONFIG_BEGIN__INIT;

	cfg.mode = mode;
	cfg.n_rules = 3;
	return ipc_send_loader_mon_config(p, &cfg);
}

static void
close_taken(struct dctx *c)
{
	for (size_t i = 0; i < c->n_taken; i++)
		(void)close(c->fds[i]);
	c->n_taken = 0;
}

static const Cgfw__FdKind six[] = {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP,
    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_HTTP_EVENTS, CGFW__FD_KIND__FD_ARGV_MAP,
    CGFW__FD_KIND__FD_EVENTS_LISTEN};

/* Every row of a configuration, in order: HELLO, CONFIG, RULES..., FDS, COMMIT. */
static void
test_dispatch_rows(void **state)
{
	struct fix *f = *state;
	struct dctx c = {0};
	int fds[6], base = count_fds();

	assert_int_equal(f->rx.state, IPC_ST_HELLO);
	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	assert_int_equal(f->rx.state, IPC_ST_CONFIG);
	assert_int_equal(send_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	assert_int_equal(f->rx.state, IPC_ST_RULES);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_RULES, NULL, 0), 0);
		assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	}
	open_nulls(fds, 6);
	assert_int_equal(send_fds_msg(&f->tx, six, 6, fds, 6), 0);
	close_all(fds, 6);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	assert_int_equal(f->rx.state, IPC_ST_COMMIT);
	assert_int_equal(c.n_taken, 6);
	close_taken(&c);
	assert_int_equal(ipc_send_loader_mon_commit(&f->tx), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	assert_int_equal(f->rx.state, IPC_ST_RUNNING);

	assert_int_equal(c.n_config, 1);
	assert_int_equal(c.n_rule, 3);
	assert_int_equal(c.n_fds, 1);
	assert_int_equal(c.n_commit, 1);
	assert_string_equal(f->rx.violation, "");
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
	struct dctx c = {0};
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
	assert_int_equal(c.n_config + c.n_rule + c.n_fds + c.n_commit, 0);
}

/* Each message only in the states its row permits: out of order, twice, too early. */
static void
test_dispatch_states(void **state)
{
	struct fix *f = *state;
	struct dctx c = {0};

	/* Nothing before HELLO. */
	assert_int_equal(send_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_config in state HELLO");
	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	/* HELLO once. */
	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_hello in state CONFIG");
	/* No rules, fds or commit before CONFIG. */
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_RULES, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_rules in state CONFIG");
	assert_int_equal(ipc_send_loader_mon_commit(&f->tx), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_commit in state CONFIG");
	assert_int_equal(send_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	/* CONFIG once; COMMIT not before the fds; SHUTDOWN and NOTICE not before RUNNING. */
	assert_int_equal(send_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_config in state RULES");
	assert_int_equal(ipc_send_loader_mon_commit(&f->tx), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_commit in state RULES");
	assert_int_equal(ipc_send_loader_mon_shutdown(&f->tx), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_shutdown in state RULES");
	/* The handlers of the refused ones never ran. */
	assert_int_equal(c.n_config, 1);
	assert_int_equal(c.n_commit, 0);
	/* RULES may repeat. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(
		    send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_RULES, NULL, 0), 0);
		assert_int_equal(recv_dispatch(&f->rx, &c), 0);
	}
	assert_int_equal(c.n_rule, 5);
	/* Once RUNNING, a setting is refused. */
	f->rx.state = IPC_ST_RUNNING;
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_RULES, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent loader_mon_rules in state RUNNING");
	assert_int_equal(c.n_rule, 5);
}

/* Fds the row does not allow are refused before any handler runs, and closed. */
static void
test_dispatch_fds(void **state)
{
	static const Cgfw__FdKind twice[] = {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_HTTP_EVENTS,
	    CGFW__FD_KIND__FD_EVENTS_LISTEN, CGFW__FD_KIND__FD_RINGBUF};
	static const Cgfw__FdKind alien[] = {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_HTTP_EVENTS,
	    CGFW__FD_KIND__FD_EVENTS_LISTEN, CGFW__FD_KIND__FD_CA_KEY};
	struct fix *f = *state;
	struct dctx c = {0};
	int fds[7], base = count_fds();

	open_nulls(fds, 7);
	/* Fds with a message that carries none. */
	f->rx.state = IPC_ST_RULES;
	assert_int_equal(send_body(&f->tx, CGFW__ENVELOPE__BODY_LOADER_MON_RULES, fds, 1), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader sent fds with loader_mon_rules");
	/* Too few, too many, listed but missing, a kind twice, a kind not of this row. */
	f->rx.state = IPC_ST_RULES;
	assert_int_equal(send_fds_msg(&f->tx, six, 2, fds, 2), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader_mon_fds: 2 kinds, 2 fds");
	assert_int_equal(send_fds_msg(&f->tx, six, 6, fds, 5), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader_mon_fds: 6 kinds, 5 fds");
	{
		/* As many as the row allows (and CGFW_IPC_MAX_FDS), but one kind over and over. */
		Cgfw__FdKind seven[7];

		for (int i = 0; i < 7; i++)
			seven[i] = CGFW__FD_KIND__FD_LOG_FILE;
		assert_int_equal(send_fds_msg(&f->tx, seven, 7, fds, 7), 0);
		assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
		assert_string_equal(f->rx.violation, "loader_mon_fds: kind 3 twice");
	}
	assert_int_equal(send_fds_msg(&f->tx, twice, 6, fds, 6), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader_mon_fds: kind 1 twice");
	assert_int_equal(send_fds_msg(&f->tx, alien, 6, fds, 6), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "loader_mon_fds: unexpected kind 14");
	assert_int_equal(c.n_fds + c.n_rule, 0);
	assert_int_equal(f->rx.n_fds, 0);
	assert_int_equal(f->rx.state, IPC_ST_RULES);
	close_all(fds, 7);
	assert_int_equal(count_fds(), base);
}

/* The validators: a field out of range is refused before the handler. */
static void
test_dispatch_validators(void **state)
{
	struct fix *f = *state;
	struct dctx c = {0};
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Hello h = CGFW__HELLO__INIT;
	Cgfw__Notice n = CGFW__NOTICE__INIT;

	/* A HELLO of the wrong role or version. */
	h.protocol_version = CGFW_PROTOCOL_VERSION;
	h.role = CGFW__ROLE__ROLE_DNSPROXY;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_HELLO;
	env.loader_mon_hello = &h;
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "role 3, expected 1");
	h.role = CGFW__ROLE__ROLE_LOADER;
	h.protocol_version = 99;
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "protocol version 99, expected 1");
	assert_int_equal(f->rx.state, IPC_ST_HELLO);

	f->rx.state = IPC_ST_CONFIG;
	assert_int_equal(send_config(&f->tx, CGFW__MODE__MODE_UNSPEC), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "config: mode 0");
	assert_int_equal(c.n_config, 0);

	/* A notice that would forge a line of the text log. */
	f->rx.state = IPC_ST_RUNNING;
	n.msg = "ATTACH LOST\nfake";
	n.because = "CgroupRemoved";
	n.comment = "";
	assert_int_equal(ipc_send_loader_mon_notice(&f->tx, &n), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "notice: msg");
	n.msg = "ATTACH LOST";
	n.comment = "a\r\nb";
	assert_int_equal(ipc_send_loader_mon_notice(&f->tx, &n), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -EPROTO);
	assert_string_equal(f->rx.violation, "notice: comment");
	n.comment = "fine";
	assert_int_equal(ipc_send_loader_mon_notice(&f->tx, &n), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), 0);
}

/* A string with a NUL inside is refused on the wire, before it is unpacked. */
static void
test_string_nul(void **state)
{
	static const char text[] = "example.com\0evil";
	struct fix *f = *state;
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT, *got = NULL;
	Cgfw__Notice n = CGFW__NOTICE__INIT;
	uint8_t buf[256];
	size_t len;

	n.msg = "ATTACH LOST";
	n.because = "X";
	n.comment = "placeholder-of-16";
	env.seq = 1;
	ipc_env_loader_mon_notice(&env, &n);
	len = cgfw__envelope__pack(&env, buf);
	/* Overwrite the comment's bytes, NUL included (same length). */
	{
		uint8_t *at = memmem(buf, len, "placeholder-of-16", 17);

		assert_non_null(at);
		memcpy(at, text, 17);
	}
	send_raw(f->tx.fd, buf, len, NULL, 0);
	assert_int_equal(ipc_recv(&f->rx, &got), -EPROTO);
	assert_null(got);
	assert_string_equal(
	    f->rx.violation, "string comment has a NUL inside or is over 4096 bytes");
}

static void
test_dispatch_handler_error(void **state)
{
	struct fix *f = *state;
	struct dctx c = {.commit_res = -ECANCELED};

	f->rx.state = IPC_ST_COMMIT;
	assert_int_equal(ipc_send_loader_mon_commit(&f->tx), 0);
	assert_int_equal(recv_dispatch(&f->rx, &c), -ECANCELED);
	assert_int_equal(c.n_commit, 1);
	assert_string_equal(f->rx.violation, "");
	assert_int_equal(f->rx.n_fds, 0);
	/* A failed message moves nothing on. */
	assert_int_equal(f->rx.state, IPC_ST_COMMIT);
}

/* Every row names a channel, permits a state, and has a validator; bodies are unique. */
static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < IPC_N_MSGS; i++) {
		const struct ipc_msg_def *m = &ipc_msgs[i];

		assert_non_null(m->name);
		assert_string_equal(ipc_body_name(m->body), m->name);
		assert_ptr_equal(ipc_msg_of(m->body), m);
		assert_true(m->chan < IPC_N_CHANS);
		assert_true(m->permit != 0);
		assert_non_null(m->check);
		assert_true(m->fds_min <= m->fds_max && m->fds_max <= CGFW_IPC_MAX_FDS);
		assert_true((m->fds != NULL) == (m->fds_max > 0));
	}
	/* Every body of the schema has its row. */
	for (unsigned i = 0; i < cgfw__envelope__descriptor.n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &cgfw__envelope__descriptor.fields[i];

		if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			assert_non_null(ipc_msg_of((Cgfw__Envelope__BodyCase)fd->id));
	}
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
	    T(test_string_max),
	    T(test_oversized),
	    T(test_ctrunc),
	    T(test_max_fds),
	    T(test_fds_without_message),
	    T(test_dispatch_rows),
	    T(test_dispatch_unknown),
	    T(test_dispatch_states),
	    T(test_dispatch_fds),
	    T(test_dispatch_validators),
	    T(test_string_nul),
	    T(test_dispatch_handler_error),
	    T(test_table),
	    T(test_check_socket),
	    T(test_body_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
