/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the BPF programs (bpf/egress.bpf.c) and userspace: map keys
 * and values, the ring-buffer event record and its enums.  Only __u* types, so
 * both sides agree on layout.
 */
#ifndef CGFW_EGRESS_H
#define CGFW_EGRESS_H

#include <linux/types.h>

#include "cgfw_defs.h"

#define CGFW_ALLOW_V4_MAX   65536
#define CGFW_CIDR_V4_MAX    65536
#define CGFW_EVENTS_BYTES   (1 << 24) /* 16 MiB: ~190k events of burst */
#define CGFW_LEARNED_V4_MAX 65536
#define CGFW_PEERS_MAX      16384
#define CGFW_EXEMPT_MAX     4096 /* workers' cgroups of every instance on the machine */

enum cgfw_mode {
	CGFW_MODE_LOG_ONLY = 1,
	CGFW_MODE_ALLOW_LIST = 2,
	CGFW_MODE_BLOCK_LIST = 3,
};

enum cgfw_action {
	CGFW_ACT_ALLOW = 1,
	CGFW_ACT_BLOCK = 2,
};

/* Which hook decided (bpf/cgfw_defs.h). */
enum cgfw_hook {
	CGFW_HOOK_NONE = 0,
#define CGFW_HOOK_ENUM(name, hook, blocked_at, doc) CGFW_HOOK_##name,
	CGFW_HOOKS(CGFW_HOOK_ENUM)
#undef CGFW_HOOK_ENUM
	    CGFW_HOOK_MAX,
};

enum cgfw_verdict {
	CGFW_V_ALLOW = 1,
	CGFW_V_BLOCK = 2,
};

/* Why (bpf/cgfw_defs.h): userspace turns these into the `because` and `ruleSource` fields. */
enum cgfw_reason {
	CGFW_R_NONE = 0,
#define CGFW_REASON_ENUM(name, because, doc) CGFW_R_##name,
	CGFW_REASONS(CGFW_REASON_ENUM)
#undef CGFW_REASON_ENUM
	    CGFW_R_MAX,
};

/* Exact IPv4 (+ optional port) policy entry: the hash map cgfw_allow_v4. */
struct cgfw_ip4_key {
	__u32 addr; /* network byte order */
	__u16 port; /* host byte order, 0 = any port */
	__u16 pad;
};

/* LPM trie key of cgfw_cidr_v4. */
struct cgfw_lpm4_key {
	__u32 prefixlen;
	__u32 addr; /* network byte order */
};

struct cgfw_policy_val {
	__u64 expires_ns; /* bpf_ktime_get_ns() deadline, 0 = never */
	__u32 rule_id;    /* 1-based index into the compiled rule table */
	__u8 action;      /* enum cgfw_action */
	__u8 pad[3];
};

/*
 * An IPv4 address that cgfw-dnsproxy resolved for an allowed name: the LRU
 * map cgfw_learned_v4, keyed by the address (network order).
 */
struct cgfw_learned {
	__u64 expires_ns; /* bpf_ktime_get_ns() deadline */
	__u32 rule_id;    /* the name rule that admitted it, 0 = none (block/log mode) */
	__u32 flags;      /* CGFW_LEARNED_* */
};

#define CGFW_LEARNED_INTERCEPT 0x1 /* the host has URL rules: :80 goes to cgfw-httpproxy */
#define CGFW_LEARNED_URL_ONLY  0x2 /* admitted by URL rules only: no other port */

/*
 * Who sent a packet to a proxy: filled at egress (which sees the source port)
 * from the socket's owner, read by the proxy for the client's address and
 * port.  The LRU map cgfw_peers.
 */
struct cgfw_peer_key {
	__u32 addr; /* client source address, network order */
	__u16 port; /* client source port, host order */
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 pad;
};

struct cgfw_peer {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 pid;
	__u32 uid;
	__u32 orig_daddr; /* where the client meant to go, network order */
	__u16 orig_dport; /* host order */
	__u16 pad;
	char comm[16];
};

/*
 * Per-socket storage (cgfw_sock): who owns the socket, captured in process
 * context by the sock_addr hooks, and what they were admitted to.
 */
struct cgfw_sock_owner {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 pid;
	__u32 uid;
	__u32 daddr;   /* last admitted IPv4 destination, network order */
	__u16 dport;   /* host order */
	__u8 admitted; /* daddr:dport was admitted by a sock_addr hook */
	__u8 reported; /* an egress drop was already reported for this socket */
	char comm[16];
	__u32 orig_daddr; /* before a redirect to a proxy, network order */
	__u16 orig_dport; /* host order */
	__u8 redirected;  /* orig_* are set */
	__u8 pad;
	__u32 gen; /* the policy generation that admitted daddr:dport */
};

#define CGFW_EV_OWNER_KNOWN 0x1
#define CGFW_EV_SLOT1       0x2 /* decided by the policy of slot 1 (rule_id is that slot's) */

/*
 * The policy in force (cgfw_gen, one __u32): generation g uses the maps of
 * slot g & 1 (cgfw_allow_v4/cgfw_cidr_v4/cgfw_learned_v4 for slot 0,
 * cgfw_allow_b/cgfw_cidr_b/cgfw_learned_b for slot 1) and cgfw_gen_cfg[g & 1].
 * A reload fills the other slot, then stores g + 1: one 4-byte write flips
 * every map at once (docs/architecture.md, "Reload").
 */
struct cgfw_gen_cfg {
	__u8 mode;             /* enum cgfw_mode */
	__u8 block_unresolved; /* block-list mode with name rules */
	__u8 emit_allowed;     /* --debug, or log-only mode */
	__u8 pad;
};

struct cgfw_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u64 cgroup_id;
	__u64 cookie; /* socket cookie */
	__u32 tgid;
	__u32 pid;
	__u32 uid;
	__u32 rule_id;
	__u32 daddr[4]; /* IPv4 in daddr[0]; network order */
	__u16 dport;    /* host order */
	__u8 family;    /* AF_INET / AF_INET6 */
	__u8 proto;     /* IPPROTO_* */
	__u8 hook;      /* enum cgfw_hook */
	__u8 verdict;   /* enum cgfw_verdict */
	__u8 reason;    /* enum cgfw_reason */
	__u8 flags;     /* CGFW_EV_* */
	char comm[16];
};

/* Indexes of the per-CPU counter array cgfw_stats. */
enum cgfw_stat {
	CGFW_STAT_EVENTS_LOST = 0,
	CGFW_STAT_CONNECT_BLOCKED,
	CGFW_STAT_EGRESS_DROPPED,
	CGFW_STAT_MAX,
};

#endif
