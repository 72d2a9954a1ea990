// SPDX-License-Identifier: MIT
/*
 * mon_format: the monitor's own capacity for blocked-connect events, without
 * the kernel, the ring buffer or the flood's processes (bench/run.sh).
 *
 *   mon_format flood|mixed N JSON-OUT TEXT-OUT
 *
 * Synthetic ring-buffer records (struct cgfw_event, as bpf/egress.bpf.c
 * writes them) go through the monitor's writer, mon_event_emit() of
 * monitor/events.c, a batch (mon_batch_begin()/mon_batch_end()) per
 * BATCH records as the monitor drains its ring buffer; the JSON lines go to
 * JSON-OUT, the lines for people to TEXT-OUT (/dev/null: formatting and the
 * write() calls only).  The command lines come from a fake /proc.
 *   flood: what event_flood makes (4 processes, blocked connects to
 *          198.51.100.7:9 in allow-list mode); after a warm-up, one line
 *          RESULT <events> <seconds> <events/s>
 *   mixed: every hook, verdict, reason and family, rules of both slots,
 *          hostile comm and command-line bytes, from a fixed seed: for
 *          comparing the output of two builds byte for byte.
 * run.sh builds it twice, with today's formatter and with an older one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/egress.h"
#include "monitor/events.h"

#define BENCH_NAME "mon_format"
#include "util.h"

#define BATCH        4096
#define N_PROC       4
#define PID0         41000
#define TIMEOUT_SECS 300

static void
usage(void)
{
	fprintf(stderr, "usage: mon_format flood|mixed N JSON-OUT TEXT-OUT\n");
	exit(2);
}

static char proc_dir[] = "/tmp/cgfw-mon-format-XXXXXX";

static void
put_cmdline(unsigned pid, const char *bytes, size_t n)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/%u", proc_dir, pid);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%u/cmdline", proc_dir, pid);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, bytes, n) != (ssize_t)n) {
		perror(path);
		exit(1);
	}
	(void)close(fd);
}

static void
rm_proc(void)
{
	char path[96];

	for (unsigned pid = PID0; pid < PID0 + 16; pid++) {
		snprintf(path, sizeof(path), "%s/%u/cmdline", proc_dir, pid);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/%u", proc_dir, pid);
		(void)rmdir(path);
	}
	(void)rmdir(proc_dir);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Record i of the flood: process i % N_PROC, 1.5 us after the one before. */
static void
flood_event(struct cgfw_event *e, size_t i)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = 3600ULL * 1000000000 + i * 1500;
	e->cgroup_id = 4711;
	e->cookie = 100000 + i;
	e->tgid = PID0 + (uint32_t)(i % N_PROC);
	e->pid = e->tgid;
	e->uid = 65534;
	e->daddr[0] = htonl(0xc6336407); /* 198.51.100.7 */
	e->dport = 9;
	e->family = AF_INET;
	e->proto = IPPROTO_TCP;
	e->hook = CGFW_HOOK_CONNECT4;
	e->verdict = CGFW_V_BLOCK;
	e->reason = CGFW_R_NOT_ALLOWED;
	e->flags = CGFW_EV_OWNER_KNOWN;
	memcpy(e->comm, "event_flood", 12);
}

/* Any record, mostly well-formed ones. */
static void
mixed_event(struct cgfw_event *e, size_t i)
{
	static const char *const comms[] = {"curl", "a\"b\\c", "tab\there", "\x80\xff\xc3",
	    "caf\xc3\xa9", "\x01\x1f\x7f", "fifteen-chars-x", ""};
	const char *c = comms[rnd() % (sizeof(comms) / sizeof(comms[0]))];

	memset(e, 0, sizeof(*e));
	e->ts_ns = (rnd() % 8 == 0) ? (uint64_t)rnd() << 24 : 3600ULL * 1000000000 + i * 977;
	e->cgroup_id = rnd() % 4 ? 4711 : ((uint64_t)rnd() << 32 | rnd());
	e->tgid = PID0 + rnd() % 16;
	e->pid = rnd() % 8 ? e->tgid : rnd();
	e->uid = rnd() % 4 ? 1000 : rnd();
	e->rule_id = (uint32_t[]){1, 2, 5, 3}[rnd() % 4];
	for (int k = 0; k < 4; k++)
		e->daddr[k] = rnd() % 2 ? rnd() : 0;
	e->dport = (uint16_t)(rnd() % 3 ? rnd() : (uint32_t)(rnd() % 2 ? 0 : 65535));
	e->family = (uint8_t)(rnd() % 8 == 0 ? rnd() % 50 : rnd() % 3 ? AF_INET : AF_INET6);
	e->proto = (uint8_t)(rnd() % 4 ? (uint32_t[]){6, 17, 1, 58}[rnd() % 4] : rnd());
	e->hook = (uint8_t)(rnd() % CGFW_HOOK_MAX);
	e->verdict = (uint8_t)(rnd() % 2 ? CGFW_V_BLOCK : CGFW_V_ALLOW);
	e->reason = (uint8_t)(rnd() % CGFW_R_MAX);
	e->flags = (uint8_t)rnd() & (CGFW_EV_OWNER_KNOWN | CGFW_EV_SLOT1);
	memcpy(e->comm, c, strlen(c));
}

int
main(int argc, char **argv)
{
	static const char flood_cmd[] = "/tmp/cgfw-bench.AbCdEf/event_flood\0"
	                                "198.51.100.7\0"
	                                "9\0"
	                                "4\0"
	                                "250000\0"
	                                "/tmp/cgfw-bench.AbCdEf/flood.json\0"
	                                "300\0";
#define ODD(s)                                                                                     \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}
	static const struct {
		const char *p;
		size_t n;
	} odd_cmds[] = {ODD("sh\0-c\0echo \"hi\" \\ there\0"), ODD("\x80\xfe\xc3\0x\xe2\x82\xac\0"),
	    ODD("tab\there\nnl\r\x01\x7f\0"), ODD("plain\0\0"), ODD("\0"),
	    ODD("/usr/bin/caf\xc3\xa9\0--\xf0\x9f\x98\x80\0")};
#undef ODD
	struct mon_rule rules[] = {
	    {1, CGFW_ACT_BLOCK, "192.0.2.7", "--block-list", "IP"},
	    {2, CGFW_ACT_ALLOW, "10.0.0.0/8", "cgfw.conf:3", "CIDR"},
	    {5, CGFW_ACT_BLOCK, "198.51.100.0/24", "cgfw \"x\".conf:9", "CIDR"},
	};
	struct mon_rule alt[] = {
	    {1, CGFW_ACT_ALLOW, "203.0.113.0/24", "--allow-list", "CIDR"},
	    {3, CGFW_ACT_BLOCK, "0.0.0.0/0", "all", "CIDR"},
	};
	struct mon_out out = {0};
	struct cgfw_event e;
	size_t n, warm;
	double t0, t1;
	int mixed, bad = 0;

	if (argc != 5 || (strcmp(argv[1], "flood") && strcmp(argv[1], "mixed")))
		usage();
	mixed = !strcmp(argv[1], "mixed");
	n = (size_t)parse_long(argv[2], 1, 1000000000);
	signal(SIGALRM, on_alarm);
	alarm(TIMEOUT_SECS);
	if (!mkdtemp(proc_dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (unsigned p = 0; p < N_PROC; p++)
		put_cmdline(PID0 + p, flood_cmd, sizeof(flood_cmd) - 1);
	for (unsigned p = 0; p < sizeof(odd_cmds) / sizeof(odd_cmds[0]); p++)
		put_cmdline(PID0 + N_PROC + p, odd_cmds[p].p, odd_cmds[p].n);

	out.mode = mixed ? CGFW_MODE_BLOCK_LIST : CGFW_MODE_ALLOW_LIST;
	if (mixed) {
		out.rules = rules;
		out.n_rules = sizeof(rules) / sizeof(rules[0]);
		out.alt_rules = alt;
		out.n_alt_rules = sizeof(alt) / sizeof(alt[0]);
	}
	out.cgroup_id = 4711;
	out.json_fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	out.text_fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	out.journal_fd = -1;
	out.argv_fd = -1;
	out.proc_root = proc_dir;
	out.realtime_offset_ns = 1764547200LL * 1000000000; /* 2025-12-01T00:00:00Z at 0 */
	if (out.json_fd < 0 || out.text_fd < 0) {
		perror("open");
		rm_proc();
		return 1;
	}

	warm = mixed ? 0 : n / 10;
	t0 = now();
	for (size_t i = 0; i < warm + n; i++) {
		if (i == warm)
			t0 = now();
		if (i % BATCH == 0)
			mon_batch_begin(&out);
		if (mixed)
			mixed_event(&e, i);
		else
			flood_event(&e, i);
		if (mon_event_emit(&out, &e, sizeof(e)) < 0 && !mixed)
			bad++;
		if (i % BATCH == BATCH - 1 || i == warm + n - 1)
			if (mon_batch_end(&out) < 0)
				bad++;
	}
	t1 = now();
	rm_proc();
	if (bad || mon_lost_sum(&out, 0)) {
		fprintf(stderr, "mon_format: %d failed, %llu lost\n", bad,
		    (unsigned long long)mon_lost_sum(&out, 0));
		return 1;
	}
	printf("RESULT %zu %.6f %.0f\n", n, t1 - t0, (double)n / (t1 - t0));
	out.rules = out.alt_rules = NULL;
	out.n_rules = out.n_alt_rules = 0;
	mon_out_free(&out);
	return 0;
}
