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
#include <time.h>
#include <unistd.h>

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

const char *
mon_because(int reason, int action, const char *kind, char *buf, size_t len)
{
	switch (reason) {
	case CGFW_R_LOOPBACK:
		return "Loopback";
	case CGFW_R_ALLOW_RULE:
	case CGFW_R_BLOCK_RULE:
		snprintf(buf, len, "Matched%sList%s", action == CGFW_ACT_BLOCK ? "Block" : "Allow",
		    kind ? kind : "IP");
		return buf;
	case CGFW_R_NOT_ALLOWED:
		return "IPNotAllowed";
	case CGFW_R_NOT_BLOCKED:
		return "NotInBlockList";
	case CGFW_R_NOT_RESOLVED:
		return "IPNotResolvedForAllowedDomain";
	case CGFW_R_LOG_ONLY:
		return "LogOnly";
	case CGFW_R_IPV6:
		return "IPv6AlwaysBlocked";
	case CGFW_R_ADMITTED:
		return "Admitted";
	}
	return "Unknown";
}

static const char *
hook_name(int hook)
{
	static const char *const names[] = {
	    "", "connect4", "sendmsg4", "connect6", "sendmsg6", "egress"};

	return hook > 0 && hook <= CGFW_HOOK_EGRESS ? names[hook] : "unknown";
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
	default:
		snprintf(buf, len, "%s mode", mode_name(out->mode));
		break;
	}
}

static void
fmt_time(const struct mon_out *out, uint64_t ts_ns, char *buf, size_t len)
{
	int64_t real = (int64_t)ts_ns + out->realtime_offset_ns;
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

int
mon_event_format(struct mon_out *out, const void *data, size_t len)
{
	const struct cgfw_event *e = data;
	const struct mon_rule *rule = NULL;
	char ip[INET6_ADDRSTRLEN], port[8], tbuf[64], because_buf[64], pbuf[8];
	char cmt[1024], msg[32];
	const char *because, *blocked_at, *cmd, *level;
	char *cmdline = NULL;
	size_t cmd_len;
	int blocked;

	if (len < sizeof(*e) || e->hook < CGFW_HOOK_CONNECT4 || e->hook > CGFW_HOOK_EGRESS ||
	    (e->verdict != CGFW_V_ALLOW && e->verdict != CGFW_V_BLOCK) || e->reason == 0 ||
	    e->reason >= CGFW_R_MAX || (e->family != 2 && e->family != 10) ||
	    e->rule_id > out->n_rules) {
		out->n_bad++;
		return -EINVAL;
	}
	if (e->rule_id)
		rule = &out->rules[e->rule_id - 1];
	blocked = e->verdict == CGFW_V_BLOCK;
	level = blocked ? "WARN" : "INFO";
	snprintf(msg, sizeof(msg), "PACKET %s", blocked ? "BLOCKED" : "ALLOWED");
	inet_ntop(e->family == 2 ? AF_INET : AF_INET6, e->daddr, ip, sizeof(ip));
	snprintf(port, sizeof(port), "%u", e->dport);
	because = mon_because(e->reason, rule ? rule->action : 0, rule ? rule->kind : NULL,
	    because_buf, sizeof(because_buf));
	blocked_at = !blocked ? "" : e->hook == CGFW_HOOK_EGRESS ? "packet" : "connect";
	comment(out, e, rule, ip, cmt, sizeof(cmt));
	fmt_time(out, e->ts_ns, tbuf, sizeof(tbuf));

	if (e->flags & CGFW_EV_OWNER_KNOWN)
		cmdline = mon_cmdline(out->proc_root, e->tgid, &cmd_len);
	if (cmdline) {
		cmd = cmdline;
	} else if (e->flags & CGFW_EV_OWNER_KNOWN) {
		cmd = e->comm;
		cmd_len = strnlen(e->comm, sizeof(e->comm));
	} else {
		cmd = "unknown";
		cmd_len = 7;
	}

	jb_begin(&out->jb);
	jb_str(&out->jb, "time", tbuf);
	jb_str(&out->jb, "level", level);
	jb_str(&out->jb, "msg", msg);
	jb_str(&out->jb, "because", because);
	jb_bool(&out->jb, "blocked", blocked);
	jb_str(&out->jb, "blockedAt", blocked_at);
	jb_str(&out->jb, "domains", "None");
	jb_str(&out->jb, "ruleSource", rule ? because : "Default");
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
	jb_str(&out->jb, "rule", rule ? rule->text : "");
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

int
mon_event_emit(struct mon_out *out, const void *data, size_t len)
{
	int r = mon_event_format(out, data, len);

	if (r < 0)
		return r;
	r = write_all(out->json_fd, out->jb.p, out->jb.len);
	if (r < 0)
		return r;
	out->n_events++;
	if (out->text_fd >= 0)
		(void)write_all(out->text_fd, out->tb.p, out->tb.len);
	return 0;
}
