// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

/* A dump's NLMSG_DONE carries the dump's error in its payload (an int,
 * e.g. -ENOBUFS or -EINTR when the kernel gave up midway); libmnl's
 * default ends the walk as if it were complete. */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int err;

		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		if (err < 0) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* As libmnl's own NLMSG_ERROR handler, which a control array with an
 * NLMSG_DONE entry replaces: an ack ends the talk, an error fails it. */
static int on_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	(void)data;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP;
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* One request about sockets in STATES (TCPF_* bits) and its answers, each
 * passed to cb (NULL: just the ack). */
static int talk_states(struct mnl_socket *nl, uint16_t type, uint16_t flags, uint8_t family,
		       uint32_t states, const struct inet_diag_sockid *id, mnl_cb_t cb,
		       void *data)
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
	req->idiag_states = states;
	if (id)
		req->id = *id;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	do {
		/* entries past NLMSG_DONE keep libmnl's defaults; those before it
		 * are ignored when NULL (NLMSG_NOOP) */
		mnl_cb_t ctl[NLMSG_DONE + 1] = { [NLMSG_ERROR] = on_error, [NLMSG_DONE] = on_done };

		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run2(buf, (size_t)n, seq, portid, cb, data, ctl, NLMSG_DONE + 1);
	} while (rc > MNL_CB_STOP);
	return rc < 0 ? -errno : 0;
}

/* talk_states about the sessions that can still carry a guess */
static int talk(struct mnl_socket *nl, uint16_t type, uint16_t flags, uint8_t family,
		const struct inet_diag_sockid *id, mnl_cb_t cb, void *data)
{
	return talk_states(nl, type, flags, family, IG_DIAG_STATES, id, cb, data);
}

struct sock_walk {
	ig_socket_fn fn;
	void *data;
};

static int on_walk(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct sock_walk *w = data;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*m))
		w->fn(m, w->data);
	return MNL_CB_OK;
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

		err = talk(nl, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, fams[f], NULL, on_sock, &v);
		for (size_t i = 0; i < v.n && !err; i++) {
			int rc = talk(nl, SOCK_DESTROY, NLM_F_ACK, fams[f], &v.ids[i], NULL, NULL);

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

static int on_owner(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*m))
		*(int64_t *)data = m->idiag_uid;
	return MNL_CB_OK;
}

/* An IPv4 peer of a dual-stack socket is ::ffff:a.b.c.d; its own socket is
 * AF_INET. Returns the family to ask in, with the addresses made to fit. */
static uint8_t unmap(struct sockaddr_in6 *a, struct sockaddr_in6 *b, struct inet_diag_sockid *id)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!memcmp(&a->sin6_addr, mapped, 12) && !memcmp(&b->sin6_addr, mapped, 12)) {
		memcpy(id->idiag_src, (uint8_t *)&a->sin6_addr + 12, 4);
		memcpy(id->idiag_dst, (uint8_t *)&b->sin6_addr + 12, 4);
		return AF_INET;
	}
	memcpy(id->idiag_src, &a->sin6_addr, 16);
	memcpy(id->idiag_dst, &b->sin6_addr, 16);
	return AF_INET6;
}

int ig_sock_peer_uid(int fd, uint32_t *uid)
{
	struct sockaddr_storage local, peer;
	socklen_t ll = sizeof(local), pl = sizeof(peer);
	struct inet_diag_sockid id = { .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } };
	const struct timeval tmo = { .tv_sec = 1 };
	struct mnl_socket *nl;
	int64_t owner = -1;
	uint8_t family;
	int err;

	if (getsockname(fd, (struct sockaddr *)&local, &ll) ||
	    getpeername(fd, (struct sockaddr *)&peer, &pl))
		return -errno;
	/* the peer's socket: its local end is our peer, its remote end us */
	if (peer.ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)&peer, *l = (const void *)&local;

		family = AF_INET;
		memcpy(id.idiag_src, &p->sin_addr, 4);
		memcpy(id.idiag_dst, &l->sin_addr, 4);
		id.idiag_sport = p->sin_port;
		id.idiag_dport = l->sin_port;
	} else if (peer.ss_family == AF_INET6) {
		struct sockaddr_in6 *p = (void *)&peer, *l = (void *)&local;

		family = unmap(p, l, &id);
		id.idiag_sport = p->sin6_port;
		id.idiag_dport = l->sin6_port;
	} else {
		return -EAFNOSUPPORT;
	}
	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	/* one answer, then the ack that ends it (an exact lookup is not a
	 * multipart dump, so no NLMSG_DONE); never wait on the kernel long */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	else
		err = talk(nl, SOCK_DIAG_BY_FAMILY, NLM_F_ACK, family, &id, on_owner, &owner);
	mnl_socket_close(nl);
	if (err)
		return err; /* -ENOENT: not a socket of this namespace */
	if (owner < 0)
		return -ENOENT;
	*uid = (uint32_t)owner;
	return 0;
}

int ig_sockets_foreach(uint8_t family, uint32_t states, ig_socket_fn fn, void *data)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	struct sock_walk w = { .fn = fn, .data = data };
	int err;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	else
		err = talk_states(nl, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, family, states, NULL,
				  on_walk, &w);
	mnl_socket_close(nl);
	return err;
}

struct exact {
	const struct inet_diag_sockid *id;
	uint32_t states;
	int found;
};

static int on_exact(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct exact *x = data;

	/* the kernel's lookup falls back to a listener of the local port:
	 * only the connection's own 4-tuple, in one of the states, counts */
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*m) && m->idiag_state < 32 &&
	    (x->states & (1u << m->idiag_state)) && m->id.idiag_sport == x->id->idiag_sport &&
	    m->id.idiag_dport == x->id->idiag_dport &&
	    !memcmp(m->id.idiag_src, x->id->idiag_src, sizeof(m->id.idiag_src)) &&
	    !memcmp(m->id.idiag_dst, x->id->idiag_dst, sizeof(m->id.idiag_dst)))
		x->found = 1;
	return MNL_CB_OK;
}

int ig_socket_lookup(uint8_t family, const struct inet_diag_sockid *id, uint32_t states)
{
	const struct timeval tmo = { .tv_sec = 1 };
	struct inet_diag_sockid q = *id;
	struct exact x = { .id = id, .states = states };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	int err;

	if (!nl)
		return -errno;
	q.idiag_cookie[0] = q.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	/* one answer and the ack (no NLMSG_DONE); never wait on the kernel long */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	else
		err = talk_states(nl, SOCK_DIAG_BY_FAMILY, NLM_F_ACK, family, states, &q, on_exact,
				  &x);
	mnl_socket_close(nl);
	if (err)
		return err;
	return x.found ? 0 : -ENOENT;
}
