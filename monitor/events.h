/* SPDX-License-Identifier: MIT */
/* Turning ring-buffer records into JSON lines and text lines. */
#ifndef CGFW_MON_EVENTS_H
#define CGFW_MON_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/egress.h"
#include "bpf/exec.h"
#include "ipc.pb-c.h"
#include "lib/json.h"

/* What the DNS proxy said about an IPv4 address, to name it in packet events. */
struct mon_ipdom {
	uint32_t addr; /* network order; 0 = empty slot */
	char domains[256];
	char because[40];
	char rule[160];
};

#define MON_IPDOM_SLOTS 65536

struct mon_rule {
	uint32_t id;
	int action; /* CGFW_ACT_* */
	char *text;
	char *origin;
	char *kind;
};

struct mon_out {
	int mode;               /* enum cgfw_mode */
	struct mon_rule *rules; /* IP/CIDR rules, ids strictly increasing */
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
	struct mon_ipdom *ipdom;    /* MON_IPDOM_SLOTS, allocated on first use */
	int debug;                  /* write allowed DNS events too */
	int argv_fd;                /* cgfw_argv map (bpf/exec.bpf.c), -1 if none */
	uint64_t n_proxy_lost;      /* events the proxies dropped (their queue was full) */
};

const struct mon_rule *mon_rule_find(const struct mon_out *out, uint32_t id);
/* Formats one record into out->jb (JSON) and out->tb (text); -EINVAL if malformed. */
int mon_event_format(struct mon_out *out, const void *data, size_t len);
/* Formats and writes. */
int mon_event_emit(struct mon_out *out, const void *data, size_t len);
/*
 * Checks and formats one DNS event and remembers its addresses; writes it when
 * it is blocked or its upstream failed, or with debug or in log-only mode.
 * -EINVAL if out of range.
 */
int mon_dns_event_emit(struct mon_out *out, const Cgfw__DnsEvent *ev);
int mon_dns_event_format(struct mon_out *out, const Cgfw__DnsEvent *ev);
/* The same for an HTTP event from cgfw-httpproxy. */
int mon_http_event_emit(struct mon_out *out, const Cgfw__HttpEvent *ev);
/*
 * A raw or packet socket() of the command, refused by its seccomp filter:
 * reported as a sock_create event of thread tid (its process, uid and name
 * from /proc).  -EINVAL if the family is not one the filter hands over.
 */
int mon_sock_refused_emit(struct mon_out *out, uint32_t tid, int family, int type, int protocol);
/*
 * count events a proxy dropped (reason: "dnsproxy queue full") as an EVENTS
 * LOST line; -EINVAL for a count of 0.
 */
int mon_proxy_lost_emit(struct mon_out *out, uint64_t count, const char *reason);
/* A notice from the loader (e.g. ATTACH LOST) as an ERROR line; -EINVAL if malformed. */
int mon_notice_emit(struct mon_out *out, const Cgfw__Notice *n);
int mon_http_event_format(struct mon_out *out, const Cgfw__HttpEvent *ev);
const struct mon_ipdom *mon_ipdom_find(const struct mon_out *out, uint32_t addr);
/* The command line of pid (spaces for NULs), else NULL. Caller frees. */
char *mon_cmdline(const char *proc_root, uint32_t pid, size_t *ret_len);
/* The argv captured at exec, else /proc/PID/cmdline, else NULL.  Caller frees. */
char *mon_command(const struct mon_out *out, uint32_t pid, size_t *ret_len);
const char *mon_because(int reason, int action, const char *kind, char *buf, size_t len);

#endif
