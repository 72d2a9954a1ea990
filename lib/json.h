/* SPDX-License-Identifier: MIT */
/*
 * A growing buffer for one JSON object per line.  Strings are escaped so the
 * output is valid JSON for any bytes: invalid UTF-8 becomes U+FFFD.  The
 * buffer is always NUL-terminated after its len bytes.
 */
#ifndef CGFW_JSON_H
#define CGFW_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct jbuf {
	char *p;
	size_t len;
	size_t cap;
	int err;      /* sticky -ENOMEM */
	int n_fields; /* fields in the open object */
};

/* The longest decimal text of a 64-bit integer (INT64_MIN, UINT64_MAX). */
#define JB_NUM_MAX 20

void jb_reset(struct jbuf *jb);
void jb_free(struct jbuf *jb);
void jb_begin(struct jbuf *jb);
void jb_end(struct jbuf *jb); /* closes the object and adds '\n' */
void jb_str(struct jbuf *jb, const char *key, const char *val);
void jb_strn(struct jbuf *jb, const char *key, const void *val, size_t n);
void jb_int(struct jbuf *jb, const char *key, int64_t v);
void jb_uint(struct jbuf *jb, const char *key, uint64_t v);
void jb_bool(struct jbuf *jb, const char *key, int v);
/* Append s (n bytes) as a quoted JSON string. */
void jb_escape(struct jbuf *jb, const void *s, size_t n);
/* No byte of s needs quotes in a key=value text: none <= ' ', '"', '\\', or >= 0x7f. */
int jb_bare(const void *s, size_t n);
/* v in decimal, as printf's %PRIu64 / %PRId64 writes it, into buf (JB_NUM_MAX bytes, no NUL); its length. */
size_t jb_fmt_uint(char *buf, uint64_t v);
size_t jb_fmt_int(char *buf, int64_t v);
/*
 * Room for n more bytes and the NUL after them, at the returned pointer
 * (jb->p + jb->len); NULL after an allocation failure, now or before.
 * jb_commit() then adds the m <= n bytes written there.
 */
char *jb_grow(struct jbuf *jb, size_t n);

static inline char *
jb_reserve(struct jbuf *jb, size_t n)
{
	if (!jb->err && jb->cap - jb->len > n)
		return jb->p + jb->len;
	return jb_grow(jb, n);
}

static inline void
jb_commit(struct jbuf *jb, size_t m)
{
	jb->len += m;
	jb->p[jb->len] = '\0';
}

/* Append n bytes as they are. */
static inline void
jb_raw(struct jbuf *jb, const char *s, size_t n)
{
	char *o = jb_reserve(jb, n);

	if (o) {
		memcpy(o, s, n);
		jb_commit(jb, n);
	}
}

#endif
