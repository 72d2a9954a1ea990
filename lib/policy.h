/* SPDX-License-Identifier: MIT */
/*
 * The compiled policy: the mode and the entries of the IPv4 maps, with ties
 * resolved (block wins) before anything reaches the kernel.  policy_lookup4()
 * is the userspace twin of decide4() in bpf/egress.bpf.c.
 */
#ifndef CGFW_POLICY_H
#define CGFW_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/egress.h"
#include "lib/rules.h"

struct cgfw_ip4_entry {
	struct cgfw_ip4_key key;
	struct cgfw_policy_val val;
};

struct cgfw_lpm4_entry {
	struct cgfw_lpm4_key key;
	struct cgfw_policy_val val;
};

/*
 * The policy maps are sized from the input: the defaults of bpf/egress.h
 * (CGFW_ALLOW_V4_MAX, CGFW_CIDR_V4_MAX) or the number of entries, whichever
 * is larger, up to this many entries per map (about 100 MiB of kernel memory
 * for a full exact-IP map).  More is refused before anything is loaded.
 */
#define CGFW_POLICY_MAP_MAX (1u << 20)

struct cgfw_policy {
	int mode;                   /* enum cgfw_mode */
	int block_unresolved;       /* block-list mode with name rules */
	size_t n_names;             /* name/URL rules: enforced by the proxies */
	struct cgfw_ip4_entry *ip4; /* sorted by key, one per key */
	size_t n_ip4;
	struct cgfw_lpm4_entry *cidr4; /* sorted by key, one per key */
	size_t n_cidr4;
	size_t n_dup; /* IP and CIDR rules merged into another on the same key */
};

/*
 * Rule ids in the maps are r->id, or 1 + the index in rs when r->id is 0.
 * Rules on one key (address and port, or prefix) become one entry: a block
 * beats an allow, otherwise the first in rs wins.  A radix sort and one pass:
 * O(n), about 100 ms for a million rules.
 */
int policy_compile(const struct cgfw_ruleset *rs, struct cgfw_policy *ret_pol);
void policy_free(struct cgfw_policy *pol);
/* Returns the verdict (enum cgfw_verdict) and the reason/rule as BPF would. */
int policy_lookup4(const struct cgfw_policy *pol, uint32_t addr, uint16_t port, int *ret_reason,
    uint32_t *ret_rule_id);

#endif
