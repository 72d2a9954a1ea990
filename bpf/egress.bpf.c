// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cgfw's kernel side: decide every IPv4/IPv6 connect() and unconnected send
 * of the target cgroup against the policy maps, remember the socket's owner
 * in socket storage while we are still in process context, and drop at
 * egress any packet whose destination was never admitted.
 *
 * Verdicts: sock_addr hooks return 0 to make the syscall fail with EPERM at
 * once; cgroup_skb returns 0 to drop (a TCP SYN dropped there is a timeout).
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "egress.h"

#define CGFW_DROP 0
#define CGFW_PASS 1

#define AF_INET      2
#define AF_INET6     10
#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define IPPROTO_ICMP 1
#define IPPROTO_TCP  6
#define IPPROTO_UDP  17
#define SOCK_RAW     3
#define NSEC_PER_SEC 1000000000ULL

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/*
 * Set by the loader between open and load (see loader/attach.c); fixed for
 * the instance's life.  What a reload may change (the mode, the maps) is in
 * cgfw_gen_cfg and the policy slots below.
 */
const volatile __u8 cgfw_emit_loopback = 0; /* --debug only */
const volatile __u32 cgfw_dns_ip4 = 0;      /* cgfw-dnsproxy's address, network order; 0 = none */
const volatile __u16 cgfw_dns_port = 0;     /* its UDP and TCP port, host order */
const volatile __u32 cgfw_http_ip4 = 0;     /* cgfw-httpproxy's address, network order; 0 = none */
const volatile __u16 cgfw_http_port = 0;    /* its TCP port, host order */
const volatile __u8 cgfw_allow_raw = 0;     /* --allow-raw-sockets */

/*
 * The policy generation in force (egress.h, struct cgfw_gen_cfg): read once
 * per decision, so one decision never mixes two policies.  Its slot (gen & 1)
 * picks the maps below and the slot's settings.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgfw_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct cgfw_gen_cfg);
} cgfw_gen_cfg SEC(".maps");

/*
 * Exact IPv4 addresses (and IP:port) of the policy, one map per slot.
 * BPF_F_NO_PREALLOC: only the loader writes these (from userspace, at start
 * and when a reload fills the other slot); the programs only look them up,
 * and a lookup costs the same either way.  Preallocated, both slots' full
 * capacity (65536 entries each, or the size of a big list) was allocated and
 * threaded onto a free list at every start: about 15 ms each, for a slot that
 * holds a handful of rules or, until a reload, nothing.  max_entries still
 * bounds them; an entry the kernel cannot allocate fails the fill, which
 * fails the start or the reload (never a silently partial policy).
 */
#define CGFW_ALLOW_MAP(name)                                                                       \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, CGFW_ALLOW_V4_MAX);                                            \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, struct cgfw_ip4_key);                                                  \
		__type(value, struct cgfw_policy_val);                                             \
	} name SEC(".maps");
CGFW_ALLOW_MAP(cgfw_allow_v4)
CGFW_ALLOW_MAP(cgfw_allow_b)

/* User CIDRs; longest prefix wins.  LPM tries need BPF_F_NO_PREALLOC. */
#define CGFW_CIDR_MAP(name)                                                                        \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                                               \
		__uint(max_entries, CGFW_CIDR_V4_MAX);                                             \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, struct cgfw_lpm4_key);                                                 \
		__type(value, struct cgfw_policy_val);                                             \
	} name SEC(".maps");
CGFW_CIDR_MAP(cgfw_cidr_v4)
CGFW_CIDR_MAP(cgfw_cidr_b)

/* cgfw_learned_v4, cgfw_peers, cgfw_stats and cgfw_events: bpf/cgfw_defs.h. */
CGFW_EGRESS_MAPS(CGFW_BPF_MAP)
CGFW_EGRESS_RINGBUFS(CGFW_BPF_RINGBUF)

/* Owner and admitted destination of each socket of the cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cgfw_sock_owner);
} cgfw_sock SEC(".maps");

/*
 * The workers' cgroup of every cgfw instance on this machine: never filtered.
 * One map, pinned by name in /sys/fs/bpf/cgfw/ and shared by every loader
 * (loader/attach.c), so an instance attached above another's workers (a
 * parent cgroup, a session, the root) leaves their upstream traffic alone.
 * LRU: entries of loaders killed before they could remove theirs age out.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CGFW_EXEMPT_MAX);
	__type(key, __u64);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgfw_exempt SEC(".maps");

struct decision {
	__u32 rule_id;
	__u32 gen; /* the policy generation that decided */
	__u8 verdict;
	__u8 reason;
	__u8 flags; /* CGFW_LEARNED_* of a learned address */
	__u8 emit_allowed;
	__u8 mode;
	__u8 block_unresolved;
};

/*
 * The generation in force and its settings, read once: everything this
 * decision looks at comes from that generation's slot.  No settings (cannot
 * happen: an array's slot always exists) means allow-list mode, nothing
 * loaded: everything blocked.
 */
static __always_inline void
decision_init(struct decision *d)
{
	__u32 zero = 0, slot;
	__u32 *g = bpf_map_lookup_elem(&cgfw_gen, &zero);
	struct cgfw_gen_cfg *c;

	d->gen = g ? *g : 0;
	slot = d->gen & 1;
	c = bpf_map_lookup_elem(&cgfw_gen_cfg, &slot);
	d->mode = c ? c->mode : CGFW_MODE_ALLOW_LIST;
	d->block_unresolved = c ? c->block_unresolved : 0;
	d->emit_allowed = c ? c->emit_allowed : 0;
	d->rule_id = 0;
	d->flags = 0;
}

static __always_inline struct cgfw_policy_val *
allow_lookup(const struct decision *d, struct cgfw_ip4_key *k)
{
	if (d->gen & 1)
		return bpf_map_lookup_elem(&cgfw_allow_b, k);
	return bpf_map_lookup_elem(&cgfw_allow_v4, k);
}

static __always_inline struct cgfw_policy_val *
cidr_lookup(const struct decision *d, struct cgfw_lpm4_key *k)
{
	if (d->gen & 1)
		return bpf_map_lookup_elem(&cgfw_cidr_b, k);
	return bpf_map_lookup_elem(&cgfw_cidr_v4, k);
}

static __always_inline struct cgfw_learned *
learned_lookup(const struct decision *d, __u32 *addr)
{
	if (d->gen & 1)
		return bpf_map_lookup_elem(&cgfw_learned_b, addr);
	return bpf_map_lookup_elem(&cgfw_learned_v4, addr);
}

static __always_inline void
stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&cgfw_stats, &idx);

	if (v)
		*v += 1;
}

static __always_inline int
is_loopback4(__u32 daddr)
{
	return (bpf_ntohl(daddr) >> 24) == 127;
}

static __always_inline int
policy_hit(struct cgfw_policy_val *v, struct decision *d)
{
	if (!v)
		return 0;
	if (v->expires_ns && v->expires_ns < bpf_ktime_get_ns())
		return 0;
	d->rule_id = v->rule_id;
	if (v->action == CGFW_ACT_BLOCK) {
		d->verdict = CGFW_V_BLOCK;
		d->reason = CGFW_R_BLOCK_RULE;
	} else {
		d->verdict = CGFW_V_ALLOW;
		d->reason = CGFW_R_ALLOW_RULE;
	}
	return 1;
}

/*
 * The policy of d's generation (decision_init()) for one IPv4 destination.
 * Most specific first: IP:port, then the IP, then the longest CIDR.  Ties
 * between allow and block on one key were resolved (block wins) when the
 * loader compiled the maps.  established: a connection admitted under an
 * earlier generation, judged again; a learned address counts even past its
 * deadline (an admitted connection outlives its DNS answer).
 */
static __always_inline void
decide4(__u32 daddr, __u16 dport, __u8 proto, int established, struct decision *d)
{
	struct cgfw_ip4_key k = {.addr = daddr, .port = dport};
	struct cgfw_lpm4_key lk = {.prefixlen = 32, .addr = daddr};
	struct cgfw_learned *learned;

	if (is_loopback4(daddr)) {
		d->verdict = CGFW_V_ALLOW;
		d->reason = CGFW_R_LOOPBACK;
		return;
	}
	if (dport && policy_hit(allow_lookup(d, &k), d))
		return;
	k.port = 0;
	if (policy_hit(allow_lookup(d, &k), d))
		return;
	if (policy_hit(cidr_lookup(d, &lk), d))
		return;
	learned = learned_lookup(d, &daddr);
	if (learned && (established || learned->expires_ns >= bpf_ktime_get_ns())) {
		d->verdict = CGFW_V_ALLOW;
		d->reason = CGFW_R_DNS_LEARNED;
		d->rule_id = learned->rule_id;
		d->flags = (__u8)learned->flags;
		/* A URL rule opens HTTP(S) only; ssh to that host stays shut. */
		if ((learned->flags & CGFW_LEARNED_URL_ONLY) && dport != 80 && dport != 443) {
			d->verdict = CGFW_V_BLOCK;
			d->reason = CGFW_R_URL_ONLY;
		} else if ((learned->flags & (CGFW_LEARNED_URL_ONLY | CGFW_LEARNED_INTERCEPT)) &&
		           proto != IPPROTO_TCP) {
			/* Only TCP reaches cgfw-httpproxy: QUIC would carry the URL around it. */
			d->verdict = CGFW_V_BLOCK;
			d->reason = CGFW_R_URL_UDP;
		}
		return;
	}

	switch (d->mode) {
	case CGFW_MODE_LOG_ONLY:
		d->verdict = CGFW_V_ALLOW;
		d->reason = CGFW_R_LOG_ONLY;
		break;
	case CGFW_MODE_BLOCK_LIST:
		if (d->block_unresolved) {
			d->verdict = CGFW_V_BLOCK;
			d->reason = CGFW_R_NOT_RESOLVED;
		} else {
			d->verdict = CGFW_V_ALLOW;
			d->reason = CGFW_R_NOT_BLOCKED;
		}
		break;
	default:
		d->verdict = CGFW_V_BLOCK;
		d->reason = CGFW_R_NOT_ALLOWED;
		break;
	}
}

static __always_inline int
want_event(const struct decision *d)
{
	if (d->verdict == CGFW_V_BLOCK)
		return 1;
	if (d->reason == CGFW_R_LOOPBACK)
		return cgfw_emit_loopback;
	return d->emit_allowed;
}

/* Reserve an event; a full ring buffer is counted, never silent. */
static __always_inline struct cgfw_event *
event_reserve(void)
{
	struct cgfw_event *e = bpf_ringbuf_reserve(&cgfw_events, sizeof(*e), 0);

	if (!e) {
		stat_inc(CGFW_STAT_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	return e;
}

/* Owner from the calling task: sock_addr hooks run in process context. */
static __always_inline void
owner_fill(struct cgfw_sock_owner *o)
{
	__u64 id = bpf_get_current_pid_tgid();

	o->tgid = id >> 32;
	o->pid = (__u32)id;
	o->uid = (__u32)bpf_get_current_uid_gid();
	o->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

static __always_inline void
event_from_owner(struct cgfw_event *e, const struct cgfw_sock_owner *o)
{
	e->tgid = o->tgid;
	e->pid = o->pid;
	e->uid = o->uid;
	e->cgroup_id = o->cgroup_id;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	e->flags |= CGFW_EV_OWNER_KNOWN;
}

static __always_inline int
sock_addr_verdict(struct bpf_sock_addr *ctx, __u8 hook, __u8 family, const __u32 *daddr6,
    __u32 daddr, __u16 dport, struct decision *d)
{
	struct cgfw_sock_owner *o;
	struct cgfw_event *e;

	o = bpf_sk_storage_get(&cgfw_sock, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (o) {
		owner_fill(o);
		if (d->verdict == CGFW_V_ALLOW && family == AF_INET) {
			o->daddr = daddr;
			o->dport = dport;
			o->admitted = 1;
			o->gen = d->gen;
		}
	}
	if (d->verdict == CGFW_V_BLOCK)
		stat_inc(CGFW_STAT_CONNECT_BLOCKED);

	if (want_event(d) && (e = event_reserve())) {
		if (o) {
			event_from_owner(e, o);
		} else {
			struct cgfw_sock_owner tmp = {};

			owner_fill(&tmp);
			event_from_owner(e, &tmp);
		}
		e->cookie = bpf_get_socket_cookie(ctx);
		e->family = family;
		if (family == AF_INET) {
			e->daddr[0] = daddr;
		} else {
			e->daddr[0] = daddr6[0];
			e->daddr[1] = daddr6[1];
			e->daddr[2] = daddr6[2];
			e->daddr[3] = daddr6[3];
		}
		e->dport = dport;
		e->proto = ctx->protocol;
		e->hook = hook;
		e->verdict = d->verdict;
		e->reason = d->reason;
		e->rule_id = d->rule_id;
		if (d->gen & 1)
			e->flags |= CGFW_EV_SLOT1;
		bpf_ringbuf_submit(e, 0);
	}
	return d->verdict == CGFW_V_ALLOW ? CGFW_PASS : CGFW_DROP;
}

static __always_inline int
is_dns_proxy(__u32 daddr, __u16 dport)
{
	return cgfw_dns_port && daddr == cgfw_dns_ip4 && dport == cgfw_dns_port;
}

static __always_inline int
is_http_proxy(__u32 daddr, __u16 dport)
{
	return cgfw_http_port && daddr == cgfw_http_ip4 && dport == cgfw_http_port;
}

/*
 * Where a sock_addr hook writes an IPv4 destination: user_ip4, or the low
 * word of ::ffff:a.b.c.d for an AF_INET6 socket.  The verifier refuses
 * user_ip6 in the IPv4 hooks, so v6 is a constant at every call site.
 */
static __always_inline void
dest_set(struct bpf_sock_addr *ctx, int v6, __u32 ip, __u16 port)
{
	if (v6)
		ctx->user_ip6[3] = ip;
	else
		ctx->user_ip4 = ip;
	ctx->user_port = bpf_htons(port);
}

/*
 * Send the connection to a proxy (the DNS proxy for every query to port 53,
 * UDP or TCP, to any address; the HTTP proxy for :80/:443 of a host with URL
 * rules).  The original destination is kept in socket storage, so that
 * recvmsg/getpeername can make the proxy look like the server asked, and
 * egress can tell the proxy who is asking.
 */
static __always_inline int
proxy_redirect(struct bpf_sock_addr *ctx, __u8 hook, int v6, __u32 daddr, __u16 dport, __u32 pip,
    __u16 pport, struct decision *d)
{
	struct cgfw_sock_owner *o;

	o = bpf_sk_storage_get(&cgfw_sock, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return CGFW_DROP; /* no storage, no way to answer as the server: refuse */
	o->orig_daddr = daddr;
	o->orig_dport = dport;
	o->redirected = 1;
	dest_set(ctx, v6, pip, pport);
	return sock_addr_verdict(ctx, hook, AF_INET, NULL, daddr, dport, d);
}

/* cgfw's own workers, should the target be an ancestor of them. */
static __always_inline int
exempt(void)
{
	__u64 id = bpf_get_current_cgroup_id();

	return bpf_map_lookup_elem(&cgfw_exempt, &id) != NULL;
}

/*
 * The one decision for an IPv4 destination, whether the socket is AF_INET
 * or AF_INET6 with an IPv4-mapped address (v6): the same policy, the same
 * redirects, the same events.
 */
static __always_inline int
sock_addr_ip4(struct bpf_sock_addr *ctx, __u8 hook, int v6, __u32 daddr, __u16 dport)
{
	struct decision d;

	decision_init(&d);
	if (cgfw_dns_port && dport == 53 &&
	    (ctx->protocol == IPPROTO_UDP || ctx->protocol == IPPROTO_TCP)) {
		d.verdict = CGFW_V_ALLOW;
		d.reason = CGFW_R_DNS_REDIRECT;
		return proxy_redirect(ctx, hook, v6, daddr, dport, cgfw_dns_ip4, cgfw_dns_port, &d);
	}
	decide4(daddr, dport, (__u8)ctx->protocol, 0, &d);
	if (d.verdict == CGFW_V_ALLOW && (d.flags & CGFW_LEARNED_INTERCEPT) &&
	    (dport == 80 || dport == 443) && cgfw_http_port && ctx->protocol == IPPROTO_TCP) {
		d.reason = CGFW_R_HTTP_REDIRECT;
		return proxy_redirect(
		    ctx, hook, v6, daddr, dport, cgfw_http_ip4, cgfw_http_port, &d);
	}
	return sock_addr_verdict(ctx, hook, AF_INET, NULL, daddr, dport, &d);
}

static __always_inline int
sock_addr4(struct bpf_sock_addr *ctx, __u8 hook)
{
	if (exempt())
		return CGFW_PASS;
	return sock_addr_ip4(ctx, hook, 0, ctx->user_ip4, bpf_ntohs((__u16)ctx->user_port));
}

/* An answer from the proxy appears to come from the server the client asked. */
static __always_inline void
unredirect(struct bpf_sock_addr *ctx, int v6)
{
	struct cgfw_sock_owner *o;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u32 ip;

	if (v6) {
		if (ctx->user_ip6[0] || ctx->user_ip6[1] || ctx->user_ip6[2] != bpf_htonl(0xffff))
			return;
		ip = ctx->user_ip6[3];
	} else {
		ip = ctx->user_ip4;
	}
	if (!is_dns_proxy(ip, port) && !is_http_proxy(ip, port))
		return;
	o = bpf_sk_storage_get(&cgfw_sock, ctx->sk, 0, 0);
	if (!o || !o->redirected)
		return;
	dest_set(ctx, v6, o->orig_daddr, o->orig_dport);
}

static __always_inline int
sock_addr6(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct decision d = {};
	__u32 a[4];
	__u16 dport = bpf_ntohs((__u16)ctx->user_port);

	if (exempt())
		return CGFW_PASS;
	decision_init(&d);
	/* Each word is its own context access; the verifier wants them one by one. */
	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];

	/* ::ffff:a.b.c.d is IPv4 on the wire: exactly the IPv4 path. */
	if (a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff))
		return sock_addr_ip4(ctx, hook, 1, a[3], dport);
	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1)) {
		d.verdict = CGFW_V_ALLOW;
		d.reason = CGFW_R_LOOPBACK;
	} else {
		d.verdict = CGFW_V_BLOCK;
		d.reason = CGFW_R_IPV6;
	}
	return sock_addr_verdict(ctx, hook, AF_INET6, a, 0, dport, &d);
}

SEC("cgroup/connect4")
int
egress_connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr4(ctx, CGFW_HOOK_CONNECT4);
}

SEC("cgroup/sendmsg4")
int
egress_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr4(ctx, CGFW_HOOK_SENDMSG4);
}

SEC("cgroup/recvmsg4")
int
egress_recvmsg4(struct bpf_sock_addr *ctx)
{
	unredirect(ctx, 0);
	return 1; /* recvmsg hooks must return 1 */
}

SEC("cgroup/getpeername4")
int
egress_getpeername4(struct bpf_sock_addr *ctx)
{
	unredirect(ctx, 0);
	return 1;
}

SEC("cgroup/recvmsg6")
int
egress_recvmsg6(struct bpf_sock_addr *ctx)
{
	unredirect(ctx, 1);
	return 1;
}

SEC("cgroup/getpeername6")
int
egress_getpeername6(struct bpf_sock_addr *ctx)
{
	unredirect(ctx, 1);
	return 1;
}

/*
 * Every new inet socket of the cgroup: its owner is recorded now, in process
 * context, so later packet events (raw, ping, anything egress judges) name
 * the process.  Raw sockets are refused here unless --allow-raw-sockets:
 * they carry any protocol to any address, around connect and sendmsg.  Only
 * a process holding CAP_NET_RAW gets this far (a root service under attach);
 * the kernel refuses the others first, and AF_PACKET never comes here at all
 * (docs/threat-model.md).
 */
SEC("cgroup/sock_create")
int
egress_sock_create(struct bpf_sock *sk)
{
	struct cgfw_sock_owner *o, tmp = {};
	struct cgfw_event *e;

	if (exempt())
		return CGFW_PASS;
	o = bpf_sk_storage_get(&cgfw_sock, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		o = &tmp;
	owner_fill(o);
	if (sk->type != SOCK_RAW || cgfw_allow_raw)
		return CGFW_PASS;
	stat_inc(CGFW_STAT_CONNECT_BLOCKED);
	e = event_reserve();
	if (!e)
		return CGFW_DROP;
	event_from_owner(e, o);
	e->cookie = bpf_get_socket_cookie(sk);
	e->family = (__u8)sk->family;
	e->proto = (__u8)sk->protocol;
	e->hook = CGFW_HOOK_SOCK_CREATE;
	e->verdict = CGFW_V_BLOCK;
	e->reason = CGFW_R_RAW_SOCKET;
	bpf_ringbuf_submit(e, 0);
	return CGFW_DROP;
}

SEC("cgroup/connect6")
int
egress_connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr6(ctx, CGFW_HOOK_CONNECT6);
}

SEC("cgroup/sendmsg6")
int
egress_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr6(ctx, CGFW_HOOK_SENDMSG6);
}

/* Tell the proxy who is asking: (source addr, port, proto) -> owner. */
static __always_inline void
peer_record(struct __sk_buff *skb, const struct cgfw_sock_owner *o, __u8 proto, __u16 sport)
{
	struct cgfw_peer_key k = {.port = sport, .proto = proto};
	struct cgfw_peer v = {};

	if (bpf_skb_load_bytes(skb, 12, &k.addr, 4))
		return;
	v.cgroup_id = o->cgroup_id;
	v.tgid = o->tgid;
	v.pid = o->pid;
	v.uid = o->uid;
	v.orig_daddr = o->orig_daddr;
	v.orig_dport = o->orig_dport;
	__builtin_memcpy(v.comm, o->comm, sizeof(v.comm));
	bpf_map_update_elem(&cgfw_peers, &k, &v, BPF_ANY);
}

/*
 * The backstop.  Packets of a socket whose destination a sock_addr hook
 * admitted pass even after a learned IP expires; everything else (raw and
 * ICMP sockets, anything that got around connect/sendmsg) is judged again.
 * No bpf_get_current_*() here: this may run in softirq context, so the owner
 * comes from socket storage or stays unknown.
 */
SEC("cgroup_skb/egress")
int
egress_skb(struct __sk_buff *skb)
{
	struct cgfw_sock_owner *o = NULL;
	struct bpf_sock *sk = skb->sk;
	struct cgfw_event *e;
	struct decision d = {};
	__u32 daddr6[4] = {};
	__u32 daddr = 0;
	__u16 dport = 0;
	__u8 proto = 0, family, vihl;

	{
		__u64 id = bpf_skb_cgroup_id(skb);

		if (bpf_map_lookup_elem(&cgfw_exempt, &id))
			return CGFW_PASS;
	}
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk)
		o = bpf_sk_storage_get(&cgfw_sock, sk, 0, 0);

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		family = AF_INET;
		if (bpf_skb_load_bytes(skb, 0, &vihl, 1) || bpf_skb_load_bytes(skb, 9, &proto, 1) ||
		    bpf_skb_load_bytes(skb, 16, &daddr, 4))
			return CGFW_DROP;
		if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
			__u32 off = (vihl & 0x0f) * 4;
			__u16 ports[2];

			if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
				return CGFW_DROP;
			dport = bpf_ntohs(ports[1]);
			if (o && (is_dns_proxy(daddr, dport) || is_http_proxy(daddr, dport)))
				peer_record(skb, o, proto, bpf_ntohs(ports[0]));
		}
		decision_init(&d);
		if (o && o->admitted && o->daddr == daddr && o->dport == dport) {
			if (o->gen == d.gen)
				return CGFW_PASS;
			/* Admitted under an earlier policy: the one in force decides once. */
			decide4(daddr, dport, proto, 1, &d);
			if (d.verdict == CGFW_V_ALLOW) {
				o->gen = d.gen;
				return CGFW_PASS;
			}
			o->admitted = 0;
		} else {
			decide4(daddr, dport, proto, 0, &d);
		}
		daddr6[0] = daddr;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		decision_init(&d);
		family = AF_INET6;
		if (bpf_skb_load_bytes(skb, 6, &proto, 1) ||
		    bpf_skb_load_bytes(skb, 24, daddr6, sizeof(daddr6)))
			return CGFW_DROP;
		if (daddr6[0] == 0 && daddr6[1] == 0 && daddr6[2] == 0 && daddr6[3] == bpf_htonl(1))
			return CGFW_PASS;
		d.verdict = CGFW_V_BLOCK;
		d.reason = CGFW_R_IPV6;
	} else {
		return CGFW_PASS;
	}

	if (d.verdict == CGFW_V_ALLOW)
		return CGFW_PASS;

	stat_inc(CGFW_STAT_EGRESS_DROPPED);
	/* One report per socket: a dropped SYN is retransmitted for a while. */
	if (o && o->reported)
		return CGFW_DROP;
	if (o)
		o->reported = 1;
	e = event_reserve();
	if (!e)
		return CGFW_DROP;
	if (o)
		event_from_owner(e, o);
	if (sk)
		e->cookie = bpf_get_socket_cookie(skb);
	e->family = family;
	e->daddr[0] = daddr6[0];
	e->daddr[1] = daddr6[1];
	e->daddr[2] = daddr6[2];
	e->daddr[3] = daddr6[3];
	e->dport = dport;
	e->proto = proto;
	e->hook = CGFW_HOOK_EGRESS;
	e->verdict = d.verdict;
	e->reason = d.reason;
	e->rule_id = d.rule_id;
	if (d.gen & 1)
		e->flags |= CGFW_EV_SLOT1;
	bpf_ringbuf_submit(e, 0);
	return CGFW_DROP;
}
