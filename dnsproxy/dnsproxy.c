// SPDX-License-Identifier: MIT
/*
 * cgfw-dnsproxy: every DNS query of the workload (UDP and TCP, redirected by
 * connect4/sendmsg4) arrives here.  It names the asking process from the
 * cgfw_peers map, judges the name against the compiled name policy, answers
 * REFUSED/NXDOMAIN or forwards upstream with c-ares, judges the CNAME chain
 * of the answer (judge.c), relays it with AAAA records stripped, and admits
 * the A records of allowed names into cgfw_learned_v4 for max(TTL,
 * --dns-min-ttl).  It remembers which names each address was admitted for,
 * so that a reload (SIGHUP to the loader) can judge them again under the new
 * policy: into the other slot's learned map, before the loader flips to it.
 *
 * Trusts: the loader (fd 3) for config and fds, each checked
 * (dns_from_loader, lib/protocol.def).  Untrusted: every query and every
 * upstream answer (lib/dnsmsg.c, fuzzed).  Sends: DNS
 * events to the monitor, among them every upstream failure, and never waits
 * for it: a monitor that does not read gets its events queued, then dropped
 * and counted (lib/evq.c), so answers never depend on it.  Sandbox: seccomp,
 * base set plus what c-ares needs for upstream sockets, accept4, and bpf()
 * map lookup/update only.  Its life is lib/worker.c's; main() is main.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <uv.h>

#include "lib/bpfmap.h"
#include "lib/dnsmsg.h"
#include "lib/evq.h"
#include "lib/ipc_send.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/namepolicy.h"
#include "lib/rules.h"
#include "lib/worker.h"
#include "bpf/egress.h"
#include "dnsproxy.h"
#include "judge.h"
#include "resolve.h"

#define DNS_MAX_INFLIGHT  4096
#define DNS_MAX_TCP_CONNS 512
#define DNS_MAX_MSG       65535
#define DNS_MAX_UPSTREAMS CGFW_IPC_UPSTREAMS_MAX
#define DNS_FLUSH_MS      2000                /* at exit, how long queued events may wait */
#define DNS_REC_NAMES     4                   /* chains remembered per learned address */
#define DNS_REC_BUCKETS   16384               /* of the record table */
#define DNS_REC_BYTES     (16u * 1024 * 1024) /* the names' memory, at most */
/* UDP answers wait for the end of the loop's I/O round, then leave in one sendmmsg(). */
#define DNS_OUT_MAX       64
#define DNS_OUT_BYTES     (64 * 1024)
/* recvmmsg(): libuv hands out 64 KiB per datagram, at most 20 in one call. */
#define DNS_RECV_CHUNK    65536
#define DNS_RECV_N        20

struct dns;

struct tconn {
	uv_tcp_t h;
	struct dns *d;
	uint8_t buf[2 + DNS_MAX_MSG];
	size_t len;
	int refs;
	int closed;
	struct sockaddr_in peer;
};

struct owner {
	int known;
	struct cgfw_peer p;
};

/*
 * One learned address and the CNAME chains (question first, NUL-separated)
 * it was admitted for: what a reload judges again.  lost: a chain could not
 * be kept (too many, or the table full), so a reload drops the address
 * rather than judge it on part of what admitted it.
 */
struct lrec {
	struct lrec *next;
	uint32_t addr;
	int lost;
	size_t n;
	struct {
		uint64_t deadline; /* CLOCK_MONOTONIC ns, as in the map */
		size_t len;
		char *names;
	} c[DNS_REC_NAMES];
};

struct query {
	struct dns *d;
	uint32_t gen; /* the policy generation that judged v */
	int proto;    /* IPPROTO_UDP / IPPROTO_TCP */
	struct sockaddr_in client;
	struct tconn *conn;
	struct dns_query q;
	struct owner own;
	struct dns_verdict v;
	size_t raw_len;
	uint8_t raw[];
};

/* UDP answers queued for one sendmmsg(). */
struct outq {
	struct mmsghdr msg[DNS_OUT_MAX];
	struct iovec iov[DNS_OUT_MAX];
	struct sockaddr_in to[DNS_OUT_MAX];
	size_t n, used;
	uint8_t buf[DNS_OUT_BYTES];
};

struct dns {
	struct worker_rt *rt;
	struct ipc_peer loader;
	struct ipc_peer mon;
	struct evq events; /* sends on mon, never waiting */
	int mode;
	int debug;
	int allow_dns_request;
	int block_rcode;
	uint32_t min_ttl;
	uint32_t timeout_ms;
	char *upstreams[DNS_MAX_UPSTREAMS];
	size_t n_upstreams;
	int have_fds;
	int committed;
	int stopping;
	int udp_fd, tcp_fd, learned_fd, peers_fd, events_fd, policy_fd;
	struct np_table np;
	struct resolver res;
	uv_loop_t loop;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_check_t flush; /* sends the queued UDP answers after each I/O round */
	struct outq out;
	uint8_t answer[DNS_MSG_MAX]; /* the answer being relayed (one at a time) */
	size_t inflight;
	size_t n_conns;
	uint64_t learned_present;
	Cgfw__DnsStats st;
	struct lrec **recs; /* DNS_REC_BUCKETS, by address */
	size_t n_recs, rec_bytes;
	uint32_t gen; /* the policy generation in force */
	/* A reload prepared (rl_gen != 0): admissions go to both slots until its commit. */
	uint32_t rl_gen;
	int rl_mode;
	uint32_t rl_present; /* addresses in the prepared slot's map */
	int rl_learned_fd, rl_policy_fd;
	struct np_table rl_np;
};

/* ---- loader channel ---- */

static int
dns_on_config(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dns *d = ctx;
	const Cgfw__DnsConfig *c = env->loader_dns_config;

	/* check_dns_config() saw every field. */
	(void)p;
	for (size_t i = 0; i < c->n_upstreams; i++) {
		d->upstreams[i] = strdup(c->upstreams[i]);
		if (!d->upstreams[i])
			fatal("strdup");
	}
	d->n_upstreams = c->n_upstreams;
	d->mode = c->mode;
	d->debug = c->debug;
	d->allow_dns_request = c->allow_dns_request;
	d->block_rcode = c->block_response == CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_NXDOMAIN
	                     ? DNS_RCODE_NXDOMAIN
	                     : DNS_RCODE_REFUSED;
	d->min_ttl = c->min_ttl;
	d->timeout_ms = c->timeout_ms;
	d->gen = c->gen;
	return 0;
}

static int
dns_on_fds(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	static const Cgfw__FdKind want[] = {CGFW__FD_KIND__FD_DNS_UDP, CGFW__FD_KIND__FD_DNS_TCP,
	    CGFW__FD_KIND__FD_LEARNED_MAP, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY};
	struct dns *d = ctx;
	int fds[6], r, listening = 0;
	socklen_t len = sizeof(listening);

	r = ipc_take_fds(p, env->loader_dns_fds, want, 6, fds);
	if (r < 0)
		return r;
	d->udp_fd = fds[0];
	d->tcp_fd = fds[1];
	d->learned_fd = fds[2];
	d->peers_fd = fds[3];
	d->events_fd = fds[4];
	d->policy_fd = fds[5];
	if (ipc_check_socket(d->udp_fd, AF_INET, SOCK_DGRAM) < 0 ||
	    ipc_check_socket(d->tcp_fd, AF_INET, SOCK_STREAM) < 0 ||
	    getsockopt(d->tcp_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
		return ipc_violation(p, "fds: the DNS sockets are not UDP + listening TCP");
	if (ipc_check_socket(d->events_fd, AF_UNIX, SOCK_SEQPACKET) < 0)
		return ipc_violation(p, "fds: the events socket is not SEQPACKET");
	if (bpfmap_verify(d->learned_fd, CGFW_MAP_LEARNED_V4) < 0 ||
	    bpfmap_verify(d->peers_fd, CGFW_MAP_PEERS) < 0)
		return ipc_violation(p, "fds: the maps are not cgfw_learned_v4 and cgfw_peers");
	r = np_table_open(d->policy_fd, &d->np);
	if (r < 0)
		return ipc_violation(
		    p, "fds: the name policy is not a valid sealed table (%s)", strerror(-r));
	d->have_fds = 1;
	return 0;
}

static int
dns_on_commit(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dns *d = ctx;

	(void)env;
	if (!d->have_fds)
		return ipc_violation(p, "commit of an incomplete config");
	d->committed = 1;
	return 0;
}

static int
dns_on_shutdown(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dns *d = ctx;

	(void)p;
	(void)env;
	worker_stop(d->rt);
	return 0;
}

static void rec_rejudge_all(struct dns *d);

/* A prepared reload that will not be committed: its policy and map fd go. */
static void
reload_drop(struct dns *d)
{
	if (d->rl_learned_fd >= 0)
		(void)close(d->rl_learned_fd);
	if (d->rl_policy_fd >= 0)
		(void)close(d->rl_policy_fd);
	np_table_close(&d->rl_np);
	memset(&d->rl_np, 0, sizeof(d->rl_np));
	d->rl_learned_fd = d->rl_policy_fd = -1;
	d->rl_gen = 0;
}

/* A new policy: its fds follow.  A newer reload replaces one never committed. */
static int
dns_on_reload(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dns *d = ctx;
	const Cgfw__Reload *r = env->loader_dns_reload;

	if (r->gen != d->gen + 1)
		return ipc_violation(p, "reload to generation %u, %u in force", r->gen, d->gen);
	reload_drop(d);
	d->rl_gen = r->gen;
	d->rl_mode = r->mode;
	d->rl_present = 0;
	return 0;
}

/*
 * The new name policy and the learned map of the slot the new generation
 * uses: every address remembered is judged again into it, then RELOADED.
 */
static int
dns_on_reload_fds(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	static const Cgfw__FdKind want[] = {
	    CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_LEARNED_MAP};
	struct dns *d = ctx;
	Cgfw__Reloaded ack = CGFW__RELOADED__INIT;
	unsigned slot;
	int fds[2], r;

	if (!d->rl_gen || d->rl_policy_fd >= 0)
		return ipc_violation(p, "reload fds without a reload");
	r = ipc_take_fds(p, env->loader_dns_reload_fds, want, 2, fds);
	if (r < 0)
		return r;
	d->rl_policy_fd = fds[0];
	d->rl_learned_fd = fds[1];
	/* The other slot's map, never the one in force.  Anything wrong ends the reload. */
	slot = d->rl_gen & 1;
	if (bpfmap_verify(d->rl_learned_fd, slot ? CGFW_MAP_LEARNED_B : CGFW_MAP_LEARNED_V4) < 0) {
		reload_drop(d);
		return ipc_violation(p, "reload fds: not the learned map of slot %u", slot);
	}
	r = np_table_open(d->rl_policy_fd, &d->rl_np);
	if (r < 0) {
		reload_drop(d);
		return ipc_violation(p,
		    "reload fds: the name policy is not a valid sealed table (%s)", strerror(-r));
	}
	rec_rejudge_all(d);
	ack.gen = d->rl_gen;
	r = ipc_send_dns_loader_reloaded(&d->loader, &ack);
	if (r < 0)
		log_warn_r(r, "cannot tell the loader the reload is prepared");
	return 0;
}

/* The loader flipped the BPF maps to rl_gen: the new policy is ours now. */
static int
dns_on_reload_commit(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct dns *d = ctx;
	const Cgfw__ReloadCommit *c = env->loader_dns_reload_commit;

	if (!d->rl_gen || d->rl_policy_fd < 0 || c->gen != d->rl_gen)
		return ipc_violation(p, "commit of generation %u, %u prepared", c->gen, d->rl_gen);
	np_table_close(&d->np);
	(void)close(d->policy_fd);
	(void)close(d->learned_fd);
	d->np = d->rl_np;
	d->policy_fd = d->rl_policy_fd;
	d->learned_fd = d->rl_learned_fd;
	d->mode = d->rl_mode;
	d->gen = d->rl_gen;
	d->learned_present = d->rl_present;
	memset(&d->rl_np, 0, sizeof(d->rl_np));
	d->rl_learned_fd = d->rl_policy_fd = -1;
	d->rl_gen = 0;
	log_debug("policy generation %u in force", d->gen);
	return 0;
}

/* The loader's messages (HELLO is the table's alone; lib/protocol.def). */
const struct ipc_handlers dns_from_loader = {
    .chan = IPC_CH_LOADER_DNS,
    .on =
        {
            [IPC_M_LOADER_DNS_CONFIG] = dns_on_config,
            [IPC_M_LOADER_DNS_FDS] = dns_on_fds,
            [IPC_M_LOADER_DNS_COMMIT] = dns_on_commit,
            [IPC_M_LOADER_DNS_SHUTDOWN] = dns_on_shutdown,
            [IPC_M_LOADER_DNS_RELOAD] = dns_on_reload,
            [IPC_M_LOADER_DNS_RELOAD_FDS] = dns_on_reload_fds,
            [IPC_M_LOADER_DNS_RELOAD_COMMIT] = dns_on_reload_commit,
        },
};

/* ---- decisions and events ---- */

static void
owner_lookup(struct dns *d, const struct sockaddr_in *sa, int proto, struct owner *ret)
{
	struct cgfw_peer_key k = {
	    .addr = sa->sin_addr.s_addr, .port = ntohs(sa->sin_port), .proto = (__u8)proto};

	memset(ret, 0, sizeof(*ret));
	ret->known = bpf_map_lookup_elem(d->peers_fd, &k, &ret->p) == 0;
}

static const char *
kind_name(enum np_kind k)
{
	switch (k) {
	case NP_K_EXACT:
		return "ExactDomain";
	case NP_K_SUFFIX:
		return "Domain";
	case NP_K_WILDCARD:
		return "Wildcard";
	case NP_K_URL:
		return "URL";
	}
	return "";
}

/*
 * failed: why an allowed query got no usable answer (UpstreamTimeout, ...),
 * else NULL.
 */
static void
send_event(struct dns *d, const struct query *q, int blocked, int rcode,
    const struct dns_answer_info *ai, int admitted, uint32_t ttl, const char *failed)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__DnsEvent ev = CGFW__DNS_EVENT__INIT;
	char qtype[16], server[INET_ADDRSTRLEN], comm[17];
	char ipbuf[DNS_MAX_A][INET_ADDRSTRLEN];
	char *ips[DNS_MAX_A], *chain[DNS_MAX_CHAIN];
	char rule[CGFW_RULE_MAX_LEN + 1];

	ev.time_ns = proc_now_ns(CLOCK_REALTIME);
	ev.blocked = blocked;
	ev.qname = (char *)q->q.qname;
	ev.qtype = (char *)dns_qtype_name(q->q.qtype, qtype, sizeof(qtype));
	ev.because = (char *)q->v.because;
	if (q->v.m.verdict != NP_NONE) {
		snprintf(rule, sizeof(rule), "%.*s", (int)q->v.m.rule_text_len, q->v.m.rule_text);
		ev.rule = rule;
		ev.rule_origin = (char *)q->v.m.origin;
		ev.rule_line = q->v.m.origin_line;
		ev.rule_kind = (char *)kind_name(q->v.m.kind);
	}
	ev.owner_known = q->own.known;
	if (q->own.known) {
		ev.pid = q->own.p.tgid;
		ev.tid = q->own.p.pid;
		ev.uid = q->own.p.uid;
		memcpy(comm, q->own.p.comm, 16);
		comm[16] = '\0';
		ev.comm = comm;
		ev.cgroup = q->own.p.cgroup_id;
		inet_ntop(AF_INET, &q->own.p.orig_daddr, server, sizeof(server));
		ev.server = server;
	}
	ev.proto = q->proto == IPPROTO_TCP ? "tcp" : "udp";
	ev.rcode = (char *)dns_rcode_name(rcode);
	if (ai) {
		for (size_t i = 0; i < ai->n_a; i++) {
			inet_ntop(AF_INET, &ai->a[i].addr, ipbuf[i], sizeof(ipbuf[i]));
			ips[i] = ipbuf[i];
		}
		ev.n_ips = ai->n_a;
		ev.ips = ips;
		for (size_t i = 0; i < ai->n_chain; i++)
			chain[i] = (char *)ai->chain[i];
		ev.n_chain = ai->n_chain;
		ev.chain = chain;
	}
	ev.ttl = ttl;
	ev.admitted = admitted;
	if (failed)
		ev.upstream_failure = (char *)failed;
	ipc_env_dns_mon_event(&env, &ev);
	(void)evq_send(&d->events, &env); /* a drop is counted, said once (evq.c) */
}

/* ---- responses ---- */

static void
write_done(uv_write_t *w, int status)
{
	struct tconn *c = w->data;

	(void)status;
	free(w);
	if (--c->refs == 0 && c->closed)
		free(c);
}

/* Every queued UDP answer, in order; one that cannot be sent is said and dropped. */
static void
outq_flush(struct dns *d)
{
	struct outq *o = &d->out;
	size_t sent = 0;

	while (sent < o->n) {
		int r = sendmmsg(d->udp_fd, o->msg + sent, (unsigned)(o->n - sent), MSG_DONTWAIT);

		if (r > 0) {
			sent += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		log_warn("cannot answer a query from %s:%u", inet_ntoa(o->to[sent].sin_addr),
		    ntohs(o->to[sent].sin_port));
		sent++;
	}
	o->n = o->used = 0;
}

/*
 * After each I/O round: the round's events first, then its answers, so the
 * monitor has a DNS event before the client can connect to what it admitted
 * (the monitor names the domain of that connection from it).
 */
static void
flush_cb(uv_check_t *h)
{
	struct dns *d = h->data;

	if (!d->events.full)
		(void)evq_flush(&d->events);
	outq_flush(d);
}

static void
outq_add(struct dns *d, const struct sockaddr_in *to, const uint8_t *msg, size_t len)
{
	struct outq *o = &d->out;
	size_t i;

	if (o->n == DNS_OUT_MAX || len > sizeof(o->buf) - o->used)
		outq_flush(d);
	if (len > sizeof(o->buf)) {
		/* Bigger than the queue: no UDP answer is (TCP's go by uv_write). */
		if (sendto(d->udp_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to,
		        sizeof(*to)) < 0)
			log_warn("cannot answer a query");
		return;
	}
	i = o->n++;
	memcpy(o->buf + o->used, msg, len);
	o->to[i] = *to;
	o->iov[i] = (struct iovec){.iov_base = o->buf + o->used, .iov_len = len};
	o->msg[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &o->to[i],
	                                 .msg_namelen = sizeof(o->to[i]),
	                                 .msg_iov = &o->iov[i],
	                                 .msg_iovlen = 1}};
	o->used += len;
}

static void
respond(struct query *q, const uint8_t *msg, size_t len)
{
	struct dns *d = q->d;

	if (q->proto == IPPROTO_UDP) {
		outq_add(d, &q->client, msg, len);
		return;
	}
	if (q->conn->closed)
		return;
	{
		uv_write_t *w = malloc(sizeof(*w) + 2 + len);
		uint8_t *p = (uint8_t *)(w + 1);
		uv_buf_t b;

		if (!w)
			return;
		p[0] = (uint8_t)(len >> 8);
		p[1] = (uint8_t)len;
		memcpy(p + 2, msg, len);
		b = uv_buf_init((char *)p, (unsigned)(len + 2));
		w->data = q->conn;
		q->conn->refs++;
		if (uv_write(w, (uv_stream_t *)&q->conn->h, &b, 1, write_done) < 0) {
			q->conn->refs--;
			free(w);
		}
	}
}

static void
respond_rcode(struct query *q, int rcode)
{
	uint8_t out[512 + 300];
	ssize_t n = dns_make_response(&q->q, q->raw, q->raw_len, rcode, out, sizeof(out));

	if (n > 0)
		respond(q, out, (size_t)n);
}

static void
query_free(struct query *q)
{
	q->d->inflight--;
	if (q->conn && --q->conn->refs == 0 && q->conn->closed)
		free(q->conn);
	free(q);
}

/* The learned entry an admission by verdict v writes. */
static struct cgfw_learned
learned_of(const struct dns_verdict *v, uint64_t deadline)
{
	struct cgfw_learned e = {.expires_ns = deadline, .rule_id = v->m.rule_id};

	/* A host with URL rules goes through cgfw-httpproxy; one allowed only by them opens
	 * nothing but HTTP(S). */
	if (v->m.kind == NP_K_URL || v->m.has_allow_url || v->m.has_block_url)
		e.flags |= CGFW_LEARNED_INTERCEPT;
	if (v->m.verdict == NP_ALLOW && v->m.kind == NP_K_URL)
		e.flags |= CGFW_LEARNED_URL_ONLY;
	return e;
}

/*
 * v into the learned map fd for key, merged with what is there: another name
 * that got this address first keeps its URL rules on it (interception
 * sticks, whichever name is resolved later), and a full allow for either
 * name opens all ports.  The latest deadline wins.
 */
static int
learned_put(int fd, __u32 key, struct cgfw_learned v, uint64_t now, int *ret_new)
{
	struct cgfw_learned old;

	*ret_new = 1;
	if (bpf_map_lookup_elem(fd, &key, &old) == 0) {
		*ret_new = 0;
		if (old.expires_ns > now) {
			v.flags |= old.flags & CGFW_LEARNED_INTERCEPT;
			if (!(old.flags & CGFW_LEARNED_URL_ONLY))
				v.flags &= ~(uint32_t)CGFW_LEARNED_URL_ONLY;
		}
		if (old.expires_ns > v.expires_ns)
			v.expires_ns = old.expires_ns;
	}
	return bpf_map_update_elem(fd, &key, &v, BPF_ANY) < 0 ? -errno : 0;
}

static size_t
rec_bucket(uint32_t addr)
{
	return (size_t)((addr * 2654435761u) % DNS_REC_BUCKETS);
}

/*
 * Remember that ai's chain admitted addr until deadline.  Bounded by count
 * (the learned map's size) and bytes; what cannot be kept marks the address
 * lost, and a reload drops it (fail closed).
 */
static void
rec_add(struct dns *d, uint32_t addr, const struct dns_answer_info *ai, uint64_t deadline)
{
	struct lrec *r = NULL;
	size_t len = 0;
	char *names;

	if (!d->recs && !(d->recs = calloc(DNS_REC_BUCKETS, sizeof(*d->recs))))
		return; /* nothing remembered: a reload drops every learned address */
	for (r = d->recs[rec_bucket(addr)]; r && r->addr != addr; r = r->next)
		;
	if (!r) {
		if (d->n_recs >= CGFW_LEARNED_V4_MAX || !(r = calloc(1, sizeof(*r))))
			return;
		r->addr = addr;
		r->next = d->recs[rec_bucket(addr)];
		d->recs[rec_bucket(addr)] = r;
		d->n_recs++;
	}
	for (size_t i = 0; i < ai->n_chain; i++)
		len += strlen(ai->chain[i]) + 1;
	if (!len || d->rec_bytes + len > DNS_REC_BYTES || !(names = malloc(len))) {
		r->lost = 1;
		return;
	}
	len = 0;
	for (size_t i = 0; i < ai->n_chain; i++) {
		size_t n = strlen(ai->chain[i]) + 1;

		memcpy(names + len, ai->chain[i], n);
		len += n;
	}
	/* The same chain again: a later deadline only. */
	for (size_t k = 0; k < r->n; k++)
		if (r->c[k].len == len && memcmp(r->c[k].names, names, len) == 0) {
			if (deadline > r->c[k].deadline)
				r->c[k].deadline = deadline;
			free(names);
			return;
		}
	if (r->n == DNS_REC_NAMES) {
		r->lost = 1;
		free(names);
		return;
	}
	r->c[r->n].names = names;
	r->c[r->n].len = len;
	r->c[r->n].deadline = deadline;
	r->n++;
	d->rec_bytes += len;
}

static void
rec_free_all(struct dns *d)
{
	if (!d->recs)
		return;
	for (size_t b = 0; b < DNS_REC_BUCKETS; b++)
		while (d->recs[b]) {
			struct lrec *r = d->recs[b];

			d->recs[b] = r->next;
			for (size_t k = 0; k < r->n; k++)
				free(r->c[k].names);
			free(r);
		}
	free(d->recs);
	d->recs = NULL;
	d->n_recs = d->rec_bytes = 0;
}

/*
 * The verdict of the prepared policy on a chain (question first), as its
 * query and answer would get it now.  Returns 1 if it admits the addresses.
 */
static int
rl_judge(struct dns *d, const struct dns_answer_info *ai, struct dns_verdict *v)
{
	dns_judge_query(&d->rl_np, d->rl_mode, d->allow_dns_request, ai->chain[0], v);
	(void)dns_judge_answer(&d->rl_np, d->allow_dns_request, ai, v);
	return !v->blocked;
}

/*
 * Every remembered address judged again by the prepared policy, into the
 * prepared slot's learned map, emptied first: only what the new policy
 * admits is there.  Deadlines stay as they were; an expired address is
 * written too, for the connections admitted before (bpf/egress.bpf.c judges
 * an established connection without the deadline), never for new ones.
 */
static void
rec_rejudge_all(struct dns *d)
{
	struct dns_answer_info *ai = malloc(sizeof(*ai));
	uint64_t now = proc_now_ns(CLOCK_MONOTONIC), kept = 0, dropped = 0;
	__u32 key = 0, *keys = malloc(CGFW_LEARNED_V4_MAX * sizeof(*keys));
	size_t n = 0;

	if (!ai || !keys)
		fatal("malloc");
	/* Empty the slot: what an older generation or an unfinished reload left there goes. */
	while (n < CGFW_LEARNED_V4_MAX &&
	       bpf_map_get_next_key(d->rl_learned_fd, n ? &key : NULL, &keys[n]) == 0)
		key = keys[n++];
	for (size_t i = 0; i < n; i++)
		(void)bpf_map_delete_elem(d->rl_learned_fd, &keys[i]);
	free(keys);
	d->rl_present = 0;
	for (size_t b = 0; d->recs && b < DNS_REC_BUCKETS; b++)
		for (struct lrec *r = d->recs[b]; r; r = r->next) {
			int any = 0, fresh;

			for (size_t k = 0; k < r->n && !r->lost; k++) {
				struct dns_verdict v;
				size_t off = 0;

				ai->n_chain = 0;
				while (off < r->c[k].len && ai->n_chain < DNS_MAX_CHAIN) {
					snprintf(ai->chain[ai->n_chain++], sizeof(ai->chain[0]),
					    "%s", r->c[k].names + off);
					off += strlen(r->c[k].names + off) + 1;
				}
				if (rl_judge(d, ai, &v) &&
				    learned_put(d->rl_learned_fd, r->addr,
				        learned_of(&v, r->c[k].deadline), now, &fresh) == 0)
					any = 1;
			}
			kept += any;
			dropped += !any;
		}
	free(ai);
	d->rl_present = (uint32_t)kept;
	log_info("reload to generation %u: %llu learned address%s kept, %llu dropped", d->rl_gen,
	    (unsigned long long)kept, kept == 1 ? "" : "es", (unsigned long long)dropped);
}

/* Write the A records into the allow map; an IP keeps its latest deadline. */
static int
admit(struct dns *d, const struct query *q, const struct dns_answer_info *ai, uint32_t *ret_ttl)
{
	uint32_t ttl = ai->min_ttl > d->min_ttl ? ai->min_ttl : d->min_ttl;
	uint64_t now = proc_now_ns(CLOCK_MONOTONIC), deadline = now + (uint64_t)ttl * 1000000000ULL;
	struct cgfw_learned v = learned_of(&q->v, deadline);
	struct dns_verdict rv;
	int rl_admits = d->rl_gen && d->rl_policy_fd >= 0 && rl_judge(d, ai, &rv);

	*ret_ttl = ttl;
	for (size_t i = 0; i < ai->n_a; i++) {
		__u32 key = ai->a[i].addr;
		int fresh, r;

		rec_add(d, key, ai, deadline);
		/* A reload prepared: its slot gets the new policy's verdict too. */
		if (rl_admits &&
		    learned_put(d->rl_learned_fd, key, learned_of(&rv, deadline), now, &fresh) == 0)
			d->rl_present += fresh;
		r = learned_put(d->learned_fd, key, v, now, &fresh);
		if (r < 0) {
			log_warn_r(r, "cannot admit an address for %s", q->q.qname);
			return r;
		}
		if (fresh) {
			if (d->learned_present >= CGFW_LEARNED_V4_MAX)
				d->st
				    .evicted++; /* the LRU map is full: this pushes an older IP out */
			else
				d->learned_present++;
		}
		d->st.admitted++;
	}
	return 0;
}

static void
upstream_cb(void *arg, int status, const uint8_t *abuf, size_t alen)
{
	struct query *q = arg;
	struct dns *d = q->d;
	struct dns_answer_info ai;
	uint8_t *out = d->answer;
	size_t out_len = 0, limit;
	uint32_t ttl = 0;
	int admitted = 0, r;

	if (status == -ECANCELED || d->stopping) {
		query_free(q);
		return;
	}
	/* A reload came in between: the question is judged by the policy now in force. */
	if (q->gen != d->gen) {
		q->gen = d->gen;
		dns_judge_query(&d->np, d->mode, d->allow_dns_request, q->q.qname, &q->v);
	}
	if (status < 0 || dns_parse_answer(abuf, alen, &q->q, &ai) < 0) {
		/* Down, timed out or malformed: the client still gets an answer. */
		d->st.servfail++;
		respond_rcode(q, DNS_RCODE_SERVFAIL);
		send_event(d, q, 0, DNS_RCODE_SERVFAIL, NULL, 0, 0,
		    status == -ETIMEDOUT      ? "UpstreamTimeout"
		    : status == -EHOSTUNREACH ? "UpstreamUnreachable"
		    : status == 0             ? "UpstreamMalformed"
		                              : NULL);
		query_free(q);
		return;
	}
	(void)dns_judge_answer(&d->np, d->allow_dns_request, &ai, &q->v);
	/* The event's chain ends at the name that was blocked: the monitor names it. */
	if (q->v.blocked)
		ai.n_chain = q->v.link + 1;
	if (q->v.refuse) {
		/* Nothing of this answer reaches the client: no address, no alias. */
		d->st.blocked++;
		ai.n_a = 0;
		respond_rcode(q, d->block_rcode);
		send_event(d, q, 1, d->block_rcode, &ai, 0, 0, NULL);
		query_free(q);
		return;
	}
	/* Names the upstream compressed may be written out whole: room for the maximum. */
	if (dns_strip_aaaa(abuf, alen, out, sizeof(d->answer), &out_len) < 0) {
		d->st.servfail++;
		respond_rcode(q, DNS_RCODE_SERVFAIL);
		send_event(d, q, 0, DNS_RCODE_SERVFAIL, NULL, 0, 0, "UpstreamMalformed");
		query_free(q);
		return;
	}
	/* c-ares used its own query id; the client expects its own back. */
	out[0] = (uint8_t)(q->q.id >> 8);
	out[1] = (uint8_t)q->q.id;

	/* --allow-dns-request only answers blocked names: the others are admitted as ever. */
	if (ai.rcode == DNS_RCODE_NOERROR && ai.n_a && !q->v.blocked) {
		r = admit(d, q, &ai, &ttl);
		admitted = r == 0;
	}
	limit = q->q.has_edns && q->q.edns_udp_size > DNS_UDP_PLAIN_MAX ? q->q.edns_udp_size
	                                                                : DNS_UDP_PLAIN_MAX;
	if (q->proto == IPPROTO_UDP && out_len > limit) {
		uint8_t tc[512 + 300];
		ssize_t n = dns_make_truncated(&q->q, q->raw, q->raw_len, tc, sizeof(tc));

		if (n > 0)
			respond(q, tc, (size_t)n);
	} else {
		respond(q, out, out_len);
	}
	/* Relayed as the upstream said it; a SERVFAIL or REFUSED is still its failure. */
	send_event(d, q, 0, ai.rcode, &ai, admitted, ttl,
	    ai.rcode == DNS_RCODE_SERVFAIL  ? "UpstreamServfail"
	    : ai.rcode == DNS_RCODE_REFUSED ? "UpstreamRefused"
	                                    : NULL);
	query_free(q);
}

/* Minimal FORMERR for a message whose header we could read. */
static void
respond_formerr(struct dns *d, const uint8_t *msg, size_t len, int proto,
    const struct sockaddr_in *client, struct tconn *conn)
{
	struct query q = {.d = d, .proto = proto, .conn = conn};
	uint8_t out[DNS_HEADER_LEN] = {0};

	if (len < DNS_HEADER_LEN)
		return;
	if (client)
		q.client = *client;
	out[0] = msg[0];
	out[1] = msg[1];
	out[2] = 0x80 | (msg[2] & 0x79); /* QR, opcode, RD */
	out[3] = DNS_FLAG_RA | DNS_RCODE_FORMERR;
	respond(&q, out, sizeof(out));
}

static void
handle_query(struct dns *d, const uint8_t *msg, size_t len, int proto,
    const struct sockaddr_in *client, struct tconn *conn)
{
	struct query *q;

	d->st.queries++;
	if (d->inflight >= DNS_MAX_INFLIGHT) {
		log_warnx("too many queries in flight, dropping one");
		return;
	}
	q = calloc(1, sizeof(*q) + len);
	if (!q)
		return;
	d->inflight++;
	q->d = d;
	q->proto = proto;
	q->client = *client;
	q->conn = conn;
	if (conn)
		conn->refs++;
	memcpy(q->raw, msg, len);
	q->raw_len = len;
	if (dns_parse_query(msg, len, &q->q) < 0) {
		respond_formerr(d, msg, len, proto, client, conn);
		query_free(q);
		return;
	}
	owner_lookup(d, client, proto, &q->own);
	q->gen = d->gen;
	dns_judge_query(&d->np, d->mode, d->allow_dns_request, q->q.qname, &q->v);
	if (q->v.refuse) {
		d->st.blocked++;
		respond_rcode(q, d->block_rcode);
		send_event(d, q, 1, d->block_rcode, NULL, 0, 0, NULL);
		query_free(q);
		return;
	}
	resolver_send(&d->res, q->raw, q->raw_len, upstream_cb, q);
}

/* ---- UDP and TCP servers ---- */

/*
 * Room for DNS_RECV_N datagrams: libuv reads them with one recvmmsg() and
 * hands them over one by one (UV_UDP_MMSG_CHUNK), then the buffer back
 * (UV_UDP_MMSG_FREE).  Each query is copied before the next read.
 */
static void
udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char mem[DNS_RECV_CHUNK * DNS_RECV_N];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(mem, sizeof(mem));
}

static void
udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags)
{
	struct dns *d = h->data;

	if (n <= 0 || !addr || addr->sa_family != AF_INET || (flags & UV_UDP_PARTIAL))
		return;
	handle_query(d, (const uint8_t *)buf->base, (size_t)n, IPPROTO_UDP,
	    (const struct sockaddr_in *)addr, NULL);
}

static void
tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tconn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void
tconn_closed(uv_handle_t *h)
{
	struct tconn *c = h->data;

	c->d->n_conns--;
	c->closed = 1;
	if (--c->refs == 0)
		free(c);
}

static void
tconn_close(struct tconn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->h))
		uv_close((uv_handle_t *)&c->h, tconn_closed);
}

static void
tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct tconn *c = s->data;

	(void)buf;
	if (n < 0) {
		tconn_close(c);
		return;
	}
	c->len += (size_t)n;
	/* Each message is a 2-byte length and the message; several may be pipelined. */
	while (c->len >= 2) {
		size_t mlen = ((size_t)c->buf[0] << 8) | c->buf[1];

		if (mlen < 12) {
			tconn_close(c);
			return;
		}
		if (c->len < 2 + mlen)
			break;
		handle_query(c->d, c->buf + 2, mlen, IPPROTO_TCP, &c->peer, c);
		memmove(c->buf, c->buf + 2 + mlen, c->len - 2 - mlen);
		c->len -= 2 + mlen;
	}
}

static void
tcp_accept(uv_stream_t *srv, int status)
{
	struct dns *d = srv->data;
	struct tconn *c;
	int len = sizeof(struct sockaddr_in);

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->d = d;
	c->refs = 1;
	uv_tcp_init(&d->loop, &c->h);
	c->h.data = c;
	d->n_conns++;
	if (uv_accept(srv, (uv_stream_t *)&c->h) < 0 || d->n_conns > DNS_MAX_TCP_CONNS ||
	    uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len) < 0 ||
	    c->peer.sin_family != AF_INET) {
		tconn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->h, tcp_alloc, tcp_read);
}

/* ---- lifecycle ---- */

static void
dns_send_stats(struct dns *d)
{
	int r = ipc_send_dns_loader_stats(&d->loader, &d->st);

	if (r < 0)
		log_warn_r(r, "cannot report stats to the loader");
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h)) {
		if (h->type == UV_TCP && h->data && h->data != arg)
			tconn_close(h->data);
		else
			uv_close(h, NULL);
	}
}

/* Report, flush the events, close every handle (worker_stop()). */
static void
dns_stop(void *ctx)
{
	struct dns *d = ctx;

	if (d->stopping)
		return;
	d->stopping = 1;
	if (d->committed)
		dns_send_stats(d);
	resolver_close(&d->res);
	outq_flush(d);
	/* Stopping: the queued events may wait a little for the monitor now. */
	(void)evq_close(&d->events, DNS_FLUSH_MS);
	uv_walk(&d->loop, close_walk, d);
}

static const char *const dns_sandbox[] = {
    "socket:2",    /* AF_INET: c-ares upstream sockets */
    "socket:10",   /* AF_INET6: an IPv6 nameserver */
    "connect",     /* c-ares */
    "setsockopt",  /* c-ares, libuv */
    "getsockopt",  /* SO_ERROR */
    "getsockname", /* c-ares */
    "getpeername", /* accepted TCP clients */
    "accept4",     /* TCP DNS */
    "shutdown",    /* libuv */
    "bpf:1",       /* BPF_MAP_LOOKUP_ELEM: owners, current deadlines */
    "bpf:2",       /* BPF_MAP_UPDATE_ELEM: admissions */
    "bpf:3",       /* BPF_MAP_DELETE_ELEM: a reload empties the new slot's learned map */
    "bpf:4",       /* BPF_MAP_GET_NEXT_KEY: ... walking it for that */
    "bpf:15",      /* BPF_OBJ_GET_INFO_BY_FD: ... after checking it is that map */
    "sendmmsg",    /* libuv UDP; answers; the events (lib/evq.c) */
    "recvmmsg",    /* libuv UDP */
    NULL,
};

/* Configured: greet the monitor, set up c-ares, the events queue and the sockets. */
static void
dns_start(void *ctx)
{
	struct dns *d = ctx;
	int r;

	ipc_peer_init(&d->mon, d->events_fd, "monitor");
	r = ipc_send_dns_mon_hello(&d->mon);
	if (r < 0)
		fatal_r(r, "cannot greet the monitor");
	log_init("cgfw-dnsproxy", d->debug);
	r = resolver_init(&d->res, &d->loop, d->upstreams, d->n_upstreams, d->timeout_ms);
	if (r < 0)
		fatal_r(r, "cannot set up c-ares with the upstream servers");
	r = evq_init(&d->events, &d->loop, &d->mon, ipc_env_dns_mon_lost, CGFW_EVQ_MAX_MSGS,
	    CGFW_EVQ_MAX_BYTES);
	if (r < 0)
		fatalx("cannot watch the monitor's channel: %s", uv_strerror(r));
	if (uv_udp_init_ex(&d->loop, &d->udp, AF_UNSPEC | UV_UDP_RECVMMSG) < 0)
		fatalx("cannot set up the UDP handle");
	uv_tcp_init(&d->loop, &d->tcp);
	uv_check_init(&d->loop, &d->flush);
	d->udp.data = d->tcp.data = d->flush.data = d;
	uv_check_start(&d->flush, flush_cb);
	if (uv_udp_open(&d->udp, d->udp_fd) < 0 || uv_tcp_open(&d->tcp, d->tcp_fd) < 0)
		fatalx("cannot use the DNS sockets");
	/* The TCP socket already listens (the loader did it); uv_listen just starts accepting. */
	if (uv_listen((uv_stream_t *)&d->tcp, 128, tcp_accept) < 0)
		fatalx("cannot accept on the DNS TCP socket");
	uv_udp_recv_start(&d->udp, udp_alloc, udp_recv);
}

/* What the loader's configuration made: the name table and the upstreams. */
static void
dns_free_config(struct dns *d)
{
	reload_drop(d);
	rec_free_all(d);
	np_table_close(&d->np);
	for (size_t i = 0; i < d->n_upstreams; i++)
		free(d->upstreams[i]);
	d->n_upstreams = 0;
}

static int
dns_finish(void *ctx)
{
	dns_free_config(ctx);
	return 0;
}

static void
dns_init(void *ctx, struct worker_rt *rt)
{
	struct dns *d = ctx;

	d->rt = rt;
	rt->ctx = d;
	rt->loop = &d->loop;
	rt->loader = &d->loader;
	ipc_peer_init(&d->loader, -1, "loader");
	ipc_peer_init(&d->mon, -1, "monitor");
	cgfw__dns_stats__init(&d->st);
	d->udp_fd = d->tcp_fd = d->learned_fd = d->peers_fd = d->events_fd = d->policy_fd = -1;
	d->rl_learned_fd = d->rl_policy_fd = -1;
}

struct ipc_peer *
dns_loader_peer(struct dns *d)
{
	return &d->loader;
}

void
dns_release(struct dns *d)
{
	int *fds[] = {
	    &d->udp_fd, &d->tcp_fd, &d->learned_fd, &d->peers_fd, &d->events_fd, &d->policy_fd};

	dns_free_config(d);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			(void)close(*fds[i]);
	ipc_peer_close(&d->loader);
	free(d);
}

const struct worker_def dns_worker = {
    .name = "cgfw-dnsproxy",
    .hello = ipc_send_dns_loader_hello,
    .ready = ipc_send_dns_loader_ready,
    .from_loader = &dns_from_loader,
    .sandbox = dns_sandbox,
    .signals = {SIGTERM},
    .ctx_size = sizeof(struct dns),
    .init = dns_init,
    .start = dns_start,
    .stop = dns_stop,
    .finish = dns_finish,
};
