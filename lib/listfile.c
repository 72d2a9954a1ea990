// SPDX-License-Identifier: MIT
/*
 * List-file loading.  The file is mapped (or read) once and checked for
 * control characters whole; plain names, the bulk of any public list, are
 * checked and lower-cased by an inline twin of rules.c's name rules and go
 * straight into the name table, plain IPv4 addresses straight into the
 * ruleset.  Anything else (CIDRs, ports, URLs, odd addresses) takes the slow
 * path through rules_parse_one().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "bpf/egress.h"
#include "lib/listfile.h"
#include "lib/log.h"
#include "lib/par.h"

struct lf {
	const char *path;
	size_t path_len;
	uint16_t origin; /* path, in b */
	int action;
	struct np_builder *b;
	struct cgfw_ruleset *rs;
	uint32_t *next_id;
	uint32_t line;
	size_t n_lines;
	char *err;
	size_t err_len;
};

static inline int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Only digits and dots: rules.c reads it as an IPv4 address. */
static int
all_numeric(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
			return 0;
	return 1;
}

struct word {
	const char *s;
	size_t n;
};

#define WORD(s)                                                                                    \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}

static int
in_words(const char *s, size_t n, const struct word *w, size_t n_w)
{
	for (size_t i = 0; i < n_w; i++)
		if (w[i].n == n && !memcmp(s, w[i].s, n))
			return 1;
	return 0;
}

/* The address column of hosts files used as blocklists. */
static int
hosts_addr(const char *s, size_t n)
{
	static const struct word addrs[] = {
	    WORD("0.0.0.0"), WORD("127.0.0.1"), WORD("::"), WORD("::1")};

	return in_words(s, n, addrs, sizeof(addrs) / sizeof(addrs[0]));
}

/* What a hosts file says about itself, not a rule; compared lower-cased. */
static int
hosts_header_name(const char *s, size_t n)
{
	static const struct word names[] = {WORD("localhost"), WORD("localhost.localdomain"),
	    WORD("local"), WORD("broadcasthost"), WORD("ip6-localhost"), WORD("ip6-loopback"),
	    WORD("ip6-localnet"), WORD("ip6-mcastprefix"), WORD("ip6-allnodes"),
	    WORD("ip6-allrouters"), WORD("ip6-allhosts"), WORD("0.0.0.0")};

	return in_words(s, n, names, sizeof(names) / sizeof(names[0]));
}

static int
fail(struct lf *f, const char *text, size_t n, const char *why)
{
	char q[LOG_ESC_LEN];

	if (f->err_len)
		snprintf(f->err, f->err_len, "%s:%u: invalid rule \"%s\": %s", f->path, f->line,
		    log_escape(q, sizeof(q), text, n), why);
	return -EINVAL;
}

static int
take_id(struct lf *f, uint32_t *ret_id)
{
	if (*f->next_id == 0 || *f->next_id == UINT32_MAX) {
		if (f->err_len)
			snprintf(f->err, f->err_len, "%s:%u: too many rules", f->path, f->line);
		return -EOVERFLOW;
	}
	*ret_id = (*f->next_id)++;
	return 0;
}

static int
add_name(
    struct lf *f, int kind, const char *name, size_t name_len, const char *text, size_t text_len)
{
	uint32_t id;
	int r;

	r = take_id(f, &id);
	if (r < 0)
		return r;
	r = np_builder_add_at(
	    f->b, kind, f->action, name, name_len, text, text_len, f->origin, f->line, id);
	if (r < 0 && f->err_len)
		snprintf(f->err, f->err_len, "%s:%u: cannot add rule: %s", f->path, f->line,
		    strerror(-r));
	return r;
}

/* A name after a hosts-file address. */
static int
hosts_name(struct lf *f, const char *tok, size_t n)
{
	char name[RULES_NAME_MAX + 1];
	const char *why;
	int len;

	len = rules_name_check(tok, n, name, &why);
	if (len < 0)
		return fail(f, tok, n, why);
	if (hosts_header_name(name, (size_t)len))
		return 0;
	if (all_numeric(name, (size_t)len))
		return fail(f, tok, n, "an address where a hosts-file line needs a name");
	return add_name(f, RULE_NAME, name, (size_t)len, tok, n);
}

/*
 * rs grows by what the rest of the file could hold at most, once: a list of
 * a million IPs is not copied over and over as it grows.
 */
static int
push_rule(struct lf *f, struct cgfw_rule *rule)
{
	int r = 0;

	if (f->rs->n == f->rs->cap)
		r = rules_reserve(f->rs, f->n_lines - f->line + 1);
	if (r == 0)
		r = rules_push(f->rs, rule);
	if (r < 0 && f->err_len)
		snprintf(f->err, f->err_len, "%s:%u: out of memory", f->path, f->line);
	return r;
}

/* IPs, CIDRs, ports and URLs: rare in lists, so the full parser. */
static int
slow_rule(struct lf *f, const char *tok, size_t n)
{
	char buf[CGFW_RULE_MAX_LEN + 1], origin[PATH_MAX + 16], perr[CGFW_ERR_LEN + PATH_MAX];
	struct cgfw_rule rule;
	const char *why;
	uint32_t id;
	int r;

	if (n > CGFW_RULE_MAX_LEN)
		return fail(f, tok, n, "rule longer than 2048 bytes");
	if (memchr(tok, '\0', n))
		return fail(f, tok, n, "contains a NUL byte");
	memcpy(buf, tok, n);
	buf[n] = '\0';
	snprintf(origin, sizeof(origin), "%s:%u", f->path, f->line);
	r = rules_parse_one(buf, f->action, origin, &rule, perr, sizeof(perr));
	if (r < 0) {
		/* rules.c says 'invalid rule "X" in ORIGIN: why': keep the why. */
		char key[PATH_MAX + 24];

		snprintf(key, sizeof(key), " in %s: ", origin);
		why = strstr(perr, key);
		return fail(f, tok, n, why ? why + strlen(key) : perr);
	}
	r = take_id(f, &id);
	if (r < 0)
		goto out;
	rule.id = id;
	if (rules_is_name_kind(rule.kind) && !(rule.kind == RULE_URL && rule.addr)) {
		r = np_builder_add(f->b, &rule, id);
		if (r < 0) {
			if (f->err_len)
				snprintf(f->err, f->err_len, "%s:%u: cannot add rule: %s", f->path,
				    f->line, strerror(-r));
			goto out;
		}
		if (rule.kind != RULE_URL) {
			r = 0;
			goto out;
		}
	}
	/* IPs and CIDRs for the maps; URLs keep scheme, port and path here. */
	r = push_rule(f, &rule);
	if (r == 0)
		return 0;
out:
	rule_clear(&rule);
	return r;
}

/*
 * A plain IPv4 address, the bulk of IP lists: what rules_parse_one() makes
 * of it (the same inet_pton()), without its copies and printf.  Anything
 * odd goes to the slow path, which words the error.
 */
static int
ip4_rule(struct lf *f, const char *tok, size_t n)
{
	struct cgfw_rule rule = {.kind = RULE_IP4, .action = f->action, .plen = 32};
	char buf[INET_ADDRSTRLEN], digits[10];
	struct in_addr a;
	size_t n_digits = 0;
	int r;

	if (n >= sizeof(buf))
		return slow_rule(f, tok, n);
	memcpy(buf, tok, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return slow_rule(f, tok, n);
	rule.addr = a.s_addr;
	for (uint32_t l = f->line; l || !n_digits; l /= 10)
		digits[n_digits++] = (char)('0' + l % 10);
	rule.text = strndup(tok, n);
	rule.origin = malloc(f->path_len + 1 + n_digits + 1);
	if (!rule.text || !rule.origin) {
		r = -ENOMEM;
		if (f->err_len)
			snprintf(f->err, f->err_len, "%s:%u: out of memory", f->path, f->line);
		goto out;
	}
	memcpy(rule.origin, f->path, f->path_len);
	rule.origin[f->path_len] = ':';
	for (size_t i = 0; i < n_digits; i++)
		rule.origin[f->path_len + 1 + i] = digits[n_digits - 1 - i];
	rule.origin[f->path_len + 1 + n_digits] = '\0';
	r = take_id(f, &rule.id);
	if (r == 0)
		r = push_rule(f, &rule);
	if (r == 0)
		return 0;
out:
	rule_clear(&rule);
	return r;
}

/* One token alone on its line. */
static int
one_rule(struct lf *f, const char *tok, size_t n)
{
	char name[RULES_NAME_MAX + 1];
	const char *p = tok, *why;
	size_t pn = n;
	int kind = RULE_NAME, len;

	if (memchr(tok, ':', n) || memchr(tok, '/', n) || memchr(tok, '[', n))
		return slow_rule(f, tok, n);
	if (tok[0] == '=') {
		kind = RULE_EXACT_NAME;
		p++;
		pn--;
	} else if (n >= 2 && tok[0] == '*' && tok[1] == '.') {
		kind = RULE_WILDCARD;
		p += 2;
		pn -= 2;
	} else if (all_numeric(tok, n)) {
		return ip4_rule(f, tok, n);
	}
	len = rules_name_check(p, pn, name, &why);
	if (len < 0)
		return fail(f, tok, n, why);
	return add_name(f, kind, name, (size_t)len, tok, n);
}

static int
one_line(struct lf *f, const char *s, const char *end)
{
	const char *hash = memchr(s, '#', (size_t)(end - s)), *tok, *p;
	size_t n;
	int r;

	if (hash)
		end = hash;
	while (s < end && is_space(*s))
		s++;
	while (end > s && is_space(end[-1]))
		end--;
	if (s == end)
		return 0;
	for (p = s; p < end && !is_space(*p); p++)
		;
	if (p == end)
		return one_rule(f, s, (size_t)(end - s));

	if (!hosts_addr(s, (size_t)(p - s)))
		return fail(f, s, (size_t)(end - s),
		    all_numeric(s, (size_t)(p - s)) || memchr(s, ':', (size_t)(p - s))
		        ? "hosts-file lines start with 0.0.0.0, 127.0.0.1, :: or ::1"
		        : "one rule per line");
	while (p < end) {
		while (p < end && is_space(*p))
			p++;
		for (tok = p; p < end && !is_space(*p); p++)
			;
		n = (size_t)(p - tok);
		if (n == 0)
			break;
		r = hosts_name(f, tok, n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Tab, and CR only as part of a line end ("\r\n", or at the very end). */
static inline int
ctl_ok(const char *s, size_t i, size_t n)
{
	return s[i] == '\t' || s[i] == '\n' || (s[i] == '\r' && (i + 1 == n || s[i + 1] == '\n'));
}

static inline int
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * The first control character ctl_ok() does not allow, or n; *ret_lf: the
 * line feeds before it.  16 bytes at a time: a block with none but tabs and
 * line feeds (nearly every block of a list) is passed with a few vector
 * instructions, and only the others are looked at byte by byte.
 */
static size_t
scan_text(const char *s, size_t n, size_t *ret_lf)
{
	size_t i = 0, lf = 0;

#ifdef __SSE2__
	const __m128i lim = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f),
	              tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n'),
	              zero = _mm_setzero_si128();

	/*
	 * Line feeds are counted per byte lane (a compare is 0 or -1, so
	 * subtracting it adds one), folded into lf every 255 blocks, before a
	 * lane can wrap: no popcount, which x86-64's baseline lacks.
	 */
	while (i + 16 <= n) {
		__m128i acc = zero;
		size_t stop = i + 255 * 16 <= n ? i + 255 * 16 : n;

		for (; i + 16 <= stop; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
			/* c <= 0x1f (unsigned) or c == 0x7f, but not tab or LF */
			__m128i ctl = _mm_or_si128(
			    _mm_cmpeq_epi8(_mm_min_epu8(v, lim), v), _mm_cmpeq_epi8(v, del));
			__m128i is_nl = _mm_cmpeq_epi8(v, nl);
			__m128i ok = _mm_or_si128(_mm_cmpeq_epi8(v, tab), is_nl);
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_andnot_si128(ok, ctl));

			/* A CR (of a CRLF) or worse: each one looked at. */
			for (; m; m &= m - 1) {
				size_t at = i + (size_t)__builtin_ctz(m);

				if (!ctl_ok(s, at, n)) {
					__m128i sum = _mm_sad_epu8(acc, zero);

					lf += (size_t)_mm_cvtsi128_si32(sum) +
					      (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
					for (size_t k = i; k < at; k++)
						lf += s[k] == '\n';
					*ret_lf = lf;
					return at;
				}
			}
			acc = _mm_sub_epi8(acc, is_nl);
		}
		{
			__m128i sum = _mm_sad_epu8(acc, zero);

			lf += (size_t)_mm_cvtsi128_si32(sum) +
			      (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
		}
	}
#endif
	for (; i < n; i++) {
		if (is_ctl((unsigned char)s[i]) && !ctl_ok(s, i, n))
			break;
		lf += s[i] == '\n';
	}
	*ret_lf = lf;
	return i;
}

/*
 * listfile_check_text(), and the line feeds in s (when it returns 0): in
 * all, and in *ret_lf_split those before split (0, n, or just past a line
 * feed: where parse_split() cuts).
 */
static int
check_text(const char *path, const char *s, size_t n, size_t split, char *err, size_t err_len,
    size_t *ret_lf, size_t *ret_lf_split)
{
	const char *line, *eol;
	char q[LOG_ESC_LEN];
	size_t n_lf, lf2, i = scan_text(s, split, &n_lf), n_line;

	*ret_lf_split = n_lf;
	if (i == split) {
		i = split + scan_text(s + split, n - split, &lf2);
		n_lf += lf2;
	}
	n_line = n_lf + 1;
	*ret_lf = n_lf;
	if (i == n)
		return 0;
	line = s + i;
	while (line > s && line[-1] != '\n')
		line--;
	eol = memchr(s + i, '\n', n - i);
	if (!eol)
		eol = s + n;
	snprintf(err, err_len,
	    "%s:%zu: control character \\x%02x in \"%s\": cgfw reads text only (tabs and line "
	    "ends are the only control characters allowed)",
	    path, n_line, (unsigned char)s[i],
	    log_escape(q, sizeof(q), line, (size_t)(eol - line)));
	return -EINVAL;
}

int
listfile_check_text(const char *path, const char *s, size_t n, char *err, size_t err_len)
{
	size_t n_lf, n_lf_split;

	return check_text(path, s, n, 0, err, err_len, &n_lf, &n_lf_split);
}

/* Pipes and the like: read it all, up to LISTFILE_MAX_BYTES. */
static int
read_all(int fd, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap), *nb;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap >= (size_t)LISTFILE_MAX_BYTES) {
				free(buf);
				return -EFBIG;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			free(buf);
			return (int)n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* The lines in [p, end), f->line the one before p. */
static int
parse_range(struct lf *f, const char *p, const char *end)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		int r;

		if (f->line == UINT32_MAX) {
			snprintf(f->err, f->err_len, "%s: too many lines", f->path);
			return -EFBIG;
		}
		f->line++;
		r = one_line(f, p, eol);
		if (r < 0)
			return r;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

/* The second half of a big list, on the spare thread, into a builder and ruleset of its own. */
struct half {
	struct lf f;
	struct np_builder *b;
	struct cgfw_ruleset rs;
	uint32_t next_id;
	const char *p, *end;
	char err[256];
	int r;
};

static void
half_parse(void *arg)
{
	struct half *h = arg;

	h->r = parse_range(&h->f, h->p, h->end);
}

/*
 * Lists this big are parsed in two halves at once when the spare thread is
 * there (lib/par.h): the second into a builder of its own, from the line and
 * with ids as if it came after the first, then appended.  Whatever the
 * second half does not take cleanly (an error, anything odd) is parsed
 * again here after the first, so errors and ids are those of one pass.
 */
#define PAR_MIN_BYTES (1u << 20)

/* Where a list this big is cut in two: just past the line feed after its middle, or NULL. */
static const char *
split_point(const char *p, const char *end)
{
	const char *mid;

	if (!p || (size_t)(end - p) < PAR_MIN_BYTES)
		return NULL;
	mid = memchr(p + (end - p) / 2, '\n', (size_t)(end - (p + (end - p) / 2)));
	return mid && mid + 1 < end ? mid + 1 : NULL;
}

/* mid: split_point(), or NULL for one pass; lf1: the line feeds in [p, mid). */
static int
parse_split(struct lf *f, const char *p, const char *mid, size_t lf1, const char *end)
{
	struct half h = {.p = NULL};
	uint32_t id1;
	int r;

	if (!mid)
		return parse_range(f, p, end);
	h.b = np_builder_sub(f->b);
	h.f = *f;
	h.f.b = h.b;
	h.f.rs = &h.rs;
	h.f.next_id = &h.next_id;
	h.f.line = f->line + (uint32_t)lf1;
	h.f.err = h.err;
	h.f.err_len = sizeof(h.err);
	h.next_id = 1;
	h.p = mid;
	h.end = end;
	if (!h.b || lf1 >= UINT32_MAX - f->line ||
	    np_builder_reserve(h.b, f->n_lines - lf1, (size_t)(end - mid)) < 0 ||
	    np_builder_origin(h.b, f->path, &h.f.origin) < 0 || par_run(half_parse, &h) < 0) {
		np_builder_free(h.b);
		return parse_range(f, p, end);
	}
	r = parse_range(f, p, mid);
	par_wait();
	id1 = *f->next_id;
	if (r == 0 && h.r == 0 && id1 - 1 <= UINT32_MAX - 1 - h.next_id &&
	    rules_reserve(f->rs, h.rs.n) == 0 &&
	    np_builder_merge(f->b, h.b, f->origin, id1 - 1) == 0) {
		for (size_t i = 0; i < h.rs.n; i++) {
			h.rs.v[i].id += id1 - 1;
			f->rs->v[f->rs->n++] = h.rs.v[i];
		}
		h.rs.n = 0;
		*f->next_id = id1 - 1 + h.next_id;
		f->line = h.f.line;
	} else if (r == 0) {
		r = parse_range(f, mid, end);
	}
	rules_free(&h.rs);
	np_builder_free(h.b);
	return r;
}

int
listfile_load(const char *path, int action, struct np_builder *b, struct cgfw_ruleset *rs,
    uint32_t *next_id, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	r = listfile_load_fd(fd, path, action, b, rs, next_id, err, err_len);
	(void)close(fd);
	return r;
}

int
listfile_load_fd(int fd, const char *path, int action, struct np_builder *b,
    struct cgfw_ruleset *rs, uint32_t *next_id, char *err, size_t err_len)
{
	struct lf f = {.path = path,
	    .action = action,
	    .b = b,
	    .rs = rs,
	    .next_id = next_id,
	    .err = err,
	    .err_len = err_len};
	size_t n0 = rs->n, len = 0, n_lf, lf1;
	uint32_t id0 = *next_id;
	char *data = NULL;
	const char *p, *end, *mid;
	struct stat st;
	int mapped = 0, r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, err_len, "%s: cannot stat: %s", path, strerror(-r));
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		if (st.st_size > LISTFILE_MAX_BYTES) {
			r = -EFBIG;
			snprintf(
			    err, err_len, "%s: larger than %ld bytes", path, LISTFILE_MAX_BYTES);
			goto out;
		}
		len = (size_t)st.st_size;
		if (len) {
			data = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
			if (data == MAP_FAILED) {
				data = NULL;
				r = -errno;
				snprintf(err, err_len, "%s: cannot map: %s", path, strerror(-r));
				goto out;
			}
			mapped = 1;
		}
	} else {
		r = read_all(fd, &data, &len);
		if (r < 0) {
			snprintf(err, err_len, "%s: cannot read: %s", path, strerror(-r));
			goto out;
		}
	}

	p = data;
	end = data ? data + len : NULL;
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3; /* a UTF-8 byte order mark, as some editors write */
	/* One pass checks the text and counts the lines, in all and before a cut. */
	mid = split_point(p, end);
	r = check_text(
	    path, data ? data : "", len, mid ? (size_t)(mid - data) : 0, err, err_len, &n_lf, &lf1);
	if (r < 0)
		goto out;
	f.n_lines = n_lf + 1;
	f.path_len = strlen(path);
	r = np_builder_reserve(b, f.n_lines, len);
	if (r == 0)
		r = np_builder_origin(b, path, &f.origin);
	if (r < 0) {
		snprintf(err, err_len, "%s: cannot load: %s", path, strerror(-r));
		goto out;
	}
	r = parse_split(&f, p, mid, lf1, end);
	if (r < 0)
		goto out;
	r = 0;
out:
	if (r < 0) {
		while (rs->n > n0)
			rule_clear(&rs->v[--rs->n]);
		*next_id = id0;
	}
	if (mapped)
		(void)munmap(data, len);
	else
		free(data);
	return r;
}
