// SPDX-License-Identifier: MIT
/*
 * The loader's options: the command line and the INI config file (inih).
 * Both are the invoking administrator's input, parsed as root before anything
 * is created; every error names the option or file and key, and nothing runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "lib/listfile.h"
#include "lib/log.h"
#include "lib/sdnotify.h"
#include "loader.h"

#define ATTACH_EXCLUSIVE "attach: only one of --cgroup, --unit, --pid and --container"

static void __attribute__((noreturn)) usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: cgfw-loader [--config FILE] run [OPTIONS] [--] CMD [ARGS...]\n"
	    "       cgfw-loader [--config FILE] attach [OPTIONS] --cgroup PATH | --unit NAME |\n"
	    "                                                --pid PID | --container NAME\n"
	    "       cgfw-loader ca [--state-dir D]   print the CA certificate's path\n"
	    "       cgfw-loader status [NAME] [--json]  instances: policy, counters, health\n"
	    "       cgfw-loader cleanup [ID...]      remove stale instances\n"
	    "       cgfw-loader events [NAME] [--follow] [--last N]\n"
	    "                                        an instance's events (group cgfw-log)\n"
	    "\n"
	    "options:\n"
	    "  --allow-list L     allow these rules (comma-separated, repeatable)\n"
	    "  --block-list L     block these rules (comma-separated, repeatable)\n"
	    "  --log-file F       append JSON events to F (\"-\": stdout; default: none,\n"
	    "                     they are on the event socket, cgfw-loader events)\n"
	    "  --debug            also report allowed traffic\n"
	    "  --user U           run CMD as U (default: SUDO_UID, else root with a warning)\n"
	    "  --allow-list-file F, --block-list-file F\n"
	    "                     rules from a file: one a line, # comments, hosts-file lines\n"
	    "  --allow-empty      a list file with no rules is not an error (an empty\n"
	    "                     allow list then blocks everything)\n"
	    "  --upstream IP[:PORT]  DNS server to forward to (repeatable; default: the\n"
	    "                     nameservers of /etc/resolv.conf)\n"
	    "  --dns-min-ttl N    resolved IPs stay allowed at least N seconds (default 300)\n"
	    "  --dns-block-response refused|nxdomain   answer to a blocked name (refused)\n"
	    "  --allow-dns-request  answer queries for blocked names too; their addresses stay\n"
	    "                     refused (other names are admitted as usual)\n"
	    "  --allow-raw-sockets  let the command open raw sockets (and keep CAP_NET_RAW\n"
	    "                     when it runs as root); refused by default\n"
	    "  --allow-event-loss   lost events do not make the run exit 125\n"
	    "  --upstream-ca F    HTTPS servers must chain to F (default: SSL_CERT_FILE or the\n"
	    "                     system store)\n"
	    "  --state-dir D      where cgfw's CA lives (default /var/lib/cgfw; $CAROOT with\n"
	    "                     a mkcert CA is used instead when set)\n"
	    "  --cgroup PATH      attach: the cgroup v2 directory to enforce on\n"
	    "                     (--cgroup-path is accepted too)\n"
	    "  --unit NAME        attach: the cgroup of systemd unit NAME (.service, .slice,\n"
	    "                     .scope), as systemctl show reports it\n"
	    "  --pid PID          attach: the cgroup of process PID; the proxies listen in its\n"
	    "                     network namespace\n"
	    "  --container NAME   attach: the cgroup and network namespace of a docker or podman\n"
	    "                     container's init (--docker-container is accepted too)\n"
	    "  --container-engine docker|podman   who is asked (default: docker, then podman)\n"
	    "  --name NAME        the instance's name (default run-PID, or cg-ID for attach)\n"
	    "\n"
	    "One CMD argument is run with /bin/sh -c; several are executed as argv.\n"
	    "See cgfw-loader(8).\n");
	exit(code);
}

static int
opts_add_rules(struct loader_opts *o, const char *list, int action, const char *origin)
{
	char err[CGFW_ERR_LEN];

	if (rules_add_list(&o->rules, list, action, origin, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	if (!*dst)
		fatal("strdup");
}

/* -1 when LOADER_MAX_FILES are named already: the caller says where. */
static int
opts_add_file(struct loader_opts *o, const char *path, int action, int replaced)
{
	if (o->n_files >= LOADER_MAX_FILES)
		return -1;
	o->files[o->n_files].path = strdup(path);
	o->files[o->n_files].action = action;
	o->files[o->n_files].replaced = replaced;
	if (!o->files[o->n_files].path)
		fatal("strdup");
	o->n_files++;
	return 0;
}

/* "IP" or "IP:PORT", IPv4 or IPv6 ("[::1]:53"); stored as c-ares takes it. */
static int
opts_add_upstream(struct loader_opts *o, const char *v)
{
	struct in_addr a4;
	struct in6_addr a6;
	char host[INET6_ADDRSTRLEN + 2], out[80];
	const char *port = NULL, *colon = strchr(v, ':');
	unsigned long p = 53;
	char *end;

	if (o->n_upstreams >= LOADER_MAX_UPSTREAMS || strlen(v) >= sizeof(host))
		return -1;
	if (v[0] == '[') {
		const char *rb = strchr(v, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - v - 1), v + 1);
		port = rb[1] ? rb + 2 : NULL;
	} else if (colon && colon == strrchr(v, ':')) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - v), v);
		port = colon + 1;
	} else {
		snprintf(host, sizeof(host), "%s", v);
	}
	if (port) {
		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || *end || end == port || p == 0 || p > 65535)
			return -1;
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		snprintf(out, sizeof(out), "%s:%lu", host, p);
	else if (inet_pton(AF_INET6, host, &a6) == 1)
		snprintf(out, sizeof(out), "[%s]:%lu", host, p);
	else
		return -1;
	o->upstreams[o->n_upstreams] = strdup(out);
	if (!o->upstreams[o->n_upstreams])
		fatal("strdup");
	o->n_upstreams++;
	return 0;
}

static int
opts_min_ttl(struct loader_opts *o, const char *v)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || end == v || n > 7 * 86400)
		return -1;
	o->min_ttl = (uint32_t)n;
	return 0;
}

static int
opts_block_response(struct loader_opts *o, const char *v)
{
	if (!strcasecmp(v, "refused"))
		o->block_nxdomain = 0;
	else if (!strcasecmp(v, "nxdomain"))
		o->block_nxdomain = 1;
	else
		return -1;
	return 0;
}

static int
parse_bool(const char *v, int *ret)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on"))
		*ret = 1;
	else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	         !strcasecmp(v, "off"))
		*ret = 0;
	else
		return -1;
	return 0;
}

/* A pid: decimal, 1 to INT_MAX, nothing else. */
static int
opts_pid(const char *v, pid_t *ret)
{
	unsigned long n;
	char *end;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n == 0 || n > INT_MAX)
		return -1;
	*ret = (pid_t)n;
	return 0;
}

/*
 * A container name or id as docker and podman accept them (loader/target.c
 * checks it again): a letter or digit first, then letters, digits, "_", "."
 * and "-"; so never an option of theirs.
 */
int
opts_container_ok(const char *v)
{
	size_t n = strlen(v);

	return n > 0 && n <= 253 &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	           n &&
	       v[0] != '_' && v[0] != '.' && v[0] != '-';
}

static int
opts_engine_ok(const char *v)
{
	return !strcmp(v, "docker") || !strcmp(v, "podman");
}

/* How many of attach's targets o names. */
static int
opts_n_targets(const struct loader_opts *o)
{
	return !!o->cgroup + !!o->unit + !!o->pid + !!o->container;
}

struct config_ctx {
	struct loader_opts *o;
	const char *file;
	char err[2 * PATH_MAX];
};

/* The first error is the one inih's line number belongs to. */
static int __attribute__((format(printf, 2, 3)))
config_error(struct config_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0])
		return 0;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * inih callback: every key of the config file.  CLI values win, but a value
 * the command line replaces is checked all the same (into a scratch copy):
 * a broken config fails wherever its values end up.  Debian's inih is built
 * without line numbers in the callback; inih returns the line of the first
 * error, which config_load() appends.
 */
static int
config_key(void *user, const char *section, const char *name, const char *value)
{
	struct config_ctx *c = user;
	struct loader_opts *o = c->o, scratch = {0};
	char origin[PATH_MAX + 64], q[LOG_ESC_LEN];
	int v;

	if (snprintf(origin, sizeof(origin), "%s: %s", c->file, name) >= (int)sizeof(origin))
		fatalx("config path too long");
	if (section[0] && strcmp(section, "cgfw") != 0)
		return config_error(c, "%s: unknown section [%s]", c->file,
		    log_escape(q, sizeof(q), section, strlen(section)));
	log_escape(q, sizeof(q), value, strlen(value));
	if (!strcmp(name, "allow-list") || !strcmp(name, "block-list")) {
		int allow = name[0] == 'a';
		int replaced = allow ? o->have_cli_allow : o->have_cli_block;
		char err[CGFW_ERR_LEN];
		int r;

		r = rules_add_list(replaced ? &scratch.rules : &o->rules, value,
		    allow ? CGFW_ACT_ALLOW : CGFW_ACT_BLOCK, origin, err, sizeof(err));
		rules_free(&scratch.rules);
		if (r < 0)
			return config_error(c, "%s", err);
	} else if (!strcmp(name, "allow-list-file") || !strcmp(name, "block-list-file")) {
		int allow = name[0] == 'a';

		if (!value[0])
			return config_error(c, "%s: empty file name", origin);
		if (opts_add_file(o, value, allow ? CGFW_ACT_ALLOW : CGFW_ACT_BLOCK,
		        allow ? o->have_cli_allow_file : o->have_cli_block_file) < 0)
			return config_error(
			    c, "%s: more than %d list files", origin, LOADER_MAX_FILES);
	} else if (!strcmp(name, "upstream")) {
		int r = opts_add_upstream(o->have_cli_upstream ? &scratch : o, value);

		free(scratch.upstreams[0]);
		if (r < 0)
			return config_error(c, "%s: invalid upstream \"%s\"", origin, q);
	} else if (!strcmp(name, "dns-min-ttl")) {
		if (opts_min_ttl(o->have_cli_min_ttl ? &scratch : o, value) < 0)
			return config_error(
			    c, "%s: expected seconds (0-604800), not \"%s\"", origin, q);
	} else if (!strcmp(name, "dns-block-response")) {
		if (opts_block_response(o->have_cli_block_response ? &scratch : o, value) < 0)
			return config_error(
			    c, "%s: expected refused or nxdomain, not \"%s\"", origin, q);
	} else if (!strcmp(name, "allow-dns-request") || !strcmp(name, "allow-raw-sockets") ||
	           !strcmp(name, "allow-empty") || !strcmp(name, "allow-event-loss") ||
	           !strcmp(name, "debug")) {
		if (parse_bool(value, &v) < 0)
			return config_error(c, "%s: expected true or false, not \"%s\"", origin, q);
		if (!strcmp(name, "allow-dns-request"))
			o->allow_dns_request |= v;
		else if (!strcmp(name, "allow-event-loss"))
			o->allow_event_loss |= v;
		else if (!strcmp(name, "allow-raw-sockets"))
			o->allow_raw |= v;
		else if (!strcmp(name, "allow-empty"))
			o->allow_empty |= v;
		else
			o->debug |= v;
	} else if (!strcmp(name, "log-file") || !strcmp(name, "user")) {
		char **dst = name[0] == 'l' ? &o->log_file : &o->user;

		if (!value[0])
			return config_error(c, "%s: empty value", origin);
		if (!*dst)
			set_str(dst, value);
	} else if (!strcmp(name, "state-dir")) {
		if (value[0] != '/')
			return config_error(c, "%s: \"%s\" is not an absolute path", origin, q);
		if (!o->have_cli_state_dir && !o->have_state_dir) {
			set_str(&o->state_dir, value);
			o->have_state_dir = 1;
		}
	} else if (!strcmp(name, "upstream-ca")) {
		if (!value[0])
			return config_error(c, "%s: empty file name", origin);
		/* Read by the loader at start (ca.c): checked here, like --upstream-ca. */
		if (access(value, R_OK) != 0)
			return config_error(
			    c, "%s: cannot read \"%s\": %s", origin, q, strerror(errno));
		if (!o->have_cli_upstream_ca && !o->upstream_ca)
			set_str(&o->upstream_ca, value);
	} else if (!strcmp(name, "name")) {
		if (!instance_name_valid(value))
			return config_error(c,
			    "%s: \"%s\" is not an instance name (1-%d of A-Z a-z 0-9 _ . - @, "
			    "not starting with a dot)",
			    origin, q, CGFW_NAME_MAX);
		if (!o->name)
			set_str(&o->name, value);
	} else if (!strcmp(name, "cgroup") || !strcmp(name, "unit") || !strcmp(name, "pid") ||
	           !strcmp(name, "container")) {
		pid_t pid = 0;

		if (!value[0])
			return config_error(c, "%s: empty value", origin);
		if (name[0] == 'u' && !sd_unit_name_valid(value))
			return config_error(c,
			    "%s: \"%s\" is not a unit name (NAME.service, NAME.slice or NAME.scope)",
			    origin, q);
		if (name[0] == 'p' && opts_pid(value, &pid) < 0)
			return config_error(c, "%s: expected a process id, not \"%s\"", origin, q);
		if (!strcmp(name, "container") && !opts_container_ok(value))
			return config_error(
			    c, "%s: \"%s\" is not a container name or id", origin, q);
		if (o->have_cli_target)
			return 1;
		if (opts_n_targets(o))
			return config_error(
			    c, "%s: only one of cgroup, unit, pid and container, once", origin);
		if (name[0] == 'p')
			o->pid = pid;
		else
			set_str(name[0] == 'u'   ? &o->unit
			        : name[1] == 'g' ? &o->cgroup
			                         : &o->container,
			    value);
	} else if (!strcmp(name, "container-engine")) {
		if (!opts_engine_ok(value))
			return config_error(
			    c, "%s: expected docker or podman, not \"%s\"", origin, q);
		if (!o->engine)
			set_str(&o->engine, value);
	} else if (!strcmp(name, "protect")) {
		/* For cgfw-generator (packaging/systemd): the loader only checks it. */
		char list[1024], *save = NULL;
		int n = 0;

		if (strlen(value) >= sizeof(list))
			return config_error(c, "%s: too long", origin);
		snprintf(list, sizeof(list), "%s", value);
		for (char *u = strtok_r(list, ", \t", &save); u;
		     u = strtok_r(NULL, ", \t", &save)) {
			size_t ul = strlen(u);

			n++;
			if (!sd_unit_name_valid(u) || ul < 9 || strcmp(u + ul - 8, ".service") != 0)
				return config_error(c,
				    "%s: \"%s\" is not a service name (NAME.service)", origin,
				    log_escape(q, sizeof(q), u, ul));
		}
		if (!n)
			return config_error(c, "%s: empty value", origin);
	} else {
		return config_error(c, "%s: %s: unknown key", c->file,
		    log_escape(q, sizeof(q), name, strlen(name)));
	}
	return 1;
}

/*
 * Read whole and checked before inih sees it: inih stops a value at a NUL
 * (the rest of the line is silently lost) and splits a line longer than its
 * buffer into two lines, so both are errors here instead.
 */
#define CONFIG_MAX_BYTES (4 << 20)
/* Debian's inih reads 199 bytes at a time; keep room for "\r\n". */
#define CONFIG_LINE_MAX  198

/*
 * The config text buf (len bytes, buf[len] == '\0') of file o->config, into o.
 * 0, or -EINVAL with err "FILE:LINE: ..." or "FILE: ... (line N)".
 */
int
opts_config_parse(struct loader_opts *o, const char *buf, size_t len, char *err, size_t err_len)
{
	struct config_ctx c = {.o = o, .file = o->config};
	size_t line = 1;
	int r;

	if (listfile_check_text(o->config, buf, len, err, err_len) < 0)
		return -EINVAL;
	for (const char *p = buf, *nl; p < buf + len; p = nl + 1, line++) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl)
			nl = buf + len;
		n = (size_t)(nl - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n > CONFIG_LINE_MAX) {
			snprintf(err, err_len,
			    "%s:%zu: line longer than %d bytes; continue a long list on indented "
			    "lines, or use a list file",
			    o->config, line, CONFIG_LINE_MAX);
			return -EINVAL;
		}
	}
	r = ini_parse_string(buf, config_key, &c);
	if (c.err[0])
		snprintf(err, err_len, "%s (line %d)", c.err, r);
	else if (r > 0)
		snprintf(err, err_len, "%s:%d: syntax error", o->config, r);
	else if (r < 0)
		snprintf(err, err_len, "%s: cannot parse (out of memory)", o->config);
	return c.err[0] || r != 0 ? -EINVAL : 0;
}

static void
config_load(struct loader_opts *o)
{
	char err[CGFW_ERR_LEN + PATH_MAX], *buf;
	size_t len = 0;
	struct stat st;
	int fd;

	fd = open(o->config, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		fatal("cannot read config %s", o->config);
	if (fstat(fd, &st) < 0)
		fatal("cannot read config %s", o->config);
	if (!S_ISREG(st.st_mode))
		fatalx("config %s: not a regular file", o->config);
	if (st.st_size > CONFIG_MAX_BYTES)
		fatalx("config %s: larger than %d bytes", o->config, CONFIG_MAX_BYTES);
	buf = malloc(CONFIG_MAX_BYTES + 2);
	if (!buf)
		fatal("malloc");
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fatal("cannot read config %s", o->config);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_BYTES)
			fatalx("config %s: larger than %d bytes", o->config, CONFIG_MAX_BYTES);
	}
	(void)close(fd);
	buf[len] = '\0';
	if (opts_config_parse(o, buf, len, err, sizeof(err)) < 0)
		fatalx("%s", err);
	free(buf);
}

void
opts_free(struct loader_opts *o)
{
	rules_free(&o->rules);
	free(o->log_file);
	free(o->user);
	free(o->cgroup);
	free(o->unit);
	free(o->container);
	free(o->engine);
	free(o->upstream_ca);
	free(o->state_dir);
	free(o->name);
	for (int i = 0; i < o->n_files; i++)
		free(o->files[i].path);
	for (int i = 0; i < o->n_upstreams; i++)
		free(o->upstreams[i]);
	o->log_file = o->user = o->cgroup = o->unit = o->upstream_ca = o->name = NULL;
	o->container = o->engine = NULL;
	o->state_dir = NULL;
	o->n_files = o->n_upstreams = 0;
}

void
opts_parse(struct loader_opts *o, int argc, char *argv[])
{
	enum {
		O_ALLOW = 256,
		O_BLOCK,
		O_LOG,
		O_DEBUG,
		O_USER,
		O_CGROUP,
		O_CONFIG,
		O_HELP,
		O_ALLOW_FILE,
		O_BLOCK_FILE,
		O_UPSTREAM,
		O_MIN_TTL,
		O_BLOCK_RESPONSE,
		O_ALLOW_DNS_REQUEST,
		O_ALLOW_RAW,
		O_ALLOW_EVENT_LOSS,
		O_STATE_DIR,
		O_UPSTREAM_CA,
		O_ALLOW_EMPTY,
		O_UNIT,
		O_PID,
		O_CONTAINER,
		O_ENGINE,
		O_NAME,
	};
	static const struct option lo[] = {
	    {"allow-list", required_argument, NULL, O_ALLOW},
	    {"block-list", required_argument, NULL, O_BLOCK},
	    {"log-file", required_argument, NULL, O_LOG},
	    {"debug", no_argument, NULL, O_DEBUG},
	    {"user", required_argument, NULL, O_USER},
	    {"cgroup", required_argument, NULL, O_CGROUP},
	    {"cgroup-path", required_argument, NULL, O_CGROUP},
	    {"config", required_argument, NULL, O_CONFIG},
	    {"help", no_argument, NULL, O_HELP},
	    {"allow-list-file", required_argument, NULL, O_ALLOW_FILE},
	    {"block-list-file", required_argument, NULL, O_BLOCK_FILE},
	    {"upstream", required_argument, NULL, O_UPSTREAM},
	    {"dns-min-ttl", required_argument, NULL, O_MIN_TTL},
	    {"dns-block-response", required_argument, NULL, O_BLOCK_RESPONSE},
	    {"allow-dns-request", no_argument, NULL, O_ALLOW_DNS_REQUEST},
	    {"allow-raw-sockets", no_argument, NULL, O_ALLOW_RAW},
	    {"allow-event-loss", no_argument, NULL, O_ALLOW_EVENT_LOSS},
	    {"state-dir", required_argument, NULL, O_STATE_DIR},
	    {"upstream-ca", required_argument, NULL, O_UPSTREAM_CA},
	    {"allow-empty", no_argument, NULL, O_ALLOW_EMPTY},
	    {"unit", required_argument, NULL, O_UNIT},
	    {"pid", required_argument, NULL, O_PID},
	    {"container", required_argument, NULL, O_CONTAINER},
	    {"docker-container", required_argument, NULL, O_CONTAINER},
	    {"container-engine", required_argument, NULL, O_ENGINE},
	    {"name", required_argument, NULL, O_NAME},
	    {NULL, 0, NULL, 0},
	};
	char q[LOG_ESC_LEN];
	int c, bad = 0, cli_engine = 0;

	o->min_ttl = 300;

	/* Global options, up to the subcommand. */
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (c == O_CONFIG)
			o->config = optarg;
		else if (c == O_HELP || c == 'h')
			usage(0);
		else if (c == '?')
			usage(CGFW_EXIT_FAILED);
		else
			break;
	}
	if (c != -1)
		fatalx("%s must come after the subcommand (run or attach)", argv[optind - 1]);
	if (optind >= argc)
		usage(CGFW_EXIT_FAILED);
	if (!strcmp(argv[optind], "run"))
		o->cmd = CMD_RUN;
	else if (!strcmp(argv[optind], "attach"))
		o->cmd = CMD_ATTACH;
	else if (!strcmp(argv[optind], "ca"))
		o->cmd = CMD_CA;
	else if (!strcmp(argv[optind], "status"))
		o->cmd = CMD_STATUS;
	else if (!strcmp(argv[optind], "cleanup"))
		o->cmd = CMD_CLEANUP;
	else if (!strcmp(argv[optind], "events"))
		o->cmd = CMD_EVENTS;
	else {
		log_warnx("unknown command \"%s\" (expected run, attach, ca, status, cleanup or "
		          "events)",
		    log_escape(q, sizeof(q), argv[optind], strlen(argv[optind])));
		usage(CGFW_EXIT_FAILED);
	}

	argc -= optind;
	argv += optind;
	if (o->cmd == CMD_EVENTS || o->cmd == CMD_STATUS || o->cmd == CMD_CLEANUP) {
		/* cgfw-ctl's, from the subcommand on (loader.c executes it); no config is read. */
		o->argc = argc;
		o->argv = argv;
		return;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case O_ALLOW:
			o->have_cli_allow = 1;
			bad |= opts_add_rules(o, optarg, CGFW_ACT_ALLOW, "--allow-list");
			break;
		case O_BLOCK:
			o->have_cli_block = 1;
			bad |= opts_add_rules(o, optarg, CGFW_ACT_BLOCK, "--block-list");
			break;
		case O_LOG:
			set_str(&o->log_file, optarg);
			break;
		case O_ALLOW_FILE:
		case O_BLOCK_FILE:
			if (c == O_ALLOW_FILE)
				o->have_cli_allow_file = 1;
			else
				o->have_cli_block_file = 1;
			if (opts_add_file(o, optarg,
			        c == O_ALLOW_FILE ? CGFW_ACT_ALLOW : CGFW_ACT_BLOCK, 0) < 0)
				fatalx("more than %d list files", LOADER_MAX_FILES);
			break;
		case O_ALLOW_EMPTY:
			o->allow_empty = 1;
			break;
		case O_UPSTREAM:
			o->have_cli_upstream = 1;
			if (opts_add_upstream(o, optarg) < 0) {
				log_warnx("--upstream: invalid address \"%s\" (IP[:PORT])",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)));
				bad = 1;
			}
			break;
		case O_MIN_TTL:
			o->have_cli_min_ttl = 1;
			if (opts_min_ttl(o, optarg) < 0) {
				log_warnx("--dns-min-ttl: expected seconds (0-604800), not \"%s\"",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)));
				bad = 1;
			}
			break;
		case O_BLOCK_RESPONSE:
			o->have_cli_block_response = 1;
			if (opts_block_response(o, optarg) < 0) {
				log_warnx(
				    "--dns-block-response: expected refused or nxdomain, not \"%s\"",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)));
				bad = 1;
			}
			break;
		case O_ALLOW_DNS_REQUEST:
			o->allow_dns_request = 1;
			break;
		case O_ALLOW_RAW:
			o->allow_raw = 1;
			break;
		case O_ALLOW_EVENT_LOSS:
			o->allow_event_loss = 1;
			break;
		case O_STATE_DIR:
			if (optarg[0] != '/')
				fatalx("--state-dir: \"%s\" is not an absolute path",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)));
			set_str(&o->state_dir, optarg);
			o->have_state_dir = o->have_cli_state_dir = 1;
			break;
		case O_UPSTREAM_CA:
			if (access(optarg, R_OK) != 0)
				fatal("--upstream-ca %s", optarg);
			set_str(&o->upstream_ca, optarg);
			o->have_cli_upstream_ca = 1;
			break;
		case O_DEBUG:
			o->debug = 1;
			break;
		case O_NAME:
			if (!instance_name_valid(optarg)) {
				log_warnx("--name: \"%s\" is not an instance name (1-%d of A-Z "
				          "a-z 0-9 _ . - @, not starting with a dot)",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)),
				    CGFW_NAME_MAX);
				bad = 1;
			} else {
				set_str(&o->name, optarg);
			}
			break;
		case O_USER:
			set_str(&o->user, optarg);
			break;
		case O_CGROUP:
			if (o->cmd != CMD_ATTACH)
				fatalx("--cgroup is an option of attach, not run");
			if (opts_n_targets(o) > !!o->cgroup)
				fatalx(ATTACH_EXCLUSIVE);
			o->have_cli_target = 1;
			set_str(&o->cgroup, optarg);
			break;
		case O_PID:
			if (o->cmd != CMD_ATTACH)
				fatalx("--pid is an option of attach, not run");
			if (opts_n_targets(o) > !!o->pid)
				fatalx(ATTACH_EXCLUSIVE);
			if (opts_pid(optarg, &o->pid) < 0)
				fatalx("--pid: expected a process id, not \"%s\"",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)));
			o->have_cli_target = 1;
			break;
		case O_CONTAINER:
			if (o->cmd != CMD_ATTACH)
				fatalx("--container is an option of attach, not run");
			if (opts_n_targets(o) > !!o->container)
				fatalx(ATTACH_EXCLUSIVE);
			if (!opts_container_ok(optarg))
				fatalx("--container: \"%s\" is not a container name or id",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)));
			o->have_cli_target = 1;
			set_str(&o->container, optarg);
			break;
		case O_ENGINE:
			if (!opts_engine_ok(optarg))
				fatalx("--container-engine: expected docker or podman, not \"%s\"",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)));
			set_str(&o->engine, optarg);
			cli_engine = 1;
			break;
		case O_UNIT:
			if (o->cmd != CMD_ATTACH)
				fatalx("--unit is an option of attach, not run");
			if (opts_n_targets(o) > !!o->unit)
				fatalx(ATTACH_EXCLUSIVE);
			if (!sd_unit_name_valid(optarg))
				fatalx(
				    "--unit: \"%s\" is not a unit name (NAME.service, NAME.slice or "
				    "NAME.scope)",
				    log_escape(q, sizeof(q), optarg, strlen(optarg)));
			o->have_cli_target = 1;
			set_str(&o->unit, optarg);
			break;
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_HELP:
		case 'h':
			usage(0);
		default:
			usage(CGFW_EXIT_FAILED);
		}
	}
	if (bad)
		exit(CGFW_EXIT_FAILED);
	o->argc = argc - optind;
	o->argv = argv + optind;
	/*
	 * The site's config applies unless another is named.  Anything there but
	 * "no such file" (a directory, a dangling link, unreadable) is loaded
	 * and fails with its name: never silently run without it.
	 */
	if (!o->config && (o->cmd == CMD_RUN || o->cmd == CMD_ATTACH || o->cmd == CMD_CA) &&
	    (faccessat(AT_FDCWD, CGFW_DEFAULT_CONFIG, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
	        errno != ENOENT))
		o->config = CGFW_DEFAULT_CONFIG;
	if (o->config)
		config_load(o);
	if (!o->state_dir)
		set_str(&o->state_dir, CGFW_STATE_DIR);
	if (o->cmd == CMD_CA && o->argc != 0)
		fatalx("%s: unexpected argument \"%s\"", argv[0],
		    log_escape(q, sizeof(q), o->argv[0], strlen(o->argv[0])));
	if (o->cmd == CMD_RUN && o->argc == 0)
		fatalx("run: no command given");
	if (o->cmd == CMD_ATTACH && o->argc != 0)
		fatalx("attach: unexpected argument \"%s\"",
		    log_escape(q, sizeof(q), o->argv[0], strlen(o->argv[0])));
	if (o->cmd == CMD_ATTACH && !opts_n_targets(o))
		fatalx("attach: --cgroup PATH, --unit NAME, --pid PID or --container NAME is "
		       "required");
	if (cli_engine && (o->cmd != CMD_ATTACH || !o->container))
		fatalx("--container-engine applies to attach --container only");
	if (o->cmd == CMD_ATTACH && o->user)
		fatalx("attach: --user applies to run only");
}

/* Without --upstream, every nameserver of /etc/resolv.conf, in order. */
int
opts_resolv_conf(struct loader_opts *o, const char *path)
{
	char line[512], q[LOG_ESC_LEN];
	FILE *f;

	if (o->n_upstreams)
		return 0;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char ns[128];

		if (sscanf(line, " nameserver %127s", ns) != 1)
			continue;
		/* A scoped IPv6 address (fe80::1%eth0) is not for us; skip it. */
		if (strchr(ns, '%') || opts_add_upstream(o, ns) < 0)
			log_warnx("%s: ignoring nameserver \"%s\"", path,
			    log_escape(q, sizeof(q), ns, strlen(ns)));
	}
	fclose(f);
	return o->n_upstreams ? 0 : -ENOENT;
}
