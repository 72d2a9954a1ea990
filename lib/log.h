/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics on stderr, prefixed "<process>[pid]:".  The monitor's events are
 * a different stream (monitor/events.c).
 */
#ifndef CGFW_LOG_H
#define CGFW_LOG_H

#include <stdarg.h>
#include <stddef.h>

void log_init(const char *procname, int debug);
int log_debug_enabled(void);
void log_msg(int level, int errnum, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void fatal_msg(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* The status fatal*() exits with: 1 unless the process says otherwise (the loader: 125). */
void log_fatal_status(int status);

/*
 * Input quoted in a message: s (n bytes, NULs included) with printable ASCII
 * as is, '"' and '\\' escaped, every other byte as \xNN, cut to fit
 * buf_len (>= 4) with "..." at the end.  Returns buf.  LOG_ESC_LEN shows
 * about 200 bytes of input.
 */
#define LOG_ESC_LEN 204
const char *log_escape(char *buf, size_t buf_len, const char *s, size_t n);

enum { LOG_L_DEBUG, LOG_L_INFO, LOG_L_WARN };

#define log_debug(...)     log_msg(LOG_L_DEBUG, 0, __func__, __VA_ARGS__)
#define log_info(...)      log_msg(LOG_L_INFO, 0, NULL, __VA_ARGS__)
#define log_warnx(...)     log_msg(LOG_L_WARN, 0, NULL, __VA_ARGS__)
#define log_warn(...)      log_msg(LOG_L_WARN, errno, NULL, __VA_ARGS__)
#define log_warn_r(r, ...) log_msg(LOG_L_WARN, -(r), NULL, __VA_ARGS__)
#define fatalx(...)        fatal_msg(0, __VA_ARGS__)
#define fatal(...)         fatal_msg(errno, __VA_ARGS__)
#define fatal_r(r, ...)    fatal_msg(-(r), __VA_ARGS__)

#endif
