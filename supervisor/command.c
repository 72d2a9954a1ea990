// SPDX-License-Identifier: MIT
/*
 * run's command, in cgfw-supervisor: the loader made it (loader/command.c)
 * and it is held before exec until every worker is READY (command_go());
 * the syscalls its seccomp filter hands over are answered EPERM here, each
 * once the monitor reported it (docs/architecture.md, "Refused syscalls on
 * record").
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "lib/log.h"
#include "supervisor/supervisor.h"

/*
 * What the command's child sent over the error pipe, if anything: a failure
 * before exec (stage 0: its namespaces, user or seccomp; 1: exec itself),
 * reported and turned into the command's status.  A clean exec closes the
 * pipe (CLOEXEC) and sends nothing.
 */
static void
command_failed(struct sup *s)
{
	int err[2] = {0, 0}; /* stage (0 setup, 1 exec), errno */
	ssize_t n;

	do {
		n = read(s->cmd_err_fd, err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	(void)close(s->cmd_err_fd);
	s->cmd_err_fd = -1;
	if (n == sizeof(err)) {
		int status = CGFW_EXIT_FAILED;

		errno = err[1];
		if (err[0] == 0)
			log_warn("cannot confine the command (namespaces, user, seccomp)");
		else
			log_warn("cannot run %s as uid %u", s->h.argv0, (unsigned)s->h.uid);
		if (err[0] == 1)
			status = err[1] == ENOENT ? CGFW_EXIT_NOTFOUND : CGFW_EXIT_CANNOT;
		s->child_status = status << 8;
		(void)waitpid(s->child, NULL, 0);
		s->child = -1;
		s->child_done = 1;
	}
}

/* Every worker is READY: the held command runs (an exec failure is reported). */
void
command_go(struct sup *s)
{
	if (s->cmd_go_fd >= 0 && !s->child_done)
		(void)!write(s->cmd_go_fd, "g", 1);
	if (s->cmd_go_fd >= 0)
		(void)close(s->cmd_go_fd);
	s->cmd_go_fd = -1;
	if (s->cmd_err_fd >= 0)
		command_failed(s);
}

/* EPERM for notification id; ENOENT (the caller died meanwhile) is fine. */
static void
answer(struct sup *s, uint64_t id)
{
	memset(s->nresp, 0, sizeof(*s->nresp));
	s->nresp->id = id;
	s->nresp->error = -EPERM;
	if (s->notify_fd >= 0)
		(void)seccomp_notify_respond(s->notify_fd, s->nresp);
}

/*
 * A syscall the command's seccomp filter handed over.  The verdict is always
 * EPERM and it is the supervisor's, so that no worker (whatever hostile input it
 * met) is ever asked whether a command may open a vsock or an io_uring.  The
 * caller waits until the monitor reported it (it reads /proc while the
 * process is still there), or SUP_ANSWER_MS.  The request is the kernel's.
 * When every process of the command is gone the listener hangs up.
 */
void
command_refused(struct sup *s, short revents)
{
	if (!s->nreq && seccomp_notify_alloc(&s->nreq, &s->nresp) < 0)
		fatalx("cannot allocate a seccomp notification");
	if (revents & POLLIN) {
		memset(s->nreq, 0, sizeof(*s->nreq));
		if (seccomp_notify_receive(s->notify_fd, s->nreq) == 0) {
			uint64_t args[3] = {
			    s->nreq->data.args[0], s->nreq->data.args[1], s->nreq->data.args[2]};
			uint64_t id = s->nreq->id;

			if (s->n_pending == SUP_MAX_PENDING ||
			    workers_refused(s, s->nreq->pid, s->nreq->data.nr, args, id) < 0) {
				answer(s, id);
				return;
			}
			s->pending[s->n_pending].id = id;
			s->pending[s->n_pending++].deadline_ms = sup_now_ms() + SUP_ANSWER_MS;
			return;
		}
	}
	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		command_answer(s, 0);
		(void)close(s->notify_fd);
		s->notify_fd = -1;
	}
}

/* The monitor reported id (0: give up waiting for any). */
void
command_answer(struct sup *s, uint64_t id)
{
	for (int i = 0; i < s->n_pending; i++) {
		if (id && s->pending[i].id != id)
			continue;
		answer(s, s->pending[i].id);
		s->pending[i--] = s->pending[--s->n_pending];
	}
}

void
command_answer_overdue(struct sup *s)
{
	long long now = sup_now_ms();

	for (int i = 0; i < s->n_pending; i++) {
		if (s->pending[i].deadline_ms > now)
			continue;
		answer(s, s->pending[i].id);
		s->pending[i--] = s->pending[--s->n_pending];
	}
}

/* The notification buffers command_refused() allocated, if any. */
void
command_release(struct sup *s)
{
	if (s->nreq)
		seccomp_notify_free(s->nreq, s->nresp);
	s->nreq = NULL;
	s->nresp = NULL;
}
