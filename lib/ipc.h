/* SPDX-License-Identifier: MIT */
/*
 * Framing of the protobuf-c envelopes on SOCK_SEQPACKET socketpairs: one
 * message (and its fds) per datagram and a strict receive.  What may be sent
 * on which channel and when is lib/protocol.def, the audit surface of every
 * channel; lib/protocol.c enforces it (ipc_dispatch()), lib/ipc_send.c has a
 * typed sender for each message.
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
#define CGFW_IPC_STR_MAX      4096 /* any string field, in bytes */
#define CGFW_FD_IPC           3    /* where a worker finds its IPC socket */

struct ipc_peer {
	int fd;
	const char *name; /* for messages: "monitor", "loader" */
	uint64_t seq_out;
	uint64_t seq_in;
	int state;                 /* enum ipc_state: what the peer may send next */
	int fds[CGFW_IPC_MAX_FDS]; /* fds that came with the current message */
	size_t n_fds;
	char violation[256];
};

void ipc_peer_init(struct ipc_peer *p, int fd, const char *name);
void ipc_peer_close(struct ipc_peer *p);
/* Close the fds of the current message (what no handler took). */
void ipc_close_fds(struct ipc_peer *p);
/*
 * Sets env->seq to the peer's next number and returns the packed size, or
 * -EMSGSIZE over CGFW_IPC_MAX.  The number is spent (p->seq_out++) only by
 * the caller that sends or queues the message (ipc_send, lib/evq.c).
 */
ssize_t ipc_prepare(struct ipc_peer *p, Cgfw__Envelope *env);
/*
 * Sets env->seq.  Waits (bounded) for room; returns 0 or -errno.  For the
 * few control messages between the loader and a worker: a proxy's events go
 * through lib/evq.c, which never waits.  Callers use the typed senders
 * (lib/ipc_send.h), one per message.
 */
int ipc_send(struct ipc_peer *p, Cgfw__Envelope *env, const int *fds, size_t n_fds);
/*
 * 0 with *ret_env set, -EAGAIN, -EPIPE on EOF, -EPROTO (see p->violation).
 * The fds that came with it wait in p->fds for ipc_dispatch().
 */
int ipc_recv(struct ipc_peer *p, Cgfw__Envelope **ret_env);
/*
 * The decoding half of ipc_recv() (the fuzzers feed it): every string field
 * is checked on the wire first (no NUL inside, at most CGFW_IPC_STR_MAX
 * bytes), then the envelope is unpacked and its sequence number checked.
 */
int ipc_decode(struct ipc_peer *p, const uint8_t *buf, size_t len, Cgfw__Envelope **ret_env);
/* Says in p->violation why the peer is cut off, closes the message's fds: -EPROTO. */
int ipc_violation(struct ipc_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Move the fds of the current message into ret_fds, checking that the kinds
 * listed in msg are exactly `want` in that order.
 */
int ipc_take_fds(struct ipc_peer *p, const Cgfw__Fds *msg, const Cgfw__FdKind *want, size_t n_want,
    int *ret_fds);
/* Checks a received socket's domain and type. */
int ipc_check_socket(int fd, int domain, int type);
const char *ipc_body_name(Cgfw__Envelope__BodyCase body);

#endif
