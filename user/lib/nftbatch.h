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

struct nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0, seq;
	struct nft_what {
		uint32_t seq;
		char what[96];
	} *whats;
	size_t nwhats, capwhats;
	int oom;
};

void nftb_init(struct nft_batch *b);
void nftb_free(struct nft_batch *b);

/*
 * Room for the next message (at least `need` bytes); returns where to build
 * it and the sequence number to give it. Describe it for error reports.
 */
char *nftb_next(struct nft_batch *b, size_t need, uint32_t *seq, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Account a message built at the pointer nftb_next returned. */
void nftb_commit(struct nft_batch *b, const struct nlmsghdr *nlh);

/*
 * Send the transaction and collect every answer. 0 on success; otherwise
 * -errno of the first failure, with "OBJECT: reason" in err.
 */
int nftb_send(struct nft_batch *b, char *err, size_t errlen);

#endif
