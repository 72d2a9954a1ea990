// SPDX-License-Identifier: MIT
/* cgfw-httpproxy: the runtime runs httpproxy.c's worker (lib/worker.c). */
#include "httpproxy.h"

int
main(int argc, char *argv[])
{
	return worker_main(&http_worker, argc, argv);
}
