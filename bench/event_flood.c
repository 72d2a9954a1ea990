// SPDX-License-Identifier: MIT
/*
 * event_flood: the blocked-connect event benchmark of bench/run.sh.
 *
 *   event_flood IP PORT NPROC PER-PROC LOG [TIMEOUT]
 *
 * NPROC processes, released together, each make PER-PROC blocked connects
 * (socket, connect to IP:PORT, which cgfw refuses with EPERM, close) as fast
 * as they can.  Then the JSON log LOG (empty at the start) is watched until
 * it holds a "PACKET BLOCKED" line per connect or has not grown for 1.5 s
 * (the monitor tells ring-buffer loss every 200 ms).  One line:
 *	RESULT <connects> <connects/s> <lines seen> <lines/s>
 * where connects/s is over the time the processes took and lines/s over the
 * time from their start to the last line seen (at least until they ended).
 * The final count of lines and EVENTS LOST is the caller's, from LOG after
 * the run.  Any connect that is not refused with EPERM is fatal (exit 1):
 * an allowed or slow connect is no event benchmark.  TIMEOUT (default 120 s)
 * bounds the whole.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "event_flood"
#include "util.h"

#define MAX_PROC   64
#define QUIET_SECS 1.5
#define POLL_NS    1000000L

static const char needle[] = "\"msg\":\"PACKET BLOCKED\"";

static void
usage(void)
{
	fprintf(stderr, "usage: event_flood IP PORT NPROC PER-PROC LOG [TIMEOUT]\n");
	exit(2);
}

static int
flood(const struct sockaddr_in *sa, long n, int gate)
{
	char c;

	/* Released when the parent closes the gate's write end. */
	if (read(gate, &c, 1) < 0)
		return 1;
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			perror("event_flood: socket");
			return 1;
		}
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno != EPERM) {
			fprintf(stderr, "event_flood: connect #%ld: %s (want EPERM)\n", i,
			    strerror(errno));
			return 1;
		}
		close(fd);
	}
	return 0;
}

/* Reads what LOG gained and counts its complete PACKET BLOCKED lines. */
struct tail {
	int fd;
	char buf[1 << 16];
	size_t have; /* a partial line kept from the last read */
	long lines;
};

/* 1 if the log grew. */
static int
tail_read(struct tail *t)
{
	int grew = 0;

	for (;;) {
		ssize_t r = read(t->fd, t->buf + t->have, sizeof(t->buf) - t->have);
		char *p, *nl, *end;

		if (r <= 0)
			return grew;
		grew = 1;
		end = t->buf + t->have + r;
		for (p = t->buf; (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1)
			if (memmem(p, (size_t)(nl - p), needle, sizeof(needle) - 1))
				t->lines++;
		t->have = (size_t)(end - p);
		if (t->have == sizeof(t->buf)) /* a line this long is not an event */
			t->have = 0;
		memmove(t->buf, p, t->have);
	}
}

int
main(int argc, char *argv[])
{
	static struct tail t;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timespec poll_ts = {.tv_nsec = POLL_NS};
	pid_t pids[MAX_PROC];
	long nproc, per, total, timeout = 120;
	double t0, t1, last;
	int gate[2], status, bad = 0;

	if (argc != 6 && argc != 7)
		usage();
	sa.sin_port = htons((unsigned short)parse_long(argv[2], 1, 65535));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		usage();
	nproc = parse_long(argv[3], 1, MAX_PROC);
	per = parse_long(argv[4], 1, 100000000);
	if (argc == 7)
		timeout = parse_long(argv[6], 1, 86400);
	total = nproc * per;
	t.fd = open(argv[5], O_RDONLY | O_CLOEXEC);
	if (t.fd < 0) {
		perror("event_flood: open the log");
		return 1;
	}
	signal(SIGALRM, on_alarm);
	alarm((unsigned)timeout);

	if (pipe2(gate, O_CLOEXEC) < 0) {
		perror("event_flood: pipe");
		return 1;
	}
	for (long i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("event_flood: fork");
			return 1;
		}
		if (pids[i] == 0) {
			close(gate[1]);
			_exit(flood(&sa, per, gate[0]));
		}
	}
	close(gate[0]);
	t0 = now();
	close(gate[1]);
	for (long i = 0; i < nproc; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			bad = 1;
	}
	t1 = now();
	if (bad) {
		fprintf(stderr, "event_flood: a flooding process failed\n");
		return 1;
	}

	last = t1;
	while (t.lines < total) {
		double tn = now();

		if (tail_read(&t))
			last = tn;
		else if (tn - last > QUIET_SECS)
			break;
		nanosleep(&poll_ts, NULL);
	}
	printf("RESULT %ld %.1f %ld %.1f\n", total, (double)total / (t1 - t0), t.lines,
	    (double)t.lines / (last - t0));
	return 0;
}
