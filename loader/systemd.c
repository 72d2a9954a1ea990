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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include "lib/log.h"
#include "lib/sdnotify.h"
#include "loader.h"

/* A ".." component anywhere in path. */
int
path_has_dotdot(const char *path)
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
 * "--") by query_run(): as uid 0, because systemd answers root on its
 * private socket without a system bus (dbus refuses a uid with no passwd
 * entry, such as cgfw's reserved ones), but with every capability gone.  It
 * reads nothing but the service manager's answer.  The answer is relative
 * to the cgroup2 mount.  0, or -errno with err said.
 */
static int
unit_control_group(const char *unit, char *buf, size_t len, char *err, size_t err_len)
{
	char *argv[] = {
	    "systemctl", "show", "--property=ControlGroup", "--value", "--", (char *)unit, NULL};
	char serr[256], q[LOG_ESC_LEN];
	int r, overflow;

	r = query_run(argv, NULL, buf, len, serr, sizeof(serr), LOADER_QUERY_MS, &overflow);
	if (r < 0) {
		snprintf(err, err_len, "cannot run systemctl show: %s", strerror(-r));
		return r;
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (r != 0) {
		snprintf(err, err_len, "systemctl show failed (is systemd running?)%s%s",
		    serr[0] ? ": " : "", log_escape(q, sizeof(q), serr, strlen(serr)));
		return -ESRCH;
	}
	if (!buf[0]) {
		snprintf(err, err_len, "no cgroup: not running (or not loaded); start it first");
		return -ENOENT;
	}
	if (buf[0] != '/' || overflow || path_has_dotdot(buf)) {
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

/*
 * Under systemd with stderr connected to the journal ($JOURNAL_STREAM names
 * stderr's device and inode, systemd.exec(5)): a datagram socket to
 * journald's native protocol, for cgfw-monitor to send each event as a
 * structured entry (monitor/events.c).  Opened once, kept for restarts.
 * Elsewhere, or when it cannot be opened, the monitor's text lines stay on
 * stderr.
 */
void
loader_journal_open(struct loader *l)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int fd, sz = 8 << 20;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0 ||
	    (unsigned long long)st.st_dev != dev || (unsigned long long)st.st_ino != ino)
		return;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/run/systemd/journal/socket");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_warn("cannot connect to the journal (%s); events stay on stderr", sun.sun_path);
		if (fd >= 0)
			(void)close(fd);
		return;
	}
	/* Room for bursts (root may pass wmem_max), as libsystemd takes. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	l->journal_fd = fd;
}
