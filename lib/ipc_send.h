/* SPDX-License-Identifier: MIT */
/*
 * One typed sender per message of lib/protocol.def, named after its Envelope
 * field: ipc_send_loader_mon_rules(peer, &rules), ipc_send_mon_loader_ready(peer),
 * ipc_send_loader_dns_fds(peer, &fds, fdv) (as many fds as fds.n_kinds), ...
 * HELLO is filled in from the row's channel (version, the sender's role).
 * ipc_env_<field>() puts a body into an envelope for lib/evq.c, which queues.
 * Each returns what ipc_send() does.
 */
#ifndef CGFW_IPC_SEND_H
#define CGFW_IPC_SEND_H

#include "lib/ipc.h"

#define IPC_MSG(NAME, field, Type, ...)                                                            \
	int ipc_send_##field(struct ipc_peer *p, const Type *m);                                   \
	void ipc_env_##field(Cgfw__Envelope *env, Type *m);
#define IPC_MSG_EMPTY(NAME, field, Type, ...) int ipc_send_##field(struct ipc_peer *p);
#define IPC_MSG_HELLO(NAME, field, Type, ...) int ipc_send_##field(struct ipc_peer *p);
#define IPC_MSG_FDS(NAME, field, Type, ...)                                                        \
	int ipc_send_##field(struct ipc_peer *p, const Cgfw__Fds *m, const int *fds);
#include "lib/protocol.def"
#undef IPC_MSG
#undef IPC_MSG_EMPTY
#undef IPC_MSG_HELLO
#undef IPC_MSG_FDS

#endif
