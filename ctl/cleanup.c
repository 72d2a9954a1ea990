// SPDX-License-Identifier: MIT
/*
 * `cleanup [ID...]` (cgfw-ctl; `cgfw-loader cleanup` executes it): the
 * stale instances among ids (none: all) unpinned, the cgroups `run` left
 * with them removed, and with no ids also the workers' cgroups, the
 * instance directories and the uid lock files of loaders that are gone.
 * Needs root: the pins, cgroups and lock files are root's; and no
 * capability, so cgfw-ctl keeps none (uid 0's ownership is enough).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "lib/instance.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/status.h"

/* A cgroup `run` made (.../cgfw/run-PID or workers-PID): cgfw's to remove. */
static int
cgroup_is_ours(const char *path)
{
	const char *base = strrchr(path, '/');

	if (!base || base - path < 5 || strncmp(base - 5, "/cgfw", 5) != 0)
		return 0;
	return !strncmp(base + 1, "run-", 4) || !strncmp(base + 1, "workers-", 8);
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
static int
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

int
cleanup_main(int argc, char *argv[])
{
	char q[40];
	int r, n;

	for (int i = 1; i < argc; i++)
		if (strspn(argv[i], "0123456789") != strlen(argv[i]) || !argv[i][0])
			fatalx("cleanup: \"%s\" is not a cgroup id (cgfw-loader status lists them)",
			    log_escape(q, 36, argv[i], strlen(argv[i])));
	if (geteuid() != 0)
		fatalx("cleanup must run as root: the pins, cgroups and lock files are root's");
	r = instances_cleanup(argv + 1, argc - 1);
	/* The uid lock files of loaders that are gone (an older cgfw left them all). */
	n = proc_uid_locks_sweep();
	if (n > 0)
		printf(
		    "removed %d unused uid lock%s in " CGFW_RUN_DIR "/uid\n", n, n == 1 ? "" : "s");
	return r;
}
