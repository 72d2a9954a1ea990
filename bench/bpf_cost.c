// SPDX-License-Identifier: MIT
/*
 * bpf_cost: what cgfw's BPF programs cost per run, from the kernel's own
 * run-time statistics (bpf_stats), for bench/run.sh.
 *
 *   bpf_cost LOADER OUT
 *
 * Turns the statistics on (BPF_ENABLE_STATS: the switch behind the sysctl
 * kernel.bpf_stats_enabled, held by this process's fd, so it is off again
 * when this process ends however it ends, and a setting of the sysctl by
 * anyone else is left alone), then every 10 ms looks for running loaders:
 * the pids in /run/cgfw/instance-*.lock whose /proc/PID/exe is LOADER
 * (this build's loader, not another checkout's).  The programs a loader
 * holds (prog_id in /proc/PID/fdinfo) are opened by id and kept open until
 * that loader has gone (its links gone with it), then their final counters
 * are added to their name's and the fds closed.  A loader's fdinfo is read
 * again at doubling intervals while nothing new turns up there (10 ms up to
 * 320 ms): its programs are all loaded before its command starts, and
 * reading every fd of it 100 times a second took a tenth of a CPU from the
 * measured cgfw side (docs/performance.md).  On SIGTERM or SIGINT: for
 * each program name, one line to OUT
 *	<name> <run_cnt> <run_time_ns> <programs>
 * summed over every instance seen.  Then exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#define MAX_PROGS 4096
#define RUN_DIR   "/run/cgfw"

struct prog {
	unsigned int id;
	int fd;  /* -1 once counted */
	int pid; /* the loader that held it */
	char name[BPF_OBJ_NAME_LEN];
};

struct total {
	char name[BPF_OBJ_NAME_LEN];
	unsigned long long cnt, ns;
	int n;
};

/* When to read a loader's fdinfo again: in ticks, doubling while it shows nothing new. */
#define MAX_LOADERS  64
#define MAX_INTERVAL 32
struct loader_scan {
	int pid;
	unsigned next;     /* the tick of the next read */
	unsigned interval; /* ticks */
};

static struct prog progs[MAX_PROGS];
static struct loader_scan loaders[MAX_LOADERS];
static int n_loaders;
static unsigned ticks;
static int n_progs;
static struct total totals[64];
static int n_totals;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
known(unsigned int id)
{
	for (int i = 0; i < n_progs; i++)
		if (progs[i].id == id)
			return 1;
	return 0;
}

/* Adds a program's counters to its name's total and lets it go. */
static void
count(struct prog *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int i;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(p->fd, &info, &len) == 0) {
		for (i = 0; i < n_totals; i++)
			if (strcmp(totals[i].name, p->name) == 0)
				break;
		if (i == n_totals && n_totals < (int)(sizeof(totals) / sizeof(totals[0])))
			memcpy(totals[n_totals++].name, p->name, sizeof(p->name));
		if (i < n_totals) {
			totals[i].cnt += info.run_cnt;
			totals[i].ns += info.run_time_ns;
			totals[i].n++;
		}
	}
	close(p->fd);
	p->fd = -1;
}

static void
track(unsigned int id, int pid)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd;

	if (known(id) || n_progs == MAX_PROGS)
		return;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		close(fd);
		return;
	}
	progs[n_progs].id = id;
	progs[n_progs].fd = fd;
	progs[n_progs].pid = pid;
	memcpy(progs[n_progs].name, info.name, sizeof(info.name));
	progs[n_progs].name[sizeof(progs[n_progs].name) - 1] = '\0';
	n_progs++;
}

/* The prog_id lines of every fd the process holds (programs, links). */
static void
scan_fdinfo(int pid)
{
	char path[64], line[128];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[320];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		f = fopen(p, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned int id;

			if (sscanf(line, "prog_id: %u", &id) == 1)
				track(id, pid);
		}
		fclose(f);
	}
	closedir(d);
}

/* scan_fdinfo(pid) if it is due; found nothing new: the next one waits twice as long. */
static void
scan_due(int pid)
{
	struct loader_scan *l = NULL;
	int before = n_progs;

	for (int i = 0; i < n_loaders; i++)
		if (loaders[i].pid == pid)
			l = &loaders[i];
	if (!l) {
		/* The table is full of old pids: reuse the first slot (scan it every tick). */
		l = &loaders[n_loaders < MAX_LOADERS ? n_loaders++ : 0];
		*l = (struct loader_scan){.pid = pid, .next = ticks, .interval = 1};
	}
	if (ticks < l->next)
		return;
	scan_fdinfo(pid);
	if (n_progs != before)
		l->interval = 1;
	else if (l->interval < MAX_INTERVAL)
		l->interval *= 2;
	l->next = ticks + l->interval;
}

static void
scan(const char *loader)
{
	struct dirent *de;
	DIR *d = opendir(RUN_DIR);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX], exe[PATH_MAX], buf[32];
		ssize_t n;
		int fd, pid;

		if (strncmp(de->d_name, "instance-", 9) != 0)
			continue;
		snprintf(path, sizeof(path), RUN_DIR "/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		pid = atoi(buf);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		if (n <= 0)
			continue;
		exe[n] = '\0';
		if (strcmp(exe, loader) == 0)
			scan_due(pid);
	}
	closedir(d);
}

int
main(int argc, char *argv[])
{
	struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
	char loader[PATH_MAX];
	int stats_fd;
	FILE *out;

	if (argc != 3) {
		fprintf(stderr, "usage: bpf_cost LOADER OUT\n");
		return 2;
	}
	if (!realpath(argv[1], loader)) {
		fprintf(stderr, "bpf_cost: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "bpf_cost: cannot enable bpf_stats: %s\n", strerror(-stats_fd));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop) {
		scan(loader);
		for (int i = 0; i < n_progs; i++)
			if (progs[i].fd >= 0 && kill(progs[i].pid, 0) < 0 && errno == ESRCH)
				count(&progs[i]);
		/* A gone loader's pid may come back as a new loader: scanned from the start. */
		for (int i = 0; i < n_loaders; i++)
			if (kill(loaders[i].pid, 0) < 0 && errno == ESRCH)
				loaders[i--] = loaders[--n_loaders];
		nanosleep(&tick, NULL);
		ticks++;
	}
	out = fopen(argv[2], "we");
	if (!out) {
		fprintf(stderr, "bpf_cost: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (int i = 0; i < n_progs; i++)
		if (progs[i].fd >= 0)
			count(&progs[i]);
	for (int i = 0; i < n_totals; i++)
		fprintf(out, "%s %llu %llu %d\n", totals[i].name[0] ? totals[i].name : "(unnamed)",
		    totals[i].cnt, totals[i].ns, totals[i].n);
	fclose(out);
	close(stats_fd);
	return 0;
}
