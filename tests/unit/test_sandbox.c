// SPDX-License-Identifier: MIT
/*
 * lib/sandbox.c's deny-list filter (sandbox_deny), in a child process: what
 * it lists fails with EPERM, everything else still works.  The allowlists
 * are exercised by the workers themselves (the integration tests).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/sandbox.h"

/* Exit codes of the child: 0 all as expected, else the step that was not. */
static int
child(void)
{
	static const char *const extra[] = {"execve", NULL};
	char *const argv[] = {"true", NULL};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sandbox_deny(extra) < 0)
		return 1;
	errno = 0;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != -1 || errno != EPERM)
		return 2;
	if (syscall(SYS_unshare, 0) != -1 || errno != EPERM)
		return 3;
	if (mount("none", "/", NULL, MS_REMOUNT, NULL) != -1 || errno != EPERM)
		return 4;
	if (syscall(SYS_io_uring_setup, 1, NULL) != -1 || errno != EPERM)
		return 5;
	if (execv("/bin/true", argv) != -1 || errno != EPERM)
		return 6;
	/* Not listed: still there. */
	if (getpid() <= 0 || write(STDOUT_FILENO, "", 0) != 0)
		return 7;
	return 0;
}

static void
test_deny(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
#ifdef CGFW_WEAK_SANDBOX
	/* Sanitizer builds load no filter: the first denial is missing. */
	assert_int_equal(WEXITSTATUS(status), 2);
#else
	assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deny),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
