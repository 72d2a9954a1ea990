// SPDX-License-Identifier: MIT
/* Dropping to a worker user and proving that it happened. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>

#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/proc.h"

#define PROC_HANDSHAKE_MS 10000

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

int
proc_close_fds_except(int keep)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (keep < 0 || keep <= 3) {
		unsigned int from = keep == 3 ? 4 : 3;

		if (syscall(SYS_close_range, from, ~0U, 0) == 0)
			return 0;
	}
	/* Fallback: walk /proc/self/fd. */
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd <= 2 || fd == keep || fd == dirfd(d))
			continue;
		if (close(fd) < 0 && errno != EBADF)
			r = -errno;
	}
	closedir(d);
	return r;
}

void
proc_assert_unprivileged(void)
{
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0)
		fatalx("refusing to run as root: start me through cgfw-loader");
	capng_clear(CAPNG_SELECT_BOTH);
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		fatalx("refusing to run with capabilities");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fatalx("refusing to run without no_new_privs");
}

int
proc_worker_user(uid_t *ret_uid, gid_t *ret_gid)
{
	struct passwd *pw = getpwnam("cgfw");

	if (!pw)
		pw = getpwnam("nobody");
	if (!pw)
		return -ENOENT;
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		return -EPERM;
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	return 0;
}

int
proc_become(uid_t uid, gid_t gid, const char *user)
{
	if (user ? initgroups(user, gid) < 0 : setgroups(1, &gid) < 0)
		return -errno;
	if (setresgid(gid, gid, gid) < 0)
		return -errno;
	/*
	 * Empty the bounding set while CAP_SETPCAP is still ours.  A root
	 * target (an explicit --user root) keeps root's capabilities except
	 * those that would let it detach or tamper with the firewall; it can
	 * still leave the cgroup, as uid 0 owns cgroup.procs (see docs/).
	 */
	if (uid == 0) {
		static const int tamper[] = {CAP_SYS_ADMIN, CAP_BPF, CAP_NET_ADMIN, CAP_SYS_PTRACE,
		    CAP_SYS_MODULE, CAP_PERFMON, CAP_SETPCAP};

		capng_get_caps_process();
		for (size_t i = 0; i < sizeof(tamper) / sizeof(tamper[0]); i++)
			(void)capng_update(CAPNG_DROP,
			    CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE |
			        CAPNG_BOUNDING_SET,
			    tamper[i]);
		if (capng_apply(CAPNG_SELECT_BOTH) < 0)
			return -EPERM;
	} else {
		capng_clear(CAPNG_SELECT_BOTH);
		if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
			return -EPERM;
	}
	if (setresuid(uid, uid, uid) < 0)
		return -errno;
	/* Nothing survives a switch to another uid. */
	if (uid != 0 && capng_apply(CAPNG_SELECT_CAPS) < 0)
		return -EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (uid != 0 && (getuid() != uid || geteuid() != uid))
		return -EPERM;
	return 0;
}

void
proc_worker_handshake(struct ipc_peer *loader, int hello_body, int role,
    const struct ipc_rule *table, void *ctx, const int *committed)
{
	int r;

	r = ipc_send_hello(loader, (Cgfw__Envelope__BodyCase)hello_body, (Cgfw__Role)role);
	if (r < 0)
		fatal_r(r, "cannot greet the loader");
	r = ipc_recv_until(loader, table, ctx, committed, PROC_HANDSHAKE_MS);
	if (r == -ETIMEDOUT)
		fatalx("no configuration from the loader in time");
	if (r == -EPIPE)
		fatalx("the loader closed the link during the handshake");
	if (r < 0)
		fatalx("loader link: %s", r == -EPROTO ? loader->violation : strerror(-r));
}
