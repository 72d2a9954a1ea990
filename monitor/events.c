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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "events.h"

#define CMDLINE_MAX 4096

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
 * The cmd field: the command line, else comm, else "unknown".  Returns what
 * the caller frees (NULL when cmd points at comm or a literal).
 */
static char *
event_cmd(const struct mon_out *out, int known, uint32_t pid, const char *comm, size_t comm_len,
    const char **ret_cmd, size_t *ret_len)
{
	char *cmdline = known ? mon_command(out, pid, ret_len) : NULL;

	if (cmdline) {
		*ret_cmd = cmdline;
	} else if (known) {
		*ret_cmd = comm;
		*ret_len = comm_len;
	} else {
		*ret_cmd = "unknown";
		*ret_len = 7;
	}
	return cmdline;
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
		snprintf(buf, len, "%s%s",
		    reason_because[action == CGFW_ACT_BLOCK ? CGFW_R_BLOCK_RULE
		                                            : CGFW_R_ALLOW_RULE],
		    kind ? kind : "IP");
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
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
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

static void
comment(const struct mon_out *out, const struct cgfw_event *e, const struct mon_rule *rule,
    const char *ip, char *buf, size_t len)
{
	if (rule) {
		snprintf(buf, len, "%s matched %s list rule %s (%s)", ip,
		    rule->action == CGFW_ACT_BLOCK ? "block" : "allow", rule->text, rule->origin);
		return;
	}
	switch (e->reason) {
	case CGFW_R_LOOPBACK:
		snprintf(buf, len, "loopback is always allowed");
		break;
	case CGFW_R_NOT_ALLOWED:
		snprintf(buf, len, "allow-list mode: %s matches no allow rule", ip);
		break;
	case CGFW_R_NOT_BLOCKED:
		snprintf(buf, len, "block-list mode: %s matches no block rule", ip);
		break;
	case CGFW_R_NOT_RESOLVED:
		snprintf(buf, len,
		    "block-list mode with domain rules: %s was not resolved for an "
		    "allowed domain",
		    ip);
		break;
	case CGFW_R_LOG_ONLY:
		snprintf(buf, len, "log-only mode: nothing is blocked");
		break;
	case CGFW_R_IPV6:
		snprintf(buf, len, "IPv6 is not supported yet and always blocked");
		break;
	case CGFW_R_DNS_LEARNED:
		snprintf(buf, len, "%s was resolved by cgfw-dnsproxy for an allowed domain", ip);
		break;
	case CGFW_R_DNS_REDIRECT:
		snprintf(buf, len, "DNS query to %s redirected to cgfw-dnsproxy", ip);
		break;
	case CGFW_R_HTTP_REDIRECT:
		snprintf(buf, len, "%s has URL rules: redirected to cgfw-httpproxy", ip);
		break;
	case CGFW_R_URL_ONLY:
		snprintf(
		    buf, len, "%s is allowed by URL rules only, which open HTTP and HTTPS", ip);
		break;
	case CGFW_R_RAW_SOCKET:
		snprintf(buf, len, "%s sockets are refused at creation%s",
		    e->family == AF_PACKET ? "packet (AF_PACKET)" : "raw (SOCK_RAW)",
		    e->family == AF_PACKET ? ": no cgroup hook sees their frames"
		                           : " (--allow-raw-sockets allows them)");
		break;
	case CGFW_R_SOCKET_FAMILY:
		snprintf(buf, len,
		    "socket family %d is refused: a command gets unix, inet, inet6, netlink and "
		    "alg sockets (AF_VSOCK, AF_XDP, AF_RDS and the like get past cgfw's hooks)",
		    e->family);
		break;
	case CGFW_R_IO_URING:
		snprintf(buf, len,
		    "io_uring is refused: its socket and connect operations skip the command's "
		    "seccomp filter");
		break;
	case CGFW_R_URL_UDP:
		snprintf(buf, len,
		    "%s has URL rules, which only TCP through cgfw-httpproxy may use (no QUIC)",
		    ip);
		break;
	default:
		snprintf(buf, len, "%s mode", mode_name(out->mode));
		break;
	}
}

/* RFC 3339 in UTC with nanoseconds, from CLOCK_REALTIME nanoseconds. */
static void
fmt_realtime(int64_t real, char *buf, size_t len)
{
	time_t sec = (time_t)(real / 1000000000);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09" PRId64 "Z", real % 1000000000);
}

/* " key=value" for people; a value with spaces, quotes or odd bytes is JSON-quoted. */
static void
text_kv(struct jbuf *tb, const char *key, const char *val, size_t n)
{
	int quote = n == 0;

	for (size_t i = 0; i < n && !quote; i++)
		quote = (unsigned char)val[i] <= ' ' || val[i] == '"' || val[i] == '\\' ||
		        (unsigned char)val[i] >= 0x7f;
	jb_raw(tb, " ", 1);
	jb_raw(tb, key, strlen(key));
	jb_raw(tb, "=", 1);
	if (quote)
		jb_escape(tb, val, n);
	else
		jb_raw(tb, val, n);
}

const struct mon_rule *
mon_rule_find(const struct mon_out *out, uint32_t id)
{
	size_t lo = 0, hi = out->n_rules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (out->rules[mid].id == id)
			return &out->rules[mid];
		if (out->rules[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int
mon_event_format(struct mon_out *out, const void *data, size_t len)
{
	const struct cgfw_event *e = data;
	const struct mon_rule *rule = NULL;
	char ip[INET6_ADDRSTRLEN], port[8], tbuf[64], because_buf[64], pbuf[8];
	char cmt[1024], msg[32];
	const char *because, *blocked_at, *cmd, *level, *domains = "None";
	const struct mon_ipdom *dom = NULL;
	char *cmdline = NULL;
	size_t cmd_len;
	int blocked;

	if (len < sizeof(*e) || e->hook < CGFW_HOOK_CONNECT4 || e->hook >= CGFW_HOOK_MAX ||
	    (e->verdict != CGFW_V_ALLOW && e->verdict != CGFW_V_BLOCK) || e->reason == 0 ||
	    e->reason >= CGFW_R_MAX ||
	    (e->family != AF_INET && e->family != AF_INET6 && e->hook != CGFW_HOOK_SOCK_CREATE &&
	        e->hook != CGFW_HOOK_SYSCALL) ||
	    ((e->reason == CGFW_R_ALLOW_RULE || e->reason == CGFW_R_BLOCK_RULE) &&
	        !mon_rule_find(out, e->rule_id))) {
		out->n_bad++;
		return -EINVAL;
	}
	/* Learned addresses carry a name rule's id: their rule comes from the DNS event. */
	if (e->reason == CGFW_R_ALLOW_RULE || e->reason == CGFW_R_BLOCK_RULE)
		rule = mon_rule_find(out, e->rule_id);
	blocked = e->verdict == CGFW_V_BLOCK;
	level = blocked ? "WARN" : "INFO";
	snprintf(msg, sizeof(msg), "PACKET %s", blocked ? "BLOCKED" : "ALLOWED");
	/* A socket refused at creation has no destination yet. */
	ip[0] = '\0';
	port[0] = '\0';
	if (e->hook != CGFW_HOOK_SOCK_CREATE && e->hook != CGFW_HOOK_SYSCALL) {
		inet_ntop(e->family == AF_INET ? AF_INET : AF_INET6, e->daddr, ip, sizeof(ip));
		snprintf(port, sizeof(port), "%u", e->dport);
	}
	because = mon_because(e->reason, rule ? rule->action : 0, rule ? rule->kind : NULL,
	    because_buf, sizeof(because_buf));
	blocked_at = blocked ? hooks[e->hook].blocked_at : "";
	comment(out, e, rule, ip, cmt, sizeof(cmt));
	/* The kernel stamps CLOCK_MONOTONIC. */
	fmt_realtime((int64_t)e->ts_ns + out->realtime_offset_ns, tbuf, sizeof(tbuf));
	if (e->family == 2 && e->reason != CGFW_R_DNS_REDIRECT)
		dom = mon_ipdom_find(out, e->daddr[0]);
	if (dom) {
		domains = dom->domains;
		/* Admitted by DNS: say why the name was allowed, and by which rule. */
		if (e->reason == CGFW_R_DNS_LEARNED)
			because = dom->because;
	}

	cmdline = event_cmd(out, e->flags & CGFW_EV_OWNER_KNOWN, e->tgid, e->comm,
	    strnlen(e->comm, sizeof(e->comm)), &cmd, &cmd_len);

	jb_begin(&out->jb);
	jb_str(&out->jb, "time", tbuf);
	jb_str(&out->jb, "level", level);
	jb_str(&out->jb, "msg", msg);
	jb_str(&out->jb, "because", because);
	jb_bool(&out->jb, "blocked", blocked);
	jb_str(&out->jb, "blockedAt", blocked_at);
	jb_str(&out->jb, "domains", domains);
	jb_str(&out->jb, "ruleSource",
	    rule || (dom && dom->rule[0] && e->reason == CGFW_R_DNS_LEARNED) ? because : "Default");
	jb_str(&out->jb, "ruleSourceComment", cmt);
	if (e->flags & CGFW_EV_OWNER_KNOWN)
		jb_int(&out->jb, "pid", e->tgid);
	else
		jb_int(&out->jb, "pid", -1);
	jb_str(&out->jb, "port", port);
	jb_str(&out->jb, "ip", ip);
	jb_str(&out->jb, "originalIp", ip);
	jb_str(&out->jb, "url", "");
	jb_strn(&out->jb, "cmd", cmd, cmd_len);
	jb_int(&out->jb, "schema", 1);
	jb_strn(&out->jb, "comm", e->comm, strnlen(e->comm, sizeof(e->comm)));
	if (e->flags & CGFW_EV_OWNER_KNOWN) {
		jb_int(&out->jb, "uid", e->uid);
		jb_int(&out->jb, "tid", e->pid);
		jb_uint(&out->jb, "cgroup", e->cgroup_id);
	} else {
		jb_int(&out->jb, "uid", -1);
		jb_int(&out->jb, "tid", -1);
		jb_uint(&out->jb, "cgroup", out->cgroup_id);
	}
	jb_str(&out->jb, "proto", proto_name(e->proto, pbuf, sizeof(pbuf)));
	jb_str(&out->jb, "rule",
	    rule                                     ? rule->text
	    : dom && e->reason == CGFW_R_DNS_LEARNED ? dom->rule
	                                             : "");
	jb_str(&out->jb, "hook", hook_name(e->hook));
	jb_str(&out->jb, "mode", mode_name(out->mode));
	jb_end(&out->jb);

	jb_reset(&out->tb);
	jb_raw(&out->tb, level, strlen(level));
	jb_raw(&out->tb, " ", 1);
	jb_raw(&out->tb, msg, strlen(msg));
	text_kv(&out->tb, "because", because, strlen(because));
	text_kv(&out->tb, "blocked", blocked ? "true" : "false", blocked ? 4 : 5);
	if (blocked)
		text_kv(&out->tb, "blockedAt", blocked_at, strlen(blocked_at));
	text_kv(&out->tb, "ip", ip, strlen(ip));
	text_kv(&out->tb, "port", port, strlen(port));
	text_kv(&out->tb, "proto", proto_name(e->proto, pbuf, sizeof(pbuf)),
	    strlen(proto_name(e->proto, pbuf, sizeof(pbuf))));
	if (rule)
		text_kv(&out->tb, "rule", rule->text, strlen(rule->text));
	{
		char pid[16];

		snprintf(
		    pid, sizeof(pid), "%d", (e->flags & CGFW_EV_OWNER_KNOWN) ? (int)e->tgid : -1);
		text_kv(&out->tb, "pid", pid, strlen(pid));
	}
	text_kv(&out->tb, "cmd", cmd, cmd_len);
	jb_raw(&out->tb, "\n", 1);
	free(cmdline);
	if (out->jb.err || out->tb.err)
		return -ENOMEM;
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
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
 * One line, in one write(), whole or not at all: a reader never sees half a
 * line, and the next line never lands on a fragment.  A short write (a full
 * disk, a file size limit) is undone; the write of the rest, which fails,
 * says why.  On a pipe or a device it cannot be undone: nothing more is
 * written there.
 */
static int
json_write(struct mon_out *out, const char *p, size_t n)
{
	ssize_t w, rest;
	int r;

	if (out->json_broken)
		return out->json_broken;
	do
		w = write(out->json_fd, p, n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if ((size_t)w == n)
		return 0;
	do
		rest = write(out->json_fd, p + w, n - (size_t)w);
	while (rest < 0 && errno == EINTR);
	r = rest < 0 ? -errno : -ENOSPC;
	if (json_undo(out, (size_t)w + (size_t)(rest > 0 ? rest : 0)) < 0)
		out->json_broken = r;
	return r;
}

/* The first fields of an ERROR line (a notice, EVENTS LOST), both forms. */
static void
error_begin(struct jbuf *jb, struct jbuf *tb, const char *msg)
{
	struct timespec now;
	char tbuf[64];

	clock_gettime(CLOCK_REALTIME, &now);
	fmt_realtime((int64_t)now.tv_sec * 1000000000 + now.tv_nsec, tbuf, sizeof(tbuf));
	jb_begin(jb);
	jb_str(jb, "time", tbuf);
	jb_str(jb, "level", "ERROR");
	jb_str(jb, "msg", msg);
	jb_reset(tb);
	jb_raw(tb, "ERROR ", 6);
	jb_raw(tb, msg, strlen(msg));
}

/* ... and the last ones. */
static int
error_end(const struct mon_out *out, struct jbuf *jb, struct jbuf *tb)
{
	jb_int(jb, "schema", 1);
	jb_uint(jb, "cgroup", out->cgroup_id);
	jb_str(jb, "mode", mode_name(out->mode));
	jb_end(jb);
	jb_raw(tb, "\n", 1);
	return jb->err || tb->err ? -ENOMEM : 0;
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
	char reason[128], count[24];
	int r;

	for (int k = 0; k < MON_LOST_MAX; k++) {
		struct mon_lost *l = &out->lost[k];

		if (!l->pending)
			continue;
		if (k == MON_LOST_WRITE)
			snprintf(reason, sizeof(reason), "%s: %s",
			    out->json_name ? out->json_name : "log file", strerror(-l->err));
		else
			snprintf(reason, sizeof(reason), "%s",
			    k == MON_LOST_RING   ? "ring buffer full"
			    : k == MON_LOST_DNSQ ? "dnsproxy queue full"
			                         : "httpproxy queue full");
		snprintf(count, sizeof(count), "%" PRIu64, l->pending);
		error_begin(&out->lost_jb, &out->lost_tb, "EVENTS LOST");
		jb_str(&out->lost_jb, "because",
		    k == MON_LOST_RING    ? "RingBufferFull"
		    : k == MON_LOST_WRITE ? "LogUnwritable"
		                          : "ProxyQueueFull");
		jb_uint(&out->lost_jb, "count", l->pending);
		jb_str(&out->lost_jb, "reason", reason);
		text_kv(&out->lost_tb, "count", count, strlen(count));
		text_kv(&out->lost_tb, "reason", reason, strlen(reason));
		r = error_end(out, &out->lost_jb, &out->lost_tb);
		if (r == 0)
			r = json_write(out, out->lost_jb.p, out->lost_jb.len);
		if (r < 0)
			return r;
		l->pending = 0;
		if (out->text_fd >= 0)
			(void)write_all(out->text_fd, out->lost_tb.p, out->lost_tb.len);
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

	if (r == 0)
		r = json_write(out, out->jb.p, out->jb.len);
	if (r < 0)
		mon_lost_add(out, MON_LOST_WRITE, 1, r);
	else
		out->n_events++;
	if (out->text_fd >= 0)
		(void)write_all(out->text_fd, out->tb.p, out->tb.len);
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
	char tbuf[64], cmt[1024 + 4096], pid[16], ttl[16], src[64];
	const char *failed = upstream_failure_text(ev->upstream_failure);
	const char *level = ev->blocked || failed ? "WARN" : "INFO";
	const char *msg = ev->blocked ? "DNS BLOCKED"
	                  : failed    ? "DNS UPSTREAM FAILED"
	                              : "DNS ALLOWED";
	const char *because = failed ? ev->upstream_failure : ev->because;
	const char *cmd, *alias = dns_blocked_alias(ev);
	char *cmdline = NULL;
	size_t cmd_len;

	fmt_realtime((int64_t)ev->time_ns, tbuf, sizeof(tbuf));
	dns_comment(ev, alias, src, sizeof(src), cmt, sizeof(cmt));
	if (failed) {
		size_t n = strlen(cmt);

		snprintf(cmt + n, sizeof(cmt) - n, "; %s, the client got %s", failed, ev->rcode);
	}
	cmdline =
	    event_cmd(out, ev->owner_known, ev->pid, ev->comm, strlen(ev->comm), &cmd, &cmd_len);

	jb_begin(&out->jb);
	jb_str(&out->jb, "time", tbuf);
	jb_str(&out->jb, "level", level);
	jb_str(&out->jb, "msg", msg);
	jb_str(&out->jb, "because", because);
	jb_bool(&out->jb, "blocked", ev->blocked);
	jb_str(&out->jb, "blockedAt", ev->blocked ? "dns" : "");
	jb_str(&out->jb, "domains", ev->qname);
	jb_str(&out->jb, "ruleSource", src);
	jb_str(&out->jb, "ruleSourceComment", cmt);
	jb_int(&out->jb, "pid", ev->owner_known ? (int64_t)ev->pid : -1);
	jb_str(&out->jb, "port", "53");
	jb_str(&out->jb, "ip", "");
	jb_str(&out->jb, "originalIp", ev->owner_known ? ev->server : "unknown");
	jb_str(&out->jb, "url", "");
	jb_strn(&out->jb, "cmd", cmd, cmd_len);
	jb_int(&out->jb, "schema", 1);
	jb_str(&out->jb, "comm", ev->comm);
	jb_int(&out->jb, "uid", ev->owner_known ? (int64_t)ev->uid : -1);
	jb_int(&out->jb, "tid", ev->owner_known ? (int64_t)ev->tid : -1);
	jb_uint(&out->jb, "cgroup", ev->owner_known ? ev->cgroup : out->cgroup_id);
	jb_str(&out->jb, "proto", ev->proto);
	jb_str(&out->jb, "rule", ev->rule);
	jb_str(&out->jb, "hook", "dns");
	jb_str(&out->jb, "mode", mode_name(out->mode));
	jb_str(&out->jb, "qtype", ev->qtype);
	jb_str(&out->jb, "rcode", ev->rcode);
	jb_str(&out->jb, "cname", alias);
	jb_raw(&out->jb, ",\"answers\":[", 12);
	for (size_t i = 0; i < ev->n_ips; i++) {
		if (i)
			jb_raw(&out->jb, ",", 1);
		jb_escape(&out->jb, ev->ips[i], strlen(ev->ips[i]));
	}
	jb_raw(&out->jb, "]", 1);
	jb_bool(&out->jb, "admitted", ev->admitted);
	jb_int(&out->jb, "ttl", ev->ttl);
	jb_end(&out->jb);

	jb_reset(&out->tb);
	jb_raw(&out->tb, level, strlen(level));
	jb_raw(&out->tb, " ", 1);
	jb_raw(&out->tb, msg, strlen(msg));
	text_kv(&out->tb, "because", because, strlen(because));
	text_kv(&out->tb, "blocked", ev->blocked ? "true" : "false", ev->blocked ? 4 : 5);
	if (ev->blocked)
		text_kv(&out->tb, "blockedAt", "dns", 3);
	text_kv(&out->tb, "domains", ev->qname, strlen(ev->qname));
	text_kv(&out->tb, "qtype", ev->qtype, strlen(ev->qtype));
	text_kv(&out->tb, "rcode", ev->rcode, strlen(ev->rcode));
	if (alias[0])
		text_kv(&out->tb, "cname", alias, strlen(alias));
	if (ev->rule[0])
		text_kv(&out->tb, "rule", ev->rule, strlen(ev->rule));
	if (ev->n_ips) {
		snprintf(ttl, sizeof(ttl), "%u", ev->ttl);
		text_kv(&out->tb, "answers", ev->ips[0], strlen(ev->ips[0]));
		text_kv(&out->tb, "ttl", ttl, strlen(ttl));
	}
	snprintf(pid, sizeof(pid), "%d", ev->owner_known ? (int)ev->pid : -1);
	text_kv(&out->tb, "pid", pid, strlen(pid));
	text_kv(&out->tb, "cmd", cmd, cmd_len);
	jb_raw(&out->tb, "\n", 1);
	free(cmdline);
	return out->jb.err || out->tb.err ? -ENOMEM : 0;
}

int
mon_dns_event_emit(struct mon_out *out, const Cgfw__DnsEvent *ev)
{
	int r;

	if (!dns_event_valid(ev)) {
		out->n_bad++;
		return -EINVAL;
	}
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
	char tbuf[64], cmt[1024 + 4096], port[16], status[16];
	const char *level = ev->blocked ? "WARN" : "INFO";
	const char *msg = ev->blocked ? "HTTP BLOCKED" : "HTTP ALLOWED";
	const char *src, *cmd;
	char *cmdline;
	size_t cmd_len;

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

	jb_begin(&out->jb);
	jb_str(&out->jb, "time", tbuf);
	jb_str(&out->jb, "level", level);
	jb_str(&out->jb, "msg", msg);
	jb_str(&out->jb, "because", ev->because);
	jb_bool(&out->jb, "blocked", ev->blocked);
	jb_str(&out->jb, "blockedAt", ev->blocked ? "http" : "");
	jb_str(&out->jb, "domains", ev->host);
	jb_str(&out->jb, "ruleSource", src);
	jb_str(&out->jb, "ruleSourceComment", cmt);
	jb_int(&out->jb, "pid", ev->owner_known ? (int64_t)ev->pid : -1);
	jb_str(&out->jb, "port", port);
	jb_str(&out->jb, "ip", ev->ip);
	jb_str(&out->jb, "originalIp", ev->ip);
	jb_str(&out->jb, "url", ev->url);
	jb_strn(&out->jb, "cmd", cmd, cmd_len);
	jb_int(&out->jb, "schema", 1);
	jb_str(&out->jb, "comm", ev->comm);
	jb_int(&out->jb, "uid", ev->owner_known ? (int64_t)ev->uid : -1);
	jb_int(&out->jb, "tid", ev->owner_known ? (int64_t)ev->tid : -1);
	jb_uint(&out->jb, "cgroup", ev->owner_known ? ev->cgroup : out->cgroup_id);
	jb_str(&out->jb, "proto", "tcp");
	jb_str(&out->jb, "rule", ev->rule);
	jb_str(&out->jb, "hook", "http");
	jb_str(&out->jb, "mode", mode_name(out->mode));
	jb_str(&out->jb, "method", ev->method);
	jb_int(&out->jb, "status", ev->status);
	jb_end(&out->jb);

	jb_reset(&out->tb);
	jb_raw(&out->tb, level, strlen(level));
	jb_raw(&out->tb, " ", 1);
	jb_raw(&out->tb, msg, strlen(msg));
	text_kv(&out->tb, "because", ev->because, strlen(ev->because));
	text_kv(&out->tb, "blocked", ev->blocked ? "true" : "false", ev->blocked ? 4 : 5);
	if (ev->blocked)
		text_kv(&out->tb, "blockedAt", "http", 4);
	text_kv(&out->tb, "method", ev->method, strlen(ev->method));
	text_kv(&out->tb, "url", ev->url, strlen(ev->url));
	if (ev->rule[0])
		text_kv(&out->tb, "rule", ev->rule, strlen(ev->rule));
	if (ev->status) {
		snprintf(status, sizeof(status), "%u", ev->status);
		text_kv(&out->tb, "status", status, strlen(status));
	}
	snprintf(port, sizeof(port), "%d", ev->owner_known ? (int)ev->pid : -1);
	text_kv(&out->tb, "pid", port, strlen(port));
	text_kv(&out->tb, "cmd", cmd, cmd_len);
	jb_raw(&out->tb, "\n", 1);
	free(cmdline);
	return out->jb.err || out->tb.err ? -ENOMEM : 0;
}

int
mon_http_event_emit(struct mon_out *out, const Cgfw__HttpEvent *ev)
{
	int r;

	if (!http_event_valid(ev)) {
		out->n_bad++;
		return -EINVAL;
	}
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
	int r;

	if (!bounded(n->msg, 32) || !n->msg[0] || !bounded(n->because, 40) ||
	    !bounded(n->comment, 512))
		return -EINVAL;
	error_begin(&out->jb, &out->tb, n->msg);
	jb_str(&out->jb, "because", n->because);
	jb_str(&out->jb, "ruleSourceComment", n->comment);
	text_kv(&out->tb, "because", n->because, strlen(n->because));
	text_kv(&out->tb, "comment", n->comment, strlen(n->comment));
	r = error_end(out, &out->jb, &out->tb);
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
	if ((type & 0xf) == SOCK_PACKET)
		family = AF_PACKET;
	e.family = args[0] > 0xff ? 0xff : (uint8_t)family;
	if (family == AF_PACKET ||
	    ((family == AF_INET || family == AF_INET6) && (type & 0xf) == SOCK_RAW)) {
		e.reason = CGFW_R_RAW_SOCKET;
		e.proto = family == AF_PACKET ? 0 : (uint8_t)args[2];
	} else {
		e.reason = CGFW_R_SOCKET_FAMILY;
		e.proto = (uint8_t)args[2];
	}
	return mon_event_emit(out, &e, sizeof(e));
}
