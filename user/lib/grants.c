// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "compile.h"
#include "grants.h"
#include "lpm.h"
#include "names.h"

const char *ig_grant_kind_name(int kind)
{
	return kind == IG_GRANT_USER ? "user" : "source";
}

static int user_key(const char *user, struct ig_user_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!ig_user_ok(user))
		return -EINVAL;
	memcpy(k->user, user, strlen(user));
	return 0;
}

static void bump(struct ig_handle *h)
{
	__atomic_fetch_add(&h->cfg->state_gen, 1, __ATOMIC_RELAXED);
}

static int source_fd(const struct ig_handle *h, const struct ig_prefix *p)
{
	return h->fd[p->family == 4 ? IG_M_GRANTS4 : IG_M_GRANTS6];
}

int ig_grant_put(struct ig_handle *h, int kind, const char *user, const struct ig_prefix *p,
		 const struct ig_grant *in)
{
	struct ig_grant g = *in;

	if (!ig_note_field_ok(g.note, sizeof(g.note)))
		return -EINVAL; /* every way in passes here, restore included */
	if (kind == IG_GRANT_USER) {
		struct ig_user_key k;
		int err = user_key(user, &k);

		if (err)
			return err;
		if (bpf_map_update_elem(h->fd[IG_M_USER_GRANTS], &k, &g, BPF_ANY))
			return -errno;
	} else {
		int err;

		g.prefixlen = p->len;
		/* counted in the summary first: until its bit is set the data
		 * plane does not look for grants of this source */
		if ((err = ig_lpm_put(h, source_fd(h, p), p, &g, IG_SUM_KIND_GRANT)))
			return err;
	}
	bump(h);
	return 0;
}

int ig_grant_get(struct ig_handle *h, int kind, const char *user, const struct ig_prefix *p,
		 struct ig_grant *out)
{
	if (kind == IG_GRANT_USER) {
		struct ig_user_key k;
		int err = user_key(user, &k);

		if (err)
			return err;
		return bpf_map_lookup_elem(h->fd[IG_M_USER_GRANTS], &k, out) ? -ENOENT : 0;
	} else {
		struct ig_lpm_key6 k;

		ig_lpm_key(p, &k);
		if (bpf_map_lookup_elem(source_fd(h, p), &k, out) || out->prefixlen != p->len)
			return -ENOENT;
		return 0;
	}
}

static int add(struct ig_handle *h, int kind, const char *user, const struct ig_prefix *p,
	       uint64_t ttl_ns, const char *note)
{
	struct ig_grant g = {};

	if (!ttl_ns || !ig_note_ok(note))
		return -EINVAL; /* a grant always expires */
	g.created_ns = ig_mono_ns();
	g.expires_ns = g.created_ns + ttl_ns;
	if (note)
		strncpy(g.note, note, sizeof(g.note) - 1);
	return ig_grant_put(h, kind, user, p, &g);
}

int ig_grant_user_add(struct ig_handle *h, const char *user, uint64_t ttl_ns, const char *note)
{
	return add(h, IG_GRANT_USER, user, NULL, ttl_ns, note);
}

int ig_grant_source_add(struct ig_handle *h, const struct ig_prefix *p, uint64_t ttl_ns,
			const char *note)
{
	return add(h, IG_GRANT_SOURCE, NULL, p, ttl_ns, note);
}

int ig_grant_user_del(struct ig_handle *h, const char *user)
{
	struct ig_user_key k;
	int err = user_key(user, &k);

	if (err)
		return -ENOENT; /* a name that cannot be granted has no grant */
	if (bpf_map_delete_elem(h->fd[IG_M_USER_GRANTS], &k))
		return -errno;
	bump(h);
	return 0;
}

int ig_grant_source_del(struct ig_handle *h, const struct ig_prefix *p)
{
	int err = ig_lpm_del(h, source_fd(h, p), p, IG_SUM_KIND_GRANT);

	if (err)
		return err;
	bump(h);
	return 0;
}

int ig_grant_user_live(struct ig_handle *h, const char *user)
{
	struct ig_user_key k;
	struct ig_grant g;

	if (user_key(user, &k) || bpf_map_lookup_elem(h->fd[IG_M_USER_GRANTS], &k, &g))
		return 0;
	return g.expires_ns > ig_mono_ns();
}

int ig_grant_source_live(struct ig_handle *h, const struct ig_prefix *addr)
{
	struct ig_grant g;

	return ig_lpm_live(h->fd[addr->family == 4 ? IG_M_GRANTS4 : IG_M_GRANTS6], addr, &g,
			   offsetof(struct ig_grant, prefixlen));
}

struct grant_walk {
	ig_grant_fn fn;
	void *arg;
};

static int source_one(const struct ig_prefix *p, void *val, void *arg)
{
	const struct grant_walk *w = arg;

	return w->fn(IG_GRANT_SOURCE, NULL, p, val, w->arg);
}

int ig_grant_foreach(struct ig_handle *h, ig_grant_fn fn, void *arg)
{
	struct ig_user_key ucur, unext;
	struct ig_grant g;
	void *prev = NULL;
	int rc;

	while (!bpf_map_get_next_key(h->fd[IG_M_USER_GRANTS], prev, &unext)) {
		ucur = unext;
		prev = &ucur;
		if (bpf_map_lookup_elem(h->fd[IG_M_USER_GRANTS], &unext, &g))
			continue;
		unext.user[IG_USER_LEN - 1] = '\0';
		if ((rc = fn(IG_GRANT_USER, unext.user, NULL, &g, arg)))
			return rc;
	}
	return ig_lpm_foreach(h->fd[IG_M_GRANTS4], h->fd[IG_M_GRANTS6], &g, source_one,
			      &(struct grant_walk){ fn, arg });
}
