/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every map of imapguard. All are pinned under the pin directory by the
 * loader, and every program instance (one per interface) reuses them.
 * Capacities marked "set by the loader" follow the policy's max_sources.
 */
#ifndef IG_MAPS_H
#define IG_MAPS_H

#include "imapguard.h"

/* Written through mmap by user space; read once per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_cfg);
} ig_cfg SEC(".maps");

/* Per summary cell, the blocks and grants overlapping it (imapguard.h):
 * touched on insert and delete only, never per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, IG_SUMCNT_ENTRIES);
	__type(key, __u32);
	__type(value, struct ig_sum_count);
} ig_sumcnt SEC(".maps");

/* Twice the per-policy limit: both slots coexist during a re-apply. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * IG_MAX_LIST_ENTRIES);
	__type(key, struct ig_list_key4);
	__type(value, __u32);
} ig_lists4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * IG_MAX_LIST_ENTRIES);
	__type(key, struct ig_list_key6);
	__type(value, __u32);
} ig_lists6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, struct ig_lpm_key4);
	__type(value, struct ig_block);
} ig_blocks4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, struct ig_lpm_key6);
	__type(value, struct ig_block);
} ig_blocks6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IG_MAX_GRANTS);
	__type(key, struct ig_lpm_key4);
	__type(value, struct ig_grant);
} ig_grants4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IG_MAX_GRANTS);
	__type(key, struct ig_lpm_key6);
	__type(value, struct ig_grant);
} ig_grants6 SEC(".maps");

/* Only user space reads it; it lives with the other pins so the CLI and
 * the agent share it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, IG_MAX_GRANTS);
	__type(key, struct ig_user_key);
	__type(value, struct ig_grant);
} ig_user_grants SEC(".maps");

/* Exact state per source. LRU: a flood of new sources evicts entries, and
 * ig_rate_fb below keeps an evicted source from starting afresh. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, struct ig_src_key);
	__type(value, struct ig_rate_state);
} ig_rate SEC(".maps");

/* Hashed arrival times that nothing evicts (see imapguard.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set by the loader: max_sources */
	__type(key, __u32);
	__type(value, __u64);
} ig_rate_fb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IG_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
} ig_stats SEC(".maps");

/* Burst windows and offence history, keyed by source prefix. LRU: losing
 * an entry forgets a window or an escalation level, never a block. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, struct ig_src_key);
	__type(value, struct ig_burst_state);
} ig_burst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* set by the loader: max_sources / 4 */
	__type(key, struct ig_offence_key);
	__type(value, struct ig_offence);
} ig_offences SEC(".maps");

/* Blocks at the hashed lengths (imapguard.h, struct ig_xblock): their
 * expiry only, the one field a packet reads. Preallocated, so an IPv4
 * element is one cache line among its neighbours and a lookup costs the
 * bucket and that line; max_sources elements per family exist from the
 * start (64 and 80 bytes each). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, struct ig_xblock_key4);
	__type(value, struct ig_xblock);
} ig_xblocks4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, struct ig_xblock_key6);
	__type(value, struct ig_xblock);
} ig_xblocks6 SEC(".maps");

/* The rest of each hashed block (struct ig_xinfo), with the expiry timer
 * of each automatic one: the kernel removes the block when it fires and
 * reports it, with no user space involved. One map for both families, so
 * the details cost one table of buckets. Not preallocated: memory follows
 * the blocks that exist; packets never read it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, struct ig_xblock_key);
	__type(value, struct ig_xinfo);
} ig_xinfo SEC(".maps");

/* The STARTTLS guard's flows (imapguard.h, struct ig_tls_flow): one per
 * established connection to an action = starttls port, added by sockops,
 * removed at close. Not LRU: an evicted flow would fail closed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); /* set by the loader: max_sources */
	__type(key, struct ig_tls_flow_key);
	__type(value, struct ig_tls_flow);
} ig_tls_flows SEC(".maps");

/* The guard's scan of one segment (bpf/starttls_guard.h). */
#define IG_TLS_BLOCK 64 /* payload bytes loaded at once */

struct ig_tls_scan_ctx {
	struct __sk_buff *skb;
	struct ig_tls_scan *st;
	__u32 off; /* first new byte's offset in the frame */
	__u32 len; /* new bytes */
	int verdict;
	int failed; /* a block could not be read: the segment is refused */
	__u8 *buf;  /* IG_TLS_BLOCK bytes of ig_tls_scratch */
};

/* Per-CPU scratch: the stack of tc's call chain (classify, guard, the loop
 * body) and of sockops' registration cannot hold these beside the classifier's own. (The
 * loop's context itself must be on the stack: bpf_loop's rule.) */
struct ig_tls_scratch {
	__u8 buf[IG_TLS_BLOCK]; /* the block of payload being scanned */
	__u8 th[64];	/* the TCP header being turned into a RST */
	__u32 ph[10];	/* its pseudo-header */
	struct ig_tls_flow flow; /* sockops: the flow being registered */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_tls_scratch);
} ig_tls_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024); /* 3,855 events of 128 bytes (+8 of header) */
} ig_events SEC(".maps");

/* Status and schema for the control plane; the data plane never reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_meta);
} ig_meta SEC(".maps");

/* Every map of IG_MAPS (imapguard.h) is defined above, under its name: a
 * row this file lacks fails the build here. A map defined here but not
 * listed there would never be pinned: tests/unit/test_maps catches it. */
#define IG__MAP_DEFINED(id, name, cap)                                         \
	_Static_assert(sizeof(name) > 0, #name " is defined");
IG_MAPS(IG__MAP_DEFINED)

#endif /* IG_MAPS_H */
