// SPDX-License-Identifier: MIT
/*
 * The loader's one way to run another program, for the two lookups only a
 * service manager or a container engine can answer: `systemctl show` for
 * attach --unit (systemd.c) and `docker|podman container inspect` for
 * attach --container (target.c).  An argv (never a shell), checked by the
 * caller, the name after "--".  The child keeps uid 0, because systemd and
 * the engines answer root on their sockets, but loses every capability
 * (bounding set included), SECBIT_NOROOT is locked and no_new_privs set, so
 * nothing it runs regains one; stdin is /dev/null, stdout and stderr are
 * pipes, no other fd is inherited.  Its answer is read with a bound and a
 * deadline (then it is killed); the caller parses it strictly.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include "lib/proc.h"
#include "loader.h"

/* In the child: stdio, no capability, env, then exec.  Never returns. */
static void __attribute__((noreturn))
query_child(char *const argv[], char *const env[], int out, int err)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(err, STDERR_FILENO) < 0 || proc_keep_fds(NULL, 0) < 0)
		_exit(126);
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
	                                 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED) <
	    0) {
		dprintf(STDERR_FILENO, "cannot set securebits: %s\n", strerror(errno));
		_exit(126);
	}
	/* libcap-ng remembers the pid it first saw: a forked child must say it is another. */
	capng_setpid(getpid());
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_ALL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		dprintf(STDERR_FILENO, "cannot drop every capability\n");
		_exit(126);
	}
	for (int i = 0; env && env[i]; i++)
		if (putenv(env[i]) != 0)
			_exit(126);
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/*
 * Appends what fd has to buf (len, NUL-terminated, *got so far); beyond
 * that it is read and dropped, and *overflow set, or, with !overflow, the
 * older half of buf makes room (its tail is kept).  0 at EOF, 1 for more.
 */
static int
query_read(int fd, char *buf, size_t len, size_t *got, int *overflow)
{
	char discard[512];
	int full;
	ssize_t n;

	if (!overflow && *got >= len - 1) {
		memmove(buf, buf + *got / 2, *got - *got / 2 + 1);
		*got -= *got / 2;
	}
	full = *got >= len - 1;
	n = read(fd, full ? discard : buf + *got, full ? sizeof(discard) : len - 1 - *got);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	if (full && overflow)
		*overflow = 1;
	else
		*got += (size_t)n;
	buf[*got] = '\0';
	return 1;
}

int
query_run(char *const argv[], char *const env[], char *out, size_t out_len, char *err,
    size_t err_len, int timeout_ms, int *ret_overflow)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, status = 0, r, overflow = 0, timed_out;
	size_t got = 0, egot = 0;
	long long deadline = (long long)(proc_now_ns(CLOCK_MONOTONIC) / 1000000) + timeout_ms;
	struct pollfd pfd[2];
	pid_t pid;

	out[0] = err[0] = '\0';
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	loader_bpf_prestart_join(); /* no fork while those threads run (attach.c) */
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0)
		query_child(argv, env, po[1], pe[1]);
	(void)close(po[1]);
	(void)close(pe[1]);
	po[1] = pe[1] = -1;
	pfd[0] = (struct pollfd){.fd = po[0], .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = pe[0], .events = POLLIN};
	/* Both to EOF (or the deadline), so the child never blocks on a full pipe. */
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		long long left = deadline - (long long)(proc_now_ns(CLOCK_MONOTONIC) / 1000000);
		int n;

		if (left <= 0)
			break;
		n = poll(pfd, 2, (int)left);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (pfd[0].revents && !query_read(po[0], out, out_len, &got, &overflow))
			pfd[0].fd = -1;
		if (pfd[1].revents && !query_read(pe[0], err, err_len, &egot, NULL))
			pfd[1].fd = -1;
	}
	/* Its output closed: it has until the deadline to exit too. */
	timed_out = pfd[0].fd >= 0 || pfd[1].fd >= 0;
	while (!timed_out && waitpid(pid, &status, WNOHANG) == 0) {
		if ((long long)(proc_now_ns(CLOCK_MONOTONIC) / 1000000) >= deadline)
			timed_out = 1;
		else
			(void)poll(NULL, 0, 10);
	}
	if (timed_out) {
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		r = -ETIMEDOUT;
	} else {
		r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	/* Its last words are what it has to say: "Error: no such container". */
	for (size_t n = strlen(err); n > 0 && strchr("\n\r \t", err[n - 1]); n--)
		err[n - 1] = '\0';
	if (strrchr(err, '\n'))
		memmove(err, strrchr(err, '\n') + 1, strlen(strrchr(err, '\n') + 1) + 1);
	*ret_overflow = overflow;
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			(void)close(po[i]);
		if (pe[i] >= 0)
			(void)close(pe[i]);
	}
	return r;
}
