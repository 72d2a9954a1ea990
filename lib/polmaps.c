// SPDX-License-Identifier: MIT
/* The two policy slots and the generation switch, by fd (lib/polmaps.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/membarrier.h>

#include "bpf/egress.h"
#include "lib/bpfmap.h"
#include "lib/polmaps.h"

uint32_t
polmaps_capacity(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.max_entries;
}

int
polmaps_fill(const struct polmaps *m, unsigned slot, const struct cgfw_policy *pol)
{
	struct cgfw_gen_cfg c = {.mode = (__u8)pol->mode,
	    .block_unresolved = (__u8)pol->block_unresolved,
	    .emit_allowed = m->debug || pol->mode == CGFW_MODE_LOG_ONLY};
	__u32 key = slot;
	int r;

	if (pol->n_ip4 > polmaps_capacity(m->allow[slot]) ||
	    pol->n_cidr4 > polmaps_capacity(m->cidr[slot]))
		return -E2BIG;
	r = bpfmap_fill(m->allow[slot], pol->ip4, pol->n_ip4, sizeof(*pol->ip4),
	    sizeof(pol->ip4->key), offsetof(struct cgfw_ip4_entry, val),
	    sizeof(struct cgfw_policy_val));
	if (r == 0)
		r = bpfmap_fill(m->cidr[slot], pol->cidr4, pol->n_cidr4, sizeof(*pol->cidr4),
		    sizeof(pol->cidr4->key), offsetof(struct cgfw_lpm4_entry, val),
		    sizeof(struct cgfw_policy_val));
	if (r == 0 && bpf_map_update_elem(m->gen_cfg, &key, &c, BPF_ANY) < 0)
		r = -errno;
	return r;
}

/* Every key of a hash or LPM map removed (no program reads it meanwhile). */
static int
map_clear(int fd, size_t max, size_t key_size)
{
	char *keys = malloc((max + 1) * key_size);
	size_t n = 0;
	int r = 0;

	if (!keys)
		return -ENOMEM;
	while (n < max && bpf_map_get_next_key(
	                      fd, n ? keys + (n - 1) * key_size : NULL, keys + n * key_size) == 0)
		n++;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) < 0 && errno != ENOENT) {
			r = -errno;
			break;
		}
	free(keys);
	return r;
}

int
polmaps_prepare(const struct polmaps *m, unsigned slot, const struct cgfw_policy *pol, char *err,
    size_t err_len)
{
	uint32_t n_ip4 = polmaps_capacity(m->allow[slot]),
	         n_cidr4 = polmaps_capacity(m->cidr[slot]);
	int r;

	if (pol->n_ip4 > n_ip4 || pol->n_cidr4 > n_cidr4) {
		snprintf(err, err_len,
		    "%zu IP and %zu CIDR entries, but the policy maps were sized at start for %u "
		    "and %u: restart cgfw to load more",
		    pol->n_ip4, pol->n_cidr4, n_ip4, n_cidr4);
		return -E2BIG;
	}
	r = map_clear(m->allow[slot], n_ip4, sizeof(struct cgfw_ip4_key));
	if (r == 0)
		r = map_clear(m->cidr[slot], n_cidr4, sizeof(struct cgfw_lpm4_key));
	if (r == 0)
		r = polmaps_fill(m, slot, pol);
	if (r < 0)
		snprintf(err, err_len, "cannot fill the policy maps: %s", strerror(-r));
	return r;
}

int
polmaps_flip(const struct polmaps *m, uint32_t gen)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(m->gen, &zero, &gen, BPF_ANY) < 0)
		return -errno;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) < 0)
		usleep(100 * 1000); /* no membarrier: a grace period is far shorter than this */
	return 0;
}
