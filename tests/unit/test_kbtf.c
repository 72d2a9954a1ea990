// SPDX-License-Identifier: MIT
/*
 * kbtf_find_offsets() (loader/kbtf.c): the offsets the exec program reads
 * argv with are the ones libbpf's own BTF parser finds in the running
 * kernel's BTF, and a cut or corrupted BTF is refused, never over-read.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/btf.h>
#include <linux/btf.h>

#include "loader/loader.h"

#define VMLINUX "/sys/kernel/btf/vmlinux"

/* Offset in bytes of name in struct/union id, anonymous members included; -1 if none. */
static long
libbpf_member(const struct btf *btf, __u32 id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++) {
		const char *mn = btf__name_by_offset(btf, m[i].name_off);
		__u32 bits = btf_member_bit_offset(t, i);

		if (mn && mn[0] == '\0') {
			__u32 aid = btf__resolve_type(btf, m[i].type);
			const struct btf_type *a = btf__type_by_id(btf, aid);
			long r;

			if (!btf_is_composite(a))
				continue;
			r = libbpf_member(btf, aid, name);
			if (r >= 0)
				return r + bits / 8;
		} else if (mn && strcmp(mn, name) == 0) {
			return bits / 8;
		}
	}
	return -1;
}

static void *
read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);

	assert_non_null(f);
	assert_non_null(buf);
	for (;;) {
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (n < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
		assert_non_null(buf);
	}
	fclose(f);
	*ret_len = n;
	return buf;
}

static void
test_matches_libbpf(void **state)
{
	struct kbtf_exec_off off, off2;
	struct btf *btf;
	__s32 task, mm;

	(void)state;
	if (access(VMLINUX, R_OK) != 0)
		skip();
	btf = btf__load_vmlinux_btf();
	assert_non_null(btf);
	task = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	mm = btf__find_by_name_kind(btf, "mm_struct", BTF_KIND_STRUCT);
	assert_true(task > 0 && mm > 0);
	assert_int_equal(kbtf_exec_offsets(&off), 0);
	assert_int_equal(off.task_mm, libbpf_member(btf, (__u32)task, "mm"));
	assert_int_equal(off.mm_arg_start, libbpf_member(btf, (__u32)mm, "arg_start"));
	assert_int_equal(off.mm_arg_end, libbpf_member(btf, (__u32)mm, "arg_end"));
	assert_int_equal(off.mm_arg_end, off.mm_arg_start + 8);
	btf__free(btf);

	/* The read fallback (a kernel that cannot map the file) finds the same. */
	{
		size_t len;
		void *data = read_all(VMLINUX, &len);

		assert_int_equal(kbtf_find_offsets(data, len, &off2), 0);
		assert_memory_equal(&off, &off2, sizeof(off));
		free(data);
	}
}

static void
test_malformed(void **state)
{
	struct kbtf_exec_off off;
	struct btf_header *h;
	size_t len;
	uint8_t *data, *cut;

	(void)state;
	if (access(VMLINUX, R_OK) != 0)
		skip();
	data = read_all(VMLINUX, &len);
	/* Cut anywhere: refused (each cut copied alone, so ASan sees any over-read). */
	for (size_t at = 0; at < len; at += len / 61 + 1) {
		cut = malloc(at ? at : 1);
		assert_non_null(cut);
		memcpy(cut, data, at);
		assert_int_not_equal(kbtf_find_offsets(cut, at, &off), 0);
		free(cut);
	}
	h = (struct btf_header *)data;
	/* Sections past the end, a bad magic, an unknown kind: refused. */
	h->str_len += 1;
	assert_int_equal(kbtf_find_offsets(data, len, &off), -EPROTO);
	h->str_len -= 1;
	h->magic ^= 1;
	assert_int_equal(kbtf_find_offsets(data, len, &off), -EPROTO);
	h->magic ^= 1;
	{
		struct btf_type *t = (struct btf_type *)(data + h->hdr_len + h->type_off);

		t->info = (t->info & ~(0x1fu << 24)) | (31u << 24);
		assert_int_equal(kbtf_find_offsets(data, len, &off), -EPROTO);
	}
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches_libbpf),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
