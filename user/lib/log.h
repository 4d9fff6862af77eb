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

/* Route libbpf's and libxdp's own messages through us: quiet unless -v. */
void ig_log_setup_libs(void);

#endif
