// SPDX-License-Identifier: MIT
/*
 * Each worker's IPC handlers (monitor.c, dnsproxy.c, httpproxy.c, linked
 * without their main()) behind the protocol table, fed hostile messages over
 * a real SEQPACKET socketpair through ipc_recv() and ipc_dispatch(): wrong
 * state, duplicates, wrong, missing and extra fds, out-of-range and missing
 * fields, NUL and control characters in strings, oversized counts.  Every
 * refusal is -EPROTO with the reason in the peer's violation, leaves the
 * peer's state as it was, and leaks no fd.
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
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/fds.h"

#include "dnsproxy/dnsproxy.h"
#include "httpproxy/httpproxy.h"
#include "lib/dnsmsg.h"
#include "lib/ipc_send.h"
#include "monitor/events.h"
#include "monitor/monitor.h"

#define assert_has(hay, needle)                                                                    \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("\"%s\" not found in \"%s\"", (needle), (hay));                   \
	} while (0)

/* The sending end, and the worker's receiving peer bound to the other end. */
static void
link_peer(struct ipc_peer *tx, struct ipc_peer *rx, const char *name)
{
	int sv[2];

	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ipc_peer_init(tx, sv[0], "test");
	ipc_peer_init(rx, sv[1], name);
}

/* Receive one message on rx and dispatch it to h. */
static int
deliver(struct ipc_peer *rx, const struct ipc_handlers *h, void *ctx)
{
	Cgfw__Envelope *env = NULL;
	int r = ipc_recv(rx, &env);

	if (r < 0)
		return r;
	return ipc_dispatch(rx, h, ctx, env);
}

/* The message just sent is refused, for `why`, and the state stays. */
static void
refused(struct ipc_peer *rx, const struct ipc_handlers *h, void *ctx, const char *why)
{
	int state = rx->state;

	rx->violation[0] = '\0';
	assert_int_equal(deliver(rx, h, ctx), -EPROTO);
	assert_has(rx->violation, why);
	assert_int_equal(rx->state, state);
	assert_int_equal(rx->n_fds, 0);
}

static void
accepted(struct ipc_peer *rx, const struct ipc_handlers *h, void *ctx)
{
	int r = deliver(rx, h, ctx);

	if (r != 0)
		fail_msg("refused: %d %s", r, rx->violation);
}

/* A packed envelope whose first occurrence of `from` becomes `to` (same length). */
static void
send_patched(struct ipc_peer *tx, Cgfw__Envelope *env, const char *from, const char *to, size_t n)
{
	uint8_t buf[CGFW_IPC_MAX];
	size_t len;
	uint8_t *at;

	env->seq = ++tx->seq_out;
	len = cgfw__envelope__pack(env, buf);
	at = memmem(buf, len, from, n);
	assert_non_null(at);
	memcpy(at, to, n);
	assert_int_equal(send(tx->fd, buf, len, 0), (ssize_t)len);
}

/* ---- the monitor ---- */

struct monf {
	struct worker_rt rt;
	struct mon *m;
	struct ipc_peer tx;
	struct ipc_peer *rx;
	int base;
};

static struct monf *
mon_setup(enum ipc_chan chan, const char *name)
{
	struct monf *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->base = count_fds();
	f->rt.def = &mon_worker;
	f->m = calloc(1, mon_worker.ctx_size);
	assert_non_null(f->m);
	mon_worker.init(f->m, &f->rt);
	mon_out_of(f->m)->text_fd = -1;
	mon_out_of(f->m)->proc_root = "/nonexistent";
	mon_out_of(f->m)->json_name = "log file";
	f->rx = mon_peer(f->m, chan);
	link_peer(&f->tx, f->rx, name);
	return f;
}

static void
mon_teardown(struct monf *f)
{
	ipc_peer_close(&f->tx);
	mon_release(f->m);
	assert_int_equal(count_fds(), f->base);
	free(f);
}

static void
mon_config(struct ipc_peer *tx, Cgfw__Mode mode, uint32_t n_rules)
{
	Cgfw__MonConfigBegin cfg = CGFW__MON_CONFIG_BEGIN__INIT;

	cfg.mode = mode;
	cfg.n_rules = n_rules;
	cfg.target_cgroup = "/sys/fs/cgroup/t";
	assert_int_equal(ipc_send_loader_mon_config(tx, &cfg), 0);
}

/* n rules from id first, of text `text`. */
static void
mon_rules(struct ipc_peer *tx, uint32_t first, size_t n, const char *text, Cgfw__Action action)
{
	Cgfw__MonRules b = CGFW__MON_RULES__INIT;
	Cgfw__MonRule *r = calloc(n ? n : 1, sizeof(*r));
	Cgfw__MonRule **pr = calloc(n ? n : 1, sizeof(*pr));

	assert_true(r && pr);
	for (size_t i = 0; i < n; i++) {
		cgfw__mon_rule__init(&r[i]);
		r[i].id = first + (uint32_t)i;
		r[i].action = action;
		r[i].text = (char *)text;
		r[i].origin = "--allow-list";
		r[i].kind = "IP";
		pr[i] = &r[i];
	}
	b.rules = pr;
	b.n_rules = n;
	assert_int_equal(ipc_send_loader_mon_rules(tx, &b), 0);
	free(r);
	free(pr);
}

static void
test_mon_loader(void **state)
{
	struct monf *f = mon_setup(IPC_CH_LOADER_MON, "loader");
	const struct ipc_handlers *h = &mon_from_loader;
	Cgfw__Notice n = CGFW__NOTICE__INIT;

	(void)state;
	/* Wrong state: config, rules, fds, notice, shutdown before HELLO. */
	mon_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST, 1);
	refused(f->rx, h, f->m, "loader sent loader_mon_config in state HELLO");
	n.msg = "ATTACH LOST";
	n.because = "CgroupRemoved";
	n.comment = "";
	assert_int_equal(ipc_send_loader_mon_notice(&f->tx, &n), 0);
	refused(f->rx, h, f->m, "in state HELLO");
	assert_int_equal(ipc_send_loader_mon_shutdown(&f->tx), 0);
	refused(f->rx, h, f->m, "in state HELLO");
	/* A message of another channel. */
	assert_int_equal(ipc_send_loader_dns_hello(&f->tx), 0);
	refused(f->rx, h, f->m, "loader may not send loader_dns_hello");

	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	accepted(f->rx, h, f->m);
	/* Duplicate HELLO. */
	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	refused(f->rx, h, f->m, "in state CONFIG");
	/* Out of range, and more than the cap. */
	mon_config(&f->tx, (Cgfw__Mode)9, 1);
	refused(f->rx, h, f->m, "config: mode 9");
	mon_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST, CGFW_IPC_MON_RULES_MAX + 1);
	refused(f->rx, h, f->m, "config: 16777217 rules");
	/* 16M announced: accepted, nothing allocated for them. */
	mon_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST, CGFW_IPC_MON_RULES_MAX);
	accepted(f->rx, h, f->m);
	assert_null(mon_out_of(f->m)->rules);
	/* Duplicate CONFIG. */
	mon_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST, 3);
	refused(f->rx, h, f->m, "in state RULES");
	/* Rules: missing text, bad action, empty batch, oversized batch, out of order. */
	mon_rules(&f->tx, 1, 1, "", CGFW__ACTION__ACTION_ALLOW);
	refused(f->rx, h, f->m, "rule 1: bad text, origin or kind");
	mon_rules(&f->tx, 1, 1, "192.0.2.1", CGFW__ACTION__ACTION_UNSPEC);
	refused(f->rx, h, f->m, "rule 1: action 0");
	mon_rules(&f->tx, 1, 0, "192.0.2.1", CGFW__ACTION__ACTION_ALLOW);
	refused(f->rx, h, f->m, "a batch of 0 rules");
	mon_rules(&f->tx, 1, CGFW_IPC_BATCH_MAX + 1, "1.2.3.4", CGFW__ACTION__ACTION_ALLOW);
	refused(f->rx, h, f->m, "a batch of 1025 rules");
	mon_rules(&f->tx, 1, 1, "192.0.2.1\nforged", CGFW__ACTION__ACTION_ALLOW);
	refused(f->rx, h, f->m, "bad text, origin or kind");
	mon_rules(&f->tx, 5, 2, "192.0.2.1", CGFW__ACTION__ACTION_ALLOW);
	accepted(f->rx, h, f->m);
	mon_rules(&f->tx, 6, 1, "192.0.2.1", CGFW__ACTION__ACTION_ALLOW);
	refused(f->rx, h, f->m, "rule id 6 out of order");
	assert_int_equal(mon_out_of(f->m)->n_rules, 2);
	/* NUL inside a rule's text. */
	{
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
		Cgfw__MonRules b = CGFW__MON_RULES__INIT;
		Cgfw__MonRule r = CGFW__MON_RULE__INIT, *pr = &r;

		r.id = 9;
		r.action = CGFW__ACTION__ACTION_ALLOW;
		r.text = "192.0.2.9-x";
		b.rules = &pr;
		b.n_rules = 1;
		ipc_env_loader_mon_rules(&env, &b);
		send_patched(&f->tx, &env, "-x", "\0x", 2);
		refused(f->rx, h, f->m, "string text has a NUL inside");
		f->rx->seq_in++; /* refused before its number was read */
	}
	/* Commit before the fds. */
	assert_int_equal(ipc_send_loader_mon_commit(&f->tx), 0);
	refused(f->rx, h, f->m, "in state RULES");
	mon_teardown(f);
}

/* A listening unix stream socket, as the loader's event socket is (abstract: nothing to remove). */
static int
listener(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "cgfw-test-%d", (int)getpid());
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

/* Reload: RELOAD, RELOAD_RULES... (RELOADED back), RELOAD_COMMIT; RUNNING only. */
static void
mon_reload(struct ipc_peer *tx, uint32_t gen, int mode, uint32_t n_rules)
{
	Cgfw__Reload r = CGFW__RELOAD__INIT;

	r.gen = gen;
	r.mode = (Cgfw__Mode)mode;
	r.n_rules = n_rules;
	assert_int_equal(ipc_send_loader_mon_reload(tx, &r), 0);
}

static void
reload_commit(
    struct ipc_peer *tx, uint32_t gen, int (*send)(struct ipc_peer *, const Cgfw__ReloadCommit *))
{
	Cgfw__ReloadCommit c = CGFW__RELOAD_COMMIT__INIT;

	c.gen = gen;
	assert_int_equal(send(tx, &c), 0);
}

/* The worker answered RELOADED for gen on the link. */
static void
got_reloaded(struct ipc_peer *tx, Cgfw__Envelope__BodyCase body, uint32_t gen)
{
	Cgfw__Envelope *env = NULL;
	const Cgfw__Reloaded *r;

	assert_int_equal(ipc_recv(tx, &env), 0);
	assert_int_equal(env->body_case, body);
	r = body == CGFW__ENVELOPE__BODY_MON_LOADER_RELOADED   ? env->mon_loader_reloaded
	    : body == CGFW__ENVELOPE__BODY_DNS_LOADER_RELOADED ? env->dns_loader_reloaded
	                                                       : env->http_loader_reloaded;
	assert_int_equal(r->gen, gen);
	cgfw__envelope__free_unpacked(env, NULL);
}

static void
test_mon_reload(void **state)
{
	struct monf *f = mon_setup(IPC_CH_LOADER_MON, "loader");
	const struct ipc_handlers *h = &mon_from_loader;
	Cgfw__MonRules b = CGFW__MON_RULES__INIT;

	(void)state;
	/* Only while running. */
	mon_reload(&f->tx, 1, CGFW__MODE__MODE_ALLOW_LIST, 0);
	refused(f->rx, h, f->m, "loader sent loader_mon_reload in state HELLO");
	f->rx->state = IPC_ST_RUNNING;
	/* The fields: generation 0, a mode of none, more rules than the cap. */
	mon_reload(&f->tx, 0, CGFW__MODE__MODE_ALLOW_LIST, 0);
	refused(f->rx, h, f->m, "reload: generation 0");
	mon_reload(&f->tx, 1, 9, 0);
	refused(f->rx, h, f->m, "reload: generation 1, mode 9");
	mon_reload(&f->tx, 1, CGFW__MODE__MODE_ALLOW_LIST, CGFW_IPC_MON_RULES_MAX + 1);
	refused(f->rx, h, f->m, "16777217 rules");
	/* Not the next generation. */
	mon_reload(&f->tx, 2, CGFW__MODE__MODE_ALLOW_LIST, 0);
	refused(f->rx, h, f->m, "reload to generation 2, 0 in force");
	/* Rules and commit without a reload. */
	mon_rules(&f->tx, 1, 1, "192.0.2.1", CGFW__ACTION__ACTION_ALLOW);
	refused(f->rx, h, f->m, "in state RUNNING"); /* the start's RULES, not a reload's */
	b.n_rules = 0;
	assert_int_equal(ipc_send_loader_mon_reload_rules(&f->tx, &b), 0);
	refused(f->rx, h, f->m, "a batch of 0 rules");
	reload_commit(&f->tx, 1, ipc_send_loader_mon_reload_commit);
	refused(f->rx, h, f->m, "commit of generation 1, 0 prepared");
	reload_commit(&f->tx, 0, ipc_send_loader_mon_reload_commit);
	refused(f->rx, h, f->m, "reload commit: generation 0");
	/* Two rules announced: RELOADED once both are in, not before. */
	mon_reload(&f->tx, 1, CGFW__MODE__MODE_BLOCK_LIST, 2);
	accepted(f->rx, h, f->m);
	{
		Cgfw__MonRule r = CGFW__MON_RULE__INIT, *pr = &r;

		r.id = 7;
		r.action = CGFW__ACTION__ACTION_BLOCK;
		r.text = "192.0.2.7";
		r.origin = "--block-list";
		r.kind = "IP";
		b.rules = &pr;
		b.n_rules = 1;
		assert_int_equal(ipc_send_loader_mon_reload_rules(&f->tx, &b), 0);
		accepted(f->rx, h, f->m);
		assert_int_equal(ipc_send_loader_mon_reload_rules(&f->tx, &b), 0);
		refused(f->rx, h, f->m, "rule id 7 out of order");
		r.text = "192.0.2.8\nforged";
		r.id = 8;
		assert_int_equal(ipc_send_loader_mon_reload_rules(&f->tx, &b), 0);
		refused(f->rx, h, f->m, "bad text, origin or kind");
		r.text = "192.0.2.8";
		assert_int_equal(ipc_send_loader_mon_reload_rules(&f->tx, &b), 0);
		accepted(f->rx, h, f->m);
		got_reloaded(&f->tx, CGFW__ENVELOPE__BODY_MON_LOADER_RELOADED, 1);
		/* Whole: no more. */
		r.id = 9;
		assert_int_equal(ipc_send_loader_mon_reload_rules(&f->tx, &b), 0);
		refused(f->rx, h, f->m, "reload rules without a reload");
	}
	/* The rules wait in the other slot until the commit names their generation. */
	assert_int_equal(mon_out_of(f->m)->n_rules, 0);
	assert_int_equal(mon_out_of(f->m)->n_alt_rules, 2);
	reload_commit(&f->tx, 2, ipc_send_loader_mon_reload_commit);
	refused(f->rx, h, f->m, "commit of generation 2, 1 prepared");
	reload_commit(&f->tx, 1, ipc_send_loader_mon_reload_commit);
	accepted(f->rx, h, f->m);
	assert_int_equal(mon_out_of(f->m)->slot, 1);
	assert_int_equal(mon_out_of(f->m)->n_rules, 2);
	assert_int_equal(mon_out_of(f->m)->rules[1].id, 8);
	assert_int_equal(mon_out_of(f->m)->mode, CGFW__MODE__MODE_BLOCK_LIST);
	reload_commit(&f->tx, 1, ipc_send_loader_mon_reload_commit);
	refused(f->rx, h, f->m, "commit of generation 1, 0 prepared");
	/* The next one is generation 2, and may have no rules at all. */
	mon_reload(&f->tx, 1, CGFW__MODE__MODE_ALLOW_LIST, 0);
	refused(f->rx, h, f->m, "reload to generation 1, 1 in force");
	mon_reload(&f->tx, 2, CGFW__MODE__MODE_LOG_ONLY, 0);
	accepted(f->rx, h, f->m);
	got_reloaded(&f->tx, CGFW__ENVELOPE__BODY_MON_LOADER_RELOADED, 2);
	mon_teardown(f);
}

static void
test_mon_fds(void **state)
{
	static Cgfw__FdKind seven[] = {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_HTTP_EVENTS, CGFW__FD_KIND__FD_ARGV_MAP,
	    CGFW__FD_KIND__FD_EVENTS_LISTEN, CGFW__FD_KIND__FD_LOG_FILE};
	struct monf *f = mon_setup(IPC_CH_LOADER_MON, "loader");
	const struct ipc_handlers *h = &mon_from_loader;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[8];
	int fdv[8];

	(void)state;
	open_nulls(fdv, 8);
	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	accepted(f->rx, h, f->m);
	/* Before CONFIG. */
	fds.kinds = seven;
	fds.n_kinds = 7;
	assert_int_equal(ipc_send_loader_mon_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->m, "in state CONFIG");
	mon_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST, 0);
	accepted(f->rx, h, f->m);
	/* Missing, a kind of another worker, a kind twice. */
	fds.n_kinds = 4;
	assert_int_equal(ipc_send_loader_mon_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->m, "loader_mon_fds: 4 kinds, 4 fds");
	for (int i = 0; i < 8; i++)
		kinds[i] = i < 7 ? seven[i] : CGFW__FD_KIND__FD_JOURNAL;
	fds.kinds = kinds;
	kinds[4] = CGFW__FD_KIND__FD_NAME_POLICY;
	fds.n_kinds = 7;
	assert_int_equal(ipc_send_loader_mon_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->m, "unexpected kind 9");
	kinds[4] = CGFW__FD_KIND__FD_RINGBUF;
	assert_int_equal(ipc_send_loader_mon_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->m, "kind 1 twice");
	kinds[4] = CGFW__FD_KIND__FD_ARGV_MAP;
	kinds[5] = CGFW__FD_KIND__FD_EVENTS_LISTEN;
	kinds[6] = CGFW__FD_KIND__FD_EVENTS_LISTEN;
	assert_int_equal(ipc_send_loader_mon_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->m, "kind 16 twice");
	/* Listed, but not carried. */
	{
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;

		fds.kinds = seven;
		fds.n_kinds = 7;
		env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_FDS;
		env.loader_mon_fds = &fds;
		assert_int_equal(ipc_send(&f->tx, &env, fdv, 3), 0);
		refused(f->rx, h, f->m, "loader_mon_fds: 7 kinds, 3 fds");
	}
	/* The right kinds, but not what they claim to be (the handler's checks). */
	assert_int_equal(ipc_send_loader_mon_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->m, "the event socket is not a listening unix stream");
	/* Fds with a message that carries none. */
	mon_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST, 0);
	{
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
		Cgfw__MonConfigBegin cfg = CGFW__MON_CONFIG_BEGIN__INIT;

		cfg.mode = CGFW__MODE__MODE_ALLOW_LIST;
		ipc_env_loader_mon_config(&env, &cfg);
		/* Drain the plain one first (refused: CONFIG twice). */
		refused(f->rx, h, f->m, "in state RULES");
		f->rx->state = IPC_ST_CONFIG;
		assert_int_equal(ipc_send(&f->tx, &env, fdv, 2), 0);
		refused(f->rx, h, f->m, "loader sent fds with loader_mon_config");
	}
	close_all(fdv, 8);
	mon_teardown(f);
}

/* FDS with kinds[0..n) and fdv to a fresh, configured monitor: refused for why. */
static void
mon_fds_refused(const Cgfw__FdKind *kinds, size_t n, int *fdv, const char *why)
{
	struct monf *f = mon_setup(IPC_CH_LOADER_MON, "loader");
	Cgfw__Fds fds = CGFW__FDS__INIT;

	fds.kinds = (Cgfw__FdKind *)kinds;
	fds.n_kinds = n;
	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	accepted(f->rx, &mon_from_loader, f->m);
	mon_config(&f->tx, CGFW__MODE__MODE_ALLOW_LIST, 0);
	accepted(f->rx, &mon_from_loader, f->m);
	assert_int_equal(ipc_send_loader_mon_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, &mon_from_loader, f->m, why);
	mon_teardown(f);
}

/* The event socket and the journal's: present, and the sockets they claim to be. */
static void
test_mon_fds_sockets(void **state)
{
	Cgfw__FdKind k[8] = {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_HTTP_EVENTS, CGFW__FD_KIND__FD_ARGV_MAP,
	    CGFW__FD_KIND__FD_EVENTS_LISTEN, CGFW__FD_KIND__FD_LOG_FILE, CGFW__FD_KIND__FD_JOURNAL};
	Cgfw__FdKind no_listen[6] = {CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_HTTP_EVENTS, CGFW__FD_KIND__FD_ARGV_MAP,
	    CGFW__FD_KIND__FD_LOG_FILE};
	int fdv[8];

	(void)state;
	open_nulls(fdv, 8);
	/* Without the event socket: not enough for any config. */
	mon_fds_refused(no_listen, 6, fdv, "fds: missing ones for this config");
	mon_fds_refused(k, 7, fdv, "the event socket is not a listening unix stream");
	(void)close(fdv[5]);
	fdv[5] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); /* a stream, not listening */
	mon_fds_refused(k, 7, fdv, "the event socket is not a listening unix stream");
	(void)close(fdv[5]);
	fdv[5] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	mon_fds_refused(k, 7, fdv, "the event socket is not a listening unix stream");
	(void)close(fdv[5]);
	fdv[5] = listener();
	mon_fds_refused(k, 8, fdv, "the journal's socket is not a unix datagram socket");
	(void)close(fdv[7]);
	fdv[7] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* Both right: the next check refuses (the maps are /dev/null here). */
	mon_fds_refused(k, 8, fdv, "the ring buffer is not cgfw_events");
	close_all(fdv, 8);
}

static void
test_mon_dns_channel(void **state)
{
	struct monf *f = mon_setup(IPC_CH_DNS_MON, "dnsproxy");
	const struct ipc_handlers *h = &mon_from_dns;
	Cgfw__DnsEvent ev = CGFW__DNS_EVENT__INIT;
	Cgfw__EventsLost l = CGFW__EVENTS_LOST__INIT;
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	char *ips[DNS_MAX_A + 1];
	int fd;

	(void)state;
	ev.qname = "example.com";
	ev.qtype = "A";
	ev.because = "NotInAllowList";
	ev.blocked = 1;
	ev.proto = "udp";
	ev.rcode = "REFUSED";
	ipc_env_dns_mon_event(&env, &ev);
	/* An event before HELLO; a HELLO of another role; the loader's message. */
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	refused(f->rx, h, f->m, "dnsproxy sent dns_mon_event in state HELLO");
	assert_int_equal(ipc_send_http_mon_hello(&f->tx), 0);
	refused(f->rx, h, f->m, "may not send http_mon_hello");
	{
		Cgfw__Envelope e = CGFW__ENVELOPE__INIT;
		Cgfw__Hello hh = CGFW__HELLO__INIT;

		hh.protocol_version = CGFW_PROTOCOL_VERSION;
		hh.role = CGFW__ROLE__ROLE_HTTPPROXY;
		e.body_case = CGFW__ENVELOPE__BODY_DNS_MON_HELLO;
		e.dns_mon_hello = &hh;
		assert_int_equal(ipc_send(&f->tx, &e, NULL, 0), 0);
		refused(f->rx, h, f->m, "role 4, expected 3");
	}
	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	refused(f->rx, h, f->m, "may not send loader_mon_hello");
	assert_int_equal(ipc_send_dns_mon_hello(&f->tx), 0);
	accepted(f->rx, h, f->m);
	assert_int_equal(ipc_send_dns_mon_hello(&f->tx), 0);
	refused(f->rx, h, f->m, "in state RUNNING");
	/* A good event, then: an fd with it, too many addresses, NUL in the name, no count. */
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	accepted(f->rx, h, f->m);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ipc_send(&f->tx, &env, &fd, 1), 0);
	(void)close(fd);
	refused(f->rx, h, f->m, "dnsproxy sent fds with dns_mon_event");
	for (int i = 0; i <= DNS_MAX_A; i++)
		ips[i] = "192.0.2.1";
	ev.ips = ips;
	ev.n_ips = DNS_MAX_A + 1;
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	refused(f->rx, h, f->m, "dns event: 65 ips");
	ev.n_ips = 0;
	ev.qname = "evil.example.com";
	send_patched(&f->tx, &env, ".example", "\0example", 8);
	refused(f->rx, h, f->m, "string qname has a NUL inside");
	f->rx->seq_in++;
	ipc_env_dns_mon_lost(&env, &l);
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	refused(f->rx, h, f->m, "events lost: a count of 0");
	l.count = 3;
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	accepted(f->rx, h, f->m);
	mon_teardown(f);
}

static void
test_mon_http_channel(void **state)
{
	struct monf *f = mon_setup(IPC_CH_HTTP_MON, "httpproxy");
	const struct ipc_handlers *h = &mon_from_http;
	Cgfw__HttpEvent ev = CGFW__HTTP_EVENT__INIT;
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;

	(void)state;
	ev.method = "GET";
	ev.url = "http://example.com/";
	ev.host = "example.com";
	ev.because = "MatchedBlockListURL";
	ev.ip = "192.0.2.1";
	ev.port = 80;
	ev.status = 403;
	ev.blocked = 1;
	ipc_env_http_mon_event(&env, &ev);
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	refused(f->rx, h, f->m, "in state HELLO");
	assert_int_equal(ipc_send_dns_mon_hello(&f->tx), 0);
	refused(f->rx, h, f->m, "may not send dns_mon_hello");
	assert_int_equal(ipc_send_http_mon_hello(&f->tx), 0);
	accepted(f->rx, h, f->m);
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	accepted(f->rx, h, f->m);
	/* A field the monitor's own check refuses (events.c). */
	ev.ip = "not an address";
	assert_int_equal(ipc_send(&f->tx, &env, NULL, 0), 0);
	refused(f->rx, h, f->m, "http event: a field is out of range");
	mon_teardown(f);
}

/* ---- the DNS proxy ---- */

struct dnsf {
	struct worker_rt rt;
	struct dns *d;
	struct ipc_peer tx;
	struct ipc_peer *rx;
	int base;
};

static struct dnsf *
dns_setup(void)
{
	struct dnsf *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->base = count_fds();
	f->rt.def = &dns_worker;
	f->d = calloc(1, dns_worker.ctx_size);
	assert_non_null(f->d);
	dns_worker.init(f->d, &f->rt);
	f->rx = dns_loader_peer(f->d);
	link_peer(&f->tx, f->rx, "loader");
	return f;
}

static void
dns_teardown(struct dnsf *f)
{
	ipc_peer_close(&f->tx);
	dns_release(f->d);
	assert_int_equal(count_fds(), f->base);
	free(f);
}

static void
dns_config(struct ipc_peer *tx, char **ups, size_t n, uint32_t timeout_ms, int mode)
{
	Cgfw__DnsConfig cfg = CGFW__DNS_CONFIG__INIT;

	cfg.mode = (Cgfw__Mode)mode;
	cfg.block_response = CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_REFUSED;
	cfg.upstreams = ups;
	cfg.n_upstreams = n;
	cfg.timeout_ms = timeout_ms;
	assert_int_equal(ipc_send_loader_dns_config(tx, &cfg), 0);
}

static void
test_dns_loader(void **state)
{
	static Cgfw__FdKind six[] = {CGFW__FD_KIND__FD_DNS_UDP, CGFW__FD_KIND__FD_DNS_TCP,
	    CGFW__FD_KIND__FD_LEARNED_MAP, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY};
	struct dnsf *f = dns_setup();
	const struct ipc_handlers *h = &dns_from_loader;
	char *ups[CGFW_IPC_UPSTREAMS_MAX + 1];
	Cgfw__Fds fds = CGFW__FDS__INIT;
	int fdv[7];

	(void)state;
	for (int i = 0; i <= CGFW_IPC_UPSTREAMS_MAX; i++)
		ups[i] = "192.0.2.53";
	dns_config(&f->tx, ups, 1, 1500, CGFW__MODE__MODE_ALLOW_LIST);
	refused(f->rx, h, f->d, "loader sent loader_dns_config in state HELLO");
	assert_int_equal(ipc_send_loader_mon_hello(&f->tx), 0);
	refused(f->rx, h, f->d, "may not send loader_mon_hello");
	assert_int_equal(ipc_send_loader_dns_hello(&f->tx), 0);
	accepted(f->rx, h, f->d);
	assert_int_equal(ipc_send_loader_dns_hello(&f->tx), 0);
	refused(f->rx, h, f->d, "in state CONFIG");
	/* Missing and out-of-range fields. */
	dns_config(&f->tx, ups, 0, 1500, CGFW__MODE__MODE_ALLOW_LIST);
	refused(f->rx, h, f->d, "config: 0 upstreams");
	dns_config(&f->tx, ups, CGFW_IPC_UPSTREAMS_MAX + 1, 1500, CGFW__MODE__MODE_ALLOW_LIST);
	refused(f->rx, h, f->d, "config: 9 upstreams");
	dns_config(&f->tx, ups, 1, 50, CGFW__MODE__MODE_ALLOW_LIST);
	refused(f->rx, h, f->d, "timeout 50 ms");
	dns_config(&f->tx, ups, 1, 1500, 0);
	refused(f->rx, h, f->d, "config: mode 0");
	ups[1] = "192.0.2.53\r\nX";
	dns_config(&f->tx, ups, 2, 1500, CGFW__MODE__MODE_ALLOW_LIST);
	refused(f->rx, h, f->d, "config: upstream 1");
	ups[1] = "";
	dns_config(&f->tx, ups, 2, 1500, CGFW__MODE__MODE_ALLOW_LIST);
	refused(f->rx, h, f->d, "config: upstream 1");
	ups[1] = "192.0.2.54";
	dns_config(&f->tx, ups, 2, 1500, CGFW__MODE__MODE_ALLOW_LIST);
	accepted(f->rx, h, f->d);
	dns_config(&f->tx, ups, 2, 1500, CGFW__MODE__MODE_ALLOW_LIST);
	refused(f->rx, h, f->d, "in state RULES");
	/* Commit and shutdown too early. */
	assert_int_equal(ipc_send_loader_dns_commit(&f->tx), 0);
	refused(f->rx, h, f->d, "in state RULES");
	assert_int_equal(ipc_send_loader_dns_shutdown(&f->tx), 0);
	refused(f->rx, h, f->d, "in state RULES");
	/* Fds: too few, a monitor's kind, then the right kinds that are not sockets. */
	open_nulls(fdv, 7);
	fds.kinds = six;
	fds.n_kinds = 5;
	assert_int_equal(ipc_send_loader_dns_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->d, "loader_dns_fds: 5 kinds, 5 fds");
	{
		Cgfw__FdKind k[6];

		memcpy(k, six, sizeof(k));
		k[5] = CGFW__FD_KIND__FD_RINGBUF;
		fds.kinds = k;
		fds.n_kinds = 6;
		assert_int_equal(ipc_send_loader_dns_fds(&f->tx, &fds, fdv), 0);
		refused(f->rx, h, f->d, "unexpected kind 1");
		/* The table's kinds, in another order than the handler takes them. */
		k[5] = six[0];
		k[0] = six[5];
		assert_int_equal(ipc_send_loader_dns_fds(&f->tx, &fds, fdv), 0);
		refused(f->rx, h, f->d, "fd 0 has kind 9, expected 5");
	}
	fds.kinds = six;
	assert_int_equal(ipc_send_loader_dns_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->d, "the DNS sockets are not UDP + listening TCP");
	close_all(fdv, 7);
	dns_teardown(f);
}

static void
test_dns_reload(void **state)
{
	static Cgfw__FdKind two[] = {CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_LEARNED_MAP};
	struct dnsf *f = dns_setup();
	const struct ipc_handlers *h = &dns_from_loader;
	Cgfw__Reload r = CGFW__RELOAD__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	int fdv[3];

	(void)state;
	r.gen = 1;
	r.mode = CGFW__MODE__MODE_ALLOW_LIST;
	assert_int_equal(ipc_send_loader_dns_reload(&f->tx, &r), 0);
	refused(f->rx, h, f->d, "loader sent loader_dns_reload in state HELLO");
	f->rx->state = IPC_ST_RUNNING;
	/* The DNS proxy takes no rules by message; the next generation only. */
	r.n_rules = 1;
	assert_int_equal(ipc_send_loader_dns_reload(&f->tx, &r), 0);
	refused(f->rx, h, f->d, "reload: generation 1, mode 2, 1 rules");
	r.n_rules = 0;
	r.gen = 3;
	assert_int_equal(ipc_send_loader_dns_reload(&f->tx, &r), 0);
	refused(f->rx, h, f->d, "reload to generation 3, 0 in force");
	/* Fds and commit without a reload. */
	open_nulls(fdv, 3);
	fds.kinds = two;
	fds.n_kinds = 2;
	assert_int_equal(ipc_send_loader_dns_reload_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->d, "reload fds without a reload");
	reload_commit(&f->tx, 1, ipc_send_loader_dns_reload_commit);
	refused(f->rx, h, f->d, "commit of generation 1, 0 prepared");
	r.gen = 1;
	assert_int_equal(ipc_send_loader_dns_reload(&f->tx, &r), 0);
	accepted(f->rx, h, f->d);
	/* Too few, a kind of another message, then right kinds that are no map. */
	fds.n_kinds = 1;
	assert_int_equal(ipc_send_loader_dns_reload_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->d, "loader_dns_reload_fds: 1 kinds, 1 fds");
	{
		Cgfw__FdKind k[2] = {CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_RINGBUF};

		fds.kinds = k;
		fds.n_kinds = 2;
		assert_int_equal(ipc_send_loader_dns_reload_fds(&f->tx, &fds, fdv), 0);
		refused(f->rx, h, f->d, "kind 1");
	}
	fds.kinds = two;
	assert_int_equal(ipc_send_loader_dns_reload_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->d, "not the learned map of slot 1");
	/* Its fds were taken: a second set is refused, the commit too (nothing prepared). */
	assert_int_equal(ipc_send_loader_dns_reload_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->d, "reload fds without a reload");
	reload_commit(&f->tx, 1, ipc_send_loader_dns_reload_commit);
	refused(f->rx, h, f->d, "commit of generation 1, 0 prepared");
	close_all(fdv, 3);
	dns_teardown(f);
}

/* ---- the HTTP proxy ---- */

struct httpf {
	struct worker_rt rt;
	struct http *h;
	struct ipc_peer tx;
	struct ipc_peer *rx;
	int base;
};

static struct httpf *
http_setup(void)
{
	struct httpf *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->base = count_fds();
	f->rt.def = &http_worker;
	f->h = calloc(1, http_worker.ctx_size);
	assert_non_null(f->h);
	http_worker.init(f->h, &f->rt);
	f->rx = http_loader_peer(f->h);
	link_peer(&f->tx, f->rx, "loader");
	return f;
}

static void
http_teardown(struct httpf *f)
{
	ipc_peer_close(&f->tx);
	http_release(f->h);
	assert_int_equal(count_fds(), f->base);
	free(f);
}

static void
http_config(struct ipc_peer *tx, uint32_t n_rules, const char *trust)
{
	Cgfw__HttpConfig cfg = CGFW__HTTP_CONFIG__INIT;

	cfg.mode = CGFW__MODE__MODE_ALLOW_LIST;
	cfg.n_rules = n_rules;
	cfg.upstream_trust = (char *)trust;
	assert_int_equal(ipc_send_loader_http_config(tx, &cfg), 0);
}

static void
url_rule(struct ipc_peer *tx, const char *scheme, const char *host, const char *path)
{
	Cgfw__UrlRule r = CGFW__URL_RULE__INIT;

	r.id = 1;
	r.action = CGFW__ACTION__ACTION_BLOCK;
	r.scheme = (char *)scheme;
	r.host = (char *)host;
	r.path = (char *)path;
	r.text = "http://example.com/a";
	assert_int_equal(ipc_send_loader_http_rule(tx, &r), 0);
}

static void
test_http_loader(void **state)
{
	static Cgfw__FdKind four[] = {CGFW__FD_KIND__FD_HTTP_LISTEN, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_HTTP_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY};
	struct httpf *f = http_setup();
	const struct ipc_handlers *h = &http_from_loader;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	int fdv[4];

	(void)state;
	url_rule(&f->tx, "http", "example.com", "/a");
	refused(f->rx, h, f->h, "loader sent loader_http_rule in state HELLO");
	assert_int_equal(ipc_send_loader_http_hello(&f->tx), 0);
	accepted(f->rx, h, f->h);
	url_rule(&f->tx, "http", "example.com", "/a");
	refused(f->rx, h, f->h, "in state CONFIG");
	http_config(&f->tx, CGFW_IPC_URL_RULES_MAX + 1, "/etc/ssl/certs/ca.pem");
	refused(f->rx, h, f->h, "config: mode 2, 65537 rules");
	http_config(&f->tx, 2, "relative.pem");
	refused(f->rx, h, f->h, "config: upstream trust path");
	http_config(&f->tx, 2, "/etc/ssl/certs/ca.pem");
	accepted(f->rx, h, f->h);
	/* Rules: a path that splits a line, a scheme of none, a host missing or with a space. */
	url_rule(&f->tx, "http", "example.com", "/a\r\nX-Injected: 1");
	refused(f->rx, h, f->h, "rule 1: a field is out of range");
	url_rule(&f->tx, "http", "example.com", "/a b");
	refused(f->rx, h, f->h, "rule 1: a field is out of range");
	url_rule(&f->tx, "ftp", "example.com", "/a");
	refused(f->rx, h, f->h, "rule 1: a field is out of range");
	url_rule(&f->tx, "http", "", "/a");
	refused(f->rx, h, f->h, "rule 1: a field is out of range");
	url_rule(&f->tx, "http", "exa mple.com", "/a");
	refused(f->rx, h, f->h, "rule 1: a field is out of range");
	url_rule(&f->tx, "http", "example.com", "a");
	refused(f->rx, h, f->h, "rule 1: a field is out of range");
	/* As many as announced, no more. */
	url_rule(&f->tx, "http", "example.com", "/a");
	accepted(f->rx, h, f->h);
	url_rule(&f->tx, "https", "example.com", "/b");
	accepted(f->rx, h, f->h);
	url_rule(&f->tx, "https", "example.com", "/c");
	refused(f->rx, h, f->h, "more rules than the 2 announced");
	/* Fds: too few, too many, then kinds right but not sockets. */
	open_nulls(fdv, 4);
	fds.kinds = four;
	fds.n_kinds = 3;
	assert_int_equal(ipc_send_loader_http_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->h, "loader_http_fds: 3 kinds, 3 fds");
	fds.n_kinds = 4;
	assert_int_equal(ipc_send_loader_http_commit(&f->tx), 0);
	refused(f->rx, h, f->h, "in state RULES");
	assert_int_equal(ipc_send_loader_http_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->h, "the HTTP socket is not a listening TCP socket");
	close_all(fdv, 4);
	http_teardown(f);
}

static void
test_http_reload(void **state)
{
	static Cgfw__FdKind one[] = {CGFW__FD_KIND__FD_NAME_POLICY};
	struct httpf *f = http_setup();
	const struct ipc_handlers *h = &http_from_loader;
	Cgfw__Reload r = CGFW__RELOAD__INIT;
	Cgfw__UrlRule u = CGFW__URL_RULE__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	int fdv[1];

	(void)state;
	r.gen = 1;
	r.mode = CGFW__MODE__MODE_ALLOW_LIST;
	assert_int_equal(ipc_send_loader_http_reload(&f->tx, &r), 0);
	refused(f->rx, h, f->h, "loader sent loader_http_reload in state HELLO");
	f->rx->state = IPC_ST_RUNNING;
	r.n_rules = CGFW_IPC_URL_RULES_MAX + 1;
	assert_int_equal(ipc_send_loader_http_reload(&f->tx, &r), 0);
	refused(f->rx, h, f->h, "65537 rules");
	/* URL rules need the CA the start gave (none here). */
	r.n_rules = 1;
	assert_int_equal(ipc_send_loader_http_reload(&f->tx, &r), 0);
	refused(f->rx, h, f->h, "reload: URL rules, but no CA was given");
	u.id = 1;
	u.action = CGFW__ACTION__ACTION_ALLOW;
	u.scheme = "https";
	u.host = "example.com";
	u.path = "/a";
	u.text = "https://example.com/a";
	assert_int_equal(ipc_send_loader_http_reload_rule(&f->tx, &u), 0);
	refused(f->rx, h, f->h, "a reload rule without a reload");
	r.n_rules = 0;
	assert_int_equal(ipc_send_loader_http_reload(&f->tx, &r), 0);
	accepted(f->rx, h, f->h);
	/* A rule's fields, then one more than announced. */
	u.path = "/a\r\nX-Injected: 1";
	assert_int_equal(ipc_send_loader_http_reload_rule(&f->tx, &u), 0);
	refused(f->rx, h, f->h, "rule 1: a field is out of range");
	u.path = "/a";
	assert_int_equal(ipc_send_loader_http_reload_rule(&f->tx, &u), 0);
	refused(f->rx, h, f->h, "more rules than the 0 announced");
	/* Commit before the name policy; then a name policy that is not one. */
	reload_commit(&f->tx, 1, ipc_send_loader_http_reload_commit);
	refused(f->rx, h, f->h, "commit of generation 1, 1 prepared");
	open_nulls(fdv, 1);
	fds.kinds = one;
	fds.n_kinds = 1;
	assert_int_equal(ipc_send_loader_http_reload_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->h, "the name policy is not a valid sealed table");
	/* The refused name policy ended that reload (the fuzz seeds cover a short one). */
	assert_int_equal(ipc_send_loader_http_reload_fds(&f->tx, &fds, fdv), 0);
	refused(f->rx, h, f->h, "reload fds without a reload");
	reload_commit(&f->tx, 1, ipc_send_loader_http_reload_commit);
	refused(f->rx, h, f->h, "commit of generation 1, 0 prepared");
	close_all(fdv, 1);
	http_teardown(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mon_loader),
	    cmocka_unit_test(test_mon_reload),
	    cmocka_unit_test(test_mon_fds),
	    cmocka_unit_test(test_mon_fds_sockets),
	    cmocka_unit_test(test_mon_dns_channel),
	    cmocka_unit_test(test_mon_http_channel),
	    cmocka_unit_test(test_dns_loader),
	    cmocka_unit_test(test_dns_reload),
	    cmocka_unit_test(test_http_loader),
	    cmocka_unit_test(test_http_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
