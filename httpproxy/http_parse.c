// SPDX-License-Identifier: MIT
/*
 * Request heads, as http-parser hands them over in pieces: the target and
 * the Host header (exactly one: a second is refused, since the proxy and the
 * server might each believe a different one).  Untrusted input; bounded.
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

/* "Host: example.com:8080." -> "example.com" */
void
http_head_complete(struct http_head *h, int method)
{
	char *colon = strrchr(h->host, ':');

	h->done = 1;
	h->method = method;
	if (colon && !strchr(h->host, ']'))
		*colon = '\0';
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
