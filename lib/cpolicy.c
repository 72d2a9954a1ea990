// SPDX-License-Identifier: MIT
/*
 * The compiled policy's memfd (lib/cpolicy.h): written by the unprivileged
 * compiler, checked and mapped by the loader.  The check is of sizes and
 * bounds only; what the rules say is the compiler's business.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/egress.h"
#include "lib/cpolicy.h"

#define CP_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

_Static_assert(sizeof(struct cp_rule) == 40, "cp_rule records stay 8-aligned");

struct cp_layout {
	uint64_t off_ip4, off_cidr4, off_rules, off_pool, total_len;
};

static uint64_t
align8(uint64_t v)
{
	return (v + 7) & ~(uint64_t)7;
}

/* Every offset follows from the counts: nothing in the file says where a section is. */
static void
cp_layout(const struct cp_hdr *h, struct cp_layout *ret)
{
	ret->off_ip4 = align8(sizeof(*h));
	ret->off_cidr4 = align8(ret->off_ip4 + (uint64_t)h->n_ip4 * sizeof(struct cgfw_ip4_entry));
	ret->off_rules =
	    align8(ret->off_cidr4 + (uint64_t)h->n_cidr4 * sizeof(struct cgfw_lpm4_entry));
	ret->off_pool = align8(ret->off_rules + (uint64_t)h->n_rules * sizeof(struct cp_rule));
	ret->total_len = align8(ret->off_pool + h->pool_len);
}

int
cp_rule_kept(const struct cgfw_rule *r)
{
	return r->kind == RULE_IP4 || r->kind == RULE_CIDR4 || r->kind == RULE_URL;
}

static size_t
str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static uint32_t
pool_put(char *pool, uint32_t *len, const char *s)
{
	uint32_t off = *len;
	size_t n = str_size(s);

	if (!s)
		return CP_NONE;
	memcpy(pool + off, s, n);
	*len += (uint32_t)n;
	return off;
}

int
cp_write(const struct cgfw_policy *pol, const struct cgfw_ruleset *rs, uint64_t n_names,
    uint32_t flags, int *ret_fd)
{
	struct cp_hdr h = {.magic = CP_MAGIC, .version = CP_VERSION};
	struct cp_layout lo;
	uint64_t pool = 0, n_rules = 0;
	uint8_t *m = MAP_FAILED;
	struct cp_rule *rec;
	uint32_t plen = 0;
	int fd = -1, r;

	for (size_t i = 0; i < rs->n; i++) {
		const struct cgfw_rule *rl = &rs->v[i];

		if (!cp_rule_kept(rl))
			continue;
		n_rules++;
		pool += str_size(rl->text) + str_size(rl->origin) + str_size(rl->name) +
		        str_size(rl->scheme) + str_size(rl->path);
	}
	if (n_rules > CP_MAX_RULES || pool > CP_MAX_POOL || pol->n_ip4 > CGFW_POLICY_MAP_MAX ||
	    pol->n_cidr4 > CGFW_POLICY_MAP_MAX)
		return -E2BIG;
	h.mode = (uint32_t)pol->mode;
	h.flags = flags | (pol->block_unresolved ? CP_F_BLOCK_UNRESOLVED : 0);
	h.n_names = n_names;
	h.n_dup = pol->n_dup;
	h.n_ip4 = (uint32_t)pol->n_ip4;
	h.n_cidr4 = (uint32_t)pol->n_cidr4;
	h.n_rules = (uint32_t)n_rules;
	h.pool_len = (uint32_t)pool;
	cp_layout(&h, &lo);
	h.total_len = lo.total_len;

	fd = memfd_create("cgfw-policy", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)h.total_len) < 0) {
		r = -errno;
		goto out;
	}
	m = mmap(NULL, h.total_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	memcpy(m, &h, sizeof(h));
	if (pol->n_ip4)
		memcpy(m + lo.off_ip4, pol->ip4, pol->n_ip4 * sizeof(*pol->ip4));
	if (pol->n_cidr4)
		memcpy(m + lo.off_cidr4, pol->cidr4, pol->n_cidr4 * sizeof(*pol->cidr4));
	rec = (struct cp_rule *)(m + lo.off_rules);
	for (size_t i = 0; i < rs->n; i++) {
		const struct cgfw_rule *rl = &rs->v[i];
		char *pp = (char *)m + lo.off_pool;

		if (!cp_rule_kept(rl))
			continue;
		*rec = (struct cp_rule){.id = rl->id ? rl->id : (uint32_t)i + 1,
		    .kind = (uint8_t)rl->kind,
		    .action = (uint8_t)rl->action,
		    .plen = rl->plen,
		    .addr = rl->addr,
		    .port = rl->port};
		rec->text = pool_put(pp, &plen, rl->text);
		rec->origin = pool_put(pp, &plen, rl->origin);
		rec->name = pool_put(pp, &plen, rl->name);
		rec->scheme = pool_put(pp, &plen, rl->scheme);
		rec->path = pool_put(pp, &plen, rl->path);
		rec++;
	}
	/* A writable shared mapping would keep F_SEAL_WRITE from taking. */
	(void)munmap(m, h.total_len);
	m = MAP_FAILED;
	if (fcntl(fd, F_ADD_SEALS, CP_SEALS) < 0) {
		r = -errno;
		goto out;
	}
	*ret_fd = fd;
	return 0;
out:
	if (m != MAP_FAILED)
		(void)munmap(m, h.total_len);
	(void)close(fd);
	return r;
}

int
cp_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return -errno;
	return (seals & CP_SEALS) == CP_SEALS ? 0 : -EPERM;
}

static int
str_ok(uint32_t off, uint32_t pool_len, int required)
{
	return off == CP_NONE ? !required : off < pool_len;
}

int
cp_open(int fd, struct cp_view *ret)
{
	struct cp_view v = {0};
	struct cp_layout lo;
	struct cp_hdr h;
	struct stat st;
	const char *pool;
	int r;

	r = cp_sealed(fd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EBADMSG;
	if (h.magic != CP_MAGIC || h.version != CP_VERSION || h.n_ip4 > CGFW_POLICY_MAP_MAX ||
	    h.n_cidr4 > CGFW_POLICY_MAP_MAX || h.n_rules > CP_MAX_RULES ||
	    h.pool_len > CP_MAX_POOL || h.n_names > UINT32_MAX || h.mode < CGFW_MODE_LOG_ONLY ||
	    h.mode > CGFW_MODE_BLOCK_LIST)
		return -EBADMSG;
	cp_layout(&h, &lo);
	if (h.total_len != lo.total_len || (uint64_t)st.st_size != lo.total_len)
		return -EBADMSG;
	v.len = lo.total_len;
	v.base = mmap(NULL, v.len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (v.base == MAP_FAILED)
		return -errno;
	pool = (const char *)v.base + lo.off_pool;
	if (h.pool_len && pool[h.pool_len - 1] != '\0')
		goto bad;
	v.rules.v = calloc(h.n_rules ? h.n_rules : 1, sizeof(*v.rules.v));
	if (!v.rules.v) {
		(void)munmap(v.base, v.len);
		return -ENOMEM;
	}
	/* Fixed-size records: each string offset inside the pool, which ends with a NUL. */
	for (uint32_t i = 0; i < h.n_rules; i++) {
		const struct cp_rule *c =
		    (const struct cp_rule *)((const char *)v.base + lo.off_rules) + i;
		struct cgfw_rule *rl = &v.rules.v[i];
		int url = c->kind == RULE_URL;

		if ((c->kind != RULE_IP4 && c->kind != RULE_CIDR4 && !url) ||
		    (c->action != CGFW_ACT_ALLOW && c->action != CGFW_ACT_BLOCK) || c->plen > 32 ||
		    !str_ok(c->text, h.pool_len, 1) || !str_ok(c->origin, h.pool_len, 1) ||
		    !str_ok(c->name, h.pool_len, 0) || !str_ok(c->scheme, h.pool_len, url) ||
		    !str_ok(c->path, h.pool_len, url))
			goto bad;
		rl->id = c->id;
		rl->kind = (enum cgfw_rule_kind)c->kind;
		rl->action = c->action;
		rl->plen = c->plen;
		rl->addr = c->addr;
		rl->port = c->port;
		rl->text = (char *)pool + c->text;
		rl->origin = (char *)pool + c->origin;
		rl->name = c->name == CP_NONE ? NULL : (char *)pool + c->name;
		rl->scheme = c->scheme == CP_NONE ? NULL : (char *)pool + c->scheme;
		rl->path = c->path == CP_NONE ? NULL : (char *)pool + c->path;
	}
	v.rules.n = v.rules.cap = h.n_rules;
	v.pol.mode = (int)h.mode;
	v.pol.block_unresolved = !!(h.flags & CP_F_BLOCK_UNRESOLVED);
	v.pol.n_names = (size_t)h.n_names;
	v.pol.n_dup = (size_t)h.n_dup;
	v.pol.ip4 = (struct cgfw_ip4_entry *)((char *)v.base + lo.off_ip4);
	v.pol.n_ip4 = h.n_ip4;
	v.pol.cidr4 = (struct cgfw_lpm4_entry *)((char *)v.base + lo.off_cidr4);
	v.pol.n_cidr4 = h.n_cidr4;
	v.flags = h.flags;
	*ret = v;
	return 0;
bad:
	free(v.rules.v);
	(void)munmap(v.base, v.len);
	return -EBADMSG;
}

void
cp_close(struct cp_view *v)
{
	free(v->rules.v);
	if (v->base && v->base != MAP_FAILED)
		(void)munmap(v->base, v->len);
	memset(v, 0, sizeof(*v));
}
