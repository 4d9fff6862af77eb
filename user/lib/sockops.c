// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "imapguard.skel.h"
#include "loader.h"
#include "log.h"
#include "pins.h"
#include "sockops.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

uint64_t ig_netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

/* The cgroup-v2 mount whose root is the hierarchy root, from mountinfo. */
static int find_cgroup2(char *path, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mnt[PATH_MAX], *sep = strstr(line, " - ");

		if (!sep || strncmp(sep, " - cgroup2 ", 11) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) == 2 &&
		    !strcmp(root, "/")) {
			snprintf(path, len, "%s", mnt);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/*
 * An fd on the cgroup-v2 root. `ip netns exec` hides the host's /sys, and
 * with it the usual cgroup2 mount; then mount one privately just long
 * enough to open it (the attachment does not depend on the mount).
 */
int ig_cgroup_root_open(void)
{
	char path[PATH_MAX], tmp[] = "/run/imapguard-cgroup.XXXXXX";
	int fd;

	if (find_cgroup2(path, sizeof(path))) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (mkdir("/run", 0755) && errno != EEXIST)
		return -errno;
	if (!mkdtemp(tmp))
		return -errno;
	if (mount("cgroup2", tmp, "cgroup2", 0, NULL)) {
		fd = -errno;
		rmdir(tmp);
		return fd;
	}
	fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	umount2(tmp, MNT_DETACH);
	rmdir(tmp);
	return fd;
}

int ig_sockops_attached(const char *pin, uint64_t *cgroup_id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, ok;

	ig_pin_file(pin, IG_LINK_SOCKOPS, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	ok = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_CGROUP;
	if (ok && cgroup_id)
		*cgroup_id = info.cgroup.cgroup_id;
	close(fd);
	return ok;
}

int ig_sockops_attach(const char *pin, uint32_t max_sources)
{
	struct imapguard_bpf *skel = NULL;
	struct bpf_link *link = NULL;
	char path[PATH_MAX];
	int cg, err;

	if (ig_sockops_attached(pin, NULL))
		return 0;
	ig_pin_file(pin, IG_LINK_SOCKOPS, path, sizeof(path));
	unlink(path); /* a stale pin of another kind */
	cg = ig_cgroup_root_open();
	if (cg < 0) {
		ig_err("cannot open the cgroup-v2 root: %s", strerror(-cg));
		return cg;
	}
	err = ig_obj_open(pin, max_sources, "ig_sockops", &skel);
	if (!err)
		err = imapguard_bpf__load(skel);
	if (!err) {
		link = bpf_program__attach_cgroup(skel->progs.ig_sockops, cg);
		err = libbpf_get_error(link) ? -errno : 0;
		if (err)
			link = NULL;
	}
	if (!err)
		err = bpf_link__pin(link, path);
	if (err)
		ig_err("cannot attach the sockops burst counter to the cgroup-v2 root: %s",
		       strerror(-err));
	bpf_link__destroy(link); /* the pin keeps it attached */
	imapguard_bpf__destroy(skel);
	close(cg);
	return err;
}
