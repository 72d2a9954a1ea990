// SPDX-License-Identifier: MIT
/*
 * The compiled policy's memfd (lib/cpolicy.c), as the loader receives it
 * from the unprivileged compiler: a round trip, then hostile files (no
 * seals, wrong magic, a size that disagrees with the counts, counts over
 * the limits, string offsets outside the pool, an unterminated pool, a
 * kind or action out of range).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpf/egress.h"
#include "lib/cpolicy.h"
#include "lib/policy.h"
#include "lib/rules.h"

static void
build(struct cgfw_ruleset *rs, struct cgfw_policy *pol)
{
	char err[CGFW_ERR_LEN] = "";

	memset(rs, 0, sizeof(*rs));
	assert_int_equal(rules_add_list(rs,
	                     "192.0.2.7,198.51.100.0/24,example.com,"
	                     "https://example.com/x,192.0.2.7:22",
	                     CGFW_ACT_ALLOW, "--allow-list", err, sizeof(err)),
	    0);
	assert_int_equal(
	    rules_add_list(rs, "203.0.113.9", CGFW_ACT_BLOCK, "f.list:3", err, sizeof(err)), 0);
	assert_int_equal(policy_compile(rs, pol), 0);
}

static void
test_round_trip(void **state)
{
	struct cgfw_ruleset rs;
	struct cgfw_policy pol;
	struct cp_view v;
	int fd;

	(void)state;
	build(&rs, &pol);
	assert_int_equal(cp_write(&pol, &rs, 1, CP_F_FILE_BLOCK_NAMES, &fd), 0);
	assert_int_equal(cp_sealed(fd), 0);
	assert_int_equal(cp_open(fd, &v), 0);
	assert_int_equal(v.pol.mode, pol.mode);
	assert_int_equal(v.pol.n_ip4, pol.n_ip4);
	assert_int_equal(v.pol.n_cidr4, pol.n_cidr4);
	assert_int_equal(v.pol.n_names, 1);
	assert_memory_equal(v.pol.ip4, pol.ip4, pol.n_ip4 * sizeof(*pol.ip4));
	assert_memory_equal(v.pol.cidr4, pol.cidr4, pol.n_cidr4 * sizeof(*pol.cidr4));
	assert_true(v.flags & CP_F_FILE_BLOCK_NAMES);
	/* The name rule stays out: only IP, CIDR and URL rules, in order, with their ids. */
	assert_int_equal(v.rules.n, 5);
	assert_int_equal(v.rules.v[0].kind, RULE_IP4);
	assert_int_equal(v.rules.v[0].id, 1);
	assert_string_equal(v.rules.v[0].text, "192.0.2.7");
	assert_string_equal(v.rules.v[0].origin, "--allow-list");
	assert_int_equal(v.rules.v[2].kind, RULE_URL);
	assert_int_equal(v.rules.v[2].id, 4);
	assert_string_equal(v.rules.v[2].name, "example.com");
	assert_string_equal(v.rules.v[2].scheme, "https");
	assert_string_equal(v.rules.v[2].path, "/x");
	assert_int_equal(v.rules.v[3].port, 22);
	assert_int_equal(v.rules.v[4].action, CGFW_ACT_BLOCK);
	assert_string_equal(v.rules.v[4].origin, "f.list:3");
	cp_close(&v);
	(void)close(fd);
	policy_free(&pol);
	rules_free(&rs);
}

/* The bytes of a good file, to be spoiled. */
static size_t
good_bytes(uint8_t **ret)
{
	struct cgfw_ruleset rs;
	struct cgfw_policy pol;
	off_t len;
	int fd;

	build(&rs, &pol);
	assert_int_equal(cp_write(&pol, &rs, 1, 0, &fd), 0);
	len = lseek(fd, 0, SEEK_END);
	*ret = malloc((size_t)len);
	assert_non_null(*ret);
	assert_int_equal(pread(fd, *ret, (size_t)len, 0), len);
	(void)close(fd);
	policy_free(&pol);
	rules_free(&rs);
	return (size_t)len;
}

static int
memfd_of(const void *p, size_t n, int seal)
{
	int fd = memfd_create("t", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	if (seal)
		assert_int_equal(fcntl(fd, F_ADD_SEALS,
		                     F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE),
		    0);
	return fd;
}

static int
open_bytes(const void *p, size_t n)
{
	struct cp_view v;
	int fd = memfd_of(p, n, 1), r = cp_open(fd, &v);

	if (r == 0)
		cp_close(&v);
	(void)close(fd);
	return r;
}

static void
test_hostile(void **state)
{
	uint8_t *good, *b;
	size_t n = good_bytes(&good);
	struct cp_hdr *h;
	struct cp_rule *rec;
	struct cp_view v;
	size_t off_rules;
	int fd;

	(void)state;
	b = malloc(n + 8);
	assert_non_null(b);
	h = (struct cp_hdr *)b;
	assert_int_equal(open_bytes(good, n), 0);

	fd = memfd_of(good, n, 0);
	assert_int_equal(cp_open(fd, &v), -EPERM); /* not sealed */
	(void)close(fd);

	memcpy(b, good, n);
	h->magic ^= 1;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	h->version = 2;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	h->mode = 9;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	h->n_ip4++; /* the counts no longer give the size */
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	h->n_ip4 = CGFW_POLICY_MAP_MAX + 1;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	h->n_rules = UINT32_MAX;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	memset(b + n, 0, 8);
	assert_int_equal(open_bytes(b, n + 8), -EBADMSG); /* longer than it says */
	assert_int_equal(open_bytes(good, sizeof(*h) - 1), -EBADMSG);

	off_rules = n - ((h->pool_len + 7) & ~7u) - (size_t)h->n_rules * sizeof(*rec);
	memcpy(b, good, n);
	rec = (struct cp_rule *)(b + off_rules);
	rec[0].text = h->pool_len;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	rec[2].path = CP_NONE; /* a URL without its path */
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	rec[1].kind = RULE_NAME;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	rec[1].action = 0;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	rec[1].plen = 33;
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	memcpy(b, good, n);
	b[n - ((h->pool_len + 7) & ~7u) + h->pool_len - 1] = 'x'; /* the pool's last NUL */
	assert_int_equal(open_bytes(b, n), -EBADMSG);
	free(b);
	free(good);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
