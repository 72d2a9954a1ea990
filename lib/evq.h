/* SPDX-License-Identifier: MIT */
/*
 * The sending end of an events channel (a proxy -> the monitor), which never
 * blocks: events wait in a bounded queue that goes out EVQ_DELAY_MS (1 ms)
 * after the first of them (a uv_timer_t), many datagrams per sendmmsg(), at
 * once when a batch is full, and, while the socket has no room, on
 * UV_WRITABLE (a uv_poll_t).  When the queue is full (only a
 * socket with no room fills it) the event is dropped and counted, and the
 * count goes out as the channel's EventsLost message as soon as there is
 * room, ahead of every later event.
 */
#ifndef CGFW_EVQ_H
#define CGFW_EVQ_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lib/ipc.h"

/* What a proxy holds for a monitor that does not read (beyond the socket's own buffer). */
#define CGFW_EVQ_MAX_MSGS  4096
#define CGFW_EVQ_MAX_BYTES (1024 * 1024)

struct evq_msg;

struct evq {
	struct ipc_peer *peer; /* its fd and sequence numbers */
	/* Puts this channel's EventsLost into an envelope (ipc_env_dns_mon_lost, ...). */
	void (*lost_env)(Cgfw__Envelope *env, Cgfw__EventsLost *lost);
	size_t max_msgs;
	size_t max_bytes;
	struct evq_msg *head;
	struct evq_msg *tail;
	size_t n_msgs;
	size_t n_bytes;
	uint64_t n_unreported; /* dropped, not yet in a queued EventsLost */
	uint64_t n_dropped;    /* dropped in all because the queue was full */
	uint64_t n_failed;     /* lost with the channel: it failed, or closed with them queued */
	int err;               /* -errno once the channel failed; nothing is sent after */
	int said_err;          /* that failure is on stderr (once) */
	int have_poll;         /* poll and turn were set up (a loop was given) */
	int polling;
	int turning;
	int full;     /* the socket had no room at the last try */
	int flushing; /* in evq_flush() */
	uv_poll_t poll;
	uv_timer_t turn; /* flushes what was queued, EVQ_DELAY_MS after the first */
};

/*
 * Takes over sending on p (whose HELLO went out already).  loop may be NULL:
 * then nothing flushes the queue but evq_flush() (tests).  Returns 0 or -errno.
 */
int evq_init(struct evq *q, uv_loop_t *loop, struct ipc_peer *p,
    void (*lost_env)(Cgfw__Envelope *env, Cgfw__EventsLost *lost), size_t max_msgs,
    size_t max_bytes);
/*
 * Queues env (setting env->seq) for the next flush, or with no loop sends
 * it now when nothing waits and the socket takes it; never waits.  0, -ENOBUFS
 * when the queue was full (dropped, counted, reported later), q->err once the
 * channel failed (counted in n_failed), or -EMSGSIZE.  The first drop of a
 * stall and a broken channel are said on stderr, once each.
 */
int evq_send(struct evq *q, Cgfw__Envelope *env);
/* Sends what the socket takes (sendmmsg): 0 when nothing is left, -EAGAIN, or q->err. */
int evq_flush(struct evq *q);
/*
 * Flushes for at most wait_ms (poll(), blocking: for shutdown), frees the
 * queue and closes the poll handle.  Returns how many events never reached
 * the monitor's socket and are on no record: failed, still queued, or
 * dropped with no EventsLost sent for them (said on stderr when not 0).
 */
uint64_t evq_close(struct evq *q, int wait_ms);

#endif
