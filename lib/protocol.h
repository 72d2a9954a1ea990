/* SPDX-License-Identifier: MIT */
/*
 * The protocol table (lib/protocol.def) and the dispatcher that enforces it:
 * which channel a message belongs to, in which states of the receiver it is
 * permitted, which fds it carries, and its validator.  A process supplies
 * only handlers (struct ipc_handlers), indexed by message; what the table
 * refuses never reaches them, and the peer is cut off (-EPROTO).
 */
#ifndef CGFW_PROTOCOL_H
#define CGFW_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ipc.h"

/* Every channel, sender -> receiver. */
enum ipc_chan {
	IPC_CH_LOADER_MON,
	IPC_CH_MON_LOADER,
	IPC_CH_LOADER_DNS,
	IPC_CH_DNS_LOADER,
	IPC_CH_LOADER_HTTP,
	IPC_CH_HTTP_LOADER,
	IPC_CH_DNS_MON,
	IPC_CH_HTTP_MON,
	IPC_N_CHANS,
};

/* The receiver's view of its peer (struct ipc_peer.state); see protocol.def. */
enum ipc_state {
	IPC_ST_HELLO,   /* nothing received yet: only HELLO */
	IPC_ST_CONFIG,  /* greeted: the settings next (or, from a worker, READY) */
	IPC_ST_RULES,   /* settings given: rules, then the fds */
	IPC_ST_COMMIT,  /* fds given: COMMIT seals the configuration */
	IPC_ST_RUNNING, /* configured (or ready) */
	IPC_ST_DONE,    /* the peer said its last word: SHUTDOWN, STATS */
	IPC_N_STATES,
};

/* Message indexes, in the order of protocol.def. */
enum ipc_msg {
#define IPC_MSG(NAME, ...) IPC_M_##NAME,
#define IPC_MSG_EMPTY      IPC_MSG
#define IPC_MSG_HELLO      IPC_MSG
#define IPC_MSG_FDS        IPC_MSG
#include "lib/protocol.def"
#undef IPC_MSG
#undef IPC_MSG_EMPTY
#undef IPC_MSG_HELLO
#undef IPC_MSG_FDS
	IPC_N_MSGS,
};

/* Caps the validators enforce (a peer cannot make us allocate more). */
#define CGFW_IPC_MON_RULES_MAX (1U << 24) /* IP and CIDR rules the monitor names */
#define CGFW_IPC_BATCH_MAX     1024       /* MonRule per MonRules */
#define CGFW_IPC_URL_RULES_MAX 65536      /* UrlRule messages */
#define CGFW_IPC_UPSTREAMS_MAX 8          /* DNS upstream servers */

typedef int (*ipc_validator)(struct ipc_peer *p, enum ipc_chan chan, const Cgfw__Envelope *env);

struct ipc_msg_def {
	Cgfw__Envelope__BodyCase body;
	const char *name; /* the body's field name */
	enum ipc_chan chan;
	uint32_t permit; /* bit per enum ipc_state */
	int next;        /* enum ipc_state, or -1: unchanged */
	uint8_t fds_min, fds_max;
	uint32_t fd_kinds;                               /* bit per Cgfw__FdKind */
	const Cgfw__Fds *(*fds)(const Cgfw__Envelope *); /* the list, for FDS messages */
	ipc_validator check;
};

struct ipc_chan_def {
	const char *name; /* "loader -> monitor" */
	Cgfw__Role from, to;
};

extern const struct ipc_msg_def ipc_msgs[IPC_N_MSGS];
extern const struct ipc_chan_def ipc_chans[IPC_N_CHANS];

/* The row of a body case, or NULL for none. */
const struct ipc_msg_def *ipc_msg_of(Cgfw__Envelope__BodyCase body);
const char *ipc_state_name(int state);

typedef int (*ipc_handler)(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env);

/*
 * What one process does with what it receives on one channel.  A message
 * without a handler is accepted after the table's checks (HELLO).  A handler
 * that keeps fds takes them out of p->fds (ipc_take_fds()); any left are a
 * violation.
 */
struct ipc_handlers {
	enum ipc_chan chan;
	ipc_handler on[IPC_N_MSGS];
};

/*
 * Checks env against the table (channel, the peer's state, fds, validator),
 * runs the handler, moves the peer to the row's next state, frees env.
 * Returns the handler's result, or -EPROTO (p->violation) with every fd of
 * the message closed.
 */
int ipc_dispatch(struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, Cgfw__Envelope *env);
/*
 * Receive and dispatch, blocking, until the peer reaches state `until` (a
 * worker's handshake: HELLO, CONFIG..., COMMIT).  0, -ETIMEDOUT after
 * timeout_ms, -EPIPE if the peer closed, -EPROTO (p->violation) or -errno.
 */
int ipc_recv_until(struct ipc_peer *p, const struct ipc_handlers *h, void *ctx,
    enum ipc_state until, int timeout_ms);
/*
 * Receive and dispatch everything queued, until the socket is empty (0) or
 * *stop is set (0); -EPIPE if the peer closed, -EPROTO or another -errno.
 */
int ipc_drain(struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, const int *stop);

#endif
