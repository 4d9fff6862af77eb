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
 * Attach a fresh program instance (sharing the pinned maps) to `ifindex`
 * with `attach` (enum ig_attach). On success `out` says what was obtained.
 * Refuses to displace an XDP program that is not ours.
 */
int ig_attach_iface(const char *pin, uint32_t max_sources, int attach,
		    int ifindex, struct ig_meta_iface *out);

#define IG_DETACH_XDP (1 << 0)
#define IG_DETACH_TC (1 << 1)
#define IG_DETACH_ALL (IG_DETACH_XDP | IG_DETACH_TC)

/* Remove our XDP and/or tc program from the interface; 0 if not there. */
int ig_detach_iface(const char *pin, const struct ig_meta_iface *ifc, int which);

/* What of ours is attached now: fills mode/multiprog (IG_MODE_NONE if
 * nothing; XDP is reported before tc when both are there). */
void ig_query_iface(int ifindex, struct ig_meta_iface *out);

/* Our XDP mode on the interface (IG_MODE_XDP_* or IG_MODE_NONE). */
uint32_t ig_xdp_mode(int ifindex);
int ig_tc_attached(int ifindex);

/* The IG_MODE_* that an `attach =` value asks for. */
uint32_t ig_attach_mode(int attach);

const char *ig_mode_name(uint32_t mode);

/* What serves each interface of the pins now, into out; returns how many.
 * (nft mode has no per-interface program: the table has to be there.) */
uint32_t ig_ifaces_state(const struct ig_meta *m, struct ig_meta_iface out[IG_MAX_IFACES]);

#endif
