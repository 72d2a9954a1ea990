// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The command line of every program started in the target cgroup, captured
 * at exec, so events of short-lived processes (a curl that exited before the
 * monitor read /proc/PID/cmdline) still say what ran.  Needs kernel types
 * (mm->arg_start), hence vmlinux.h and CO-RE, unlike egress.bpf.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "exec.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Slot 0: the target cgroup (set by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgfw_target SEC(".maps");

/* tgid -> argv (NUL-separated, truncated): cgfw_argv, bpf/cgfw_defs.h. */
CGFW_EXEC_MAPS(CGFW_BPF_MAP)

/* The value is too big for the 512-byte stack: build it here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgfw_argv);
} cgfw_argv_scratch SEC(".maps");

SEC("tp_btf/sched_process_exec")
int
BPF_PROG(exec_argv, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct cgfw_argv *v;
	unsigned long start, end;
	__u32 zero = 0, tgid, len;

	if (bpf_current_task_under_cgroup(&cgfw_target, 0) != 1)
		return 0;
	v = bpf_map_lookup_elem(&cgfw_argv_scratch, &zero);
	if (!v)
		return 0;
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	if (end <= start)
		return 0;
	len = end - start;
	if (len > CGFW_ARGV_MAX - 1)
		len = CGFW_ARGV_MAX - 1;
	/* The new stack was just written by execve: the pages are present. */
	if (bpf_probe_read_user(v->args, len & (CGFW_ARGV_MAX - 1), (const void *)start))
		return 0;
	v->len = len;
	tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_update_elem(&cgfw_argv, &tgid, v, BPF_ANY);
	return 0;
}
