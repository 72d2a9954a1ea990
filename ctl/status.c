// SPDX-License-Identifier: MIT
/*
 * `cgfw-loader status`: the instances' status files (lib/status.c parses
 * them, the loader writes them), for people or as JSON lines, with each
 * one's last events read from its socket as any reader would; as root also
 * the pins of instances that have no status file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/status.h"

#define STATUS_STALE_S 30 /* a file not rewritten for this long: its loader is gone */

/* One instance's status file into s, and whether its loader still lives. */
static int
status_read(int dfd, const char *name, struct inst_status *s)
{
	char path[NAME_MAX + 16], *buf;
	struct stat st;
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "%s/status", name);
	fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !instance_owner_ok(st.st_uid) ||
	    st.st_size > STATUS_MAX_BYTES) {
		(void)close(fd);
		return -EBADMSG;
	}
	buf = calloc(1, STATUS_MAX_BYTES + 1);
	if (!buf)
		fatal("calloc");
	n = read(fd, buf, STATUS_MAX_BYTES);
	(void)close(fd);
	r = n < 0 ? -errno : status_parse(buf, s);
	free(buf);
	/*
	 * A loader killed without its cleanup leaves its file: its pid is gone
	 * (or, reused, it stopped writing).  EPERM: alive, not ours to signal.
	 */
	if (r == 0 && ((kill((pid_t)s->pid, 0) < 0 && errno == ESRCH) ||
	                  (strcmp(s->state, "stopping") != 0 &&
	                      s->updated + STATUS_STALE_S < (long long)time(NULL))))
		snprintf(s->state, sizeof(s->state), "stale");
	return r;
}

static void
fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

static void
fmt_age(long long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(buf, len, "%lldd%lldh", secs / 86400, secs % 86400 / 3600);
	else if (secs >= 3600)
		snprintf(buf, len, "%lldh%lldm", secs / 3600, secs % 3600 / 60);
	else if (secs >= 60)
		snprintf(buf, len, "%lldm%llds", secs / 60, secs % 60);
	else
		snprintf(buf, len, "%llds", secs);
}

#define STATUS_LAST_EVENTS 5

/*
 * The last n events of the instance, read from its event socket as any
 * reader would (events.c), into a memfd: NULL when it has no live socket.
 */
static char *
status_last_events(int dfd, const char *name, int n, size_t *ret_len)
{
	char path[NAME_MAX + 16], *buf;
	struct stat st;
	int mfd;

	snprintf(path, sizeof(path), "%s/events.sock", name);
	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
		return NULL;
	mfd = memfd_create("cgfw-last-events", MFD_CLOEXEC);
	if (mfd < 0)
		return NULL;
	if (events_read(name, 0, n, mfd) != 0 || fstat(mfd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size > (1 << 20) || !(buf = malloc((size_t)st.st_size + 1))) {
		(void)close(mfd);
		return NULL;
	}
	if (pread(mfd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		(void)close(mfd);
		return NULL;
	}
	buf[st.st_size] = '\0';
	*ret_len = (size_t)st.st_size;
	(void)close(mfd);
	return buf;
}

static void
status_print(const struct inst_status *s, int dfd)
{
	char line[PATH_MAX + 256], t[32], age[32], *ev;
	size_t len = 0;

	status_summary(s, line, sizeof(line));
	fmt_time(s->started, t, sizeof(t));
	fmt_age((long long)time(NULL) - s->started, age, sizeof(age));
	printf("%s: %s\n", s->name, line);
	printf("  pid %lld (%s), started %s (up %s)\n", s->pid, s->command, t, age);
	printf("  cgroup %s (id %" PRIu64 ")\n", s->cgroup, s->cgroup_id);
	printf("  policy: %s, %" PRIu64 " rule%s (%" PRIu64 " IP, %" PRIu64 " CIDR, %" PRIu64
	       " name, %" PRIu64 " URL), %" PRIu64 " list file%s\n",
	    s->mode, s->rules, s->rules == 1 ? "" : "s", s->rules_ip, s->rules_cidr, s->rules_name,
	    s->rules_url, s->list_files, s->list_files == 1 ? "" : "s");
	printf("  blocked: %" PRIu64 " (%" PRIu64 " connections or datagrams, %" PRIu64
	       " packets, %" PRIu64 " DNS queries, %" PRIu64 " HTTP requests)\n",
	    s->blocked, s->connect_blocked, s->egress_dropped, s->dns_blocked, s->http_blocked);
	printf("  events: %" PRIu64 " written, %" PRIu64 " lost (%" PRIu64
	       " of them in the kernel's ring buffer)\n",
	    s->events, s->events_lost, s->ring_lost);
	printf("  workers:");
	for (int i = 0; i < s->n_workers; i++)
		printf("%s %s %s", i ? "," : "", s->workers[i].name,
		    s->workers[i].up ? "up" : "restarting");
	for (int i = 0, first = 1; i < s->n_workers; i++)
		if (s->workers[i].restarts) {
			printf("%s%s %d", first ? "; restarted: " : ", ", s->workers[i].name,
			    s->workers[i].restarts);
			first = 0;
		}
	printf("\n");
	ev = status_last_events(dfd, s->name, STATUS_LAST_EVENTS, &len);
	if (ev) {
		printf("  last events:\n");
		for (char *l = ev, *nl; *l; l = nl + 1) {
			nl = strchr(l, '\n');
			if (!nl)
				break;
			printf("    %.*s\n", (int)(nl - l), l);
		}
		free(ev);
	}
}

static void
status_json(const struct inst_status *s, int dfd)
{
	struct jbuf jb = {0};
	char line[PATH_MAX + 256], t[32], *ev;
	size_t len = 0;

	status_summary(s, line, sizeof(line));
	fmt_time(s->started, t, sizeof(t));
	jb_begin(&jb);
	jb_str(&jb, "name", s->name);
	jb_int(&jb, "pid", s->pid);
	jb_str(&jb, "command", s->command);
	jb_str(&jb, "state", s->state);
	jb_str(&jb, "summary", line);
	jb_str(&jb, "mode", s->mode);
	jb_str(&jb, "target", s->target);
	jb_str(&jb, "cgroup", s->cgroup);
	jb_uint(&jb, "cgroupId", s->cgroup_id);
	jb_str(&jb, "started", t);
	jb_int(&jb, "updated", s->updated);
	jb_raw(&jb, ",\"rules\":{", 10);
	jb.n_fields = 0;
	jb_uint(&jb, "total", s->rules);
	jb_uint(&jb, "ip", s->rules_ip);
	jb_uint(&jb, "cidr", s->rules_cidr);
	jb_uint(&jb, "name", s->rules_name);
	jb_uint(&jb, "url", s->rules_url);
	jb_uint(&jb, "listFiles", s->list_files);
	jb_raw(&jb, "},\"counters\":{", 14);
	jb.n_fields = 0;
	jb_uint(&jb, "blocked", s->blocked);
	jb_uint(&jb, "connectBlocked", s->connect_blocked);
	jb_uint(&jb, "egressDropped", s->egress_dropped);
	jb_uint(&jb, "dnsBlocked", s->dns_blocked);
	jb_uint(&jb, "httpBlocked", s->http_blocked);
	jb_uint(&jb, "events", s->events);
	jb_uint(&jb, "eventsLost", s->events_lost);
	jb_uint(&jb, "ringLost", s->ring_lost);
	jb_raw(&jb, "},\"workers\":[", 13);
	for (int i = 0; i < s->n_workers; i++) {
		jb_raw(&jb, i ? ",{" : "{", i ? 2 : 1);
		jb.n_fields = 0;
		jb_str(&jb, "name", s->workers[i].name);
		jb_str(&jb, "state", s->workers[i].up ? "up" : "restarting");
		jb_int(&jb, "restarts", s->workers[i].restarts);
		jb_raw(&jb, "}", 1);
	}
	jb_raw(&jb, "]", 1);
	/* Each line the socket gives is one JSON object: an array of them. */
	jb_raw(&jb, ",\"lastEvents\":[", 15);
	ev = status_last_events(dfd, s->name, STATUS_LAST_EVENTS, &len);
	for (char *l = ev, *nl; l && *l; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			break;
		if (l != ev)
			jb_raw(&jb, ",", 1);
		jb_raw(&jb, l, (size_t)(nl - l));
	}
	free(ev);
	jb_raw(&jb, "]", 1);
	jb.n_fields = 1;
	jb_end(&jb);
	if (jb.err)
		fatalx("out of memory");
	(void)fwrite(jb.p, 1, jb.len, stdout);
	jb_free(&jb);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* status --json: a pinned instance without a status file, as one JSON line. */
static void
pinned_json(unsigned long long id, const char *state, pid_t pid, const char *cg)
{
	struct jbuf jb = {0};

	jb_begin(&jb);
	jb_str(&jb, "state", state);
	if (pid > 0)
		jb_int(&jb, "pid", pid);
	jb_uint(&jb, "cgroupId", id);
	if (cg)
		jb_str(&jb, "cgroup", cg);
	jb_end(&jb);
	if (!jb.err)
		(void)fwrite(jb.p, 1, jb.len, stdout);
	jb_free(&jb);
}

/*
 * Whether a loader holds the flock of instance id's lock file, and its pid:
 * 1 (running), 0 (nobody: stale), -errno.  /proc/locks is read rather than
 * a lock taken, so a reader never makes an attach starting meanwhile find
 * the instance taken.
 */
static int
lock_held(unsigned long long id, pid_t *ret_pid)
{
	char path[96], line[256], pid[16];
	struct stat st;
	int fd, held = 0;
	ssize_t n;
	FILE *f;

	*ret_pid = 0;
	instance_lock_path(id, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || !(f = fopen("/proc/locks", "re"))) {
		(void)close(fd);
		return -errno;
	}
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF" (blocked ones: "1: -> FLOCK ...") */
	while (!held && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long long ino;
		char type[16];

		if (sscanf(line, "%*d: %15s %*s %*s %*d %x:%x:%llu", type, &maj, &min, &ino) == 4 &&
		    !strcmp(type, "FLOCK") && makedev(maj, min) == st.st_dev && ino == st.st_ino)
			held = 1;
	}
	fclose(f);
	n = held ? pread(fd, pid, sizeof(pid) - 1, 0) : 0;
	if (n > 0) {
		pid[n] = '\0';
		*ret_pid = (pid_t)atoi(pid);
	}
	(void)close(fd);
	return held;
}

/*
 * Root only: one line per pinned instance (CGFW_PIN_DIR/<cgroup id>), running or
 * stale, but those in skip (shown from their status files, n_shown in all).
 * `cgfw-loader cleanup` removes the stale ones.
 */
static int
pins_list(const unsigned long long *skip, int n_skip, int n_shown, int json)
{
	char mnt[PATH_MAX];
	DIR *d = opendir(CGFW_PIN_DIR);
	struct dirent *de;
	int n = 0, bad = 0;

	if (cgroup2_mount(mnt, sizeof(mnt)) < 0)
		mnt[0] = '\0';
	if (!d) {
		if (errno != ENOENT)
			fatal("%s", CGFW_PIN_DIR);
		if (!n_shown && !json)
			printf("no cgfw instance\n");
		return 0;
	}
	while ((de = readdir(d))) {
		char *end;
		unsigned long long id = strtoull(de->d_name, &end, 10);
		const char *cg;
		int skipped = 0, held;
		pid_t holder;

		/* <id>-new: a replacement (loader/attach.c) whose loader died before the rename. */
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || (*end && strcmp(end, "-new")))
			continue;
		for (int i = 0; !*end && i < n_skip; i++)
			skipped |= skip[i] == id;
		if (skipped)
			continue;
		n++;
		cg = mnt[0] ? cgroup_by_id(mnt, id) : NULL;
		held = lock_held(id, &holder);
		if (held < 0) {
			log_warn_r(held, "cannot check instance %llu", id);
			bad = 1;
		} else if (json) {
			pinned_json(id, held ? "running" : "stale", holder, cg);
		} else if (held) {
			printf("%llu running pid %d cgroup %s\n", id, (int)holder,
			    cg ? cg : "(not found)");
		} else {
			printf("%llu stale cgroup %s (still filtered; cgfw-loader cleanup removes "
			       "it)\n",
			    id, cg ? cg : "(gone)");
		}
	}
	closedir(d);
	if (!n && !n_shown && !json)
		printf("no cgfw instance\n");
	return bad;
}

static void __attribute__((noreturn)) status_usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: cgfw-loader status [NAME] [--json]\n"
	    "  every running instance (or NAME) from its status file, for people or as\n"
	    "  JSON lines; as root also the pinned ones without one.  Needs the group\n"
	    "  " CGFW_LOG_GROUP " (or root).\n");
	exit(code);
}

/*
 * cgfw-loader status [NAME] [--json]: every named instance (or NAME), from
 * its status file; as root also the pinned instances that have none (stale:
 * a loader killed without its cleanup).  Needs no privilege but the
 * cgfw-log group (the directories are 02750, group cgfw-log).
 */
int
status_main(int argc, char *argv[])
{
	static const struct option lo[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *want;
	unsigned long long ids[256];
	struct dirent **de = NULL;
	int c, json = 0, dfd, n, n_ids = 0, shown = 0, denied = 0, bad = 0;

	optind = 0; /* a fresh scan (the options may follow NAME) */
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else
			status_usage(c == 'h' ? 0 : CGFW_EXIT_FAILED);
	}
	if (argc - optind > 1)
		fatalx("status: one instance name at most");
	want = optind < argc ? argv[optind] : NULL;
	if (want && !instance_name_valid(want))
		fatalx("status: \"%s\" is not an instance name", want);
	dfd = open(CGFW_INST_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = dfd < 0 ? 0 : scandirat(dfd, ".", &de, NULL, by_name);
	if (dfd < 0 && errno != ENOENT)
		fatal("%s", CGFW_INST_DIR);
	if (n < 0)
		fatal("%s", CGFW_INST_DIR);
	for (int i = 0; i < n; i++) {
		struct inst_status s;
		const char *name = de[i]->d_name;
		int r;

		if (name[0] == '.' || (want && strcmp(name, want) != 0))
			continue;
		r = status_read(dfd, name, &s);
		if (r == -ENOENT)
			continue; /* starting, or stopping: nothing to say yet */
		if (r == -EACCES) {
			denied++;
			continue;
		}
		if (r < 0) {
			log_warn_r(r, "%s/%s/status", CGFW_INST_DIR, name);
			bad = 1;
			continue;
		}
		/* A stale one's pins are listed (root) with the id cleanup takes. */
		if (strcmp(s.state, "stale") != 0 && n_ids < (int)(sizeof(ids) / sizeof(ids[0])))
			ids[n_ids++] = s.cgroup_id;
		if (json)
			status_json(&s, dfd);
		else
			status_print(&s, dfd);
		shown++;
	}
	for (int i = 0; i < n; i++)
		free(de[i]);
	free(de);
	if (dfd >= 0)
		(void)close(dfd);
	/*
	 * Nothing readable: not a member of the group.  Some: a directory made
	 * while the group did not exist yet (it is root's then) is said, the
	 * rest is shown.
	 */
	if (denied && !shown) {
		log_warnx("cannot read the status of %d instance%s in " CGFW_INST_DIR
		          ": it takes root or membership in the " CGFW_LOG_GROUP
		          " group (usermod -aG " CGFW_LOG_GROUP " USER, then log in again)",
		    denied, denied == 1 ? "" : "s");
		return CGFW_EXIT_FAILED;
	}
	if (denied)
		log_warnx("%d more instance%s in " CGFW_INST_DIR " %s not readable (started "
		          "before the group " CGFW_LOG_GROUP " existed?), ignoring",
		    denied, denied == 1 ? "" : "s", denied == 1 ? "is" : "are");
	if (want && !shown) {
		log_warnx("no running instance named %s", want);
		return CGFW_EXIT_FAILED;
	}
	/* The pins say more, but only root may look at them. */
	if (geteuid() == 0 && !want)
		return pins_list(ids, n_ids, shown, json) || bad ? CGFW_EXIT_FAILED : 0;
	if (!shown && !json)
		printf("no cgfw instance\n");
	return bad ? CGFW_EXIT_FAILED : 0;
}
