// SPDX-License-Identifier: GPL-2.0-only
/* The library's print hook, the agent's journald priorities, and when its
 * output is the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/libbpf.h>

#include "log.h"

static int seen_level = -1, seen_count;
static char seen[128];

static int capture(enum ig_print_level level, const char *fmt, va_list ap)
{
	seen_level = (int)level;
	seen_count++;
	vsnprintf(seen, sizeof(seen), fmt, ap);
	return 0;
}

/* ig_set_print, as libbpf_set_print: the caller decides where the library's
 * messages go, with their level; NULL silences; the old hook comes back */
static void test_print_hook(void **state)
{
	ig_print_fn old;

	(void)state;
	old = ig_set_print(capture);
	assert_non_null(old); /* the default: stderr */
	ig_err("cannot attach to %s: %s", "eth9", "No such device");
	assert_int_equal(seen_level, IG_PRINT_ERROR);
	assert_string_equal(seen, "cannot attach to eth9: No such device");
	ig_warn("w");
	assert_int_equal(seen_level, IG_PRINT_WARNING);
	ig_info("i");
	assert_int_equal(seen_level, IG_PRINT_INFO);
	seen_count = 0;
	ig_verbose = 0;
	ig_debug("quiet unless -v");
	assert_int_equal(seen_count, 0);
	ig_verbose = 1;
	ig_debug("now %d", 1);
	assert_int_equal(seen_level, IG_PRINT_DEBUG);
	assert_string_equal(seen, "now 1");
	ig_verbose = 0;
	assert_ptr_equal(ig_set_print(NULL), capture);
	seen_count = 0;
	ig_err("silenced");
	assert_int_equal(seen_count, 0);
	assert_null(ig_set_print(old));
	assert_string_equal(ig_print_level_name(IG_PRINT_ERROR), "error");
	assert_string_equal(ig_print_level_name(IG_PRINT_DEBUG), "debug");
}

/* libbpf's own messages (-v) reach the caller's hook too, at their level
 * and as one line: the agent's JSON log, not its stderr, carries them */
static void test_libbpf_through_hook(void **state)
{
	ig_print_fn old;

	(void)state;
	ig_log_setup_libs();
	old = ig_set_print(capture);
	seen_count = 0;
	ig_verbose = 0;
	assert_null(bpf_object__open_file("/nonexistent/ig-test.bpf.o", NULL));
	assert_int_equal(seen_count, 0); /* quiet unless -v */
	ig_verbose = 1;
	assert_null(bpf_object__open_file("/nonexistent/ig-test.bpf.o", NULL));
	ig_verbose = 0;
	assert_true(seen_count > 0);
	assert_int_equal(seen_level, IG_PRINT_WARNING);
	assert_non_null(strstr(seen, "libbpf: "));
	assert_null(strchr(seen, '\n'));
	ig_set_print(old);
}

/* journalctl -p err must show errors and nothing milder */
static void test_priorities(void **state)
{
	(void)state;
	assert_int_equal(ig_log_priority("error"), 3);
	assert_int_equal(ig_log_priority("warning"), 4);
	assert_int_equal(ig_log_priority("info"), 6);
	assert_int_equal(ig_log_priority("debug"), 7);
	assert_int_equal(ig_log_priority("bogus"), 5);
}

/* JOURNAL_STREAM names the journal's stream by device and inode: only
 * an fd that is that very file goes to sd_journal_send */
static void test_journal_stream(void **state)
{
	char path[] = "/tmp/igjs-XXXXXX", env[64];
	int fd = mkstemp(path), other = open("/dev/null", O_RDONLY);
	struct stat st;

	(void)state;
	assert_true(fd >= 0 && other >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	unsetenv("JOURNAL_STREAM");
	assert_int_equal(ig_journal_stream(fd), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_int_equal(ig_journal_stream(fd), 1);
	assert_int_equal(ig_journal_stream(other), 0); /* stdout redirected elsewhere */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	assert_int_equal(ig_journal_stream(fd), 0);
	snprintf(env, sizeof(env), "%llu:%llux", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_int_equal(ig_journal_stream(fd), 0); /* malformed */
	setenv("JOURNAL_STREAM", "", 1);
	assert_int_equal(ig_journal_stream(fd), 0);
	unsetenv("JOURNAL_STREAM");
	close(fd);
	close(other);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print_hook),
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_journal_stream),
		cmocka_unit_test(test_libbpf_through_hook),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
