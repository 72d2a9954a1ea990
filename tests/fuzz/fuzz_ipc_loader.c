// SPDX-License-Identifier: MIT
/*
 * What the loader's process receives from its workers once it is
 * cgfw-supervisor (the protocol's "loader" side), fed datagrams from three
 * hostile workers (tests/fuzz/ipc_harness.h: peer 0 the monitor, 1 the DNS
 * proxy, 2 the HTTP proxy), through the real decode and dispatch into
 * supervisor/workers.c's handlers with a real struct sup.  A few refused syscalls
 * wait for the monitor's REPORTED, and a reload waits for RELOADED of
 * generation 1 (as workers_reload_send() leaves it); nothing is answered
 * for real (no seccomp listener).
 */
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_harness.h"
#include "supervisor/supervisor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ipc_handlers *const tables[W_N] = {
	    [W_MON] = &loader_from_mon, [W_DNS] = &loader_from_dns, [W_HTTP] = &loader_from_http};
	static struct seccomp_notif_resp resp;
	struct sup *l = calloc(1, sizeof(*l));
	struct fuzz_ipc_record rec;
	int cut[W_N] = {0};

	if (!l)
		abort();
	fuzz_ipc_begin();
	l->notify_fd = -1;
	l->nresp = &resp;
	/* A reload asked for, as workers_reload_send() leaves it: RELOADED 1 is taken. */
	l->reload_gen = l->reload_tried = 1;
	for (int i = 0; i < 3; i++) {
		l->pending[i].id = (uint64_t)i + 1;
		l->n_pending++;
	}
	for (int i = 0; i < W_N; i++) {
		l->w[i].name = worker_names[i];
		l->w[i].table = tables[i];
		ipc_peer_init(&l->w[i].ipc, -1, worker_names[i]);
	}
	for (int i = 0; i < FUZZ_IPC_MAX_RECORDS && fuzz_ipc_next(&data, &size, &rec); i++) {
		struct worker *w = &l->w[rec.peer % W_N];
		int before = w->ipc.state;

		if (cut[rec.peer % W_N])
			continue;
		if (fuzz_ipc_feed(&w->ipc, w->table, l, &rec) < 0) {
			cut[rec.peer % W_N] = 1; /* worker_lost(): the link closes */
			if (w->ipc.state != before)
				abort();
		}
		/* Only a worker that said READY is ready; STATS means done. */
		if (w->ready != (w->ipc.state >= IPC_ST_RUNNING))
			abort();
		if (w->done != (w->ipc.state == IPC_ST_DONE))
			abort();
		/* Only the generation asked is ever taken, and only from a running worker. */
		if (w->reloaded && (w->reloaded != l->reload_gen || w->ipc.state < IPC_ST_RUNNING))
			abort();
	}
	for (int i = 0; i < W_N; i++)
		ipc_peer_close(&l->w[i].ipc);
	free(l);
	return 0;
}
