// SPDX-License-Identifier: MIT
/*
 * What an instance says about itself.  The loader writes CGFW_INST_DIR/<name>/
 * status (0640, group cgfw-log by the directory's setgid bit) at start, when
 * a worker goes down or comes back, and every STATUS_PERIOD_MS; always whole
 * (a temporary file renamed over it).  `cgfw-loader status` reads those
 * files, as root or as a member of cgfw-log, and prints them for people or
 * as JSON lines.  The format is key=value lines (docs/status.md).
 * status_summary() is the one line both `cgfw-loader status` and systemd's
 * STATUS= show.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/egress.h"
#include "lib/cpolicy.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sdnotify.h"
#include "loader.h"

#define STATUS_PERIOD_MS 2000
#define STATUS_VERSION   1
#define STATUS_MAX_BYTES 16384
#define STATUS_STALE_S   30 /* a file not rewritten for this long: its loader is gone */

static const char *
mode_name(int mode)
{
	return mode == CGFW_MODE_ALLOW_LIST   ? "allow-list"
	       : mode == CGFW_MODE_BLOCK_LIST ? "block-list"
	                                      : "log-only";
}

/*
 * The one line: where, which mode, how many rules, how many blocked, and
 * whether every worker is up.  systemd's STATUS= and `cgfw-loader status`.
 */
void
status_summary(const struct inst_status *s, char *buf, size_t len)
{
	char policy[96];

	if (!strcmp(s->mode, "log-only"))
		snprintf(policy, sizeof(policy), "log-only mode (nothing blocked)");
	else
		snprintf(policy, sizeof(policy), "%s mode, %" PRIu64 " rule%s; %" PRIu64 " blocked",
		    s->mode, s->rules, s->rules == 1 ? "" : "s", s->blocked);
	if (!strcmp(s->state, "enforcing"))
		snprintf(buf, len, "enforcing on %s: %s; workers up", s->target, policy);
	else if (!strcmp(s->state, "stale"))
		snprintf(buf, len,
		    "stale: cgfw-loader pid %lld is gone; %s stays filtered until cgfw-loader "
		    "cleanup",
		    s->pid, s->target);
	else if (!strcmp(s->state, "degraded"))
		snprintf(buf, len,
		    "degraded on %s: %s; %s is down (its traffic fails until it is back)",
		    s->target, policy, s->down[0] ? s->down : "a worker");
	else
		snprintf(buf, len, "%s on %s: %s", s->state, s->target, policy);
}

/* Per-CPU counter idx of the stats map, summed; 0 when it cannot be read. */
static uint64_t
stat_sum(int fd, uint32_t idx)
{
	__u64 vals[512];
	uint64_t sum = 0;
	int ncpu = libbpf_num_possible_cpus();

	if (fd < 0 || ncpu <= 0 || ncpu > 512 || bpf_map_lookup_elem(fd, &idx, vals) < 0)
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* The instance as it is now. */
static void
status_collect(const struct loader *l, struct inst_status *s, const char *state)
{
	const struct loader_opts *o = l->o;
	const struct cp_hdr *h = l->cp.base;
	int healthy = !l->gave_up && !l->target_lost;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", l->name);
	s->pid = (long long)l->pid;
	snprintf(s->command, sizeof(s->command), "%s", o->cmd == CMD_RUN ? "run" : "attach");
	snprintf(s->mode, sizeof(s->mode), "%s", mode_name(l->pol.mode));
	snprintf(s->target, sizeof(s->target), "%s", o->unit ? o->unit : l->cg_path);
	snprintf(s->cgroup, sizeof(s->cgroup), "%s", l->cg_path);
	s->cgroup_id = l->cg_id;
	s->started = (long long)l->started;
	s->updated = (long long)time(NULL);
	s->rules_ip = l->pol.n_ip4;
	s->rules_cidr = l->pol.n_cidr4;
	s->rules_name = h ? h->n_names : 0;
	s->rules = s->rules_ip + s->rules_cidr + s->rules_name;
	for (size_t i = 0; i < o->rules.n; i++)
		if (o->rules.v[i].kind == RULE_URL) {
			s->rules_url++;
			/* A URL of an IP host is an IP rule of its own; one of a name is a name's. */
			s->rules += o->rules.v[i].addr != 0;
		}
	for (int i = 0; i < o->n_files; i++)
		s->list_files += !o->files[i].replaced;
	s->connect_blocked = stat_sum(l->stats_ro_fd, CGFW_STAT_CONNECT_BLOCKED);
	s->egress_dropped = stat_sum(l->stats_ro_fd, CGFW_STAT_EGRESS_DROPPED);
	s->ring_lost = stat_sum(l->stats_ro_fd, CGFW_STAT_EVENTS_LOST);
	s->dns_blocked = l->mon_base.dns_blocked + l->mon_last.dns_blocked;
	s->http_blocked = l->mon_base.http_blocked + l->mon_last.http_blocked;
	s->events = l->mon_base.events + l->mon_last.events;
	s->events_lost = l->mon_base.lost + l->mon_last.lost;
	s->blocked = s->connect_blocked + s->egress_dropped + s->dns_blocked + s->http_blocked;
	for (int i = 0; i < W_N; i++) {
		snprintf(s->workers[i].name, sizeof(s->workers[i].name), "%s", l->w[i].name);
		s->workers[i].up = l->w[i].ready;
		s->workers[i].restarts = l->w[i].restarts;
		if (!l->w[i].ready) {
			healthy = 0;
			snprintf(s->down, sizeof(s->down), "%s", l->w[i].name);
		}
	}
	s->n_workers = W_N;
	snprintf(s->state, sizeof(s->state), "%s",
	    state                    ? state
	    : l->target_lost         ? "target-lost"
	    : healthy || l->stopping ? "enforcing"
	                             : "degraded");
}

/* A value on one line: control characters escaped (a cgroup path may hold any byte). */
static void
kv(FILE *f, const char *key, const char *val)
{
	char q[PATH_MAX * 4 + 8];

	fprintf(f, "%s=%s\n", key, log_escape(q, sizeof(q), val, strlen(val)));
}

static void
kv_u(FILE *f, const char *key, uint64_t v)
{
	fprintf(f, "%s=%" PRIu64 "\n", key, v);
}

/* The file, whole: written aside, then renamed over the old one. */
static int
status_write(const struct loader *l, const struct inst_status *s)
{
	char tmp[PATH_MAX + 16], path[PATH_MAX + 16], key[64];
	FILE *f;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s/.status.tmp", l->inst_dir);
	snprintf(path, sizeof(path), "%s/status", l->inst_dir);
	(void)unlink(tmp);
	/* The directory's setgid bit makes it group cgfw-log: no chown (no CAP_CHOWN here). */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	(void)fchmod(fd, 0640);
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		(void)close(fd);
		(void)unlink(tmp);
		return r;
	}
	fprintf(f, "# cgfw instance status (docs/status.md); cgfw-loader status reads it\n");
	kv_u(f, "version", STATUS_VERSION);
	kv(f, "name", s->name);
	kv_u(f, "pid", (uint64_t)s->pid);
	kv(f, "command", s->command);
	kv(f, "state", s->state);
	kv(f, "mode", s->mode);
	kv(f, "target", s->target);
	kv(f, "cgroup", s->cgroup);
	kv_u(f, "cgroup_id", s->cgroup_id);
	kv_u(f, "started", (uint64_t)s->started);
	kv_u(f, "updated", (uint64_t)s->updated);
	kv_u(f, "rules", s->rules);
	kv_u(f, "rules_ip", s->rules_ip);
	kv_u(f, "rules_cidr", s->rules_cidr);
	kv_u(f, "rules_name", s->rules_name);
	kv_u(f, "rules_url", s->rules_url);
	kv_u(f, "list_files", s->list_files);
	kv_u(f, "blocked", s->blocked);
	kv_u(f, "connect_blocked", s->connect_blocked);
	kv_u(f, "egress_dropped", s->egress_dropped);
	kv_u(f, "ring_lost", s->ring_lost);
	kv_u(f, "dns_blocked", s->dns_blocked);
	kv_u(f, "http_blocked", s->http_blocked);
	kv_u(f, "events", s->events);
	kv_u(f, "events_lost", s->events_lost);
	for (int i = 0; i < s->n_workers; i++) {
		snprintf(key, sizeof(key), "worker.%s", s->workers[i].name);
		kv(f, key, s->workers[i].up ? "up" : "restarting");
		snprintf(key, sizeof(key), "worker.%s.restarts", s->workers[i].name);
		kv_u(f, key, (uint64_t)s->workers[i].restarts);
	}
	if (fflush(f) != 0 || ferror(f))
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

/*
 * From loader_wait() while enforcing (it wakes at least every 250 ms): the
 * file and STATUS= now when health changed, else every STATUS_PERIOD_MS.
 * state: NULL (from the loader's state), or "stopping".
 */
void
status_update(struct loader *l, const char *state)
{
	struct inst_status s;
	char line[sizeof(l->status_line)], msg[sizeof(line) + 16];
	long long now = loader_now_ms();
	unsigned sig = (unsigned)l->target_lost | (unsigned)l->gave_up << 1;
	int r;

	/* What changes at once when a worker goes or comes back. */
	for (int i = 0; i < W_N; i++)
		sig += (unsigned)l->w[i].ready << (2 + i) | (unsigned)l->w[i].restarts << 8;
	if (!state && sig == l->status_sig && now < l->status_next_ms)
		return;
	l->status_sig = sig;
	l->status_next_ms = now + STATUS_PERIOD_MS;
	status_collect(l, &s, state);
	r = status_write(l, &s);
	if (r < 0 && !l->status_warned)
		log_warn_r(r, "cannot write %s/status, ignoring", l->inst_dir);
	l->status_warned = r < 0;
	status_summary(&s, line, sizeof(line));
	if (strcmp(line, l->status_line) != 0) {
		snprintf(l->status_line, sizeof(l->status_line), "%s", line);
		snprintf(msg, sizeof(msg), "STATUS=%s", line);
		(void)sdnotify_send(msg);
	}
}

/* What STATUS= says now (READY=1 carries it). */
const char *
status_now(struct loader *l)
{
	l->status_next_ms = 0;
	status_update(l, NULL);
	return l->status_line;
}

/* ---- cgfw-loader status: the reader (root, or a member of cgfw-log) ---- */

static int
parse_u64(const char *v, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(v, &end, 10);
	return errno || end == v || *end ? -EINVAL : 0;
}

/*
 * The text of a status file (NUL-terminated, changed in place) into s: 0,
 * -EPROTO for another version, -EBADMSG for a bad number or a missing key.
 * Written by root (the loader), in a directory only root writes: trusted,
 * but read strictly all the same; unknown keys are skipped (a newer
 * loader's).
 */
int
status_parse(char *buf, struct inst_status *s)
{
	char *line, *save = NULL;
	int r = 0;

	memset(s, 0, sizeof(*s));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '=');
		uint64_t u = 0;

		if (line[0] == '#' || !v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "version")) {
			if (parse_u64(v, &u) < 0 || u != STATUS_VERSION)
				r = -EPROTO;
		} else if (!strcmp(line, "name")) {
			snprintf(s->name, sizeof(s->name), "%s", v);
		} else if (!strcmp(line, "command")) {
			snprintf(s->command, sizeof(s->command), "%s", v);
		} else if (!strcmp(line, "state")) {
			snprintf(s->state, sizeof(s->state), "%s", v);
		} else if (!strcmp(line, "mode")) {
			snprintf(s->mode, sizeof(s->mode), "%s", v);
		} else if (!strcmp(line, "target")) {
			snprintf(s->target, sizeof(s->target), "%s", v);
		} else if (!strcmp(line, "cgroup")) {
			snprintf(s->cgroup, sizeof(s->cgroup), "%s", v);
		} else if (!strncmp(line, "worker.", 7)) {
			char *dot = strchr(line + 7, '.');
			int i;

			if (dot)
				*dot = '\0';
			for (i = 0; i < s->n_workers; i++)
				if (!strcmp(s->workers[i].name, line + 7))
					break;
			if (i == s->n_workers) {
				if (i == STATUS_MAX_WORKERS)
					continue;
				snprintf(
				    s->workers[i].name, sizeof(s->workers[i].name), "%s", line + 7);
				s->n_workers++;
			}
			if (!dot) {
				s->workers[i].up = !strcmp(v, "up");
				if (!s->workers[i].up && !s->down[0])
					snprintf(s->down, sizeof(s->down), "%s", line + 7);
			} else if (!strcmp(dot + 1, "restarts") && parse_u64(v, &u) == 0) {
				s->workers[i].restarts = (int)(u > INT_MAX ? INT_MAX : u);
			}
		} else {
			static const struct {
				const char *key;
				size_t off;
			} nums[] = {
#define N(k, f) {k, offsetof(struct inst_status, f)}
			    N("cgroup_id", cgroup_id),
			    N("rules", rules),
			    N("rules_ip", rules_ip),
			    N("rules_cidr", rules_cidr),
			    N("rules_name", rules_name),
			    N("rules_url", rules_url),
			    N("list_files", list_files),
			    N("blocked", blocked),
			    N("connect_blocked", connect_blocked),
			    N("egress_dropped", egress_dropped),
			    N("ring_lost", ring_lost),
			    N("dns_blocked", dns_blocked),
			    N("http_blocked", http_blocked),
			    N("events", events),
			    N("events_lost", events_lost),
#undef N
			};

			if (!strcmp(line, "pid") || !strcmp(line, "started") ||
			    !strcmp(line, "updated")) {
				if (parse_u64(v, &u) < 0 || u > INT64_MAX)
					r = -EBADMSG;
				*(line[0] == 'p'     ? &s->pid
				    : line[0] == 's' ? &s->started
				                     : &s->updated) = (long long)u;
				continue;
			}
			for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
				if (!strcmp(line, nums[k].key)) {
					if (parse_u64(v, &u) < 0)
						r = -EBADMSG;
					*(uint64_t *)((char *)s + nums[k].off) = u;
				}
		}
	}
	if (r == 0 &&
	    (!s->name[0] || !s->state[0] || !s->mode[0] || s->pid <= 0 || s->pid > INT_MAX))
		r = -EBADMSG;
	return r;
}

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

/*
 * cgfw-loader status [NAME] [--json]: every named instance (or NAME), from
 * its status file; as root also the pinned instances that have none (stale:
 * a loader killed without its cleanup).  Needs no privilege but the
 * cgfw-log group (the directories are 0750 root:cgfw-log).
 */
int
status_main(struct loader_opts *o)
{
	const char *want = o->argc ? o->argv[0] : NULL;
	unsigned long long ids[256];
	struct dirent **de = NULL;
	int dfd, n, n_ids = 0, shown = 0, denied = 0, bad = 0;

	if (o->argc > 1)
		fatalx("status: one instance name at most");
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
		if (o->json)
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
		return instances_walk(0, NULL, 0, ids, n_ids, shown, o->json) || bad
		           ? CGFW_EXIT_FAILED
		           : 0;
	if (!shown && !o->json)
		printf("no cgfw instance\n");
	return bad ? CGFW_EXIT_FAILED : 0;
}
