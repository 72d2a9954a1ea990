// SPDX-License-Identifier: MIT
/*
 * cgfw-dnsproxy's loader channel fed datagrams from a hostile peer
 * (tests/fuzz/ipc_harness.h), through the real decode and dispatch into
 * dnsproxy.c's handlers with a real worker state.  The harness makes fds
 * that pass the checks (UDP, listening TCP, the maps, a sealed name policy),
 * so the worker gets to RUNNING and through a reload (RELOAD, RELOAD_FDS,
 * RELOAD_COMMIT); nothing is sent for real (the loader's fd is -1).
 */
#include <stdlib.h>

#include "dnsproxy/dnsproxy.h"
#include "ipc_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker_rt rt = {.def = &dns_worker};
	struct fuzz_ipc_record rec;
	struct dns *d = calloc(1, dns_worker.ctx_size);

	if (!d)
		abort();
	dns_worker.init(d, &rt);
	fuzz_ipc_begin();
	for (int i = 0; i < FUZZ_IPC_MAX_RECORDS && fuzz_ipc_next(&data, &size, &rec); i++) {
		struct ipc_peer *p = dns_loader_peer(d);
		int before = p->state;

		if (fuzz_ipc_feed(p, &dns_from_loader, d, &rec) < 0) {
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
	dns_release(d);
	return 0;
}
