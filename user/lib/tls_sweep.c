// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <bpf/bpf.h>

#include "sessions.h"
#include "stats.h"
#include "tls_sweep.h"

/* A connection's socket, in any state that can still hold a flow: not a
 * listener (which answers for no connection) and not TIME_WAIT (sockops
 * removed the flow at the CLOSE before it). */
#define SWEEP_STATES                                                           \
	((1u << TCP_ESTABLISHED) | (1u << TCP_SYN_SENT) | (1u << TCP_SYN_RECV) | \
	 (1u << TCP_FIN_WAIT1) | (1u << TCP_FIN_WAIT2) | (1u << TCP_CLOSE) |     \
	 (1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK) | (1u << TCP_CLOSING))

struct seen_flow {
	struct ig_tls_flow_key key;
	struct ig_tls_flow val;
	int alive; /* a socket has its 4-tuple */
};

struct flow_set {
	struct seen_flow *f;
	size_t n, cap;
};

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ig_tls_flow_key));
}

/* Every flow of the table, sorted by key, each once. A hash map's walk
 * restarts from its first entry when the key it resumes from was deleted
 * meanwhile (a connection closed), so it may meet flows twice and never
 * end while connections churn: it stops after max_entries + 1 keys, and
 * *torn says it met a key twice or read more keys than the table holds.
 * 0, -ENOMEM, or -errno. */
static int read_flows(int fd, struct flow_set *s, int *torn)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), walked = 0;
	struct ig_tls_flow_key k, next;
	void *prev = NULL;
	size_t out = 0;

	*torn = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	while (walked <= info.max_entries && bpf_map_get_next_key(fd, prev, &next) == 0) {
		walked++;
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct seen_flow *g = realloc(s->f, cap * sizeof(*g));

			if (!g)
				return -ENOMEM;
			s->f = g;
			s->cap = cap;
		}
		k = next;
		prev = &k;
		s->f[s->n].key = k;
		s->f[s->n].alive = 0;
		if (bpf_map_lookup_elem(fd, &k, &s->f[s->n].val) == 0)
			s->n++; /* else gone meanwhile: nothing to judge */
	}
	if (walked > info.max_entries)
		*torn = 1;
	else if (errno != ENOENT)
		return -errno;
	qsort(s->f, s->n, sizeof(*s->f), key_cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (out && !key_cmp(&s->f[out - 1].key, &s->f[i].key)) {
			*torn = 1; /* the walk restarted: this flow again */
			continue;
		}
		s->f[out++] = s->f[i];
	}
	s->n = out;
	return 0;
}

/* The flow key of socket m: its peer the client, itself the server; an
 * IPv4 peer of a dual-stack socket (::ffff:a.b.c.d) as IPv4, as sockops
 * keys it. */
static void key_of(const struct inet_diag_msg *m, struct ig_tls_flow_key *k)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *peer = (const uint8_t *)m->id.idiag_dst;
	const uint8_t *self = (const uint8_t *)m->id.idiag_src;

	memset(k, 0, sizeof(*k));
	k->sport = ntohs(m->id.idiag_dport);
	k->dport = ntohs(m->id.idiag_sport);
	if (m->idiag_family == AF_INET) {
		k->family = 4;
		memcpy(k->saddr, peer, 4);
		memcpy(k->daddr, self, 4);
	} else if (!memcmp(peer, mapped, 12) && !memcmp(self, mapped, 12)) {
		k->family = 4;
		memcpy(k->saddr, peer + 12, 4);
		memcpy(k->daddr, self + 12, 4);
	} else {
		k->family = 6;
		memcpy(k->saddr, peer, 16);
		memcpy(k->daddr, self, 16);
	}
}

static void mark_alive(const struct inet_diag_msg *m, void *data)
{
	struct flow_set *s = data;
	struct ig_tls_flow_key k;
	struct seen_flow *f;

	key_of(m, &k);
	f = bsearch(&k, s->f, s->n, sizeof(*s->f), key_cmp);
	if (f)
		f->alive = 1;
}

/* Is flow f, whose socket is gone, due at `now`? */
static int due(const struct seen_flow *f, uint64_t now)
{
	if (f->val.state != IG_TLS_FLOW_VIOLATED)
		return 1; /* sockops missed its close: nothing waits on it */
	return f->val.violated_ns + IG_TLS_SWEEP_GRACE_NS <= now;
}

/* Is the connection of flow key k gone? The exact lookup of its server
 * socket (local end: the flow's daddr/dport; peer: saddr/sport): an IPv4
 * flow in AF_INET and, for a dual-stack socket, in AF_INET6 as
 * ::ffff:a.b.c.d. 1: no form found it; 0: a socket has it; -errno: one
 * form could not be asked, so nothing can be told. */
static int gone(const struct ig_tls_flow_key *k)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct inet_diag_sockid v4 = { .idiag_sport = htons(k->dport),
				       .idiag_dport = htons(k->sport) },
				v6 = v4;
	int rc;

	if (k->family == 4) {
		memcpy(v4.idiag_src, k->daddr, 4);
		memcpy(v4.idiag_dst, k->saddr, 4);
		rc = ig_socket_lookup(AF_INET, &v4, SWEEP_STATES);
		if (rc != -ENOENT)
			return rc;
		memcpy(v6.idiag_src, mapped, 12);
		memcpy((uint8_t *)v6.idiag_src + 12, k->daddr, 4);
		memcpy(v6.idiag_dst, mapped, 12);
		memcpy((uint8_t *)v6.idiag_dst + 12, k->saddr, 4);
	} else {
		memcpy(v6.idiag_src, k->daddr, 16);
		memcpy(v6.idiag_dst, k->saddr, 16);
	}
	rc = ig_socket_lookup(AF_INET6, &v6, SWEEP_STATES);
	return rc == -ENOENT ? 1 : rc;
}

/* Remove flow f, whose connection is gone, unless its value moved since
 * it was read (a new connection of the same 4-tuple registered it, or the
 * data plane changed it): the removal and the check are one step
 * (lookup-and-delete), and a moved value is put back unless sockops
 * registered the 4-tuple again meanwhile. 1: removed; 0: left. */
static int remove_flow(int fd, const struct seen_flow *f)
{
	struct ig_tls_flow cur;

	if (bpf_map_lookup_and_delete_elem(fd, &f->key, &cur))
		return 0; /* gone meanwhile */
	if (!memcmp(&cur, &f->val, sizeof(cur)))
		return 1;
	bpf_map_update_elem(fd, &f->key, &cur, BPF_NOEXIST);
	return 0;
}

int ig_tls_sweep(struct ig_handle *h, uint64_t now, struct ig_tls_sweep_report *r)
{
	int fd = h->fd[IG_M_TLS_FLOWS], err, torn;
	uint64_t swept[IG_PORT_SLOTS] = { 0 };
	struct flow_set s = { 0 };

	memset(r, 0, sizeof(*r));
	if (h->meta.netns_ino && h->meta.netns_ino != ig_netns_ino())
		return -EXDEV; /* its sockets are not ours to see */
	err = read_flows(fd, &s, &torn);
	if (err || !s.n)
		goto out;
	r->flows = (uint32_t)s.n;
	if (torn) {
		r->torn = 1; /* what it read may not be the table: judge nothing */
		goto out;
	}
	/* after the flows were read: a flow's socket, if alive throughout,
	 * is listed unless the dump skipped it (checked below) */
	err = ig_sockets_foreach(AF_INET, SWEEP_STATES, mark_alive, &s);
	if (!err)
		err = ig_sockets_foreach(AF_INET6, SWEEP_STATES, mark_alive, &s);
	if (err)
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		struct seen_flow *f = &s.f[i];
		int rc;

		if (f->alive || !due(f, now))
			continue;
		rc = gone(&f->key);
		if (rc < 0)
			r->unconfirmed++; /* kept: it may be a live session's */
		if (rc != 1 || !remove_flow(fd, f))
			continue;
		if (f->val.state == IG_TLS_FLOW_VIOLATED)
			r->violated++;
		else
			r->orphaned++;
		swept[f->val.stat_idx & (IG_PORT_SLOTS - 1)]++;
	}
	for (uint32_t slot = 0; slot < IG_PORT_SLOTS; slot++)
		if (swept[slot] && !err)
			err = ig_stat_add(h, IG_STAT_EXTRA(slot, IG_X_TLS_SWEPT), swept[slot]);
out:
	free(s.f);
	return err;
}
