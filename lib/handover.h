/* SPDX-License-Identifier: MIT */
/*
 * The hand-over from cgfw-loader (root, setup) to cgfw-supervisor (the
 * loader's own reserved uid, CAP_KILL only), which the loader executes in
 * its own process once everything is attached: the same pid, so the
 * command, the launchers, the keeper and the workers it will start are the
 * supervisor's children.  What the loader knows and the supervisor needs is
 * one fixed-size struct handover in a sealed memfd at fd HANDOVER_FD; every
 * fd it lists was moved to 3, 4, ... (proc_keep_fds()) and nothing else is
 * open.  Both programs are built from the same tree: the magic, version and
 * size must match exactly.  Nothing in it is parsed; the supervisor checks
 * the seals and size, that every fd is open, and every map fd against its
 * row (lib/bpfmap.h).
 */
#ifndef CGFW_HANDOVER_H
#define CGFW_HANDOVER_H

#include <limits.h>
#include <stdint.h>

#include "lib/status.h"

#define HANDOVER_FD           3
#define HANDOVER_MAGIC        0x50534743u /* "CGSP" */
#define HANDOVER_VERSION      1u
#define HANDOVER_UPSTREAMS    8
#define HANDOVER_UPSTREAM_LEN 64

enum { W_MON, W_DNS, W_HTTP, W_N };

/* Their programs, beside cgfw-loader: "cgfw-monitor", ... */
extern const char *const worker_names[W_N];

enum handover_cmd { HANDOVER_RUN = 1, HANDOVER_ATTACH = 2 };

/* The map fds, by what they are (the BPF object's maps, read-write unless _RO). */
#define HANDOVER_MAPS(X)                                                                           \
	X(RINGBUF, "cgfw_events")                                                                  \
	X(STATS_RO, "cgfw_stats")                                                                  \
	X(ARGV_RO, "cgfw_argv")                                                                    \
	X(PEERS_RO, "cgfw_peers")                                                                  \
	X(LEARNED_A, "cgfw_learned_v4")                                                            \
	X(LEARNED_B, "cgfw_learned_b")                                                             \
	X(ALLOW_A, "cgfw_allow_v4")                                                                \
	X(ALLOW_B, "cgfw_allow_b")                                                                 \
	X(CIDR_A, "cgfw_cidr_v4")                                                                  \
	X(CIDR_B, "cgfw_cidr_b")                                                                   \
	X(GEN_CFG, "cgfw_gen_cfg")                                                                 \
	X(GEN, "cgfw_gen")                                                                         \
	X(EXEMPT, "cgfw_exempt") /* shared: our workers' cgroup's entry goes at the end */

enum handover_map {
#define HANDOVER_MAP_ID(id, name) HO_MAP_##id,
	HANDOVER_MAPS(HANDOVER_MAP_ID)
#undef HANDOVER_MAP_ID
	    HO_MAP_N,
};

extern const char *const handover_map_names[HO_MAP_N];

/* The fds, by what they are; -1 for one this instance has none of. */
#define HANDOVER_FDS(X)                                                                            \
	X(SIGNAL) /* the signalfd: SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT blocked */            \
	X(LOG)    /* --log-file, for the monitor */                                                \
	X(POLICY) /* the compiled policy (lib/cpolicy.h), sealed */                                \
	X(NAMES)  /* the name policy (lib/namepolicy.h), sealed */                                 \
	X(DNS_UDP)                                                                                 \
	X(DNS_TCP)                                                                                 \
	X(HTTP)                                                                                    \
	X(CA_CERT)                                                                                 \
	X(CA_KEY)                                                                                  \
	X(EVENTS) /* the event socket, listening */                                                \
	X(JOURNAL)                                                                                 \
	X(NOTIFY)    /* run: the command's seccomp listener */                                     \
	X(CMD_GO)    /* run: written when the workers are READY */                                 \
	X(CMD_ERR)   /* run: the command's failure before exec */                                  \
	X(KEEPER)    /* the keeper's socket */                                                     \
	X(INST_LOCK) /* held flocks, kept open to the end */                                       \
	X(NAME_LOCK)                                                                               \
	X(SELF_LOCK)                                                                               \
	X(HELPER_LOCK)                                                                             \
	X(W_LOCK_MON) /* the workers' reserved uids' locks */                                      \
	X(W_LOCK_DNS)                                                                              \
	X(W_LOCK_HTTP)                                                                             \
	X(LAUNCH_MON) /* each worker's launcher's socket */                                        \
	X(LAUNCH_DNS)                                                                              \
	X(LAUNCH_HTTP)

enum handover_fd {
#define HANDOVER_FD_ID(id) HO_FD_##id,
	HANDOVER_FDS(HANDOVER_FD_ID)
#undef HANDOVER_FD_ID
	    HO_FD_N,
};

extern const char *const handover_fd_names[HO_FD_N];

struct handover {
	uint32_t magic, version, size;
	int32_t cmd; /* enum handover_cmd */
	int32_t debug, allow_event_loss, allow_dns_request, block_nxdomain;
	int32_t json_to_stdout; /* --log-file - */
	int32_t need_tls;       /* URL rules: the CA's fds are there */
	int32_t created_cgroup; /* run: the command's cgroup is cgfw's */
	uint32_t min_ttl;
	uint32_t n_upstreams;
	char upstreams[HANDOVER_UPSTREAMS][HANDOVER_UPSTREAM_LEN];
	char upstream_trust[PATH_MAX];
	char name[CGFW_NAME_MAX + 1];
	char inst_dir[PATH_MAX];
	char cg_path[PATH_MAX];
	char target[PATH_MAX]; /* --unit, else cg_path: what status names */
	char argv0[256];       /* run: the command, for its messages */
	uint64_t cg_id;
	uint32_t uid; /* run: the command's */
	uint32_t list_files;
	uint32_t gen;       /* the policy generation in force */
	uint64_t exempt_id; /* the workers' cgroup, in cgfw_exempt */
	int32_t child;      /* run: the command's pid, held */
	int32_t keeper;     /* the keeper's pid */
	int32_t launcher[W_N];
	int32_t fd[HO_FD_N];
	int32_t map[HO_MAP_N];
};

/* A sealed memfd holding h (its magic, version and size filled in): the fd, or -errno. */
int handover_write(struct handover *h);
/* h from the sealed memfd fd: 0, or -errno (-EBADMSG: not this build's hand-over). */
int handover_read(int fd, struct handover *h);

#endif
