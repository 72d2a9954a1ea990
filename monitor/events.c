// SPDX-License-Identifier: MIT
/*
 * Ring-buffer records -> one JSON object per line (DESIGN.md §6) and a
 * key=value line for people.  Records are checked before use: a short record
 * or an out-of-range enum is counted as malformed, not guessed at.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "events.h"
#include "lib/proc.h"

#define CMDLINE_MAX    4096
#define SOCK_TYPE_MASK 0xf /* socket()'s type without SOCK_NONBLOCK, SOCK_CLOEXEC */

char *
mon_cmdline(const char *proc_root, uint32_t pid, size_t *ret_len)
{
	char path[64], *buf;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/cmdline", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(CMDLINE_MAX);
	if (!buf) {
		(void)close(fd);
		return NULL;
	}
	n = read(fd, buf, CMDLINE_MAX);
	(void)close(fd);
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	*ret_len = (size_t)n;
	return buf;
}

/*
 * What ran: the argv the kernel saw at exec (the process may be gone by now),
 * else /proc/PID/cmdline (processes that started before an attach).
 */
char *
mon_command(const struct mon_out *out, uint32_t pid, size_t *ret_len)
{
	struct cgfw_argv *v;
	char *buf;
	size_t n;

	if (out->argv_fd < 0)
		return mon_cmdline(out->proc_root, pid, ret_len);
	v = malloc(sizeof(*v));
	if (!v)
		return NULL;
	if (bpf_map_lookup_elem(out->argv_fd, &pid, v) < 0 || v->len == 0 ||
	    v->len > sizeof(v->args)) {
		free(v);
		return mon_cmdline(out->proc_root, pid, ret_len);
	}
	n = v->len;
	while (n > 0 && v->args[n - 1] == '\0')
		n--;
	buf = malloc(n + 1);
	if (!buf || n == 0) {
		free(v);
		free(buf);
		return mon_cmdline(out->proc_root, pid, ret_len);
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = v->args[i] ? v->args[i] : ' ';
	buf[n] = '\0';
	free(v);
	*ret_len = n;
	return buf;
}

/*
 * A process's command line, kept while batching: a flood of events from a
 * few processes costs one argv-map lookup (or /proc read) per process every
 * MON_CMD_TTL_NS, not one per event.  An entry is the pid's only while its
 * comm is the event's too and it is younger than MON_CMD_TTL_NS: an exec or
 * a reused pid renames the task (or is seen within that time, as a lookup
 * made when the event is read, often later than the exec, would see it).
 */
struct mon_cmd_cache {
	uint32_t pid;
	int have; /* 0: empty; 1: cmd holds len bytes; 2: no command line (comm is used) */
	int64_t at;
	char comm[16];
	size_t len;
	char cmd[CMDLINE_MAX];
};

static struct mon_cmd_cache *
cmd_cached(struct mon_out *out, uint32_t pid, const char *comm, size_t comm_len)
{
	struct mon_cmd_cache *c;
	size_t len;
	char *cmdline;

	if (!out->cmds) {
		out->cmds = calloc(MON_CMD_SLOTS, sizeof(*out->cmds));
		if (!out->cmds)
			return NULL;
	}
	c = &out->cmds[(pid * 2654435761u) >> 26 & (MON_CMD_SLOTS - 1)];
	if (c->have && c->pid == pid && out->batch_now_ns - c->at < MON_CMD_TTL_NS &&
	    comm_len < sizeof(c->comm) && !memcmp(c->comm, comm, comm_len) &&
	    c->comm[comm_len] == '\0')
		return c;
	cmdline = mon_command(out, pid, &len);
	c->pid = pid;
	c->at = out->batch_now_ns;
	memset(c->comm, 0, sizeof(c->comm));
	memcpy(c->comm, comm, comm_len < sizeof(c->comm) ? comm_len : sizeof(c->comm) - 1);
	c->have = cmdline ? 1 : 2;
	if (cmdline) {
		c->len = len < sizeof(c->cmd) ? len : sizeof(c->cmd);
		memcpy(c->cmd, cmdline, c->len);
		free(cmdline);
	}
	return c;
}

/*
 * The cmd field: the command line, else comm, else "unknown".  Returns what
 * the caller frees (NULL when cmd points at comm, a literal or the cache).
 */
static char *
event_cmd(struct mon_out *out, int known, uint32_t pid, const char *comm, size_t comm_len,
    const char **ret_cmd, size_t *ret_len)
{
	struct mon_cmd_cache *c =
	    known && out->batching ? cmd_cached(out, pid, comm, comm_len) : NULL;
	char *cmdline = known && !c ? mon_command(out, pid, ret_len) : NULL;

	if (c && c->have == 1) {
		*ret_cmd = c->cmd;
		*ret_len = c->len;
	} else if (cmdline) {
		*ret_cmd = cmdline;
	} else if (known) {
		*ret_cmd = comm;
		*ret_len = comm_len;
	} else {
		*ret_cmd = "unknown";
		*ret_len = strlen(*ret_cmd);
	}
	return cmdline;
}

/*
 * Strings put together in a fixed buffer, cut as snprintf() cuts them (the
 * events' texts, without a format to parse per event).  size > 0.
 */
struct sbuf {
	char *p;
	size_t size, len;
};

static struct sbuf
sb_init(char *p, size_t size)
{
	p[0] = '\0';
	return (struct sbuf){p, size, 0};
}

static void
sb_addn(struct sbuf *b, const char *s, size_t n)
{
	size_t room = b->size - 1 - b->len;

	if (n > room)
		n = room;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void
sb_int(struct sbuf *b, int64_t v)
{
	char num[JB_NUM_MAX];

	sb_addn(b, num, jb_fmt_int(num, v));
}

static const char *const reason_because[CGFW_R_MAX] = {
#define CGFW_REASON_BECAUSE(name, because, doc) [CGFW_R_##name] = because,
    CGFW_REASONS(CGFW_REASON_BECAUSE)
#undef CGFW_REASON_BECAUSE
};

const char *
mon_because(int reason, int action, const char *kind, char *buf, size_t len)
{
	if (reason <= CGFW_R_NONE || reason >= CGFW_R_MAX)
		return "Unknown";
	/* A rule's: Allow or Block from its action, then its kind. */
	if (reason == CGFW_R_ALLOW_RULE || reason == CGFW_R_BLOCK_RULE) {
		struct sbuf b = sb_init(buf, len);

		sb_add(&b, reason_because[action == CGFW_ACT_BLOCK ? CGFW_R_BLOCK_RULE
		                                                   : CGFW_R_ALLOW_RULE]);
		sb_add(&b, kind ? kind : "IP");
		return buf;
	}
	return reason_because[reason];
}

static const struct {
	const char *name, *blocked_at;
} hooks[CGFW_HOOK_MAX] = {
#define CGFW_HOOK_NAMES(name_, hook, blocked_at_, doc) [CGFW_HOOK_##name_] = {hook, blocked_at_},
    CGFW_HOOKS(CGFW_HOOK_NAMES)
#undef CGFW_HOOK_NAMES
};

static const char *
hook_name(int hook)
{
	return hook > CGFW_HOOK_NONE && hook < CGFW_HOOK_MAX ? hooks[hook].name : "unknown";
}

static const char *
proto_name(int proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	snprintf(buf, len, "%d", proto);
	return buf;
}

static const char *
mode_name(int mode)
{
	switch (mode) {
	case CGFW_MODE_ALLOW_LIST:
		return "allow-list";
	case CGFW_MODE_BLOCK_LIST:
		return "block-list";
	default:
		return "log-only";
	}
}

/* ruleSourceComment into buf; its length. */
static size_t
comment(const struct mon_out *out, const struct cgfw_event *e, const struct mon_rule *rule,
    const char *ip, char *buf, size_t len)
{
	struct sbuf b = sb_init(buf, len);

	if (rule) {
		sb_add(&b, ip);
		sb_add(&b, rule->action == CGFW_ACT_BLOCK ? " matched block list rule "
		                                          : " matched allow list rule ");
		sb_add(&b, rule->text);
		sb_add(&b, " (");
		sb_add(&b, rule->origin);
		sb_add(&b, ")");
		return b.len;
	}
	switch (e->reason) {
	case CGFW_R_LOOPBACK:
		sb_add(&b, "loopback is always allowed");
		break;
	case CGFW_R_NOT_ALLOWED:
		sb_add(&b, "allow-list mode: ");
		sb_add(&b, ip);
		sb_add(&b, " matches no allow rule");
		break;
	case CGFW_R_NOT_BLOCKED:
		sb_add(&b, "block-list mode: ");
		sb_add(&b, ip);
		sb_add(&b, " matches no block rule");
		break;
	case CGFW_R_NOT_RESOLVED:
		sb_add(&b, "block-list mode with domain rules: ");
		sb_add(&b, ip);
		sb_add(&b, " was not resolved for an allowed domain");
		break;
	case CGFW_R_LOG_ONLY:
		sb_add(&b, "log-only mode: nothing is blocked");
		break;
	case CGFW_R_IPV6:
		sb_add(&b, "IPv6 is not supported yet and always blocked");
		break;
	case CGFW_R_DNS_LEARNED:
		sb_add(&b, ip);
		sb_add(&b, " was resolved by cgfw-dnsproxy for an allowed domain");
		break;
	case CGFW_R_DNS_REDIRECT:
		sb_add(&b, "DNS query to ");
		sb_add(&b, ip);
		sb_add(&b, " redirected to cgfw-dnsproxy");
		break;
	case CGFW_R_HTTP_REDIRECT:
		sb_add(&b, ip);
		sb_add(&b, " has URL rules: redirected to cgfw-httpproxy");
		break;
	case CGFW_R_URL_ONLY:
		sb_add(&b, ip);
		sb_add(&b, " is allowed by URL rules only, which open HTTP and HTTPS");
		break;
	case CGFW_R_RAW_SOCKET:
		sb_add(&b, e->family == AF_PACKET
		               ? "packet (AF_PACKET) sockets are refused at creation: no cgroup "
		                 "hook sees their frames"
		               : "raw (SOCK_RAW) sockets are refused at creation "
		                 "(--allow-raw-sockets allows them)");
		break;
	case CGFW_R_SOCKET_FAMILY:
		sb_add(&b, "socket family ");
		sb_int(&b, e->family);
		sb_add(&b, " is refused: a command gets unix, inet, inet6, netlink and alg sockets "
		           "(AF_VSOCK, AF_XDP, AF_RDS and the like get past cgfw's hooks)");
		break;
	case CGFW_R_IO_URING:
		sb_add(&b, "io_uring is refused: its socket and connect operations skip the "
		           "command's seccomp filter");
		break;
	case CGFW_R_URL_UDP:
		sb_add(&b, ip);
		sb_add(
		    &b, " has URL rules, which only TCP through cgfw-httpproxy may use (no QUIC)");
		break;
	default:
		sb_add(&b, mode_name(out->mode));
		sb_add(&b, " mode");
		break;
	}
	return b.len;
}

/* inet_ntop()'s text of an IPv4 address (network order) into buf (16 bytes); its length. */
static size_t
ipv4_text(char *buf, uint32_t addr)
{
	const unsigned char *a = (const unsigned char *)&addr;
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		if (i)
			buf[n++] = '.';
		n += jb_fmt_uint(buf + n, a[i]);
	}
	buf[n] = '\0';
	return n;
}

/* RFC 3339 in UTC with nanoseconds, from CLOCK_REALTIME nanoseconds. */
static void
fmt_realtime(int64_t real, char *buf, size_t len)
{
	/* The second's text is kept: events come many to a second. */
	static time_t last_sec = -1;
	static char last[32];
	static size_t last_n;
	time_t sec = (time_t)(real / 1000000000);
	int64_t ns = real % 1000000000;
	struct tm tm;

	if (real < 0 || len < sizeof(last) + 11) {
		gmtime_r(&sec, &tm);
		last_n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf + last_n, len - last_n, ".%09" PRId64 "Z", ns);
		last_sec = -1;
		return;
	}
	if (sec != last_sec) {
		gmtime_r(&sec, &tm);
		last_n = strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = sec;
	}
	memcpy(buf, last, last_n);
	buf[last_n] = '.';
	for (int i = 9; i > 0; i--, ns /= 10)
		buf[last_n + (size_t)i] = (char)('0' + ns % 10);
	buf[last_n + 10] = 'Z';
	buf[last_n + 11] = '\0';
}

/* ,"key": (no comma before the first field); key (n bytes) is one of ours, plain. */
static void
j_key(struct jbuf *jb, const char *key, size_t n)
{
	char *o = jb_reserve(jb, n + 4), *p = o;

	if (!o)
		return;
	if (jb->n_fields++)
		*p++ = ',';
	*p++ = '"';
	memcpy(p, key, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	jb_commit(jb, (size_t)(p - o));
}

/* " key=value" for people; a value with spaces, quotes or odd bytes is JSON-quoted. */
static void
text_kv(struct jbuf *tb, const char *key, const char *val, size_t n)
{
	size_t kn = strlen(key);
	int quote = n == 0 || !jb_bare(val, n);
	char *o;

	o = jb_reserve(tb, kn + 2 + (quote ? 0 : n));
	if (!o)
		return;
	o[0] = ' ';
	memcpy(o + 1, key, kn);
	o[kn + 1] = '=';
	if (quote) {
		jb_commit(tb, kn + 2);
		jb_escape(tb, val, n);
	} else {
		memcpy(o + kn + 2, val, n);
		jb_commit(tb, kn + 2 + n);
	}
}

/* Everything mon_out owns: the rules, the line buffers, the address table. */
void
mon_rules_free(struct mon_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rules[i].text);
		free(rules[i].origin);
		free(rules[i].kind);
	}
	free(rules);
}

void
mon_out_free(struct mon_out *out)
{
	mon_rules_free(out->rules, out->n_rules);
	mon_rules_free(out->alt_rules, out->n_alt_rules);
	out->rules = out->alt_rules = NULL;
	out->n_rules = out->n_alt_rules = 0;
	jb_free(&out->jb);
	jb_free(&out->tb);
	jb_free(&out->lost_jb);
	jb_free(&out->lost_tb);
	jb_free(&out->jn);
	jb_free(&out->lost_jn);
	jb_free(&out->batch);
	jb_free(&out->tbatch);
	out->batch_lines = 0;
	free(out->ipdom);
	out->ipdom = NULL;
	free(out->cmds);
	out->cmds = NULL;
}

static const struct mon_rule *
rule_bsearch(const struct mon_rule *rules, size_t n, uint32_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rules[mid].id == id)
			return &rules[mid];
		if (rules[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct mon_rule *
mon_rule_find(const struct mon_out *out, uint32_t id)
{
	return rule_bsearch(out->rules, out->n_rules, id);
}

/* The rule of the policy slot that decided (an event's CGFW_EV_SLOT1). */
static const struct mon_rule *
rule_of_slot(const struct mon_out *out, int slot, uint32_t id)
{
	if (slot == out->slot)
		return mon_rule_find(out, id);
	return rule_bsearch(out->alt_rules, out->n_alt_rules, id);
}

/*
 * One event line, whatever its kind (a packet, a DNS query, an HTTP request):
 * each kind fills a struct ev_line, one writer turns it into both lines.
 * The JSON fields are tables, the common ones (in every event, in this
 * order) and each kind's extras after them; docs/events.md's field tables
 * are printed from the same tables (mon_events_doc(), make docs).
 */
struct ev_str {
	const char *p;
	size_t n;
};

struct ev_line {
	struct ev_str time, level, msg, because;
	int blocked;
	struct ev_str blocked_at, domains, rule_source, comment;
	int64_t pid;
	struct ev_str port, ip, original_ip, url, cmd, comm;
	int64_t uid, tid;
	uint64_t cgroup;
	struct ev_str proto, rule, hook, mode;
	int text_rule; /* the text line names the rule */
	/* DNS */
	struct ev_str qtype, rcode, cname;
	struct {
		char *const *v;
		size_t n;
	} answers;
	int admitted;
	int64_t ttl;
	/* HTTP */
	struct ev_str method;
	int64_t status;
};

enum ev_type {
	EV_STR,    /* struct ev_str */
	EV_INT,    /* int64_t */
	EV_UINT,   /* uint64_t */
	EV_BOOL,   /* int */
	EV_STRV,   /* ev_line.answers: an array of strings */
	EV_SCHEMA, /* the schema's number, no member */
};

struct ev_field {
	const char *key;
	size_t key_n; /* strlen(key) */
	enum ev_type type;
	size_t off; /* in struct ev_line */
	const char *doc;
};

#define EV_SCHEMA_VERSION 1
#define EVF(key, type, member, doc)                                                                \
	{                                                                                          \
		key, sizeof(key) - 1, type, offsetof(struct ev_line, member), doc                  \
	}

static const struct ev_field ev_common[] = {
    EVF("time", EV_STR, time, "RFC 3339, UTC, nanoseconds: when the kernel (or the proxy) decided"),
    EVF("level", EV_STR, level,
        "`WARN` blocked or upstream failed, `INFO` allowed (and `POLICY RELOADED`), `ERROR` "
        "other notices and lost events"),
    EVF("msg", EV_STR, msg,
        "`PACKET BLOCKED` / `PACKET ALLOWED`, `DNS BLOCKED` / `DNS ALLOWED` / "
        "`DNS UPSTREAM FAILED`, `HTTP BLOCKED` / `HTTP ALLOWED`; `EVENTS LOST`, "
        "`ATTACH LOST`, `WORKER DIED`, `WORKER RESTARTED`, `POLICY RELOADED`, `RELOAD FAILED` "
        "(see Notices)"),
    EVF("because", EV_STR, because, "why: for packets see below, for DNS and HTTP their sections"),
    EVF("blocked", EV_BOOL, blocked, "the call, packet, query or request was refused"),
    EVF("blockedAt", EV_STR, blocked_at,
        "where it was stopped: the hook's (see `hook` below: `connect`, `packet`, `socket`, "
        "`syscall`), `dns`, `http`; `\"\"` when allowed"),
    EVF("domains", EV_STR, domains,
        "names the IP was resolved for (comma-separated), `None` if the DNS proxy named "
        "none; DNS: the question's name; HTTP: the Host header"),
    EVF("ruleSource", EV_STR, rule_source,
        "`Matched{Allow,Block}List` and the rule's kind (`IP`, `CIDR`, `Domain`, `Wildcard`, "
        "`ExactDomain`, `URL`, ...), or `Default` (the mode decided)"),
    EVF("ruleSourceComment", EV_STR, comment,
        "a sentence: the rule and where it came from, or the mode's reason"),
    EVF("pid", EV_INT, pid, "process id (tgid) that made the call; -1 if unknown"),
    EVF("port", EV_STR, port,
        "destination port (a string, as in the original); `\"\"` for a socket refused at "
        "creation"),
    EVF("ip", EV_STR, ip,
        "destination; `\"\"` for a socket refused at creation and for DNS events"),
    EVF("originalIp", EV_STR, original_ip,
        "packets and HTTP: the same as `ip`; DNS: the server the client asked (`unknown` "
        "when the owner is)"),
    EVF("url", EV_STR, url, "HTTP: `scheme://host[:port]/path`, never the query; else `\"\"`"),
    EVF("cmd", EV_STR, cmd,
        "the argv captured at exec, else `/proc/PID/cmdline` (NULs as spaces), else `comm`, "
        "else `unknown`"),
    {"schema", 6, EV_SCHEMA, 0, "1"},
    EVF("comm", EV_STR, comm, "the kernel's task name"),
    EVF("uid", EV_INT, uid, "the caller's uid; -1 if unknown"),
    EVF("tid", EV_INT, tid, "the calling thread; -1 if unknown"),
    EVF("cgroup", EV_UINT, cgroup,
        "cgroup id of the caller; of the command's cgroup if the caller is unknown"),
    EVF("proto", EV_STR, proto, "`tcp`, `udp`, `icmp`, `icmpv6` or the number"),
    EVF("rule", EV_STR, rule, "the matching rule as written, `\"\"` if none"),
    EVF("hook", EV_STR, hook, "which hook decided (below), `dns`, `http`"),
    EVF("mode", EV_STR, mode, "`allow-list`, `block-list`, `log-only`"),
};

static const struct ev_field ev_dns[] = {
    EVF("qtype", EV_STR, qtype, "`A`, `AAAA`, … or `TYPE<n>`"),
    EVF("rcode", EV_STR, rcode,
        "what the client got: `NOERROR`, `REFUSED`, `NXDOMAIN`, `SERVFAIL`, …"),
    EVF("cname", EV_STR, cname,
        "the CNAME target on the answer's chain whose block rule decided (`CNAMEBlocked`, or "
        "`AllowDNSRequest` for an answered alias), `\"\"` otherwise"),
    EVF("answers", EV_STRV, answers, "the A records of the answer (empty when blocked)"),
    EVF("admitted", EV_BOOL, admitted, "the addresses were admitted (written to the allow map)"),
    EVF("ttl", EV_INT, ttl, "seconds they stay admitted"),
};

static const struct ev_field ev_http[] = {
    EVF("method", EV_STR, method, "the request's method, `\"\"` when no head was parsed"),
    EVF("status", EV_INT, status, "the answer the proxy gave, 0 when it gave none"),
};

#define EV_N(a) (sizeof(a) / sizeof((a)[0]))

/* What a kind adds: its extra JSON fields, and its middle of the text line. */
struct ev_kind {
	const struct ev_field *extra;
	size_t n_extra;
	void (*text)(struct jbuf *tb, const struct ev_line *l);
};

static struct ev_str
evs(const char *s)
{
	return (struct ev_str){s, strlen(s)};
}

/*
 * A line's machine forms: the JSON object, and (jn, when the journal is
 * written) the same fields as a native journal entry, each key upper-cased
 * with CGFW_ before it (blockedAt: CGFW_BLOCKED_AT).  Every field goes
 * through these, so the journal's fields are the JSON's, from the same
 * tables.
 */
struct lbuf {
	struct jbuf *jb;
	struct jbuf *jn; /* NULL: no journal */
};

/* CGFW_ and key in upper case, a '_' before each capital of camelCase. */
static void
jn_name(struct jbuf *jn, const char *key)
{
	jb_raw(jn, "CGFW_", 5);
	for (const char *k = key; *k; k++) {
		char c = *k;

		if (c >= 'A' && c <= 'Z' && k != key)
			jb_raw(jn, "_", 1);
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		jb_raw(jn, &c, 1);
	}
}

/*
 * One field of a native journal entry (systemd's journal protocol):
 * NAME=value and a newline, or, for a value with a newline in it, NAME, a
 * newline, its length as 64 bits little-endian, the value and a newline.
 */
static void
jn_value(struct jbuf *jn, const char *v, size_t n)
{
	if (memchr(v, '\n', n)) {
		unsigned char len[8];

		for (int i = 0; i < 8; i++)
			len[i] = (unsigned char)((uint64_t)n >> (8 * i));
		jb_raw(jn, "\n", 1);
		jb_raw(jn, (const char *)len, 8);
	} else {
		jb_raw(jn, "=", 1);
	}
	jb_raw(jn, v, n);
	jb_raw(jn, "\n", 1);
}

/* Each field of a line, key (kn bytes) and value, in the JSON line and the journal's entry. */
static void
l_strk(struct lbuf *b, const char *key, size_t kn, const char *v, size_t n)
{
	j_key(b->jb, key, kn);
	jb_escape(b->jb, v, n);
	if (b->jn) {
		jn_name(b->jn, key);
		jn_value(b->jn, v, n);
	}
}

/* A number: its text is the same in both. */
static void
l_numk(struct lbuf *b, const char *key, size_t kn, const char *num, size_t n)
{
	j_key(b->jb, key, kn);
	jb_raw(b->jb, num, n);
	if (b->jn) {
		jn_name(b->jn, key);
		jn_value(b->jn, num, n);
	}
}

static void
l_intk(struct lbuf *b, const char *key, size_t kn, int64_t v)
{
	char num[JB_NUM_MAX];

	l_numk(b, key, kn, num, jb_fmt_int(num, v));
}

static void
l_uintk(struct lbuf *b, const char *key, size_t kn, uint64_t v)
{
	char num[JB_NUM_MAX];

	l_numk(b, key, kn, num, jb_fmt_uint(num, v));
}

static void
l_boolk(struct lbuf *b, const char *key, size_t kn, int v)
{
	l_numk(b, key, kn, v ? "true" : "false", v ? 4 : 5);
}

static void
l_str(struct lbuf *b, const char *key, const char *v)
{
	l_strk(b, key, strlen(key), v, strlen(v));
}

static void
l_int(struct lbuf *b, const char *key, int64_t v)
{
	l_intk(b, key, strlen(key), v);
}

static void
l_uint(struct lbuf *b, const char *key, uint64_t v)
{
	l_uintk(b, key, strlen(key), v);
}

/* An empty line in out's main buffers (jb, jn) or its EVENTS LOST ones. */
static struct lbuf
l_begin(struct mon_out *out, int lost)
{
	struct lbuf b = {lost ? &out->lost_jb : &out->jb, NULL};

	jb_begin(b.jb);
	if (out->journal_fd >= 0) {
		b.jn = lost ? &out->lost_jn : &out->jn;
		jb_reset(b.jn);
	}
	return b;
}

static void
ev_json(struct lbuf *b, const struct ev_line *l, const struct ev_field *f, size_t n)
{
	for (; n; n--, f++) {
		const void *v = (const char *)l + f->off;

		switch (f->type) {
		case EV_STR:
			l_strk(b, f->key, f->key_n, ((const struct ev_str *)v)->p,
			    ((const struct ev_str *)v)->n);
			break;
		case EV_INT:
			l_intk(b, f->key, f->key_n, *(const int64_t *)v);
			break;
		case EV_UINT:
			l_uintk(b, f->key, f->key_n, *(const uint64_t *)v);
			break;
		case EV_BOOL:
			l_boolk(b, f->key, f->key_n, *(const int *)v);
			break;
		case EV_STRV:
			/* JSON: an array; the journal: the strings comma-separated (addresses). */
			jb_raw(b->jb, ",\"", 2);
			jb_raw(b->jb, f->key, f->key_n);
			jb_raw(b->jb, "\":[", 3);
			if (b->jn) {
				jn_name(b->jn, f->key);
				jb_raw(b->jn, "=", 1);
			}
			for (size_t i = 0; i < l->answers.n; i++) {
				if (i)
					jb_raw(b->jb, ",", 1);
				jb_escape(b->jb, l->answers.v[i], strlen(l->answers.v[i]));
				if (b->jn) {
					if (i)
						jb_raw(b->jn, ",", 1);
					jb_raw(
					    b->jn, l->answers.v[i], strcspn(l->answers.v[i], "\n"));
				}
			}
			jb_raw(b->jb, "]", 1);
			if (b->jn)
				jb_raw(b->jn, "\n", 1);
			break;
		case EV_SCHEMA:
			l_intk(b, f->key, f->key_n, EV_SCHEMA_VERSION);
			break;
		}
	}
}

/* Both lines of an event into out->jb and out->tb. */
static int
ev_format(struct mon_out *out, const struct ev_line *l, const struct ev_kind *k)
{
	char pid[JB_NUM_MAX];
	struct lbuf b = l_begin(out, 0);

	ev_json(&b, l, ev_common, EV_N(ev_common));
	ev_json(&b, l, k->extra, k->n_extra);
	jb_end(&out->jb);
	/* syslog's priorities: warning, informational, error. */
	out->prio = l->level.p[0] == 'W' ? 4 : l->level.p[0] == 'I' ? 6 : 3;

	jb_reset(&out->tb);
	jb_raw(&out->tb, l->level.p, l->level.n);
	jb_raw(&out->tb, " ", 1);
	jb_raw(&out->tb, l->msg.p, l->msg.n);
	text_kv(&out->tb, "because", l->because.p, l->because.n);
	text_kv(&out->tb, "blocked", l->blocked ? "true" : "false", l->blocked ? 4 : 5);
	if (l->blocked)
		text_kv(&out->tb, "blockedAt", l->blocked_at.p, l->blocked_at.n);
	k->text(&out->tb, l);
	text_kv(&out->tb, "pid", pid, jb_fmt_int(pid, l->pid));
	text_kv(&out->tb, "cmd", l->cmd.p, l->cmd.n);
	jb_raw(&out->tb, "\n", 1);
	return out->jb.err || out->tb.err || out->jn.err ? -ENOMEM : 0;
}

static void
ev_text_packet(struct jbuf *tb, const struct ev_line *l)
{
	text_kv(tb, "ip", l->ip.p, l->ip.n);
	text_kv(tb, "port", l->port.p, l->port.n);
	text_kv(tb, "proto", l->proto.p, l->proto.n);
	if (l->text_rule)
		text_kv(tb, "rule", l->rule.p, l->rule.n);
}

static void
ev_text_dns(struct jbuf *tb, const struct ev_line *l)
{
	char ttl[24];

	text_kv(tb, "domains", l->domains.p, l->domains.n);
	text_kv(tb, "qtype", l->qtype.p, l->qtype.n);
	text_kv(tb, "rcode", l->rcode.p, l->rcode.n);
	if (l->cname.n)
		text_kv(tb, "cname", l->cname.p, l->cname.n);
	if (l->text_rule)
		text_kv(tb, "rule", l->rule.p, l->rule.n);
	if (l->answers.n) {
		snprintf(ttl, sizeof(ttl), "%" PRId64, l->ttl);
		text_kv(tb, "answers", l->answers.v[0], strlen(l->answers.v[0]));
		text_kv(tb, "ttl", ttl, strlen(ttl));
	}
}

static void
ev_text_http(struct jbuf *tb, const struct ev_line *l)
{
	char status[24];

	text_kv(tb, "method", l->method.p, l->method.n);
	text_kv(tb, "url", l->url.p, l->url.n);
	if (l->text_rule)
		text_kv(tb, "rule", l->rule.p, l->rule.n);
	if (l->status) {
		snprintf(status, sizeof(status), "%" PRId64, l->status);
		text_kv(tb, "status", status, strlen(status));
	}
}

static const struct ev_kind ev_packet_kind = {NULL, 0, ev_text_packet};
static const struct ev_kind ev_dns_kind = {ev_dns, EV_N(ev_dns), ev_text_dns};
static const struct ev_kind ev_http_kind = {ev_http, EV_N(ev_http), ev_text_http};

/* The common fields of an event of a process (owner_known: its ids are known). */
static void
ev_owner(const struct mon_out *out, struct ev_line *l, int known, uint32_t pid, uint32_t tid,
    uint32_t uid, uint64_t cgroup)
{
	l->pid = known ? (int64_t)pid : -1;
	l->tid = known ? (int64_t)tid : -1;
	l->uid = known ? (int64_t)uid : -1;
	l->cgroup = known ? cgroup : out->cgroup_id;
	l->mode = evs(mode_name(out->mode));
}

static void
doc_fields(FILE *f, const struct ev_field *t, size_t n)
{
	static const char *const types[] = {
	    [EV_STR] = "string",
	    [EV_INT] = "number",
	    [EV_UINT] = "number",
	    [EV_BOOL] = "bool",
	    [EV_STRV] = "array",
	    [EV_SCHEMA] = "number",
	};

	fprintf(f, "| field | type | meaning | journal |\n|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		struct jbuf jn = {0};

		jn_name(&jn, t[i].key);
		fprintf(f, "| `%s` | %s | %s | `%s` |\n", t[i].key, types[t[i].type], t[i].doc,
		    jn.p ? jn.p : "");
		jb_free(&jn);
	}
}

int
mon_events_doc(FILE *f, const char *what)
{
	if (!strcmp(what, "fields")) {
		doc_fields(f, ev_common, EV_N(ev_common));
	} else if (!strcmp(what, "dns-fields")) {
		doc_fields(f, ev_dns, EV_N(ev_dns));
	} else if (!strcmp(what, "http-fields")) {
		doc_fields(f, ev_http, EV_N(ev_http));
	} else if (!strcmp(what, "hooks")) {
		fprintf(f, "| `hook` | `blockedAt` | what it sees |\n|---|---|---|\n");
#define CGFW_HOOK_DOC(name, hook, blocked_at, doc)                                                 \
	fprintf(f, "| `%s` | `%s` | %s |\n", hook, blocked_at, doc);
		CGFW_HOOKS(CGFW_HOOK_DOC)
#undef CGFW_HOOK_DOC
	} else if (!strcmp(what, "because")) {
		fprintf(f, "| `because` | when |\n|---|---|\n");
#define CGFW_REASON_DOC(name, because, doc)                                                        \
	fprintf(f, "| `%s%s` | %s |\n", because,                                                   \
	    CGFW_R_##name == CGFW_R_ALLOW_RULE || CGFW_R_##name == CGFW_R_BLOCK_RULE ? "…" : "",   \
	    doc);
		CGFW_REASONS(CGFW_REASON_DOC)
#undef CGFW_REASON_DOC
	} else {
		return -EINVAL;
	}
	return 0;
}

int
mon_event_format(struct mon_out *out, const void *data, size_t len)
{
	const struct cgfw_event *e = data;
	const struct mon_rule *rule = NULL;
	char ip[INET6_ADDRSTRLEN], port[JB_NUM_MAX], tbuf[64], because_buf[64], pbuf[8];
	char cmt[1024];
	const char *because, *domains = "None", *cmd;
	const struct mon_ipdom *dom = NULL;
	struct ev_line l = {0};
	char *cmdline = NULL;
	size_t cmd_len, ip_len = 0, port_len = 0, cmt_len;
	int known = e->flags & CGFW_EV_OWNER_KNOWN, learned, r;
	int64_t real;
	int slot = (e->flags & CGFW_EV_SLOT1) ? 1 : 0;

	if (len < sizeof(*e) || e->hook < CGFW_HOOK_CONNECT4 || e->hook >= CGFW_HOOK_MAX ||
	    (e->verdict != CGFW_V_ALLOW && e->verdict != CGFW_V_BLOCK) || e->reason == 0 ||
	    e->reason >= CGFW_R_MAX ||
	    (e->family != AF_INET && e->family != AF_INET6 && e->hook != CGFW_HOOK_SOCK_CREATE &&
	        e->hook != CGFW_HOOK_SYSCALL) ||
	    ((e->reason == CGFW_R_ALLOW_RULE || e->reason == CGFW_R_BLOCK_RULE) &&
	        slot == out->slot && !mon_rule_find(out, e->rule_id))) {
		out->n_bad++;
		return -EINVAL;
	}
	/*
	 * Learned addresses carry a name rule's id: their rule comes from the DNS
	 * event.  The other slot's table may be gone (a monitor started after a
	 * reload): such an event is written without its rule, not refused.
	 */
	if (e->reason == CGFW_R_ALLOW_RULE || e->reason == CGFW_R_BLOCK_RULE)
		rule = rule_of_slot(out, slot, e->rule_id);
	l.blocked = e->verdict == CGFW_V_BLOCK;
	/* A socket refused at creation has no destination yet. */
	ip[0] = '\0';
	port[0] = '\0';
	if (e->hook != CGFW_HOOK_SOCK_CREATE && e->hook != CGFW_HOOK_SYSCALL) {
		ip_len = e->family == AF_INET ? ipv4_text(ip, e->daddr[0])
		         : inet_ntop(AF_INET6, e->daddr, ip, sizeof(ip)) ? strlen(ip)
		                                                         : 0;
		port_len = jb_fmt_uint(port, e->dport);
	}
	because = mon_because(e->reason, rule ? rule->action : 0, rule ? rule->kind : NULL,
	    because_buf, sizeof(because_buf));
	cmt_len = comment(out, e, rule, ip, cmt, sizeof(cmt));
	/* The kernel stamps CLOCK_MONOTONIC; one past int64 (never real) is said as the last time. */
	if (e->ts_ns > INT64_MAX ||
	    __builtin_add_overflow((int64_t)e->ts_ns, out->realtime_offset_ns, &real))
		real = INT64_MAX;
	fmt_realtime(real, tbuf, sizeof(tbuf));
	if (e->family == AF_INET && e->reason != CGFW_R_DNS_REDIRECT)
		dom = mon_ipdom_find(out, e->daddr[0]);
	learned = dom && e->reason == CGFW_R_DNS_LEARNED;
	if (dom) {
		domains = dom->domains;
		/* Admitted by DNS: say why the name was allowed, and by which rule. */
		if (learned)
			because = dom->because;
	}
	cmdline = event_cmd(
	    out, known, e->tgid, e->comm, strnlen(e->comm, sizeof(e->comm)), &cmd, &cmd_len);

	l.time = evs(tbuf);
	l.level = evs(l.blocked ? "WARN" : "INFO");
	l.msg = l.blocked ? evs("PACKET BLOCKED") : evs("PACKET ALLOWED");
	l.because = evs(because);
	l.blocked_at = evs(l.blocked ? hooks[e->hook].blocked_at : "");
	l.domains = evs(domains);
	l.rule_source = evs(rule || (learned && dom->rule[0]) ? because : "Default");
	l.comment = (struct ev_str){cmt, cmt_len};
	l.port = (struct ev_str){port, port_len};
	l.ip = (struct ev_str){ip, ip_len};
	l.original_ip = l.ip;
	l.url = evs("");
	l.cmd = (struct ev_str){cmd, cmd_len};
	l.comm = (struct ev_str){e->comm, strnlen(e->comm, sizeof(e->comm))};
	ev_owner(out, &l, known, e->tgid, e->pid, e->uid, e->cgroup_id);
	l.proto = evs(proto_name(e->proto, pbuf, sizeof(pbuf)));
	l.rule = evs(rule ? rule->text : learned ? dom->rule : "");
	l.text_rule = rule != NULL;
	l.hook = evs(hook_name(e->hook));
	r = ev_format(out, &l, &ev_packet_kind);
	free(cmdline);
	return r;
}

/*
 * Takes back the n bytes a short write left.  The offset is the end of what
 * we wrote; a longer file has another writer's data after ours, which is not
 * ours to cut.  The offset goes back too: stdout redirected to a file is not
 * O_APPEND, and writing on past the end would leave a hole of NULs.
 */
static int
json_undo(struct mon_out *out, size_t n)
{
	struct stat st;
	off_t end;

	if (fstat(out->json_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -ESPIPE;
	end = lseek(out->json_fd, 0, SEEK_CUR);
	if (end < (off_t)n || st.st_size != end)
		return -ESPIPE;
	if (ftruncate(out->json_fd, end - (off_t)n) < 0)
		return -errno;
	if (lseek(out->json_fd, end - (off_t)n, SEEK_SET) < 0)
		return -errno;
	return 0;
}

/*
 * Whole lines (one, or a batch of them), in one write(): a reader never sees
 * half a line, and the next line never lands on a fragment.  A short write
 * (a full disk, a file size limit) keeps the lines it wrote whole and undoes
 * the part of the next one; the write of the rest, which fails, says why.
 * On a pipe or a device the part cannot be undone: nothing more is written
 * there.  *ret_kept (if set): the bytes of p that stay written.
 */
static int
json_write_n(struct mon_out *out, const char *p, size_t n, size_t *ret_kept)
{
	ssize_t w, rest;
	size_t done, kept;
	int r;

	if (ret_kept)
		*ret_kept = 0;
	if (out->json_fd < 0) {
		if (ret_kept)
			*ret_kept = n;
		return 0; /* no log file: the stream and stderr have the event */
	}
	if (out->json_broken)
		return out->json_broken;
	do
		w = write(out->json_fd, p, n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if ((size_t)w == n) {
		if (ret_kept)
			*ret_kept = n;
		return 0;
	}
	do
		rest = write(out->json_fd, p + w, n - (size_t)w);
	while (rest < 0 && errno == EINTR);
	r = rest < 0 ? -errno : -ENOSPC;
	done = (size_t)w + (size_t)(rest > 0 ? rest : 0);
	/* The lines written whole stay; a part of the next one is taken back. */
	for (kept = done; kept > 0 && p[kept - 1] != '\n'; kept--)
		;
	if (kept < done && json_undo(out, done - kept) < 0)
		out->json_broken = r;
	if (ret_kept)
		*ret_kept = kept;
	return r;
}

static int
json_write(struct mon_out *out, const char *p, size_t n)
{
	return json_write_n(out, p, n, NULL);
}

/* The first fields of an ERROR line (a notice, EVENTS LOST), both forms. */
static void
error_begin(struct lbuf *b, struct jbuf *tb, const char *level, const char *msg)
{
	struct timespec now;
	char tbuf[64];

	clock_gettime(CLOCK_REALTIME, &now);
	fmt_realtime((int64_t)now.tv_sec * 1000000000 + now.tv_nsec, tbuf, sizeof(tbuf));
	l_str(b, "time", tbuf);
	l_str(b, "level", level);
	l_str(b, "msg", msg);
	jb_reset(tb);
	jb_raw(tb, level, strlen(level));
	jb_raw(tb, " ", 1);
	jb_raw(tb, msg, strlen(msg));
}

/* ... and the last ones. */
static int
error_end(const struct mon_out *out, struct lbuf *b, struct jbuf *tb)
{
	l_int(b, "schema", 1);
	l_uint(b, "cgroup", out->cgroup_id);
	l_str(b, "mode", mode_name(out->mode));
	jb_end(b->jb);
	jb_raw(tb, "\n", 1);
	return b->jb->err || tb->err || (b->jn && b->jn->err) ? -ENOMEM : 0;
}

/*
 * The entry of a line to the journal, never waiting: its fields (jn), then
 * MESSAGE= the line for people, PRIORITY=, SYSLOG_IDENTIFIER= and CGFW_JSON=
 * the JSON line.  0 or -errno (EAGAIN: journald is behind; EMSGSIZE).
 */
static int
journal_send(
    struct mon_out *out, struct jbuf *jn, const struct jbuf *jb, const struct jbuf *tb, int prio)
{
	char p[16];
	ssize_t w;

	snprintf(p, sizeof(p), "PRIORITY=%d\n", prio);
	jb_raw(jn, p, strlen(p));
	jb_raw(jn, "SYSLOG_IDENTIFIER=cgfw-monitor\n", 31);
	jb_raw(jn, "MESSAGE", 7);
	jn_value(jn, tb->p, tb->len && tb->p[tb->len - 1] == '\n' ? tb->len - 1 : tb->len);
	jb_raw(jn, "CGFW_JSON", 9);
	jn_value(jn, jb->p, jb->len && jb->p[jb->len - 1] == '\n' ? jb->len - 1 : jb->len);
	if (jn->err)
		return jn->err;
	do
		w = send(out->journal_fd, jn->p, jn->len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

/*
 * A line to every place but the log file: the event socket's readers, and
 * the journal, whose entry carries the line for people; without a journal
 * that line goes to stderr.  A line the journal does not take is a lost
 * event, reported later like the others.
 */
static void
line_out(struct mon_out *out, struct lbuf *b, struct jbuf *tb, int prio)
{
	int r;

	if (out->stream)
		out->stream(out->stream_ctx, b->jb->p, b->jb->len);
	if (b->jn) {
		r = journal_send(out, b->jn, b->jb, tb, prio);
		if (r < 0)
			mon_lost_add(out, MON_LOST_JOURNAL, 1, r);
	} else if (out->text_fd >= 0 && out->journal_fd < 0) {
		if (out->batching)
			jb_raw(&out->tbatch, tb->p, tb->len);
		else
			(void)proc_write_all(out->text_fd, tb->p, tb->len);
	}
}

/*
 * The gathered lines, each in one write(): the text lines, then the JSON
 * lines, counted as events as far as they were written whole, the rest lost.
 */
static int
batch_flush(struct mon_out *out)
{
	size_t kept, lines = 0;
	int r;

	if (out->tbatch.len && out->text_fd >= 0)
		(void)proc_write_all(out->text_fd, out->tbatch.p, out->tbatch.len);
	jb_reset(&out->tbatch);
	if (!out->batch_lines)
		return 0;
	r = json_write_n(out, out->batch.p, out->batch.len, &kept);
	for (const char *p = out->batch.p, *end = p + kept;
	     p < end && (p = memchr(p, '\n', (size_t)(end - p))); p++)
		lines++;
	if (r == 0 && out->batch.err)
		r = out->batch.err; /* a line did not fit in memory */
	out->n_events += lines;
	if (lines < out->batch_lines)
		mon_lost_add(out, MON_LOST_WRITE, out->batch_lines - lines, r < 0 ? r : -EIO);
	jb_reset(&out->batch);
	out->batch_lines = 0;
	if (out->batching) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		out->batch_now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	}
	return r;
}

void
mon_batch_begin(struct mon_out *out)
{
	struct timespec now;

	out->batching = 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	out->batch_now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int
mon_batch_end(struct mon_out *out)
{
	int r = batch_flush(out);

	out->batching = 0;
	return r;
}

void
mon_lost_add(struct mon_out *out, enum mon_lost_kind kind, uint64_t n, int err)
{
	struct mon_lost *l = &out->lost[kind];

	if (!n)
		return;
	if (!l->pending)
		l->err = err;
	l->total += n;
	l->pending += n;
}

int
mon_lost_flush(struct mon_out *out)
{
	static const char *const because[MON_LOST_MAX] = {
	    [MON_LOST_RING] = "RingBufferFull",
	    [MON_LOST_WRITE] = "LogUnwritable",
	    [MON_LOST_DNSQ] = "ProxyQueueFull",
	    [MON_LOST_HTTPQ] = "ProxyQueueFull",
	    [MON_LOST_JOURNAL] = "JournalUnwritable",
	};
	char reason[128], count[24];
	int r;

	/* The lines gathered so far go first: they came before the loss is told. */
	if (out->batch_lines && mon_lost_sum(out, 1)) {
		r = batch_flush(out);
		if (r < 0)
			return r;
	}
	for (int k = 0; k < MON_LOST_MAX; k++) {
		struct mon_lost *l = &out->lost[k];
		struct lbuf b;

		if (!l->pending)
			continue;
		if (k == MON_LOST_WRITE)
			snprintf(reason, sizeof(reason), "%s: %s",
			    out->json_name ? out->json_name : "log file", strerror(-l->err));
		else if (k == MON_LOST_JOURNAL)
			snprintf(reason, sizeof(reason), "journal: %s", strerror(-l->err));
		else
			snprintf(reason, sizeof(reason), "%s",
			    k == MON_LOST_RING   ? "ring buffer full"
			    : k == MON_LOST_DNSQ ? "dnsproxy queue full"
			                         : "httpproxy queue full");
		snprintf(count, sizeof(count), "%" PRIu64, l->pending);
		b = l_begin(out, 1);
		error_begin(&b, &out->lost_tb, "ERROR", "EVENTS LOST");
		l_str(&b, "because", because[k]);
		l_uint(&b, "count", l->pending);
		l_str(&b, "reason", reason);
		text_kv(&out->lost_tb, "count", count, strlen(count));
		text_kv(&out->lost_tb, "reason", reason, strlen(reason));
		r = error_end(out, &b, &out->lost_tb);
		/*
		 * The journal's own losses are said in it first: while it takes
		 * nothing they stay pending (not one more loss per try).
		 */
		if (r == 0 && k == MON_LOST_JOURNAL && b.jn) {
			if (journal_send(out, b.jn, b.jb, &out->lost_tb, 3) < 0)
				continue;
			b.jn = NULL;
		}
		if (r == 0)
			r = json_write(out, out->lost_jb.p, out->lost_jb.len);
		if (r < 0)
			return r;
		l->pending = 0;
		line_out(out, &b, &out->lost_tb, 3);
	}
	return 0;
}

/*
 * The formatted event: the JSON line (counted), after any EVENTS LOST line
 * it owes, then the line for people, which is written either way.
 */
static int
write_event(struct mon_out *out)
{
	int r = mon_lost_flush(out);

	struct lbuf b = {&out->jb, out->journal_fd >= 0 ? &out->jn : NULL};

	if (r == 0 && out->batching) {
		/* Counted when written (batch_flush()). */
		jb_raw(&out->batch, out->jb.p, out->jb.len);
		out->batch_lines++;
	} else if (r == 0) {
		r = json_write(out, out->jb.p, out->jb.len);
		if (r == 0)
			out->n_events++;
	}
	if (r < 0)
		mon_lost_add(out, MON_LOST_WRITE, 1, r);
	line_out(out, &b, &out->tb, out->prio);
	if (r == 0 && out->batching &&
	    (out->batch.len >= MON_BATCH_BYTES || out->tbatch.len >= MON_BATCH_BYTES))
		r = batch_flush(out);
	return r;
}

int
mon_event_emit(struct mon_out *out, const void *data, size_t len)
{
	int r = mon_event_format(out, data, len);

	if (r < 0)
		return r;
	return write_event(out);
}

static size_t
ipdom_slot(uint32_t addr)
{
	return (size_t)((addr * 2654435761u) >> 16) & (MON_IPDOM_SLOTS - 1);
}

const struct mon_ipdom *
mon_ipdom_find(const struct mon_out *out, uint32_t addr)
{
	size_t s = ipdom_slot(addr);

	if (!out->ipdom || addr == 0)
		return NULL;
	for (size_t i = 0; i < 8; i++, s = (s + 1) & (MON_IPDOM_SLOTS - 1)) {
		if (out->ipdom[s].addr == addr)
			return &out->ipdom[s];
		if (out->ipdom[s].addr == 0)
			return NULL;
	}
	return NULL;
}

/* Is name one of the comma-separated names in list? */
static int
domains_has(const char *list, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);

		if (l == nl && !memcmp(p, name, nl))
			return 1;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Remember addr -> name; a full neighbourhood overwrites its first slot. */
static void
ipdom_add(
    struct mon_out *out, uint32_t addr, const char *name, const char *because, const char *rule)
{
	struct mon_ipdom *d = NULL;
	size_t s = ipdom_slot(addr);

	if (!out->ipdom) {
		out->ipdom = calloc(MON_IPDOM_SLOTS, sizeof(*out->ipdom));
		if (!out->ipdom)
			return;
	}
	for (size_t i = 0; i < 8 && !d; i++, s = (s + 1) & (MON_IPDOM_SLOTS - 1))
		if (out->ipdom[s].addr == addr || out->ipdom[s].addr == 0)
			d = &out->ipdom[s];
	if (!d)
		d = &out->ipdom[ipdom_slot(addr)];
	if (d->addr != addr) {
		memset(d, 0, sizeof(*d));
		d->addr = addr;
	}
	/* Several names may share an address: keep them all while they fit. */
	if (!domains_has(d->domains, name)) {
		size_t have = strlen(d->domains);

		size_t nl = strlen(name);

		if (have + (have ? 1 : 0) + nl < sizeof(d->domains)) {
			if (have)
				d->domains[have++] = ',';
			memcpy(d->domains + have, name, nl + 1);
		}
	}
	snprintf(d->because, sizeof(d->because), "%s", because);
	snprintf(d->rule, sizeof(d->rule), "%s", rule);
}

static int
bounded(const char *s, size_t max)
{
	return s && strnlen(s, max + 1) <= max;
}

/* Allowed, but the upstream failed: what happened, for ruleSourceComment. */
static const char *
upstream_failure_text(const char *because)
{
	static const struct {
		const char *because, *text;
	} failures[] = {
	    {"UpstreamTimeout", "no upstream server answered in time"},
	    {"UpstreamUnreachable", "no upstream server could be reached"},
	    {"UpstreamServfail", "the upstream server answered SERVFAIL"},
	    {"UpstreamRefused", "the upstream server answered REFUSED"},
	    {"UpstreamMalformed", "the upstream server's answer could not be read"},
	};

	for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++)
		if (!strcmp(because, failures[i].because))
			return failures[i].text;
	return NULL;
}

/* Everything the DNS proxy sends is checked before use. */
static int
dns_event_valid(const Cgfw__DnsEvent *ev)
{
	struct in_addr a;

	if (!bounded(ev->qname, 255) || !bounded(ev->qtype, 15) || !bounded(ev->because, 39) ||
	    !bounded(ev->rule, 2048) || !bounded(ev->rule_origin, 4096) ||
	    !bounded(ev->rule_kind, 15) || !bounded(ev->comm, 16) || !bounded(ev->server, 45) ||
	    !bounded(ev->rcode, 15) || ev->n_ips > 64 || ev->n_chain > 16 ||
	    (strcmp(ev->proto, "udp") && strcmp(ev->proto, "tcp")) || ev->ttl > 30 * 86400 ||
	    (ev->upstream_failure[0] &&
	        (ev->blocked || !upstream_failure_text(ev->upstream_failure))))
		return 0;
	for (size_t i = 0; i < ev->n_ips; i++)
		if (!bounded(ev->ips[i], 15) || inet_pton(AF_INET, ev->ips[i], &a) != 1)
			return 0;
	for (size_t i = 0; i < ev->n_chain; i++)
		if (!bounded(ev->chain[i], 255))
			return 0;
	return 1;
}

/*
 * The CNAME target whose block rule decided, "" if the question's own name
 * (or the mode) did: the DNS proxy ends a blocked answer's chain at the name
 * it blocked (dnsproxy/dnsproxy.c, upstream_cb()).
 */
static const char *
dns_blocked_alias(const Cgfw__DnsEvent *ev)
{
	if (ev->n_chain < 2 ||
	    (strcmp(ev->because, "CNAMEBlocked") && strcmp(ev->because, "AllowDNSRequest")))
		return "";
	return ev->chain[ev->n_chain - 1];
}

static void
dns_comment(const Cgfw__DnsEvent *ev, const char *alias, char *src, size_t src_len, char *cmt,
    size_t cmt_len)
{
	/* AllowDNSRequest is a blocked name answered anyway: its rule is a block rule. */
	int answered = !strcmp(ev->because, "AllowDNSRequest");
	const char *list = strstr(ev->because, "Block") || answered ? "block" : "allow";
	const char *tail = answered ? "; answered (--allow-dns-request), nothing admitted" : "";
	char line[16] = "";

	if (!ev->rule[0]) {
		snprintf(src, src_len, "Default");
		if (!strcmp(ev->because, "NotInAllowList") || answered)
			snprintf(cmt, cmt_len, "allow-list mode: %s matches no allow rule%s",
			    ev->qname, tail);
		else if (!strcmp(ev->because, "NotInBlockList"))
			snprintf(
			    cmt, cmt_len, "block-list mode: %s matches no block rule", ev->qname);
		else
			snprintf(cmt, cmt_len, "log-only mode: nothing is blocked");
		return;
	}
	if (ev->rule_line)
		snprintf(line, sizeof(line), ":%u", ev->rule_line);
	snprintf(src, src_len, "Matched%sList%s", list[0] == 'b' ? "Block" : "Allow",
	    ev->rule_kind[0] ? ev->rule_kind : "Domain");
	if (alias[0])
		snprintf(cmt, cmt_len,
		    "%s is an alias (CNAME) of %s, which matched %s list rule %s (%s%s)%s",
		    ev->qname, alias, list, ev->rule, ev->rule_origin, line, tail);
	else
		snprintf(cmt, cmt_len, "%s matched %s list rule %s (%s%s)%s", ev->qname, list,
		    ev->rule, ev->rule_origin, line, tail);
}

int
mon_dns_event_format(struct mon_out *out, const Cgfw__DnsEvent *ev)
{
	char tbuf[64], cmt[1024 + 4096], src[64];
	const char *failed = upstream_failure_text(ev->upstream_failure);
	const char *cmd, *alias = dns_blocked_alias(ev);
	struct ev_line l = {0};
	char *cmdline = NULL;
	size_t cmd_len;
	int r;

	fmt_realtime((int64_t)ev->time_ns, tbuf, sizeof(tbuf));
	dns_comment(ev, alias, src, sizeof(src), cmt, sizeof(cmt));
	if (failed) {
		size_t n = strlen(cmt);

		snprintf(cmt + n, sizeof(cmt) - n, "; %s, the client got %s", failed, ev->rcode);
	}
	cmdline =
	    event_cmd(out, ev->owner_known, ev->pid, ev->comm, strlen(ev->comm), &cmd, &cmd_len);

	l.time = evs(tbuf);
	l.level = evs(ev->blocked || failed ? "WARN" : "INFO");
	l.msg = evs(ev->blocked ? "DNS BLOCKED" : failed ? "DNS UPSTREAM FAILED" : "DNS ALLOWED");
	l.because = evs(failed ? ev->upstream_failure : ev->because);
	l.blocked = ev->blocked;
	l.blocked_at = evs(ev->blocked ? "dns" : "");
	l.domains = evs(ev->qname);
	l.rule_source = evs(src);
	l.comment = evs(cmt);
	l.port = evs("53");
	l.ip = evs("");
	l.original_ip = evs(ev->owner_known ? ev->server : "unknown");
	l.url = evs("");
	l.cmd = (struct ev_str){cmd, cmd_len};
	l.comm = evs(ev->comm);
	ev_owner(out, &l, ev->owner_known, ev->pid, ev->tid, ev->uid, ev->cgroup);
	l.proto = evs(ev->proto);
	l.rule = evs(ev->rule);
	l.text_rule = ev->rule[0] != '\0';
	l.hook = evs("dns");
	l.qtype = evs(ev->qtype);
	l.rcode = evs(ev->rcode);
	l.cname = evs(alias);
	l.answers.v = ev->ips;
	l.answers.n = ev->n_ips;
	l.admitted = ev->admitted;
	l.ttl = ev->ttl;
	r = ev_format(out, &l, &ev_dns_kind);
	free(cmdline);
	return r;
}

int
mon_dns_event_emit(struct mon_out *out, const Cgfw__DnsEvent *ev)
{
	int r;

	if (!dns_event_valid(ev)) {
		out->n_bad++;
		return -EINVAL;
	}
	out->n_dns_blocked += ev->blocked != 0;
	if (!ev->blocked) {
		for (size_t i = 0; i < ev->n_ips; i++) {
			struct in_addr a;

			if (inet_pton(AF_INET, ev->ips[i], &a) == 1)
				ipdom_add(out, a.s_addr, ev->qname, ev->because, ev->rule);
		}
	}
	/* Blocked and failed queries are always on record; allowed ones with --debug. */
	if (!ev->blocked && !ev->upstream_failure[0] && !out->debug &&
	    out->mode != CGFW_MODE_LOG_ONLY)
		return 0;
	r = mon_dns_event_format(out, ev);
	if (r < 0)
		return r;
	return write_event(out);
}

static int
http_event_valid(const Cgfw__HttpEvent *ev)
{
	struct in_addr a;

	return bounded(ev->method, 15) && bounded(ev->url, 4096) && bounded(ev->host, 255) &&
	       bounded(ev->because, 39) && bounded(ev->rule, 2048) &&
	       bounded(ev->rule_origin, 4096) && bounded(ev->comm, 16) && bounded(ev->ip, 15) &&
	       inet_pton(AF_INET, ev->ip, &a) == 1 && ev->port <= 65535 && ev->status <= 599;
}

int
mon_http_event_format(struct mon_out *out, const Cgfw__HttpEvent *ev)
{
	char tbuf[64], cmt[1024 + 4096], port[16];
	const char *src, *cmd;
	struct ev_line l = {0};
	char *cmdline;
	size_t cmd_len;
	int r;

	fmt_realtime((int64_t)ev->time_ns, tbuf, sizeof(tbuf));
	if (ev->rule[0]) {
		src = ev->blocked ? "MatchedBlockListURL" : "MatchedAllowListURL";
		snprintf(cmt, sizeof(cmt), "%s matched %s list rule %s (%s)", ev->url,
		    ev->blocked ? "block" : "allow", ev->rule, ev->rule_origin);
	} else {
		src = "Default";
		snprintf(cmt, sizeof(cmt), "%s: %s", ev->url, ev->because);
	}
	snprintf(port, sizeof(port), "%u", ev->port);
	cmdline =
	    event_cmd(out, ev->owner_known, ev->pid, ev->comm, strlen(ev->comm), &cmd, &cmd_len);

	l.time = evs(tbuf);
	l.level = evs(ev->blocked ? "WARN" : "INFO");
	l.msg = evs(ev->blocked ? "HTTP BLOCKED" : "HTTP ALLOWED");
	l.because = evs(ev->because);
	l.blocked = ev->blocked;
	l.blocked_at = evs(ev->blocked ? "http" : "");
	l.domains = evs(ev->host);
	l.rule_source = evs(src);
	l.comment = evs(cmt);
	l.port = evs(port);
	l.ip = evs(ev->ip);
	l.original_ip = l.ip;
	l.url = evs(ev->url);
	l.cmd = (struct ev_str){cmd, cmd_len};
	l.comm = evs(ev->comm);
	ev_owner(out, &l, ev->owner_known, ev->pid, ev->tid, ev->uid, ev->cgroup);
	l.proto = evs("tcp");
	l.rule = evs(ev->rule);
	l.text_rule = ev->rule[0] != '\0';
	l.hook = evs("http");
	l.method = evs(ev->method);
	l.status = ev->status;
	r = ev_format(out, &l, &ev_http_kind);
	free(cmdline);
	return r;
}

int
mon_http_event_emit(struct mon_out *out, const Cgfw__HttpEvent *ev)
{
	int r;

	if (!http_event_valid(ev)) {
		out->n_bad++;
		return -EINVAL;
	}
	out->n_http_blocked += ev->blocked != 0;
	if (!ev->blocked && !out->debug && out->mode != CGFW_MODE_LOG_ONLY)
		return 0;
	r = mon_http_event_format(out, ev);
	if (r < 0)
		return r;
	return write_event(out);
}

int
mon_notice_emit(struct mon_out *out, const Cgfw__Notice *n)
{
	struct lbuf b;
	int r, info;

	if (!bounded(n->msg, 32) || !n->msg[0] || !bounded(n->because, 40) ||
	    !bounded(n->comment, 512))
		return -EINVAL;
	b = l_begin(out, 0);
	/* A reload that worked is news, not trouble. */
	info = !strcmp(n->msg, "POLICY RELOADED");
	error_begin(&b, &out->tb, info ? "INFO" : "ERROR", n->msg);
	l_str(&b, "because", n->because);
	l_str(&b, "ruleSourceComment", n->comment);
	text_kv(&out->tb, "because", n->because, strlen(n->because));
	text_kv(&out->tb, "comment", n->comment, strlen(n->comment));
	r = error_end(out, &b, &out->tb);
	out->prio = info ? 6 : 3; /* the journal's LOG_INFO, LOG_ERR */
	if (r < 0)
		return r;
	return write_event(out);
}

/*
 * Events a proxy dropped because its queue to the monitor was full: counted
 * with every other loss, and on the record at once, where they are missing.
 */
int
mon_proxy_lost_emit(struct mon_out *out, uint64_t count, enum mon_lost_kind kind)
{
	if (count == 0 || (kind != MON_LOST_DNSQ && kind != MON_LOST_HTTPQ))
		return -EINVAL;
	mon_lost_add(out, kind, count, 0);
	return mon_lost_flush(out);
}

int
mon_reader_dropped_emit(struct mon_out *out, uint64_t count, const char *reason)
{
	struct lbuf b = l_begin(out, 0);
	char num[24];
	int r;

	snprintf(num, sizeof(num), "%" PRIu64, count);
	error_begin(&b, &out->tb, "ERROR", "READER DROPPED");
	l_str(&b, "because", "ReaderTooSlow");
	l_uint(&b, "count", count);
	l_str(&b, "reason", reason);
	text_kv(&out->tb, "count", num, strlen(num));
	text_kv(&out->tb, "reason", reason, strlen(reason));
	r = error_end(out, &b, &out->tb);
	out->prio = 3;
	if (r < 0)
		return r;
	return write_event(out);
}

uint64_t
mon_lost_sum(const struct mon_out *out, int pending)
{
	uint64_t n = 0;

	for (int k = 0; k < MON_LOST_MAX; k++)
		n += pending ? out->lost[k].pending : out->lost[k].total;
	return n;
}

/* "Key:\tvalue" lines of /proc/TID/status: Tgid, the real Uid and Name. */
static int
proc_status(const struct mon_out *out, uint32_t tid, uint32_t *ret_tgid, uint32_t *ret_uid,
    char *comm, size_t comm_len)
{
	char path[64], buf[4096], *line, *save = NULL;
	int fd, have = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%u/status", out->proc_root, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long v;

		if (sscanf(line, "Tgid:\t%lu", &v) == 1 && v && v <= UINT32_MAX) {
			*ret_tgid = (uint32_t)v;
			have |= 1;
		} else if (sscanf(line, "Uid:\t%lu", &v) == 1 && v <= UINT32_MAX) {
			*ret_uid = (uint32_t)v;
			have |= 2;
		} else if (!strncmp(line, "Name:\t", 6)) {
			snprintf(comm, comm_len, "%s", line + 6);
		}
	}
	return have == 3 ? 0 : -EIO;
}

int
mon_seccomp_emit(struct mon_out *out, uint32_t tid, int nr, const uint64_t *args)
{
	struct cgfw_event e;
	struct timespec now;
	int family = (int)args[0], type = (int)args[1];

	if (nr != SYS_socket && nr != SYS_io_uring_setup)
		return -EINVAL;
	memset(&e, 0, sizeof(e));
	clock_gettime(CLOCK_MONOTONIC, &now);
	e.ts_ns = (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
	e.cgroup_id = out->cgroup_id;
	if (proc_status(out, tid, &e.tgid, &e.uid, e.comm, sizeof(e.comm)) == 0) {
		e.pid = tid;
		e.flags = CGFW_EV_OWNER_KNOWN;
	}
	e.verdict = CGFW_V_BLOCK;
	if (nr == SYS_io_uring_setup) {
		e.hook = CGFW_HOOK_SYSCALL;
		e.reason = CGFW_R_IO_URING;
		return mon_event_emit(out, &e, sizeof(e));
	}
	e.hook = CGFW_HOOK_SOCK_CREATE;
	/* socket(AF_INET, SOCK_PACKET) is the old spelling of AF_PACKET. */
	if ((type & SOCK_TYPE_MASK) == SOCK_PACKET)
		family = AF_PACKET;
	e.family = args[0] > 0xff ? 0xff : (uint8_t)family;
	if (family == AF_PACKET ||
	    ((family == AF_INET || family == AF_INET6) && (type & SOCK_TYPE_MASK) == SOCK_RAW)) {
		e.reason = CGFW_R_RAW_SOCKET;
		e.proto = family == AF_PACKET ? 0 : (uint8_t)args[2];
	} else {
		e.reason = CGFW_R_SOCKET_FAMILY;
		e.proto = (uint8_t)args[2];
	}
	return mon_event_emit(out, &e, sizeof(e));
}
