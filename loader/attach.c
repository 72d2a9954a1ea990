// SPDX-License-Identifier: MIT
/*
 * Finding the cgroup, loading the skeleton, filling the policy maps and
 * attaching every program with a bpf_link.
 *
 * Fail closed: each link is pinned in bpffs (/sys/fs/bpf/cgfw/<cgroup id>/),
 * so if the loader dies the programs stay attached and the workload stays
 * filtered (nothing new is admitted, nothing is reported) until someone
 * removes the pins.  A clean exit unpins them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "lib/bpfmap.h"
#include "lib/handover.h"
#include "lib/log.h"
#include "lib/polmaps.h"
#include "egress.skel.h"
#include "exec.skel.h"
#include "loader.h"

#define BPFFS_DIR "/sys/fs/bpf"

/* Our own cgroup2 path ("0::/path" in /proc/self/cgroup). */
int
cgroup_self_path(char *buf, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (strncmp(line, "0::", 3) != 0)
			continue;
		n = strcspn(line + 3, "\n");
		if (n >= len) {
			r = -ENAMETOOLONG;
			break;
		}
		memcpy(buf, line + 3, n);
		buf[n] = '\0';
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/*
 * Open PATH as a cgroup2 directory: either a full path under the mount or a
 * path relative to it.  Returns an O_RDONLY|O_DIRECTORY fd.
 */
int
cgroup_open_target(const char *mnt, const char *path, char *ret_path, size_t len)
{
	char full[PATH_MAX];
	struct statfs sfs;
	size_t ml = strlen(mnt);
	int fd, n;

	if (strncmp(path, mnt, ml) == 0 && (path[ml] == '/' || path[ml] == '\0'))
		n = snprintf(full, sizeof(full), "%s", path);
	else
		n = snprintf(full, sizeof(full), "%s/%s", mnt, path[0] == '/' ? path + 1 : path);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -ENAMETOOLONG;
	fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		(void)close(fd);
		return -ENOTDIR;
	}
	snprintf(ret_path, len, "%s", full);
	return fd;
}

int
bpffs_ensure(void)
{
	struct statfs sfs;

	if (statfs(BPFFS_DIR, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", BPFFS_DIR, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return -errno;
	return 0;
}

/* The policy slots' maps and the switch, by fd (lib/polmaps.h). */
static void
loader_bpf_polmaps(const struct loader_bpf *b, struct polmaps *m)
{
	m->allow[0] = bpf_map__fd(b->skel->maps.cgfw_allow_v4);
	m->allow[1] = bpf_map__fd(b->skel->maps.cgfw_allow_b);
	m->cidr[0] = bpf_map__fd(b->skel->maps.cgfw_cidr_v4);
	m->cidr[1] = bpf_map__fd(b->skel->maps.cgfw_cidr_b);
	m->gen_cfg = bpf_map__fd(b->skel->maps.cgfw_gen_cfg);
	m->gen = bpf_map__fd(b->skel->maps.cgfw_gen);
	m->debug = b->debug;
}

/*
 * The policy maps hold what the input needs (at least the defaults of
 * bpf/egress.h, so small policies load as they always did), up to
 * CGFW_POLICY_MAP_MAX; the loader refused more already, naming the files.
 * Only a reload (attach) brings other entries, into slot b: `run` never
 * reloads, so its slot-a maps hold exactly the policy and its slot b one
 * entry each (a hash map's buckets are allocated and initialised with it,
 * even without preallocation: a millisecond or two per 65,536).
 */
static int
size_maps(
    struct egress *skel, const struct cgfw_policy *pol, int reloadable, char *err, size_t err_len)
{
	__u32 n_ip4 = reloadable ? CGFW_ALLOW_V4_MAX : 1,
	      n_cidr4 = reloadable ? CGFW_CIDR_V4_MAX : 1;
	__u32 n_b_ip4, n_b_cidr4;
	int r;

	if (pol->n_ip4 > CGFW_POLICY_MAP_MAX || pol->n_cidr4 > CGFW_POLICY_MAP_MAX) {
		snprintf(err, err_len,
		    "%zu IP and %zu CIDR entries: over the limit of %u per policy map", pol->n_ip4,
		    pol->n_cidr4, CGFW_POLICY_MAP_MAX);
		return -E2BIG;
	}
	if (pol->n_ip4 > n_ip4)
		n_ip4 = (__u32)pol->n_ip4;
	if (pol->n_cidr4 > n_cidr4)
		n_cidr4 = (__u32)pol->n_cidr4;
	/* Both slots alike: a reload may bring as many entries as the start did. */
	n_b_ip4 = reloadable ? n_ip4 : 1;
	n_b_cidr4 = reloadable ? n_cidr4 : 1;
	r = bpf_map__set_max_entries(skel->maps.cgfw_allow_v4, n_ip4);
	if (r == 0)
		r = bpf_map__set_max_entries(skel->maps.cgfw_allow_b, n_b_ip4);
	if (r == 0)
		r = bpf_map__set_max_entries(skel->maps.cgfw_cidr_v4, n_cidr4);
	if (r == 0)
		r = bpf_map__set_max_entries(skel->maps.cgfw_cidr_b, n_b_cidr4);
	if (r < 0)
		snprintf(err, err_len, "cannot size the policy maps: %s", strerror(-r));
	return r;
}

/*
 * Preallocated LRU maps are most of what the BPF start-up costs (the kernel
 * touches every element of them: cgfw_argv is 16,384 x 1 KiB), and none of
 * it depends on anything the loader works out later.  So the loader calls
 * loader_bpf_prestart() as soon as the policy compiler is forked (compile.c),
 * which starts two threads while the helper compiles and the loader looks
 * up users and makes the cgroups:
 *   - the exec program's: the kernel's BTF read for three offsets (kbtf.c)
 *     and exec.bpf.c loaded, cgfw_argv with it;
 *   - the egress maps' of fixed size (cgfw_learned_v4 and _b, cgfw_peers,
 *     cgfw_events): created from their rows of bpf/cgfw_defs.h, as libbpf
 *     would create them but without their BTF (none of their values has a
 *     field the kernel needs BTF for), and handed to the skeleton with
 *     bpf_map__reuse_fd() before egress__load().
 * loader_bpf_setup() waits for each where it needs it; whatever a thread
 * could not make is made there as before, so a failure says the same.
 * Safe with libbpf: the threads share no bpf_object, and what libbpf keeps
 * globally (its feature probes, read and written with READ_ONCE/WRITE_ONCE,
 * the print callback, the memlock bump) gives the same answer whichever
 * thread gets there first.  Nothing is attached by them.  They start with
 * every signal blocked, so none lands on them (main() blocks its own later:
 * signals_block()).  No process is forked while they run: every later
 * fork (helper_start(), query_run()) joins them first
 * (loader_bpf_prestart_join()), so no child is a copy of a process with
 * threads holding locks.  An exit while they run waits for them
 * (prestart_at_exit()).  Every capability drop comes after loader_bpf_setup(), which joins
 * both: no thread keeps a capability the loader gave up.
 */
struct exec_load {
	pthread_t tid;
	int started; /* tid is to be joined */
	struct execargv *skel;
	int err;          /* -errno when skel is NULL */
	const char *what; /* and what failed */
};

/* The egress maps made ahead, by their row in bpf/cgfw_defs.h. */
static const enum cgfw_map pre_maps[] = {
    CGFW_MAP_LEARNED_V4, CGFW_MAP_LEARNED_B, CGFW_MAP_PEERS, CGFW_MAP_EVENTS};
#define PRE_N (sizeof(pre_maps) / sizeof(pre_maps[0]))

struct maps_load {
	pthread_t tid;
	int started;         /* tid is to be joined */
	int reloadable;      /* attach: a reload may use slot b */
	int fds[CGFW_MAP_N]; /* < 0: not made (libbpf makes it at load) */
};

static struct bpf_prestart {
	int done;  /* loader_bpf_prestart() ran */
	pid_t pid; /* the process whose threads they are (not a forked helper) */
	struct exec_load ex;
	struct maps_load maps;
} pre;

static void *
exec_load_run(void *arg)
{
	struct exec_load *e = arg;
	struct kbtf_exec_off off;
	struct execargv *skel;
	int r;

	r = kbtf_exec_offsets(&off);
	if (r < 0) {
		e->err = r;
		e->what = "cannot find task->mm and mm->arg_start in the kernel's BTF "
		          "(/sys/kernel/btf/vmlinux)";
		return NULL;
	}
	skel = execargv__open();
	if (!skel) {
		e->err = -(errno ? errno : EINVAL);
		e->what = "cannot open the exec program";
		return NULL;
	}
	skel->rodata->cgfw_off_task_mm = off.task_mm;
	skel->rodata->cgfw_off_mm_arg_start = off.mm_arg_start;
	skel->rodata->cgfw_off_mm_arg_end = off.mm_arg_end;
	r = execargv__load(skel);
	if (r < 0) {
		execargv__destroy(skel);
		e->err = r;
		e->what = "cannot load the exec program";
		return NULL;
	}
	e->skel = skel;
	return NULL;
}

/*
 * The slot-b policy maps serve only a reload (SIGHUP to attach): `run` never
 * reloads, so its cgfw_learned_b has one entry, not 65,536 preallocated.
 */
static __u32
pre_max_entries(enum cgfw_map m, int reloadable)
{
	return m == CGFW_MAP_LEARNED_B && !reloadable ? 1 : cgfw_map_specs[m].max_entries;
}

static void *
maps_load_run(void *arg)
{
	struct maps_load *m = arg;

	for (size_t i = 0; i < PRE_N; i++) {
		const struct bpfmap_spec *spec = &cgfw_map_specs[pre_maps[i]];

		/* Failed (< 0): libbpf tries again at load, saying why. */
		m->fds[pre_maps[i]] = bpf_map_create(spec->type, spec->name, spec->key_size,
		    spec->value_size, pre_max_entries(pre_maps[i], m->reloadable), NULL);
	}
	return NULL;
}

/* pthread_create() with every signal blocked in the new thread; 1 if it started. */
static int
thread_start(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(tid, NULL, fn, arg);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r == 0;
}

static void
thread_join(pthread_t tid, const char *what)
{
	int r = pthread_join(tid, NULL);

	if (r != 0)
		fatalx("cannot join the %s thread: %s", what, strerror(r));
}

static void prestart_at_exit(void);

void
loader_bpf_prestart(int reloadable)
{
	if (pre.done)
		return;
	memset(&pre, 0, sizeof(pre));
	pre.done = 1;
	pre.pid = getpid();
	if (atexit(prestart_at_exit) != 0)
		fatalx("atexit");
	pre.maps.reloadable = reloadable;
	for (int i = 0; i < CGFW_MAP_N; i++)
		pre.maps.fds[i] = -1;
	/* No thread (cannot happen but for ENOMEM/EAGAIN): made in loader_bpf_setup(). */
	pre.ex.started = thread_start(&pre.ex.tid, exec_load_run, &pre.ex);
	pre.maps.started = thread_start(&pre.maps.tid, maps_load_run, &pre.maps);
}

/*
 * Both threads joined, their results kept for loader_bpf_setup().  From an
 * exit handler (at_exit) a failed join is not fatal: the exit goes on.
 */
static void
prestart_join(int at_exit)
{
	if (!pre.done || getpid() != pre.pid)
		return;
	/* started goes at once: a failed join exits, and the exit handler must not join again. */
	if (pre.ex.started) {
		pre.ex.started = 0;
		if (at_exit)
			(void)pthread_join(pre.ex.tid, NULL);
		else
			thread_join(pre.ex.tid, "exec program's loader");
	}
	if (pre.maps.started) {
		pre.maps.started = 0;
		if (at_exit)
			(void)pthread_join(pre.maps.tid, NULL);
		else
			thread_join(pre.maps.tid, "BPF maps'");
	}
}

/*
 * An exit (a fatal error, a bad list) while the threads still work waits for
 * them: nothing of theirs is cut off in the middle (a sanitizer build would
 * call their buffers leaked).  Their results stay for the kernel to close.
 */
static void
prestart_at_exit(void)
{
	prestart_join(1);
}

/*
 * Before any fork while they may run.  A child forked from a process whose
 * threads hold a lock (the sanitizers' allocator, at least) can wait on it
 * forever: check-san once saw the CA's helper hang that way.
 */
void
loader_bpf_prestart_join(void)
{
	prestart_join(0);
}

/* The loaded skeleton (the caller owns it), or NULL and -errno in *ret_err. */
static struct execargv *
exec_load_wait(struct exec_load *e, int *ret_err, const char **ret_what)
{
	struct execargv *skel;

	if (e->started) {
		thread_join(e->tid, "exec program's loader");
		e->started = 0;
	} else if (!e->skel && !e->err) {
		(void)exec_load_run(e);
	}
	skel = e->skel;
	*ret_err = e->err;
	*ret_what = e->what ? e->what : "cannot load the exec program";
	e->skel = NULL;
	e->err = -EALREADY;
	return skel;
}

/* The maps made ahead (if any) handed to the skeleton, theirs to keep. */
static int
maps_load_take(struct maps_load *m, struct egress *skel, char *err, size_t err_len)
{
	struct bpf_map *maps[CGFW_MAP_N] = {[CGFW_MAP_LEARNED_V4] = skel->maps.cgfw_learned_v4,
	    [CGFW_MAP_LEARNED_B] = skel->maps.cgfw_learned_b,
	    [CGFW_MAP_PEERS] = skel->maps.cgfw_peers,
	    [CGFW_MAP_EVENTS] = skel->maps.cgfw_events};
	int r = 0;

	if (m->started) {
		thread_join(m->tid, "BPF maps'");
		m->started = 0;
	}
	for (size_t i = 0; i < PRE_N; i++) {
		enum cgfw_map id = pre_maps[i];

		if (m->fds[id] < 0) {
			/* libbpf makes it, the size as the thread would have. */
			if (r == 0 && id == CGFW_MAP_LEARNED_B)
				r = bpf_map__set_max_entries(
				    maps[id], pre_max_entries(id, m->reloadable));
			continue;
		}
		if (r == 0)
			r = bpf_map__reuse_fd(maps[id], m->fds[id]);
		(void)close(m->fds[id]); /* libbpf holds its own copy */
		m->fds[id] = -1;
	}
	if (r < 0)
		snprintf(err, err_len, "cannot set up the BPF maps: %s", strerror(-r));
	return r;
}

/* Whatever loader_bpf_prestart() made and loader_bpf_setup() did not take. */
static void
prestart_release(void)
{
	if (pre.ex.started) {
		thread_join(pre.ex.tid, "exec program's loader");
		pre.ex.started = 0;
	}
	execargv__destroy(pre.ex.skel);
	pre.ex.skel = NULL;
	if (pre.maps.started) {
		thread_join(pre.maps.tid, "BPF maps'");
		pre.maps.started = 0;
	}
	for (int i = 0; i < CGFW_MAP_N; i++) {
		if (pre.maps.fds[i] >= 0)
			(void)close(pre.maps.fds[i]);
		pre.maps.fds[i] = -1;
	}
}

/* argv at exec for the cgroup's processes: a global hook filtered by cgroup. */
static int
exec_setup(struct loader_bpf *b, struct exec_load *e, int cgroup_fd, char *err, size_t err_len)
{
	const char *what;
	char pin[320];
	__u32 zero = 0;
	int r;

	b->exec = exec_load_wait(e, &r, &what);
	if (!b->exec) {
		snprintf(err, err_len, "%s: %s", what, strerror(-r));
		return r;
	}
	if (bpf_map_update_elem(
	        bpf_map__fd(b->exec->maps.cgfw_target), &zero, &cgroup_fd, BPF_ANY) < 0) {
		r = -errno;
		snprintf(err, err_len, "cannot set the exec program's cgroup: %s", strerror(-r));
		return r;
	}
	b->exec_link = bpf_program__attach(b->exec->progs.exec_argv);
	if (!b->exec_link) {
		r = -errno;
		snprintf(err, err_len, "cannot attach exec_argv: %s", strerror(-r));
		return r;
	}
	snprintf(pin, sizeof(pin), "%s/exec_argv", b->pin_dir);
	r = bpf_link__pin(b->exec_link, pin);
	if (r < 0) {
		snprintf(err, err_len, "cannot pin %s: %s", pin, strerror(-r));
		return r;
	}
	return 0;
}

int
loader_bpf_setup(struct loader_bpf *b, const struct cgfw_policy *pol,
    const struct loader_bpf_cfg *cfg, int cgroup_fd, unsigned long long cgroup_id, char *err,
    size_t err_len)
{
	struct bpf_program *progs[LOADER_N_PROGS];
	int r;

	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = BPFFS_DIR "/cgfw");
	char stale[256] = "";
	__u8 one = 1;

	memset(b, 0, sizeof(*b));
	loader_bpf_prestart(1); /* compile.c did, unless some caller did not */
	/* cgfw_exempt is pinned there, shared by every instance: the directory first. */
	if (mkdir(BPFFS_DIR "/cgfw", 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, err_len, "cannot create " BPFFS_DIR "/cgfw: %s", strerror(-r));
		goto out;
	}
	b->skel = egress__open_opts(&oo);
	if (!b->skel) {
		r = -errno;
		snprintf(err, err_len, "cannot open the BPF object: %s", strerror(-r));
		goto out;
	}
	b->debug = cfg->debug;
	b->skel->rodata->cgfw_emit_loopback = cfg->debug;
	b->skel->rodata->cgfw_dns_ip4 = cfg->dns_ip4;
	b->skel->rodata->cgfw_dns_port = cfg->dns_port;
	b->skel->rodata->cgfw_http_ip4 = cfg->http_ip4;
	b->skel->rodata->cgfw_http_port = cfg->http_port;
	b->skel->rodata->cgfw_allow_raw = (__u8)cfg->allow_raw;
	r = size_maps(b->skel, pol, pre.maps.reloadable, err, err_len);
	if (r == 0)
		r = maps_load_take(&pre.maps, b->skel, err, err_len);
	if (r < 0)
		goto out;

	r = egress__load(b->skel);
	if (r < 0) {
		snprintf(err, err_len,
		    "cannot load the BPF programs (kernel too old or BPF "
		    "restricted?): %s",
		    strerror(-r));
		goto out;
	}
	/* Generation 0 (cgfw_gen is 0 from the start): slot 0. */
	{
		struct polmaps m;

		loader_bpf_polmaps(b, &m);
		r = polmaps_fill(&m, 0, pol);
	}
	if (r < 0) {
		snprintf(err, err_len,
		    "cannot fill the policy maps (%zu IP entries in a map of %u, %zu CIDR entries in "
		    "a map of %u): %s",
		    pol->n_ip4, bpf_map__max_entries(b->skel->maps.cgfw_allow_v4), pol->n_cidr4,
		    bpf_map__max_entries(b->skel->maps.cgfw_cidr_v4), strerror(-r));
		goto out;
	}
	b->exempt_id = cfg->exempt_cgroup_id;
	if (bpf_map_update_elem(
	        bpf_map__fd(b->skel->maps.cgfw_exempt), &b->exempt_id, &one, BPF_ANY) < 0) {
		r = -errno;
		b->exempt_id = 0;
		snprintf(err, err_len, "cannot exempt the workers' cgroup: %s", strerror(-r));
		goto out;
	}

	snprintf(b->pin_dir, sizeof(b->pin_dir), BPFFS_DIR "/cgfw/%llu", cgroup_id);
	/*
	 * The caller holds this cgroup's instance lock (instances.c): pins that
	 * exist are a dead loader's.  They go only after ours are attached (in
	 * <id>-new, renamed over; bpffs refuses dots), so the cgroup is never
	 * unfiltered meanwhile.
	 */
	r = mkdir(b->pin_dir, 0700) < 0 ? -errno : 0;
	if (r == -EEXIST) {
		log_warnx("replacing the pins of a cgfw that died (%s)", b->pin_dir);
		snprintf(stale, sizeof(stale), "%s", b->pin_dir);
		snprintf(b->pin_dir, sizeof(b->pin_dir), BPFFS_DIR "/cgfw/%llu-new", cgroup_id);
		(void)instance_unpin(b->pin_dir); /* a replacement that died too */
		r = mkdir(b->pin_dir, 0700) < 0 ? -errno : 0;
	}
	if (r < 0) {
		snprintf(err, err_len, "cannot create %s: %s", b->pin_dir, strerror(-r));
		b->pin_dir[0] = '\0';
		goto out;
	}

	progs[0] = b->skel->progs.egress_connect4;
	progs[1] = b->skel->progs.egress_sendmsg4;
	progs[2] = b->skel->progs.egress_connect6;
	progs[3] = b->skel->progs.egress_sendmsg6;
	progs[4] = b->skel->progs.egress_skb;
	progs[5] = b->skel->progs.egress_recvmsg4;
	progs[6] = b->skel->progs.egress_getpeername4;
	progs[7] = b->skel->progs.egress_recvmsg6;
	progs[8] = b->skel->progs.egress_getpeername6;
	progs[9] = b->skel->progs.egress_sock_create;
	for (int i = 0; i < LOADER_N_PROGS; i++) {
		char pin[320];

		b->links[i] = bpf_program__attach_cgroup(progs[i], cgroup_fd);
		if (!b->links[i]) {
			r = -errno;
			snprintf(err, err_len, "cannot attach %s to the cgroup: %s",
			    bpf_program__name(progs[i]), strerror(-r));
			goto out;
		}
		snprintf(pin, sizeof(pin), "%s/%s", b->pin_dir, bpf_program__name(progs[i]));
		r = bpf_link__pin(b->links[i], pin);
		if (r < 0) {
			snprintf(err, err_len, "cannot pin %s: %s", pin, strerror(-r));
			goto out;
		}
		b->n_pinned++;
	}
	r = exec_setup(b, &pre.ex, cgroup_fd, err, err_len);
	if (r == 0 && stale[0]) {
		r = instance_unpin(stale);
		if (r == 0)
			r = rename(b->pin_dir, stale) < 0 ? -errno : 0;
		if (r < 0)
			snprintf(err, err_len, "cannot replace stale %s: %s", stale, strerror(-r));
		else
			snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", stale);
	}
out:
	/* Failed before exec_setup() or maps_load_take() took them: they just go. */
	prestart_release();
	if (r < 0)
		loader_bpf_teardown(b);
	return r;
}

void
loader_bpf_teardown(struct loader_bpf *b)
{
	/* The pins by directory: a replaced instance's were renamed under them. */
	if (b->pin_dir[0]) {
		int r = instance_unpin(b->pin_dir);

		if (r < 0)
			log_warn_r(r, "cannot remove %s", b->pin_dir);
	}
	b->pin_dir[0] = '\0';
	for (int i = 0; i < LOADER_N_PROGS; i++) {
		bpf_link__destroy(b->links[i]);
		b->links[i] = NULL;
	}
	b->n_pinned = 0;
	bpf_link__destroy(b->exec_link);
	b->exec_link = NULL;
	execargv__destroy(b->exec);
	b->exec = NULL;
	if (b->exempt_id)
		(void)bpf_map_delete_elem(bpf_map__fd(b->skel->maps.cgfw_exempt), &b->exempt_id);
	b->exempt_id = 0;
	egress__destroy(b->skel);
	b->skel = NULL;
}

/* A fresh read-only fd for a map (opening by id needs CAP_SYS_ADMIN: before the drop). */
static int
map_fd_rdonly(int fd)
{
	struct bpf_get_fd_by_id_opts ro = {.sz = sizeof(ro), .open_flags = BPF_F_RDONLY};
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	fd = bpf_map_get_fd_by_id_opts(info.id, &ro);
	return fd < 0 ? -errno : fd;
}

/*
 * The map fds cgfw-supervisor gets (lib/handover.h): the maps the workers
 * only read as fresh read-only fds, made here, while CAP_SYS_ADMIN lasts.
 */
int
loader_bpf_handover(const struct loader_bpf *b, int *map)
{
	for (int i = 0; i < HO_MAP_N; i++)
		map[i] = -1;
	map[HO_MAP_RINGBUF] = bpf_map__fd(b->skel->maps.cgfw_events);
	map[HO_MAP_LEARNED_A] = bpf_map__fd(b->skel->maps.cgfw_learned_v4);
	map[HO_MAP_LEARNED_B] = bpf_map__fd(b->skel->maps.cgfw_learned_b);
	map[HO_MAP_ALLOW_A] = bpf_map__fd(b->skel->maps.cgfw_allow_v4);
	map[HO_MAP_ALLOW_B] = bpf_map__fd(b->skel->maps.cgfw_allow_b);
	map[HO_MAP_CIDR_A] = bpf_map__fd(b->skel->maps.cgfw_cidr_v4);
	map[HO_MAP_CIDR_B] = bpf_map__fd(b->skel->maps.cgfw_cidr_b);
	map[HO_MAP_GEN_CFG] = bpf_map__fd(b->skel->maps.cgfw_gen_cfg);
	map[HO_MAP_GEN] = bpf_map__fd(b->skel->maps.cgfw_gen);
	map[HO_MAP_EXEMPT] = bpf_map__fd(b->skel->maps.cgfw_exempt);
	map[HO_MAP_STATS_RO] = map_fd_rdonly(bpf_map__fd(b->skel->maps.cgfw_stats));
	map[HO_MAP_ARGV_RO] = map_fd_rdonly(bpf_map__fd(b->exec->maps.cgfw_argv));
	map[HO_MAP_PEERS_RO] = map_fd_rdonly(bpf_map__fd(b->skel->maps.cgfw_peers));
	for (int i = 0; i < HO_MAP_N; i++)
		if (map[i] < 0)
			return map[i] == -1 ? -EBADF : map[i];
	return 0;
}
