// SPDX-License-Identifier: MIT
/*
 * The loader's unprivileged helpers, and the policy compiler that runs in
 * one.  A helper is forked, keeps only the fds it is given, becomes a uid of
 * cgfw's reserved range (or the command's user) with no capability, not
 * dumpable, no_new_privs and a seccomp allowlist that has no fork, exec or
 * open, and only then reads anything.  The list files (often downloaded
 * hosts lists) are opened here as root, since they may be root's, and parsed
 * in the helper, which compiles the name policy and the IP maps into two
 * sealed memfds (lib/namepolicy.h, lib/cpolicy.h).  The loader checks their
 * seals, sizes and headers only.  A helper's error messages are its own
 * stderr lines (the user's stderr), and the loader exits as it did (125).
 *
 * The command line and the config file are not parsed here: they are the
 * administrator's own input, root's files, read before any of this.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cpolicy.h"
#include "lib/listfile.h"
#include "lib/log.h"
#include "lib/namepolicy.h"
#include "lib/proc.h"
#include "lib/sandbox.h"
#include "loader.h"

/* The uid helpers run as when no other is asked for: a reserved one, held for our lifetime. */
static void
helper_identity(struct loader *l)
{
	int r;

	if (l->helper_lock_fd >= 0)
		return;
	r = proc_reserved_uid(&l->helper_uid, &l->helper_gid, &l->helper_lock_fd);
	if (r < 0)
		fatal_r(r, "no uid for cgfw's unprivileged helper (a free uid from %u-%u)",
		    CGFW_DYN_UID_MIN, CGFW_DYN_UID_MIN + CGFW_DYN_UID_N - 1);
}

pid_t
helper_start(struct loader *l, uid_t uid, const char *user, int *keep, int n_keep, const char *who,
    const char *const *syscalls)
{
	gid_t gid = l->gid;
	pid_t pid;
	int r;

	if (uid == (uid_t)-1) {
		helper_identity(l);
		uid = l->helper_uid;
		gid = l->helper_gid;
		user = NULL;
	}
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		return pid;
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = proc_keep_fds(keep, n_keep);
	if (r < 0)
		fatal_r(r, "%s: cannot close fds", who);
	r = proc_become(uid, gid, user, 0);
	if (r < 0)
		fatal_r(r, "%s: cannot become uid %u", who, (unsigned)uid);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("%s: PR_SET_DUMPABLE", who);
	proc_assert_unprivileged();
	tzset(); /* glibc's gmtime_r() opens /etc/localtime the first time: not under the filter */
	r = sandbox_apply(who, syscalls);
	if (r < 0)
		fatal_r(r, "%s: cannot install the seccomp filter", who);
	return 0;
}

int
helper_wait(pid_t pid, const char *who)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fatal("waitpid %s", who);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	/* An exit said why on stderr; a signal (seccomp's SIGSYS) said nothing. */
	log_warnx("%s was killed by signal %d", who, WTERMSIG(status));
	return CGFW_EXIT_FAILED;
}

void
helper_finish(pid_t pid, const char *who)
{
	int r = helper_wait(pid, who);

	if (r != 0)
		exit(r);
}

/* What one list file brought: for the limits' message. */
struct file_count {
	const char *path;
	size_t n_ip4, n_cidr4;
};

/* IP and CIDR rules in rs->v[from ..]. */
static void
count_ip_rules(const struct cgfw_ruleset *rs, size_t from, size_t *ret_ip4, size_t *ret_cidr4)
{
	*ret_ip4 = *ret_cidr4 = 0;
	for (size_t i = from; i < rs->n; i++) {
		*ret_ip4 += rs->v[i].kind == RULE_IP4;
		*ret_cidr4 += rs->v[i].kind == RULE_CIDR4;
	}
}

/*
 * A map over CGFW_POLICY_MAP_MAX fails here, before anything is loaded,
 * naming every source with its count (rules as written, duplicates in).
 */
static void
check_map_limit(
    const char *what, size_t n, size_t n_cli, const struct file_count *fc, int n_fc, int cidr)
{
	char from[1024] = "";
	size_t len = 0;

	if (n <= CGFW_POLICY_MAP_MAX)
		return;
	for (int i = 0; i < n_fc && len < sizeof(from); i++) {
		size_t k = cidr ? fc[i].n_cidr4 : fc[i].n_ip4;

		if (k)
			len += (size_t)snprintf(from + len, sizeof(from) - len, "%s%s (%zu)",
			    len ? ", " : "", fc[i].path, k);
	}
	if (n_cli && len < sizeof(from))
		snprintf(from + len, sizeof(from) - len, "%sthe command line and config (%zu)",
		    len ? ", " : "", n_cli);
	log_warnx("too many %s: %zu after merging duplicates, over the limit of %u per map "
	          "(see cgfw-loader(8)); from %s",
	    what, n, CGFW_POLICY_MAP_MAX, from);
	exit(CGFW_EXIT_FAILED);
}

/*
 * In the helper.  The policy from every source.  Name rules (command line
 * and list files) go into one sealed memfd for the proxies; IP and CIDR
 * lines of list files join the IP policy, compiled into a second one.
 * Every list file named anywhere is read and checked, one the command line
 * overrides included (then dropped).  A list file with no rules is an error
 * unless --allow-empty: a truncated download must not silently turn into
 * "block nothing".  Naming a list file picks its mode whatever it holds, so
 * an empty allow list blocks everything.
 */
static void
compile_child(struct loader_opts *o, const int *fds, const int *errs, int sock)
{
	struct np_builder *b = np_builder_new();
	uint32_t next_id = (uint32_t)o->rules.n + 1, flags = 0;
	char err[CGFW_ERR_LEN + PATH_MAX];
	struct file_count fc[LOADER_MAX_FILES];
	struct cgfw_policy pol;
	const char *seen[4];
	size_t n_cli_ip4, n_cli_cidr4, n_rules, n_names, n_url_ip = 0;
	int n_fc = 0, n_sources = 0, file_allow = 0, file_block = 0, out[2], r;
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(out))];
	} cm;
	struct msghdr mh = {.msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cm.buf,
	    .msg_controllen = sizeof(cm.buf)};

	if (!b)
		fatal("np_builder_new");
	for (size_t i = 0; i < o->rules.n; i++) {
		struct cgfw_rule *rule = &o->rules.v[i];
		int k;

		rule->id = (uint32_t)i + 1;
		/* One source per option or config key: "--allow-list", "FILE: block-list"... */
		for (k = 0; k < n_sources && strcmp(seen[k], rule->origin); k++)
			;
		if (k == n_sources && n_sources < (int)(sizeof(seen) / sizeof(seen[0])))
			seen[n_sources++] = rule->origin;
		if (!rules_is_name_kind(rule->kind) || (rule->kind == RULE_URL && rule->addr))
			continue;
		r = np_builder_add(b, rule, rule->id);
		if (r < 0)
			fatal_r(r, "cannot add rule \"%s\"", rule->text);
	}
	count_ip_rules(&o->rules, 0, &n_cli_ip4, &n_cli_cidr4);
	for (int i = 0; i < o->n_files; i++) {
		const struct loader_file *f = &o->files[i];
		struct np_builder *fb = f->replaced ? np_builder_new() : b;
		struct cgfw_ruleset scratch = {0};
		struct cgfw_ruleset *frs = f->replaced ? &scratch : &o->rules;
		uint32_t scratch_id = 1, *ids = f->replaced ? &scratch_id : &next_id, id0 = *ids;
		size_t names = np_builder_count(b), rs0 = frs->n;

		if (!fb)
			fatal("np_builder_new");
		/* Opened by the loader, in order: an open error is this file's error. */
		if (fds[i] < 0) {
			log_warnx("%s: cannot open: %s", f->path, strerror(errs[i]));
			exit(CGFW_EXIT_FAILED);
		}
		r = listfile_load_fd(fds[i], f->path, f->action, fb, frs, ids, err, sizeof(err));
		if (r < 0) {
			log_warnx("%s", err);
			exit(CGFW_EXIT_FAILED);
		}
		if (*ids == id0 && !o->allow_empty) {
			log_warnx(
			    "%s: no rules (empty, or only comments and blank lines); %s. Pass "
			    "--allow-empty if that is meant",
			    f->path,
			    f->action == CGFW_ACT_ALLOW
			        ? "cgfw will not guess what an empty allow list means (with "
			          "--allow-empty it blocks everything)"
			        : "an empty block list blocks nothing");
			exit(CGFW_EXIT_FAILED);
		}
		if (f->replaced) {
			np_builder_free(fb);
			rules_free(&scratch);
			continue;
		}
		n_sources++;
		fc[n_fc].path = f->path;
		count_ip_rules(&o->rules, rs0, &fc[n_fc].n_ip4, &fc[n_fc].n_cidr4);
		n_fc++;
		if (f->action == CGFW_ACT_ALLOW)
			file_allow = 1;
		else
			file_block = 1;
		/* The file's names count for the mode; its IPs joined o->rules. */
		if (np_builder_count(b) > names)
			flags |= f->action == CGFW_ACT_ALLOW ? CP_F_FILE_ALLOW_NAMES
			                                     : CP_F_FILE_BLOCK_NAMES;
	}
	n_names = np_builder_count(b);
	r = np_builder_finish(b, &out[0]);
	if (r < 0)
		fatal_r(r, "cannot build the name policy");
	np_builder_free(b);
	for (size_t i = 0; i < o->rules.n; i++) {
		if (o->rules.v[i].kind != RULE_URL || !o->rules.v[i].addr)
			continue;
		n_url_ip++;
		log_warnx("rule \"%s\" (%s): URL rules for an IP address are not enforced "
		          "yet (they need a name for SNI and Host)",
		    o->rules.v[i].text, o->rules.v[i].origin);
	}

	r = policy_compile(&o->rules, &pol);
	if (r < 0)
		fatal_r(r, "cannot compile the policy");
	check_map_limit(
	    "IP rules (distinct addresses and IP:port)", pol.n_ip4, n_cli_ip4, fc, n_fc, 0);
	check_map_limit("CIDR rules (distinct prefixes)", pol.n_cidr4, n_cli_cidr4, fc, n_fc, 1);
	/* A list file decides the mode as much as the command line, even empty. */
	if (file_allow)
		pol.mode = CGFW_MODE_ALLOW_LIST;
	else if (file_block && pol.mode == CGFW_MODE_LOG_ONLY)
		pol.mode = CGFW_MODE_BLOCK_LIST;
	if (pol.mode == CGFW_MODE_BLOCK_LIST && (flags & CP_F_FILE_BLOCK_NAMES))
		pol.block_unresolved = 1;
	r = cp_write(&pol, &o->rules, n_names, flags, &out[1]);
	if (r == -E2BIG)
		fatalx("too many IP, CIDR and URL rules or too much rule text (at most %u rules, "
		       "%u bytes)",
		    CP_MAX_RULES, CP_MAX_POOL);
	if (r < 0)
		fatal_r(r, "cannot write the compiled policy");

	/* Said at every start: what is enforced, counted as the maps hold it. */
	n_rules = pol.n_ip4 + pol.n_cidr4 + n_names + n_url_ip;
	if (o->cmd == CMD_CA)
		;
	else if (pol.mode == CGFW_MODE_LOG_ONLY)
		log_info("log-only mode (no rules): nothing is blocked, everything is reported");
	else {
		snprintf(err, sizeof(err), " (%zu duplicate IP rule%s merged)", pol.n_dup,
		    pol.n_dup == 1 ? "" : "s");
		log_info("%s mode, %zu rule%s from %d source%s%s%s",
		    pol.mode == CGFW_MODE_ALLOW_LIST ? "allow-list" : "block-list", n_rules,
		    n_rules == 1 ? "" : "s", n_sources, n_sources == 1 ? "" : "s",
		    n_rules                            ? ""
		    : pol.mode == CGFW_MODE_ALLOW_LIST ? ": everything is blocked"
		                                       : ": nothing is blocked",
		    pol.n_dup ? err : "");
	}

	cm.h.cmsg_level = SOL_SOCKET;
	cm.h.cmsg_type = SCM_RIGHTS;
	cm.h.cmsg_len = CMSG_LEN(sizeof(out));
	memcpy(CMSG_DATA(&cm.h), out, sizeof(out));
	if (sendmsg(sock, &mh, 0) != 1)
		fatal("cannot hand the compiled policy over");
	_exit(0); /* nothing of the loader's to run or free at exit */
}

/* A name-policy memfd: sealed, and its header's length is its size. */
static int
np_fd_ok(int fd)
{
	struct np_hdr h;
	struct stat st;

	if (cp_sealed(fd) < 0 || fstat(fd, &st) < 0 ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return 0;
	return h.magic == NP_MAGIC && h.version == NP_VERSION && h.total_len == st.st_size;
}

/*
 * The loader's side: open the list files, let the helper compile, take the
 * two memfds and check them.  On success l->np_fd, l->cp (the IP maps and
 * the rules the workers need) are set and o->rules is the compiled view.
 */
void
compile_policy(struct loader *l)
{
	static const char *const allow[] = {"memfd_create", "ftruncate", "pwrite64", NULL};
	struct loader_opts *o = l->o;
	int keep[LOADER_MAX_FILES + 1], errs[LOADER_MAX_FILES], sv[2], fds[2], r;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(fds))];
	} cm;
	struct msghdr mh = {.msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cm.buf,
	    .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *c;
	ssize_t n;
	pid_t pid;

	for (int i = 0; i < o->n_files; i++) {
		keep[i] = open(o->files[i].path, O_RDONLY | O_CLOEXEC);
		errs[i] = keep[i] < 0 ? errno : 0;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	keep[o->n_files] = sv[1];
	pid = helper_start(l, (uid_t)-1, NULL, keep, o->n_files + 1, "cgfw-loader", allow);
	if (pid == 0)
		compile_child(o, keep, errs, keep[o->n_files]);
	for (int i = 0; i < o->n_files; i++)
		if (keep[i] >= 0)
			(void)close(keep[i]);
	(void)close(sv[1]);
	helper_finish(pid, "the policy compiler");

	n = recvmsg(sv[0], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	c = n == 1 && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? CMSG_FIRSTHDR(&mh) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(fds)))
		fatalx("the policy compiler handed over no policy");
	memcpy(fds, CMSG_DATA(c), sizeof(fds));
	(void)close(sv[0]);
	if (!np_fd_ok(fds[0]))
		fatalx("the policy compiler's name policy is not sealed or not whole");
	r = cp_open(fds[1], &l->cp);
	if (r < 0)
		fatal_r(r, "the policy compiler's policy");
	(void)close(fds[1]);
	l->np_fd = fds[0];
	l->pol = l->cp.pol;
	rules_free(&o->rules);
	o->rules = l->cp.rules;
}
