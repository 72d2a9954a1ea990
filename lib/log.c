// SPDX-License-Identifier: MIT
/* Diagnostics for every cgfw process: one line per message on stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

static const char *log_proc = "cgfw";
static int log_verbose;
static int log_fatal_exit = 1;

void
log_fatal_status(int status)
{
	log_fatal_exit = status;
}

void
log_init(const char *procname, int debug)
{
	log_proc = procname;
	log_verbose = debug;
}

int
log_debug_enabled(void)
{
	return log_verbose;
}

static void
log_vline(int level, int errnum, const char *func, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "%s[%d]: ", log_proc, (int)getpid());
	if (level == LOG_L_DEBUG && func && n >= 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, "%s: ", func);
	if (n >= 0 && (size_t)n < sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (errnum && n >= 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(errnum));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
}

void
log_msg(int level, int errnum, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (level == LOG_L_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	log_vline(level, errnum, func, fmt, ap);
	va_end(ap);
}

void
fatal_msg(int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_L_WARN, errnum, NULL, fmt, ap);
	va_end(ap);
	exit(log_fatal_exit);
}
