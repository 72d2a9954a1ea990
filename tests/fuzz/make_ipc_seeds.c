// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpora of the fuzz_ipc_* targets into DIR/ipc_monitor,
 * DIR/ipc_dnsproxy, DIR/ipc_httpproxy and DIR/ipc_loader (make ipc-seeds: DIR is
 * tests/fuzz/corpus): valid conversations in the record format of
 * tests/fuzz/ipc_harness.h, with the sequence numbers right, so the fuzzer
 * starts past the handshake, and a few that the table must refuse.  The
 * output is deterministic.  A seed's name ends in -running when every peer
 * it speaks for must end RUNNING (or later), in -refused when a peer must be
 * cut off: the replay checks it (fuzz_replay_check()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/ipc_send.h"
#include "lib/protocol.h"
#include "tests/fuzz/ipc_harness.h"

#define MAX_PEERS 3

struct seed {
	FILE *f;
	uint64_t seq[MAX_PEERS];
};

static const char *dir;

static void
seed_open(struct seed *s, const char *target, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s.bin", dir, target, name);
	memset(s, 0, sizeof(*s));
	s->f = fopen(path, "wb");
	if (!s->f) {
		perror(path);
		exit(1);
	}
}

static void
seed_close(struct seed *s)
{
	if (fclose(s->f) != 0) {
		perror("fclose");
		exit(1);
	}
}

/* What the next record's bytes get: the first `from` becomes `to` (same length). */
static const char *patch_from, *patch_to;
static size_t patch_len;

/*
 * The fds of a record, one letter each (enum fuzz_fd_kind): n /dev/null,
 * s SEQPACKET, l listening unix stream, d unix datagram, u inet datagram,
 * t listening TCP, N a sealed name policy, and the maps R the ring buffer,
 * S stats, A argv, L learned_v4 (slot 0), B learned_b (slot 1), P peers.
 */
static uint8_t
fd_kind(char c)
{
	switch (c) {
	case 'n':
		return FUZZ_FD_NULL;
	case 's':
		return FUZZ_FD_SEQPACKET;
	case 'l':
		return FUZZ_FD_LISTEN;
	case 'd':
		return FUZZ_FD_DGRAM;
	case 'u':
		return FUZZ_FD_UDP;
	case 't':
		return FUZZ_FD_TCP_LISTEN;
	case 'N':
		return FUZZ_FD_NAME_POLICY;
	case 'R':
		return FUZZ_FD_MAP + CGFW_MAP_EVENTS;
	case 'S':
		return FUZZ_FD_MAP + CGFW_MAP_STATS;
	case 'A':
		return FUZZ_FD_MAP + CGFW_MAP_ARGV;
	case 'L':
		return FUZZ_FD_MAP + CGFW_MAP_LEARNED_V4;
	case 'B':
		return FUZZ_FD_MAP + CGFW_MAP_LEARNED_B;
	case 'P':
		return FUZZ_FD_MAP + CGFW_MAP_PEERS;
	default:
		abort();
	}
}

/* One record: env from peer (its next sequence number) with the fds `fds` spells. */
static void
rec(struct seed *s, int peer, const char *fds, Cgfw__Envelope *env)
{
	uint8_t buf[CGFW_IPC_MAX], hdr[FUZZ_IPC_HDR] = {0};
	size_t len, n = strlen(fds);

	env->seq = ++s->seq[peer];
	len = cgfw__envelope__get_packed_size(env);
	if (len > sizeof(buf))
		abort();
	cgfw__envelope__pack(env, buf);
	if (patch_from) {
		uint8_t *at = memmem(buf, len, patch_from, patch_len);

		if (!at)
			abort();
		memcpy(at, patch_to, patch_len);
		patch_from = NULL;
	}
	if (n > CGFW_IPC_MAX_FDS)
		abort();
	hdr[0] = (uint8_t)peer;
	hdr[1] = (uint8_t)n;
	hdr[2] = (uint8_t)len;
	hdr[3] = (uint8_t)(len >> 8);
	for (size_t i = 0; i < n; i++)
		hdr[4 + i] = fd_kind(fds[i]);
	if (fwrite(hdr, 1, sizeof(hdr), s->f) != sizeof(hdr) || fwrite(buf, 1, len, s->f) != len)
		abort();
}

static void
hello(struct seed *s, int peer, Cgfw__Envelope__BodyCase body, Cgfw__Role role)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Hello h = CGFW__HELLO__INIT;

	h.protocol_version = CGFW_PROTOCOL_VERSION;
	h.role = role;
	env.body_case = body;
	switch (body) {
	case CGFW__ENVELOPE__BODY_LOADER_MON_HELLO:
		env.loader_mon_hello = &h;
		break;
	case CGFW__ENVELOPE__BODY_DNS_MON_HELLO:
		env.dns_mon_hello = &h;
		break;
	case CGFW__ENVELOPE__BODY_HTTP_MON_HELLO:
		env.http_mon_hello = &h;
		break;
	case CGFW__ENVELOPE__BODY_LOADER_DNS_HELLO:
		env.loader_dns_hello = &h;
		break;
	case CGFW__ENVELOPE__BODY_LOADER_HTTP_HELLO:
		env.loader_http_hello = &h;
		break;
	case CGFW__ENVELOPE__BODY_MON_LOADER_HELLO:
		env.mon_loader_hello = &h;
		break;
	case CGFW__ENVELOPE__BODY_DNS_LOADER_HELLO:
		env.dns_loader_hello = &h;
		break;
	case CGFW__ENVELOPE__BODY_HTTP_LOADER_HELLO:
		env.http_loader_hello = &h;
		break;
	default:
		abort();
	}
	rec(s, peer, "", &env);
}

/* An empty body (COMMIT, SHUTDOWN, READY). */
static void
empty(struct seed *s, int peer, Cgfw__Envelope__BodyCase body)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__ConfigCommit c = CGFW__CONFIG_COMMIT__INIT;
	Cgfw__Shutdown sd = CGFW__SHUTDOWN__INIT;
	Cgfw__MonReady ready = CGFW__MON_READY__INIT;

	env.body_case = body;
	switch (body) {
	case CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT:
		env.loader_mon_commit = &c;
		break;
	case CGFW__ENVELOPE__BODY_LOADER_DNS_COMMIT:
		env.loader_dns_commit = &c;
		break;
	case CGFW__ENVELOPE__BODY_LOADER_HTTP_COMMIT:
		env.loader_http_commit = &c;
		break;
	case CGFW__ENVELOPE__BODY_LOADER_MON_SHUTDOWN:
		env.loader_mon_shutdown = &sd;
		break;
	case CGFW__ENVELOPE__BODY_MON_LOADER_READY:
		env.mon_loader_ready = &ready;
		break;
	case CGFW__ENVELOPE__BODY_DNS_LOADER_READY:
		env.dns_loader_ready = &ready;
		break;
	case CGFW__ENVELOPE__BODY_HTTP_LOADER_READY:
		env.http_loader_ready = &ready;
		break;
	default:
		abort();
	}
	rec(s, peer, "", &env);
}

/* ---- the monitor: peer 0 the loader, 1 the DNS proxy, 2 the HTTP proxy ---- */

static void
mon_config_to(struct seed *s, uint32_t n_rules, int json_to_stdout)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__MonConfigBegin cfg = CGFW__MON_CONFIG_BEGIN__INIT;

	cfg.mode = CGFW__MODE__MODE_ALLOW_LIST;
	cfg.target_cgroup_id = 4242;
	cfg.target_cgroup = "/sys/fs/cgroup/cgfw-test";
	cfg.n_rules = n_rules;
	cfg.json_to_stdout = json_to_stdout;
	ipc_env_loader_mon_config(&env, &cfg);
	rec(s, 0, "", &env);
}

static void
mon_config(struct seed *s, uint32_t n_rules)
{
	mon_config_to(s, n_rules, 1);
}

static void
mon_rules(struct seed *s, uint32_t first, size_t n)
{
	static const char *const text[] = {"198.51.100.7", "203.0.113.0/24", "192.0.2.1"};
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__MonRules b = CGFW__MON_RULES__INIT;
	Cgfw__MonRule r[8], *pr[8];

	for (size_t i = 0; i < n && i < 8; i++) {
		cgfw__mon_rule__init(&r[i]);
		r[i].id = first + (uint32_t)i;
		r[i].action = i % 2 ? CGFW__ACTION__ACTION_BLOCK : CGFW__ACTION__ACTION_ALLOW;
		r[i].text = (char *)text[i % 3];
		r[i].origin = "--allow-list";
		r[i].kind = i % 3 == 1 ? "CIDR" : "IP";
		pr[i] = &r[i];
	}
	b.rules = pr;
	b.n_rules = n;
	ipc_env_loader_mon_rules(&env, &b);
	rec(s, 0, "", &env);
}

/*
 * The monitor's fds, one letter each (rec()): R ring, S stats, n log file,
 * s DNS events, s HTTP events, A argv, l the event socket, d the journal's.
 * Kinds of letters the table does not know abort.
 */
static void
mon_fds(struct seed *s, const char *fds)
{
	Cgfw__FdKind kinds[CGFW_IPC_MAX_FDS];
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Fds f = CGFW__FDS__INIT;
	int events = 0;

	for (size_t i = 0; fds[i]; i++) {
		switch (fds[i]) {
		case 'R':
			kinds[i] = CGFW__FD_KIND__FD_RINGBUF;
			break;
		case 'S':
			kinds[i] = CGFW__FD_KIND__FD_STATS_MAP;
			break;
		case 'n':
			kinds[i] = CGFW__FD_KIND__FD_LOG_FILE;
			break;
		case 's':
			kinds[i] =
			    events++ ? CGFW__FD_KIND__FD_HTTP_EVENTS : CGFW__FD_KIND__FD_DNS_EVENTS;
			break;
		case 'A':
			kinds[i] = CGFW__FD_KIND__FD_ARGV_MAP;
			break;
		case 'l':
			kinds[i] = CGFW__FD_KIND__FD_EVENTS_LISTEN;
			break;
		case 'd':
			kinds[i] = CGFW__FD_KIND__FD_JOURNAL;
			break;
		default:
			abort();
		}
		f.n_kinds = i + 1;
	}
	f.kinds = kinds;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_FDS;
	env.loader_mon_fds = &f;
	rec(s, 0, fds, &env);
}

/* What the loader says during the run: a notice, a refused syscall, a restarted proxy's channel. */
static void
mon_run(struct seed *s)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Notice n = CGFW__NOTICE__INIT;
	Cgfw__Refused rf = CGFW__REFUSED__INIT;
	Cgfw__Fds f = CGFW__FDS__INIT;
	static Cgfw__FdKind http = CGFW__FD_KIND__FD_HTTP_EVENTS;
	uint64_t args[3] = {2, 1, 0}; /* socket(AF_INET, SOCK_STREAM, 0) */

	n.msg = "ATTACH LOST";
	n.because = "CgroupRemoved";
	n.comment = "the cgroup is gone; cgfw stops";
	ipc_env_loader_mon_notice(&env, &n);
	rec(s, 0, "", &env);

	rf.tid = 4321;
	rf.nr = 41;
	rf.args = args;
	rf.n_args = 3;
	rf.id = 7;
	ipc_env_loader_mon_refused(&env, &rf);
	rec(s, 0, "", &env);

	f.kinds = &http;
	f.n_kinds = 1;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_CHANNEL;
	env.loader_mon_channel = &f;
	rec(s, 0, "s", &env);
}

static void
dns_event(struct seed *s, int blocked, const char *qname, const char *failure)
{
	static char *ips[] = {"198.51.100.7", "198.51.100.8"};
	static char *chain[] = {"www.example.com", "cdn.example.net"};
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__DnsEvent ev = CGFW__DNS_EVENT__INIT;

	ev.time_ns = 1700000000000000000ULL;
	ev.blocked = blocked;
	ev.qname = (char *)qname;
	ev.qtype = "A";
	ev.because = blocked ? "NotInAllowList" : "MatchedAllowListDomain";
	ev.rule = blocked ? "" : "example.com";
	ev.rule_origin = blocked ? "" : "--allow-list";
	ev.rule_kind = blocked ? "" : "Domain";
	ev.owner_known = 1;
	ev.pid = 4321;
	ev.tid = 4322;
	ev.uid = 1000;
	ev.comm = "curl";
	ev.cgroup = 4242;
	ev.server = "192.0.2.53";
	ev.proto = "udp";
	ev.rcode = blocked ? "REFUSED" : failure ? "SERVFAIL" : "NOERROR";
	if (!blocked && !failure) {
		ev.ips = ips;
		ev.n_ips = 2;
		ev.chain = chain;
		ev.n_chain = 2;
		ev.ttl = 300;
		ev.admitted = 1;
	}
	if (failure)
		ev.upstream_failure = (char *)failure;
	ipc_env_dns_mon_event(&env, &ev);
	rec(s, 1, "", &env);
}

static void
http_event(struct seed *s, int blocked, const char *url)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__HttpEvent ev = CGFW__HTTP_EVENT__INIT;

	ev.time_ns = 1700000000000000000ULL;
	ev.blocked = blocked;
	ev.method = "GET";
	ev.url = (char *)url;
	ev.host = "www.example.com";
	ev.because = blocked ? "MatchedBlockListURL" : "MatchedAllowListURL";
	ev.rule = "http://www.example.com/a";
	ev.rule_origin = "--allow-list";
	ev.owner_known = 1;
	ev.pid = 4321;
	ev.tid = 4321;
	ev.uid = 1000;
	ev.comm = "curl";
	ev.cgroup = 4242;
	ev.ip = "203.0.113.10";
	ev.port = 80;
	ev.status = blocked ? 403 : 200;
	ipc_env_http_mon_event(&env, &ev);
	rec(s, 2, "", &env);
}

static void
lost(struct seed *s, int peer, uint64_t n)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__EventsLost l = CGFW__EVENTS_LOST__INIT;

	l.count = n;
	if (peer == 1)
		ipc_env_dns_mon_lost(&env, &l);
	else
		ipc_env_http_mon_lost(&env, &l);
	rec(s, peer, "", &env);
}

static void
monitor_seeds(void)
{
	struct seed s;

	/* The whole handshake (log file, no journal), the run, SHUTDOWN. */
	seed_open(&s, "ipc_monitor", "loader-running");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, CGFW__ROLE__ROLE_LOADER);
	mon_config(&s, 5);
	mon_rules(&s, 1, 3);
	mon_rules(&s, 4, 2);
	mon_fds(&s, "RSnssAl");
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT);
	mon_run(&s);
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_SHUTDOWN);
	seed_close(&s);

	/* All eight fds: the journal's socket too; the run goes on to the end. */
	seed_open(&s, "ipc_monitor", "loader-journal-running");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, CGFW__ROLE__ROLE_LOADER);
	mon_config(&s, 1);
	mon_rules(&s, 1, 1);
	mon_fds(&s, "RSnssAld");
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT);
	mon_run(&s);
	seed_close(&s);

	/* The fewest: no log file (no JSON to stdout), no journal, no rules. */
	seed_open(&s, "ipc_monitor", "loader-min-running");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, CGFW__ROLE__ROLE_LOADER);
	mon_config_to(&s, 0, 0);
	mon_fds(&s, "RSssAl");
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT);
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_SHUTDOWN);
	seed_close(&s);

	/* The event socket is not listening (the journal's in its place): refused at FDS. */
	seed_open(&s, "ipc_monitor", "listen-not-listening-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, CGFW__ROLE__ROLE_LOADER);
	mon_config(&s, 0);
	{
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
		Cgfw__Fds f = CGFW__FDS__INIT;
		static Cgfw__FdKind kinds[] = {CGFW__FD_KIND__FD_RINGBUF,
		    CGFW__FD_KIND__FD_STATS_MAP, CGFW__FD_KIND__FD_LOG_FILE,
		    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_HTTP_EVENTS,
		    CGFW__FD_KIND__FD_ARGV_MAP, CGFW__FD_KIND__FD_EVENTS_LISTEN};

		f.kinds = kinds;
		f.n_kinds = 7;
		env.body_case = CGFW__ENVELOPE__BODY_LOADER_MON_FDS;
		env.loader_mon_fds = &f;
		rec(&s, 0, "RSnssAd", &env);
	}
	seed_close(&s);

	seed_open(&s, "ipc_monitor", "dns-events-running");
	hello(&s, 1, CGFW__ENVELOPE__BODY_DNS_MON_HELLO, CGFW__ROLE__ROLE_DNSPROXY);
	dns_event(&s, 1, "blocked.example.org", NULL);
	dns_event(&s, 0, "www.example.com", NULL);
	dns_event(&s, 0, "slow.example.com", "UpstreamTimeout");
	lost(&s, 1, 7);
	dns_event(&s, 1, "again.example.org", NULL);
	seed_close(&s);

	seed_open(&s, "ipc_monitor", "http-events-running");
	hello(&s, 2, CGFW__ENVELOPE__BODY_HTTP_MON_HELLO, CGFW__ROLE__ROLE_HTTPPROXY);
	http_event(&s, 1, "http://www.example.com/b");
	http_event(&s, 0, "http://www.example.com/a");
	lost(&s, 2, 3);
	http_event(&s, 1, "https://www.example.com:8443/c");
	seed_close(&s);

	/* All three at once, the loader out of order at the end. */
	seed_open(&s, "ipc_monitor", "mixed-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, CGFW__ROLE__ROLE_LOADER);
	hello(&s, 1, CGFW__ENVELOPE__BODY_DNS_MON_HELLO, CGFW__ROLE__ROLE_DNSPROXY);
	mon_config(&s, 1);
	hello(&s, 2, CGFW__ENVELOPE__BODY_HTTP_MON_HELLO, CGFW__ROLE__ROLE_HTTPPROXY);
	dns_event(&s, 0, "www.example.com", NULL);
	mon_rules(&s, 1, 1);
	http_event(&s, 1, "http://www.example.com/b");
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_SHUTDOWN);
	dns_event(&s, 1, "blocked.example.org", NULL);
	seed_close(&s);

	/* A NUL inside a string (protobuf-c would cut it there without a word). */
	seed_open(&s, "ipc_monitor", "nul-in-qname-refused");
	hello(&s, 1, CGFW__ENVELOPE__BODY_DNS_MON_HELLO, CGFW__ROLE__ROLE_DNSPROXY);
	patch_from = "blocked.";
	patch_to = "blocked\0";
	patch_len = 8;
	dns_event(&s, 1, "blocked.example.org", NULL);
	dns_event(&s, 1, "blocked.example.org", NULL);
	seed_close(&s);

	/* A reload: its rules into the other slot, RELOADED, then the commit. */
	seed_open(&s, "ipc_monitor", "reload-running");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, CGFW__ROLE__ROLE_LOADER);
	mon_config(&s, 1);
	mon_rules(&s, 1, 1);
	mon_fds(&s, "RSnssAl");
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_COMMIT);
	{
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
		Cgfw__Reload r = CGFW__RELOAD__INIT;
		Cgfw__ReloadCommit c = CGFW__RELOAD_COMMIT__INIT;
		Cgfw__MonRules b = CGFW__MON_RULES__INIT;
		Cgfw__MonRule mr = CGFW__MON_RULE__INIT, *pmr = &mr;

		r.gen = 1;
		r.mode = CGFW__MODE__MODE_BLOCK_LIST;
		r.n_rules = 1;
		ipc_env_loader_mon_reload(&env, &r);
		rec(&s, 0, "", &env);
		mr.id = 1;
		mr.action = CGFW__ACTION__ACTION_BLOCK;
		mr.text = "198.51.100.7";
		mr.origin = "/etc/cgfw.conf: block-list";
		mr.kind = "IP";
		b.rules = &pmr;
		b.n_rules = 1;
		env = (Cgfw__Envelope)CGFW__ENVELOPE__INIT;
		ipc_env_loader_mon_reload_rules(&env, &b);
		rec(&s, 0, "", &env);
		c.gen = 1;
		env = (Cgfw__Envelope)CGFW__ENVELOPE__INIT;
		ipc_env_loader_mon_reload_commit(&env, &c);
		rec(&s, 0, "", &env);
	}
	seed_close(&s);

	/* 16M rules announced: nothing is allocated for them before they come. */
	seed_open(&s, "ipc_monitor", "big-announce");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_MON_HELLO, CGFW__ROLE__ROLE_LOADER);
	mon_config(&s, 1U << 24);
	mon_rules(&s, 1, 8);
	seed_close(&s);
}

/* ---- the DNS proxy: peer 0 the loader ---- */

static void
dns_config(struct seed *s, char *upstream)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__DnsConfig cfg = CGFW__DNS_CONFIG__INIT;
	char *up[2] = {upstream, "192.0.2.54:5353"};

	cfg.mode = CGFW__MODE__MODE_ALLOW_LIST;
	cfg.block_response = CGFW__DNS_BLOCK_RESPONSE__DNS_BLOCK_REFUSED;
	cfg.min_ttl = 60;
	cfg.upstreams = up;
	cfg.n_upstreams = 2;
	cfg.timeout_ms = 1500;
	ipc_env_loader_dns_config(&env, &cfg);
	rec(s, 0, "", &env);
}

/* The six fds as the table names them, made as `fds` spells (rec()). */
static void
dns_fds(struct seed *s, const char *fds)
{
	static Cgfw__FdKind kinds[] = {CGFW__FD_KIND__FD_DNS_UDP, CGFW__FD_KIND__FD_DNS_TCP,
	    CGFW__FD_KIND__FD_LEARNED_MAP, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_DNS_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY};
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Fds f = CGFW__FDS__INIT;

	f.kinds = kinds;
	f.n_kinds = 6;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_DNS_FDS;
	env.loader_dns_fds = &f;
	rec(s, 0, fds, &env);
}

/* The loader's RELOAD for generation gen (its RELOAD_FDS follows). */
static void
reload(struct seed *s, Cgfw__Envelope__BodyCase body, uint32_t gen, uint32_t n_rules)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Reload r = CGFW__RELOAD__INIT;

	r.gen = gen;
	r.mode = CGFW__MODE__MODE_BLOCK_LIST;
	r.n_rules = n_rules;
	env.body_case = body;
	if (body == CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD)
		env.loader_dns_reload = &r;
	else if (body == CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD)
		env.loader_http_reload = &r;
	else
		abort();
	rec(s, 0, "", &env);
}

static void
reload_commit(struct seed *s, Cgfw__Envelope__BodyCase body, uint32_t gen)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__ReloadCommit c = CGFW__RELOAD_COMMIT__INIT;

	c.gen = gen;
	env.body_case = body;
	if (body == CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD_COMMIT)
		env.loader_dns_reload_commit = &c;
	else if (body == CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD_COMMIT)
		env.loader_http_reload_commit = &c;
	else
		abort();
	rec(s, 0, "", &env);
}

/* The DNS proxy's RELOAD_FDS: the name policy, the learned map of the reload's slot. */
static void
dns_reload_fds(struct seed *s, const char *fds)
{
	static Cgfw__FdKind kinds[] = {
	    CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_LEARNED_MAP};
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Fds f = CGFW__FDS__INIT;

	f.kinds = kinds;
	f.n_kinds = 2;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD_FDS;
	env.loader_dns_reload_fds = &f;
	rec(s, 0, fds, &env);
}

/* HELLO, CONFIG, FDS that pass every check, COMMIT: RUNNING, generation 0. */
static void
dns_running(struct seed *s)
{
	hello(s, 0, CGFW__ENVELOPE__BODY_LOADER_DNS_HELLO, CGFW__ROLE__ROLE_LOADER);
	dns_config(s, "192.0.2.53");
	dns_fds(s, "utLPsN");
	empty(s, 0, CGFW__ENVELOPE__BODY_LOADER_DNS_COMMIT);
}

static void
dnsproxy_seeds(void)
{
	struct seed s;

	seed_open(&s, "ipc_dnsproxy", "config-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_DNS_HELLO, CGFW__ROLE__ROLE_LOADER);
	dns_config(&s, "192.0.2.53");
	dns_fds(&s, "dlLPsn"); /* unix sockets, /dev/null for the policy: refused */
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_DNS_COMMIT);
	seed_close(&s);

	/* Two reloads: generation 1 into slot 1's map (learned_b), 2 into slot 0's. */
	seed_open(&s, "ipc_dnsproxy", "reload-running");
	dns_running(&s);
	reload(&s, CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD, 1, 0);
	dns_reload_fds(&s, "NB");
	reload_commit(&s, CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD_COMMIT, 1);
	reload(&s, CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD, 2, 0);
	dns_reload_fds(&s, "NL");
	reload_commit(&s, CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD_COMMIT, 2);
	seed_close(&s);

	/* RELOAD_FDS with no RELOAD before it: the handler refuses it. */
	seed_open(&s, "ipc_dnsproxy", "reload-fds-first-refused");
	dns_running(&s);
	dns_reload_fds(&s, "NB");
	seed_close(&s);

	/* Generation 1 given the map of slot 0, the one in force: refused. */
	seed_open(&s, "ipc_dnsproxy", "reload-slot-in-force-refused");
	dns_running(&s);
	reload(&s, CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD, 1, 0);
	dns_reload_fds(&s, "NL");
	seed_close(&s);

	/* A reload before COMMIT: the table allows it in RUNNING only. */
	seed_open(&s, "ipc_dnsproxy", "reload-early-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_DNS_HELLO, CGFW__ROLE__ROLE_LOADER);
	dns_config(&s, "192.0.2.53");
	reload(&s, CGFW__ENVELOPE__BODY_LOADER_DNS_RELOAD, 1, 0);
	seed_close(&s);

	seed_open(&s, "ipc_dnsproxy", "commit-early-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_DNS_HELLO, CGFW__ROLE__ROLE_LOADER);
	dns_config(&s, "192.0.2.53");
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_DNS_COMMIT);
	seed_close(&s);

	seed_open(&s, "ipc_dnsproxy", "upstream-controls-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_DNS_HELLO, CGFW__ROLE__ROLE_LOADER);
	dns_config(&s, "192.0.2.53\r\n");
	seed_close(&s);
}

/* ---- the HTTP proxy: peer 0 the loader ---- */

static void
http_config(struct seed *s, uint32_t n_rules, int tls)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__HttpConfig cfg = CGFW__HTTP_CONFIG__INIT;

	cfg.mode = CGFW__MODE__MODE_ALLOW_LIST;
	cfg.n_rules = n_rules;
	cfg.upstream_trust = "/etc/ssl/certs/ca-certificates.crt";
	cfg.tls = tls;
	ipc_env_loader_http_config(&env, &cfg);
	rec(s, 0, "", &env);
}

/* A URL rule of the config, or of a reload (RELOAD_RULE). */
static void
url_rule_of(struct seed *s, int of_reload, uint32_t id, const char *scheme, const char *path)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__UrlRule r = CGFW__URL_RULE__INIT;

	r.id = id;
	r.action = CGFW__ACTION__ACTION_ALLOW;
	r.scheme = (char *)scheme;
	r.host = "www.example.com";
	r.path = (char *)path;
	r.text = "http://www.example.com/a";
	r.origin = "--allow-list";
	if (of_reload)
		ipc_env_loader_http_reload_rule(&env, &r);
	else
		ipc_env_loader_http_rule(&env, &r);
	rec(s, 0, "", &env);
}

static void
url_rule(struct seed *s, uint32_t id, const char *scheme, const char *path)
{
	url_rule_of(s, 0, id, scheme, path);
}

/* The four fds (six with TLS: the CA's certificate and key) made as `fds` spells. */
static void
http_fds(struct seed *s, const char *fds)
{
	static Cgfw__FdKind kinds[] = {CGFW__FD_KIND__FD_HTTP_LISTEN, CGFW__FD_KIND__FD_PEERS_MAP,
	    CGFW__FD_KIND__FD_HTTP_EVENTS, CGFW__FD_KIND__FD_NAME_POLICY, CGFW__FD_KIND__FD_CA_CERT,
	    CGFW__FD_KIND__FD_CA_KEY};
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Fds f = CGFW__FDS__INIT;

	f.kinds = kinds;
	f.n_kinds = strlen(fds);
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_HTTP_FDS;
	env.loader_http_fds = &f;
	rec(s, 0, fds, &env);
}

/* The HTTP proxy's RELOAD_FDS: the new name policy. */
static void
http_reload_fds(struct seed *s, const char *fds)
{
	static Cgfw__FdKind kind = CGFW__FD_KIND__FD_NAME_POLICY;
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Fds f = CGFW__FDS__INIT;

	f.kinds = &kind;
	f.n_kinds = 1;
	env.body_case = CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD_FDS;
	env.loader_http_reload_fds = &f;
	rec(s, 0, fds, &env);
}

/* HELLO, CONFIG (TLS: URL rules may come), two rules, FDS that pass, COMMIT: RUNNING. */
static void
http_running(struct seed *s)
{
	hello(s, 0, CGFW__ENVELOPE__BODY_LOADER_HTTP_HELLO, CGFW__ROLE__ROLE_LOADER);
	http_config(s, 2, 1);
	url_rule(s, 1, "http", "/a");
	url_rule(s, 2, "https", "/b/c");
	http_fds(s, "tPsNnn"); /* the CA's files are /dev/null: only read when serving TLS */
	empty(s, 0, CGFW__ENVELOPE__BODY_LOADER_HTTP_COMMIT);
}

static void
httpproxy_seeds(void)
{
	struct seed s;

	seed_open(&s, "ipc_httpproxy", "config-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_HTTP_HELLO, CGFW__ROLE__ROLE_LOADER);
	http_config(&s, 2, 0);
	url_rule(&s, 1, "http", "/a");
	url_rule(&s, 2, "https", "/b/c");
	http_fds(&s, "lPsn"); /* a unix socket, /dev/null for the policy: refused */
	empty(&s, 0, CGFW__ENVELOPE__BODY_LOADER_HTTP_COMMIT);
	seed_close(&s);

	/* Two reloads, the first with two URL rules of its own, the second with none. */
	seed_open(&s, "ipc_httpproxy", "reload-running");
	http_running(&s);
	reload(&s, CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD, 1, 2);
	url_rule_of(&s, 1, 1, "https", "/x");
	url_rule_of(&s, 1, 2, "http", "/y/z");
	http_reload_fds(&s, "N");
	reload_commit(&s, CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD_COMMIT, 1);
	reload(&s, CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD, 2, 0);
	http_reload_fds(&s, "N");
	reload_commit(&s, CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD_COMMIT, 2);
	seed_close(&s);

	/* Two rules announced, one given, then RELOAD_FDS: the reload is incomplete. */
	seed_open(&s, "ipc_httpproxy", "reload-rules-short-refused");
	http_running(&s);
	reload(&s, CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD, 1, 2);
	url_rule_of(&s, 1, 1, "https", "/x");
	http_reload_fds(&s, "N");
	seed_close(&s);

	/* RELOAD_FDS with no RELOAD before it. */
	seed_open(&s, "ipc_httpproxy", "reload-fds-first-refused");
	http_running(&s);
	http_reload_fds(&s, "N");
	seed_close(&s);

	/* A reload before COMMIT: the table allows it in RUNNING only. */
	seed_open(&s, "ipc_httpproxy", "reload-early-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_HTTP_HELLO, CGFW__ROLE__ROLE_LOADER);
	http_config(&s, 0, 1);
	reload(&s, CGFW__ENVELOPE__BODY_LOADER_HTTP_RELOAD, 1, 0);
	seed_close(&s);

	/* A path that would split a request line or a log line. */
	seed_open(&s, "ipc_httpproxy", "rule-crlf-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_HTTP_HELLO, CGFW__ROLE__ROLE_LOADER);
	http_config(&s, 1, 0);
	url_rule(&s, 1, "http", "/a\r\nX-Injected: 1");
	seed_close(&s);

	seed_open(&s, "ipc_httpproxy", "too-many-rules-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_LOADER_HTTP_HELLO, CGFW__ROLE__ROLE_LOADER);
	http_config(&s, 1, 0);
	url_rule(&s, 1, "http", "/a");
	url_rule(&s, 2, "http", "/b");
	seed_close(&s);
}

/* ---- the loader: peer 0 the monitor, 1 the DNS proxy, 2 the HTTP proxy ---- */

static void
stats(struct seed *s, int peer, uint64_t a, uint64_t b)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__MonStats ms = CGFW__MON_STATS__INIT;
	Cgfw__DnsStats ds = CGFW__DNS_STATS__INIT;
	Cgfw__HttpStats hs = CGFW__HTTP_STATS__INIT;

	switch (peer) {
	case 0:
		ms.events = 10;
		ms.lost = a;
		ms.unwritten = b;
		ipc_env_mon_loader_stats(&env, &ms);
		break;
	case 1:
		ds.queries = a;
		ds.blocked = b;
		ds.admitted = 4;
		ipc_env_dns_loader_stats(&env, &ds);
		break;
	default:
		hs.requests = a;
		hs.blocked = b;
		ipc_env_http_loader_stats(&env, &hs);
		break;
	}
	rec(s, peer, "", &env);
}

/* The monitor's counters while it runs (PROGRESS). */
static void
progress(struct seed *s, uint64_t events, uint64_t lost, uint64_t unwritten)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__MonStats ms = CGFW__MON_STATS__INIT;

	ms.events = events;
	ms.lost = lost;
	ms.unwritten = unwritten;
	ms.dns_blocked = 2;
	ms.http_blocked = 1;
	ipc_env_mon_loader_progress(&env, &ms);
	rec(s, 0, "", &env);
}

static void
reported(struct seed *s, uint64_t id)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Reported r = CGFW__REPORTED__INIT;

	r.id = id;
	ipc_env_mon_loader_reported(&env, &r);
	rec(s, 0, "", &env);
}

/* A worker's RELOADED for generation gen. */
static void
reloaded(struct seed *s, int peer, uint32_t gen)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__Reloaded r = CGFW__RELOADED__INIT;

	r.gen = gen;
	if (peer == 0)
		ipc_env_mon_loader_reloaded(&env, &r);
	else if (peer == 1)
		ipc_env_dns_loader_reloaded(&env, &r);
	else
		ipc_env_http_loader_reloaded(&env, &r);
	rec(s, peer, "", &env);
}

/* The three workers' HELLO and READY: each RUNNING. */
static void
loader_all_ready(struct seed *s)
{
	hello(s, 0, CGFW__ENVELOPE__BODY_MON_LOADER_HELLO, CGFW__ROLE__ROLE_MONITOR);
	hello(s, 1, CGFW__ENVELOPE__BODY_DNS_LOADER_HELLO, CGFW__ROLE__ROLE_DNSPROXY);
	hello(s, 2, CGFW__ENVELOPE__BODY_HTTP_LOADER_HELLO, CGFW__ROLE__ROLE_HTTPPROXY);
	empty(s, 0, CGFW__ENVELOPE__BODY_MON_LOADER_READY);
	empty(s, 1, CGFW__ENVELOPE__BODY_DNS_LOADER_READY);
	empty(s, 2, CGFW__ENVELOPE__BODY_HTTP_LOADER_READY);
}

static void
loader_seeds(void)
{
	struct seed s;

	seed_open(&s, "ipc_loader", "lifecycle-running");
	hello(&s, 0, CGFW__ENVELOPE__BODY_MON_LOADER_HELLO, CGFW__ROLE__ROLE_MONITOR);
	hello(&s, 1, CGFW__ENVELOPE__BODY_DNS_LOADER_HELLO, CGFW__ROLE__ROLE_DNSPROXY);
	hello(&s, 2, CGFW__ENVELOPE__BODY_HTTP_LOADER_HELLO, CGFW__ROLE__ROLE_HTTPPROXY);
	empty(&s, 0, CGFW__ENVELOPE__BODY_MON_LOADER_READY);
	empty(&s, 1, CGFW__ENVELOPE__BODY_DNS_LOADER_READY);
	empty(&s, 2, CGFW__ENVELOPE__BODY_HTTP_LOADER_READY);
	reported(&s, 2);
	progress(&s, 10, 1, 0);
	reported(&s, 99);
	progress(&s, 12, 1, 1);
	stats(&s, 1, 20, 3);
	stats(&s, 2, 5, 1);
	stats(&s, 0, 0, 0);
	seed_close(&s);

	/* Out of order and out of range: each worker is cut off. */
	seed_open(&s, "ipc_loader", "hostile-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_MON_LOADER_HELLO, CGFW__ROLE__ROLE_MONITOR);
	progress(&s, 1, 0, 0);
	stats(&s, 0, 1, 0);
	hello(&s, 1, CGFW__ENVELOPE__BODY_DNS_LOADER_HELLO, CGFW__ROLE__ROLE_HTTPPROXY);
	hello(&s, 2, CGFW__ENVELOPE__BODY_HTTP_LOADER_HELLO, CGFW__ROLE__ROLE_HTTPPROXY);
	empty(&s, 2, CGFW__ENVELOPE__BODY_HTTP_LOADER_READY);
	stats(&s, 2, 1, 5);
	seed_close(&s);

	/* The target starts with generation 1 asked for: each worker has it aside. */
	seed_open(&s, "ipc_loader", "reload-running");
	loader_all_ready(&s);
	progress(&s, 3, 0, 0);
	reloaded(&s, 1, 1);
	reloaded(&s, 0, 1);
	reloaded(&s, 2, 1);
	stats(&s, 1, 2, 0);
	seed_close(&s);

	/*
	 * RELOADED twice (the monitor), for a generation not asked (the DNS
	 * proxy), before READY (the HTTP proxy): each is cut off.
	 */
	seed_open(&s, "ipc_loader", "reload-refused");
	hello(&s, 0, CGFW__ENVELOPE__BODY_MON_LOADER_HELLO, CGFW__ROLE__ROLE_MONITOR);
	hello(&s, 1, CGFW__ENVELOPE__BODY_DNS_LOADER_HELLO, CGFW__ROLE__ROLE_DNSPROXY);
	hello(&s, 2, CGFW__ENVELOPE__BODY_HTTP_LOADER_HELLO, CGFW__ROLE__ROLE_HTTPPROXY);
	empty(&s, 0, CGFW__ENVELOPE__BODY_MON_LOADER_READY);
	empty(&s, 1, CGFW__ENVELOPE__BODY_DNS_LOADER_READY);
	reloaded(&s, 0, 1);
	reloaded(&s, 0, 1);
	reloaded(&s, 1, 2);
	reloaded(&s, 2, 1);
	seed_close(&s);
}

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR (tests/fuzz/corpus)\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	monitor_seeds();
	dnsproxy_seeds();
	httpproxy_seeds();
	loader_seeds();
	return 0;
}
