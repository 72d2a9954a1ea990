/* SPDX-License-Identifier: MIT */
/*
 * Instances: each loader holds /run/cgfw/instance-<cgroup id>.lock (flock)
 * for as long as it enforces on that cgroup; the lock file says its pid.
 * Pins in /sys/fs/bpf/cgfw/<cgroup id>/ whose lock nobody holds are stale: a
 * loader died without its cleanup (fail closed: the cgroup stayed
 * filtered).  `cgfw-ctl status` lists them, `cleanup` (ctl/cleanup.c)
 * removes stale ones, and a new attach to the same cgroup replaces them.
 */
#ifndef CGFW_INSTANCE_H
#define CGFW_INSTANCE_H

#include <sys/types.h>

/* The lock of cgroup cg_id's instance, taken: its fd, -EBUSY (*ret_holder: its pid), -errno. */
int instance_lock(unsigned long long cg_id, pid_t *ret_holder);
/* Its lock file unlinked while the flock is still held (the holder closes the fd after). */
void instance_lock_unlink(unsigned long long cg_id);
/* Both: unlinked, then the fd closed (-1: nothing). */
void instance_unlock(unsigned long long cg_id, int fd);
/* Every pin in dir, then dir: the links' last references go, they detach.  0 or -errno. */
int instance_unpin(const char *dir);
/* cgroup.kill, then rmdir (retried while it empties): 0 or -errno. */
int cgroup_kill_remove(const char *path);

#endif
