/* SPDX-License-Identifier: GPL-2.0-only */
/* imapguardd as a CrowdSec bouncer: the pull of the Local API's decisions
 * (fleet_pull.c). */
#ifndef IG_FLEET_PULL_H
#define IG_FLEET_PULL_H

#include <stdint.h>
#include <time.h>

#include "csdecision.h"

struct agent;

/* In [agent] state_dir: the pull's state for `imapguard status`, a JSON
 * object (README "Fleet"), replaced after every pull. */
#define FLEET_STATUS_FILE "fleet.json"

/* What metrics and `imapguard status` show of the pull. */
struct fleet_status {
	int up;				 /* the last pull succeeded */
	uint64_t pulls, errors;		 /* pulls applied; pulls failed or refused */
	time_t last_pull, last_startup;	 /* wall clock of the last good (startup) pull; 0 never */
	uint64_t held_ip, held_range;	 /* decisions held, by scope */
	uint64_t skipped[IG_CS_NR_SKIPS]; /* decisions not enforced, by why */
	uint64_t write_failures;	 /* block writes that failed */
	char last_error[512];
};

/* Start pulling when the policy has [crowdsec] (else nothing): a thread
 * of its own; call after the capabilities are dropped (it needs none).
 * 0, or -errno (-ENOMEM, or pthread_create's error). */
int fleet_start(struct agent *a);

/* Stop the pull (an ongoing transfer is aborted) and wait for its thread. */
void fleet_stop(struct agent *a);

/* A copy of the pull's status: 0, or -ENOENT when there is no pull. */
int fleet_status(struct agent *a, struct fleet_status *out);

#endif
