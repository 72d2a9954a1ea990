/* SPDX-License-Identifier: MIT */
/*
 * Framing of the protobuf-c envelopes on SOCK_SEQPACKET socketpairs: one
 * message (and its fds) per datagram, strict receive, and a dispatch table per
 * direction that is the audit surface of each channel.
 */
#ifndef CGFW_IPC_H
#define CGFW_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc.pb-c.h"

#define CGFW_PROTOCOL_VERSION 1
#define CGFW_IPC_MAX          (64 * 1024)
#define CGFW_IPC_MAX_FDS      8
#define CGFW_FD_IPC           3 /* where a worker finds its IPC socket */

struct ipc_peer {
	int fd;
	const char *name; /* for messages: "monitor", "loader" */
	uint64_t seq_out;
	uint64_t seq_in;
	uint64_t once_seen;        /* bit per dispatch-table row */
	int fds[CGFW_IPC_MAX_FDS]; /* fds that came with the current message */
	size_t n_fds;
	char violation[256];
};

struct ipc_rule;
typedef int (*ipc_handler)(void *ctx, struct ipc_peer *p, const Cgfw__Envelope *env);

#define IPC_ONCE 0x1

struct ipc_rule {
	Cgfw__Envelope__BodyCase body;
	int flags;
	ipc_handler fn;
};

void ipc_peer_init(struct ipc_peer *p, int fd, const char *name);
void ipc_peer_close(struct ipc_peer *p);
/*
 * Sets env->seq to the peer's next number and returns the packed size, or
 * -EMSGSIZE over CGFW_IPC_MAX.  The number is spent (p->seq_out++) only by
 * the caller that sends or queues the message (ipc_send, lib/evq.c).
 */
ssize_t ipc_prepare(struct ipc_peer *p, Cgfw__Envelope *env);
/*
 * Sets env->seq.  Waits (bounded) for room; returns 0 or -errno.  For the
 * few control messages between the loader and a worker: a proxy's events go
 * through lib/evq.c, which never waits.
 */
int ipc_send(struct ipc_peer *p, Cgfw__Envelope *env, const int *fds, size_t n_fds);
/* 0 with *ret_env set, -EAGAIN, -EPIPE on EOF, -EPROTO (see p->violation). */
int ipc_recv(struct ipc_peer *p, Cgfw__Envelope **ret_env);
/* Runs the row for env, frees env; returns the handler's result or -EPROTO. */
int ipc_dispatch(struct ipc_peer *p, const struct ipc_rule *table, void *ctx, Cgfw__Envelope *env);
/*
 * Receive and dispatch everything queued, until the socket is empty (0) or
 * *stop is set (0); -EPIPE if the peer closed, -EPROTO or another -errno.
 */
int ipc_drain(struct ipc_peer *p, const struct ipc_rule *table, void *ctx, const int *stop);
/*
 * Receive and dispatch, blocking, until *done is set (a worker's handshake:
 * HELLO, CONFIG..., COMMIT).  0, -ETIMEDOUT after timeout_ms, -EPIPE if the
 * peer closed, -EPROTO (p->violation) or another -errno.
 */
int ipc_recv_until(
    struct ipc_peer *p, const struct ipc_rule *table, void *ctx, const int *done, int timeout_ms);
int ipc_violation(struct ipc_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Move the fds of the current message into ret_fds, checking that the kinds
 * listed in msg are exactly `want` in that order.
 */
int ipc_take_fds(struct ipc_peer *p, const Cgfw__Fds *msg, const Cgfw__FdKind *want, size_t n_want,
    int *ret_fds);
/* Checks a received socket's domain and type. */
int ipc_check_socket(int fd, int domain, int type);
/* Send HELLO, the first message each way. */
int ipc_send_hello(struct ipc_peer *p, Cgfw__Envelope__BodyCase body, Cgfw__Role role);
int ipc_check_hello(struct ipc_peer *p, const Cgfw__Hello *h, Cgfw__Role want);
const char *ipc_body_name(Cgfw__Envelope__BodyCase body);

#endif
