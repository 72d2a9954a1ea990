// SPDX-License-Identifier: MIT
/*
 * The keeper: what stays uid 0 once the loader is its own user.
 *
 * When everything is attached and every worker is READY, the loader forks
 * the keeper and then becomes a reserved uid of its own keeping only
 * CAP_KILL (caps_become_self()): from then on it cannot write a file of
 * root's.  A few things still need uid 0, and the keeper does them, and
 * nothing else:
 *
 *   KEEP_KILL    kill and remove the command's cgroup (run, at the end);
 *   KEEP_RELOAD  attach, on SIGHUP: start the reload child, which reads the
 *                options, the config and the list files again (root's files)
 *                and forks the policy compiler onto its reserved uid
 *                (CAP_SETUID, CAP_SETGID), as a child of the loader
 *                (CLONE_PARENT) with the socket and pipe the loader sent;
 *   KEEP_DONE    remove what the instance made in root's directories (the
 *                workers' cgroup, the pins, the instance lock and directory,
 *                the trust bundle), then exit.
 *
 * Each request is one byte (KEEP_RELOAD carries two fds), answered by one
 * byte or a pid; the paths are the keeper's own copy from before the fork.
 * It holds no other fd, no capability but the two a reload needs (none for
 * run), and no_new_privs; it is not dumpable.  If the loader dies (EOF), it
 * exits and removes nothing: the pins keep the cgroup filtered, and
 * `cgfw-loader cleanup` removes what is left, as before.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>
#include <linux/sched.h>

#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sandbox.h"
#include "loader.h"

#define KEEP_RELOAD 0 /* proc_fds_send()'s byte, with the two fds */
#define KEEP_KILL   'k'
#define KEEP_DONE   'd'

#define KEEPER_FD        3     /* its socket, in the keeper */
#define LOADER_KEEPER_MS 10000 /* a pid, or a cgroup killed and removed */

/* One request: its byte, and the fds that came with it (at most two; the rest closed). */
static int
keeper_recv(char *req, int *fds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = req, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cm.buf,
	    .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *c;
	int n = 0;
	ssize_t r;

	do
		r = recvmsg(KEEPER_FD, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (n < 2)
					fds[n++] = fd;
				else
					(void)close(fd);
			}
	return r == 1 ? n : -1;
}

static void __attribute__((noreturn)) keeper_loop(struct loader *l)
{
	for (;;) {
		int fds[2] = {-1, -1}, n;
		char req;

		n = keeper_recv(&req, fds);
		if (n < 0)
			_exit(0); /* the loader is gone: leave everything as it is */
		if (req == KEEP_RELOAD && n == 2) {
			struct clone_args ca = {.flags = CLONE_PARENT};
			pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));

			if (pid == 0)
				loader_reload_child(l, fds[0], fds[1]);
			if (pid < 0)
				pid = -errno;
			(void)close(fds[0]);
			(void)close(fds[1]);
			if (proc_write_all(KEEPER_FD, &pid, sizeof(pid)) < 0)
				_exit(0);
			continue;
		}
		for (int i = 0; i < n; i++)
			(void)close(fds[i]);
		if (req == KEEP_KILL && n == 0) {
			loader_remove_command_cgroup(l);
			if (proc_write_all(KEEPER_FD, &req, 1) < 0)
				_exit(0);
		} else if (req == KEEP_DONE && n == 0) {
			loader_remove_paths(l);
			_exit(0);
		}
		/* anything else: ignored */
	}
}

/* Besides sandbox_deny()'s list: it never starts a program, nor does its reload child. */
static const char *const keeper_never[] = {"execve", "execveat", "bpf", NULL};

void
keeper_start(struct loader *l)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	l->keeper = fork();
	if (l->keeper < 0)
		fatal("cannot start the keeper (fork)");
	if (l->keeper == 0) {
		sigset_t none;

		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_IGN);
		if (dup2(sv[1], KEEPER_FD) < 0 || proc_close_fds_except(KEEPER_FD) < 0)
			_exit(CGFW_EXIT_FAILED);
		/* A reload's compiler is made a uid of its own: that is all it keeps. */
		capng_clear(CAPNG_SELECT_BOTH);
		if (l->o->cmd == CMD_ATTACH &&
		    capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETUID,
		        CAP_SETGID, -1) < 0)
			_exit(CGFW_EXIT_FAILED);
		if (capng_apply(CAPNG_SELECT_BOTH) < 0)
			_exit(CGFW_EXIT_FAILED);
		/* uid 0: nothing it or a reload's child runs may exec, trace or mount. */
		if (sandbox_deny(keeper_never) < 0)
			_exit(CGFW_EXIT_FAILED);
		(void)prctl(PR_SET_NAME, "cgfw-keeper", 0, 0, 0);
		keeper_loop(l);
	}
	(void)close(sv[1]);
	l->keeper_fd = sv[0];
}

/* One request; fds (two, for KEEP_RELOAD) ride along. */
static int
keeper_ask(struct loader *l, char req, const int *fds)
{
	if (l->keeper_fd < 0)
		return -EPIPE;
	if (req == KEEP_RELOAD)
		return proc_fds_send(l->keeper_fd, fds, 2);
	return send(l->keeper_fd, &req, 1, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/* Its answer: n bytes within LOADER_KEEPER_MS, else -ETIMEDOUT/-EPIPE. */
static int
keeper_answer(struct loader *l, void *buf, size_t n)
{
	struct pollfd pfd = {.fd = l->keeper_fd, .events = POLLIN};
	int r;

	do {
		r = poll(&pfd, 1, LOADER_KEEPER_MS);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0 || read(l->keeper_fd, buf, n) != (ssize_t)n)
		return -EPIPE;
	return 0;
}

pid_t
keeper_reload(struct loader *l, int sock, int err_fd)
{
	int fds[2] = {sock, err_fd};
	pid_t pid = -EPIPE;
	int r = keeper_ask(l, KEEP_RELOAD, fds);

	if (r == 0)
		r = keeper_answer(l, &pid, sizeof(pid));
	return r < 0 ? r : pid;
}

/*
 * Without the keeper the loader cannot write cgroup.kill (root's), but with
 * CAP_KILL it can kill what cgroup.procs lists, until nothing is left (a
 * fork meanwhile shows up on the next read).  The cgroup itself stays, for
 * `cgfw-loader cleanup`.
 */
static void
kill_procs(const char *cg_path)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_path);
	for (int round = 0; round < 100; round++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		FILE *f = fopen(path, "re");
		int pid, n = 0;

		if (!f)
			return;
		while (fscanf(f, "%d", &pid) == 1)
			n += kill(pid, SIGKILL) == 0;
		(void)fclose(f);
		if (n == 0)
			return;
		nanosleep(&ts, NULL);
	}
}

void
keeper_kill_command(struct loader *l)
{
	char c;

	if (!l->created_cgroup)
		return;
	if (keeper_ask(l, KEEP_KILL, NULL) < 0 || keeper_answer(l, &c, 1) < 0) {
		log_warnx(
		    "the keeper did not remove the command's cgroup %s; killing what is in it",
		    l->cg_path);
		kill_procs(l->cg_path);
	}
}

/* The last request: it removes what is root's and exits; waited for. */
void
keeper_done(struct loader *l)
{
	int status;

	if (l->keeper <= 0)
		return;
	if (keeper_ask(l, KEEP_DONE, NULL) < 0)
		log_warnx("the keeper is gone: `cgfw-loader cleanup` removes what is left");
	(void)close(l->keeper_fd);
	l->keeper_fd = -1;
	while (waitpid(l->keeper, &status, 0) < 0 && errno == EINTR)
		;
	l->keeper = -1;
}
