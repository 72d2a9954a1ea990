// SPDX-License-Identifier: MIT
/*
 * Request heads, as http-parser hands them over in pieces: the target and
 * the Host header (exactly one: a second is refused, since the proxy and the
 * server might each believe a different one), and whether the target agrees
 * with the Host and the connection.  Untrusted input; bounded.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "lib/rules.h"
#include "http_parse.h"

void
http_head_reset(struct http_head *h)
{
	memset(h, 0, sizeof(*h));
}

int
http_head_on_url(struct http_head *h, const char *at, size_t len)
{
	if (h->url_len + len >= sizeof(h->url))
		return 1;
	memcpy(h->url + h->url_len, at, len);
	h->url_len += len;
	h->url[h->url_len] = '\0';
	return 0;
}

/* Header callbacks may come in pieces; a field starts after a value. */
int
http_head_on_field(struct http_head *h, const char *at, size_t len)
{
	if (h->last_was_value) {
		h->field_len = 0;
		h->field_long = 0;
		if (h->host_state == 1)
			h->host_state = 2;
	}
	h->last_was_value = 0;
	if (h->field_len + len >= sizeof(h->field)) {
		h->field_long = 1;
		return 0;
	}
	memcpy(h->field + h->field_len, at, len);
	h->field_len += len;
	h->field[h->field_len] = '\0';
	return 0;
}

int
http_head_on_value(struct http_head *h, const char *at, size_t len)
{
	if (!h->last_was_value && !h->field_long && !strcasecmp(h->field, "host")) {
		if (h->host_state != 0)
			return 1; /* a second Host header */
		h->host_state = 1;
	}
	h->last_was_value = 1;
	if (h->host_state != 1)
		return 0;
	if (h->host_len + len >= sizeof(h->host))
		return 1;
	for (size_t i = 0; i < len; i++)
		h->host[h->host_len++] = (char)tolower((unsigned char)at[i]);
	h->host[h->host_len] = '\0';
	return 0;
}

/* A Host header's port: "" is none (0), anything but 1 to 65535 is not a port (-1). */
static int
host_port(const char *s)
{
	long v = 0;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > 65535)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* "Host: example.com.:8080" -> "example.com", port 8080; "[::1]:80" -> "[::1]", 80 */
void
http_head_complete(struct http_head *h, int method)
{
	char *bracket = strrchr(h->host, ']');
	char *colon = strrchr(h->host, ':');

	h->done = 1;
	h->method = method;
	h->host_port = 0;
	if (colon && (!bracket || colon > bracket)) {
		*colon = '\0';
		h->host_port = host_port(colon + 1);
	}
	h->host_len = strlen(h->host);
	if (h->host_len && h->host[h->host_len - 1] == '.')
		h->host[--h->host_len] = '\0';
}

int
http_head_path(const struct http_head *h, char *out, size_t out_len)
{
	struct http_parser_url u;
	const char *p = h->url;
	size_t n = h->url_len;

	/* Absolute form ("GET http://host/x"): take its path. */
	http_parser_url_init(&u);
	if (n && h->url[0] != '/') {
		if (http_parser_parse_url(h->url, n, 0, &u) != 0)
			return -EINVAL;
		if (u.field_set & (1 << UF_PATH)) {
			p = h->url + u.field_data[UF_PATH].off;
			n = u.field_data[UF_PATH].len;
		} else {
			p = "/";
			n = 1;
		}
	} else {
		n = strcspn(h->url, "?#");
	}
	return rules_url_path_canon(p, n, out, out_len);
}

/*
 * Origin form ("/x") is served as the Host names it.  Absolute form
 * ("https://example.com/x") names the server itself, and a server may prefer
 * it to the Host, so it must agree with everything the proxy judged: the
 * connection's scheme, the Host's name and port, and over TLS the SNI.
 * CONNECT and asterisk form ("OPTIONS *") are refused: a transparent proxy
 * tunnels nothing, and "*" has no path for URL rules to judge.
 */
const char *
http_head_check_target(const struct http_head *h, int https, const char *sni)
{
	const char *scheme = https ? "https" : "http";
	int dflt = https ? HTTPS_PORT : HTTP_PORT, port;
	struct http_parser_url u;
	char host[256];
	size_t off, len;

	if (h->method == HTTP_CONNECT)
		return "ConnectNotSupported";
	if (h->url_len && h->url[0] == '/')
		return NULL;
	if (h->url_len == 1 && h->url[0] == '*' && h->method == HTTP_OPTIONS)
		return "AsteriskFormNotSupported";
	http_parser_url_init(&u);
	if (h->url_len == 0 || h->url[0] == '*' ||
	    http_parser_parse_url(h->url, h->url_len, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_SCHEMA)) || !(u.field_set & (1 << UF_HOST)))
		return "BadRequestTarget";
	/* "http://example.com@blocked.test/": which one is meant depends on who reads it. */
	if (u.field_set & (1 << UF_USERINFO))
		return "AuthorityHasUserinfo";
	if (u.field_data[UF_SCHEMA].len != strlen(scheme) ||
	    strncasecmp(h->url + u.field_data[UF_SCHEMA].off, scheme, strlen(scheme)) != 0)
		return "SchemeNotConnection";
	if (h->host_len == 0)
		return "NoHostHeader";
	/* The name as a Host header carries it: lower case, brackets kept, no trailing dot. */
	off = u.field_data[UF_HOST].off;
	len = u.field_data[UF_HOST].len;
	if (off > 0 && h->url[off - 1] == '[') {
		off--;
		len += 2;
	}
	if (len >= sizeof(host))
		return "AuthorityNotHost";
	for (size_t i = 0; i < len; i++)
		host[i] = (char)tolower((unsigned char)h->url[off + i]);
	host[len] = '\0';
	if (len > 1 && host[len - 1] == '.')
		host[len - 1] = '\0';
	port = u.field_set & (1 << UF_PORT) ? u.port : dflt;
	if (strcmp(host, h->host) != 0 || port != (h->host_port ? h->host_port : dflt))
		return "AuthorityNotHost";
	if (https && (!sni || strcasecmp(host, sni) != 0))
		return "AuthorityNotSNI";
	return NULL;
}
