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

/* A consumer's callback, per event; its return value is ignored (every
 * event is handed out). */
typedef int (*ig_event_fn)(const struct ig_event *ev, void *arg);

/* The ring has one read position, so one consumer: an flock on the pinned
 * meta under `pin`. Returns the fd holding it, -EBUSY when another process
 * does, or another -errno. */
int ig_events_lock(const char *pin);

/* The process holding that lock (the agent, or `imapguard events`), read
 * from /proc/locks: its PID, 0 when nobody holds it, or -errno. */
int ig_events_holder(const char *pin);

/* A ring buffer reader on the pinned ig_events; fn runs per event, from
 * ring_buffer__poll()/consume(). Returns it (free with
 * ring_buffer__free()), or NULL with errno set by libbpf. */
struct ring_buffer *ig_events_open(struct ig_handle *h, ig_event_fn fn, void *arg);

/* The name of an IG_EV_* ("block", "would_block", "expire"): a static
 * string, "unknown" for any other type. */
/* "command", "long_line", ... for enum ig_tls_reason; "unknown" otherwise. */
const char *ig_tls_reason_name(unsigned int reason);
const char *ig_event_type_name(unsigned int type);

/* CLOCK_MONOTONIC nanoseconds to Unix seconds (fractional), by the offset
 * between the two clocks now. */
double ig_mono_to_unix(uint64_t mono_ns);

#define IG_ISO8601 "%Y-%m-%dT%H:%M:%SZ" /* RFC 3339 UTC, to the second */

/* CLOCK_MONOTONIC nanoseconds as UTC text in strftime(3) format `fmt`,
 * into buf of len bytes (empty if it does not fit). */
void ig_mono_strftime(uint64_t mono_ns, const char *fmt, char *buf, size_t len);

/* The event of type `type` about block b of prefix p, at now: what user
 * space reports as the kernel does. */
void ig_event_of(struct ig_event *ev, uint32_t type, const struct ig_prefix *p,
		 const struct ig_block *b, uint64_t now);

/* One event as a new JSON object, as `imapguard events -j` and the agent
 * print it (the caller json_object_put()s it). */
json_object *ig_event_json(const struct ig_event *ev);

/* That JSON object as the human line of `imapguard events` ("TIME TYPE
 * PREFIX [port N]: REASON (ORIGIN), ...") into buf of len bytes, cut
 * short if it does not fit. */
void ig_event_line(json_object *o, char *buf, size_t len);

/* End the open sessions of the event's prefix on every policed port;
 * 0 or -errno as ig_block_kill_sessions(). */
int ig_event_kill_sessions(struct ig_handle *h, const struct ig_event *ev, int *killed);

#endif
