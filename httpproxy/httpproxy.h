/* SPDX-License-Identifier: MIT */
/*
 * cgfw-httpproxy as a worker (lib/worker.h): its definition for main.c, and
 * its handlers and state for the unit tests and fuzzers, which link
 * httpproxy.c without a main().
 */
#ifndef CGFW_HTTPPROXY_H
#define CGFW_HTTPPROXY_H

#include "lib/protocol.h"
#include "lib/worker.h"

struct http;

extern const struct worker_def http_worker;
extern const struct ipc_handlers http_from_loader; /* IPC_CH_LOADER_HTTP */

struct ipc_peer *http_loader_peer(struct http *h);
/* Frees h (made by http_worker.init on ctx_size zeroed bytes) and all it holds. */
void http_release(struct http *h);

#endif
