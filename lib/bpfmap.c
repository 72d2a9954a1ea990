// SPDX-License-Identifier: MIT
/* Debian 12's libbpf 1.1 has bpf_obj_get_info_by_fd(), not bpf_map_get_info_by_fd(). */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "lib/bpfmap.h"

int
bpfmap_verify(int fd, const struct bpfmap_spec *spec)
{
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
