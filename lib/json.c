// SPDX-License-Identifier: MIT
/*
 * JSON lines for the event stream; the escaping is the part that matters.
 * The monitor writes hundreds of thousands of lines a second through here:
 * appends check the room once (jb_reserve()), strings are scanned and copied
 * eight bytes at a time, numbers are written without printf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

char *
jb_grow(struct jbuf *jb, size_t n)
{
	size_t cap = jb->cap ? jb->cap : 256;
	char *p;

	if (jb->err)
		return NULL;
	if (n > SIZE_MAX / 2 - jb->len) {
		jb->err = -ENOMEM;
		return NULL;
	}
	while (cap < jb->len + n + 1)
		cap *= 2;
	if (cap != jb->cap) {
		p = realloc(jb->p, cap);
		if (!p) {
			jb->err = -ENOMEM;
			return NULL;
		}
		jb->p = p;
		jb->cap = cap;
	}
	return jb->p + jb->len;
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

static const char digits2[200] = "00010203040506070809101112131415161718192021222324"
                                 "25262728293031323334353637383940414243444546474849"
                                 "50515253545556575859606162636465666768697071727374"
                                 "75767778798081828384858687888990919293949596979899";

size_t
jb_fmt_uint(char *buf, uint64_t v)
{
	static const uint64_t pow10[JB_NUM_MAX] = {1, 10, 100, 1000, 10000, 100000, 1000000,
	    10000000, 100000000, 1000000000, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	    10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	    100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};
	size_t n = 1;
	char *o;

	while (n < JB_NUM_MAX && v >= pow10[n])
		n++;
	o = buf + n;
	while (v >= 100) {
		const char *d = digits2 + 2 * (v % 100);

		v /= 100;
		*--o = d[1];
		*--o = d[0];
	}
	if (v >= 10) {
		*--o = digits2[2 * v + 1];
		*--o = digits2[2 * v];
	} else {
		*--o = (char)('0' + v);
	}
	return n;
}

size_t
jb_fmt_int(char *buf, int64_t v)
{
	if (v >= 0)
		return jb_fmt_uint(buf, (uint64_t)v);
	buf[0] = '-';
	/* -(v + 1) + 1: INT64_MIN's magnitude without overflow. */
	return 1 + jb_fmt_uint(buf + 1, (uint64_t) - (v + 1) + 1);
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

/* Printable ASCII but '"' and '\\': copied as it is. */
static inline int
plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/*
 * A byte of the eight in w (as loaded from memory, little-endian) below
 * low, or '"', '\\', 0x7f or above has its high bit set in the result; the
 * lowest set bit is at the first such byte (the tests for zero bytes may
 * flag bytes after it).  low 0x20: the bytes not plain().
 */
static inline uint64_t
special8(uint64_t w, unsigned char low)
{
	uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\'), d = w ^ (ONES * 0x7f);

	return (w | ((w - ONES * low) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b) |
	           ((d - ONES) & ~d)) &
	       HIGHS;
}

int
jb_bare(const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; n - i >= 8; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (special8(w, 0x21))
			return 0;
	}
#endif
	for (; i < n; i++)
		if (!plain(s[i]) || s[i] == ' ')
			return 0;
	return 1;
}

/*
 * The byte at s[i], not plain(), written escaped at *o: returns the bytes of
 * s it took (a whole valid UTF-8 sequence is copied as it is).
 */
static size_t
escape_one(const unsigned char *s, size_t n, size_t i, char **o)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = s[i];
	char *p = *o;
	size_t l;

	switch (c) {
	case '"':
	case '\\':
		p[0] = '\\';
		p[1] = (char)c;
		*o = p + 2;
		return 1;
	case '\n':
		memcpy(p, "\\n", 2);
		*o = p + 2;
		return 1;
	case '\r':
		memcpy(p, "\\r", 2);
		*o = p + 2;
		return 1;
	case '\t':
		memcpy(p, "\\t", 2);
		*o = p + 2;
		return 1;
	}
	if (c < 0x20 || c == 0x7f) {
		memcpy(p, "\\u00", 4);
		p[4] = hex[c >> 4];
		p[5] = hex[c & 0xf];
		*o = p + 6;
		return 1;
	}
	l = utf8_len(s + i, n - i);
	if (l == 0) {
		memcpy(p, "\\ufffd", 6);
		*o = p + 6;
		return 1;
	}
	memcpy(p, s + i, l);
	*o = p + l;
	return l;
}

void
jb_escape(struct jbuf *jb, const void *src, size_t n)
{
	const unsigned char *s = src;
	char *o, *start;
	size_t i = 0;

	/* At most 6 bytes out per byte in, the quotes, and a word of slack. */
	if (n > (SIZE_MAX - 16) / 6) {
		if (!jb->err)
			jb->err = -ENOMEM;
		return;
	}
	start = o = jb_reserve(jb, 6 * n + 2 + 8);
	if (!o)
		return;
	*o++ = '"';
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (n - i >= 8) {
		uint64_t w, m;

		memcpy(&w, s + i, 8);
		memcpy(o, &w, 8); /* the room has a word of slack */
		m = special8(w, 0x20);
		if (!m) {
			o += 8;
			i += 8;
			continue;
		}
		o += __builtin_ctzll(m) / 8;
		i += __builtin_ctzll(m) / 8;
		i += escape_one(s, n, i, &o);
	}
#endif
	while (i < n) {
		if (plain(s[i]))
			*o++ = (char)s[i++];
		else
			i += escape_one(s, n, i, &o);
	}
	*o++ = '"';
	jb_commit(jb, (size_t)(o - start));
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
	char *o;

	jb_key(jb, key);
	o = jb_reserve(jb, JB_NUM_MAX);
	if (o)
		jb_commit(jb, jb_fmt_int(o, v));
}

void
jb_uint(struct jbuf *jb, const char *key, uint64_t v)
{
	char *o;

	jb_key(jb, key);
	o = jb_reserve(jb, JB_NUM_MAX);
	if (o)
		jb_commit(jb, jb_fmt_uint(o, v));
}

void
jb_bool(struct jbuf *jb, const char *key, int v)
{
	jb_key(jb, key);
	jb_raw(jb, v ? "true" : "false", v ? 4 : 5);
}
