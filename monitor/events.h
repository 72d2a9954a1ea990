/* SPDX-License-Identifier: MIT */
/* Turning ring-buffer records into JSON lines and text lines. */
#ifndef CGFW_MON_EVENTS_H
#define CGFW_MON_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* Events that never reached the JSON stream, by cause: counted, then reported in it. */
enum mon_lost_kind {
	MON_LOST_RING,    /* the kernel's ring buffer was full (CGFW_STAT_EVENTS_LOST) */
	MON_LOST_WRITE,   /* the JSON line could not be written */
	MON_LOST_DNSQ,    /* cgfw-dnsproxy's queue to the monitor was full (lib/evq.c) */
	MON_LOST_HTTPQ,   /* cgfw-httpproxy's, likewise */
	MON_LOST_JOURNAL, /* the journal did not take the entry (journald behind) */
	MON_LOST_MAX,
};

struct mon_lost {
	uint64_t total;   /* since the start */
	uint64_t pending; /* not yet in an EVENTS LOST line */
	int err;          /* MON_LOST_WRITE: -errno of the write that began the pending run */
};

struct mon_out {
	int mode;               /* enum cgfw_mode */
	struct mon_rule *rules; /* IP/CIDR rules, ids strictly increasing */
	size_t n_rules;
	int slot;                   /* the policy slot rules belong to (bpf/egress.h) */
	struct mon_rule *alt_rules; /* the other slot's: a reload's, or the one before */
	size_t n_alt_rules;
	uint64_t cgroup_id;
	int json_fd;           /* the log file (--log-file), -1: none */
	const char *json_name; /* "log file" or "stdout", for EVENTS LOST; NULL: "log file" */
	int json_broken;       /* -errno: a partial line stuck, nothing more goes there */
	int text_fd;
	struct jbuf jb;
	struct jbuf tb;
	struct jbuf lost_jb; /* EVENTS LOST lines, formatted aside from the event they precede */
	struct jbuf lost_tb;
	struct jbuf jn; /* the journal's entry of the line in jb (journal_fd >= 0) */
	struct jbuf lost_jn;
	int prio;       /* the line's syslog priority, for the journal */
	int journal_fd; /* journald's socket (under systemd), -1: none; text lines then on it */
	/* Each JSON line to the event socket's readers too (monitor/stream.c), if set. */
	void (*stream)(void *ctx, const char *line, size_t n);
	void *stream_ctx;
	struct mon_lost lost[MON_LOST_MAX];
	uint64_t n_events; /* lines written, EVENTS LOST lines not counted */
	uint64_t n_bad;
	/* The proxies' blocked events, for MonStats. */
	uint64_t n_dns_blocked, n_http_blocked;
	int64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	const char *proc_root;      /* "/proc" (tests may point elsewhere) */
	struct mon_ipdom *ipdom;    /* MON_IPDOM_SLOTS, allocated on first use */
	int debug;                  /* write allowed DNS events too */
	int argv_fd;                /* cgfw_argv map (bpf/exec.bpf.c), -1 if none */
	/*
	 * Between mon_batch_begin() and mon_batch_end(), JSON lines gather in
	 * batch (batch_lines events) and text lines in tbatch, each written
	 * with one write() when MON_BATCH_BYTES fill up and at the end.
	 */
	int batching;
	struct jbuf batch, tbatch;
	size_t batch_lines;
	int64_t batch_now_ns;       /* CLOCK_MONOTONIC at the last flush: the cmd cache's clock */
	struct mon_cmd_cache *cmds; /* MON_CMD_SLOTS, allocated on first use while batching */
};

/* Bytes of JSON lines gathered before one write() of them. */
#define MON_BATCH_BYTES (256 << 10)
/* How long a process's command line is reused while batching (see mon_command()). */
#define MON_CMD_TTL_NS  (20 * 1000000LL)
#define MON_CMD_SLOTS   64

void mon_out_free(struct mon_out *out);
const struct mon_rule *mon_rule_find(const struct mon_out *out, uint32_t id);
void mon_rules_free(struct mon_rule *rules, size_t n);
/* Formats one record into out->jb (JSON) and out->tb (text); -EINVAL if malformed. */
int mon_event_format(struct mon_out *out, const void *data, size_t len);
/* Formats and writes. */
int mon_event_emit(struct mon_out *out, const void *data, size_t len);
/*
 * Lines written from now on are gathered and written together (one write()
 * per MON_BATCH_BYTES) until mon_batch_end(), which writes the rest.  Both
 * return what the write of the lines did (0 or -errno); lines it could not
 * write are counted lost (MON_LOST_WRITE) like single ones.
 */
void mon_batch_begin(struct mon_out *out);
int mon_batch_end(struct mon_out *out);
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
 * A syscall of the command refused by its seccomp filter (socket() of a raw
 * or packet socket or of another family, io_uring_setup()), reported as an
 * event of thread tid (its process, uid and name from /proc).  args: the
 * syscall's first three.  -EINVAL for a syscall the filter never hands over.
 */
int mon_seccomp_emit(struct mon_out *out, uint32_t tid, int nr, const uint64_t *args);
/*
 * Counts n events lost for a reason (err: -errno of a failed write).  They
 * are reported by the next line written, or by mon_lost_flush().
 */
void mon_lost_add(struct mon_out *out, enum mon_lost_kind kind, uint64_t n, int err);
/*
 * Writes an EVENTS LOST line for each cause with losses not yet reported.
 * 0 when nothing is left pending, else -errno (they stay pending).
 */
int mon_lost_flush(struct mon_out *out);
/*
 * count events a proxy dropped (reason: "dnsproxy queue full") as an EVENTS
 * LOST line; -EINVAL for a count of 0.
 */
int mon_proxy_lost_emit(struct mon_out *out, uint64_t count, enum mon_lost_kind kind);
/*
 * A reader of the event socket fell behind and was cut off: a READER
 * DROPPED line (count: readers cut off so far; reason: who, for people).
 */
int mon_reader_dropped_emit(struct mon_out *out, uint64_t count, const char *reason);
/* Losses of every kind: pending (no EVENTS LOST line yet) or in all. */
uint64_t mon_lost_sum(const struct mon_out *out, int pending);
/* A notice from the loader (e.g. ATTACH LOST) as an ERROR line; -EINVAL if malformed. */
int mon_notice_emit(struct mon_out *out, const Cgfw__Notice *n);
int mon_http_event_format(struct mon_out *out, const Cgfw__HttpEvent *ev);
const struct mon_ipdom *mon_ipdom_find(const struct mon_out *out, uint32_t addr);
/* The command line of pid (spaces for NULs), else NULL. Caller frees. */
char *mon_cmdline(const char *proc_root, uint32_t pid, size_t *ret_len);
/* The argv captured at exec, else /proc/PID/cmdline, else NULL.  Caller frees. */
char *mon_command(const struct mon_out *out, uint32_t pid, size_t *ret_len);
const char *mon_because(int reason, int action, const char *kind, char *buf, size_t len);
/*
 * A table of docs/events.md, from the tables the lines are written from:
 * "fields" (every event's), "dns-fields", "http-fields" (their extras),
 * "hooks", "because" (a packet event's).  -EINVAL for another name.
 */
int mon_events_doc(FILE *f, const char *what);

#endif
