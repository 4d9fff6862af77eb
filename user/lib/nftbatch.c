// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/common.h>

#include "fault.h"
#include "log.h"
#include "nftbatch.h"

#define NFTB_SOCKBUF (64u << 20) /* a 100,000-element batch fits */

/* Room for the next message, with its sequence number and description. */
static char *reserve(struct ig_nft_batch *b, size_t need, uint32_t *seq, const char *what)
{
	if (b->oom)
		return NULL;
	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap : 1u << 16;
		char *g;

		while (cap < b->len + need)
			cap *= 2;
		g = realloc(b->buf, cap);
		if (!g) {
			b->oom = 1;
			return NULL;
		}
		b->buf = g;
		b->cap = cap;
	}
	if (b->nwhats == b->capwhats) {
		size_t cap = b->capwhats ? b->capwhats * 2 : 256;
		struct nft_what *g = realloc(b->whats, cap * sizeof(*g));

		if (!g) {
			b->oom = 1;
			return NULL;
		}
		b->whats = g;
		b->capwhats = cap;
	}
	*seq = b->seq++;
	b->whats[b->nwhats].seq = *seq;
	snprintf(b->whats[b->nwhats].what, sizeof(b->whats[b->nwhats].what), "%s", what);
	b->nwhats++;
	memset(b->buf + b->len, 0, need);
	return b->buf + b->len;
}

void ig_nft_batch_init(struct ig_nft_batch *b)
{
	uint32_t s;
	char *p;

	memset(b, 0, sizeof(*b));
	b->seq0 = b->seq = (uint32_t)time(NULL) << 8;
	p = reserve(b, 64, &s, "batch begin");
	if (p)
		ig_nft_batch_commit(b, nftnl_batch_begin(p, s));
}

void ig_nft_batch_oom(struct ig_nft_batch *b)
{
	b->oom = 1;
}

void ig_nft_batch_free(struct ig_nft_batch *b)
{
	free(b->buf);
	free(b->whats);
	memset(b, 0, sizeof(*b));
}

static int is_new(uint16_t type)
{
	return type == NFT_MSG_NEWTABLE || type == NFT_MSG_NEWCHAIN || type == NFT_MSG_NEWRULE ||
	       type == NFT_MSG_NEWSET || type == NFT_MSG_NEWSETELEM || type == NFT_MSG_NEWOBJ;
}

struct nlmsghdr *ig_nft_batch_msg(struct ig_nft_batch *b, size_t need, uint16_t type, uint16_t flags,
			  const char *fmt, ...)
{
	char what[sizeof(b->whats->what)];
	uint32_t seq;
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	p = reserve(b, need, &seq, what);
	if (!p)
		return NULL;
	flags |= NLM_F_ACK | (is_new(type) ? NLM_F_CREATE : 0);
	return nftnl_nlmsg_build_hdr(p, type, NFPROTO_INET, flags, seq);
}

int ig_nft_batch_empty(const struct ig_nft_batch *b)
{
	return b->nwhats <= 1 && !b->oom; /* just the begin marker */
}

void ig_nft_batch_commit(struct ig_nft_batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static const char *what_of(const struct ig_nft_batch *b, uint32_t seq)
{
	for (size_t i = 0; i < b->nwhats; i++)
		if (b->whats[i].seq == seq)
			return b->whats[i].what;
	return "unknown object";
}

/* A bound netfilter socket whose reads give up after 10 s, never hanging
 * on a lost answer; NULL with errno set. */
static struct mnl_socket *nft_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct timeval tv = { .tv_sec = 10 };
	int err;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return nl;
}

/* A refusal of one message of the batch, reported through the print hook
 * (every one, as nft(8) does, not only the first); *first keeps the
 * kernel's error for the first. */
static void refused(struct ig_nft_batch *b, const struct nlmsgerr *e, int *first)
{
	if (b->expect_refusal) /* the caller has a way around it (ig_nft_put) */
		ig_debug("nftables refused %s: %s", what_of(b, e->msg.nlmsg_seq),
			 strerror(-e->error));
	else
		ig_err("nftables refused %s: %s", what_of(b, e->msg.nlmsg_seq),
		       strerror(-e->error));
	b->nerrors++;
	if (!*first)
		*first = e->error;
}

int ig_nft_batch_send(struct ig_nft_batch *b)
{
	struct mnl_socket *nl;
	unsigned int portid, bufsz = NFTB_SOCKBUF;
	char rbuf[MNL_SOCKET_BUFFER_SIZE * 4];
	size_t acks = 0, want;
	int first = 0;
	uint32_t s;
	char *p;

	b->nerrors = 0;
	/* the end marker asks for no ACK; every other message does */
	p = reserve(b, 64, &s, "batch end");
	if (!p || b->oom) {
		ig_err("nftables: out of memory building the transaction");
		return -ENOMEM;
	}
	ig_nft_batch_commit(b, nftnl_batch_end(p, s));
	want = b->nwhats - 2;

	nl = nft_open();
	if (!nl) {
		int e = errno;

		ig_err("nftables: cannot open a netlink socket: %s", strerror(e));
		return -e;
	}
	{
		int one = 1;

		/* one sendmsg carries the whole transaction: make room for it */
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz));
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
		/* ACKs without a copy of the request: a 2,000-element message
		 * would otherwise come back whole with each answer */
		setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	}
	portid = mnl_socket_get_portid(nl);
	if (ig_fault("nft_batch_enobufs") && !b->retried) {
		/* tests only: the answers are lost, as when the socket's
		 * receive queue overflows; the caller must start over */
		first = -ENOBUFS;
		ig_debug("nftables: reading the answers: %s (injected)", strerror(ENOBUFS));
		goto out;
	}
	if (mnl_socket_sendto(nl, b->buf, b->len) < 0) {
		first = -errno;
		ig_err("nftables: sending the transaction (%zu bytes): %s", b->len,
		       strerror(-first));
		goto out;
	}
	/* drain every answer: an ACK (error 0) or an error per message. The
	 * kernel checks every message even after one failed and answers each
	 * (all before sendmsg returns: nfnetlink runs in the sender's
	 * context), so every refusal is read, not only the first; then the
	 * queue is empty (EAGAIN), as in nft's mnl_batch_talk */
	while (acks < want) {
		ssize_t n = recv(mnl_socket_get_fd(nl), rbuf, sizeof(rbuf), MSG_DONTWAIT);
		const struct nlmsghdr *h;
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && first)
			break; /* refused: the kernel may have answered only once */
		if (n < 0) {
			/* ENOBUFS: answers were lost; whether the kernel applied
			 * the batch is unknown, so the caller reads the ruleset
			 * again and starts over (a change by difference is safe
			 * to repeat). EAGAIN with answers missing: the same */
			int e = errno == EAGAIN || errno == EWOULDBLOCK ? ENOBUFS : errno;

			first = -e;
			/* lost answers are the caller's to retry (and to report
			 * when it gives up); any other socket error is final */
			if (e == ENOBUFS)
				ig_debug("nftables: reading the answers (%zu of %zu): %s", acks,
					 want, strerror(e));
			else
				ig_err("nftables: reading the answers (%zu of %zu): %s", acks, want,
				       strerror(e));
			break;
		}
		left = (size_t)n;
		for (h = (const struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, (int)left);
		     h = mnl_nlmsg_next(h, (int *)&left)) {
			const struct nlmsgerr *e;

			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_pid != portid)
				continue;
			e = mnl_nlmsg_get_payload(h);
			acks++;
			if (e->error)
				refused(b, e, &first);
		}
	}
out:
	mnl_socket_close(nl);
	return first;
}

int ig_nft_query(struct nlmsghdr *req, int (*cb)(const struct nlmsghdr *nlh, void *data),
	      void *data)
{
	/* a dump answers in chunks of up to 32 KiB */
	size_t len = 64u << 10;
	struct mnl_socket *nl = nft_open();
	char *buf = malloc(len);
	int ret = MNL_CB_OK;
	ssize_t n;

	if (!nl || !buf) {
		ret = nl ? -ENOMEM : -errno;
		goto out;
	}
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	errno = 0;
	while (ret > MNL_CB_STOP) {
		n = mnl_socket_recvfrom(nl, buf, len);
		if (n <= 0) { /* a dump ends with NLMSG_DONE, never with silence */
			ret = MNL_CB_ERROR;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, mnl_socket_get_portid(nl), cb,
				 data);
	}
	ret = ret < 0 ? (errno ? -errno : -EIO) : 0;
out:
	free(buf);
	if (nl)
		mnl_socket_close(nl);
	return ret;
}
