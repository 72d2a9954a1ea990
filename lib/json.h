/* SPDX-License-Identifier: MIT */
/*
 * A growing buffer for one JSON object per line.  Strings are escaped so the
 * output is valid JSON for any bytes: invalid UTF-8 becomes U+FFFD.
 */
#ifndef CGFW_JSON_H
#define CGFW_JSON_H

#include <stddef.h>
#include <stdint.h>

struct jbuf {
	char *p;
	size_t len;
	size_t cap;
	int err;      /* sticky -ENOMEM */
	int n_fields; /* fields in the open object */
};

void jb_reset(struct jbuf *jb);
void jb_free(struct jbuf *jb);
void jb_begin(struct jbuf *jb);
void jb_end(struct jbuf *jb); /* closes the object and adds '\n' */
void jb_str(struct jbuf *jb, const char *key, const char *val);
void jb_strn(struct jbuf *jb, const char *key, const void *val, size_t n);
void jb_int(struct jbuf *jb, const char *key, int64_t v);
void jb_uint(struct jbuf *jb, const char *key, uint64_t v);
void jb_bool(struct jbuf *jb, const char *key, int v);
/* Append n bytes as they are. */
void jb_raw(struct jbuf *jb, const char *s, size_t n);
/* Append s (n bytes) as a quoted JSON string. */
void jb_escape(struct jbuf *jb, const void *s, size_t n);

#endif
