// SPDX-License-Identifier: GPL-2.0-only
/*
 * The STARTTLS guard's pre-TLS command scanner (bpf/starttls_scan.h) in
 * user space: the same code the BPF program runs from bpf_loop, fed byte
 * by byte with a chunk end after each chunk, as a hook would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "starttls_scan.h"

struct outcome {
	int verdict;	/* of the last byte fed */
	long at;	/* offset of the first byte that did not CONTINUE, or -1 */
	int reason;
	char verb[IG_TLS_VERB_MAX + 1];
	char user[IG_TLS_USER_MAX + 1];
	int user_done;
};

/* Feed each of the n chunks (NUL-terminated strings, or lens given) in turn. */
static struct outcome feed_lens(int proto, const char *const *chunk, const size_t *len, int n)
{
	struct ig_tls_scan s;
	struct outcome o = { .at = -1 };
	long off = 0;

	ig_tls_scan_init(&s, (__u8)proto);
	for (int i = 0; i < n; i++) {
		for (size_t j = 0; j < len[i]; j++, off++) {
			o.verdict = ig_tls_scan_byte(&s, (__u8)chunk[i][j]);
			if (o.verdict != IG_TLS_CONTINUE && o.at < 0)
				o.at = off;
		}
		ig_tls_scan_chunk_end(&s);
	}
	o.reason = s.reason;
	for (unsigned int i = 0; i < IG_TLS_VERB_MAX; i++)
		o.verb[i] = ig_tls_verb_char(&s, i);
	memcpy(o.user, s.user, s.user_len);
	o.user_done = !!(s.flags & IG_TLS_FL_USER_DONE);
	return o;
}

static struct outcome feedv(int proto, int n, const char *const *chunk)
{
	size_t len[8];

	for (int i = 0; i < n; i++)
		len[i] = strlen(chunk[i]);
	return feed_lens(proto, chunk, len, n);
}

#define FEED(proto, ...) \
	feedv(proto, sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *), \
	      (const char *[]){ __VA_ARGS__ })

static void assert_passes(int proto, const char *text)
{
	struct outcome o = FEED(proto, text);

	if (o.verdict != IG_TLS_CONTINUE)
		fail_msg("'%s' (proto %d) should pass, got verdict %d reason %d", text, proto,
			 o.verdict, o.reason);
}

static void assert_violates(int proto, const char *text, const char *verb, int reason)
{
	struct outcome o = FEED(proto, text);

	if (o.verdict != IG_TLS_VIOLATION)
		fail_msg("'%s' (proto %d) should violate, got verdict %d", text, proto, o.verdict);
	assert_int_equal(o.reason, reason);
	assert_string_equal(o.verb, verb);
}

static void test_imap_verbs(void **state)
{
	static const char *const ok[] = { "a CAPABILITY\r\n", "a NOOP\r\n", "a LOGOUT\r\n",
					  "a ID NIL\r\n", "a ID (\"name\" \"x\")\r\n",
					  "a STARTTLS\r\n" };
	static const char *const bad[][2] = {
		{ "a LOGIN alice secret\r\n", "LOGIN" },
		{ "a AUTHENTICATE PLAIN\r\n", "AUTHENTICATE" },
		{ "a SELECT INBOX\r\n", "SELECT" },
		{ "a ENABLE UTF8=ACCEPT\r\n", "ENABLE" },
		{ "a UID FETCH 1 BODY[]\r\n", "UID" },
		{ "a CAPABILITIES\r\n", "CAPABILITIES" },
		{ "a NOOPX\r\n", "NOOPX" },
		{ "a NOO\r\n", "NOO" },
		{ "a LOGINLOGINLOGINLOGIN x\r\n", "LOGINLOGINLOGINL" },
		{ "a\r\n", "" },
		{ "\r\n", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_passes(IG_TLS_IMAP, ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_violates(IG_TLS_IMAP, bad[i][0], bad[i][1], IG_TLS_R_COMMAND);
}

static void test_pop3_verbs(void **state)
{
	static const char *const ok[] = { "CAPA\r\n", "QUIT\r\n", "NOOP\r\n", "STLS\r\n",
					  "capa\n" };
	static const char *const bad[][2] = {
		{ "USER alice\r\n", "USER" },	  { "PASS secret\r\n", "PASS" },
		{ "APOP alice 0123abcd\r\n", "APOP" }, { "AUTH PLAIN\r\n", "AUTH" },
		{ "STAT\r\n", "STAT" },		  { "RETR 1\r\n", "RETR" },
		{ "STARTTLS\r\n", "STARTTLS" },	  { "a CAPA\r\n", "A" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_passes(IG_TLS_POP3, ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_violates(IG_TLS_POP3, bad[i][0], bad[i][1], IG_TLS_R_COMMAND);
}

static void test_submission_verbs(void **state)
{
	static const char *const ok[] = { "EHLO client.example\r\n", "HELO client\r\n",
					  "NOOP\r\n", "RSET\r\n", "QUIT\r\n", "STARTTLS\r\n" };
	static const char *const bad[][2] = {
		{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "AUTH" },
		{ "AUTH LOGIN\r\n", "AUTH" },
		{ "MAIL FROM:<a@example.org>\r\n", "MAIL" },
		{ "RCPT TO:<b@example.org>\r\n", "RCPT" },
		{ "DATA\r\n", "DATA" },
		{ "BDAT 10 LAST\r\n", "BDAT" },
		{ "VRFY alice\r\n", "VRFY" },
		{ "STLS\r\n", "STLS" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_passes(IG_TLS_SUBMISSION, ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_violates(IG_TLS_SUBMISSION, bad[i][0], bad[i][1], IG_TLS_R_COMMAND);
}

/* "a LOGIN alice secret\r\n" cut at every byte: the same verdict, verb and
 * user, the violation at the SP after LOGIN, nothing passed from there on */
static void test_login_split_everywhere(void **state)
{
	static const char line[] = "a LOGIN alice secret\r\n";
	size_t n = sizeof(line) - 1;

	(void)state;
	for (size_t cut = 0; cut <= n; cut++) {
		const char *chunk[2] = { line, line + cut };
		size_t len[2] = { cut, n - cut };
		struct outcome o = feed_lens(IG_TLS_IMAP, chunk, len, 2);

		assert_int_equal(o.verdict, IG_TLS_VIOLATION);
		assert_int_equal(o.at, 7);
		assert_string_equal(o.verb, "LOGIN");
		assert_string_equal(o.user, "alice");
		assert_true(o.user_done);
	}
}

static void test_literals(void **state)
{
	struct outcome o;

	(void)state;
	/* the user name from a literal, the password literal never */
	o = FEED(IG_TLS_IMAP, "a LOGIN {5}\r\nalice {6}\r\nsecret\r\n");
	assert_int_equal(o.verdict, IG_TLS_VIOLATION);
	assert_string_equal(o.verb, "LOGIN");
	assert_string_equal(o.user, "alice");
	assert_true(o.user_done);
	o = FEED(IG_TLS_IMAP, "a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n");
	assert_string_equal(o.user, "alice");
	o = FEED(IG_TLS_IMAP, "a LOGIN ~{5}\r\nalice ~{6}\r\nsecret\r\n");
	assert_string_equal(o.user, "alice");

	/* a literal inside ID is skipped by count: a LOGIN in it is data */
	assert_passes(IG_TLS_IMAP, "a ID (\"name\" {15}\r\nb LOGIN x y\r\n)\r\nb NOOP\r\n");
	assert_passes(IG_TLS_IMAP, "a ID (\"name\" {15+}\r\nb LOGIN x y\r\n)\r\nb NOOP\r\n");
	assert_passes(IG_TLS_IMAP, "a ID (\"name\" ~{15}\r\nb LOGIN x y\r\n)\r\nb NOOP\r\n");
	/* ...and the line goes on after it: a LOGIN there is a command */
	assert_violates(IG_TLS_IMAP, "a ID (\"name\" {3}\r\nabc)\r\nb LOGIN x y\r\n", "LOGIN",
			IG_TLS_R_COMMAND);
	/* a literal split from its announcement, byte by byte */
	o = FEED(IG_TLS_IMAP, "a ID (\"n\" {", "4", "}", "\r", "\n", "c L", "OG)\r\n",
		 "d NOOP\r\n");
	assert_int_equal(o.verdict, IG_TLS_CONTINUE);
	/* "{3}" inside a quoted string is text, not a literal */
	assert_violates(IG_TLS_IMAP, "a ID (\"x{3}\r\nb LOGIN u p\r\n", "LOGIN",
			IG_TLS_R_COMMAND);
	/* literals only where arguments are taken: ID */
	assert_violates(IG_TLS_IMAP, "a NOOP {20}\r\n", "NOOP", IG_TLS_R_LITERAL);
	/* a literal longer than a line may be */
	assert_violates(IG_TLS_IMAP, "a ID ({2000}\r\n", "ID", IG_TLS_R_LONG_LINE);
	assert_violates(IG_TLS_IMAP, "a ID ({99999999999999999999}\r\n", "ID",
			IG_TLS_R_LONG_LINE);
}

static void test_authenticate(void **state)
{
	struct outcome o;

	(void)state;
	o = FEED(IG_TLS_IMAP, "a AUTHENTICATE PLAIN\r\n", "AGFsaWNlAHNlY3JldA==\r\n");
	assert_int_equal(o.verdict, IG_TLS_VIOLATION);
	assert_string_equal(o.verb, "AUTHENTICATE");
	assert_string_equal(o.user, "");
	o = FEED(IG_TLS_IMAP, "a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n");
	assert_int_equal(o.verdict, IG_TLS_VIOLATION);
	assert_string_equal(o.verb, "AUTHENTICATE");
	assert_string_equal(o.user, "");
	o = FEED(IG_TLS_POP3, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
	assert_string_equal(o.verb, "AUTH");
	assert_string_equal(o.user, "");
	o = FEED(IG_TLS_SUBMISSION, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
	assert_string_equal(o.verb, "AUTH");
	assert_string_equal(o.user, "");
}

static void test_case_and_pipelining(void **state)
{
	struct outcome o;

	(void)state;
	assert_violates(IG_TLS_IMAP, "a login alice secret\r\n", "LOGIN", IG_TLS_R_COMMAND);
	assert_violates(IG_TLS_IMAP, "a LoGiN alice secret\r\n", "LOGIN", IG_TLS_R_COMMAND);
	assert_passes(IG_TLS_IMAP, "a capability\r\nb noop\r\nc Id nil\r\n");
	o = FEED(IG_TLS_IMAP, "a CAPABILITY\r\nb LOGIN alice secret\r\n");
	assert_int_equal(o.verdict, IG_TLS_VIOLATION);
	assert_int_equal(o.at, 21); /* the SP after LOGIN, past the first line */
	assert_string_equal(o.user, "alice");
	o = FEED(IG_TLS_POP3, "CAPA\r\nUSER alice\r\nPASS secret\r\n");
	assert_string_equal(o.verb, "USER");
	assert_string_equal(o.user, "alice");
	/* a bare CR is no line end */
	assert_violates(IG_TLS_IMAP, "a NOOP\rb LOGIN x y\r\n", "NOOP", IG_TLS_R_BAD_LINE);
}

static void test_user_names(void **state)
{
	struct outcome o;

	(void)state;
	o = FEED(IG_TLS_IMAP, "a LOGIN \"al \\\"ice\\\\\" \"secret\"\r\n");
	assert_string_equal(o.user, "al \"ice\\");
	assert_true(o.user_done);
	o = FEED(IG_TLS_IMAP, "a LOGIN ~alice secret\r\n"); /* '~' starts an atom too */
	assert_string_equal(o.user, "~alice");
	o = FEED(IG_TLS_POP3, "APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n");
	assert_string_equal(o.user, "alice");
	/* a password alone names nobody, on its line or the next */
	o = FEED(IG_TLS_POP3, "PASS secret\r\n");
	assert_string_equal(o.user, "");
	o = FEED(IG_TLS_POP3, "USER\r\nPASS secret\r\n");
	assert_string_equal(o.verb, "USER");
	assert_string_equal(o.user, "");
	o = FEED(IG_TLS_IMAP, "a LOGIN\r\nb x secret\r\n");
	assert_string_equal(o.user, "");
	/* a long name is cut at the buffer, and the password still not taken */
	char line[200];

	snprintf(line, sizeof(line), "a LOGIN %080d secret\r\n", 7);
	o = FEED(IG_TLS_IMAP, line);
	assert_int_equal(strlen(o.user), IG_TLS_USER_MAX);
	assert_null(strstr(o.user, "secret"));
	assert_true(o.user_done); /* the cut ends the capture: no more is read */
	/* a tab is no separator we know: the name ends there, the password
	 * after it is never taken (it was, as "alice\tsecret") */
	o = FEED(IG_TLS_IMAP, "a LOGIN alice\tsecret\r\n");
	assert_string_equal(o.user, "alice");
	assert_true(o.user_done);
	o = FEED(IG_TLS_POP3, "USER bob\x01secret\r\n");
	assert_string_equal(o.user, "bob");
	o = FEED(IG_TLS_IMAP, "a LOGIN \talice secret\r\n");
	assert_string_equal(o.user, "");
	/* a quoted name the line cuts names nobody: it ran on into the
	 * password (it was "alice secret") */
	o = FEED(IG_TLS_IMAP, "a LOGIN \"alice secret\r\n");
	assert_string_equal(o.user, "");
	assert_true(o.user_done);
	o = FEED(IG_TLS_IMAP, "a LOGIN \"alice secret\n");
	assert_string_equal(o.user, "");
}

static void test_starttls(void **state)
{
	struct outcome o;
	const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

	(void)state;
	/* STARTTLS, then the handshake in the next chunk: TLS, no more inspection */
	o = FEED(IG_TLS_IMAP, "a STARTTLS\r\n", hello, "b LOGIN alice secret\r\n");
	assert_int_equal(o.verdict, IG_TLS_STARTED);
	o = FEED(IG_TLS_POP3, "CAPA\r\nSTLS\r\n", hello, "USER alice\r\n");
	assert_int_equal(o.verdict, IG_TLS_STARTED);
	o = FEED(IG_TLS_SUBMISSION, "EHLO x\r\nSTARTTLS\r\n", hello, "AUTH PLAIN x\r\n");
	assert_int_equal(o.verdict, IG_TLS_STARTED);

	/* STARTTLS + LOGIN in one chunk: CVE-2011-0411 */
	o = FEED(IG_TLS_IMAP, "a STARTTLS\r\nb LOGIN alice secret\r\n");
	assert_int_equal(o.verdict, IG_TLS_VIOLATION);
	assert_int_equal(o.reason, IG_TLS_R_INJECTION);
	assert_int_equal(o.at, 12);
	assert_string_equal(o.verb, "STARTTLS");
	/* ...even when what follows is a handshake: nothing may share its chunk */
	o = FEED(IG_TLS_IMAP, "a STARTTLS\r\n\x16\x03\x01");
	assert_int_equal(o.reason, IG_TLS_R_INJECTION);
	o = FEED(IG_TLS_SUBMISSION, "STARTTLS\r\nMAIL FROM:<a@b>\r\n");
	assert_int_equal(o.reason, IG_TLS_R_INJECTION);

	/* a refused STARTTLS: the next chunk is parsed as commands again */
	o = FEED(IG_TLS_IMAP, "a STARTTLS\r\n", "b CAPABILITY\r\n", "c STARTTLS\r\n", hello);
	assert_int_equal(o.verdict, IG_TLS_STARTED);
	o = FEED(IG_TLS_IMAP, "a STARTTLS\r\n", "b LOGIN alice secret\r\n");
	assert_int_equal(o.verdict, IG_TLS_VIOLATION);
	assert_int_equal(o.reason, IG_TLS_R_COMMAND);
	assert_string_equal(o.verb, "LOGIN");
	assert_string_equal(o.user, "alice");
	/* 0x16 before any STARTTLS is no handshake */
	o = FEED(IG_TLS_IMAP, hello, "\r\n");
	assert_int_equal(o.verdict, IG_TLS_VIOLATION);
}

static void test_long_lines(void **state)
{
	size_t n = (size_t)64 * 1024;
	char *line = malloc(n + 1);
	struct outcome o;

	(void)state;
	assert_non_null(line);
	/* a 64 KiB ID line: refused at byte 1,025, whatever the verb */
	memcpy(line, "a ID (\"", 7);
	memset(line + 7, 'x', n - 7);
	line[n] = 0;
	o = FEED(IG_TLS_IMAP, line);
	assert_int_equal(o.verdict, IG_TLS_VIOLATION);
	assert_int_equal(o.reason, IG_TLS_R_LONG_LINE);
	assert_int_equal(o.at, IG_TLS_MAX_LINE);
	/* a tag that never ends */
	memset(line, 'a', n);
	o = FEED(IG_TLS_IMAP, line);
	assert_int_equal(o.reason, IG_TLS_R_LONG_LINE);
	assert_int_equal(o.at, IG_TLS_MAX_LINE);
	/* exactly 1,024 bytes with the CRLF pass; the count restarts per line */
	memcpy(line, "a ID (\"", 7);
	memset(line + 7, 'y', IG_TLS_MAX_LINE - 7);
	memcpy(line + IG_TLS_MAX_LINE - 4, "\")\r\n", 5);
	assert_passes(IG_TLS_IMAP, line);
	o = FEED(IG_TLS_IMAP, line, line, "b NOOP\r\n");
	assert_int_equal(o.verdict, IG_TLS_CONTINUE);
	memcpy(line + IG_TLS_MAX_LINE - 4, "y\")\r\n", 6);
	o = FEED(IG_TLS_IMAP, line);
	assert_int_equal(o.reason, IG_TLS_R_LONG_LINE);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imap_verbs),
		cmocka_unit_test(test_pop3_verbs),
		cmocka_unit_test(test_submission_verbs),
		cmocka_unit_test(test_login_split_everywhere),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_case_and_pipelining),
		cmocka_unit_test(test_user_names),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_long_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
