// SPDX-License-Identifier: MIT
/*
 * The three offsets the exec program needs (bpf/exec.bpf.c: task->mm,
 * mm->arg_start, mm->arg_end), read straight from the kernel's BTF.
 *
 * libbpf would find them too (CO-RE, and tp_btf's attach target), but to do
 * so it reads /sys/kernel/btf/vmlinux 4 KiB per read() (sysfs), copies it
 * twice and indexes all ~130,000 types: 50 ms of every start on a quiet
 * machine, several times that on a busy one.  Here the file is mapped (a
 * kernel that cannot map it is read whole instead) and walked once, looking
 * only at structs and unions; nothing is copied.  Like libbpf 1.1, a kind
 * this reader does not know fails the walk (the loader says so and stops)
 * rather than guessing a record's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/btf.h>

#include "loader.h"

#define KBTF_PATH "/sys/kernel/btf/vmlinux"

struct kbtf {
	const uint8_t *types; /* the type section */
	uint32_t types_len;
	const char *strs;
	uint32_t strs_len;
	uint32_t *off; /* off[id]: the type's offset in types; id 0 is void */
	uint32_t n;    /* ids 1..n-1 */
};

static const char *
kbtf_name(const struct kbtf *k, uint32_t name_off)
{
	if (name_off >= k->strs_len)
		return NULL;
	/* The string section ends in a NUL (checked in kbtf_index()). */
	return k->strs + name_off;
}

static const struct btf_type *
kbtf_type(const struct kbtf *k, uint32_t id)
{
	if (id == 0 || id >= k->n)
		return NULL;
	return (const struct btf_type *)(k->types + k->off[id]);
}

/* Bytes after struct btf_type of a record of this kind, or -1: unknown kind. */
static long
kbtf_extra(const struct btf_type *t)
{
	uint32_t vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
		return sizeof(uint32_t);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * (long)sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * (long)sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * (long)sizeof(struct btf_param);
	case BTF_KIND_VAR:
		return sizeof(struct btf_var);
	case BTF_KIND_DATASEC:
		return (long)vlen * (long)sizeof(struct btf_var_secinfo);
	case BTF_KIND_DECL_TAG:
		return sizeof(struct btf_decl_tag);
	case BTF_KIND_ENUM64:
		return (long)vlen * (long)sizeof(struct btf_enum64);
	default:
		return -1;
	}
}

/* Check the header, then index every type record: -EPROTO if malformed. */
static int
kbtf_index(struct kbtf *k, const uint8_t *data, size_t size)
{
	const struct btf_header *h = (const void *)data;
	size_t cap = 1 << 17, pos = 0;

	if (size < sizeof(*h) || h->magic != BTF_MAGIC || h->version != BTF_VERSION ||
	    h->hdr_len < sizeof(*h) || h->hdr_len > size || h->hdr_len % 4 != 0 ||
	    (uint64_t)h->hdr_len + h->type_off + h->type_len > size ||
	    (uint64_t)h->hdr_len + h->str_off + h->str_len > size || h->str_len == 0 ||
	    h->type_off % 4 != 0)
		return -EPROTO;
	k->types = data + h->hdr_len + h->type_off;
	k->types_len = h->type_len;
	k->strs = (const char *)data + h->hdr_len + h->str_off;
	k->strs_len = h->str_len;
	if (k->strs[k->strs_len - 1] != '\0')
		return -EPROTO;
	k->off = malloc(cap * sizeof(*k->off));
	if (!k->off)
		return -ENOMEM;
	k->off[0] = 0;
	k->n = 1;
	while (pos < k->types_len) {
		const struct btf_type *t = (const void *)(k->types + pos);
		long extra;

		if (k->types_len - pos < sizeof(*t) || (extra = kbtf_extra(t)) < 0 ||
		    k->types_len - pos - sizeof(*t) < (size_t)extra)
			return -EPROTO;
		if (k->n == cap) {
			uint32_t *o = realloc(k->off, 2 * cap * sizeof(*k->off));

			if (!o)
				return -ENOMEM;
			k->off = o;
			cap *= 2;
		}
		k->off[k->n++] = (uint32_t)pos;
		pos += sizeof(*t) + (size_t)extra;
	}
	return 0;
}

/* id with typedefs and qualifiers peeled off (a bounded number of them). */
static const struct btf_type *
kbtf_resolve(const struct kbtf *k, uint32_t id)
{
	for (int depth = 0; depth < 32; depth++) {
		const struct btf_type *t = kbtf_type(k, id);

		if (!t)
			return NULL;
		switch (BTF_INFO_KIND(t->info)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			continue;
		default:
			return t;
		}
	}
	return NULL;
}

/*
 * The byte offset of member name in struct or union s, looking into its
 * anonymous struct and union members too (mm_struct keeps arg_start in
 * one), and the member's type; -ENOENT if none, -EPROTO if it is a bitfield.
 */
static long
kbtf_member(const struct kbtf *k, const struct btf_type *s, const char *name, int depth,
    const struct btf_type **ret_type)
{
	const struct btf_member *m = (const void *)(s + 1);
	uint32_t vlen = BTF_INFO_VLEN(s->info);

	if (depth > 8)
		return -ENOENT;
	for (uint32_t i = 0; i < vlen; i++) {
		uint32_t bits =
		    BTF_INFO_KFLAG(s->info) ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
		const char *mn = kbtf_name(k, m[i].name_off);

		if (!mn)
			return -EPROTO;
		if (mn[0] == '\0') {
			const struct btf_type *a = kbtf_resolve(k, m[i].type);
			long r;

			if (!a || (BTF_INFO_KIND(a->info) != BTF_KIND_STRUCT &&
			              BTF_INFO_KIND(a->info) != BTF_KIND_UNION))
				continue;
			r = kbtf_member(k, a, name, depth + 1, ret_type);
			if (r == -ENOENT)
				continue;
			if (r < 0 || bits % 8 != 0)
				return r < 0 ? r : -EPROTO;
			return r + bits / 8;
		}
		if (strcmp(mn, name) != 0)
			continue;
		if (bits % 8 != 0 ||
		    (BTF_INFO_KFLAG(s->info) && BTF_MEMBER_BITFIELD_SIZE(m[i].offset) != 0))
			return -EPROTO;
		*ret_type = kbtf_resolve(k, m[i].type);
		return *ret_type ? (long)(bits / 8) : -EPROTO;
	}
	return -ENOENT;
}

/* The struct named name (the first with members: not a forward declaration). */
static const struct btf_type *
kbtf_struct(const struct kbtf *k, const char *name)
{
	for (uint32_t id = 1; id < k->n; id++) {
		const struct btf_type *t = kbtf_type(k, id);
		const char *tn;

		if (BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT || BTF_INFO_VLEN(t->info) == 0)
			continue;
		tn = kbtf_name(k, t->name_off);
		if (tn && strcmp(tn, name) == 0)
			return t;
	}
	return NULL;
}

int
kbtf_find_offsets(const void *data, size_t size, struct kbtf_exec_off *ret)
{
	const struct btf_type *task, *mm, *ty;
	struct kbtf k = {0};
	long off;
	int r;

	r = kbtf_index(&k, data, size);
	if (r < 0)
		goto out;
	r = -ENOENT;
	task = kbtf_struct(&k, "task_struct");
	mm = kbtf_struct(&k, "mm_struct");
	if (!task || !mm)
		goto out;
	/* task->mm: a pointer; mm->arg_start, arg_end: unsigned long, 8 bytes read. */
	off = kbtf_member(&k, task, "mm", 0, &ty);
	if (off < 0 || BTF_INFO_KIND(ty->info) != BTF_KIND_PTR) {
		r = off < 0 ? (int)off : -EPROTO;
		goto out;
	}
	ret->task_mm = (uint32_t)off;
	off = kbtf_member(&k, mm, "arg_start", 0, &ty);
	if (off < 0 || BTF_INFO_KIND(ty->info) != BTF_KIND_INT || ty->size != 8) {
		r = off < 0 ? (int)off : -EPROTO;
		goto out;
	}
	ret->mm_arg_start = (uint32_t)off;
	off = kbtf_member(&k, mm, "arg_end", 0, &ty);
	if (off < 0 || BTF_INFO_KIND(ty->info) != BTF_KIND_INT || ty->size != 8) {
		r = off < 0 ? (int)off : -EPROTO;
		goto out;
	}
	ret->mm_arg_end = (uint32_t)off;
	r = 0;
out:
	free(k.off);
	return r;
}

/* The running kernel's offsets, from /sys/kernel/btf/vmlinux. */
int
kbtf_exec_offsets(struct kbtf_exec_off *ret)
{
	struct stat st = {0};
	void *data;
	size_t size;
	int fd, r, mapped = 1;

	fd = open(KBTF_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		r = st.st_size <= 0 ? -EPROTO : -errno;
		(void)close(fd);
		return r;
	}
	size = (size_t)st.st_size;
	data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED) {
		/* Kernels before 6.16 cannot map it: read it, as much per call as it gives. */
		size_t got = 0;

		mapped = 0;
		data = malloc(size);
		if (!data) {
			(void)close(fd);
			return -ENOMEM;
		}
		while (got < size) {
			ssize_t n = read(fd, (char *)data + got, size - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = n < 0 ? -errno : -EPROTO;
				free(data);
				(void)close(fd);
				return r;
			}
			got += (size_t)n;
		}
	}
	(void)close(fd);
	r = kbtf_find_offsets(data, size, ret);
	if (mapped)
		(void)munmap(data, size);
	else
		free(data);
	return r;
}
