// SPDX-License-Identifier: MIT
/*
 * The loader's capabilities go in three steps.  Once the programs are
 * attached and the read-only map fds made: what reaches BPF objects, links
 * and the kernel (caps_drop_bpf(); for `run` the command is then made and
 * held, command.c).  Then all but CAP_KILL, CAP_SETUID and CAP_SETGID
 * (caps_drop_after_attach()), with which the workers' launchers (launch.c)
 * and the keeper (keeper.c) are forked, each keeping less; then it becomes a reserved uid of its own with CAP_KILL alone
 * (caps_become_self()), to forward signals to the command and stop the
 * workers, which run as other users, and executes cgfw-supervisor, which
 * greets the workers.  What needs uid 0 after that is the keeper's.
 * SECBIT_NOROOT (locked) keeps an execve from handing uid 0 its
 * capabilities back.
 */
#include <errno.h>
#include <grp.h>
#include <unistd.h>
#include <linux/securebits.h>
#include <sys/prctl.h>

#include <cap-ng.h>

#include "loader.h"

/*
 * `run`, before its command is made: what reaches BPF objects, links and
 * the kernel goes from every set, bounding included, while the command's
 * start still needs CAP_SYS_ADMIN (its namespaces), CAP_SETPCAP and root's
 * ordinary capabilities (a root command keeps those, proc_become()).  The
 * command loses all of these anyway.
 */
int
caps_drop_bpf(void)
{
	static const int gone[] = {CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, CAP_SYS_PTRACE,
	    CAP_SYS_MODULE, CAP_DAC_READ_SEARCH, CAP_SYS_RAWIO, CAP_CHECKPOINT_RESTORE,
	    CAP_SYS_BOOT, CAP_MAC_ADMIN};

	capng_get_caps_process();
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		if (capng_update(CAPNG_DROP,
		        CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE | CAPNG_BOUNDING_SET,
		        gone[i]) < 0)
			return -EINVAL;
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -EPERM;
	return 0;
}

/*
 * Once the programs are attached and (run) the command is made: CAP_KILL,
 * CAP_SETUID and CAP_SETGID, an empty bounding set, and no_new_privs.
 * CAP_KILL is made inheritable first, while the bounding set still has it,
 * so that caps_become_self() can carry it across the exec of
 * cgfw-supervisor (an ambient capability must be inheritable).
 */
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
	        CAP_SETGID, CAP_SETPCAP, -1) < 0 ||
	    capng_update(CAPNG_ADD, CAPNG_INHERITABLE, CAP_KILL) < 0)
		return -EINVAL;
	/* The sets first (CAP_SETPCAP kept for the bounding set), then the bounding set. */
	if (capng_apply(CAPNG_SELECT_CAPS) < 0 || capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		return -EPERM;
	if (capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETPCAP) < 0)
		return -EINVAL;
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return -EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/*
 * Once everything is set up and the keeper forked: the loader becomes uid
 * and gid (a reserved uid of its own), with no supplementary group, and
 * keeps CAP_KILL alone (SECBIT_NO_SETUID_FIXUP, set and locked above, keeps
 * it through setresuid()), ambient too, so that it survives the exec of
 * cgfw-supervisor, which clears the ambient set first thing.  From here it
 * cannot write a file of root's or change a uid: a dead worker is started
 * again by its launcher (launch.c), what needs uid 0 is the keeper's
 * (keeper.c).  A uid change makes a process dumpable again (suid_dumpable
 * permitting): it is not.
 */
int
caps_become_self(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_update(
	        CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE, CAP_KILL) < 0)
		return -EINVAL;
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return -EPERM;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
