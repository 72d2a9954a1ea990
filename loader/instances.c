// SPDX-License-Identifier: MIT
/*
 * The instance's name and directory, and its event socket.  Its lock, pins
 * and cgroups are lib/instance.c's (`cleanup` uses them too, ctl/cleanup.c).
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
#include "lib/instance.h"
#include "lib/proc.h"
#include "loader.h"

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
