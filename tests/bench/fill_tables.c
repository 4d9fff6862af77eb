// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bench helper: fill a loaded instance's per-source tables with N tracked
 * sources (rate buckets and burst windows) and B blocks, as a long attack
 * would. Usage: fill_tables PIN N B
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blocks.h"
#include "pins.h"

#define CHUNK 8192

static int fill(int fd, size_t vsize, uint32_t n)
{
	struct ig_src_key *keys = calloc(CHUNK, sizeof(*keys));
	char *vals = calloc(CHUNK, vsize);
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int err = 0;

	if (!keys || !vals)
		return -ENOMEM;
	for (uint32_t done = 0; done < n && !err;) {
		__u32 c = n - done < CHUNK ? n - done : CHUNK;

		for (__u32 i = 0; i < c; i++) {
			keys[i] = (struct ig_src_key){ .family = 4, .stat_idx = 0 };
			keys[i].addr[0] = htonl(0x0b000000u + done + i); /* 11.0.0.0/8 */
		}
		if (bpf_map_update_batch(fd, keys, vals, &c, &opts))
			err = -errno;
		done += c;
	}
	free(keys);
	free(vals);
	return err;
}

int main(int argc, char **argv)
{
	struct ig_handle h;
	uint32_t n, b;
	int err;

	if (argc != 4)
		return fprintf(stderr, "usage: fill_tables PIN SOURCES BLOCKS\n"), 2;
	n = (uint32_t)strtoul(argv[2], NULL, 10);
	b = (uint32_t)strtoul(argv[3], NULL, 10);
	if ((err = ig_handle_open(&h, argv[1])))
		return fprintf(stderr, "fill_tables: %s\n", strerror(-err)), 1;
	if ((err = fill(h.fd[IG_M_RATE], sizeof(struct ig_rate_state), n)) ||
	    (err = fill(h.fd[IG_M_BURST], sizeof(struct ig_burst_state), n)))
		return fprintf(stderr, "fill_tables: sources: %s\n", strerror(-err)), 1;
	for (uint32_t i = 0; i < b; i++) {
		struct ig_prefix p = { .family = 4, .len = 32 };
		uint32_t a = htonl(0x0a000000u + i * 37u);

		memcpy(p.addr, &a, 4);
		if ((err = ig_block_add(&h, &p, 3600ull * 1000000000ull, NULL, IG_ORIGIN_AUTO,
					IG_BR_BURST)))
			return fprintf(stderr, "fill_tables: blocks: %s\n", strerror(-err)), 1;
	}
	ig_handle_close(&h);
	printf("filled %u sources and %u blocks\n", n, b);
	return 0;
}
