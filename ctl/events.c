// SPDX-License-Identifier: MIT
/*
 * `cgfw-loader events`: a plain reader of an instance's event socket,
 * CGFW_INST_DIR/<name>/events.sock, which the loader made (0660, group
 * cgfw-log) and cgfw-monitor serves (monitor/stream.c).  The protocol is
 * docs/events.md's: one request line, then JSON lines.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/status.h"

static int connect_to(const char *name, int *ret_fd);

/*
 * A killed loader leaves its directory (the name is taken over by the next
 * loader of that name): its socket refuses, or is gone.  One we may not
 * reach counts as running.
 */
static int
instance_live(const char *name)
{
	int fd, r = connect_to(name, &fd);

	if (r == 0)
		(void)close(fd);
	return r != -ECONNREFUSED && r != -ENOENT;
}

/* The names of the instances running, comma-separated, into buf; how many. */
static int
instance_names(char *buf, size_t len, char *only, size_t only_len)
{
	DIR *d = opendir(CGFW_INST_DIR);
	struct dirent *de;
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !instance_name_valid(de->d_name) ||
		    !instance_live(de->d_name))
			continue;
		if (n++ == 0)
			snprintf(only, only_len, "%.*s", CGFW_NAME_MAX, de->d_name);
		if (used < len)
			used += (size_t)snprintf(
			    buf + used, len - used, "%s%s", n > 1 ? ", " : "", de->d_name);
	}
	closedir(d);
	return n;
}

static int
connect_to(const char *name, int *ret_fd)
{
	struct sockaddr_un sun;
	char dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), CGFW_INST_DIR "/%s", name);
	if (instance_sock_path(&sun, dir) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int r = -errno;

		(void)close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int
events_read(const char *name, int follow, int last, int out_fd)
{
	char names[1024], only[CGFW_NAME_MAX + 1], req[32], buf[65536], path[PATH_MAX];
	int fd, r, n;

	if (!name) {
		n = instance_names(names, sizeof(names), only, sizeof(only));
		if (n == 0) {
			log_warnx(
			    "events: no instance is running (no live socket in " CGFW_INST_DIR ")");
			return 1;
		}
		if (n > 1) {
			log_warnx("events: %d instances are running (%s); name one", n, names);
			return 1;
		}
		name = only;
	}
	if (!instance_name_valid(name)) {
		log_warnx("events: \"%.64s\" is not an instance name", name);
		return 1;
	}
	snprintf(path, sizeof(path), CGFW_INST_DIR "/%s/" INSTANCE_EVENTS_SOCK, name);
	r = connect_to(name, &fd);
	if (r == -EACCES || r == -EPERM) {
		log_warnx("events: %s: %s; reading events takes the group " CGFW_LOG_GROUP
		          " (or root)",
		    path, strerror(-r));
		return 1;
	}
	if (r == -ENOENT || r == -ENOTDIR) {
		n = instance_names(names, sizeof(names), only, sizeof(only));
		log_warnx("events: no instance %s (no %s)%s%s", name, path, n ? "; running: " : "",
		    names);
		return 1;
	}
	if (r == -ECONNREFUSED) {
		log_warnx("events: instance %s is not running (%s refuses; cgfw-loader cleanup "
		          "removes what a killed loader left)",
		    name, path);
		return 1;
	}
	if (r < 0) {
		log_warnx("events: %s: %s", path, strerror(-r));
		return 1;
	}
	if (last >= 0)
		n = snprintf(req, sizeof(req), "%s %d\n", follow ? "follow" : "last", last);
	else
		n = snprintf(req, sizeof(req), "%s\n", follow ? "follow" : "last");
	r = proc_write_all(fd, req, (size_t)n);
	if (r < 0) {
		log_warnx("events: %s: %s", path, strerror(-r));
		(void)close(fd);
		return 1;
	}
	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			log_warn("events: %s", path);
			(void)close(fd);
			return 1;
		}
		if (got == 0)
			break;
		r = proc_write_all(out_fd, buf, (size_t)got);
		if (r < 0) {
			(void)close(fd);
			return r == -EPIPE ? 0 : 1; /* the reader of our output left */
		}
	}
	(void)close(fd);
	if (!follow)
		return 0;
	/* The end: the instance stopped (its socket is gone), or this reader was cut off. */
	if (connect_to(name, &fd) == 0) {
		(void)close(fd);
		log_warnx("events: the stream of %s ended while it still runs: this reader fell "
		          "too far behind (READER DROPPED), or cgfw-monitor restarted",
		    name);
		return 1;
	}
	log_info("events: instance %s stopped", name);
	return 0;
}

static void __attribute__((noreturn)) events_usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: cgfw-loader events [NAME] [--follow] [--last N]\n"
	    "  the JSON lines of instance NAME (default: the only one running): the last\n"
	    "  ones it kept (up to 256; --last N: at most N), then with --follow the new\n"
	    "  ones until it stops.  Needs the group " CGFW_LOG_GROUP " (or root).\n");
	exit(code);
}

/* `cgfw-loader events`: a reader of the socket, nothing more (ctl.c dropped everything). */
int
events_main(int argc, char *argv[])
{
	static const struct option lo[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"last", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, follow = 0, last = -1;
	char *end;

	optind = 0; /* a fresh scan (the subcommand's options may follow NAME) */
	while ((c = getopt_long(argc, argv, "fn:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = 1;
			break;
		case 'n':
			errno = 0;
			last = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || last < 0 || last > 99999)
				fatalx("events: --last: expected a count (0-99999)");
			break;
		case 'h':
			events_usage(0);
		default:
			events_usage(CGFW_EXIT_FAILED);
		}
	}
	if (argc - optind > 1)
		events_usage(CGFW_EXIT_FAILED);
	return events_read(optind < argc ? argv[optind] : NULL, follow, last, STDOUT_FILENO);
}
