// SPDX-License-Identifier: MIT
/* The shared part of the IPC fuzz targets (tests/fuzz/ipc_harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc_harness.h"

int
fuzz_devnull(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		abort();
	return fd;
}

int
fuzz_ipc_next(const uint8_t **data, size_t *size, struct fuzz_ipc_record *rec)
{
	size_t len;

	if (*size < 4)
		return 0;
	len = (size_t)(*data)[2] | (size_t)(*data)[3] << 8;
	if (*size - 4 < len)
		return 0;
	rec->peer = (*data)[0];
	rec->fds = (*data)[1];
	rec->msg = *data + 4;
	rec->len = len;
	*data += 4 + len;
	*size -= 4 + len;
	return 1;
}

/* One fd as asked: a SEQPACKET socket (its peer closed) or /dev/null. */
static int
make_fd(int sock)
{
	int sv[2];

	if (!sock)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	(void)close(sv[1]);
	return sv[0];
}

int
fuzz_ipc_feed(
    struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, const struct fuzz_ipc_record *rec)
{
	Cgfw__Envelope *env = NULL;
	size_t n = rec->fds & 7;
	int r;

	/* What ipc_recv() leaves after recvmsg(): the fds taken, then the bytes decoded. */
	ipc_close_fds(p);
	for (size_t i = 0; i < n; i++) {
		int fd = make_fd(i < 5 && (rec->fds & (8U << i)));

		if (fd < 0)
			abort();
		p->fds[p->n_fds++] = fd;
	}
	r = ipc_decode(p, rec->msg, rec->len, &env);
	if (r == 0) {
		r = ipc_dispatch(p, h, ctx, env);
		if (p->n_fds)
			abort();
	} else if (p->n_fds) {
		abort(); /* every fd of a refused message is closed */
	}
	/* FUZZ_IPC_VERBOSE=1: say what was accepted and what cut a peer off (seed checks). */
	if (getenv("FUZZ_IPC_VERBOSE"))
		fprintf(stderr, "%s: %d (state %s) %s\n", p->name, r, ipc_state_name(p->state),
		    r == -EPROTO ? p->violation : "");
	return r;
}
