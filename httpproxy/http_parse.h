/* SPDX-License-Identifier: MIT */
/*
 * What cgfw-httpproxy keeps of a request head while http-parser reads it: the
 * target and the one Host header.  Shared with the fuzz target and the unit
 * tests.
 */
#ifndef CGFW_HTTP_PARSE_H
#define CGFW_HTTP_PARSE_H

#include <stddef.h>

/* The default ports (statuses: http_parser.h's HTTP_STATUS_*). */
#define HTTP_PORT  80
#define HTTPS_PORT 443

struct http_head {
	char url[2048]; /* the request target as sent */
	size_t url_len;
	char host[256]; /* lower case, no port, no trailing dot */
	size_t host_len;
	int host_port;  /* the Host header's port: 0 none, -1 not a port */
	int host_state; /* 0 no Host yet, 1 in its value, 2 seen */
	int last_was_value;
	char field[32];
	size_t field_len;
	int field_long;
	int done; /* the head is complete */
	int method;
};

void http_head_reset(struct http_head *h);
/* http-parser callbacks' bodies: 0 to go on, 1 to stop the parser (refused). */
int http_head_on_url(struct http_head *h, const char *at, size_t len);
int http_head_on_field(struct http_head *h, const char *at, size_t len);
int http_head_on_value(struct http_head *h, const char *at, size_t len);
void http_head_complete(struct http_head *h, int method);
/* The target's path in the form URL rules compare (rules_url_path_canon). */
int http_head_path(const struct http_head *h, char *out, size_t out_len);
/*
 * Whether a complete head's target may be served on this connection (https:
 * TLS with that SNI).  NULL if so, else the reason, an event's "because".
 */
const char *http_head_check_target(const struct http_head *h, int https, const char *sni);

#endif
