/* SPDX-License-Identifier: MIT */
/*
 * The one runtime of the workers (cgfw-monitor, cgfw-dnsproxy,
 * cgfw-httpproxy).  worker_main() does, in this order: no arguments, fd 3 is
 * the loader's SEQPACKET socket, SIGPIPE ignored, proc_worker_enter() (not
 * dumpable, every other fd closed, no privilege left), HELLO to the loader
 * and its configuration until the link is RUNNING (bounded in time), the
 * worker's start(), the loader link and the stop signals on the uv loop, the
 * seccomp sandbox, READY, the loop until it runs dry, finish().  A worker
 * supplies only a struct worker_def: its handlers, sandbox additions and
 * callbacks.
 */
#ifndef CGFW_WORKER_H
#define CGFW_WORKER_H

#include <stddef.h>

#include <uv.h>

#include "lib/protocol.h"

#define WORKER_MAX_SIGNALS  2
#define WORKER_HANDSHAKE_MS 10000

struct worker_rt;

struct worker_def {
	const char *name; /* "cgfw-dnsproxy": the log prefix and the sandbox's name */
	int (*hello)(struct ipc_peer *loader); /* its HELLO: ipc_send_dns_loader_hello */
	int (*ready)(struct ipc_peer *loader); /* its READY: ipc_send_dns_loader_ready */
	const struct ipc_handlers *from_loader;
	const char *const *sandbox;      /* syscalls beyond the base set (lib/sandbox.c) */
	int signals[WORKER_MAX_SIGNALS]; /* each stops the worker; 0 ends the list */
	size_t ctx_size;                 /* the worker's own state, zeroed */
	/* Defaults (fds at -1); hands rt its loop and its loader peer.  Before the handshake. */
	void (*init)(void *ctx, struct worker_rt *rt);
	/* Configured: its handles on the loop, before the sandbox.  Fatal on failure. */
	void (*start)(void *ctx);
	/* Drain, report (STATS), close its handles; worker_stop() calls it once. */
	void (*stop)(void *ctx);
	/* The loop ran dry: the exit status. */
	int (*finish)(void *ctx);
};

struct worker_rt {
	const struct worker_def *def;
	void *ctx;
	uv_loop_t *loop;         /* the worker's */
	struct ipc_peer *loader; /* the worker's, at CGFW_FD_IPC */
	uv_poll_t ipc_poll;
	uv_signal_t sigs[WORKER_MAX_SIGNALS];
	int started; /* the handles above exist */
	int stopping;
};

/* The whole life of a worker process: main() is this one call. */
int worker_main(const struct worker_def *def, int argc, char *argv[]);
/*
 * Stop once: the worker's stop(), then the runtime's handles.  The loader's
 * SHUTDOWN, a signal, or the loader closing the link.
 */
void worker_stop(struct worker_rt *rt);

#endif
