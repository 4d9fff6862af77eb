// SPDX-License-Identifier: GPL-2.0-only
/* The agent's journald priorities, and when its output is the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

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
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_journal_stream),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
