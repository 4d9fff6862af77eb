// SPDX-License-Identifier: GPL-2.0-only
/*
 * How full are the per-source tables? A bpf_map iterator asks the kernel
 * for each map's element count (bpf_map_sum_elem_count sums a per-CPU
 * counter the hash maps keep), so a metrics scrape costs the same with a
 * million tracked sources as with none: it never walks a table.
 */
#include "kernel_structs.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

SEC("iter/bpf_map")
int ig_map_counts(struct bpf_iter__bpf_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_map *map = ctx->map;

	/* only imapguard's maps: their names start with "ig_" */
	if (!map || map->name[0] != 'i' || map->name[1] != 'g' || map->name[2] != '_')
		return 0;
	BPF_SEQ_PRINTF(seq, "%u %lld\n", map->id, bpf_map_sum_elem_count(map));
	return 0;
}
