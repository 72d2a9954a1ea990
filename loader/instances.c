// SPDX-License-Identifier: MIT
/*
 * Instances: each loader holds /run/cgfw/instance-<cgroup id>.lock (flock)
 * for as long as it enforces on that cgroup; the lock file says its pid.
 * Pins in /sys/fs/bpf/cgfw/<cgroup id>/ whose lock nobody holds are stale: a
 * loader died without its cleanup (fail closed: the cgroup stayed filtered).
 * `cgfw-ctl status` lists them, `cleanup` removes stale ones, and a new attach
 * to the same cgroup replaces them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/json.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "loader.h"

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

/*
 * The instance's name and directory CGFW_INST_DIR/<name> (02750, the
 * loader's own uid and cgfw-log):
 * what a reader in the cgfw-log group may see of it lives there.  The name is
 * ours for as long as we hold the flock on its "lock" file; a directory left
 * by a loader that died is emptied and taken over.
 */
void
instance_dir_open(struct loader *l)
{
	const struct group *gr = getgrnam(CGFW_LOG_GROUP);
	char path[PATH_MAX + 8], pid[16];
	struct stat st;
	int n;

	if (l->o->name)
		snprintf(l->name, sizeof(l->name), "%s", l->o->name);
	else if (l->o->cmd == CMD_RUN)
		snprintf(l->name, sizeof(l->name), "run-%d", (int)getpid());
	else
		snprintf(l->name, sizeof(l->name), "cg-%llu", l->cg_id);
	l->log_gid = gr ? gr->gr_gid : 0;
	snprintf(l->inst_dir, sizeof(l->inst_dir), CGFW_INST_DIR "/%s", l->name);
	if (mkdir(CGFW_RUN_DIR, 0755) < 0 && errno != EEXIST)
		fatal("cannot create " CGFW_RUN_DIR);
	if (mkdir(CGFW_INST_DIR, 0755) < 0 && errno != EEXIST)
		fatal("cannot create " CGFW_INST_DIR);
	snprintf(path, sizeof(path), "%s/lock", l->inst_dir);
	/* Twice at most: an empty directory cleanup removed meanwhile (instance_dirs_cleanup()). */
	for (int tries = 0;; tries++) {
		if (mkdir(l->inst_dir, 0750) < 0 && errno != EEXIST)
			fatal("cannot create %s", l->inst_dir);
		if (lstat(l->inst_dir, &st) < 0)
			fatal("%s", l->inst_dir);
		if (!S_ISDIR(st.st_mode) || !instance_owner_ok(st.st_uid))
			fatalx("%s is not a directory of root's or cgfw's", l->inst_dir);
		/*
		 * The loader's own uid's (it rewrites the status there after it
		 * became that uid, keeper.c); setgid: what it writes is cgfw-log's.
		 */
		if (chown(l->inst_dir, l->self_uid, l->log_gid) < 0 ||
		    chmod(l->inst_dir, 02750) < 0)
			fatal("cannot set the owner and mode of %s", l->inst_dir);
		l->name_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (l->name_fd >= 0)
			break;
		if (errno != ENOENT || tries == 1)
			fatal("cannot open %s", path);
	}
	if (flock(l->name_fd, LOCK_EX | LOCK_NB) < 0) {
		n = (int)pread(l->name_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		fatalx("the instance name %s is in use (cgfw-loader pid %d); choose another "
		       "with --name",
		    l->name, atoi(pid));
	}
	instance_dir_clear(open(l->inst_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "lock");
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(l->name_fd, 0) < 0 || pwrite(l->name_fd, pid, (size_t)n, 0) != n)
		fatal("cannot write %s", path);
}

/* The loader's files in its directory (it owns it); the directory goes in loader_remove_paths(). */
void
instance_dir_empty(struct loader *l)
{
	if (l->name_fd >= 0)
		instance_dir_clear(open(l->inst_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), NULL);
}

void
instance_dir_close(struct loader *l)
{
	if (l->name_fd < 0)
		return;
	(void)close(l->name_fd);
	l->name_fd = -1;
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

/* A cgroup `run` made (.../cgfw/run-PID or workers-PID): cgfw's to remove. */
static int
cgroup_is_ours(const char *path)
{
	const char *base = strrchr(path, '/');

	if (!base || base - path < 5 || strncmp(base - 5, "/cgfw", 5) != 0)
		return 0;
	return !strncmp(base + 1, "run-", 4) || !strncmp(base + 1, "workers-", 8);
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

/* cleanup: the workers' cgroups of loaders that are gone (they hold no pins). */
static int n_workers_removed;

static int
workers_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	char proc[64];

	(void)st;
	if (flag != FTW_DP || strncmp(base, "workers-", 8) != 0 || !cgroup_is_ours(path))
		return 0;
	snprintf(proc, sizeof(proc), "/proc/%s", base + 8);
	if (access(proc, F_OK) == 0)
		return 0;
	if (cgroup_kill_remove(path) == 0) {
		printf("removed %s\n", path);
		n_workers_removed++;
	}
	return 0;
}

/*
 * cleanup: the directories of named instances whose loader is gone (nobody
 * holds the flock of their lock file): a killed loader leaves its status.
 */
static int
instance_dirs_cleanup(void)
{
	DIR *d = opendir(CGFW_INST_DIR);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		int fd, dfd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), CGFW_INST_DIR "/%s/lock", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT) {
			/*
			 * No lock file: emptied by a loader whose keeper was gone (only
			 * the keeper may remove the directory), or one being made this
			 * instant (instance_dir_open() tries again).  Removed if empty.
			 */
			snprintf(path, sizeof(path), CGFW_INST_DIR "/%s", de->d_name);
			if (rmdir(path) == 0) {
				printf("removed %s (its loader is gone)\n", path);
				n++;
			}
			continue;
		}
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (fd >= 0)
				(void)close(fd);
			continue;
		}
		snprintf(path, sizeof(path), CGFW_INST_DIR "/%s", de->d_name);
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd >= 0) {
			instance_dir_clear(dfd, NULL);
			if (rmdir(path) == 0) {
				printf("removed %s (its loader is gone)\n", path);
				n++;
			}
		}
		(void)close(fd);
	}
	closedir(d);
	return n;
}

/* No ids: every instance; else only those (cgroup ids, as status prints them). */
static int
wanted(unsigned long long id, char **ids, int n_ids)
{
	for (int i = 0; i < n_ids; i++)
		if (strtoull(ids[i], NULL, 10) == id)
			return 1;
	return n_ids == 0;
}

/*
 * cleanup: unpin the stale instances among ids (none: all) and remove the
 * cgroups `run` left with them; with no ids also the workers' cgroups and
 * the instance directories of loaders that are gone.
 */
int
instances_cleanup(char **ids, int n_ids)
{
	char mnt[PATH_MAX];
	DIR *d = opendir(CGFW_PIN_DIR);
	struct dirent *de;
	int n = 0, running = 0, bad = 0;

	if (cgroup2_mount(mnt, sizeof(mnt)) < 0)
		mnt[0] = '\0';
	if (!d) {
		if (errno != ENOENT)
			fatal("%s", CGFW_PIN_DIR);
		printf("no cgfw instance\n");
		return 0;
	}
	while ((de = readdir(d))) {
		char *end, dir[PATH_MAX];
		unsigned long long id = strtoull(de->d_name, &end, 10);
		const char *cg;
		pid_t holder;
		int fd, r;

		/* <id>-new: a replacement (attach.c) whose loader died before the rename. */
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || (*end && strcmp(end, "-new")) ||
		    !wanted(id, ids, n_ids))
			continue;
		n++;
		cg = mnt[0] ? cgroup_by_id(mnt, id) : NULL;
		fd = instance_lock(id, &holder);
		if (fd == -EBUSY) {
			running++;
			printf("%llu running pid %d cgroup %s\n", id, (int)holder,
			    cg ? cg : "(not found)");
			continue;
		}
		if (fd < 0) {
			log_warn_r(fd, "cannot check instance %llu", id);
			bad = 1;
			continue;
		}
		snprintf(dir, sizeof(dir), CGFW_PIN_DIR "/%s", de->d_name);
		r = instance_unpin(dir);
		if (r == 0 && cg && cgroup_is_ours(cg))
			r = cgroup_kill_remove(cg);
		if (r < 0) {
			log_warn_r(r, "cannot remove stale instance %llu", id);
			bad = 1;
		} else {
			printf("%llu removed%s%s\n", id, cg && cgroup_is_ours(cg) ? " with " : "",
			    cg && cgroup_is_ours(cg) ? cg : "");
		}
		instance_unlock(id, fd);
	}
	closedir(d);
	if (mnt[0])
		(void)nftw(mnt, workers_cb, 32, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
	if (n_ids == 0)
		n_workers_removed += instance_dirs_cleanup();
	/*
	 * A full cleanup with nothing running: the shared exempt map goes too
	 * (what is left in it are the workers of loaders that were killed).
	 */
	if (n_ids == 0 && running == 0 && !bad && unlink(CGFW_PIN_DIR "/cgfw_exempt") == 0)
		printf("removed " CGFW_PIN_DIR "/cgfw_exempt (no instance left)\n");
	if (!n && !n_workers_removed)
		printf("no cgfw instance\n");
	return bad ? CGFW_EXIT_FAILED : 0;
}

/* In the instance's directory (instance_dir_open()); root's and cgfw-log's, 0660. */
void
events_listen(struct loader *l)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	if (instance_sock_path(&sun, l->inst_dir) < 0)
		fatalx("%s: path too long for a socket", l->inst_dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket");
	(void)unlink(sun.sun_path);
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0)
		fatal("cannot bind %s", sun.sun_path);
	if (chown(sun.sun_path, 0, l->log_gid) < 0 || chmod(sun.sun_path, 0660) < 0)
		fatal("cannot set the owner and mode of %s", sun.sun_path);
	if (listen(fd, 64) < 0)
		fatal("cannot listen on %s", sun.sun_path);
	l->events_fd = fd;
}
