// SPDX-License-Identifier: MIT
/* Dropping to a worker user and proving that it happened. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>

#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/proc.h"

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
proc_worker_enter(void)
{
	/*
	 * execve() made us dumpable again: until this line anyone with our uid
	 * could ptrace us or take our fds.  The loader waits for READY before
	 * the command starts, so no command exists yet.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("PR_SET_DUMPABLE");
	if (proc_close_fds_except(CGFW_FD_IPC) < 0)
		fatal("cannot close inherited fds");
	proc_assert_unprivileged();
}

void
proc_assert_unprivileged(void)
{
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0)
		fatalx("refusing to run as root: start me through cgfw-loader");
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatalx("refusing to run dumpable");
	capng_clear(CAPNG_SELECT_BOTH);
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		fatalx("refusing to run with capabilities");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fatalx("refusing to run without no_new_privs");
}

int
proc_uid_reserved(uid_t uid)
{
	return uid >= CGFW_DYN_UID_MIN && uid - CGFW_DYN_UID_MIN < CGFW_DYN_UID_N;
}

static void
uid_lock_path(uid_t uid, char *path, size_t len)
{
	snprintf(path, len, CGFW_RUN_DIR "/uid/%u", (unsigned)uid);
}

/*
 * Hold /run/cgfw/uid/<uid> locked: no other loader takes this uid meanwhile.
 * Its holder unlinks it before it lets go (proc_uid_lock_remove()), so a
 * lock won on a file that is no longer the path's is no lock: try again.
 */
static int
uid_lock(uid_t uid)
{
	char path[64];

	if ((mkdir(CGFW_RUN_DIR, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(CGFW_RUN_DIR "/uid", 0700) < 0 && errno != EEXIST))
		return -errno;
	uid_lock_path(uid, path, sizeof(path));
	for (int tries = 0; tries < 8; tries++) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int r = -errno;

			(void)close(fd);
			return r == -EWOULDBLOCK ? -EBUSY : r;
		}
		if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		(void)close(fd); /* unlinked by its last holder meanwhile */
	}
	return -EBUSY;
}

int
proc_uid_lock_remove(uid_t uid)
{
	char path[64];

	uid_lock_path(uid, path, sizeof(path));
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int
proc_uid_locks_sweep(void)
{
	DIR *d = opendir(CGFW_RUN_DIR "/uid");
	struct dirent *de;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			continue;
		/* Held: its loader runs.  Not held: gone, removed while we hold it. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
		(void)close(fd);
	}
	closedir(d);
	return n;
}

int
proc_worker_user(const char *name, uid_t avoid, uid_t *ret_uid, gid_t *ret_gid, int *ret_lock_fd)
{
	struct passwd *pw = getpwnam(name);

	*ret_lock_fd = -1;
	if (pw) {
		if (pw->pw_uid == 0 || pw->pw_gid == 0)
			return -EPERM;
		if (pw->pw_uid == avoid)
			return -EEXIST;
		*ret_uid = pw->pw_uid;
		*ret_gid = pw->pw_gid;
		return 0;
	}
	return proc_reserved_uid(ret_uid, ret_gid, ret_lock_fd);
}

/* Where this process's next search starts: after the uid its last one took. */
static uint32_t reserved_next = UINT32_MAX;

int
proc_reserved_uid(uid_t *ret_uid, gid_t *ret_gid, int *ret_lock_fd)
{
	uint32_t start;

	/*
	 * Like systemd's DynamicUser: a uid nobody else names or holds.  Each
	 * candidate is asked of NSS (every source nsswitch.conf lists, not only
	 * /etc/passwd and /etc/group: systemd-userdb, LDAP and the like may name
	 * uids of the range too), a lookup that costs a fraction of a
	 * millisecond, so a loader that needs four (its helpers', then each
	 * worker's) does not ask again about the ones before the last it took:
	 * that one is held, those before it were named or held a moment ago.
	 */
	start = reserved_next != UINT32_MAX ? reserved_next
	                                    : ((uint32_t)getpid() * 2654435761u) % CGFW_DYN_UID_N;
	for (uint32_t i = 0; i < CGFW_DYN_UID_N; i++) {
		uid_t uid = CGFW_DYN_UID_MIN + (start + i) % CGFW_DYN_UID_N;
		int fd;

		if (getpwuid(uid) || getgrgid((gid_t)uid))
			continue;
		fd = uid_lock(uid);
		if (fd == -EBUSY)
			continue;
		if (fd < 0)
			return fd;
		*ret_uid = uid;
		*ret_gid = (gid_t)uid;
		*ret_lock_fd = fd;
		reserved_next = (start + i + 1) % CGFW_DYN_UID_N;
		return 0;
	}
	return -ENOSPC;
}

int
proc_keep_fds(int *fds, int n)
{
	int tmp[PROC_KEEP_MAX];

	if (n < 0 || n > PROC_KEEP_MAX)
		return -EINVAL;
	/* Above the targets first, so no dup2() below closes one still needed. */
	for (int i = 0; i < n; i++) {
		tmp[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD, 3 + n);
		if (fds[i] >= 0 && tmp[i] < 0)
			return -errno;
	}
	for (int i = 0; i < n; i++) {
		if (tmp[i] >= 0 && dup2(tmp[i], 3 + i) < 0)
			return -errno;
		fds[i] = tmp[i] < 0 ? -1 : 3 + i;
	}
	if (syscall(SYS_close_range, 3 + n, ~0U, 0) < 0)
		return -errno;
	return 0;
}

static int
bounding_empty(void)
{
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			return 0;
	return 1;
}

int
proc_become(uid_t uid, gid_t gid, const char *user, int keep_net_raw)
{
	/* libcap-ng remembers the pid it first saw: a forked child must say it is another. */
	capng_setpid(getpid());
	if (user ? initgroups(user, gid) < 0 : setgroups(1, &gid) < 0)
		return -errno;
	if (setresgid(gid, gid, gid) < 0)
		return -errno;
	/*
	 * Empty the bounding set while CAP_SETPCAP is still ours.  A root
	 * target (an explicit --user root) keeps root's capabilities except
	 * those that reach the firewall (docs/threat-model.md): BPF objects and
	 * mounts (SYS_ADMIN, BPF, PERFMON), links and routes (NET_ADMIN), raw
	 * and packet sockets (NET_RAW, unless asked for), other processes
	 * (SYS_PTRACE, CHECKPOINT_RESTORE), file handles that open any cgroup
	 * directory by id (DAC_READ_SEARCH), the kernel itself (SYS_MODULE,
	 * SYS_RAWIO, SYS_BOOT, MAC_ADMIN) and giving capabilities back (SETPCAP).
	 */
	if (uid == 0) {
		static const int tamper[] = {CAP_SYS_ADMIN, CAP_BPF, CAP_NET_ADMIN, CAP_SYS_PTRACE,
		    CAP_SYS_MODULE, CAP_PERFMON, CAP_SETPCAP, CAP_DAC_READ_SEARCH, CAP_SYS_RAWIO,
		    CAP_CHECKPOINT_RESTORE, CAP_SYS_BOOT, CAP_MAC_ADMIN, CAP_NET_RAW};
		size_t n = sizeof(tamper) / sizeof(tamper[0]);

		capng_get_caps_process();
		/* CAP_NET_RAW is last: kept only for --allow-raw-sockets. */
		for (size_t i = 0; i < n - (keep_net_raw ? 1 : 0); i++)
			(void)capng_update(CAPNG_DROP,
			    CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE |
			        CAPNG_BOUNDING_SET,
			    tamper[i]);
		if (capng_apply(CAPNG_SELECT_BOTH) < 0)
			return -EPERM;
	} else {
		capng_clear(CAPNG_SELECT_BOTH);
		/* Already empty (a worker restarted by a loader past its drop): nothing to do. */
		if (!bounding_empty() && capng_apply(CAPNG_SELECT_BOUNDS) < 0)
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

int
proc_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
proc_fds_send(int sock, const int *fds, int n)
{
	char byte = 0;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(PROC_PASS_MAX * sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n < 0 || n > PROC_PASS_MAX)
		return -EINVAL;
	if (n > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
		memcpy(CMSG_DATA(&cm.h), fds, (size_t)n * sizeof(int));
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != 1)
		return -errno;
	return 0;
}

int
proc_fds_recv(int sock, int *fds, int n, int flags)
{
	char byte;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(PROC_PASS_MAX * sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cm.buf,
	    .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *c;
	int got[PROC_PASS_MAX], n_got = 0;
	ssize_t r;

	if (n < 1 || n > PROC_PASS_MAX)
		return -EINVAL;
	do
		r = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	/* Whatever fds came are ours to close unless they are what was asked. */
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && n_got < PROC_PASS_MAX; i++)
			memcpy(&got[n_got++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if (r != 1 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n_got != n) {
		for (int i = 0; i < n_got; i++)
			(void)close(got[i]);
		return -EBADMSG;
	}
	memcpy(fds, got, (size_t)n * sizeof(int));
	return 0;
}

/*
 * The mount point of the first (or, with last, the last) mount in
 * /proc/self/mountinfo whose type is type1 or type2 (NULL: none); -ENOENT
 * if there is none.  Mount points are never assumed.
 */
int
mountinfo_find(const char *type1, const char *type2, int last, char *buf, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *sep = strstr(line, " - ");
		char fstype[64];

		/* id parent major:minor root mountpoint ... - fstype source opts */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep, " - %63s", fstype) != 1)
			continue;
		if (strcmp(fstype, type1) != 0 && (!type2 || strcmp(fstype, type2) != 0))
			continue;
		if (strlen(mnt) >= len) {
			r = -ENAMETOOLONG;
			break;
		}
		/* mountinfo escapes spaces as \040; a mount with one is not ours. */
		strcpy(buf, mnt);
		r = 0;
		if (!last)
			break;
	}
	fclose(f);
	return r;
}

/* The cgroup2 mount point. */
int
cgroup2_mount(char *buf, size_t len)
{
	return mountinfo_find("cgroup2", NULL, 0, buf, len);
}

/* The cgroup directory with inode id under the cgroup2 mount, found by walking. */
static unsigned long long find_id;
static char find_path[PATH_MAX];

static int
find_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_D || (unsigned long long)st->st_ino != find_id)
		return 0;
	snprintf(find_path, sizeof(find_path), "%s", path);
	return 1;
}

const char *
cgroup_by_id(const char *mnt, unsigned long long id)
{
	find_id = id;
	find_path[0] = '\0';
	(void)nftw(mnt, find_cb, 32, FTW_PHYS | FTW_MOUNT);
	return find_path[0] ? find_path : NULL;
}
