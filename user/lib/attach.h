/* SPDX-License-Identifier: GPL-2.0-only */
/* Attaching the data plane to interfaces: XDP through libxdp, tc clsact. */
#ifndef IG_ATTACH_H
#define IG_ATTACH_H

#include <stdint.h>

#include "imapguard.h"

/* Our tc filter's identity on clsact ingress. */
#define IG_TC_HANDLE 0x1e9a
#define IG_TC_PRIO 1

/*
 * Attach a fresh program instance (sharing the pinned maps under `pin`,
 * tables sized for max_sources) to `ifindex` with `attach` (enum
 * ig_attach). Returns 0 with *out saying what was obtained, or -errno of
 * the load or attach (e.g. -EEXIST: an XDP program that is not ours is
 * there, which it refuses to displace; -EOPNOTSUPP: no native XDP), each
 * explained through the print hook, so callers do not repeat it.
 */
int ig_attach_iface(const char *pin, uint32_t max_sources, int attach,
		    int ifindex, struct ig_meta_iface *out);

#define IG_DETACH_XDP (1 << 0)
#define IG_DETACH_TC (1 << 1)
#define IG_DETACH_ALL (IG_DETACH_XDP | IG_DETACH_TC)

/* Remove our XDP and/or tc program (`which`: IG_DETACH_*) from the
 * interface. Returns 0, also when none was there, or -errno of libxdp /
 * bpf_tc_detach(), explained through the print hook. */
int ig_detach_iface(const char *pin, const struct ig_meta_iface *ifc, int which);

/* What of ours is attached now: fills out->mode and out->multiprog
 * (IG_MODE_NONE if nothing or if it cannot be queried; XDP is reported
 * before tc when both are there). */
void ig_query_iface(int ifindex, struct ig_meta_iface *out);

/* Our XDP mode on the interface (IG_MODE_XDP_*), or IG_MODE_NONE when
 * none of ours is there or it cannot be queried. */
uint32_t ig_xdp_mode(int ifindex);

/* 1 when our tc program (IG_TC_HANDLE/IG_TC_PRIO on clsact ingress) is
 * attached to the interface, else 0 (also when it cannot be queried). */
int ig_tc_attached(int ifindex);

/* The IG_MODE_* that an `attach =` value (enum ig_attach) asks for. */
uint32_t ig_attach_mode(int attach);

/* The name of an IG_MODE_* ("xdp", "tc", ...), as status prints it; a
 * static string, never NULL ("?" for an unknown mode). */
const char *ig_mode_name(uint32_t mode);

/* What serves each interface of the pins now, into out; returns how many.
 * (nft mode has no per-interface program: the table has to be there.) */
uint32_t ig_ifaces_state(const struct ig_meta *m, struct ig_meta_iface out[IG_MAX_IFACES]);

#endif
