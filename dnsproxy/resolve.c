// SPDX-License-Identifier: MIT
/*
 * The c-ares glue.  c-ares 1.18 forwards a raw query with ares_send() and
 * hands back the raw answer; it fails over across the servers in order and
 * retries over TCP when an answer is truncated.  ARES_FLAG_NOCHECKRESP makes
 * it pass SERVFAIL/REFUSED answers through instead of hiding them, so the
 * client gets what the upstream said.  Its sockets ride on uv_poll handles;
 * its timeouts on one uv_timer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "resolve.h"

struct resolver_sock {
	ares_socket_t fd;
	uv_poll_t poll;
	struct resolver *r;
	struct resolver_sock *next;
};

struct send_ctx {
	resolver_cb cb;
	void *arg;
};

static void resolver_arm_timer(struct resolver *r);

static void
timer_cb(uv_timer_t *t)
{
	struct resolver *r = t->data;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_arm_timer(r);
}

static void
resolver_arm_timer(struct resolver *r)
{
	struct timeval tv, *tvp;

	if (r->closing)
		return;
	tvp = ares_timeout(r->ch, NULL, &tv);
	if (!tvp) {
		uv_timer_stop(&r->timer);
		return;
	}
	uv_timer_start(
	    &r->timer, timer_cb, (uint64_t)tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1, 0);
}

static void
poll_cb(uv_poll_t *h, int status, int events)
{
	struct resolver_sock *s = h->data;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	/* An error on the socket: let c-ares read it and notice. */
	if (status < 0 || (events & UV_READABLE))
		rfd = s->fd;
	if (events & UV_WRITABLE)
		wfd = s->fd;
	ares_process_fd(s->r->ch, rfd, wfd);
	resolver_arm_timer(s->r);
}

static void
sock_free_cb(uv_handle_t *h)
{
	free(h->data);
}

static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct resolver_sock **pp, *s;

	for (pp = &r->socks; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd)
			break;
	s = *pp;
	if (!readable && !writable) {
		if (s) {
			*pp = s->next;
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, sock_free_cb);
		}
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			fatal("calloc");
		s->fd = fd;
		s->r = r;
		if (uv_poll_init_socket(r->loop, &s->poll, fd) < 0)
			fatalx("uv_poll_init_socket");
		s->poll.data = s;
		s->next = r->socks;
		r->socks = s;
	}
	uv_poll_start(
	    &s->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), poll_cb);
}

int
resolver_init(
    struct resolver *r, uv_loop_t *loop, char **servers, size_t n_servers, unsigned timeout_ms)
{
	struct ares_options o;
	char csv[2048] = "";
	size_t used = 0;
	int optmask, st;

	memset(r, 0, sizeof(*r));
	r->loop = loop;
	if (n_servers == 0)
		return -EINVAL;
	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st != ARES_SUCCESS)
		return -ENOMEM;
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = r;
	o.timeout = (int)timeout_ms;
	o.tries = 2;
	optmask = ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	st = ares_init_options(&r->ch, &o, optmask);
	if (st != ARES_SUCCESS)
		return -ENOMEM;
	for (size_t i = 0; i < n_servers; i++) {
		int n = snprintf(csv + used, sizeof(csv) - used, "%s%s", i ? "," : "", servers[i]);

		if (n < 0 || (size_t)n >= sizeof(csv) - used)
			return -E2BIG;
		used += (size_t)n;
	}
	st = ares_set_servers_ports_csv(r->ch, csv);
	if (st != ARES_SUCCESS)
		return -EINVAL;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	return 0;
}

static void
send_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct send_ctx *c = arg;

	(void)timeouts;
	if (status == ARES_SUCCESS && abuf && alen > 0)
		c->cb(c->arg, 0, abuf, (size_t)alen);
	else
		c->cb(c->arg,
		    status == ARES_EDESTRUCTION ? -ECANCELED
		    : status == ARES_ETIMEOUT   ? -ETIMEDOUT
		                                : -EHOSTUNREACH,
		    NULL, 0);
	free(c);
}

void
resolver_send(struct resolver *r, const uint8_t *q, size_t qlen, resolver_cb cb, void *arg)
{
	struct send_ctx *c = malloc(sizeof(*c));

	if (!c) {
		cb(arg, -ENOMEM, NULL, 0);
		return;
	}
	c->cb = cb;
	c->arg = arg;
	ares_send(r->ch, q, (int)qlen, send_cb, c);
	resolver_arm_timer(r);
}

void
resolver_close(struct resolver *r)
{
	if (!r->ch)
		return;
	r->closing = 1;
	/* Pending queries get ARES_EDESTRUCTION; sock_state_cb closes the polls. */
	ares_destroy(r->ch);
	r->ch = NULL;
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, NULL);
	ares_library_cleanup();
}
