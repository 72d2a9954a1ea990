// SPDX-License-Identifier: MIT
/*
 * cgfw-ctl: what anyone in the cgfw-log group may ask of the instances that
 * run (`status`, `events`), and root's `cleanup` of dead ones, kept out of
 * the loader, which only executes it for `cgfw-loader status`, `events`
 * and `cleanup`.  Run as root it joins cgfw-log (the instance directories
 * are their loaders' own uids' and the group's), then drops every
 * capability, bounding set included (`cleanup`: all but CAP_DAC_OVERRIDE);
 * uid 0 still reads and removes the pins, cgroups and lock files root owns.
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
	    "       cgfw-loader cleanup [ID...]   (root)\n"
	    "  (cgfw-ctl takes the same words.)  Needs the group " CGFW_LOG_GROUP " (or root).\n"
	    "See cgfw-loader(8).\n");
	exit(code);
}

/*
 * As root: the group cgfw-log, and no capability; `cleanup` keeps
 * CAP_DAC_OVERRIDE alone, to empty the directories dead instances' uids
 * own (everything else it removes is uid 0's own).
 */
static void
drop_privileges(int cleanup)
{
	if (geteuid() == 0) {
		const struct group *gr = getgrnam(CGFW_LOG_GROUP);

		if (gr && setgroups(1, &gr->gr_gid) < 0)
			fatal("setgroups");
		capng_clear(CAPNG_SELECT_BOTH);
		if (cleanup && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
		                   CAP_DAC_OVERRIDE) < 0)
			fatalx("cannot keep CAP_DAC_OVERRIDE");
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
	log_fatal_status(CGFW_EXIT_FAILED);
	drop_privileges(argc >= 2 && !strcmp(argv[1], "cleanup"));
	if (argc < 2)
		usage(CGFW_EXIT_FAILED);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		usage(0);
	if (!strcmp(argv[1], "status"))
		return status_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "events"))
		return events_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cleanup"))
		return cleanup_main(argc - 1, argv + 1);
	log_warnx("unknown command \"%.32s\" (expected status, events or cleanup)", argv[1]);
	usage(CGFW_EXIT_FAILED);
}
