/* SPDX-License-Identifier: MIT */
/*
 * The input of the IPC fuzz targets (fuzz_ipc_*.c): datagrams from hostile
 * peers, each a record
 *
 *   [peer: 1 byte][fds: 1 byte][length: 2 bytes, little-endian][the datagram]
 *
 * peer picks one of the target's receiving channels (modulo their number);
 * fds' low 3 bits say how many fds come with it (0-7), bit 3+i makes fd i an
 * AF_UNIX SEQPACKET socket instead of /dev/null.  Each datagram goes through
 * the real receive path after recvmsg() (ipc_decode()) and the real
 * ipc_dispatch() with the worker's handlers; a peer that broke the protocol
 * is cut off, and its later records are skipped, as the worker would.
 * tests/fuzz/make_ipc_seeds.c writes the seeds: valid conversations, so the
 * fuzzer starts past the handshake.
 */
#ifndef CGFW_FUZZ_IPC_HARNESS_H
#define CGFW_FUZZ_IPC_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/protocol.h"

#define FUZZ_IPC_MAX_RECORDS 256

struct fuzz_ipc_record {
	uint8_t peer;
	uint8_t fds;
	const uint8_t *msg;
	size_t len;
};

/* The next record of the input; 0 at its end (a truncated record ends it too). */
int fuzz_ipc_next(const uint8_t **data, size_t *size, struct fuzz_ipc_record *rec);
/*
 * Feeds rec to p as if it came with its fds: decode, dispatch.  Returns what
 * ipc_decode() or ipc_dispatch() did (-EPROTO: the peer is cut off).
 */
int fuzz_ipc_feed(
    struct ipc_peer *p, const struct ipc_handlers *h, void *ctx, const struct fuzz_ipc_record *rec);
/* An fd on /dev/null for output nobody reads (opened once). */
int fuzz_devnull(void);

#endif
