/* SPDX-License-Identifier: MIT */
/* Checking that a map fd handed to a worker is the map it claims to be. */
#ifndef CGFW_BPFMAP_H
#define CGFW_BPFMAP_H

#include <stdint.h>

struct bpfmap_spec {
	const char *name; /* as the kernel truncates it (15 bytes) */
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries; /* 0 = any */
};

int bpfmap_verify(int fd, const struct bpfmap_spec *spec);

#endif
