// SPDX-License-Identifier: MIT
/* lib/sdnotify.c: addresses, and a message reaching an abstract socket. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/sdnotify.h"

static void
test_addr(void **state)
{
	struct sockaddr_un sun;
	char longp[sizeof(sun.sun_path) + 2];

	(void)state;
	assert_int_equal(sdnotify_addr("/run/systemd/notify", &sun),
	    (int)(offsetof(struct sockaddr_un, sun_path) + strlen("/run/systemd/notify") + 1));
	assert_string_equal(sun.sun_path, "/run/systemd/notify");
	assert_int_equal(
	    sdnotify_addr("@abc", &sun), (int)(offsetof(struct sockaddr_un, sun_path) + 4));
	assert_int_equal(sun.sun_path[0], '\0');
	assert_memory_equal(sun.sun_path + 1, "abc", 3);
	assert_int_equal(sdnotify_addr("relative", &sun), -EINVAL);
	assert_int_equal(sdnotify_addr("@", &sun), -EINVAL);
	assert_int_equal(sdnotify_addr("", &sun), -EINVAL);
	assert_int_equal(sdnotify_addr(NULL, &sun), -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(sdnotify_addr(longp, &sun), -EINVAL);
}

static void
test_send(void **state)
{
	struct sockaddr_un sun;
	char name[64], buf[128];
	int fd, len;
	ssize_t n;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_init(), 0);
	assert_int_equal(sdnotify_send("READY=1"), 0);

	snprintf(name, sizeof(name), "@cgfw-test-notify-%d", (int)getpid());
	len = sdnotify_addr(name, &sun);
	assert_true(len > 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, (socklen_t)len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sdnotify_init(), 1);
	assert_int_equal(sdnotify_send("READY=1\nSTATUS=enforcing"), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)strlen("READY=1\nSTATUS=enforcing"));
	buf[n] = '\0';
	assert_string_equal(buf, "READY=1\nSTATUS=enforcing");
	close(fd);
}

static void
test_watchdog(void **state)
{
	char pid[32];

	(void)state;
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sdnotify_watchdog_usec(), 30000000);
	setenv("WATCHDOG_PID", "1", 1); /* someone else's */
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "12x", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
}

static void
test_unit_names(void **state)
{
	(void)state;
	assert_true(sd_unit_name_valid("nginx.service"));
	assert_true(sd_unit_name_valid("cgfw-nginx.slice"));
	assert_true(sd_unit_name_valid("getty@tty1.service"));
	assert_true(sd_unit_name_valid("a\\x2db.scope"));
	assert_false(sd_unit_name_valid("-x.service")); /* an option to systemctl */
	assert_false(sd_unit_name_valid(".service"));
	assert_false(sd_unit_name_valid("nginx"));
	assert_false(sd_unit_name_valid("nginx.socket")); /* no cgroup of its own */
	assert_false(sd_unit_name_valid("a b.service"));
	assert_false(sd_unit_name_valid("a;b.service"));
	assert_false(sd_unit_name_valid("a/b.service"));
	assert_false(sd_unit_name_valid(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr),
	    cmocka_unit_test(test_send),
	    cmocka_unit_test(test_watchdog),
	    cmocka_unit_test(test_unit_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
