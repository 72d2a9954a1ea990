// SPDX-License-Identifier: MIT
/*
 * What is asked of the keeper, the loader's child that stays uid 0
 * (loader/keeper.c, which lists the requests): by cgfw-supervisor, or by
 * the loader when it fails after starting it.  One byte each (a reload's
 * two fds ride along), answered by one byte or a pid.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/keeper.h"
#include "lib/log.h"
#include "lib/proc.h"

/* One request; fds (two, for KEEP_RELOAD) ride along. */
static int
keeper_ask(int fd, char req, const int *fds)
{
	if (fd < 0)
		return -EPIPE;
	if (req == KEEP_RELOAD)
		return proc_fds_send(fd, fds, 2);
	return send(fd, &req, 1, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/* Its answer: n bytes within KEEPER_ANSWER_MS, else -ETIMEDOUT/-EPIPE. */
static int
keeper_answer(int fd, void *buf, size_t n)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;

	do {
		r = poll(&pfd, 1, KEEPER_ANSWER_MS);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0 || read(fd, buf, n) != (ssize_t)n)
		return -EPIPE;
	return 0;
}

pid_t
keeper_reload(int fd, int sock, int err_fd)
{
	int fds[2] = {sock, err_fd};
	pid_t pid = -EPIPE;
	int r = keeper_ask(fd, KEEP_RELOAD, fds);

	if (r == 0)
		r = keeper_answer(fd, &pid, sizeof(pid));
	return r < 0 ? r : pid;
}

/*
 * Without the keeper we cannot write cgroup.kill (root's), but with
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

/* run, at the end: the command's cgroup cg_path killed and removed. */
void
keeper_kill_command(int fd, const char *cg_path)
{
	char c;

	if (keeper_ask(fd, KEEP_KILL, NULL) < 0 || keeper_answer(fd, &c, 1) < 0) {
		log_warnx(
		    "the keeper did not remove the command's cgroup %s; killing what is in it",
		    cg_path);
		kill_procs(cg_path);
	}
}

/* The last request: it removes what is root's and exits; waited for.  *fd and *pid go. */
void
keeper_done(int *fd, pid_t *pid)
{
	int status;

	if (*pid <= 0)
		return;
	if (keeper_ask(*fd, KEEP_DONE, NULL) < 0)
		log_warnx("the keeper is gone: `cgfw-loader cleanup` removes what is left");
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
	while (waitpid(*pid, &status, 0) < 0 && errno == EINTR)
		;
	*pid = -1;
}
