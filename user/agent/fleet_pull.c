// SPDX-License-Identifier: GPL-2.0-only
/*
 * imapguardd as a CrowdSec bouncer: a thread of its own pulls
 * GET /v1/decisions/stream from the Local API every pull_interval with
 * libcurl, parses the answer as it arrives (csdecision.c) and applies it
 * in one pass (fleet.c) under the pins' lock; then it wakes the main loop
 * (agent_sync_soon), whose nftables sync mirrors the change in one
 * transaction at once rather than at its next tick.
 *
 * The first pull, and the first after any failure, asks for the whole set
 * (startup=true): a failed or refused answer may have lost a delta, since
 * the LAPI counts an answer as delivered once it has sent it. Failures
 * back off exponentially, capped, with jitter; local enforcement and the
 * fleet blocks already applied are never touched by a failure.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "csdecision.h"
#include "fleet.h"
#include "fleetheld.h"
#include "fleet_pull.h"
#include "fleet_push.h"
#include "worker.h"

#define CONNECT_TIMEOUT_MS 5000L
#define TRANSFER_TIMEOUT_S 120L	 /* a 256 MiB answer at 2+ MiB/s */
/* A LAPI that hangs is abandoned; one that thinks first is not. CrowdSec
 * 1.4.6 builds the whole answer before its first byte: 10 s for a
 * startup of 100,000 decisions on a loaded machine (make bench). So the
 * first byte may take FIRST_BYTE_NS; from then on, a window of
 * LOW_SPEED_NS that brings fewer than LOW_SPEED_BYTES ends it. */
#define FIRST_BYTE_NS (60ull * 1000000000ull)
#define LOW_SPEED_NS (10ull * 1000000000ull)
#define LOW_SPEED_BYTES 10240 /* 1 KiB/s over the window */
#define BACKOFF_MAX_NS (300ull * 1000000000ull)
#define LOG_SKIPS_MAX 10 /* refused decisions logged one by one per answer */

struct fleet_pull {
	struct agent *a;
	struct worker w; /* its lock also guards the fields read by metrics/status */
	int started;
	struct ig_fleet held; /* the pull thread's own */
	/* for metrics and status (under lock) */
	struct fleet_status st;
};

/* What one transfer needs: the answer being parsed and why it stopped. */
struct transfer {
	struct fleet_pull *fp;
	struct ig_cs_answer ans;
	int parse_rc;
	curl_off_t answer_us; /* from the request to the answer's end */
	/* the pace check (on_progress): the window's start and bytes then */
	uint64_t win_ns;
	curl_off_t win_bytes;
	int slow; /* 1: no first byte in time, 2: too slow after it */
};

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;

	t->parse_rc = ig_cs_answer_feed(&t->ans, buf, size * n);
	return t->parse_rc ? 0 : size * n; /* 0: curl aborts the transfer */
}

/* curl's progress callback, called at least once a second: a stopping
 * agent aborts the transfer at once, and so does a LAPI that hangs (see
 * FIRST_BYTE_NS). */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct transfer *t = arg;
	uint64_t now = ig_mono_ns();
	int stop;

	(void)dt, (void)ut, (void)un;
	pthread_mutex_lock(&t->fp->w.lock);
	stop = t->fp->w.stop;
	pthread_mutex_unlock(&t->fp->w.lock);
	if (stop)
		return 1;
	if (t->win_bytes == 0 && dn == 0) { /* still waiting for the first byte */
		if (now - t->win_ns >= FIRST_BYTE_NS)
			t->slow = 1;
		return t->slow;
	}
	if (t->win_bytes == 0) { /* the first bytes: the pace counts from here */
		t->win_ns = now;
		t->win_bytes = dn;
	} else if (now - t->win_ns >= LOW_SPEED_NS) {
		if (dn - t->win_bytes < LOW_SPEED_BYTES)
			t->slow = 2;
		t->win_ns = now;
		t->win_bytes = dn;
	}
	return t->slow;
}

/* The stream's URL: lapi_url, the path, startup, scopes and origins. */
static void stream_url(const struct ig_crowdsec_conf *c, int startup, char *buf, size_t len)
{
	size_t ul = strlen(c->lapi_url);

	snprintf(buf, len, "%s%sv1/decisions/stream?startup=%s&scopes=%s%s%s", c->lapi_url,
		 ul && c->lapi_url[ul - 1] == '/' ? "" : "/", startup ? "true" : "false",
		 (c->scopes & (IG_CS_SCOPE_IP | IG_CS_SCOPE_RANGE)) ==
				 (IG_CS_SCOPE_IP | IG_CS_SCOPE_RANGE) ? "ip,range" :
		 c->scopes & IG_CS_SCOPE_RANGE ? "range" : "ip",
		 c->origins[0] ? "&origins=" : "", c->origins);
}

/* One GET; 0 with the parsed answer in t->ans, or -errno with why in
 * `why` (not reached, HTTP status, refused answer). */
static int pull_once(struct fleet_pull *fp, const struct ig_crowdsec_conf *c, int startup,
		     struct transfer *t, char *why, size_t whylen)
{
	struct ig_cs_limits lim = {
		.max_bytes = IG_CS_MAX_ANSWER_BYTES,
		.scopes = c->scopes,
		.min_prefix_v4 = c->min_prefix_v4,
		.min_prefix_v6 = c->min_prefix_v6,
	};
	char url[1024], key_hdr[IG_SECRET_MAX + 16];
	struct curl_slist *hdrs = NULL, *h2;
	CURLcode cc;
	long status = 0;
	CURL *e;
	int rc;

	pthread_mutex_lock(&fp->a->lock);
	lim.max_decisions = fp->a->pol.max_sources;
	pthread_mutex_unlock(&fp->a->lock);
	t->fp = fp;
	t->parse_rc = 0;
	t->answer_us = 0;
	t->win_ns = ig_mono_ns();
	t->win_bytes = 0;
	t->slow = 0;
	if (ig_cs_answer_init(&t->ans, &lim)) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	e = curl_easy_init();
	snprintf(key_hdr, sizeof(key_hdr), "X-Api-Key: %s", c->bouncer_key);
	h2 = curl_slist_append(hdrs, key_hdr);
	explicit_bzero(key_hdr, sizeof(key_hdr));
	if (!e || !h2) {
		curl_slist_free_all(h2);
		if (e)
			curl_easy_cleanup(e);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	hdrs = h2;
	stream_url(c, startup, url, sizeof(url));
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "imapguard/" IG_VERSION);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, TRANSFER_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when the LAPI offers it */
	if (c->ca_file[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file[0]) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	}
	/* the body is parsed only when the status says it is the stream:
	 * an error page is not a refused answer, it is an error */
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t->answer_us);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	if (t->parse_rc && status == 200) {
		snprintf(why, whylen, "answer refused: %s", t->ans.err);
		return t->parse_rc;
	}
	if (t->slow == 1) {
		snprintf(why, whylen, "Timeout: no answer within %llu s",
			 (unsigned long long)(FIRST_BYTE_NS / 1000000000ull));
		return -ETIMEDOUT;
	}
	if (t->slow) {
		snprintf(why, whylen, "the answer came too slow (under %d bytes in %llu s): abandoned",
			 LOW_SPEED_BYTES, (unsigned long long)(LOW_SPEED_NS / 1000000000ull));
		return -ETIMEDOUT;
	}
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && status != 200)) {
		snprintf(why, whylen, "%s", curl_easy_strerror(cc));
		return -EIO;
	}
	if (status != 200) {
		snprintf(why, whylen, "HTTP %ld%s", status,
			 status == 403 ? " (the bouncer key was refused)" : "");
		return -EPROTO;
	}
	rc = ig_cs_answer_end(&t->ans);
	if (rc)
		snprintf(why, whylen, "answer refused: %s", t->ans.err);
	return rc;
}

/* The skipped decisions of an answer, logged as one line each kind. */
static void log_skips(const struct ig_cs_answer *ans)
{
	for (int s = 0; s < IG_CS_NR_SKIPS; s++) {
		if (!ans->skipped[s])
			continue;
		jlogf(s == IG_CS_SKIP_FLOOR || s == IG_CS_SKIP_TOO_LONG ? "warning" : "info",
		      "fleet_skipped", "%llu decision(s) not enforced: %s",
		      (unsigned long long)ans->skipped[s],
		      s == IG_CS_SKIP_TYPE ? "a type other than ban" :
		      s == IG_CS_SKIP_SCOPE ? "a scope other than Ip or Range, or not in scopes" :
		      s == IG_CS_SKIP_FLOOR ? "a range shorter than min_prefix_v4/min_prefix_v6 "
					      "(it would block too much)" :
		      s == IG_CS_SKIP_EXPIRED ? "already expired" :
					      "longer than a year (a LAPI that lies)");
	}
	if (ans->unsafe_scenarios)
		jlogf("warning", "fleet_scenario", "%llu scenario name(s) were not valid UTF-8 "
		      "text or held control characters: kept in a safe form",
		      (unsigned long long)ans->unsafe_scenarios);
}

/* Apply a parsed answer under the pins' lock; counted and logged. */
static int apply(struct fleet_pull *fp, struct transfer *t, int startup)
{
	struct ig_cs_answer *ans = &t->ans;
	struct agent *a = fp->a;
	struct ig_fleet_report r;
	uint64_t t0 = ig_mono_ns();
	size_t by_scope[2];
	int lock = -1, err;

	err = ig_lock(a->pin, &lock);
	if (err)
		return err;
	err = ig_fleet_apply(&fp->held, &a->h, ans, startup, ig_mono_ns(), &r);
	ig_unlock(&lock);
	if (err)
		return err;
	if (r.added || r.removed || r.refreshed)
		agent_sync_soon(a); /* after the unlock: the sync takes the lock */
	ig_fleet_count(&fp->held, by_scope);
	pthread_mutex_lock(&fp->w.lock);
	fp->st.held_ip = by_scope[0];
	fp->st.held_range = by_scope[1];
	for (int s = 0; s < IG_CS_NR_SKIPS; s++)
		fp->st.skipped[s] += ans->skipped[s];
	fp->st.write_failures += r.failed;
	pthread_mutex_unlock(&fp->w.lock);
	log_skips(ans);
	if (r.failed)
		jlogf("error", "fleet_apply", "%zu block write(s) failed: %s", r.failed,
		      strerror(-r.err));
	if (startup || r.added || r.removed || r.refreshed || r.failed) {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "startup", json_object_new_boolean(startup));
		json_object_object_add(f, "decisions", json_object_new_int64((int64_t)ans->n));
		json_object_object_add(f, "bytes", json_object_new_int64((int64_t)ans->bytes));
		json_object_object_add(f, "added", json_object_new_int64((int64_t)r.added));
		json_object_object_add(f, "refreshed", json_object_new_int64((int64_t)r.refreshed));
		json_object_object_add(f, "removed", json_object_new_int64((int64_t)r.removed));
		json_object_object_add(f, "left_to_local", json_object_new_int64((int64_t)r.local));
		json_object_object_add(f, "held", json_object_new_int64(
			(int64_t)(by_scope[0] + by_scope[1])));
		/* the LAPI's share and ours, apart (README "Benchmarks") */
		json_object_object_add(f, "answer_ms", json_object_new_double(
			(double)t->answer_us / 1e3));
		json_object_object_add(f, "apply_ms", json_object_new_double(
			(double)(ig_mono_ns() - t0) / 1e6));
		jlog("info", "fleet_pull", f);
	}
	return 0;
}

/* The next wait after `failures` failures in a row: pull_interval doubled
 * per failure, capped at 5 min, then a random point in its upper half,
 * so a fleet of hosts does not come back to a recovered LAPI at once. */
static uint64_t backoff_ns(uint64_t interval, unsigned int failures, unsigned int *seed)
{
	uint64_t d = interval;

	for (unsigned int i = 0; i < failures && d < BACKOFF_MAX_NS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_NS)
		d = BACKOFF_MAX_NS;
	if (!failures)
		return d;
	return d / 2 + (uint64_t)rand_r(seed) % (d / 2 + 1);
}

/* The push's state for fleet.json: null without machine_id. */
static json_object *push_status(struct agent *a)
{
	struct fleet_push_status ps;
	json_object *o, *r;

	if (fleet_push_status(a, &ps))
		return NULL;
	o = json_object_new_object();
	r = json_object_new_object();
	json_object_object_add(o, "queued", json_object_new_int64((int64_t)ps.queued));
	json_object_object_add(o, "logged_in", json_object_new_boolean(ps.logged_in));
	for (int i = 0; i < PUSH_NR_RESULTS; i++)
		json_object_object_add(r, push_result_names[i],
				       json_object_new_int64((int64_t)ps.results[i]));
	json_object_object_add(o, "results", r);
	json_object_object_add(o, "last_error", ps.last_error[0] ?
				json_object_new_string(ps.last_error) : NULL);
	return o;
}

/*
 * The pull's state for `imapguard status`, which reads no memory of ours:
 * state_dir/fleet.json, replaced whole (a temp file renamed) after every
 * pull. Best effort: a status that cannot be written is logged once.
 */
static void write_status(struct fleet_pull *fp, const struct ig_crowdsec_conf *c,
			 const char *state_dir)
{
	static int warned;
	json_object *o = json_object_new_object(), *held = json_object_new_object();
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	struct fleet_status st;
	FILE *f;
	int ok;

	pthread_mutex_lock(&fp->w.lock);
	st = fp->st;
	pthread_mutex_unlock(&fp->w.lock);
	json_object_object_add(o, "lapi_url", json_object_new_string(c->lapi_url));
	json_object_object_add(o, "connected", json_object_new_boolean(st.up));
	json_object_object_add(o, "last_pull_unix", json_object_new_int64((int64_t)st.last_pull));
	json_object_object_add(o, "last_error", st.up || !st.last_error[0] ? NULL :
				json_object_new_string(st.last_error));
	json_object_object_add(held, "ip", json_object_new_int64((int64_t)st.held_ip));
	json_object_object_add(held, "range", json_object_new_int64((int64_t)st.held_range));
	json_object_object_add(o, "decisions_held", held);
	json_object_object_add(o, "pulls", json_object_new_int64((int64_t)st.pulls));
	json_object_object_add(o, "pull_errors", json_object_new_int64((int64_t)st.errors));
	json_object_object_add(o, "push", push_status(fp->a));
	json_object_object_add(o, "written_unix", json_object_new_int64((int64_t)time(NULL)));
	snprintf(path, sizeof(path), "%s/" FLEET_STATUS_FILE, state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	ok = f && fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), f) >= 0;
	if (f && fclose(f))
		ok = 0;
	if (!ok || rename(tmp, path)) {
		if (!warned++)
			jlogf("warning", "fleet", "cannot write %s: %s; imapguard status will not "
			      "show the LAPI", path, strerror(errno));
		unlink(tmp);
	}
	json_object_put(o);
}

/*
 * The held decisions for `imapguard block list` (fleetheld.h), once they
 * changed, but spaced by ten times what the last write cost: 100,000
 * decisions are about 10 MB of JSON, and a fleet whose deltas come every
 * second must not spend its pull thread rewriting them. A change not yet
 * written is written at a later turn of the loop, changed or not.
 */
struct held_writer {
	int dirty;
	uint64_t last_ns, cost_ns;
	int warned;
};

static void held_maybe_write(struct fleet_pull *fp, struct held_writer *hw, const char *state_dir,
			     uint32_t max_sources)
{
	size_t max = ig_fleet_held_max(max_sources);
	uint64_t t0 = ig_mono_ns();
	int err;

	if (!hw->dirty || (hw->last_ns && t0 - hw->last_ns < 10 * hw->cost_ns))
		return;
	err = ig_fleet_held_write(&fp->held, state_dir, max);
	hw->last_ns = ig_mono_ns();
	hw->cost_ns = hw->last_ns - t0;
	if (!err || err == -E2BIG)
		hw->dirty = 0;
	if (!err) {
		hw->warned = 0;
		return;
	}
	if (hw->warned++)
		return;
	if (err == -E2BIG) /* never so far: the tables hold no more blocks */
		jlogf("warning", "fleet", "%s/" IG_FLEET_HELD_FILE ": %zu held decisions, more "
		      "than the %zu the file holds; block list shows the rest with their scenario "
		      "cut to the pinned note", state_dir, fp->held.n, max);
	else
		jlogf("warning", "fleet", "cannot write %s/" IG_FLEET_HELD_FILE ": %s; imapguard "
		      "block list shows fleet scenarios cut to the pinned note", state_dir,
		      strerror(-err));
}

/* Wait ns or until stopped; 1 when stopped. */
static int wait_ns(struct fleet_pull *fp, uint64_t ns)
{
	int stop;

	pthread_mutex_lock(&fp->w.lock);
	stop = worker_wait_locked(&fp->w, ns);
	pthread_mutex_unlock(&fp->w.lock);
	return stop;
}

static void *pull_thread(void *arg)
{
	struct fleet_pull *fp = arg;
	unsigned int failures = 0, seed = (unsigned int)ig_mono_ns();
	struct ig_crowdsec_conf c;
	struct held_writer hw = {};
	struct transfer t;
	char why[512];
	int startup = 1, rc;

	char state_dir[sizeof(fp->a->pol.agent.state_dir)];
	uint32_t max_sources;

	for (;;) {
		/* the settings of the policy in force (a reload swaps it) */
		pthread_mutex_lock(&fp->a->lock);
		c = fp->a->pol.crowdsec;
		memcpy(state_dir, fp->a->pol.agent.state_dir, sizeof(state_dir));
		max_sources = fp->a->pol.max_sources;
		pthread_mutex_unlock(&fp->a->lock);
		rc = pull_once(fp, &c, startup, &t, why, sizeof(why));
		explicit_bzero(c.bouncer_key, sizeof(c.bouncer_key));
		explicit_bzero(c.password, sizeof(c.password));
		if (!rc) {
			rc = apply(fp, &t, startup);
			if (rc)
				snprintf(why, sizeof(why), "applying the answer: %s", strerror(-rc));
			else if (startup || t.ans.n)
				hw.dirty = 1;
		}
		ig_cs_answer_free(&t.ans);
		pthread_mutex_lock(&fp->w.lock);
		if (!rc) {
			fp->st.up = 1;
			fp->st.pulls++;
			fp->st.last_pull = time(NULL);
			if (startup)
				fp->st.last_startup = fp->st.last_pull;
		} else {
			fp->st.up = 0;
			fp->st.errors++;
			snprintf(fp->st.last_error, sizeof(fp->st.last_error), "%s", why);
		}
		pthread_mutex_unlock(&fp->w.lock);
		write_status(fp, &c, state_dir);
		held_maybe_write(fp, &hw, state_dir, max_sources);
		if (rc) {
			/* the first failure of a run is an error, repeats a warning
			 * each (the LAPI down for an hour logs once a backoff) */
			jlogf(failures ? "warning" : "error", "fleet_pull_failed",
			      "%s: %s; local enforcement and fleet blocks already applied "
			      "stay; next pull asks for the whole set", c.lapi_url, why);
			failures++;
			startup = 1;
		} else {
			if (failures)
				jlogf("info", "fleet_pull", "%s answers again after %u failure(s)",
				      c.lapi_url, failures);
			failures = 0;
			startup = 0;
		}
		if (wait_ns(fp, backoff_ns(c.pull_interval_ns, failures, &seed)))
			break;
	}
	return NULL;
}

int fleet_start(struct agent *a)
{
	struct fleet_pull *fp;
	int err;

	if (!a->pol.crowdsec.enabled)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	fp->a = a;
	err = worker_start(&fp->w, pull_thread, fp);
	if (err) {
		free(fp);
		curl_global_cleanup();
		return err;
	}
	fp->started = 1;
	a->fleet = fp;
	jlogf("info", "fleet", "pulling decisions from %s every %llu s", a->pol.crowdsec.lapi_url,
	      (unsigned long long)(a->pol.crowdsec.pull_interval_ns / 1000000000ull));
	return 0;
}

void fleet_stop(struct agent *a)
{
	struct fleet_pull *fp = a->fleet;

	if (!fp)
		return;
	worker_stop(&fp->w);
	ig_fleet_free(&fp->held);
	free(fp);
	a->fleet = NULL;
	curl_global_cleanup();
}

int fleet_status(struct agent *a, struct fleet_status *out)
{
	struct fleet_pull *fp = a->fleet;

	if (!fp)
		return -ENOENT;
	pthread_mutex_lock(&fp->w.lock);
	*out = fp->st;
	pthread_mutex_unlock(&fp->w.lock);
	return 0;
}
