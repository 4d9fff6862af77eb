// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "blocks.h"
#include "duration.h"
#include "events.h"
#include "names.h"
#include "policy.h"

struct rb_ctx {
	ig_event_fn fn;
	void *arg;
};

static int on_sample(void *ctx, void *data, size_t len)
{
	struct rb_ctx *c = ctx;
	struct ig_event ev;

	if (len < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	return c->fn(&ev, c->arg);
}

struct ring_buffer *ig_events_open(struct ig_handle *h, ig_event_fn fn, void *arg)
{
	/* libbpf keeps the pointer for the ring's lifetime; one consumer per
	 * process is all we need */
	static struct rb_ctx ctx;

	ctx.fn = fn;
	ctx.arg = arg;
	return ring_buffer__new(h->fd[IG_M_EVENTS], on_sample, &ctx, NULL);
}

int ig_events_lock(const char *pin)
{
	char path[PATH_MAX];
	int fd, err;

	ig_pin_file(pin, ig_map_names[IG_M_META], path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	err = errno == EWOULDBLOCK ? EBUSY : errno;
	if (fd >= 0)
		close(fd);
	return -err;
}

int ig_events_holder(const char *pin)
{
	char path[PATH_MAX], line[256];
	struct stat st;
	int pid = 0;
	FILE *f;

	ig_pin_file(pin, ig_map_names[IG_M_META], path, sizeof(path));
	if (stat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	f = fopen("/proc/locks", "re");
	if (!f)
		return -errno;
	/* "1: FLOCK  ADVISORY  WRITE 4242 00:2d:1234 0 EOF" (proc(5)) */
	while (!pid && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long long ino;
		char kind[16];
		int p;

		if (sscanf(line, "%*s %15s %*s %*s %d %x:%x:%llu", kind, &p, &maj, &min, &ino) == 5 &&
		    !strcmp(kind, "FLOCK") && ino == (unsigned long long)st.st_ino &&
		    makedev(maj, min) == st.st_dev)
			pid = p;
	}
	fclose(f);
	return pid;
}

/* Why the STARTTLS guard refused a flow (enum ig_tls_reason). */
const char *ig_tls_reason_name(unsigned int reason)
{
	switch (reason) {
	case IG_TLS_R_COMMAND: return "command";
	case IG_TLS_R_LONG_LINE: return "long_line";
	case IG_TLS_R_INJECTION: return "injection";
	case IG_TLS_R_BAD_LINE: return "bad_line";
	case IG_TLS_R_LITERAL: return "literal";
	case IG_TLS_R_SEQUENCE: return "sequence";
	default: return "unknown";
	}
}

const char *ig_event_type_name(unsigned int type)
{
	switch (type) {
	case IG_EV_BLOCK: return "block";
	case IG_EV_WOULD_BLOCK: return "would_block";
	case IG_EV_EXPIRE: return "expire";
	case IG_EV_PLAINTEXT_AUTH: return "plaintext_auth";
	default: return "unknown";
	}
}

double ig_mono_to_unix(uint64_t mono_ns)
{
	struct timespec rt;
	double now_mono = (double)ig_mono_ns() / 1e9;

	clock_gettime(CLOCK_REALTIME, &rt);
	return (double)rt.tv_sec + (double)rt.tv_nsec / 1e9 - (now_mono - (double)mono_ns / 1e9);
}

void ig_mono_strftime(uint64_t mono_ns, const char *fmt, char *buf, size_t len)
{
	time_t t = (time_t)ig_mono_to_unix(mono_ns);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, fmt, &tm);
}

static void iso8601(uint64_t mono_ns, char *buf, size_t len)
{
	ig_mono_strftime(mono_ns, IG_ISO8601, buf, len);
}

static void event_prefix(const struct ig_event *ev, char buf[IG_PREFIX_STRLEN])
{
	struct ig_prefix p = { .family = ev->family, .len = ev->prefixlen };

	memcpy(p.addr, ev->addr, sizeof(p.addr));
	ig_prefix_str(&p, buf);
}

void ig_event_of(struct ig_event *ev, uint32_t type, const struct ig_prefix *p,
		 const struct ig_block *b, uint64_t now)
{
	*ev = (struct ig_event){ .type = type, .time_ns = now, .expires_ns = b->expires_ns,
				 .created_ns = b->created_ns, .count = b->count,
				 .family = p->family, .prefixlen = p->len, .port = b->port,
				 .origin = b->origin, .reason = b->reason, .level = b->level };
	memcpy(ev->addr, p->addr, sizeof(ev->addr));
}

json_object *ig_event_json(const struct ig_event *ev)
{
	json_object *o = json_object_new_object();
	char pfx[IG_PREFIX_STRLEN], when[32];

	event_prefix(ev, pfx);
	iso8601(ev->time_ns, when, sizeof(when));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "type", json_object_new_string(ig_event_type_name(ev->type)));
	json_object_object_add(o, "prefix", json_object_new_string(pfx));
	if (ev->type == IG_EV_PLAINTEXT_AUTH) {
		/* the STARTTLS guard: the verb and the user name it named,
		 * never a password (the kernel never copies one) */
		char verb[sizeof(ev->verb) + 1] = { 0 };

		for (size_t i = 0; i < sizeof(ev->verb) && ev->verb[i]; i++) {
			char ch = ev->verb[i];

			if (ch < 0x21 || ch > 0x7e)
				ch = '?'; /* a verb is printable ASCII; anything else is shown as ? */
			verb[i] = ch;
		}
		json_object_object_add(o, "port", json_object_new_int(ev->port));
		json_object_object_add(o, "protocol", json_object_new_string(
			ig_tls_proto_name(ev->origin)));
		json_object_object_add(o, "command", json_object_new_string(verb));
		if (ev->user_len) {
			/* the client's raw bytes: shown in their safe form */
			char user[IG_SAFE_LEN(sizeof(ev->user))];
			size_t n = ev->user_len < sizeof(ev->user) ? ev->user_len : sizeof(ev->user);

			ig_text_safe(ev->user, n, user, sizeof(user));
			json_object_object_add(o, "user", json_object_new_string(user));
			if (ev->flags & IG_EV_F_USER_CUT)
				json_object_object_add(o, "user_truncated",
						       json_object_new_boolean(1));
		}
		json_object_object_add(o, "reason", json_object_new_string(
			ig_tls_reason_name(ev->reason)));
		json_object_object_add(o, "action", json_object_new_string(
			ev->flags & IG_EV_F_MONITOR ? "would_drop" : "reset"));
		return o;
	}
	json_object_object_add(o, "origin", json_object_new_string(ig_origin_name(ev->origin)));
	json_object_object_add(o, "reason", json_object_new_string(ig_block_reason_name(ev->reason)));
	json_object_object_add(o, "port", json_object_new_int(ev->port));
	json_object_object_add(o, "count", json_object_new_int64(ev->count));
	json_object_object_add(o, "level", json_object_new_int(ev->level));
	json_object_object_add(o, "duration_seconds", json_object_new_int64(
		(int64_t)((ev->expires_ns - ev->created_ns + 500000000ull) / 1000000000ull)));
	iso8601(ev->expires_ns, when, sizeof(when));
	json_object_object_add(o, "expires", json_object_new_string(when));
	iso8601(ev->created_ns, when, sizeof(when));
	json_object_object_add(o, "started", json_object_new_string(when));
	return o;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "?";
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* From the JSON rather than the kernel's struct: the agent's stream carries
 * only the JSON, and a follower must print the same line either way. */
void ig_event_line(json_object *o, char *buf, size_t len)
{
	char d[32];
	int64_t killed = jint(o, "sessions_killed");
	int n;

	if (!strcmp(jstr(o, "type"), "plaintext_auth")) {
		int would = !strcmp(jstr(o, "action"), "would_drop");
		json_object *u = NULL;

		/* the name is the client's: quoted and escaped as JSON, so a
		 * '"' in it cannot end it early and forge the rest of the line */
		json_object_object_get_ex(o, "user", &u);
		snprintf(buf, len, "%s plaintext_auth %s port %lld: %s %s%s%s%s before TLS (%s), %s",
			 jstr(o, "time"), jstr(o, "prefix"), (long long)jint(o, "port"),
			 jstr(o, "protocol"), jstr(o, "command"), u ? " by user " : "",
			 u ? json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE) : "",
			 u && jint(o, "user_truncated") ? " (cut)" : "", jstr(o, "reason"),
			 would ? "would drop (monitor)" : "session reset");
		return;
	}
	ig_duration_str((uint64_t)jint(o, "duration_seconds") * 1000000000ull, d, sizeof(d));
	/* an auth-policy block knows no port when Dovecot sent no local_port */
	if (jint(o, "port") > 0)
		n = snprintf(buf, len, "%s %s %s port %lld: %s (%s), ", jstr(o, "time"),
			     jstr(o, "type"), jstr(o, "prefix"), (long long)jint(o, "port"),
			     jstr(o, "reason"), jstr(o, "origin"));
	else
		n = snprintf(buf, len, "%s %s %s: %s (%s), ", jstr(o, "time"), jstr(o, "type"),
			     jstr(o, "prefix"), jstr(o, "reason"), jstr(o, "origin"));
	if (n < 0 || (size_t)n >= len)
		return;
	if (!strcmp(jstr(o, "type"), "expire"))
		n += snprintf(buf + n, len - (size_t)n, "level %lld, after %s",
			      (long long)jint(o, "level"), d);
	else
		n += snprintf(buf + n, len - (size_t)n, "count %lld, level %lld, for %s",
			      (long long)jint(o, "count"), (long long)jint(o, "level"), d);
	if (killed > 0 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; %lld open session%s ended",
			 (long long)killed, killed == 1 ? "" : "s");
}

int ig_event_kill_sessions(struct ig_handle *h, const struct ig_event *ev, int *killed)
{
	struct ig_prefix p = { .family = ev->family, .len = ev->prefixlen };

	memcpy(p.addr, ev->addr, sizeof(p.addr));
	return ig_block_kill_sessions(h, &p, killed);
}
