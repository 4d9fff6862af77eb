/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few kernel-internal types that mapcount.bpf.c reads, declared by hand
 * (the part of a vmlinux.h it needs; written, not generated)
 * for CO-RE instead of dumped from the builder's running kernel.
 *
 * Why not `bpftool btf dump file /sys/kernel/btf/vmlinux format c`: that
 * makes the build depend on the kernel of the machine that builds (a build
 * in a container, a chroot or on a CI runner without BTF fails, and two
 * builders produce different objects), and it drags in 100,000 types for
 * three structs. Why not a committed full dump, as libbpf-tools does: 3 MB
 * of generated text in git for the same three structs.
 *
 * preserve_access_index makes every field access below a CO-RE relocation:
 * libbpf resolves the offsets against the running kernel's BTF when the
 * program loads, so only the field names and types matter here, not the
 * layout (kernel: include/linux/bpf.h struct bpf_map, struct bpf_iter_meta;
 * kernel/bpf/map_iter.c struct bpf_iter__bpf_map). A field that is renamed
 * in some future kernel fails the load with a clear libbpf error, never a
 * wrong read.
 */
#ifndef IG_KERNEL_STRUCTS_H
#define IG_KERNEL_STRUCTS_H

#include <linux/types.h>

typedef __s64 s64;

struct seq_file;

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_map {
	__u32 id;
	char name[16]; /* BPF_OBJ_NAME_LEN */
};

struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
};
#pragma clang attribute pop

#endif /* IG_KERNEL_STRUCTS_H */
