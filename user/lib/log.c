// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

int ig_verbose;
const char *ig_progname = "imapguard";

static int print_stderr(enum ig_print_level level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

	fprintf(stderr, "%s: %s", ig_progname, prefix[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return 0;
}

static ig_print_fn print_fn = print_stderr;

ig_print_fn ig_set_print(ig_print_fn fn)
{
	ig_print_fn old = print_fn;

	print_fn = fn;
	return old;
}

const char *ig_print_level_name(enum ig_print_level level)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	return level <= IG_PRINT_DEBUG ? names[level] : "error";
}

/* Hand one message to the hook (set: the callers checked). */
__attribute__((format(printf, 2, 3))) static void print(enum ig_print_level level,
							  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_fn(level, fmt, ap);
	va_end(ap);
}

#define IG_DEFINE_LOG(fn, level, cond)                                         \
	void fn(const char *fmt, ...)                                          \
	{                                                                      \
		va_list ap;                                                    \
		if (!(cond) || !print_fn)                                      \
			return;                                                \
		va_start(ap, fmt);                                             \
		print_fn(level, fmt, ap);                                      \
		va_end(ap);                                                    \
	}

IG_DEFINE_LOG(ig_err, IG_PRINT_ERROR, 1)
IG_DEFINE_LOG(ig_warn, IG_PRINT_WARNING, 1)
IG_DEFINE_LOG(ig_info, IG_PRINT_INFO, 1)
IG_DEFINE_LOG(ig_debug, IG_PRINT_DEBUG, ig_verbose)

/* Pass one message of libbpf's or libxdp's to our hook at `level`, as
 * one line: theirs end in a newline, which the hook adds itself. */
static void forward(enum ig_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (n)
		print(level, "%s", msg);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (!ig_verbose || !print_fn)
		return 0; /* our own messages explain failures; -v shows why */
	forward(level == LIBBPF_WARN ? IG_PRINT_WARNING :
		level == LIBBPF_INFO ? IG_PRINT_INFO : IG_PRINT_DEBUG, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt,
			va_list ap)
{
	if (!ig_verbose || !print_fn)
		return 0;
	forward(level == LIBXDP_WARN ? IG_PRINT_WARNING :
		level == LIBXDP_INFO ? IG_PRINT_INFO : IG_PRINT_DEBUG, fmt, ap);
	return 0;
}

void ig_log_setup_libs(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

int ig_log_priority(const char *level)
{
	static const struct {
		const char *name;
		int prio;
	} map[] = { { "error", LOG_ERR }, { "warning", LOG_WARNING },
		    { "info", LOG_INFO }, { "debug", LOG_DEBUG } };

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(level, map[i].name))
			return map[i].prio;
	return LOG_NOTICE;
}

int ig_journal_stream(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &end) != 2 || e[end] ||
	    fstat(fd, &st))
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}
