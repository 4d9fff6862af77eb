// SPDX-License-Identifier: GPL-2.0-only
/*
 * What applying a policy changes, against what the pins hold now (not the
 * file last applied, which may be the very file being compared): the
 * settings the data plane reads, the interfaces, each port's rule, and the
 * allow and deny entries. `apply --dry-run` prints it and changes nothing;
 * `apply -j` reports it. The new side is the policy compiled as apply
 * compiles it, so both sides are in the data plane's terms.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cli.h"
#include "compile.h"
#include "duration.h"
#include "log.h"
#include "policy.h"

/* A port's rule in the policy file's words: "ratelimit 5/1m", "allow
 * burst 20/1m block 10m..24h", "starttls pop3 rate 20/1m" (the protocol
 * and rate of a starttls port are part of its rule: changing them is a
 * change). */
static const char *port_rule(const struct ig_port_cfg *pc, char *buf, size_t len)
{
	char a[32], b[32], c[32];
	int n = snprintf(buf, len, "%s", ig_action_name(pc->action));

	if (pc->action == IG_ACT_STARTTLS)
		n += snprintf(buf + n, len - (size_t)n, " %s", ig_tls_proto_name(pc->tls_proto));
	if (pc->action == IG_ACT_STARTTLS && pc->rate_emission_ns)
		n += snprintf(buf + n, len - (size_t)n, " rate %llu/%s",
			      (unsigned long long)ig_rate_count(pc),
			      ig_duration_str(ig_rate_interval_ns(pc), a, sizeof(a)));
	if (pc->action == IG_ACT_RATELIMIT)
		n += snprintf(buf + n, len - (size_t)n, " %llu/%s",
			      (unsigned long long)ig_rate_count(pc),
			      ig_duration_str(ig_rate_interval_ns(pc), a, sizeof(a)));
	if (pc->burst_count)
		snprintf(buf + n, len - (size_t)n, " burst %u/%s block %s..%s", pc->burst_count,
			 ig_duration_str(pc->burst_sub_ns * IG_BURST_SUBS, a, sizeof(a)),
			 ig_duration_str(pc->block_ns, b, sizeof(b)),
			 ig_duration_str(pc->block_max_ns, c, sizeof(c)));
	return buf;
}

/* The lists an entry is on, as the data plane holds them (its own and
 * those of the entries containing it). */
static const char *list_names(uint32_t flags)
{
	return (flags & IG_LIST_ALLOW) && (flags & IG_LIST_DENY) ? "allow+deny" :
	       flags & IG_LIST_ALLOW ? "allow" : flags & IG_LIST_DENY ? "deny" : "none";
}

/* {"added": [], "removed": [], "changed": []} of one part of the diff */
struct part {
	json_object *added, *removed, *changed;
};

static json_object *part_new(struct part *p, int with_changed)
{
	json_object *o = json_object_new_object();

	p->added = json_object_new_array();
	p->removed = json_object_new_array();
	p->changed = with_changed ? json_object_new_array() : NULL;
	json_object_object_add(o, "added", p->added);
	json_object_object_add(o, "removed", p->removed);
	if (p->changed)
		json_object_object_add(o, "changed", p->changed);
	return o;
}

static json_object *from_to(const char *key, json_object *id, const char *from, const char *to)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, id);
	json_object_object_add(o, "from", json_object_new_string(from));
	json_object_object_add(o, "to", json_object_new_string(to));
	return o;
}

static json_object *keyed(const char *key, json_object *id, const char *k2, const char *v2)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, id);
	json_object_object_add(o, k2, json_object_new_string(v2));
	return o;
}

/* ---- the settings of the slot and the meta ---- */

static void setting(json_object *arr, const char *name, const char *from, const char *to)
{
	if (strcmp(from, to) != 0)
		json_object_array_add(arr, from_to("name", json_object_new_string(name), from, to));
}

static void settings_diff(json_object *arr, const struct ig_handle *h, const struct ig_slot *cur,
			  const struct ig_policy *pol, const struct ig_slot *next)
{
	char a[16], b[16];
	static const char *const mode[] = { "enforce", "monitor" }, *const dflt[] = { "allow", "deny" };

	setting(arr, "policy", h->meta.policy_path, pol->path);
	setting(arr, "mode", mode[!!(cur->flags & IG_SLOT_MONITOR)],
		mode[!!(next->flags & IG_SLOT_MONITOR)]);
	setting(arr, "default", dflt[!!(cur->flags & IG_SLOT_DEFAULT_DENY)],
		dflt[!!(next->flags & IG_SLOT_DEFAULT_DENY)]);
	setting(arr, "attach", ig_attach_name((int)h->meta.attach), ig_attach_name(pol->attach));
	if (pol->attach != IG_ATTACH_NFT)
		setting(arr, "nft_mirror", h->meta.flags & IG_META_NFT_MIRROR ? "yes" : "no",
			pol->nft_mirror ? "yes" : "no");
	snprintf(a, sizeof(a), "%u", cur->prefix_v4);
	snprintf(b, sizeof(b), "%u", next->prefix_v4);
	setting(arr, "prefix_v4", a, b);
	snprintf(a, sizeof(a), "%u", cur->prefix_v6);
	snprintf(b, sizeof(b), "%u", next->prefix_v6);
	setting(arr, "prefix_v6", a, b);
	/* apply refuses this change (unload first); shown so it is no surprise */
	snprintf(a, sizeof(a), "%u", h->meta.max_sources);
	snprintf(b, sizeof(b), "%u", pol->max_sources);
	setting(arr, "max_sources", a, b);
}

/* ---- interfaces ---- */

static void ifaces_diff(struct part *p, const struct ig_handle *h, const struct ig_policy *pol)
{
	struct ig_meta_iface cur[IG_MAX_IFACES];
	uint32_t n = ig_ifaces_state(&h->meta, cur);
	int j;

	for (uint32_t i = 0; i < n; i++) {
		for (j = 0; j < pol->n_ifaces && strcmp(cur[i].name, pol->ifaces[j]) != 0; j++)
			;
		if (j == pol->n_ifaces)
			json_object_array_add(p->removed, json_object_new_string(cur[i].name));
		else if (cur[i].mode == IG_MODE_NONE && pol->attach != IG_ATTACH_NFT)
			json_object_array_add(p->changed, from_to("name",
				json_object_new_string(cur[i].name), "not attached",
				ig_mode_name(ig_attach_mode(pol->attach))));
	}
	for (j = 0; j < pol->n_ifaces; j++) {
		uint32_t i;

		for (i = 0; i < n && strcmp(cur[i].name, pol->ifaces[j]) != 0; i++)
			;
		if (i == n)
			json_object_array_add(p->added, json_object_new_string(pol->ifaces[j]));
	}
}

/* ---- ports ---- */

static const struct ig_port_cfg *port_find(const struct ig_slot *s, uint16_t port)
{
	for (int i = 0; s && i < s->nports && i < IG_MAX_PORTS; i++)
		if (s->ports[i].port == port)
			return &s->ports[i];
	return NULL;
}

static void ports_diff(struct part *p, const struct ig_slot *cur, const struct ig_slot *next)
{
	char a[96], b[96];

	for (int i = 0; cur && i < cur->nports && i < IG_MAX_PORTS; i++)
		if (!port_find(next, cur->ports[i].port))
			json_object_array_add(p->removed, keyed("port",
				json_object_new_int(cur->ports[i].port), "rule",
				port_rule(&cur->ports[i], a, sizeof(a))));
	for (int i = 0; i < next->nports && i < IG_MAX_PORTS; i++) {
		const struct ig_port_cfg *was = port_find(cur, next->ports[i].port);

		port_rule(&next->ports[i], b, sizeof(b));
		if (!was)
			json_object_array_add(p->added, keyed("port",
				json_object_new_int(next->ports[i].port), "rule", b));
		else if (strcmp(port_rule(was, a, sizeof(a)), b) != 0)
			json_object_array_add(p->changed, from_to("port",
				json_object_new_int(next->ports[i].port), a, b));
	}
}

/* ---- list entries: the active slot's, from the tries ---- */

struct pinned_lists {
	struct ig_list_entry *v;
	size_t n, cap;
};

static int pinned_add(struct pinned_lists *l, const struct ig_prefix *p, uint32_t flags)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct ig_list_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct ig_list_entry){ *p, flags };
	return 0;
}

/* Every entry of slot `slot` in the trie fd of `family`. Bounded by the
 * map's size: get_next_key visits each key once. */
static int pinned_walk(int fd, int family, uint32_t slot, struct pinned_lists *l)
{
	struct ig_list_key6 key, next;
	void *prev = NULL;
	uint32_t flags;
	size_t alen = family == 4 ? 4 : 16;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key.slot != slot || bpf_map_lookup_elem(fd, &key, &flags))
			continue;
		struct ig_prefix p = { .family = (uint8_t)family, .len = (uint8_t)(key.prefixlen - 32) };

		memcpy(p.addr, key.addr, alen);
		if (pinned_add(l, &p, flags))
			return -ENOMEM;
	}
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return ig_prefix_cmp(&((const struct ig_list_entry *)a)->pfx,
			     &((const struct ig_list_entry *)b)->pfx);
}

static void entry_add(json_object *arr, const struct ig_list_entry *e)
{
	char buf[IG_PREFIX_STRLEN];

	json_object_array_add(arr, keyed("prefix", json_object_new_string(
		ig_prefix_str(&e->pfx, buf)), "lists", list_names(e->flags)));
}

/* Both sides sorted by ig_prefix_cmp: one merge pass. */
static void lists_diff(struct part *p, const struct pinned_lists *cur, const struct ig_compiled *c)
{
	size_t i = 0, j = 0;
	char buf[IG_PREFIX_STRLEN];

	while (i < cur->n || j < c->n_lists) {
		int d = i == cur->n ? 1 : j == c->n_lists ? -1 :
			ig_prefix_cmp(&cur->v[i].pfx, &c->lists[j].pfx);

		if (d < 0) {
			entry_add(p->removed, &cur->v[i++]);
		} else if (d > 0) {
			entry_add(p->added, &c->lists[j++]);
		} else {
			if (cur->v[i].flags != c->lists[j].flags)
				json_object_array_add(p->changed, from_to("prefix",
					json_object_new_string(ig_prefix_str(&c->lists[j].pfx, buf)),
					list_names(cur->v[i].flags), list_names(c->lists[j].flags)));
			i++, j++;
		}
	}
}

static int count(json_object *part)
{
	int n = 0;

	json_object_object_foreach(part, k, v)
	{
		(void)k;
		n += (int)json_object_array_length(v);
	}
	return n;
}

json_object *cli_policy_diff(struct cli *cli, const struct ig_policy *pol)
{
	struct ig_compiled c = {};
	struct pinned_lists cur = {};
	struct ig_handle h;
	const struct ig_slot *slot = NULL;
	struct part ifs, ports, lists;
	json_object *o, *settings, *pi, *pp, *pl;
	int err = ig_handle_open(&h, cli->pin), loaded = !err;

	if (err && err != -ENOENT) {
		cli_open_error(cli, err);
		return NULL;
	}
	err = 0; /* nothing loaded: everything would be new */
	if (loaded) {
		slot = &h.cfg->slot[h.cfg->active & 1];
		err = pinned_walk(h.fd[IG_M_LISTS4], 4, h.cfg->active & 1, &cur);
		if (!err)
			err = pinned_walk(h.fd[IG_M_LISTS6], 6, h.cfg->active & 1, &cur);
		qsort(cur.v, cur.n, sizeof(*cur.v), entry_cmp);
	}
	if (!err)
		err = ig_compile(pol, slot, &c);
	if (err) {
		ig_err("cannot compare %s with the policy in force: %s", pol->path,
		       strerror(-err));
		free(cur.v);
		ig_handle_close(&h);
		return NULL;
	}
	o = json_object_new_object();
	settings = json_object_new_array();
	pi = part_new(&ifs, 1);
	pp = part_new(&ports, 1);
	pl = part_new(&lists, 1);
	if (loaded) {
		settings_diff(settings, &h, slot, pol, c.slot);
		ifaces_diff(&ifs, &h, pol);
	} else {
		for (int i = 0; i < pol->n_ifaces; i++)
			json_object_array_add(ifs.added, json_object_new_string(pol->ifaces[i]));
	}
	ports_diff(&ports, slot, c.slot);
	lists_diff(&lists, &cur, &c);
	json_object_object_add(o, "loaded", json_object_new_boolean(loaded));
	json_object_object_add(o, "generation",
			       loaded ? json_object_new_int64((int64_t)h.meta.generation) : NULL);
	json_object_object_add(o, "changes", json_object_new_int(
		(int)json_object_array_length(settings) + count(pi) + count(pp) + count(pl)));
	json_object_object_add(o, "settings", settings);
	json_object_object_add(o, "interfaces", pi);
	json_object_object_add(o, "ports", pp);
	json_object_object_add(o, "lists", pl);
	free(cur.v);
	ig_compiled_free(&c);
	ig_handle_close(&h);
	return o;
}

int cli_diff_changes(json_object *diff)
{
	json_object *v;

	return json_object_object_get_ex(diff, "changes", &v) ? json_object_get_int(v) : 0;
}

/* ---- the human form: one line a change, "+", "-" or "~" first ---- */

static void print_part(json_object *diff, const char *name, const char *what,
		       const char *id, const char *val)
{
	json_object *part, *arr, *e, *v;
	static const char *const kinds[] = { "added", "removed", "changed" };
	static const char signs[] = "+-~";

	json_object_object_get_ex(diff, name, &part);
	for (int k = 0; k < 3; k++) {
		if (!json_object_object_get_ex(part, kinds[k], &arr))
			continue;
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			e = json_object_array_get_idx(arr, i);
			printf("%c %s ", signs[k], what);
			if (!json_object_is_type(e, json_type_object)) {
				printf("%s\n", json_object_get_string(e));
				continue;
			}
			json_object_object_get_ex(e, id, &v);
			printf("%s", json_object_get_string(v));
			if (k == 2) {
				json_object_object_get_ex(e, "from", &v);
				printf(": %s -> ", json_object_get_string(v));
				json_object_object_get_ex(e, "to", &v);
				printf("%s\n", json_object_get_string(v));
			} else {
				json_object_object_get_ex(e, val, &v);
				printf(": %s\n", json_object_get_string(v));
			}
		}
	}
}

void cli_diff_print(json_object *diff)
{
	json_object *settings, *e, *v;

	json_object_object_get_ex(diff, "settings", &settings);
	for (size_t i = 0; i < json_object_array_length(settings); i++) {
		e = json_object_array_get_idx(settings, i);
		json_object_object_get_ex(e, "name", &v);
		printf("~ %s: ", json_object_get_string(v));
		json_object_object_get_ex(e, "from", &v);
		printf("%s -> ", json_object_get_string(v));
		json_object_object_get_ex(e, "to", &v);
		printf("%s\n", json_object_get_string(v));
	}
	print_part(diff, "interfaces", "interface", "name", NULL);
	print_part(diff, "ports", "port", "port", "rule");
	print_part(diff, "lists", "list entry", "prefix", "lists");
}
