// SPDX-License-Identifier: MIT
/*
 * cgfw-httpproxy: connections to :80 and :443 of hosts that have URL rules
 * arrive here (redirected by connect4).  It names the client from cgfw_peers, connects to
 * the original destination, parses every request with http-parser, matches
 * scheme, host, port and path against the URL rules, forwards allowed
 * requests byte for byte (bodies streamed, never buffered whole) and answers
 * blocked ones with 403.  A refused or malformed request gets one answer and
 * one event, then its connection closes; nothing after it is parsed.
 * Pipelined requests are taken one at a time: the next is read only when the
 * previous response is complete, so each one is checked.  HTTPS (:443) is
 * terminated with a leaf minted for the SNI name (tls.c), signed by the CA
 * the loader hands over, and judged the same; the server's certificate must
 * chain to the upstream trust bundle.
 *
 * Trusts: the loader (fd 3) for config, URL rules and fds, each checked
 * (http_from_loader, lib/protocol.def).  Untrusted: requests, ClientHellos
 * and responses.  Sends HTTP events to the monitor without ever
 * waiting for it: a monitor that does not read gets them queued, then dropped
 * and counted (lib/evq.c); requests never wait on the record.  Sandbox:
 * seccomp, base set plus accept4, socket/connect (AF_INET, upstream) and
 * bpf() map lookups.  Its life is lib/worker.c's; main() is main.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <http_parser.h>
#include <uv.h>

#include "bpf/egress.h"
#include "lib/bpfmap.h"
#include "lib/evq.h"
#include "lib/ipc_send.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/namepolicy.h"
#include "lib/rules.h"
#include "lib/worker.h"
#include "http_parse.h"
#include "httpproxy.h"
#include "tls.h"

#define HTTP_MAX_CONNS  1024
#define HTTP_HEAD_MAX   (64 * 1024)   /* request line + headers */
#define HTTP_HIGH_WATER (1024 * 1024) /* queued bytes before reading pauses */
#define HTTP_LINGER_MS  2000          /* after a refusal: how long the client is drained */
#define HTTP_LINGER_MAX (1024 * 1024) /* ... and how many of its bytes at most */
#define HTTP_FLUSH_MS   2000          /* at exit, how long queued events may wait */
#define HTTP_READ_BUF   65536         /* one read from either side */

struct url_rule {
	uint32_t id;
	int action;
	char scheme[8];
	char *host;
	uint16_t port;
	char *path;
	size_t path_len;
	char *text;
	char *origin;
};

struct http;

enum conn_state {
	ST_HEAD,          /* reading a request's head */
	ST_BODY,          /* forwarding its body */
	ST_WAIT_RESPONSE, /* the request went out; its response is not complete yet */
	ST_CLOSING,       /* refused or failed: nothing more is parsed or relayed */
};

struct conn {
	struct http *h;
	uv_tcp_t client;
	uv_tcp_t upstream;
	uv_connect_t connect_req;
	uv_shutdown_t shutdown_req;
	uv_timer_t linger;
	int n_open; /* handles not closed yet */
	int closing;
	int lingering;       /* the linger timer runs (conn_linger) */
	size_t linger_bytes; /* client bytes discarded since the refusal */
	enum conn_state st;
	http_parser req;
	http_parser resp;
	size_t head_len;
	uint8_t *pending; /* request bytes read but not parsed (pipelined) */
	size_t pending_len;
	struct http_head hd;
	struct cgfw_peer owner;
	int owner_known;
	struct sockaddr_in orig;
	int upstream_connected;
	int https;     /* to :443: TLS on both sides */
	SSL *tls_c;    /* toward the client (we are the server) */
	SSL *tls_u;    /* toward the server (verified) */
	int tls_ready; /* both handshakes done */
	char sni[256];
	int client_paused;      /* reading stopped: the upstream's queue is full */
	int upstream_paused;    /* reading stopped: the client's queue is full */
	int answered;           /* the server's response to this request has begun */
	struct conn *next_free; /* in h->free_conns */
	/* Last: a reused conn is cleared up to here, never through the head's bytes. */
	uint8_t head[HTTP_HEAD_MAX];
};

/* Freed conns kept for the next accepts: no 70 KiB malloc, clear and trim per connection. */
#define HTTP_FREE_CONNS 64

struct http {
	struct worker_rt *rt;
	struct ipc_peer loader;
	struct ipc_peer mon;
	struct evq events; /* sends on mon, never waiting */
	int mode;
	int debug;
	struct url_rule *rules; /* grows as rules arrive, never by announcement */
	size_t n_rules, rules_cap;
	uint32_t n_rules_expected;
	int have_fds, committed, stopping;
	int listen_fd, peers_fd, events_fd, policy_fd, ca_fd, ca_key_fd;
	int tls; /* HTTPS is intercepted (URL rules exist) */
	char *trust;
	struct np_table np;
	uint32_t gen; /* the policy generation in force */
	/* A reload prepared aside (rl_gen != 0), in force from its commit. */
	uint32_t rl_gen;
	int rl_mode;
	struct url_rule *rl_rules;
	size_t rl_n_rules, rl_rules_cap;
	uint32_t rl_n_rules_expected;
	int rl_policy_fd;
	struct np_table rl_np;
	uv_loop_t loop;
	uv_tcp_t listener;
	size_t n_conns;
	struct conn *free_conns; /* up to HTTP_FREE_CONNS */
	size_t n_free_conns;
	/*
	 * Every read lands here: each read callback is done with the bytes
	 * before the next read (what must wait is copied: pending, the TLS
	 * BIOs, queued writes), so one buffer serves every connection.
	 */
	char rbuf[HTTP_READ_BUF];
	Cgfw__HttpStats st;
};

/* ---- loader channel ---- */

static int
http_on_config(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct http *h = ctx;
	const Cgfw__HttpConfig *c = env->loader_http_config;

	/* check_http_config() saw every field. */
	(void)p;
	h->mode = c->mode;
	h->debug = c->debug;
	h->n_rules_expected = c->n_rules;
	h->tls = c->tls;
	h->gen = c->gen;
	h->trust = strdup(c->upstream_trust);
	if (!h->trust)
		fatal("strdup");
	return 0;
}

/* One URL rule into *rules (the config's, or a reload's), as many as announced. */
static int
url_rule_add(struct ipc_peer *p, const Cgfw__UrlRule *r, struct url_rule **rules, size_t *n,
    size_t *cap, uint32_t expected)
{
	struct url_rule *u;

	/* check_url_rule() saw every field; as many as announced. */
	if (*n >= expected)
		return ipc_violation(p, "more rules than the %u announced", expected);
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct url_rule *v = reallocarray(*rules, c, sizeof(*v));

		if (!v)
			fatal("reallocarray");
		*rules = v;
		*cap = c;
	}
	u = &(*rules)[(*n)++];
	u->id = r->id;
	u->action = r->action;
	snprintf(u->scheme, sizeof(u->scheme), "%s", r->scheme);
	u->port = (uint16_t)(r->port                     ? r->port
	                     : strcmp(r->scheme, "http") ? HTTPS_PORT
	                                                 : HTTP_PORT);
	u->host = strdup(r->host);
	u->path = strdup(r->path);
	u->path_len = strlen(r->path);
	u->text = strdup(r->text);
	u->origin = strdup(r->origin);
	if (!u->host || !u->path || !u->text || !u->origin)
		fatal("strdup");
	return 0;
}

static int
http_on_rule(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct http *h = ctx;

	return url_rule_add(
	    p, env->loader_http_rule, &h->rules, &h->n_rules, &h->rules_cap, h->n_rules_expected);
}

static void
url_rules_free(struct url_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rules[i].host);
		free(rules[i].path);
		free(rules[i].text);
		free(rules[i].origin);
	}
	free(rules);
}

/* A prepared reload that will not be committed. */
static void
reload_drop(struct http *h)
{
	url_rules_free(h->rl_rules, h->rl_n_rules);
	h->rl_rules = NULL;
	h->rl_n_rules = h->rl_rules_cap = 0;
	np_table_close(&h->rl_np);
	if (h->rl_policy_fd >= 0)
		(void)close(h->rl_policy_fd);
	h->rl_policy_fd = -1;
	h->rl_gen = 0;
}

/* A new policy: its URL rules and name policy follow.  A newer reload replaces one not committed. */
static int
http_on_reload(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct http *h = ctx;
	const Cgfw__Reload *r = env->loader_http_reload;

	if (r->gen != h->gen + 1)
		return ipc_violation(p, "reload to generation %u, %u in force", r->gen, h->gen);
	if (r->n_rules && !h->tls)
		return ipc_violation(p, "reload: URL rules, but no CA was given");
	reload_drop(h);
	h->rl_gen = r->gen;
	h->rl_mode = r->mode;
	h->rl_n_rules_expected = r->n_rules;
	return 0;
}

static int
http_on_reload_rule(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct http *h = ctx;

	if (!h->rl_gen || h->rl_policy_fd >= 0)
		return ipc_violation(p, "a reload rule without a reload");
	return url_rule_add(p, env->loader_http_reload_rule, &h->rl_rules, &h->rl_n_rules,
	    &h->rl_rules_cap, h->rl_n_rules_expected);
}

/* The new name policy: the reload is whole, RELOADED. */
static int
http_on_reload_fds(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	static const Cgfw__FdKind want[] = {CGFW__FD_KIND__FD_NAME_POLICY};
	struct http *h = ctx;
	Cgfw__Reloaded ack = CGFW__RELOADED__INIT;
	int r;

	if (!h->rl_gen)
		return ipc_violation(p, "reload fds without a reload");
	if (h->rl_policy_fd >= 0)
		return ipc_violation(p, "reload fds twice");
	if (h->rl_n_rules != h->rl_n_rules_expected)
		return ipc_violation(p, "reload fds of an incomplete reload (%zu of %u rules)",
		    h->rl_n_rules, h->rl_n_rules_expected);
	r = ipc_take_fds(p, env->loader_http_reload_fds, want, 1, &h->rl_policy_fd);
	if (r < 0)
		return r;
	r = np_table_open(h->rl_policy_fd, &h->rl_np);
	if (r < 0) {
		reload_drop(h); /* nothing prepared to commit */
		return ipc_violation(p, "reload fds: the name policy is not a valid sealed table");
	}
	ack.gen = h->rl_gen;
	r = ipc_send_http_loader_reloaded(&h->loader, &ack);
	if (r < 0)
		log_warn_r(r, "cannot tell the loader the reload is prepared");
	return 0;
}

/* The loader flipped the BPF maps: every request from now on meets the new rules. */
static int
http_on_reload_commit(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct http *h = ctx;
	const Cgfw__ReloadCommit *c = env->loader_http_reload_commit;

	if (!h->rl_gen || h->rl_policy_fd < 0 || c->gen != h->rl_gen)
		return ipc_violation(p, "commit of generation %u, %u prepared", c->gen, h->rl_gen);
	url_rules_free(h->rules, h->n_rules);
	np_table_close(&h->np);
	(void)close(h->policy_fd);
	h->rules = h->rl_rules;
	h->n_rules = h->rl_n_rules;
	h->rules_cap = h->rl_rules_cap;
	h->n_rules_expected = h->rl_n_rules_expected;
	h->np = h->rl_np;
	h->policy_fd = h->rl_policy_fd;
	h->mode = h->rl_mode;
	h->gen = h->rl_gen;
	h->rl_rules = NULL;
	h->rl_n_rules = h->rl_rules_cap = 0;
	memset(&h->rl_np, 0, sizeof(h->rl_np));
	h->rl_policy_fd = -1;
	h->rl_gen = 0;
	return 0;
}

static int
http_on_fds(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	static const Cgfw__FdKind want[] = {CGFW__FD_KIND__FD_HTTP_LISTEN,
	    CGFW__FD_KIND__FD_PEERS_MAP, CGFW__FD_KIND__FD_HTTP_EVENTS,
	    CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_CA_CERT, CGFW__FD_KIND__FD_CA_KEY};
	struct http *h = ctx;
	int fds[6], r, listening = 0;
	socklen_t len = sizeof(listening);

	r = ipc_take_fds(p, env->loader_http_fds, want, h->tls ? 6 : 4, fds);
	if (r < 0)
		return r;
	if (h->tls) {
		h->ca_fd = fds[4];
		h->ca_key_fd = fds[5];
	}
	h->listen_fd = fds[0];
	h->peers_fd = fds[1];
	h->events_fd = fds[2];
	h->policy_fd = fds[3];
	if (ipc_check_socket(h->listen_fd, AF_INET, SOCK_STREAM) < 0 ||
	    getsockopt(h->listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
		return ipc_violation(p, "fds: the HTTP socket is not a listening TCP socket");
	if (ipc_check_socket(h->events_fd, AF_UNIX, SOCK_SEQPACKET) < 0)
		return ipc_violation(p, "fds: the events socket is not SEQPACKET");
	if (bpfmap_verify(h->peers_fd, CGFW_MAP_PEERS) < 0)
		return ipc_violation(p, "fds: the peers map is not cgfw_peers");
	r = np_table_open(h->policy_fd, &h->np);
	if (r < 0)
		return ipc_violation(p, "fds: the name policy is not a valid sealed table");
	h->have_fds = 1;
	return 0;
}

static int
http_on_commit(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct http *h = ctx;

	(void)env;
	if (!h->have_fds || h->n_rules != h->n_rules_expected)
		return ipc_violation(p, "commit of an incomplete config (%zu of %u rules)",
		    h->n_rules, h->n_rules_expected);
	h->committed = 1;
	return 0;
}

static int
http_on_shutdown(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env)
{
	struct http *h = ctx;

	(void)p;
	(void)env;
	worker_stop(h->rt);
	return 0;
}

/* The loader's messages (HELLO is the table's alone; lib/protocol.def). */
const struct ipc_handlers http_from_loader = {
    .chan = IPC_CH_LOADER_HTTP,
    .on =
        {
            [IPC_M_LOADER_HTTP_CONFIG] = http_on_config,
            [IPC_M_LOADER_HTTP_RULE] = http_on_rule,
            [IPC_M_LOADER_HTTP_FDS] = http_on_fds,
            [IPC_M_LOADER_HTTP_COMMIT] = http_on_commit,
            [IPC_M_LOADER_HTTP_SHUTDOWN] = http_on_shutdown,
            [IPC_M_LOADER_HTTP_RELOAD] = http_on_reload,
            [IPC_M_LOADER_HTTP_RELOAD_RULE] = http_on_reload_rule,
            [IPC_M_LOADER_HTTP_RELOAD_FDS] = http_on_reload_fds,
            [IPC_M_LOADER_HTTP_RELOAD_COMMIT] = http_on_reload_commit,
        },
};

/* ---- decisions ---- */

struct verdict {
	int blocked;
	const char *because;
	const struct url_rule *rule;
	char path[2048];
	char url[2400];
};

/* Path-prefix on segment boundaries: "/news" matches "/news", "/news/uk", not "/newsfeed". */
static int
path_matches(const struct url_rule *r, const char *path)
{
	if (r->path_len == 1)
		return 1;
	return !strncmp(path, r->path, r->path_len) &&
	       (path[r->path_len] == '\0' || path[r->path_len] == '/');
}

/* An event's url, scheme://name[:port]path: the port only where it is not the scheme's own. */
static void
event_url(const struct conn *c, const char *name, const char *path, char *out, size_t out_len)
{
	uint16_t port = ntohs(c->orig.sin_port);
	const char *scheme = c->https ? "https" : "http";

	if (port == (c->https ? HTTPS_PORT : HTTP_PORT))
		snprintf(out, out_len, "%s://%s%s", scheme, name, path);
	else
		snprintf(out, out_len, "%s://%s:%u%s", scheme, name, port, path);
}

/*
 * The request's fate.  Its target must agree with the Host and the
 * connection (http_head_check_target); the Host must itself pass the name
 * policy (an allowed address cannot be used to reach a blocked virtual host);
 * then the most specific URL rule (longest path) of that scheme, host and
 * port decides, a block winning a tie.  With no URL rule matching, a host
 * that is allowed only through URL rules is blocked; a host allowed by name
 * passes.
 */
static void
judge(struct http *h, struct conn *c, struct verdict *v)
{
	uint16_t port = ntohs(c->orig.sin_port);
	const char *scheme = c->https ? "https" : "http";
	const char *target;
	struct np_match m;
	int r;

	v->blocked = 0;
	v->because = NULL;
	v->rule = NULL;
	v->path[0] = '\0';
	r = http_head_path(&c->hd, v->path, sizeof(v->path));
	/* The event's url: never the query, which may carry secrets. */
	event_url(c, c->hd.host, r == 0 ? v->path : "/", v->url, sizeof(v->url));
	target = http_head_check_target(&c->hd, c->https, c->sni);
	if (target) {
		/* A refused absolute-form target is shown as sent, so the event names what was asked. */
		if (c->hd.url[0] != '/' && c->hd.url[0] != '*' && c->hd.method != HTTP_CONNECT)
			snprintf(v->url, sizeof(v->url), "%.*s", (int)strcspn(c->hd.url, "?#"),
			    c->hd.url);
		v->blocked = 1;
		v->because = target;
		return;
	}
	if (c->req.upgrade) {
		v->blocked = 1;
		v->because = "UpgradeNotSupported";
		return;
	}
	/* Over TLS the Host must be the name the handshake was for. */
	if (c->https && strcasecmp(c->hd.host, c->sni) != 0) {
		v->blocked = 1;
		v->because = "HostNotSNI";
		return;
	}
	if (r < 0) {
		v->blocked = 1;
		v->because = "BadRequestPath";
		return;
	}
	if (c->hd.host_len == 0) {
		v->blocked = 1;
		v->because = "NoHostHeader";
		return;
	}
	np_lookup(&h->np, c->hd.host, &m);
	if (m.verdict == NP_BLOCK) {
		v->blocked = 1;
		v->because = "MatchedBlockListDomain";
		return;
	}
	if (m.verdict == NP_NONE && h->mode == CGFW_MODE_ALLOW_LIST) {
		v->blocked = 1;
		v->because = "HostNotAllowed";
		return;
	}
	for (size_t i = 0; i < h->n_rules; i++) {
		const struct url_rule *ur = &h->rules[i];

		if (strcmp(ur->scheme, scheme) || strcmp(ur->host, c->hd.host) || ur->port != port)
			continue;
		if (!path_matches(ur, v->path))
			continue;
		if (!v->rule || ur->path_len > v->rule->path_len ||
		    (ur->path_len == v->rule->path_len && ur->action == CGFW_ACT_BLOCK))
			v->rule = ur;
	}
	if (v->rule) {
		v->blocked = v->rule->action == CGFW_ACT_BLOCK;
		v->because = v->blocked ? "MatchedBlockListURL" : "MatchedAllowListURL";
		return;
	}
	/* Only URL rules admit this host, and none of them covers this path. */
	if (m.verdict == NP_ALLOW && m.kind == NP_K_URL) {
		v->blocked = 1;
		v->because = "URLNotInAllowList";
		return;
	}
	v->blocked = 0;
	v->because = m.verdict == NP_ALLOW           ? "MatchedAllowListDomain"
	             : h->mode == CGFW_MODE_LOG_ONLY ? "LogOnly"
	                                             : "NotInBlockList";
}

static void
send_event(struct http *h, struct conn *c, const struct verdict *v, unsigned status)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__HttpEvent ev = CGFW__HTTP_EVENT__INIT;
	char ip[INET_ADDRSTRLEN], comm[17];

	ev.time_ns = proc_now_ns(CLOCK_REALTIME);
	ev.blocked = v->blocked;
	/* No request parsed (a refused handshake, an unreachable server): no method. */
	ev.method = c->hd.done ? (char *)http_method_str((enum http_method)c->hd.method) : "";
	ev.url = (char *)v->url;
	ev.host = c->hd.host;
	ev.because = (char *)v->because;
	if (v->rule) {
		ev.rule = v->rule->text;
		ev.rule_origin = v->rule->origin;
	}
	ev.owner_known = c->owner_known;
	if (c->owner_known) {
		ev.pid = c->owner.tgid;
		ev.tid = c->owner.pid;
		ev.uid = c->owner.uid;
		memcpy(comm, c->owner.comm, 16);
		comm[16] = '\0';
		ev.comm = comm;
		ev.cgroup = c->owner.cgroup_id;
	}
	inet_ntop(AF_INET, &c->orig.sin_addr, ip, sizeof(ip));
	ev.ip = ip;
	ev.port = ntohs(c->orig.sin_port);
	ev.status = status;
	ipc_env_http_mon_event(&env, &ev);
	(void)evq_send(&h->events, &env); /* a drop is counted, said once (evq.c) */
}

/* ---- connections ---- */

static void conn_read_client(struct conn *c);

static void
conn_handle_closed(uv_handle_t *hd)
{
	struct conn *c = hd->data;
	struct http *h = c->h;

	if (--c->n_open == 0) {
		h->n_conns--;
		tls_free(c->tls_c);
		tls_free(c->tls_u);
		free(c->pending);
		if (h->n_free_conns < HTTP_FREE_CONNS && !h->stopping) {
			c->next_free = h->free_conns;
			h->free_conns = c;
			h->n_free_conns++;
		} else {
			free(c);
		}
	}
}

static void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->st = ST_CLOSING;
	if (!uv_is_closing((uv_handle_t *)&c->client))
		uv_close((uv_handle_t *)&c->client, conn_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->upstream))
		uv_close((uv_handle_t *)&c->upstream, conn_handle_closed);
	if (c->lingering && !uv_is_closing((uv_handle_t *)&c->linger))
		uv_close((uv_handle_t *)&c->linger, conn_handle_closed);
}

static void
linger_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void
linger_shutdown_done(uv_shutdown_t *req, int status)
{
	if (status < 0)
		conn_close(req->data);
}

static void client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void alloc_cb(uv_handle_t *hd, size_t suggested, uv_buf_t *buf);

/*
 * The refusal is written.  Closing now, with request bytes unread, would
 * send RST, which may destroy the answer before the client reads it.  So
 * send FIN and drain the client unread (client_read) until it closes,
 * HTTP_LINGER_MS pass or HTTP_LINGER_MAX bytes come, whichever is first.
 */
static void
conn_linger(struct conn *c)
{
	if (c->closing)
		return;
	uv_timer_init(&c->h->loop, &c->linger);
	c->linger.data = c;
	c->n_open++;
	c->lingering = 1;
	(void)uv_read_stop((uv_stream_t *)&c->upstream);
	if (uv_timer_start(&c->linger, linger_timeout, HTTP_LINGER_MS, 0) < 0 ||
	    uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->client, linger_shutdown_done) < 0) {
		conn_close(c);
		return;
	}
	/* Reading may have stopped (a full queue, a pipelined request waiting). */
	(void)uv_read_stop((uv_stream_t *)&c->client);
	if (uv_read_start((uv_stream_t *)&c->client, alloc_cb, client_read) < 0)
		conn_close(c);
}

/* close_after: the last write to the client; once it is out, conn_linger(). */
struct wreq {
	uv_write_t w;
	struct conn *c;
	int close_after;
	char data[];
};

static void upstream_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/*
 * A write finished: when one side's queue has drained to half the high-water
 * mark, the side feeding it may read again (bodies stream, memory stays flat).
 */
static void
write_done(uv_write_t *w, int status)
{
	struct wreq *q = (struct wreq *)w;
	struct conn *c = q->c;
	int close_after = q->close_after;
	int drained = uv_stream_get_write_queue_size(w->handle) < HTTP_HIGH_WATER / 2;

	if (status < 0) {
		free(q);
		conn_close(c);
		return;
	}
	if (close_after) {
		free(q);
		conn_linger(c);
		return;
	}
	if (c->st == ST_CLOSING) {
		free(q);
		return;
	}
	if (drained && w->handle == (uv_stream_t *)&c->upstream && c->client_paused) {
		c->client_paused = 0;
		conn_read_client(c);
	} else if (drained && w->handle == (uv_stream_t *)&c->client && c->upstream_paused) {
		c->upstream_paused = 0;
		uv_read_start((uv_stream_t *)&c->upstream, alloc_cb, upstream_read);
	}
	free(q);
}

/*
 * Bytes to one socket: written at once when its queue is empty and the
 * socket takes them all (no request, no copy, no callback), else the rest
 * queued behind what waits.  The caller stops reading the other side when
 * the queue backs up.  close_after always goes through the queue: its
 * callback starts the linger.
 */
static int
raw_write(struct conn *c, uv_stream_t *to, const void *data, size_t len, int close_after)
{
	struct wreq *q;
	uv_buf_t b;

	if (c->closing)
		return -EPIPE;
	if (len && !close_after) {
		int n;

		b = uv_buf_init((char *)data, (unsigned)len);
		n = uv_try_write(to, &b, 1);
		if (n == (int)len)
			return 0;
		if (n < 0 && n != UV_EAGAIN) {
			conn_close(c);
			return -EPIPE;
		}
		if (n > 0) {
			data = (const uint8_t *)data + n;
			len -= (size_t)n;
		}
	} else if (!len && !close_after) {
		return 0;
	}
	q = malloc(sizeof(*q) + len);
	if (!q)
		return -ENOMEM;
	q->c = c;
	q->close_after = close_after;
	memcpy(q->data, data, len);
	b = uv_buf_init(q->data, (unsigned)len);
	if (uv_write(&q->w, to, &b, 1, write_done) < 0) {
		free(q);
		conn_close(c);
		return -EPIPE;
	}
	return 0;
}

/* Send what TLS produced on ssl's side. */
static int
tls_flush(struct conn *c, SSL *ssl, uv_stream_t *to, int close_after)
{
	uint8_t buf[16384];
	size_t n;
	int r = 0;

	while ((n = tls_take(ssl, buf, sizeof(buf))) > 0 && r == 0)
		r = raw_write(c, to, buf, n, 0);
	if (r == 0 && close_after)
		r = raw_write(c, to, "", 0, 1);
	return r;
}

/* Plaintext to one side: encrypted first where that side speaks TLS. */
static int
conn_write(struct conn *c, uv_stream_t *to, const void *data, size_t len, int close_after)
{
	SSL *ssl = to == (uv_stream_t *)&c->client ? c->tls_c : c->tls_u;

	if (!ssl)
		return raw_write(c, to, data, len, close_after);
	if (c->closing)
		return -EPIPE;
	for (size_t off = 0; off < len;) {
		size_t n = len - off > 16384 ? 16384 : len - off;

		if (tls_write(ssl, (const uint8_t *)data + off, n) < 0) {
			conn_close(c);
			return -EIO;
		}
		off += n;
	}
	/* The last words: TLS ends with close_notify, so the client sees a clean end. */
	if (close_after)
		tls_close(ssl);
	return tls_flush(c, ssl, to, close_after);
}

/*
 * The one answer a refused connection gets.  From here on nothing is parsed
 * or relayed (ST_CLOSING); the client is drained and closed (conn_linger).
 */
static void
respond_error(struct conn *c, unsigned status, const char *reason, const char *body)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
	    "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s",
	    status, reason, strlen(body), body);

	c->st = ST_CLOSING;
	(void)uv_read_stop((uv_stream_t *)&c->upstream);
	(void)conn_write(c, (uv_stream_t *)&c->client, buf, (size_t)n, 1);
}

/* http-parser callbacks for requests: the head goes to http_parse.c. */
static int
req_on_url(http_parser *p, const char *at, size_t len)
{
	return http_head_on_url(&((struct conn *)p->data)->hd, at, len);
}

static int
req_on_header_field(http_parser *p, const char *at, size_t len)
{
	return http_head_on_field(&((struct conn *)p->data)->hd, at, len);
}

static int
req_on_header_value(http_parser *p, const char *at, size_t len)
{
	return http_head_on_value(&((struct conn *)p->data)->hd, at, len);
}

static int
req_on_headers_complete(http_parser *p)
{
	http_head_complete(&((struct conn *)p->data)->hd, p->method);
	return 0;
}

static int
req_on_message_complete(http_parser *p)
{
	struct conn *c = p->data;

	c->st = ST_WAIT_RESPONSE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings req_settings = {
    .on_url = req_on_url,
    .on_header_field = req_on_header_field,
    .on_header_value = req_on_header_value,
    .on_headers_complete = req_on_headers_complete,
    .on_message_complete = req_on_message_complete,
};

static int
resp_on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;

	/* A response to HEAD has no body, whatever its headers say. */
	return c->hd.method == HTTP_HEAD ? 1 : 0;
}

static void conn_feed(struct conn *c, const uint8_t *data, size_t len);

static int
resp_on_message_complete(http_parser *p)
{
	struct conn *c = p->data;

	if (c->st == ST_WAIT_RESPONSE) {
		c->st = ST_HEAD;
		c->head_len = 0;
		http_head_reset(&c->hd);
		http_parser_pause(&c->req, 0);
	}
	return 0;
}

static const http_parser_settings resp_settings = {
    .on_headers_complete = resp_on_headers_complete,
    .on_message_complete = resp_on_message_complete,
};

/* Judge a request whose head is complete; forward its head, or refuse it. */
static int
conn_admit(struct conn *c)
{
	struct http *h = c->h;
	struct verdict v;
	char body[CGFW_RULE_MAX_LEN + 128];

	h->st.requests++;
	judge(h, c, &v);
	if (!v.blocked) {
		c->answered = 0;
		send_event(h, c, &v, 0);
		return 0;
	}
	h->st.blocked++;
	snprintf(body, sizeof(body), "cgfw: blocked by %s%s\n",
	    v.rule ? "rule " : "policy: ", v.rule ? v.rule->text : v.because);
	send_event(h, c, &v, HTTP_STATUS_FORBIDDEN);
	respond_error(c, HTTP_STATUS_FORBIDDEN, "Forbidden", body);
	return -EACCES;
}

/*
 * A request http-parser refused, or a head over HTTP_HEAD_MAX: one event, one
 * answer, close.  Once the server has begun answering a request already sent
 * (a bad chunk in its body), an answer of ours would corrupt that response,
 * so the connection just closes.
 */
static void
conn_malformed(struct conn *c, unsigned status, const char *because)
{
	struct verdict v = {.blocked = 1, .because = because};
	int answer = c->st == ST_HEAD || !c->answered;
	char ip[INET_ADDRSTRLEN];

	if (c->st == ST_HEAD)
		c->h->st.requests++;
	c->h->st.blocked++;
	/* An unfinished head's Host is not trusted, nor normalised, yet. */
	if (!c->hd.done)
		snprintf(c->hd.host, sizeof(c->hd.host), "%s", c->https ? c->sni : "");
	inet_ntop(AF_INET, &c->orig.sin_addr, ip, sizeof(ip));
	event_url(c, c->hd.host[0] ? c->hd.host : ip, "/", v.url, sizeof(v.url));
	send_event(c->h, c, &v, answer ? status : 0);
	if (!answer)
		conn_close(c);
	else if (status == HTTP_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE)
		respond_error(c, HTTP_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE,
		    "Request Header Fields Too Large", "cgfw: request head too large\n");
	else
		respond_error(
		    c, HTTP_STATUS_BAD_REQUEST, "Bad Request", "cgfw: malformed HTTP request\n");
}

/*
 * Request bytes from the client.  The head is held until it is complete and
 * judged; then the request goes out byte for byte (chunked framing and all).
 * The parser pauses at the end of each request: what follows waits until the
 * response is complete, then is judged in turn.  After a refusal (ST_CLOSING)
 * nothing more is parsed.
 */
static void
conn_feed(struct conn *c, const uint8_t *data, size_t len)
{
	uv_stream_t *up = (uv_stream_t *)&c->upstream;

	while (len && c->st != ST_CLOSING) {
		int was_head = c->st == ST_HEAD;
		size_t n, take = len;
		enum http_errno e;

		if (c->st == ST_WAIT_RESPONSE) {
			uint8_t *p;

			if (c->pending_len + len > 4 * HTTP_HEAD_MAX) {
				conn_close(c);
				return;
			}
			p = realloc(c->pending, c->pending_len + len);
			if (!p) {
				conn_close(c);
				return;
			}
			memcpy(p + c->pending_len, data, len);
			c->pending = p;
			c->pending_len += len;
			uv_read_stop((uv_stream_t *)&c->client);
			return;
		}
		/* Never more head than c->head holds: our limit decides, not http-parser's. */
		if (was_head && take > sizeof(c->head) - c->head_len)
			take = sizeof(c->head) - c->head_len;
		n = http_parser_execute(&c->req, &req_settings, (const char *)data, take);
		e = HTTP_PARSER_ERRNO(&c->req);
		if (e == HPE_HEADER_OVERFLOW) {
			conn_malformed(
			    c, HTTP_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE, "RequestHeadTooLarge");
			return;
		}
		if (e != HPE_OK && e != HPE_PAUSED) {
			conn_malformed(c, HTTP_STATUS_BAD_REQUEST, "BadRequest");
			return;
		}
		if (was_head && !c->hd.done) {
			memcpy(c->head + c->head_len, data, n);
			c->head_len += n;
			if (c->head_len == sizeof(c->head)) {
				conn_malformed(c, HTTP_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE,
				    "RequestHeadTooLarge");
				return;
			}
		} else if (was_head) {
			if (conn_admit(c) < 0)
				return;
			if (conn_write(c, up, c->head, c->head_len, 0) < 0 ||
			    (n && conn_write(c, up, data, n, 0) < 0))
				return;
			c->head_len = 0;
			if (c->st == ST_HEAD)
				c->st = ST_BODY;
		} else if (n && conn_write(c, up, data, n, 0) < 0) {
			return;
		}
		if (c->req.upgrade && c->st != ST_CLOSING) {
			conn_close(c);
			return;
		}
		data += n;
		len -= n;
		/* Stop reading while the upstream cannot keep up: memory stays flat. */
		if (uv_stream_get_write_queue_size(up) > HTTP_HIGH_WATER) {
			c->client_paused = 1;
			uv_read_stop((uv_stream_t *)&c->client);
		}
	}
}

static void
alloc_cb(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = hd->data;

	(void)suggested;
	buf->base = c->h->rbuf;
	buf->len = sizeof(c->h->rbuf);
}

static void upstream_connected(uv_connect_t *req, int status);
static void shutdown_done(uv_shutdown_t *req, int status);

/* Decrypted client bytes into the request path, once both handshakes are done. */
static void
client_drain_tls(struct conn *c)
{
	uint8_t plain[16384];
	int n;

	while (c->tls_ready && c->st != ST_CLOSING && c->st != ST_WAIT_RESPONSE &&
	       (n = tls_read(c->tls_c, plain, sizeof(plain))) != 0) {
		if (n < 0) {
			conn_close(c);
			return;
		}
		conn_feed(c, plain, (size_t)n);
	}
}

/* The client's TLS handshake: refused names end here; a good one names the server. */
static void
client_tls_in(struct conn *c, const void *data, size_t len)
{
	int r;

	if (tls_put(c->tls_c, data, len) < 0) {
		conn_close(c);
		return;
	}
	if (tls_handshake_done(c->tls_c)) {
		client_drain_tls(c);
		return;
	}
	r = tls_handshake(c->tls_c);
	(void)tls_flush(c, c->tls_c, (uv_stream_t *)&c->client, 0);
	if (r < 0) {
		struct verdict v = {.blocked = 1, .because = "TLSHandshakeRefused"};
		const char *sni = tls_sni(c->tls_c);

		snprintf(c->hd.host, sizeof(c->hd.host), "%s", sni ? sni : "");
		snprintf(v.url, sizeof(v.url), "https://%s/", sni ? sni : "");
		if (!sni)
			v.because = "NoSNI";
		c->h->st.requests++;
		c->h->st.blocked++;
		send_event(c->h, c, &v, 0);
		conn_close(c);
	} else if (r == 1) {
		snprintf(c->sni, sizeof(c->sni), "%s", tls_sni(c->tls_c));
		uv_read_stop((uv_stream_t *)&c->client);
		if (uv_tcp_connect(&c->connect_req, &c->upstream, (const struct sockaddr *)&c->orig,
		        upstream_connected) < 0)
			conn_close(c);
	}
}

static void
client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (c->st == ST_CLOSING) {
		/*
		 * Refused: the rest is drained unread (conn_linger), never
		 * parsed.  A client that has said all it will (EOF) still gets
		 * the answer before the close.
		 */
		if (n == UV_EOF && !c->lingering)
			uv_read_stop(s);
		else if (n < 0 || (c->linger_bytes += (size_t)n) > HTTP_LINGER_MAX)
			conn_close(c);
	} else if (n < 0) {
		conn_close(c);
	} else if (n > 0 && c->tls_c) {
		client_tls_in(c, buf->base, (size_t)n);
	} else if (n > 0) {
		conn_feed(c, (const uint8_t *)buf->base, (size_t)n);
	}
}

static void
conn_read_client(struct conn *c)
{
	if (c->st != ST_CLOSING && c->st != ST_WAIT_RESPONSE && !c->client_paused) {
		uv_read_start((uv_stream_t *)&c->client, alloc_cb, client_read);
		/* Plaintext already decrypted but not parsed yet. */
		if (c->tls_c)
			client_drain_tls(c);
	}
}

/*
 * Ciphertext from the server: finish its handshake (a certificate that does
 * not verify is a 502 and an event, never a pass), then relay the plaintext.
 */
static int
upstream_tls_in(struct conn *c, const void *data, size_t len)
{
	uint8_t plain[16384];
	int n;

	if (tls_put(c->tls_u, data, len) < 0) {
		conn_close(c);
		return -1;
	}
	if (!c->tls_ready) {
		n = tls_handshake(c->tls_u);
		(void)tls_flush(c, c->tls_u, (uv_stream_t *)&c->upstream, 0);
		if (n < 0) {
			struct verdict v = {.blocked = 1, .because = "UpstreamCertificateInvalid"};

			c->h->st.upstream_errors++;
			snprintf(c->hd.host, sizeof(c->hd.host), "%s", c->sni);
			snprintf(v.url, sizeof(v.url), "https://%s/", c->sni);
			log_warnx("%s: the server's certificate does not verify: %s", c->sni,
			    tls_error(c->tls_u));
			send_event(c->h, c, &v, HTTP_STATUS_BAD_GATEWAY);
			respond_error(c, HTTP_STATUS_BAD_GATEWAY, "Bad Gateway",
			    "cgfw: the server's certificate does not verify\n");
			return -1;
		}
		if (n == 0)
			return 0;
		c->tls_ready = 1;
		conn_read_client(c);
	}
	while ((n = tls_read(c->tls_u, plain, sizeof(plain))) > 0) {
		c->answered = 1;
		(void)http_parser_execute(&c->resp, &resp_settings, (const char *)plain, (size_t)n);
		if (conn_write(c, (uv_stream_t *)&c->client, plain, (size_t)n, 0) < 0)
			return -1;
	}
	if (n < 0 && !c->closing) {
		/* The server closed TLS: flush what the client has, then close. */
		uv_read_stop((uv_stream_t *)&c->upstream);
		if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->client, shutdown_done) < 0)
			conn_close(c);
		return -1;
	}
	return 0;
}

static void
shutdown_done(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close(req->data);
}

static void
upstream_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (c->st == ST_CLOSING) {
		/* Refused: the server has nothing more to say to this client. */
		uv_read_stop(s);
		return;
	}
	if (n < 0) {
		/* EOF may end a response that runs until close: flush it, then close. */
		(void)http_parser_execute(&c->resp, &resp_settings, NULL, 0);
		uv_read_stop(s);
		if (c->closing ||
		    uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->client, shutdown_done) < 0)
			conn_close(c);
		return;
	}
	if (n > 0 && c->tls_u) {
		if (upstream_tls_in(c, buf->base, (size_t)n) < 0)
			return;
	} else if (n > 0) {
		c->answered = 1;
		(void)http_parser_execute(&c->resp, &resp_settings, buf->base, (size_t)n);
		(void)conn_write(c, (uv_stream_t *)&c->client, buf->base, (size_t)n, 0);
	}
	if (n > 0) {
		if (uv_stream_get_write_queue_size((uv_stream_t *)&c->client) > HTTP_HIGH_WATER) {
			c->upstream_paused = 1;
			uv_read_stop(s);
		}
		/* The response is complete: the next pipelined request may go. */
		if (c->st == ST_HEAD && c->pending_len) {
			uint8_t *p = c->pending;
			size_t len = c->pending_len;

			c->pending = NULL;
			c->pending_len = 0;
			conn_feed(c, p, len);
			free(p);
		}
		if (c->st == ST_HEAD)
			conn_read_client(c);
	}
}

static void
upstream_connected(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	char ip[INET_ADDRSTRLEN];

	if (c->st == ST_CLOSING)
		return;
	if (status < 0) {
		struct verdict v = {.blocked = 1, .because = "UpstreamUnreachable"};

		c->h->st.upstream_errors++;
		inet_ntop(AF_INET, &c->orig.sin_addr, ip, sizeof(ip));
		event_url(c, c->https ? c->sni : ip, "/", v.url, sizeof(v.url));
		send_event(c->h, c, &v, HTTP_STATUS_BAD_GATEWAY);
		respond_error(
		    c, HTTP_STATUS_BAD_GATEWAY, "Bad Gateway", "cgfw: cannot reach the server\n");
		return;
	}
	c->upstream_connected = 1;
	uv_read_start((uv_stream_t *)&c->upstream, alloc_cb, upstream_read);
	if (c->https) {
		c->tls_u = tls_client_new(c->sni, c->orig.sin_addr.s_addr, c->orig.sin_port);
		if (!c->tls_u || tls_handshake(c->tls_u) < 0) {
			conn_close(c);
			return;
		}
		(void)tls_flush(c, c->tls_u, (uv_stream_t *)&c->upstream, 0);
		return;
	}
	conn_read_client(c);
}

static void
accept_cb(uv_stream_t *srv, int status)
{
	struct http *h = srv->data;
	struct sockaddr_in peer;
	struct cgfw_peer_key k;
	struct conn *c;
	int len = sizeof(peer);

	if (status < 0)
		return;
	c = h->free_conns;
	if (c) {
		h->free_conns = c->next_free;
		h->n_free_conns--;
	} else if (!(c = malloc(sizeof(*c)))) {
		return;
	}
	memset(c, 0, offsetof(struct conn, head));
	c->h = h;
	h->n_conns++;
	uv_tcp_init(&h->loop, &c->client);
	uv_tcp_init(&h->loop, &c->upstream);
	c->n_open = 2;
	c->client.data = c->upstream.data = c->connect_req.data = c->shutdown_req.data = c;
	http_parser_init(&c->req, HTTP_REQUEST);
	http_parser_init(&c->resp, HTTP_RESPONSE);
	c->req.data = c->resp.data = c;
	/*
	 * No Nagle either way: every write is a whole message (a request, a
	 * response, a TLS flight), and waiting for an ACK before the next one
	 * costs a delayed-ACK timeout per handshake.
	 */
	(void)uv_tcp_nodelay(&c->upstream, 1);
	if (uv_accept(srv, (uv_stream_t *)&c->client) < 0 || h->n_conns > HTTP_MAX_CONNS ||
	    uv_tcp_nodelay(&c->client, 1) < 0 ||
	    uv_tcp_getpeername(&c->client, (struct sockaddr *)&peer, &len) < 0 ||
	    peer.sin_family != AF_INET) {
		conn_close(c);
		return;
	}
	/* Who is asking, and where they meant to go: both from the BPF maps. */
	k.addr = peer.sin_addr.s_addr;
	k.port = ntohs(peer.sin_port);
	k.proto = IPPROTO_TCP;
	k.pad = 0;
	c->owner_known = bpf_map_lookup_elem(h->peers_fd, &k, &c->owner) == 0;
	if (!c->owner_known || c->owner.orig_daddr == 0) {
		log_warnx("a connection with no recorded destination, closing it");
		conn_close(c);
		return;
	}
	c->orig.sin_family = AF_INET;
	c->orig.sin_addr.s_addr = c->owner.orig_daddr;
	c->orig.sin_port = htons(c->owner.orig_dport);
	if (c->owner.orig_dport == HTTPS_PORT && !h->tls) {
		conn_close(c); /* nothing should send :443 here without URL rules */
		return;
	}
	if (c->owner.orig_dport == HTTPS_PORT) {
		/* The ClientHello first: its SNI names the server we connect to. */
		c->https = 1;
		c->tls_c = tls_server_new(c);
		if (!c->tls_c) {
			conn_close(c);
			return;
		}
		uv_read_start((uv_stream_t *)&c->client, alloc_cb, client_read);
		return;
	}
	if (uv_tcp_connect(&c->connect_req, &c->upstream, (const struct sockaddr *)&c->orig,
	        upstream_connected) < 0)
		conn_close(c);
}

/* ---- lifecycle ---- */

static void
close_walk(uv_handle_t *hd, void *arg)
{
	struct http *h = arg;

	if (uv_is_closing(hd))
		return;
	if ((hd->type == UV_TCP || hd->type == UV_TIMER) && hd->data != h)
		conn_close(hd->data);
	else
		uv_close(hd, NULL);
}

static void
http_stop(void *ctx)
{
	struct http *h = ctx;
	int r;

	if (h->stopping)
		return;
	h->stopping = 1;
	r = ipc_send_http_loader_stats(&h->loader, &h->st);
	if (r < 0)
		log_warn_r(r, "cannot report stats to the loader");
	/* Stopping: the queued events may wait a little for the monitor now. */
	(void)evq_close(&h->events, HTTP_FLUSH_MS);
	uv_walk(&h->loop, close_walk, h);
}

static const char *const http_sandbox[] = {
    "socket:2",    /* AF_INET: upstream connections */
    "connect",     /* upstream */
    "setsockopt",  /* libuv */
    "getsockopt",  /* SO_ERROR */
    "getsockname", /* libuv */
    "getpeername", /* accepted clients */
    "accept4",     /* clients */
    "shutdown",    /* libuv */
    "bpf:1",       /* BPF_MAP_LOOKUP_ELEM: owners */
    "sendmmsg",    /* the events to the monitor (lib/evq.c) */
    NULL,
};

/* The SNI of a ClientHello must itself pass the name policy. */
static struct http *http_self;

static int
sni_allowed(void *conn, const char *sni)
{
	struct np_match m;
	enum np_verdict v;

	(void)conn;
	v = np_lookup(&http_self->np, sni, &m);
	return v == NP_ALLOW || (v == NP_NONE && http_self->mode != CGFW_MODE_ALLOW_LIST);
}

/* A whole (small) file from an fd the loader opened. */
static char *
slurp(int fd, size_t *ret_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		return NULL;
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			free(buf);
			return NULL; /* a CA file this big is not one */
		}
	}
	(void)close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	*ret_len = len;
	return buf;
}

static void
http_tls_setup(struct http *h)
{
	size_t ca_len = 0, key_len = 0;
	char *ca = slurp(h->ca_fd, &ca_len), *key = slurp(h->ca_key_fd, &key_len);
	int r;

	if (!ca || !key)
		fatalx("cannot read the CA certificate and key");
	http_self = h;
	r = tls_init(ca, ca_len, key, key_len, h->trust, sni_allowed);
	if (r < 0)
		fatal_r(r, "cannot set up TLS (CA, key, or trust file %s)", h->trust);
	explicit_bzero(key, key_len);
	free(key);
	free(ca);
}

/* Configured: greet the monitor, set up the events queue, the listener, TLS. */
static void
http_start(void *ctx)
{
	struct http *h = ctx;
	int r;

	ipc_peer_init(&h->mon, h->events_fd, "monitor");
	r = ipc_send_http_mon_hello(&h->mon);
	if (r < 0)
		fatal_r(r, "cannot greet the monitor");
	log_init("cgfw-httpproxy", h->debug);
	r = evq_init(&h->events, &h->loop, &h->mon, ipc_env_http_mon_lost, CGFW_EVQ_MAX_MSGS,
	    CGFW_EVQ_MAX_BYTES);
	if (r < 0)
		fatalx("cannot watch the monitor's channel: %s", uv_strerror(r));
	uv_tcp_init(&h->loop, &h->listener);
	h->listener.data = h;
	if (uv_tcp_open(&h->listener, h->listen_fd) < 0 ||
	    uv_listen((uv_stream_t *)&h->listener, 128, accept_cb) < 0)
		fatalx("cannot accept on the HTTP socket");
	if (h->tls)
		http_tls_setup(h);
}

/* What the loader's configuration made: the name table, the URL rules, the trust path. */
static void
http_free_config(struct http *h)
{
	reload_drop(h);
	np_table_close(&h->np);
	url_rules_free(h->rules, h->n_rules);
	free(h->trust);
	h->rules = NULL;
	h->trust = NULL;
	h->n_rules = 0;
}

/* The conns kept for reuse (conn_handle_closed). */
static void
http_free_conns(struct http *h)
{
	struct conn *c;

	while ((c = h->free_conns)) {
		h->free_conns = c->next_free;
		free(c);
	}
	h->n_free_conns = 0;
}

static int
http_finish(void *ctx)
{
	http_free_conns(ctx);
	http_free_config(ctx);
	return 0;
}

static void
http_init(void *ctx, struct worker_rt *rt)
{
	struct http *h = ctx;

	h->rt = rt;
	rt->ctx = h;
	rt->loop = &h->loop;
	rt->loader = &h->loader;
	ipc_peer_init(&h->loader, -1, "loader");
	ipc_peer_init(&h->mon, -1, "monitor");
	cgfw__http_stats__init(&h->st);
	h->listen_fd = h->peers_fd = h->events_fd = h->policy_fd = h->ca_fd = h->ca_key_fd = -1;
	h->rl_policy_fd = -1;
}

struct ipc_peer *
http_loader_peer(struct http *h)
{
	return &h->loader;
}

void
http_release(struct http *h)
{
	int *fds[] = {
	    &h->listen_fd, &h->peers_fd, &h->events_fd, &h->policy_fd, &h->ca_fd, &h->ca_key_fd};

	http_free_conns(h);
	http_free_config(h);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			(void)close(*fds[i]);
	ipc_peer_close(&h->loader);
	free(h);
}

const struct worker_def http_worker = {
    .name = "cgfw-httpproxy",
    .hello = ipc_send_http_loader_hello,
    .ready = ipc_send_http_loader_ready,
    .from_loader = &http_from_loader,
    .sandbox = http_sandbox,
    .signals = {SIGTERM},
    .ctx_size = sizeof(struct http),
    .init = http_init,
    .start = http_start,
    .stop = http_stop,
    .finish = http_finish,
};
