/* SPDX-License-Identifier: MIT */
/*
 * The policy from every source, compiled: name rules into the name policy's
 * sealed memfd (lib/namepolicy.h), the IP maps and the rules the workers
 * need by id into the compiled policy's (lib/cpolicy.h).  Runs in the
 * loader's unprivileged helper (loader/compile.c) on list files the loader
 * opened; never in a privileged process.
 */
#ifndef CGFW_COMPILE_H
#define CGFW_COMPILE_H

#include <stddef.h>

#include "lib/rules.h"

struct compile_file {
	const char *path;
	int action;     /* CGFW_ACT_* */
	int replaced;   /* a config key the command line overrides: checked, then dropped */
	int fd;         /* opened by the loader, or -1 */
	int open_errno; /* why not, when fd is -1 */
};

struct compile_result {
	int np_fd;      /* the name policy */
	int cp_fd;      /* the compiled policy */
	int mode;       /* enum cgfw_mode */
	size_t n_rules; /* enforced, counted as the maps hold them */
	int n_sources;
	size_t n_dup; /* IP rules merged into another */
};

#define COMPILE_ERR_LEN 4096

/*
 * rs: the command line's and config's rules; ids are given here (1 + the
 * index), and each list file's IP, CIDR and URL rules join it in file order.
 * warn (may be NULL) hears of every rule that is accepted but not enforced.
 * 0, or -errno with err (COMPILE_ERR_LEN) saying what and where, as the
 * user reads it ("PATH:LINE: ...").
 */
int compile_sources(struct cgfw_ruleset *rs, const struct compile_file *files, int n_files,
    int allow_empty, void (*warn)(const char *msg), struct compile_result *ret, char *err,
    size_t err_len);
/*
 * The same in two steps: cp_ready (if not NULL) gets res with cp_fd, mode
 * and counts set (np_fd -1) once every source is read and checked and the
 * compiled policy written, before the name table is built; its error
 * (-errno) fails the whole.  On return, res is as compile_sources() sets it.
 */
int compile_sources_split(struct cgfw_ruleset *rs, const struct compile_file *files, int n_files,
    int allow_empty, void (*warn)(const char *msg),
    int (*cp_ready)(const struct compile_result *res, void *arg), void *arg,
    struct compile_result *ret, char *err, size_t err_len);

#endif
