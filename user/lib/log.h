/* SPDX-License-Identifier: GPL-2.0-only */
/* Messages for operators: one line each, prefixed with the program name. */
#ifndef IG_LOG_H
#define IG_LOG_H

#include <stdarg.h>

extern int ig_verbose;		 /* -v: also show libbpf/libxdp chatter */
extern const char *ig_progname; /* prefix of every message */

void ig_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ig_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ig_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ig_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The syslog priority (LOG_ERR 3, LOG_WARNING 4, LOG_INFO 6, LOG_DEBUG 7)
 * of a log level name "error", "warning", "info", "debug"; LOG_NOTICE (5)
 * for any other name. journald files each agent log line under it. */
int ig_log_priority(const char *level);

/* 1 when `fd` is the stream systemd connected to the journal: the
 * environment's JOURNAL_STREAM ("DEV:INODE", systemd.exec(5)) names this
 * fd's device and inode; 0 otherwise (unset, malformed, another file). */
int ig_journal_stream(int fd);

/* Route libbpf's and libxdp's own messages through us: quiet unless -v. */
void ig_log_setup_libs(void);

#endif
