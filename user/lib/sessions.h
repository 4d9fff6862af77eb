/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Ending a blocked source's open sessions. XDP drops its new packets, but an
 * established IMAP session would otherwise linger on the server; SOCK_DESTROY
 * over inet_diag aborts it (the server sends a RST). Shared by the CLI and
 * every events consumer.
 */
#ifndef IG_SESSIONS_H
#define IG_SESSIONS_H

#include <stdint.h>

#include "addr.h"

/* Destroy this namespace's TCP sockets whose peer lies in `p` and whose
 * local port (host order) is one of the nports `ports`, through
 * NETLINK_SOCK_DIAG's SOCK_DESTROY (needs CONFIG_INET_DIAG_DESTROY and
 * CAP_NET_ADMIN); *killed counts them. Returns 0 (a socket gone meanwhile
 * is no error), or -errno of the netlink talk (e.g. -EOPNOTSUPP: the
 * kernel cannot destroy sockets). */
int ig_sessions_kill(const struct ig_prefix *p, const uint16_t *ports, int nports,
		     int *killed);

/*
 * The owner of the socket at the other end of the connected TCP socket fd,
 * when that socket lives on this host (in this network namespace): an
 * exact NETLINK_SOCK_DIAG lookup (inet_diag_req_v2 without NLM_F_DUMP) of
 * the 4-tuple seen from the peer's side. TCP has no SO_PEERCRED; this is
 * its equivalent for local peers. Returns 0 with *uid set, -ENOENT when
 * the peer is not a socket of this namespace (a remote client), or
 * another -errno.
 */
int ig_sock_peer_uid(int fd, uint32_t *uid);

struct inet_diag_msg;
/* Called with each socket of a walk and the walk's data. */
typedef void (*ig_socket_fn)(const struct inet_diag_msg *m, void *data);

/* Every TCP socket of this network namespace in family (AF_INET or
 * AF_INET6; an IPv4 peer of a dual-stack socket is in AF_INET6, as
 * ::ffff:a.b.c.d) whose state is one of STATES (a mask of 1 << TCP_*),
 * each passed to fn: one NETLINK_SOCK_DIAG dump. A dump is no snapshot:
 * the kernel resumes each part by position in a hash bucket, so a socket
 * closing meanwhile can make it skip one that lives throughout (confirm an
 * absence with ig_socket_lookup). Returns 0, or -errno of the netlink talk
 * or of the dump's end (then the walk is incomplete). */
int ig_sockets_foreach(uint8_t family, uint32_t states, ig_socket_fn fn, void *data);

struct inet_diag_sockid;
/*
 * Is there a TCP socket of this network namespace with exactly the
 * 4-tuple id (idiag_src/idiag_sport its local end, idiag_dst/idiag_dport
 * its peer; ports in network byte order; addresses as family, AF_INET in
 * the first 4 bytes) in one of STATES (a mask of 1 << TCP_*)? One exact
 * NETLINK_SOCK_DIAG lookup (no NLM_F_DUMP, so unlike a dump it cannot skip
 * a socket that exists throughout; the cookie is ignored). Returns 0 when
 * there is, -ENOENT when there is none (or only a socket in another state,
 * or the listener the kernel's lookup falls back to), or another -errno
 * (then nothing can be told: e.g. -EAGAIN after 1 s without an answer).
 */
int ig_socket_lookup(uint8_t family, const struct inet_diag_sockid *id, uint32_t states);

#endif
