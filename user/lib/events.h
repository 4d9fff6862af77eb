/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The consumer of the kernel's ring buffer (automatic blocks and their
 * expiry), shared by `imapguard events` and the agent: formatting, and
 * ending the sessions of a source the kernel just blocked.
 */
#ifndef IG_EVENTS_H
#define IG_EVENTS_H

#include <json-c/json.h>
#include <stddef.h>

#include "addr.h"
#include "pins.h"

struct ring_buffer;
typedef int (*ig_event_fn)(const struct ig_event *ev, void *arg);

/* The ring has one read position, so one consumer: an flock on the pinned
 * meta under `pin`. Returns the fd holding it, -EBUSY when another process
 * does, or another -errno. */
int ig_events_lock(const char *pin);

/* The process holding that lock (the agent, or `imapguard events`), read
 * from /proc/locks: its PID, 0 when nobody holds it, or -errno. */
int ig_events_holder(const char *pin);

/* A ring buffer reader on the pinned ig_events; fn runs per event. */
struct ring_buffer *ig_events_open(struct ig_handle *h, ig_event_fn fn, void *arg);

const char *ig_event_type_name(unsigned int type);

/* CLOCK_MONOTONIC nanoseconds to Unix seconds, and to UTC text. */
double ig_mono_to_unix(uint64_t mono_ns);
#define IG_ISO8601 "%Y-%m-%dT%H:%M:%SZ"
void ig_mono_strftime(uint64_t mono_ns, const char *fmt, char *buf, size_t len);

/* The event of type `type` about block b of prefix p, at now: what user
 * space reports as the kernel does. */
void ig_event_of(struct ig_event *ev, uint32_t type, const struct ig_prefix *p,
		 const struct ig_block *b, uint64_t now);

/* One event as JSON (caller puts it), and that JSON as one line of text. */
json_object *ig_event_json(const struct ig_event *ev);
void ig_event_line(json_object *o, char *buf, size_t len);

/* End the open sessions of the event's prefix on every policed port. */
int ig_event_kill_sessions(struct ig_handle *h, const struct ig_event *ev, int *killed);

#endif
