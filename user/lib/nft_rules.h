/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rules of `table inet imapguard` (attach = nft), as libnftnl
 * expressions: the prerouting jump per interface, the dispatch jump per
 * port, and each port's chain, in the precedence of bpf/classify.h.
 * Each function queues NEWRULE messages (appended) into a batch.
 */
#ifndef IG_NFT_RULES_H
#define IG_NFT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "compile.h"

struct ig_nft_batch;

/* The chain of one policed port: "pPORT" (port in host order). */
void ig_nft_port_chain(char *buf, size_t len, uint16_t port);

/* The meter set of a ratelimit port for family 4 or 6 and the source
 * prefix length it counts by; the name carries the meter's shape, so a
 * changed rate gets a new set. */
void ig_nft_rate_set_name(char *buf, size_t len, int family, const struct ig_port_cfg *pc,
			  uint8_t prefix);

/* The rules of chain `chain` for port `pc` of slot `slot`. */
void ig_nft_port_rules(struct ig_nft_batch *b, const struct ig_slot *slot,
		       const struct ig_port_cfg *pc, const char *chain);

/* In chain dispatch: TCP to `port` (host order) jumps to `chain`. */
void ig_nft_dispatch_rule(struct ig_nft_batch *b, uint16_t port, const char *chain);

/* In chain prerouting: packets in on interface `ifname` jump to dispatch. */
void ig_nft_iface_rule(struct ig_nft_batch *b, const char *ifname);

#endif
