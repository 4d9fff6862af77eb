// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pinned maps are one list (IG_MAPS, imapguard.h). The BPF objects must
 * define exactly its maps, under its names: a map the list lacks would be
 * neither pinned nor removed, a listed map the object lacks could not be
 * opened. The shipped object must carry no benchmark knob (ig_bench_*,
 * bpf/classify.h); the bench build of the same source must, or the check
 * proves nothing. Opening an object needs no privileges: nothing is loaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "imapguard.skel.h"
#include "loader.h"
#include "pins.h"

#ifndef IG_BENCH_OBJ
#error "IG_BENCH_OBJ: the path of the bench object (tests/tests.mk)"
#endif

/* The whole file, or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

static int listed(const char *name)
{
	for (int i = 0; i < IG_NR_MAPS; i++)
		if (!strcmp(name, ig_map_names[i]))
			return 1;
	return 0;
}

/* Every listed map is in obj, and every "ig_" map of obj is listed. */
static void assert_same_maps(struct bpf_object *obj)
{
	struct bpf_map *m;
	int ours = 0;

	for (int i = 0; i < IG_NR_MAPS; i++) {
		m = bpf_object__find_map_by_name(obj, ig_map_names[i]);
		if (!m)
			fail_msg("listed map %s is not in %s", ig_map_names[i], bpf_object__name(obj));
	}
	bpf_object__for_each_map(m, obj) {
		if (strncmp(bpf_map__name(m), "ig_", 3))
			continue;
		if (!listed(bpf_map__name(m)))
			fail_msg("map %s of %s is not in IG_MAPS", bpf_map__name(m),
				 bpf_object__name(obj));
		ours++;
	}
	assert_int_equal(ours, IG_NR_MAPS);
}

static void test_shipped_maps_are_the_list(void **state)
{
	struct imapguard_bpf *skel = imapguard_bpf__open();

	(void)state;
	assert_non_null(skel);
	assert_same_maps(skel->obj);
	imapguard_bpf__destroy(skel);
}

static void test_bench_maps_are_the_list(void **state)
{
	struct bpf_object *obj = bpf_object__open_file(IG_BENCH_OBJ, NULL);

	(void)state;
	if (libbpf_get_error(obj))
		fail_msg("cannot open %s: %s", IG_BENCH_OBJ, strerror(errno));
	assert_same_maps(obj);
	bpf_object__close(obj);
}

/* The names are unique and the ids index them in order. */
static void test_names_unique(void **state)
{
	(void)state;
	assert_string_equal(ig_map_names[IG_M_CFG], "ig_cfg");
	assert_string_equal(ig_map_names[IG_M_META], "ig_meta");
	for (int i = 0; i < IG_NR_MAPS; i++) {
		assert_non_null(ig_map_names[i]);
		/* the kernel keeps BPF_OBJ_NAME_LEN - 1 characters of a name */
		assert_true(strlen(ig_map_names[i]) < 16);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ig_map_names[i], ig_map_names[j]);
	}
}

/* The loader binds each listed map to its pin file and sizes it by the
 * list's capacity column. */
static void test_bind_maps(void **state)
{
	struct imapguard_bpf *skel = imapguard_bpf__open();
	const uint32_t max = 65536;
	char want[PATH_MAX];

	(void)state;
	assert_non_null(skel);
	assert_int_equal(ig_obj_bind_maps(skel->obj, "/sys/fs/bpf/t", max), 0);
	for (int i = 0; i < IG_NR_MAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, ig_map_names[i]);

		snprintf(want, sizeof(want), "/sys/fs/bpf/t/%s", ig_map_names[i]);
		assert_non_null(bpf_map__pin_path(m));
		assert_string_equal(bpf_map__pin_path(m), want);
	}
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_blocks4), max);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_blocks6), max);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_rate), max);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_rate_fb), max);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_burst), max);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_xblocks4), max);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_xblocks6), max);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_xinfo), max);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_offences), max / 4);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_grants4), IG_MAX_GRANTS);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_stats), IG_NR_STATS);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_cfg), 1);
	/* a small policy still keeps 1024 offenders */
	assert_int_equal(ig_obj_bind_maps(skel->obj, "/sys/fs/bpf/t", 1024), 0);
	assert_int_equal(bpf_map__max_entries(skel->maps.ig_offences), 1024);
	imapguard_bpf__destroy(skel);
}

/* A packet under a hashed block reads one element of ig_xblocks4: it is
 * preallocated (its elements side by side, not scattered by the
 * allocator) and holds the expiry alone, so the kernel's 48-byte element
 * header, the key and the value fill one 64-byte cache line. The details
 * a packet never reads live in ig_xinfo, allocated as blocks come. */
static void test_xblocks_one_line(void **state)
{
	struct imapguard_bpf *skel = imapguard_bpf__open();

	(void)state;
	assert_non_null(skel);
	assert_false(bpf_map__map_flags(skel->maps.ig_xblocks4) & BPF_F_NO_PREALLOC);
	assert_false(bpf_map__map_flags(skel->maps.ig_xblocks6) & BPF_F_NO_PREALLOC);
	assert_int_equal(48 + bpf_map__key_size(skel->maps.ig_xblocks4) +
				 bpf_map__value_size(skel->maps.ig_xblocks4), 64);
	assert_int_equal(bpf_map__value_size(skel->maps.ig_xblocks6), 8);
	assert_true(bpf_map__map_flags(skel->maps.ig_xinfo) & BPF_F_NO_PREALLOC);
	imapguard_bpf__destroy(skel);
}

static int has_var(struct bpf_object *obj, const char *name)
{
	struct btf *btf = bpf_object__btf(obj);

	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_VAR) >= 0;
}

/* The knobs exist in the bench build: the checks below can fail. */
static void test_bench_has_knobs(void **state)
{
	struct bpf_object *obj = bpf_object__open_file(IG_BENCH_OBJ, NULL);
	size_t len = 0;
	char *elf = slurp(IG_BENCH_OBJ, &len);

	(void)state;
	if (libbpf_get_error(obj))
		fail_msg("cannot open %s: %s", IG_BENCH_OBJ, strerror(errno));
	assert_true(has_var(obj, "ig_bench_spread"));
	assert_true(has_var(obj, "ig_bench_ctr"));
	assert_non_null(elf);
	assert_non_null(memmem(elf, len, "ig_bench_spread", 15));
	free(elf);
	bpf_object__close(obj);
}

/* The shipped object (the bytes the binaries embed) names no ig_bench_*
 * symbol: not as a variable, nor anywhere in its symbol or string tables. */
static void test_shipped_has_no_knobs(void **state)
{
	struct imapguard_bpf *skel = imapguard_bpf__open();
	size_t len = 0;
	const void *elf = imapguard_bpf__elf_bytes(&len);

	(void)state;
	assert_non_null(skel);
	assert_false(has_var(skel->obj, "ig_bench_spread"));
	assert_false(has_var(skel->obj, "ig_bench_ctr"));
	assert_true(len > 0);
	assert_null(memmem(elf, len, "ig_bench", 8));
	imapguard_bpf__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_maps_are_the_list),
		cmocka_unit_test(test_bench_maps_are_the_list),
		cmocka_unit_test(test_names_unique),
		cmocka_unit_test(test_bind_maps),
		cmocka_unit_test(test_xblocks_one_line),
		cmocka_unit_test(test_bench_has_knobs),
		cmocka_unit_test(test_shipped_has_no_knobs),
	};

	libbpf_set_print(NULL); /* opening logs nothing worth reading here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
