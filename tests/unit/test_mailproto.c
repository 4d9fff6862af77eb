// SPDX-License-Identifier: GPL-2.0-only
/* What mail servers' answers say (mailproto.h), on Dovecot 2.3's wire
 * lines and on the edges; the audit's port lists and severities. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "audit.h"
#include "mailproto.h"

#define L(s) (s), strlen(s)

static void test_imap_caps(void **state)
{
	(void)state;
	/* Dovecot's greetings with disable_plaintext_auth = no, then yes */
	assert_int_equal(ig_imap_caps(L("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID "
					"ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] "
					"Dovecot (Debian) ready.")),
			 IG_CAP_SEEN | IG_CAP_STARTTLS | IG_CAP_AUTH | IG_CAP_AUTH_PLAIN);
	assert_int_equal(ig_imap_caps(L("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] x")),
			 IG_CAP_SEEN | IG_CAP_STARTTLS | IG_CAP_LOGINDISABLED);
	assert_int_equal(ig_imap_caps(L("* capability imap4rev1 starttls auth=gssapi")),
			 IG_CAP_SEEN | IG_CAP_STARTTLS | IG_CAP_AUTH);
	/* an atom that only starts like one counts for nothing */
	assert_int_equal(ig_imap_caps(L("* CAPABILITY STARTTLSX AUTH=PLAINX LOGINDISABLEDX")),
			 IG_CAP_SEEN | IG_CAP_AUTH);
	/* after the ']' is text, not capabilities */
	assert_int_equal(ig_imap_caps(L("* OK [CAPABILITY IMAP4rev1] STARTTLS")), IG_CAP_SEEN);
	assert_int_equal(ig_imap_caps(L("* OK Dovecot ready.")), 0);
	assert_int_equal(ig_imap_caps(L("a1 OK CAPABILITY done")), 0);
	/* cut short: what there is counts, nothing past len is read */
	assert_int_equal(ig_imap_caps("* CAPABILITY STARTTLS", 18), IG_CAP_SEEN);
}

static void test_pop3_capa(void **state)
{
	(void)state;
	assert_int_equal(ig_pop3_capa(L("STLS")), IG_CAP_STARTTLS);
	assert_int_equal(ig_pop3_capa(L("USER")), IG_CAP_USER);
	assert_int_equal(ig_pop3_capa(L("SASL PLAIN LOGIN")), IG_CAP_AUTH | IG_CAP_AUTH_PLAIN);
	/* =yes: a bare SASL line, no mechanisms */
	assert_int_equal(ig_pop3_capa(L("SASL")), IG_CAP_AUTH);
	assert_int_equal(ig_pop3_capa(L("SASL GSSAPI SCRAM-SHA-256")), IG_CAP_AUTH);
	assert_int_equal(ig_pop3_capa(L("USERS")), 0);
	assert_int_equal(ig_pop3_capa(L("TOP")), 0);
}

static void test_smtp_ehlo(void **state)
{
	(void)state;
	assert_int_equal(ig_smtp_ehlo(L("250-STARTTLS")), IG_CAP_STARTTLS);
	assert_int_equal(ig_smtp_ehlo(L("250-AUTH PLAIN LOGIN")), IG_CAP_AUTH | IG_CAP_AUTH_PLAIN);
	/* Dovecot with disable_plaintext_auth = yes: "250-AUTH " and nothing */
	assert_int_equal(ig_smtp_ehlo(L("250-AUTH ")), IG_CAP_AUTH);
	assert_int_equal(ig_smtp_ehlo(L("250 AUTH=LOGIN")), IG_CAP_AUTH | IG_CAP_AUTH_PLAIN);
	assert_int_equal(ig_smtp_ehlo(L("250 AUTH CRAM-MD5")), IG_CAP_AUTH);
	assert_int_equal(ig_smtp_ehlo(L("220-STARTTLS")), 0);
	assert_int_equal(ig_smtp_ehlo(L("250-8BITMIME")), 0);
	assert_int_equal(ig_smtp_ehlo(L("250")), 0);
}

static void test_replies(void **state)
{
	(void)state;
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, NULL, L("* OK ready")), IG_REPLY_OK);
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, NULL, L("* PREAUTH hi")), IG_REPLY_OK);
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, NULL, L("* BYE go")), IG_REPLY_FAIL);
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, NULL, L("+OK pop")), IG_REPLY_BAD);
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, "c1", L("* CAPABILITY X")), IG_REPLY_MORE);
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, "c1", L("c1 OK done")), IG_REPLY_OK);
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, "c1", L("c1 BAD no")), IG_REPLY_FAIL);
	/* another tag, or the tag's prefix, does not end c1's reply */
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, "c1", L("c11 OK x")), IG_REPLY_BAD);
	assert_int_equal(ig_mail_reply(IG_PROTO_IMAP, "c1", L("c1")), IG_REPLY_BAD);
	assert_int_equal(ig_mail_reply(IG_PROTO_POP3, NULL, L("+OK Begin TLS")), IG_REPLY_OK);
	assert_int_equal(ig_mail_reply(IG_PROTO_POP3, NULL, L("-ERR no")), IG_REPLY_FAIL);
	assert_int_equal(ig_mail_reply(IG_PROTO_SMTP, NULL, L("220-mail.test")), IG_REPLY_MORE);
	assert_int_equal(ig_mail_reply(IG_PROTO_SMTP, NULL, L("220 2.0.0 go")), IG_REPLY_OK);
	assert_int_equal(ig_mail_reply(IG_PROTO_SMTP, NULL, L("354")), IG_REPLY_OK);
	assert_int_equal(ig_mail_reply(IG_PROTO_SMTP, NULL, L("454 4.7.0 TLS not available")),
			 IG_REPLY_FAIL);
	assert_int_equal(ig_mail_reply(IG_PROTO_SMTP, NULL, L("25")), IG_REPLY_BAD);
	assert_int_equal(ig_mail_reply(IG_PROTO_SMTP, NULL, L("250x")), IG_REPLY_BAD);
	assert_int_equal(ig_mail_reply(IG_PROTO_SMTP, NULL, L("650 what")), IG_REPLY_BAD);
}

static void test_ports(void **state)
{
	uint16_t p[8];
	int implicit;

	(void)state;
	assert_int_equal(ig_audit_ports_parse("143,993,143,25", p, 8), 3);
	assert_int_equal(p[0], 143);
	assert_int_equal(p[1], 993);
	assert_int_equal(p[2], 25);
	assert_int_equal(ig_audit_ports_parse(IG_AUDIT_DEFAULT_PORTS, p, 8), 8);
	assert_int_equal(ig_audit_ports_parse(IG_AUDIT_DEFAULT_PORTS, p, 7), -EINVAL);
	const char *bad[] = { "", "0", "65536", "143,", ",143", "143,,993", "-1", "+143", " 143",
			      "143 ", "x", "1e3" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ig_audit_ports_parse(bad[i], p, 8), -EINVAL);
	assert_int_equal(ig_mail_port_proto(993, &implicit), IG_PROTO_IMAP);
	assert_true(implicit);
	assert_int_equal(ig_mail_port_proto(587, &implicit), IG_PROTO_SMTP);
	assert_false(implicit);
	assert_int_equal(ig_mail_port_proto(4190, &implicit), IG_PROTO_NONE);
}

static void test_severities(void **state)
{
	(void)state;
	for (int s = IG_SEV_INFO; s <= IG_SEV_CRITICAL; s++)
		assert_int_equal(ig_severity_parse(ig_severity_name(s)), s);
	assert_int_equal(ig_severity_parse("HIGH"), -EINVAL);
	assert_int_equal(ig_severity_parse(""), -EINVAL);
	assert_int_equal(ig_severity_parse(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imap_caps), cmocka_unit_test(test_pop3_capa),
		cmocka_unit_test(test_smtp_ehlo), cmocka_unit_test(test_replies),
		cmocka_unit_test(test_ports),	  cmocka_unit_test(test_severities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
