/* SPDX-License-Identifier: MIT */
/* Checking that a map fd handed to a worker is the map it claims to be. */
#ifndef CGFW_BPFMAP_H
#define CGFW_BPFMAP_H

#include <stddef.h>
#include <stdint.h>

struct bpfmap_spec {
	const char *name; /* as the kernel truncates it (15 bytes) */
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries; /* 0 = any */
};

int bpfmap_verify(int fd, const struct bpfmap_spec *spec);
/* cgfw_peers (bpf/egress.h), which both proxies read to name their clients. */
extern const struct bpfmap_spec bpfmap_peers_spec;
/*
 * Fill a new map with n entries (entry_size bytes each: the key of key_size,
 * the value of val_size at val_off), a batch per syscall where the kernel
 * has batch updates, else one at a time.  0 or -errno.
 */
int bpfmap_fill(int fd, const void *entries, size_t n, size_t entry_size, size_t key_size,
    size_t val_off, size_t val_size);

#endif
