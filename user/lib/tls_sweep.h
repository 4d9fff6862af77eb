/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The STARTTLS guard's flow sweep: no entry of ig_tls_flows outlives its
 * connection for long. sockops removes a flow at close, but keeps a
 * violated one for its client's next segment (bpf/starttls_guard.h: that
 * segment meets no socket and the kernel resets the client). A client that
 * never sends again (it vanished after its plaintext LOGIN, or its FIN
 * carries no payload the guard looks up) would leave the entry for good,
 * and enough of them fill the table: new flows then fail closed. The agent
 * sweeps every few seconds, `imapguard apply` once.
 */
#ifndef IG_TLS_SWEEP_H
#define IG_TLS_SWEEP_H

#include <stdint.h>

#include "pins.h"

/*
 * How long a violated flow whose server socket is gone is kept for its
 * client's retransmission. The first one comes after one RTO: 1 s before
 * any RTT sample (RFC 6298; 3 s in older stacks), at least 200 ms on
 * Linux after one; above 10 s only on a path whose round trip exceeds
 * about 2.5 s. A client later than that finds no flow: its segment is
 * refused as unattributed and it times out by itself.
 */
#define IG_TLS_SWEEP_GRACE_NS (10ull * 1000000000ull)

struct ig_tls_sweep_report {
	uint32_t flows;	   /* entries in the table when the sweep began */
	uint32_t violated; /* removed: violated, socket gone, grace over */
	uint32_t orphaned; /* removed: before or after TLS, socket gone */
	uint32_t unconfirmed; /* kept: whether the socket is gone could not be told */
	uint32_t torn;	      /* 1: the table changed under its walk; nothing judged */
};

/*
 * Remove from h's ig_tls_flows every flow whose connection is gone: no TCP
 * socket of this network namespace (one NETLINK_SOCK_DIAG dump per family)
 * has its 4-tuple, in any state but LISTEN and TIME_WAIT, and an exact
 * lookup of its socket (a dump is no snapshot) answers ENOENT in every
 * family it could be in. A lookup that fails otherwise keeps the flow
 * (r->unconfirmed: fail safe for a live session). A violated flow goes
 * only IG_TLS_SWEEP_GRACE_NS after its violation (`now`, CLOCK_MONOTONIC
 * ns, as bpf_ktime_get_ns). The flows are read before the sockets are
 * dumped, so a connection registered meanwhile is not judged; a walk of
 * the table that met a flow twice (connections closed under it) judges
 * nothing (r->torn). A flow is removed atomically with the check that its
 * value is still the one read (not a new connection of the same 4-tuple,
 * nor one that moved; a moved one is put back). Each removal counts in its
 * port's starttls_swept (IG_X_TLS_SWEPT, a counter user space owns: hold
 * the pin lock). Must run in the network namespace of the pins
 * (h->meta.netns_ino). Returns 0 with *r filled; -EXDEV from another
 * namespace, -ENOMEM, or -errno of the map walk or the netlink dump, and
 * then nothing was removed; or -errno of the counter's update (*r says
 * what was removed).
 */
int ig_tls_sweep(struct ig_handle *h, uint64_t now, struct ig_tls_sweep_report *r);

#endif
