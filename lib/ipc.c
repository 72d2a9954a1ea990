// SPDX-License-Identifier: MIT
/*
 * One sendmsg() per envelope, fds in the same datagram.  The receiver trusts
 * nothing: truncation, control-data truncation, unexpected cmsgs, bad seq or
 * an undecodable envelope are violations, and received fds are closed on
 * every error path.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/ipc.h"

#define IPC_SEND_WAIT_MS 5000

void
ipc_peer_init(struct ipc_peer *p, int fd, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->name = name;
}

void
ipc_close_fds(struct ipc_peer *p)
{
	for (size_t i = 0; i < p->n_fds; i++)
		if (p->fds[i] >= 0)
			(void)close(p->fds[i]);
	p->n_fds = 0;
}

void
ipc_peer_close(struct ipc_peer *p)
{
	ipc_close_fds(p);
	if (p->fd >= 0)
		(void)close(p->fd);
	p->fd = -1;
}

int
ipc_violation(struct ipc_peer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->violation, sizeof(p->violation), fmt, ap);
	va_end(ap);
	ipc_close_fds(p);
	return -EPROTO;
}

ssize_t
ipc_prepare(struct ipc_peer *p, Cgfw__Envelope *env)
{
	size_t len;

	/* The number is spent only by a message that was sent (or queued). */
	env->seq = p->seq_out + 1;
	len = cgfw__envelope__get_packed_size(env);
	return len > CGFW_IPC_MAX ? -EMSGSIZE : (ssize_t)len;
}

int
ipc_send(struct ipc_peer *p, Cgfw__Envelope *env, const int *fds, size_t n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CGFW_IPC_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	uint8_t buf[CGFW_IPC_MAX];
	struct msghdr msg = {0};
	struct iovec iov;
	size_t len;
	ssize_t n, r;

	if (n_fds > CGFW_IPC_MAX_FDS)
		return -EINVAL;
	r = ipc_prepare(p, env);
	if (r < 0)
		return r;
	len = (size_t)r;
	cgfw__envelope__pack(env, buf);
	iov.iov_base = buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (n_fds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	for (;;) {
		struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};

		n = sendmsg(p->fd, &msg, MSG_NOSIGNAL);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		/* A peer that does not read for this long is as good as dead. */
		n = poll(&pfd, 1, IPC_SEND_WAIT_MS);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	if ((size_t)n != len)
		return -EIO;
	p->seq_out++;
	return 0;
}

int
ipc_recv(struct ipc_peer *p, Cgfw__Envelope **ret_env)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CGFW_IPC_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	uint8_t buf[CGFW_IPC_MAX + 1];
	struct msghdr msg = {0};
	struct cmsghdr *c;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	ssize_t n;

	ipc_close_fds(p);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(p->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;

	/* Take ownership of every fd first, so each error path closes them. */
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			return ipc_violation(
			    p, "unexpected control message %d/%d", c->cmsg_level, c->cmsg_type);
		if (c->cmsg_len < CMSG_LEN(0) || (c->cmsg_len - CMSG_LEN(0)) % sizeof(int) != 0)
			return ipc_violation(p, "bad SCM_RIGHTS length %zu", (size_t)c->cmsg_len);
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (p->n_fds + k > CGFW_IPC_MAX_FDS)
			return ipc_violation(p, "too many fds");
		memcpy(&p->fds[p->n_fds], CMSG_DATA(c), k * sizeof(int));
		p->n_fds += k;
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return ipc_violation(p, "message or its fds truncated");
	if (n == 0 && p->n_fds == 0)
		return -EPIPE;
	if (n > CGFW_IPC_MAX)
		return ipc_violation(p, "message larger than %d bytes", CGFW_IPC_MAX);
	return ipc_decode(p, buf, (size_t)n, ret_env);
}

static int
wire_varint(const uint8_t **pp, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64 && *pp < end; shift += 7) {
		uint8_t b = *(*pp)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -1;
}

/*
 * Every string field of a message of type d, and of the messages inside it,
 * as it is on the wire: protobuf-c would cut a string at a NUL without a word.
 * 0, -EBADMSG for a string that has one or is too long (*ret_field names
 * it), 1 for what is not protobuf at all (the unpacking says so).
 */
static int
wire_strings(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth,
    const char **ret_field)
{
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		uint64_t key, len;
		int r;

		if (wire_varint(&p, end, &key) < 0)
			return 1;
		switch (key & 7) {
		case 0:
			if (wire_varint(&p, end, &len) < 0)
				return 1;
			continue;
		case 1:
		case 5:
			len = (key & 7) == 1 ? 8 : 4;
			break;
		case 2:
			if (wire_varint(&p, end, &len) < 0)
				return 1;
			if (len > (uint64_t)(end - p))
				return 1;
			f = key >> 3 <= UINT32_MAX
			        ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
			        : NULL;
			if (f && f->type == PROTOBUF_C_TYPE_STRING &&
			    (len > CGFW_IPC_STR_MAX || memchr(p, '\0', (size_t)len))) {
				*ret_field = f->name;
				return -EBADMSG;
			}
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 4) {
				r = wire_strings(f->descriptor, p, p + len, depth + 1, ret_field);
				if (r != 0)
					return r;
			}
			break;
		default:
			return 1;
		}
		if (len > (uint64_t)(end - p))
			return 1;
		p += len;
	}
	return 0;
}

int
ipc_decode(struct ipc_peer *p, const uint8_t *buf, size_t n, Cgfw__Envelope **ret_env)
{
	Cgfw__Envelope *env;
	const char *field = "";

	if (n > CGFW_IPC_MAX)
		return ipc_violation(p, "message larger than %d bytes", CGFW_IPC_MAX);
	if (wire_strings(&cgfw__envelope__descriptor, buf, buf + n, 0, &field) < 0)
		return ipc_violation(
		    p, "string %s has a NUL inside or is over %d bytes", field, CGFW_IPC_STR_MAX);
	env = cgfw__envelope__unpack(NULL, n, buf);
	if (!env)
		return ipc_violation(p, "not a valid envelope (%zu bytes)", n);
	if (env->seq != p->seq_in + 1) {
		uint64_t seq = env->seq;

		cgfw__envelope__free_unpacked(env, NULL);
		return ipc_violation(p, "sequence %llu, expected %llu", (unsigned long long)seq,
		    (unsigned long long)p->seq_in + 1);
	}
	p->seq_in = env->seq;
	*ret_env = env;
	return 0;
}

const char *
ipc_body_name(Cgfw__Envelope__BodyCase body)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(&cgfw__envelope__descriptor, body);
	return f ? f->name : "unknown";
}

int
ipc_take_fds(
    struct ipc_peer *p, const Cgfw__Fds *msg, const Cgfw__FdKind *want, size_t n_want, int *ret_fds)
{
	if (msg->n_kinds != n_want || p->n_fds != n_want)
		return ipc_violation(p, "expected %zu fds, message lists %zu and carries %zu",
		    n_want, msg->n_kinds, p->n_fds);
	for (size_t i = 0; i < n_want; i++)
		if (msg->kinds[i] != want[i])
			return ipc_violation(p, "fd %zu has kind %d, expected %d", i,
			    (int)msg->kinds[i], (int)want[i]);
	memcpy(ret_fds, p->fds, n_want * sizeof(int));
	p->n_fds = 0;
	return 0;
}

int
ipc_check_socket(int fd, int domain, int type)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0)
		return -errno;
	if (v != domain)
		return -EPROTOTYPE;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0)
		return -errno;
	return v == type ? 0 : -EPROTOTYPE;
}
