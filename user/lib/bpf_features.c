// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_features.h"
#include "log.h"

enum probe_kind { PROG, MAP, MMAPABLE, HELPER, KFUNC };

static const struct {
	const char *name, *kernel;
	int required;
	enum probe_kind kind;
	int type;   /* program or map type */
	int helper; /* BPF_FUNC_* for HELPER */
	const char *symbol; /* KFUNC */
} features[] = {
	/* the release that brought each, from the kernel's own history
	 * (Documentation/bpf/, include/uapi/linux/bpf.h) */
	{ "XDP programs", "4.8", 1, PROG, BPF_PROG_TYPE_XDP, 0, NULL },
	{ "tc (sched_cls) programs", "4.1", 1, PROG, BPF_PROG_TYPE_SCHED_CLS, 0, NULL },
	{ "sockops programs", "4.13", 1, PROG, BPF_PROG_TYPE_SOCK_OPS, 0, NULL },
	{ "LPM trie maps", "4.11", 1, MAP, BPF_MAP_TYPE_LPM_TRIE, 0, NULL },
	{ "array-of-maps", "4.12", 1, MAP, BPF_MAP_TYPE_ARRAY_OF_MAPS, 0, NULL },
	{ "ring buffer maps", "5.8", 1, MAP, BPF_MAP_TYPE_RINGBUF, 0, NULL },
	{ "mmapable arrays", "5.5", 1, MMAPABLE, BPF_MAP_TYPE_ARRAY, 0, NULL },
	{ "bpf_get_netns_cookie in sockops", "5.15", 1, HELPER, BPF_PROG_TYPE_SOCK_OPS,
	  BPF_FUNC_get_netns_cookie, NULL },
	{ "bpf_timer", "5.15", 1, HELPER, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_timer_init, NULL },
	{ "bpf_ktime_get_coarse_ns", "5.11", 1, HELPER, BPF_PROG_TYPE_XDP,
	  BPF_FUNC_ktime_get_coarse_ns, NULL },
	{ "bpf_loop", "5.17", 1, HELPER, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_loop, NULL },
	{ "bpf_xdp_load_bytes", "5.18", 1, HELPER, BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_load_bytes,
	  NULL },
	{ "bpf_map_sum_elem_count (table fill metrics)", "6.6", 0, KFUNC, 0, 0,
	  "bpf_map_sum_elem_count" },
};

#define N_FEATURES ((int)(sizeof(features) / sizeof(features[0])))

int ig_features_count(void)
{
	return N_FEATURES;
}

static int probe_mmapable(int type)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	int fd = bpf_map_create(type, "ig_probe", 4, 8, 1, &o);

	if (fd < 0)
		return errno == EINVAL ? 0 : -errno;
	close(fd);
	return 1;
}

/* A kfunc is present when the running kernel's BTF names it. */
static int probe_kfunc(const char *symbol)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int id;

	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, symbol, BTF_KIND_FUNC);
	btf__free(btf);
	return id > 0;
}

int ig_features_probe(struct ig_feature *out)
{
	for (int i = 0; i < N_FEATURES; i++) {
		int r;

		switch (features[i].kind) {
		case PROG:
			r = libbpf_probe_bpf_prog_type(features[i].type, NULL);
			break;
		case MAP:
			r = libbpf_probe_bpf_map_type(features[i].type, NULL);
			break;
		case MMAPABLE:
			r = probe_mmapable(features[i].type);
			break;
		case HELPER:
			r = libbpf_probe_bpf_helper(features[i].type, features[i].helper, NULL);
			break;
		default:
			r = probe_kfunc(features[i].symbol);
			break;
		}
		out[i] = (struct ig_feature){ features[i].name, features[i].kernel,
					      features[i].required, r };
	}
	return N_FEATURES;
}

int ig_features_require(void)
{
	struct ig_feature f[N_FEATURES];

	ig_features_probe(f);
	for (int i = 0; i < N_FEATURES; i++) {
		if (f[i].required && f[i].present == 0) {
			ig_err("this kernel lacks %s, which imapguard needs (Linux %s or later)",
			       f[i].name, f[i].kernel);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}
