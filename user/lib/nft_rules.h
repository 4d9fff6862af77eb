/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rules of `table inet imapguard` (attach = nft), as libnftnl
 * expressions: in prerouting, one rule per interface and port going to
 * the port's chain, and each port's chain, in the precedence of
 * bpf/classify.h. Each function queues NEWRULE messages (appended) into a
 * batch; an allocation that fails marks the batch, which is then never
 * sent (ig_nft_batch_send: -ENOMEM).
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

/* The bit of list `flag` (IG_LIST_ALLOW or IG_LIST_DENY) of family 4 or 6
 * in the `lists` mask of ig_nft_port_rules. */
#define IG_NFT_LIST_BIT(flag, family) ((flag) << ((family) == 6 ? 8 : 0))

/* The rules of chain `chain` for port `pc` of slot `slot`. `lists`: the
 * IG_NFT_LIST_BITs of the allow and deny sets that hold elements; an
 * empty one gets no rule (the block and grant sets, which change between
 * applies, always do). */
void ig_nft_port_rules(struct ig_nft_batch *b, const struct ig_slot *slot,
		       const struct ig_port_cfg *pc, unsigned int lists, const char *chain);

/* In chain prerouting: TCP in on interface `ifname` to `port` (host
 * order) goes to the port's chain `chain`. One rule per interface and
 * port, so a packet pays one rule on its way in, not a jump to a
 * dispatch chain as well (issue 13: the nft rate limit at the cost of a
 * hand-written meter). */
void ig_nft_port_jump(struct ig_nft_batch *b, const char *ifname, uint16_t port, const char *chain);

#endif
