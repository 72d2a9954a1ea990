// SPDX-License-Identifier: MIT
/*
 * The protocol table built from lib/protocol.def, its validators, and the
 * dispatcher that enforces it.  Validators look at one message alone (ranges,
 * lengths, counts, characters); what depends on earlier messages (rule ids in
 * order, as many rules as announced) and what needs the fds themselves
 * (bpfmap_verify(), socket types) stays with the handlers.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/dnsmsg.h"
#include "lib/protocol.h"
#include "lib/rules.h"

const struct ipc_chan_def ipc_chans[IPC_N_CHANS] = {
    [IPC_CH_LOADER_MON] = {"loader -> monitor", CGFW__ROLE__ROLE_LOADER, CGFW__ROLE__ROLE_MONITOR},
    [IPC_CH_MON_LOADER] = {"monitor -> loader", CGFW__ROLE__ROLE_MONITOR, CGFW__ROLE__ROLE_LOADER},
    [IPC_CH_LOADER_DNS] = {"loader -> dnsproxy", CGFW__ROLE__ROLE_LOADER,
        CGFW__ROLE__ROLE_DNSPROXY},
    [IPC_CH_DNS_LOADER] = {"dnsproxy -> loader", CGFW__ROLE__ROLE_DNSPROXY,
        CGFW__ROLE__ROLE_LOADER},
    [IPC_CH_LOADER_HTTP] = {"loader -> httpproxy", CGFW__ROLE__ROLE_LOADER,
        CGFW__ROLE__ROLE_HTTPPROXY},
    [IPC_CH_HTTP_LOADER] = {"httpproxy -> loader", CGFW__ROLE__ROLE_HTTPPROXY,
        CGFW__ROLE__ROLE_LOADER},
    [IPC_CH_DNS_MON] = {"dnsproxy -> monitor", CGFW__ROLE__ROLE_DNSPROXY, CGFW__ROLE__ROLE_MONITOR},
    [IPC_CH_HTTP_MON] = {"httpproxy -> monitor", CGFW__ROLE__ROLE_HTTPPROXY,
        CGFW__ROLE__ROLE_MONITOR},
};

static const char *const state_names[IPC_N_STATES] = {
    [IPC_ST_HELLO] = "HELLO",
    [IPC_ST_CONFIG] = "CONFIG",
    [IPC_ST_RULES] = "RULES",
    [IPC_ST_COMMIT] = "COMMIT",
    [IPC_ST_RUNNING] = "RUNNING",
    [IPC_ST_DONE] = "DONE",
};

const char *
ipc_state_name(int state)
{
	return state >= 0 && state < IPC_N_STATES ? state_names[state] : "?";
}

/* ---- validators: one message alone ---- */

/* Printable ASCII, no control character (no CR/LF to forge a text line). */
static int
printable(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || n >= max)
			return 0;
	return 1;
}

/* Like printable(), UTF-8 allowed (paths, rule text as written). */
static int
no_controls(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f || n >= max)
			return 0;
	return 1;
}

static int
mode_ok(Cgfw__Mode m)
{
	return m >= CGFW__MODE__MODE_LOG_ONLY && m <= CGFW__MODE__MODE_BLOCK_LIST;
}

static int
action_ok(Cgfw__Action a)
{
	return a == CGFW__ACTION__ACTION_ALLOW || a == CGFW__ACTION__ACTION_BLOCK;
}

static int
check_none(struct ipc_peer *p, enum ipc_chan chan, const void *m)
{
	(void)p;
	(void)chan;
	(void)m;
	return 0;
}

static int
check_hello(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__Hello *h)
{
	if (h->protocol_version != CGFW_PROTOCOL_VERSION)
		return ipc_violation(p, "protocol version %u, expected %u", h->protocol_version,
		    CGFW_PROTOCOL_VERSION);
	if (h->role != ipc_chans[chan].from)
		return ipc_violation(
		    p, "role %d, expected %d", (int)h->role, (int)ipc_chans[chan].from);
	return 0;
}

static int
check_mon_config(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__MonConfigBegin *c)
{
	(void)chan;
	if (!mode_ok(c->mode))
		return ipc_violation(p, "config: mode %d", (int)c->mode);
	if (c->n_rules > CGFW_IPC_MON_RULES_MAX)
		return ipc_violation(p, "config: %u rules", c->n_rules);
	if (!no_controls(c->target_cgroup, CGFW_IPC_STR_MAX))
		return ipc_violation(p, "config: the cgroup path");
	return 0;
}

static int
check_mon_rules(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__MonRules *b)
{
	(void)chan;
	if (b->n_rules == 0 || b->n_rules > CGFW_IPC_BATCH_MAX)
		return ipc_violation(p, "a batch of %zu rules", b->n_rules);
	for (size_t i = 0; i < b->n_rules; i++) {
		const Cgfw__MonRule *r = b->rules[i];

		if (r->id == 0 || !action_ok(r->action))
			return ipc_violation(p, "rule %u: action %d", r->id, (int)r->action);
		if (!r->text[0] || !no_controls(r->text, CGFW_RULE_MAX_LEN) ||
		    !no_controls(r->origin, CGFW_IPC_STR_MAX) || !printable(r->kind, 32))
			return ipc_violation(p, "rule %u: bad text, origin or kind", r->id);
	}
	return 0;
}

static int
check_notice(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__Notice *n)
{
	(void)chan;
	/* msg and because are written bare into the text line: words only. */
	if (!n->msg[0] || strspn(n->msg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ ") != strlen(n->msg) ||
	    strlen(n->msg) > 31)
		return ipc_violation(p, "notice: msg");
	if (strspn(n->because, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") !=
	        strlen(n->because) ||
	    strlen(n->because) > 39)
		return ipc_violation(p, "notice: because");
	if (!no_controls(n->comment, 511))
		return ipc_violation(p, "notice: comment");
	return 0;
}

static int
check_refused(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__Refused *rf)
{
	(void)chan;
	if (rf->n_args != 3 || rf->tid == 0)
		return ipc_violation(p, "refused: %zu arguments, tid %u", rf->n_args, rf->tid);
	return 0;
}

static int
check_mon_stats(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__MonStats *s)
{
	(void)chan;
	if (s->unwritten > s->lost)
		return ipc_violation(p, "mon_stats: %llu unwritten of %llu lost",
		    (unsigned long long)s->unwritten, (unsigned long long)s->lost);
	return 0;
}

static int
check_dns_config(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__DnsConfig *c)
{
	(void)chan;
	if (!mode_ok(c->mode))
		return ipc_violation(p, "config: mode %d", (int)c->mode);
	if (c->block_response != CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_REFUSED &&
	    c->block_response != CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_NXDOMAIN)
		return ipc_violation(p, "config: block response %d", (int)c->block_response);
	if (c->n_upstreams == 0 || c->n_upstreams > CGFW_IPC_UPSTREAMS_MAX)
		return ipc_violation(p, "config: %zu upstreams", c->n_upstreams);
	if (c->timeout_ms < 100 || c->timeout_ms > 60000 || c->min_ttl > 7 * 86400)
		return ipc_violation(p, "config: timeout %u ms or min ttl %u out of range",
		    c->timeout_ms, c->min_ttl);
	for (size_t i = 0; i < c->n_upstreams; i++)
		if (!c->upstreams[i][0] || !printable(c->upstreams[i], 64))
			return ipc_violation(p, "config: upstream %zu", i);
	return 0;
}

static int
check_dns_stats(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__DnsStats *s)
{
	(void)chan;
	if (s->blocked > s->queries || s->servfail > s->queries)
		return ipc_violation(p, "dns_stats: %llu blocked, %llu servfail of %llu queries",
		    (unsigned long long)s->blocked, (unsigned long long)s->servfail,
		    (unsigned long long)s->queries);
	return 0;
}

/* The fields themselves are the monitor's to judge (events.c); the counts are ours. */
static int
check_dns_event(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__DnsEvent *ev)
{
	(void)chan;
	if (ev->n_ips > DNS_MAX_A || ev->n_chain > DNS_MAX_CHAIN)
		return ipc_violation(p, "dns event: %zu ips, %zu names", ev->n_ips, ev->n_chain);
	return 0;
}

static int
check_lost(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__EventsLost *l)
{
	(void)chan;
	if (l->count == 0)
		return ipc_violation(p, "events lost: a count of 0");
	return 0;
}

static int
check_http_config(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__HttpConfig *c)
{
	(void)chan;
	if (!mode_ok(c->mode) || c->n_rules > CGFW_IPC_URL_RULES_MAX)
		return ipc_violation(p, "config: mode %d, %u rules", (int)c->mode, c->n_rules);
	if (c->upstream_trust[0] != '/' || !no_controls(c->upstream_trust, CGFW_IPC_STR_MAX))
		return ipc_violation(p, "config: upstream trust path");
	return 0;
}

/* A reload's generation follows the one in force; its rules are announced within the caps. */
static int
check_reload(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__Reload *r)
{
	uint32_t max = chan == IPC_CH_LOADER_MON    ? CGFW_IPC_MON_RULES_MAX
	               : chan == IPC_CH_LOADER_HTTP ? CGFW_IPC_URL_RULES_MAX
	                                            : 0;

	if (r->gen == 0 || !mode_ok(r->mode) || r->n_rules > max)
		return ipc_violation(p, "reload: generation %u, mode %d, %u rules", r->gen,
		    (int)r->mode, r->n_rules);
	return 0;
}

static int
check_reloaded(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__Reloaded *r)
{
	(void)chan;
	if (r->gen == 0)
		return ipc_violation(p, "reloaded: generation 0");
	return 0;
}

static int
check_reload_commit(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__ReloadCommit *c)
{
	(void)chan;
	if (c->gen == 0)
		return ipc_violation(p, "reload commit: generation 0");
	return 0;
}

static int
check_url_rule(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__UrlRule *r)
{
	(void)chan;
	/* Host and path are matched and logged: no space, no control character (CR, LF). */
	if (!action_ok(r->action) || (strcmp(r->scheme, "http") && strcmp(r->scheme, "https")) ||
	    r->port > 65535 || !r->host[0] || !no_controls(r->host, 253) || strchr(r->host, ' ') ||
	    r->path[0] != '/' || !no_controls(r->path, CGFW_RULE_MAX_LEN) || strchr(r->path, ' ') ||
	    !no_controls(r->text, CGFW_RULE_MAX_LEN) || !no_controls(r->origin, CGFW_IPC_STR_MAX))
		return ipc_violation(p, "rule %u: a field is out of range", r->id);
	return 0;
}

static int
check_http_stats(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__HttpStats *s)
{
	(void)chan;
	if (s->blocked > s->requests)
		return ipc_violation(p, "http_stats: %llu blocked of %llu requests",
		    (unsigned long long)s->blocked, (unsigned long long)s->requests);
	return 0;
}

static int
check_http_event(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__HttpEvent *ev)
{
	(void)p;
	(void)chan;
	(void)ev;
	return 0;
}

/* ---- the table ---- */

/* Typed glue: each row's validator sees its own body, each FDS row its list. */
#define IPC_MSG(NAME, field, Type, CHAN, PERMIT, NEXT, FDSPEC, CHECK)                              \
	static int v_##field(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__Envelope *env)    \
	{                                                                                          \
		return CHECK(p, chan, env->field);                                                 \
	}
#define IPC_MSG_EMPTY IPC_MSG
#define IPC_MSG_HELLO IPC_MSG
#define IPC_MSG_FDS(NAME, field, Type, CHAN, PERMIT, NEXT, FDSPEC, CHECK)                          \
	IPC_MSG(NAME, field, Type, CHAN, PERMIT, NEXT, FDSPEC, CHECK)                              \
	static const Cgfw__Fds *fds_##field(const Cgfw__Envelope *env)                             \
	{                                                                                          \
		return env->field;                                                                 \
	}
#include "lib/protocol.def"
#undef IPC_MSG
#undef IPC_MSG_FDS

#define S(st)                (1U << IPC_ST_##st)
#define K(kind)              (1U << CGFW__FD_KIND__FD_##kind)
#define FDS_NONE             0, 0, 0
#define FDS(min, max, kinds) (min), (max), (kinds)
#define NEXT_SAME            -1
#define NEXT_OF(st)          NEXT_##st
#define NEXT_CONFIG          IPC_ST_CONFIG
#define NEXT_RULES           IPC_ST_RULES
#define NEXT_COMMIT          IPC_ST_COMMIT
#define NEXT_RUNNING         IPC_ST_RUNNING
#define NEXT_DONE            IPC_ST_DONE

#define ROW(NAME, field, CHAN, PERMIT, NEXT, fmin, fmax, fkinds, fdsfn)                            \
	[IPC_M_##NAME] = {CGFW__ENVELOPE__BODY_##NAME, #field, IPC_CH_##CHAN, PERMIT,              \
	    NEXT_OF(NEXT), fmin, fmax, fkinds, fdsfn, v_##field},
#define ROW_(...) ROW(__VA_ARGS__)

const struct ipc_msg_def ipc_msgs[IPC_N_MSGS] = {
#define IPC_MSG(NAME, field, Type, CHAN, PERMIT, NEXT, FDSPEC, CHECK)                              \
	ROW_(NAME, field, CHAN, PERMIT, NEXT, FDSPEC, NULL)
#define IPC_MSG_FDS(NAME, field, Type, CHAN, PERMIT, NEXT, FDSPEC, CHECK)                          \
	ROW_(NAME, field, CHAN, PERMIT, NEXT, FDSPEC, fds_##field)
#include "lib/protocol.def"
#undef IPC_MSG
#undef IPC_MSG_EMPTY
#undef IPC_MSG_HELLO
#undef IPC_MSG_FDS
};

const struct ipc_msg_def *
ipc_msg_of(Cgfw__Envelope__BodyCase body)
{
	for (size_t i = 0; i < IPC_N_MSGS; i++)
		if (ipc_msgs[i].body == body)
			return &ipc_msgs[i];
	return NULL;
}

/* ---- the dispatcher ---- */

/* The fds the row allows: as many as listed, of its kinds, each kind once. */
static int
check_fds(struct ipc_peer *p, const struct ipc_msg_def *m, const Cgfw__Envelope *env)
{
	const Cgfw__Fds *f;
	uint32_t seen = 0;

	if (!m->fds) {
		if (p->n_fds)
			return ipc_violation(p, "%s sent fds with %s", p->name, m->name);
		return 0;
	}
	f = m->fds(env);
	if (f->n_kinds != p->n_fds || p->n_fds < m->fds_min || p->n_fds > m->fds_max)
		return ipc_violation(p, "%s: %zu kinds, %zu fds", m->name, f->n_kinds, p->n_fds);
	for (size_t i = 0; i < f->n_kinds; i++) {
		uint32_t bit = f->kinds[i] > 0 && f->kinds[i] < 32 ? 1U << f->kinds[i] : 0;

		if (!(bit & m->fd_kinds))
			return ipc_violation(
			    p, "%s: unexpected kind %d", m->name, (int)f->kinds[i]);
		if (seen & bit)
			return ipc_violation(p, "%s: kind %d twice", m->name, (int)f->kinds[i]);
		seen |= bit;
	}
	return 0;
}

int
ipc_dispatch(struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, Cgfw__Envelope *env)
{
	const struct ipc_msg_def *m = ipc_msg_of(env->body_case);
	int r;

	if (!m || m->chan != h->chan) {
		r = ipc_violation(p, "%s may not send %s (%d)", p->name,
		    ipc_body_name(env->body_case), (int)env->body_case);
		goto out;
	}
	if (p->state < 0 || p->state >= IPC_N_STATES || !(m->permit & (1U << p->state))) {
		r = ipc_violation(
		    p, "%s sent %s in state %s", p->name, m->name, ipc_state_name(p->state));
		goto out;
	}
	r = check_fds(p, m, env);
	if (r == 0)
		r = m->check(p, h->chan, env);
	if (r == 0 && h->on[m - ipc_msgs])
		r = h->on[m - ipc_msgs](ctx, p, env);
	if (r >= 0 && p->n_fds)
		r = ipc_violation(p, "%s sent fds with %s", p->name, m->name);
	if (r >= 0 && m->next >= 0)
		p->state = m->next;
out:
	ipc_close_fds(p);
	cgfw__envelope__free_unpacked(env, NULL);
	return r;
}

int
ipc_recv_until(struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, enum ipc_state until,
    int timeout_ms)
{
	struct timespec t0, now;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (p->state != (int)until) {
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		Cgfw__Envelope *env;
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms -
		       ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		r = ipc_recv(p, &env);
		if (r == -EAGAIN)
			continue;
		if (r == 0)
			r = ipc_dispatch(p, h, ctx, env);
		if (r < 0)
			return r;
	}
	return 0;
}

int
ipc_drain(struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, const int *stop)
{
	Cgfw__Envelope *env;
	int r;

	while (!*stop) {
		r = ipc_recv(p, &env);
		if (r == -EAGAIN)
			return 0;
		if (r == 0)
			r = ipc_dispatch(p, h, ctx, env);
		if (r < 0)
			return r;
	}
	return 0;
}
