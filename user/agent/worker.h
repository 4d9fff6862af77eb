/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A background thread of the agent that sleeps until a deadline on the
 * monotonic clock (wall-clock steps must not stretch a backoff) and stops
 * at once when asked: the fleet's pull and push threads.
 */
#ifndef IG_AGENT_WORKER_H
#define IG_AGENT_WORKER_H

#include <pthread.h>
#include <stdint.h>

struct worker {
	pthread_t thread;
	pthread_mutex_t lock; /* guards stop, and whatever the owner puts under it */
	pthread_cond_t wake;  /* on CLOCK_MONOTONIC */
	int stop;
};

/* Start fn(arg) on w's thread. 0; or -errno of pthread_create(), and then
 * w holds nothing (no worker_stop()). */
int worker_start(struct worker *w, void *(*fn)(void *), void *arg);

/* Ask the thread to stop, wake it, join it and release w. Returns nothing. */
void worker_stop(struct worker *w);

/* Under w->lock: wait until the worker is asked to stop or ns nanoseconds
 * have passed (a signal for other work does not end the wait). Returns
 * w->stop. */
int worker_wait_locked(struct worker *w, uint64_t ns);

#endif
