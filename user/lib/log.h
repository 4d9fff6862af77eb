/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Messages for operators: one line each, prefixed with the program name.
 * The library's one error path: a function returns 0 (or a count) or a
 * negative errno; the text explaining a failure goes through the print
 * hook below (ig_err()), or, for a parser whose caller decides where its
 * words belong, comes from an ig_*_strerror() function (addr.h,
 * duration.h); policy diagnostics are collected as "FILE:LINE: message"
 * (diag.h). A function's comment says when it has already explained an
 * error, so that its callers do not say it twice.
 */
#ifndef IG_LOG_H
#define IG_LOG_H

#include <stdarg.h>

extern int ig_verbose;		 /* -v: also show libbpf/libxdp chatter */
extern const char *ig_progname; /* prefix of every message */

/* The level of a library message, as libbpf's enum libbpf_print_level. */
enum ig_print_level { IG_PRINT_ERROR, IG_PRINT_WARNING, IG_PRINT_INFO, IG_PRINT_DEBUG };

/*
 * Where the library's messages go, in the manner of libbpf_set_print():
 * `fn` gets each message (printf format and arguments, no trailing
 * newline) with its level; its return value is ignored. The default prints
 * "PROGNAME: level: message" to stderr (the CLI); the agent sends them into
 * its JSON log with the level. NULL silences the library. Debug messages
 * reach `fn` only with ig_verbose set. Not thread-safe against concurrent
 * messages: set it once, before any thread starts. Returns the previous
 * function.
 */
typedef int (*ig_print_fn)(enum ig_print_level level, const char *fmt, va_list ap);
ig_print_fn ig_set_print(ig_print_fn fn);

/* Name of a level: "error", "warning", "info", "debug". */
const char *ig_print_level_name(enum ig_print_level level);

/* One message at level error / warning / info / debug to the print hook
 * (printf format, no trailing newline). Debug messages only with
 * ig_verbose. */
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

/* Route libbpf's and libxdp's own messages through the print hook, at
 * their level (warning, info, debug) and one line each: quiet unless -v
 * (ig_verbose). */
void ig_log_setup_libs(void);

#endif
