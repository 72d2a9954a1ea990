// SPDX-License-Identifier: MIT
/*
 * Request heads (httpproxy/http_parse.c), fed through http-parser as the
 * proxy feeds them: the Host header's name and port, and whether a target
 * may be served on its connection (http_head_check_target), forged
 * authorities, CONNECT and asterisk form included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <http_parser.h>

#include "httpproxy/http_parse.h"

#define check_str(what, got, want)                                                                 \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if ((g_ == NULL) != (w_ == NULL) || (g_ && strcmp(g_, w_)))                        \
			fail_msg("%s: %s is \"%s\", expected \"%s\"", (what), #got,                \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                               \
	} while (0)

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

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
};

/* One head through http-parser into h; it must parse and be complete. */
static void
parse(struct http_head *h, const char *head)
{
	http_parser p;
	size_t n;

	http_head_reset(h);
	http_parser_init(&p, HTTP_REQUEST);
	p.data = h;
	n = http_parser_execute(&p, &settings, head, strlen(head));
	if (HTTP_PARSER_ERRNO(&p) != HPE_OK || !h->done)
		fail_msg("\"%s\" did not parse: %s after %zu bytes", head,
		    http_errno_name(HTTP_PARSER_ERRNO(&p)), n);
}

struct target_case {
	const char *line; /* request line */
	const char *host; /* Host header value; NULL: none */
	int https;
	const char *sni;
	const char *want; /* NULL: served */
};

static const struct target_case target_cases[] = {
    /* Origin form: the Host names the server (judged elsewhere). */
    {"GET /x HTTP/1.1", "example.com", 0, NULL, NULL},
    {"GET /x HTTP/1.1", "example.com", 1, "example.com", NULL},
    {"GET //blocked.test/x HTTP/1.1", "example.com", 0, NULL, NULL},
    /* Absolute form that agrees with everything. */
    {"GET http://example.com/x HTTP/1.1", "example.com", 0, NULL, NULL},
    {"GET http://example.com HTTP/1.1", "example.com", 0, NULL, NULL},
    {"GET HTTP://Example.COM./x?q=1 HTTP/1.1", "example.com", 0, NULL, NULL},
    {"GET http://example.com:80/x HTTP/1.1", "example.com", 0, NULL, NULL},
    {"GET http://example.com/x HTTP/1.1", "Example.com:80", 0, NULL, NULL},
    {"GET http://example.com:8080/x HTTP/1.1", "example.com:8080", 0, NULL, NULL},
    {"GET http://[::1]:8080/x HTTP/1.1", "[::1]:8080", 0, NULL, NULL},
    {"GET https://example.com/x HTTP/1.1", "example.com", 1, "example.com", NULL},
    {"GET https://example.com:443/x HTTP/1.1", "example.com", 1, "example.com", NULL},
    {"POST https://EXAMPLE.com/x HTTP/1.1", "example.com.", 1, "example.com", NULL},
    /* Another host than the Host header: the forged authority. */
    {"GET http://blocked.test/allowed/x HTTP/1.1", "example.com", 0, NULL, "AuthorityNotHost"},
    {"GET https://blocked.test/allowed/x HTTP/1.1", "example.com", 1, "example.com",
        "AuthorityNotHost"},
    {"GET http://example.com.evil/x HTTP/1.1", "example.com", 0, NULL, "AuthorityNotHost"},
    {"GET http://example.co/x HTTP/1.1", "example.com", 0, NULL, "AuthorityNotHost"},
    {"GET http://[::1]/x HTTP/1.1", "example.com", 0, NULL, "AuthorityNotHost"},
    /* Ports: explicit or the scheme's own, on both sides. */
    {"GET http://example.com:8080/x HTTP/1.1", "example.com", 0, NULL, "AuthorityNotHost"},
    {"GET http://example.com/x HTTP/1.1", "example.com:8080", 0, NULL, "AuthorityNotHost"},
    {"GET http://example.com:443/x HTTP/1.1", "example.com", 0, NULL, "AuthorityNotHost"},
    {"GET http://example.com:0/x HTTP/1.1", "example.com", 0, NULL, "AuthorityNotHost"},
    {"GET http://example.com/x HTTP/1.1", "example.com:http", 0, NULL, "AuthorityNotHost"},
    {"GET http://example.com/x HTTP/1.1", "example.com:65536", 0, NULL, "AuthorityNotHost"},
    {"GET https://example.com:444/x HTTP/1.1", "example.com", 1, "example.com", "AuthorityNotHost"},
    /* The scheme of the connection, and no other. */
    {"GET https://example.com/x HTTP/1.1", "example.com", 0, NULL, "SchemeNotConnection"},
    {"GET http://example.com/x HTTP/1.1", "example.com", 1, "example.com", "SchemeNotConnection"},
    {"GET ftp://example.com/x HTTP/1.1", "example.com", 0, NULL, "SchemeNotConnection"},
    {"GET httpx://example.com/x HTTP/1.1", "example.com", 0, NULL, "SchemeNotConnection"},
    /* Over TLS, the SNI too. */
    {"GET https://www.example.com/x HTTP/1.1", "www.example.com", 1, "example.com",
        "AuthorityNotSNI"},
    {"GET https://example.com/x HTTP/1.1", "example.com", 1, NULL, "AuthorityNotSNI"},
    /* Userinfo: two readers, two hosts. */
    {"GET http://example.com@blocked.test/x HTTP/1.1", "blocked.test", 0, NULL,
        "AuthorityHasUserinfo"},
    {"GET http://user:pw@example.com/x HTTP/1.1", "example.com", 0, NULL, "AuthorityHasUserinfo"},
    /* No Host to compare with. */
    {"GET http://example.com/x HTTP/1.0", NULL, 0, NULL, "NoHostHeader"},
    /* CONNECT and asterisk form. */
    {"CONNECT example.com:443 HTTP/1.1", "example.com:443", 0, NULL, "ConnectNotSupported"},
    {"CONNECT example.com:443 HTTP/1.1", "example.com", 1, "example.com", "ConnectNotSupported"},
    {"OPTIONS * HTTP/1.1", "example.com", 0, NULL, "AsteriskFormNotSupported"},
    {"OPTIONS * HTTP/1.1", "example.com", 1, "example.com", "AsteriskFormNotSupported"},
    {"GET * HTTP/1.1", "example.com", 0, NULL, "BadRequestTarget"},
    {"OPTIONS *x HTTP/1.1", "example.com", 0, NULL, "BadRequestTarget"},
    /* Targets http-parser reads but no host comparison can trust. */
    {"GET http://exa%6dple.com/x HTTP/1.1", "example.com", 0, NULL, "BadRequestTarget"},
};

static void
test_check_target(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(target_cases) / sizeof(target_cases[0]); i++) {
		const struct target_case *t = &target_cases[i];
		struct http_head h;
		char head[512];

		snprintf(head, sizeof(head), "%s\r\n%s%s%s\r\n", t->line, t->host ? "Host: " : "",
		    t->host ? t->host : "", t->host ? "\r\n" : "");
		parse(&h, head);
		check_str(t->line, http_head_check_target(&h, t->https, t->sni), t->want);
	}
}

struct host_case {
	const char *value;
	const char *host;
	int port;
};

static const struct host_case host_cases[] = {
    {"example.com", "example.com", 0},
    {"Example.COM.", "example.com", 0},
    {"example.com:8080", "example.com", 8080},
    {"example.com.:8080", "example.com", 8080},
    {"example.com:", "example.com", 0},
    {"example.com:65535", "example.com", 65535},
    {"example.com:65536", "example.com", -1},
    {"example.com:0", "example.com", -1},
    {"example.com:99999999999999999999", "example.com", -1},
    {"example.com:8a", "example.com", -1},
    {"[::1]", "[::1]", 0},
    {"[::1]:443", "[::1]", 443},
};

static void
test_host_port(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
		const struct host_case *t = &host_cases[i];
		struct http_head h;
		char head[512];

		snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", t->value);
		parse(&h, head);
		check_str(t->value, h.host, t->host);
		if (h.host_port != t->port)
			fail_msg("%s: port %d, expected %d", t->value, h.host_port, t->port);
		assert_int_equal(h.host_len, strlen(h.host));
	}
}

/* The path URL rules see comes from the same target the authority check read. */
static void
test_absolute_path(void **state)
{
	struct http_head h;
	char path[256];

	(void)state;
	parse(
	    &h, "GET http://example.com/a/../allowed/x?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
	assert_null(http_head_check_target(&h, 0, NULL));
	assert_int_equal(http_head_path(&h, path, sizeof(path)), 0);
	assert_string_equal(path, "/allowed/x");
	parse(&h, "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
	assert_int_equal(http_head_path(&h, path, sizeof(path)), 0);
	assert_string_equal(path, "/");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_target),
	    cmocka_unit_test(test_host_port),
	    cmocka_unit_test(test_absolute_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
