/* SPDX-License-Identifier: MIT */
/*
 * One spare thread for the policy compiler's big jobs (a list file's second
 * half, listfile.c).  The compiler runs under a seccomp filter that allows
 * no clone: par_start() is called before the filter goes on (the helper's
 * pre-sandbox hook, loader/compile.c), and the filter is then synced onto
 * the thread (sandbox_apply_all()).  Without par_start(), par_run() says
 * -EAGAIN and the caller does the job itself: the results are the same.
 */
#ifndef CGFW_PAR_H
#define CGFW_PAR_H

/* 0, or -errno (then there is no spare thread).  Again: a no-op. */
int par_start(void);
/* fn(arg) on the spare thread: 0, or -EAGAIN if there is none or it is busy. */
int par_run(void (*fn)(void *arg), void *arg);
/* Until the job par_run() gave is done. */
void par_wait(void);

#endif
