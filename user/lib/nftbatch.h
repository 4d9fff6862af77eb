/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One nftables transaction over netlink (libmnl + libnftnl), done the way
 * nft(8) does it (src/mnl.c, mnl_batch_talk): every message asks for an
 * ACK, carries its own sequence number and a description of the object it
 * touches, and every error the kernel sends back is mapped to that object.
 * The kernel applies the whole batch or none of it.
 */
#ifndef IG_NFTBATCH_H
#define IG_NFTBATCH_H

#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

struct ig_nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0, seq;
	struct nft_what {
		uint32_t seq;
		char what[96];
	} *whats;
	size_t nwhats, capwhats;
	int oom;	       /* an allocation failed: sending fails with -ENOMEM */
	int retried;	       /* set by the caller on a second attempt (tests' faults) */
	int expect_refusal;    /* set by a caller that handles a refusal: debug, not error */
	int nerrors;	       /* refusals in the last ig_nft_batch_send */
};

/* An empty transaction (the begin marker only); ig_nft_batch_free releases
 * it. Out of memory here shows at ig_nft_batch_send (-ENOMEM). */
void ig_nft_batch_init(struct ig_nft_batch *b);
void ig_nft_batch_free(struct ig_nft_batch *b);

/* A libnftnl object for the batch could not be allocated: the batch is
 * incomplete, so ig_nft_batch_send refuses to send it (-ENOMEM). */
void ig_nft_batch_oom(struct ig_nft_batch *b);

/*
 * The next message: room for `need` bytes, its header built for family
 * inet with `flags` plus NLM_F_ACK (every message is answered, so every
 * error maps to its object) and NLM_F_CREATE for the NEW* types. Describe
 * the object for error reports. NULL when out of memory (ig_nft_batch_send then
 * fails); fill the payload and ig_nft_batch_commit().
 */
struct nlmsghdr *ig_nft_batch_msg(struct ig_nft_batch *b, size_t need, uint16_t type, uint16_t flags,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Account a message built at the header ig_nft_batch_msg returned. */
void ig_nft_batch_commit(struct ig_nft_batch *b, const struct nlmsghdr *nlh);

/* Nothing queued since ig_nft_batch_init: no transaction is needed. */
int ig_nft_batch_empty(const struct ig_nft_batch *b);

/*
 * Send the transaction and collect every answer. 0 when the kernel applied
 * it. Otherwise nothing of it was applied, or (-ENOBUFS) answers were lost
 * and whether it was is unknown, so the caller reads the ruleset again and
 * starts over. Every failure is explained once through the print hook
 * (log.h), so callers add only their own context: each object the kernel
 * refused ("nftables refused OBJECT: reason", at error level, or debug
 * when b->expect_refusal is set), and every other failure at error level,
 * but -ENOBUFS (debug: the caller retries, and says so when it gives up).
 * Errors: the kernel's for the first refused object (-ENOENT, -EEXIST,
 * -EINVAL, ...); -ENOMEM (the batch could not be built); -ENOBUFS;
 * -errno of the netlink socket.
 */
int ig_nft_batch_send(struct ig_nft_batch *b);

/*
 * One request outside any batch (a GET, or a dump): send `req` and run `cb`
 * on every answer until the kernel is done. 0, or -errno (an error answer,
 * e.g. -ENOENT for a table that does not exist).
 */
int ig_nft_query(struct nlmsghdr *req, int (*cb)(const struct nlmsghdr *nlh, void *data),
	      void *data);

#endif
