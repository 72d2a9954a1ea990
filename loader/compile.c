// SPDX-License-Identifier: MIT
/*
 * The loader's unprivileged helpers, and the policy compiler that runs in
 * one.  A helper is forked, keeps only the fds it is given, becomes a uid of
 * cgfw's reserved range (or the command's user) with no capability, not
 * dumpable, no_new_privs and a seccomp allowlist that has no fork, exec or
 * open, and only then reads anything.  The list files (often downloaded
 * hosts lists) are opened here as root, since they may be root's, and parsed
 * in the helper, which compiles the name policy and the IP maps into two
 * sealed memfds (lib/compile.c; lib/namepolicy.h, lib/cpolicy.h).  The loader checks their
 * seals, sizes and headers only.  A helper's error messages are its own
 * stderr lines (the user's stderr), and the loader exits as it did (125).
 *
 * The command line and the config file are not parsed here: they are the
 * administrator's own input, root's files, read before any of this.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/compile.h"
#include "lib/cpolicy.h"
#include "lib/log.h"
#include "lib/namepolicy.h"
#include "lib/par.h"
#include "lib/proc.h"
#include "lib/sandbox.h"
#include "loader.h"

/* The uid helpers run as when no other is asked for: a reserved one, held for our lifetime. */
static void
helper_identity(struct loader *l)
{
	int r;

	if (l->helper_lock_fd >= 0)
		return;
	r = proc_reserved_uid(&l->helper_uid, &l->helper_gid, &l->helper_lock_fd);
	if (r < 0)
		fatal_r(r, "no uid for cgfw's unprivileged helper (a free uid from %u-%u)",
		    CGFW_DYN_UID_MIN, CGFW_DYN_UID_MIN + CGFW_DYN_UID_N - 1);
}

pid_t
helper_start(struct loader *l, uid_t uid, const char *user, int *keep, int n_keep, const char *who,
    const char *const *syscalls)
{
	return helper_start_pre(l, uid, user, keep, n_keep, who, syscalls, NULL);
}

pid_t
helper_start_pre(struct loader *l, uid_t uid, const char *user, int *keep, int n_keep,
    const char *who, const char *const *syscalls, int (*pre_sandbox)(void))
{
	gid_t gid = l->gid;
	pid_t pid;
	int r;

	loader_bpf_prestart_join(); /* no fork while those threads run (attach.c) */
	if (uid == (uid_t)-1) {
		helper_identity(l);
		uid = l->helper_uid;
		gid = l->helper_gid;
		user = NULL;
	}
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		return pid;
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = proc_keep_fds(keep, n_keep);
	if (r < 0)
		fatal_r(r, "%s: cannot close fds", who);
	r = proc_become(uid, gid, user, 0);
	if (r < 0)
		fatal_r(r, "%s: cannot become uid %u", who, (unsigned)uid);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("%s: PR_SET_DUMPABLE", who);
	proc_assert_unprivileged();
	tzset(); /* glibc's gmtime_r() opens /etc/localtime the first time: not under the filter */
	/* Threads it starts run unprivileged, and the filter then covers them too. */
	if (pre_sandbox) {
		r = pre_sandbox();
		if (r < 0)
			fatal_r(r, "%s: cannot start", who);
	}
	r = pre_sandbox ? sandbox_apply_all(who, syscalls) : sandbox_apply(who, syscalls);
	if (r < 0)
		fatal_r(r, "%s: cannot install the seccomp filter", who);
	return 0;
}

int
helper_wait(pid_t pid, const char *who)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fatal("waitpid %s", who);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	/* An exit said why on stderr; a signal (seccomp's SIGSYS) said nothing. */
	log_warnx("%s was killed by signal %d", who, WTERMSIG(status));
	return CGFW_EXIT_FAILED;
}

void
helper_finish(pid_t pid, const char *who)
{
	int r = helper_wait(pid, who);

	if (r != 0)
		exit(r);
}

static void
warn_line(const char *msg)
{
	log_warnx("%s", msg);
}

/* The helper's socket to the loader, for cp_ready(). */
struct child_ctx {
	struct loader_opts *o;
	int sock;
};

/* The mode line on stderr, the compiled policy to the loader: it starts up with that. */
static int
cp_ready(const struct compile_result *res, void *arg)
{
	struct child_ctx *c = arg;
	char dup[64];

	/* Said at every start: what is enforced, counted as the maps hold it. */
	if (c->o->cmd == CMD_CA)
		;
	else if (res->mode == CGFW_MODE_LOG_ONLY)
		log_info("log-only mode (no rules): nothing is blocked, everything is reported");
	else {
		snprintf(dup, sizeof(dup), " (%zu duplicate IP rule%s merged)", res->n_dup,
		    res->n_dup == 1 ? "" : "s");
		log_info("%s mode, %zu rule%s from %d source%s%s%s",
		    res->mode == CGFW_MODE_ALLOW_LIST ? "allow-list" : "block-list", res->n_rules,
		    res->n_rules == 1 ? "" : "s", res->n_sources, res->n_sources == 1 ? "" : "s",
		    res->n_rules                        ? ""
		    : res->mode == CGFW_MODE_ALLOW_LIST ? ": everything is blocked"
		                                        : ": nothing is blocked",
		    res->n_dup ? dup : "");
	}
	return proc_fds_send(c->sock, &res->cp_fd, 1);
}

/*
 * In the helper: the sources into the two memfds (lib/compile.c), the mode
 * line on stderr, the compiled policy to the loader as soon as it is
 * written, then the name policy once built.
 */
static void
compile_child(struct loader_opts *o, const int *fds, const int *errs, int sock)
{
	struct compile_file files[LOADER_MAX_FILES];
	struct child_ctx ctx = {.o = o, .sock = sock};
	struct compile_result res;
	char err[COMPILE_ERR_LEN];
	int r;

	for (int i = 0; i < o->n_files; i++)
		files[i] = (struct compile_file){.path = o->files[i].path,
		    .action = o->files[i].action,
		    .replaced = o->files[i].replaced,
		    .fd = fds[i],
		    .open_errno = errs[i]};
	r = compile_sources_split(&o->rules, files, o->n_files, o->allow_empty, warn_line, cp_ready,
	    &ctx, &res, err, sizeof(err));
	if (r < 0) {
		log_warnx("%s", err);
		exit(CGFW_EXIT_FAILED);
	}
	r = proc_fds_send(sock, &res.np_fd, 1);
	if (r < 0)
		fatal_r(r, "cannot hand the compiled policy over");
	_exit(0); /* nothing of the loader's to run or free at exit */
}

/*
 * The loader's side: open o's list files, fork the helper that compiles
 * them.  Returns its pid; *ret_sock: the loader's end of the socket it
 * hands the memfds over on, the compiled policy first, then the name policy.
 */
static pid_t
compile_start(struct loader *l, struct loader_opts *o, int *ret_sock)
{
	/* fallocate: the name table's pages made ahead, on its own memfd (lib/namepolicy.c). */
	static const char *const allow[] = {
	    "memfd_create", "ftruncate", "pwrite64", "fallocate", NULL};
	int keep[LOADER_MAX_FILES + 1], errs[LOADER_MAX_FILES], sv[2];
	pid_t pid;

	for (int i = 0; i < o->n_files; i++) {
		keep[i] = open(o->files[i].path, O_RDONLY | O_CLOEXEC);
		errs[i] = keep[i] < 0 ? errno : 0;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	keep[o->n_files] = sv[1];
	/* A spare thread for the second half of a big list (lib/par.h). */
	pid = helper_start_pre(
	    l, (uid_t)-1, NULL, keep, o->n_files + 1, "cgfw-loader", allow, par_start);
	if (pid == 0)
		compile_child(o, keep, errs, keep[o->n_files]);
	/*
	 * At start, while the helper compiles: the BPF that depends on nothing
	 * the loader works out later, made by threads (attach.c; attach may
	 * reload).  After the fork, so no helper is a copy of a process with
	 * threads running (a sanitizer build would count their buffers as
	 * leaked at the helper's exit).  A reload's child finds it done.
	 */
	if (o->cmd == CMD_RUN || o->cmd == CMD_ATTACH)
		loader_bpf_prestart(o->cmd == CMD_ATTACH);
	for (int i = 0; i < o->n_files; i++)
		if (keep[i] >= 0)
			(void)close(keep[i]);
	(void)close(sv[1]);
	*ret_sock = sv[0];
	return pid;
}

/*
 * The helper's next memfd, unchecked.  A helper that exits without it said
 * why on stderr: then this exits as it did.
 */
static int
compile_recv(pid_t pid, int sock)
{
	int fd;

	if (proc_fds_recv(sock, &fd, 1, 0) < 0) {
		helper_finish(pid, "the policy compiler");
		fatalx("the policy compiler handed over no policy");
	}
	return fd;
}

/*
 * Open o's list files, let the helper compile, take the two memfds (the
 * name policy, the compiled policy) into fds, unchecked.
 */
void
compile_policy_fds(struct loader *l, struct loader_opts *o, int *fds)
{
	int sock;
	pid_t pid = compile_start(l, o, &sock);

	fds[1] = compile_recv(pid, sock);
	fds[0] = compile_recv(pid, sock);
	helper_finish(pid, "the policy compiler");
	(void)close(sock);
}

/*
 * At start: l->cp (the IP maps and the rules the workers need) is set and
 * o->rules is the compiled view.  The helper goes on building the name
 * table while the loader starts up; compile_policy_names() takes it.
 */
void
compile_policy(struct loader *l)
{
	struct loader_opts *o = l->o;
	int r, fd;

	l->compile_pid = compile_start(l, o, &l->compile_sock);
	fd = compile_recv(l->compile_pid, l->compile_sock);
	r = cp_open(fd, &l->cp);
	if (r < 0)
		fatalx("the policy compiler's policy: %s", strerror(-r));
	l->cp_fd = fd; /* cgfw-supervisor maps it again */
	l->pol = l->cp.pol;
	rules_free(&o->rules);
	o->rules = l->cp.rules;
}

/* l->np_fd: the name policy, checked (seals, size, header), once the helper is done. */
void
compile_policy_names(struct loader *l)
{
	if (l->compile_pid <= 0)
		return;
	l->np_fd = compile_recv(l->compile_pid, l->compile_sock);
	helper_finish(l->compile_pid, "the policy compiler");
	l->compile_pid = -1;
	(void)close(l->compile_sock);
	l->compile_sock = -1;
	if (np_sealed_ok(l->np_fd) < 0)
		fatalx("the policy compiler's name policy is not sealed or not whole");
}
