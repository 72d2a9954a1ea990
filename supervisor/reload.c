// SPDX-License-Identifier: MIT
/*
 * SIGHUP to `attach` (systemctl reload), in cgfw-supervisor: the policy is read and compiled
 * again and swapped in atomically, or the one in force stays.
 *
 * 1. A child of the keeper (root, CAP_SETUID and CAP_SETGID) parses the
 *    command line given at start and the config file again
 *    (loader/reload.c, loader/options.c: the command line still wins) and
 *    has the unprivileged compiler compile it (loader/compile.c); it hands
 *    back the two memfds.  Any error is its stderr
 *    line, as at start (FILE:LINE: ...), which the supervisor relays and puts
 *    in the RELOAD FAILED event: the child can exit, the supervisor goes on.
 * 2. The supervisor checks the memfds as the loader did at start and fills
 *    the policy slot the generation in force does not use (lib/polmaps.c).
 * 3. Each worker gets the new policy aside (supervisor/workers.c) and answers RELOADED;
 *    the DNS proxy has by then judged every learned address again into the
 *    new slot's learned map.
 * 4. One write to cgfw_gen flips every BPF map at once; then the workers
 *    are told to commit.  Before the flip nothing in force changed; a
 *    failure there keeps the old policy whole.  The flip cannot half
 *    happen.  See docs/architecture.md, "Reload".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/keeper.h"
#include "lib/log.h"
#include "lib/namepolicy.h"
#include "lib/proc.h"
#include "supervisor/supervisor.h"

#define RELOAD_WORKERS_MS 10000 /* for every worker's RELOADED */
#define RELOAD_ERR_MAX    4096  /* of the child's stderr kept for the event */

/*
 * The two memfds checked (seals, sizes, headers) and the compiled one mapped
 * into ret: 0, or -errno with err saying which is wrong.  fds[1] is closed.
 */
static int
reload_check(int *fds, struct cp_view *ret, char *err, size_t err_len)
{
	int r;

	if (np_sealed_ok(fds[0]) < 0) {
		snprintf(
		    err, err_len, "the policy compiler's name policy is not sealed or not whole");
		return -EBADMSG;
	}
	r = cp_open(fds[1], ret);
	if (r < 0) {
		snprintf(err, err_len, "the policy compiler's policy: %s", strerror(-r));
		return r;
	}
	(void)close(fds[1]);
	fds[1] = -1;
	return 0;
}

/* The last line of what the child said, without our "cgfw-loader[pid]: " prefix. */
static void
last_line(char *text, char *out, size_t len)
{
	char *end = text + strlen(text), *start, *p;

	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(text, '\n');
	start = start ? start + 1 : text;
	p = strstr(start, "]: ");
	if (p && strncmp(start, "cgfw-loader[", 12) == 0)
		start = p + 3;
	snprintf(out, len, "%s", start);
}

/*
 * Steps 1 and 2 of the file's comment: 0 with fds[0] (the name policy) and
 * cp, or -1 with why in err.  The child's stderr is relayed to ours.
 */
static int
reload_compile(struct sup *s, int *np_fd, struct cp_view *cp, char *err, size_t err_len)
{
	char text[RELOAD_ERR_MAX];
	size_t tlen = 0;
	int sv[2], ep[2], fds[2], status, r;
	ssize_t n;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0) {
		snprintf(err, err_len, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = keeper_reload(s->keeper_fd, sv[1], ep[1]);
	if (pid < 0) {
		snprintf(err, err_len, "the keeper cannot start the reload: %s", strerror(-pid));
		(void)close(sv[0]);
		(void)close(sv[1]);
		(void)close(ep[0]);
		(void)close(ep[1]);
		return -1;
	}
	(void)close(sv[1]);
	(void)close(ep[1]);
	/* Relay every line as it comes; keep the end for the event. */
	for (;;) {
		char buf[1024];

		n = read(ep[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		(void)!write(STDERR_FILENO, buf, (size_t)n);
		/* buf is smaller than text: keep text's tail. */
		if (tlen + (size_t)n >= sizeof(text)) {
			size_t drop = tlen + (size_t)n - (sizeof(text) - 1);

			memmove(text, text + drop, tlen - drop);
			tlen -= drop;
		}
		memcpy(text + tlen, buf, (size_t)n);
		tlen += (size_t)n;
	}
	text[tlen] = '\0';
	(void)close(ep[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (status != 0) {
		last_line(text, err, err_len);
		if (!err[0])
			snprintf(err, err_len, "the reload's compiler failed (status %d)", status);
		(void)close(sv[0]);
		return -1;
	}
	r = proc_fds_recv(sv[0], fds, 2, MSG_DONTWAIT);
	(void)close(sv[0]);
	if (r < 0) {
		snprintf(err, err_len, "the policy compiler handed over no policy");
		return -1;
	}
	r = reload_check(fds, cp, err, err_len);
	if (r < 0) {
		(void)close(fds[0]);
		if (fds[1] >= 0)
			(void)close(fds[1]);
		return -1;
	}
	*np_fd = fds[0];
	return 0;
}

static int
done_reloaded(struct sup *s)
{
	int lost;

	return workers_reloaded(s, &lost) || s->target_lost || s->gave_up;
}

static size_t
n_url_rules(const struct cgfw_ruleset *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->v[i].kind == RULE_URL;
	return n;
}

static void
reload_failed(struct sup *s, const char *why)
{
	char c[512];

	/* The event's comment: one line, no control characters (check_notice()). */
	snprintf(c, sizeof(c), "%s", why);
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	log_warnx("reload failed, the policy in force stays: %s", c);
	workers_notice(s, "RELOAD FAILED", "ReloadFailed", c);
	sd_reload_failed(s, c);
}

void
sup_reload(struct sup *s, int *sig)
{
	struct cp_view cp = {0}, old_cp;
	char err[RELOAD_ERR_MAX], msg[512];
	uint32_t gen = s->gen + 1;
	int np_fd = -1, lost = 0, hup = 0, r;
	const struct cp_hdr *h;

	*sig = 0;
	log_info("SIGHUP: reloading the policy");
	sd_reloading();
	if (reload_compile(s, &np_fd, &cp, err, sizeof(err)) < 0) {
		reload_failed(s, err);
		return;
	}
	/* The HTTP proxy intercepts HTTPS with the CA made at start, only if URL rules were there. */
	if (n_url_rules(&cp.rules) && !s->h.need_tls) {
		reload_failed(s, "URL rules need cgfw's CA, which is set up only when the policy "
		                 "has URL rules at start: restart cgfw to add the first ones");
		goto out;
	}
	r = polmaps_prepare(&s->maps, gen & 1, &cp.pol, err, sizeof(err));
	if (r < 0) {
		reload_failed(s, err);
		goto out;
	}
	workers_reload_send(s, gen, &cp, np_fd);
	/* Another SIGHUP meanwhile: this reload finishes, then the next one reads the files again. */
	do {
		if (*sig == SIGHUP)
			hup = 1;
		*sig = 0;
		r = sup_wait(s, done_reloaded, RELOAD_WORKERS_MS, sig);
	} while (r == 0 && *sig == SIGHUP);
	if (r < 0 || *sig || !workers_reloaded(s, &lost) || lost) {
		s->reload_gen = 0;
		reload_failed(s, *sig || s->target_lost || s->gave_up ? "stopped while reloading"
		                 : lost ? "a worker died or was down while reloading"
		                        : "the workers did not take the new policy in time");
		goto out;
	}
	r = polmaps_flip(&s->maps, gen);
	if (r < 0) {
		s->reload_gen = 0;
		snprintf(err, sizeof(err), "cannot put the new policy in force: %s", strerror(-r));
		reload_failed(s, err);
		goto out;
	}
	/* In force: our copy for restarted workers and status, then the workers. */
	s->gen = gen;
	old_cp = s->cp;
	s->cp = cp;
	(void)close(s->np_fd);
	s->np_fd = np_fd;
	np_fd = -1;
	cp_close(&old_cp);
	cp = (struct cp_view){0};
	workers_reload_commit(s, gen);

	h = s->cp.base;
	snprintf(msg, sizeof(msg),
	    "generation %u: %s mode, %zu IP, %zu CIDR, %llu name and %zu URL rule(s)", gen,
	    status_mode_name(s->cp.pol.mode), s->cp.pol.n_ip4, s->cp.pol.n_cidr4,
	    (unsigned long long)h->n_names, n_url_rules(&s->cp.rules));
	log_info("policy reloaded: %s", msg);
	workers_notice(s, "POLICY RELOADED", "Reloaded", msg);
	sd_ready(s); /* READY=1 and the new policy's STATUS= line */
out:
	if (np_fd >= 0)
		(void)close(np_fd);
	cp_close(&cp);
	if (hup && !*sig)
		*sig = SIGHUP;
}
