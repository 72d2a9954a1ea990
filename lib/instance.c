// SPDX-License-Identifier: MIT
/*
 * An instance's lock, pins and cgroups (lib/instance.h): taken and removed
 * by the loader, found stale and removed by `cleanup` (ctl/cleanup.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/instance.h"
#include "lib/proc.h"
#include "lib/status.h"

int
instance_lock(unsigned long long cg_id, pid_t *ret_holder)
{
	char path[96], pid[16];
	int fd, n;

	*ret_holder = 0;
	if (mkdir(CGFW_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	instance_lock_path(cg_id, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
		if (n > 0) {
			pid[n] = '\0';
			*ret_holder = (pid_t)atoi(pid);
		}
		(void)close(fd);
		return r;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		(void)close(fd);
		return -EIO;
	}
	return fd;
}

/* Unlinked while its flock is still held (the loader closes the fd after). */
void
instance_lock_unlink(unsigned long long cg_id)
{
	char path[96];

	instance_lock_path(cg_id, path, sizeof(path));
	(void)unlink(path);
}

void
instance_unlock(unsigned long long cg_id, int fd)
{
	if (fd < 0)
		return;
	instance_lock_unlink(cg_id);
	(void)close(fd);
}

/* Unpin every link of a stale instance: the last reference goes, they detach. */
int
instance_unpin(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && unlinkat(dirfd(d), de->d_name, 0) < 0)
			r = -errno;
	closedir(d);
	if (r == 0 && rmdir(dir) < 0)
		r = -errno;
	return r;
}

int
cgroup_kill_remove(const char *path)
{
	char kill_path[PATH_MAX + 16];
	int fd;

	snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", path);
	fd = open(kill_path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		(void)close(fd);
	}
	for (int i = 0; i < 200; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	return -errno;
}
