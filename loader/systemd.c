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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include "lib/cpolicy.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sdnotify.h"
#include "loader.h"

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
 * A slice's cgroup follows from its name (systemd.slice(5)): "-.slice" is
 * the root, "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice.  No program is
 * asked.  0, or -EINVAL for a name that is no slice path ("a--b.slice").
 */
static int
slice_cgroup(const char *unit, char *buf, size_t len)
{
	size_t n = strlen(unit) - strlen(".slice"), used = 0;

	if (!strcmp(unit, "-.slice")) {
		snprintf(buf, len, "/");
		return 0;
	}
	if (unit[0] == '-' || unit[n - 1] == '-' || strstr(unit, "--"))
		return -EINVAL;
	buf[0] = '\0';
	for (size_t i = 0; i <= n; i++) {
		int w;

		if (i < n && unit[i] != '-')
			continue;
		/* the prefix up to here is one level of the path */
		w = snprintf(buf + used, len - used, "/%.*s.slice", (int)i, unit);
		if (w < 0 || (size_t)w >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)w;
	}
	return 0;
}

/*
 * A service's or scope's ControlGroup property, from `systemctl show` run
 * with an argv (the name is checked by sd_unit_name_valid() and comes after
 * "--").  The one program cgfw runs, and only here: as uid 0, because systemd
 * answers root on its private socket without a system bus (dbus refuses a
 * uid with no passwd entry, such as cgfw's reserved ones), but with every
 * capability gone, bounding set included, SECBIT_NOROOT locked and
 * no_new_privs, stdin /dev/null, stdout a pipe, no other fd.  It reads
 * nothing but the service manager's answer.  The answer is relative to the
 * cgroup2 mount.  0, or -errno with err said.
 */
static int
unit_control_group(const char *unit, char *buf, size_t len, char *err, size_t err_len)
{
	char *argv[] = {
	    "systemctl", "show", "--property=ControlGroup", "--value", "--", (char *)unit, NULL};
	size_t got = 0;
	int p[2], r, status, overflow = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(p[1], STDOUT_FILENO) < 0)
			_exit(CGFW_EXIT_FAILED);
		r = proc_keep_fds(NULL, 0);
		if (r < 0)
			fatal_r(r, "--unit: cannot close fds");
		if (prctl(PR_SET_SECUREBITS,
		        SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
		            SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED) < 0)
			fatal("--unit: securebits");
		capng_clear(CAPNG_SELECT_ALL);
		if (capng_apply(CAPNG_SELECT_ALL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			fatalx("--unit: cannot drop every capability before running systemctl");
		execvp(argv[0], argv);
		fatal("--unit: cannot run systemctl");
	}
	(void)close(p[1]);
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
loader_unit_resolve(struct loader *l)
{
	struct loader_opts *o = l->o;
	char cg[PATH_MAX], err[CGFW_ERR_LEN + 128], q[LOG_ESC_LEN];
	size_t n;
	int r;

	if (!o->unit)
		return;
	if (!sd_unit_name_valid(o->unit))
		fatalx("--unit: \"%s\" is not a unit name (NAME.service, NAME.slice or NAME.scope)",
		    log_escape(q, sizeof(q), o->unit, strlen(o->unit)));
	n = strlen(o->unit);
	if (n > 6 && !strcmp(o->unit + n - 6, ".slice")) {
		r = slice_cgroup(o->unit, cg, sizeof(cg));
		if (r < 0)
			fatalx("--unit %s: not a slice name systemd places in the tree (an empty "
			       "part between dashes?)",
			    o->unit);
	} else {
		r = unit_control_group(o->unit, cg, sizeof(cg), err, sizeof(err));
		if (r < 0)
			fatalx("--unit %s: %s", o->unit, err);
	}
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
	const struct cp_hdr *h = l->cp.base;
	size_t n = l->pol.n_ip4 + l->pol.n_cidr4 + (h ? (size_t)h->n_names : 0);
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

/* SIGHUP: RELOADING=1 (with the time, as Type=notify-reload wants it) until READY=1. */
void
loader_sd_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the policy",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	(void)sdnotify_send(msg);
}

/* The reload failed: ready again, on the previous policy, and the status line says why. */
void
loader_sd_reload_failed(struct loader *l, const char *why)
{
	char msg[640];

	snprintf(
	    msg, sizeof(msg), "READY=1\nSTATUS=reload failed, the previous policy stays: %s", why);
	(void)sdnotify_send(msg);
	l->sd_healthy = 1;
}

void
loader_sd_stopping(void)
{
	(void)sdnotify_send("STOPPING=1\nSTATUS=stopping");
}
