/* SPDX-License-Identifier: MIT */
/*
 * List files (--allow-list-file, --block-list-file): one rule a line, '#'
 * comments, hosts-file lines ("0.0.0.0 a.example b.example").  Built for
 * public blocklists of a million names: one read, no allocation per line.
 */
#ifndef CGFW_LISTFILE_H
#define CGFW_LISTFILE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/namepolicy.h"
#include "lib/rules.h"

#define LISTFILE_MAX_BYTES (1024L * 1024 * 1024)

/*
 * Text input (list files, the config file) holds no control character but
 * tab and line ends ("\n", "\r\n"): a NUL or an escape sequence is an
 * error, never a cut.  0, or -EINVAL with err "PATH:LINE: control character
 * \xNN in \"LINE\": ..." (the line escaped, see log_escape()).
 */
int listfile_check_text(const char *path, const char *s, size_t n, char *err, size_t err_len);

/*
 * Name rules go to b (origin path, line number); a line that is an IP or CIDR
 * goes to rs (origin "PATH:LINE"); a URL goes to rs and, if it names a host,
 * to b as well.  Every rule takes the id *next_id++, in file order.  A bad
 * line, or a control character anywhere (listfile_check_text()), fails the
 * whole file with err "PATH:LINE: ..."; rs and *next_id are then as they
 * were, b must be thrown away.  *next_id - its value before is the number of
 * rules the file held.
 */
int listfile_load(const char *path, int action, struct np_builder *b, struct cgfw_ruleset *rs,
    uint32_t *next_id, char *err, size_t err_len);
/* The same from an open fd (not closed), path naming it in errors. */
int listfile_load_fd(int fd, const char *path, int action, struct np_builder *b,
    struct cgfw_ruleset *rs, uint32_t *next_id, char *err, size_t err_len);

#endif
