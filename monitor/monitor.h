/* SPDX-License-Identifier: MIT */
/*
 * cgfw-monitor as a worker (lib/worker.h): its definition for main.c, and
 * its handlers and state for the unit tests and fuzzers, which link
 * monitor.c without a main().
 */
#ifndef CGFW_MONITOR_H
#define CGFW_MONITOR_H

#include "lib/protocol.h"
#include "lib/worker.h"

struct mon;
struct mon_out;

extern const struct worker_def mon_worker;
extern const struct ipc_handlers mon_from_loader; /* IPC_CH_LOADER_MON */
extern const struct ipc_handlers mon_from_dns;    /* IPC_CH_DNS_MON */
extern const struct ipc_handlers mon_from_http;   /* IPC_CH_HTTP_MON */

/* The peer m receives chan from (its state, fds, violation), or NULL. */
struct ipc_peer *mon_peer(struct mon *m, enum ipc_chan chan);
struct mon_out *mon_out_of(struct mon *m);
/* Frees m (made by mon_worker.init on ctx_size zeroed bytes) and all it holds. */
void mon_release(struct mon *m);

#endif
