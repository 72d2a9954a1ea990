/* SPDX-License-Identifier: MIT */
/* The keeper's requests (loader/keeper.c answers, supervisor/keeper.c asks). */
#ifndef CGFW_KEEPER_H
#define CGFW_KEEPER_H

#define KEEP_RELOAD 0 /* proc_fds_send()'s byte, with the two fds */
#define KEEP_KILL   'k'
#define KEEP_DONE   'd'

#define KEEPER_ANSWER_MS 10000 /* a pid, or a cgroup killed and removed */

#include <sys/types.h>

/* The keeper's socket fd: a reload's child started with sock and err_fd (its pid), or -errno. */
pid_t keeper_reload(int fd, int sock, int err_fd);
/* run, at the end: the command's cgroup killed and removed (else what it holds, killed). */
void keeper_kill_command(int fd, const char *cg_path);
/* The last request: root's paths removed, the keeper gone; *fd and *pid are reset. */
void keeper_done(int *fd, pid_t *pid);

#endif
