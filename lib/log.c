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

/* How many bytes log_escape() writes for c. */
static size_t
esc_len(unsigned char c)
{
	if (c == '"' || c == '\\')
		return 2;
	return c >= 0x20 && c < 0x7f ? 1 : 4;
}

const char *
log_escape(char *buf, size_t buf_len, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, total = 0, room;

	if (buf_len < 4) {
		if (buf_len)
			buf[0] = '\0';
		return buf;
	}
	for (size_t i = 0; i < n && total < buf_len; i++)
		total += esc_len((unsigned char)s[i]);
	/* Cut only when it does not fit, and then keep room for "...". */
	room = total < buf_len ? buf_len - 1 : buf_len - 4;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + esc_len(c) > room) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (esc_len(c) == 1) {
			buf[o++] = (char)c;
		} else if (esc_len(c) == 2) {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
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
