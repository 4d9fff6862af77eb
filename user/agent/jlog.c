// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "agent.h"
#include "log.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static int to_journal;

/* Decided once: is stdout systemd's journal stream (systemd.exec(5))? */
static void journal_probe(void)
{
	to_journal = ig_journal_stream(STDOUT_FILENO);
}

/*
 * One JSON object per line either way: to the journal as MESSAGE, with
 * the level's PRIORITY (so `journalctl -p err` selects errors) and the
 * event in IMAPGUARD_EVENT; elsewhere (a terminal, a file, a pipe) as a
 * plain line on stdout. A failed journal send falls back to stdout.
 */
static void emit(const char *level, const char *event, const char *line)
{
	pthread_once(&journal_once, journal_probe);
	if (to_journal && sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d",
					  ig_log_priority(level), "IMAPGUARD_EVENT=%s", event,
					  "SYSLOG_IDENTIFIER=imapguardd", NULL) == 0)
		return;
	pthread_mutex_lock(&out_lock);
	puts(line);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

void jlog(const char *level, const char *event, json_object *fields)
{
	json_object *o = json_object_new_object();
	struct timespec ts;
	char when[40];
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + 19, sizeof(when) - 19, ".%03ldZ", ts.tv_nsec / 1000000);
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "level", json_object_new_string(level));
	json_object_object_add(o, "event", json_object_new_string(event));
	if (fields) {
		json_object_object_foreach(fields, k, v)
			json_object_object_add(o, k, json_object_get(v));
		json_object_put(fields);
	}
	emit(level, event, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void jlogf(const char *level, const char *event, const char *fmt, ...)
{
	json_object *f = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(f, "message", json_object_new_string(msg));
	jlog(level, event, f);
}
