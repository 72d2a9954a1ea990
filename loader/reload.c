// SPDX-License-Identifier: MIT
/*
 * A reload's first step (SIGHUP to `attach`; cgfw-supervisor's
 * supervisor/reload.c does the rest): the keeper's child, as root, reads
 * the command line given at start and the config file again and has the
 * unprivileged compiler compile them; the two memfds go back to the
 * supervisor.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/proc.h"
#include "loader.h"

/* Settings a reload cannot change: said, and left as they are. */
static void
reload_warn_fixed(const struct loader_opts *old, const struct loader_opts *o)
{
	int ups = old->n_upstreams != o->n_upstreams;

	for (int i = 0; !ups && i < o->n_upstreams; i++)
		ups = strcmp(old->upstreams[i], o->upstreams[i]) != 0;
#define FIXED(cond, what)                                                                          \
	do {                                                                                       \
		if (cond)                                                                          \
			log_warnx("%s changed: a reload changes the rules only; restart cgfw "     \
			          "for it, ignoring",                                              \
			    what);                                                                 \
	} while (0)
	FIXED(ups, "upstream");
	FIXED(old->min_ttl != o->min_ttl, "dns-min-ttl");
	FIXED(old->block_nxdomain != o->block_nxdomain, "dns-block-response");
	FIXED(old->allow_dns_request != o->allow_dns_request, "allow-dns-request");
	FIXED(old->allow_raw != o->allow_raw, "allow-raw-sockets");
	FIXED(old->debug != o->debug, "debug");
	FIXED(!old->name != !o->name || (o->name && strcmp(old->name, o->name) != 0), "name");
	FIXED(!old->log_file != !o->log_file ||
	          (o->log_file && strcmp(old->log_file, o->log_file) != 0),
	    "log-file");
	FIXED(!old->unit != !o->unit || (o->unit && strcmp(old->unit, o->unit) != 0) ||
	          (!o->unit && o->cgroup && old->cgroup && strcmp(old->cgroup, o->cgroup) != 0),
	    "the target (cgroup or unit)");
#undef FIXED
}

/*
 * In the child the keeper starts (uid 0: root's files; CAP_SETUID and
 * CAP_SETGID: the compiler's uid): options, config, compiler; the memfds to
 * sock.  Never returns.
 */
void __attribute__((noreturn)) loader_reload_child(struct loader *l, int sock, int err_fd)
{
	struct loader_opts no = {0};
	int fds[2], r;
	sigset_t all;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	if (dup2(err_fd, STDERR_FILENO) < 0)
		_exit(CGFW_EXIT_FAILED);
	opts_parse(&no, l->argc, l->argv);
	compile_policy_fds(l, &no, fds);
	if (!no.have_cli_upstream && no.n_upstreams == 0)
		(void)opts_resolv_conf(&no, "/etc/resolv.conf");
	reload_warn_fixed(l->o, &no);
	r = proc_fds_send(sock, fds, 2);
	if (r < 0)
		fatal_r(r, "cannot hand the reloaded policy over");
	_exit(0);
}
