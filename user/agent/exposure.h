/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The periodic exposure audit ([agent] audit_interval): a thread of the
 * agent runs `imapguard audit` of its own network namespace on the mail
 * ports, and keeps what the last run found for /metrics.
 */
#ifndef IG_AGENT_EXPOSURE_H
#define IG_AGENT_EXPOSURE_H

#include <stddef.h>
#include <stdint.h>

struct agent;

#define EXPOSURE_MAX_ROWS 256 /* finding kinds and certificates kept per run */

/* One (id, severity, port) of the last run and how often it was found. */
struct exposure_finding {
	char id[40];
	char severity[12];
	uint16_t port; /* host order; 0: a finding of no port */
	unsigned int count;
};

/* The soonest certificate expiry seen on a port in the last run. */
struct exposure_cert {
	uint16_t port;		/* host order */
	int64_t expiry_seconds; /* notAfter minus the run's time; < 0: expired */
};

/* What /metrics shows; a copy taken under the thread's lock. */
struct exposure_status {
	int64_t last_run_unix; /* 0: no run has completed */
	uint64_t runs, failures;
	struct exposure_finding f[EXPOSURE_MAX_ROWS];
	size_t nf;
	struct exposure_cert c[EXPOSURE_MAX_ROWS];
	size_t nc;
};

/* Start the audit thread unless audit_interval is off. Call after
 * caps_drop. 0, or -errno of the thread's creation (logged). */
int exposure_start(struct agent *a);

/* Stop and join it (waits for a run in progress: each probe is bounded). */
void exposure_stop(struct agent *a);

/* Copy the status into *out: 0, or -ENOENT when the audit is off. */
int exposure_status(struct agent *a, struct exposure_status *out);

#endif
