// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nft.h"
#include "stats.h"

#define IG__NAME3(name, label, help) label,
#define IG__HELP3(name, label, help) help,
#define IG__NAME2(name, label) label,

const char *const ig_reason_names[IG_NR_REASONS] = { IG_REASONS(IG__NAME3) };
const char *const ig_reason_help[IG_NR_REASONS] = { IG_REASONS(IG__HELP3) };
const char *const ig_verdict_names[IG_NR_VERDICTS] = { IG_VERDICTS(IG__NAME2) };
const char *const ig_global_names[IG_NR_GLOBALS] = { IG_GLOBALS(IG__NAME3) };
const char *const ig_global_help[IG_NR_GLOBALS] = { IG_GLOBALS(IG__HELP3) };
const char *const ig_extra_names[IG_NR_PORT_EXTRAS] = { IG_PORT_EXTRAS(IG__NAME3) };
const char *const ig_extra_help[IG_NR_PORT_EXTRAS] = { IG_PORT_EXTRAS(IG__HELP3) };

/* Counter names carry the labels of `imapguard stats` and the metrics. */
void ig_nft_counter_name(uint16_t port, int verdict, int reason, char *buf, size_t len)
{
	snprintf(buf, len, "p%u_%s_%s", port, ig_verdict_names[verdict], ig_reason_names[reason]);
}

int ig_nft_counter_parse(const char *name, uint16_t *port, int *verdict, int *reason)
{
	char *rest;
	unsigned long p;

	if (name[0] != 'p' || name[1] < '0' || name[1] > '9')
		return -EINVAL;
	p = strtoul(name + 1, &rest, 10);
	if (p == 0 || p > 65535 || *rest++ != '_')
		return -EINVAL;
	for (int v = 0; v < IG_NR_VERDICTS; v++) {
		size_t n = strlen(ig_verdict_names[v]);

		if (strncmp(rest, ig_verdict_names[v], n) != 0 || rest[n] != '_')
			continue;
		for (int r = 0; r < IG_NR_REASONS; r++) {
			if (!strcmp(rest + n + 1, ig_reason_names[r])) {
				*port = (uint16_t)p;
				*verdict = v;
				*reason = r;
				return 0;
			}
		}
	}
	return -EINVAL;
}

int ig_stat_possible(int verdict, int reason)
{
	int passes = reason == IG_REASON_POLICY || reason == IG_REASON_ALLOW_LIST ||
		     reason == IG_REASON_GRANT;

	return verdict == IG_VERDICT_PASS ? passes : !passes || reason == IG_REASON_POLICY;
}

int ig_stats_read_all(struct ig_handle *h, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	__u32 *keys = calloc(IG_NR_STATS, sizeof(*keys)), count = IG_NR_STATS, batch = 0;
	uint64_t *vals = calloc((size_t)IG_NR_STATS * (ncpu > 0 ? ncpu : 1), sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (ncpu <= 0 || !keys || !vals) {
		err = ncpu <= 0 ? -EINVAL : -ENOMEM;
		goto out;
	}
	/* arrays hand out every element in one call; fall back if not */
	if (bpf_map_lookup_batch(h->fd[IG_M_STATS], NULL, &batch, keys, vals, &count, &opts) &&
	    errno != ENOENT) {
		for (__u32 i = 0; i < IG_NR_STATS && !err; i++)
			err = ig_stat_read(h, i, &out[i]);
		goto out;
	}
	memset(out, 0, IG_NR_STATS * sizeof(*out));
	for (__u32 i = 0; i < count; i++)
		for (int c = 0; c < ncpu && keys[i] < IG_NR_STATS; c++)
			out[keys[i]] += vals[(size_t)i * ncpu + c];
out:
	free(keys);
	free(vals);
	return err;
}

struct overlay {
	const struct ig_slot *slot;
	uint64_t *out;
};

static void overlay_one(const char *name, uint64_t packets, void *arg)
{
	struct overlay *o = arg;
	uint16_t port;
	int v, r;

	if (ig_nft_counter_parse(name, &port, &v, &r))
		return; /* an operator's counter in our table */
	for (int i = 0; i < o->slot->nports && i < IG_MAX_PORTS; i++)
		if (o->slot->ports[i].port == port)
			o->out[IG_STAT_PORT(o->slot->ports[i].stat_idx, v, r)] = packets;
}

int ig_stats_overlay_nft(struct ig_handle *h, uint64_t *out)
{
	struct overlay o = { &h->cfg->slot[h->cfg->active & 1], out };

	if (h->meta.attach != IG_ATTACH_NFT)
		return 0;
	return ig_nft_counters(overlay_one, &o);
}

uint64_t *ig_percpu_values(int *ncpu)
{
	uint64_t *v;

	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0) {
		errno = EINVAL;
		return NULL;
	}
	v = calloc((size_t)*ncpu, sizeof(*v));
	if (!v)
		errno = ENOMEM;
	return v;
}

int ig_stat_bump(struct ig_handle *h, uint32_t idx)
{
	return ig_stat_add(h, idx, 1);
}

int ig_stat_add(struct ig_handle *h, uint32_t idx, uint64_t n)
{
	int ncpu, err = 0;
	uint64_t *vals = ig_percpu_values(&ncpu);

	if (!vals)
		return -errno;
	if (bpf_map_lookup_elem(h->fd[IG_M_STATS], &idx, vals) == 0) {
		vals[0] += n;
		if (bpf_map_update_elem(h->fd[IG_M_STATS], &idx, vals, BPF_ANY))
			err = -errno;
	} else {
		err = -errno;
	}
	free(vals);
	return err;
}

int ig_stat_read(struct ig_handle *h, uint32_t idx, uint64_t *out)
{
	int ncpu, err = 0;
	uint64_t *vals = ig_percpu_values(&ncpu);

	if (!vals)
		return -errno;
	*out = 0;
	if (bpf_map_lookup_elem(h->fd[IG_M_STATS], &idx, vals))
		err = -errno;
	for (int i = 0; i < ncpu && !err; i++)
		*out += vals[i];
	free(vals);
	return err;
}
