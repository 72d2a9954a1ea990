// SPDX-License-Identifier: MIT
/*
 * The keeper: what stays uid 0 once the loader is its own user.
 *
 * Just before the loader becomes a reserved uid of its own keeping only
 * CAP_KILL (caps_become_self()) and executes cgfw-supervisor, it forks the
 * keeper (with what caps_drop_after_attach() left: CAP_KILL, CAP_SETUID and
 * CAP_SETGID, an empty bounding set, locked securebits, no_new_privs): from then on nothing in the loader's process can write a file of
 * root's.  A few things still need uid 0, and the keeper does them, and
 * nothing else, when the supervisor asks (lib/keeper.c):
 *
 *   KEEP_KILL    kill and remove the command's cgroup (run, at the end);
 *   KEEP_RELOAD  attach, on SIGHUP: start the reload child, which reads the
 *                options, the config and the list files again (root's files)
 *                and forks the policy compiler onto its reserved uid
 *                (CAP_SETUID, CAP_SETGID), as a child of the loader's process
 *                (CLONE_PARENT) with the socket and pipe the supervisor sent;
 *   KEEP_DONE    remove what the instance made in root's directories (the
 *                workers' cgroup, the pins, the instance lock and directory,
 *                the trust bundle), then exit.
 *
 * Each request is one byte (KEEP_RELOAD carries two fds), answered by one
 * byte or a pid; the paths are the keeper's own copy from before the fork.
 * It holds no other fd, no capability but the two a reload needs (none for
 * run), and no_new_privs; it is not dumpable, and its seccomp filter forbids exec, bpf, ptrace and mounts.  If
 * the supervisor dies (EOF), it exits and removes nothing: the pins keep the
 * cgroup filtered, and `cgfw-loader cleanup` removes what is left.
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

#include "lib/keeper.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sandbox.h"
#include "loader.h"

#define KEEPER_FD 3 /* its socket, in the keeper */

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
