// SPDX-License-Identifier: MIT
/*
 * Every source of rules into the two memfds the loader hands out
 * (lib/compile.h).  Runs unprivileged, in the loader's helper.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bpf/egress.h"
#include "lib/compile.h"
#include "lib/cpolicy.h"
#include "lib/listfile.h"
#include "lib/namepolicy.h"
#include "lib/policy.h"

#define COMPILE_MAX_FILES 64

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
static int
check_map_limit(const char *what, size_t n, size_t n_cli, const struct file_count *fc, int n_fc,
    int cidr, char *err, size_t err_len)
{
	char from[1024] = "";
	size_t len = 0;

	if (n <= CGFW_POLICY_MAP_MAX)
		return 0;
	for (int i = 0; i < n_fc && len < sizeof(from); i++) {
		size_t k = cidr ? fc[i].n_cidr4 : fc[i].n_ip4;

		if (k)
			len += (size_t)snprintf(from + len, sizeof(from) - len, "%s%s (%zu)",
			    len ? ", " : "", fc[i].path, k);
	}
	if (n_cli && len < sizeof(from))
		snprintf(from + len, sizeof(from) - len, "%sthe command line and config (%zu)",
		    len ? ", " : "", n_cli);
	snprintf(err, err_len,
	    "too many %s: %zu after merging duplicates, over the limit of %u per map "
	    "(see cgfw-loader(8)); from %s",
	    what, n, CGFW_POLICY_MAP_MAX, from);
	return -E2BIG;
}

static int
fail(int r, char *err, size_t err_len, const char *what)
{
	snprintf(err, err_len, "%s: %s", what, strerror(-r));
	return r;
}

/*
 * Every list file named anywhere is read and checked, one the command line
 * overrides included (then dropped).  A list file with no rules is an error
 * unless allow_empty: a truncated download must not silently turn into
 * "block nothing".  Naming a list file picks its mode whatever it holds, so
 * an empty allow list blocks everything.
 */
int
compile_sources(struct cgfw_ruleset *rs, const struct compile_file *files, int n_files,
    int allow_empty, void (*warn)(const char *msg), struct compile_result *ret, char *err,
    size_t err_len)
{
	return compile_sources_split(
	    rs, files, n_files, allow_empty, warn, NULL, NULL, ret, err, err_len);
}

int
compile_sources_split(struct cgfw_ruleset *rs, const struct compile_file *files, int n_files,
    int allow_empty, void (*warn)(const char *msg),
    int (*cp_ready)(const struct compile_result *res, void *arg), void *arg,
    struct compile_result *ret, char *err, size_t err_len)
{
	struct np_builder *b = np_builder_new();
	uint32_t next_id = (uint32_t)rs->n + 1, flags = 0;
	struct file_count fc[COMPILE_MAX_FILES];
	struct cgfw_policy pol = {0};
	const char *seen[4];
	size_t n_cli_ip4, n_cli_cidr4, n_names, n_url_ip = 0;
	int n_fc = 0, n_sources = 0, file_allow = 0, file_block = 0, np_fd = -1, cp_fd = -1, r;

	if (!b)
		return fail(-ENOMEM, err, err_len, "np_builder_new");
	if (n_files > COMPILE_MAX_FILES) {
		r = -E2BIG;
		snprintf(err, err_len, "more than %d list files", COMPILE_MAX_FILES);
		goto out;
	}
	for (size_t i = 0; i < rs->n; i++) {
		struct cgfw_rule *rule = &rs->v[i];
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
		if (r < 0) {
			snprintf(
			    err, err_len, "cannot add rule \"%s\": %s", rule->text, strerror(-r));
			goto out;
		}
	}
	count_ip_rules(rs, 0, &n_cli_ip4, &n_cli_cidr4);
	for (int i = 0; i < n_files; i++) {
		const struct compile_file *f = &files[i];
		struct np_builder *fb = f->replaced ? np_builder_new() : b;
		struct cgfw_ruleset scratch = {0};
		struct cgfw_ruleset *frs = f->replaced ? &scratch : rs;
		uint32_t scratch_id = 1, *ids = f->replaced ? &scratch_id : &next_id, id0 = *ids;
		size_t names = np_builder_count(b), rs0 = frs->n;

		if (!fb) {
			r = fail(-ENOMEM, err, err_len, "np_builder_new");
			goto out;
		}
		/* Opened by the loader, in order: an open error is this file's error. */
		if (f->fd < 0) {
			r = -f->open_errno;
			snprintf(
			    err, err_len, "%s: cannot open: %s", f->path, strerror(f->open_errno));
		} else {
			r = listfile_load_fd(f->fd, f->path, f->action, fb, frs, ids, err, err_len);
		}
		if (r == 0 && *ids == id0 && !allow_empty) {
			r = -ENODATA;
			snprintf(err, err_len,
			    "%s: no rules (empty, or only comments and blank lines); %s. Pass "
			    "--allow-empty if that is meant",
			    f->path,
			    f->action == CGFW_ACT_ALLOW
			        ? "cgfw will not guess what an empty allow list means (with "
			          "--allow-empty it blocks everything)"
			        : "an empty block list blocks nothing");
		}
		if (f->replaced) {
			np_builder_free(fb);
			rules_free(&scratch);
		}
		if (r < 0)
			goto out;
		if (f->replaced)
			continue;
		n_sources++;
		fc[n_fc].path = f->path;
		count_ip_rules(rs, rs0, &fc[n_fc].n_ip4, &fc[n_fc].n_cidr4);
		n_fc++;
		if (f->action == CGFW_ACT_ALLOW)
			file_allow = 1;
		else
			file_block = 1;
		/* The file's names count for the mode; its IPs joined rs. */
		if (np_builder_count(b) > names)
			flags |= f->action == CGFW_ACT_ALLOW ? CP_F_FILE_ALLOW_NAMES
			                                     : CP_F_FILE_BLOCK_NAMES;
	}
	n_names = np_builder_count(b);
	for (size_t i = 0; i < rs->n; i++) {
		char msg[CGFW_RULE_MAX_LEN + 256];

		if (rs->v[i].kind != RULE_URL || !rs->v[i].addr)
			continue;
		n_url_ip++;
		snprintf(msg, sizeof(msg),
		    "rule \"%s\" (%s): URL rules for an IP address are not enforced yet (they "
		    "need a name for SNI and Host)",
		    rs->v[i].text, rs->v[i].origin);
		if (warn)
			warn(msg);
	}
	r = policy_compile(rs, &pol);
	if (r < 0) {
		fail(r, err, err_len, "cannot compile the policy");
		goto out;
	}
	r = check_map_limit("IP rules (distinct addresses and IP:port)", pol.n_ip4, n_cli_ip4, fc,
	    n_fc, 0, err, err_len);
	if (r == 0)
		r = check_map_limit("CIDR rules (distinct prefixes)", pol.n_cidr4, n_cli_cidr4, fc,
		    n_fc, 1, err, err_len);
	if (r < 0)
		goto out;
	/* A list file decides the mode as much as the command line, even empty. */
	if (file_allow)
		pol.mode = CGFW_MODE_ALLOW_LIST;
	else if (file_block && pol.mode == CGFW_MODE_LOG_ONLY)
		pol.mode = CGFW_MODE_BLOCK_LIST;
	if (pol.mode == CGFW_MODE_BLOCK_LIST && (flags & CP_F_FILE_BLOCK_NAMES))
		pol.block_unresolved = 1;
	r = cp_write(&pol, rs, n_names, flags, &cp_fd);
	if (r == -E2BIG)
		snprintf(err, err_len,
		    "too many IP, CIDR and URL rules or too much rule text (at most %u rules, %u "
		    "bytes)",
		    CP_MAX_RULES, CP_MAX_POOL);
	else if (r < 0)
		fail(r, err, err_len, "cannot write the compiled policy");
	if (r < 0)
		goto out;
	ret->np_fd = -1;
	ret->cp_fd = cp_fd;
	ret->mode = pol.mode;
	ret->n_rules = pol.n_ip4 + pol.n_cidr4 + n_names + n_url_ip;
	ret->n_sources = n_sources;
	ret->n_dup = pol.n_dup;
	/*
	 * The compiled policy needs only the names' count: it goes out first,
	 * and the name table, the bulk of a big list's work, is built while the
	 * loader starts up with it.
	 */
	if (cp_ready) {
		r = cp_ready(ret, arg);
		if (r < 0) {
			fail(r, err, err_len, "cannot hand the compiled policy over");
			goto out;
		}
	}
	r = np_builder_finish(b, &np_fd);
	if (r < 0) {
		fail(r, err, err_len, "cannot build the name policy");
		goto out;
	}
	ret->np_fd = np_fd;
	np_fd = cp_fd = -1;
out:
	if (np_fd >= 0)
		(void)close(np_fd);
	if (cp_fd >= 0) {
		(void)close(cp_fd);
		ret->cp_fd = -1;
	}
	policy_free(&pol);
	np_builder_free(b);
	return r;
}
