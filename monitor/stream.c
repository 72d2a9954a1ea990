// SPDX-License-Identifier: MIT
/*
 * The event socket's readers (stream.h).  The loader made the socket
 * (/run/cgfw/instances/<name>/events.sock, 0660 root:cgfw-log: its mode is
 * the access control); this side accepts, reads one request line per reader
 * (bounded in size and time), and writes JSON lines without ever waiting: a
 * line a reader's socket cannot take at once waits in that reader's queue,
 * and a reader whose queue would pass MON_STREAM_QUEUE is cut off, counted,
 * and said in a READER DROPPED line to everyone else.  Readers are
 * untrusted: all they can do is send a request and read.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "events.h"
#include "stream.h"

enum reader_state { R_REQUEST, R_FOLLOW, R_LAST };

struct mon_reader {
	struct mon_stream *s;
	int fd;
	enum reader_state state;
	int reading; /* still polled for input (its EOF not seen) */
	int closing; /* its handles are being closed */
	int handles; /* open uv handles: freed when none is left */
	uv_poll_t poll;
	uv_timer_t timer; /* the request's deadline */
	char req[MON_STREAM_REQ_MAX];
	size_t req_len;
	char *q; /* what its socket did not take yet: q[q_off..q_len) */
	size_t q_off, q_len, q_cap;
	pid_t pid;
	uid_t uid;
};

enum mon_stream_req
mon_stream_request(const char *buf, size_t len, unsigned *ret_n)
{
	const char *nl = memchr(buf, '\n', len), *p;
	enum mon_stream_req r;
	size_t wl;
	unsigned n = 0;

	if (!nl)
		return len >= MON_STREAM_REQ_MAX - 1 ? MON_REQ_BAD : MON_REQ_MORE;
	if (nl != buf + len - 1)
		return MON_REQ_BAD; /* something after the line */
	if (len >= 7 && !memcmp(buf, "follow", 6)) {
		r = MON_REQ_FOLLOW;
		wl = 6;
	} else if (len >= 5 && !memcmp(buf, "last", 4)) {
		r = MON_REQ_LAST;
		wl = 4;
	} else {
		return MON_REQ_BAD;
	}
	p = buf + wl;
	*ret_n = MON_STREAM_KEEP;
	if (*p == '\n')
		return r;
	if (*p != ' ' || p[1] < '0' || p[1] > '9')
		return MON_REQ_BAD;
	for (p++; *p >= '0' && *p <= '9'; p++) {
		if (n > 9999)
			return MON_REQ_BAD;
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (*p != '\n')
		return MON_REQ_BAD;
	*ret_n = n < MON_STREAM_KEEP ? n : MON_STREAM_KEEP;
	return r;
}

static void
reader_close_cb(uv_handle_t *h)
{
	struct mon_reader *r = h->data;

	if (--r->handles == 0) {
		free(r->q);
		free(r);
	}
}

/* Gone, cut off or done: out of the list, its socket closed, freed once its handles are. */
static void
reader_close(struct mon_reader *r)
{
	struct mon_stream *s = r->s;

	if (r->closing)
		return;
	r->closing = 1;
	for (int i = 0; i < s->n_readers; i++)
		if (s->readers[i] == r) {
			s->readers[i] = s->readers[--s->n_readers];
			break;
		}
	/* Unread input would make the reader's last reads fail (ECONNRESET). */
	for (int i = 0; i < 16; i++) {
		char junk[512];

		if (recv(r->fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
			break;
	}
	uv_close((uv_handle_t *)&r->poll, reader_close_cb);
	uv_close((uv_handle_t *)&r->timer, reader_close_cb);
	(void)close(r->fd);
}

static void reader_cb(uv_poll_t *h, int status, int events);
static void drop_cb(uv_timer_t *h);

/* Poll for what it waits on: input until its EOF, room while its queue holds bytes. */
static void
reader_poll(struct mon_reader *r)
{
	int ev = (r->reading ? UV_READABLE : 0) | (r->q_len > r->q_off ? UV_WRITABLE : 0);

	if (r->closing)
		return;
	if (ev)
		uv_poll_start(&r->poll, ev, reader_cb);
	else
		uv_poll_stop(&r->poll);
}

/* Cut off for falling behind: counted, and said once the line being sent is out. */
static void
reader_drop(struct mon_reader *r)
{
	struct mon_stream *s = r->s;

	s->dropped++;
	s->drops_unsaid++;
	snprintf(s->drop_reason, sizeof(s->drop_reason),
	    "an event socket reader (uid %u, pid %d) fell %u KiB behind and was cut off",
	    (unsigned)r->uid, (int)r->pid, MON_STREAM_QUEUE >> 10);
	log_debug("%s", s->drop_reason);
	reader_close(r);
	if (s->started)
		uv_timer_start(&s->drop_timer, drop_cb, 0, 0);
}

/* Writes what it can of the queue; 0, or -1 when the reader was closed. */
static int
reader_flush(struct mon_reader *r)
{
	while (r->q_len > r->q_off) {
		ssize_t w =
		    send(r->fd, r->q + r->q_off, r->q_len - r->q_off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			reader_close(r); /* it went away */
			return -1;
		}
		r->q_off += (size_t)w;
	}
	if (r->q_off == r->q_len)
		r->q_off = r->q_len = 0;
	if (r->state == R_LAST && r->q_len == 0) {
		reader_close(r); /* all it asked for is out */
		return -1;
	}
	reader_poll(r);
	return 0;
}

/* One line to a reader: straight into its socket, the rest queued, bounded. */
static void
reader_send(struct mon_reader *r, const char *line, size_t n)
{
	if (r->q_len == 0) {
		ssize_t w;

		do
			w = send(r->fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			reader_close(r);
			return;
		}
		if (w == (ssize_t)n)
			return;
		if (w > 0) {
			line += w;
			n -= (size_t)w;
		}
	}
	if (r->q_len - r->q_off + n > MON_STREAM_QUEUE) {
		reader_drop(r);
		return;
	}
	if (r->q_off && r->q_len + n > r->q_cap) {
		memmove(r->q, r->q + r->q_off, r->q_len - r->q_off);
		r->q_len -= r->q_off;
		r->q_off = 0;
	}
	if (r->q_len + n > r->q_cap) {
		size_t cap = r->q_cap ? r->q_cap : 64 << 10;
		char *q;

		while (cap < r->q_len + n)
			cap *= 2;
		q = realloc(r->q, cap);
		if (!q) {
			reader_drop(r);
			return;
		}
		r->q = q;
		r->q_cap = cap;
	}
	memcpy(r->q + r->q_len, line, n);
	r->q_len += n;
	reader_poll(r);
}

/* The request arrived: the kept lines (the last n of them), then live ones or the end. */
static void
reader_start(struct mon_reader *r, enum mon_stream_req req, unsigned n)
{
	struct mon_stream *s = r->s;
	size_t first = s->keep_n > n ? s->keep_n - n : 0;

	uv_timer_stop(&r->timer);
	s->served++;
	r->state = req == MON_REQ_FOLLOW ? R_FOLLOW : R_LAST;
	log_debug("event socket reader (uid %u, pid %d): %s %u", (unsigned)r->uid, (int)r->pid,
	    req == MON_REQ_FOLLOW ? "follow" : "last", n);
	for (size_t i = first; i < s->keep_n && !r->closing; i++) {
		size_t k = (s->keep_first + i) % MON_STREAM_KEEP;

		reader_send(r, s->keep[k].p, s->keep[k].n);
	}
	if (!r->closing)
		(void)reader_flush(r);
}

static void
reader_bad(struct mon_reader *r, const char *why)
{
	r->s->bad++;
	log_debug("event socket reader (uid %u, pid %d): %s; cut off", (unsigned)r->uid,
	    (int)r->pid, why);
	reader_close(r);
}

static void
reader_timeout_cb(uv_timer_t *h)
{
	reader_bad(h->data, "no request in time");
}

/* Its input: the request, then only its EOF matters (anything else is ignored). */
static void
reader_input(struct mon_reader *r)
{
	char junk[256];
	ssize_t n;

	if (r->state == R_REQUEST) {
		enum mon_stream_req req;
		unsigned keep = 0;

		n = recv(r->fd, r->req + r->req_len, sizeof(r->req) - r->req_len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			reader_bad(r, n == 0 ? "closed before its request" : strerror(errno));
			return;
		}
		r->req_len += (size_t)n;
		req = mon_stream_request(r->req, r->req_len, &keep);
		if (req == MON_REQ_BAD)
			reader_bad(r, "not a request (follow or last)");
		else if (req != MON_REQ_MORE)
			reader_start(r, req, keep);
		return;
	}
	n = recv(r->fd, junk, sizeof(junk), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		return;
	/* EOF: a reader that only shut down its sending side still reads. */
	{
		struct pollfd p = {.fd = r->fd, .events = POLLOUT};

		if (n < 0 || (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))) {
			reader_close(r);
			return;
		}
	}
	r->reading = 0;
	reader_poll(r);
}

static void
reader_cb(uv_poll_t *h, int status, int events)
{
	struct mon_reader *r = h->data;

	if (status < 0) {
		reader_close(r);
		return;
	}
	if (events & (UV_READABLE | UV_DISCONNECT))
		reader_input(r);
	if (!r->closing && (events & UV_WRITABLE))
		(void)reader_flush(r);
}

static void listen_cb(uv_poll_t *h, int status, int events);

static void
retry_cb(uv_timer_t *h)
{
	struct mon_stream *s = h->data;

	uv_poll_start(&s->listen_poll, UV_READABLE, listen_cb);
}

static void
reader_new(struct mon_stream *s, int fd)
{
	struct mon_reader *r = calloc(1, sizeof(*r));
	struct ucred cred = {.pid = -1, .uid = (uid_t)-1};
	socklen_t len = sizeof(cred);

	if (!r) {
		(void)close(fd);
		return;
	}
	(void)getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	r->s = s;
	r->fd = fd;
	r->pid = cred.pid;
	r->uid = cred.uid;
	r->reading = 1;
	r->handles = 2;
	uv_poll_init(s->loop, &r->poll, fd);
	r->poll.data = r;
	uv_timer_init(s->loop, &r->timer);
	r->timer.data = r;
	uv_timer_start(&r->timer, reader_timeout_cb, MON_STREAM_REQ_MS, 0);
	s->readers[s->n_readers++] = r;
	log_debug("event socket: reader uid %u pid %d connected (%d now)", (unsigned)r->uid,
	    (int)r->pid, s->n_readers);
	reader_poll(r);
}

static void
listen_cb(uv_poll_t *h, int status, int events)
{
	struct mon_stream *s = h->data;

	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* No fd left (EMFILE...): listen again in a second, not in a busy loop. */
			log_warn("event socket: accept");
			uv_poll_stop(&s->listen_poll);
			uv_timer_start(&s->retry_timer, retry_cb, 1000, 0);
			return;
		}
		if (s->n_readers >= MON_STREAM_READERS) {
			if (s->refused++ == 0)
				log_warnx(
				    "event socket: more than %d readers at once; refusing the "
				    "next ones (counted)",
				    MON_STREAM_READERS);
			(void)close(fd);
			continue;
		}
		reader_new(s, fd);
	}
}

/* The READER DROPPED line, once the line whose sending dropped the reader is out. */
static void
drop_cb(uv_timer_t *h)
{
	struct mon_stream *s = h->data;

	if (!s->drops_unsaid)
		return;
	s->drops_unsaid = 0;
	(void)mon_reader_dropped_emit(s->out, s->dropped, s->drop_reason);
}

void
mon_stream_start(struct mon_stream *s, uv_loop_t *loop, int listen_fd, struct mon_out *out)
{
	s->loop = loop;
	s->out = out;
	s->listen_fd = listen_fd;
	uv_poll_init(loop, &s->listen_poll, listen_fd);
	s->listen_poll.data = s;
	uv_timer_init(loop, &s->retry_timer);
	s->retry_timer.data = s;
	uv_timer_init(loop, &s->drop_timer);
	s->drop_timer.data = s;
	uv_poll_start(&s->listen_poll, UV_READABLE, listen_cb);
	s->started = 1;
	out->stream = mon_stream_line;
	out->stream_ctx = s;
}

/* Keeps the line for readers to come: the last MON_STREAM_KEEP, bounded in bytes. */
static void
keep_line(struct mon_stream *s, const char *line, size_t n)
{
	char *p;

	if (n > MON_STREAM_KEEP_MAX)
		return;
	while (s->keep_n &&
	       (s->keep_n == MON_STREAM_KEEP || s->keep_bytes + n > MON_STREAM_KEEP_MAX)) {
		free(s->keep[s->keep_first].p);
		s->keep_bytes -= s->keep[s->keep_first].n;
		s->keep_first = (s->keep_first + 1) % MON_STREAM_KEEP;
		s->keep_n--;
	}
	p = malloc(n);
	if (!p)
		return;
	memcpy(p, line, n);
	s->keep[(s->keep_first + s->keep_n) % MON_STREAM_KEEP].p = p;
	s->keep[(s->keep_first + s->keep_n) % MON_STREAM_KEEP].n = n;
	s->keep_n++;
	s->keep_bytes += n;
}

void
mon_stream_line(void *ctx, const char *line, size_t n)
{
	struct mon_stream *s = ctx;

	keep_line(s, line, n);
	/* Backwards: a reader that is closed leaves the last one in its place. */
	for (int i = s->n_readers - 1; i >= 0; i--)
		if (i < s->n_readers && s->readers[i]->state == R_FOLLOW)
			reader_send(s->readers[i], line, n);
}

static void
stream_close_cb(uv_handle_t *h)
{
	(void)h;
}

void
mon_stream_stop(struct mon_stream *s)
{
	if (s->started) {
		drop_cb(&s->drop_timer);
		s->started = 0;
		/* What their sockets take now they read, then EOF; the rest is lost. */
		while (s->n_readers) {
			struct mon_reader *r = s->readers[0];

			if (reader_flush(r) == 0)
				reader_close(r);
		}
		uv_close((uv_handle_t *)&s->listen_poll, stream_close_cb);
		uv_close((uv_handle_t *)&s->retry_timer, stream_close_cb);
		uv_close((uv_handle_t *)&s->drop_timer, stream_close_cb);
		if (s->out->stream_ctx == s)
			s->out->stream = NULL;
	}
	for (size_t i = 0; i < s->keep_n; i++)
		free(s->keep[(s->keep_first + i) % MON_STREAM_KEEP].p);
	s->keep_n = 0;
	s->keep_bytes = 0;
}
