// SPDX-License-Identifier: MIT
/*
 * What an instance says about itself.  cgfw-supervisor writes CGFW_INST_DIR/<name>/
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
#include "supervisor/supervisor.h"

#define STATUS_PERIOD_MS 2000

const char *
status_mode_name(int mode)
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
status_collect(const struct sup *s, struct inst_status *st, const char *state)
{
	const struct cp_hdr *h = s->cp.base;
	int healthy = !s->gave_up && !s->target_lost;

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", s->h.name);
	st->pid = (long long)s->pid;
	snprintf(
	    st->command, sizeof(st->command), "%s", s->h.cmd == HANDOVER_RUN ? "run" : "attach");
	snprintf(st->mode, sizeof(st->mode), "%s", status_mode_name(s->cp.pol.mode));
	snprintf(st->target, sizeof(st->target), "%s", s->h.target);
	snprintf(st->cgroup, sizeof(st->cgroup), "%s", s->h.cg_path);
	st->cgroup_id = s->h.cg_id;
	st->started = (long long)s->started;
	st->updated = (long long)time(NULL);
	st->rules_ip = s->cp.pol.n_ip4;
	st->rules_cidr = s->cp.pol.n_cidr4;
	st->rules_name = h ? h->n_names : 0;
	st->rules = st->rules_ip + st->rules_cidr + st->rules_name;
	for (size_t i = 0; i < s->cp.rules.n; i++)
		if (s->cp.rules.v[i].kind == RULE_URL) {
			st->rules_url++;
			/* A URL of an IP host is an IP rule of its own; one of a name is a name's. */
			st->rules += s->cp.rules.v[i].addr != 0;
		}
	st->list_files = s->h.list_files;
	st->connect_blocked = stat_sum(s->h.map[HO_MAP_STATS_RO], CGFW_STAT_CONNECT_BLOCKED);
	st->egress_dropped = stat_sum(s->h.map[HO_MAP_STATS_RO], CGFW_STAT_EGRESS_DROPPED);
	st->ring_lost = stat_sum(s->h.map[HO_MAP_STATS_RO], CGFW_STAT_EVENTS_LOST);
	st->dns_blocked = s->mon_base.dns_blocked + s->mon_last.dns_blocked;
	st->http_blocked = s->mon_base.http_blocked + s->mon_last.http_blocked;
	st->events = s->mon_base.events + s->mon_last.events;
	st->events_lost = s->mon_base.lost + s->mon_last.lost;
	st->blocked = st->connect_blocked + st->egress_dropped + st->dns_blocked + st->http_blocked;
	for (int i = 0; i < W_N; i++) {
		snprintf(st->workers[i].name, sizeof(st->workers[i].name), "%s", s->w[i].name);
		st->workers[i].up = s->w[i].ready;
		st->workers[i].restarts = s->w[i].restarts;
		if (!s->w[i].ready) {
			healthy = 0;
			snprintf(st->down, sizeof(st->down), "%s", s->w[i].name);
		}
	}
	st->n_workers = W_N;
	snprintf(st->state, sizeof(st->state), "%s",
	    state                    ? state
	    : s->target_lost         ? "target-lost"
	    : healthy || s->stopping ? "enforcing"
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
status_write(const struct sup *s, const struct inst_status *st)
{
	char tmp[PATH_MAX + 16], path[PATH_MAX + 16], key[64];
	FILE *f;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s/.status.tmp", s->h.inst_dir);
	snprintf(path, sizeof(path), "%s/status", s->h.inst_dir);
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
	kv(f, "name", st->name);
	kv_u(f, "pid", (uint64_t)st->pid);
	kv(f, "command", st->command);
	kv(f, "state", st->state);
	kv(f, "mode", st->mode);
	kv(f, "target", st->target);
	kv(f, "cgroup", st->cgroup);
	kv_u(f, "cgroup_id", st->cgroup_id);
	kv_u(f, "started", (uint64_t)st->started);
	kv_u(f, "updated", (uint64_t)st->updated);
	kv_u(f, "rules", st->rules);
	kv_u(f, "rules_ip", st->rules_ip);
	kv_u(f, "rules_cidr", st->rules_cidr);
	kv_u(f, "rules_name", st->rules_name);
	kv_u(f, "rules_url", st->rules_url);
	kv_u(f, "list_files", st->list_files);
	kv_u(f, "blocked", st->blocked);
	kv_u(f, "connect_blocked", st->connect_blocked);
	kv_u(f, "egress_dropped", st->egress_dropped);
	kv_u(f, "ring_lost", st->ring_lost);
	kv_u(f, "dns_blocked", st->dns_blocked);
	kv_u(f, "http_blocked", st->http_blocked);
	kv_u(f, "events", st->events);
	kv_u(f, "events_lost", st->events_lost);
	for (int i = 0; i < st->n_workers; i++) {
		snprintf(key, sizeof(key), "worker.%s", st->workers[i].name);
		kv(f, key, st->workers[i].up ? "up" : "restarting");
		snprintf(key, sizeof(key), "worker.%s.restarts", st->workers[i].name);
		kv_u(f, key, (uint64_t)st->workers[i].restarts);
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
 * From sup_wait() while enforcing (it wakes at least every 250 ms): the
 * file and STATUS= now when health changed, else every STATUS_PERIOD_MS.
 * state: NULL (from the instance's state), or "stopping".
 */
void
status_update(struct sup *s, const char *state)
{
	struct inst_status st;
	char line[sizeof(s->status_line)], msg[sizeof(line) + 16];
	long long now = sup_now_ms();
	unsigned sig = (unsigned)s->target_lost | (unsigned)s->gave_up << 1;
	int r;

	/* What changes at once when a worker goes or comes back. */
	for (int i = 0; i < W_N; i++)
		sig += (unsigned)s->w[i].ready << (2 + i) | (unsigned)s->w[i].restarts << 8;
	if (!state && sig == s->status_sig && now < s->status_next_ms)
		return;
	s->status_sig = sig;
	s->status_next_ms = now + STATUS_PERIOD_MS;
	status_collect(s, &st, state);
	r = status_write(s, &st);
	if (r < 0 && !s->status_warned)
		log_warn_r(r, "cannot write %s/status, ignoring", s->h.inst_dir);
	s->status_warned = r < 0;
	status_summary(&st, line, sizeof(line));
	if (strcmp(line, s->status_line) != 0) {
		snprintf(s->status_line, sizeof(s->status_line), "%s", line);
		snprintf(msg, sizeof(msg), "STATUS=%s", line);
		(void)sdnotify_send(msg);
	}
}

/* What STATUS= says now (READY=1 carries it). */
const char *
status_now(struct sup *s)
{
	s->status_next_ms = 0;
	status_update(s, NULL);
	return s->status_line;
}
