/* SPDX-License-Identifier: MIT */
/* Checking that a map fd handed to a worker is the map it claims to be. */
#ifndef CGFW_BPFMAP_H
#define CGFW_BPFMAP_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/cgfw_defs.h"

struct bpfmap_spec {
	const char *name; /* as the kernel truncates it (15 bytes) */
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries; /* 0 = any */
};

/* The maps handed to workers, rows of bpf/cgfw_defs.h. */
enum cgfw_map {
#define CGFW_MAP_ID(id, ...) CGFW_MAP_##id,
	CGFW_EGRESS_MAPS(CGFW_MAP_ID) CGFW_EGRESS_RINGBUFS(CGFW_MAP_ID) CGFW_EXEC_MAPS(CGFW_MAP_ID)
#undef CGFW_MAP_ID
	    CGFW_MAP_N,
};

extern const struct bpfmap_spec cgfw_map_specs[CGFW_MAP_N];

/* 0 if fd is the map of that row (name, type, key and value sizes, size), else -errno. */
int bpfmap_verify(int fd, enum cgfw_map map);
/*
 * Fill a new map with n entries (entry_size bytes each: the key of key_size,
 * the value of val_size at val_off), a batch per syscall where the kernel
 * has batch updates, else one at a time.  0 or -errno.
 */
int bpfmap_fill(int fd, const void *entries, size_t n, size_t entry_size, size_t key_size,
    size_t val_off, size_t val_size);

#endif
