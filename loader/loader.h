/* SPDX-License-Identifier: MIT */
/* The loader's internal interfaces: options, BPF attachment, capabilities. */
#ifndef CGFW_LOADER_H
#define CGFW_LOADER_H

#include <sys/types.h>

#include "lib/policy.h"
#include "lib/rules.h"

struct egress;
struct bpf_link;

enum loader_cmd {
	CMD_NONE,
	CMD_RUN,
	CMD_ATTACH,
};

struct loader_opts {
	enum loader_cmd cmd;
	const char *config;
	struct cgfw_ruleset rules;
	int have_cli_allow, have_cli_block; /* CLI lists replace the config's */
	char *log_file;
	int debug;
	char *user;
	char *cgroup; /* attach --cgroup */
	char **argv;  /* run: the command */
	int argc;
};

#define LOADER_N_PROGS 5

struct loader_bpf {
	struct egress *skel;
	struct bpf_link *links[LOADER_N_PROGS];
	char pin_dir[256];
	int n_pinned;
};

/* attach.c */
int cgroup2_mount(char *buf, size_t len);
int cgroup_self_path(char *buf, size_t len);
int cgroup_open_target(const char *mnt, const char *path, char *ret_path, size_t len);
int bpffs_ensure(void);
int loader_bpf_setup(struct loader_bpf *b, const struct cgfw_policy *pol, int debug, int cgroup_fd,
    unsigned long long cgroup_id, char *err, size_t err_len);
void loader_bpf_teardown(struct loader_bpf *b);
int loader_bpf_ringbuf_fd(const struct loader_bpf *b);
int loader_bpf_stats_fd(const struct loader_bpf *b);

/* caps.c */
int caps_drop_after_attach(void);

#endif
