// SPDX-License-Identifier: GPL-2.0-only
/*
 * imapguardd as a CrowdSec watcher. Every auto and auth block (the
 * `push` key picks the origins) becomes one line of a queue file in
 * state_dir, appended and fsynced before the block's report goes on; a
 * thread of its own logs in (POST /v1/watchers/login: a JWT, renewed
 * before its `expire` and after any 401) and delivers the queue in order
 * (POST /v1/alerts, one alert each), rewriting the file without what was
 * delivered. Failures back off exponentially, capped, with jitter, and the
 * queue waits; an alert the LAPI refuses (its validation errors come as
 * HTTP 500) is logged with the LAPI's words and dropped, never retried.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "blocks.h"
#include "csalert.h"
#include "events.h"
#include "fleet_push.h"
#include "worker.h"

#define CONNECT_TIMEOUT_MS 5000L
#define TRANSFER_TIMEOUT_S 30L
#define ANSWER_MAX 65536	     /* an answer longer than this is cut off */
#define BACKOFF_BASE_NS 1000000000ull
#define BACKOFF_MAX_NS (300ull * 1000000000ull)
#define RENEW_BEFORE_S 300	     /* log in again this long before the JWT expires */
#define TOKEN_MAX 2048

const char *const push_result_names[PUSH_NR_RESULTS] = { "delivered", "rejected", "expired",
							  "dropped", "retried" };

struct fleet_push {
	struct agent *a;
	struct worker w; /* its lock guards all below */
	char path[PATH_MAX];  /* the queue file */
	struct ig_cs_push_item q[FLEET_PUSH_QUEUE_MAX]; /* a ring, oldest at head */
	size_t head, n;
	uint64_t taken;	      /* heads taken off (sent, refused, dropped): a head's identity */
	struct fleet_push_status st;
	int write_warned;
};

/* The thread's own: the JWT and when it ends (wall clock). */
struct session {
	char token[TOKEN_MAX];
	time_t expire;
};

struct answer {
	char buf[ANSWER_MAX];
	size_t len;
};

/* The queue file rewritten from memory: a temp file, fsynced, renamed.
 * Under fp->w.lock. 0 or -errno. */
static int rewrite(struct fleet_push *fp)
{
	char tmp[PATH_MAX + 8], line[IG_CS_PUSH_LINE_MAX];
	int fd, n, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", fp->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < fp->n && !err; i++) {
		n = ig_cs_push_line(&fp->q[(fp->head + i) % FLEET_PUSH_QUEUE_MAX], line,
				    sizeof(line));
		if (n > 0 && write(fd, line, (size_t)n) != n)
			err = -errno;
	}
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, fp->path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Append one line, fsynced. Under fp->w.lock. 0 or -errno. */
static int append(struct fleet_push *fp, const struct ig_cs_push_item *it)
{
	char line[IG_CS_PUSH_LINE_MAX];
	int fd, n, err = 0;

	n = ig_cs_push_line(it, line, sizeof(line));
	if (n < 0)
		return n;
	fd = open(fp->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

static void file_failed(struct fleet_push *fp, const char *what, int err)
{
	if (!fp->write_warned++)
		jlogf("error", "fleet_push_queue", "cannot %s %s: %s; queued alerts are in "
		      "memory only and are lost if the agent stops", what, fp->path,
		      strerror(-err));
}

/* Take the oldest off the queue and the file. Under fp->w.lock. */
static void pop(struct fleet_push *fp, enum push_result why)
{
	int err;

	fp->head = (fp->head + 1) % FLEET_PUSH_QUEUE_MAX;
	fp->n--;
	fp->taken++;
	fp->st.results[why]++;
	fp->st.queued = fp->n;
	err = rewrite(fp);
	if (err)
		file_failed(fp, "rewrite", err);
}

void fleet_push_block(struct agent *a, const struct ig_event *ev)
{
	struct fleet_push *fp = a->push;
	struct ig_cs_push_item it = {
		.prefix = { .family = ev->family, .len = ev->prefixlen },
		.reason = ev->reason,
		.count = ev->count,
		.created_unix = (int64_t)ig_mono_to_unix(ev->created_ns),
		.expires_unix = (int64_t)ig_mono_to_unix(ev->expires_ns),
	};
	char p[IG_PREFIX_STRLEN];
	uint32_t push;
	int err;

	if (!fp || ev->type != IG_EV_BLOCK || ev->origin >= IG_NR_ORIGINS)
		return;
	pthread_mutex_lock(&a->lock);
	push = a->pol.crowdsec.push;
	pthread_mutex_unlock(&a->lock);
	if (!(push & (1u << ev->origin)))
		return;
	memcpy(it.prefix.addr, ev->addr, sizeof(it.prefix.addr));
	if (!ev->expires_ns) /* permanent: the longest a decision should last, a year */
		it.expires_unix = (int64_t)time(NULL) + 365LL * 86400;
	pthread_mutex_lock(&fp->w.lock);
	if (fp->n == FLEET_PUSH_QUEUE_MAX) {
		struct ig_cs_push_item *old = &fp->q[fp->head];

		jlogf("warning", "fleet_push_dropped", "the push queue is full (%d alerts): "
		      "the oldest, %s, is dropped unsent", FLEET_PUSH_QUEUE_MAX,
		      ig_prefix_str(&old->prefix, p));
		fp->head = (fp->head + 1) % FLEET_PUSH_QUEUE_MAX;
		fp->n--;
		fp->taken++;
		fp->st.results[PUSH_DROPPED]++;
		err = rewrite(fp);
		if (err)
			file_failed(fp, "rewrite", err);
	}
	fp->q[(fp->head + fp->n) % FLEET_PUSH_QUEUE_MAX] = it;
	fp->n++;
	fp->st.queued = fp->n;
	err = append(fp, &it);
	if (err)
		file_failed(fp, "append to", err);
	pthread_cond_signal(&fp->w.wake);
	pthread_mutex_unlock(&fp->w.lock);
}

/* The queue a previous run left: lines that are not ours are dropped and
 * logged; past FLEET_PUSH_QUEUE_MAX the oldest go. */
static void load(struct fleet_push *fp)
{
	char line[1024];
	size_t bad = 0, over = 0;
	FILE *f = fopen(fp->path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct ig_cs_push_item it;

		if (ig_cs_push_parse(line, &it)) {
			bad++;
			continue;
		}
		if (fp->n == FLEET_PUSH_QUEUE_MAX) {
			fp->head = (fp->head + 1) % FLEET_PUSH_QUEUE_MAX;
			fp->n--;
			over++;
		}
		fp->q[(fp->head + fp->n) % FLEET_PUSH_QUEUE_MAX] = it;
		fp->n++;
	}
	fclose(f);
	fp->st.queued = fp->n;
	fp->st.results[PUSH_DROPPED] += over;
	if (bad || over) {
		jlogf("warning", "fleet_push_queue", "%s: %zu line(s) not an alert of ours and "
		      "%zu past the %d kept were dropped", fp->path, bad, over,
		      FLEET_PUSH_QUEUE_MAX);
		rewrite(fp);
	}
	if (fp->n)
		jlogf("info", "fleet_push_queue", "%zu alert(s) left from the last run to push",
		      fp->n);
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct answer *r = arg;
	size_t take = size * n;

	if (take > sizeof(r->buf) - 1 - r->len)
		take = sizeof(r->buf) - 1 - r->len; /* the rest is not read, only counted */
	memcpy(r->buf + r->len, buf, take);
	r->len += take;
	r->buf[r->len] = 0;
	return size * n;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct fleet_push *fp = arg;
	int stop;

	(void)dt, (void)dn, (void)ut, (void)un;
	pthread_mutex_lock(&fp->w.lock);
	stop = fp->w.stop;
	pthread_mutex_unlock(&fp->w.lock);
	return stop;
}

/* POST body (JSON) to lapi_url + path, with `bearer` when not NULL.
 * Returns the HTTP status (the answer in r), or -1 with curl's words in
 * why when the LAPI was not reached. */
static long post(struct fleet_push *fp, const struct ig_crowdsec_conf *c, const char *path,
		 const char *bearer, const char *body, struct answer *r, char *why, size_t wl)
{
	char url[1024], auth[TOKEN_MAX + 32];
	size_t ul = strlen(c->lapi_url);
	struct curl_slist *h = NULL, *h2;
	CURL *e = curl_easy_init();
	long status = 0;
	CURLcode cc;

	r->len = 0;
	r->buf[0] = 0;
	h2 = curl_slist_append(h, "Content-Type: application/json");
	if (h2 && bearer) {
		h = h2;
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h2 = curl_slist_append(h, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	if (!e || !h2) {
		curl_slist_free_all(h2 ? h2 : h);
		if (e)
			curl_easy_cleanup(e);
		snprintf(why, wl, "out of memory");
		return -1;
	}
	h = h2;
	snprintf(url, sizeof(url), "%s%s%s", c->lapi_url,
		 ul && c->lapi_url[ul - 1] == '/' ? "" : "/", path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "imapguard/" IG_VERSION);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, TRANSFER_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, fp);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	if (c->ca_file[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file[0]) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	}
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		snprintf(why, wl, "%s", curl_easy_strerror(cc));
		return -1;
	}
	return status;
}

/* "2026-11-30T16:50:00Z" (what the LAPI's login answers) as Unix time;
 * 0 when it is not that. */
static time_t parse_expire(const char *s)
{
	struct tm tm = {};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	return end ? timegm(&tm) : 0;
}

/* Log in as machine_id: 0 with a token in s, or -1 with why. */
static int login(struct fleet_push *fp, const struct ig_crowdsec_conf *c, struct session *s,
		 char *why, size_t wl)
{
	static const int reasons[] = { IG_BR_BURST, IG_BR_AUTH_FAILURES, IG_BR_SPRAY };
	json_object *o = json_object_new_object(), *sc = json_object_new_array(), *ans, *v;
	struct answer *r = malloc(sizeof(*r));
	char scen[64];
	long status;
	int ok = 0;

	if (!o || !sc || !r) {
		json_object_put(o), json_object_put(sc), free(r);
		snprintf(why, wl, "out of memory");
		return -1;
	}
	json_object_object_add(o, "machine_id", json_object_new_string(c->machine_id));
	json_object_object_add(o, "password", json_object_new_string(c->password));
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		ig_cs_push_scenario(reasons[i], scen, sizeof(scen));
		json_object_array_add(sc, json_object_new_string(scen));
	}
	json_object_object_add(o, "scenarios", sc);
	status = post(fp, c, "v1/watchers/login", NULL, json_object_to_json_string(o), r, why,
		      wl);
	/* the password is in the body's text: scrub it before it is freed */
	{
		const char *txt = json_object_get_string(o);

		explicit_bzero((char *)txt, strlen(txt));
	}
	json_object_put(o);
	if (status < 0) {
		free(r);
		return -1;
	}
	ans = status == 200 ? json_tokener_parse(r->buf) : NULL;
	if (ans && json_object_object_get_ex(ans, "token", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) < (int)sizeof(s->token)) {
		snprintf(s->token, sizeof(s->token), "%s", json_object_get_string(v));
		s->expire = json_object_object_get_ex(ans, "expire", &v) ?
			    parse_expire(json_object_get_string(v)) : 0;
		if (!s->expire) /* not told: assume the shortest we would keep it */
			s->expire = time(NULL) + (time_t)2 * RENEW_BEFORE_S;
		ok = 1;
	} else {
		snprintf(why, wl, "login as %s refused: HTTP %ld %.200s", c->machine_id, status,
			 r->buf);
	}
	json_object_put(ans);
	free(r);
	return ok ? 0 : -1;
}

/* What one try of the oldest alert came to. */
enum outcome { SENT, DROP_REJECTED, DROP_EXPIRED, RETRY };

static enum outcome deliver(struct fleet_push *fp, const struct ig_crowdsec_conf *c,
			    struct session *s, const struct ig_cs_push_item *it, char *why,
			    size_t wl)
{
	char p[IG_PREFIX_STRLEN];
	struct answer *r;
	json_object *body;
	long status = 401;
	int err;

	body = ig_cs_alert(it, (int64_t)time(NULL), &err);
	if (!body) {
		snprintf(why, wl, "%s", strerror(-err));
		return err == -ETIME ? DROP_EXPIRED : RETRY;
	}
	r = malloc(sizeof(*r));
	/* a JWT about to end, or refused (401): one login, one more try */
	for (int tries = 0; r && status == 401 && tries < 2; tries++) {
		if ((!s->token[0] || time(NULL) + RENEW_BEFORE_S >= s->expire) &&
		    login(fp, c, s, why, wl)) {
			status = -1;
			break;
		}
		status = post(fp, c, "v1/alerts", s->token,
			      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), r,
			      why, wl);
		if (status == 401)
			s->token[0] = 0;
	}
	json_object_put(body);
	if (!r) {
		snprintf(why, wl, "out of memory");
		return RETRY;
	}
	ig_prefix_str(&it->prefix, p);
	if (status == 200 || status == 201) {
		free(r);
		return SENT;
	}
	if (status == 500 || status == 400 || status == 422) {
		/* the LAPI's validation errors (1.4.6 answers them 500): the
		 * same alert would fail the same way forever. Any other status
		 * (404 of a wrong lapi_url, 403, 502...) is the LAPI's or the
		 * setup's, not the alert's: it waits and is tried again. */
		jlogf("error", "fleet_push_rejected", "%s refused the alert for %s (HTTP %ld): "
		      "%.1000s; dropped, not retried", c->lapi_url, p, status, r->buf);
		free(r);
		return DROP_REJECTED;
	}
	if (status >= 0)
		snprintf(why, wl, "HTTP %ld %.200s", status, r->buf);
	free(r);
	return RETRY;
}

/* The wait after `failures` failures in a row: 1 s doubled per failure,
 * capped at 5 min, then a random point in its upper half, so the hosts of
 * a fleet do not all come back to a recovered LAPI at once. */
static uint64_t backoff_ns(unsigned int failures, unsigned int *seed)
{
	uint64_t d = BACKOFF_BASE_NS;

	for (unsigned int i = 1; i < failures && d < BACKOFF_MAX_NS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_NS)
		d = BACKOFF_MAX_NS;
	return d / 2 + (uint64_t)rand_r(seed) % (d / 2 + 1);
}

/* Wait, under fp->w.lock, until stopped, woken with work, or ns passed
 * (0: no limit). */
static void wait_locked(struct fleet_push *fp, uint64_t ns)
{
	if (!ns) {
		while (!fp->w.stop && !fp->n)
			pthread_cond_wait(&fp->w.wake, &fp->w.lock);
		return;
	}
	worker_wait_locked(&fp->w, ns);
}

static void *push_thread(void *arg)
{
	struct fleet_push *fp = arg;
	unsigned int failures = 0, seed = (unsigned int)ig_mono_ns() ^ 0x5a5a5a5au;
	struct session *s = calloc(1, sizeof(*s));
	struct ig_crowdsec_conf c;
	struct ig_cs_push_item it;
	char why[512], p[IG_PREFIX_STRLEN];
	enum outcome o;
	uint64_t taken;

	pthread_mutex_lock(&fp->w.lock);
	while (s && !fp->w.stop) {
		if (failures)
			wait_locked(fp, backoff_ns(failures, &seed));
		else
			wait_locked(fp, 0);
		if (fp->w.stop || !fp->n)
			continue;
		it = fp->q[fp->head];
		taken = fp->taken;
		pthread_mutex_unlock(&fp->w.lock);

		pthread_mutex_lock(&fp->a->lock);
		c = fp->a->pol.crowdsec;
		pthread_mutex_unlock(&fp->a->lock);
		explicit_bzero(c.bouncer_key, sizeof(c.bouncer_key));
		why[0] = 0;
		o = c.machine_id[0] ? deliver(fp, &c, s, &it, why, sizeof(why)) : RETRY;
		if (!c.machine_id[0])
			snprintf(why, sizeof(why), "no machine_id in the policy in force");
		explicit_bzero(c.password, sizeof(c.password));

		pthread_mutex_lock(&fp->w.lock);
		fp->st.logged_in = !!s->token[0];
		if (o == RETRY) {
			fp->st.results[PUSH_RETRIED]++;
			snprintf(fp->st.last_error, sizeof(fp->st.last_error), "%s", why);
			jlogf(failures ? "warning" : "error", "fleet_push_failed",
			      "%s: %s; %zu alert(s) wait, in order", c.lapi_url, why, fp->n);
			failures++;
			continue;
		}
		if (failures)
			jlogf("info", "fleet_push", "%s takes alerts again after %u failure(s)",
			      c.lapi_url, failures);
		failures = 0;
		fp->st.last_error[0] = 0;
		if (o == DROP_EXPIRED)
			jlogf("info", "fleet_push_expired", "the block on %s ended before its "
			      "alert could be sent: dropped", ig_prefix_str(&it.prefix, p));
		else if (o == SENT)
			jlogf("info", "fleet_push", "alert for %s (%s) delivered to %s",
			      ig_prefix_str(&it.prefix, p), ig_block_reason_name(it.reason),
			      c.lapi_url);
		/* the head is still `it` unless a full queue dropped it meanwhile */
		if (fp->taken == taken)
			pop(fp, o == SENT ? PUSH_DELIVERED :
				o == DROP_REJECTED ? PUSH_REJECTED : PUSH_EXPIRED);
		else
			fp->st.results[o == SENT ? PUSH_DELIVERED :
				       o == DROP_REJECTED ? PUSH_REJECTED : PUSH_EXPIRED]++;
	}
	pthread_mutex_unlock(&fp->w.lock);
	if (s)
		explicit_bzero(s, sizeof(*s));
	free(s);
	return NULL;
}

int fleet_push_start(struct agent *a)
{
	struct fleet_push *fp;
	int err;

	if (!a->pol.crowdsec.enabled || !a->pol.crowdsec.machine_id[0])
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	fp->a = a;
	snprintf(fp->path, sizeof(fp->path), "%s/" FLEET_PUSH_QUEUE_FILE,
		 a->pol.agent.state_dir);
	load(fp);
	err = worker_start(&fp->w, push_thread, fp);
	if (err) {
		free(fp);
		curl_global_cleanup();
		return err;
	}
	a->push = fp;
	jlogf("info", "fleet", "pushing %s blocks to %s as %s",
	      a->pol.crowdsec.push ? "our" : "no", a->pol.crowdsec.lapi_url,
	      a->pol.crowdsec.machine_id);
	return 0;
}

void fleet_push_stop(struct agent *a)
{
	struct fleet_push *fp = a->push;

	if (!fp)
		return;
	worker_stop(&fp->w);
	a->push = NULL;
	free(fp);
	curl_global_cleanup();
}

int fleet_push_status(struct agent *a, struct fleet_push_status *out)
{
	struct fleet_push *fp = a->push;

	if (!fp)
		return -ENOENT;
	pthread_mutex_lock(&fp->w.lock);
	*out = fp->st;
	pthread_mutex_unlock(&fp->w.lock);
	return 0;
}
