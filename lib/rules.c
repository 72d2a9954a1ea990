// SPDX-License-Identifier: MIT
/*
 * Rule parsing.  Input comes from the command line, the config file and list
 * files, so every rejection says which rule, where it came from, and why.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "bpf/egress.h"
#include "lib/log.h"
#include "lib/rules.h"

const char *
rules_kind_name(enum cgfw_rule_kind kind)
{
	switch (kind) {
	case RULE_IP4:
		return "IP";
	case RULE_CIDR4:
		return "CIDR";
	case RULE_NAME:
		return "Domain";
	case RULE_WILDCARD:
		return "Wildcard";
	case RULE_EXACT_NAME:
		return "ExactDomain";
	case RULE_URL:
		return "URL";
	}
	return "Unknown";
}

int
rules_is_name_kind(enum cgfw_rule_kind kind)
{
	return kind == RULE_NAME || kind == RULE_WILDCARD || kind == RULE_EXACT_NAME ||
	       kind == RULE_URL;
}

void
rule_clear(struct cgfw_rule *r)
{
	free(r->name);
	free(r->scheme);
	free(r->path);
	free(r->text);
	free(r->origin);
	memset(r, 0, sizeof(*r));
}

void
rules_free(struct cgfw_ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_clear(&rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

/* "22" -> 22; 0 and anything past 65535 or not all digits are refused. */
static int
parse_port(const char *s, size_t n, uint16_t *ret_port)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret_port = (uint16_t)v;
	return 0;
}

/* The bytes a label may hold: letters, digits, '-' and '_'. */
static const char name_char[256] = {
    ['0' ... '9'] = 1,
    ['a' ... 'z'] = 1,
    ['A' ... 'Z'] = 1,
    ['-'] = 1,
    ['_'] = 1,
};

static inline char
lower(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c + ('a' - 'A'));
	return (char)c;
}

/*
 * A DNS name of n bytes (s need not be NUL-terminated): labels of letters, digits,
 * '-' and '_', 1..63 bytes, no '-' at either end, 253 bytes at most, one
 * trailing dot dropped.  Writes the lower-cased name to out, returns its
 * length or -EINVAL with *ret_why.
 */
int
rules_name_check(const char *s, size_t n, char *out, const char **ret_why)
{
	size_t label = 0;

	if (n && s[n - 1] == '.')
		n--;
	if (n == 0) {
		*ret_why = "empty name";
		return -EINVAL;
	}
	if (n > RULES_NAME_MAX) {
		*ret_why = "name longer than 253 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : '.';

		if (c == '.') {
			if (label == 0) {
				*ret_why = "empty label";
				return -EINVAL;
			}
			if (label > 63) {
				*ret_why = "label longer than 63 bytes";
				return -EINVAL;
			}
			if (s[i - 1] == '-') {
				*ret_why = "label ends with '-'";
				return -EINVAL;
			}
			if (i < n)
				out[i] = '.';
			label = 0;
			continue;
		}
		if (label == 0 && c == '-') {
			*ret_why = "label starts with '-'";
			return -EINVAL;
		}
		if (!name_char[c]) {
			*ret_why = c == '*' ? "'*' is only allowed as a leading \"*.\""
			                    : "invalid character in name";
			return -EINVAL;
		}
		out[i] = lower(c);
		label++;
	}
	return (int)n;
}

/* The same on a NUL-terminated name, lower-cased in place. */
static int
name_normalize(char *s, const char **ret_why)
{
	int n = rules_name_check(s, strlen(s), s, ret_why);

	if (n < 0)
		return n;
	s[n] = '\0';
	return 0;
}

/* Does the text look like an attempt at an IPv4 address or CIDR? */
static int
looks_numeric(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.' && *s != '/' && *s != ':')
			return 0;
	return 1;
}

static int
parse_ip4(char *s, struct cgfw_rule *r, const char **ret_why)
{
	char *slash = strchr(s, '/'), *colon = strchr(s, ':');
	struct in_addr a;
	uint16_t port = 0;
	long plen = 32;

	if (colon) {
		if (slash) {
			*ret_why = "a port can only follow a single IP or a name";
			return -EINVAL;
		}
		if (parse_port(colon + 1, strlen(colon + 1), &port) < 0) {
			*ret_why = "invalid port (1-65535)";
			return -EINVAL;
		}
		*colon = '\0';
	}
	if (slash) {
		char *end;

		*slash = '\0';
		errno = 0;
		plen = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end || errno || plen < 0 || plen > 32) {
			*ret_why = "invalid prefix length (0-32)";
			return -EINVAL;
		}
	}
	if (inet_pton(AF_INET, s, &a) != 1) {
		*ret_why = "not a valid IPv4 address";
		return -EINVAL;
	}
	if (slash) {
		uint32_t mask = plen ? htonl(~0u << (32 - plen)) : 0;

		if (a.s_addr & ~mask) {
			*ret_why = "host bits are set after the prefix length";
			return -EINVAL;
		}
	}
	r->kind = slash ? RULE_CIDR4 : RULE_IP4;
	r->addr = a.s_addr;
	r->plen = (uint8_t)plen;
	r->port = port;
	return 0;
}

/* "=name", "*.name", "name", each with an optional ":port". */
static int
parse_name(char *s, struct cgfw_rule *r, const char **ret_why)
{
	char *colon = strrchr(s, ':');

	r->kind = RULE_NAME;
	if (s[0] == '=') {
		r->kind = RULE_EXACT_NAME;
		s++;
	} else if (s[0] == '*' && s[1] == '.') {
		r->kind = RULE_WILDCARD;
		s += 2;
	}
	if (colon) {
		if (parse_port(colon + 1, strlen(colon + 1), &r->port) < 0) {
			*ret_why = "invalid port (1-65535)";
			return -EINVAL;
		}
		*colon = '\0';
	}
	if (name_normalize(s, ret_why) < 0)
		return -EINVAL;
	r->name = strdup(s);
	return r->name ? 0 : -ENOMEM;
}

/* Collapse "." and ".." segments of a URL path in place; refuse to climb out. */
int
rules_path_normalize(char *p)
{
	char *out = p, *in = p;

	while (*in) {
		char *seg = in + 1, *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (n == 1 && seg[0] == '.') {
			/* drop it */
		} else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out == p)
				return -EINVAL;
			while (out > p && *--out != '/')
				;
		} else {
			memmove(out, in, n + 1);
			out += n + 1;
		}
		in = seg + n;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
	return 0;
}

static int
parse_url(const char *s, struct cgfw_rule *r, const char **ret_why)
{
	struct http_parser_url u;
	char host[256];
	size_t n;

	http_parser_url_init(&u);
	if (http_parser_parse_url(s, strlen(s), 0, &u) != 0 || !(u.field_set & (1 << UF_SCHEMA)) ||
	    !(u.field_set & (1 << UF_HOST))) {
		*ret_why = "not a valid URL";
		return -EINVAL;
	}
	if (u.field_set & ((1 << UF_QUERY) | (1 << UF_FRAGMENT) | (1 << UF_USERINFO))) {
		*ret_why = "URL rules take scheme, host, port and path only";
		return -EINVAL;
	}
	n = u.field_data[UF_SCHEMA].len;
	if ((n == 4 && !strncasecmp(s + u.field_data[UF_SCHEMA].off, "http", 4)))
		r->scheme = strdup("http");
	else if (n == 5 && !strncasecmp(s + u.field_data[UF_SCHEMA].off, "https", 5))
		r->scheme = strdup("https");
	else {
		*ret_why = "URL scheme must be http or https";
		return -EINVAL;
	}
	n = u.field_data[UF_HOST].len;
	if (n == 0 || n >= sizeof(host)) {
		*ret_why = "invalid URL host";
		return -EINVAL;
	}
	memcpy(host, s + u.field_data[UF_HOST].off, n);
	host[n] = '\0';
	if (strchr(host, ':')) {
		*ret_why = "IPv6 rules are not supported yet (IPv6 is always blocked)";
		return -EINVAL;
	}
	if (u.field_set & (1 << UF_PORT)) {
		if (parse_port(s + u.field_data[UF_PORT].off, u.field_data[UF_PORT].len, &r->port) <
		    0) {
			*ret_why = "invalid port (1-65535)";
			return -EINVAL;
		}
	}
	if (looks_numeric(host)) {
		struct in_addr a;

		if (inet_pton(AF_INET, host, &a) != 1) {
			*ret_why = "not a valid IPv4 address";
			return -EINVAL;
		}
		r->addr = a.s_addr;
		r->plen = 32;
	} else if (name_normalize(host, ret_why) < 0) {
		return -EINVAL;
	}
	r->name = strdup(host);
	if (u.field_set & (1 << UF_PATH))
		r->path = strndup(s + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
	else
		r->path = strdup("/");
	if (!r->name || !r->scheme || !r->path)
		return -ENOMEM;
	if (rules_path_normalize(r->path) < 0) {
		*ret_why = "URL path climbs above '/'";
		return -EINVAL;
	}
	/* A trailing slash is a segment boundary already: "/news/" == "/news". */
	n = strlen(r->path);
	if (n > 1 && r->path[n - 1] == '/')
		r->path[n - 1] = '\0';
	r->kind = RULE_URL;
	return 0;
}

int
rules_parse_one(const char *text, int action, const char *origin, struct cgfw_rule *ret, char *err,
    size_t err_len)
{
	struct cgfw_rule r = {.action = action};
	const char *why = NULL;
	char buf[CGFW_RULE_MAX_LEN + 1];
	size_t n;
	int res;

	while (isspace((unsigned char)*text))
		text++;
	n = strlen(text);
	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	if (n == 0) {
		snprintf(err, err_len, "empty rule in %s", origin);
		return -EINVAL;
	}
	if (n > CGFW_RULE_MAX_LEN) {
		snprintf(
		    err, err_len, "rule in %s is longer than %d bytes", origin, CGFW_RULE_MAX_LEN);
		return -EINVAL;
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(err, err_len, "rule in %s contains a NUL byte", origin);
		return -EINVAL;
	}

	if (strstr(buf, "://"))
		res = parse_url(buf, &r, &why);
	else if (buf[0] == '[' || (strchr(buf, ':') && strchr(buf, ':') != strrchr(buf, ':'))) {
		why = "IPv6 rules are not supported yet (IPv6 is always blocked)";
		res = -EINVAL;
	} else if (looks_numeric(buf))
		res = parse_ip4(buf, &r, &why);
	else
		res = parse_name(buf, &r, &why);

	if (res == 0) {
		r.text = strndup(text, n);
		r.origin = strdup(origin);
		if (!r.text || !r.origin)
			res = -ENOMEM;
	}
	if (res < 0) {
		char q[LOG_ESC_LEN];

		snprintf(err, err_len, "invalid rule \"%s\" in %s: %s",
		    log_escape(q, sizeof(q), text, n), origin, why ? why : strerror(-res));
		rule_clear(&r);
		return res;
	}
	*ret = r;
	return 0;
}

int
rules_reserve(struct cgfw_ruleset *rs, size_t n_more)
{
	struct cgfw_rule *v;

	if (n_more > SIZE_MAX / sizeof(*v) - rs->n)
		return -ENOMEM;
	if (rs->cap - rs->n >= n_more)
		return 0;
	v = reallocarray(rs->v, rs->n + n_more, sizeof(*v));
	if (!v)
		return -ENOMEM;
	rs->v = v;
	rs->cap = rs->n + n_more;
	return 0;
}

int
rules_push(struct cgfw_ruleset *rs, struct cgfw_rule *r)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct cgfw_rule *v = reallocarray(rs->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *r;
	return 0;
}

/* A comma-separated list, as --allow-list takes it.  All or nothing. */
int
rules_add_list(struct cgfw_ruleset *rs, const char *list, int action, const char *origin, char *err,
    size_t err_len)
{
	size_t n0 = rs->n;
	const char *p = list;
	int r = 0;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		struct cgfw_rule rule;
		char *item;

		item = strndup(p, n);
		if (!item) {
			r = -ENOMEM;
			snprintf(err, err_len, "out of memory");
			break;
		}
		r = rules_parse_one(item, action, origin, &rule, err, err_len);
		free(item);
		if (r < 0)
			break;
		r = rules_push(rs, &rule);
		if (r < 0) {
			rule_clear(&rule);
			snprintf(err, err_len, "out of memory");
			break;
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
	while (rs->n > n0)
		rule_clear(&rs->v[--rs->n]);
	return r;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * A request path as URL rules compare it: %XX of unreserved characters
 * decoded (so "/%6Eews" is "/news"), other escapes kept with upper-case hex
 * ("%2f" stays an escaped slash, not a segment boundary), then "." and ".."
 * resolved.  A path that climbs above '/' or has a bad escape is -EINVAL.
 */
int
rules_url_path_canon(const char *in, size_t n, char *out, size_t out_len)
{
	size_t o = 0;

	if (n == 0 || in[0] != '/')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
			if (!(isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_' ||
			        c == '~')) {
				if (o + 3 >= out_len)
					return -ENAMETOOLONG;
				out[o++] = '%';
				out[o++] = "0123456789ABCDEF"[(unsigned char)c >> 4];
				out[o++] = "0123456789ABCDEF"[(unsigned char)c & 15];
				continue;
			}
		} else if (c == '\0') {
			return -EINVAL;
		}
		if (o + 1 >= out_len)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return rules_path_normalize(out);
}
