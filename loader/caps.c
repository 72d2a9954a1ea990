// SPDX-License-Identifier: MIT
/*
 * What the loader keeps after everything is attached and started: CAP_KILL,
 * to forward signals to the command and stop the workers, which run as other
 * users, and CAP_SETUID and CAP_SETGID, to start a dead worker again as its
 * user (workers.c).  Removing the cgroup, unpinning links and closing link fds
 * need no capability: uid 0 still owns those files.  SECBIT_NOROOT (locked)
 * keeps a later execve from handing uid 0 its capabilities back; the loader
 * execs nothing after this point anyway.
 */
#include <errno.h>
#include <linux/securebits.h>
#include <sys/prctl.h>

#include <cap-ng.h>

#include "loader.h"

int
caps_drop_after_attach(void)
{
	if (prctl(PR_SET_SECUREBITS,
	        SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
	            SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
	        0, 0, 0) < 0)
		return -errno;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_KILL, CAP_SETUID,
	        CAP_SETGID, -1) < 0)
		return -EINVAL;
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
