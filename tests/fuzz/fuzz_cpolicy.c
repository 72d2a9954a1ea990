// SPDX-License-Identifier: MIT
/*
 * lib/cpolicy.c's cp_open() on arbitrary bytes: the loader's only reading of
 * what its unprivileged policy compiler hands back.  Whatever it accepts
 * must be safe to use: every map entry inside the mapping, every rule's
 * strings inside the pool and NUL-terminated.
 * tests/fuzz/replay.c replays files without libFuzzer (make check runs the corpus).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/cpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must(int cond)
{
	if (!cond)
		abort();
}

static int
inside(const struct cp_view *v, const void *p)
{
	return (const char *)p >= (const char *)v->base &&
	       (const char *)p < (const char *)v->base + v->len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_view v;
	int fd = memfd_create("fuzz", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	must(fd >= 0);
	must(size == 0 || write(fd, data, size) == (ssize_t)size);
	must(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0);
	if (cp_open(fd, &v) == 0) {
		size_t sum = 0;

		if (v.pol.n_ip4)
			must(inside(&v, &v.pol.ip4[v.pol.n_ip4 - 1].val.pad[2]));
		if (v.pol.n_cidr4)
			must(inside(&v, &v.pol.cidr4[v.pol.n_cidr4 - 1].val.pad[2]));
		for (size_t i = 0; i < v.rules.n; i++) {
			const struct cgfw_rule *r = &v.rules.v[i];
			const char *s[] = {r->text, r->origin, r->name, r->scheme, r->path};

			for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++)
				if (s[k]) {
					must(inside(&v, s[k]));
					sum += strlen(s[k]);
					must(inside(&v, s[k] + strlen(s[k])));
				}
		}
		(void)sum;
		cp_close(&v);
	}
	(void)close(fd);
	return 0;
}
