// SPDX-License-Identifier: MIT
/*
 * cgfw-loader: the only privileged process.  It parses the options and the
 * config file (trusted: root's input), compiles the policy, creates the
 * cgroup, loads and attaches the BPF programs, starts cgfw-monitor as an
 * unprivileged user with the ring-buffer fd, starts the command inside the
 * cgroup as the invoking user, then drops every capability but CAP_KILL and
 * only waits: it parses no network or ring-buffer data.
 *
 * It receives from the monitor: HELLO, READY, STATS (loader_from_mon[]).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
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
#include <ini.h>
#include <linux/sched.h>

#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "loader.h"

#define LOADER_HANDSHAKE_MS 10000
#define LOADER_DRAIN_MS     5000

struct loader {
	struct loader_opts *o;
	struct cgfw_policy pol;
	struct loader_bpf bpf;
	char cg_path[PATH_MAX]; /* full path of the target cgroup */
	int cg_fd;
	unsigned long long cg_id;
	int created_cgroup;
	uid_t uid; /* the command's user */
	gid_t gid;
	char *user_name; /* NULL when the uid has no passwd entry */
	int log_fd;
	pid_t mon_pid;
	struct ipc_peer mon;
	int mon_ready;
	int mon_done;
	pid_t child;
	int child_status;
	int child_done;
	int sfd;
};

static void __attribute__((noreturn)) usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: cgfw-loader [--config FILE] run [OPTIONS] [--] CMD [ARGS...]\n"
	    "       cgfw-loader [--config FILE] attach [OPTIONS] --cgroup PATH\n"
	    "\n"
	    "options:\n"
	    "  --allow-list L     allow these rules (comma-separated, repeatable)\n"
	    "  --block-list L     block these rules (comma-separated, repeatable)\n"
	    "  --log-file F       write JSON events to F (default: stdout)\n"
	    "  --debug            also report allowed traffic\n"
	    "  --user U           run CMD as U (default: SUDO_UID, else root with a warning)\n"
	    "  --cgroup PATH      attach: the cgroup v2 directory to enforce on\n"
	    "                     (--cgroup-path is accepted too)\n"
	    "\n"
	    "One CMD argument is run with /bin/sh -c; several are executed as argv.\n"
	    "See cgfw-loader(8).\n");
	exit(code);
}

static int
opts_add_rules(struct loader_opts *o, const char *list, int action, const char *origin)
{
	char err[CGFW_ERR_LEN];

	if (rules_add_list(&o->rules, list, action, origin, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	if (!*dst)
		fatal("strdup");
}

static int
parse_bool(const char *v, int *ret)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on"))
		*ret = 1;
	else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	         !strcasecmp(v, "off"))
		*ret = 0;
	else
		return -1;
	return 0;
}

struct config_ctx {
	struct loader_opts *o;
	const char *file;
	char err[2 * PATH_MAX];
};

/*
 * inih callback: every key of the config file; CLI values win.  Debian's
 * inih is built without line numbers, so errors name the file and the key.
 */
static int
config_key(void *user, const char *section, const char *name, const char *value)
{
	struct config_ctx *c = user;
	struct loader_opts *o = c->o;
	char origin[PATH_MAX + 64];

	if (snprintf(origin, sizeof(origin), "%s: %s", c->file, name) >= (int)sizeof(origin))
		fatalx("config path too long");
	if (section[0] && strcmp(section, "cgfw") != 0) {
		snprintf(c->err, sizeof(c->err), "%s: unknown section [%.64s]", c->file, section);
		return 0;
	}
	if (!strcmp(name, "allow-list") || !strcmp(name, "block-list")) {
		int allow = name[0] == 'a';
		char err[CGFW_ERR_LEN];

		if ((allow && o->have_cli_allow) || (!allow && o->have_cli_block))
			return 1;
		if (rules_add_list(&o->rules, value, allow ? CGFW_ACT_ALLOW : CGFW_ACT_BLOCK,
		        origin, err, sizeof(err)) < 0) {
			snprintf(c->err, sizeof(c->err), "%s", err);
			return 0;
		}
	} else if (!strcmp(name, "log-file")) {
		if (!o->log_file)
			set_str(&o->log_file, value);
	} else if (!strcmp(name, "user")) {
		if (!o->user)
			set_str(&o->user, value);
	} else if (!strcmp(name, "cgroup")) {
		if (!o->cgroup)
			set_str(&o->cgroup, value);
	} else if (!strcmp(name, "debug")) {
		int v;

		if (parse_bool(value, &v) < 0) {
			snprintf(c->err, sizeof(c->err),
			    "%s: expected true or false, not \"%.64s\"", origin, value);
			return 0;
		}
		o->debug |= v;
	} else {
		snprintf(c->err, sizeof(c->err), "%s: unknown key", origin);
		return 0;
	}
	return 1;
}

static void
config_load(struct loader_opts *o)
{
	struct config_ctx c = {.o = o, .file = o->config};
	FILE *f;
	int r;

	f = fopen(o->config, "re");
	if (!f)
		fatal("cannot read config %s", o->config);
	r = ini_parse_file(f, config_key, &c);
	fclose(f);
	if (c.err[0])
		fatalx("%s (line %d)", c.err, r);
	if (r > 0)
		fatalx("%s:%d: syntax error", o->config, r);
	if (r < 0)
		fatalx("%s: cannot parse (out of memory)", o->config);
}

static void
opts_parse(struct loader_opts *o, int argc, char *argv[])
{
	enum { O_ALLOW = 256, O_BLOCK, O_LOG, O_DEBUG, O_USER, O_CGROUP, O_CONFIG, O_HELP };
	static const struct option lo[] = {
	    {"allow-list", required_argument, NULL, O_ALLOW},
	    {"block-list", required_argument, NULL, O_BLOCK},
	    {"log-file", required_argument, NULL, O_LOG},
	    {"debug", no_argument, NULL, O_DEBUG},
	    {"user", required_argument, NULL, O_USER},
	    {"cgroup", required_argument, NULL, O_CGROUP},
	    {"cgroup-path", required_argument, NULL, O_CGROUP},
	    {"config", required_argument, NULL, O_CONFIG},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	int c, bad = 0;

	/* Global options, up to the subcommand. */
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (c == O_CONFIG)
			o->config = optarg;
		else if (c == O_HELP || c == 'h')
			usage(0);
		else if (c == '?')
			usage(2);
		else
			break;
	}
	if (c != -1)
		fatalx("%s must come after the subcommand (run or attach)", argv[optind - 1]);
	if (optind >= argc)
		usage(2);
	if (!strcmp(argv[optind], "run"))
		o->cmd = CMD_RUN;
	else if (!strcmp(argv[optind], "attach"))
		o->cmd = CMD_ATTACH;
	else {
		log_warnx("unknown command \"%s\" (expected run or attach)", argv[optind]);
		usage(2);
	}

	argc -= optind;
	argv += optind;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case O_ALLOW:
			o->have_cli_allow = 1;
			bad |= opts_add_rules(o, optarg, CGFW_ACT_ALLOW, "--allow-list");
			break;
		case O_BLOCK:
			o->have_cli_block = 1;
			bad |= opts_add_rules(o, optarg, CGFW_ACT_BLOCK, "--block-list");
			break;
		case O_LOG:
			set_str(&o->log_file, optarg);
			break;
		case O_DEBUG:
			o->debug = 1;
			break;
		case O_USER:
			set_str(&o->user, optarg);
			break;
		case O_CGROUP:
			if (o->cmd != CMD_ATTACH)
				fatalx("--cgroup is an option of attach, not run");
			set_str(&o->cgroup, optarg);
			break;
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_HELP:
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (bad)
		exit(2);
	o->argc = argc - optind;
	o->argv = argv + optind;
	if (o->config)
		config_load(o);
	if (o->cmd == CMD_RUN && o->argc == 0)
		fatalx("run: no command given");
	if (o->cmd == CMD_ATTACH && o->argc != 0)
		fatalx("attach: unexpected argument \"%s\"", o->argv[0]);
	if (o->cmd == CMD_ATTACH && !o->cgroup)
		fatalx("attach: --cgroup PATH is required");
	if (o->cmd == CMD_ATTACH && o->user)
		fatalx("attach: --user applies to run only");
}

/* --user NAME|UID, else SUDO_UID/SUDO_GID, else root (said out loud). */
static void
resolve_user(struct loader *l)
{
	const char *s = l->o->user;
	struct passwd *pw = NULL;
	char *end;

	if (!s && getenv("SUDO_UID")) {
		unsigned long uid, gid;
		const char *sg = getenv("SUDO_GID");

		errno = 0;
		uid = strtoul(getenv("SUDO_UID"), &end, 10);
		if (errno || *end || end == getenv("SUDO_UID") || uid > UINT32_MAX - 1)
			fatalx("invalid SUDO_UID \"%s\"", getenv("SUDO_UID"));
		gid = uid;
		if (sg) {
			gid = strtoul(sg, &end, 10);
			if (*end || end == sg || gid > UINT32_MAX - 1)
				fatalx("invalid SUDO_GID \"%s\"", sg);
		}
		l->uid = (uid_t)uid;
		l->gid = (gid_t)gid;
		pw = getpwuid(l->uid);
	} else if (s) {
		pw = getpwnam(s);
		if (!pw) {
			unsigned long uid;

			errno = 0;
			uid = strtoul(s, &end, 10);
			if (errno || *end || end == s || uid > UINT32_MAX - 1)
				fatalx("--user: no such user \"%s\"", s);
			l->uid = (uid_t)uid;
			l->gid = (gid_t)uid;
			pw = getpwuid(l->uid);
		}
		if (pw) {
			l->uid = pw->pw_uid;
			l->gid = pw->pw_gid;
		}
	} else {
		l->uid = 0;
		l->gid = 0;
		pw = getpwuid(0);
		log_warnx("running the command as root (no SUDO_UID and no --user given)");
	}
	if (pw && pw->pw_uid == l->uid)
		l->user_name = strdup(pw->pw_name);
}

static int
open_log_file(struct loader *l)
{
	const char *path = l->o->log_file;
	int fd, created = 1;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0 && errno == EEXIST) {
		created = 0;
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		fatal("--log-file %s", path);
	/* The invoking user may read what their command did. */
	if (created && l->uid != 0 && fchown(fd, l->uid, l->gid) < 0)
		log_warn("cannot give %s to uid %u, ignoring", path, (unsigned)l->uid);
	return fd;
}

static void
exe_dir(char *buf, size_t len)
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

/*
 * fork+exec a worker binary from our own directory as the worker user, with
 * its end of a SEQPACKET socketpair at fd 3 and nothing else inherited but
 * stdin (/dev/null), stdout and stderr.
 */
static pid_t
spawn_worker(const char *name, struct ipc_peer *peer)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	int sv[2];
	struct stat st;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int r;

	exe_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) < 0)
		fatal("cannot find worker %s", path);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		fatalx("refusing to start %s: not owned by root or writable by others", path);
	r = proc_worker_user(&uid, &gid);
	if (r < 0)
		fatal_r(r, "no unprivileged user (cgfw or nobody) for the workers");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		fatal("socketpair");

	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid == 0) {
		char *const argv[] = {(char *)name, NULL};
		char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
		sigset_t all;
		int nul;

		sigemptyset(&all);
		(void)sigprocmask(SIG_SETMASK, &all, NULL);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 || dup2(sv[1], CGFW_FD_IPC) < 0)
			_exit(127);
		if (proc_close_fds_except(CGFW_FD_IPC) < 0)
			_exit(127);
		if (proc_become(uid, gid, NULL) < 0)
			_exit(126);
		/* Not dumpable: a hijacked sibling cannot ptrace us. */
		(void)prctl(PR_SET_DUMPABLE, 0);
		execve(path, argv, envp);
		_exit(127);
	}
	(void)close(sv[1]);
	ipc_peer_init(peer, sv[0], name);
	return pid;
}

static void
mon_send(struct loader *l, Cgfw__Envelope *env, const int *fds, size_t n_fds)
{
	int r = ipc_send(&l->mon, env, fds, n_fds);

	if (r < 0)
		fatal_r(r, "cannot send %s to the monitor", ipc_body_name(env->body_case));
}

static void
mon_configure(struct loader *l)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__MonConfigBegin cfg = CGFW__MON_CONFIG_BEGIN__INIT;
	Cgfw__Fds fds = CGFW__FDS__INIT;
	Cgfw__ConfigCommit commit = CGFW__CONFIG_COMMIT__INIT;
	Cgfw__FdKind kinds[3] = {
	    CGFW__FD_KIND__FD_RINGBUF, CGFW__FD_KIND__FD_STATS_MAP, CGFW__FD_KIND__FD_LOG_FILE};
	struct bpf_get_fd_by_id_opts ro = {.sz = sizeof(ro), .open_flags = BPF_F_RDONLY};
	struct bpf_map_info info;
	uint32_t info_len = sizeof(info);
	int fdv[3];
	int r;

	r = ipc_send_hello(&l->mon, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, CGFW__ROLE__ROLE_LOADER);
	if (r < 0)
		fatal_r(r, "cannot greet the monitor");

	cfg.mode = (Cgfw__Mode)l->pol.mode;
	cfg.debug = l->o->debug;
	cfg.target_cgroup_id = l->cg_id;
	cfg.target_cgroup = l->cg_path;
	cfg.n_rules = (uint32_t)l->o->rules.n;
	cfg.json_to_stdout = l->log_fd < 0;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_CONFIG;
	env.loader_mon_config = &cfg;
	mon_send(l, &env, NULL, 0);

	for (size_t i = 0; i < l->o->rules.n; i++) {
		const struct cgfw_rule *rule = &l->o->rules.v[i];
		Cgfw__MonRule mr = CGFW__MON_RULE__INIT;

		mr.id = (uint32_t)i + 1;
		mr.action = (Cgfw__Action)rule->action;
		mr.text = rule->text;
		mr.origin = rule->origin;
		mr.kind = (char *)rules_kind_name(rule->kind);
		env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_RULE;
		env.loader_mon_rule = &mr;
		mon_send(l, &env, NULL, 0);
	}

	/* The stats map goes read-only: the monitor only reads counters. */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(loader_bpf_stats_fd(&l->bpf), &info, &info_len) < 0)
		fatal("stats map info");
	fdv[0] = loader_bpf_ringbuf_fd(&l->bpf);
	fdv[1] = bpf_map_get_fd_by_id_opts(info.id, &ro);
	if (fdv[1] < 0)
		fatal("read-only stats map fd");
	fdv[2] = l->log_fd;
	fds.kinds = kinds;
	fds.n_kinds = l->log_fd >= 0 ? 3 : 2;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_FDS;
	env.loader_mon_fds = &fds;
	mon_send(l, &env, fdv, fds.n_kinds);
	(void)close(fdv[1]);

	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT;
	env.loader_mon_commit = &commit;
	mon_send(l, &env, NULL, 0);
}

static int
loader_on_mon_hello(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	(void)ctx;
	return ipc_check_hello(p, env->mon_loader_hello, CGFW__ROLE__ROLE_MONITOR);
}

static int
loader_on_mon_ready(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct loader *l = ctx;

	(void)env;
	if (!(p->once_seen & 1))
		return ipc_violation(p, "READY before HELLO");
	l->mon_ready = 1;
	return 0;
}

static int
loader_on_mon_stats(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct loader *l = ctx;
	const Cgfw__MonStats *s = env->mon_loader_stats;

	if (!l->mon_ready)
		return ipc_violation(p, "STATS before READY");
	if (s->lost || s->bad)
		log_warnx("%llu events lost, %llu malformed (see the monitor's report)",
		    (unsigned long long)s->lost, (unsigned long long)s->bad);
	log_debug("monitor wrote %llu events", (unsigned long long)s->events);
	l->mon_done = 1;
	return 0;
}

/* What the monitor may send the loader.  Anything else kills the link. */
static const struct ipc_rule loader_from_mon[] = {
    {CGFW__ENVELOPE__BODY_MON_LOADER_HELLO, IPC_ONCE, loader_on_mon_hello},
    {CGFW__ENVELOPE__BODY_MON_LOADER_READY, IPC_ONCE, loader_on_mon_ready},
    {CGFW__ENVELOPE__BODY_MON_LOADER_STATS, IPC_ONCE, loader_on_mon_stats},
    {0, 0, NULL},
};

static void
mon_lost(struct loader *l, const char *why)
{
	if (why)
		log_warnx("monitor: %s; events are no longer reported", why);
	ipc_peer_close(&l->mon);
	if (l->mon_pid > 0)
		(void)kill(l->mon_pid, SIGKILL);
}

/* Read and dispatch everything the monitor has sent. */
static void
loader_dispatch_mon(struct loader *l)
{
	Cgfw__Envelope *env;
	int r;

	while (l->mon.fd >= 0) {
		r = ipc_recv(&l->mon, &env);
		if (r == -EAGAIN)
			return;
		if (r == -EPIPE) {
			mon_lost(l, l->mon_done ? NULL : "link closed");
			return;
		}
		if (r == 0)
			r = ipc_dispatch(&l->mon, loader_from_mon, l, env);
		if (r < 0) {
			mon_lost(l, r == -EPROTO ? l->mon.violation : strerror(-r));
			return;
		}
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
		} else if (pid == l->mon_pid) {
			l->mon_pid = -1;
			if (!l->mon_done && (WIFSIGNALED(status) || WEXITSTATUS(status) != 0))
				log_warnx("monitor exited unexpectedly (%s %d)",
				    WIFSIGNALED(status) ? "signal" : "status",
				    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		}
	}
}

/*
 * One poll loop: signals (as a signalfd) and the monitor link.  Returns when
 * done() says so or the deadline (ms, -1 none) passes.
 */
static int
loader_wait(struct loader *l, int (*done)(struct loader *), int timeout_ms, int *ret_sig)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!done(l)) {
		struct pollfd pfd[2] = {
		    {.fd = l->sfd, .events = POLLIN},
		    {.fd = l->mon.fd, .events = POLLIN},
		};
		struct timespec now;
		int wait = -1, n;

		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			wait = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 +
			                          (now.tv_nsec - t0.tv_nsec) / 1000000);
			if (wait <= 0)
				return -ETIMEDOUT;
		}
		n = poll(pfd, 2, wait);
		if (n < 0 && errno != EINTR)
			fatal("poll");
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
		if (pfd[1].revents)
			loader_dispatch_mon(l);
		if (ret_sig && *ret_sig)
			return 0;
	}
	return 0;
}

static int
done_ready(struct loader *l)
{
	return l->mon_ready || l->mon.fd < 0;
}

static int
done_child(struct loader *l)
{
	return l->child_done;
}

static int
done_mon(struct loader *l)
{
	return l->mon_pid < 0 && (l->mon.fd < 0 || l->mon_done);
}

static int
done_never(struct loader *l)
{
	(void)l;
	return 0;
}

static void
start_monitor(struct loader *l)
{
	l->mon_pid = spawn_worker("cgfw-monitor", &l->mon);
	mon_configure(l);
	if (loader_wait(l, done_ready, LOADER_HANDSHAKE_MS, NULL) < 0 || !l->mon_ready)
		fatalx("cgfw-monitor did not become ready%s%s", l->mon.violation[0] ? ": " : "",
		    l->mon.violation);
}

/* Drain the monitor: it reads the ring buffer dry, reports, and exits. */
static void
stop_monitor(struct loader *l)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Shutdown sd = CGFW__SHUTDOWN__INIT;

	if (l->mon.fd >= 0) {
		env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_SHUTDOWN;
		env.loader_mon_shutdown = &sd;
		if (ipc_send(&l->mon, &env, NULL, 0) < 0)
			mon_lost(l, "cannot ask it to stop");
	}
	if (loader_wait(l, done_mon, LOADER_DRAIN_MS, NULL) < 0) {
		log_warnx("monitor did not stop in time; killing it");
		if (l->mon_pid > 0)
			(void)kill(l->mon_pid, SIGKILL);
		(void)loader_wait(l, done_mon, LOADER_DRAIN_MS, NULL);
	}
	ipc_peer_close(&l->mon);
}

static void
signals_block(struct loader *l)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask");
	l->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l->sfd < 0)
		fatal("signalfd");
	(void)signal(SIGPIPE, SIG_IGN);
}

/*
 * The command, started directly inside the cgroup (clone3 CLONE_INTO_CGROUP),
 * so not one instruction of it runs unfiltered.  An exec failure comes back
 * over a CLOEXEC pipe.
 */
static void
start_command(struct loader *l)
{
	struct clone_args ca = {0};
	int pfd[2], err = 0;
	sigset_t none;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		fatal("pipe2");
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)l->cg_fd;
	l->child = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (l->child < 0)
		fatal("cannot start the command in %s (clone3)", l->cg_path);
	if (l->child == 0) {
		char *sh[] = {"/bin/sh", "-c", l->o->argv[0], NULL};
		char **argv = l->o->argc == 1 ? sh : l->o->argv;
		int r;

		(void)close(pfd[0]);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		r = proc_become(l->uid, l->gid, l->user_name);
		if (r == 0) {
			execvp(argv[0], argv);
			r = -errno;
		}
		err = -r;
		(void)!write(pfd[1], &err, sizeof(err));
		_exit(127);
	}
	(void)close(pfd[1]);
	do {
		n = read(pfd[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	(void)close(pfd[0]);
	if (n == sizeof(err)) {
		errno = err;
		log_warn("cannot run %s as uid %u", l->o->argv[0], (unsigned)l->uid);
		l->child_status = 127 << 8;
		(void)waitpid(l->child, NULL, 0);
		l->child = -1;
		l->child_done = 1;
	}
}

/* Anything the command left behind in the cgroup is killed with it. */
static void
cgroup_remove(struct loader *l)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.kill", l->cg_path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		(void)close(fd);
	}
	for (int i = 0; i < 200; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (rmdir(l->cg_path) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	log_warn("cannot remove cgroup %s", l->cg_path);
}

static void
setup_target(struct loader *l)
{
	char mnt[PATH_MAX], self[PATH_MAX];
	struct stat st;
	int r;

	r = cgroup2_mount(mnt, sizeof(mnt));
	if (r < 0)
		fatal_r(r, "no cgroup2 mount in /proc/self/mountinfo");
	if (l->o->cmd == CMD_RUN) {
		char rel[PATH_MAX + 64];

		r = cgroup_self_path(self, sizeof(self));
		if (r < 0)
			fatal_r(r, "cannot find my cgroup in /proc/self/cgroup");
		/*
		 * <my cgroup>/cgfw/run-PID: the parent "cgfw" is ours (0755), so the
		 * run cgroup can be removed after the capabilities are gone; the
		 * cgroup2 root itself is mode 0555.
		 */
		snprintf(rel, sizeof(rel), "%s/cgfw", strcmp(self, "/") ? self : "");
		if (snprintf(l->cg_path, sizeof(l->cg_path), "%s%s", mnt, rel) >=
		    (int)sizeof(l->cg_path))
			fatalx("cgroup path too long");
		if (mkdir(l->cg_path, 0755) < 0 && errno != EEXIST)
			fatal("cannot create cgroup %s", l->cg_path);
		snprintf(rel + strlen(rel), sizeof(rel) - strlen(rel), "/run-%d", (int)getpid());
		if (snprintf(l->cg_path, sizeof(l->cg_path), "%s%s", mnt, rel) >=
		    (int)sizeof(l->cg_path))
			fatalx("cgroup path too long");
		if (mkdir(l->cg_path, 0755) < 0)
			fatal("cannot create cgroup %s", l->cg_path);
		l->created_cgroup = 1;
		r = cgroup_open_target(mnt, rel, l->cg_path, sizeof(l->cg_path));
	} else {
		r = cgroup_open_target(mnt, l->o->cgroup, l->cg_path, sizeof(l->cg_path));
		if (r == -ENOTDIR || r == -ENOENT)
			fatalx("--cgroup %s: not a cgroup v2 directory (cgroup2 is mounted at %s)",
			    l->o->cgroup, mnt);
	}
	if (r < 0)
		fatal_r(r, "cannot open cgroup %s", l->o->cgroup ? l->o->cgroup : l->cg_path);
	l->cg_fd = r;
	if (fstat(l->cg_fd, &st) < 0)
		fatal("fstat %s", l->cg_path);
	/* A cgroup's id is the inode number of its directory in cgroup2. */
	l->cg_id = (unsigned long long)st.st_ino;
}

static void
warn_name_rules(const struct loader *l)
{
	for (size_t i = 0; i < l->o->rules.n; i++) {
		const struct cgfw_rule *r = &l->o->rules.v[i];

		if (rules_is_name_kind(r->kind))
			log_warnx("rule \"%s\" (%s): %s rules are parsed but not enforced yet "
			          "(no DNS/HTTP proxy in this build); its addresses are judged "
			          "by the IP rules and the mode",
			    r->text, r->origin, rules_kind_name(r->kind));
	}
}

int
main(int argc, char *argv[])
{
	struct loader_opts o = {0};
	struct loader l = {.o = &o, .cg_fd = -1, .log_fd = -1, .mon_pid = -1, .child = -1};
	char err[CGFW_ERR_LEN];
	int r, sig = 0, code;

	log_init("cgfw-loader", 0);
	opts_parse(&o, argc, argv);
	log_init("cgfw-loader", o.debug);
	if (geteuid() != 0)
		fatalx("must run as root: it loads BPF programs and creates cgroups");

	r = policy_compile(&o.rules, &l.pol);
	if (r < 0)
		fatal_r(r, "cannot compile the policy");
	warn_name_rules(&l);
	if (o.cmd == CMD_RUN)
		resolve_user(&l);
	if (o.log_file)
		l.log_fd = open_log_file(&l);

	signals_block(&l);
	setup_target(&l);
	r = bpffs_ensure();
	if (r < 0) {
		log_warn_r(r, "cannot mount bpffs on /sys/fs/bpf");
		goto fail;
	}
	if (loader_bpf_setup(&l.bpf, &l.pol, o.debug, l.cg_fd, l.cg_id, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		goto fail;
	}
	start_monitor(&l);
	if (l.log_fd >= 0)
		(void)close(l.log_fd);

	if (o.cmd == CMD_RUN)
		start_command(&l);
	r = caps_drop_after_attach();
	if (r < 0)
		fatal_r(r, "cannot drop capabilities");
	log_debug("enforcing on %s (cgroup id %llu)", l.cg_path, l.cg_id);

	if (o.cmd == CMD_RUN) {
		(void)loader_wait(&l, done_child, -1, NULL);
	} else {
		log_info("enforcing on %s; stop with SIGINT or SIGTERM", l.cg_path);
		do {
			sig = 0;
			(void)loader_wait(&l, done_never, -1, &sig);
		} while (sig != SIGINT && sig != SIGTERM && sig != SIGQUIT);
	}

	if (l.created_cgroup)
		cgroup_remove(&l);
	stop_monitor(&l);
	loader_bpf_teardown(&l.bpf);
	(void)close(l.cg_fd);

	if (o.cmd == CMD_ATTACH)
		code = 0;
	else if (WIFSIGNALED(l.child_status))
		code = 128 + WTERMSIG(l.child_status);
	else
		code = WEXITSTATUS(l.child_status);
	policy_free(&l.pol);
	rules_free(&o.rules);
	return code;

fail:
	/* Nothing started; undo what exists and refuse. */
	if (l.created_cgroup)
		(void)rmdir(l.cg_path);
	return 1;
}
