// SPDX-License-Identifier: MIT
/*
 * The loader's hand-over to cgfw-supervisor (lib/handover.c): a round trip,
 * then hostile memfds (no seals, a size or magic that is not this build's,
 * too many upstreams, strings without their NUL).  And the policy slots by
 * fd (lib/polmaps.c) on real BPF maps of the programs' types: a slot
 * filled, refilled by a reload (old entries gone), too many entries
 * refused with the slot in force untouched, and the generation flipped.
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

#include <bpf/bpf.h>
#include <cmocka.h>

#include "bpf/egress.h"
#include "lib/handover.h"
#include "lib/policy.h"
#include "lib/polmaps.h"
#include "lib/rules.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* A memfd holding len bytes of buf, sealed or not. */
static int
memfd_of(const void *buf, size_t len, int sealed)
{
	int fd = memfd_create("t", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	if (sealed)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, SEALS), 0);
	return fd;
}

static void
filled(struct handover *h)
{
	memset(h, 0, sizeof(*h));
	h->cmd = HANDOVER_ATTACH;
	h->n_upstreams = 2;
	strcpy(h->upstreams[0], "192.0.2.53:53");
	strcpy(h->upstreams[1], "[2001:db8::53]:53");
	strcpy(h->name, "cg-42");
	strcpy(h->cg_path, "/sys/fs/cgroup/x");
	h->cg_id = 42;
	for (int i = 0; i < HO_FD_N; i++)
		h->fd[i] = 4 + i;
}

static void
test_round_trip(void **state)
{
	struct handover h, got;
	int fd;

	(void)state;
	filled(&h);
	fd = handover_write(&h);
	assert_true(fd >= 0);
	assert_int_equal(h.magic, HANDOVER_MAGIC);
	assert_int_equal(handover_read(fd, &got), 0);
	assert_memory_equal(&h, &got, sizeof(h));
	/* Sealed: nothing may change it after the loader wrote it. */
	assert_true(write(fd, "x", 1) < 0);
	close(fd);
}

static void
test_hostile(void **state)
{
	struct handover h, got;
	int fd;

	(void)state;
	filled(&h);
	h.magic = HANDOVER_MAGIC;
	h.version = HANDOVER_VERSION;
	h.size = sizeof(h);

	fd = memfd_of(&h, sizeof(h), 0);
	assert_int_equal(handover_read(fd, &got), -EPERM); /* not sealed: still writable */
	close(fd);

	fd = memfd_of(&h, sizeof(h) - 8, 1);
	assert_int_equal(handover_read(fd, &got), -EBADMSG); /* short */
	close(fd);

	h.version = HANDOVER_VERSION + 1;
	fd = memfd_of(&h, sizeof(h), 1);
	assert_int_equal(handover_read(fd, &got), -EBADMSG); /* another build's */
	close(fd);

	h.version = HANDOVER_VERSION;
	h.magic = 0;
	fd = memfd_of(&h, sizeof(h), 1);
	assert_int_equal(handover_read(fd, &got), -EBADMSG);
	close(fd);

	h.magic = HANDOVER_MAGIC;
	h.n_upstreams = HANDOVER_UPSTREAMS + 1;
	fd = memfd_of(&h, sizeof(h), 1);
	assert_int_equal(handover_read(fd, &got), -EBADMSG);
	close(fd);

	/* Strings without their NUL come out cut, never read past. */
	h.n_upstreams = 1;
	memset(h.name, 'a', sizeof(h.name));
	memset(h.upstreams[0], 'b', sizeof(h.upstreams[0]));
	fd = memfd_of(&h, sizeof(h), 1);
	assert_int_equal(handover_read(fd, &got), 0);
	assert_int_equal(strlen(got.name), sizeof(got.name) - 1);
	assert_int_equal(strlen(got.upstreams[0]), HANDOVER_UPSTREAM_LEN - 1);
	close(fd);

	assert_int_equal(handover_read(-1, &got), -EBADF);
}

/* The maps of the programs' types (bpf/egress.bpf.c), small. */
static void
maps_make(struct polmaps *m, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, np, .map_flags = BPF_F_NO_PREALLOC);

	for (int s = 0; s < 2; s++) {
		m->allow[s] = bpf_map_create(BPF_MAP_TYPE_HASH, "t_allow",
		    sizeof(struct cgfw_ip4_key), sizeof(struct cgfw_policy_val), n, &np);
		m->cidr[s] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "t_cidr",
		    sizeof(struct cgfw_lpm4_key), sizeof(struct cgfw_policy_val), n, &np);
		assert_true(m->allow[s] >= 0);
		assert_true(m->cidr[s] >= 0);
	}
	m->gen_cfg = bpf_map_create(
	    BPF_MAP_TYPE_ARRAY, "t_gen_cfg", sizeof(__u32), sizeof(struct cgfw_gen_cfg), 2, NULL);
	m->gen = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_gen", sizeof(__u32), sizeof(__u32), 1, NULL);
	assert_true(m->gen_cfg >= 0);
	assert_true(m->gen >= 0);
	m->debug = 0;
}

static void
maps_close(struct polmaps *m)
{
	for (int s = 0; s < 2; s++) {
		close(m->allow[s]);
		close(m->cidr[s]);
	}
	close(m->gen_cfg);
	close(m->gen);
}

static size_t
map_count(int fd, size_t key_size)
{
	char key[64], next[64];
	size_t n = 0;

	assert_true(key_size <= sizeof(key));
	if (bpf_map_get_next_key(fd, NULL, next) < 0)
		return 0;
	do {
		n++;
		memcpy(key, next, key_size);
	} while (bpf_map_get_next_key(fd, key, next) == 0);
	return n;
}

static void
policy_of(const char *list, int action, struct cgfw_ruleset *rs, struct cgfw_policy *pol)
{
	char err[CGFW_ERR_LEN] = "";

	memset(rs, 0, sizeof(*rs));
	assert_int_equal(rules_add_list(rs, list, action, "--allow-list", err, sizeof(err)), 0);
	assert_int_equal(policy_compile(rs, pol), 0);
}

static void
test_polmaps(void **state)
{
	struct cgfw_ruleset rs1, rs2, rs3;
	struct cgfw_policy p1, p2, p3;
	struct cgfw_gen_cfg c;
	struct polmaps m;
	char err[256];
	__u32 key = 1, gen;

	(void)state;
	if (geteuid() != 0) {
		/* As the integration tests: CI (CGFW_NO_SKIP=1, root) never skips it. */
		if (getenv("CGFW_NO_SKIP") && !strcmp(getenv("CGFW_NO_SKIP"), "1"))
			fail_msg("needs root (BPF maps), and CGFW_NO_SKIP=1 forbids a skip");
		skip();
	}
	maps_make(&m, 4);
	policy_of("192.0.2.1,192.0.2.2,198.51.100.0/24", CGFW_ACT_ALLOW, &rs1, &p1);
	policy_of("203.0.113.9", CGFW_ACT_BLOCK, &rs2, &p2);
	policy_of("192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4,192.0.2.5", CGFW_ACT_ALLOW, &rs3, &p3);

	assert_int_equal(polmaps_capacity(m.allow[1]), 4);
	assert_int_equal(polmaps_fill(&m, 0, &p1), 0);
	assert_int_equal(map_count(m.allow[0], sizeof(struct cgfw_ip4_key)), 2);
	assert_int_equal(map_count(m.cidr[0], sizeof(struct cgfw_lpm4_key)), 1);

	/* A reload into slot 1, twice: the second leaves nothing of the first. */
	assert_int_equal(polmaps_prepare(&m, 1, &p1, err, sizeof(err)), 0);
	assert_int_equal(polmaps_prepare(&m, 1, &p2, err, sizeof(err)), 0);
	assert_int_equal(map_count(m.allow[1], sizeof(struct cgfw_ip4_key)), 1);
	assert_int_equal(map_count(m.cidr[1], sizeof(struct cgfw_lpm4_key)), 0);
	assert_int_equal(bpf_map_lookup_elem(m.gen_cfg, &key, &c), 0);
	assert_int_equal(c.mode, p2.mode);

	/* More than the maps hold: refused, saying so; slot 0 (in force) untouched. */
	assert_int_equal(polmaps_prepare(&m, 1, &p3, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "restart cgfw"));
	assert_int_equal(map_count(m.allow[0], sizeof(struct cgfw_ip4_key)), 2);

	assert_int_equal(polmaps_flip(&m, 7), 0);
	key = 0;
	assert_int_equal(bpf_map_lookup_elem(m.gen, &key, &gen), 0);
	assert_int_equal(gen, 7);

	policy_free(&p1);
	policy_free(&p2);
	policy_free(&p3);
	rules_free(&rs1);
	rules_free(&rs2);
	rules_free(&rs3);
	maps_close(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_polmaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
