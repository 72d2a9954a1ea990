// SPDX-License-Identifier: MIT
/*
 * cgfw-ctl: what anyone in the cgfw-log group may ask of the instances that
 * run (`status`, `events`), kept out of the loader, which only executes it
 * for `cgfw-loader status` and `cgfw-loader events`.  It never holds a
 * capability: run as root it joins cgfw-log (the instance directories are
 * their loaders' own uids' and the group's), then drops them all, bounding
 * set included; uid 0 still reads the pins and lock files root owns.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cap-ng.h>

#include "ctl/ctl.h"
#include "lib/log.h"
#include "lib/status.h"

static void __attribute__((noreturn)) usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: cgfw-loader status [NAME] [--json]\n"
	    "       cgfw-loader events [NAME] [--follow] [--last N]\n"
	    "  (cgfw-ctl takes the same words.)  Needs the group " CGFW_LOG_GROUP " (or root).\n"
	    "See cgfw-loader(8).\n");
	exit(code);
}

static void
drop_privileges(void)
{
	if (geteuid() == 0) {
		const struct group *gr = getgrnam(CGFW_LOG_GROUP);

		if (gr && setgroups(1, &gr->gr_gid) < 0)
			fatal("setgroups");
		capng_clear(CAPNG_SELECT_BOTH);
		if (capng_apply(CAPNG_SELECT_BOTH) < 0)
			fatalx("cannot drop capabilities");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("PR_SET_DUMPABLE");
}

int
main(int argc, char *argv[])
{
	log_init("cgfw-loader", 0);
	log_fatal_status(CTL_EXIT_FAILED);
	drop_privileges();
	if (argc < 2)
		usage(CTL_EXIT_FAILED);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		usage(0);
	if (!strcmp(argv[1], "status"))
		return status_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "events"))
		return events_main(argc - 1, argv + 1);
	log_warnx("unknown command \"%.32s\" (expected status or events)", argv[1]);
	usage(CTL_EXIT_FAILED);
}
