// SPDX-License-Identifier: MIT
/*
 * cgfw-monitor's three receiving channels (loader, dnsproxy, httpproxy) fed
 * datagrams from hostile peers (tests/fuzz/ipc_harness.h), through the real
 * decode and dispatch into monitor.c's handlers with a real worker state.
 * Events are written to /dev/null (stdout is that too); /proc is not read.
 * Once the loader's COMMIT is taken, the monitor is started as
 * lib/worker.c's worker_main() would (its handles on a loop; the fds are the
 * harness's: BPF maps made here, sockets whose peers are gone), so the
 * messages of the run meet a running monitor; at the end it is stopped and
 * its loop run dry.  Beyond "no crash, no leak": what a handler accepted
 * leaves the state the table says, and a stopped monitor leaves no handle.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <uv.h>

#include "ipc_harness.h"
#include "monitor/events.h"
#include "monitor/monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	enum ipc_chan chan;
	const struct ipc_handlers *h;
} chans[] = {
    {IPC_CH_LOADER_MON, &mon_from_loader},
    {IPC_CH_DNS_MON, &mon_from_dns},
    {IPC_CH_HTTP_MON, &mon_from_http},
};

#define N_CHANS (sizeof(chans) / sizeof(chans[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker_rt rt = {.def = &mon_worker};
	struct fuzz_ipc_record rec;
	struct mon *m = calloc(1, mon_worker.ctx_size);
	struct mon_out *out;
	int cut[N_CHANS] = {0}, started = 0;

	if (!m)
		abort();
	/* JSON lines "to stdout" (the config says so) go nowhere. */
	if (dup2(fuzz_devnull(), STDOUT_FILENO) < 0)
		abort();
	mon_worker.init(m, &rt);
	out = mon_out_of(m);
	out->text_fd = fuzz_devnull();
	out->proc_root = "/nonexistent";
	fuzz_ipc_begin();
	for (int i = 0; i < FUZZ_IPC_MAX_RECORDS && fuzz_ipc_next(&data, &size, &rec); i++) {
		size_t c = rec.peer % N_CHANS;
		struct ipc_peer *p = mon_peer(m, chans[c].chan);
		int before = p->state, r;

		if (cut[c])
			continue;
		r = fuzz_ipc_feed(p, chans[c].h, m, &rec);
		if (r < 0) {
			cut[c] = 1;
			if (p->state != before)
				abort();
		}
		/* Configured: what worker_main() does after the handshake. */
		if (!started && mon_peer(m, IPC_CH_LOADER_MON)->state >= IPC_ST_RUNNING) {
			if (uv_loop_init(rt.loop) < 0)
				abort();
			mon_worker.start(m);
			started = 1;
		}
	}
	if (started) {
		worker_stop(&rt);
		(void)uv_run(rt.loop, UV_RUN_DEFAULT);
		if (uv_loop_close(rt.loop) != 0)
			abort(); /* a handle left open */
		(void)mon_worker.finish(m);
	}
	mon_release(m);
	return 0;
}
