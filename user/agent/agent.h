/* SPDX-License-Identifier: GPL-2.0-only */
/* imapguardd: the long-running agent. State shared by its parts. */
#ifndef IG_AGENT_H
#define IG_AGENT_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdint.h>

#include "pins.h"
#include "policy.h"
#include "requests.h"

struct ring_buffer;
struct mnl_socket;
struct ig_mapcount;
struct ig_auth;
struct ig_event;
struct MHD_Daemon;
struct MHD_Connection;
enum MHD_ConnectionNotificationCode;
struct fleet_pull;
struct fleet_push;
struct exposure;

/* The auth-policy server's counters (metrics), bumped atomically. */
enum auth_reject {
	AUTH_REJECT_BLOCKED,
	AUTH_REJECT_FAILURES,
	AUTH_REJECT_SPRAY,
	AUTH_REJECT_NO_GRANT,
	AUTH_REJECT_PLAINTEXT,
	AUTH_REJECT_TRANSPORT_UNKNOWN, /* require_tls, and the request says neither */
	AUTH_REJECT_DENIED,	       /* the source is on the deny list */
	AUTH_NR_REJECTS
};
enum { AUTHPOLICY_ALLOW, AUTHPOLICY_REPORT, AUTHPOLICY_GRANTS, AUTHPOLICY_NR_COMMANDS };
#define AUTHPOLICY_NR_ERRORS 6 /* 400 401 404 405 413 5xx */
extern const char *const auth_reject_names[AUTH_NR_REJECTS];
extern const char *const authpolicy_commands[AUTHPOLICY_NR_COMMANDS];

struct auth_stats {
	uint64_t attempts[AUTH_NR_PROTOCOLS];
	uint64_t failures[AUTH_NR_PROTOCOLS];
	uint64_t rejected[AUTH_NR_REJECTS];
	uint64_t tarpitted;
	/* monitor mode: what enforce would have done, and did not */
	uint64_t would_reject[AUTH_NR_REJECTS];
	uint64_t would_tarpit;
	uint64_t requests[AUTHPOLICY_NR_COMMANDS];
	uint64_t errors[AUTHPOLICY_NR_ERRORS];
	uint64_t conn_refused;	/* not a policy client (conns.c) */
	uint64_t conn_deadline; /* closed past its deadline (conns.c) */
};

#define AUTH_MAX_SOURCES 16384 /* detector tables: a few MiB at most */
#define AUTH_MAX_USERS 16384

/* Live blocks per origin and grants per kind, from the last state
 * snapshot: sorted expiry times, so a scrape counts live ones with a
 * binary search instead of walking a table. */
#define CENSUS_GRANT_USER IG_NR_ORIGINS
#define CENSUS_GRANT_SOURCE (IG_NR_ORIGINS + 1)
#define CENSUS_KINDS (IG_NR_ORIGINS + 2)
struct ig_block_census {
	uint64_t *expires[CENSUS_KINDS]; /* CLOCK_MONOTONIC, ascending */
	size_t n[CENSUS_KINDS];
	uint64_t permanent[CENSUS_KINDS];
};

struct agent {
	const char *conf_path;
	const char *pin;
	int unload_on_exit;

	struct ig_policy pol; /* the policy in force */
	struct ig_handle h;   /* h.meta: written by reload under lock */
	int events_lock_fd;   /* flock: this process consumes the ring */
	int state_lock_fd;    /* flock: this process owns state_dir (statelock.h) */
	struct ring_buffer *rb;
	struct ig_mapcount *mc;
	struct MHD_Daemon *metrics;
	int fanout_fd;	      /* listening unix socket for `imapguard events` */
	int subscribers[16];
	int nsubscribers;
	pthread_mutex_t fanout_lock;

	/* the auth-policy server (threads of its own) */
	struct MHD_Daemon *policy;
	struct conns *conns; /* admission and deadlines of its connections */
	struct ig_auth *auth;
	pthread_mutex_t auth_lock; /* guards auth */
	struct auth_stats auth_stats;
	uint64_t transport_unknown_logged_ns; /* CLOCK_MONOTONIC of the last such log line */

	/* read by the metrics thread: guarded by lock */
	pthread_mutex_t lock;
	uint64_t reloads, reload_failures;
	uint64_t state_writes, state_write_failures;
	/* STARTTLS flow sweeps that failed, and flows one kept because it
	 * could not tell whether their connection was gone */
	uint64_t tls_sweep_errors;
	uint64_t state_corrupt; /* state files found corrupt and set aside */
	long state_entries;	/* entries in the state file on disk (main thread) */
	uint64_t events[4]; /* by enum ig_event_type */
	struct ig_block_census census;

	uint64_t saved_gen;   /* state_gen at the last state write */
	uint64_t next_save_ns;
	uint64_t next_sweep_ns, last_sweep_ns;
	uint64_t timers_unarmed; /* IG_G_BLOCK_TIMER_FAILED at the last sweep */
	int tls_sweep_err;	 /* the last STARTTLS flow sweep's failure, or 0 */
	uint64_t synced_gen;  /* state_gen at the last nftables sync */
	uint64_t next_sync_ns;
	int nft_again;	      /* nft changes waited on expiring elements */
	int sync_wake_fd;     /* eventfd: agent_sync_soon wakes the main loop; -1: none */

	/* table inet imapguard kept there (nftwatch.c) */
	struct mnl_socket *nftmon; /* nftables notifications (main thread) */
	int nftmon_pending;	   /* a deletion of ours in the transaction being read */
	int nft_foreign;	   /* someone else deleted something of our table */
	int nftmon_touched;	   /* the transaction being heard changed our table */
	int nft_lost;		   /* notifications lost, or a put found no table (atomic) */
	uint64_t nft_rebuilds, nft_rebuild_failures; /* under lock */
	uint64_t nft_put_failures;		     /* under lock */

	struct fleet_pull *fleet; /* [crowdsec]: the decision pull (fleet_pull.h) */
	struct fleet_push *push;  /* [crowdsec] machine_id: the alert push (fleet_push.h) */
	struct exposure *exposure; /* [agent] audit_interval: the audit thread (exposure.h) */
};

/*
 * Our nftables table, kept there and kept current (nftwatch.c).
 * nftwatch_open subscribes to the kernel's nftables notifications: the fd
 * for epoll, or -errno. nftwatch_read drains them (main thread);
 * nftwatch_check, at every tick and after a notification, rebuilds the
 * table when someone else deleted or emptied what the pins want.
 * agent_nft_put puts a block (grant = 0) or a source grant the agent just
 * made into the nftables sets before the request is answered;
 * agent_nft_sync brings them up to the BPF tables at once (a deletion).
 * Both: 0, or -errno logged and counted (imapguard_nft_write_failures_total);
 * the deferred sync then tries again.
 */
int nftwatch_open(struct agent *a);
/* IG_NFT_NONE, _MIRROR or _ENFORCE, as the pinned meta says now */
int agent_nft_wanted(struct agent *a);
void nftwatch_close(struct agent *a);
void nftwatch_read(struct agent *a);
void nftwatch_check(struct agent *a);
/*
 * Around a transaction of our own: nftwatch_quiet leaves the notification
 * group (the kernel builds no notification of its elements: for 100,000
 * blocks that was most of the sync's time, and it overflowed our socket),
 * remembering the ruleset's generation in *gen; nftwatch_loud joins again
 * and compares: more transactions than ours (`ours`: 0 or 1) committed
 * meanwhile means someone else's notifications were missed, so the table
 * is checked against the BPF tables as after lost notifications.
 */
void nftwatch_quiet(struct agent *a, uint32_t *gen);
void nftwatch_loud(struct agent *a, uint32_t gen, int ours);
int agent_nft_put(struct agent *a, int grant, const struct ig_prefix *p, uint64_t expires_ns);
int agent_nft_sync(struct agent *a);
/*
 * Another thread changed the block table (the fleet's pull applied an
 * answer): wake the main loop so that its nftables sync starts now, not
 * at its next tick (up to 250 ms away; 100,000 decisions were mirrored
 * that much later). Call after the pins' lock is released: a sync that
 * finds it held waits for the tick. Any thread; never blocks. Wakes
 * coalesce (an eventfd counter the loop reads before it syncs), so one
 * that comes during a sync makes one more; the sync's own spacing
 * (maybe_sync) still holds, and the tick still catches up on anything.
 * Without the eventfd (a->sync_wake_fd < 0) this does nothing: the tick.
 */
void agent_sync_soon(struct agent *a);

/* One JSON object per line on stdout: journald and log shippers take it. */
void jlog(const char *level, const char *event, json_object *fields);
void jlogf(const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Keep only the capabilities the agent needs after its start (CAP_BPF,
 * CAP_NET_ADMIN, CAP_SYS_ADMIN, and CAP_NET_BIND_SERVICE for a listener
 * below port 1024; see caps.c) in every set of this thread, clearing the
 * bounding set too when CAP_SETPCAP allows. Call before any thread starts.
 * Adds "capabilities" (names kept) and "bounding_set_cleared" to `report`.
 * Returns 0, or -EPERM when the kernel refused the change.
 */
int caps_drop(const struct agent *a, json_object *report);

/* Open what /metrics needs privileges for (the element counter's BPF
 * program) while we still hold them; metrics_start serves it later. */
void metrics_prepare(struct agent *a);
int metrics_start(struct agent *a);
void metrics_stop(struct agent *a);

/* Durable state under [agent] state_dir. */
int state_save(struct agent *a);
/* What a restore merged into the maps, and from which file. */
struct state_restored {
	int blocks, offences, grants; /* merged: new, or outliving what was there */
	int skipped;		      /* valid JSON, but unusable entries */
	const char *file;	      /* "state.json", "state.json.prev" or NULL */
};

/*
 * Merge the saved state into the maps: an entry already there that lasts
 * at least as long is kept, so merging twice changes nothing. A file that
 * is truncated or not ours is never partly applied: it is set aside as
 * state.json.corrupt.N (never overwritten), counted in a->state_corrupt,
 * and the restore falls back to state.json.prev. With merge == 0 the file
 * is only checked and counted (a->state_entries). Returns 0 (also when
 * there is no state at all), or -EBADMSG when no valid file was found.
 */
int state_restore(struct agent *a, struct state_restored *r, int merge);

/* Can a block or grant have lapsed since the last snapshot (or is a change
 * not in one yet)? Then sweep_blocks is worth its walk of every table.
 * `now`: CLOCK_MONOTONIC ns. Returns 1 or 0. */
int sweep_due(struct agent *a, uint64_t now);

/* Remove lapsed blocks the kernel's timers did not (manual ones, restored
 * ones); logs each. */
void sweep_blocks(struct agent *a);

/* Remove lapsed grants at `now` (CLOCK_MONOTONIC ns); logs each. */
void sweep_grants(struct agent *a, uint64_t now);

/* Remove the STARTTLS guard's flows whose connection is gone
 * (ig_tls_sweep), under the pin lock (busy: the next call); logs what it
 * removed, and a failure when it first happens. */
void sweep_tls_flows(struct agent *a);

/* Report a block/expiry decided by anyone: log it, count it, and repeat it
 * to `imapguard events` (`o` is the event's JSON, put by the call). */
void agent_publish(struct agent *a, const struct ig_event *ev, json_object *o);

/* Start the auth-policy server (Dovecot's auth_policy_server_url) and the
 * grants API on [agent] policy_listen. Returns 0, or -errno (the listener
 * cannot bind, a policy_clients user does not exist: -ENOENT). */
int authpolicy_start(struct agent *a);

/*
 * The policy listener's connections (conns.c): admission by the owner of a
 * local peer socket ([agent] policy_clients) and hard deadlines, enforced
 * by a watchdog thread. conns_start resolves policy_clients (-ENOENT for a
 * user that does not exist) and starts the watchdog for `cap` connections;
 * conns_notify is libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback
 * (cls: the agent); conns_head marks a request's head received, and
 * conns_answered its answer sent. conns_stop after the daemon is stopped.
 */
int conns_start(struct agent *a, int cap);
void conns_stop(struct agent *a);
void conns_notify(void *cls, struct MHD_Connection *mc, void **ctx,
		  enum MHD_ConnectionNotificationCode code);
void conns_head(struct agent *a, struct MHD_Connection *mc);
void conns_answered(struct agent *a, struct MHD_Connection *mc);
/* Stop the auth-policy server; waits for its threads. */
void authpolicy_stop(struct agent *a);

/*
 * [auth] plaintext_block: count the plaintext login the STARTTLS guard
 * refused (EV, an IG_EV_PLAINTEXT_AUTH event of reason command with an
 * authentication verb: LOGIN, AUTHENTICATE, USER, PASS, APOP, AUTH; not
 * of monitor mode) as one
 * failed login of its source prefix and the user it named, and block the
 * source as a failed login would (fail_burst, spray_users). Does nothing
 * when the auth policy is off or the key is no.
 */
void authpolicy_plaintext(struct agent *a, const struct ig_event *ev);

/* Answer a /v1/grants request (grantsapi.c); returns libmicrohttpd's
 * MHD_YES/MHD_NO. */
int grants_request(struct agent *a, struct MHD_Connection *c, const char *url,
		   const char *method, const char *body, size_t len);
/* Answer an HTTP error `code` with a JSON body {"error": msg} and count it
 * in imapguard_policy_request_errors_total; returns MHD_YES/MHD_NO. */
int authpolicy_fail(struct agent *a, struct MHD_Connection *c, unsigned int code, const char *msg);
int authpolicy_not_allowed(struct agent *a, struct MHD_Connection *c, const char *allow);

int fanout_open(struct agent *a);
void fanout_accept(struct agent *a);
void fanout_send(struct agent *a, const char *line);
void fanout_close(struct agent *a);

#endif
