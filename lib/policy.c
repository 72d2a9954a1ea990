// SPDX-License-Identifier: MIT
/* Rules -> map entries.  Runs in the loader's unprivileged policy compiler (loader/compile.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/policy.h"

/*
 * A map entry in one integer, ordered as the tie rules want: the key, then a
 * block before an allow (bit 0).  Rules sorted stably on it put each key's
 * winner first: a block if any, else the first in the ruleset.  The entry is
 * rebuilt from it, so the sorted rules are never looked up again.
 */
struct sort_item {
	uint64_t key;
	uint32_t rule_id;
};

static uint64_t
key_ip4(const struct cgfw_rule *r)
{
	return (uint64_t)ntohl(r->addr) << 17 | (uint64_t)r->port << 1 |
	       (r->action == CGFW_ACT_BLOCK ? 0 : 1);
}

static uint64_t
key_cidr4(const struct cgfw_rule *r)
{
	return (uint64_t)r->plen << 33 | (uint64_t)ntohl(r->addr) << 1 |
	       (r->action == CGFW_ACT_BLOCK ? 0 : 1);
}

/* LSD radix sort on the low n_bytes bytes of key: stable, O(n), tmp as large as v. */
static struct sort_item *
radix_sort(struct sort_item *v, struct sort_item *tmp, size_t n, int n_bytes)
{
	for (int b = 0; b < n_bytes; b++) {
		size_t count[257] = {0};
		int shift = 8 * b;
		struct sort_item *t;

		for (size_t i = 0; i < n; i++)
			count[((v[i].key >> shift) & 0xff) + 1]++;
		if (n && count[((v[0].key >> shift) & 0xff) + 1] == n)
			continue; /* one value in this byte: nothing moves */
		for (int i = 0; i < 256; i++)
			count[i + 1] += count[i];
		for (size_t i = 0; i < n; i++)
			tmp[count[(v[i].key >> shift) & 0xff]++] = v[i];
		t = v;
		v = tmp;
		tmp = t;
	}
	return v;
}

int
policy_compile(const struct cgfw_ruleset *rs, struct cgfw_policy *ret_pol)
{
	struct cgfw_policy pol = {0};
	struct sort_item *ip4, *lpm4, *tmp, *v;
	size_t n_ip4 = 0, n_lpm4 = 0;
	int have_allow = 0, have_block = 0, block_names = 0, r = -ENOMEM;

	/* Sized for the worst case: untouched pages cost nothing. */
	ip4 = calloc(rs->n + 1, sizeof(*ip4));
	lpm4 = calloc(rs->n + 1, sizeof(*lpm4));
	tmp = calloc(rs->n + 1, sizeof(*tmp));
	pol.ip4 = calloc(rs->n + 1, sizeof(*pol.ip4));
	pol.cidr4 = calloc(rs->n + 1, sizeof(*pol.cidr4));
	if (!ip4 || !lpm4 || !tmp || !pol.ip4 || !pol.cidr4)
		goto out;
	for (size_t i = 0; i < rs->n; i++) {
		const struct cgfw_rule *rl = &rs->v[i];
		uint32_t id = rl->id ? rl->id : (uint32_t)i + 1;

		if (rl->action == CGFW_ACT_ALLOW)
			have_allow = 1;
		else
			have_block = 1;
		if (rl->kind == RULE_IP4) {
			ip4[n_ip4].key = key_ip4(rl);
			ip4[n_ip4++].rule_id = id;
		} else if (rl->kind == RULE_CIDR4) {
			lpm4[n_lpm4].key = key_cidr4(rl);
			lpm4[n_lpm4++].rule_id = id;
		} else {
			pol.n_names++;
			if (rl->action == CGFW_ACT_BLOCK)
				block_names = 1;
		}
	}
	/* Each key's winner comes first: keep it, drop the rest. */
	v = radix_sort(ip4, tmp, n_ip4, 7);
	for (size_t i = 0; i < n_ip4; i++) {
		struct cgfw_ip4_entry *e = &pol.ip4[pol.n_ip4];

		if (i && v[i].key >> 1 == v[i - 1].key >> 1)
			continue;
		e->key.addr = htonl((uint32_t)(v[i].key >> 17));
		e->key.port = (uint16_t)(v[i].key >> 1);
		e->val.rule_id = v[i].rule_id;
		e->val.action = v[i].key & 1 ? CGFW_ACT_ALLOW : CGFW_ACT_BLOCK;
		pol.n_ip4++;
	}
	v = radix_sort(lpm4, tmp, n_lpm4, 5);
	for (size_t i = 0; i < n_lpm4; i++) {
		struct cgfw_lpm4_entry *e = &pol.cidr4[pol.n_cidr4];

		if (i && v[i].key >> 1 == v[i - 1].key >> 1)
			continue;
		e->key.prefixlen = (uint32_t)(v[i].key >> 33);
		e->key.addr = htonl((uint32_t)(v[i].key >> 1));
		e->val.rule_id = v[i].rule_id;
		e->val.action = v[i].key & 1 ? CGFW_ACT_ALLOW : CGFW_ACT_BLOCK;
		pol.n_cidr4++;
	}
	pol.n_dup = n_ip4 - pol.n_ip4 + n_lpm4 - pol.n_cidr4;
	if (have_allow)
		pol.mode = CGFW_MODE_ALLOW_LIST;
	else if (have_block)
		pol.mode = CGFW_MODE_BLOCK_LIST;
	else
		pol.mode = CGFW_MODE_LOG_ONLY;
	pol.block_unresolved = pol.mode == CGFW_MODE_BLOCK_LIST && block_names;
	*ret_pol = pol;
	r = 0;
out:
	free(ip4);
	free(lpm4);
	free(tmp);
	if (r < 0)
		policy_free(&pol);
	return r;
}

void
policy_free(struct cgfw_policy *pol)
{
	free(pol->ip4);
	free(pol->cidr4);
	memset(pol, 0, sizeof(*pol));
}

static int
hit(const struct cgfw_policy_val *v, int *ret_reason, uint32_t *ret_rule_id)
{
	*ret_rule_id = v->rule_id;
	*ret_reason = v->action == CGFW_ACT_BLOCK ? CGFW_R_BLOCK_RULE : CGFW_R_ALLOW_RULE;
	return v->action == CGFW_ACT_BLOCK ? CGFW_V_BLOCK : CGFW_V_ALLOW;
}

int
policy_lookup4(const struct cgfw_policy *pol, uint32_t addr, uint16_t port, int *ret_reason,
    uint32_t *ret_rule_id)
{
	const struct cgfw_lpm4_entry *best = NULL;

	*ret_rule_id = 0;
	if ((ntohl(addr) >> 24) == 127) {
		*ret_reason = CGFW_R_LOOPBACK;
		return CGFW_V_ALLOW;
	}
	for (int pass = 0; pass < 2; pass++) {
		uint16_t want = pass == 0 ? port : 0;

		if (pass == 0 && port == 0)
			continue;
		for (size_t i = 0; i < pol->n_ip4; i++)
			if (pol->ip4[i].key.addr == addr && pol->ip4[i].key.port == want)
				return hit(&pol->ip4[i].val, ret_reason, ret_rule_id);
	}
	for (size_t i = 0; i < pol->n_cidr4; i++) {
		const struct cgfw_lpm4_entry *e = &pol->cidr4[i];
		uint32_t plen = e->key.prefixlen;
		uint32_t mask = plen ? htonl(~0u << (32 - plen)) : 0;

		if ((addr & mask) == e->key.addr && (!best || plen > best->key.prefixlen))
			best = e;
	}
	if (best)
		return hit(&best->val, ret_reason, ret_rule_id);
	switch (pol->mode) {
	case CGFW_MODE_LOG_ONLY:
		*ret_reason = CGFW_R_LOG_ONLY;
		return CGFW_V_ALLOW;
	case CGFW_MODE_BLOCK_LIST:
		*ret_reason = pol->block_unresolved ? CGFW_R_NOT_RESOLVED : CGFW_R_NOT_BLOCKED;
		return pol->block_unresolved ? CGFW_V_BLOCK : CGFW_V_ALLOW;
	default:
		*ret_reason = CGFW_R_NOT_ALLOWED;
		return CGFW_V_BLOCK;
	}
}
