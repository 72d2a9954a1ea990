/* SPDX-License-Identifier: MIT */
/* The argv captured at exec (bpf/exec.bpf.c), read by the monitor. */
#ifndef CGFW_EXEC_H
#define CGFW_EXEC_H

#include "cgfw_defs.h"

#define CGFW_ARGV_MAX     1024 /* a power of two: the verifier bounds the read with it */
#define CGFW_ARGV_ENTRIES 16384

struct cgfw_argv {
	__u32 len; /* bytes in args, NUL-separated, maybe truncated */
	char args[CGFW_ARGV_MAX];
};

#endif
