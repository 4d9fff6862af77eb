/* SPDX-License-Identifier: GPL-2.0-only */
/* imapguardd as a CrowdSec watcher: our blocks pushed to the Local API as
 * alerts (fleet_push.c). */
#ifndef IG_FLEET_PUSH_H
#define IG_FLEET_PUSH_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct ig_event;

/* In [agent] state_dir: the blocks not yet delivered, one JSON line each
 * (csalert.h), oldest first. */
#define FLEET_PUSH_QUEUE_FILE "fleet-push.jsonl"
/* At most this many wait; a new block past it drops the oldest. */
#define FLEET_PUSH_QUEUE_MAX 4096

/* What became of the alerts (imapguard_fleet_push_total{result}). */
enum push_result {
	PUSH_DELIVERED, /* the LAPI took it */
	PUSH_REJECTED,	/* the LAPI refused it (a validation error is HTTP 500): dropped */
	PUSH_EXPIRED,	/* the block ended before it could be sent: dropped */
	PUSH_DROPPED,	/* the queue was full: the oldest dropped */
	PUSH_RETRIED,	/* a try that failed (not reached, login refused): kept */
	PUSH_NR_RESULTS
};
extern const char *const push_result_names[PUSH_NR_RESULTS];

struct fleet_push_status {
	uint64_t results[PUSH_NR_RESULTS];
	size_t queued;	 /* alerts waiting */
	int logged_in;	 /* a JWT is held */
	char last_error[256];
};

/* Start pushing when [crowdsec] has machine_id (else nothing): loads the
 * queue left in state_dir, then a thread of its own delivers it. Call
 * after the capabilities are dropped. 0, or -errno (-ENOMEM, or
 * pthread_create's error). */
int fleet_push_start(struct agent *a);

/* Stop the push (an ongoing transfer is aborted) and wait for its thread;
 * what is queued stays in the queue file for the next start. */
void fleet_push_stop(struct agent *a);

/* A block was decided (agent_publish): queue its alert when it is an
 * IG_EV_BLOCK whose origin `push` names. The line is on disk (fsync)
 * before this returns; a queue file that cannot be written is logged and
 * the alert kept in memory only. */
void fleet_push_block(struct agent *a, const struct ig_event *ev);

/* A copy of the push's status: 0, or -ENOENT when there is no push. */
int fleet_push_status(struct agent *a, struct fleet_push_status *out);

#endif
