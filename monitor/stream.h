/* SPDX-License-Identifier: MIT */
/*
 * The instance's event socket (docs/events.md): readers connect to the
 * listening socket the loader made, send one request line, and get JSON
 * lines, the same bytes as the log file.  Nothing a reader does can make the
 * monitor wait: every write is non-blocking, and a reader whose queue would
 * pass MON_STREAM_QUEUE bytes is cut off and counted.
 */
#ifndef CGFW_MON_STREAM_H
#define CGFW_MON_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#define MON_STREAM_READERS  64           /* at once; more are refused */
#define MON_STREAM_QUEUE    (1U << 20)   /* bytes a reader may fall behind */
#define MON_STREAM_KEEP     256          /* lines kept for a new reader */
#define MON_STREAM_KEEP_MAX (512U << 10) /* ... and at most these bytes of them */
#define MON_STREAM_REQ_MAX  32           /* a request line, its newline included */
#define MON_STREAM_REQ_MS   3000         /* to send it */

struct mon_out;
struct mon_reader;

enum mon_stream_req {
	MON_REQ_BAD = -1,   /* anything else: the reader is cut off */
	MON_REQ_MORE = 0,   /* no newline yet */
	MON_REQ_FOLLOW = 1, /* the kept lines, then live ones until the reader leaves */
	MON_REQ_LAST = 2,   /* the kept lines, then the monitor closes */
};

/*
 * The request in buf (len bytes, all the reader sent so far): "follow" or
 * "last", optionally a space and N (0-99999: at most N kept lines), then a
 * newline and nothing after it.  *ret_n: N, or MON_STREAM_KEEP.
 */
enum mon_stream_req mon_stream_request(const char *buf, size_t len, unsigned *ret_n);

struct mon_stream {
	uv_loop_t *loop;
	struct mon_out *out; /* where READER DROPPED lines go */
	int listen_fd;
	uv_poll_t listen_poll;
	uv_timer_t retry_timer; /* accept failed (no fd left): listen again later */
	uv_timer_t drop_timer;  /* READER DROPPED lines, written outside the line being sent */
	int started;
	struct mon_reader *readers[MON_STREAM_READERS];
	int n_readers;
	struct {
		char *p;
		size_t n;
	} keep[MON_STREAM_KEEP]; /* the last lines, oldest at keep_first */
	size_t keep_first, keep_n, keep_bytes;
	uint64_t served;  /* readers that sent a request */
	uint64_t dropped; /* cut off for falling behind */
	uint64_t refused; /* beyond MON_STREAM_READERS */
	uint64_t bad;     /* no valid request in time */
	uint64_t drops_unsaid;
	char drop_reason[160];
};

/* Takes listen_fd (a listening SOCK_STREAM socket) onto loop; out->stream is set to it. */
void mon_stream_start(struct mon_stream *s, uv_loop_t *loop, int listen_fd, struct mon_out *out);
/* One JSON line, to every following reader and the kept lines (out->stream). */
void mon_stream_line(void *ctx, const char *line, size_t n);
/* Closes the readers and the handles (the loop runs dry after), frees what it kept. */
void mon_stream_stop(struct mon_stream *s);

#endif
