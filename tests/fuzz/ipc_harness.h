/* SPDX-License-Identifier: MIT */
/*
 * The input of the IPC fuzz targets (fuzz_ipc_*.c): datagrams from hostile
 * peers, each a record with a fixed 12-byte header
 *
 *   [peer: 1][n: 1][length: 2, little-endian][kind: 8 bytes][the datagram]
 *
 * peer picks one of the target's receiving channels (modulo their number);
 * n modulo CGFW_IPC_MAX_FDS + 1 is how many fds come with it (0-8); fd i is
 * made as kind[i] (modulo FUZZ_FD_N_KINDS) says, enum fuzz_fd_kind: enough
 * kinds to pass every check a worker makes of its fds (sockets of a type,
 * listening or not, the BPF maps by name and shape, the proxies' inet sockets
 * and a sealed name policy), so the proxies' targets get to RUNNING and
 * through a reload too (fuzz_ipc_dnsproxy.c, fuzz_ipc_httpproxy.c).  The header's
 * size does not depend on n, so a mutation of n or of a kind leaves the
 * datagram where it was.  Each datagram goes through the real receive path
 * after recvmsg() (ipc_decode()) and the real ipc_dispatch() with the
 * worker's handlers; a peer that broke the protocol is cut off, and its later
 * records are skipped, as the worker would.
 *
 * tests/fuzz/make_ipc_seeds.c writes the seeds: valid conversations, so the
 * fuzzer starts past the handshake, and some the table must refuse.  A seed
 * named *-running.bin must leave every peer it speaks for in RUNNING or
 * later, one named *-refused.bin must get a peer cut off: the replay (make
 * check) fails otherwise (fuzz_replay_check()), so a seed that no longer gets
 * past a handshake step is noticed.  The BPF maps need the privileges to make
 * them (root); without them a map fd is /dev/null, and the RUNNING check is
 * skipped (said on stderr).
 */
#ifndef CGFW_FUZZ_IPC_HARNESS_H
#define CGFW_FUZZ_IPC_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bpfmap.h"
#include "lib/protocol.h"

#define FUZZ_IPC_MAX_RECORDS 256
#define FUZZ_IPC_HDR         (4 + CGFW_IPC_MAX_FDS)

/* What an fd of a record is. */
enum fuzz_fd_kind {
	FUZZ_FD_NULL,      /* /dev/null, read-write (a log file that takes every line) */
	FUZZ_FD_SEQPACKET, /* AF_UNIX SEQPACKET, its peer closed */
	FUZZ_FD_LISTEN,    /* AF_UNIX stream, listening on an autobound abstract address */
	FUZZ_FD_DGRAM,     /* AF_UNIX datagram, its peer closed */
	FUZZ_FD_MAP,       /* + enum cgfw_map: that BPF map (lib/bpfmap.h), empty */
	/* After the maps, so that the seeds' bytes for the kinds above stay what they were. */
	FUZZ_FD_UDP = FUZZ_FD_MAP + CGFW_MAP_N, /* AF_INET datagram, unbound */
	FUZZ_FD_TCP_LISTEN,  /* AF_INET stream, listening on an ephemeral port of 127.0.0.1 */
	FUZZ_FD_NAME_POLICY, /* a sealed name policy (lib/namepolicy.h): one allow rule */
	FUZZ_FD_N_KINDS,
};

struct fuzz_ipc_record {
	uint8_t peer;
	uint8_t n_fds;
	uint8_t kinds[CGFW_IPC_MAX_FDS];
	const uint8_t *msg;
	size_t len;
};

/* The next record of the input; 0 at its end (a truncated record ends it too). */
int fuzz_ipc_next(const uint8_t **data, size_t *size, struct fuzz_ipc_record *rec);
/* A new input: forgets the peers fuzz_ipc_feed() saw (for fuzz_replay_check()). */
void fuzz_ipc_begin(void);
/*
 * Feeds rec to p as if it came with its fds: decode, dispatch.  Returns what
 * ipc_decode() or ipc_dispatch() did (-EPROTO: the peer is cut off).
 */
int fuzz_ipc_feed(
    struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, const struct fuzz_ipc_record *rec);
/* An fd on /dev/null for output nobody reads (opened once). */
int fuzz_devnull(void);
/*
 * The replay's check of the input just run (tests/fuzz/replay.c), by its
 * file name: *-running and *-refused as above.  0 if it holds.
 */
int fuzz_replay_check(const char *path);

#endif
