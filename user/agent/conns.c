// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who may hold a connection to the policy listener, and for how long.
 *
 * Dovecot's auth process and a local attacker both connect from 127.0.0.1,
 * so no per-address limit can keep capacity for Dovecot: 256 local
 * connections dribbling a byte every few seconds once held every slot, and
 * Dovecot, unanswered, let every login through (its default
 * auth_policy_reject_on_fail = no). Two rules close that:
 *
 *  - Admission by owner. A peer that is a socket of this host is looked up
 *    in the kernel's socket table (sock_diag, the TCP equivalent of
 *    SO_PEERCRED), and unless its owner is one of [agent] policy_clients
 *    (default root and dovecot, the user of Dovecot's auth process) it is
 *    hung up on before a byte is read. Chosen over nftables `meta skuid`
 *    (a rule in the host's ruleset that a firewall reload removes) and over
 *    a listener per client (Dovecot cannot be told to use another). A peer
 *    on another host (a listener beyond loopback) has no local owner and
 *    is admitted on its API key alone. A lookup that fails for another
 *    reason refuses the connection: the check fails closed.
 *
 *  - Hard deadlines. libmicrohttpd offers only an idle timeout, which one
 *    byte every few seconds resets. Here every connection has a deadline:
 *    CONN_HEAD_NS from its accept, or from the end of its previous request,
 *    to the end of the next request's head (a keep-alive connection idle
 *    between requests waits for a head too, so it is bounded the same way),
 *    then CONN_REQUEST_NS from the head to the answer. Under pressure (3/4
 *    of the slots taken) a connection waiting for a head gets CONN_PRESSURE_NS
 *    instead, so idle ones go first. A watchdog thread shuts down the
 *    socket of a connection past its deadline through a dup of its
 *    descriptor, so a number that libmicrohttpd closed and the kernel
 *    reused is never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "duration.h"
#include "sessions.h"

#define CONN_HEAD_NS (5 * IG_NSEC_PER_SEC)
#define CONN_REQUEST_NS (3 * IG_NSEC_PER_SEC)
#define CONN_PRESSURE_NS (IG_NSEC_PER_SEC / 4)
#define CONN_TICK_NS (IG_NSEC_PER_SEC / 10)

struct conn {
	int fd;		 /* our dup of the socket; -1: slot free */
	int in_request;	 /* the head arrived, the answer is not sent yet */
	int shut;	 /* past its deadline and shut down: waiting for CLOSED */
	uint64_t since;	 /* CLOCK_MONOTONIC: accept, head, or previous answer */
};

struct conns {
	pthread_mutex_t lock;
	pthread_t watchdog;
	int stop;
	int n, cap;
	struct conn *v;
	uint32_t uids[IG_MAX_POLICY_CLIENTS];
	int nuids;
};

static int owner_allowed(const struct conns *t, uint32_t uid)
{
	for (int i = 0; i < t->nuids; i++)
		if (t->uids[i] == uid)
			return 1;
	return 0;
}

static uint64_t deadline(const struct conns *t, const struct conn *c)
{
	if (c->in_request)
		return c->since + CONN_REQUEST_NS;
	return c->since + (t->n * 4 >= t->cap * 3 ? CONN_PRESSURE_NS : CONN_HEAD_NS);
}

static void *watchdog(void *arg)
{
	struct agent *a = arg;
	struct conns *t = a->conns;
	const struct timespec tick = { 0, (long)CONN_TICK_NS };

	for (;;) {
		uint64_t now = ig_mono_ns();

		pthread_mutex_lock(&t->lock);
		if (t->stop) {
			pthread_mutex_unlock(&t->lock);
			return NULL;
		}
		for (int i = 0; i < t->cap; i++) {
			struct conn *c = &t->v[i];

			if (c->fd < 0 || c->shut || now < deadline(t, c))
				continue;
			/* libmicrohttpd sees the end of the stream and closes
			 * the connection; the slot goes at its CLOSED notice */
			shutdown(c->fd, SHUT_RDWR);
			c->shut = 1;
			__atomic_fetch_add(&a->auth_stats.conn_deadline, 1, __ATOMIC_RELAXED);
		}
		pthread_mutex_unlock(&t->lock);
		nanosleep(&tick, NULL);
	}
}

/* Admit or refuse a new connection; on admission its slot goes in *ctx. */
static void conn_started(struct agent *a, struct MHD_Connection *mc, void **ctx)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct conns *t = a->conns;
	uint32_t uid;
	int fd, rc, slot = -1;

	*ctx = NULL;
	if (!ci)
		return;
	fd = ci->connect_fd;
	rc = ig_sock_peer_uid(fd, &uid);
	if ((rc == 0 && !owner_allowed(t, uid)) || (rc && rc != -ENOENT)) {
		__atomic_fetch_add(&a->auth_stats.conn_refused, 1, __ATOMIC_RELAXED);
		if (rc)
			jlogf("error", "policy_conn", "cannot tell who owns a connecting socket "
			      "(%s): refused", strerror(-rc));
		shutdown(fd, SHUT_RDWR);
		return;
	}
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->cap && slot < 0; i++)
		if (t->v[i].fd < 0)
			slot = i;
	if (slot >= 0) {
		t->v[slot].fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		t->v[slot].in_request = 0;
		t->v[slot].shut = 0;
		t->v[slot].since = ig_mono_ns();
		if (t->v[slot].fd >= 0) {
			t->n++;
			*ctx = &t->v[slot];
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (!*ctx) /* no slot or no descriptor: an untimed connection is refused */
		shutdown(fd, SHUT_RDWR);
}

void conns_notify(void *cls, struct MHD_Connection *mc, void **ctx,
		  enum MHD_ConnectionNotificationCode code)
{
	struct agent *a = cls;
	struct conns *t = a->conns;
	struct conn *c = *ctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_started(a, mc, ctx);
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&t->lock);
	close(c->fd);
	c->fd = -1;
	t->n--;
	pthread_mutex_unlock(&t->lock);
	*ctx = NULL;
}

/* The connection's slot, from the context conns_notify gave it. */
static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void conn_phase(struct agent *a, struct MHD_Connection *mc, int in_request)
{
	struct conn *c = conn_of(mc);

	if (!c)
		return;
	pthread_mutex_lock(&a->conns->lock);
	if (c->fd >= 0 && !c->shut) {
		c->in_request = in_request;
		c->since = ig_mono_ns();
	}
	pthread_mutex_unlock(&a->conns->lock);
}

void conns_head(struct agent *a, struct MHD_Connection *mc)
{
	conn_phase(a, mc, 1);
}

void conns_answered(struct agent *a, struct MHD_Connection *mc)
{
	conn_phase(a, mc, 0);
}

/* The uids of policy_clients; a name that is no user is an error. */
static int resolve(struct conns *t, const struct ig_agent_conf *conf)
{
	t->nuids = 0;
	for (int i = 0; i < conf->n_policy_clients && i < IG_MAX_POLICY_CLIENTS; i++) {
		const char *n = conf->policy_clients[i];
		char *end;
		unsigned long u = strtoul(n, &end, 10);
		struct passwd *pw;

		if (*n && !*end && u <= UINT32_MAX) {
			t->uids[t->nuids++] = (uint32_t)u;
			continue;
		}
		pw = getpwnam(n);
		if (!pw) {
			/* the default names a user a host may lack */
			if (!strcmp(n, "dovecot"))
				continue;
			jlogf("error", "policy_conn", "[agent] policy_clients: no user '%s'", n);
			return -ENOENT;
		}
		t->uids[t->nuids++] = pw->pw_uid;
	}
	return 0;
}

int conns_start(struct agent *a, int cap)
{
	struct conns *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->v = calloc((size_t)cap, sizeof(*t->v));
	if (!t->v) {
		free(t);
		return -ENOMEM;
	}
	t->cap = cap;
	for (int i = 0; i < cap; i++)
		t->v[i].fd = -1;
	err = resolve(t, &a->pol.agent);
	if (!err) {
		pthread_mutex_init(&t->lock, NULL);
		a->conns = t;
		err = -pthread_create(&t->watchdog, NULL, watchdog, a);
		if (err)
			pthread_mutex_destroy(&t->lock);
	}
	if (err) {
		a->conns = NULL;
		free(t->v);
		free(t);
	}
	return err;
}

void conns_stop(struct agent *a)
{
	struct conns *t = a->conns;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->watchdog, NULL);
	for (int i = 0; i < t->cap; i++)
		if (t->v[i].fd >= 0)
			close(t->v[i].fd);
	pthread_mutex_destroy(&t->lock);
	free(t->v);
	free(t);
	a->conns = NULL;
}
