// SPDX-License-Identifier: MIT
/*
 * Fuzz target: request bytes through http-parser into cgfw-httpproxy's head
 * collector (httpproxy/http_parse.c), the target check against the Host and
 * the connection, and the path canonicalisation that URL rules match against.  Pipelined requests are taken one by one, as the
 * proxy does.  tests/fuzz/replay.c replays files without libFuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "httpproxy/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
on_url(http_parser *p, const char *at, size_t len)
{
	return http_head_on_url(p->data, at, len);
}

static int
on_field(http_parser *p, const char *at, size_t len)
{
	return http_head_on_field(p->data, at, len);
}

static int
on_value(http_parser *p, const char *at, size_t len)
{
	return http_head_on_value(p->data, at, len);
}

static int
on_headers_complete(http_parser *p)
{
	http_head_complete(p->data, p->method);
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_message_complete = on_message_complete,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head *h = calloc(1, sizeof(*h));
	char path[2048];
	http_parser p;

	if (!h)
		return 0;
	http_parser_init(&p, HTTP_REQUEST);
	p.data = h;
	while (size) {
		size_t n = http_parser_execute(&p, &settings, (const char *)data, size);
		enum http_errno e = HTTP_PARSER_ERRNO(&p);

		if (h->done) {
			int r = http_head_path(h, path, sizeof(path));

			/* A canonical path starts at the root and has no dot segment left. */
			if (r == 0 &&
			    (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./")))
				abort();
			if (strlen(h->host) != h->host_len || h->host_port < -1 ||
			    h->host_port > 65535)
				abort();
			/* Only origin form passes without an SNI to compare; CONNECT never. */
			if (!http_head_check_target(h, 1, NULL) && h->url[0] != '/')
				abort();
			if (h->method == HTTP_CONNECT &&
			    (!http_head_check_target(h, 0, NULL) ||
			        !http_head_check_target(h, 1, h->host)))
				abort();
		}
		if (e != HPE_PAUSED || n == 0)
			break;
		http_head_reset(h);
		http_parser_pause(&p, 0);
		data += n;
		size -= n;
	}
	free(h);
	return 0;
}
