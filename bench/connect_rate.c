// SPDX-License-Identifier: MIT
/*
 * connect_rate: the connect()+close() benchmark of bench/run.sh.
 *
 *   connect_rate IP PORT N [TIMEOUT]    N connect+close to IP:PORT, one at a time,
 *                                        then one line "RATE connects/s (...)"
 *   connect_rate -s IP PORT TIMEOUT     accept-and-close server for the above
 *
 * Both are bounded: the client by N (after a 0.2 s warm-up) and TIMEOUT
 * seconds (default 60), the server by TIMEOUT seconds.  Any failed connect
 * is fatal (exit 1), so a blocked or dropped connection is never a rate.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "connect_rate"
#include "util.h"

/* Warm-up before timing: at least this many connects and this long. */
#define WARMUP_N    100
#define WARMUP_SECS 0.2

static void
usage(void)
{
	fprintf(stderr, "usage: connect_rate IP PORT N [TIMEOUT]\n"
	                "       connect_rate -s IP PORT TIMEOUT\n");
	exit(2);
}

static void
parse_addr(struct sockaddr_in *sa, const char *ip, const char *port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)parse_long(port, 1, 65535));
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		usage();
}

static int
serve(const struct sockaddr_in *sa)
{
	int one = 1;
	int s, c;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		perror("connect_rate: socket");
		return 1;
	}
	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(s, 4096) < 0) {
		perror("connect_rate: bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0) {
			close(c);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
			continue;
		perror("connect_rate: accept");
		return 1;
	}
}

/* One connect+close; 0 or -errno. */
static int
connect_once(const struct sockaddr_in *sa)
{
	int fd, r = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sa;
	double t0, secs;
	long i, n, timeout = 60;
	int r;

	if (argc == 5 && strcmp(argv[1], "-s") == 0) {
		parse_addr(&sa, argv[2], argv[3]);
		signal(SIGALRM, SIG_DFL);
		alarm((unsigned)parse_long(argv[4], 1, 86400));
		return serve(&sa);
	}
	if (argc != 4 && argc != 5)
		usage();
	parse_addr(&sa, argv[1], argv[2]);
	n = parse_long(argv[3], 1, 100000000);
	if (argc == 5)
		timeout = parse_long(argv[4], 1, 86400);
	signal(SIGALRM, on_alarm);
	alarm((unsigned)timeout);

	/*
	 * Neighbour resolution, cold caches and whatever started us (cgfw's
	 * workers finishing their start) are not what we measure.
	 */
	t0 = now();
	for (i = 0; i < WARMUP_N || now() - t0 < WARMUP_SECS; i++) {
		r = connect_once(&sa);
		if (r < 0) {
			fprintf(stderr, "connect_rate: warm-up connect: %s\n", strerror(-r));
			return 1;
		}
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		r = connect_once(&sa);
		if (r < 0) {
			fprintf(stderr, "connect_rate: connect #%ld: %s\n", i, strerror(-r));
			return 1;
		}
	}
	secs = now() - t0;
	printf("%.1f connects/s (%ld connects in %.3f s)\n", (double)n / secs, n, secs);
	return 0;
}
