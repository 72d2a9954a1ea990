// SPDX-License-Identifier: MIT
/*
 * attack: the attacker of the bypass suite (tests/integration/16-bypass.sh).
 * Run inside a confined command; each subcommand tries one way past the
 * firewall and prints exactly one line on stdout:
 *
 *	pid=N tid=N result=RESULT[ key=value ...]
 *
 * RESULT is "ok" (the attack worked), an errno name (EPERM, EACCES, ...) or
 * TIMEOUT.  The exit status is 0 either way; 2 is a usage error (nothing was
 * tried, usage on stderr).  On failure "step=NAME" names the failing call;
 * the other detail keys are listed below.  The peer to record what got out is
 * tests/tools/sink.py.
 *
 * IP is numeric: 192.0.2.1, 2001:db8::1, fe80::1%c0, ::ffff:198.51.100.7 (an
 * AF_INET6 socket to a mapped address).  TCP waits 3 s, ICMP replies 1 s.
 *   tcp IP PORT             connect(), then close
 *   udp IP PORT             sendto() "cgfw-udp" on an unconnected socket
 *   sendmmsg IP PORT        one sendmmsg() of "cgfw-mmsg-1" and "cgfw-mmsg-2",
 *                           unconnected; ok if any was sent, detail sent=N
 *   tfo IP PORT             sendto(MSG_FASTOPEN) "cgfw-tfo" with TCP_FASTOPEN_NO_COOKIE
 *                           (data rides in the SYN if the peer's netns enables TFO
 *                           server mode); detail syn_data=1 if the peer acked it
 *   uring-connect IP PORT   io_uring IORING_OP_CONNECT, then close
 *   uring-sendmsg IP PORT   io_uring IORING_OP_SENDMSG "cgfw-uring", unconnected UDP;
 *                           detail bytes=N
 *   raw IP [PORT]           SOCK_RAW/IPPROTO_UDP, our own UDP header, "cgfw-raw" to
 *                           PORT (default 9); UDP checksum 0 on IPv4 (legal), kernel
 *                           computed (IPV6_CHECKSUM) on IPv6
 *   ping IP                 echo "cgfw-ping" on a SOCK_DGRAM ping socket: needs
 *                           net.ipv4.ping_group_range to cover our gid (a new netns
 *                           has "1 0": EACCES for everyone); detail reply=0|1
 *   rawicmp IP              echo "cgfw-rawicmp" on SOCK_RAW; detail reply=0|1
 *   packet IFNAME SRCIP DSTIP DSTPORT [DSTMAC]
 *                           Ethernet+IPv4+UDP frame "cgfw-packet" built by hand (IP
 *                           and UDP checksums) on AF_PACKET bound to IFNAME, to
 *                           DSTMAC (aa:bb:cc:dd:ee:ff; default broadcast)
 *   ptrace PID              PTRACE_SEIZE, then PTRACE_INTERRUPT and PTRACE_DETACH
 *                           (detail detach=ERRNO if that part failed)
 *   procmem PID             open /proc/PID/mem, read 8 bytes at the start of the first
 *                           readable mapping of /proc/PID/maps
 *   getfd PID FD|all        pidfd_open + pidfd_getfd; "all" tries FDs 0..63, ok if
 *                           any, detail got=N fds=LIST; one FD: detail what=READLINK
 *   kill PID SIG            kill(); SIG is a number or a name (0, TERM, SIGKILL)
 *   bpf-detach PINPATH      BPF_OBJ_GET (read-write, on EACCES read-only), then
 *                           BPF_LINK_DETACH; detail link_id=N
 *   bpf-detach-all DIR      bpf-detach on every file under DIR (recursive); ok if any
 *                           link detached; detail files=N got=N detached=N.  It
 *                           detaches whatever it can reach: point it at one run's pin
 *                           directory (/sys/fs/bpf/cgfw/CGROUPID), never at all of bpffs
 *   bpf-getid               BPF_LINK_GET_NEXT_ID + BPF_LINK_GET_FD_BY_ID, then the same
 *                           for programs; ok if any fd was got (nothing is detached)
 *   bpf-pin-link CGDIR PIN  fixture, not an attack: load an allow-all cgroup_skb egress
 *                           program, link it to cgroup CGDIR, pin the link at PIN
 *   cgroup-escape PROCS     write our pid to the cgroup.procs file PROCS; detail
 *                           cgroup=PATH (our 0:: line of /proc/self/cgroup afterwards)
 *   cgroup-escape-handle DIR [ID]
 *                           DIR is any directory on a cgroup2 mount: name_to_handle_at
 *                           for the handle type, a handle for cgroup id ID (default 1,
 *                           the root; a cgroup's id is its inode number), then
 *                           open_by_handle_at, openat cgroup.procs, write our pid;
 *                           detail cgroup=PATH as above
 *   setuid USER|UID -- SUBCOMMAND ARGS...
 *                           setgroups(0), setresgid, setresuid (a name takes its
 *                           passwd gid, a number the same gid), then run SUBCOMMAND
 *   mounts                  ok if /proc/self/mountinfo shows bpf, cgroup2 or cgroup;
 *                           detail mounts=FSTYPE:DIR,...; ENOENT if none
 *   caps                    ok; detail CapEff=HEX uid=N NoNewPrivs=N Seccomp=N
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <linux/io_uring.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ATK_TIMEOUT    (-1)
#define ATK_CONNECT_MS 3000
#define ATK_REPLY_MS   1000
#define ATK_GETFD_MAX  64
#define ATK_WALK_DEPTH 8
#define ATK_DETAIL_MAX 1024

struct atk_res {
	int err; /* 0: ok, > 0: errno, ATK_TIMEOUT */
	char detail[ATK_DETAIL_MAX];
};

struct atk_cmd {
	const char *name;
	int min_args;
	int max_args; /* -1: any number */
	const char *usage;
	int (*fn)(struct atk_res *, int, char **);
};

static int atk_run(struct atk_res *, int, char **);
static void str_vadd(char *, size_t, const char *, const char *, va_list)
    __attribute__((format(printf, 4, 0)));
static void str_add(char *, size_t, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));
static void res_add(struct atk_res *, const char *, ...) __attribute__((format(printf, 2, 3)));

/* Appends to a NUL-terminated buffer, truncating; sep goes first unless buf is empty. */
static void
str_vadd(char *buf, size_t size, const char *sep, const char *fmt, va_list ap)
{
	size_t used = strlen(buf);

	if (used > 0) {
		(void)strncat(buf, sep, size - used - 1);
		used = strlen(buf);
	}
	(void)vsnprintf(buf + used, size - used, fmt, ap);
}

static void
str_add(char *buf, size_t size, const char *sep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vadd(buf, size, sep, fmt, ap);
	va_end(ap);
}

static void
res_add(struct atk_res *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vadd(r->detail, sizeof(r->detail), " ", fmt, ap);
	va_end(ap);
}

/* Records errno (read first: res_add may change it) and the step that failed. */
static int
res_fail(struct atk_res *r, const char *step)
{
	int e = errno ? errno : EIO;

	r->err = e;
	res_add(r, "step=%s", step);
	return 0;
}

static const char *
ename(int e)
{
	const char *name = strerrorname_np(e);

	return name ? name : "EUNKNOWN";
}

static int
parse_int(const char *s, long min, long max, long *ret_v)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*ret_v = v;
	return 0;
}

static int
parse_addr(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *ret_len)
{
	struct addrinfo hints = {
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_DGRAM};
	struct addrinfo *ai;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*ret_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int
parse_ip_port(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *ret_len)
{
	long v;

	if (parse_int(port, 0, 65535, &v) < 0)
		return -1;
	return parse_addr(host, port, ss, ret_len);
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static uint16_t
inet_csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The network attacks. */

static int
atk_tcp(struct atk_res *r, int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len, elen = sizeof(int);
	int fd, e = 0;

	(void)argc;
	if (parse_ip_port(argv[0], argv[1], &ss, &len) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return res_fail(r, "socket");
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINPROGRESS) {
			res_fail(r, "connect");
			goto out;
		}
		pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
		if (poll(&pfd, 1, ATK_CONNECT_MS) == 0) {
			r->err = ATK_TIMEOUT;
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0) {
			res_fail(r, "getsockopt");
			goto out;
		}
		if (e) {
			errno = e;
			res_fail(r, "connect");
		}
	}
out:
	(void)close(fd);
	return 0;
}

static int
atk_udp(struct atk_res *r, int argc, char **argv)
{
	static const char msg[] = "cgfw-udp";
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	(void)argc;
	if (parse_ip_port(argv[0], argv[1], &ss, &len) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return res_fail(r, "socket");
	if (sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&ss, len) < 0)
		res_fail(r, "sendto");
	(void)close(fd);
	return 0;
}

static int
atk_sendmmsg(struct atk_res *r, int argc, char **argv)
{
	static char m1[] = "cgfw-mmsg-1", m2[] = "cgfw-mmsg-2";
	struct iovec iov[2] = {{m1, sizeof(m1) - 1}, {m2, sizeof(m2) - 1}};
	struct mmsghdr mm[2];
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i, n;

	(void)argc;
	if (parse_ip_port(argv[0], argv[1], &ss, &len) < 0)
		return -1;
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 2; i++) {
		mm[i].msg_hdr.msg_name = &ss;
		mm[i].msg_hdr.msg_namelen = len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return res_fail(r, "socket");
	n = sendmmsg(fd, mm, 2, 0);
	if (n < 0)
		res_fail(r, "sendmmsg");
	else
		res_add(r, "sent=%d", n);
	(void)close(fd);
	return 0;
}

static int
atk_tfo(struct atk_res *r, int argc, char **argv)
{
	static const char msg[] = "cgfw-tfo";
	struct timeval tv = {.tv_sec = ATK_CONNECT_MS / 1000};
	struct sockaddr_storage ss;
	struct tcp_info ti;
	socklen_t len, ti_len = sizeof(ti);
	int fd, one = 1;

	(void)argc;
	if (parse_ip_port(argv[0], argv[1], &ss, &len) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return res_fail(r, "socket");
	/* Without a cookie from an earlier connection the SYN would carry no data. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof(one)) < 0)
		res_add(r, "no_cookie=%s", ename(errno));
	/* A blocking connect that times out fails with EINPROGRESS. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		res_fail(r, "setsockopt");
		goto out;
	}
	if (sendto(fd, msg, sizeof(msg) - 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len) < 0) {
		if (errno == EINPROGRESS || errno == EAGAIN)
			r->err = ATK_TIMEOUT;
		else
			res_fail(r, "sendto");
		goto out;
	}
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &ti_len) == 0)
		res_add(r, "syn_data=%d", !!(ti.tcpi_options & TCPI_OPT_SYN_DATA));
out:
	(void)close(fd);
	return 0;
}

/* A minimal io_uring on raw syscalls: one submission batch, wait for all of it. */
struct uring {
	int fd;
	void *sq_map;
	void *cq_map;
	size_t sq_map_len;
	size_t cq_map_len;
	struct io_uring_sqe *sqes;
	size_t sqes_len;
	unsigned *sq_tail;
	unsigned *sq_mask;
	unsigned *sq_array;
	unsigned *cq_head;
	unsigned *cq_tail;
	unsigned *cq_mask;
	struct io_uring_cqe *cqes;
};

static void
uring_close(struct uring *u)
{
	if (u->sqes)
		(void)munmap(u->sqes, u->sqes_len);
	if (u->cq_map && u->cq_map != u->sq_map)
		(void)munmap(u->cq_map, u->cq_map_len);
	if (u->sq_map)
		(void)munmap(u->sq_map, u->sq_map_len);
	if (u->fd >= 0)
		(void)close(u->fd);
}

/* Returns 0, or -1 with errno set and *ret_step naming the failing call. */
static int
uring_open(struct uring *u, const char **ret_step)
{
	struct io_uring_params p;
	char *sq, *cq;

	memset(u, 0, sizeof(*u));
	memset(&p, 0, sizeof(p));
	*ret_step = "io_uring_setup";
	u->fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (u->fd < 0)
		return -1;
	*ret_step = "mmap";
	u->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	u->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_map_len > u->sq_map_len)
			u->sq_map_len = u->cq_map_len;
		u->cq_map_len = u->sq_map_len;
	}
	u->sq_map = mmap(NULL, u->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
	    u->fd, IORING_OFF_SQ_RING);
	if (u->sq_map == MAP_FAILED) {
		u->sq_map = NULL;
		return -1;
	}
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		u->cq_map = u->sq_map;
	} else {
		u->cq_map = mmap(NULL, u->cq_map_len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_CQ_RING);
		if (u->cq_map == MAP_FAILED) {
			u->cq_map = NULL;
			return -1;
		}
	}
	u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
	    IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED) {
		u->sqes = NULL;
		return -1;
	}
	sq = u->sq_map;
	cq = u->cq_map;
	u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	u->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	u->sq_array = (unsigned *)(sq + p.sq_off.array);
	u->cq_head = (unsigned *)(cq + p.cq_off.head);
	u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	u->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/*
 * Submits n (<= 4) SQEs, their user_data set to their index, and waits for n
 * completions; ret_res[i] is the result of SQE i.
 */
static int
uring_run(struct uring *u, const struct io_uring_sqe *in, unsigned n, int *ret_res)
{
	const struct io_uring_cqe *cqe;
	unsigned tail = *u->sq_tail, head, got = 0, i, idx;
	long r;

	for (i = 0; i < n; i++) {
		idx = (tail + i) & *u->sq_mask;
		u->sqes[idx] = in[i];
		u->sqes[idx].user_data = i;
		u->sq_array[idx] = idx;
	}
	__atomic_store_n(u->sq_tail, tail + n, __ATOMIC_RELEASE);
	r = syscall(SYS_io_uring_enter, u->fd, n, n, IORING_ENTER_GETEVENTS, NULL, 0);
	if (r < 0)
		return -1;
	while (got < n) {
		head = *u->cq_head;
		if (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE)) {
			r = syscall(
			    SYS_io_uring_enter, u->fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
			if (r < 0 && errno != EINTR)
				return -1;
			continue;
		}
		cqe = &u->cqes[head & *u->cq_mask];
		if (cqe->user_data < n)
			ret_res[cqe->user_data] = cqe->res;
		__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
		got++;
	}
	return 0;
}

static int
atk_uring_connect(struct atk_res *r, int argc, char **argv)
{
	struct __kernel_timespec ts = {.tv_sec = ATK_CONNECT_MS / 1000};
	struct io_uring_sqe sqe[2];
	struct sockaddr_storage ss;
	struct uring u;
	const char *step;
	socklen_t len;
	int fd, res[2] = {0, 0};

	(void)argc;
	if (parse_ip_port(argv[0], argv[1], &ss, &len) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return res_fail(r, "socket");
	if (uring_open(&u, &step) < 0) {
		res_fail(r, step);
		goto out;
	}
	memset(sqe, 0, sizeof(sqe));
	sqe[0].opcode = IORING_OP_CONNECT;
	sqe[0].fd = fd;
	sqe[0].addr = (uintptr_t)&ss;
	sqe[0].off = len; /* addr2: the address length */
	sqe[0].flags = IOSQE_IO_LINK;
	sqe[1].opcode = IORING_OP_LINK_TIMEOUT;
	sqe[1].fd = -1;
	sqe[1].addr = (uintptr_t)&ts;
	sqe[1].len = 1;
	if (uring_run(&u, sqe, 2, res) < 0) {
		res_fail(r, "io_uring_enter");
	} else if (res[0] == -ECANCELED || res[0] == -EINTR) {
		r->err = ATK_TIMEOUT;
	} else if (res[0] < 0) {
		errno = -res[0];
		res_fail(r, "connect");
	}
out:
	uring_close(&u);
	(void)close(fd);
	return 0;
}

static int
atk_uring_sendmsg(struct atk_res *r, int argc, char **argv)
{
	static char msg[] = "cgfw-uring";
	struct iovec iov = {msg, sizeof(msg) - 1};
	struct io_uring_sqe sqe;
	struct sockaddr_storage ss;
	struct msghdr mh;
	struct uring u;
	const char *step;
	socklen_t len;
	int fd, res = 0;

	(void)argc;
	if (parse_ip_port(argv[0], argv[1], &ss, &len) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return res_fail(r, "socket");
	if (uring_open(&u, &step) < 0) {
		res_fail(r, step);
		goto out;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &ss;
	mh.msg_namelen = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_SENDMSG;
	sqe.fd = fd;
	sqe.addr = (uintptr_t)&mh;
	sqe.len = 1;
	if (uring_run(&u, &sqe, 1, &res) < 0) {
		res_fail(r, "io_uring_enter");
	} else if (res < 0) {
		errno = -res;
		res_fail(r, "sendmsg");
	} else {
		res_add(r, "bytes=%d", res);
	}
out:
	uring_close(&u);
	(void)close(fd);
	return 0;
}

static int
atk_raw(struct atk_res *r, int argc, char **argv)
{
	static const char msg[] = "cgfw-raw";
	struct sockaddr_storage ss;
	struct udphdr uh;
	uint8_t pkt[sizeof(uh) + sizeof(msg) - 1];
	socklen_t len;
	long port = 9;
	int fd, off = offsetof(struct udphdr, uh_sum);

	if (argc > 1 && parse_int(argv[1], 1, 65535, &port) < 0)
		return -1;
	if (parse_addr(argv[0], "0", &ss, &len) < 0)
		return -1;
	memset(&uh, 0, sizeof(uh));
	uh.uh_sport = htons(40000 + getpid() % 20000);
	uh.uh_dport = htons((uint16_t)port);
	uh.uh_ulen = htons(sizeof(pkt));
	memcpy(pkt, &uh, sizeof(uh));
	memcpy(pkt + sizeof(uh), msg, sizeof(msg) - 1);
	fd = socket(ss.ss_family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return res_fail(r, "socket");
	/* IPv6 UDP must carry a checksum: let the kernel fill it in at uh_sum. */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off)) < 0) {
		res_fail(r, "setsockopt");
		goto out;
	}
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len) < 0)
		res_fail(r, "sendto");
out:
	(void)close(fd);
	return 0;
}

/* Waits for an echo reply: any datagram on a ping socket, else a matching ICMP type. */
static int
icmp_reply(int fd, int family, int dgram, uint16_t id)
{
	struct timespec t0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint8_t buf[1500];
	ssize_t n;
	size_t hl;
	long left;

	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = ATK_REPLY_MS - ms_since(&t0)) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			return 0;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			continue;
		if (dgram)
			return 1;
		if (family == AF_INET6) {
			if (n >= 8 && buf[0] == ICMP6_ECHO_REPLY && memcmp(buf + 4, &id, 2) == 0)
				return 1;
			continue;
		}
		hl = (size_t)(buf[0] & 0xf) * 4;
		if ((size_t)n >= hl + 8 && buf[hl] == ICMP_ECHOREPLY &&
		    memcmp(buf + hl + 4, &id, 2) == 0)
			return 1;
	}
	return 0;
}

static int
icmp_echo(struct atk_res *r, const char *host, int type, const char *payload)
{
	struct sockaddr_storage ss;
	uint8_t pkt[64];
	size_t plen = strlen(payload), len8 = 8 + plen;
	uint16_t id = htons((uint16_t)getpid()), seq = htons(1), sum;
	socklen_t len;
	int fd, proto;

	if (parse_addr(host, "0", &ss, &len) < 0)
		return -1;
	proto = ss.ss_family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = ss.ss_family == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	memcpy(pkt + 4, &id, 2);
	memcpy(pkt + 6, &seq, 2);
	memcpy(pkt + 8, payload, plen);
	/* Ping sockets and ICMPv6 get their checksum from the kernel. */
	if (ss.ss_family == AF_INET && type == SOCK_RAW) {
		sum = htons(inet_csum(pkt, len8, 0));
		memcpy(pkt + 2, &sum, 2);
	}
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return res_fail(r, "socket");
	if (sendto(fd, pkt, len8, 0, (struct sockaddr *)&ss, len) < 0)
		res_fail(r, "sendto");
	else
		res_add(r, "reply=%d", icmp_reply(fd, ss.ss_family, type == SOCK_DGRAM, id));
	(void)close(fd);
	return 0;
}

static int
atk_ping(struct atk_res *r, int argc, char **argv)
{
	(void)argc;
	return icmp_echo(r, argv[0], SOCK_DGRAM, "cgfw-ping");
}

static int
atk_rawicmp(struct atk_res *r, int argc, char **argv)
{
	(void)argc;
	return icmp_echo(r, argv[0], SOCK_RAW, "cgfw-rawicmp");
}

static int
atk_packet(struct atk_res *r, int argc, char **argv)
{
	static const char msg[] = "cgfw-packet";
	struct ether_header eh;
	struct iphdr ip;
	struct udphdr uh;
	struct sockaddr_ll sll;
	struct ifreq ifr;
	struct in_addr src, dst;
	uint8_t frame[sizeof(eh) + sizeof(ip) + sizeof(uh) + sizeof(msg) - 1], pseudo[12];
	uint8_t *p = frame;
	unsigned mac[ETH_ALEN];
	long port;
	uint16_t ulen = sizeof(uh) + sizeof(msg) - 1;
	uint32_t sum;
	int fd, i, ifindex;

	if (strlen(argv[0]) >= IFNAMSIZ || inet_pton(AF_INET, argv[1], &src) != 1 ||
	    inet_pton(AF_INET, argv[2], &dst) != 1 || parse_int(argv[3], 1, 65535, &port) < 0)
		return -1;
	memset(&eh, 0xff, sizeof(eh));
	if (argc > 4) {
		if (sscanf(argv[4], "%2x:%2x:%2x:%2x:%2x:%2x", &mac[0], &mac[1], &mac[2], &mac[3],
		        &mac[4], &mac[5]) != ETH_ALEN)
			return -1;
		for (i = 0; i < ETH_ALEN; i++)
			eh.ether_dhost[i] = (uint8_t)mac[i];
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return res_fail(r, "socket");
	ifindex = (int)if_nametoindex(argv[0]);
	if (!ifindex) {
		res_fail(r, "if_nametoindex");
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, argv[0], strlen(argv[0]));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		res_fail(r, "SIOCGIFHWADDR");
		goto out;
	}
	memcpy(eh.ether_shost, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	eh.ether_type = htons(ETHERTYPE_IP);

	memset(&ip, 0, sizeof(ip));
	ip.version = 4;
	ip.ihl = sizeof(ip) / 4;
	ip.tot_len = htons(sizeof(ip) + ulen);
	ip.id = htons((uint16_t)getpid());
	ip.ttl = 64;
	ip.protocol = IPPROTO_UDP;
	ip.saddr = src.s_addr;
	ip.daddr = dst.s_addr;
	ip.check = htons(inet_csum(&ip, sizeof(ip), 0));

	memset(&uh, 0, sizeof(uh));
	uh.uh_sport = htons(40000 + getpid() % 20000);
	uh.uh_dport = htons((uint16_t)port);
	uh.uh_ulen = htons(ulen);

	memcpy(p, &eh, sizeof(eh));
	p += sizeof(eh);
	memcpy(p, &ip, sizeof(ip));
	p += sizeof(ip);
	memcpy(p, &uh, sizeof(uh));
	memcpy(p + sizeof(uh), msg, sizeof(msg) - 1);
	/* UDP checksum over the pseudo header (addresses, protocol, length) and datagram. */
	memcpy(pseudo, &ip.saddr, 4);
	memcpy(pseudo + 4, &ip.daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = ulen >> 8;
	pseudo[11] = ulen & 0xff;
	sum = (uint16_t)~inet_csum(pseudo, sizeof(pseudo), 0);
	uh.uh_sum = htons(inet_csum(p, ulen, sum));
	if (uh.uh_sum == 0)
		uh.uh_sum = 0xffff;
	memcpy(p, &uh, sizeof(uh));

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		res_fail(r, "bind");
		goto out;
	}
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, eh.ether_dhost, ETH_ALEN);
	if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		res_fail(r, "sendto");
out:
	(void)close(fd);
	return 0;
}

/* The process attacks. */

static int
parse_pid(const char *s, pid_t *ret_pid)
{
	long v;

	if (parse_int(s, 1, INT_MAX, &v) < 0)
		return -1;
	*ret_pid = (pid_t)v;
	return 0;
}

static int
atk_ptrace(struct atk_res *r, int argc, char **argv)
{
	pid_t pid;
	int st;

	(void)argc;
	if (parse_pid(argv[0], &pid) < 0)
		return -1;
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
		return res_fail(r, "seize");
	/* Leave the tracee as it was: stop it so that it can be detached. */
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0 || waitpid(pid, &st, __WALL) < 0 ||
	    ptrace(PTRACE_DETACH, pid, NULL, NULL) < 0)
		res_add(r, "detach=%s", ename(errno));
	return 0;
}

static int
atk_procmem(struct atk_res *r, int argc, char **argv)
{
	char path[64], line[512], perms[8];
	unsigned long start = 0, end;
	uint64_t word;
	FILE *maps;
	pid_t pid;
	int fd, found = 0;

	(void)argc;
	if (parse_pid(argv[0], &pid) < 0)
		return -1;
	(void)snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return res_fail(r, "open-mem");
	(void)snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	if (!maps) {
		res_fail(r, "open-maps");
		goto out;
	}
	while (!found && fgets(line, sizeof(line), maps))
		found = sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && perms[0] == 'r';
	if (ferror(maps) || !found) {
		if (!ferror(maps))
			errno = ENOENT;
		res_fail(r, "read-maps");
	} else if (pread(fd, &word, sizeof(word), (off_t)start) != sizeof(word)) {
		res_fail(r, "read-mem");
	} else {
		res_add(r, "addr=0x%lx word=0x%016llx", start, (unsigned long long)word);
	}
	(void)fclose(maps);
out:
	(void)close(fd);
	return 0;
}

static int
atk_getfd(struct atk_res *r, int argc, char **argv)
{
	char fds[ATK_GETFD_MAX * 4] = "", path[64], what[128];
	long one = -1;
	pid_t pid;
	ssize_t n;
	int pidfd, fd, i, lo, hi, got = 0, first_err = 0;

	(void)argc;
	if (parse_pid(argv[0], &pid) < 0)
		return -1;
	if (strcmp(argv[1], "all") != 0 && parse_int(argv[1], 0, INT_MAX, &one) < 0)
		return -1;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return res_fail(r, "pidfd_open");
	lo = one >= 0 ? (int)one : 0;
	hi = one >= 0 ? (int)one : ATK_GETFD_MAX - 1;
	for (i = lo; i <= hi; i++) {
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, i, 0);
		if (fd < 0) {
			/* EBADF only says the slot was empty; keep a more telling errno. */
			if (!first_err || (first_err == EBADF && errno != EBADF))
				first_err = errno;
			continue;
		}
		got++;
		str_add(fds, sizeof(fds), ",", "%d", i);
		if (one >= 0) {
			(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			n = readlink(path, what, sizeof(what) - 1);
			what[n > 0 ? n : 0] = '\0';
			res_add(r, "what=%s", what);
		}
		(void)close(fd);
	}
	if (one < 0)
		res_add(r, "got=%d fds=%s", got, got ? fds : "-");
	if (!got) {
		errno = first_err;
		res_fail(r, "pidfd_getfd");
	}
	(void)close(pidfd);
	return 0;
}

static int
parse_signal(const char *s, int *ret_sig)
{
	const char *abbrev;
	long v;
	int i;

	if (parse_int(s, 0, SIGRTMAX, &v) == 0) {
		*ret_sig = (int)v;
		return 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 1; i < SIGRTMIN; i++) {
		abbrev = sigabbrev_np(i);
		if (abbrev && strcasecmp(abbrev, s) == 0) {
			*ret_sig = i;
			return 0;
		}
	}
	return -1;
}

static int
atk_kill(struct atk_res *r, int argc, char **argv)
{
	pid_t pid;
	int sig;

	(void)argc;
	if (parse_pid(argv[0], &pid) < 0 || parse_signal(argv[1], &sig) < 0)
		return -1;
	if (kill(pid, sig) < 0)
		res_fail(r, "kill");
	return 0;
}

/* The BPF attacks. */

static long
sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* Returns 1 if the link at path was detached, else 0 with errno and *ret_step set. */
static int
bpf_detach_one(const char *path, struct atk_res *r, const char **ret_step)
{
	struct bpf_link_info info;
	union bpf_attr attr;
	int fd, ok;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uintptr_t)path;
	*ret_step = "obj_get";
	fd = (int)sys_bpf(BPF_OBJ_GET, &attr);
	if (fd < 0 && errno == EACCES) {
		/* A read-only fd is enough for BPF_LINK_DETACH: it checks no mode. */
		attr.file_flags = BPF_F_RDONLY;
		fd = (int)sys_bpf(BPF_OBJ_GET, &attr);
	}
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uintptr_t)&info;
	if (r && sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0)
		res_add(r, "link_id=%u", info.id);
	memset(&attr, 0, sizeof(attr));
	attr.link_detach.link_fd = (uint32_t)fd;
	*ret_step = "link_detach";
	ok = sys_bpf(BPF_LINK_DETACH, &attr) == 0;
	if (!ok) {
		int e = errno;

		(void)close(fd);
		errno = e;
		return 0;
	}
	(void)close(fd);
	return 1;
}

static int
atk_bpf_detach(struct atk_res *r, int argc, char **argv)
{
	const char *step;

	(void)argc;
	if (!bpf_detach_one(argv[0], r, &step))
		res_fail(r, step);
	return 0;
}

struct detach_walk {
	int n_files;
	int n_got;
	int n_detached;
	int err;       /* errno of the furthest step reached */
	int err_level; /* 0: none, 1: walk, 2: obj_get, 3: link_detach */
};

static void
walk_err(struct detach_walk *w, int level, int e)
{
	if (level > w->err_level) {
		w->err_level = level;
		w->err = e;
	}
}

static void
detach_walk(struct detach_walk *w, const char *dir, int depth)
{
	char path[PATH_MAX];
	const char *step;
	struct dirent *de;
	struct stat st;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		walk_err(w, 1, errno);
		return;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (lstat(path, &st) < 0) {
			walk_err(w, 1, errno);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth < ATK_WALK_DEPTH)
				detach_walk(w, path, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		w->n_files++;
		if (bpf_detach_one(path, NULL, &step)) {
			w->n_got++;
			w->n_detached++;
			continue;
		}
		if (strcmp(step, "link_detach") == 0) {
			w->n_got++;
			walk_err(w, 3, errno);
		} else {
			walk_err(w, 2, errno);
		}
	}
	(void)closedir(d);
}

static int
atk_bpf_detach_all(struct atk_res *r, int argc, char **argv)
{
	static const char *steps[] = {"walk", "walk", "obj_get", "link_detach"};
	struct detach_walk w = {0};

	(void)argc;
	detach_walk(&w, argv[0], 0);
	res_add(r, "files=%d got=%d detached=%d", w.n_files, w.n_got, w.n_detached);
	if (w.n_detached)
		return 0;
	errno = w.err_level ? w.err : ENOENT;
	return res_fail(r, steps[w.err_level]);
}

/* One object kind: GET_NEXT_ID from 0, then GET_FD_BY_ID.  Returns 1 if an fd was got. */
static int
bpf_getid_one(struct atk_res *r, const char *kind, int next_cmd, int fd_cmd, int *ret_err)
{
	union bpf_attr attr;
	uint32_t id;
	int fd;

	memset(&attr, 0, sizeof(attr));
	if (sys_bpf(next_cmd, &attr) < 0) {
		*ret_err = errno;
		res_add(r, "%s_next=%s", kind, ename(errno));
		return 0;
	}
	id = attr.next_id;
	memset(&attr, 0, sizeof(attr));
	attr.link_id = id; /* the same union member as prog_id */
	fd = (int)sys_bpf(fd_cmd, &attr);
	if (fd < 0) {
		*ret_err = errno;
		res_add(r, "%s_id=%u %s_fd=%s", kind, id, kind, ename(errno));
		return 0;
	}
	res_add(r, "%s_id=%u %s_fd=ok", kind, id, kind);
	(void)close(fd);
	return 1;
}

static int
atk_bpf_getid(struct atk_res *r, int argc, char **argv)
{
	int e_link = 0, e_prog = 0, got;

	(void)argc;
	(void)argv;
	got = bpf_getid_one(r, "link", BPF_LINK_GET_NEXT_ID, BPF_LINK_GET_FD_BY_ID, &e_link);
	got |= bpf_getid_one(r, "prog", BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID, &e_prog);
	if (!got)
		r->err = e_link ? e_link : e_prog;
	return 0;
}

static int
atk_bpf_pin_link(struct atk_res *r, int argc, char **argv)
{
	/* r0 = 1 (pass); exit */
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;
	int prog_fd, cg_fd = -1, link_fd = -1;

	(void)argc;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_SKB;
	attr.expected_attach_type = BPF_CGROUP_INET_EGRESS;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (uintptr_t) "GPL";
	prog_fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (prog_fd < 0)
		return res_fail(r, "prog_load");
	cg_fd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		res_fail(r, "open-cgroup");
		goto out;
	}
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (uint32_t)prog_fd;
	attr.link_create.target_fd = (uint32_t)cg_fd;
	attr.link_create.attach_type = BPF_CGROUP_INET_EGRESS;
	link_fd = (int)sys_bpf(BPF_LINK_CREATE, &attr);
	if (link_fd < 0) {
		res_fail(r, "link_create");
		goto out;
	}
	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uintptr_t)argv[1];
	attr.bpf_fd = (uint32_t)link_fd;
	if (sys_bpf(BPF_OBJ_PIN, &attr) < 0)
		res_fail(r, "obj_pin");
out:
	if (link_fd >= 0)
		(void)close(link_fd);
	if (cg_fd >= 0)
		(void)close(cg_fd);
	(void)close(prog_fd);
	return 0;
}

/* The cgroup attacks. */

static void
res_add_cgroup(struct atk_res *r)
{
	char line[PATH_MAX + 8];
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f) {
		res_add(r, "cgroup=%s", ename(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			res_add(r, "cgroup=%s", line + 3);
			break;
		}
	}
	(void)fclose(f);
}

static int
write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", getpid());

	return write(fd, buf, (size_t)n) == n ? 0 : -1;
}

static int
atk_cgroup_escape(struct atk_res *r, int argc, char **argv)
{
	int fd;

	(void)argc;
	fd = open(argv[0], O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		res_fail(r, "open");
	} else {
		if (write_pid(fd) < 0)
			res_fail(r, "write");
		(void)close(fd);
	}
	res_add_cgroup(r);
	return 0;
}

static int
atk_cgroup_escape_handle(struct atk_res *r, int argc, char **argv)
{
	struct file_handle *fh;
	uint64_t id = 1;
	long long v;
	char *end;
	int mnt_fd, dir_fd = -1, procs_fd = -1, mount_id;

	if (argc > 1) {
		errno = 0;
		v = strtoll(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || v < 1)
			return -1;
		id = (uint64_t)v;
	}
	fh = calloc(1, sizeof(*fh) + MAX_HANDLE_SZ);
	if (!fh)
		return res_fail(r, "calloc");
	mnt_fd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mnt_fd < 0) {
		res_fail(r, "open-mount");
		goto out;
	}
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(mnt_fd, "", fh, &mount_id, AT_EMPTY_PATH) < 0) {
		res_fail(r, "name_to_handle_at");
		goto out;
	}
	res_add(r, "type=0x%x", (unsigned)fh->handle_type);
	/* kernfs (FILEID_KERNFS) handles are the node's 64-bit id: the cgroup id. */
	if (fh->handle_bytes != sizeof(id)) {
		errno = EOPNOTSUPP;
		res_fail(r, "handle-size");
		goto out;
	}
	memcpy(fh->f_handle, &id, sizeof(id));
	dir_fd = open_by_handle_at(mnt_fd, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		res_fail(r, "open_by_handle_at");
		goto out;
	}
	procs_fd = openat(dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (procs_fd < 0) {
		res_fail(r, "open-procs");
		goto out;
	}
	if (write_pid(procs_fd) < 0)
		res_fail(r, "write-procs");
out:
	res_add_cgroup(r);
	if (procs_fd >= 0)
		(void)close(procs_fd);
	if (dir_fd >= 0)
		(void)close(dir_fd);
	if (mnt_fd >= 0)
		(void)close(mnt_fd);
	free(fh);
	return 0;
}

/* Identity and environment. */

static int
atk_setuid(struct atk_res *r, int argc, char **argv)
{
	struct passwd *pw;
	long v;
	uid_t uid;
	gid_t gid;

	if (strcmp(argv[1], "--") != 0)
		return -1;
	pw = getpwnam(argv[0]);
	if (pw) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else if (parse_int(argv[0], 0, INT_MAX, &v) == 0) {
		uid = (uid_t)v;
		gid = (gid_t)v;
	} else {
		return -1;
	}
	if (setgroups(0, NULL) < 0)
		return res_fail(r, "setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return res_fail(r, "setresgid");
	if (setresuid(uid, uid, uid) < 0)
		return res_fail(r, "setresuid");
	return atk_run(r, argc - 2, argv + 2);
}

static int
atk_mounts(struct atk_res *r, int argc, char **argv)
{
	char line[4096], found[ATK_DETAIL_MAX / 2] = "", *sep, mnt[PATH_MAX], fstype[64];
	FILE *f;

	(void)argc;
	(void)argv;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return res_fail(r, "open");
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
	while (fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (strcmp(fstype, "bpf") != 0 && strcmp(fstype, "cgroup2") != 0 &&
		    strcmp(fstype, "cgroup") != 0)
			continue;
		str_add(found, sizeof(found), ",", "%s:%s", fstype, mnt);
	}
	(void)fclose(f);
	if (!found[0]) {
		r->err = ENOENT;
		return 0;
	}
	res_add(r, "mounts=%s", found);
	return 0;
}

static int
atk_caps(struct atk_res *r, int argc, char **argv)
{
	static const char *keys[] = {"CapEff:", "NoNewPrivs:", "Seccomp:"};
	char line[256], *v;
	FILE *f;
	size_t i;

	(void)argc;
	(void)argv;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return res_fail(r, "open");
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strncmp(line, keys[i], strlen(keys[i])) != 0)
				continue;
			v = line + strlen(keys[i]);
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			res_add(r, "%.*s=%s", (int)strlen(keys[i]) - 1, keys[i], v);
			if (i == 0)
				res_add(r, "uid=%u", (unsigned)getuid());
		}
	}
	(void)fclose(f);
	return 0;
}

static const struct atk_cmd atk_cmds[] = {
    {"tcp", 2, 2, "IP PORT", atk_tcp},
    {"udp", 2, 2, "IP PORT", atk_udp},
    {"sendmmsg", 2, 2, "IP PORT", atk_sendmmsg},
    {"tfo", 2, 2, "IP PORT", atk_tfo},
    {"uring-connect", 2, 2, "IP PORT", atk_uring_connect},
    {"uring-sendmsg", 2, 2, "IP PORT", atk_uring_sendmsg},
    {"raw", 1, 2, "IP [PORT]", atk_raw},
    {"ping", 1, 1, "IP", atk_ping},
    {"rawicmp", 1, 1, "IP", atk_rawicmp},
    {"packet", 4, 5, "IFNAME SRCIP DSTIP DSTPORT [DSTMAC]", atk_packet},
    {"ptrace", 1, 1, "PID", atk_ptrace},
    {"procmem", 1, 1, "PID", atk_procmem},
    {"getfd", 2, 2, "PID FD|all", atk_getfd},
    {"kill", 2, 2, "PID SIG", atk_kill},
    {"bpf-detach", 1, 1, "PINPATH", atk_bpf_detach},
    {"bpf-detach-all", 1, 1, "DIR", atk_bpf_detach_all},
    {"bpf-getid", 0, 0, "", atk_bpf_getid},
    {"bpf-pin-link", 2, 2, "CGROUPDIR PINPATH", atk_bpf_pin_link},
    {"cgroup-escape", 1, 1, "CGROUP.PROCS", atk_cgroup_escape},
    {"cgroup-escape-handle", 1, 2, "CGROUP2DIR [ID]", atk_cgroup_escape_handle},
    {"setuid", 3, -1, "USER|UID -- SUBCOMMAND ARGS...", atk_setuid},
    {"mounts", 0, 0, "", atk_mounts},
    {"caps", 0, 0, "", atk_caps},
    {NULL, 0, 0, NULL, NULL},
};

/* Returns -1 on a usage error (nothing was tried), else 0 with r filled in. */
static int
atk_run(struct atk_res *r, int argc, char **argv)
{
	const struct atk_cmd *c;

	if (argc < 1)
		return -1;
	for (c = atk_cmds; c->name; c++) {
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		if (argc - 1 < c->min_args || (c->max_args >= 0 && argc - 1 > c->max_args))
			return -1;
		errno = 0;
		return c->fn(r, argc - 1, argv + 1);
	}
	return -1;
}

int
main(int argc, char **argv)
{
	const struct atk_cmd *c;
	struct atk_res r;
	const char *result = "ok";

	memset(&r, 0, sizeof(r));
	if (atk_run(&r, argc - 1, argv + 1) < 0) {
		fprintf(stderr, "usage: attack SUBCOMMAND ARGS...\n");
		for (c = atk_cmds; c->name; c++)
			fprintf(stderr, "  %s%s%s\n", c->name, c->usage[0] ? " " : "", c->usage);
		return 2;
	}
	if (r.err == ATK_TIMEOUT)
		result = "TIMEOUT";
	else if (r.err)
		result = ename(r.err);
	printf("pid=%d tid=%d result=%s%s%s\n", getpid(), gettid(), result, r.detail[0] ? " " : "",
	    r.detail);
	return fflush(stdout) == 0 ? 0 : 1;
}
