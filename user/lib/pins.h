/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pin directory: everything imapguard leaves in the kernel hangs off
 * one bpffs directory. A handle opens the pinned maps of a loaded instance,
 * checks their schema, and maps the config and summary into memory.
 */
#ifndef IG_PINS_H
#define IG_PINS_H

#include <limits.h>
#include <stdint.h>

#include "imapguard.h"

#define IG_DEFAULT_PIN_PATH "/sys/fs/bpf/imapguard"
#define IG_XDP_SUBDIR "xdp" /* libxdp's own pins, under LIBXDP_BPFFS=pin */

/* IG_M_CFG, IG_M_LISTS4, ...: a pinned map, in the order of IG_MAPS
 * (imapguard.h); an index into ig_map_names[] and ig_handle.fd[]. */
#define IG__MAP_ID(id, name, cap) IG_M_##id,
enum ig_map_id { IG_MAPS(IG__MAP_ID) IG_NR_MAPS };

/* The name of each map ("ig_cfg", ...): its BPF name and its pin file. */
extern const char *const ig_map_names[IG_NR_MAPS];

struct ig_handle {
	char pin[PATH_MAX];
	int lock_fd; /* -1 unless ig_lock() was called */
	int fd[IG_NR_MAPS];
	struct ig_cfg *cfg;	 /* mmap of ig_cfg */
	struct ig_sum_count *cnt; /* mmap of ig_sumcnt, IG_SUMCNT_ENTRIES */
	struct ig_meta meta;	 /* as read at open time */
};

/* Make sure `pin` is a directory on a bpffs, mounting one if none is found
 * at or above it (as bpftool does). */
int ig_pin_prepare(const char *pin);

/* Serialise mutations: an exclusive flock on the pin directory, waited for
 * up to a few seconds. */
int ig_lock(const char *pin, int *fd);
/* The same lock, not waited for: 0, -EBUSY when someone holds it, -errno. */
int ig_trylock(const char *pin, int *fd);
void ig_unlock(int *fd);

/* Open the pinned maps. -ENOENT: nothing is loaded there. -EPROTO: the pins
 * were made by another schema (a message says which). */
int ig_handle_open(struct ig_handle *h, const char *pin);
void ig_handle_close(struct ig_handle *h);
int ig_meta_write(struct ig_handle *h);
/* The pinned meta, checked (ours, and this binary's schema), into out. */
int ig_meta_read(struct ig_handle *h, struct ig_meta *out);

/* Path of a pinned object under the pin directory. */
void ig_pin_file(const char *pin, const char *name, char *buf, size_t len);

/* Inode of this process's network namespace. */
uint64_t ig_netns_ino(void);

/* This boot's /proc/sys/kernel/random/boot_id (a UUID: 16 bytes, in the
 * order the text gives them). 0, or -errno; -EINVAL if it does not parse. */
int ig_boot_id(uint8_t id[16]);
/* As text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (37 bytes with the NUL). */
void ig_boot_id_str(const uint8_t id[16], char buf[37]);

/* Wait until every BPF program that may have read the old config has
 * finished: an RCU grace period, through a map-in-map update (membarrier
 * as the fallback). 0 once it has passed; a negative errno if no grace
 * period could be had, and then nothing is known about running programs. */
int ig_sync_programs(void);

uint64_t ig_mono_ns(void);

#endif
