/* SPDX-License-Identifier: MIT */
/* Turning ring-buffer records into JSON lines and text lines. */
#ifndef CGFW_MON_EVENTS_H
#define CGFW_MON_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/egress.h"
#include "lib/json.h"

struct mon_rule {
	int action; /* CGFW_ACT_* */
	char *text;
	char *origin;
	char *kind;
};

struct mon_out {
	int mode;               /* enum cgfw_mode */
	struct mon_rule *rules; /* rules[id - 1] */
	size_t n_rules;
	uint64_t cgroup_id;
	int json_fd;
	int text_fd;
	struct jbuf jb;
	struct jbuf tb;
	uint64_t n_events;
	uint64_t n_bad;
	int64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	const char *proc_root;      /* "/proc" (tests may point elsewhere) */
};

/* Formats one record into out->jb (JSON) and out->tb (text); -EINVAL if malformed. */
int mon_event_format(struct mon_out *out, const void *data, size_t len);
/* Formats and writes. */
int mon_event_emit(struct mon_out *out, const void *data, size_t len);
/* The command line of pid (spaces for NULs), else NULL. Caller frees. */
char *mon_cmdline(const char *proc_root, uint32_t pid, size_t *ret_len);
const char *mon_because(int reason, int action, const char *kind, char *buf, size_t len);

#endif
