/* SPDX-License-Identifier: MIT */
/* seccomp allowlists for the workers (libseccomp). */
#ifndef CGFW_SANDBOX_H
#define CGFW_SANDBOX_H

/*
 * Install a filter allowing the syscalls of the base set plus `extra`
 * (names, NULL-terminated; "name:N" allows it only with N as the first
 * argument); anything else kills the process.
 * Builds with CGFW_WEAK_SANDBOX (sanitizers) skip it and say so.
 */
int sandbox_apply(const char *who, const char *const *extra);
/* The same for every thread of the process (TSYNC): threads started before it. */
int sandbox_apply_all(const char *who, const char *const *extra);
/*
 * The opposite, for cgfw's own processes that run more than a worker's few
 * syscalls (the keeper, the launchers): everything allowed but a fixed list
 * (process memory and fds, mounts and namespaces, modules, keys, io_uring,
 * ...) plus `extra`, which fail with EPERM.  Filters stack: a worker started
 * under it adds its allowlist.  Skipped in CGFW_WEAK_SANDBOX builds.
 */
int sandbox_deny(const char *const *extra);

#endif
