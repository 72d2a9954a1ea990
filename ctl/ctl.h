/* SPDX-License-Identifier: MIT */
/* cgfw-ctl: the readers of running instances, `status` and `events`; `cleanup`. */
#ifndef CGFW_CTL_H
#define CGFW_CTL_H

/*
 * Copies the JSON lines of instance name (NULL: the only one running) to
 * out_fd: the last ones it kept (at most last of them, -1: all), then with
 * follow the new ones until it stops.  0, or 1 with the reason on stderr.
 */
int events_read(const char *name, int follow, int last, int out_fd);
int events_main(int argc, char *argv[]);
int status_main(int argc, char *argv[]);
int cleanup_main(int argc, char *argv[]);

#endif
