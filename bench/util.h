/* SPDX-License-Identifier: MIT */
/*
 * What the bench tools share.  A tool defines BENCH_NAME (its name, for
 * messages) before including this, and its own usage(), which a bad number
 * calls.
 */
#ifndef CGFW_BENCH_UTIL_H
#define CGFW_BENCH_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void usage(void);

/* SIGALRM: the run took longer than its timeout (exit 3). */
static void
on_alarm(int sig)
{
	static const char msg[] = BENCH_NAME ": timed out\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(3);
}

/* s as a number in [min, max], else usage(). */
static long
parse_long(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

/* Monotonic seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
