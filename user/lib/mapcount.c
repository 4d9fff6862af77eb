// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mapcount.h"
#include "mapcount.skel.h"

struct ig_mapcount {
	struct mapcount_bpf *skel;
	struct bpf_link *link;
};

struct ig_mapcount *ig_mapcount_open(void)
{
	struct ig_mapcount *mc = calloc(1, sizeof(*mc));

	if (!mc)
		return NULL;
	mc->skel = mapcount_bpf__open_and_load();
	if (mc->skel)
		mc->link = bpf_program__attach_iter(mc->skel->progs.ig_map_counts, NULL);
	if (!mc->skel || libbpf_get_error(mc->link)) {
		mc->link = NULL;
		ig_mapcount_close(mc);
		return NULL;
	}
	return mc;
}

void ig_mapcount_close(struct ig_mapcount *mc)
{
	if (!mc)
		return;
	bpf_link__destroy(mc->link);
	mapcount_bpf__destroy(mc->skel);
	free(mc);
}

int ig_mapcount_read(struct ig_mapcount *mc, const int *fds, int n, long long *counts)
{
	__u32 ids[16];
	char line[64];
	FILE *f;
	int fd;

	if (n > 16)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		counts[i] = -1;
		ids[i] = bpf_obj_get_info_by_fd(fds[i], &info, &len) ? 0 : info.id;
	}
	fd = bpf_iter_create(bpf_link__fd(mc->link));
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned int id;
		long long c;

		if (sscanf(line, "%u %lld", &id, &c) != 2)
			continue;
		for (int i = 0; i < n; i++)
			if (ids[i] == id)
				counts[i] = c;
	}
	fclose(f);
	return 0;
}
