// SPDX-License-Identifier: MIT
/*
 * cgfw-supervisor: what the loader becomes once everything is attached.
 *
 * cgfw-loader (root) sets up: the policy, the cgroups, the BPF programs, the
 * sockets, the command (held before exec), the workers' launchers and the
 * keeper.  Then it becomes a reserved uid of its own keeping CAP_KILL alone
 * and executes this program in its own process (lib/handover.h): the same
 * pid, so every child it made is ours, and a fresh image with none of the
 * setup's code or memory.  From here on nothing runs as root in this
 * process, and nothing can write a file of root's: what still needs uid 0
 * is the keeper's (loader/keeper.c, asked through lib/keeper.c).
 *
 * It greets the workers (workers.c), lets the command run (command.c),
 * supervises (restarts, the target cgroup, refused syscalls, status.c,
 * sd.c), reloads on SIGHUP (reload.c), and at the end stops the workers,
 * has the keeper remove what is root's, and exits with the command's
 * status.  Its messages say "cgfw-loader": to the user it is the process
 * they started.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cap-ng.h>
#include <linux/capability.h>

#include "lib/bpfmap.h"
#include "lib/keeper.h"
#include "lib/log.h"
#include "lib/namepolicy.h"
#include "lib/proc.h"
#include "lib/sandbox.h"
#include "lib/status.h"
#include "supervisor/supervisor.h"

/* The map fds with a row of their own in bpf/cgfw_defs.h (1 + the row): checked against it. */
static const int map_rows[HO_MAP_N] = {
    [HO_MAP_RINGBUF] = CGFW_MAP_EVENTS + 1,
    [HO_MAP_STATS_RO] = CGFW_MAP_STATS + 1,
    [HO_MAP_ARGV_RO] = CGFW_MAP_ARGV + 1,
    [HO_MAP_PEERS_RO] = CGFW_MAP_PEERS + 1,
    [HO_MAP_LEARNED_A] = CGFW_MAP_LEARNED_V4 + 1,
    /* cgfw_learned_b: full size only where a reload can use it (attach.c, size_maps()) */
};

/* Every map fd is the map it is said to be (by name; by its row where there is one). */
static void
check_maps(const struct handover *h)
{
	for (int i = 0; i < HO_MAP_N; i++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (h->map[i] < 0 || bpf_obj_get_info_by_fd(h->map[i], &info, &len) < 0 ||
		    strncmp(info.name, handover_map_names[i], sizeof(info.name) - 1) != 0 ||
		    (map_rows[i] && bpfmap_verify(h->map[i], (enum cgfw_map)(map_rows[i] - 1)) < 0))
			fatalx("hand-over: map fd %d is not %s", h->map[i], handover_map_names[i]);
		if (fcntl(h->map[i], F_SETFD, FD_CLOEXEC) < 0)
			fatal("hand-over: map fd %d", h->map[i]);
	}
}

/* The fds listed are open (or -1 where the instance has none): made close-on-exec. */
static void
check_fds(const struct handover *h)
{
	static const int required[] = {HO_FD_SIGNAL, HO_FD_POLICY, HO_FD_NAMES, HO_FD_DNS_UDP,
	    HO_FD_DNS_TCP, HO_FD_HTTP, HO_FD_EVENTS, HO_FD_KEEPER, HO_FD_INST_LOCK, HO_FD_NAME_LOCK,
	    HO_FD_SELF_LOCK, HO_FD_LAUNCH_MON, HO_FD_LAUNCH_DNS, HO_FD_LAUNCH_HTTP};

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (h->fd[required[i]] < 0)
			fatalx("hand-over: no %s fd", handover_fd_names[required[i]]);
	for (int i = 0; i < HO_FD_N; i++)
		if (h->fd[i] >= 0 &&
		    (h->fd[i] <= HANDOVER_FD || fcntl(h->fd[i], F_SETFD, FD_CLOEXEC) < 0))
			fatalx("hand-over: %s fd %d is not open", handover_fd_names[i], h->fd[i]);
	if (h->need_tls && (h->fd[HO_FD_CA_CERT] < 0 || h->fd[HO_FD_CA_KEY] < 0))
		fatalx("hand-over: URL rules but no CA");
	if (h->cmd == HANDOVER_RUN && (h->child <= 0 || h->fd[HO_FD_CMD_ERR] < 0))
		fatalx("hand-over: run without its command");
	if (h->keeper <= 0)
		fatalx("hand-over: no keeper");
}

/*
 * What the loader left us: our own uid, CAP_KILL alone (ambient, to cross
 * the exec), no_new_privs.  The ambient and inheritable sets go now: we
 * start nothing (the launchers do), and sandbox_deny() forbids exec anyway.
 */
static void
check_identity(void)
{
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0)
		fatalx("cgfw-supervisor runs only as the uid cgfw-loader gives it");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		fatal("PR_CAP_AMBIENT_CLEAR_ALL");
	capng_get_caps_process();
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_KILL) < 0 ||
	    capng_apply(CAPNG_SELECT_CAPS) < 0)
		fatalx("cannot keep CAP_KILL alone");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fatalx("no_new_privs is not set");
}

static struct sup *sup_for_exit;

/* What the instance made: our files, then root's (the keeper's), then our exemption. */
static void
sup_finish(struct sup *s)
{
	if (s->h.fd[HO_FD_NAME_LOCK] >= 0)
		instance_dir_clear(open(s->h.inst_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), NULL);
	keeper_done(&s->keeper_fd, &s->keeper);
	if (s->h.exempt_id)
		(void)bpf_map_delete_elem(s->h.map[HO_MAP_EXEMPT], &s->h.exempt_id);
	s->h.exempt_id = 0;
}

/* A fatal error: nothing keeps running, nothing is left but what `cleanup` finds. */
static void
sup_abort(void)
{
	struct sup *s = sup_for_exit;

	if (!s || getpid() != s->pid)
		return;
	for (int i = 0; i < W_N; i++)
		if (s->w[i].pid > 0)
			(void)kill(s->w[i].pid, SIGKILL);
	if (s->child > 0 && !s->child_done)
		(void)kill(s->child, SIGKILL);
	if (s->h.created_cgroup)
		keeper_kill_command(s->keeper_fd, s->h.cg_path);
	sup_finish(s);
}

static int
done_child(struct sup *s)
{
	return s->child_done || s->target_lost || s->gave_up;
}

static int
done_target_lost(struct sup *s)
{
	return s->target_lost || s->gave_up;
}

/* Besides sandbox_deny()'s list: it starts no program (the launchers do). */
static const char *const sup_never[] = {"execve", "execveat", NULL};

static void
sup_init(struct sup *s)
{
	int r;

	r = handover_read(HANDOVER_FD, &s->h);
	if (r < 0)
		fatal_r(r, "cgfw-supervisor is started by cgfw-loader only (no hand-over at fd %d)",
		    HANDOVER_FD);
	(void)close(HANDOVER_FD);
	log_init("cgfw-loader", s->h.debug);
	/* From here a fatal error stops the command and has the keeper remove what is root's. */
	s->pid = getpid();
	s->keeper_fd = s->h.fd[HO_FD_KEEPER];
	s->keeper = s->h.keeper;
	s->child = s->h.cmd == HANDOVER_RUN ? s->h.child : -1;
	sup_for_exit = s;
	if (atexit(sup_abort) != 0)
		fatalx("atexit");
	check_identity();
	check_fds(&s->h);
	check_maps(&s->h);
	if (sandbox_deny(sup_never) < 0)
		fatalx("cannot load the seccomp filter");
	r = cp_open(s->h.fd[HO_FD_POLICY], &s->cp);
	if (r < 0)
		fatal_r(r, "hand-over: the compiled policy");
	if (np_sealed_ok(s->h.fd[HO_FD_NAMES]) < 0)
		fatalx("hand-over: the name policy is not sealed or not whole");
	(void)close(s->h.fd[HO_FD_POLICY]);
	s->h.fd[HO_FD_POLICY] = -1;
	s->gen = s->h.gen;
	s->sfd = s->h.fd[HO_FD_SIGNAL];
	s->np_fd = s->h.fd[HO_FD_NAMES];
	s->notify_fd = s->h.fd[HO_FD_NOTIFY];
	s->cmd_go_fd = s->h.fd[HO_FD_CMD_GO];
	s->cmd_err_fd = s->h.fd[HO_FD_CMD_ERR];
	for (unsigned i = 0; i < s->h.n_upstreams; i++)
		s->upstreams[i] = s->h.upstreams[i];
	s->maps = (struct polmaps){
	    .allow = {s->h.map[HO_MAP_ALLOW_A], s->h.map[HO_MAP_ALLOW_B]},
	    .cidr = {s->h.map[HO_MAP_CIDR_A], s->h.map[HO_MAP_CIDR_B]},
	    .gen_cfg = s->h.map[HO_MAP_GEN_CFG],
	    .gen = s->h.map[HO_MAP_GEN],
	    .debug = s->h.debug,
	};
	for (int i = 0; i < W_N; i++) {
		struct worker *w = &s->w[i];

		w->name = worker_names[i];
		w->pid = -1;
		w->launcher = s->h.launcher[i];
		w->launch_fd = s->h.fd[HO_FD_LAUNCH_MON + i];
		ipc_peer_init(&w->ipc, -1, w->name);
	}
}

int
main(int argc, char *argv[])
{
	struct sup s = {0};
	int sig = 0, code;

	/* Nothing of our uid may trace us or take our fds (exec made us dumpable again). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(CGFW_EXIT_FAILED);
	log_init("cgfw-loader", 0);
	log_fatal_status(CGFW_EXIT_FAILED);
	if (argc != 2)
		fatalx("usage: cgfw-supervisor NAME (cgfw-loader executes it)");
	sup_init(&s);
	if (strcmp(argv[1], s.h.name) != 0)
		fatalx("hand-over: instance %s, not %s", s.h.name, argv[1]);
	sd_init();

	workers_start(&s);
	if (s.h.cmd == HANDOVER_RUN)
		command_go(&s);
	log_debug("enforcing on %s (cgroup id %llu)", s.h.cg_path, (unsigned long long)s.h.cg_id);
	s.watch_target = 1;
	s.started = time(NULL);
	(void)status_now(&s); /* then sup_wait() keeps it current */

	if (s.h.cmd == HANDOVER_RUN) {
		(void)sup_wait(&s, done_child, -1, NULL);
	} else {
		int wd_ms = sd_watchdog_ms();

		log_info(
		    "instance %s enforcing on %s; stop with SIGINT or SIGTERM, reload with SIGHUP",
		    s.h.name, s.h.cg_path);
		sd_ready(&s); /* every hook attached, every worker READY */
		do {
			sig = 0;
			(void)sup_wait(&s, done_target_lost, wd_ms, &sig);
			while (sig == SIGHUP && !s.target_lost && !s.gave_up)
				sup_reload(&s, &sig);
			sd_tick(&s);
		} while (sig != SIGINT && sig != SIGTERM && sig != SIGQUIT && !s.target_lost &&
		         !s.gave_up);
		sd_stopping();
	}
	s.watch_target = 0;
	status_update(&s, "stopping");
	if (s.gave_up)
		log_warnx("a worker died too often; stopping the command and cgfw");
	if (s.child > 0 && !s.child_done)
		(void)kill(s.child, SIGKILL); /* its cgroup is gone: never run on unfiltered */
	if (s.h.created_cgroup)
		keeper_kill_command(s.keeper_fd, s.h.cg_path);
	workers_stop(&s);
	command_release(&s);
	sup_finish(&s);
	sup_for_exit = NULL;
	if (s.target_lost || s.gave_up || (s.events_lost && !s.h.allow_event_loss))
		code = CGFW_EXIT_FAILED;
	else if (s.h.cmd == HANDOVER_ATTACH)
		code = 0;
	else if (WIFSIGNALED(s.child_status))
		code = 128 + WTERMSIG(s.child_status);
	else
		code = WEXITSTATUS(s.child_status);
	cp_close(&s.cp);
	return code;
}
