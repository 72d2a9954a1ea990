// SPDX-License-Identifier: MIT
/*
 * sd_notify(3) by hand: a datagram to $NOTIFY_SOCKET.  The socket is opened
 * once at sdnotify_init() and each message is sent with sendto(), so a
 * restarted manager (a new socket at the same address) is still reached.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;

int
sdnotify_addr(const char *s, struct sockaddr_un *sun)
{
	size_t n = s ? strlen(s) : 0;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	/* "/path", or "@name": the abstract namespace, a leading NUL. */
	if (n < 2 || (s[0] != '/' && s[0] != '@') || n > sizeof(sun->sun_path) ||
	    (s[0] == '/' && n == sizeof(sun->sun_path)))
		return -EINVAL;
	memcpy(sun->sun_path, s, n);
	if (s[0] == '@') {
		sun->sun_path[0] = '\0';
		return (int)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	return (int)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

int
sdnotify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	int r;

	if (notify_fd >= 0)
		return 1;
	if (!s || !s[0])
		return 0;
	r = sdnotify_addr(s, &notify_addr);
	if (r < 0)
		return r;
	notify_len = (socklen_t)r;
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd < 0)
		return -errno;
	return 1;
}

int
sdnotify_send(const char *msg)
{
	size_t len = strlen(msg);
	ssize_t n;

	if (notify_fd < 0)
		return 0;
	do
		n = sendto(
		    notify_fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&notify_addr, notify_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 1 : -EMSGSIZE;
}

uint64_t
sdnotify_watchdog_usec(void)
{
	const char *s = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!s)
		return 0;
	if (p) {
		unsigned long pid;

		errno = 0;
		pid = strtoul(p, &end, 10);
		if (errno || *end || end == p || pid != (unsigned long)getpid())
			return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || end == s)
		return 0;
	return (uint64_t)v;
}

/*
 * A unit name as systemd spells them: "name.type" of [A-Za-z0-9:_.@\-] (and
 * the "\x2d" escapes), not starting with '-' so it can never read as an
 * option, and of a type that has a cgroup.
 */
int
sd_unit_name_valid(const char *s)
{
	static const char *const types[] = {".service", ".slice", ".scope"};
	size_t n = strlen(s);

	if (n == 0 || n > 255 || s[0] == '-' || s[0] == '.' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.@-\\") != n)
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t t = strlen(types[i]);

		if (n > t && !strcmp(s + n - t, types[i]))
			return 1;
	}
	return 0;
}
