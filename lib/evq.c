// SPDX-License-Identifier: MIT
/*
 * A proxy's events must not wait for the monitor: a DNS answer held up by a
 * stopped or slow monitor is an outage caused by logging.  So an event goes
 * straight to the socket when it has room, else into a queue bounded by count
 * and bytes, which a uv_poll_t on UV_WRITABLE flushes in order.  A full queue
 * drops the event and counts it; the count becomes an EventsLost message
 * queued as soon as there is room again, so it lands in the record exactly
 * where the missing events were.  Sequence numbers are spent when a message
 * is queued, never by a dropped one, so the receiver's check still holds.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/evq.h"

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
	q->poll.data = q;
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

static void free_queue(struct evq *q);
static void poll_cb(uv_poll_t *h, int status, int events);

/* Watch for room only while something waits. */
static void
update_poll(struct evq *q)
{
	int want = q->head != NULL && !q->err;

	if (!q->have_poll || want == q->polling || uv_is_closing((uv_handle_t *)&q->poll))
		return;
	if (want)
		want = uv_poll_start(&q->poll, UV_WRITABLE, poll_cb) == 0;
	else
		(void)uv_poll_stop(&q->poll);
	q->polling = want;
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
	if (!q->head) {
		cgfw__envelope__pack(env, buf);
		r = sendmsg_once(q->peer->fd, buf, (size_t)len);
		if (r == 0) {
			q->peer->seq_out++;
			return 0;
		}
		if (r != -EAGAIN)
			return fail(q, r);
	}
	if (q->n_msgs >= q->max_msgs || q->n_bytes + (size_t)len > q->max_bytes)
		return -ENOBUFS;
	m = malloc(sizeof(*m) + (size_t)len);
	if (!m)
		return -ENOBUFS;
	m->next = NULL;
	m->len = (size_t)len;
	if (q->head)
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
	return r;
}

int
evq_flush(struct evq *q)
{
	struct evq_msg *m;
	int r;

	while ((m = q->head) && !q->err) {
		r = sendmsg_once(q->peer->fd, m->data, m->len);
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return fail(q, r);
		q->head = m->next;
		if (!q->head)
			q->tail = NULL;
		q->n_msgs--;
		q->n_bytes -= m->len;
		free(m);
	}
	if (q->n_unreported && !q->err)
		(void)push_lost(q);
	update_poll(q);
	if (q->err)
		return q->err;
	return q->head ? -EAGAIN : 0;
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	(void)status; /* an error shows in the next sendmsg */
	(void)events;
	(void)evq_flush(h->data);
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
	if (q->have_poll && !uv_is_closing((uv_handle_t *)&q->poll))
		uv_close((uv_handle_t *)&q->poll, NULL);
	q->polling = 0;
	return lost;
}
