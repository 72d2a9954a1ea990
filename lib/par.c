// SPDX-License-Identifier: MIT
/*
 * The spare thread (lib/par.h): parked on a condition variable, one job at
 * a time.  It is never joined: the process exits around it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "lib/par.h"

static pthread_mutex_t par_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t par_cond = PTHREAD_COND_INITIALIZER;
static int par_up, par_busy, par_parked;
static void (*par_fn)(void *);
static void *par_arg;

static void *
par_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&par_lock);
	/* Its start-up syscalls are done: par_start() may let the filter on. */
	par_parked = 1;
	pthread_cond_broadcast(&par_cond);
	for (;;) {
		void (*fn)(void *);

		while (!par_fn)
			pthread_cond_wait(&par_cond, &par_lock);
		fn = par_fn;
		pthread_mutex_unlock(&par_lock);
		fn(par_arg);
		pthread_mutex_lock(&par_lock);
		par_fn = NULL;
		par_busy = 0;
		pthread_cond_broadcast(&par_cond);
	}
	return NULL;
}

int
par_start(void)
{
	sigset_t all, old;
	pthread_t t;
	int r;

	if (par_up)
		return 0;
	/* Signals stay with the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&t, NULL, par_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	pthread_detach(t);
	/*
	 * Back only once the thread waits for work: a seccomp filter synced
	 * onto it mid-start would kill it on a start-up syscall (rseq,
	 * set_robust_list...).
	 */
	pthread_mutex_lock(&par_lock);
	while (!par_parked)
		pthread_cond_wait(&par_cond, &par_lock);
	par_up = 1;
	pthread_mutex_unlock(&par_lock);
	return 0;
}

int
par_run(void (*fn)(void *arg), void *arg)
{
	int r = -EAGAIN;

	pthread_mutex_lock(&par_lock);
	if (par_up && !par_busy) {
		par_busy = 1;
		par_fn = fn;
		par_arg = arg;
		pthread_cond_broadcast(&par_cond);
		r = 0;
	}
	pthread_mutex_unlock(&par_lock);
	return r;
}

void
par_wait(void)
{
	pthread_mutex_lock(&par_lock);
	while (par_busy)
		pthread_cond_wait(&par_cond, &par_lock);
	pthread_mutex_unlock(&par_lock);
}
