// SPDX-License-Identifier: MIT
/*
 * tls_conn: HTTPS with a new connection per request, the client of bench/
 * http.sh's "new connection" rows.  The same client on every side: straight
 * to the server, through cgfw (which intercepts it), or through a proxy that
 * bumps TLS after an HTTP CONNECT (squid with ssl-bump).
 *
 *   tls_conn [-R] [-x PROXY-IP:PORT] [-r IP] [-C CAFILE] [-c CONC] [-d SECS] HOST PATH
 *
 * CONC threads (default 8) each loop: TCP connect (to IP:443 with -r, to the
 * proxy with -x then "CONNECT HOST:443", else to HOST:443 as resolved once at
 * start), a TLS handshake verifying the chain against CAFILE (default
 * $SSL_CERT_FILE) and the name HOST, "GET PATH" with "Connection: close",
 * the whole response read (Content-Length), close.  Without -R every
 * handshake is full (a new SSL each time, no session offered: what a client
 * seeing a server for the first time pays).  With -R each thread offers the
 * newest session it was given (a TLS 1.3 ticket, read with the response)
 * for the same name, as browsers and curl do, so a server that resumes
 * skips its certificate and signature; SSL_session_reused is counted.
 * After a 0.3 s warm-up, SECS seconds (default 3) are counted.  Prints
 *	RESULT <requests/s> <mean latency, us> <requests> <resumed>
 * Any failure (connect, CONNECT refused, handshake or verification, a status
 * other than 200, a short body, a 10 s stall) is fatal: exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define BENCH_NAME "tls_conn"
#include "util.h"

#define MAX_CONC    256
#define WARMUP_SECS 0.3
#define IO_TIMEOUT  10

struct stats {
	_Atomic unsigned long n;
	_Atomic unsigned long resumed;
	_Atomic unsigned long long lat_ns;
	SSL_SESSION *sess; /* -R: this thread's newest session */
};

static struct {
	const char *host;
	const char *path;
	struct sockaddr_storage dst; /* the proxy, the server by -r, or HOST resolved */
	socklen_t dst_len;
	int via_proxy;
	int resume;
	SSL_CTX *ctx;
	char req[1024];
	size_t req_len;
	atomic_int stop;
	struct stats st[MAX_CONC];
} g;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tls_conn [-R] [-x PROXY-IP:PORT] [-r IP] [-C CAFILE] [-c CONC] [-d SECS] "
	    "HOST PATH\n");
	exit(2);
}

static void
fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "tls_conn: %s: %s\n", what, buf);
	} else {
		fprintf(stderr, "tls_conn: %s\n", what);
	}
	exit(1);
}

static void
set_ip(const char *ip, int port)
{
	struct sockaddr_in *sa = (struct sockaddr_in *)&g.dst;

	memset(&g.dst, 0, sizeof(g.dst));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		usage();
	g.dst_len = sizeof(*sa);
}

static void
resolve(const char *host)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	int r = getaddrinfo(host, "443", &hints, &res);

	if (r != 0) {
		fprintf(stderr, "tls_conn: %s: %s\n", host, gai_strerror(r));
		exit(1);
	}
	memcpy(&g.dst, res->ai_addr, res->ai_addrlen);
	g.dst_len = res->ai_addrlen;
	freeaddrinfo(res);
}

static int
tcp_connect(void)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT};
	int one = 1;
	int fd = socket(g.dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("tls_conn: socket");
		exit(1);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&g.dst, g.dst_len) < 0) {
		perror("tls_conn: connect");
		exit(1);
	}
	return fd;
}

/* CONNECT HOST:443 through the proxy; its answer must be a 200. */
static void
proxy_connect(int fd)
{
	char buf[2048];
	size_t got = 0;
	int n = snprintf(
	    buf, sizeof(buf), "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n", g.host, g.host);

	if (write(fd, buf, (size_t)n) != n) {
		perror("tls_conn: write CONNECT");
		exit(1);
	}
	/* Byte by byte: nothing of the TLS stream after the head may be eaten. */
	while (got < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + got, 1);

		if (r <= 0) {
			fprintf(stderr, "tls_conn: the proxy closed during CONNECT\n");
			exit(1);
		}
		got++;
		if (got >= 4 && memcmp(buf + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0 && strncmp(buf, "HTTP/1.0 200", 12) != 0) {
		fprintf(
		    stderr, "tls_conn: CONNECT refused: %.*s\n", (int)strcspn(buf, "\r\n"), buf);
		exit(1);
	}
}

/* The response's status must be 200 and its body all there. */
static void
read_response(SSL *ssl)
{
	char buf[16384];
	size_t got = 0, head = 0;
	long clen = -1;

	for (;;) {
		int r;

		if (got == sizeof(buf) - 1)
			fail("response too long");
		r = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));
		if (r <= 0) {
			int e = SSL_get_error(ssl, r);

			if ((e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) && head &&
			    clen < 0)
				return; /* no length: the body ends with the connection */
			fail("reading the response");
		}
		got += (size_t)r;
		buf[got] = '\0';
		if (!head) {
			char *end = strstr(buf, "\r\n\r\n"), *p;

			if (!end)
				continue;
			head = (size_t)(end - buf) + 4;
			if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 &&
			    strncmp(buf, "HTTP/1.0 200 ", 13)) {
				fprintf(stderr, "tls_conn: answer: %.*s\n",
				    (int)strcspn(buf, "\r\n"), buf);
				exit(1);
			}
			for (p = strstr(buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n"))
				if (strncasecmp(p + 2, "content-length:", 15) == 0)
					clen = strtol(p + 17, NULL, 10);
		}
		if (clen >= 0 && got >= head + (size_t)clen)
			return;
	}
}

/* The thread whose connection is being read: its tickets are its own. */
static __thread struct stats *cur;

/* -R: a session the server gave (a TLS 1.3 ticket, read with the response). */
static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	if (!cur || !SSL_SESSION_is_resumable(sess))
		return 0;
	SSL_SESSION_free(cur->sess);
	cur->sess = sess;
	return 1;
}

static void
one_request(struct stats *st)
{
	int fd = tcp_connect();
	SSL *ssl;

	if (g.via_proxy)
		proxy_connect(fd);
	ssl = SSL_new(g.ctx);
	if (!ssl)
		fail("SSL_new");
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, g.host);
	if (!X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), g.host, strlen(g.host)))
		fail("cannot set the name to verify");
	cur = st;
	if (g.resume && st->sess && !SSL_set_session(ssl, st->sess))
		fail("SSL_set_session");
	if (SSL_connect(ssl) != 1)
		fail("TLS handshake");
	if (SSL_write(ssl, g.req, (int)g.req_len) != (int)g.req_len)
		fail("writing the request");
	read_response(ssl);
	if (SSL_session_reused(ssl))
		atomic_fetch_add_explicit(&st->resumed, 1, memory_order_relaxed);
	/*
	 * The response is whole: a clean end, no close_notify sent (the server
	 * closes).  Without it OpenSSL takes the connection for a failed one and
	 * marks its sessions, the one kept by -R too, not resumable.
	 */
	SSL_set_quiet_shutdown(ssl, 1);
	(void)SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
}

static void *
worker(void *arg)
{
	struct stats *st = arg;

	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		double t0 = now();

		one_request(st);
		atomic_fetch_add_explicit(
		    &st->lat_ns, (unsigned long long)((now() - t0) * 1e9), memory_order_relaxed);
		atomic_fetch_add_explicit(&st->n, 1, memory_order_relaxed);
	}
	return NULL;
}

static void
totals(int conc, unsigned long *n, unsigned long *resumed, unsigned long long *lat)
{
	*n = 0;
	*resumed = 0;
	*lat = 0;
	for (int i = 0; i < conc; i++) {
		*n += atomic_load(&g.st[i].n);
		*resumed += atomic_load(&g.st[i].resumed);
		*lat += atomic_load(&g.st[i].lat_ns);
	}
}

static void
sleep_secs(double s)
{
	struct timespec ts = {
	    .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
main(int argc, char *argv[])
{
	const char *proxy = NULL, *ip = NULL, *cafile = getenv("SSL_CERT_FILE");
	long conc = 8, secs = 3;
	pthread_t th[MAX_CONC];
	unsigned long n0, n1, r0, r1;
	unsigned long long l0, l1;
	double t0, t1;
	int opt;

	while ((opt = getopt(argc, argv, "Rx:r:C:c:d:")) != -1) {
		switch (opt) {
		case 'R':
			g.resume = 1;
			break;
		case 'x':
			proxy = optarg;
			break;
		case 'r':
			ip = optarg;
			break;
		case 'C':
			cafile = optarg;
			break;
		case 'c':
			conc = parse_long(optarg, 1, MAX_CONC);
			break;
		case 'd':
			secs = parse_long(optarg, 1, 3600);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || (proxy && ip) || !cafile)
		usage();
	g.host = argv[optind];
	g.path = argv[optind + 1];
	if (proxy) {
		char buf[64];
		char *colon;

		snprintf(buf, sizeof(buf), "%s", proxy);
		colon = strrchr(buf, ':');
		if (!colon)
			usage();
		*colon = '\0';
		set_ip(buf, (int)parse_long(colon + 1, 1, 65535));
		g.via_proxy = 1;
	} else if (ip) {
		set_ip(ip, 443);
	} else {
		resolve(g.host);
	}
	g.req_len = (size_t)snprintf(g.req, sizeof(g.req),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tls_conn\r\nConnection: close\r\n\r\n",
	    g.path, g.host);
	if (g.req_len >= sizeof(g.req))
		usage();

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm((unsigned)(secs + 60));
	g.ctx = SSL_CTX_new(TLS_client_method());
	if (!g.ctx)
		fail("SSL_CTX_new");
	/* Sessions are kept and offered by hand (-R), each thread its own. */
	SSL_CTX_set_session_cache_mode(
	    g.ctx, g.resume ? SSL_SESS_CACHE_CLIENT : SSL_SESS_CACHE_OFF);
	if (g.resume)
		SSL_CTX_sess_set_new_cb(g.ctx, new_session);
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(g.ctx, cafile, NULL) != 1)
		fail("cannot load the CA file");

	/* One request alone first: a setup error is one message, not CONC. */
	one_request(&g.st[0]);
	for (long i = 0; i < conc; i++)
		if (pthread_create(&th[i], NULL, worker, &g.st[i]) != 0)
			fail("pthread_create");
	sleep_secs(WARMUP_SECS);
	totals((int)conc, &n0, &r0, &l0);
	t0 = now();
	sleep_secs((double)secs);
	totals((int)conc, &n1, &r1, &l1);
	t1 = now();
	atomic_store(&g.stop, 1);
	for (long i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	if (n1 == n0)
		fail("no request completed");
	printf("RESULT %.3f %.3f %lu %lu\n", (double)(n1 - n0) / (t1 - t0),
	    (double)(l1 - l0) / (double)(n1 - n0) / 1e3, n1 - n0, r1 - r0);
	return 0;
}
