// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

int ig_verbose;
const char *ig_progname = "imapguard";

static void vlog(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", ig_progname, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define IG_DEFINE_LOG(fn, level, cond)                                         \
	void fn(const char *fmt, ...)                                          \
	{                                                                      \
		va_list ap;                                                    \
		if (!(cond))                                                   \
			return;                                                \
		va_start(ap, fmt);                                             \
		vlog(level, fmt, ap);                                          \
		va_end(ap);                                                    \
	}

IG_DEFINE_LOG(ig_err, "error: ", 1)
IG_DEFINE_LOG(ig_warn, "warning: ", 1)
IG_DEFINE_LOG(ig_info, "", 1)
IG_DEFINE_LOG(ig_debug, "debug: ", ig_verbose)

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	if (!ig_verbose)
		return 0; /* our own messages explain failures; -v shows why */
	return vfprintf(stderr, fmt, ap);
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	if (!ig_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void ig_log_setup_libs(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
