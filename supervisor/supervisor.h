/* SPDX-License-Identifier: MIT */
/* cgfw-supervisor's internal interfaces: the workers, the command, reload, status. */
#ifndef CGFW_SUPERVISOR_H
#define CGFW_SUPERVISOR_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "lib/cpolicy.h"
#include "lib/handover.h"
#include "lib/ipc.h"
#include "lib/polmaps.h"
#include "lib/protocol.h"

struct seccomp_notif;
struct seccomp_notif_resp;

struct worker {
	const char *name;
	pid_t pid;
	pid_t launcher;           /* starts it as its user (loader/launch.c), -1 once gone */
	int launch_fd;            /* the launcher's socket */
	int restarts;             /* times it was started again */
	int deaths;               /* in a row (reset after SUP_HEALTHY_MS up) */
	int pending;              /* dead, to be started again at respawn_ms */
	int restart_with_monitor; /* killed because the monitor died: not a death */
	long long started_ms;     /* CLOCK_MONOTONIC */
	long long respawn_ms;
	struct ipc_peer ipc;
	const struct ipc_handlers *table; /* what it may send (lib/protocol.def) */
	int ready;
	int done;
	uint32_t reloaded; /* the reload generation it has prepared (RELOADED) */
};

/* What the supervisor does with each worker's messages (workers.c; the fuzzers feed them). */
extern const struct ipc_handlers loader_from_mon, loader_from_dns, loader_from_http;

#define SUP_MAX_NOTICES 8
#define SUP_MAX_PENDING 64
#define SUP_ANSWER_MS   500 /* a refused call waits this long for its report */

/* A notice for the monitor, kept while it is down (workers.c). */
struct sup_notice {
	char msg[32];
	char because[40];
	char comment[256];
};

struct sup {
	struct handover h;                   /* what the loader handed over; its fds are ours */
	struct cp_view cp;                   /* the compiled policy in force */
	struct polmaps maps;                 /* the policy slots (reload) */
	uint32_t gen;                        /* the generation in force */
	char *upstreams[HANDOVER_UPSTREAMS]; /* h.upstreams, as the DNS config wants them */
	pid_t pid;
	int sfd;       /* h.fd[HO_FD_SIGNAL] */
	int np_fd;     /* the name policy in force (a reload replaces it) */
	int notify_fd; /* run: the command's seccomp listener, until it hangs up */
	int cmd_go_fd;
	int cmd_err_fd;
	int keeper_fd; /* the keeper's socket (lib/keeper.h) */
	pid_t keeper;
	struct worker w[W_N];
	pid_t child;
	int child_status;
	int child_done;
	int watch_target;           /* enforcing: sup_wait() checks the target cgroup */
	int target_lost;            /* the target cgroup was removed (maybe re-created) */
	struct seccomp_notif *nreq; /* sized by the kernel */
	struct seccomp_notif_resp *nresp;
	struct sup_pending {
		uint64_t id;
		long long deadline_ms;
	} pending[SUP_MAX_PENDING]; /* refused calls waiting for the monitor's report */
	int n_pending;
	int stopping;    /* workers_stop() began: deaths are expected */
	int gave_up;     /* a worker died SUP_RESPAWN_MAX times in a row */
	int events_lost; /* the monitor reported lost events (MonStats) */
	struct sup_notice notices[SUP_MAX_NOTICES];
	int n_notices;
	int sd_healthy;        /* what STATUS= last said (sd.c) */
	uint32_t reload_gen;   /* a reload waiting for RELOADED, 0 none (reload.c) */
	uint32_t reload_tried; /* the last one asked for: a late RELOADED is no violation */
	struct sup_mon_counts {
		uint64_t events, lost, dns_blocked, http_blocked;
	} mon_base, mon_last;       /* the monitor's PROGRESS: its dead predecessors', its own */
	int mon_gen;                /* the monitor's restarts when mon_last came */
	time_t started;             /* when it began enforcing (status.c) */
	long long status_next_ms;   /* the next periodic status write */
	unsigned status_sig;        /* workers' health and restarts at the last write */
	int status_warned;          /* the status file could not be written: said once */
	char status_line[PATH_MAX]; /* what STATUS= last said (status.c) */
};

/* workers.c */
long long sup_now_ms(void); /* CLOCK_MONOTONIC */
void workers_start(struct sup *s);
void workers_stop(struct sup *s);
void workers_reload_send(struct sup *s, uint32_t gen, const struct cp_view *cp, int np_fd);
void workers_reload_commit(struct sup *s, uint32_t gen);
int workers_reloaded(const struct sup *s, int *ret_lost);
void workers_notice(struct sup *s, const char *msg, const char *because, const char *comment);
int workers_refused(struct sup *s, uint32_t tid, int nr, const uint64_t *args, uint64_t id);
int sup_wait(struct sup *s, int (*done)(struct sup *), int timeout_ms, int *ret_sig);

/* command.c: run's command, held until the workers are READY; its refused syscalls. */
void command_go(struct sup *s);
void command_refused(struct sup *s, short revents);
void command_answer(struct sup *s, uint64_t id);
void command_answer_overdue(struct sup *s);
void command_release(struct sup *s);

/* reload.c: SIGHUP to attach; a stop signal received meanwhile is left in *sig. */
void sup_reload(struct sup *s, int *sig);

/* status.c */
void status_update(struct sup *s, const char *state);
const char *status_now(struct sup *s);
const char *status_mode_name(int mode); /* "allow-list", "block-list", "log-only" */

/* sd.c: the service manager's notifications */
void sd_init(void);
void sd_ready(struct sup *s);
int sd_watchdog_ms(void);
void sd_tick(struct sup *s);
void sd_reloading(void);
void sd_reload_failed(struct sup *s, const char *why);
void sd_stopping(void);

#endif
