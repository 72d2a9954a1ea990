// SPDX-License-Identifier: MIT
/*
 * cgfw-loader: the privileged setup.  It parses the options and the config
 * file (trusted: root's input), has an unprivileged helper parse the list
 * files and compile the policy (compile.c), creates the cgroups, loads and
 * attaches the BPF programs, makes the proxies' sockets and the instance's
 * directory, makes the command inside the cgroup as the invoking user and
 * holds it before exec, drops every capability but CAP_KILL, CAP_SETUID and
 * CAP_SETGID, forks the workers' launchers and the keeper, becomes a
 * reserved uid of its own with CAP_KILL only, and executes cgfw-supervisor
 * in its own process with everything it needs (supervisor_exec(),
 * lib/handover.h), which greets the workers and supervises to the end.  It
 * parses no list file, network, worker or ring-buffer data.
 *
 * Options live in options.c, the helpers in compile.c, the workers' users
 * and launchers in launch.c, BPF in attach.c, the command's confinement in
 * command.c, the CA in ca.c, the capability drop in caps.c, what stays
 * uid 0 in keeper.c, the instance locks, its directory and `cleanup` in
 * instances.c.  `status` and `events` are cgfw-ctl's (ctl/), executed for
 * them.
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
#include <netinet/in.h>

#include "lib/handover.h"
#include "lib/keeper.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "loader.h"

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
	if (proc_uid_reserved(l->uid))
		fatalx("uid %u is in cgfw's reserved range for its workers (%u-%u); pick another "
		       "user",
		    (unsigned)l->uid, CGFW_DYN_UID_MIN, CGFW_DYN_UID_MIN + CGFW_DYN_UID_N - 1);
}

/*
 * The record must not be the command's to rewrite: the log file belongs to
 * root, 0640, its group the command's (so the invoking user may read what
 * their command did, never write it).  An existing file must already be
 * like that: anything else could be the command's own, or a file it can
 * write, and is refused.
 */
static int
open_log_file(struct loader *l)
{
	const char *path = l->o->log_file;
	char dir[PATH_MAX], *slash;
	struct stat st;
	int fd, created = 1;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0 && errno == EEXIST) {
		created = 0;
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0)
		fatal("--log-file %s", path);
	if (fstat(fd, &st) < 0)
		fatal("--log-file %s: fstat", path);
	if (!created && (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0022)))
		fatalx("--log-file %s: %s; cgfw appends only to a regular file owned by root "
		       "that no one else may write (remove it, or chown root and chmod go-w)",
		    path,
		    !S_ISREG(st.st_mode) ? "not a regular file"
		    : st.st_uid != 0     ? "owned by another user"
		                         : "writable by group or others");
	if (created && fchown(fd, 0, l->gid) < 0)
		fatal("--log-file %s: chown root:%u", path, (unsigned)l->gid);
	/* A directory the command may write lets it swap the file for its own. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(slash ? dir : ".", &st) == 0 && l->uid != 0 &&
	    (st.st_uid == l->uid || ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))))
		log_warnx("--log-file %s: the command's user may replace files in %s; prefer a "
		          "directory it cannot write",
		    path, slash ? dir : ".");
	return fd;
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

/* Anything left in the cgroup is killed with it. */
static void
cgroup_remove(const char *cg_path)
{
	int r = cgroup_kill_remove(cg_path);

	if (r < 0)
		log_warn_r(r, "cannot remove cgroup %s", cg_path);
}

/* run: the command's cgroup, with anything left in it (the keeper's, once there is one). */
void
loader_remove_command_cgroup(struct loader *l)
{
	if (!l->created_cgroup || l->cmd_cg_removed)
		return;
	cgroup_remove(l->cg_path);
	l->cmd_cg_removed = 1;
}

/*
 * What the instance made in root's directories: the command's and the
 * workers' cgroups, the pins, the instance lock and directory (emptied by
 * the loader first: it is the loader's), the trust bundle.  The keeper does
 * this once the loader is its own user; before that, the loader.
 */
void
loader_remove_paths(struct loader *l)
{
	loader_remove_command_cgroup(l);
	if (l->wcg_path[0])
		cgroup_remove(l->wcg_path);
	if (l->bpf.pin_dir[0]) {
		int r = instance_unpin(l->bpf.pin_dir);

		if (r < 0)
			log_warn_r(r, "cannot remove %s", l->bpf.pin_dir);
	}
	if (l->inst_fd >= 0)
		instance_lock_unlink(l->cg_id);
	if (l->name_fd >= 0)
		(void)rmdir(l->inst_dir);
	if (l->bundle_path[0])
		(void)unlink(l->bundle_path);
	/* The reserved uids' lock files, while their locks are still held (lib/proc.c). */
	for (int i = 0; i < W_N; i++)
		if (l->w[i].uid_lock_fd >= 0)
			(void)proc_uid_lock_remove(l->w[i].uid);
	if (l->helper_lock_fd >= 0)
		(void)proc_uid_lock_remove(l->helper_uid);
	if (l->self_lock_fd >= 0)
		(void)proc_uid_lock_remove(l->self_uid);
}

/*
 * A fatal error before cgfw-supervisor took over: nothing is left running
 * or filtering (links, files, directories, locks), or, once the keeper
 * exists, it removes what is root's.  Runs from exit(); the children the
 * loader forks never return into it, and an exec never runs it.
 */
static struct loader *loader_for_exit;

static void
loader_abort_cleanup(void)
{
	struct loader *l = loader_for_exit;

	if (!l || getpid() != l->pid)
		return;
	if (l->child > 0)
		(void)kill(l->child, SIGKILL);
	instance_dir_empty(l);
	if (l->keeper > 0) {
		if (l->created_cgroup)
			keeper_kill_command(l->keeper_fd, l->cg_path);
		keeper_done(&l->keeper_fd, &l->keeper);
		l->bpf.pin_dir[0] = '\0'; /* the keeper's: not ours to look at */
	} else {
		loader_remove_paths(l);
	}
	loader_bpf_teardown(&l->bpf);
}

/* mkdir <mnt><rel>; returns an fd of it and its full path. */
static int
cgroup_make(const char *mnt, const char *rel, char *ret_path, size_t len, int must_be_new)
{
	if (snprintf(ret_path, len, "%s%s", mnt, rel) >= (int)len)
		fatalx("cgroup path too long");
	if (mkdir(ret_path, 0755) < 0 && (must_be_new || errno != EEXIST))
		fatal("cannot create cgroup %s", ret_path);
	return cgroup_open_target(mnt, rel, ret_path, len);
}

/*
 * The target cgroup, and the workers' own cgroup.  Both new ones live under
 * <my cgroup>/cgfw/, a directory of ours (0755), so they can be removed after
 * the capabilities are gone (the cgroup2 root is mode 0555).  The workers'
 * cgroup is exempted by id in the BPF programs: when the target is an
 * ancestor of the loader (attach to a session or to the root), the proxies'
 * own upstream traffic must not be filtered or redirected to themselves.
 */
static void
setup_target(struct loader *l)
{
	char mnt[PATH_MAX], self[PATH_MAX], base[PATH_MAX + 8], rel[PATH_MAX + 64];
	char path[PATH_MAX];
	struct stat st;
	int r;

	r = cgroup2_mount(mnt, sizeof(mnt));
	if (r < 0)
		fatal_r(r, "no cgroup2 mount in /proc/self/mountinfo");
	snprintf(l->cg2_mnt, sizeof(l->cg2_mnt), "%s", mnt);
	r = cgroup_self_path(self, sizeof(self));
	if (r < 0)
		fatal_r(r, "cannot find my cgroup in /proc/self/cgroup");
	snprintf(base, sizeof(base), "%s/cgfw", strcmp(self, "/") ? self : "");
	r = cgroup_make(mnt, base, path, sizeof(path), 0);
	if (r < 0)
		fatal_r(r, "cannot open cgroup %s", path);
	(void)close(r);

	if (l->o->cmd == CMD_RUN) {
		snprintf(rel, sizeof(rel), "%s/run-%d", base, (int)getpid());
		r = cgroup_make(mnt, rel, l->cg_path, sizeof(l->cg_path), 1);
		l->created_cgroup = 1;
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

	snprintf(rel, sizeof(rel), "%s/workers-%d", base, (int)getpid());
	r = cgroup_make(mnt, rel, l->wcg_path, sizeof(l->wcg_path), 1);
	if (r < 0)
		fatal_r(r, "cannot open cgroup %s", l->wcg_path);
	l->wcg_fd = r;
	if (fstat(l->wcg_fd, &st) < 0)
		fatal("fstat %s", l->wcg_path);
	l->wcg_id = (unsigned long long)st.st_ino;
}

/*
 * The DNS proxy's listening sockets: UDP and TCP on 127.0.0.1, one port for
 * both, so connect4/sendmsg4 need a single rewrite target.  Made here, in the
 * workload's network namespace (for attach --pid/--container, the target's:
 * target.c), and handed over.
 */
static void
dns_sockets(struct loader *l)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t len = sizeof(sa);
		int u, t, one = 1;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (u < 0 || t < 0)
			fatal("socket");
		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(u, (struct sockaddr *)&sa, &len) < 0)
			fatal("cannot bind the DNS proxy's UDP socket on 127.0.0.1");
		(void)setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(t, 128) == 0) {
			l->dns_udp_fd = u;
			l->dns_tcp_fd = t;
			l->dns_port = ntohs(sa.sin_port);
			return;
		}
		(void)close(u);
		(void)close(t);
	}
	fatalx("cannot find one free UDP+TCP port on 127.0.0.1 for the DNS proxy");
}

/* The HTTP proxy's listening socket, on 127.0.0.1 like the DNS proxy's. */
static void
http_socket(struct loader *l)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int t;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t < 0)
		fatal("socket");
	if (bind(t, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(t, 128) < 0 ||
	    getsockname(t, (struct sockaddr *)&sa, &len) < 0)
		fatal("cannot listen on 127.0.0.1 for the HTTP proxy");
	l->http_fd = t;
	l->http_port = ntohs(sa.sin_port);
}

/* The compiled policy and the options; o->rules and l->pol were views of l->cp. */
static void
policy_release(struct loader *l)
{
	cp_close(&l->cp);
	l->o->rules = (struct cgfw_ruleset){0};
	opts_free(l->o);
}

/*
 * `status`, `events` and `cleanup`: cgfw-ctl, beside us, with the words
 * from the subcommand on; it drops every capability we were started with.
 */
static void __attribute__((noreturn)) ctl_exec(int argc, char *argv[])
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	char **av = calloc((size_t)argc + 2, sizeof(*av));

	if (!av)
		fatal("calloc");
	loader_exe_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/cgfw-ctl", dir);
	av[0] = "cgfw-ctl";
	memcpy(av + 1, argv, (size_t)argc * sizeof(*av));
	execv(path, av);
	fatal("cannot run %s", path);
}

/* A string into a hand-over field, or fatal: nothing is cut short. */
#define HANDOVER_STR(field, val)                                                                   \
	do {                                                                                       \
		if (snprintf((field), sizeof(field), "%s", (val)) >= (int)sizeof(field))           \
			fatalx("%s is too long to hand over", #field);                             \
	} while (0)

/* What cgfw-supervisor needs of the environment: the service manager's words, the time zone. */
static void
supervisor_env(char **envp, size_t n)
{
	static const char *const keep[] = {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
	    "TZ=", "ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS="};
	size_t i = 0;

	for (char **e = environ; *e; e++)
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
			if (i + 1 < n && strncmp(*e, keep[k], strlen(keep[k])) == 0)
				envp[i++] = *e;
	envp[i] = NULL;
}

/*
 * The loader's last act: what cgfw-supervisor needs (lib/handover.h) in a
 * sealed memfd at fd 3, the fds it lists at 4, 5, ... and nothing else
 * open, then the exec, in this process: the supervisor is this pid, the
 * parent of the command, the launchers' workers and the keeper.  The
 * fields are written back with their new numbers, so that a failed exec
 * still finds them for loader_abort_cleanup().
 */
static void __attribute__((noreturn)) supervisor_exec(struct loader *l)
{
	const struct loader_opts *o = l->o;
	static struct handover h;
	int *slot[HO_FD_N + HO_MAP_N], fds[2 + HO_FD_N + HO_MAP_N];
	int *hfd[HO_FD_N] = {[HO_FD_SIGNAL] = &l->sfd,
	    [HO_FD_LOG] = &l->log_fd,
	    [HO_FD_POLICY] = &l->cp_fd,
	    [HO_FD_NAMES] = &l->np_fd,
	    [HO_FD_DNS_UDP] = &l->dns_udp_fd,
	    [HO_FD_DNS_TCP] = &l->dns_tcp_fd,
	    [HO_FD_HTTP] = &l->http_fd,
	    [HO_FD_CA_CERT] = &l->ca_fd,
	    [HO_FD_CA_KEY] = &l->ca_key_fd,
	    [HO_FD_EVENTS] = &l->events_fd,
	    [HO_FD_JOURNAL] = &l->journal_fd,
	    [HO_FD_NOTIFY] = &l->notify_fd,
	    [HO_FD_CMD_GO] = &l->cmd_go_fd,
	    [HO_FD_CMD_ERR] = &l->cmd_err_fd,
	    [HO_FD_KEEPER] = &l->keeper_fd,
	    [HO_FD_INST_LOCK] = &l->inst_fd,
	    [HO_FD_NAME_LOCK] = &l->name_fd,
	    [HO_FD_SELF_LOCK] = &l->self_lock_fd,
	    [HO_FD_HELPER_LOCK] = &l->helper_lock_fd,
	    [HO_FD_W_LOCK_MON] = &l->w[W_MON].uid_lock_fd,
	    [HO_FD_W_LOCK_DNS] = &l->w[W_DNS].uid_lock_fd,
	    [HO_FD_W_LOCK_HTTP] = &l->w[W_HTTP].uid_lock_fd,
	    [HO_FD_LAUNCH_MON] = &l->w[W_MON].launch_fd,
	    [HO_FD_LAUNCH_DNS] = &l->w[W_DNS].launch_fd,
	    [HO_FD_LAUNCH_HTTP] = &l->w[W_HTTP].launch_fd};
	char dir[PATH_MAX], path[PATH_MAX + 32], *envp[8];
	char *argv[] = {"cgfw-supervisor", NULL, NULL}; /* ps shows the instance */
	struct stat st;
	int n = 0, exe, r;

	/* The file checked is the file executed: by fd (O_PATH), not by name again. */
	loader_exe_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/cgfw-supervisor", dir);
	exe = open(path, O_PATH | O_CLOEXEC);
	if (exe < 0 || fstat(exe, &st) < 0)
		fatal("cannot find %s", path);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		fatalx("refusing to run %s: not a file owned by root, or writable by others", path);

	h.cmd = o->cmd == CMD_RUN ? HANDOVER_RUN : HANDOVER_ATTACH;
	h.debug = o->debug;
	h.allow_event_loss = o->allow_event_loss;
	h.allow_dns_request = o->allow_dns_request;
	h.block_nxdomain = o->block_nxdomain;
	h.json_to_stdout = o->log_file && !strcmp(o->log_file, "-");
	h.need_tls = l->need_tls;
	h.created_cgroup = l->created_cgroup;
	h.min_ttl = o->min_ttl;
	if (o->n_upstreams > HANDOVER_UPSTREAMS)
		fatalx("more than %d upstreams", HANDOVER_UPSTREAMS);
	h.n_upstreams = (uint32_t)o->n_upstreams;
	for (int i = 0; i < o->n_upstreams; i++)
		HANDOVER_STR(h.upstreams[i], o->upstreams[i]);
	HANDOVER_STR(h.upstream_trust, ca_upstream_trust(l));
	HANDOVER_STR(h.name, l->name);
	HANDOVER_STR(h.inst_dir, l->inst_dir);
	HANDOVER_STR(h.cg_path, l->cg_path);
	HANDOVER_STR(h.target, o->unit ? o->unit : l->cg_path);
	/* For messages only: a long command line is cut (log_warn names it). */
	snprintf(h.argv0, sizeof(h.argv0), "%s", o->argc > 0 ? o->argv[0] : "");
	h.cg_id = l->cg_id;
	h.uid = (uint32_t)l->uid;
	for (int i = 0; i < o->n_files; i++)
		h.list_files += !o->files[i].replaced;
	h.gen = 0; /* the start's: slot 0 (attach.c) */
	h.exempt_id = l->bpf.exempt_id;
	h.child = l->child;
	h.keeper = l->keeper;
	for (int i = 0; i < W_N; i++)
		h.launcher[i] = l->w[i].launcher;

	/* Numbered as proc_keep_fds() will: the memfd 3, then every slot in order. */
	for (int i = 0; i < HO_FD_N; i++) {
		slot[n] = hfd[i];
		h.fd[i] = *hfd[i] < 0 ? -1 : HANDOVER_FD + 1 + n;
		fds[1 + n++] = *hfd[i];
	}
	for (int i = 0; i < HO_MAP_N; i++) {
		slot[n] = &l->maps[i];
		h.map[i] = l->maps[i] < 0 ? -1 : HANDOVER_FD + 1 + n;
		fds[1 + n++] = l->maps[i];
	}
	fds[0] = handover_write(&h);
	if (fds[0] < 0)
		fatal_r(fds[0], "cannot write the hand-over to cgfw-supervisor");
	fds[1 + n] = exe; /* last, and closed by the exec itself */
	r = proc_keep_fds(fds, 2 + n);
	if (r < 0 || fcntl(fds[1 + n], F_SETFD, FD_CLOEXEC) < 0)
		fatal_r(r < 0 ? r : -errno, "cannot hand the fds over to cgfw-supervisor");
	exe = fds[1 + n];
	for (int i = 0; i < n; i++)
		*slot[i] = fds[1 + i];
	supervisor_env(envp, sizeof(envp) / sizeof(envp[0]));
	argv[1] = h.name;
	syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
	fatal("cannot run %s", path);
}

int
main(int argc, char *argv[])
{
	struct loader_opts o = {0};
	struct loader l = {.o = &o,
	    .cg_fd = -1,
	    .wcg_fd = -1,
	    .log_fd = -1,
	    .np_fd = -1,
	    .cp_fd = -1,
	    .compile_pid = -1,
	    .compile_sock = -1,
	    .ca_fd = -1,
	    .ca_key_fd = -1,
	    .notify_fd = -1,
	    .cmd_go_fd = -1,
	    .keeper = -1,
	    .keeper_fd = -1,
	    .self_lock_fd = -1,
	    .cmd_err_fd = -1,
	    .inst_fd = -1,
	    .name_fd = -1,
	    .helper_lock_fd = -1,
	    .tgt_procfd = -1,
	    .tgt_netns_fd = -1,
	    .events_fd = -1,
	    .journal_fd = -1,
	    .child = -1};
	struct loader_bpf_cfg bcfg = {0};
	char err[CGFW_ERR_LEN];
	int r;

	log_init("cgfw-loader", 0);
	log_fatal_status(CGFW_EXIT_FAILED);
	/* Nothing that shares our uid (a root command) may ptrace us or take our fds. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("PR_SET_DUMPABLE");
	opts_parse(&o, argc, argv);
	l.argc = argc;
	l.argv = argv;
	log_init("cgfw-loader", o.debug);
	/* The readers and cleanup are another program, which holds no capability (ctl/). */
	if (o.cmd == CMD_EVENTS || o.cmd == CMD_STATUS || o.cmd == CMD_CLEANUP)
		ctl_exec(o.argc, o.argv);
	if (geteuid() != 0)
		fatalx("must run as root: it loads BPF programs and creates cgroups");
	/* Starts the BPF that depends on nothing below, too (compile.c, attach.c). */
	compile_policy(&l);
	r = opts_resolv_conf(&o, "/etc/resolv.conf");
	if (r < 0)
		fatal_r(r,
		    "no upstream DNS server (no nameserver in /etc/resolv.conf; use --upstream)");
	if (o.cmd == CMD_CA) {
		compile_policy_names(&l);
		ca_setup(&l);
		printf("%s\n", l.ca_path);
		policy_release(&l);
		return 0;
	}
	/* The CA is needed (and made, on first use) only where URL rules need TLS. */
	for (size_t i = 0; i < o.rules.n; i++)
		l.need_tls |= o.rules.v[i].kind == RULE_URL;
	if (l.need_tls)
		ca_setup(&l);
	if (o.cmd == CMD_RUN)
		resolve_user(&l);
	workers_users(&l);
	/* The loader's own uid once everything runs (keeper.c). */
	r = proc_reserved_uid(&l.self_uid, &l.self_gid, &l.self_lock_fd);
	if (r < 0)
		fatal_r(r, "no free uid for the loader in %u-%u", CGFW_DYN_UID_MIN,
		    CGFW_DYN_UID_MIN + CGFW_DYN_UID_N - 1);
	/* "-": the loader's own stdout, asked for explicitly (the command shares it). */
	if (o.log_file && !strcmp(o.log_file, "-")) {
		l.log_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (l.log_fd < 0)
			fatal("--log-file -: no stdout");
	} else if (o.log_file) {
		l.log_fd = open_log_file(&l);
	}

	loader_unit_resolve(&l);
	loader_target_resolve(&l);
	signals_block(&l);
	l.pid = getpid();
	loader_for_exit = &l;
	if (atexit(loader_abort_cleanup) != 0)
		fatalx("atexit");
	setup_target(&l);
	loader_target_verify(&l);
	{
		pid_t holder;

		l.inst_fd = instance_lock(l.cg_id, &holder);
		if (l.inst_fd == -EBUSY)
			fatalx("cgfw (pid %d) is already attached to %s", (int)holder, l.cg_path);
		if (l.inst_fd < 0)
			fatal_r(l.inst_fd, "cannot lock instance %llu in " CGFW_RUN_DIR, l.cg_id);
	}
	instance_dir_open(&l);
	events_listen(&l);
	loader_journal_open(&l);
	r = bpffs_ensure();
	if (r < 0) {
		log_warn_r(r, "cannot mount bpffs on /sys/fs/bpf");
		goto fail;
	}
	{
		/* attach --pid/--container in another network namespace: made in that one. */
		int self_ns = loader_target_netns_enter(&l);

		dns_sockets(&l);
		http_socket(&l);
		loader_target_netns_leave(&l, self_ns);
	}
	bcfg.debug = o.debug;
	bcfg.dns_ip4 = htonl(INADDR_LOOPBACK);
	bcfg.dns_port = l.dns_port;
	bcfg.exempt_cgroup_id = l.wcg_id;
	bcfg.http_ip4 = htonl(INADDR_LOOPBACK);
	bcfg.http_port = l.http_port;
	bcfg.allow_raw = o.allow_raw;
	if (loader_bpf_setup(&l.bpf, &l.pol, &bcfg, l.cg_fd, l.cg_id, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		goto fail;
	}
	if (o.cmd == CMD_RUN && l.need_tls)
		ca_trust_bundle(&l);
	/* The maps cgfw-supervisor hands the workers, read-only ones made while we may. */
	r = loader_bpf_handover(&l.bpf, l.maps);
	if (r < 0)
		fatal_r(r, "cannot open the maps read-only");
	/* The name table, built by the helper while all of the above ran. */
	compile_policy_names(&l);
	/*
	 * Everything is attached.  run makes its command now, held before exec,
	 * while what its namespaces and a root command's own capabilities need
	 * is still here (never CAP_BPF or CAP_NET_ADMIN: those go first).  Then
	 * the loader drops to CAP_KILL, CAP_SETUID and CAP_SETGID, forks the
	 * workers' launchers (each becomes its worker's user) and the keeper,
	 * becomes its own reserved uid with CAP_KILL alone, and executes
	 * cgfw-supervisor, which greets the workers; the command execs once
	 * every worker is READY.
	 */
	if (o.cmd == CMD_RUN) {
		r = caps_drop_bpf();
		if (r < 0)
			fatal_r(r, "cannot drop capabilities");
		command_prepare(&l);
	}
	r = caps_drop_after_attach();
	if (r < 0)
		fatal_r(r, "cannot drop capabilities");
	workers_launchers(&l);
	keeper_start(&l);
	r = caps_become_self(l.self_uid, l.self_gid);
	if (r < 0)
		fatal_r(r, "cannot become uid %u", (unsigned)l.self_uid);
	supervisor_exec(&l);

fail:
	/* Nothing started: loader_abort_cleanup() undoes what exists. */
	return CGFW_EXIT_FAILED;
}
