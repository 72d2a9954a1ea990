// SPDX-License-Identifier: MIT
/* Debian 12's libbpf 1.1 has bpf_obj_get_info_by_fd(), not bpf_map_get_info_by_fd(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf/egress.h"
#include "bpf/exec.h"
#include "lib/bpfmap.h"

/* clang-format off */
const struct bpfmap_spec cgfw_map_specs[CGFW_MAP_N] = {
#define CGFW_MAP_SPEC(id, name_, type_, key_, value_, max_)                            \
	[CGFW_MAP_##id] = {.name = #name_, .type = type_, .key_size = sizeof(key_),    \
	    .value_size = sizeof(value_), .max_entries = max_},
#define CGFW_RINGBUF_SPEC(id, name_, bytes_)                                           \
	[CGFW_MAP_##id] = {.name = #name_, .type = BPF_MAP_TYPE_RINGBUF, .max_entries = bytes_},
	CGFW_EGRESS_MAPS(CGFW_MAP_SPEC)
	CGFW_EGRESS_RINGBUFS(CGFW_RINGBUF_SPEC)
	CGFW_EXEC_MAPS(CGFW_MAP_SPEC)
#undef CGFW_MAP_SPEC
#undef CGFW_RINGBUF_SPEC
};
/* clang-format on */

int
bpfmap_verify(int fd, enum cgfw_map map)
{
	const struct bpfmap_spec *spec = &cgfw_map_specs[map];
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int r;

	memset(&info, 0, sizeof(info));
	r = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (r < 0)
		return -errno;
	if (info.type != spec->type || info.key_size != spec->key_size ||
	    info.value_size != spec->value_size ||
	    (spec->max_entries && info.max_entries != spec->max_entries) ||
	    strncmp(info.name, spec->name, sizeof(info.name) - 1) != 0)
		return -EBADF;
	return 0;
}

/* Entries per BPF_MAP_UPDATE_BATCH call. */
#define BPFMAP_FILL_CHUNK 4096

/*
 * n entries (each entry_size bytes: the key, then the value at val_off) into
 * the map, a batch of BPFMAP_FILL_CHUNK per syscall: a million
 * IPs take half a second, not several.  A kernel without batch updates for
 * the map type gets them one at a time.  The keys are unique
 * (policy_compile() merged them) and the map is new, so BPF_ANY, the only
 * flag batches take, inserts exactly as BPF_NOEXIST would.
 */
int
bpfmap_fill(int fd, const void *entries, size_t n, size_t entry_size, size_t key_size,
    size_t val_off, size_t val_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	char *keys = malloc(BPFMAP_FILL_CHUNK * key_size),
	     *vals = malloc(BPFMAP_FILL_CHUNK * val_size);
	int batch = 1, r = 0;

	if (!keys || !vals) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i += BPFMAP_FILL_CHUNK) {
		size_t c = n - i < BPFMAP_FILL_CHUNK ? n - i : BPFMAP_FILL_CHUNK;
		const char *e = (const char *)entries + i * entry_size;
		__u32 count = (__u32)c;

		if (batch) {
			for (size_t j = 0; j < c; j++) {
				memcpy(keys + j * key_size, e + j * entry_size, key_size);
				memcpy(vals + j * val_size, e + j * entry_size + val_off, val_size);
			}
			if (bpf_map_update_batch(fd, keys, vals, &count, &opts) == 0)
				continue;
			r = -errno;
			if (count != 0 || (r != -EINVAL && r != -EOPNOTSUPP && r != -524))
				goto out; /* 524: the kernel's ENOTSUPP */
			batch = 0;
			r = 0;
		}
		for (size_t j = 0; j < c; j++) {
			if (bpf_map_update_elem(fd, e + j * entry_size,
			        e + j * entry_size + val_off, BPF_NOEXIST) < 0) {
				r = -errno;
				goto out;
			}
		}
	}
out:
	free(keys);
	free(vals);
	return r;
}
