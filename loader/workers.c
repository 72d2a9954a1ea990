// SPDX-License-Identifier: MIT
/*
 * Starting, configuring, supervising and stopping the workers.  Each worker
 * is fork+exec'd from the loader's own directory as the unprivileged worker
 * user and gets its IPC socket at fd 3; everything else it holds arrives in
 * one FDS message, listed by kind.  What goes each way and when is
 * lib/protocol.def; the loader reads only HELLO, READY, STATS and the
 * monitor's REPORTED (loader_from_mon, loader_from_dns, loader_from_http) and
 * sends with the typed senders of lib/ipc_send.c.
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
#include "lib/sandbox.h"
#include "loader.h"

#define LOADER_HANDSHAKE_MS 10000
#define LOADER_DRAIN_MS     10000
#define LOADER_TARGET_MS    250   /* how often the target cgroup is checked */
#define LOADER_RESPAWN_MAX  5     /* deaths in a row before cgfw gives up */
#define LOADER_RESPAWN_MS   100   /* the second restart waits this, doubling... */
#define LOADER_RESPAWN_CAP  3000  /* ...up to this */
#define LOADER_HEALTHY_MS   10000 /* up this long: the next death is a first one again */
#define LOADER_LAUNCH_MS    5000  /* a launcher answers a start with a pid within this */

static void target_check(struct loader *l);

/* The directory of our own binary: the workers' and cgfw-ctl's. */
void
loader_exe_dir(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		fatal("readlink /proc/self/exe");
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		fatalx("odd /proc/self/exe: %s", self);
	*slash = '\0';
	snprintf(buf, len, "%s", self);
}

#ifdef CGFW_WEAK_SANDBOX
/* Appends our ASAN_, UBSAN_ and LSAN_OPTIONS to envp (n slots, NULL-terminated). */
static void
san_env(char **envp, size_t n)
{
	static const char *const names[] = {"ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS="};
	size_t i = 0;

	while (envp[i])
		i++;
	for (char **e = environ; *e; e++)
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (i + 1 < n && strncmp(*e, names[k], strlen(names[k])) == 0)
				envp[i++] = *e;
	envp[i] = NULL;
}
#endif

/*
 * A worker's launcher: forked once per worker at the start, straight into
 * the workers' cgroup, it becomes the worker's user (every capability gone,
 * no_new_privs, not dumpable) and keeps nothing but its socket to the loader
 * (fd 3), stdio and what it was forked with.  For each socket end the loader
 * sends it, it starts the worker binary with that end at fd 3, as a child of
 * the loader (CLONE_PARENT: the loader reaps it as before), and answers its
 * pid.  So starting a dead worker again needs no CAP_SETUID or CAP_SETGID in
 * the loader.  A launcher that is gone (the loader reads EOF or nothing in
 * LOADER_LAUNCH_MS) cannot start its worker again: that worker's next death
 * stops cgfw, as too many deaths do.
 */
static void __attribute__((noreturn)) launcher_loop(const char *path, char *const *envp)
{
	char *const argv[] = {(char *)strrchr(path, '/') + 1, NULL};

	for (;;) {
		struct clone_args ca = {.flags = CLONE_PARENT, .exit_signal = 0};
		pid_t pid, parent = getppid();
		int fd;

		if (proc_fds_recv(CGFW_FD_IPC, &fd, 1, 0) < 0 || fd < 0)
			_exit(0); /* the loader is done with us */
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid == 0) {
			/* The loader's child: it dies with the loader, as before. */
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent ||
			    dup2(fd, CGFW_FD_IPC) < 0 || proc_close_fds_except(CGFW_FD_IPC) < 0)
				_exit(127);
			/* execve() makes it dumpable again: proc_worker_enter() undoes that first. */
			execve(path, argv, envp);
			_exit(127);
		}
		if (pid < 0)
			pid = -errno;
		(void)close(fd);
		if (proc_write_all(CGFW_FD_IPC, &pid, sizeof(pid)) < 0)
			_exit(0);
	}
}

static void
launcher_start(struct loader *l, struct worker *w)
{
	struct clone_args ca = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD};
	char dir[PATH_MAX], path[PATH_MAX + 64];
	char *envp[5] = {"PATH=/usr/bin:/bin", NULL};
	struct stat st;
	int sv[2];

	loader_exe_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, w->name);
	if (stat(path, &st) < 0)
		fatal("cannot find worker %s", path);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		fatalx("refusing to start %s: not owned by root or writable by others", path);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	ca.cgroup = (uint64_t)l->wcg_fd;
	w->launcher = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (w->launcher < 0)
		fatal("cannot start %s's launcher in %s (clone3)", w->name, l->wcg_path);
	if (w->launcher == 0) {
		sigset_t none;
		int nul;

		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 || dup2(sv[1], CGFW_FD_IPC) < 0)
			_exit(127);
		if (proc_close_fds_except(CGFW_FD_IPC) < 0)
			_exit(127);
		if (proc_become(w->uid, w->gid, NULL, 0) < 0 ||
		    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || sandbox_deny(NULL) < 0)
			_exit(126);
		(void)prctl(PR_SET_NAME, "cgfw-launcher", 0, 0, 0); /* ps, and the tests */
#ifdef CGFW_WEAK_SANDBOX
		/* Sanitizer builds: the runtime options (where reports go, suppressions) too. */
		san_env(envp, sizeof(envp) / sizeof(envp[0]));
#endif
		launcher_loop(path, envp);
	}
	(void)close(sv[1]);
	w->launch_fd = sv[0];
}

/*
 * A worker, started by its launcher as its user, with its end of a
 * SEQPACKET socketpair at fd 3 and nothing else inherited but stdin
 * (/dev/null), stdout and stderr.  0, or -1 when its launcher is gone.
 */
static int
spawn_worker(struct loader *l, struct worker *w)
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
			r = poll(&pfd, 1, LOADER_LAUNCH_MS);
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
		l->gave_up = 1;
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

/* A fresh read-only fd for a map: the worker only reads it. */
static int
map_fd_rdonly(int fd)
{
	struct bpf_get_fd_by_id_opts ro = {.sz = sizeof(ro), .open_flags = BPF_F_RDONLY};
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int r;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		fatal("map info");
	r = bpf_map_get_fd_by_id_opts(info.id, &ro);
	if (r < 0)
		fatal("read-only map fd");
	return r;
}

/* Only IP and CIDR rules: the BPF events name those by id. */
static int
mon_rule_wanted(const struct cgfw_rule *r)
{
	return r->kind == RULE_IP4 || r->kind == RULE_CIDR4;
}

/* The IP and CIDR rules in MonRules batches, each well under CGFW_IPC_MAX. */
#define LOADER_BATCH_BYTES (48 * 1024)
#define LOADER_BATCH_RULES 1024

static void
mon_send_rules(struct worker *w, const struct cgfw_ruleset *rs,
    int (*send)(struct ipc_peer *, const Cgfw__MonRules *))
{
	static Cgfw__MonRule mr[LOADER_BATCH_RULES];
	static Cgfw__MonRule *pmr[LOADER_BATCH_RULES];
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
		if (n && (n == LOADER_BATCH_RULES || bytes + sz > LOADER_BATCH_BYTES)) {
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
mon_configure(struct loader *l, int events_fd, int http_events_fd)
{
	struct worker *w = &l->w[W_MON];
	Cgfw__MonConfigBegin cfg = CGFW__MON_CONFIG_BEGIN__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[8];
	int fdv[8];

	if (w_sent(w, ipc_send_loader_mon_hello(&w->ipc), "hello") < 0)
		return;
	cfg.mode = (Cgfw__Mode)l->pol.mode;
	cfg.debug = l->o->debug;
	cfg.target_cgroup_id = l->cg_id;
	cfg.target_cgroup = l->cg_path;
	cfg.n_rules = mon_rules_count(&l->o->rules);
	cfg.json_to_stdout = l->o->log_file && !strcmp(l->o->log_file, "-");
	cfg.gen = l->bpf.gen;
	(void)w_sent(w, ipc_send_loader_mon_config(&w->ipc, &cfg), "config");

	mon_send_rules(w, &l->o->rules, ipc_send_loader_mon_rules);

	kinds[0] = CGFW__FD_KIND__FD_RINGBUF;
	fdv[0] = loader_bpf_ringbuf_fd(&l->bpf);
	kinds[1] = CGFW__FD_KIND__FD_STATS_MAP;
	fdv[1] = l->stats_ro_fd;
	fds.n_kinds = 2;
	if (l->log_fd >= 0) {
		kinds[fds.n_kinds] = CGFW__FD_KIND__FD_LOG_FILE;
		fdv[fds.n_kinds++] = l->log_fd;
	}
	kinds[fds.n_kinds] = CGFW__FD_KIND__FD_DNS_EVENTS;
	fdv[fds.n_kinds++] = events_fd;
	kinds[fds.n_kinds] = CGFW__FD_KIND__FD_HTTP_EVENTS;
	fdv[fds.n_kinds++] = http_events_fd;
	kinds[fds.n_kinds] = CGFW__FD_KIND__FD_ARGV_MAP;
	fdv[fds.n_kinds++] = l->argv_ro_fd;
	kinds[fds.n_kinds] = CGFW__FD_KIND__FD_EVENTS_LISTEN;
	fdv[fds.n_kinds++] = l->events_fd;
	if (l->journal_fd >= 0) {
		kinds[fds.n_kinds] = CGFW__FD_KIND__FD_JOURNAL;
		fdv[fds.n_kinds++] = l->journal_fd;
	}
	fds.kinds = kinds;
	(void)w_sent(w, ipc_send_loader_mon_fds(&w->ipc, &fds, fdv), "fds");
	(void)w_sent(w, ipc_send_loader_mon_commit(&w->ipc), "commit");
}

static void
dns_configure(struct loader *l, int events_fd)
{
	struct worker *w = &l->w[W_DNS];
	Cgfw__DnsConfig cfg = CGFW__DNS_CONFIG__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[6] = {CGFW__FD_KIND__FD_DNS_UDP, CGFW__FD_KIND__FD_DNS_TCP,
	    CGFW__FD_KIND__FD_LEARNED_MAP, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY};
	int fdv[6];

	if (w_sent(w, ipc_send_loader_dns_hello(&w->ipc), "hello") < 0)
		return;
	cfg.mode = (Cgfw__Mode)l->pol.mode;
	cfg.debug = l->o->debug;
	cfg.allow_dns_request = l->o->allow_dns_request;
	cfg.block_response = l->o->block_nxdomain ? CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_NXDOMAIN
	                                          : CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_REFUSED;
	cfg.min_ttl = l->o->min_ttl;
	cfg.upstreams = l->o->upstreams;
	cfg.n_upstreams = (size_t)l->o->n_upstreams;
	cfg.timeout_ms = 1500;
	cfg.gen = l->bpf.gen;
	(void)w_sent(w, ipc_send_loader_dns_config(&w->ipc, &cfg), "config");

	fdv[0] = l->dns_udp_fd;
	fdv[1] = l->dns_tcp_fd;
	fdv[2] = loader_bpf_learned_fd(&l->bpf);
	fdv[3] = l->peers_ro_fd;
	fdv[4] = events_fd;
	fdv[5] = l->np_fd;
	fds.kinds = kinds;
	fds.n_kinds = 6;
	(void)w_sent(w, ipc_send_loader_dns_fds(&w->ipc, &fds, fdv), "fds");
	(void)w_sent(w, ipc_send_loader_dns_commit(&w->ipc), "commit");
}

static void
http_configure(struct loader *l, int events_fd)
{
	struct worker *w = &l->w[W_HTTP];
	Cgfw__HttpConfig cfg = CGFW__HTTP_CONFIG__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[6] = {CGFW__FD_KIND__FD_HTTP_LISTEN, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_HTTP_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_CA_CERT,
	    CGFW__FD_KIND__FD_CA_KEY};
	int fdv[6];

	if (w_sent(w, ipc_send_loader_http_hello(&w->ipc), "hello") < 0)
		return;
	cfg.mode = (Cgfw__Mode)l->pol.mode;
	cfg.debug = l->o->debug;
	cfg.n_rules = http_rules_count(&l->o->rules);
	cfg.upstream_trust = (char *)ca_upstream_trust(l);
	cfg.tls = l->need_tls;
	cfg.gen = l->bpf.gen;
	(void)w_sent(w, ipc_send_loader_http_config(&w->ipc, &cfg), "config");
	http_send_rules(w, &l->o->rules, ipc_send_loader_http_rule);
	fdv[0] = l->http_fd;
	fdv[1] = l->peers_ro_fd;
	fdv[2] = events_fd;
	fdv[3] = l->np_fd;
	fdv[4] = l->ca_fd;
	fdv[5] = l->ca_key_fd;
	/* The files' offsets are shared with the worker that read them before. */
	if (l->need_tls &&
	    (lseek(l->ca_fd, 0, SEEK_SET) < 0 || lseek(l->ca_key_fd, 0, SEEK_SET) < 0))
		fatal("lseek on the CA's files");
	fds.kinds = kinds;
	fds.n_kinds = l->need_tls ? 6 : 4;
	(void)w_sent(w, ipc_send_loader_http_fds(&w->ipc, &fds, fdv), "fds");
	(void)w_sent(w, ipc_send_loader_http_commit(&w->ipc), "commit");
}

static struct worker *
worker_of(struct loader *l, struct ipc_peer *p)
{
	for (int i = 0; i < W_N; i++)
		if (&l->w[i].ipc == p)
			return &l->w[i];
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
	struct loader *l = ctx;
	struct worker *w = worker_of(ctx, p);
	const Cgfw__MonStats *s = env->mon_loader_stats;

	if (s->lost || s->bad)
		log_warnx("%llu events lost, %llu malformed (see the monitor's report)%s",
		    (unsigned long long)s->lost, (unsigned long long)s->bad,
		    s->lost && !l->o->allow_event_loss ? "; exiting 125 (--allow-event-loss to "
		                                         "accept it)"
		                                       : "");
	l->events_lost = s->lost > 0;
	log_debug("monitor wrote %llu events", (unsigned long long)s->events);
	if (s->readers_dropped || s->readers_refused)
		log_warnx("event socket: %llu readers cut off for falling behind, %llu refused "
		          "(more than 64 at once)",
		    (unsigned long long)s->readers_dropped, (unsigned long long)s->readers_refused);
	log_debug("event socket: %llu readers, %llu without a valid request",
	    (unsigned long long)s->readers, (unsigned long long)s->readers_bad);
	w->done = 1;
	return 0;
}

/* The counters so far, for the status file; a restarted monitor counts from 0. */
static int
loader_on_mon_progress(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct loader *l = ctx;
	const Cgfw__MonStats *s = env->mon_loader_progress;

	(void)p;
	if (l->mon_gen != l->w[W_MON].restarts) {
		l->mon_base.events += l->mon_last.events;
		l->mon_base.lost += l->mon_last.lost;
		l->mon_base.dns_blocked += l->mon_last.dns_blocked;
		l->mon_base.http_blocked += l->mon_last.http_blocked;
		l->mon_gen = l->w[W_MON].restarts;
	}
	l->mon_last =
	    (struct loader_mon_counts){s->events, s->lost, s->dns_blocked, s->http_blocked};
	return 0;
}

static int
loader_on_dns_stats(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct worker *w = worker_of(ctx, p);
	const Cgfw__DnsStats *s = env->dns_loader_stats;

	if (s->evicted)
		log_warnx("%llu resolved addresses pushed older ones out of the allow map",
		    (unsigned long long)s->evicted);
	log_debug("dnsproxy: %llu queries, %llu blocked, %llu servfail, %llu admitted",
	    (unsigned long long)s->queries, (unsigned long long)s->blocked,
	    (unsigned long long)s->servfail, (unsigned long long)s->admitted);
	w->done = 1;
	return 0;
}

static int
loader_on_http_stats(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct worker *w = worker_of(ctx, p);
	const Cgfw__HttpStats *s = env->http_loader_stats;

	log_debug("httpproxy: %llu requests, %llu blocked, %llu upstream errors",
	    (unsigned long long)s->requests, (unsigned long long)s->blocked,
	    (unsigned long long)s->upstream_errors);
	w->done = 1;
	return 0;
}

/*
 * What the loader does with each worker's messages; which may come when, and
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
	struct loader *l = ctx;
	struct worker *w = worker_of(ctx, p);
	const Cgfw__Reloaded *r = env->body_case == CGFW__ENVELOPE__BODY_MON_LOADER_RELOADED
	                              ? env->mon_loader_reloaded
	                          : env->body_case == CGFW__ENVELOPE__BODY_DNS_LOADER_RELOADED
	                              ? env->dns_loader_reloaded
	                              : env->http_loader_reloaded;

	/* Late for a reload that failed meanwhile (another worker died): moot. */
	if (!l->reload_gen && r->gen == l->reload_tried && w->reloaded != r->gen) {
		w->reloaded = r->gen;
		return 0;
	}
	if (!l->reload_gen || r->gen != l->reload_gen || w->reloaded == r->gen)
		return ipc_violation(
		    p, "reloaded: generation %u, %u asked for", r->gen, l->reload_gen);
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
dispatch(struct loader *l, struct worker *w)
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
			r = ipc_dispatch(&w->ipc, w->table, l, env);
		if (r < 0) {
			worker_lost(w, r == -EPROTO ? w->ipc.violation : strerror(-r));
			return;
		}
	}
}

long long
loader_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * A worker died.  DESIGN §8: its traffic fails meanwhile (the listening
 * sockets are the loader's: queries wait in them, nothing bypasses), and it
 * is started again with the same sockets and maps, at once the first time,
 * then backing off; LOADER_RESPAWN_MAX deaths in a row and cgfw gives up.
 * The monitor takes the proxies along: they are restarted with it, on fresh
 * events channels.
 */
static void
worker_died(struct loader *l, struct worker *w, int status)
{
	char because[40], cmt[256];
	long long now = loader_now_ms();

	/* What it sent before it went (its STATS at a shutdown) is still read. */
	dispatch(l, w);
	ipc_peer_close(&w->ipc);
	w->ready = 0;
	if (w == &l->w[W_MON])
		command_answer(l, 0); /* no report is coming: every waiting caller */
	if (l->stopping || w->done)
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
	if (now - w->started_ms > LOADER_HEALTHY_MS)
		w->deaths = 0;
	w->deaths++;
	snprintf(cmt, sizeof(cmt), "%s died (%s); its traffic fails until it is back%s", w->name,
	    because, w->deaths > LOADER_RESPAWN_MAX ? ": died too often, cgfw gives up" : "");
	log_warnx("%s", cmt);
	workers_notice(l, "WORKER DIED", because, cmt);
	if (w->deaths > LOADER_RESPAWN_MAX) {
		l->gave_up = 1;
		return;
	}
	w->pending = 1;
	w->respawn_ms = now;
	if (w->deaths > 1) {
		long long d = (long long)LOADER_RESPAWN_MS << (w->deaths - 2);

		w->respawn_ms += d > LOADER_RESPAWN_CAP ? LOADER_RESPAWN_CAP : d;
	}
	if (w == &l->w[W_MON])
		for (int i = W_DNS; i <= W_HTTP; i++)
			if (l->w[i].pid > 0) {
				l->w[i].restart_with_monitor = 1;
				(void)kill(l->w[i].pid, SIGKILL);
			}
}

static void
reap(struct loader *l)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == l->child) {
			l->child_status = status;
			l->child_done = 1;
			continue;
		}
		for (int i = 0; i < W_N; i++) {
			if (pid == l->w[i].launcher) {
				l->w[i].launcher = -1;
				(void)close(l->w[i].launch_fd);
				l->w[i].launch_fd = -1;
				if (!l->stopping)
					log_warnx(
					    "the launcher of %s is gone: it cannot be started "
					    "again",
					    l->w[i].name);
			}
			if (pid != l->w[i].pid)
				continue;
			l->w[i].pid = -1;
			worker_died(l, &l->w[i], status);
		}
	}
}

static void respawn_due(struct loader *l);

/* ms until the next restart is due, or -1. */
static int
respawn_wait(const struct loader *l)
{
	long long first = -1, now = loader_now_ms();

	for (int i = 0; i < W_N; i++)
		if (l->w[i].pending && (first < 0 || l->w[i].respawn_ms < first))
			first = l->w[i].respawn_ms;
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
loader_wait(struct loader *l, int (*done)(struct loader *), int timeout_ms, int *ret_sig)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!done(l)) {
		struct pollfd pfd[2 + W_N];
		struct timespec now;
		int wait = -1, n;

		pfd[0].fd = l->sfd;
		pfd[0].events = POLLIN;
		for (int i = 0; i < W_N; i++) {
			pfd[1 + i].fd = l->w[i].ipc.fd;
			pfd[1 + i].events = POLLIN;
		}
		pfd[1 + W_N].fd = l->notify_fd; /* the command's seccomp listener, or -1 */
		pfd[1 + W_N].events = POLLIN;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			wait = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 +
			                          (now.tv_nsec - t0.tv_nsec) / 1000000);
			if (wait <= 0)
				return -ETIMEDOUT;
		}
		if (l->watch_target && (wait < 0 || wait > LOADER_TARGET_MS))
			wait = LOADER_TARGET_MS;
		{
			int rw = respawn_wait(l);

			if (rw >= 0 && (wait < 0 || rw < wait))
				wait = rw;
		}
		if (l->n_pending && (wait < 0 || wait > LOADER_ANSWER_MS))
			wait = LOADER_ANSWER_MS;
		n = poll(pfd, 2 + W_N, wait);
		if (n < 0 && errno != EINTR)
			fatal("poll");
		if (l->watch_target)
			target_check(l);
		respawn_due(l);
		if (l->watch_target)
			status_update(l, NULL); /* its file and STATUS=, when due (status.c) */
		if (n <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(l->sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					reap(l);
				else if (ret_sig)
					*ret_sig = (int)si.ssi_signo;
				else if (l->child > 0 && !l->child_done)
					(void)kill(l->child, (int)si.ssi_signo);
			}
		}
		for (int i = 0; i < W_N; i++)
			if (pfd[1 + i].revents)
				dispatch(l, &l->w[i]);
		if (pfd[1 + W_N].revents)
			command_refused(l, pfd[1 + W_N].revents);
		command_answer_overdue(l);
		if (ret_sig && *ret_sig)
			return 0;
	}
	return 0;
}

/*
 * The monitor writes it into the record; the loader's own stderr line is
 * separate.  While the monitor is down, notices wait (a few) for the next one.
 */
void
workers_notice(struct loader *l, const char *msg, const char *because, const char *comment)
{
	struct worker *w = &l->w[W_MON];
	Cgfw__Notice n = CGFW__NOTICE__INIT;

	if (w->ipc.fd < 0) {
		struct loader_notice *q;

		if (l->n_notices == LOADER_MAX_NOTICES)
			return; /* the stderr line stands */
		q = &l->notices[l->n_notices++];
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
notices_flush(struct loader *l)
{
	int n = l->n_notices;

	l->n_notices = 0;
	for (int i = 0; i < n; i++)
		workers_notice(l, l->notices[i].msg, l->notices[i].because, l->notices[i].comment);
}

/*
 * A syscall the command's filter handed over (command.c): the monitor reports
 * it while its caller still waits, so /proc still names the process.  0 if
 * the monitor took it (it answers with Reported), else -errno.
 */
int
workers_refused(struct loader *l, uint32_t tid, int nr, const uint64_t *args, uint64_t id)
{
	struct worker *w = &l->w[W_MON];
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
	struct loader *l = ctx;

	(void)p;
	command_answer(l, env->mon_loader_reported->id);
	return 0;
}

/*
 * The target cgroup is still the one the programs are attached to.  A
 * service manager restarting a unit removes and re-creates its cgroup: the
 * new directory has a new id and none of our programs.
 */
static int
target_alive(const struct loader *l)
{
	struct stat st;

	return stat(l->cg_path, &st) == 0 && (unsigned long long)st.st_ino == l->cg_id;
}

static void
target_check(struct loader *l)
{
	char cmt[PATH_MAX + 160];

	if (l->target_lost || target_alive(l))
		return;
	l->target_lost = 1;
	snprintf(cmt, sizeof(cmt),
	    "%s (cgroup id %llu) was removed%s; its programs went with it, so cgfw stops",
	    l->cg_path, l->cg_id,
	    access(l->cg_path, F_OK) == 0 ? " and re-created unfiltered" : "");
	log_warnx("%s", cmt);
	workers_notice(l, "ATTACH LOST", "CgroupRemoved", cmt);
}

static int
done_ready(struct loader *l)
{
	for (int i = 0; i < W_N; i++)
		if (!l->w[i].ready && l->w[i].ipc.fd >= 0)
			return 0;
	return 1;
}

static int
done_stopped(struct loader *l)
{
	for (int i = 0; i < W_N; i++)
		if (l->w[i].pid > 0 || (l->w[i].ipc.fd >= 0 && !l->w[i].done))
			return 0;
	return 1;
}

/*
 * Each worker's own user, never one a command can run as: the command's
 * uid (l->uid, 0 for attach) is avoided, and a command asked to run as a
 * worker's named user is refused.  Two workers never share a uid, so a
 * hijacked one cannot signal or read its siblings either.
 */
void
workers_users(struct loader *l)
{
	static const char *const names[W_N] = {"cgfw-monitor", "cgfw-dnsproxy", "cgfw-httpproxy"};
	static const char *const users[W_N] = {"cgfw-mon", "cgfw-dns", "cgfw-http"};

	for (int i = 0; i < W_N; i++) {
		struct worker *w = &l->w[i];
		int r;

		w->name = names[i];
		w->user = users[i];
		w->ipc.fd = -1;
		w->pid = -1;
		w->launcher = -1;
		w->launch_fd = -1;
		r = proc_worker_user(w->user, l->uid, &w->uid, &w->gid, &w->uid_lock_fd);
		if (r == -EEXIST)
			fatalx("--user: uid %u is %s, the user of %s; pick another user",
			    (unsigned)l->uid, w->user, w->name);
		if (r < 0)
			fatal_r(r, "no user for %s (%s, or a free uid from %u-%u)", w->name,
			    w->user, CGFW_DYN_UID_MIN, CGFW_DYN_UID_MIN + CGFW_DYN_UID_N - 1);
		for (int j = 0; j < i; j++)
			if (l->w[j].uid == w->uid)
				fatalx("%s and %s would share uid %u; give each its own user "
				       "(packaging/sysusers.d/cgfw.conf)",
				    l->w[j].user, w->user, (unsigned)w->uid);
		log_debug("%s runs as %s (uid %u)", w->name,
		    w->uid_lock_fd < 0 ? w->user : "a reserved uid", (unsigned)w->uid);
	}
}

/* A proxy's events channel to a running monitor, after the proxy restarted. */
static void
monitor_channel(struct loader *l, int i, int fd)
{
	struct worker *w = &l->w[W_MON];
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
all_start(struct loader *l)
{
	int ev[2], hev[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ev) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, hev) < 0)
		fatal("socketpair");
	for (int i = 0; i < W_N; i++)
		(void)spawn_worker(l, &l->w[i]); /* a failure leaves ipc.fd -1: sends are moot */
	mon_configure(l, ev[0], hev[0]);
	dns_configure(l, ev[1]);
	http_configure(l, hev[1]);
	(void)close(ev[0]);
	(void)close(ev[1]);
	(void)close(hev[0]);
	(void)close(hev[1]);
}

static void
proxy_start(struct loader *l, int i)
{
	int ev[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ev) < 0)
		fatal("socketpair");
	(void)spawn_worker(l, &l->w[i]); /* as in all_start() */
	if (i == W_DNS)
		dns_configure(l, ev[1]);
	else
		http_configure(l, ev[1]);
	monitor_channel(l, i, ev[0]);
	(void)close(ev[0]);
	(void)close(ev[1]);
}

static void
restarted_notice(struct loader *l, struct worker *w)
{
	char cmt[128];

	snprintf(cmt, sizeof(cmt), "%s restarted as pid %d (restart %d)", w->name, (int)w->pid,
	    w->restarts);
	log_warnx("%s", cmt);
	workers_notice(l, "WORKER RESTARTED", "Restarted", cmt);
}

static void
respawn_due(struct loader *l)
{
	struct worker *m = &l->w[W_MON];
	long long now = loader_now_ms();

	if (l->stopping || l->gave_up)
		return;
	if (m->pending) {
		if (now < m->respawn_ms || l->w[W_DNS].pid > 0 || l->w[W_HTTP].pid > 0)
			return; /* the proxies it took along are not reaped yet */
		for (int i = 0; i < W_N; i++) {
			l->w[i].pending = 0;
			l->w[i].restarts++;
			l->w[i].started_ms = now;
		}
		all_start(l);
		notices_flush(l);
		restarted_notice(l, m);
		return;
	}
	for (int i = W_DNS; i <= W_HTTP; i++) {
		struct worker *w = &l->w[i];

		if (!w->pending || now < w->respawn_ms)
			continue;
		w->pending = 0;
		w->restarts++;
		w->started_ms = now;
		proxy_start(l, i);
		restarted_notice(l, w);
	}
}

/*
 * The read-only map fds every start and restart hands out, made once while
 * CAP_SYS_ADMIN lasts (opening a map by id takes it): before the drop that
 * comes ahead of workers_start().
 */
void
workers_map_fds(struct loader *l)
{
	l->stats_ro_fd = map_fd_rdonly(loader_bpf_stats_fd(&l->bpf));
	l->argv_ro_fd = map_fd_rdonly(loader_bpf_argv_fd(&l->bpf));
	l->peers_ro_fd = map_fd_rdonly(loader_bpf_peers_fd(&l->bpf));
}

/*
 * Start the monitor and the proxies, hand them their fds, and wait until
 * all say READY: the command does not start before that.  Runs with
 * CAP_BPF and CAP_NET_ADMIN already gone (loader.c).
 */
void
workers_start(struct loader *l)
{
	long long now = loader_now_ms();

	l->w[W_HTTP].table = &loader_from_http;
	l->w[W_MON].table = &loader_from_mon;
	l->w[W_DNS].table = &loader_from_dns;
	for (int i = 0; i < W_N; i++) {
		l->w[i].started_ms = now;
		launcher_start(l, &l->w[i]);
	}
	all_start(l);
	if (loader_wait(l, done_ready, LOADER_HANDSHAKE_MS, NULL) < 0)
		fatalx("the workers did not become ready in time");
	for (int i = 0; i < W_N; i++)
		if (!l->w[i].ready)
			fatalx("%s did not start%s%s", l->w[i].name,
			    l->w[i].ipc.violation[0] ? ": " : "", l->w[i].ipc.violation);
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
done_proxies(struct loader *l)
{
	for (int i = W_DNS; i <= W_HTTP; i++)
		if (l->w[i].pid > 0 || (l->w[i].ipc.fd >= 0 && !l->w[i].done))
			return 0;
	return 1;
}

/*
 * The proxies first (their last events reach the monitor), then the monitor,
 * which drains the ring buffer and the events channel, reports, and exits.
 */
void
workers_stop(struct loader *l)
{
	l->stopping = 1;                /* no more restarts */
	for (int i = 0; i < W_N; i++) { /* EOF: the launchers exit */
		if (l->w[i].launch_fd >= 0)
			(void)close(l->w[i].launch_fd);
		l->w[i].launch_fd = -1;
	}
	worker_shutdown(&l->w[W_DNS], ipc_send_loader_dns_shutdown);
	worker_shutdown(&l->w[W_HTTP], ipc_send_loader_http_shutdown);
	if (loader_wait(l, done_proxies, LOADER_DRAIN_MS, NULL) < 0)
		for (int i = W_DNS; i <= W_HTTP; i++)
			if (l->w[i].pid > 0)
				(void)kill(l->w[i].pid, SIGKILL);
	events_unlink(l); /* readers left at the end find no socket: the instance stopped */
	worker_shutdown(&l->w[W_MON], ipc_send_loader_mon_shutdown);
	if (loader_wait(l, done_stopped, LOADER_DRAIN_MS, NULL) < 0) {
		log_warnx("workers did not stop in time; killing them");
		for (int i = 0; i < W_N; i++)
			if (l->w[i].pid > 0)
				(void)kill(l->w[i].pid, SIGKILL);
		(void)loader_wait(l, done_stopped, LOADER_DRAIN_MS, NULL);
	}
	for (int i = 0; i < W_N; i++)
		ipc_peer_close(&l->w[i].ipc);
	/* No account from the monitor: nothing says the record is whole. */
	if (!l->w[W_MON].done) {
		log_warnx("cgfw-monitor did not report what it wrote: events may be lost");
		l->events_lost = 1;
	}
}

/*
 * Reload, first step: each worker gets the new policy aside (the generation
 * gen, the rules of cp, the name policy np_fd; the DNS proxy the learned map
 * of gen's slot) and answers RELOADED when it is whole.  The policy in force
 * stays theirs until workers_reload_commit().
 */
void
workers_reload_send(struct loader *l, uint32_t gen, const struct cp_view *cp, int np_fd)
{
	struct worker *m = &l->w[W_MON], *d = &l->w[W_DNS], *h = &l->w[W_HTTP];
	Cgfw__Reload rl = CGFW__RELOAD__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__FdKind kinds[2] = {CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_LEARNED_MAP};
	int fdv[2] = {np_fd, loader_bpf_learned_slot_fd(&l->bpf, gen & 1)};

	l->reload_gen = l->reload_tried = gen;
	for (int i = 0; i < W_N; i++)
		l->w[i].reloaded = 0;
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
workers_reload_commit(struct loader *l, uint32_t gen)
{
	Cgfw__ReloadCommit c = CGFW__RELOAD_COMMIT__INIT;

	c.gen = gen;
	l->reload_gen = 0;
	(void)w_sent(&l->w[W_MON], ipc_send_loader_mon_reload_commit(&l->w[W_MON].ipc, &c),
	    "a reload commit");
	(void)w_sent(&l->w[W_DNS], ipc_send_loader_dns_reload_commit(&l->w[W_DNS].ipc, &c),
	    "a reload commit");
	(void)w_sent(&l->w[W_HTTP], ipc_send_loader_http_reload_commit(&l->w[W_HTTP].ipc, &c),
	    "a reload commit");
}

/* Every worker answered RELOADED, or one is gone (its restart has the old policy). */
int
workers_reloaded(const struct loader *l, int *ret_lost)
{
	int all = 1;

	*ret_lost = 0;
	for (int i = 0; i < W_N; i++) {
		if (l->w[i].ipc.fd < 0 || l->w[i].pending || !l->w[i].ready)
			*ret_lost = 1;
		all &= l->w[i].reloaded == l->reload_gen;
	}
	return all || *ret_lost;
}
