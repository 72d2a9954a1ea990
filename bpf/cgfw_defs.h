/* SPDX-License-Identifier: MIT */
/*
 * The one source of what BPF and userspace must agree on by name, as X-macro
 * tables: why a verdict was given (the reasons, their JSON `because` and the
 * words docs/events.md gives them), which hook gave it, and the maps a worker
 * is handed (lib/bpfmap.c checks each fd against its row; bpf/egress.bpf.c
 * and bpf/exec.bpf.c define the maps from the same rows).  Plain macros, no
 * types: egress.h and exec.h expand them into enums, lib/bpfmap.c into specs,
 * monitor/events.c into strings and docs/events.md's tables.
 */
#ifndef CGFW_DEFS_H
#define CGFW_DEFS_H

/*
 * X(NAME, because, doc): enum cgfw_reason, numbered from 1 in this order.
 * The two rule reasons' `because` is a prefix: the monitor appends the
 * rule's kind (IP, CIDR, Domain, ...) and takes Allow or Block from the
 * rule's action.
 */
#define CGFW_REASONS(X)                                                                            \
	X(LOOPBACK, "Loopback", "127.0.0.0/8 or ::1, always allowed (written with `--debug`)")     \
	X(ALLOW_RULE, "MatchedAllowList",                                                          \
	    "an allow rule matched: `MatchedAllowListIP`, `MatchedAllowListCIDR`")                 \
	X(BLOCK_RULE, "MatchedBlockList",                                                          \
	    "a block rule matched: `MatchedBlockListIP`, `MatchedBlockListCIDR`")                  \
	X(NOT_ALLOWED, "IPNotAllowed", "allow-list mode: no rule matched")                         \
	X(NOT_BLOCKED, "NotInBlockList", "block-list mode: no rule matched (and no name rules)")   \
	X(NOT_RESOLVED, "IPNotResolvedForAllowedDomain",                                           \
	    "block-list mode with name rules: the IP was never resolved for an allowed name")      \
	X(LOG_ONLY, "LogOnly", "log-only mode: nothing is blocked")                                \
	X(IPV6, "IPv6AlwaysBlocked", "real IPv6 is not supported yet: always blocked")             \
	X(DNS_LEARNED, "ResolvedForAllowedDomain",                                                 \
	    "resolved by cgfw-dnsproxy for an allowed name, not expired; replaced by the DNS "     \
	    "event's `because` (e.g. `MatchedAllowListDomain`) while the monitor remembers it")    \
	X(DNS_REDIRECT, "DNSRedirect", "a DNS query (port 53) sent to cgfw-dnsproxy")              \
	X(HTTP_REDIRECT, "HTTPRedirect", "to cgfw-httpproxy: the host has URL rules")              \
	X(URL_ONLY, "URLRuleHostOtherPort",                                                        \
	    "a host allowed by URL rules only, on a port other than 80/443")                       \
	X(RAW_SOCKET, "RawSocketRefused",                                                          \
	    "a raw IP or packet socket, refused at `socket()`: by the command's seccomp filter "   \
	    "(the loader refuses, the monitor reports), or by `cgroup/sock_create` for a process " \
	    "that holds `CAP_NET_RAW`; `proto` is the IP protocol asked for, 0 for AF_PACKET")     \
	X(URL_UDP, "URLRuleHostNotTCP",                                                            \
	    "UDP to a host with URL rules: QUIC would skip the HTTP proxy")                        \
	X(SOCKET_FAMILY, "SocketFamilyRefused",                                                    \
	    "a socket family that gets past cgfw's hooks (AF_VSOCK, AF_XDP, AF_RDS, ...), "        \
	    "refused at `socket()` by the command's seccomp filter")                               \
	X(IO_URING, "IoUringRefused",                                                              \
	    "`io_uring_setup()` refused: its socket and connect operations skip seccomp")

/* X(NAME, hook, blockedAt, doc): enum cgfw_hook, numbered from 1 in this order. */
#define CGFW_HOOKS(X)                                                                              \
	X(CONNECT4, "connect4", "connect", "`connect()` of an IPv4 socket (EPERM when blocked)")   \
	X(SENDMSG4, "sendmsg4", "connect", "an unconnected IPv4 send (`sendto`, `sendmsg`)")       \
	X(CONNECT6, "connect6", "connect", "`connect()` of an IPv6 socket")                        \
	X(SENDMSG6, "sendmsg6", "connect", "an unconnected IPv6 send")                             \
	X(EGRESS, "egress", "packet", "a packet leaving the cgroup (dropped when blocked)")        \
	X(SOCK_CREATE, "sock_create", "socket",                                                    \
	    "`socket()`, refused at creation (`ip` and `port` are `\"\"`)")                        \
	X(SYSCALL, "syscall", "syscall",                                                           \
	    "another syscall the command's seccomp filter refused (`io_uring_setup`)")

/*
 * The maps a worker is handed, each checked against its row before use:
 * X(ID, name, type, key, value, max_entries) for the keyed ones, key and
 * value being types; R(ID, name, bytes) for a ring buffer.
 *   cgfw_learned_v4, cgfw_learned_b: IPs cgfw-dnsproxy resolved for allowed
 *     names (LRU: old ones make room), written by the DNS proxy; one per
 *     policy slot (egress.h, struct cgfw_gen_cfg);
 *   cgfw_peers: (client addr, port, proto) -> owner, read by the proxies;
 *   cgfw_stats: per-CPU counters (enum cgfw_stat), read by the monitor;
 *   cgfw_events: the ring buffer of struct cgfw_event, read by the monitor;
 *   cgfw_argv: tgid -> argv captured at exec (LRU: exited processes age
 *     out), read by the monitor.
 */
#define CGFW_EGRESS_MAPS(X)                                                                        \
	X(LEARNED_V4, cgfw_learned_v4, BPF_MAP_TYPE_LRU_HASH, __u32, struct cgfw_learned,          \
	    CGFW_LEARNED_V4_MAX)                                                                   \
	X(LEARNED_B, cgfw_learned_b, BPF_MAP_TYPE_LRU_HASH, __u32, struct cgfw_learned,            \
	    CGFW_LEARNED_V4_MAX)                                                                   \
	X(PEERS, cgfw_peers, BPF_MAP_TYPE_LRU_HASH, struct cgfw_peer_key, struct cgfw_peer,        \
	    CGFW_PEERS_MAX)                                                                        \
	X(STATS, cgfw_stats, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, __u64, CGFW_STAT_MAX)
#define CGFW_EGRESS_RINGBUFS(R) R(EVENTS, cgfw_events, CGFW_EVENTS_BYTES)
#define CGFW_EXEC_MAPS(X)                                                                          \
	X(ARGV, cgfw_argv, BPF_MAP_TYPE_LRU_HASH, __u32, struct cgfw_argv, CGFW_ARGV_ENTRIES)

/* A BPF map definition from a row of the tables above (BPF C only). */
#define CGFW_BPF_MAP(id, name, type_, key_, value_, max_)                                          \
	struct {                                                                                   \
		__uint(type, type_);                                                               \
		__uint(max_entries, max_);                                                         \
		__type(key, key_);                                                                 \
		__type(value, value_);                                                             \
	} name SEC(".maps");
#define CGFW_BPF_RINGBUF(id, name, bytes_)                                                         \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                                                \
		__uint(max_entries, bytes_);                                                       \
	} name SEC(".maps");

#endif
