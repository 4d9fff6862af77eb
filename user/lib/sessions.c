// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <libmnl/libmnl.h>

#include "sessions.h"

/* Sessions that can still carry a guess: established, being set up, or
 * half-closed by the client. (TIME_WAIT and friends carry nothing.) */
#define IG_DIAG_STATES ((1u << TCP_ESTABLISHED) | (1u << TCP_SYN_RECV) | (1u << TCP_CLOSE_WAIT))

struct victims {
	const struct ig_prefix *p;
	const uint16_t *ports;
	int nports;
	uint8_t family;
	struct inet_diag_sockid *ids;
	size_t n, cap;
};

static int peer_in_prefix(const struct victims *v, const struct inet_diag_msg *m)
{
	struct ig_prefix peer = { .family = v->p->family, .len = v->p->len };
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *dst = (const uint8_t *)m->id.idiag_dst;

	if (v->p->family == 4) {
		if (m->idiag_family == AF_INET)
			memcpy(peer.addr, dst, 4);
		else if (!memcmp(dst, mapped, 12)) /* IPv4 on a dual-stack socket */
			memcpy(peer.addr, dst + 12, 4);
		else
			return 0;
	} else {
		if (m->idiag_family != AF_INET6)
			return 0;
		memcpy(peer.addr, dst, 16);
	}
	ig_prefix_mask(&peer);
	return !memcmp(peer.addr, v->p->addr, sizeof(peer.addr));
}

static int on_sock(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct victims *v = data;
	int ours = 0;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	for (int i = 0; i < v->nports; i++)
		if (ntohs(m->id.idiag_sport) == v->ports[i])
			ours = 1;
	if (!ours || !peer_in_prefix(v, m))
		return MNL_CB_OK;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		struct inet_diag_sockid *g = realloc(v->ids, cap * sizeof(*g));

		if (!g)
			return MNL_CB_ERROR;
		v->ids = g;
		v->cap = cap;
	}
	v->ids[v->n++] = m->id;
	return MNL_CB_OK;
}

/* One request and its answers; dump collects into v, destroy just acks. */
static int talk(struct mnl_socket *nl, uint16_t type, uint16_t flags, uint8_t family,
		const struct inet_diag_sockid *id, struct victims *v)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	unsigned int seq = (unsigned int)time(NULL) ^ (unsigned int)rand(), portid;
	ssize_t n;
	int rc;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = IG_DIAG_STATES;
	if (id)
		req->id = *id;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, v ? on_sock : NULL, v);
	} while (rc > MNL_CB_STOP);
	return rc < 0 ? -errno : 0;
}

int ig_sessions_kill(const struct ig_prefix *p, const uint16_t *ports, int nports,
		     int *killed)
{
	/* an IPv4 peer may sit on an AF_INET6 socket as ::ffff:a.b.c.d */
	static const uint8_t fams4[] = { AF_INET, AF_INET6 }, fams6[] = { AF_INET6 };
	const uint8_t *fams = p->family == 4 ? fams4 : fams6;
	int nfams = p->family == 4 ? 2 : 1, err = 0;
	struct mnl_socket *nl;

	*killed = 0;
	if (!nports)
		return 0;
	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	for (int f = 0; f < nfams && !err; f++) {
		struct victims v = { .p = p, .ports = ports, .nports = nports, .family = fams[f] };

		err = talk(nl, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, fams[f], NULL, &v);
		for (size_t i = 0; i < v.n && !err; i++) {
			int rc = talk(nl, SOCK_DESTROY, NLM_F_ACK, fams[f], &v.ids[i], NULL);

			if (rc == 0)
				(*killed)++;
			else if (rc != -ENOENT) /* gone meanwhile: fine */
				err = rc;
		}
		free(v.ids);
	}
out:
	mnl_socket_close(nl);
	return err;
}
