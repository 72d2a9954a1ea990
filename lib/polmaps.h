/* SPDX-License-Identifier: MIT */
/*
 * The policy maps of the two slots and the generation switch (bpf/egress.h,
 * struct cgfw_gen_cfg), by fd: filled at start by the loader (slot 0) and,
 * on a reload, by cgfw-supervisor (the slot not in force), which then flips
 * cgfw_gen.  The capacity is what the maps were created with.
 */
#ifndef CGFW_POLMAPS_H
#define CGFW_POLMAPS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/policy.h"

struct polmaps {
	int allow[2]; /* cgfw_allow_v4, cgfw_allow_b */
	int cidr[2];  /* cgfw_cidr_v4, cgfw_cidr_b */
	int gen_cfg;
	int gen;
	int debug; /* --debug: allowed connections are events too */
};

/* Fill the (empty) maps of slot with pol, and its settings: 0 or -errno (-E2BIG: too many). */
int polmaps_fill(const struct polmaps *m, unsigned slot, const struct cgfw_policy *pol);
/* The slot emptied, then filled: 0, or -errno with why in err. */
int polmaps_prepare(const struct polmaps *m, unsigned slot, const struct cgfw_policy *pol,
    char *err, size_t err_len);
/* One write puts generation gen (slot gen & 1) in force everywhere, then a grace period. */
int polmaps_flip(const struct polmaps *m, uint32_t gen);
/* The map's max_entries, 0 when it cannot be read. */
uint32_t polmaps_capacity(int fd);

#endif
