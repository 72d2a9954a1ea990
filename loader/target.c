// SPDX-License-Identifier: MIT
/*
 * attach --pid PID and --container NAME: the target process's cgroup v2 and
 * network namespace.  /proc/PID is opened once and everything is read
 * through that fd, so a process that exits (and whose pid is reused)
 * meanwhile is an error, never another process's cgroup; once the cgroup is
 * open, the process is checked to be still in it.  A container's init pid
 * comes from its engine (`docker|podman container inspect`, run by
 * query_run() without capabilities); the cgroup attached to is the
 * container's own, the one whose name holds the container's id.  When the
 * target's network namespace is not ours, the proxies' listening sockets
 * are made in it (loader.c), so the BPF redirects to 127.0.0.1 there reach
 * them, while the workers and their upstream traffic stay in ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "loader.h"

#define PF_KTHREAD  0x00200000 /* include/linux/sched.h */
#define CT_ID_LEN   64         /* a container id: 64 hex digits, docker and podman alike */
#define CT_ANSWER   128        /* "PID ID\n" is at most 76 bytes */
#define PROC_CG_MAX 8192       /* /proc/PID/cgroup: one line per hierarchy */

/* The whole of /proc/PID/NAME, read through the /proc/PID fd: its length or -errno. */
static ssize_t
proc_read(int procfd, const char *name, char *buf, size_t len)
{
	size_t got = 0;
	int fd = openat(procfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno; /* a live process has every file */
	for (;;) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			(void)close(fd);
			return r;
		}
		if (n == 0 || (got += (size_t)n) == len - 1)
			break;
	}
	(void)close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* The "0::PATH" line of /proc/PID/cgroup, into path: 0, -ENOENT (none) or -errno. */
static int
proc_cgroup(int procfd, char *path, size_t len)
{
	char buf[PROC_CG_MAX];
	ssize_t n = proc_read(procfd, "cgroup", buf, sizeof(buf));
	char *p, *end;

	if (n < 0)
		return (int)n;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, "0::", 3) != 0)
			continue;
		p += 3;
		end = strchr(p, '\n');
		if (!end)
			return -EINVAL; /* cut short: longer than PROC_CG_MAX */
		if ((size_t)(end - p) >= len)
			return -ENAMETOOLONG;
		memcpy(path, p, (size_t)(end - p));
		path[end - p] = '\0';
		return 0;
	}
	return -ENOENT;
}

/*
 * ENGINE container inspect: "PID ID\n" exactly, PID decimal, ID 64 hex
 * digits.  0 with *ret_pid (0: not running) and id, 1 when the engine
 * could not say (not installed, no such container, no daemon: err says
 * why), -1 for an answer that is not of that form (err says).
 *
 * docker asks its daemon ($DOCKER_HOST, its context) as it always does.
 * podman is asked as a client of its API service (podman.socket;
 * $CONTAINER_HOST, else /run/podman/podman.sock): podman itself takes a
 * root without CAP_SYS_ADMIN for a rootless user, and would look in that
 * user's storage after trying to make a user namespace.  Its
 * XDG_RUNTIME_DIR is the root service's, so it makes no /run/user/0.
 */
static int
container_inspect(
    const char *engine, const char *name, pid_t *ret_pid, char *id, char *err, size_t err_len)
{
	char *docker[] = {"docker", "container", "inspect", "--format", "{{.State.Pid}} {{.Id}}",
	    "--", (char *)name, NULL};
	char *podman[] = {"podman", "--remote", "--url", "unix:///run/podman/podman.sock",
	    "container", "inspect", "--format", "{{.State.Pid}} {{.Id}}", "--", (char *)name, NULL};
	char *podman_env[] = {"XDG_RUNTIME_DIR=/run/podman", NULL};
	char out[CT_ANSWER], serr[256], q[LOG_ESC_LEN];
	int is_podman = !strcmp(engine, "podman");
	unsigned long pid;
	size_t nd;
	int r, overflow;

	/* $CONTAINER_HOST names the service: no --url then. */
	if (is_podman && getenv("CONTAINER_HOST"))
		memmove(&podman[2], &podman[4], sizeof(podman) - 4 * sizeof(podman[0]));
	r = query_run(is_podman ? podman : docker, is_podman ? podman_env : NULL, out, sizeof(out),
	    serr, sizeof(serr), LOADER_QUERY_MS, &overflow);
	if (r < 0 || r != 0) {
		if (r == -ETIMEDOUT)
			snprintf(err, err_len, "%s did not answer in %d s", engine,
			    LOADER_QUERY_MS / 1000);
		else if (r < 0)
			snprintf(err, err_len, "cannot run %s: %s", engine, strerror(-r));
		else if (r == 127)
			snprintf(err, err_len, "%s is not installed", engine);
		else
			snprintf(err, err_len, "%s: %s", engine,
			    serr[0] ? log_escape(q, sizeof(q), serr, strlen(serr))
			            : "container inspect failed");
		return 1;
	}
	nd = strspn(out, "0123456789");
	if (overflow || nd == 0 || nd > 10 || (out[0] == '0' && nd > 1) || out[nd] != ' ' ||
	    strspn(out + nd + 1, "0123456789abcdef") != CT_ID_LEN ||
	    strcmp(out + nd + 1 + CT_ID_LEN, out[nd + 1 + CT_ID_LEN] ? "\n" : "") != 0) {
		out[strcspn(out, "\n")] = '\0';
		snprintf(err, err_len, "%s: unexpected answer \"%s\"", engine,
		    log_escape(q, 80, out, strlen(out)));
		return -1;
	}
	pid = strtoul(out, NULL, 10);
	if (pid > INT_MAX) {
		snprintf(err, err_len, "%s: pid %lu out of range", engine, pid);
		return -1;
	}
	memcpy(id, out + nd + 1, CT_ID_LEN);
	id[CT_ID_LEN] = '\0';
	*ret_pid = (pid_t)pid;
	return 0;
}

/* The container's init pid and id: its engine, or docker and then podman. */
static pid_t
container_pid(const struct loader_opts *o, char *id)
{
	static const char *const engines[] = {"docker", "podman"};
	char err[2][LOG_ESC_LEN + 64], q[LOG_ESC_LEN];
	int n = 0, r = 1;
	pid_t pid = 0;

	if (!opts_container_ok(o->container))
		fatalx("--container: \"%s\" is not a container name or id",
		    log_escape(q, sizeof(q), o->container, strlen(o->container)));
	for (int i = 0; i < 2 && r == 1; i++) {
		if (o->engine && strcmp(o->engine, engines[i]) != 0)
			continue;
		r = container_inspect(engines[i], o->container, &pid, id, err[n], sizeof(err[n]));
		n++;
	}
	if (r < 0)
		fatalx("--container %s: %s", o->container, err[n - 1]);
	if (r == 1)
		fatalx("--container %s: not found (%s%s%s)", o->container, err[0],
		    n > 1 ? "; " : "", n > 1 ? err[1] : "");
	if (pid == 0)
		fatalx("--container %s: not running (start it first)", o->container);
	return pid;
}

/*
 * A container's cgroup is the one whose name holds its id (docker:
 * /docker/ID or docker-ID.scope; podman: libpod-ID.scope): path is cut
 * after that component, which covers a process that moved below it (an
 * init that made cgroups of its own).  -ENOENT if there is none: the
 * process does not run in a cgroup of the container's own.
 */
static int
container_cgroup(char *path, const char *id)
{
	for (char *c = strchr(path, '/'); c; c = strchr(c + 1, '/')) {
		size_t n = strcspn(c + 1, "/");

		if (memmem(c + 1, n, id, CT_ID_LEN)) {
			c[1 + n] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}

/* Our network namespace and fd's are one and the same. */
static int
same_netns(int fd)
{
	struct stat a, b;

	if (stat("/proc/self/ns/net", &a) < 0 || fstat(fd, &b) < 0)
		fatal("cannot compare network namespaces");
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * attach --pid / --container: o->cgroup becomes the process's cgroup (a
 * container's own), and its network namespace is kept when it is not ours.
 */
void
loader_target_resolve(struct loader *l)
{
	struct loader_opts *o = l->o;
	char path[PATH_MAX], stat_buf[1024], proc[32], id[CT_ID_LEN + 1] = "", q[LOG_ESC_LEN];
	unsigned int flags = 0;
	const char *w = l->tgt_what, *rp;
	pid_t pid = o->pid;
	char state = '?';
	ssize_t n;
	int r;

	if (o->cmd != CMD_ATTACH || (!o->pid && !o->container))
		return;
	if (o->container) {
		pid = container_pid(o, id);
		snprintf(l->tgt_what, sizeof(l->tgt_what), "--container %s (pid %d)", o->container,
		    (int)pid);
	} else {
		snprintf(l->tgt_what, sizeof(l->tgt_what), "--pid %d", (int)pid);
	}
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	l->tgt_procfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->tgt_procfd < 0 && errno == ENOENT)
		fatalx("%s: no such process", w);
	if (l->tgt_procfd < 0)
		fatal("%s: cannot open %s", w, proc);

	/* "pid (comm) state ppid pgrp session tty tpgid flags ...": comm may hold anything. */
	n = proc_read(l->tgt_procfd, "stat", stat_buf, sizeof(stat_buf));
	rp = n > 0 ? strrchr(stat_buf, ')') : NULL;
	if (n == -ESRCH)
		fatalx("%s: the process has exited", w);
	if (!rp || sscanf(rp + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
		fatalx("%s: cannot read %s/stat", w, proc);
	if (flags & PF_KTHREAD)
		fatalx("%s: a kernel thread, which has no cgroup of its own to filter", w);
	if (state == 'Z' || state == 'X')
		fatalx("%s: the process has exited (a zombie)", w);

	r = proc_cgroup(l->tgt_procfd, path, sizeof(path));
	if (r == -ESRCH)
		fatalx("%s: the process has exited", w);
	if (r == -ENOENT)
		fatalx("%s: not in cgroup v2 (no \"0::\" line in %s/cgroup)", w, proc);
	if (r < 0)
		fatal_r(r, "%s: cannot read %s/cgroup", w, proc);
	/* Cgroup names may hold anything but "/": quoted escaped wherever they are said. */
	log_escape(q, sizeof(q), path, strlen(path));
	if (path[0] != '/' || path_has_dotdot(path))
		fatalx("%s: its cgroup is outside the loader's cgroup namespace (%s)", w, q);
	if (o->container && container_cgroup(path, id) < 0)
		fatalx("%s: its cgroup %s is not the container's own (no %.12s in its name); "
		       "was it started with a cgroup of its own?",
		    w, q, id);
	if (!strcmp(path, "/"))
		fatalx("%s: the process is in the root cgroup; cgfw will not filter the whole "
		       "machine that way (--cgroup / says so explicitly)",
		    w);

	l->tgt_netns_fd = openat(l->tgt_procfd, "ns/net", O_RDONLY | O_CLOEXEC);
	if (l->tgt_netns_fd < 0)
		fatal("%s: cannot open %s/ns/net", w, proc);
	if (same_netns(l->tgt_netns_fd)) {
		(void)close(l->tgt_netns_fd);
		l->tgt_netns_fd = -1;
	}
	free(o->cgroup);
	o->cgroup = strdup(path);
	if (!o->cgroup)
		fatal("strdup");
	log_debug("%s: cgroup %s, %s network namespace", w, path,
	    l->tgt_netns_fd < 0 ? "our" : "its own");
}

/*
 * After the target cgroup is open (loader.c, setup_target()): the process
 * is still alive and still in it, so the cgroup is the one it was in when
 * cgfw looked, not a later one of that name or a reused pid's.
 */
void
loader_target_verify(struct loader *l)
{
	char path[PATH_MAX], q[LOG_ESC_LEN];
	size_t n;
	int r;

	if (l->tgt_procfd < 0)
		return;
	r = proc_cgroup(l->tgt_procfd, path, sizeof(path));
	if (r == -ESRCH)
		fatalx("%s: the process exited while cgfw was attaching", l->tgt_what);
	if (r < 0)
		fatal_r(r, "%s: cannot read its cgroup again", l->tgt_what);
	n = strlen(l->o->cgroup);
	if (strncmp(path, l->o->cgroup, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		fatalx("%s: the process moved to cgroup %s while cgfw was attaching to %s",
		    l->tgt_what, log_escape(q, sizeof(q), path, strlen(path)), l->o->cgroup);
	(void)close(l->tgt_procfd);
	l->tgt_procfd = -1;
}

/*
 * Into the target's network namespace to make the proxies' listening
 * sockets there (CAP_SYS_ADMIN): returns an fd of ours to come back with,
 * or -1 when the target shares ours.
 */
int
loader_target_netns_enter(struct loader *l)
{
	int self;

	if (l->tgt_netns_fd < 0)
		return -1;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		fatal("cannot open /proc/self/ns/net");
	if (setns(l->tgt_netns_fd, CLONE_NEWNET) < 0)
		fatal("%s: cannot enter its network namespace", l->tgt_what);
	return self;
}

/* Back: the workers and everything after run in ours.  Failing that is fatal. */
void
loader_target_netns_leave(struct loader *l, int self_fd)
{
	if (self_fd < 0)
		return;
	if (setns(self_fd, CLONE_NEWNET) < 0)
		fatal("cannot return to the loader's network namespace");
	(void)close(self_fd);
	(void)close(l->tgt_netns_fd);
	l->tgt_netns_fd = -1;
	log_debug("%s: the proxies listen in its network namespace", l->tgt_what);
}
