// SPDX-License-Identifier: MIT
/*
 * The events queue (lib/evq.c) over a real SOCK_SEQPACKET socketpair whose
 * reader does not read: sends never block, the queue fills to its bounds
 * (count and bytes), further events are dropped and counted, and once the
 * reader drains the socket the queue flushes in order, partly when the
 * socket takes only part, with one EventsLost carrying the count between the
 * last event queued before the drops and the first one after.  With a loop,
 * events wait for a short timer (EVQ_DELAY_MS after the first, never pushed
 * back) or a full batch, then go together; events not yet tried never cause
 * a drop.  The reader
 * checks sequence numbers (ipc_recv), so a dropped event must spend none.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/evq.h"
#include "lib/ipc_send.h"
#include "lib/ipc.h"

struct fix {
	struct ipc_peer tx; /* the proxy's end */
	struct ipc_peer rx; /* the monitor's end */
	struct evq q;
	uv_loop_t loop;
	int sent;      /* events offered so far: "e<N>" */
	int next_rx;   /* the N of the next event the reader expects, -1 after a gap */
	uint64_t lost; /* sum of the EventsLost counts read */
	int n_lost_msgs;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	int sv[2], small = 4096;

	if (!f)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		free(f);
		return -1;
	}
	/* A small send buffer: the socket is full after a few messages. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	ipc_peer_init(&f->tx, sv[0], "monitor");
	ipc_peer_init(&f->rx, sv[1], "dnsproxy");
	if (uv_loop_init(&f->loop) < 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	if (f->q.peer)
		(void)evq_close(&f->q, 0);
	(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	ipc_peer_close(&f->tx);
	ipc_peer_close(&f->rx);
	free(f);
	return 0;
}

/* Offers event "e<sent>" with a payload of pad bytes. */
static int
offer(struct fix *f, size_t pad)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__DnsEvent ev = CGFW__DNS_EVENT__INIT;
	char name[32], *rule = calloc(1, pad + 1);
	int r;

	assert_non_null(rule);
	memset(rule, 'x', pad);
	snprintf(name, sizeof(name), "e%d", f->sent++);
	ev.qname = name;
	ev.rule = rule;
	env.body_case = CGFW__ENVELOPE__BODY_DNS_MON_EVENT;
	env.dns_mon_event = &ev;
	r = evq_send(&f->q, &env);
	free(rule);
	return r;
}

/*
 * Reads everything the socket holds.  Events must come in order; after an
 * EventsLost the next event may skip exactly that many.  Returns how many
 * messages were read.
 */
static int
drain(struct fix *f)
{
	Cgfw__Envelope *env;
	int n = 0, r;

	while ((r = ipc_recv(&f->rx, &env)) == 0) {
		n++;
		if (env->body_case == CGFW__ENVELOPE__BODY_DNS_MON_LOST) {
			assert_true(env->dns_mon_lost->count > 0);
			f->lost += env->dns_mon_lost->count;
			f->n_lost_msgs++;
			f->next_rx += (int)env->dns_mon_lost->count;
		} else {
			char want[32];

			assert_int_equal(env->body_case, CGFW__ENVELOPE__BODY_DNS_MON_EVENT);
			snprintf(want, sizeof(want), "e%d", f->next_rx++);
			assert_string_equal(env->dns_mon_event->qname, want);
		}
		cgfw__envelope__free_unpacked(env, NULL);
	}
	assert_int_equal(r, -EAGAIN);
	return n;
}

static void
init_q(struct fix *f, size_t max_msgs, size_t max_bytes, int with_loop)
{
	assert_int_equal(evq_init(&f->q, with_loop ? &f->loop : NULL, &f->tx, ipc_env_dns_mon_lost,
	                     max_msgs, max_bytes),
	    0);
}

/*
 * With a loop: offers until the socket has no room and the queue holds n.
 * A queue that is full while the socket was not yet tried is flushed first.
 */
static void
fill(struct fix *f, size_t n)
{
	for (int i = 0; !(f->q.full && f->q.n_msgs == n); i++) {
		assert_int_equal(offer(f, 300), 0);
		assert_true(i < 10000);
	}
}

/* Room in the socket: straight through, nothing queued. */
static void
test_direct(void **state)
{
	struct fix *f = *state;

	init_q(f, 8, 1 << 20, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(offer(f, 10), 0);
	assert_int_equal(f->q.n_msgs, 0);
	assert_int_equal(drain(f), 3);
	assert_int_equal(f->tx.seq_out, 3);
}

/* Fill the socket, then the queue; the next ones are dropped and counted. */
static void
test_fill_and_drop(void **state)
{
	struct fix *f = *state;
	int n_direct = 0;

	init_q(f, 8, 1 << 20, 0);
	while (f->q.n_msgs == 0) {
		assert_int_equal(offer(f, 100), 0);
		n_direct++;
		assert_true(n_direct < 10000);
	}
	n_direct--; /* the last one was queued */
	for (int i = 1; i < 8; i++)
		assert_int_equal(offer(f, 100), 0);
	assert_int_equal(f->q.n_msgs, 8);
	for (int i = 0; i < 5; i++)
		assert_int_equal(offer(f, 100), -ENOBUFS);
	assert_int_equal(f->q.n_msgs, 8);
	assert_int_equal(f->q.n_dropped, 5);
	assert_int_equal(f->q.n_unreported, 5);
	/* Dropped events spend no sequence number. */
	assert_int_equal(f->tx.seq_out, (uint64_t)n_direct + 8);
}

/* The byte bound drops too, even with count to spare. */
static void
test_byte_bound(void **state)
{
	struct fix *f = *state;

	init_q(f, 1000, 3000, 0);
	while (f->q.n_msgs == 0)
		assert_int_equal(offer(f, 1000), 0);
	assert_int_equal(offer(f, 1000), 0);
	assert_int_equal(f->q.n_msgs, 2);
	assert_true(f->q.n_bytes <= 3000);
	assert_int_equal(offer(f, 1000), -ENOBUFS);
	assert_int_equal(offer(f, 10), 0); /* a small one still fits */
	assert_int_equal(f->q.n_dropped, 1);
}

/*
 * Flush order and the report: everything arrives in order, the EventsLost
 * comes between the last event queued before the drops and the first after.
 */
static void
test_flush_order_and_report(void **state)
{
	struct fix *f = *state;
	int n;

	init_q(f, 16, 1 << 20, 0);
	while (f->q.n_msgs < 16)
		assert_int_equal(offer(f, 200), 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(offer(f, 200), -ENOBUFS);
	/* The reader catches up; the queue goes out and the report follows it. */
	while (f->q.n_msgs || f->q.n_unreported) {
		(void)drain(f);
		n = evq_flush(&f->q);
		assert_true(n == 0 || n == -EAGAIN);
	}
	(void)drain(f);
	assert_int_equal(f->lost, 7);
	assert_int_equal(f->n_lost_msgs, 1);
	/* Events after the report follow it, numbered on. */
	assert_int_equal(offer(f, 10), 0);
	assert_int_equal(offer(f, 10), 0);
	(void)drain(f);
	assert_int_equal(f->next_rx, f->sent);
	assert_int_equal(f->q.n_unreported, 0);
	assert_int_equal(evq_close(&f->q, 0), 0);
}

/* While the queue is not empty a new event waits behind it, never jumps it. */
static void
test_no_overtaking(void **state)
{
	struct fix *f = *state;

	init_q(f, 64, 1 << 20, 0);
	while (f->q.n_msgs < 3)
		assert_int_equal(offer(f, 300), 0);
	(void)drain(f); /* room in the socket, but the queue still holds 3 */
	assert_int_equal(offer(f, 10), 0);
	assert_int_equal(f->q.n_msgs, 4);
	assert_int_equal(evq_flush(&f->q), 0);
	(void)drain(f);
	assert_int_equal(f->next_rx, f->sent);
}

/* A socket with room for part of the queue: what fits goes, the rest stays in order. */
static void
test_partial_flush(void **state)
{
	struct fix *f = *state;
	size_t before;
	int got;

	init_q(f, 4096, 1 << 20, 0);
	while (f->q.n_msgs < 200)
		assert_int_equal(offer(f, 300), 0);
	before = f->q.n_msgs;
	got = drain(f); /* one socket's worth */
	assert_true(got > 0);
	assert_int_equal(evq_flush(&f->q), -EAGAIN);
	assert_true(f->q.n_msgs < before);
	assert_true(f->q.n_msgs > 0);
	while (evq_flush(&f->q) == -EAGAIN)
		(void)drain(f);
	(void)drain(f);
	assert_int_equal(f->q.n_msgs, 0);
	assert_int_equal(f->q.n_bytes, 0);
	assert_int_equal(f->next_rx, f->sent);
	assert_int_equal(f->lost, 0);
}

/* With a loop: UV_WRITABLE flushes the queue once the reader reads. */
static void
test_loop_flushes(void **state)
{
	struct fix *f = *state;

	init_q(f, 32, 1 << 20, 1);
	fill(f, 32);
	assert_int_equal(offer(f, 300), -ENOBUFS);
	assert_true(f->q.polling);
	assert_false(f->q.turning);
	for (int i = 0; i < 1000 && (f->q.n_msgs || f->q.n_unreported); i++) {
		(void)drain(f);
		(void)uv_run(&f->loop, UV_RUN_NOWAIT);
	}
	(void)drain(f);
	assert_int_equal(f->q.n_msgs, 0);
	assert_false(f->q.polling);
	assert_int_equal(f->lost, 1);
	assert_int_equal(f->next_rx, f->sent);
	assert_int_equal(evq_close(&f->q, 0), 0);
}

/*
 * With a loop: events wait for the timer the first one started (a later one
 * does not push it back), then go in one sendmmsg, in order.
 */
static void
test_turn_batches(void **state)
{
	struct fix *f = *state;
	uint64_t due;

	init_q(f, 64, 1 << 20, 1);
	assert_int_equal(offer(f, 10), 0);
	assert_true(f->q.turning);
	due = uv_timer_get_due_in(&f->q.turn);
	for (int i = 0; i < 4; i++)
		assert_int_equal(offer(f, 10), 0);
	assert_true(uv_timer_get_due_in(&f->q.turn) <= due);
	assert_int_equal(f->q.n_msgs, 5);
	assert_true(f->q.turning);
	assert_false(f->q.polling);
	assert_int_equal(drain(f), 0);       /* nothing sent yet */
	(void)uv_run(&f->loop, UV_RUN_ONCE); /* blocks until the timer is due */
	assert_int_equal(f->q.n_msgs, 0);
	assert_false(f->q.turning); /* idle: no timer runs */
	assert_int_equal(drain(f), 5);
	assert_int_equal(f->next_rx, f->sent);
	assert_int_equal(f->tx.seq_out, 5);
	assert_int_equal(evq_close(&f->q, 0), 0);
}

/*
 * Events not yet sent never make a drop: a queue that would be full goes to
 * the socket first, and only what the socket refuses stays.
 */
static void
test_no_drop_while_socket_has_room(void **state)
{
	struct fix *f = *state;

	init_q(f, 4, 1 << 20, 1);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(offer(f, 10), 0);
		if (i % 3 == 2)
			(void)drain(f); /* the reader keeps up; the loop never runs */
	}
	assert_int_equal(f->q.n_dropped, 0);
	(void)uv_run(&f->loop, UV_RUN_ONCE);
	(void)drain(f);
	assert_int_equal(f->q.n_msgs, 0);
	assert_int_equal(f->next_rx, f->sent);
	assert_int_equal(f->lost, 0);
	assert_int_equal(evq_close(&f->q, 0), 0);
}

/* A full batch goes at once, without waiting for the timer. */
static void
test_batch_goes_at_once(void **state)
{
	struct fix *f = *state;
	int big = 1 << 20;

	(void)setsockopt(f->tx.fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	init_q(f, 4096, 1 << 20, 1);
	for (int i = 0; i < 64; i++)
		assert_int_equal(offer(f, 10), 0);
	assert_int_equal(f->q.n_msgs, 0);
	assert_int_equal(drain(f), 64);
	assert_int_equal(offer(f, 10), 0);
	assert_int_equal(f->q.n_msgs, 1);
	assert_int_equal(evq_close(&f->q, 0), 0); /* flushes at close */
	assert_int_equal(drain(f), 1);
	assert_int_equal(f->next_rx, f->sent);
}

/* The monitor is gone: no blocking, no error per event after the first, all counted. */
static void
test_peer_gone(void **state)
{
	struct fix *f = *state;
	int err;

	init_q(f, 8, 1 << 20, 0);
	while (f->q.n_msgs < 3)
		assert_int_equal(offer(f, 300), 0);
	ipc_peer_close(&f->rx);
	/* EPIPE, or ECONNRESET when the peer closed with messages unread. */
	err = evq_flush(&f->q);
	assert_true(err == -EPIPE || err == -ECONNRESET);
	assert_int_equal(f->q.n_msgs, 0);
	assert_int_equal(f->q.n_failed, 3);
	assert_int_equal(offer(f, 10), err);
	assert_int_equal(offer(f, 10), err);
	assert_int_equal(evq_close(&f->q, 0), 5);
}

/* Closing with events queued and drops unreported counts them as lost. */
static void
test_close_counts(void **state)
{
	struct fix *f = *state;

	init_q(f, 4, 1 << 20, 1);
	fill(f, 4);
	assert_int_equal(offer(f, 300), -ENOBUFS);
	assert_int_equal(offer(f, 300), -ENOBUFS);
	assert_int_equal(evq_close(&f->q, 50), 4 + 2);
	assert_int_equal(f->q.n_msgs, 0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_direct),
	    T(test_fill_and_drop),
	    T(test_byte_bound),
	    T(test_flush_order_and_report),
	    T(test_no_overtaking),
	    T(test_partial_flush),
	    T(test_loop_flushes),
	    T(test_turn_batches),
	    T(test_no_drop_while_socket_has_room),
	    T(test_batch_goes_at_once),
	    T(test_peer_gone),
	    T(test_close_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
