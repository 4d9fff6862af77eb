// SPDX-License-Identifier: GPL-2.0-only
/*
 * One program instance per interface, all sharing the pinned maps. XDP goes
 * through libxdp so we can share an interface with other XDP programs behind
 * its dispatcher; when the kernel refuses the dispatcher, libxdp falls back
 * to attaching us alone, and status reports which one we got.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "imapguard.skel.h"
#include "loader.h"
#include "nft.h"
#include "log.h"
#include "pins.h"

#define IG_XDP_PROG "ig_xdp"
#define IG_TC_PROG "ig_tc"

const char *ig_mode_name(uint32_t mode)
{
	switch (mode) {
	case IG_MODE_XDP_NATIVE: return "xdp";
	case IG_MODE_XDP_SKB: return "xdp-generic";
	case IG_MODE_TC: return "tc";
	case IG_MODE_NFT: return "nft";
	default: return "none";
	}
}

/* libxdp keeps its dispatcher pins in $LIBXDP_BPFFS/xdp: keep them in ours. */
static void libxdp_use_pin(const char *pin)
{
	setenv("LIBXDP_BPFFS", pin, 1);
}

static void ifname(int ifindex, char buf[IF_NAMESIZE])
{
	if (!if_indextoname((unsigned)ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "ifindex %d", ifindex);
}

static uint32_t xdp_mode_of(struct xdp_multiprog *mp)
{
	switch (xdp_multiprog__attach_mode(mp)) {
	case XDP_MODE_NATIVE: return IG_MODE_XDP_NATIVE;
	case XDP_MODE_SKB: return IG_MODE_XDP_SKB;
	default: return IG_MODE_NONE;
	}
}

/* Our program on the interface, if any; *mpp must be closed by the caller. */
static struct xdp_program *find_ours(int ifindex, struct xdp_multiprog **mpp)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;

	*mpp = NULL;
	if (!mp || libxdp_get_error(mp))
		return NULL;
	*mpp = mp;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && !strcmp(xdp_program__name(p), IG_XDP_PROG) ? p : NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), IG_XDP_PROG))
			return p;
	return NULL;
}

int ig_tc_attached(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = IG_TC_HANDLE, .priority = IG_TC_PRIO);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd, ours;

	if (bpf_tc_query(&hook, &opts) || !opts.prog_id)
		return 0;
	fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (fd < 0)
		return 0;
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, IG_TC_PROG);
	close(fd);
	return ours;
}

uint32_t ig_ifaces_state(const struct ig_meta *m, struct ig_meta_iface out[IG_MAX_IFACES])
{
	uint32_t n = m->n_ifaces < IG_MAX_IFACES ? m->n_ifaces : IG_MAX_IFACES;
	/* one table, whatever the number of interfaces: ask once */
	int nft = m->attach == IG_ATTACH_NFT && ig_nft_present();

	for (uint32_t i = 0; i < n; i++) {
		out[i] = m->ifaces[i];
		if (m->attach == IG_ATTACH_NFT) {
			out[i].mode = nft ? IG_MODE_NFT : IG_MODE_NONE;
			out[i].multiprog = 0;
		} else {
			ig_query_iface((int)out[i].ifindex, &out[i]);
		}
	}
	return n;
}

uint32_t ig_attach_mode(int attach)
{
	return attach == IG_ATTACH_NFT ? IG_MODE_NFT : attach == IG_ATTACH_TC ? IG_MODE_TC :
	       attach == IG_ATTACH_XDP_GENERIC ? IG_MODE_XDP_SKB : IG_MODE_XDP_NATIVE;
}

uint32_t ig_xdp_mode(int ifindex)
{
	struct xdp_multiprog *mp;
	uint32_t mode = IG_MODE_NONE;

	if (find_ours(ifindex, &mp))
		mode = xdp_mode_of(mp);
	if (mp)
		xdp_multiprog__close(mp);
	return mode;
}

void ig_query_iface(int ifindex, struct ig_meta_iface *out)
{
	struct xdp_multiprog *mp;

	out->mode = IG_MODE_NONE;
	out->multiprog = 0;
	if (find_ours(ifindex, &mp)) {
		out->mode = xdp_mode_of(mp);
		out->multiprog = !xdp_multiprog__is_legacy(mp);
	} else if (ig_tc_attached(ifindex)) {
		out->mode = IG_MODE_TC;
	}
	if (mp)
		xdp_multiprog__close(mp);
}

static int attach_xdp(const char *pin, uint32_t max_sources, int generic,
		      int ifindex)
{
	struct imapguard_bpf *skel;
	struct xdp_program *prog;
	char name[IF_NAMESIZE];
	int err;

	libxdp_use_pin(pin);
	prog = NULL;
	err = ig_obj_open(pin, max_sources, IG_XDP_PROG, &skel);
	if (!err) {
		prog = xdp_program__from_bpf_obj(skel->obj, "xdp");
		err = (int)libxdp_get_error(prog);
		if (err)
			prog = NULL;
	}
	if (!err)
		err = xdp_program__attach(prog, ifindex,
					  generic ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	ifname(ifindex, name);
	if (err == -EBUSY || err == -EEXIST)
		ig_err("%s already has an XDP program that is not behind a libxdp "
		       "dispatcher; remove it or use 'attach = tc'", name);
	else if (err == -EOPNOTSUPP && !generic)
		ig_err("%s: its driver has no native XDP; use 'attach = xdp-generic' "
		       "or 'attach = tc'", name);
	else if (err)
		ig_err("cannot attach XDP to %s: %s", name, strerror(-err));
	xdp_program__close(prog);
	imapguard_bpf__destroy(skel);
	return err;
}

static int attach_tc(const char *pin, uint32_t max_sources, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = IG_TC_HANDLE, .priority = IG_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	struct imapguard_bpf *skel;
	char name[IF_NAMESIZE];
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		goto out_msg;
	err = ig_obj_open(pin, max_sources, IG_TC_PROG, &skel);
	if (err)
		goto out_msg;
	err = imapguard_bpf__load(skel);
	if (!err) {
		opts.prog_fd = bpf_program__fd(skel->progs.ig_tc);
		err = bpf_tc_attach(&hook, &opts);
	}
	imapguard_bpf__destroy(skel);
out_msg:
	if (err) {
		ifname(ifindex, name);
		ig_err("cannot attach tc ingress program to %s: %s", name, strerror(-err));
	}
	return err;
}

int ig_attach_iface(const char *pin, uint32_t max_sources, int attach,
		    int ifindex, struct ig_meta_iface *out)
{
	int err;

	if (attach == IG_ATTACH_TC)
		err = attach_tc(pin, max_sources, ifindex);
	else
		err = attach_xdp(pin, max_sources, attach == IG_ATTACH_XDP_GENERIC, ifindex);
	if (err)
		return err;
	out->ifindex = (uint32_t)ifindex;
	ifname(ifindex, out->name);
	ig_query_iface(ifindex, out);
	return 0;
}

int ig_detach_iface(const char *pin, const struct ig_meta_iface *ifc, int which)
{
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p = NULL;
	int err = 0;

	libxdp_use_pin(pin);
	if (which & IG_DETACH_XDP)
		p = find_ours((int)ifc->ifindex, &mp);
	if (p) {
		if (xdp_multiprog__is_legacy(mp))
			err = xdp_multiprog__detach(mp);
		else
			err = xdp_program__detach(p, (int)ifc->ifindex,
						   xdp_multiprog__attach_mode(mp), 0);
	}
	if (mp)
		xdp_multiprog__close(mp);
	if (err) {
		ig_err("cannot detach XDP from %s: %s", ifc->name, strerror(-err));
		return err;
	}
	if ((which & IG_DETACH_TC) && ig_tc_attached((int)ifc->ifindex)) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifc->ifindex,
			    .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = IG_TC_HANDLE, .priority = IG_TC_PRIO);

		err = bpf_tc_detach(&hook, &opts);
		if (err && err != -ENOENT) {
			ig_err("cannot detach tc from %s: %s", ifc->name, strerror(-err));
			return err;
		}
	}
	return 0;
}
