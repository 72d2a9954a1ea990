// SPDX-License-Identifier: MIT
/* JSON lines for the event stream; the escaping is the part that matters. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

void
jb_raw(struct jbuf *jb, const char *s, size_t n)
{
	if (jb->err)
		return;
	if (jb->len + n + 1 > jb->cap) {
		size_t cap = jb->cap ? jb->cap : 256;
		char *p;

		while (cap < jb->len + n + 1)
			cap *= 2;
		p = realloc(jb->p, cap);
		if (!p) {
			jb->err = -ENOMEM;
			return;
		}
		jb->p = p;
		jb->cap = cap;
	}
	memcpy(jb->p + jb->len, s, n);
	jb->len += n;
	jb->p[jb->len] = '\0';
}

void
jb_reset(struct jbuf *jb)
{
	jb->len = 0;
	jb->err = 0;
	jb->n_fields = 0;
	if (jb->p)
		jb->p[0] = '\0';
}

void
jb_free(struct jbuf *jb)
{
	free(jb->p);
	memset(jb, 0, sizeof(*jb));
}

void
jb_begin(struct jbuf *jb)
{
	jb_reset(jb);
	jb_raw(jb, "{", 1);
}

void
jb_end(struct jbuf *jb)
{
	jb_raw(jb, "}\n", 2);
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and past U+10FFFF are invalid. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void
jb_escape(struct jbuf *jb, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i = 0;

	jb_raw(jb, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];
		char esc[8];
		size_t l;

		switch (c) {
		case '"':
			jb_raw(jb, "\\\"", 2);
			i++;
			continue;
		case '\\':
			jb_raw(jb, "\\\\", 2);
			i++;
			continue;
		case '\n':
			jb_raw(jb, "\\n", 2);
			i++;
			continue;
		case '\r':
			jb_raw(jb, "\\r", 2);
			i++;
			continue;
		case '\t':
			jb_raw(jb, "\\t", 2);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jb_raw(jb, esc, 6);
			i++;
			continue;
		}
		l = utf8_len(s + i, n - i);
		if (l == 0) {
			jb_raw(jb, "\\ufffd", 6);
			i++;
			continue;
		}
		jb_raw(jb, (const char *)s + i, l);
		i += l;
	}
	jb_raw(jb, "\"", 1);
}

static void
jb_key(struct jbuf *jb, const char *key)
{
	if (jb->n_fields++)
		jb_raw(jb, ",", 1);
	jb_escape(jb, key, strlen(key));
	jb_raw(jb, ":", 1);
}

void
jb_str(struct jbuf *jb, const char *key, const char *val)
{
	jb_strn(jb, key, val ? val : "", val ? strlen(val) : 0);
}

void
jb_strn(struct jbuf *jb, const char *key, const void *val, size_t n)
{
	jb_key(jb, key);
	jb_escape(jb, val, n);
}

void
jb_int(struct jbuf *jb, const char *key, int64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	jb_key(jb, key);
	jb_raw(jb, buf, (size_t)n);
}

void
jb_uint(struct jbuf *jb, const char *key, uint64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	jb_key(jb, key);
	jb_raw(jb, buf, (size_t)n);
}

void
jb_bool(struct jbuf *jb, const char *key, int v)
{
	jb_key(jb, key);
	jb_raw(jb, v ? "true" : "false", v ? 4 : 5);
}
