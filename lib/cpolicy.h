/* SPDX-License-Identifier: MIT */
/*
 * The compiled policy as the unprivileged compiler hands it to the loader: a
 * sealed memfd of fixed-size records.  The loader checks the header, the
 * seals and the size (cp_open()), never a rule's text: it copies the map
 * entries into the kernel and forwards the rules' strings to the workers.
 */
#ifndef CGFW_CPOLICY_H
#define CGFW_CPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/policy.h"
#include "lib/rules.h"

/*
 * The memfd, host byte order (it never leaves the host), each section
 * 8-aligned and at the offset its counts give (cp_layout()):
 *
 *	struct cp_hdr
 *	struct cgfw_ip4_entry [n_ip4]		the exact-IP map, as policy_compile() made it
 *	struct cgfw_lpm4_entry [n_cidr4]	the CIDR map
 *	struct cp_rule [n_rules]		the IP, CIDR and URL rules as written
 *	char pool[pool_len]			NUL-terminated strings, ends with a NUL
 */
#define CP_MAGIC     0x4c504743u /* "CGPL" */
#define CP_VERSION   1u
#define CP_MAX_RULES (1u << 24)
#define CP_MAX_POOL  (1u << 30)
#define CP_NONE      UINT32_MAX /* no string */

#define CP_F_BLOCK_UNRESOLVED 0x1
#define CP_F_FILE_ALLOW_NAMES 0x2 /* list files brought allow name rules */
#define CP_F_FILE_BLOCK_NAMES 0x4

struct cp_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t total_len;
	uint32_t mode; /* enum cgfw_mode */
	uint32_t flags;
	uint64_t n_names; /* name rules in the name policy */
	uint64_t n_dup;
	uint32_t n_ip4;
	uint32_t n_cidr4;
	uint32_t n_rules;
	uint32_t pool_len;
};

struct cp_rule {
	uint32_t id;
	uint8_t kind;   /* RULE_IP4, RULE_CIDR4 or RULE_URL */
	uint8_t action; /* CGFW_ACT_* */
	uint8_t plen;
	uint8_t pad;
	uint32_t addr; /* network order */
	uint16_t port;
	uint16_t pad2;
	uint32_t text, origin, name, scheme, path; /* pool offsets or CP_NONE */
	uint32_t reserved;                         /* 40 bytes: every record 8-aligned */
};

/* What the loader keeps: the map entries and the rules, pointing into the mapping. */
struct cp_view {
	void *base;
	size_t len;
	struct cgfw_policy pol;    /* ip4, cidr4 point into base: never policy_free() */
	struct cgfw_ruleset rules; /* v is ours, its strings are in base */
	uint32_t flags;
};

/* The rules cp_write() keeps from a ruleset: those the workers need by id. */
int cp_rule_kept(const struct cgfw_rule *r);
/*
 * Serialise pol and rs's kept rules into a sealed memfd (F_SEAL_SEAL,
 * SHRINK, GROW, WRITE): the fd, or -errno (-E2BIG past CP_MAX_RULES or
 * CP_MAX_POOL).
 */
int cp_write(const struct cgfw_policy *pol, const struct cgfw_ruleset *rs, uint64_t n_names,
    uint32_t flags, int *ret_fd);
/*
 * Check the seals, the size and the header, map the memfd read-only and
 * point ret at it: 0, -EPERM (seals missing) or -EBADMSG.  The fd may be
 * closed afterwards.
 */
int cp_open(int fd, struct cp_view *ret);
void cp_close(struct cp_view *v);
/* Both name-policy and compiled-policy memfds carry these seals. */
int cp_sealed(int fd);

#endif
