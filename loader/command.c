// SPDX-License-Identifier: MIT
/*
 * The command: started straight into its cgroup (clone3 CLONE_INTO_CGROUP),
 * in namespaces of its own, as its user, with the capabilities that reach
 * the firewall gone and a seccomp filter that reports raw and packet
 * sockets.  docs/threat-model.md says what this leaves a command, root
 * included, and why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sched.h>
#include <seccomp.h>

#include "lib/log.h"
#include "lib/proc.h"
#include "loader.h"

#define CGFW_SOCK_TYPE_MASK 0xf /* SOCK_NONBLOCK and SOCK_CLOEXEC live above it */

/*
 * The socket families a command may create.  Every other one either gets
 * past the cgroup hooks (AF_PACKET and AF_XDP send frames of their own,
 * AF_VSOCK reaches the hypervisor, AF_RDS and AF_TIPC ride on kernel
 * sockets of no cgroup) or is no networking a command needs.
 */
static const int command_families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_ALG};

#define CGFW_FAMILY_MAX 63 /* AF_MAX is below it; anything above is refused too */

/*
 * The command's seccomp filter, loaded after it dropped to its user (it has
 * no_new_privs).  What it refuses, socket() of another family, raw IP
 * (unless --allow-raw-sockets) and SOCK_PACKET sockets, and io_uring (whose
 * IORING_OP_SOCKET and IORING_OP_CONNECT never meet this filter), is handed
 * to the loader (SECCOMP_RET_USER_NOTIF, command_refused()), which answers
 * EPERM and has the monitor write the event: the kernel's own checks, where
 * there are any, come before any hook that could report them.  If the loader
 * is gone the kernel answers ENOSYS: refused.  Syscalls of another ABI
 * (32-bit socketcall() hides its arguments, x32) kill the process: cgfw runs
 * 64-bit commands.  Returns the listener fd, or -errno.
 */
static int
command_seccomp(const struct loader *l)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r, fd = -1;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (int fam = 0; fam <= CGFW_FAMILY_MAX && r == 0; fam++) {
		size_t i = 0;

		while (i < sizeof(command_families) / sizeof(command_families[0]) &&
		       command_families[i] != fam)
			i++;
		if (i == sizeof(command_families) / sizeof(command_families[0]))
			r = seccomp_rule_add(
			    ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, fam));
	}
	/* Also a family in the low word with anything in the high one. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_GT, CGFW_FAMILY_MAX));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, CGFW_SOCK_TYPE_MASK, SOCK_PACKET));
	/* Raw IP only: netlink's SOCK_RAW is how glibc and iproute2 talk to the kernel. */
	for (int i = 0; i < 2 && r == 0 && !l->o->allow_raw; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, i ? AF_INET6 : AF_INET),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, CGFW_SOCK_TYPE_MASK, SOCK_RAW));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(io_uring_setup), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	if (r == 0) {
		fd = seccomp_notify_fd(ctx);
		r = fd < 0 ? fd : 0;
	}
	seccomp_release(ctx);
	return r < 0 ? r : fd;
}

/* One byte, and the listener fd when there is one, to the loader. */
static int
send_listener(int sock, int fd)
{
	int r = proc_fds_send(sock, &fd, fd >= 0);

	if (r == 0 && fd >= 0)
		(void)close(fd);
	return r;
}

/* The listener from the child: -1 when none came (the child failed). */
static int
recv_listener(int sock)
{
	int fd;

	return proc_fds_recv(sock, &fd, 1, 0) == 0 ? fd : -1;
}

/*
 * Runs in the command's child, still root, already inside the target cgroup.
 * A mount namespace where no bpffs is mounted (the pins cannot be opened, so
 * no link can be detached) and a cgroup namespace rooted at the target, with
 * the only cgroup2 mount showing that subtree: no ancestor's cgroup.procs is
 * reachable by path.  The log file is bound read-only onto itself, so even a
 * root command cannot rewrite the record.  Without CAP_SYS_ADMIN the command
 * cannot undo any of it.
 */
static int
confine_command(const struct loader *l)
{
	const char *log = l->o->log_file && strcmp(l->o->log_file, "-") ? l->o->log_file : NULL;
	char mnt[PATH_MAX];
	int r, i;

	if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	/* Deepest (latest) first; a detached parent takes its children along. */
	for (i = 0; i < 256; i++) {
		r = mountinfo_find("bpf", "cgroup2", 1, mnt, sizeof(mnt));
		if (r == -ENOENT)
			break;
		if (r < 0)
			return r;
		if (umount2(mnt, MNT_DETACH) < 0)
			return -errno;
	}
	if (i == 256)
		return -ELOOP;
	if (mount("cgroup2", l->cg2_mnt, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	if (log &&
	    (mount(log, log, NULL, MS_BIND, NULL) < 0 ||
	        mount(NULL, log, NULL,
	            MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0))
		return -errno;
	return 0;
}

/*
 * The command, started directly inside the cgroup (clone3 CLONE_INTO_CGROUP),
 * so not one instruction of it runs unfiltered.  It is made here, while the
 * loader still has what the command's namespaces and a root command's own
 * capabilities need, and held before exec (confined, its user, its seccomp
 * filter) until command_go(): the loader drops to what it keeps to the end
 * before it greets a worker.  If the loader dies meanwhile, the child gets
 * SIGKILL (PR_SET_PDEATHSIG) or reads EOF, and never runs the command.
 */
void
command_prepare(struct loader *l)
{
	struct clone_args ca = {0};
	int pfd[2], nsp[2], go[2], err[2] = {0, 0};
	pid_t loader = getpid();
	sigset_t none;

	if (pipe2(pfd, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, nsp) < 0)
		fatal("pipe2");
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)l->cg_fd;
	l->child = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (l->child < 0)
		fatal("cannot start the command in %s (clone3)", l->cg_path);
	if (l->child == 0) {
		char *sh[] = {"/bin/sh", "-c", l->o->argv[0], NULL};
		char **argv = l->o->argc == 1 ? sh : l->o->argv;
		int keep[3] = {pfd[1], nsp[1], go[0]};
		char c;
		int r;

		/*
		 * Held for the workers' handshake: nothing of the loader's but the
		 * three it needs (each closed by exec, the error pipe's EOF saying
		 * exec worked), and not dumpable once it is the command's user.
		 */
		if (proc_keep_fds(keep, 3) < 0)
			_exit(CGFW_EXIT_FAILED);
		for (int i = 0; i < 3; i++)
			if (fcntl(keep[i], F_SETFD, FD_CLOEXEC) < 0)
				_exit(CGFW_EXIT_FAILED);
		pfd[1] = keep[0];
		nsp[1] = keep[1];
		go[0] = keep[2];
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		/* Trust for the minted leaves, without a system-wide change. */
		if (l->bundle_path[0]) {
			static const char *const vars[] = {"SSL_CERT_FILE", "CURL_CA_BUNDLE",
			    "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO"};

			for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
				(void)setenv(vars[i], l->bundle_path, 1);
		}
		r = confine_command(l);
		if (r == 0)
			r = proc_become(l->uid, l->gid, l->user_name, l->o->allow_raw);
		if (r == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			r = -errno;
		/*
		 * A loader killed outright takes the command with it (its cgroup
		 * stays filtered by the pins, but nothing would serve or report
		 * it).  After proc_become(): a uid change clears the setting.
		 */
		if (r == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != loader))
			r = -ESRCH;
		if (r == 0)
			r = command_seccomp(l);
		if (r >= -1)
			r = send_listener(nsp[1], r);
		/* Held: the loader says go once every worker is READY, or goes away. */
		if (r == 0 && read(go[0], &c, 1) != 1)
			_exit(CGFW_EXIT_FAILED);
		if (r == 0) {
			execvp(argv[0], argv);
			err[0] = 1;
			r = -errno;
		}
		err[1] = -r;
		(void)!write(pfd[1], err, sizeof(err));
		_exit(CGFW_EXIT_FAILED);
	}
	(void)close(pfd[1]);
	(void)close(nsp[1]);
	(void)close(go[0]);
	l->cmd_err_fd = pfd[0];
	l->cmd_go_fd = go[1];
	/* -1: it failed before it was held; the supervisor reads why (supervisor/command.c). */
	l->notify_fd = recv_listener(nsp[0]);
	(void)close(nsp[0]);
}
