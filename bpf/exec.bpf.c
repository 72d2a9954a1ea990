// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The command line of every program started in the target cgroup, captured
 * at exec, so events of short-lived processes (a curl that exited before the
 * monitor read /proc/PID/cmdline) still say what ran.
 *
 * A raw tracepoint, and the two kernel offsets it needs (task->mm,
 * mm->arg_start/arg_end) given by the loader, which reads them from the
 * running kernel's BTF before the load (loader/kbtf.c): no CO-RE and no
 * tp_btf, so libbpf never parses the whole vmlinux BTF (50 ms and more of
 * every start).  The reads are bpf_probe_read_kernel(), which is what
 * BPF_CORE_READ() compiled to.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "exec.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader between open and load (loader/kbtf.c); 0 = not set: nothing is read. */
const volatile __u32 cgfw_off_task_mm = 0;
const volatile __u32 cgfw_off_mm_arg_start = 0;
const volatile __u32 cgfw_off_mm_arg_end = 0;

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

/* sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("raw_tp/sched_process_exec")
int
exec_argv(struct bpf_raw_tracepoint_args *ctx)
{
	struct cgfw_argv *v;
	unsigned long start, end, mm = 0;
	__u64 p = ctx->args[0];
	__u32 zero = 0, tgid, len;

	if (!cgfw_off_task_mm || !cgfw_off_mm_arg_start || !cgfw_off_mm_arg_end)
		return 0;
	if (bpf_current_task_under_cgroup(&cgfw_target, 0) != 1)
		return 0;
	v = bpf_map_lookup_elem(&cgfw_argv_scratch, &zero);
	if (!v)
		return 0;
	if (bpf_probe_read_kernel(&mm, sizeof(mm), (const void *)(p + cgfw_off_task_mm)) || !mm)
		return 0;
	if (bpf_probe_read_kernel(
	        &start, sizeof(start), (const void *)(mm + cgfw_off_mm_arg_start)) ||
	    bpf_probe_read_kernel(&end, sizeof(end), (const void *)(mm + cgfw_off_mm_arg_end)))
		return 0;
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
