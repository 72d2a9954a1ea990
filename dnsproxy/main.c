// SPDX-License-Identifier: MIT
/* cgfw-dnsproxy: the runtime runs dnsproxy.c's worker (lib/worker.c). */
#include "dnsproxy.h"

int
main(int argc, char *argv[])
{
	return worker_main(&dns_worker, argc, argv);
}
