// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "bpfenv.h"
#include "compile.h"
#include "imapguard.skel.h"
#include "loader.h"
#include "policy.h"
#include "sockops.h"

static int load_prog(struct bpfenv *e, uint32_t max, const char *name,
		     struct imapguard_bpf **skel, int *fd)
{
	int err = ig_obj_open(e->pin, max, name, skel);

	if (err)
		return err;
	err = imapguard_bpf__load(*skel);
	if (err)
		return err;
	*fd = bpf_program__fd(!strcmp(name, "ig_xdp") ? (*skel)->progs.ig_xdp :
							 (*skel)->progs.ig_tc);
	return 0;
}

int bpfenv_setup(struct bpfenv *e, uint32_t max_sources)
{
	int err;

	memset(e, 0, sizeof(*e));
	e->h.lock_fd = -1;
	snprintf(e->mnt, sizeof(e->mnt), "/run/imapguard-test-bpf-XXXXXX");
	if (!mkdtemp(e->mnt))
		return -errno;
	if (mount("bpf", e->mnt, "bpf", 0, "mode=0700")) {
		err = -errno;
		rmdir(e->mnt);
		e->mnt[0] = '\0';
		return err;
	}
	snprintf(e->pin, sizeof(e->pin), "%s/ig", e->mnt);
	if ((err = ig_pin_prepare(e->pin)) || (err = ig_maps_create(e->pin, max_sources)) ||
	    (err = ig_handle_open(&e->h, e->pin)))
		return err;
	e->h.meta.max_sources = max_sources;
	if ((err = load_prog(e, max_sources, "ig_xdp", &e->xdp, &e->xdp_fd)) ||
	    (err = load_prog(e, max_sources, "ig_tc", &e->tc, &e->tc_fd)))
		return err;
	return 0;
}

void bpfenv_teardown(struct bpfenv *e)
{
	imapguard_bpf__destroy(e->xdp);
	imapguard_bpf__destroy(e->tc);
	e->xdp = e->tc = NULL;
	ig_handle_close(&e->h);
	if (e->mnt[0]) {
		umount2(e->mnt, MNT_DETACH); /* drops every pin at once */
		rmdir(e->mnt);
		e->mnt[0] = '\0';
	}
}

int bpfenv_sockops(struct bpfenv *e, struct imapguard_bpf **so, struct bpf_link **link)
{
	int cg, err = ig_obj_open(e->pin, e->h.meta.max_sources, "ig_sockops", so);

	*link = NULL;
	if (!err)
		err = imapguard_bpf__load(*so);
	if (!err && (cg = ig_cgroup_root_open()) < 0)
		err = cg;
	if (!err) {
		*link = bpf_program__attach_cgroup((*so)->progs.ig_sockops, cg);
		err = libbpf_get_error(*link) ? -errno : 0;
		if (err)
			*link = NULL;
		close(cg);
	}
	e->h.cfg->netns_cookie = ig_netns_cookie();
	return err;
}

int bpfenv_policy(struct bpfenv *e, const char *ini)
{
	char path[] = "/tmp/imapguard-test-policy-XXXXXX";
	struct ig_compiled c;
	struct ig_policy pol;
	struct ig_diag d = {};
	int fd = mkstemp(path), err;

	if (fd < 0)
		return -errno;
	if (write(fd, ini, strlen(ini)) != (ssize_t)strlen(ini)) {
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	err = ig_policy_load(path, &pol, &d);
	unlink(path);
	ig_diag_print(&d, stderr);
	ig_diag_free(&d);
	if (err)
		return err;
	err = ig_policy_stage(&e->h, &pol, e->h.meta.generation == 0, &c);
	if (!err) {
		ig_policy_commit(&e->h);
		e->h.meta.generation++;
	}
	ig_compiled_free(&c);
	ig_policy_free(&pol);
	return err;
}

long bpfenv_run(int fd, const uint8_t *pkt, size_t len, uint32_t repeat,
		uint32_t *duration_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	if (duration_ns)
		*duration_ns = o.duration;
	return (long)o.retval;
}

int bpfenv_stat_slot(struct bpfenv *e, uint16_t port)
{
	const struct ig_slot *s = &e->h.cfg->slot[e->h.cfg->active & 1];
	uint8_t pi = s->port_map[port];

	return pi ? s->ports[pi - 1].stat_idx : -1;
}

int bpfenv_stats(struct bpfenv *e, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v = calloc((size_t)ncpu, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (__u32 i = 0; i < IG_NR_STATS; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(e->h.fd[IG_M_STATS], &i, v)) {
			free(v);
			return -errno;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += v[c];
	}
	free(v);
	return 0;
}
