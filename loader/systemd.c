// SPDX-License-Identifier: MIT
/*
 * The loader under systemd: attach --unit NAME (the unit's cgroup, as the
 * service manager reports it), and the notifications of cgfw@.service
 * (Type=notify): READY=1 once every hook is attached and every worker is
 * ready, STATUS= with a one-line summary, WATCHDOG=1 while healthy,
 * STOPPING=1.  Nothing here runs outside systemd ($NOTIFY_SOCKET unset) but
 * the --unit lookup.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sdnotify.h"
#include "loader.h"

extern char **environ;

/* A ".." component anywhere in path. */
static int
has_dotdot(const char *path)
{
	for (const char *p = strstr(path, ".."); p; p = strstr(p + 1, ".."))
		if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return 1;
	return 0;
}

/*
 * The unit's ControlGroup property, from `systemctl show` run with an argv
 * (no shell; the name is checked by sd_unit_name_valid() and comes after
 * "--"); relative to the cgroup2 mount, e.g. "/cgfw.slice/cgfw-nginx.slice".
 * 0, or -errno with err said.
 */
static int
unit_control_group(const char *unit, char *buf, size_t len, char *err, size_t err_len)
{
	char *argv[] = {
	    "systemctl", "show", "--property=ControlGroup", "--value", "--", (char *)unit, NULL};
	posix_spawn_file_actions_t fa;
	size_t got = 0;
	int p[2], r, status, overflow = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	r = posix_spawnp(&pid, "systemctl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	(void)close(p[1]);
	if (r != 0) {
		(void)close(p[0]);
		snprintf(err, err_len, "cannot run systemctl: %s", strerror(r));
		return -r;
	}
	for (;;) { /* to EOF, so systemctl never blocks on a full pipe */
		char discard[256];
		int full = got == len - 1;
		ssize_t n =
		    read(p[0], full ? discard : buf + got, full ? sizeof(discard) : len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (full)
			overflow = 1;
		else
			got += (size_t)n;
	}
	(void)close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, err_len, "systemctl show failed (is systemd running?)");
		return -ESRCH;
	}
	if (!buf[0]) {
		snprintf(err, err_len, "no cgroup: not running (or not loaded); start it first");
		return -ENOENT;
	}
	if (buf[0] != '/' || overflow || has_dotdot(buf)) {
		snprintf(err, err_len, "unexpected ControlGroup \"%.64s\"", buf);
		return -EINVAL;
	}
	return 0;
}

/* attach --unit NAME: o->cgroup becomes the unit's cgroup. */
void
loader_unit_resolve(struct loader_opts *o)
{
	char cg[PATH_MAX], err[CGFW_ERR_LEN + 128], q[LOG_ESC_LEN];
	int r;

	if (!o->unit)
		return;
	if (!sd_unit_name_valid(o->unit))
		fatalx("--unit: \"%s\" is not a unit name (NAME.service, NAME.slice or NAME.scope)",
		    log_escape(q, sizeof(q), o->unit, strlen(o->unit)));
	r = unit_control_group(o->unit, cg, sizeof(cg), err, sizeof(err));
	if (r < 0)
		fatalx("--unit %s: %s", o->unit, err);
	free(o->cgroup);
	o->cgroup = strdup(cg);
	if (!o->cgroup)
		fatal("strdup");
	log_debug("%s: cgroup %s", o->unit, cg);
}

/* What systemctl status shows: where, which mode, how many rules. */
static void
status_line(const struct loader *l, char *buf, size_t len)
{
	const struct loader_opts *o = l->o;
	size_t n = l->pol.n_ip4 + l->pol.n_cidr4 + l->n_names;
	const char *mode = l->pol.mode == CGFW_MODE_ALLOW_LIST   ? "allow-list"
	                   : l->pol.mode == CGFW_MODE_BLOCK_LIST ? "block-list"
	                                                         : "log-only";

	for (size_t i = 0; i < o->rules.n; i++)
		n += o->rules.v[i].kind == RULE_URL && o->rules.v[i].addr;
	if (l->pol.mode == CGFW_MODE_LOG_ONLY)
		snprintf(buf, len, "STATUS=enforcing on %s: log-only mode (nothing blocked)",
		    o->unit ? o->unit : l->cg_path);
	else
		snprintf(buf, len, "STATUS=enforcing on %s: %s mode, %zu rule%s",
		    o->unit ? o->unit : l->cg_path, mode, n, n == 1 ? "" : "s");
}

void
loader_sd_init(void)
{
	int r = sdnotify_init();

	if (r < 0)
		log_warn_r(r, "NOTIFY_SOCKET: cannot use \"%s\"", getenv("NOTIFY_SOCKET"));
}

/* After the hooks are attached and the workers said READY. */
void
loader_sd_ready(struct loader *l)
{
	char msg[PATH_MAX + 128];
	int r;

	status_line(l, msg + strlen("READY=1\n"), sizeof(msg) - strlen("READY=1\n"));
	memcpy(msg, "READY=1\n", strlen("READY=1\n"));
	r = sdnotify_send(msg);
	if (r < 0)
		log_warn_r(r, "cannot notify the service manager");
	l->sd_healthy = 1;
}

/* ms between WATCHDOG=1 messages (half the manager's interval), or -1. */
int
loader_sd_watchdog_ms(void)
{
	uint64_t us = sdnotify_watchdog_usec();

	if (!us)
		return -1;
	us /= 2000;
	return us < 1 ? 1 : us > INT_MAX ? INT_MAX : (int)us;
}

/*
 * Called whenever the attach loop wakes: WATCHDOG=1 only while every worker
 * is up (a worker that stays down past WatchdogSec= gets cgfw restarted;
 * its pins keep the slice filtered meanwhile), and STATUS= when health
 * changes.
 */
void
loader_sd_tick(struct loader *l)
{
	char msg[PATH_MAX + 128];
	int healthy = !l->gave_up && !l->target_lost;
	const char *down = NULL;

	for (int i = 0; i < W_N; i++)
		if (!l->w[i].ready) {
			healthy = 0;
			down = l->w[i].name;
		}
	if (healthy != l->sd_healthy) {
		if (healthy)
			status_line(l, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg),
			    "STATUS=degraded: %s is down (its traffic fails until it is back)",
			    down ? down : "enforcement");
		(void)sdnotify_send(msg);
		l->sd_healthy = healthy;
	}
	if (healthy)
		(void)sdnotify_send("WATCHDOG=1");
}

void
loader_sd_stopping(void)
{
	(void)sdnotify_send("STOPPING=1\nSTATUS=stopping");
}
