/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ABI shared by the BPF programs (bpf/) and the control plane (user/).
 * Both sides compile against this one header; nothing here is mirrored by
 * hand. Every multi-byte field states its byte order. Changing the layout of
 * anything pinned means bumping IG_SCHEMA_VERSION.
 */
#ifndef IMAPGUARD_H
#define IMAPGUARD_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_timer, bpf_spin_lock */

#include "../bpf/starttls_scan.h" /* struct ig_tls_scan, in ig_tls_flow */

/* Bumped whenever a pinned map's layout or meaning changes. A binary refuses
 * pins whose schema differs, so it can never misread an older layout. */
#define IG_SCHEMA_VERSION 7
#define IG_META_MAGIC 0x31474d49u

/*
 * The layout IG_SCHEMA_VERSION stands for, checked at the end of this
 * header in both builds (BPF and user space): the size in bytes of every
 * struct a pinned map holds (keys, values, the config, the meta, ring
 * buffer events), the byte offset of each of its fields but padding, and
 * the counts that place the counters in ig_stats. A layout change fails
 * the build here until the schema moves with it: BUMP BOTH, the schema
 * above and the first row below, then write the new numbers.
 */
#define IG_LAYOUT(SIZE, OFF, VAL)                                              \
	VAL(IG_SCHEMA_VERSION, 7)                                              \
	SIZE(ig_cfg, 2231936) OFF(ig_cfg, active, 0) OFF(ig_cfg, dyn_flags, 4) \
	OFF(ig_cfg, netns_cookie, 8) OFF(ig_cfg, state_gen, 16)                \
	OFF(ig_cfg, rate_seed, 24) OFF(ig_cfg, xlen, 32)                       \
	OFF(ig_cfg, xretire, 38) OFF(ig_cfg, slot, 48)                         \
	OFF(ig_cfg, sum4, 134784) OFF(ig_cfg, sum6, 1183360)                   \
	SIZE(ig_slot, 67368) OFF(ig_slot, generation, 0)                       \
	OFF(ig_slot, flags, 8) OFF(ig_slot, prefix_v4, 12)                     \
	OFF(ig_slot, prefix_v6, 13) OFF(ig_slot, nports, 14)                   \
	OFF(ig_slot, mask4, 16) OFF(ig_slot, mask6, 20)                        \
	OFF(ig_slot, ports, 40) OFF(ig_slot, port_map, 1832)                   \
	SIZE(ig_port_cfg, 56) OFF(ig_port_cfg, port, 0)                        \
	OFF(ig_port_cfg, action, 2) OFF(ig_port_cfg, stat_idx, 3)              \
	OFF(ig_port_cfg, tls_proto, 4)                                         \
	OFF(ig_port_cfg, rate_emission_ns, 8)                                  \
	OFF(ig_port_cfg, rate_tolerance_ns, 16)                                \
	OFF(ig_port_cfg, burst_count, 24) OFF(ig_port_cfg, burst_sub_ns, 32)   \
	OFF(ig_port_cfg, block_ns, 40) OFF(ig_port_cfg, block_max_ns, 48)      \
	SIZE(ig_sum_count, 16) OFF(ig_sum_count, n, 0)                         \
	SIZE(ig_list_key4, 12) OFF(ig_list_key4, prefixlen, 0)                 \
	OFF(ig_list_key4, slot, 4) OFF(ig_list_key4, addr, 8)                  \
	SIZE(ig_list_key6, 24) OFF(ig_list_key6, prefixlen, 0)                 \
	OFF(ig_list_key6, slot, 4) OFF(ig_list_key6, addr, 8)                  \
	SIZE(ig_lpm_key4, 8) OFF(ig_lpm_key4, prefixlen, 0)                    \
	OFF(ig_lpm_key4, addr, 4)                                              \
	SIZE(ig_lpm_key6, 20) OFF(ig_lpm_key6, prefixlen, 0)                   \
	OFF(ig_lpm_key6, addr, 4)                                              \
	SIZE(ig_block, 64) OFF(ig_block, expires_ns, 0)                        \
	OFF(ig_block, created_ns, 8) OFF(ig_block, count, 16)                  \
	OFF(ig_block, port, 20) OFF(ig_block, origin, 22)                      \
	OFF(ig_block, reason, 23) OFF(ig_block, prefixlen, 24)                 \
	OFF(ig_block, level, 25) OFF(ig_block, note, 32)                       \
	SIZE(ig_xblock_key4, 8) OFF(ig_xblock_key4, addr, 0)                   \
	OFF(ig_xblock_key4, prefixlen, 4)                                      \
	SIZE(ig_xblock_key6, 20) OFF(ig_xblock_key6, addr, 0)                  \
	OFF(ig_xblock_key6, prefixlen, 16)                                     \
	SIZE(ig_xblock_key, 20) OFF(ig_xblock_key, family, 0)                  \
	OFF(ig_xblock_key, prefixlen, 1) OFF(ig_xblock_key, addr, 4)           \
	SIZE(ig_xblock, 8) OFF(ig_xblock, expires_ns, 0)                       \
	SIZE(ig_xinfo, 80) OFF(ig_xinfo, created_ns, 0)                        \
	OFF(ig_xinfo, count, 8) OFF(ig_xinfo, port, 12)                        \
	OFF(ig_xinfo, origin, 14) OFF(ig_xinfo, reason, 15)                    \
	OFF(ig_xinfo, prefixlen, 16) OFF(ig_xinfo, level, 17)                  \
	OFF(ig_xinfo, timer, 24) OFF(ig_xinfo, lock, 40)                       \
	OFF(ig_xinfo, note, 48)                                                \
	SIZE(ig_grant, 56) OFF(ig_grant, expires_ns, 0)                        \
	OFF(ig_grant, created_ns, 8) OFF(ig_grant, prefixlen, 16)              \
	OFF(ig_grant, note, 24)                                                \
	SIZE(ig_user_key, 128) OFF(ig_user_key, user, 0)                       \
	SIZE(ig_src_key, 20) OFF(ig_src_key, family, 0)                        \
	OFF(ig_src_key, stat_idx, 1) OFF(ig_src_key, addr, 4)                  \
	SIZE(ig_rate_state, 8) OFF(ig_rate_state, tat_ns, 0)                   \
	SIZE(ig_burst_state, 40) OFF(ig_burst_state, epoch, 0)                 \
	OFF(ig_burst_state, cnt, 8)                                            \
	SIZE(ig_offence_key, 20) OFF(ig_offence_key, family, 0)                \
	OFF(ig_offence_key, addr, 4)                                           \
	SIZE(ig_offence, 16) OFF(ig_offence, last_ns, 0)                       \
	OFF(ig_offence, level, 8)                                              \
	SIZE(ig_event, 128) OFF(ig_event, time_ns, 0)                          \
	OFF(ig_event, expires_ns, 8) OFF(ig_event, created_ns, 16)             \
	OFF(ig_event, type, 24) OFF(ig_event, count, 28)                       \
	OFF(ig_event, addr, 32) OFF(ig_event, family, 48)                      \
	OFF(ig_event, prefixlen, 49) OFF(ig_event, port, 50)                   \
	OFF(ig_event, origin, 52) OFF(ig_event, reason, 53)                    \
	OFF(ig_event, level, 54) OFF(ig_event, verb, 8)                        \
	OFF(ig_event, user_len, 55) OFF(ig_event, flags, 56)                    \
	OFF(ig_event, user, 64)                                                \
	SIZE(ig_tls_flow_key, 40) OFF(ig_tls_flow_key, family, 0)              \
	OFF(ig_tls_flow_key, sport, 2) OFF(ig_tls_flow_key, dport, 4)          \
	OFF(ig_tls_flow_key, saddr, 8) OFF(ig_tls_flow_key, daddr, 24)         \
	SIZE(ig_tls_flow, 224) OFF(ig_tls_flow, state, 0)                      \
	OFF(ig_tls_flow, stat_idx, 1) OFF(ig_tls_flow, base_seq, 4)            \
	OFF(ig_tls_flow, scan_seq, 8) OFF(ig_tls_flow, admit_ns, 16)           \
	OFF(ig_tls_flow, base, 24) OFF(ig_tls_flow, scan, 120)                 \
	OFF(ig_tls_flow, violated_ns, 216)                                     \
	SIZE(ig_meta, 944) OFF(ig_meta, magic, 0) OFF(ig_meta, schema, 4)      \
	OFF(ig_meta, generation, 8) OFF(ig_meta, applied_unix, 16)             \
	OFF(ig_meta, netns_ino, 24) OFF(ig_meta, attach, 32)                   \
	OFF(ig_meta, n_ifaces, 36) OFF(ig_meta, max_sources, 40)               \
	OFF(ig_meta, flags, 44) OFF(ig_meta, ifaces, 48)                       \
	OFF(ig_meta, policy_path, 560) OFF(ig_meta, agent_sock, 816)           \
	OFF(ig_meta, boot_id, 924)                                             \
	SIZE(ig_meta_iface, 32) OFF(ig_meta_iface, ifindex, 0)                 \
	OFF(ig_meta_iface, mode, 4) OFF(ig_meta_iface, multiprog, 8)           \
	OFF(ig_meta_iface, name, 16)                                           \
	VAL(IG_NR_GLOBALS, 5) VAL(IG_NR_VERDICTS, 3) VAL(IG_NR_REASONS, 9)     \
	VAL(IG_NR_PORT_EXTRAS, 11) VAL(IG_PORT_SLOTS, 64)                       \
	VAL(IG_NR_STATS, 2477) VAL(IG_SUMCNT_ENTRIES, 2097154)

/* Policy limits. */
#define IG_MAX_PORTS 32		/* policed ports in one policy */
/*
 * The source of the exposure audit's IPv4 probes (user/lib/probe.c), host
 * byte order: 127.0.0.254. The sockops burst counter never counts an
 * established connection from it, nor an IPv6 one between ::1 and another
 * address of the host, the shape of the audit's IPv6 probes (both only
 * ever local: a remote peer cannot complete a handshake from a loopback
 * or local address), so the agent's own probes never block anyone.
 */
#define IG_PROBE_SRC4 0x7f0000feu
#define IG_PORT_SLOTS 64	/* stable counter slots, twice IG_MAX_PORTS so
				 * a re-apply never reuses a slot still counting
				 * for the policy being replaced */
#define IG_MAX_IFACES 16
#define IG_MAX_LIST_ENTRIES 262144 /* allow+deny CIDRs per family */
#define IG_NOTE_LEN 32		/* operator's --reason text, NUL included */
#define IG_XLENS 3		/* hashed block lengths per family */

/*
 * The pinned maps, one row each: X(ID, name, capacity). The name is the
 * map's identifier in bpf/maps.h and its file name under the pin
 * directory, so the CLI, the agent and the loader agree on it (the
 * manner of xdp-filter's MAP_NAME_*). From this list come enum ig_map_id
 * (IG_M_<ID>) and ig_map_names[] (user/lib/pins.h), the loader's sizing
 * (user/lib/loader.c) and a compile-time check that bpf/maps.h defines
 * every map; tests/unit/test_maps checks the object's maps both ways.
 * The capacity column says how the loader sizes the map: FIXED as
 * compiled, SOURCES the policy's max_sources, OFFENDERS max_sources / 4
 * (at least 1024).
 */
#define IG_MAPS(X)                                                             \
	X(CFG, ig_cfg, FIXED)                                                  \
	X(LISTS4, ig_lists4, FIXED)                                            \
	X(LISTS6, ig_lists6, FIXED)                                            \
	X(BLOCKS4, ig_blocks4, SOURCES)                                        \
	X(BLOCKS6, ig_blocks6, SOURCES)                                        \
	X(RATE, ig_rate, SOURCES)                                              \
	X(STATS, ig_stats, FIXED)                                              \
	X(META, ig_meta, FIXED)                                                \
	X(BURST, ig_burst, SOURCES)                                            \
	X(OFFENCES, ig_offences, OFFENDERS)                                    \
	X(XBLOCKS4, ig_xblocks4, SOURCES) /* blocks at hashed lengths */       \
	X(XBLOCKS6, ig_xblocks6, SOURCES)                                      \
	X(XINFO, ig_xinfo, SOURCES) /* the rest of them, and timers */         \
	X(EVENTS, ig_events, FIXED)                                            \
	X(GRANTS4, ig_grants4, FIXED)                                          \
	X(GRANTS6, ig_grants6, FIXED)                                          \
	X(USER_GRANTS, ig_user_grants, FIXED)                                  \
	X(SUMCNT, ig_sumcnt, FIXED)                                            \
	X(RATE_FB, ig_rate_fb, SOURCES)                                        \
	X(TLS_FLOWS, ig_tls_flows, SOURCES) /* the STARTTLS guard's flows */    \
	X(TLS_SCRATCH, ig_tls_scratch, FIXED) /* its per-CPU work space */

#define IG_LINK_SOCKOPS "link_sockops" /* pinned cgroup link */

#define IG_MAX_GRANTS 65536
#define IG_USER_LEN 128 /* usernames longer than this cannot be granted */

enum ig_action {
	IG_ACT_NONE = 0,
	IG_ACT_ALLOW = 1,
	IG_ACT_DROP = 2,
	IG_ACT_RATELIMIT = 3,
	IG_ACT_STARTTLS = 4, /* allow, and only harmless commands before TLS
			      * (bpf/starttls_guard.h); attach = tc only */
};

enum ig_attach {
	IG_ATTACH_XDP = 0,	  /* native (driver) XDP */
	IG_ATTACH_XDP_GENERIC = 1, /* skb-mode XDP */
	IG_ATTACH_TC = 2,	  /* clsact ingress */
	IG_ATTACH_NFT = 3,	  /* nftables, table inet imapguard */
};

/* How a policed packet was decided. The verdict is separate (below). */
#define IG_REASONS(X)                                                          \
	X(POLICY, "policy", "the action of the port")                              \
	X(ALLOW_LIST, "allow_list", "source on the allow list")               \
	X(GRANT, "grant", "default=deny lifted by an MFA grant of the source")  \
	X(DENY_LIST, "deny_list", "source on the deny list")                   \
	X(BLOCKED, "blocked", "source under an active block")                  \
	X(RATE_LIMIT, "rate_limit", "SYN over the port's rate")               \
	X(DEFAULT_DENY, "default_deny", "source on no list under default=deny") \
	X(TINY_FRAGMENT, "tiny_fragment",                                      \
	  "first fragment too short for the TCP header")                      \
	X(UNPARSEABLE, "unparseable",                                          \
	  "TCP header truncated or inconsistent")

#define IG_VERDICTS(X)                                                         \
	X(PASS, "pass")                                                        \
	X(DROP, "drop")                                                        \
	X(WOULD_DROP, "would_drop")

/* Counters that belong to no policed port (the port is unknown). A packet
 * is either TCP with a destination port we found, or proven not TCP, or
 * unparseable: dropped (monitor mode: passed) and counted here. */
#define IG_GLOBALS(X)                                                          \
	X(UNPARSEABLE, "unparseable_packets",                                  \
	  "TCP (or possibly TCP) whose destination port cannot be found: "      \
	  "truncated, past the parse bounds, or ports beyond the first "        \
	  "fragment; dropped")                                                 \
	X(FRAGMENT, "fragments",                                               \
	  "non-first IP fragments; passed (the first fragment is policed)")   \
	X(UNPARSEABLE_MONITOR, "unparseable_would_drop",                       \
	  "the same as unparseable_packets in monitor mode; passed")          \
	X(BLOCK_TIMER_FAILED, "block_timer_failures",                          \
	  "automatic blocks the kernel could not arm an expiry timer for "     \
	  "(bpf_timer_init -ENOMEM in softirq); they lapse on time, and the "   \
	  "agent's sweep removes them")                                       \
	X(EVENTS_LOST, "events_lost",                                          \
	  "events the kernel could not put on the full ring buffer (ig_events): " \
	  "the block or the refusal itself stands, its report is lost")

#define IG__ENUM_REASON(name, label, help) IG_REASON_##name,
#define IG__ENUM_VERDICT(name, label) IG_VERDICT_##name,
#define IG__ENUM_GLOBAL(name, label, help) IG_G_##name,
enum ig_reason { IG_REASONS(IG__ENUM_REASON) IG_NR_REASONS };
enum ig_verdict { IG_VERDICTS(IG__ENUM_VERDICT) IG_NR_VERDICTS };
enum ig_global { IG_GLOBALS(IG__ENUM_GLOBAL) IG_NR_GLOBALS };

/* Per-port counters that are not packet verdicts (counted by sockops). */
#define IG_PORT_EXTRAS(X)                                                      \
	X(CONNECTIONS, "connections", "established connections seen")          \
	X(AUTO_BLOCKS, "auto_blocks", "automatic blocks decided on this port")  \
	X(WOULD_BLOCKS, "would_blocks",                                        \
	  "automatic blocks monitor mode reported on this port and did not make") \
	X(RATE_NEW, "rate_new_sources",                                        \
	  "SYNs that entered their source into the rate table (new, or "       \
	  "evicted before); near max_sources per rate interval, the table "    \
	  "turns over and the hashed buckets decide")                          \
	X(RATE_BUCKET_LIMITED, "rate_bucket_limited",                          \
	  "SYNs from sources not in the rate table refused by their hashed "   \
	  "bucket: an evicted source over its rate, or a flood in the bucket") \
	X(TLS_FLOWS, "starttls_flows",                                         \
	  "action = starttls: connections registered with the guard")          \
	X(TLS_PASSED, "starttls_passed",                                       \
	  "action = starttls: flows whose TLS began; no longer inspected")     \
	X(TLS_VIOLATIONS, "starttls_violations",                               \
	  "action = starttls: commands refused before TLS; session reset")     \
	X(TLS_UNATTRIBUTED, "starttls_unattributed",                           \
	  "action = starttls: client bytes of no registered flow (or no "      \
	  "socket); dropped (fail closed)")                                    \
	X(TLS_HELD, "starttls_held",                                           \
	  "action = starttls: segments before TLS dropped for arriving out of " \
	  "order; the client retransmits them")                               \
	X(TLS_SWEPT, "starttls_swept",                                         \
	  "action = starttls: flows whose connection was gone, removed by the " \
	  "agent's sweep (a violated one once its client had 10 s to "         \
	  "retransmit)")

#define IG__ENUM_EXTRA(name, label, help) IG_X_##name,
enum ig_port_extra { IG_PORT_EXTRAS(IG__ENUM_EXTRA) IG_NR_PORT_EXTRAS };

/*
 * ig_stats, a per-CPU array of __u64 counts: first the globals, then for
 * each port counter slot a [verdict][reason] block and the extras. The slot
 * of a port (ig_port_cfg.stat_idx) is kept across re-applies, so counters
 * survive.
 */
#define IG_STATS_PER_PORT (IG_NR_VERDICTS * IG_NR_REASONS + IG_NR_PORT_EXTRAS)
#define IG_STAT_PORT(slot, verdict, reason)                                    \
	(IG_NR_GLOBALS + (slot) * IG_STATS_PER_PORT + (verdict) * IG_NR_REASONS + \
	 (reason))
#define IG_STAT_EXTRA(slot, extra)                                             \
	(IG_NR_GLOBALS + (slot) * IG_STATS_PER_PORT +                          \
	 IG_NR_VERDICTS * IG_NR_REASONS + (extra))
/* Blocks decided, by origin and reason (enum ig_origin, ig_block_reason),
 * after the per-port blocks; then, laid out the same, the blocks monitor
 * mode would have made (reported, never recorded). */
#define IG_STAT_BLOCKS(origin, reason)                                         \
	(IG_NR_GLOBALS + IG_PORT_SLOTS * IG_STATS_PER_PORT +                   \
	 (origin) * IG__NR_BLOCK_REASONS + (reason))
#define IG_STAT_WOULD_BLOCKS(origin, reason)                                   \
	(IG_STAT_BLOCKS(origin, reason) + IG__NR_ORIGINS * IG__NR_BLOCK_REASONS)
#define IG__NR_ORIGINS 4
#define IG__NR_BLOCK_REASONS 5
#define IG_NR_STATS                                                            \
	(IG_NR_GLOBALS + IG_PORT_SLOTS * IG_STATS_PER_PORT +                   \
	 2 * IG__NR_ORIGINS * IG__NR_BLOCK_REASONS)

struct ig_port_cfg {
	__u16 port;	  /* host order */
	__u8 action;	  /* enum ig_action */
	__u8 stat_idx;	  /* counter slot, < IG_PORT_SLOTS */
	__u8 tls_proto;	  /* action = starttls: enum ig_tls_proto */
	__u8 pad[3];
	/* Rate limit as GCRA, the virtual-scheduling form of a token bucket
	 * of `rate` tokens refilled over `interval`: emission = interval/rate,
	 * tolerance = interval - emission. Precomputed so the BPF side never
	 * divides. */
	__u64 rate_emission_ns;
	__u64 rate_tolerance_ns;
	/* Burst detection on established connections (sockops): more than
	 * burst_count within the window blocks the source prefix. The window
	 * slides in IG_BURST_SUBS steps of burst_sub_ns. 0 = off. */
	__u32 burst_count;
	__u32 pad2;
	__u64 burst_sub_ns;
	__u64 block_ns;	    /* first automatic block */
	__u64 block_max_ns; /* cap of the doubling */
};

#define IG_BURST_SUBS 8
#define IG_OFFENCE_MEMORY_NS (24ull * 3600 * 1000000000ull) /* repeat window */
#define IG_MAX_LEVEL 30

/* A block at escalation `level`: base doubled per level, capped at max.
 * One rule for the kernel's automatic blocks and the agent's auth blocks
 * (the loop is bounded for the verifier). */
static inline __u64 ig_escalated_ns(__u64 base, __u64 max, __u32 level)
{
	__u64 d = base;

	for (__u32 i = 0; i < IG_MAX_LEVEL && i < level && d < max; i++)
		d <<= 1;
	return d < max ? d : max;
}

/* Slot flags. */
#define IG_SLOT_MONITOR (1u << 0)      /* count would_drop and would_block;
					* drop, block and record nothing */
#define IG_SLOT_DEFAULT_DENY (1u << 1) /* sources on no list are dropped */
#define IG_SLOT_LISTS6_WILD (1u << 2)  /* v6 summary unusable: always look up */

/*
 * One complete policy. ig_cfg holds two; apply writes the idle one, then
 * flips `active` with a single 4-byte store, so a packet always sees either
 * the old policy or the new one, never a mix.
 */
struct ig_slot {
	__u64 generation;
	__u32 flags;	 /* IG_SLOT_* */
	__u8 prefix_v4;	 /* sources are counted and blocked per prefix */
	__u8 prefix_v6;
	__u8 nports;
	__u8 pad;
	__be32 mask4;	 /* prefix_v4 as a mask, network order */
	__be32 mask6[4]; /* prefix_v6 as a mask, network order */
	struct ig_port_cfg ports[IG_MAX_PORTS];
	/* dport (host order) -> 1 + index into ports[]; 0 = not policed */
	__u8 port_map[65536];
};

#define IG_DYN_BLOCKS4_WILD (1u << 0) /* a v4 block too short for the summary */
#define IG_DYN_BLOCKS6_WILD (1u << 1) /* a v6 block too short for the summary */
#define IG_DYN_GRANTS4_WILD (1u << 2)
#define IG_DYN_GRANTS6_WILD (1u << 3)
#define IG_DYN_XBLOCKS4_WILD (1u << 4) /* the same for hashed-length blocks */
#define IG_DYN_XBLOCKS6_WILD (1u << 5)
#define IG_DYN_FLAGS 0x3fu	/* bits 6-31 of dyn_flags: a generation (below) */
#define IG_DYN_GEN_ONE (1u << 6)

/*
 * Summaries: one byte per IPv4 /20 and per hashed IPv6 /48, saying what
 * overlaps it: a list entry of slot 0 or 1, a block in the trie (of a
 * length that is not hashed), a block in the exact-prefix hash, a source
 * grant. A byte
 * with no bit for the active slot, no block bit and no grant bit proves the
 * source is on no list, under no block and holds no grant, so the packet
 * skips every LPM lookup with one load. A set bit only means "look it up":
 * false positives cost time, never a wrong verdict. The list bits are
 * written by apply; the block and grant bits follow ig_sumcnt (below).
 */
#define IG_SUM_BITS 20
#define IG_SUM_SIZE (1u << IG_SUM_BITS)
#define IG_SUM_WORDS (IG_SUM_SIZE / 64) /* the compiler's bitmaps */
#define IG_SUM_LIST(slot) (1u << (slot))
#define IG_SUM_DYN (1u << 2)   /* a block in the trie overlaps */
#define IG_SUM_GRANT (1u << 3) /* a source grant overlaps */
#define IG_SUM_XBLOCK (1u << 4) /* a block in the exact-prefix hash overlaps */
#define IG_SUM_GEN 0xe0u       /* per byte: 3 bits of its word's generation */
#define IG_SUM_GEN_SHIFT 5
#define IG_SUM4_PREFIX 20
#define IG_SUM6_PREFIX 48
#define IG_SUM6_ENUM_MAX 16 /* lists: enumerate up to 2^16 /48s, else go wild */

/*
 * Blocks and source grants (the "kinds") come and go at run time, so their
 * bits are counted: ig_sumcnt holds, per family and summary cell, how many
 * entries of each kind overlap it, and per family one count for the wild
 * flag. A bit is set while its count is not 0, and cleared again when the
 * last entry leaves: the fast path does not decay as blocks come and go.
 *
 * An entry overlaps 1 << (prefix - len) consecutive cells (IPv6: /48s,
 * hashed) when that is at most 1 << IG_SUM_DYN_ENUM_MAX; a shorter one sets
 * the family's wild flag instead. ig_sum_span and ig_sum_cell are the one
 * rule for the kernel's automatic blocks and for user space, so whoever
 * deletes an entry uncounts exactly what its inserter counted.
 *
 * Why a live entry is never skipped, though user space deletes while the
 * kernel inserts (and either may be delayed for milliseconds):
 *   inserter: I1 count += 1; I2 set the bit AND advance the generation of
 *             the bit's word, in one atomic write; I3 insert into the map.
 *   deleter:  D0 delete from the map; D1 count -= 1; then D2 read the word
 *             w (bit clear: done); D3 read the count (not 0: done, the bit
 *             stays); D4 compare-and-swap the word from w to w without the
 *             bit. A failed D4 goes back to D2 (a bounded number of times;
 *             giving up leaves a harmless false positive).
 * The counts and the compare-and-swaps are fully ordered atomics (in BPF
 * their FETCH forms); the fallback's add and OR (below) hit the same word,
 * ordered by coherence, and the map update publishes after them. Take an entry
 * E whose I3 is done and a deleter whose D4 clears E's bit. If E's I1 came
 * before D3, D3 saw a count >= 1 (E's, which only E's own delete removes):
 * no D4. So E's I1, and thus I2, came after D3, hence after D2. If I2 fell
 * between D2 and D4 it changed the word's generation, so D4 failed. So I2
 * came after D4 and set the bit again, before I3 made E visible. The count
 * never goes below the entries in the map (increment before insert,
 * decrement after delete), so a bit is never wrongly cleared. An insert
 * that replaces an entry of the same prefix gives its own increment back
 * (a D1..D4 of its own): the replaced entry's increment, whose I2 came
 * before it was visible, stands for the key, which never leaves the map.
 * ABA: D4 succeeds wrongly only if the word returned to w, i.e. the
 * generation advanced by a multiple of its range between D2 and D4. Other
 * writers (deleters, apply's list bits) never touch it. A summary word is
 * 8 cells (64 bits) whose top 3 bits form a 24-bit generation; I2 adds 1
 * to it by compare-and-swap, or, after IG_SUM_CAS_TRIES lost races, adds
 * 2^21 to it (1 << 61 on the word: its top group, whose carry falls off)
 * before setting the bit. Wrapping it takes 2^24 inserts into those 8
 * cells within one deleter's D2..D4 (seconds of nothing else), or 8
 * inserts that each lost IG_SUM_CAS_TRIES races in a row on that word. The
 * wild flags' generation (dyn_flags bits 6-31) is a plain counter: 2^26
 * wild inserts. A deleter preempted for milliseconds sees neither.
 *
 * ig_sumcnt is touched only on insert and delete, never per packet.
 */
#define IG_SUM_DYN_ENUM_MAX 4 /* blocks, grants: up to 16 cells, else wild */
#define IG_SUM_CAS_TRIES 16
#define IG_SUM_KIND_BLOCK 0  /* a block in the trie */
#define IG_SUM_KIND_GRANT 1
#define IG_SUM_KIND_XBLOCK 2 /* a block in the exact-prefix hash */
#define IG_SUM_KINDS 3
#define IG_SUMCNT_CELL(v6, cell) (((__u32)(v6) << IG_SUM_BITS) | (cell))
#define IG_SUMCNT_WILD(v6) ((2u << IG_SUM_BITS) + (v6))
#define IG_SUMCNT_ENTRIES ((2u << IG_SUM_BITS) + 2)

/* ig_sumcnt, an mmapable array of IG_SUMCNT_ENTRIES (32 MiB): entries of
 * each kind (IG_SUM_KIND_*) that overlap a cell, or set a wild flag. */
struct ig_sum_count {
	__u32 n[IG_SUM_KINDS];
	__u32 pad; /* an array map's elements are 8-byte aligned: user space
		    * indexes the mmap with this size, the kernel with that */
};

_Static_assert(sizeof(struct ig_sum_count) % 8 == 0, "ig_sumcnt's stride is its size");

/* The bit of kind `kind` for summary bytes and for dyn_flags. */
static inline __u8 ig_sum_kind_bit(int kind)
{
	return kind == IG_SUM_KIND_GRANT ? IG_SUM_GRANT :
	       kind == IG_SUM_KIND_XBLOCK ? IG_SUM_XBLOCK : IG_SUM_DYN;
}

static inline __u32 ig_dyn_wild_bit(int kind, int v6)
{
	return 1u << (kind * 2 + v6);
}

/* How many summary cells an entry of `len` bits overlaps, or 0: wild. */
static inline __u32 ig_sum_span(__u8 family, __u8 len)
{
	__u32 p = family == 4 ? IG_SUM4_PREFIX : IG_SUM6_PREFIX;

	if (len >= p)
		return 1;
	return p - len <= IG_SUM_DYN_ENUM_MAX ? 1u << (p - len) : 0;
}

/* Bit index of an IPv6 address from its first 48 bits (host-order halves).
 * Fibonacci hashing spreads nearby prefixes across the bitmap. */
static inline __u32 ig_sum6_bit(__u32 hi32_host, __u16 next16_host)
{
	__u64 v = ((__u64)hi32_host << 16) | next16_host;

	return (__u32)((v * 0x9E3779B97F4A7C15ull) >> (64 - IG_SUM_BITS));
}

/* The i-th cell (i < ig_sum_span) of the entry starting at `addr`, the
 * address in network order (IPv4 in its first 4 bytes). */
static inline __u32 ig_sum_cell(__u8 family, const __u8 *addr, __u32 i)
{
	__u64 v = ((__u64)addr[0] << 40) | ((__u64)addr[1] << 32) | ((__u64)addr[2] << 24) |
		  ((__u64)addr[3] << 16) | ((__u64)addr[4] << 8) | addr[5];

	if (family == 4)
		return (((__u32)(v >> 16) >> (32 - IG_SUM4_PREFIX)) + i) & (IG_SUM_SIZE - 1);
	v += i;
	return ig_sum6_bit((__u32)(v >> 16), (__u16)v) & (IG_SUM_SIZE - 1);
}

/* The 64-bit word holding summary byte `cell`, and `bit` of that byte in it. */
static inline __u64 *ig_sum_word(__u8 *sum, __u32 cell)
{
	return (__u64 *)(sum + (cell & (IG_SUM_SIZE - 8)));
}

static inline __u64 ig_sum_word_bit(__u32 cell, __u8 bit)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u64)bit << ((cell & 7) * 8);
#else
	return (__u64)bit << ((7 - (cell & 7)) * 8);
#endif
}

#define IG_SUM_GEN64 (0x0101010101010101ull * IG_SUM_GEN)

/* w with its generation (the top 3 bits of each byte) advanced by one: the
 * other bits set to 1 carry the increment from group to group. */
static inline __u64 ig_sum_gen_next(__u64 w)
{
	return (w & ~IG_SUM_GEN64) |
	       (((w | ~IG_SUM_GEN64) + (1u << IG_SUM_GEN_SHIFT)) & IG_SUM_GEN64);
}

/* A test widens the windows between the steps (tests/unit/test_sumcount.c). */
#ifndef IG_SUM_STEP
#define IG_SUM_STEP() do { } while (0)
#endif

/* I1, I2 for one cell (see above); returns the count before. */
static inline __u32 ig_sum_get(__u32 *count, __u64 *word, __u64 bit)
{
	__u32 old = __sync_fetch_and_add(count, 1);
	__u64 w;

	for (int i = 0; i < IG_SUM_CAS_TRIES; i++) {
		IG_SUM_STEP();
		w = *(volatile __u64 *)word;
		IG_SUM_STEP();
		if (__sync_val_compare_and_swap(word, w, ig_sum_gen_next(w) | bit) == w)
			return old;
	}
	__sync_fetch_and_add(word, 1ull << (56 + IG_SUM_GEN_SHIFT));
	__sync_fetch_and_or(word, bit);
	return old;
}

/* D1..D4 for one cell; returns the count after. */
static inline __u32 ig_sum_put(__u32 *count, __u64 *word, __u64 bit)
{
	__u32 left = __sync_fetch_and_sub(count, 1) - 1;
	__u64 w;

	for (int i = 0; i < IG_SUM_CAS_TRIES && !left; i++) {
		IG_SUM_STEP();
		w = *(volatile __u64 *)word;
		IG_SUM_STEP();
		if (!(w & bit) || __sync_fetch_and_add(count, 0))
			break;
		IG_SUM_STEP();
		if (__sync_val_compare_and_swap(word, w, w & ~bit) == w)
			break;
	}
	return left;
}

/* The same for a wild flag: dyn_flags bits 6-31 are a plain counter. */
static inline __u32 ig_wild_get(__u32 *count, __u32 *flags, __u32 bit)
{
	__u32 old = __sync_fetch_and_add(count, 1);

	IG_SUM_STEP();
	__sync_fetch_and_add(flags, IG_DYN_GEN_ONE);
	__sync_fetch_and_or(flags, bit);
	return old;
}

static inline __u32 ig_wild_put(__u32 *count, __u32 *flags, __u32 bit)
{
	__u32 left = __sync_fetch_and_sub(count, 1) - 1, w;

	for (int i = 0; i < IG_SUM_CAS_TRIES && !left; i++) {
		IG_SUM_STEP();
		w = *(volatile __u32 *)flags;
		IG_SUM_STEP();
		if (!(w & bit) || __sync_fetch_and_add(count, 0))
			break;
		IG_SUM_STEP();
		if (__sync_val_compare_and_swap(flags, w, w & ~bit) == w)
			break;
	}
	return left;
}

/* The whole configuration, one array element mapped into user space. */
struct ig_cfg {
	__u32 active;	 /* slot in force (0 or 1); written last by apply */
	__u32 dyn_flags; /* IG_DYN_* (bits 0-5) while counted in ig_sumcnt;
			  * bits 6-31 a generation, see above */
	__u64 netns_cookie; /* sockops counts only sockets of this namespace */
	__u64 state_gen;   /* bumped by every block or grant added or removed,
			     * by anyone: the agent saves state when it moves */
	__u64 rate_seed;   /* keys the ig_rate_fb bucket hash; random, set
			    * once when the maps are created */
	/* The block lengths kept in the exact-prefix hash (ig_xblocks), per
	 * family ([0] IPv4, [1] IPv6): 0 = unused slot. The policy's
	 * prefix_v4/prefix_v6 and the single address; during a re-apply
	 * that changes the prefix, the old one too (see user/lib/xlen.c).
	 * A length whose bit is set in xretire is being moved out: new
	 * blocks of that length go to the trie, the data plane still looks
	 * it up. Written by apply only. */
	__u8 xlen[2][IG_XLENS];
	__u8 xretire[2];
	__u8 pad2[4];
	struct ig_slot slot[2];
	__u8 sum4[IG_SUM_SIZE]; /* 8-byte aligned: read as 64-bit words */
	__u8 sum6[IG_SUM_SIZE];
};

_Static_assert(__builtin_offsetof(struct ig_cfg, sum4) % 8 == 0 &&
	       __builtin_offsetof(struct ig_cfg, sum6) % 8 == 0,
	       "summary words are aligned");

/* Bit index of an IPv4 address given in host order. */
static inline __u32 ig_sum4_bit(__u32 addr_host)
{
	return addr_host >> (32 - IG_SUM4_PREFIX);
}

/*
 * Allow/deny lists: one LPM trie per family, keyed by slot then address, so
 * both policies can live in the trie during a re-apply. prefixlen counts the
 * 32 slot bits too. The value carries the flags of the entry and of every
 * entry containing it (computed in user space), so one longest-prefix
 * lookup answers "allowed?" and "denied?" at once.
 */
#define IG_LIST_ALLOW (1u << 0)
#define IG_LIST_DENY (1u << 1)

struct ig_list_key4 {
	__u32 prefixlen; /* 32 + CIDR length */
	__u32 slot;
	__be32 addr;
};

struct ig_list_key6 {
	__u32 prefixlen; /* 32 + CIDR length */
	__u32 slot;
	__u8 addr[16];
};

/* How many entries a lookup in a block or grant trie looks through, from
 * the longest match upwards, past lapsed ones the sweeper has not removed:
 * the data plane and user space must agree. */
#define IG_LPM_LIVE_TRIES 3

/* Blocks: LPM tries so manual blocks can be any CIDR. Not LRU: a flood of
 * spoofed sources can never push a block out. */
struct ig_lpm_key4 {
	__u32 prefixlen;
	__be32 addr;
};

struct ig_lpm_key6 {
	__u32 prefixlen;
	__u8 addr[16];
};

enum ig_origin {
	IG_ORIGIN_MANUAL = 0,
	IG_ORIGIN_AUTO = 1, /* burst detection in the kernel */
	IG_ORIGIN_AUTH = 2, /* Dovecot auth-policy learner */
	IG_ORIGIN_FLEET = 3,
	IG_NR_ORIGINS
};

enum ig_block_reason {
	IG_BR_MANUAL = 0,
	IG_BR_BURST = 1,
	IG_BR_AUTH_FAILURES = 2,
	IG_BR_SPRAY = 3,
	IG_BR_FLEET = 4,
	IG_NR_BLOCK_REASONS
};

_Static_assert(IG_NR_ORIGINS == IG__NR_ORIGINS && IG_NR_BLOCK_REASONS == IG__NR_BLOCK_REASONS,
	       "the stats layout counts origins and reasons");

struct ig_block {
	__u64 expires_ns; /* CLOCK_MONOTONIC; 0 = permanent */
	__u64 created_ns; /* CLOCK_MONOTONIC */
	__u32 count;	  /* events seen when the block was decided */
	__u16 port;	  /* host order; the port that triggered it, or 0 */
	__u8 origin;	  /* enum ig_origin */
	__u8 reason;	  /* enum ig_block_reason */
	__u8 prefixlen;	  /* the key's prefix length, so the data plane can
			   * look past an expired entry to a covering one */
	__u8 level;	  /* escalation level, 0 for the first offence */
	__u8 pad[6];
	char note[IG_NOTE_LEN];
};

/*
 * Blocks at a hashed length (ig_cfg.xlen) live in ig_xblocks4/6, hashes
 * keyed by masked address and length, not in the tries: a packet finds one
 * with one exact lookup per hashed length instead of a walk down a trie of
 * dependent cache misses. The other lengths stay in the tries. Each block
 * is in exactly one of the two homes, and that home counts it in the
 * summary (IG_SUM_KIND_XBLOCK or IG_SUM_KIND_BLOCK).
 *
 * A hashed block is two elements. ig_xblocks4/6 hold only its expiry, the
 * one field a packet reads, in preallocated hashes: an IPv4 element (the
 * kernel's 48-byte header, the 8-byte key, the 8-byte value) is exactly
 * one 64-byte cache line, and preallocated elements lie side by side on
 * cache-line boundaries, so a lookup costs the bucket and that one line.
 * (Elements allocated as used cost two lines and a scattered page each:
 * about twice the time per packet at 100k blocks, measured.) Everything
 * else, what an expiry event reports, the operator's note, the kernel's
 * expiry timer of an automatic block and a spin lock so user space can
 * rewrite it in place (BPF_F_LOCK) without cancelling that timer, is in
 * ig_xinfo, keyed by struct ig_xblock_key and read by packets never.
 * ig_xblocks is the truth: a block exists while its element there does.
 * Writers put ig_xinfo first and ig_xblocks second, and delete in the
 * other order, so a listed block has its details; a reader that finds none
 * (a writer in between) reports the block with its expiry alone.
 */
struct ig_xblock_key4 {
	__be32 addr;	/* masked to prefixlen */
	__u8 prefixlen;
	__u8 pad[3];
};

struct ig_xblock_key6 {
	__u8 addr[16];	/* network order, masked to prefixlen */
	__u8 prefixlen;
	__u8 pad[3];
};

/* ig_xinfo's key: either family. */
struct ig_xblock_key {
	__u8 family;	/* 4 or 6 */
	__u8 prefixlen;
	__u16 pad;
	__u8 addr[16];	/* network order, masked; IPv4 in the first 4 */
};

struct ig_xblock {
	__u64 expires_ns; /* CLOCK_MONOTONIC; 0 = never */
};

struct ig_xinfo {
	__u64 created_ns;
	__u32 count;
	__u16 port;
	__u8 origin;
	__u8 reason;
	__u8 prefixlen;
	__u8 level;
	__u8 pad[6];
	struct bpf_timer timer;	   /* the kernel's; user space leaves it */
	struct bpf_spin_lock lock; /* only for BPF_F_LOCK updates */
	__u32 pad2;
	char note[IG_NOTE_LEN];
};

/* A block as its two hashed elements (the note copied too; not the timer
 * or the lock), and back. */
static inline void ig_xblock_of(const struct ig_block *b, struct ig_xblock *x,
				struct ig_xinfo *i)
{
	x->expires_ns = b->expires_ns;
	i->created_ns = b->created_ns;
	i->count = b->count;
	i->port = b->port;
	i->origin = b->origin;
	i->reason = b->reason;
	i->prefixlen = b->prefixlen;
	i->level = b->level;
	__builtin_memcpy(i->note, b->note, IG_NOTE_LEN);
}

static inline void ig_block_of(const struct ig_xblock *x, const struct ig_xinfo *i,
			       struct ig_block *b)
{
	b->expires_ns = x->expires_ns;
	b->created_ns = i->created_ns;
	b->count = i->count;
	b->port = i->port;
	b->origin = i->origin;
	b->reason = i->reason;
	b->prefixlen = i->prefixlen;
	b->level = i->level;
	__builtin_memcpy(b->note, i->note, IG_NOTE_LEN);
}

/*
 * MFA grants: "this source prefix" (LPM, read by the data plane: with
 * default = deny it opens the policed ports) or "this user" (hash, read by
 * the auth-policy server), until expires_ns. Written by user space only.
 */
struct ig_grant {
	__u64 expires_ns; /* CLOCK_MONOTONIC; a grant always expires */
	__u64 created_ns;
	__u8 prefixlen;	  /* source grants: the key's prefix length */
	__u8 pad[7];
	char note[IG_NOTE_LEN];
};

struct ig_user_key {
	char user[IG_USER_LEN]; /* NUL-padded */
};

/* Rate limiter state, LRU per (port slot, source prefix). */
struct ig_src_key {
	__u8 family; /* 4 or 6 */
	__u8 stat_idx;
	__u16 pad;
	__be32 addr[4]; /* masked to the policy prefix; v4 uses addr[0] */
};

struct ig_rate_state {
	__u64 tat_ns; /* GCRA theoretical arrival time, coarse monotonic */
};

/*
 * ig_rate_fb: an array of max_sources GCRA arrival times (__u64, coarse
 * monotonic ns), indexed by a seeded hash of the ig_src_key. Every SYN the
 * rate limit passes raises its bucket to the source's new arrival time, so
 * a bucket is never behind any source hashed to it. A source missing from
 * the LRU table (new, or evicted by a flood) starts from its bucket, not
 * from a full allowance: eviction can no longer reset a limit.
 */

/*
 * Burst window per (port slot, source prefix): IG_BURST_SUBS counters, one
 * per sub-interval, summed over the current one and the SUBS-1 before it.
 * The window so spans between (SUBS-1)/SUBS and all of the interval:
 * burst+1 connections within 7/8 of it are always caught, and connections
 * more than the interval apart are never counted together.
 */
struct ig_burst_state {
	__u64 epoch; /* index of the newest sub-interval (now / burst_sub_ns) */
	__u32 cnt[IG_BURST_SUBS];
};

/* Offence history per source prefix (any port), for the escalation. */
struct ig_offence_key {
	__u8 family;
	__u8 pad[3];
	__be32 addr[4];
};

struct ig_offence {
	__u64 last_ns; /* CLOCK_MONOTONIC of the last automatic block */
	__u32 level;   /* 0 for the first; +1 per repeat within 24 h */
	__u32 pad;
};

/* Ring buffer events (ig_events). */
enum ig_event_type {
	IG_EV_BLOCK = 1,       /* an automatic block was decided */
	IG_EV_WOULD_BLOCK = 2, /* the same, in monitor mode: reported only, nothing
				* recorded (no block, timer or offence) */
	IG_EV_EXPIRE = 3,      /* an automatic block lapsed and was removed */
	IG_EV_PLAINTEXT_AUTH = 4, /* the STARTTLS guard refused a command before
				   * TLS: addr/family the client, port, origin
				   * the protocol (enum ig_tls_proto), reason
				   * enum ig_tls_reason, verb the command,
				   * user the user name it named, if any */
};

/* ig_event.flags (IG_EV_PLAINTEXT_AUTH) */
#define IG_EV_F_USER_CUT 0x01 /* user holds the name's first bytes only: the
			       * name was longer than user[], or went on in a
			       * later segment that the guard dropped unread */
#define IG_EV_F_MONITOR 0x02  /* monitor mode: reported, the bytes passed */

struct ig_event {
	__u64 time_ns;	  /* CLOCK_MONOTONIC */
	union {
		struct {
			__u64 expires_ns; /* of the block (CLOCK_MONOTONIC) */
			__u64 created_ns; /* of the block */
		};
		/* IG_EV_PLAINTEXT_AUTH: the refused verb, upper case, NUL-padded */
		char verb[16];
	};
	__u32 type;	  /* enum ig_event_type */
	__u32 count;	  /* connections seen in the window */
	__u8 addr[16];	  /* network order, IPv4 in the first 4 bytes */
	__u8 family;	  /* 4 or 6 */
	__u8 prefixlen;
	__u16 port;	  /* host order */
	__u8 origin;
	__u8 reason;
	__u8 level;
	__u8 user_len;	  /* IG_EV_PLAINTEXT_AUTH: bytes in user[], 0 if none */
	__u8 flags;	  /* IG_EV_F_* */
	__u8 pad[7];
	/* IG_EV_PLAINTEXT_AUTH: the user name of the refused IMAP LOGIN or POP3
	 * USER/APOP, raw client bytes (not text: render with ig_text_safe);
	 * never a password or SASL payload (bpf/starttls_scan.h) */
	char user[64];
};

/*
 * The STARTTLS guard's flows (ig_tls_flows), registered by sockops at
 * PASSIVE_ESTABLISHED for ports with action = starttls and removed at
 * close (a violated one at its client's next segment, or by the sweep of
 * user/lib/tls_sweep.c); read and advanced by the tc program
 * (bpf/starttls_guard.h).
 * Keyed by the client's view of the connection: saddr/sport the client,
 * daddr/dport the server. An IPv4 client of a dual-stack socket is keyed
 * as IPv4.
 */
struct ig_tls_flow_key {
	__u8 family;	/* 4 or 6 */
	__u8 pad;
	__u16 sport;	/* host order: the client's port */
	__u16 dport;	/* host order: the guarded port */
	__u16 pad2;
	__u8 saddr[16];	/* network order; IPv4 in the first 4 bytes */
	__u8 daddr[16];
};

enum ig_tls_flow_state {
	IG_TLS_FLOW_SCAN = 0,	  /* before TLS: every client byte scanned */
	IG_TLS_FLOW_PASSED = 1,	  /* TLS began: one lookup, then pass */
	IG_TLS_FLOW_VIOLATED = 2, /* a forbidden command: every segment dropped */
};

struct ig_tls_flow {
	__u8 state;	  /* enum ig_tls_flow_state */
	__u8 stat_idx;	  /* the port's counter slot */
	__u8 pad[2];
	/* Client sequence numbers, host order. `base` is the scanner state
	 * after the client's bytes up to base_seq, which the kernel has
	 * accepted (its rcv_nxt reached it); `scan` the state after every
	 * admitted byte, up to scan_seq. At most one admitted segment is
	 * unconfirmed: scan_seq != base_seq. */
	__u32 base_seq;
	__u32 scan_seq;
	__u32 pad2;
	__u64 admit_ns;	  /* CLOCK_MONOTONIC of the last admitted segment */
	struct ig_tls_scan base;
	struct ig_tls_scan scan;
	/* CLOCK_MONOTONIC of the violation (state VIOLATED), else 0: the
	 * sweep (user/lib/tls_sweep.c) removes a violated flow whose socket
	 * is gone once the client had its grace to retransmit */
	__u64 violated_ns;
};

/* What `status` shows; never read by the data plane. */
enum ig_xdp_mode_kind {
	IG_MODE_NONE = 0,
	IG_MODE_XDP_NATIVE = 1,
	IG_MODE_XDP_SKB = 2,
	IG_MODE_TC = 3,
	IG_MODE_NFT = 4, /* matched by iifname in table inet imapguard */
};

struct ig_meta_iface {
	__u32 ifindex;
	__u32 mode;	  /* enum ig_xdp_mode_kind actually attached */
	__u32 multiprog;  /* 1: behind a libxdp dispatcher, 0: sole program */
	__u32 pad;
	char name[16];
};

struct ig_meta {
	__u32 magic;  /* IG_META_MAGIC; these two fields never move */
	__u32 schema; /* IG_SCHEMA_VERSION of the binary that made the pins */
	__u64 generation;
	__u64 applied_unix;
	__u64 netns_ino; /* network namespace the interfaces belong to */
	__u32 attach;	 /* enum ig_attach */
	__u32 n_ifaces;
	__u32 max_sources;
	__u32 flags;	 /* IG_META_* */
	struct ig_meta_iface ifaces[IG_MAX_IFACES];
	char policy_path[256];
	/* unix socket where a running agent streams events; "" when none */
	char agent_sock[108];
	/* /proc/sys/kernel/random/boot_id of the boot the pins were made in,
	 * as its 16 bytes: a state file written in another boot cannot be in
	 * them */
	__u8 boot_id[16];
};

/* The agent merged its state file into these pins (whoever made them):
 * a later start of the agent on the same pins does not merge again. */
#define IG_META_STATE_MERGED (1u << 0)
/* The policy in force wants the nftables mirror (attach = xdp/tc with
 * nft_mirror = yes): the CLI and the agent keep `table inet imapguard`
 * up to date and say so when it is missing. A new bit in a field old
 * binaries already ignore: no layout or meaning of theirs changes. */
#define IG_META_NFT_MIRROR (1u << 1)

/* The layout check (IG_LAYOUT, next to IG_SCHEMA_VERSION). */
#define IG__SIZE_IS(type, n)                                                   \
	_Static_assert(sizeof(struct type) == (n),                             \
		       "struct " #type " changed size: bump IG_SCHEMA_VERSION " \
		       "and IG_LAYOUT");
#define IG__OFF_IS(type, field, n)                                             \
	_Static_assert(__builtin_offsetof(struct type, field) == (n),          \
		       #type "." #field " moved: bump IG_SCHEMA_VERSION "        \
		       "and IG_LAYOUT");
#define IG__VAL_IS(name, n)                                                    \
	_Static_assert((name) == (n), #name " is not " #n ": IG_SCHEMA_VERSION " \
		       "and IG_LAYOUT move together");
IG_LAYOUT(IG__SIZE_IS, IG__OFF_IS, IG__VAL_IS)

#endif /* IMAPGUARD_H */
