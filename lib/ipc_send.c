// SPDX-License-Identifier: MIT
/*
 * The typed senders of lib/ipc_send.h, one per row of lib/protocol.def: each
 * sets its own Envelope field, so no body is ever sent through another's.
 */
#include "lib/ipc_send.h"
#include "lib/protocol.h"

/* The message type of a body, for the bodies without fields. */
static const ProtobufCMessageDescriptor *
body_descriptor(Cgfw__Envelope__BodyCase body)
{
	return protobuf_c_message_descriptor_get_field(&cgfw__envelope__descriptor, (unsigned)body)
	    ->descriptor;
}

#define IPC_MSG(NAME, field, Type, ...)                                                            \
	void ipc_env_##field(Cgfw__Envelope *env, Type *m)                                         \
	{                                                                                          \
		env->body_case = CGFW__ENVELOPE__BODY_##NAME;                                      \
		env->field = m;                                                                    \
	}                                                                                          \
	int ipc_send_##field(struct ipc_peer *p, const Type *m)                                    \
	{                                                                                          \
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;                                         \
                                                                                                   \
		ipc_env_##field(&env, (Type *)m);                                                  \
		return ipc_send(p, &env, NULL, 0);                                                 \
	}
#define IPC_MSG_EMPTY(NAME, field, Type, ...)                                                      \
	int ipc_send_##field(struct ipc_peer *p)                                                   \
	{                                                                                          \
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;                                         \
		Type m;                                                                            \
                                                                                                   \
		protobuf_c_message_init(body_descriptor(CGFW__ENVELOPE__BODY_##NAME), &m);         \
		env.body_case = CGFW__ENVELOPE__BODY_##NAME;                                       \
		env.field = &m;                                                                    \
		return ipc_send(p, &env, NULL, 0);                                                 \
	}
#define IPC_MSG_HELLO(NAME, field, Type, CHAN, ...)                                                \
	int ipc_send_##field(struct ipc_peer *p)                                                   \
	{                                                                                          \
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;                                         \
		Cgfw__Hello h = CGFW__HELLO__INIT;                                                 \
                                                                                                   \
		h.protocol_version = CGFW_PROTOCOL_VERSION;                                        \
		h.role = ipc_chans[IPC_CH_##CHAN].from;                                            \
		env.body_case = CGFW__ENVELOPE__BODY_##NAME;                                       \
		env.field = &h;                                                                    \
		return ipc_send(p, &env, NULL, 0);                                                 \
	}
#define IPC_MSG_FDS(NAME, field, Type, ...)                                                        \
	int ipc_send_##field(struct ipc_peer *p, const Cgfw__Fds *m, const int *fds)               \
	{                                                                                          \
		Cgfw__Envelope env = CGFW__ENVELOPE__INIT;                                         \
                                                                                                   \
		env.body_case = CGFW__ENVELOPE__BODY_##NAME;                                       \
		env.field = (Cgfw__Fds *)m;                                                        \
		return ipc_send(p, &env, fds, m->n_kinds);                                         \
	}
#include "lib/protocol.def"
