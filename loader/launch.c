// SPDX-License-Identifier: MIT
/*
 * The workers' users and launchers.  Each worker runs as a user of its own
 * (workers_users()); its launcher, forked here once as that user, starts
 * it whenever cgfw-supervisor sends it a socket end (supervisor/workers.c),
 * so starting a dead worker again needs no CAP_SETUID in the supervisor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/sched.h>

#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sandbox.h"
#include "loader.h"

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
 * no_new_privs, not dumpable) and keeps nothing but its socket (fd 3),
 * stdio and what it was forked with.  For each socket end cgfw-supervisor
 * sends it, it starts the worker binary with that end at fd 3, as a child
 * of the loader's process (CLONE_PARENT: the supervisor, which is that
 * process after the exec, reaps it), and answers its pid.  A launcher that
 * is gone (EOF, or no answer in SUP_LAUNCH_MS) cannot start its worker
 * again: that worker's next death stops cgfw, as too many deaths do.
 */
static void __attribute__((noreturn)) launcher_loop(const char *path, char *const *envp)
{
	char *const argv[] = {(char *)strrchr(path, '/') + 1, NULL};

	for (;;) {
		struct clone_args ca = {.flags = CLONE_PARENT, .exit_signal = 0};
		pid_t pid, parent = getppid();
		int fd;

		if (proc_fds_recv(CGFW_FD_IPC, &fd, 1, 0) < 0 || fd < 0)
			_exit(0); /* the supervisor is done with us */
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid == 0) {
			/* The supervisor's child: it dies with the supervisor. */
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
 * Each worker's own user, never one a command can run as: the command's
 * uid (l->uid, 0 for attach) is avoided, and a command asked to run as a
 * worker's named user is refused.  Two workers never share a uid, so a
 * hijacked one cannot signal or read its siblings either.
 */
void
workers_users(struct loader *l)
{
	static const char *const users[W_N] = {"cgfw-mon", "cgfw-dns", "cgfw-http"};

	for (int i = 0; i < W_N; i++) {
		struct worker *w = &l->w[i];
		int r;

		w->name = worker_names[i];
		w->user = users[i];
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

/* The three launchers, forked after caps_drop_after_attach() (CAP_SETUID, CAP_SETGID). */
void
workers_launchers(struct loader *l)
{
	for (int i = 0; i < W_N; i++)
		launcher_start(l, &l->w[i]);
}
