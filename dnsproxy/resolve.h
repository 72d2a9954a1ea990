/* SPDX-License-Identifier: MIT */
/* c-ares on the libuv loop: raw queries out, raw answers back. */
#ifndef CGFW_DNS_RESOLVE_H
#define CGFW_DNS_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include <ares.h>
#include <uv.h>

struct resolver_sock;

struct resolver {
	ares_channel ch;
	uv_loop_t *loop;
	uv_timer_t timer;
	struct resolver_sock *socks;
	int closing;
};

/*
 * status: 0 with the raw answer, -ETIMEDOUT (no server answered in time),
 * -EHOSTUNREACH (none could be reached, e.g. ICMP port unreachable) or
 * -ECANCELED (resolver_close).
 */
typedef void (*resolver_cb)(void *arg, int status, const uint8_t *abuf, size_t alen);

/* servers: "IP" or "IP:PORT", in failover order. */
int resolver_init(
    struct resolver *r, uv_loop_t *loop, char **servers, size_t n_servers, unsigned timeout_ms);
void resolver_send(struct resolver *r, const uint8_t *q, size_t qlen, resolver_cb cb, void *arg);
void resolver_close(struct resolver *r);

#endif
