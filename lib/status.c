// SPDX-License-Identifier: MIT
/*
 * An instance's status file, the part both sides share: the loader writes it
 * (supervisor/status.c), cgfw-ctl reads it (ctl/status.c); status_summary() is
 * also the loader's STATUS= line for systemd.  The format is key=value
 * lines (docs/status.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/proc.h"
#include "lib/status.h"

/* An instance name: a directory name under CGFW_INST_DIR, safe in a unit name. */
int
instance_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CGFW_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-' ||
		        ch == '@'))
			return 0;
	}
	return 1;
}

/* Root (a directory the loader made) or a reserved uid (a loader's own, keeper.c). */
int
instance_owner_ok(uid_t uid)
{
	return uid == 0 || proc_uid_reserved(uid);
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

static int
parse_u64(const char *v, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(v, &end, 10);
	return errno || end == v || *end ? -EINVAL : 0;
}

/*
 * Written by the loader (the loader), in a directory only root writes: trusted,
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

void
instance_lock_path(unsigned long long id, char *buf, size_t len)
{
	snprintf(buf, len, CGFW_RUN_DIR "/instance-%llu.lock", id);
}

int
instance_sock_path(struct sockaddr_un *sun, const char *dir)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/" INSTANCE_EVENTS_SOCK, dir) >=
	    (int)sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

/* Every entry of dir but keep (a stale instance's socket and status, or all). */
void
instance_dir_clear(int dfd, const char *keep)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		(void)close(dfd);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (!keep || strcmp(de->d_name, keep) != 0))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}
