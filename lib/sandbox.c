// SPDX-License-Identifier: MIT
/*
 * The workers' seccomp allowlist.  The base set is what a libuv loop that
 * reads and writes already-open fds needs; each worker adds its own few.
 * Violations kill the whole process (SCMP_ACT_KILL_PROCESS), so a hijacked
 * worker cannot go on with a failed syscall.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "lib/log.h"
#include "lib/sandbox.h"

/* The Makefile defines CGFW_RELEASE in every build without sanitizers. */
#if defined(CGFW_WEAK_SANDBOX) && defined(CGFW_RELEASE)
#error "CGFW_WEAK_SANDBOX is for sanitizer builds only"
#endif

/* clang-format off */
static const char *const sandbox_base[] = {
	"read", "write", "readv", "writev", "close", "lseek",
	"recvmsg", "sendmsg", "recvfrom", "sendto",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll",
	"clock_gettime", "clock_nanosleep", "gettimeofday", "nanosleep",
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
	"futex", "getpid", "gettid", "getuid", "geteuid", "getrandom",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction",
	"fstat", "newfstatat", "fcntl", "ioctl",
	"exit", "exit_group", "restart_syscall", "uname",
	NULL,
};
/* clang-format on */

static int sandbox_load(const char *who, const char *const *extra, int all_threads);

int
sandbox_apply(const char *who, const char *const *extra)
{
	return sandbox_load(who, extra, 0);
}

int
sandbox_apply_all(const char *who, const char *const *extra)
{
	return sandbox_load(who, extra, 1);
}

static int
sandbox_load(const char *who, const char *const *extra, int all_threads)
{
#ifdef CGFW_WEAK_SANDBOX
	(void)extra;
	(void)all_threads;
	(void)sandbox_base;
	fprintf(
	    stderr, "%s: WARNING: sandbox weakened (CGFW_WEAK_SANDBOX build): no seccomp\n", who);
	return 0;
#else
	const char *const *lists[] = {sandbox_base, extra};
	scmp_filter_ctx ctx;
	int r;

	(void)who;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	/* Every thread under the filter at once, or the load fails. */
	if (all_threads && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		goto out;
	for (size_t l = 0; l < 2; l++) {
		for (const char *const *n = lists[l]; n && *n; n++) {
			const char *colon = strchr(*n, ':');
			char name[32];
			int nr;

			snprintf(name, sizeof(name), "%.*s",
			    colon ? (int)(colon - *n) : (int)strlen(*n), *n);
			nr = seccomp_syscall_resolve_name(name);
			/* A name this architecture lacks is skipped, not fatal. */
			if (nr == __NR_SCMP_ERROR)
				continue;
			/* "name:N" allows the call only with N as its first argument. */
			if (colon)
				r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				    SCMP_A0(SCMP_CMP_EQ, strtoul(colon + 1, NULL, 10)));
			else
				r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
			if (r < 0)
				goto out;
		}
	}
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
#endif
}

/*
 * What no cgfw process that holds no capability ever needs, and what a
 * hijacked one would reach for first: other processes' memory and fds, new
 * mounts and namespaces, the kernel's module, key and tracing interfaces,
 * io_uring (which no BPF hook sees).  bpf is not here: the workers use their
 * map fds.
 */
/* clang-format off */
static const char *const sandbox_never[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
	"mount", "umount2", "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig",
	"fspick", "mount_setattr", "pivot_root", "chroot", "setns", "unshare",
	"open_by_handle_at", "name_to_handle_at", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"keyctl", "add_key", "request_key", "reboot", "swapon", "swapoff", "acct",
	"syslog", "iopl", "ioperm", "quotactl", "settimeofday", "clock_settime",
	"clock_adjtime", "adjtimex", "personality",
	NULL,
};
/* clang-format on */

int
sandbox_deny(const char *const *extra)
{
#ifdef CGFW_WEAK_SANDBOX
	/* The sanitizers' runtime traces its own threads (LeakSanitizer) at exit. */
	(void)extra;
	(void)sandbox_never;
	return 0;
#else
	const char *const *lists[] = {sandbox_never, extra};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t l = 0; l < 2 && r == 0; l++)
		for (size_t i = 0; lists[l] && lists[l][i] && r == 0; i++) {
			int nr = seccomp_syscall_resolve_name(lists[l][i]);

			if (nr == __NR_SCMP_ERROR)
				continue; /* not on this architecture */
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		}
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
#endif
}
