// SPDX-License-Identifier: MIT
/* Rules -> map entries.  Runs in the loader, on trusted input only. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/policy.h"

/* Keep one entry per key: a block beats an allow; otherwise the first wins. */
static void
merge(struct cgfw_policy_val *have, const struct cgfw_policy_val *v)
{
	if (have->action != CGFW_ACT_BLOCK && v->action == CGFW_ACT_BLOCK)
		*have = *v;
}

int
policy_compile(const struct cgfw_ruleset *rs, struct cgfw_policy *ret_pol)
{
	struct cgfw_policy pol = {0};
	int have_allow = 0, have_block = 0, block_names = 0;

	pol.ip4 = calloc(rs->n + 1, sizeof(*pol.ip4));
	pol.cidr4 = calloc(rs->n + 1, sizeof(*pol.cidr4));
	if (!pol.ip4 || !pol.cidr4) {
		policy_free(&pol);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct cgfw_rule *r = &rs->v[i];
		struct cgfw_policy_val v = {
		    .rule_id = r->id ? r->id : (uint32_t)i + 1, .action = r->action};
		size_t j;

		if (r->action == CGFW_ACT_ALLOW)
			have_allow = 1;
		else
			have_block = 1;

		if (r->kind == RULE_IP4) {
			struct cgfw_ip4_key k = {.addr = r->addr, .port = r->port};

			for (j = 0; j < pol.n_ip4; j++)
				if (!memcmp(&pol.ip4[j].key, &k, sizeof(k)))
					break;
			if (j < pol.n_ip4) {
				merge(&pol.ip4[j].val, &v);
				continue;
			}
			pol.ip4[pol.n_ip4].key = k;
			pol.ip4[pol.n_ip4++].val = v;
		} else if (r->kind == RULE_CIDR4) {
			struct cgfw_lpm4_key k = {.prefixlen = r->plen, .addr = r->addr};

			for (j = 0; j < pol.n_cidr4; j++)
				if (!memcmp(&pol.cidr4[j].key, &k, sizeof(k)))
					break;
			if (j < pol.n_cidr4) {
				merge(&pol.cidr4[j].val, &v);
				continue;
			}
			pol.cidr4[pol.n_cidr4].key = k;
			pol.cidr4[pol.n_cidr4++].val = v;
		} else {
			pol.n_names++;
			if (r->action == CGFW_ACT_BLOCK)
				block_names = 1;
		}
	}
	if (have_allow)
		pol.mode = CGFW_MODE_ALLOW_LIST;
	else if (have_block)
		pol.mode = CGFW_MODE_BLOCK_LIST;
	else
		pol.mode = CGFW_MODE_LOG_ONLY;
	pol.block_unresolved = pol.mode == CGFW_MODE_BLOCK_LIST && block_names;
	*ret_pol = pol;
	return 0;
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
