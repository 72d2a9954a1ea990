// SPDX-License-Identifier: MIT
/*
 * List files (lib/listfile.c) on arbitrary bytes, through the same open path
 * the loader uses (the input is a memfd, read by its /proc/self/fd name).
 * Then what a file admits is compiled (lib/namepolicy.c) and looked up, as
 * the DNS proxy would.  Beyond "no crash": an error names the file, holds no
 * raw control byte and leaves the rule set and the id counter as they were;
 * a success spends exactly one id per rule; the table compiled from it
 * validates and answers a lookup of each admitted name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bpf/egress.h"
#include "lib/listfile.h"
#include "lib/namepolicy.h"
#include "lib/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgfw_ruleset rs = {0};
	struct np_builder *b;
	struct np_table t;
	char path[64], err[CGFW_ERR_LEN + 64] = "";
	uint32_t next_id = 1;
	int fd, action, r, pfd;

	if (size < 1 || size > (1 << 20))
		return 0;
	action = data[0] & 1 ? CGFW_ACT_BLOCK : CGFW_ACT_ALLOW;
	data++;
	size--;
	fd = memfd_create("fuzz-list", MFD_CLOEXEC);
	must(fd >= 0);
	must(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	b = np_builder_new();
	must(b != NULL);

	/* One rule already in the set: a failing file must leave it alone. */
	must(rules_add_list(&rs, "192.0.2.1", CGFW_ACT_ALLOW, "--allow-list", err, sizeof(err)) ==
	     0);
	r = listfile_load(path, action, b, &rs, &next_id, err, sizeof(err));
	if (r < 0) {
		must(rs.n == 1 && next_id == 1);
		must(strstr(err, path) != NULL);
		for (const char *p = err; *p; p++)
			must((unsigned char)*p >= 0x20 && *p != 0x7f);
	} else {
		struct np_match m;

		must(next_id - 1 >= rs.n - 1);
		must(np_builder_count(b) <= next_id - 1);
		must(np_builder_finish(b, &pfd) == 0);
		must(np_table_open(pfd, &t) == 0);
		must(np_table_count(&t) == np_builder_count(b));
		for (size_t i = 1; i < rs.n; i++)
			must(rs.v[i].id >= 1 && rs.v[i].id < next_id && rs.v[i].origin);
		(void)np_lookup(&t, "www.example.com", &m);
		np_table_close(&t);
		(void)close(pfd);
	}
	np_builder_free(b);
	rules_free(&rs);
	(void)close(fd);
	return 0;
}
