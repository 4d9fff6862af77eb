/* SPDX-License-Identifier: GPL-2.0-only */
/* imapguardd: the long-running agent. State shared by its parts. */
#ifndef IG_AGENT_H
#define IG_AGENT_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdint.h>

#include "pins.h"
#include "policy.h"

struct ring_buffer;
struct ig_mapcount;
struct MHD_Daemon;

/* Active blocks per origin, from the last state snapshot: sorted expiry
 * times, so a scrape counts live ones with a binary search. */
struct ig_block_census {
	uint64_t *expires[IG_NR_ORIGINS]; /* CLOCK_MONOTONIC, ascending */
	size_t n[IG_NR_ORIGINS];
	uint64_t permanent[IG_NR_ORIGINS];
};

struct agent {
	const char *conf_path;
	const char *pin;
	int unload_on_exit;

	struct ig_policy pol; /* the policy in force */
	struct ig_handle h;
	int events_lock_fd;   /* flock: this process consumes the ring */
	struct ring_buffer *rb;
	struct ig_mapcount *mc;
	struct MHD_Daemon *metrics;
	int fanout_fd;	      /* listening unix socket for `imapguard events` */
	int subscribers[16];
	int nsubscribers;

	/* read by the metrics thread: guarded by lock */
	pthread_mutex_t lock;
	uint64_t reloads, reload_failures;
	uint64_t state_writes, state_write_failures;
	uint64_t events[4]; /* by enum ig_event_type */
	struct ig_block_census census;

	uint64_t saved_gen;   /* state_gen at the last state write */
	uint64_t next_save_ns;
	uint64_t save_gap_ns; /* grows with the cost of a snapshot */
	uint64_t next_sweep_ns;
};

/* One JSON object per line on stdout: journald and log shippers take it. */
void jlog(const char *level, const char *event, json_object *fields);
void jlogf(const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int metrics_start(struct agent *a);
void metrics_stop(struct agent *a);

/* Durable state under [agent] state_dir. */
int state_save(struct agent *a);
int state_restore(struct agent *a, int *blocks, int *offences);

/* Remove lapsed blocks the kernel's timers did not (manual ones, restored
 * ones); logs each. */
void sweep_blocks(struct agent *a);

int fanout_open(struct agent *a);
void fanout_accept(struct agent *a);
void fanout_send(struct agent *a, const char *line);
void fanout_close(struct agent *a);

#endif
