// SPDX-License-Identifier: MIT
/*
 * What cgfw-supervisor tells the service manager (sd_notify(3), Type=notify
 * or notify-reload; lib/sdnotify.c): READY=1 once every hook is attached
 * and every worker READY, WATCHDOG=1 while all are up, RELOADING=1, and
 * STATUS= lines.  The same process as the loader (it executed us): the
 * manager's main pid.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/log.h"
#include "lib/sdnotify.h"
#include "supervisor/supervisor.h"

void
sd_init(void)
{
	int r = sdnotify_init();

	if (r < 0)
		log_warn_r(r, "NOTIFY_SOCKET: cannot use \"%s\"", getenv("NOTIFY_SOCKET"));
}

/*
 * After the hooks are attached and the workers said READY; STATUS= is
 * status.c's line, the same `cgfw-loader status` shows.
 */
void
sd_ready(struct sup *s)
{
	char msg[sizeof(s->status_line) + 32];
	int r;

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status_now(s));
	r = sdnotify_send(msg);
	if (r < 0)
		log_warn_r(r, "cannot notify the service manager");
}

/* ms between WATCHDOG=1 messages (half the manager's interval), or -1. */
int
sd_watchdog_ms(void)
{
	uint64_t us = sdnotify_watchdog_usec();

	if (!us)
		return -1;
	us /= 2000;
	return us < 1 ? 1 : us > INT_MAX ? INT_MAX : (int)us;
}

/*
 * Called whenever the attach loop wakes: WATCHDOG=1 only while every worker
 * is up (a worker that stays down past WatchdogSec= gets cgfw restarted;
 * its pins keep the slice filtered meanwhile).  STATUS= follows health and
 * counters from status_update().
 */
void
sd_tick(struct sup *s)
{
	int healthy = !s->gave_up && !s->target_lost;

	for (int i = 0; i < W_N; i++)
		healthy &= s->w[i].ready;
	if (healthy)
		(void)sdnotify_send("WATCHDOG=1");
}

/* SIGHUP: RELOADING=1 (with the time, as Type=notify-reload wants it) until READY=1. */
void
sd_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the policy",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	(void)sdnotify_send(msg);
}

/* The reload failed: ready again, on the previous policy, and the status line says why. */
void
sd_reload_failed(struct sup *s, const char *why)
{
	char msg[640];

	snprintf(
	    msg, sizeof(msg), "READY=1\nSTATUS=reload failed, the previous policy stays: %s", why);
	(void)sdnotify_send(msg);
	s->sd_healthy = 1;
}

void
sd_stopping(void)
{
	(void)sdnotify_send("STOPPING=1\nSTATUS=stopping");
}
