/* SPDX-License-Identifier: MIT */
/*
 * An instance's directory and status file (docs/status.md): what the loader
 * writes (supervisor/status.c) and cgfw-ctl reads (ctl/status.c), both from here.
 */
#ifndef CGFW_STATUS_H
#define CGFW_STATUS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/proc.h"

/* Named instances: CGFW_INST_DIR/<name>/ holds what readers of cgfw-log see. */
#define CGFW_INST_DIR        CGFW_RUN_DIR "/instances"
#define CGFW_NAME_MAX        64
#define CGFW_LOG_GROUP       "cgfw-log"
/* Each instance's links, pinned by cgroup id (loader/attach.c). */
#define CGFW_PIN_DIR         "/sys/fs/bpf/cgfw"
#define INSTANCE_EVENTS_SOCK "events.sock"
#define STATUS_VERSION       1
#define STATUS_MAX_BYTES     16384

/* An instance's status file, as written and read. */
#define STATUS_MAX_WORKERS 8
struct inst_status {
	char name[CGFW_NAME_MAX + 1];
	long long pid;
	char command[8]; /* run, attach */
	char state[16];  /* enforcing, degraded, target-lost, stopping */
	char mode[16];   /* allow-list, block-list, log-only */
	char target[PATH_MAX];
	char cgroup[PATH_MAX];
	uint64_t cgroup_id;
	long long started, updated; /* seconds since the epoch */
	uint64_t rules, rules_ip, rules_cidr, rules_name, rules_url, list_files;
	uint64_t blocked, connect_blocked, egress_dropped, ring_lost;
	uint64_t dns_blocked, http_blocked, events, events_lost; /* the monitor's */
	struct {
		char name[32];
		int up;
		int restarts;
	} workers[STATUS_MAX_WORKERS];
	int n_workers;
	char down[32]; /* a worker that is not up */
};

/* An instance name: a directory name under CGFW_INST_DIR, safe in a unit name. */
int instance_name_valid(const char *name);
/* Who may own an instance's directory and files: root, or a loader's reserved uid. */
int instance_owner_ok(uid_t uid);
/*
 * The text of a status file (NUL-terminated, changed in place) into s: 0,
 * -EPROTO for another version, -EBADMSG for a bad number or a missing key.
 */
int status_parse(char *buf, struct inst_status *s);
/* The one line systemd's STATUS= and `cgfw-loader status` show. */
void status_summary(const struct inst_status *s, char *buf, size_t len);
/* CGFW_RUN_DIR/instance-<id>.lock: held (flock) by the loader enforcing on cgroup id. */
void instance_lock_path(unsigned long long id, char *buf, size_t len);
/* dir/events.sock into *sun: 0, or -ENAMETOOLONG. */
struct sockaddr_un;
int instance_sock_path(struct sockaddr_un *sun, const char *dir);

/* Every entry of the directory dfd but keep (NULL: all); dfd is closed. */
void instance_dir_clear(int dfd, const char *keep);

#endif
