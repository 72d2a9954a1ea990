/* SPDX-License-Identifier: MIT */
/* Process hygiene shared by the loader (before exec) and the workers. */
#ifndef CGFW_PROC_H
#define CGFW_PROC_H

#include <sys/types.h>

/* Close every fd above 2 except keep (-1 for none). */
int proc_close_fds_except(int keep);
struct ipc_peer;
struct ipc_rule;

/*
 * A worker's start of its loader link: HELLO out, then HELLO, CONFIG...,
 * COMMIT in, until *committed is set; bounded in time.  Fatal on any failure,
 * naming it (like proc_assert_unprivileged(), this is startup).
 */
void proc_worker_handshake(struct ipc_peer *loader, int hello_body, int role,
    const struct ipc_rule *table, void *ctx, const int *committed);
/* Fatal unless uid/gid are not 0, no capability is held and no_new_privs is set. */
void proc_assert_unprivileged(void);
/* The unprivileged worker user: "cgfw" if it exists, else "nobody". */
int proc_worker_user(uid_t *ret_uid, gid_t *ret_gid);
/*
 * Become uid/gid for good: supplementary groups (user's, or gid alone when
 * user is NULL), gid, uid, no capability in any set, no_new_privs.
 * Returns 0 or -errno.
 */
int proc_become(uid_t uid, gid_t gid, const char *user);

#endif
