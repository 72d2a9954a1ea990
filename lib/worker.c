// SPDX-License-Identifier: MIT
/*
 * The workers' common life (lib/worker.h), written once.  What is refused on
 * the loader link is fatal: the loader is the worker's only authority, and a
 * link that broke the protocol cannot be trusted again.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sandbox.h"
#include "lib/worker.h"

static void
close_cb(uv_handle_t *h)
{
	(void)h;
}

void
worker_stop(struct worker_rt *rt)
{
	if (rt->stopping)
		return;
	rt->stopping = 1;
	rt->def->stop(rt->ctx);
	if (!rt->started)
		return;
	if (!uv_is_closing((uv_handle_t *)&rt->ipc_poll))
		uv_close((uv_handle_t *)&rt->ipc_poll, close_cb);
	for (int i = 0; i < WORKER_MAX_SIGNALS && rt->def->signals[i]; i++)
		if (!uv_is_closing((uv_handle_t *)&rt->sigs[i]))
			uv_close((uv_handle_t *)&rt->sigs[i], close_cb);
}

static void
ipc_cb(uv_poll_t *h, int status, int events)
{
	struct worker_rt *rt = h->data;
	int r;

	(void)events;
	if (status < 0)
		return;
	r = ipc_drain(rt->loader, rt->def->from_loader, rt->ctx, &rt->stopping);
	if (r == -EPIPE)
		/* The loader is gone: report what is queued and leave. */
		worker_stop(rt);
	else if (r < 0)
		fatalx("loader link: %s", r == -EPROTO ? rt->loader->violation : strerror(-r));
}

static void
sig_cb(uv_signal_t *h, int signum)
{
	(void)signum;
	worker_stop(h->data);
}

/* HELLO out, then HELLO, CONFIG..., COMMIT in: bounded in time, in order. */
static void
handshake(struct worker_rt *rt)
{
	int r;

	r = rt->def->hello(rt->loader);
	if (r < 0)
		fatal_r(r, "cannot greet the loader");
	r = ipc_recv_until(
	    rt->loader, rt->def->from_loader, rt->ctx, IPC_ST_RUNNING, WORKER_HANDSHAKE_MS);
	if (r == -ETIMEDOUT)
		fatalx("no configuration from the loader in time");
	if (r == -EPIPE)
		fatalx("the loader closed the link during the handshake");
	if (r < 0)
		fatalx("loader link: %s", r == -EPROTO ? rt->loader->violation : strerror(-r));
}

int
worker_main(const struct worker_def *def, int argc, char *argv[])
{
	struct worker_rt rt = {.def = def};
	int r;

	(void)argv;
	log_init(def->name, 0);
	if (argc != 1)
		fatalx("takes no arguments; it is started by cgfw-loader");
	rt.ctx = calloc(1, def->ctx_size);
	if (!rt.ctx)
		fatal("calloc");
	def->init(rt.ctx, &rt);
	ipc_peer_init(rt.loader, CGFW_FD_IPC, "loader");
	if (ipc_check_socket(CGFW_FD_IPC, AF_UNIX, SOCK_SEQPACKET) < 0)
		fatalx("fd %d is not the loader's SEQPACKET socket", CGFW_FD_IPC);
	(void)signal(SIGPIPE, SIG_IGN);
	proc_worker_enter();
	handshake(&rt);

	if (uv_loop_init(rt.loop) < 0)
		fatalx("uv_loop_init");
	def->start(rt.ctx);
	uv_poll_init(rt.loop, &rt.ipc_poll, rt.loader->fd);
	rt.ipc_poll.data = &rt;
	uv_poll_start(&rt.ipc_poll, UV_READABLE | UV_DISCONNECT, ipc_cb);
	for (int i = 0; i < WORKER_MAX_SIGNALS && def->signals[i]; i++) {
		uv_signal_init(rt.loop, &rt.sigs[i]);
		rt.sigs[i].data = &rt;
		uv_signal_start(&rt.sigs[i], sig_cb, def->signals[i]);
	}
	rt.started = 1;

	r = sandbox_apply(def->name, def->sandbox);
	if (r < 0)
		fatal_r(r, "cannot install the seccomp filter");
	r = def->ready(rt.loader);
	if (r < 0)
		fatal_r(r, "cannot tell the loader I am ready");

	uv_run(rt.loop, UV_RUN_DEFAULT);
	r = uv_loop_close(rt.loop);
	if (r != 0)
		log_warnx("event loop closed with handles left: %s", uv_strerror(r));
	r = def->finish(rt.ctx);
	free(rt.ctx);
	return r;
}
