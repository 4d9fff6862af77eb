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

/* How the loader sizes each map: the capacity column of IG_MAPS. */
enum ig_map_cap { IG_CAP_FIXED, IG_CAP_SOURCES, IG_CAP_OFFENDERS };
#define IG__MAP_CAP(id, name, cap) [IG_M_##id] = IG_CAP_##cap,
static const enum ig_map_cap map_cap[IG_NR_MAPS] = { IG_MAPS(IG__MAP_CAP) };

static int is_listed(const char *name)
{
	for (int i = 0; i < IG_NR_MAPS; i++)
		if (!strcmp(name, ig_map_names[i]))
			return 1;
	return 0;
}

int ig_obj_bind_maps(struct bpf_object *obj, const char *pin, uint32_t max_sources)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	int err;

	/* Only "ig_" maps are shared (.rodata, .bss stay private to the
	 * instance); one missing from the list would be neither pinned, nor
	 * shared, nor removed by unload: refuse it. */
	bpf_object__for_each_map(m, obj) {
		if (!strncmp(bpf_map__name(m), "ig_", 3) && !is_listed(bpf_map__name(m))) {
			ig_err("BPF map %s is not in IG_MAPS (imapguard.h)", bpf_map__name(m));
			return -EINVAL;
		}
	}
	for (int i = 0; i < IG_NR_MAPS; i++) {
		uint32_t cap = max_sources;

		m = bpf_object__find_map_by_name(obj, ig_map_names[i]);
		if (!m) {
			ig_err("the BPF object has no map %s", ig_map_names[i]);
			return -ENOENT;
		}
		ig_pin_file(pin, ig_map_names[i], path, sizeof(path));
		if ((err = bpf_map__set_pin_path(m, path)))
			return err;
		/* per-source tables follow the policy; a pinned map of another
		 * size makes the load fail, which apply checks for earlier with
		 * a clear message. Offenders are a small part of all sources:
		 * losing the oldest history only forgets an escalation level. */
		if (map_cap[i] == IG_CAP_FIXED)
			continue;
		if (map_cap[i] == IG_CAP_OFFENDERS)
			cap = max_sources / 4 > 1024 ? max_sources / 4 : 1024;
		if ((err = bpf_map__set_max_entries(m, cap)))
			return err;
	}
	return 0;
}

void ig_obj_select_prog(struct bpf_object *obj, const char *prog)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, prog && !strcmp(bpf_program__name(p), prog));
}

int ig_obj_open(const char *pin, uint32_t max_sources, const char *prog,
		struct imapguard_bpf **out)
{
	struct imapguard_bpf *skel;
	int err;

	*out = NULL;
	skel = imapguard_bpf__open();
	if (!skel)
		return -errno;
	err = ig_obj_bind_maps(skel->obj, pin, max_sources);
	if (err) {
		imapguard_bpf__destroy(skel);
		return err;
	}
	skel->rodata->ig_rate_fb_size = max_sources;
	ig_obj_select_prog(skel->obj, prog);
	*out = skel;
	return 0;
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
