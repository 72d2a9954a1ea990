// SPDX-License-Identifier: MIT
/*
 * A proxy's events must not wait for the monitor: a DNS answer held up by a
 * stopped or slow monitor is an outage caused by logging.  So an event goes
 * into a queue bounded by count and bytes, and the queue goes to the socket
 * in order, up to EVQ_BATCH datagrams per sendmmsg() (still one datagram per
 * event): EVQ_DELAY_MS after the first event that waits, from a uv_timer_t
 * (whichever callback queued the event; later events never push it back),
 * at once when EVQ_BATCH wait or the queue would be full, and on UV_WRITABLE
 * (a uv_poll_t) while the socket has no room.  Only a socket with no room
 * makes the queue fill; then an event is dropped and counted, and the count
 * becomes an EventsLost message queued as soon as there is room again, so it
 * lands in the record exactly where the missing events were.  Sequence
 * numbers are spent when a message is queued, never by a dropped one, so the
 * receiver's check still holds.  Without a loop (tests) an event goes
 * straight to the socket when nothing waits before it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/evq.h"
#include "lib/log.h"

/* Datagrams per sendmmsg(). */
#define EVQ_BATCH    64
/*
 * How long the first queued event waits for others to go with it.  Per turn
 * of the loop, a proxy under load woke the monitor every two or three
 * requests, and those wake-ups and the monitor's turns were a fifth of the
 * CPU of a proxied request on a small VM (docs/performance.md).
 */
#define EVQ_DELAY_MS 1

struct evq_msg {
	struct evq_msg *next;
	size_t len;
	uint8_t data[];
};

int
evq_init(struct evq *q, uv_loop_t *loop, struct ipc_peer *p,
    void (*lost_env)(Cgfw__Envelope *env, Cgfw__EventsLost *lost), size_t max_msgs,
    size_t max_bytes)
{
	int r;

	memset(q, 0, sizeof(*q));
	q->peer = p;
	q->lost_env = lost_env;
	q->max_msgs = max_msgs;
	q->max_bytes = max_bytes;
	if (!loop)
		return 0;
	r = uv_poll_init(loop, &q->poll, p->fd);
	if (r < 0)
		return r;
	r = uv_timer_init(loop, &q->turn);
	if (r < 0) {
		uv_close((uv_handle_t *)&q->poll, NULL);
		return r;
	}
	q->poll.data = q->turn.data = q;
	q->have_poll = 1;
	return 0;
}

static int
sendmsg_once(int fd, const uint8_t *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	do {
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * Sends the queue's first datagrams, up to EVQ_BATCH, with one sendmmsg().
 * Returns how many went (> 0), -EAGAIN when the socket has no room, or -errno.
 */
static int
sendmmsg_head(struct evq *q)
{
	struct mmsghdr mm[EVQ_BATCH];
	struct iovec iov[EVQ_BATCH];
	struct evq_msg *m = q->head;
	unsigned n = 0;
	int r;

	for (; m && n < EVQ_BATCH; m = m->next, n++) {
		iov[n] = (struct iovec){.iov_base = m->data, .iov_len = m->len};
		mm[n] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[n], .msg_iovlen = 1}};
	}
	do {
		r = sendmmsg(q->peer->fd, mm, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (r == 0)
		return -EAGAIN;
	/* SOCK_SEQPACKET: a datagram goes whole or not at all. */
	for (int i = 0; i < r; i++)
		if (mm[i].msg_len != iov[i].iov_len)
			return -EIO;
	return r;
}

static void free_queue(struct evq *q);
static void poll_cb(uv_poll_t *h, int status, int events);
static void turn_cb(uv_timer_t *h);

/*
 * While something waits: watch for room when the socket had none (q->full),
 * else flush before the loop blocks again.  Neither keeps running idle.
 */
static void
update_poll(struct evq *q)
{
	int live = q->have_poll && !uv_is_closing((uv_handle_t *)&q->poll);
	int want = q->head != NULL && !q->err && q->full;
	int want_turn = q->head != NULL && !q->err && !q->full;

	if (!live)
		return;
	if (want != q->polling) {
		if (want)
			want = uv_poll_start(&q->poll, UV_WRITABLE, poll_cb) == 0;
		else
			(void)uv_poll_stop(&q->poll);
		q->polling = want;
	}
	/* Started once for the first event that waits, never pushed back by later ones. */
	if (want_turn != q->turning) {
		if (want_turn)
			want_turn = uv_timer_start(&q->turn, turn_cb, EVQ_DELAY_MS, 0) == 0;
		else
			(void)uv_timer_stop(&q->turn);
		q->turning = want_turn;
	}
}

/* The peer is gone or the socket broke: what is queued will never arrive. */
static int
fail(struct evq *q, int err)
{
	q->err = err;
	q->n_failed += q->n_msgs;
	free_queue(q);
	update_poll(q);
	return err;
}

static int
no_room(const struct evq *q, size_t len)
{
	return q->n_msgs >= q->max_msgs || q->n_bytes + len > q->max_bytes;
}

/* Sends or queues env; -ENOBUFS if the queue has no room for it. */
static int
push(struct evq *q, Cgfw__Envelope *env)
{
	uint8_t buf[CGFW_IPC_MAX];
	struct evq_msg *m;
	ssize_t len = ipc_prepare(q->peer, env);
	int r;

	if (len < 0)
		return (int)len;
	if (!q->head && !q->have_poll) {
		/* No loop to flush a batch: straight to the socket if it takes it. */
		cgfw__envelope__pack(env, buf);
		r = sendmsg_once(q->peer->fd, buf, (size_t)len);
		if (r == 0) {
			q->peer->seq_out++;
			return 0;
		}
		if (r != -EAGAIN)
			return fail(q, r);
		q->full = 1;
	}
	/* Only a socket with no room drops events, never a batch not yet sent. */
	if (no_room(q, (size_t)len) && !q->full) {
		r = evq_flush(q);
		if (r < 0 && r != -EAGAIN)
			return r;
	}
	if (no_room(q, (size_t)len))
		return -ENOBUFS;
	m = malloc(sizeof(*m) + (size_t)len);
	if (!m)
		return -ENOBUFS;
	m->next = NULL;
	m->len = (size_t)len;
	if (q->head || q->have_poll)
		cgfw__envelope__pack(env, m->data);
	else
		memcpy(m->data, buf, (size_t)len);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->n_msgs++;
	q->n_bytes += (size_t)len;
	q->peer->seq_out++;
	if (q->n_msgs >= EVQ_BATCH && !q->full)
		(void)evq_flush(q); /* a full batch goes now; errors show in q->err */
	else
		update_poll(q);
	return 0;
}

/* The drops since the last report, as this channel's EventsLost. */
static int
push_lost(struct evq *q)
{
	Cgfw__Envelope env = CGFW__ENVELOPE__INIT;
	Cgfw__EventsLost lost = CGFW__EVENTS_LOST__INIT;
	int r;

	lost.count = q->n_unreported;
	q->lost_env(&env, &lost);
	r = push(q, &env);
	if (r == 0)
		q->n_unreported = 0;
	return r;
}

int
evq_send(struct evq *q, Cgfw__Envelope *env)
{
	int r;

	if (q->err) {
		q->n_failed++;
		return q->err;
	}
	r = q->n_unreported ? push_lost(q) : 0;
	if (r == 0)
		r = push(q, env);
	if (r == -ENOBUFS) {
		q->n_unreported++;
		q->n_dropped++;
	} else if (r < 0 && q->err) {
		q->n_failed++;
	}
	/* Once per stall and once per broken channel, not once per event. */
	if (r == -ENOBUFS && q->n_unreported == 1)
		log_warnx("the monitor is not reading: events are dropped and counted");
	else if (r < 0 && r != -ENOBUFS && !q->said_err) {
		q->said_err = 1;
		log_warn_r(r, "cannot send events to the monitor; they are lost from now on");
	}
	return r;
}

int
evq_flush(struct evq *q)
{
	struct evq_msg *m;
	int r;

	if (q->flushing) /* push_lost() below, or a full queue in push() */
		return q->err ? q->err : -EAGAIN;
	q->flushing = 1;
	for (;;) {
		while (q->head && !q->err) {
			r = sendmmsg_head(q);
			if (r == -EAGAIN) {
				q->full = 1;
				break;
			}
			if (r < 0) {
				(void)fail(q, r);
				break;
			}
			q->full = 0;
			for (; r > 0; r--) {
				m = q->head;
				q->head = m->next;
				if (!q->head)
					q->tail = NULL;
				q->n_msgs--;
				q->n_bytes -= m->len;
				free(m);
			}
		}
		/* The report of the drops, as soon as the queue has room; sent now if the socket has. */
		if (q->err || !q->n_unreported || push_lost(q) < 0 || q->full)
			break;
	}
	q->flushing = 0;
	update_poll(q);
	if (q->err)
		return q->err;
	return q->head ? -EAGAIN : 0;
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct evq *q = h->data;

	(void)status; /* an error shows in the next sendmmsg */
	(void)events;
	q->full = 0;
	(void)evq_flush(q);
}

/* EVQ_DELAY_MS after the first event that waits: what was queued since goes out. */
static void
turn_cb(uv_timer_t *h)
{
	struct evq *q = h->data;

	q->turning = 0; /* a one-shot timer: it has stopped */
	if (!q->full)
		(void)evq_flush(q);
	update_poll(q);
}

static void
free_queue(struct evq *q)
{
	struct evq_msg *m;

	while ((m = q->head)) {
		q->head = m->next;
		free(m);
	}
	q->tail = NULL;
	q->n_msgs = 0;
	q->n_bytes = 0;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

uint64_t
evq_close(struct evq *q, int wait_ms)
{
	struct timespec t0;
	uint64_t lost;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!q->err && (q->head || q->n_unreported)) {
		struct pollfd pfd = {.fd = q->peer->fd, .events = POLLOUT};
		long left;
		int r = evq_flush(q);

		if (r != -EAGAIN)
			break;
		left = wait_ms - ms_since(&t0);
		if (left <= 0 || (poll(&pfd, 1, (int)left) < 0 && errno != EINTR))
			break;
	}
	lost = q->n_failed + q->n_msgs + q->n_unreported;
	free_queue(q);
	if (q->have_poll && !uv_is_closing((uv_handle_t *)&q->poll)) {
		uv_close((uv_handle_t *)&q->poll, NULL);
		uv_close((uv_handle_t *)&q->turn, NULL);
	}
	q->polling = q->turning = 0;
	if (lost)
		log_warnx("%llu events never reached the monitor", (unsigned long long)lost);
	return lost;
}
