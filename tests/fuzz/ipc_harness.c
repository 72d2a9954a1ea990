// SPDX-License-Identifier: MIT
/* The shared part of the IPC fuzz targets (tests/fuzz/ipc_harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf/egress.h"
#include "ipc_harness.h"
#include "lib/namepolicy.h"

/* The peers fed since fuzz_ipc_begin(): where each ended (fuzz_replay_check()). */
#define FUZZ_IPC_MAX_SEEN 4

static struct {
	const struct ipc_peer *p; /* only compared: gone once the target freed it */
	const char *name;
	int state;
	int cut;
} seen[FUZZ_IPC_MAX_SEEN];
static size_t n_seen;
static int maps_unmade; /* a map fd asked for was /dev/null instead */

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

	if (*size < FUZZ_IPC_HDR)
		return 0;
	len = (size_t)(*data)[2] | (size_t)(*data)[3] << 8;
	if (*size - FUZZ_IPC_HDR < len)
		return 0;
	rec->peer = (*data)[0];
	rec->n_fds = (uint8_t)((*data)[1] % (CGFW_IPC_MAX_FDS + 1));
	memcpy(rec->kinds, *data + 4, CGFW_IPC_MAX_FDS);
	rec->msg = *data + FUZZ_IPC_HDR;
	rec->len = len;
	*data += FUZZ_IPC_HDR + len;
	*size -= FUZZ_IPC_HDR + len;
	return 1;
}

void
fuzz_ipc_begin(void)
{
	n_seen = 0;
	maps_unmade = 0;
}

/*
 * A dup of the map of that row, made once per process (empty: nothing writes
 * to them but what the handlers do), or -1 without the privileges for it.
 */
static int
map_fd(enum cgfw_map row)
{
	static int fds[CGFW_MAP_N], made[CGFW_MAP_N];
	const struct bpfmap_spec *s = &cgfw_map_specs[row];

	if (!made[row]) {
		made[row] = 1;
		fds[row] = bpf_map_create(s->type, s->name, s->key_size, s->value_size,
		    s->max_entries ? s->max_entries : 1, NULL);
		if (fds[row] >= 0 && fcntl(fds[row], F_SETFD, FD_CLOEXEC) < 0)
			abort();
	}
	if (fds[row] < 0)
		return -1;
	return fcntl(fds[row], F_DUPFD_CLOEXEC, 0);
}

/* A dup of a sealed name policy allowing example.com, built once per process. */
static int
name_policy_fd(void)
{
	static int fd = -1;
	static const char name[] = "example.com";

	if (fd < 0) {
		struct np_builder *b = np_builder_new();

		if (!b ||
		    np_builder_add_name(b, RULE_NAME, CGFW_ACT_ALLOW, name, sizeof(name) - 1, name,
		        sizeof(name) - 1, "--allow-list", 0, 1) < 0 ||
		    np_builder_finish(b, &fd) < 0)
			abort();
		np_builder_free(b);
	}
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* A TCP socket listening on 127.0.0.1 (or, without a loopback, on any address). */
static int
tcp_listen_fd(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	(void)bind(fd, (struct sockaddr *)&sin, sizeof(sin)); /* else listen() binds one */
	if (listen(fd, 1) < 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* One fd of that kind (enum fuzz_fd_kind); -1 if it cannot be made. */
static int
make_fd(unsigned kind)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int sv[2], fd;

	switch (kind % FUZZ_FD_N_KINDS) {
	case FUZZ_FD_NULL:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case FUZZ_FD_SEQPACKET:
	case FUZZ_FD_DGRAM:
		if (socketpair(AF_UNIX,
		        (kind % FUZZ_FD_N_KINDS == FUZZ_FD_DGRAM ? SOCK_DGRAM : SOCK_SEQPACKET) |
		            SOCK_CLOEXEC,
		        0, sv) < 0)
			return -1;
		(void)close(sv[1]);
		return sv[0];
	case FUZZ_FD_LISTEN:
		/* An address of the family alone: the kernel picks an abstract name (autobind). */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (bind(fd, (struct sockaddr *)&sun, offsetof(struct sockaddr_un, sun_path)) < 0 ||
		    listen(fd, 1) < 0) {
			(void)close(fd);
			return -1;
		}
		return fd;
	case FUZZ_FD_UDP:
		return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	case FUZZ_FD_TCP_LISTEN:
		return tcp_listen_fd();
	case FUZZ_FD_NAME_POLICY:
		return name_policy_fd();
	default:
		fd = map_fd((enum cgfw_map)(kind % FUZZ_FD_N_KINDS - FUZZ_FD_MAP));
		if (fd >= 0)
			return fd;
		maps_unmade = 1;
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

/* Where p is now; r < 0: it was cut off. */
static void
note(const struct ipc_peer *p, int r)
{
	size_t i;

	for (i = 0; i < n_seen && seen[i].p != p; i++)
		;
	if (i == n_seen) {
		if (n_seen == FUZZ_IPC_MAX_SEEN)
			return;
		seen[n_seen].p = p;
		seen[n_seen++].cut = 0;
	}
	seen[i].name = p->name;
	seen[i].state = p->state;
	if (r < 0)
		seen[i].cut = 1;
}

int
fuzz_ipc_feed(
    struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, const struct fuzz_ipc_record *rec)
{
	Cgfw__Envelope *env = NULL;
	int r;

	/* What ipc_recv() leaves after recvmsg(): the fds taken, then the bytes decoded. */
	ipc_close_fds(p);
	for (size_t i = 0; i < rec->n_fds; i++) {
		int fd = make_fd(rec->kinds[i]);

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
	note(p, r);
	/* FUZZ_IPC_VERBOSE=1: say what was accepted and what cut a peer off (seed checks). */
	if (getenv("FUZZ_IPC_VERBOSE"))
		fprintf(stderr, "%s: %d (state %s) %s\n", p->name, r, ipc_state_name(p->state),
		    r == -EPROTO ? p->violation : "");
	return r;
}

int
fuzz_replay_check(const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (strstr(name, "-running")) {
		if (maps_unmade) {
			fprintf(stderr, "%s: no BPF maps (not root?): RUNNING not checked\n", name);
			return 0;
		}
		if (!n_seen) {
			fprintf(stderr, "%s: no peer spoke\n", name);
			return 1;
		}
		for (size_t i = 0; i < n_seen; i++) {
			if (seen[i].cut || seen[i].state < IPC_ST_RUNNING) {
				fprintf(stderr, "%s: %s ended in state %s%s, not RUNNING\n", name,
				    seen[i].name, ipc_state_name(seen[i].state),
				    seen[i].cut ? ", cut off" : "");
				return 1;
			}
		}
	}
	if (strstr(name, "-refused")) {
		for (size_t i = 0; i < n_seen; i++)
			if (seen[i].cut)
				return 0;
		fprintf(stderr, "%s: no peer was cut off\n", name);
		return 1;
	}
	return 0;
}
