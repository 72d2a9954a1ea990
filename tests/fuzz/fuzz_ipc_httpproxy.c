// SPDX-License-Identifier: MIT
/*
 * cgfw-httpproxy's loader channel fed datagrams from a hostile peer
 * (tests/fuzz/ipc_harness.h), through the real decode and dispatch into
 * httpproxy.c's handlers with a real worker state.  The harness makes fds
 * that pass the checks (listening TCP, the peers map, a sealed name policy),
 * so the worker gets to RUNNING and through a reload (RELOAD, RELOAD_RULE...,
 * RELOAD_FDS, RELOAD_COMMIT); nothing is sent for real (the loader's fd is -1).
 */
#include <stdlib.h>

#include "httpproxy/httpproxy.h"
#include "ipc_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker_rt rt = {.def = &http_worker};
	struct fuzz_ipc_record rec;
	struct http *d = calloc(1, http_worker.ctx_size);

	if (!d)
		abort();
	http_worker.init(d, &rt);
	fuzz_ipc_begin();
	for (int i = 0; i < FUZZ_IPC_MAX_RECORDS && fuzz_ipc_next(&data, &size, &rec); i++) {
		struct ipc_peer *p = http_loader_peer(d);
		int before = p->state;

		if (fuzz_ipc_feed(p, &http_from_loader, d, &rec) < 0) {
			if (p->state != before)
				abort();
			break; /* the worker exits on a loader link violation */
		}
		/* Only FDS, which comes with fds, leads to COMMIT; no state goes back. */
		if (before < IPC_ST_COMMIT && p->state >= IPC_ST_COMMIT && !rec.n_fds)
			abort();
		if (p->state < before)
			abort();
	}
	http_release(d);
	return 0;
}
