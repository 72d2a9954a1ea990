// SPDX-License-Identifier: MIT
/*
 * lib/compile.c, what the loader's unprivileged helper runs: the rules of
 * the command line and the list files into the two memfds, the mode a list
 * file picks, and the errors the user reads (an unopened file, an empty one,
 * a bad line), each naming its file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf/egress.h"
#include "lib/compile.h"
#include "lib/cpolicy.h"
#include "lib/namepolicy.h"
#include "lib/rules.h"

static int n_warned;

static void
warned(const char *msg)
{
	assert_non_null(strstr(msg, "URL rules for an IP address"));
	n_warned++;
}

/* A list file with text in it, opened: its fd (the path is in path). */
static int
list_file(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/cgfw-test-compile-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void
test_sources(void **state)
{
	struct cgfw_ruleset rs = {0};
	struct compile_result res;
	struct compile_file f = {.action = CGFW_ACT_BLOCK};
	struct cp_view v;
	struct np_table t;
	char path[64], err[COMPILE_ERR_LEN];

	(void)state;
	assert_int_equal(rules_add_list(&rs, "192.0.2.7,http://192.0.2.9/x", CGFW_ACT_ALLOW,
	                     "--allow-list", err, sizeof(err)),
	    0);
	f.fd = list_file(path, sizeof(path), "# a hosts list\n0.0.0.0 ads.example\n203.0.113.9\n");
	f.path = path;
	n_warned = 0;
	assert_int_equal(compile_sources(&rs, &f, 1, 0, warned, &res, err, sizeof(err)), 0);
	assert_int_equal(n_warned, 1);
	assert_int_equal(res.mode, CGFW_MODE_ALLOW_LIST);
	assert_int_equal(res.n_sources, 2);
	assert_int_equal(res.n_rules, 4); /* two IPs, one name, the IP URL */
	assert_int_equal(cp_open(res.cp_fd, &v), 0);
	assert_int_equal(v.pol.n_ip4, 2);
	assert_true(v.flags & CP_F_FILE_BLOCK_NAMES);
	assert_int_equal(v.rules.n, 3);
	assert_string_equal(v.rules.v[2].text, "203.0.113.9");
	assert_int_equal(v.rules.v[2].id, 4); /* after the command line's two and the name */
	assert_int_equal(np_table_open(res.np_fd, &t), 0);
	assert_int_equal(np_table_count(&t), 1);
	np_table_close(&t);
	cp_close(&v);
	(void)close(res.np_fd);
	(void)close(res.cp_fd);
	(void)close(f.fd);
	(void)unlink(path);
	rules_free(&rs);
}

static void
test_errors(void **state)
{
	struct cgfw_ruleset rs = {0};
	struct compile_result res;
	struct compile_file f = {
	    .path = "/etc/none.list", .action = CGFW_ACT_ALLOW, .fd = -1, .open_errno = ENOENT};
	char path[64], err[COMPILE_ERR_LEN];

	(void)state;
	assert_int_equal(compile_sources(&rs, &f, 1, 0, NULL, &res, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/etc/none.list: cannot open: No such file or directory");

	f.fd = list_file(path, sizeof(path), "# nothing\n\n");
	f.path = path;
	assert_int_equal(compile_sources(&rs, &f, 1, 0, NULL, &res, err, sizeof(err)), -ENODATA);
	assert_non_null(strstr(err, ": no rules (empty, or only comments and blank lines)"));
	assert_non_null(strstr(err, "--allow-empty"));
	assert_int_equal(compile_sources(&rs, &f, 1, 1, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(res.mode, CGFW_MODE_ALLOW_LIST); /* an empty allow list blocks all */
	assert_int_equal(res.n_rules, 0);
	(void)close(res.np_fd);
	(void)close(res.cp_fd);
	(void)close(f.fd);
	(void)unlink(path);

	f.fd = list_file(path, sizeof(path), "example.com\nexa mple.com\n");
	assert_int_equal(compile_sources(&rs, &f, 1, 0, NULL, &res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: "));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	/* A file the command line overrides is still checked. */
	f.replaced = 1;
	assert_int_equal(compile_sources(&rs, &f, 1, 0, NULL, &res, err, sizeof(err)), -EINVAL);
	(void)close(f.fd);
	(void)unlink(path);
	rules_free(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sources),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
