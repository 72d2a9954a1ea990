/* SPDX-License-Identifier: MIT */
/*
 * cgfw-dnsproxy as a worker (lib/worker.h): its definition for main.c, and
 * its handlers and state for the unit tests and fuzzers, which link
 * dnsproxy.c without a main().
 */
#ifndef CGFW_DNSPROXY_H
#define CGFW_DNSPROXY_H

#include "lib/protocol.h"
#include "lib/worker.h"

struct dns;

extern const struct worker_def dns_worker;
extern const struct ipc_handlers dns_from_loader; /* IPC_CH_LOADER_DNS */

struct ipc_peer *dns_loader_peer(struct dns *d);
/* Frees d (made by dns_worker.init on ctx_size zeroed bytes) and all it holds. */
void dns_release(struct dns *d);

#endif
