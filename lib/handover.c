// SPDX-License-Identifier: MIT
/* The loader's hand-over to cgfw-supervisor (lib/handover.h): one struct in a sealed memfd. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/handover.h"
#include "lib/proc.h"

#define HANDOVER_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

const char *const worker_names[W_N] = {"cgfw-monitor", "cgfw-dnsproxy", "cgfw-httpproxy"};

const char *const handover_map_names[HO_MAP_N] = {
#define HANDOVER_MAP_NAME(id, name) [HO_MAP_##id] = name,
    HANDOVER_MAPS(HANDOVER_MAP_NAME)
#undef HANDOVER_MAP_NAME
};

const char *const handover_fd_names[HO_FD_N] = {
#define HANDOVER_FD_NAME(id) [HO_FD_##id] = #id,
    HANDOVER_FDS(HANDOVER_FD_NAME)
#undef HANDOVER_FD_NAME
};

int
handover_write(struct handover *h)
{
	int fd, r;

	h->magic = HANDOVER_MAGIC;
	h->version = HANDOVER_VERSION;
	h->size = sizeof(*h);
	fd = memfd_create("cgfw-handover", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = proc_write_all(fd, h, sizeof(*h));
	if (r == 0 && fcntl(fd, F_ADD_SEALS, HANDOVER_SEALS) < 0)
		r = -errno;
	if (r < 0) {
		(void)close(fd);
		return r;
	}
	return fd;
}

int
handover_read(int fd, struct handover *h)
{
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;

	if (seals < 0)
		return -errno;
	if ((seals & HANDOVER_SEALS) != HANDOVER_SEALS)
		return -EPERM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size != (off_t)sizeof(*h) || pread(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h))
		return -EBADMSG;
	if (h->magic != HANDOVER_MAGIC || h->version != HANDOVER_VERSION || h->size != sizeof(*h))
		return -EBADMSG;
	/* The strings end inside their arrays. */
	h->name[sizeof(h->name) - 1] = '\0';
	h->inst_dir[sizeof(h->inst_dir) - 1] = '\0';
	h->cg_path[sizeof(h->cg_path) - 1] = '\0';
	h->target[sizeof(h->target) - 1] = '\0';
	h->argv0[sizeof(h->argv0) - 1] = '\0';
	h->upstream_trust[sizeof(h->upstream_trust) - 1] = '\0';
	if (h->n_upstreams > HANDOVER_UPSTREAMS)
		return -EBADMSG;
	for (unsigned i = 0; i < HANDOVER_UPSTREAMS; i++)
		h->upstreams[i][HANDOVER_UPSTREAM_LEN - 1] = '\0';
	return 0;
}
