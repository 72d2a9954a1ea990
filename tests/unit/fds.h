/* SPDX-License-Identifier: MIT */
/*
 * The unit tests' fd helpers (after <cmocka.h>): how many fds the process
 * holds (a refused message must not leak one), and fds on /dev/null to send.
 */
#ifndef CGFW_TEST_FDS_H
#define CGFW_TEST_FDS_H

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

static inline int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* n fds on /dev/null. */
static inline void
open_nulls(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
}

static inline void
close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)close(fds[i]);
}

#endif
