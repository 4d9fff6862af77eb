/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One agent per state_dir. Two agents side by side (two instances on one
 * machine, or a copied unit file) that were given one state_dir would
 * overwrite each other's state.json, share one events socket, and both
 * deliver and compact one CrowdSec push queue. The first start takes an
 * exclusive flock on state_dir/agent.lock, held for its lifetime; a
 * second start on the same directory is refused before it touches the
 * pins, naming the holder.
 */
#ifndef IG_STATELOCK_H
#define IG_STATELOCK_H

#define STATE_LOCK_FILE "agent.lock"

/* Create state_dir (0700) if needed and lock it for this process,
 * writing "PID PIN_PATH" into the lock file. Returns the lock's fd (>= 0,
 * to keep open until exit), or -EBUSY when another process holds it (its
 * PID in *holder, 0 if unknown; explained in the log by the caller), or
 * -errno of mkdir(2), open(2) or flock(2). */
int state_lock(const char *state_dir, const char *pin, int *holder);

#endif
