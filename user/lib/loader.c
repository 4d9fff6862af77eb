// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "imapguard.skel.h"
#include "loader.h"
#include "log.h"
#include "pins.h"

int ig_obj_open(const char *pin, uint32_t max_sources, const char *prog,
		struct imapguard_bpf **out)
{
	struct imapguard_bpf *skel;
	struct bpf_program *p;
	struct bpf_map *m;
	char path[PATH_MAX];
	int err;

	*out = NULL;
	skel = imapguard_bpf__open();
	if (!skel)
		return -errno;
	bpf_object__for_each_map(m, skel->obj) {
		const char *name = bpf_map__name(m);

		if (strncmp(name, "ig_", 3) != 0)
			continue; /* .rodata/.bss stay private to this instance */
		ig_pin_file(pin, name, path, sizeof(path));
		err = bpf_map__set_pin_path(m, path);
		if (err)
			goto fail;
	}
	/* per-source tables follow the policy; a pinned map of another size
	 * makes the load fail, which apply checks for earlier with a clear
	 * message */
	struct bpf_map *per_source[] = {
		skel->maps.ig_blocks4,	 skel->maps.ig_blocks6,	  skel->maps.ig_rate,
		skel->maps.ig_burst,	 skel->maps.ig_xblocks4, skel->maps.ig_xblocks6,
		skel->maps.ig_xnotes,	 skel->maps.ig_rate_fb,
	};

	for (size_t i = 0; i < sizeof(per_source) / sizeof(per_source[0]); i++)
		if ((err = bpf_map__set_max_entries(per_source[i], max_sources)))
			goto fail;
	/* offenders are a small part of all sources; losing the oldest
	 * history only forgets an escalation level */
	err = bpf_map__set_max_entries(skel->maps.ig_offences,
				       max_sources / 4 > 1024 ? max_sources / 4 : 1024);
	if (err)
		goto fail;
	skel->rodata->ig_rate_fb_size = max_sources;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, prog && !strcmp(bpf_program__name(p), prog));
	*out = skel;
	return 0;
fail:
	imapguard_bpf__destroy(skel);
	return err;
}

/* The key of the ig_rate_fb bucket hash, for the life of the maps. */
static int seed_rate_hash(int cfg_fd)
{
	struct ig_cfg *cfg = mmap(NULL, sizeof(*cfg), PROT_READ | PROT_WRITE, MAP_SHARED,
				  cfg_fd, 0);
	__u64 seed;
	int err = 0;

	if (cfg == MAP_FAILED)
		return -errno;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		err = -EIO;
	else
		cfg->rate_seed = seed;
	munmap(cfg, sizeof(*cfg));
	return err;
}

int ig_maps_create(const char *pin, uint32_t max_sources)
{
	struct imapguard_bpf *skel;
	int err = ig_obj_open(pin, max_sources, NULL, &skel);

	if (err)
		return err;
	err = imapguard_bpf__load(skel);
	if (!err) {
		/* stamp the schema first, so no pin set ever lacks one */
		struct ig_meta meta = { .magic = IG_META_MAGIC,
					.schema = IG_SCHEMA_VERSION,
					.max_sources = max_sources };
		__u32 key = 0;

		if (ig_boot_id(meta.boot_id))
			ig_debug("no boot id: the state file's boot cannot be compared");
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.ig_meta), &key, &meta, BPF_ANY))
			err = -errno;
	}
	if (!err)
		err = seed_rate_hash(bpf_map__fd(skel->maps.ig_cfg));
	imapguard_bpf__destroy(skel);
	return err;
}

void ig_maps_unpin(const char *pin)
{
	char path[PATH_MAX];

	/* the sockops link first: it keeps the program counting */
	ig_pin_file(pin, IG_LINK_SOCKOPS, path, sizeof(path));
	if (unlink(path) && errno != ENOENT)
		ig_warn("cannot remove %s: %s", path, strerror(errno));

	for (int i = 0; i < IG_NR_MAPS; i++) {
		ig_pin_file(pin, ig_map_names[i], path, sizeof(path));
		if (unlink(path) && errno != ENOENT)
			ig_warn("cannot remove %s: %s", path, strerror(errno));
	}
}
