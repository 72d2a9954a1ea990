// SPDX-License-Identifier: MIT
/* cgfw-monitor: the runtime runs monitor.c's worker (lib/worker.c). */
#include "monitor.h"

int
main(int argc, char *argv[])
{
	return worker_main(&mon_worker, argc, argv);
}
