// SPDX-License-Identifier: MIT
/*
 * cgfw-monitor: reads the BPF ring buffer and writes the event stream: the
 * kernel's packet and exec records, the DNS proxy's DNS events, the HTTP
 * proxy's HTTP events, the loader's notices and refused syscalls.
 *
 * Trusts: the loader (over fd 3) for its configuration and fds, each checked.
 * Receives (lib/protocol.def, mon_from_loader): HELLO, CONFIG, RULES, FDS
 * (ring buffer, read-only stats map, log file, argv map, the proxies' event
 * channels, the event socket, journald's socket), COMMIT, NOTICEs, REFUSED syscalls of the command (the loader
 * answered them; this reports them), CHANNELs of restarted proxies, SHUTDOWN.
 * Untrusted input: ring-buffer records, the proxies' DNS and HTTP events and
 * their counts of events they dropped while this process did not read
 * (mon_from_dns, mon_from_http), /proc/PID/{cmdline,status} of the
 * workload, and the request lines of the event socket's readers (stream.c).
 * Sandbox: seccomp, base set plus openat (for /proc),
 * bpf(BPF_MAP_LOOKUP_ELEM) on fds it already holds, ftruncate (to take
 * back a partial JSON line), accept4 and getsockopt (the readers).  Its life is lib/worker.c's; main() is main.c.
 *
 * Loss is on the record: every 200 ms the kernel's count of ring-buffer drops
 * is read, and drops, like lines the log would not take (a full disk), become
 * EVENTS LOST lines in the stream and the lost count of MON_STATS at exit
 * (and of MON_PROGRESS every 2 s, with the other counters, for `status`).
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
#include "lib/ipc_send.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "events.h"
#include "monitor.h"
#include "stream.h"

/* How often the kernel's count of ring-buffer drops is read. */
#define MON_LOST_POLL_MS 200
/* How often the loader hears the counters (PROGRESS), when they changed. */
#define MON_PROGRESS_MS  2000

/* An events channel from a proxy: untrusted input, its own dispatch table. */
struct mon_chan {
	int fd;
	int next_fd; /* a restarted proxy's channel, once the old handle is closed */
	struct ipc_peer ipc;
	uv_poll_t poll;
	const struct ipc_handlers *table;
	struct mon *m;
};

enum { MON_CHAN_DNS, MON_CHAN_HTTP, MON_N_CHANS };

struct mon {
	struct worker_rt *rt;
	struct ipc_peer loader;
	struct mon_out out;
	int debug;
	uint32_t n_rules_expected;
	size_t rules_cap; /* out.rules grows as rules arrive, never by announcement */
	int have_fds;
	int committed;
	int stopping;
	int ring_fd;
	int stats_fd;
	int log_fd;
	int json_to_stdout; /* the log file is the loader's stdout (--log-file -) */
	int listen_fd;      /* the event socket, listening (stream.c) */
	int journal_fd;     /* journald's socket, -1 outside systemd */
	struct mon_stream stream;
	struct mon_chan chans[MON_N_CHANS]; /* events from the proxies */
	struct ring_buffer *rb;
	uv_loop_t loop;
	uv_poll_t rb_poll;
	uv_timer_t lost_timer;
	uint64_t ring_lost_seen; /* the kernel's count at the last look */
	int progress_ticks;      /* lost_timer ticks since the last PROGRESS */
	uint64_t progress_sum;   /* the counters' sum it carried (they only grow) */
	int warned_write;        /* the current run of write failures is said */
	uint32_t gen;            /* the policy generation in force */
	/* A reload (rl_gen != 0): its rules arrive here, then go to out.alt_rules. */
	uint32_t rl_gen, rl_expected;
	int rl_mode, rl_ready;
	struct mon_rule *rl_rules;
	size_t rl_n, rl_cap;
};

static int
mon_on_config(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__MonConfigBegin *c = env->loader_mon_config;

	(void)p;
	m->out.mode = c->mode;
	m->debug = c->debug;
	m->out.debug = c->debug;
	m->out.cgroup_id = c->target_cgroup_id;
	m->n_rules_expected = c->n_rules;
	/* The log file's name in messages: "stdout" when it is the loader's (--log-file -). */
	m->json_to_stdout = c->json_to_stdout;
	m->gen = c->gen;
	m->out.slot = (int)(c->gen & 1);
	m->out.json_name = c->json_to_stdout ? "stdout" : "log file";
	return 0;
}

/* One rule into *rules (the config's, or a reload's): ids in order, as many as announced. */
static int
mon_on_rule(struct ipc_peer *p, const Cgfw__MonRule *r, struct mon_rule **rules, size_t *n,
    size_t *cap, uint32_t expected)
{
	struct mon_rule *mr;

	if (*n >= expected)
		return ipc_violation(p, "more rules than the %u announced", expected);
	if (*n && r->id <= (*rules)[*n - 1].id)
		return ipc_violation(p, "rule id %u out of order", r->id);
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct mon_rule *v = reallocarray(*rules, c, sizeof(*v));

		if (!v)
			fatal("reallocarray");
		*rules = v;
		*cap = c;
	}
	mr = &(*rules)[*n];
	mr->id = r->id;
	mr->action = r->action;
	mr->text = strdup(r->text);
	mr->origin = strdup(r->origin);
	mr->kind = strdup(r->kind);
	if (!mr->text || !mr->origin || !mr->kind)
		fatal("strdup");
	(*n)++;
	return 0;
}

/* A batch of IP and CIDR rules (check_mon_rules() saw each): ids in order, as announced. */
static int
mon_on_rules(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__MonRules *b = env->loader_mon_rules;

	for (size_t i = 0; i < b->n_rules; i++) {
		int r = mon_on_rule(p, b->rules[i], &m->out.rules, &m->out.n_rules, &m->rules_cap,
		    m->n_rules_expected);

		if (r < 0)
			return r;
	}
	return 0;
}

static int
listening(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v;
}

/*
 * A reload's rules are whole: they name the events of the other slot from
 * now on (the loader flips to it only after RELOADED), replacing that
 * slot's previous table, two generations old.
 */
static int
mon_reload_ready(struct mon *m)
{
	Cgfw__Reloaded ack = CGFW__RELOADED__INIT;
	int r;

	mon_rules_free(m->out.alt_rules, m->out.n_alt_rules);
	m->out.alt_rules = m->rl_rules;
	m->out.n_alt_rules = m->rl_n;
	m->rl_rules = NULL;
	m->rl_n = m->rl_cap = 0;
	m->rl_ready = 1;
	ack.gen = m->rl_gen;
	r = ipc_send_mon_loader_reloaded(&m->loader, &ack);
	if (r < 0)
		log_warn_r(r, "cannot tell the loader the reload is prepared");
	return 0;
}

/* A new policy's IP and CIDR rules follow.  A newer reload replaces one not committed. */
static int
mon_on_reload(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__Reload *r = env->loader_mon_reload;

	if (r->gen != m->gen + 1)
		return ipc_violation(p, "reload to generation %u, %u in force", r->gen, m->gen);
	mon_rules_free(m->rl_rules, m->rl_n);
	m->rl_rules = NULL;
	m->rl_n = m->rl_cap = 0;
	m->rl_gen = r->gen;
	m->rl_mode = r->mode;
	m->rl_expected = r->n_rules;
	m->rl_ready = 0;
	return r->n_rules ? 0 : mon_reload_ready(m);
}

static int
mon_on_reload_rules(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__MonRules *b = env->loader_mon_reload_rules;

	if (!m->rl_gen || m->rl_ready)
		return ipc_violation(p, "reload rules without a reload");
	for (size_t i = 0; i < b->n_rules; i++) {
		int r =
		    mon_on_rule(p, b->rules[i], &m->rl_rules, &m->rl_n, &m->rl_cap, m->rl_expected);

		if (r < 0)
			return r;
	}
	return m->rl_n == m->rl_expected ? mon_reload_ready(m) : 0;
}

/* The loader flipped the BPF maps: the new slot is the one in force. */
static int
mon_on_reload_commit(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__ReloadCommit *c = env->loader_mon_reload_commit;
	struct mon_rule *v = m->out.rules;
	size_t n = m->out.n_rules;

	if (!m->rl_ready || c->gen != m->rl_gen)
		return ipc_violation(p, "commit of generation %u, %u prepared", c->gen, m->rl_gen);
	/* The old table stays as the other slot's: its events may still be in the ring. */
	m->out.rules = m->out.alt_rules;
	m->out.n_rules = m->out.n_alt_rules;
	m->out.alt_rules = v;
	m->out.n_alt_rules = n;
	m->out.slot = (int)(c->gen & 1);
	m->out.mode = m->rl_mode;
	m->gen = c->gen;
	m->rl_gen = 0;
	m->rl_ready = 0;
	return 0;
}

/*
 * Ring buffer, stats map, [log file], the proxies' events, argv map, the
 * event socket, [the journal's socket]: the
 * table let each kind through once; each is checked for what it is.
 */
static int
mon_on_fds(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	const Cgfw__Fds *f = env->loader_mon_fds;
	struct stat st;

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
		case CGFW__FD_KIND__FD_EVENTS_LISTEN:
			slot = &m->listen_fd;
			break;
		case CGFW__FD_KIND__FD_JOURNAL:
			slot = &m->journal_fd;
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
	    m->chans[MON_CHAN_HTTP].fd < 0 || m->out.argv_fd < 0 || m->listen_fd < 0 ||
	    (m->log_fd < 0 && m->json_to_stdout))
		return ipc_violation(p, "fds: missing ones for this config");
	if (ipc_check_socket(m->listen_fd, AF_UNIX, SOCK_STREAM) < 0 || !listening(m->listen_fd))
		return ipc_violation(p, "fds: the event socket is not a listening unix stream");
	if (m->journal_fd >= 0 && ipc_check_socket(m->journal_fd, AF_UNIX, SOCK_DGRAM) < 0)
		return ipc_violation(p, "fds: the journal's socket is not a unix datagram socket");
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
		if (fstat(m->log_fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
		                                     S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode)))
			return ipc_violation(p, "fds: the log file is not a file, pipe or socket");
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
	if (!m->have_fds || m->out.n_rules != m->n_rules_expected)
		return ipc_violation(p, "commit of an incomplete config (%zu of %u rules)",
		    m->out.n_rules, m->n_rules_expected);
	m->committed = 1;
	return 0;
}

static int
mon_on_shutdown(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;

	(void)p;
	(void)env;
	worker_stop(m->rt);
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

	/* One fd, DNS_EVENTS or HTTP_EVENTS (the table).  fstat: the sandbox has no getsockopt(); the kind was checked by the loader. */
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
	Cgfw__Reported rep = CGFW__REPORTED__INIT;
	int r;

	r = mon_seccomp_emit(&m->out, rf->tid, rf->nr, rf->args);
	if (r == -EINVAL)
		return ipc_violation(
		    p, "refused: syscall %d is none the filter hands over", rf->nr);
	mon_write_failed(m, r);
	rep.id = rf->id;
	r = ipc_send_mon_loader_reported(&m->loader, &rep);
	if (r < 0)
		log_warn_r(r, "cannot tell the loader an event was written");
	return 0;
}

/* The loader's messages (HELLO is the table's alone; lib/protocol.def). */
const struct ipc_handlers mon_from_loader = {
    .chan = IPC_CH_LOADER_MON,
    .on =
        {
            [IPC_M_LOADER_MON_CONFIG] = mon_on_config,
            [IPC_M_LOADER_MON_RULES] = mon_on_rules,
            [IPC_M_LOADER_MON_FDS] = mon_on_fds,
            [IPC_M_LOADER_MON_COMMIT] = mon_on_commit,
            [IPC_M_LOADER_MON_NOTICE] = mon_on_notice,
            [IPC_M_LOADER_MON_REFUSED] = mon_on_refused,
            [IPC_M_LOADER_MON_CHANNEL] = mon_on_channel,
            [IPC_M_LOADER_MON_SHUTDOWN] = mon_on_shutdown,
            [IPC_M_LOADER_MON_RELOAD] = mon_on_reload,
            [IPC_M_LOADER_MON_RELOAD_RULES] = mon_on_reload_rules,
            [IPC_M_LOADER_MON_RELOAD_COMMIT] = mon_on_reload_commit,
        },
};

static int
mon_on_dns_event(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	int r;

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

	(void)p;
	r = mon_proxy_lost_emit(&m->out, l->count, kind);
	mon_write_failed(m, r);
	return 0;
}

static int
mon_on_dns_lost(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	return mon_on_lost(ctx, p, env->dns_mon_lost, MON_LOST_DNSQ);
}

/* The DNS proxy's messages.  A violation closes the channel. */
const struct ipc_handlers mon_from_dns = {
    .chan = IPC_CH_DNS_MON,
    .on =
        {
            [IPC_M_DNS_MON_EVENT] = mon_on_dns_event,
            [IPC_M_DNS_MON_LOST] = mon_on_dns_lost,
        },
};

static int
mon_on_http_event(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct mon *m = ctx;
	int r;

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

/* The HTTP proxy's messages.  A violation closes the channel. */
const struct ipc_handlers mon_from_http = {
    .chan = IPC_CH_HTTP_MON,
    .on =
        {
            [IPC_M_HTTP_MON_EVENT] = mon_on_http_event,
            [IPC_M_HTTP_MON_LOST] = mon_on_http_lost,
        },
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

/* The counters so far: PROGRESS while running, STATS at the end. */
static void
mon_stats_fill(struct mon *m, Cgfw__MonStats *st)
{
	st->events = m->out.n_events;
	st->lost = mon_lost_sum(&m->out, 0);
	st->unwritten = m->out.lost[MON_LOST_WRITE].total;
	st->bad = m->out.n_bad;
	st->dns_blocked = m->out.n_dns_blocked;
	st->http_blocked = m->out.n_http_blocked;
	st->readers = m->stream.served;
	st->readers_dropped = m->stream.dropped;
	st->readers_refused = m->stream.refused;
	st->readers_bad = m->stream.bad;
}

/* For the loader's status file (`cgfw-loader status`): only what changed, every 2 s. */
static void
mon_progress(struct mon *m)
{
	Cgfw__MonStats st = CGFW__MON_STATS__INIT;
	uint64_t sum;

	if (m->stopping || ++m->progress_ticks < MON_PROGRESS_MS / MON_LOST_POLL_MS)
		return;
	m->progress_ticks = 0;
	mon_stats_fill(m, &st);
	sum = st.events + st.lost + st.bad + st.dns_blocked + st.http_blocked;
	if (sum == m->progress_sum)
		return;
	m->progress_sum = sum;
	(void)ipc_send_mon_loader_progress(&m->loader, &st);
}

static void
lost_timer_cb(uv_timer_t *h)
{
	mon_check_lost(h->data);
	mon_progress(h->data);
}

static void
mon_send_stats(struct mon *m)
{
	Cgfw__MonStats st = CGFW__MON_STATS__INIT;
	int r;

	mon_check_lost(m);
	mon_stats_fill(m, &st);
	if (st.lost)
		log_warnx("%llu events were lost: %llu the ring buffer was full, %llu not written "
		          "to the %s, %llu not taken by the journal, %llu dropped by the proxies",
		    (unsigned long long)st.lost,
		    (unsigned long long)m->out.lost[MON_LOST_RING].total,
		    (unsigned long long)st.unwritten, m->out.json_name,
		    (unsigned long long)m->out.lost[MON_LOST_JOURNAL].total,
		    (unsigned long long)(m->out.lost[MON_LOST_DNSQ].total +
		                         m->out.lost[MON_LOST_HTTPQ].total));
	if (mon_lost_sum(&m->out, 1))
		log_warnx("%llu of them are in no EVENTS LOST line: %s could not be written",
		    (unsigned long long)mon_lost_sum(&m->out, 1),
		    m->out.lost[MON_LOST_JOURNAL].pending ? "the journal" : m->out.json_name);
	r = ipc_send_mon_loader_stats(&m->loader, &st);
	if (r < 0)
		log_warn_r(r, "cannot report stats to the loader");
}

static void
close_cb(uv_handle_t *h)
{
	(void)h;
}

/* Drain what the kernel queued, report, and let the loop run dry (worker_stop()). */
static void
mon_stop(void *ctx)
{
	struct mon *m = ctx;

	if (m->stopping)
		return;
	m->stopping = 1;
	if (m->rb) {
		mon_batch_begin(&m->out);
		(void)ring_buffer__consume(m->rb);
		mon_write_failed(m, mon_batch_end(&m->out));
	}
	for (int i = 0; i < MON_N_CHANS; i++)
		mon_chan_drain(&m->chans[i]);
	mon_stream_stop(&m->stream); /* the readers have had every line */
	if (m->committed)
		mon_send_stats(m);
	if (m->rb)
		for (int i = 0; i < MON_N_CHANS; i++)
			if (!uv_is_closing((uv_handle_t *)&m->chans[i].poll))
				uv_close((uv_handle_t *)&m->chans[i].poll, close_cb);
	if (uv_is_active((uv_handle_t *)&m->rb_poll) || m->rb) {
		uv_close((uv_handle_t *)&m->rb_poll, close_cb);
		uv_close((uv_handle_t *)&m->lost_timer, close_cb);
	}
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
	/*
	 * The proxies' events first: a DNS event reaches us before its client
	 * had the answer (dnsproxy.c), so before the connection it admitted,
	 * whose line names the domain from it.
	 */
	for (int i = 0; i < MON_N_CHANS; i++)
		mon_chan_drain(&m->chans[i]);
	/* All the ring holds, its lines written a batch at a time (events.c). */
	mon_batch_begin(&m->out);
	(void)ring_buffer__consume(m->rb);
	mon_write_failed(m, mon_batch_end(&m->out));
}

static void
mon_init(void *ctx, struct worker_rt *rt)
{
	struct mon *m = ctx;
	struct timespec mono, real;

	m->rt = rt;
	rt->loop = &m->loop;
	rt->loader = &m->loader;
	rt->ctx = m;
	ipc_peer_init(&m->loader, -1, "loader");
	m->ring_fd = m->stats_fd = m->log_fd = m->out.argv_fd = -1;
	m->listen_fd = m->journal_fd = -1;
	for (int i = 0; i < MON_N_CHANS; i++) {
		m->chans[i].fd = m->chans[i].next_fd = -1;
		m->chans[i].m = m;
		ipc_peer_init(&m->chans[i].ipc, -1, i == MON_CHAN_DNS ? "dnsproxy" : "httpproxy");
	}
	m->chans[MON_CHAN_DNS].table = &mon_from_dns;
	m->chans[MON_CHAN_HTTP].table = &mon_from_http;
	m->out.json_fd = -1;
	m->out.journal_fd = -1;
	m->out.text_fd = STDERR_FILENO;
	m->out.proc_root = "/proc";
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	m->out.realtime_offset_ns =
	    ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
}

static void
mon_start(void *ctx)
{
	struct mon *m = ctx;

	m->rb = ring_buffer__new(m->ring_fd, mon_ring_cb, m, NULL);
	if (!m->rb)
		fatal("cannot map the ring buffer");
	log_init("cgfw-monitor", m->debug);

	uv_poll_init(&m->loop, &m->rb_poll, ring_buffer__epoll_fd(m->rb));
	m->rb_poll.data = m;
	uv_poll_start(&m->rb_poll, UV_READABLE, rb_cb);
	uv_timer_init(&m->loop, &m->lost_timer);
	m->lost_timer.data = m;
	uv_timer_start(&m->lost_timer, lost_timer_cb, MON_LOST_POLL_MS, MON_LOST_POLL_MS);
	mon_stream_start(&m->stream, &m->loop, m->listen_fd, &m->out);
	m->out.journal_fd = m->journal_fd;
	for (int i = 0; i < MON_N_CHANS; i++) {
		struct mon_chan *ch = &m->chans[i];

		ipc_peer_init(&ch->ipc, ch->fd, i == MON_CHAN_DNS ? "dnsproxy" : "httpproxy");
		uv_poll_init(&m->loop, &ch->poll, ch->fd);
		ch->poll.data = ch;
		uv_poll_start(&ch->poll, UV_READABLE | UV_DISCONNECT, chan_cb);
	}
}

static int
mon_finish(void *ctx)
{
	struct mon *m = ctx;
	int r;

	ring_buffer__free(m->rb);
	r = m->out.n_bad ? 1 : 0;
	mon_out_free(&m->out);
	mon_rules_free(m->rl_rules, m->rl_n);
	m->rl_rules = NULL;
	m->rl_n = 0;
	return r;
}

struct ipc_peer *
mon_peer(struct mon *m, enum ipc_chan chan)
{
	switch (chan) {
	case IPC_CH_LOADER_MON:
		return &m->loader;
	case IPC_CH_DNS_MON:
		return &m->chans[MON_CHAN_DNS].ipc;
	case IPC_CH_HTTP_MON:
		return &m->chans[MON_CHAN_HTTP].ipc;
	default:
		return NULL;
	}
}

struct mon_out *
mon_out_of(struct mon *m)
{
	return &m->out;
}

void
mon_release(struct mon *m)
{
	mon_out_free(&m->out);
	mon_rules_free(m->rl_rules, m->rl_n);
	m->rl_rules = NULL;
	m->rl_n = 0;
	for (int i = 0; i < MON_N_CHANS; i++) {
		if (m->chans[i].fd >= 0 && m->chans[i].fd != m->chans[i].ipc.fd)
			(void)close(m->chans[i].fd);
		ipc_peer_close(&m->chans[i].ipc);
		if (m->chans[i].next_fd >= 0)
			(void)close(m->chans[i].next_fd);
	}
	if (m->ring_fd >= 0)
		(void)close(m->ring_fd);
	if (m->stats_fd >= 0)
		(void)close(m->stats_fd);
	if (m->log_fd >= 0)
		(void)close(m->log_fd);
	if (m->out.argv_fd >= 0)
		(void)close(m->out.argv_fd);
	if (m->listen_fd >= 0)
		(void)close(m->listen_fd);
	if (m->journal_fd >= 0)
		(void)close(m->journal_fd);
	mon_stream_stop(&m->stream);
	ipc_peer_close(&m->loader);
	free(m);
}

static const char *const mon_sandbox[] = {
    "openat",     /* /proc/PID/cmdline */
    "bpf:1",      /* BPF_MAP_LOOKUP_ELEM (1) only: the stats map fd */
    "ftruncate",  /* takes back a partial JSON line (events.c json_undo()) */
    "accept4",    /* the event socket's readers (stream.c) */
    "getsockopt", /* ... their SO_PEERCRED, for the debug log */
    NULL,
};

const struct worker_def mon_worker = {
    .name = "cgfw-monitor",
    .hello = ipc_send_mon_loader_hello,
    .ready = ipc_send_mon_loader_ready,
    .from_loader = &mon_from_loader,
    .sandbox = mon_sandbox,
    .signals = {SIGTERM, SIGINT},
    .ctx_size = sizeof(struct mon),
    .init = mon_init,
    .start = mon_start,
    .stop = mon_stop,
    .finish = mon_finish,
};
