/* SPDX-License-Identifier: MIT */
/* The loader's internal interfaces: options, BPF attachment, capabilities. */
#ifndef CGFW_LOADER_H
#define CGFW_LOADER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "lib/handover.h"
#include "lib/instance.h"

#include "lib/cpolicy.h"
#include "lib/policy.h"
#include "lib/rules.h"
#include "lib/status.h"

struct egress;
struct bpf_link;

enum loader_cmd {
	CMD_NONE,
	CMD_RUN,
	CMD_ATTACH,
	CMD_CA,
	CMD_STATUS,
	CMD_CLEANUP,
	CMD_EVENTS,
};

/* Read by run, attach and ca when it exists and --config names no other file. */
#define CGFW_DEFAULT_CONFIG  "/etc/cgfw.conf"
#define CGFW_STATE_DIR       "/var/lib/cgfw" /* default of --state-dir */
#define LOADER_MAX_FILES     64
#define LOADER_MAX_UPSTREAMS 8

struct loader_file {
	char *path;
	int action;
	int replaced; /* a config key the command line overrides: checked, then dropped */
};

struct loader_opts {
	enum loader_cmd cmd;
	const char *config;
	struct cgfw_ruleset rules;
	int have_cli_allow, have_cli_block; /* CLI lists replace the config's */
	char *log_file;
	int debug;
	char *user;
	char *cgroup;    /* attach --cgroup */
	char *unit;      /* attach --unit: its cgroup becomes cgroup (systemd.c) */
	pid_t pid;       /* attach --pid: its cgroup and network namespace (target.c) */
	char *container; /* attach --container: its init's, found by its engine */
	char *engine;    /* --container-engine docker|podman; NULL: docker, then podman */
	int have_cli_target; /* --cgroup, --unit, --pid or --container given: the config's do not apply */
	char **argv;         /* run: the command */
	int argc;
	struct loader_file files[LOADER_MAX_FILES]; /* --allow-list-file, --block-list-file */
	int n_files;
	int have_cli_allow_file, have_cli_block_file;
	int allow_empty; /* --allow-empty: a list file with no rules is not an error */
	char *upstreams[LOADER_MAX_UPSTREAMS]; /* "IP:PORT" / "[IP6]:PORT" */
	int n_upstreams;
	int have_cli_upstream;
	uint32_t min_ttl;
	int have_cli_min_ttl;
	int block_nxdomain;
	int have_cli_block_response;
	int allow_dns_request;
	int allow_raw;        /* --allow-raw-sockets */
	int allow_event_loss; /* --allow-event-loss: lost events do not fail the run */
	char *state_dir;      /* cgfw's CA lives here unless $CAROOT has mkcert's */
	int have_state_dir;   /* given explicitly (CLI or config): its CA wins over mkcert's */
	int have_cli_state_dir, have_cli_upstream_ca;
	char *upstream_ca; /* PEM bundle the servers' certificates must chain to */
	char *name;        /* --name: the instance's name (instances.c) */
};

#define LOADER_N_PROGS 10

struct execargv;

struct loader_bpf {
	struct egress *skel;
	struct execargv *exec;
	struct bpf_link *exec_link;
	struct bpf_link *links[LOADER_N_PROGS];
	char pin_dir[256];
	int n_pinned;
	unsigned long long exempt_id; /* our workers' cgroup, in the shared cgfw_exempt */
	int debug;
};

/* The BPF settings fixed at load time (rodata). */
struct loader_bpf_cfg {
	int debug;
	uint32_t dns_ip4; /* network order; 0 = no DNS proxy */
	uint16_t dns_port;
	uint64_t exempt_cgroup_id; /* the workers' cgroup: never filtered */
	uint32_t http_ip4;         /* network order; 0 = no HTTP proxy */
	uint16_t http_port;
	int allow_raw;
};

/* A worker as the loader knows it: its user and its launcher (launch.c). */
struct worker {
	const char *name;
	const char *user; /* its sysusers.d name, else a uid of the reserved range */
	uid_t uid;
	gid_t gid;
	int uid_lock_fd; /* holds a reserved uid, -1 for a named user */
	pid_t launcher;  /* starts it as its user, for cgfw-supervisor */
	int launch_fd;   /* the launcher's socket */
};

struct loader {
	struct loader_opts *o;
	struct cgfw_policy pol; /* the IP maps, in cp's mapping */
	struct cp_view cp;      /* the compiled policy, from the unprivileged compiler */
	struct loader_bpf bpf;
	char cg2_mnt[PATH_MAX]; /* where cgroup2 is mounted */
	char cg_path[PATH_MAX]; /* full path of the target cgroup */
	int cg_fd;
	unsigned long long cg_id;
	int created_cgroup;
	pid_t pid;               /* the loader's own, to tell it from forked children */
	char wcg_path[PATH_MAX]; /* the workers' own cgroup, exempted in BPF */
	int wcg_fd;
	unsigned long long wcg_id;
	uid_t uid; /* the command's user */
	gid_t gid;
	char *user_name; /* NULL when the uid has no passwd entry */
	int log_fd;
	int np_fd;         /* sealed memfd of the name policy */
	pid_t compile_pid; /* the policy compiler, until compile_policy_names() */
	int compile_sock;  /* its socket */
	pid_t keeper;      /* uid 0 after the loader is its own user (keeper.c) */
	int keeper_fd;     /* its socket */
	uid_t self_uid;    /* the loader's own, a reserved uid, once everything runs */
	gid_t self_gid;
	int self_lock_fd; /* holds it */
	int cmd_cg_removed;
	uid_t helper_uid; /* the unprivileged helpers' (compile.c), a reserved uid */
	gid_t helper_gid;
	int helper_lock_fd;
	int dns_udp_fd; /* 127.0.0.1:dns_port */
	int dns_tcp_fd;
	uint16_t dns_port;
	int http_fd; /* 127.0.0.1:http_port, listening */
	char ca_path[PATH_MAX];
	int ca_fd;
	int ca_key_fd;
	int need_tls;         /* URL rules exist: the HTTP proxy intercepts HTTPS */
	char bundle_path[64]; /* run: the command's trust bundle in /run/cgfw, removed at exit */
	uint16_t http_port;
	struct worker w[W_N];
	pid_t child;    /* run: the command, held before exec */
	int notify_fd;  /* run: its seccomp listener (cgfw-supervisor answers it) */
	int cmd_go_fd;  /* run: written once the workers are READY; the command execs */
	int cmd_err_fd; /* run: the command's child reports a failure before exec here */
	int inst_fd;    /* our instance lock (instances.c) */
	char name[CGFW_NAME_MAX + 1]; /* the instance's name: --name, run-PID or cg-ID */
	char inst_dir[PATH_MAX];      /* CGFW_INST_DIR/<name>: its socket and status */
	int name_fd;                  /* flock on inst_dir/lock: the name is ours */
	gid_t log_gid;                /* group cgfw-log (0 when there is none) */
	int events_fd;                /* inst_dir/events.sock, listening (instances.c) */
	int journal_fd;               /* journald's socket under systemd, else -1 */
	int maps[HO_MAP_N];           /* the map fds cgfw-supervisor gets (attach.c) */
	int cp_fd;                    /* the compiled policy's memfd, for cgfw-supervisor */
	int sfd;
	int argc; /* the command line, read again by a reload (the keeper's child) */
	char **argv;
	/* attach --pid, --container (target.c) */
	int tgt_procfd;     /* /proc/PID of the target process, opened once */
	int tgt_netns_fd;   /* its network namespace when it is not ours, else -1 */
	char tgt_what[160]; /* "--pid N" or "--container NAME (pid N)", for messages */
};

/* options.c */
void opts_parse(struct loader_opts *o, int argc, char *argv[]);
/* Frees what opts_parse() and the config allocated. */
void opts_free(struct loader_opts *o);
/* The text of config file o->config: 0, or -EINVAL with err naming FILE:LINE. */
int opts_config_parse(
    struct loader_opts *o, const char *buf, size_t len, char *err, size_t err_len);
int opts_resolv_conf(struct loader_opts *o, const char *path);
/* A container name or id docker and podman accept (never an option of theirs). */
int opts_container_ok(const char *v);

/* launch.c */
void workers_users(struct loader *l);
void workers_launchers(struct loader *l);
void loader_exe_dir(char *buf, size_t len);

/* instances.c */
void instance_dir_open(struct loader *l);
void instance_dir_empty(struct loader *l);

/* The event socket in the instance's directory, listening (the monitor accepts). */
void events_listen(struct loader *l);

/* command.c */
void command_prepare(struct loader *l);

/* keeper.c */
void keeper_start(struct loader *l);

/* loader.c: what the keeper does (or the loader, before it exists) */
void loader_remove_command_cgroup(struct loader *l);
void loader_remove_paths(struct loader *l);
/* reload.c: the keeper's child for a reload (cgfw-supervisor asks for it) */
void __attribute__((noreturn)) loader_reload_child(struct loader *l, int sock, int err_fd);

/* attach.c */
int cgroup_self_path(char *buf, size_t len);
int cgroup_open_target(const char *mnt, const char *path, char *ret_path, size_t len);
int bpffs_ensure(void);

/* kbtf.c: where the exec program reads argv from (bpf/exec.bpf.c, its rodata). */
struct kbtf_exec_off {
	uint32_t task_mm;      /* offsetof(struct task_struct, mm) */
	uint32_t mm_arg_start; /* offsetof(struct mm_struct, arg_start) */
	uint32_t mm_arg_end;   /* offsetof(struct mm_struct, arg_end) */
};
int kbtf_find_offsets(const void *data, size_t size, struct kbtf_exec_off *ret);
int kbtf_exec_offsets(struct kbtf_exec_off *ret);
/* Started first thing: BPF work that depends on nothing later, taken by loader_bpf_setup(). */
void loader_bpf_prestart(int reloadable);
void loader_bpf_prestart_join(void);
int loader_bpf_setup(struct loader_bpf *b, const struct cgfw_policy *pol,
    const struct loader_bpf_cfg *cfg, int cgroup_fd, unsigned long long cgroup_id, char *err,
    size_t err_len);
void loader_bpf_teardown(struct loader_bpf *b);
/* The map fds cgfw-supervisor gets (lib/handover.h), read-only ones made: 0 or -errno. */
int loader_bpf_handover(const struct loader_bpf *b, int *map);

/* compile.c */
void compile_policy(struct loader *l);
void compile_policy_names(struct loader *l);
void compile_policy_fds(struct loader *l, struct loader_opts *o, int *fds);
/*
 * fork a helper that keeps only keep[0..n_keep) (renumbered from 3), becomes
 * uid (its groups from user, l->gid) or, for (uid_t)-1, the reserved helper
 * uid, and runs under sandbox_apply(who, syscalls).  Returns the pid in the
 * loader, 0 in the helper; helper_finish() waits and exits as it did.
 */
pid_t helper_start(struct loader *l, uid_t uid, const char *user, int *keep, int n_keep,
    const char *who, const char *const *syscalls);
/* The same, with pre_sandbox() run just before the filter, which then covers its threads. */
pid_t helper_start_pre(struct loader *l, uid_t uid, const char *user, int *keep, int n_keep,
    const char *who, const char *const *syscalls, int (*pre_sandbox)(void));
int helper_wait(pid_t pid, const char *who); /* its exit status, 125 if killed */
void helper_finish(pid_t pid, const char *who);

/* systemd.c */
int path_has_dotdot(const char *path); /* a ".." component anywhere */
void loader_unit_resolve(struct loader *l);
void loader_journal_open(struct loader *l);

/* target.c */
void loader_target_resolve(struct loader *l);
void loader_target_verify(struct loader *l);
int loader_target_netns_enter(struct loader *l);
void loader_target_netns_leave(struct loader *l, int self_fd);

/*
 * query.c: run argv (uid 0, no capability, stdin /dev/null, the loader's
 * environment plus env's "NAME=VALUE" entries, NULL-terminated), read its
 * stdout into out (NUL-terminated; beyond out_len read and dropped, and
 * *ret_overflow set) and the last line of its stderr into err.  Its exit
 * status (127: not found; 128+N: killed by signal N), -ETIMEDOUT after
 * timeout_ms (it is killed), or -errno.
 */
#define LOADER_QUERY_MS 10000
int query_run(char *const argv[], char *const env[], char *out, size_t out_len, char *err,
    size_t err_len, int timeout_ms, int *ret_overflow);

/* ca.c */
int ca_setup(struct loader *l);
void ca_trust_bundle(struct loader *l);
const char *ca_upstream_trust(const struct loader *l);

/* caps.c */
int caps_drop_bpf(void);
int caps_drop_after_attach(void);
int caps_become_self(uid_t uid, gid_t gid);

#endif
