// SPDX-License-Identifier: MIT
/*
 * What an instance says about itself.  The loader writes CGFW_INST_DIR/<name>/
 * status (0640, group cgfw-log by the directory's setgid bit) at start, when
 * a worker goes down or comes back, and every STATUS_PERIOD_MS; always whole
 * (a temporary file renamed over it).  cgfw-ctl (`cgfw-loader status`)
 * reads them (ctl/status.c); the format is lib/status.c's, key=value lines
 * (docs/status.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/egress.h"
#include "lib/cpolicy.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sdnotify.h"
#include "loader.h"

#define STATUS_PERIOD_MS 2000

static const char *
mode_name(int mode)
{
	return mode == CGFW_MODE_ALLOW_LIST   ? "allow-list"
	       : mode == CGFW_MODE_BLOCK_LIST ? "block-list"
	                                      : "log-only";
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
