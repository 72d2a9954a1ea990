/* SPDX-License-Identifier: MIT */
/* Process hygiene shared by the loader (before exec) and the workers. */
#ifndef CGFW_PROC_H
#define CGFW_PROC_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/*
 * cgfw's own exit statuses, after env(1), timeout(1) and docker run: they
 * cannot be mistaken for the command's, whatever went wrong (a bad option,
 * rule or config file; a failed setup; a removed attach cgroup).
 */
#define CGFW_EXIT_FAILED   125 /* cgfw failed: the command did not run, or was stopped */
#define CGFW_EXIT_CANNOT   126 /* the command was found but cannot be executed */
#define CGFW_EXIT_NOTFOUND 127 /* the command was not found */

/* Close every fd above 2 except keep (-1 for none). */
int proc_close_fds_except(int keep);
/*
 * The first thing a worker does after exec: not dumpable (no ptrace, no
 * /proc/PID/mem, no pidfd_getfd for anyone without CAP_SYS_PTRACE), every
 * inherited fd but CGFW_FD_IPC closed, then proc_assert_unprivileged().
 */
void proc_worker_enter(void);
/*
 * Fatal unless uid/gid are not 0, no capability is held, no_new_privs is set
 * and the process is not dumpable.
 */
void proc_assert_unprivileged(void);

/*
 * Worker uids when packaging created no user (packaging/sysusers.d): a range
 * of cgfw's own, far from login users, systemd's DynamicUser range and
 * nobody, so no command runs as one (--user in it is refused).
 */
#define CGFW_DYN_UID_MIN 0x7cf00000u
#define CGFW_DYN_UID_N   0x10000u
#define CGFW_RUN_DIR     "/run/cgfw"

/* uid is in cgfw's reserved range. */
int proc_uid_reserved(uid_t uid);
/*
 * The user a worker runs as: NAME (e.g. "cgfw-dns") when it exists, else a
 * uid of the reserved range that no passwd or group entry names and that no
 * other loader holds: *ret_lock_fd is then a locked file under
 * /run/cgfw/uid/, to keep open while the worker runs (-1 for a named user).
 * Never uid 0 and never avoid: -EEXIST if NAME is avoid.
 */
int proc_worker_user(
    const char *name, uid_t avoid, uid_t *ret_uid, gid_t *ret_gid, int *ret_lock_fd);
#define PROC_KEEP_MAX 72

/* A uid of the reserved range, held as proc_worker_user() holds one. */
int proc_reserved_uid(uid_t *ret_uid, gid_t *ret_gid, int *ret_lock_fd);
/* Its lock file, unlinked by its holder before the lock goes (0 or -errno). */
int proc_uid_lock_remove(uid_t uid);
/* cleanup: the lock files nobody holds, removed; how many, or -errno. */
int proc_uid_locks_sweep(void);
/*
 * Keep only fds[0..n) (n <= PROC_KEEP_MAX; -1 entries stay -1) besides stdio, moved to
 * 3, 4, ... (without FD_CLOEXEC) and written back into fds; close the rest.
 */
int proc_keep_fds(int *fds, int n);
/*
 * Become uid/gid for good: supplementary groups (user's, or gid alone when
 * user is NULL), gid, uid, no capability in any set, no_new_privs.  uid 0
 * keeps root's capabilities but those that reach the firewall (CAP_NET_RAW
 * too unless keep_net_raw).
 * Returns 0 or -errno.
 */
int proc_become(uid_t uid, gid_t gid, const char *user, int keep_net_raw);

/* write() until all of buf is out (EINTR retried): 0, or -errno. */
int proc_write_all(int fd, const void *buf, size_t n);
/*
 * A helper's answer over a socketpair: one byte and n fds (n may be 0, at
 * most PROC_PASS_MAX).  send: 0 or -errno; the fds stay open.  recv: exactly
 * n fds (close-on-exec) into fds, 0; -EBADMSG when anything else came (any
 * fd that came is closed), or -errno.  flags as recvmsg()'s (MSG_DONTWAIT).
 */
#define PROC_PASS_MAX 4
int proc_fds_send(int sock, const int *fds, int n);
int proc_fds_recv(int sock, int *fds, int n, int flags);

/*
 * The mount point of the first (with last: the last) mount of type1 or
 * type2 in /proc/self/mountinfo, -ENOENT if none; the cgroup2 mount; the
 * cgroup directory with inode id under mnt (NULL if none; a static buffer).
 */
int mountinfo_find(const char *type1, const char *type2, int last, char *buf, size_t len);
int cgroup2_mount(char *buf, size_t len);
const char *cgroup_by_id(const char *mnt, unsigned long long id);

/* clk's time in nanoseconds. */
static inline uint64_t
proc_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
