// SPDX-License-Identifier: MIT
// SPDX-License-Identifier: MIT
/*
 * Starting, configuring, supervising and stopping the workers, in
 * cgfw-supervisor.  Each worker is started by its launcher (made by the
 * loader as the worker's user, loader/launch.c), gets its IPC socket at
 * fd 3, and everything else it holds arrives in one FDS message, listed by
 * kind.  What goes each way and when is lib/protocol.def, where this side
 * is "loader" (the same process: the loader executed the supervisor in
 * place).  It reads only HELLO, READY, STATS, PROGRESS, RELOADED and the
 * monitor's REPORTED (loader_from_mon, loader_from_dns, loader_from_http)
 * and sends with the typed senders of lib/ipc_send.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/sched.h>

#include "lib/ipc_send.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/protocol.h"
#include "lib/status.h"
#include "supervisor/supervisor.h"

#define SUP_HANDSHAKE_MS 10000
#define SUP_DRAIN_MS     10000
#define SUP_TARGET_MS    250   /* how often the target cgroup is checked */
#define SUP_RESPAWN_MAX  5     /* deaths in a row before cgfw gives up */
#define SUP_RESPAWN_MS   100   /* the second restart waits this, doubling... */
#define SUP_RESPAWN_CAP  3000  /* ...up to this */
#define SUP_HEALTHY_MS   10000 /* up this long: the next death is a first one again */
#define SUP_LAUNCH_MS    5000  /* a launcher answers a start with a pid within this */

static void target_check(struct sup *s);

/*
 * A worker, started by its launcher as its user, with its end of a
 * SEQPACKET socketpair at fd 3 and nothing else inherited but stdin
 * (/dev/null), stdout and stderr.  0, or -1 when its launcher is gone.
 */
static int
spawn_worker(struct sup *s, struct worker *w)
{
	struct pollfd pfd = {.events = POLLIN};
	pid_t pid = -1;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		fatal("socketpair");
	pfd.fd = w->launch_fd;
	r = w->launch_fd < 0 ? -EPIPE : proc_fds_send(w->launch_fd, &sv[1], 1);
	(void)close(sv[1]);
	if (r == 0) {
		do {
			r = poll(&pfd, 1, SUP_LAUNCH_MS);
		} while (r < 0 && errno == EINTR);
		if (r != 1 || read(w->launch_fd, &pid, sizeof(pid)) != sizeof(pid))
			pid = -1;
	}
	if (pid <= 0) {
		(void)close(sv[0]);
		if (!w->restarts)
			fatalx("cannot start %s: its launcher %s", w->name,
			    pid < -1 ? strerror((int)-pid) : "did not answer");
		log_warnx("cannot start %s again: its launcher is gone", w->name);
		s->gave_up = 1;
		w->pid = -1;
		return -1;
	}
	w->pid = pid;
	ipc_peer_init(&w->ipc, sv[0], w->name);
	return 0;
}

static void worker_lost(struct worker *w, const char *why);

/*
 * r is what a typed sender (lib/ipc_send.c) returned for `what`.  At the
 * first start a failed send is fatal (nothing runs yet); on a restart the
 * worker is stopped and its death counted like any other.  A link already
 * lost on the way makes every later send moot.
 */
static int
w_sent(struct worker *w, int r, const char *what)
{
	if (w->ipc.fd < 0)
		return -EPIPE;
	if (r < 0 && !w->restarts && !w->ready)
		fatal_r(r, "cannot send %s to %s", what, w->name);
	if (r < 0)
		worker_lost(w, "cannot configure it");
	return r;
}

/* Only IP and CIDR rules: the BPF events name those by id. */
static int
mon_rule_wanted(const struct cgfw_rule *r)
{
	return r->kind == RULE_IP4 || r->kind == RULE_CIDR4;
}

/* The IP and CIDR rules in MonRules batches, each well under CGFW_IPC_MAX. */
#define SUP_BATCH_BYTES (48 * 1024)
#define SUP_BATCH_RULES 1024

static void
mon_send_rules(struct worker *w, const struct cgfw_ruleset *rs,
    int (*send)(struct ipc_peer *, const Cgfw__MonRules *))
{
	static Cgfw__MonRule mr[SUP_BATCH_RULES];
	static Cgfw__MonRule *pmr[SUP_BATCH_RULES];
	Cgfw__MonRules batch = CGFW__MON_RULES__INIT;
	size_t n = 0, bytes = 0;

	batch.rules = pmr;
	for (size_t i = 0; i < rs->n; i++) {
		const struct cgfw_rule *rule = &rs->v[i];
		Cgfw__MonRule r = CGFW__MON_RULE__INIT;
		size_t sz;

		if (!mon_rule_wanted(rule))
			continue;
		r.id = rule->id ? rule->id : (uint32_t)i + 1;
		r.action = (Cgfw__Action)rule->action;
		r.text = rule->text;
		r.origin = rule->origin;
		r.kind = (char *)rules_kind_name(rule->kind);
		sz = cgfw__mon_rule__get_packed_size(&r) + 8; /* + its tag and length */
		if (n && (n == SUP_BATCH_RULES || bytes + sz > SUP_BATCH_BYTES)) {
			batch.n_rules = n;
			(void)w_sent(w, send(&w->ipc, &batch), "rules");
			n = 0;
			bytes = 0;
		}
		mr[n] = r;
		pmr[n] = &mr[n];
		bytes += sz;
		n++;
	}
	if (n) {
		batch.n_rules = n;
		(void)w_sent(w, send(&w->ipc, &batch), "rules");
	}
}

static uint32_t
mon_rules_count(const struct cgfw_ruleset *rs)
{
	uint32_t n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += mon_rule_wanted(&rs->v[i]);
	return n;
}

/* The URL rules without an address (the HTTP proxy's), one message each. */
static void
http_send_rules(struct worker *w, const struct cgfw_ruleset *rs,
    int (*send)(struct ipc_peer *, const Cgfw__UrlRule *))
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct cgfw_rule *r = &rs->v[i];
		Cgfw__UrlRule ur = CGFW__URL_RULE__INIT;

		if (r->kind != RULE_URL || r->addr)
			continue;
		ur.id = r->id ? r->id : (uint32_t)i + 1;
		ur.action = (Cgfw__Action)r->action;
		ur.scheme = r->scheme;
		ur.host = r->name;
		ur.port = r->port;
		ur.path = r->path;
		ur.text = r->text;
		ur.origin = r->origin;
		(void)w_sent(w, send(&w->ipc, &ur), "a URL rule");
	}
}

static uint32_t
http_rules_count(const struct cgfw_ruleset *rs)
{
	uint32_t n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->v[i].kind == RULE_URL && !rs->v[i].addr;
	return n;
}

static void
mon_configure(struct sup *s, int events_fd, int http_events_fd)
{
	struct worker *w = &s->w[W_MON];
	Cgfw__MonConfigBegin cfg = CGFW__MON_CONFIG_BEGIN__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[8];
	int fdv[8];

	if (w_sent(w, ipc_send_loader_mon_hello(&w->ipc), "hello") < 0)
		return;
	cfg.mode = (Cgfw__Mode)s->cp.pol.mode;
	cfg.debug = s->h.debug;
	cfg.target_cgroup_id = s->h.cg_id;
	cfg.target_cgroup = s->h.cg_path;
	cfg.n_rules = mon_rules_count(&s->cp.rules);
	cfg.json_to_stdout = s->h.json_to_stdout;
	cfg.gen = s->gen;
	(void)w_sent(w, ipc_send_loader_mon_config(&w->ipc, &cfg), "config");

	mon_send_rules(w, &s->cp.rules, ipc_send_loader_mon_rules);

	kinds[0] = CGFW__FD_KIND__FD_RINGBUF;
	fdv[0] = s->h.map[HO_MAP_RINGBUF];
	kinds[1] = CGFW__FD_KIND__FD_STATS_MAP;
	fdv[1] = s->h.map[HO_MAP_STATS_RO];
	fds.n_kinds = 2;
	if (s->h.fd[HO_FD_LOG] >= 0) {
		kinds[fds.n_kinds] = CGFW__FD_KIND__FD_LOG_FILE;
		fdv[fds.n_kinds++] = s->h.fd[HO_FD_LOG];
	}
	kinds[fds.n_kinds] = CGFW__FD_KIND__FD_DNS_EVENTS;
	fdv[fds.n_kinds++] = events_fd;
	kinds[fds.n_kinds] = CGFW__FD_KIND__FD_HTTP_EVENTS;
	fdv[fds.n_kinds++] = http_events_fd;
	kinds[fds.n_kinds] = CGFW__FD_KIND__FD_ARGV_MAP;
	fdv[fds.n_kinds++] = s->h.map[HO_MAP_ARGV_RO];
	kinds[fds.n_kinds] = CGFW__FD_KIND__FD_EVENTS_LISTEN;
	fdv[fds.n_kinds++] = s->h.fd[HO_FD_EVENTS];
	if (s->h.fd[HO_FD_JOURNAL] >= 0) {
		kinds[fds.n_kinds] = CGFW__FD_KIND__FD_JOURNAL;
		fdv[fds.n_kinds++] = s->h.fd[HO_FD_JOURNAL];
	}
	fds.kinds = kinds;
	(void)w_sent(w, ipc_send_loader_mon_fds(&w->ipc, &fds, fdv), "fds");
	(void)w_sent(w, ipc_send_loader_mon_commit(&w->ipc), "commit");
}

static void
dns_configure(struct sup *s, int events_fd)
{
	struct worker *w = &s->w[W_DNS];
	Cgfw__DnsConfig cfg = CGFW__DNS_CONFIG__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[6] = {CGFW__FD_KIND__FD_DNS_UDP, CGFW__FD_KIND__FD_DNS_TCP,
	    CGFW__FD_KIND__FD_LEARNED_MAP, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY};
	int fdv[6];

	if (w_sent(w, ipc_send_loader_dns_hello(&w->ipc), "hello") < 0)
		return;
	cfg.mode = (Cgfw__Mode)s->cp.pol.mode;
	cfg.debug = s->h.debug;
	cfg.allow_dns_request = s->h.allow_dns_request;
	cfg.block_response = s->h.block_nxdomain ? CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_NXDOMAIN
	                                         : CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_REFUSED;
	cfg.min_ttl = s->h.min_ttl;
	cfg.upstreams = s->upstreams;
	cfg.n_upstreams = (size_t)s->h.n_upstreams;
	cfg.timeout_ms = 1500;
	cfg.gen = s->gen;
	(void)w_sent(w, ipc_send_loader_dns_config(&w->ipc, &cfg), "config");

	fdv[0] = s->h.fd[HO_FD_DNS_UDP];
	fdv[1] = s->h.fd[HO_FD_DNS_TCP];
	fdv[2] = s->h.map[(s->gen & 1) ? HO_MAP_LEARNED_B : HO_MAP_LEARNED_A];
	fdv[3] = s->h.map[HO_MAP_PEERS_RO];
	fdv[4] = events_fd;
	fdv[5] = s->np_fd;
	fds.kinds = kinds;
	fds.n_kinds = 6;
	(void)w_sent(w, ipc_send_loader_dns_fds(&w->ipc, &fds, fdv), "fds");
	(void)w_sent(w, ipc_send_loader_dns_commit(&w->ipc), "commit");
}

static void
http_configure(struct sup *s, int events_fd)
{
	struct worker *w = &s->w[W_HTTP];
	Cgfw__HttpConfig cfg = CGFW__HTTP_CONFIG__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[6] = {CGFW__FD_KIND__FD_HTTP_LISTEN, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_HTTP_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_CA_CERT,
	    CGFW__FD_KIND__FD_CA_KEY};
	int fdv[6];

	if (w_sent(w, ipc_send_loader_http_hello(&w->ipc), "hello") < 0)
		return;
	cfg.mode = (Cgfw__Mode)s->cp.pol.mode;
	cfg.debug = s->h.debug;
	cfg.n_rules = http_rules_count(&s->cp.rules);
	cfg.upstream_trust = s->h.upstream_trust;
	cfg.tls = s->h.need_tls;
	cfg.gen = s->gen;
	(void)w_sent(w, ipc_send_loader_http_config(&w->ipc, &cfg), "config");
	http_send_rules(w, &s->cp.rules, ipc_send_loader_http_rule);
	fdv[0] = s->h.fd[HO_FD_HTTP];
	fdv[1] = s->h.map[HO_MAP_PEERS_RO];
	fdv[2] = events_fd;
	fdv[3] = s->np_fd;
	fdv[4] = s->h.fd[HO_FD_CA_CERT];
	fdv[5] = s->h.fd[HO_FD_CA_KEY];
	/* The files' offsets are shared with the worker that read them before. */
	if (s->h.need_tls && (lseek(s->h.fd[HO_FD_CA_CERT], 0, SEEK_SET) < 0 ||
	                         lseek(s->h.fd[HO_FD_CA_KEY], 0, SEEK_SET) < 0))
		fatal("lseek on the CA's files");
	fds.kinds = kinds;
	fds.n_kinds = s->h.need_tls ? 6 : 4;
	(void)w_sent(w, ipc_send_loader_http_fds(&w->ipc, &fds, fdv), "fds");
	(void)w_sent(w, ipc_send_loader_http_commit(&w->ipc), "commit");
}

static struct worker *
worker_of(struct sup *s, struct ipc_peer *p)
{
	for (int i = 0; i < W_N; i++)
		if (&s->w[i].ipc == p)
			return &s->w[i];
	fatalx("message from an unknown peer");
}

static int
loader_on_ready(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct worker *w = worker_of(ctx, p);

	(void)env;
	w->ready = 1;
	return 0;
}

static int
loader_on_mon_stats(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct sup *s = ctx;
	struct worker *w = worker_of(ctx, p);
	const Cgfw__MonStats *st = env->mon_loader_stats;

	if (st->lost || st->bad)
		log_warnx("%llu events lost, %llu malformed (see the monitor's report)%s",
		    (unsigned long long)st->lost, (unsigned long long)st->bad,
		    st->lost && !s->h.allow_event_loss ? "; exiting 125 (--allow-event-loss to "
		                                         "accept it)"
		                                       : "");
	s->events_lost = st->lost > 0;
	log_debug("monitor wrote %llu events", (unsigned long long)st->events);
	if (st->readers_dropped || st->readers_refused)
		log_warnx("event socket: %llu readers cut off for falling behind, %llu refused "
		          "(more than 64 at once)",
		    (unsigned long long)st->readers_dropped,
		    (unsigned long long)st->readers_refused);
	log_debug("event socket: %llu readers, %llu without a valid request",
	    (unsigned long long)st->readers, (unsigned long long)st->readers_bad);
	w->done = 1;
	return 0;
}

/* The counters so far, for the status file; a restarted monitor counts from 0. */
static int
loader_on_mon_progress(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct sup *s = ctx;
	const Cgfw__MonStats *st = env->mon_loader_progress;

	(void)p;
	if (s->mon_gen != s->w[W_MON].restarts) {
		s->mon_base.events += s->mon_last.events;
		s->mon_base.lost += s->mon_last.lost;
		s->mon_base.dns_blocked += s->mon_last.dns_blocked;
		s->mon_base.http_blocked += s->mon_last.http_blocked;
		s->mon_gen = s->w[W_MON].restarts;
	}
	s->mon_last =
	    (struct sup_mon_counts){st->events, st->lost, st->dns_blocked, st->http_blocked};
	return 0;
}

static int
loader_on_dns_stats(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct worker *w = worker_of(ctx, p);
	const Cgfw__DnsStats *st = env->dns_loader_stats;

	if (st->evicted)
		log_warnx("%llu resolved addresses pushed older ones out of the allow map",
		    (unsigned long long)st->evicted);
	log_debug("dnsproxy: %llu queries, %llu blocked, %llu servfail, %llu admitted",
	    (unsigned long long)st->queries, (unsigned long long)st->blocked,
	    (unsigned long long)st->servfail, (unsigned long long)st->admitted);
	w->done = 1;
	return 0;
}

static int
loader_on_http_stats(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct worker *w = worker_of(ctx, p);
	const Cgfw__HttpStats *st = env->http_loader_stats;

	log_debug("httpproxy: %llu requests, %llu blocked, %llu upstream errors",
	    (unsigned long long)st->requests, (unsigned long long)st->blocked,
	    (unsigned long long)st->upstream_errors);
	w->done = 1;
	return 0;
}

/*
 * What the supervisor does with each worker's messages; which may come when, and
 * their checks, are lib/protocol.def's.  A violation stops the worker.
 */
static int loader_on_reloaded(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env);

const struct ipc_handlers loader_from_http = {
    .chan = IPC_CH_HTTP_LOADER,
    .on =
        {
            [IPC_M_HTTP_LOADER_READY] = loader_on_ready,
            [IPC_M_HTTP_LOADER_STATS] = loader_on_http_stats,
            [IPC_M_HTTP_LOADER_RELOADED] = loader_on_reloaded,
        },
};

static int loader_on_mon_reported(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env);

/* A worker has the reload's policy aside (reload.c waits for all three). */
static int
loader_on_reloaded(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct sup *s = ctx;
	struct worker *w = worker_of(ctx, p);
	const Cgfw__Reloaded *r = env->body_case == CGFW__ENVELOPE__BODY_MON_LOADER_RELOADED
	                              ? env->mon_loader_reloaded
	                          : env->body_case == CGFW__ENVELOPE__BODY_DNS_LOADER_RELOADED
	                              ? env->dns_loader_reloaded
	                              : env->http_loader_reloaded;

	/* Late for a reload that failed meanwhile (another worker died): moot. */
	if (!s->reload_gen && r->gen == s->reload_tried && w->reloaded != r->gen) {
		w->reloaded = r->gen;
		return 0;
	}
	if (!s->reload_gen || r->gen != s->reload_gen || w->reloaded == r->gen)
		return ipc_violation(
		    p, "reloaded: generation %u, %u asked for", r->gen, s->reload_gen);
	w->reloaded = r->gen;
	return 0;
}

const struct ipc_handlers loader_from_mon = {
    .chan = IPC_CH_MON_LOADER,
    .on =
        {
            [IPC_M_MON_LOADER_READY] = loader_on_ready,
            [IPC_M_MON_LOADER_REPORTED] = loader_on_mon_reported,
            [IPC_M_MON_LOADER_PROGRESS] = loader_on_mon_progress,
            [IPC_M_MON_LOADER_STATS] = loader_on_mon_stats,
            [IPC_M_MON_LOADER_RELOADED] = loader_on_reloaded,
        },
};

const struct ipc_handlers loader_from_dns = {
    .chan = IPC_CH_DNS_LOADER,
    .on =
        {
            [IPC_M_DNS_LOADER_READY] = loader_on_ready,
            [IPC_M_DNS_LOADER_STATS] = loader_on_dns_stats,
            [IPC_M_DNS_LOADER_RELOADED] = loader_on_reloaded,
        },
};

static void
worker_lost(struct worker *w, const char *why)
{
	if (why)
		log_warnx("%s: %s; stopping it", w->name, why);
	ipc_peer_close(&w->ipc);
	if (w->pid > 0)
		(void)kill(w->pid, SIGKILL);
}

static void
dispatch(struct sup *s, struct worker *w)
{
	Cgfw__Envelope *env;
	int r;

	while (w->ipc.fd >= 0) {
		r = ipc_recv(&w->ipc, &env);
		if (r == -EAGAIN)
			return;
		if (r == -EPIPE) {
			worker_lost(w, w->done ? NULL : "link closed");
			return;
		}
		if (r == 0)
			r = ipc_dispatch(&w->ipc, w->table, s, env);
		if (r < 0) {
			worker_lost(w, r == -EPROTO ? w->ipc.violation : strerror(-r));
			return;
		}
	}
}

long long
sup_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * A worker died.  DESIGN §8: its traffic fails meanwhile (the listening
 * sockets are ours, made by the loader: queries wait in them, nothing
 * bypasses), and it is started again with the same sockets and maps, at
 * once the first time, then backing off; SUP_RESPAWN_MAX deaths in a row and cgfw gives up.
 * The monitor takes the proxies along: they are restarted with it, on fresh
 * events channels.
 */
static void
worker_died(struct sup *s, struct worker *w, int status)
{
	char because[40], cmt[256];
	long long now = sup_now_ms();

	/* What it sent before it went (its STATS at a shutdown) is still read. */
	dispatch(s, w);
	ipc_peer_close(&w->ipc);
	w->ready = 0;
	if (w == &s->w[W_MON])
		command_answer(s, 0); /* no report is coming: every waiting caller */
	if (s->stopping || w->done)
		return;
	if (w->restart_with_monitor) {
		w->restart_with_monitor = 0;
		w->pending = 1;
		return;
	}
	if (WIFSIGNALED(status))
		snprintf(because, sizeof(because), "KilledBySignal%d", WTERMSIG(status));
	else
		snprintf(because, sizeof(because), "Exited%d", WEXITSTATUS(status));
	if (now - w->started_ms > SUP_HEALTHY_MS)
		w->deaths = 0;
	w->deaths++;
	snprintf(cmt, sizeof(cmt), "%s died (%s); its traffic fails until it is back%s", w->name,
	    because, w->deaths > SUP_RESPAWN_MAX ? ": died too often, cgfw gives up" : "");
	log_warnx("%s", cmt);
	workers_notice(s, "WORKER DIED", because, cmt);
	if (w->deaths > SUP_RESPAWN_MAX) {
		s->gave_up = 1;
		return;
	}
	w->pending = 1;
	w->respawn_ms = now;
	if (w->deaths > 1) {
		long long d = (long long)SUP_RESPAWN_MS << (w->deaths - 2);

		w->respawn_ms += d > SUP_RESPAWN_CAP ? SUP_RESPAWN_CAP : d;
	}
	if (w == &s->w[W_MON])
		for (int i = W_DNS; i <= W_HTTP; i++)
			if (s->w[i].pid > 0) {
				s->w[i].restart_with_monitor = 1;
				(void)kill(s->w[i].pid, SIGKILL);
			}
}

static void
reap(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->child) {
			s->child_status = status;
			s->child_done = 1;
			continue;
		}
		for (int i = 0; i < W_N; i++) {
			if (pid == s->w[i].launcher) {
				s->w[i].launcher = -1;
				(void)close(s->w[i].launch_fd);
				s->w[i].launch_fd = -1;
				if (!s->stopping)
					log_warnx(
					    "the launcher of %s is gone: it cannot be started "
					    "again",
					    s->w[i].name);
			}
			if (pid != s->w[i].pid)
				continue;
			s->w[i].pid = -1;
			worker_died(s, &s->w[i], status);
		}
	}
}

static void respawn_due(struct sup *s);

/* ms until the next restart is due, or -1. */
static int
respawn_wait(const struct sup *s)
{
	long long first = -1, now = sup_now_ms();

	for (int i = 0; i < W_N; i++)
		if (s->w[i].pending && (first < 0 || s->w[i].respawn_ms < first))
			first = s->w[i].respawn_ms;
	if (first < 0)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

/*
 * One poll loop: signals (as a signalfd) and the worker links.  Returns when
 * done() says so or the deadline (ms, -1 none) passes.  Signals are forwarded
 * to the command, or returned in *ret_sig when asked for.
 */
int
sup_wait(struct sup *s, int (*done)(struct sup *), int timeout_ms, int *ret_sig)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!done(s)) {
		struct pollfd pfd[2 + W_N];
		struct timespec now;
		int wait = -1, n;

		pfd[0].fd = s->sfd;
		pfd[0].events = POLLIN;
		for (int i = 0; i < W_N; i++) {
			pfd[1 + i].fd = s->w[i].ipc.fd;
			pfd[1 + i].events = POLLIN;
		}
		pfd[1 + W_N].fd = s->notify_fd; /* the command's seccomp listener, or -1 */
		pfd[1 + W_N].events = POLLIN;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			wait = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 +
			                          (now.tv_nsec - t0.tv_nsec) / 1000000);
			if (wait <= 0)
				return -ETIMEDOUT;
		}
		if (s->watch_target && (wait < 0 || wait > SUP_TARGET_MS))
			wait = SUP_TARGET_MS;
		{
			int rw = respawn_wait(s);

			if (rw >= 0 && (wait < 0 || rw < wait))
				wait = rw;
		}
		if (s->n_pending && (wait < 0 || wait > SUP_ANSWER_MS))
			wait = SUP_ANSWER_MS;
		n = poll(pfd, 2 + W_N, wait);
		if (n < 0 && errno != EINTR)
			fatal("poll");
		if (s->watch_target)
			target_check(s);
		respawn_due(s);
		if (s->watch_target)
			status_update(s, NULL); /* its file and STATUS=, when due (status.c) */
		if (n <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					reap(s);
				else if (ret_sig)
					*ret_sig = (int)si.ssi_signo;
				else if (s->child > 0 && !s->child_done)
					(void)kill(s->child, (int)si.ssi_signo);
			}
		}
		for (int i = 0; i < W_N; i++)
			if (pfd[1 + i].revents)
				dispatch(s, &s->w[i]);
		if (pfd[1 + W_N].revents)
			command_refused(s, pfd[1 + W_N].revents);
		command_answer_overdue(s);
		if (ret_sig && *ret_sig)
			return 0;
	}
	return 0;
}

/*
 * The monitor writes it into the record; our own stderr line is
 * separate.  While the monitor is down, notices wait (a few) for the next one.
 */
void
workers_notice(struct sup *s, const char *msg, const char *because, const char *comment)
{
	struct worker *w = &s->w[W_MON];
	Cgfw__Notice n = CGFW__NOTICE__INIT;

	if (w->ipc.fd < 0) {
		struct sup_notice *q;

		if (s->n_notices == SUP_MAX_NOTICES)
			return; /* the stderr line stands */
		q = &s->notices[s->n_notices++];
		snprintf(q->msg, sizeof(q->msg), "%s", msg);
		snprintf(q->because, sizeof(q->because), "%s", because);
		snprintf(q->comment, sizeof(q->comment), "%s", comment);
		return;
	}
	n.msg = (char *)msg;
	n.because = (char *)because;
	n.comment = (char *)comment;
	if (ipc_send_loader_mon_notice(&w->ipc, &n) < 0)
		worker_lost(w, "cannot send it a notice");
}

static void
notices_flush(struct sup *s)
{
	int n = s->n_notices;

	s->n_notices = 0;
	for (int i = 0; i < n; i++)
		workers_notice(s, s->notices[i].msg, s->notices[i].because, s->notices[i].comment);
}

/*
 * A syscall the command's filter handed over (command.c): the monitor reports
 * it while its caller still waits, so /proc still names the process.  0 if
 * the monitor took it (it answers with Reported), else -errno.
 */
int
workers_refused(struct sup *s, uint32_t tid, int nr, const uint64_t *args, uint64_t id)
{
	struct worker *w = &s->w[W_MON];
	Cgfw__Refused rf = CGFW__REFUSED__INIT;
	uint64_t a[3] = {args[0], args[1], args[2]};
	int r;

	if (w->ipc.fd < 0 || !w->ready) {
		log_warnx("refused syscall %d of thread %u while cgfw-monitor is down: not in "
		          "the events",
		    nr, tid);
		return -ENOTCONN;
	}
	rf.tid = tid;
	rf.nr = nr;
	rf.args = a;
	rf.n_args = 3;
	rf.id = id;
	r = ipc_send_loader_mon_refused(&w->ipc, &rf);
	if (r < 0)
		worker_lost(w, "cannot send it a refused syscall");
	return r;
}

/* The monitor wrote the event: the caller is answered now (command.c). */
static int
loader_on_mon_reported(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct sup *s = ctx;

	(void)p;
	command_answer(s, env->mon_loader_reported->id);
	return 0;
}

/*
 * The target cgroup is still the one the programs are attached to.  A
 * service manager restarting a unit removes and re-creates its cgroup: the
 * new directory has a new id and none of our programs.
 */
static int
target_alive(const struct sup *s)
{
	struct stat st;

	return stat(s->h.cg_path, &st) == 0 && (unsigned long long)st.st_ino == s->h.cg_id;
}

static void
target_check(struct sup *s)
{
	char cmt[PATH_MAX + 160];

	if (s->target_lost || target_alive(s))
		return;
	s->target_lost = 1;
	snprintf(cmt, sizeof(cmt),
	    "%s (cgroup id %llu) was removed%s; its programs went with it, so cgfw stops",
	    s->h.cg_path, (unsigned long long)s->h.cg_id,
	    access(s->h.cg_path, F_OK) == 0 ? " and re-created unfiltered" : "");
	log_warnx("%s", cmt);
	workers_notice(s, "ATTACH LOST", "CgroupRemoved", cmt);
}

static int
done_ready(struct sup *s)
{
	for (int i = 0; i < W_N; i++)
		if (!s->w[i].ready && s->w[i].ipc.fd >= 0)
			return 0;
	return 1;
}

static int
done_stopped(struct sup *s)
{
	for (int i = 0; i < W_N; i++)
		if (s->w[i].pid > 0 || (s->w[i].ipc.fd >= 0 && !s->w[i].done))
			return 0;
	return 1;
}

/* A proxy's events channel to a running monitor, after the proxy restarted. */
static void
monitor_channel(struct sup *s, int i, int fd)
{
	struct worker *w = &s->w[W_MON];
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kind =
	    i == W_DNS ? CGFW__FD_KIND__FD_DNS_EVENTS : CGFW__FD_KIND__FD_HTTP_EVENTS;

	fds.kinds = &kind;
	fds.n_kinds = 1;
	(void)w_sent(w, ipc_send_loader_mon_channel(&w->ipc, &fds, &fd), "a channel");
}

/*
 * Spawn and configure all three, each proxy with a fresh events channel to
 * the monitor: at the first start, and again when the monitor died.
 */
static void
all_start(struct sup *s)
{
	int ev[2], hev[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ev) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, hev) < 0)
		fatal("socketpair");
	for (int i = 0; i < W_N; i++)
		(void)spawn_worker(s, &s->w[i]); /* a failure leaves ipc.fd -1: sends are moot */
	mon_configure(s, ev[0], hev[0]);
	dns_configure(s, ev[1]);
	http_configure(s, hev[1]);
	(void)close(ev[0]);
	(void)close(ev[1]);
	(void)close(hev[0]);
	(void)close(hev[1]);
}

static void
proxy_start(struct sup *s, int i)
{
	int ev[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ev) < 0)
		fatal("socketpair");
	(void)spawn_worker(s, &s->w[i]); /* as in all_start() */
	if (i == W_DNS)
		dns_configure(s, ev[1]);
	else
		http_configure(s, ev[1]);
	monitor_channel(s, i, ev[0]);
	(void)close(ev[0]);
	(void)close(ev[1]);
}

static void
restarted_notice(struct sup *s, struct worker *w)
{
	char cmt[128];

	snprintf(cmt, sizeof(cmt), "%s restarted as pid %d (restart %d)", w->name, (int)w->pid,
	    w->restarts);
	log_warnx("%s", cmt);
	workers_notice(s, "WORKER RESTARTED", "Restarted", cmt);
}

static void
respawn_due(struct sup *s)
{
	struct worker *m = &s->w[W_MON];
	long long now = sup_now_ms();

	if (s->stopping || s->gave_up)
		return;
	if (m->pending) {
		if (now < m->respawn_ms || s->w[W_DNS].pid > 0 || s->w[W_HTTP].pid > 0)
			return; /* the proxies it took along are not reaped yet */
		for (int i = 0; i < W_N; i++) {
			s->w[i].pending = 0;
			s->w[i].restarts++;
			s->w[i].started_ms = now;
		}
		all_start(s);
		notices_flush(s);
		restarted_notice(s, m);
		return;
	}
	for (int i = W_DNS; i <= W_HTTP; i++) {
		struct worker *w = &s->w[i];

		if (!w->pending || now < w->respawn_ms)
			continue;
		w->pending = 0;
		w->restarts++;
		w->started_ms = now;
		proxy_start(s, i);
		restarted_notice(s, w);
	}
}

/*
 * Start the monitor and the proxies, hand them their fds, and wait until
 * all say READY: the command does not start before that.  Runs with
 * CAP_KILL alone, as the supervisor's own uid.
 */
void
workers_start(struct sup *s)
{
	long long now = sup_now_ms();

	s->w[W_HTTP].table = &loader_from_http;
	s->w[W_MON].table = &loader_from_mon;
	s->w[W_DNS].table = &loader_from_dns;
	for (int i = 0; i < W_N; i++)
		s->w[i].started_ms = now;
	all_start(s);
	if (sup_wait(s, done_ready, SUP_HANDSHAKE_MS, NULL) < 0)
		fatalx("the workers did not become ready in time");
	for (int i = 0; i < W_N; i++)
		if (!s->w[i].ready)
			fatalx("%s did not start%s%s", s->w[i].name,
			    s->w[i].ipc.violation[0] ? ": " : "", s->w[i].ipc.violation);
}

/*
 * Before the monitor's last lines: no new reader, and a reader whose stream
 * ends finds no socket, so it knows the instance stopped.
 */
static void
events_unlink(const struct sup *s)
{
	struct sockaddr_un sun;

	if (instance_sock_path(&sun, s->h.inst_dir) == 0)
		(void)unlink(sun.sun_path);
}

/* send: ipc_send_loader_dns_shutdown, ... */
static void
worker_shutdown(struct worker *w, int (*send)(struct ipc_peer *))
{
	if (w->ipc.fd < 0)
		return;
	if (send(&w->ipc) < 0)
		worker_lost(w, "cannot ask it to stop");
}

static int
done_proxies(struct sup *s)
{
	for (int i = W_DNS; i <= W_HTTP; i++)
		if (s->w[i].pid > 0 || (s->w[i].ipc.fd >= 0 && !s->w[i].done))
			return 0;
	return 1;
}

/*
 * The proxies first (their last events reach the monitor), then the monitor,
 * which drains the ring buffer and the events channel, reports, and exits.
 */
void
workers_stop(struct sup *s)
{
	s->stopping = 1;                /* no more restarts */
	for (int i = 0; i < W_N; i++) { /* EOF: the launchers exit */
		if (s->w[i].launch_fd >= 0)
			(void)close(s->w[i].launch_fd);
		s->w[i].launch_fd = -1;
	}
	worker_shutdown(&s->w[W_DNS], ipc_send_loader_dns_shutdown);
	worker_shutdown(&s->w[W_HTTP], ipc_send_loader_http_shutdown);
	if (sup_wait(s, done_proxies, SUP_DRAIN_MS, NULL) < 0)
		for (int i = W_DNS; i <= W_HTTP; i++)
			if (s->w[i].pid > 0)
				(void)kill(s->w[i].pid, SIGKILL);
	events_unlink(s); /* readers left at the end find no socket: the instance stopped */
	worker_shutdown(&s->w[W_MON], ipc_send_loader_mon_shutdown);
	if (sup_wait(s, done_stopped, SUP_DRAIN_MS, NULL) < 0) {
		log_warnx("workers did not stop in time; killing them");
		for (int i = 0; i < W_N; i++)
			if (s->w[i].pid > 0)
				(void)kill(s->w[i].pid, SIGKILL);
		(void)sup_wait(s, done_stopped, SUP_DRAIN_MS, NULL);
	}
	for (int i = 0; i < W_N; i++)
		ipc_peer_close(&s->w[i].ipc);
	/* No account from the monitor: nothing says the record is whole. */
	if (!s->w[W_MON].done) {
		log_warnx("cgfw-monitor did not report what it wrote: events may be lost");
		s->events_lost = 1;
	}
}

/*
 * Reload, first step: each worker gets the new policy aside (the generation
 * gen, the rules of cp, the name policy np_fd; the DNS proxy the learned map
 * of gen's slot) and answers RELOADED when it is whole.  The policy in force
 * stays theirs until workers_reload_commit().
 */
void
workers_reload_send(struct sup *s, uint32_t gen, const struct cp_view *cp, int np_fd)
{
	struct worker *m = &s->w[W_MON], *d = &s->w[W_DNS], *h = &s->w[W_HTTP];
	Cgfw__Reload rl = CGFW__RELOAD__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[2] = {CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_LEARNED_MAP};
	int fdv[2] = {np_fd, s->h.map[(gen & 1) ? HO_MAP_LEARNED_B : HO_MAP_LEARNED_A]};

	s->reload_gen = s->reload_tried = gen;
	for (int i = 0; i < W_N; i++)
		s->w[i].reloaded = 0;
	rl.gen = gen;
	rl.mode = (Cgfw__Mode)cp->pol.mode;
	fds.kinds = kinds;

	rl.n_rules = mon_rules_count(&cp->rules);
	if (w_sent(m, ipc_send_loader_mon_reload(&m->ipc, &rl), "a reload") == 0)
		mon_send_rules(m, &cp->rules, ipc_send_loader_mon_reload_rules);

	rl.n_rules = 0;
	fds.n_kinds = 2;
	if (w_sent(d, ipc_send_loader_dns_reload(&d->ipc, &rl), "a reload") == 0)
		(void)w_sent(d, ipc_send_loader_dns_reload_fds(&d->ipc, &fds, fdv), "reload fds");

	rl.n_rules = http_rules_count(&cp->rules);
	fds.n_kinds = 1;
	if (w_sent(h, ipc_send_loader_http_reload(&h->ipc, &rl), "a reload") == 0) {
		http_send_rules(h, &cp->rules, ipc_send_loader_http_reload_rule);
		(void)w_sent(h, ipc_send_loader_http_reload_fds(&h->ipc, &fds, fdv), "reload fds");
	}
}

/* Reload, last step: the maps are flipped to gen; the workers take their new policy up. */
void
workers_reload_commit(struct sup *s, uint32_t gen)
{
	Cgfw__ReloadCommit c = CGFW__RELOAD_COMMIT__INIT;

	c.gen = gen;
	s->reload_gen = 0;
	(void)w_sent(&s->w[W_MON], ipc_send_loader_mon_reload_commit(&s->w[W_MON].ipc, &c),
	    "a reload commit");
	(void)w_sent(&s->w[W_DNS], ipc_send_loader_dns_reload_commit(&s->w[W_DNS].ipc, &c),
	    "a reload commit");
	(void)w_sent(&s->w[W_HTTP], ipc_send_loader_http_reload_commit(&s->w[W_HTTP].ipc, &c),
	    "a reload commit");
}

/* Every worker answered RELOADED, or one is gone (its restart has the old policy). */
int
workers_reloaded(const struct sup *s, int *ret_lost)
{
	int all = 1;

	*ret_lost = 0;
	for (int i = 0; i < W_N; i++) {
		if (s->w[i].ipc.fd < 0 || s->w[i].pending || !s->w[i].ready)
			*ret_lost = 1;
		all &= s->w[i].reloaded == s->reload_gen;
	}
	return all || *ret_lost;
}
