// SPDX-License-Identifier: MIT
/*
 * cgfw-monitor: reads the BPF ring buffer and writes the event stream.
 *
 * Trusts: the loader (over fd 3) for its configuration and fds, each checked.
 * Receives: HELLO, CONFIG, RULEs, FDS (ring buffer, read-only stats map, log
 * file, argv map, the proxies' event channels), COMMIT, NOTICEs, REFUSED
 * syscalls of the command (the loader answered them; this reports them),
 * CHANNELs of restarted proxies, SHUTDOWN (mon_from_loader[]).  Untrusted
 * input: ring-buffer records, the proxies' events and their counts of
 * events they dropped while this process did not read, and
 * /proc/PID/{cmdline,status} of the workload.  Sandbox: seccomp, base set
 * plus openat (for /proc), bpf(BPF_MAP_LOOKUP_ELEM) on fds it already holds
 * and ftruncate (to take back a partial JSON line).
 *
 * Loss is on the record: every 200 ms the kernel's count of ring-buffer drops
 * is read, and drops, like lines the log would not take (a full disk), become
 * EVENTS LOST lines in the stream and the lost count of MON_STATS at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uv.h>

#include "lib/bpfmap.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sandbox.h"
#include "events.h"

#define MON_MAX_RULES    (1U << 24)
/* How often the kernel's count of ring-buffer drops is read. */
#define MON_LOST_POLL_MS 200

/* An events channel from a proxy: untrusted input, its own dispatch table. */
struct mon_chan {
	int fd;
	int next_fd; /* a restarted proxy's channel, once the old handle is closed */
	struct ipc_peer ipc;
	uv_poll_t poll;
	const struct ipc_rule *table;
	struct mon *m;
};

enum { MON_CHAN_DNS, MON_CHAN_HTTP, MON_N_CHANS };

struct mon {
	struct ipc_peer loader;
	struct mon_out out;
	int debug;
	uint32_t n_rules_expected;
	int have_config;
	int have_fds;
	int committed;
	int stopping;
	int ring_fd;
	int stats_fd;
	int log_fd;
	struct mon_chan chans[MON_N_CHANS]; /* events from the proxies */
	struct ring_buffer *rb;
	uv_loop_t loop;
	uv_poll_t ipc_poll;
	uv_poll_t rb_poll;
	uv_timer_t lost_timer;
	uint64_t ring_lost_seen; /* the kernel's count at the last look */
	int warned_write;        /* the current run of write failures is said */
	uv_signal_t sigterm;
	uv_signal_t sigint;
};

static int
mon_on_hello(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	(void)ctx;
	return ipc_check_hello(p, env->loader_mon_hello, CGFW__ROLE__ROLE_LOADER);
}

static int
mon_on_config(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__MonConfigBegin *c = env->loader_mon_config;

	if (!(p->once_seen & 1))
		return ipc_violation(p, "config before hello");
	if (c->mode < CGFW__MODE__MODE_LOG_ONLY || c->mode > CGFW__MODE__MODE_BLOCK_LIST)
		return ipc_violation(p, "config: mode %d", (int)c->mode);
	if (c->n_rules > MON_MAX_RULES)
		return ipc_violation(p, "config: %u rules", c->n_rules);
	m->out.mode = c->mode;
	m->debug = c->debug;
	m->out.debug = c->debug;
	m->out.cgroup_id = c->target_cgroup_id;
	m->n_rules_expected = c->n_rules;
	m->out.rules = calloc(c->n_rules ? c->n_rules : 1, sizeof(*m->out.rules));
	if (!m->out.rules)
		fatal("calloc");
	m->out.json_fd = c->json_to_stdout ? STDOUT_FILENO : -1;
	m->out.json_name = c->json_to_stdout ? "stdout" : "log file";
	m->have_config = 1;
	return 0;
}

static int
mon_on_rule(struct mon *m, struct ipc_peer *p, const Cgfw__MonRule *r)
{
	struct mon_rule *mr;

	if (m->out.n_rules >= m->n_rules_expected)
		return ipc_violation(p, "more rules than the %u announced", m->n_rules_expected);
	if (r->id == 0 || (m->out.n_rules && r->id <= m->out.rules[m->out.n_rules - 1].id))
		return ipc_violation(p, "rule id %u out of order", r->id);
	if (r->action != CGFW__ACTION__ACTION_ALLOW && r->action != CGFW__ACTION__ACTION_BLOCK)
		return ipc_violation(p, "rule %u: action %d", r->id, (int)r->action);
	if (strlen(r->text) == 0 || strlen(r->text) > 4096 || strlen(r->origin) > 4096 ||
	    strlen(r->kind) > 32)
		return ipc_violation(p, "rule %u: bad text, origin or kind length", r->id);
	mr = &m->out.rules[m->out.n_rules];
	mr->id = r->id;
	mr->action = r->action;
	mr->text = strdup(r->text);
	mr->origin = strdup(r->origin);
	mr->kind = strdup(r->kind);
	if (!mr->text || !mr->origin || !mr->kind)
		fatal("strdup");
	m->out.n_rules++;
	return 0;
}

/* A batch of IP and CIDR rules: each checked as if it came alone. */
static int
mon_on_rules(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__MonRules *b = env->loader_mon_rules;

	if (!m->have_config || m->committed)
		return ipc_violation(p, "rules outside config");
	if (b->n_rules == 0)
		return ipc_violation(p, "an empty batch of rules");
	for (size_t i = 0; i < b->n_rules; i++) {
		int r = mon_on_rule(m, p, b->rules[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Ring buffer, stats map, [log file], DNS events: each kind once, checked. */
static int
mon_on_fds(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__Fds *f = env->loader_mon_fds;
	struct stat st;

	if (!m->have_config)
		return ipc_violation(p, "fds before config");
	if (f->n_kinds != p->n_fds || f->n_kinds < 5 || f->n_kinds > 6)
		return ipc_violation(p, "fds: %zu kinds, %zu fds", f->n_kinds, p->n_fds);
	for (size_t i = 0; i < f->n_kinds; i++) {
		int *slot;

		switch (f->kinds[i]) {
		case CGFW__FD_KIND__FD_RINGBUF:
			slot = &m->ring_fd;
			break;
		case CGFW__FD_KIND__FD_STATS_MAP:
			slot = &m->stats_fd;
			break;
		case CGFW__FD_KIND__FD_LOG_FILE:
			slot = &m->log_fd;
			break;
		case CGFW__FD_KIND__FD_DNS_EVENTS:
			slot = &m->chans[MON_CHAN_DNS].fd;
			break;
		case CGFW__FD_KIND__FD_HTTP_EVENTS:
			slot = &m->chans[MON_CHAN_HTTP].fd;
			break;
		case CGFW__FD_KIND__FD_ARGV_MAP:
			slot = &m->out.argv_fd;
			break;
		default:
			return ipc_violation(p, "fds: unexpected kind %d", (int)f->kinds[i]);
		}
		if (*slot >= 0)
			return ipc_violation(p, "fds: kind %d twice", (int)f->kinds[i]);
		*slot = p->fds[i];
		p->fds[i] = -1;
	}
	p->n_fds = 0;
	if (m->ring_fd < 0 || m->stats_fd < 0 || m->chans[MON_CHAN_DNS].fd < 0 ||
	    m->chans[MON_CHAN_HTTP].fd < 0 || m->out.argv_fd < 0 ||
	    (m->log_fd < 0) != (m->out.json_fd == STDOUT_FILENO))
		return ipc_violation(p, "fds: missing ones for this config");
	if (bpfmap_verify(m->ring_fd, CGFW_MAP_EVENTS) < 0)
		return ipc_violation(p, "fds: the ring buffer is not cgfw_events");
	if (bpfmap_verify(m->stats_fd, CGFW_MAP_STATS) < 0)
		return ipc_violation(p, "fds: the stats map is not cgfw_stats");
	if (bpfmap_verify(m->out.argv_fd, CGFW_MAP_ARGV) < 0)
		return ipc_violation(p, "fds: the argv map is not cgfw_argv");
	for (int i = 0; i < MON_N_CHANS; i++)
		if (ipc_check_socket(m->chans[i].fd, AF_UNIX, SOCK_SEQPACKET) < 0)
			return ipc_violation(p, "fds: an events socket is not SEQPACKET");
	if (m->log_fd >= 0) {
		if (fstat(m->log_fd, &st) < 0 ||
		    !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
			return ipc_violation(p, "fds: the log file is not a file or pipe");
		m->out.json_fd = m->log_fd;
	}
	m->have_fds = 1;
	return 0;
}

static int
mon_on_commit(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;

	(void)env;
	if (!m->have_config || !m->have_fds || m->out.n_rules != m->n_rules_expected)
		return ipc_violation(p, "commit of an incomplete config (%zu of %u rules)",
		    m->out.n_rules, m->n_rules_expected);
	m->committed = 1;
	return 0;
}

static void mon_stop(struct mon *m);

static int
mon_on_shutdown(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;

	(void)env;
	if (!m->committed)
		return ipc_violation(p, "shutdown before commit");
	mon_stop(m);
	return 0;
}

/*
 * A line that could not be written is counted and reported in the JSON once
 * writing works again: one warning per run of failures, not one per event.
 */
static void
mon_write_failed(struct mon *m, int r)
{
	if (r >= 0 || m->warned_write)
		return;
	m->warned_write = 1;
	if (m->out.json_broken)
		log_warn_r(r,
		    "%s: a partial line cannot be taken back; writing no more events "
		    "there, counting them as lost",
		    m->out.json_name);
	else
		log_warn_r(r, "cannot write to the %s; counting lost events until it works again",
		    m->out.json_name);
}

static int
mon_on_notice(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	int r;

	if (!m->committed)
		return ipc_violation(p, "notice before commit");
	r = mon_notice_emit(&m->out, env->loader_mon_notice);
	if (r == -EINVAL)
		return ipc_violation(p, "notice: a field is out of range");
	mon_write_failed(m, r);
	return 0;
}

static void mon_chan_drain(struct mon_chan *ch);
static void chan_cb(uv_poll_t *h, int status, int events);

/* The old channel's handle is closed: the new one takes its place. */
static void
chan_reopen_cb(uv_handle_t *h)
{
	struct mon_chan *ch = h->data;
	struct mon *m = ch->m;

	ch->fd = ch->next_fd;
	ch->next_fd = -1;
	if (m->stopping) {
		(void)close(ch->fd);
		ch->fd = -1;
		return;
	}
	ipc_peer_init(&ch->ipc, ch->fd, ch == &m->chans[MON_CHAN_DNS] ? "dnsproxy" : "httpproxy");
	uv_poll_init(&m->loop, &ch->poll, ch->fd);
	ch->poll.data = ch;
	uv_poll_start(&ch->poll, UV_READABLE | UV_DISCONNECT, chan_cb);
}

/*
 * A proxy was restarted with a fresh events channel: what the dead one sent
 * is read first, then the new channel replaces it (HELLO again, and so on).
 */
static int
mon_on_channel(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__Fds *f = env->loader_mon_channel;
	struct mon_chan *ch;
	struct stat st;

	if (!m->committed)
		return ipc_violation(p, "channel before commit");
	if (f->n_kinds != 1 || p->n_fds != 1 ||
	    (f->kinds[0] != CGFW__FD_KIND__FD_DNS_EVENTS &&
	        f->kinds[0] != CGFW__FD_KIND__FD_HTTP_EVENTS))
		return ipc_violation(p, "channel: %zu kinds, %zu fds", f->n_kinds, p->n_fds);
	/* fstat: the sandbox has no getsockopt(); the kind was checked by the loader. */
	if (fstat(p->fds[0], &st) < 0 || !S_ISSOCK(st.st_mode))
		return ipc_violation(p, "channel: not a socket");
	ch = &m->chans[f->kinds[0] == CGFW__FD_KIND__FD_DNS_EVENTS ? MON_CHAN_DNS : MON_CHAN_HTTP];
	if (ch->next_fd >= 0 || m->stopping)
		return ipc_violation(p, "channel: replaced again before the last one took");
	mon_chan_drain(ch);
	if (ch->ipc.fd >= 0) {
		uv_poll_stop(&ch->poll);
		ipc_peer_close(&ch->ipc);
	}
	ch->next_fd = p->fds[0];
	p->fds[0] = -1;
	p->n_fds = 0;
	uv_close((uv_handle_t *)&ch->poll, chan_reopen_cb);
	return 0;
}
/*
 * A syscall the command's seccomp filter refused (the loader answered it).
 * The numbers are the kernel's; the process is the workload's, so what
 * /proc says of it is checked like any other input.
 */
static int
mon_on_refused(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__Refused *rf = env->loader_mon_refused;
	int r;

	if (!m->committed)
		return ipc_violation(p, "refused before commit");
	if (rf->n_args != 3 || rf->tid == 0)
		return ipc_violation(p, "refused: %zu arguments, tid %u", rf->n_args, rf->tid);
	r = mon_seccomp_emit(&m->out, rf->tid, rf->nr, rf->args);
	if (r == -EINVAL)
		return ipc_violation(
		    p, "refused: syscall %d is none the filter hands over", rf->nr);
	mon_write_failed(m, r);
	{
		Cgfw__Envelope e = CGFW__ENVELOPE__INIT;
		Cgfw__Reported rep = CGFW__REPORTED__INIT;

		rep.id = rf->id;
		e.body_case = CGFW__ENVELOPE__BODY_MON_LOADER_REPORTED;
		e.mon_loader_reported = &rep;
		r = ipc_send(&m->loader, &e, NULL, 0);
		if (r < 0)
			log_warn_r(r, "cannot tell the loader an event was written");
	}
	return 0;
}

/* What the loader may send the monitor.  Anything else kills the link. */
static const struct ipc_rule mon_from_loader[] = {
    {CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, IPC_ONCE, mon_on_hello},
    {CGFW__ENVELOPE__BODY_LOADER_MON_CONFIG, IPC_ONCE, mon_on_config},
    {CGFW__ENVELOPE__BODY_LOADER_MON_RULES, 0, mon_on_rules},
    {CGFW__ENVELOPE__BODY_LOADER_MON_FDS, IPC_ONCE, mon_on_fds},
    {CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT, IPC_ONCE, mon_on_commit},
    {CGFW__ENVELOPE__BODY_LOADER_MON_SHUTDOWN, IPC_ONCE, mon_on_shutdown},
    {CGFW__ENVELOPE__BODY_LOADER_MON_NOTICE, 0, mon_on_notice},
    {CGFW__ENVELOPE__BODY_LOADER_MON_REFUSED, 0, mon_on_refused},
    {CGFW__ENVELOPE__BODY_LOADER_MON_CHANNEL, 0, mon_on_channel},
    {0, 0, NULL},
};

static int
mon_on_dns_hello(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	(void)ctx;
	return ipc_check_hello(p, env->dns_mon_hello, CGFW__ROLE__ROLE_DNSPROXY);
}

static int
mon_on_dns_event(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	int r;

	if (!(p->once_seen & 1))
		return ipc_violation(p, "event before hello");
	r = mon_dns_event_emit(&m->out, env->dns_mon_event);
	if (r == -EINVAL)
		return ipc_violation(p, "dns event: a field is out of range");
	mon_write_failed(m, r);
	return 0;
}

/* Events a proxy dropped while this monitor did not read (lib/evq.c). */
static int
mon_on_lost(struct mon *m, struct ipc_peer *p, const Cgfw__EventsLost *l, enum mon_lost_kind kind)
{
	int r;

	if (!(p->once_seen & 1))
		return ipc_violation(p, "events lost before hello");
	if (l->count == 0)
		return ipc_violation(p, "events lost: a count of 0");
	r = mon_proxy_lost_emit(&m->out, l->count, kind);
	mon_write_failed(m, r);
	return 0;
}

static int
mon_on_dns_lost(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	return mon_on_lost(ctx, p, env->dns_mon_lost, MON_LOST_DNSQ);
}

/* What the DNS proxy may send the monitor.  Anything else closes the channel. */
static const struct ipc_rule mon_from_dns[] = {
    {CGFW__ENVELOPE__BODY_DNS_MON_HELLO, IPC_ONCE, mon_on_dns_hello},
    {CGFW__ENVELOPE__BODY_DNS_MON_EVENT, 0, mon_on_dns_event},
    {CGFW__ENVELOPE__BODY_DNS_MON_LOST, 0, mon_on_dns_lost},
    {0, 0, NULL},
};

static int
mon_on_http_hello(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	(void)ctx;
	return ipc_check_hello(p, env->http_mon_hello, CGFW__ROLE__ROLE_HTTPPROXY);
}

static int
mon_on_http_event(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	int r;

	if (!(p->once_seen & 1))
		return ipc_violation(p, "event before hello");
	r = mon_http_event_emit(&m->out, env->http_mon_event);
	if (r == -EINVAL)
		return ipc_violation(p, "http event: a field is out of range");
	mon_write_failed(m, r);
	return 0;
}

static int
mon_on_http_lost(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	return mon_on_lost(ctx, p, env->http_mon_lost, MON_LOST_HTTPQ);
}

/* What the HTTP proxy may send the monitor.  Anything else closes the channel. */
static const struct ipc_rule mon_from_http[] = {
    {CGFW__ENVELOPE__BODY_HTTP_MON_HELLO, IPC_ONCE, mon_on_http_hello},
    {CGFW__ENVELOPE__BODY_HTTP_MON_EVENT, 0, mon_on_http_event},
    {CGFW__ENVELOPE__BODY_HTTP_MON_LOST, 0, mon_on_http_lost},
    {0, 0, NULL},
};

static void
mon_chan_drain(struct mon_chan *ch)
{
	Cgfw__Envelope *env;
	int r;

	while (ch->ipc.fd >= 0) {
		r = ipc_recv(&ch->ipc, &env);
		if (r == -EAGAIN)
			return;
		if (r == 0)
			r = ipc_dispatch(&ch->ipc, ch->table, ch->m, env);
		if (r < 0) {
			/* EOF: the proxy is gone, what it sent was written. */
			if (r != -EPIPE)
				log_warnx("%s events channel: %s; closing it", ch->ipc.name,
				    r == -EPROTO ? ch->ipc.violation : strerror(-r));
			uv_poll_stop(&ch->poll);
			ipc_peer_close(&ch->ipc);
		}
	}
}

static void
chan_cb(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	mon_chan_drain(h->data);
}

static int
mon_ring_cb(void *ctx, void *data, size_t len)
{
	struct mon *m = ctx;
	int r = mon_event_emit(&m->out, data, len);

	if (r == -EINVAL)
		log_warnx("malformed ring-buffer record (%zu bytes), ignoring", len);
	else
		mon_write_failed(m, r);
	return 0;
}

/* The kernel's count of events the full ring buffer refused, summed over CPUs. */
static uint64_t
mon_ring_lost(struct mon *m)
{
	__u64 vals[512];
	__u32 key = CGFW_STAT_EVENTS_LOST;
	uint64_t sum = 0;
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0 || ncpu > 512)
		return 0;
	if (bpf_map_lookup_elem(m->stats_fd, &key, vals) < 0)
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/*
 * Loss is an event: what the ring buffer dropped since the last look, and
 * losses still owed to the JSON (a log that could not be written) get their
 * EVENTS LOST lines now, not only with the next event.
 */
static void
mon_check_lost(struct mon *m)
{
	uint64_t seen = mon_ring_lost(m);
	int r;

	if (seen > m->ring_lost_seen) {
		mon_lost_add(&m->out, MON_LOST_RING, seen - m->ring_lost_seen, 0);
		m->ring_lost_seen = seen;
	}
	if (mon_lost_sum(&m->out, 1)) {
		r = mon_lost_flush(&m->out);
		mon_write_failed(m, r);
	}
	/* Once the losses are on the record, the next failure is news again. */
	if (!mon_lost_sum(&m->out, 1) && !m->out.json_broken)
		m->warned_write = 0;
}

static void
lost_timer_cb(uv_timer_t *h)
{
	mon_check_lost(h->data);
}

static void
mon_send_stats(struct mon *m)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__MonStats st = CGFW__MON_STATS__INIT;
	int r;

	mon_check_lost(m);
	st.events = m->out.n_events;
	st.lost = mon_lost_sum(&m->out, 0);
	st.unwritten = m->out.lost[MON_LOST_WRITE].total;
	st.bad = m->out.n_bad;
	if (st.lost)
		log_warnx("%llu events were lost: %llu the ring buffer was full, %llu not written "
		          "to the %s, %llu dropped by the proxies",
		    (unsigned long long)st.lost,
		    (unsigned long long)m->out.lost[MON_LOST_RING].total,
		    (unsigned long long)st.unwritten, m->out.json_name,
		    (unsigned long long)(m->out.lost[MON_LOST_DNSQ].total +
		                         m->out.lost[MON_LOST_HTTPQ].total));
	if (mon_lost_sum(&m->out, 1))
		log_warnx("%llu of them are in no EVENTS LOST line: the %s could not be written",
		    (unsigned long long)mon_lost_sum(&m->out, 1), m->out.json_name);
	env.body_case = CGFW__ENVELOPE__BODY_MON_LOADER_STATS;
	env.mon_loader_stats = &st;
	r = ipc_send(&m->loader, &env, NULL, 0);
	if (r < 0)
		log_warn_r(r, "cannot report stats to the loader");
}

static void
close_cb(uv_handle_t *h)
{
	(void)h;
}

/* Drain what the kernel queued, report, and let the loop run dry. */
static void
mon_stop(struct mon *m)
{
	if (m->stopping)
		return;
	m->stopping = 1;
	if (m->rb)
		(void)ring_buffer__consume(m->rb);
	for (int i = 0; i < MON_N_CHANS; i++)
		mon_chan_drain(&m->chans[i]);
	if (m->committed)
		mon_send_stats(m);
	if (m->rb)
		for (int i = 0; i < MON_N_CHANS; i++)
			if (!uv_is_closing((uv_handle_t *)&m->chans[i].poll))
				uv_close((uv_handle_t *)&m->chans[i].poll, close_cb);
	uv_close((uv_handle_t *)&m->ipc_poll, close_cb);
	if (uv_is_active((uv_handle_t *)&m->rb_poll) || m->rb) {
		uv_close((uv_handle_t *)&m->rb_poll, close_cb);
		uv_close((uv_handle_t *)&m->lost_timer, close_cb);
	}
	uv_close((uv_handle_t *)&m->sigterm, close_cb);
	uv_close((uv_handle_t *)&m->sigint, close_cb);
}

static void
rb_cb(uv_poll_t *h, int status, int events)
{
	struct mon *m = h->data;

	(void)events;
	if (status < 0) {
		log_warnx("ring buffer poll: %s", uv_strerror(status));
		return;
	}
	(void)ring_buffer__consume(m->rb);
}

static void
ipc_cb(uv_poll_t *h, int status, int events)
{
	struct mon *m = h->data;
	int r;

	(void)events;
	if (status < 0)
		return;
	r = ipc_drain(&m->loader, mon_from_loader, m, &m->stopping);
	if (r == -EPIPE)
		/* The loader is gone: report what is queued and leave. */
		mon_stop(m);
	else if (r < 0)
		fatalx("loader link: %s", r == -EPROTO ? m->loader.violation : strerror(-r));
}

static void
sig_cb(uv_signal_t *h, int signum)
{
	(void)signum;
	mon_stop(h->data);
}

/* HELLO, CONFIG, RULEs, FDS, COMMIT: bounded in time, in order. */
static void
mon_handshake(struct mon *m)
{
	proc_worker_handshake(&m->loader, CGFW__ENVELOPE__BODY_MON_LOADER_HELLO,
	    CGFW__ROLE__ROLE_MONITOR, mon_from_loader, m, &m->committed);
}

static void
mon_init(struct mon *m, int argc, char *argv[])
{
	struct timespec mono, real;

	(void)argv;
	log_init("cgfw-monitor", 0);
	if (argc != 1)
		fatalx("takes no arguments; it is started by cgfw-loader");
	ipc_peer_init(&m->loader, CGFW_FD_IPC, "loader");
	m->ring_fd = m->stats_fd = m->log_fd = m->out.argv_fd = -1;
	for (int i = 0; i < MON_N_CHANS; i++) {
		m->chans[i].fd = m->chans[i].next_fd = -1;
		m->chans[i].m = m;
	}
	m->chans[MON_CHAN_DNS].table = mon_from_dns;
	m->chans[MON_CHAN_HTTP].table = mon_from_http;
	m->out.json_fd = -1;
	m->out.text_fd = STDERR_FILENO;
	m->out.proc_root = "/proc";
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	m->out.realtime_offset_ns =
	    ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
	if (ipc_check_socket(CGFW_FD_IPC, AF_UNIX, SOCK_SEQPACKET) < 0)
		fatalx("fd %d is not the loader's SEQPACKET socket", CGFW_FD_IPC);
}

static void
mon_sandbox(void)
{
	static const char *const extra[] = {
	    "openat",    /* /proc/PID/cmdline */
	    "bpf:1",     /* BPF_MAP_LOOKUP_ELEM (1) only: the stats map fd */
	    "ftruncate", /* takes back a partial JSON line (events.c json_undo()) */
	    NULL,
	};
	int r = sandbox_apply("cgfw-monitor", extra);

	if (r < 0)
		fatal_r(r, "cannot install the seccomp filter");
}

static int
mon_run(struct mon *m)
{
	int r;

	m->rb = ring_buffer__new(m->ring_fd, mon_ring_cb, m, NULL);
	if (!m->rb)
		fatal("cannot map the ring buffer");
	log_init("cgfw-monitor", m->debug);

	if (uv_loop_init(&m->loop) < 0)
		fatalx("uv_loop_init");
	uv_poll_init(&m->loop, &m->ipc_poll, m->loader.fd);
	uv_poll_init(&m->loop, &m->rb_poll, ring_buffer__epoll_fd(m->rb));
	uv_signal_init(&m->loop, &m->sigterm);
	uv_signal_init(&m->loop, &m->sigint);
	m->ipc_poll.data = m->rb_poll.data = m->sigterm.data = m->sigint.data = m;
	uv_poll_start(&m->ipc_poll, UV_READABLE | UV_DISCONNECT, ipc_cb);
	uv_poll_start(&m->rb_poll, UV_READABLE, rb_cb);
	uv_timer_init(&m->loop, &m->lost_timer);
	m->lost_timer.data = m;
	uv_timer_start(&m->lost_timer, lost_timer_cb, MON_LOST_POLL_MS, MON_LOST_POLL_MS);
	for (int i = 0; i < MON_N_CHANS; i++) {
		struct mon_chan *ch = &m->chans[i];

		ipc_peer_init(&ch->ipc, ch->fd, i == MON_CHAN_DNS ? "dnsproxy" : "httpproxy");
		uv_poll_init(&m->loop, &ch->poll, ch->fd);
		ch->poll.data = ch;
		uv_poll_start(&ch->poll, UV_READABLE | UV_DISCONNECT, chan_cb);
	}
	uv_signal_start(&m->sigterm, sig_cb, SIGTERM);
	uv_signal_start(&m->sigint, sig_cb, SIGINT);

	mon_sandbox();
	{
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
		Cgfw__MonReady ready = CGFW__MON_READY__INIT;

		env.body_case = CGFW__ENVELOPE__BODY_MON_LOADER_READY;
		env.mon_loader_ready = &ready;
		r = ipc_send(&m->loader, &env, NULL, 0);
		if (r < 0)
			fatal_r(r, "cannot tell the loader I am ready");
	}

	uv_run(&m->loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&m->loop);
	if (r != 0)
		log_warnx("event loop closed with handles left: %s", uv_strerror(r));
	ring_buffer__free(m->rb);
	r = m->out.n_bad ? 1 : 0;
	mon_out_free(&m->out);
	return r;
}

int
main(int argc, char *argv[])
{
	struct mon m = {0};

	mon_init(&m, argc, argv); /* args, log_init() */
	proc_worker_enter();
	mon_handshake(&m);
	return mon_run(&m);
}
