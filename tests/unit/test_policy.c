// SPDX-License-Identifier: GPL-2.0-only
/* The policy parser: every error names its line; good files parse fully. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy.h"

static char path[64];

static int load(const char *text, struct ig_policy *pol, struct ig_diag *d)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/igpol-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	memset(d, 0, sizeof(*d));
	int rc = ig_policy_load(path, pol, d);

	unlink(path);
	return rc;
}

/* The file must be rejected with a message on `line` containing `part`. */
static void reject(const char *text, int line, const char *part)
{
	struct ig_policy pol;
	struct ig_diag d;
	char want[128];
	int found = 0;

	if (load(text, &pol, &d) == 0)
		fail_msg("accepted:\n%s", text);
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	for (int i = 0; i < d.n; i++)
		if (!strncmp(d.msgs[i], want, strlen(want)) && strstr(d.msgs[i], part))
			found = 1;
	if (!found) {
		ig_diag_print(&d, stderr);
		fail_msg("no error '%s' on line %d", part, line);
	}
	ig_diag_free(&d);
	ig_policy_free(&pol);
}

#define GEN "[general]\ninterfaces = lo\n"

struct reject_case {
	const char *text;
	int line;
	const char *part;
};

static const struct reject_case rejects[] = {
	{ "", 1, "empty policy" },
	{ "; only a comment\n\n# another\n", 1, "empty policy" },
	{ "[genral]\ninterfaces = lo\n", 1, "unknown section [genral]" },
	{ GEN "colour = blue\n", 3, "unknown key 'colour' in [general]" },
	{ GEN "[port 143]\naction = drop\nspeed = 5\n", 5, "unknown key 'speed'" },
	{ GEN "[allow]\ncidr = 198.18.0.0/33\n", 4, "prefix length must be 0-32" },
	{ GEN "[deny]\ncidr = 198.18.0.1/24\n", 4, "host bits set" },
	{ GEN "[deny]\ncidr = 198.18.0.0/24, banana\n", 4, "not an IP address" },
	{ GEN "[deny]\ncidr = 2001:db8::/129\n", 4, "0-128" },
	{ GEN "[deny]\ncidr = 198.18.0.0/24,,198.18.1.0/24\n", 4, "empty item" },
	{ GEN "[port 110]\naction = ratelimit\nrate = 5/1x\n", 5, "not a rate" },
	{ GEN "[port 110]\naction = ratelimit\nrate = 0/1m\n", 5, "not a rate" },
	{ GEN "[port 143]\naction = reject\n", 4, "action must be allow, drop, ratelimit or starttls" },
	{ GEN "[port 143]\naction = drop\nrate = 5/1m\n", 5, "'rate' needs 'action = ratelimit'" },
	{ GEN "[port 110]\naction = ratelimit\n", 3, "no 'rate = N/DURATION'" },
	{ GEN "[port 143]\n", 3, "needs 'action = allow|drop|ratelimit|starttls'" },
	{ GEN "attach = tc\n[port 993]\naction = allow\nprotocol = imap\n", 6,
	  "'protocol' needs 'action = starttls' (port 993 is allow)" },
	{ GEN "attach = tc\n[port 2143]\naction = starttls\n", 5,
	  "[port 2143] has action = starttls but no 'protocol = imap|pop3|submission'" },
	{ GEN "[port 143]\naction = starttls\n", 4,
	  "action = starttls needs 'attach = tc' (port 143; attach is xdp)" },
	{ GEN "attach = nft\n[port 110]\naction = starttls\n", 5,
	  "action = starttls needs 'attach = tc' (port 110; attach is nft)" },
	{ GEN "attach = tc\n[port 143]\naction = starttls\nprotocol = smtp\n", 6,
	  "protocol must be imap, pop3 or submission" },
	{ GEN "[port 0]\naction = drop\n", 3, "port must be 1-65535" },
	{ GEN "[port 65536]\naction = drop\n", 3, "port must be 1-65535" },
	{ GEN "[port imap]\naction = drop\n", 3, "port must be 1-65535" },
	{ GEN "[port 143]\naction = drop\n[port 143]\naction = allow\n", 5,
	       "duplicate [port 143] (first on line 3)" },
	{ "[general]\nattach = xdp\n[port 143]\naction = drop\n", 1, "needs 'interfaces" },
	{ "[port 143]\naction = drop\n", 1, "missing [general]" },
	{ "[general]\ninterfaces = nosuchif0\n", 2, "unknown interface 'nosuchif0'" },
	{ "[general]\ninterfaces = lo, lo\n", 2, "listed twice" },
	{ "interfaces = lo\n", 1, "key outside any section" },
	{ GEN "this line has no equals sign\n", 3, "expected 'key = value'" },
	{ GEN "[port 143\naction = drop\n", 3, "malformed section header" },
	{ GEN "[port 143] drop\naction = drop\n", 3, "malformed section header" },
	{ GEN "attach = ebpf\n", 3, "attach must be xdp, xdp-generic, tc or nft" },
	{ GEN "mode = audit\n", 3, "mode must be enforce or monitor" },
	{ GEN "default = maybe\n", 3, "default must be allow or deny" },
	{ GEN "prefix_v4 = 33\n", 3, "prefix_v4 must be 1-32" },
	{ GEN "prefix_v6 = 0\n", 3, "prefix_v6 must be 1-128" },
	{ GEN "max_sources = 10\n", 3, "max_sources must be" },
	{ GEN "mode = monitor\nmode = enforce\n", 4, "'mode' given twice (first on line 3)" },
	{ GEN "attach =\n", 3, "has no value" },
	{ GEN "[port 143]\naction = drop\naction = allow\n", 5, "'action' given twice" },
	{ GEN "[port 143]\naction = drop\nburst = 5/1m\n", 5, "'burst' on a dropped port" },
	{ GEN "[port 993]\naction = allow\nblock = 10m\n", 5, "'block' needs 'burst'" },
	{ GEN "[port 993]\naction = allow\nblock_max = 1h\n", 5, "'block_max' needs 'burst'" },
	{ GEN "[port 993]\naction = allow\nburst = 5/1m\nblock = 2h\nblock_max = 1h\n", 7,
	  "block_max must be at least block" },
	{ GEN "[port 993]\naction = allow\nburst = 5/2d\n", 5, "burst interval can be at most 1d" },
	{ GEN "[port 993]\naction = allow\nburst = many\n", 5, "not a rate" },
	{ GEN "[port 993]\naction = allow\nburst = 5/1m\nburst = 6/1m\n", 6, "'burst' given twice" },
	{ GEN "[port 993]\naction = allow\nburst = 5/1m\nblock = soon\n", 6, "not a duration" },
	{ GEN "[auth]\nfail_burst = 5/1m\n", 3, "[auth] needs 'api_key" },
	{ GEN "[auth]\napi_key = short\n", 4, "api_key must be 16 to 255 characters" },
	{ GEN "[auth]\napi_key = has space in it 0123456789\n", 4, "printable with no spaces" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\nspray_users = lots\n", 5, "not a rate" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\ntarpit = 2m\n", 5, "tarpit can be at most 1m" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\nrequire_grant = maybe\n", 5,
	  "require_grant must be yes or no" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\nblock = 2h\nblock_max = 1h\n", 3,
	  "[auth] block_max must be at least block" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\nlockout = yes\n", 5, "unknown key 'lockout' in [auth]" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\nblock_max = 5m\n", 3,
	  "[auth] block_max must be at least block" }, /* below the default block */
	{ GEN "[auth]\napi_key = 0123456789abcdef\nfail_burst = 5/1m\nfail_burst = 9/1m\n", 6,
	  "'fail_burst' given twice (first on line 5)" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\napi_key = fedcba9876543210\n", 5,
	  "'api_key' given twice (first on line 4)" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\nblock = 1h\nblock = 2h\n", 6,
	  "'block' given twice (first on line 5)" },
	{ GEN "[auth]\napi_key = 0123456789abcdef\nrequire_tls = no\nrequire_tls = yes\n", 6,
	  "'require_tls' given twice (first on line 5)" },
	{ GEN "[agent]\nstate_dir = /var/lib/a\nstate_dir = /var/lib/b\n", 5,
	  "'state_dir' given twice (first on line 4)" },
	{ GEN "[agent]\nmetrics_listen = off\nmetrics_listen = 127.0.0.1:1\n", 5,
	  "'metrics_listen' given twice (first on line 4)" },
	{ GEN "[agent]\npolicy_listen = 127.0.0.1:1\n[agent]\npolicy_listen = 127.0.0.1:2\n", 6,
	  "'policy_listen' given twice (first on line 4)" },
	{ GEN "[port 993]\naction = allow\nburst = 5/1m\nblock = 1m\nblock = 2m\n", 7,
	  "'block' given twice (first on line 6)" },
	{ GEN "[port 993]\naction = allow\nburst = 5/1m\nblock_max = 5m\n", 6,
	  "[port 993] block_max must be at least block" }, /* below the default block */
	{ GEN "[agent]\nmetrics_listen = localhost:9743\n", 4, "metrics_listen must be HOST:PORT" },
	{ GEN "[agent]\npolicy_listen = 127.0.0.1:99999\n", 4, "policy_listen must be HOST:PORT" },
	{ GEN "[agent]\nstate_dir = relative/dir\n", 4, "state_dir must be an absolute path" },
	{ GEN "[agent]\ngrants_token = tiny\n", 4, "grants_token must be 16 to 255" },
	{ GEN "[agent]\ngrants_token = 0123456789abcdef\ngrants_token_file = /nonexistent\n", 5,
	  "grants_token and grants_token_file both given (first on line 4)" },
	{ GEN "[auth]\napi_key_file = /nonexistent\napi_key = 0123456789abcdef\n", 5,
	  "api_key and api_key_file both given (first on line 4)" },
	{ GEN "[auth]\napi_key_file = relative/key\n", 4, "api_key_file must be an absolute path" },
	{ GEN "[auth]\napi_key_file = /nonexistent/key\n", 4,
	  "api_key_file /nonexistent/key: No such file" },
	{ GEN "[auth]\napi_key_file = /tmp\n", 4, "api_key_file /tmp: not a regular file" },
	{ GEN "[auth]\napi_key_file = /nonexistent\napi_key_file = /nonexistent\n", 5,
	  "'api_key_file' given twice (first on line 4)" },
	{ GEN "[agent]\npolicy_clients = dovecot, bad user\n", 4,
	  "policy_clients must list user names or uids, not 'bad user'" },
	{ GEN "[agent]\npolicy_clients = ,\n", 4, "policy_clients must list at least one user" },
	{ GEN "[agent]\npolicy_clients = a,b,c,d,e,f,g,h,i\n", 4, "policy_clients lists more than 8 users" },
	{ GEN "; long line\n[deny]\ncidr = 198.18.0.0/24, 198.18.1.0/24, 198.18.2.0/24, "
		   "198.18.3.0/24, 198.18.4.0/24, 198.18.5.0/24, 198.18.6.0/24, 198.18.7.0/24, "
		   "198.18.8.0/24, 198.18.9.0/24, 198.18.10.0/24, 198.18.11.0/24, 198.18.12.0/24\n",
	       5, "line longer than" },
};

static void test_reject(void **state)
{
	const struct reject_case *rc = *state;

	reject(rc->text, rc->line, rc->part);
}

static void test_all_errors_reported(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_not_equal(load(GEN "bogus = 1\n[port 0]\n[deny]\ncidr = 1.2.3.4/40\n", &pol, &d), 0);
	assert_true(d.n >= 3); /* not just the first */
	ig_diag_free(&d);
	ig_policy_free(&pol);
}

static void test_full_policy(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_equal(load("; imapguard policy\n"
			      "[general]\n"
			      "  interfaces = lo          ; indented keys are fine\n"
			      "attach = tc\n"
			      "mode = monitor\n"
			      "default = deny\n"
			      "prefix_v4 = 24\n"
			      "prefix_v6 = 48\n"
			      "max_sources = 4096\n"
			      "[allow]                  ; a comment after a section\n"
			      "cidr = 198.18.10.0/24, 2001:db8:10::/48\n"
			      "cidr = 198.18.11.0/24\n"
			      "[deny]\n"
			      "cidr = 198.18.66.0/24\n"
			      "[port 143]\naction = drop\n"
			      "[port 110]\naction = ratelimit\nrate = 5/1m\n"
			      "[ port 993 ]\naction = allow\n",
			      &pol, &d),
			 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(pol.n_ifaces, 1);
	assert_string_equal(pol.ifaces[0], "lo");
	assert_int_equal(pol.attach, IG_ATTACH_TC);
	assert_int_equal(pol.monitor, 1);
	assert_int_equal(pol.default_deny, 1);
	assert_int_equal(pol.prefix_v4, 24);
	assert_int_equal(pol.prefix_v6, 48);
	assert_int_equal(pol.max_sources, 4096);
	assert_int_equal(pol.allow.n, 3);
	assert_int_equal(pol.deny.n, 1);
	assert_int_equal(pol.n_ports, 3);
	assert_int_equal(pol.ports[0].port, 143);
	assert_int_equal(pol.ports[0].action, IG_ACT_DROP);
	assert_int_equal(pol.ports[1].action, IG_ACT_RATELIMIT);
	assert_int_equal(pol.ports[1].rate_count, 5);
	assert_int_equal(pol.ports[1].rate_interval_ns, 60000000000ull);
	assert_int_equal(pol.ports[2].port, 993);
	ig_policy_free(&pol);
}

static void test_auth_keys(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_equal(load(GEN "[auth]\napi_key = 0123456789abcdef\n"
			      "[agent]\npolicy_listen = [::1]:9744\nmetrics_listen = off\n", &pol, &d), 0);
	assert_true(pol.auth.enabled);
	assert_string_equal(pol.auth.api_key, "0123456789abcdef");
	assert_int_equal(pol.auth.fail_burst.count, 10); /* the documented defaults */
	assert_int_equal(pol.auth.spray_users.count, 5);
	assert_int_equal(pol.auth.user_fail_burst.count, 30);
	assert_int_equal(pol.auth.tarpit_ns, 2000000000ull);
	assert_true(pol.auth.require_tls);
	assert_false(pol.auth.require_grant);
	assert_string_equal(pol.agent.policy_listen, "[::1]:9744");
	assert_string_equal(pol.agent.metrics_listen, "off");
	ig_policy_free(&pol);
}

static void test_burst_keys(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_equal(load(GEN "[port 993]\naction = allow\nburst = 20/1m\n"
			      "[port 110]\naction = ratelimit\nrate = 5/1m\nburst = 10/10m\n"
			      "block = 1h\nblock_max = 48h\n"
			      "[port 995]\naction = allow\nburst = 3/1m\nblock = 2d\n", &pol, &d), 0);
	assert_int_equal(pol.ports[0].burst_count, 20);
	assert_int_equal(pol.ports[0].burst_interval_ns, 60000000000ull);
	assert_int_equal(pol.ports[0].block_ns, IG_DEFAULT_BLOCK_NS);	  /* 10m */
	assert_int_equal(pol.ports[0].block_max_ns, IG_DEFAULT_BLOCK_MAX_NS); /* 24h */
	assert_int_equal(pol.ports[1].burst_count, 10);
	assert_int_equal(pol.ports[1].rate_count, 5); /* ratelimit and burst combine */
	assert_int_equal(pol.ports[1].block_ns, 3600000000000ull);
	assert_int_equal(pol.ports[1].block_max_ns, 48ull * 3600000000000ull);
	/* a first block longer than the default cap raises the cap to it */
	assert_int_equal(pol.ports[2].block_max_ns, pol.ports[2].block_ns);
	ig_policy_free(&pol);
}

/* [auth] and [port N] share their block rules: an unset block_max is the
 * 24h default, raised to a longer block. */
static void test_auth_block(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_equal(load(GEN "[auth]\napi_key = 0123456789abcdef\nblock = 2d\n", &pol, &d), 0);
	assert_int_equal(pol.auth.block_ns, 2 * IG_DEFAULT_BLOCK_MAX_NS);
	assert_int_equal(pol.auth.block_max_ns, pol.auth.block_ns);
	ig_policy_free(&pol);
	assert_int_equal(load(GEN "[auth]\napi_key = 0123456789abcdef\nblock = 1h\n", &pol, &d), 0);
	assert_int_equal(pol.auth.block_ns, 3600000000000ull);
	assert_int_equal(pol.auth.block_max_ns, IG_DEFAULT_BLOCK_MAX_NS);
	ig_policy_free(&pol);
	assert_int_equal(load(GEN "[auth]\napi_key = 0123456789abcdef\nblock_max = 48h\n", &pol, &d),
			 0);
	assert_int_equal(pol.auth.block_ns, IG_DEFAULT_BLOCK_NS);
	assert_int_equal(pol.auth.block_max_ns, 2 * IG_DEFAULT_BLOCK_MAX_NS);
	ig_policy_free(&pol);
}

static void test_defaults(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_equal(load(GEN "[port 143]\naction = drop\n", &pol, &d), 0);
	assert_int_equal(pol.attach, IG_ATTACH_XDP);
	assert_int_equal(pol.monitor, 0);
	assert_int_equal(pol.default_deny, 0);
	assert_int_equal(pol.prefix_v4, 32);
	assert_int_equal(pol.prefix_v6, 64);
	assert_int_equal(pol.max_sources, IG_DEFAULT_MAX_SOURCES);
	ig_policy_free(&pol);
}

/* A secret file in `dir` named `name` holding `text` with mode `mode`. */
static void secret_at(const char *dir, const char *name, const char *text, mode_t mode,
		      char *out, size_t outlen)
{
	FILE *f;

	snprintf(out, outlen, "%s/%s", dir, name);
	f = fopen(out, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(out, mode), 0);
}

/* api_key_file and grants_token_file: read whole, one trailing newline
 * stripped, the inline rules applied, and only from a 0600-or-stricter
 * regular file named directly (never through a symlink). */
static void test_secret_files(void **state)
{
	char dir[] = "/tmp/igsecret-XXXXXX", ok[128], crlf[128], wide[128], grp[128], tiny[128],
	     spaced[128], link[128], text[512];
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_non_null(mkdtemp(dir));
	secret_at(dir, "ok", "0123456789abcdef\n", 0600, ok, sizeof(ok));
	secret_at(dir, "crlf", "fedcba9876543210\r\n", 0400, crlf, sizeof(crlf));
	secret_at(dir, "wide", "0123456789abcdef\n", 0644, wide, sizeof(wide));
	secret_at(dir, "grp", "0123456789abcdef\n", 0640, grp, sizeof(grp));
	secret_at(dir, "tiny", "tiny\n", 0600, tiny, sizeof(tiny));
	secret_at(dir, "spaced", "0123456789 abcdef\n", 0600, spaced, sizeof(spaced));
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(ok, link), 0);

	snprintf(text, sizeof(text), GEN "[auth]\napi_key_file = %s\n[agent]\n"
		 "grants_token_file = %s\n", ok, crlf);
	assert_int_equal(load(text, &pol, &d), 0);
	assert_string_equal(pol.auth.api_key, "0123456789abcdef");
	assert_string_equal(pol.agent.grants_token, "fedcba9876543210");
	assert_int_equal(pol.inline_secret_line, 0); /* nothing inline */
	ig_policy_free(&pol);

	snprintf(text, sizeof(text), GEN "[auth]\napi_key_file = %s\n", wide);
	reject(text, 4, "is readable or writable by group or others (mode 0644)");
	snprintf(text, sizeof(text), GEN "[agent]\ngrants_token_file = %s\n", grp);
	reject(text, 4, "(mode 0640): chmod 0600 it");
	snprintf(text, sizeof(text), GEN "[auth]\napi_key_file = %s\n", link);
	reject(text, 4, "is a symlink");
	snprintf(text, sizeof(text), GEN "[auth]\napi_key_file = %s\n", tiny);
	reject(text, 4, "api_key_file must be 16 to 255");
	snprintf(text, sizeof(text), GEN "[agent]\ngrants_token_file = %s\n", spaced);
	reject(text, 4, "grants_token_file must be printable with no spaces");

	for (const char *const *n = (const char *const[]){ "ok", "crlf", "wide", "grp", "tiny",
							   "spaced", "link", NULL }; *n; n++) {
		snprintf(text, sizeof(text), "%s/%s", dir, *n);
		unlink(text);
	}
	rmdir(dir);
}

/* The first inline secret's line and the file's mode, for check's warning. */
static void test_inline_secret_noted(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_equal(load(GEN "[agent]\nmetrics_listen = off\ngrants_token = 0123456789abcdef\n"
			      "[auth]\napi_key = 0123456789abcdef\n", &pol, &d), 0);
	assert_int_equal(pol.inline_secret_line, 5);
	assert_int_equal(pol.mode, 0600); /* mkstemp's */
	ig_policy_free(&pol);
}

static void test_unreadable(void **state)
{
	struct ig_policy pol;
	struct ig_diag d = {};

	(void)state;
	assert_int_not_equal(ig_policy_load("/nonexistent/imapguard.conf", &pol, &d), 0);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "/nonexistent/imapguard.conf: cannot read"));
	ig_diag_free(&d);
}

/* ---- [crowdsec] ---- */

/* A 0600 file holding a valid secret, made once, removed at exit. */
static char cs_path[64];
static void cs_unlink(void) { unlink(cs_path); }
static const char *cs_secret(void)
{
	if (!cs_path[0]) {
		snprintf(cs_path, sizeof(cs_path), "/tmp/igcs-XXXXXX");
		int fd = mkstemp(cs_path); /* mode 0600 */

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "0123456789abcdef0123\n", 21), 21);
		close(fd);
		atexit(cs_unlink);
	}
	return cs_path;
}
static const char *cs_secret_line(void)
{
	static char line[80];

	snprintf(line, sizeof(line), "%s\n", cs_secret());
	return line;
}

/* Every key read into ig_crowdsec_conf; the documented defaults. */
static void test_crowdsec_keys(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), GEN "[crowdsec]\nlapi_url = http://198.18.250.2:8080/\n"
		 "bouncer_key_file = %s\n", cs_secret());
	assert_int_equal(load(text, &pol, &d), 0);
	assert_true(pol.crowdsec.enabled);
	assert_string_equal(pol.crowdsec.lapi_url, "http://198.18.250.2:8080/");
	assert_string_equal(pol.crowdsec.bouncer_key, "0123456789abcdef0123");
	assert_int_equal(pol.crowdsec.pull_interval_ns, 10000000000ull);
	assert_int_equal(pol.crowdsec.scopes, IG_CS_SCOPE_IP | IG_CS_SCOPE_RANGE);
	assert_string_equal(pol.crowdsec.origins, "");
	assert_int_equal(pol.crowdsec.push, (1u << IG_ORIGIN_AUTO) | (1u << IG_ORIGIN_AUTH));
	assert_int_equal(pol.crowdsec.min_prefix_v4, 16);
	assert_int_equal(pol.crowdsec.min_prefix_v6, 32);
	assert_string_equal(pol.crowdsec.machine_id, "");
	ig_policy_free(&pol);

	snprintf(text, sizeof(text), GEN "[crowdsec]\nlapi_url = https://lapi.example:8080/\n"
		 "bouncer_key_file = %s\nmachine_id = mail1\npassword_file = %s\n"
		 "pull_interval = 2s\nscopes = range\norigins = cscli, crowdsec ,lists\n"
		 "push = manual\nmin_prefix_v4 = 20\nmin_prefix_v6 = 48\nca_file = %s\n"
		 "cert_file = %s\nkey_file = %s\n", cs_secret(), cs_secret(), cs_secret(),
		 cs_secret(), cs_secret());
	assert_int_equal(load(text, &pol, &d), 0);
	assert_string_equal(pol.crowdsec.machine_id, "mail1");
	assert_string_equal(pol.crowdsec.password, "0123456789abcdef0123");
	assert_int_equal(pol.crowdsec.pull_interval_ns, 2000000000ull);
	assert_int_equal(pol.crowdsec.scopes, IG_CS_SCOPE_RANGE);
	assert_string_equal(pol.crowdsec.origins, "cscli,crowdsec,lists");
	assert_int_equal(pol.crowdsec.push, 1u << IG_ORIGIN_MANUAL);
	assert_int_equal(pol.crowdsec.min_prefix_v4, 20);
	assert_int_equal(pol.crowdsec.min_prefix_v6, 48);
	assert_string_equal(pol.crowdsec.key_file, cs_secret());
	ig_policy_free(&pol);

	/* "origins =" and "push =" name nothing: every origin, push nothing */
	snprintf(text, sizeof(text), GEN "[crowdsec]\nlapi_url = http://127.0.0.1:8080/\n"
		 "bouncer_key_file = %s\norigins =\npush =\n", cs_secret());
	assert_int_equal(load(text, &pol, &d), 0);
	assert_string_equal(pol.crowdsec.origins, "");
	assert_int_equal(pol.crowdsec.push, 0);
	ig_policy_free(&pol);
}

/* [agent] audit_interval: 1h unless given, a duration, or off (0); any
 * other word is refused on its line, naming both forms. */
static void test_audit_interval(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_equal(load(GEN, &pol, &d), 0);
	assert_int_equal(pol.agent.audit_interval_ns, 3600ull * 1000000000ull);
	ig_policy_free(&pol);
	assert_int_equal(load(GEN "[agent]\naudit_interval = 2s\n", &pol, &d), 0);
	assert_int_equal(pol.agent.audit_interval_ns, 2000000000ull);
	ig_policy_free(&pol);
	assert_int_equal(load(GEN "[agent]\naudit_interval = off\n", &pol, &d), 0);
	assert_int_equal(pol.agent.audit_interval_ns, 0);
	ig_policy_free(&pol);
	reject(GEN "[agent]\naudit_interval = banana\n", 4,
	       "audit_interval must be a duration (30s, 10m, 1h, 1d) or off, not 'banana'");
	reject(GEN "[agent]\naudit_interval = Off\n", 4, "or off, not 'Off'");
	/* "off" is no word of other durations */
	reject(GEN "[auth]\napi_key = 0123456789abcdef\nblock = off\n", 5, "is not a duration");
}

/* Each bad [crowdsec] is refused on its line, naming the problem. */
static void test_crowdsec_rejects(void **state)
{
	char dir[] = "/tmp/igcsbad-XXXXXX", wide[128], text[1024];
	static const struct {
		const char *body; /* after "[crowdsec]\nbouncer_key_file = K\n" (lines 3, 4) */
		int line;
		const char *part;
	} bad[] = {
		{ "", 3, "[crowdsec] needs 'lapi_url" },
		{ "lapi_url = ftp://x/\n", 5, "lapi_url must be an http:// or https:// URL" },
		{ "lapi_url = http://\n", 5, "lapi_url must be an http:// or https:// URL" },
		{ "lapi_url = http://a b/\n", 5, "lapi_url must be an http:// or https:// URL" },
		{ "lapi_url = http://x/\nmachine_id = mail1\n", 6, "machine_id needs 'password_file" },
		{ "lapi_url = http://x/\nmachine_id = mail 1\n", 6, "machine_id must be 1 to 63" },
		{ "lapi_url = http://x/\npull_interval = 2h\n", 6, "pull_interval can be at most 1h" },
		{ "lapi_url = http://x/\npull_interval = 500ms\n", 6, "is not a duration" },
		{ "lapi_url = http://x/\nscopes = ip, country\n", 6,
		  "scopes lists ip or range, not 'country'" },
		{ "lapi_url = http://x/\nscopes =\n", 6, "scopes must name ip, range or both" },
		{ "lapi_url = http://x/\npush = fleet\n", 6,
		  "push lists manual, auto or auth, not 'fleet'" },
		{ "lapi_url = http://x/\norigins = cscli, my origin\n", 6,
		  "origins must list names" },
		{ "lapi_url = http://x/\nmin_prefix_v4 = 0\n", 6, "min_prefix_v4 must be 1-32" },
		{ "lapi_url = http://x/\nmin_prefix_v6 = 129\n", 6, "min_prefix_v6 must be 1-128" },
		{ "lapi_url = http://x/\nca_file = /etc/hostname\n", 6,
		  "ca_file needs an https:// lapi_url" },
		{ "lapi_url = https://x/\ncert_file = /etc/hostname\n", 6,
		  "cert_file and key_file go together" },
		{ "lapi_url = https://x/\nca_file = /nonexistent/ca.pem\n", 6,
		  "No such file or directory" },
		{ "lapi_url = http://x/\nbouncer_key = 0123456789abcdef\n", 6,
		  "unknown key 'bouncer_key' in [crowdsec]" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), GEN "[crowdsec]\nbouncer_key_file = %s\n%s",
			 cs_secret(), bad[i].body);
		reject(text, bad[i].line, bad[i].part);
	}
	/* no key at all; a secret file others can read; a private key others can read */
	reject(GEN "[crowdsec]\nlapi_url = http://x/\n", 3, "needs 'bouncer_key_file");
	assert_non_null(mkdtemp(dir));
	secret_at(dir, "wide", "0123456789abcdef\n", 0644, wide, sizeof(wide));
	snprintf(text, sizeof(text), GEN "[crowdsec]\nlapi_url = http://x/\nbouncer_key_file = %s\n",
		 wide);
	reject(text, 5, "is readable or writable by group or others (mode 0644)");
	snprintf(text, sizeof(text), GEN "[crowdsec]\nlapi_url = https://x/\nbouncer_key_file = %s\n"
		 "cert_file = %s\nkey_file = %s\n", cs_secret(), cs_secret(), wide);
	reject(text, 7, "(mode 0644): chmod 0600 it");
	unlink(wide);
	rmdir(dir);
}

/* ---- the key table (user/lib/policy_keys.c) ---- */

static int is_list(enum ig_key_type t)
{
	return t == IG_KEY_IFACES || t == IG_KEY_CIDRS;
}

/* Every row is complete and consistent, and (section, name) is unique. */
static void test_key_table(void **state)
{
	const struct ig_policy_section *secs;
	const struct ig_policy_key *k;
	size_t n, nsec;

	(void)state;
	k = ig_policy_keys(&n);
	secs = ig_policy_sections(&nsec);
	assert_int_equal(nsec, IG_SEC_COUNT);
	assert_true(n > 0 && n <= IG_POLICY_KEYS_MAX);
	for (size_t s = 0; s < nsec; s++) {
		assert_non_null(secs[s].name);
		assert_true(secs[s].help && *secs[s].help);
	}
	assert_string_equal(secs[IG_SEC_PORT].name, "port");
	for (size_t i = 0; i < n; i++) {
		size_t s;

		assert_true(k[i].name && *k[i].name);
		assert_true(k[i].help && *k[i].help);
		assert_true(k[i].example && *k[i].example);
		assert_true((unsigned int)k[i].type < IG_KEY_NTYPES);
		for (s = 0; s < nsec && strcmp(secs[s].name, k[i].section); s++)
			;
		assert_true(s < nsec); /* a known section */
		assert_int_equal(k[i].once, !is_list(k[i].type));
		/* the [port N] keys keep their line per port, the others in the parser */
		assert_int_equal(k[i].line_off >= 0, s == IG_SEC_PORT);
		assert_ptr_equal(ig_policy_key_find(k[i].section, k[i].name), &k[i]);
		for (size_t j = 0; j < i; j++)
			assert_false(!strcmp(k[i].section, k[j].section) &&
				     !strcmp(k[i].name, k[j].name));
		switch (k[i].type) {
		case IG_KEY_ENUM:
			assert_non_null(k[i].values);
			assert_non_null(k[i].values[0].name);
			assert_non_null(k[i].values[1].name); /* a choice */
			/* fall through */
		case IG_KEY_UINT:
			assert_true(k[i].size == 1 || k[i].size == 2 || k[i].size == 4 ||
				    k[i].size == 8);
			assert_true(k[i].min <= k[i].max || k[i].type == IG_KEY_ENUM);
			break;
		case IG_KEY_DURATION:
		case IG_KEY_RATE:
			assert_true(k[i].type == IG_KEY_RATE ? k[i].off2 != 0 : k[i].off2 == 0);
			break;
		case IG_KEY_SECRET:
		case IG_KEY_SECRET_FILE: {
			/* the other form of the same secret, into the same field */
			const struct ig_policy_key *p;

			/* a secret taken from a file only ([crowdsec]) has no inline form */
			if (k[i].type == IG_KEY_SECRET_FILE && !k[i].pair)
				break;
			p = ig_policy_key_find(k[i].section, k[i].pair);
			assert_non_null(p);
			assert_int_equal(p->type + k[i].type, IG_KEY_SECRET + IG_KEY_SECRET_FILE);
			assert_int_equal(p->off, k[i].off);
			assert_string_equal(p->pair, k[i].name);
			break;
		}
		default:
			break;
		}
	}
}

/* Each once-only key, given twice, is reported on the repeat. */
static void test_keys_once(void **state)
{
	const struct ig_policy_key *k;
	char text[256], want[96];
	size_t n;

	(void)state;
	k = ig_policy_keys(&n);
	for (size_t i = 0; i < n; i++) {
		if (!k[i].once)
			continue;
		if (!strcmp(k[i].section, "general"))
			snprintf(text, sizeof(text), GEN "%s = %s\n%s = %s\n", k[i].name,
				 k[i].example, k[i].name, k[i].example);
		else
			snprintf(text, sizeof(text), GEN "[%s%s]\n%s = %s\n%s = %s\n", k[i].section,
				 strcmp(k[i].section, "port") ? "" : " 993", k[i].name,
				 k[i].example, k[i].name, k[i].example);
		snprintf(want, sizeof(want), "'%s' given twice (first on line %d)", k[i].name,
			 !strcmp(k[i].section, "general") ? 3 : 4);
		reject(text, !strcmp(k[i].section, "general") ? 4 : 5, want);
	}
}

/* An unknown key's message lists exactly the table's keys of its section. */
static void test_known_keys_message(void **state)
{
	const struct ig_policy_section *secs;
	const struct ig_policy_key *k;
	char text[128], want[512];
	size_t n, nsec;

	(void)state;
	k = ig_policy_keys(&n);
	secs = ig_policy_sections(&nsec);
	for (size_t s = 0; s < nsec; s++) {
		size_t used = 0;
		int port = s == IG_SEC_PORT;

		used += (size_t)snprintf(want, sizeof(want), "unknown key 'colour' in [%s%s] (known: ",
					 secs[s].name, port ? " 993" : "");
		for (size_t i = 0, first = 1; i < n; i++) {
			if (strcmp(k[i].section, secs[s].name))
				continue;
			used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
						 first ? "" : ", ", k[i].name);
			first = 0;
		}
		snprintf(want + used, sizeof(want) - used, ")");
		snprintf(text, sizeof(text), GEN "[%s%s]\ncolour = blue\n", secs[s].name,
			 port ? " 993" : "");
		reject(text, 4, want);
	}
}

/* Each row's example value is accepted (in a section that needs it). */
static void test_key_examples(void **state)
{
	const struct ig_policy_key *k;
	struct ig_policy pol;
	struct ig_diag d;
	char text[512];
	size_t n;

	(void)state;
	k = ig_policy_keys(&n);
	for (size_t i = 0; i < n; i++) {
		const char *sec = k[i].section, *name = k[i].name;

		/* the examples of secrets, interfaces and TLS files name what only a
		 * real host has */
		if (k[i].type == IG_KEY_SECRET || k[i].type == IG_KEY_SECRET_FILE ||
		    k[i].type == IG_KEY_IFACES ||
		    (!strcmp(sec, "crowdsec") && k[i].type == IG_KEY_PATH))
			continue;
		if (!strcmp(sec, "port") && !strcmp(name, "protocol"))
			snprintf(text, sizeof(text), GEN "attach = tc\n[port 993]\naction = starttls\n"
				 "rate = 5/1m\nburst = 5/1m\n%s = %s\n", name, k[i].example);
		else if (!strcmp(sec, "port"))
			snprintf(text, sizeof(text), GEN "[port 993]\n%s%s%s%s = %s\n",
				 strcmp(name, "action") ? "action = ratelimit\n" : "",
				 strcmp(name, "rate") && strcmp(name, "action") ?
					 "rate = 5/1m\n" : "",
				 strcmp(name, "burst") ? "burst = 5/1m\n" : "", name, k[i].example);
		else if (!strcmp(sec, "crowdsec"))
			snprintf(text, sizeof(text), GEN "[crowdsec]\n%sbouncer_key_file = %s\n"
				 "%s%s%s = %s\n",
				 strcmp(name, "lapi_url") ? "lapi_url = http://127.0.0.1:8080/\n" : "",
				 cs_secret(), strcmp(name, "machine_id") ? "" : "password_file = ",
				 strcmp(name, "machine_id") ? "" : cs_secret_line(), name, k[i].example);
		else
			snprintf(text, sizeof(text), GEN "[%s]\n%s%s = %s\n", sec,
				 strcmp(sec, "auth") ? "" : "api_key = 0123456789abcdef\n", name,
				 k[i].example);
		if (!strcmp(sec, "general"))
			snprintf(text, sizeof(text), GEN "%s = %s\n", name, k[i].example);
		if (load(text, &pol, &d) != 0) {
			ig_diag_print(&d, stderr);
			fail_msg("%s.%s = %s refused", sec, name, k[i].example);
		}
		ig_policy_free(&pol);
	}
}

#ifndef IG_EXAMPLE_POLICY
#define IG_EXAMPLE_POLICY "scripts/imapguard.conf.example"
#endif

#ifndef IG_README
#define IG_README "README.md"
#endif

/*
 * Mark in shown[] (indexed as the key table) every key that `path` shows,
 * failing on a key the table lacks: a setting is a line "key = value", or
 * "#key = value" for an optional one left off; "[section]" or "#[section]"
 * opens a section; ';' starts a note. ini_only: only the lines inside
 * ```ini blocks count (the README); otherwise every line must be a
 * setting, a section or a note (the example policy).
 */
static void keys_shown(const char *path, int ini_only, int *shown)
{
	const struct ig_policy_key *k;
	int lineno = 0, in_ini = 0;
	char line[1024], sec[32] = "";
	size_t n;
	FILE *f;

	k = ig_policy_keys(&n);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *eq;
		const struct ig_policy_key *row;

		lineno++;
		if (ini_only && !strncmp(line, "```", 3)) {
			in_ini = !in_ini && !strncmp(line, "```ini", 6);
			sec[0] = '\0';
			continue;
		}
		if (ini_only && !in_ini)
			continue;
		s += strspn(s, " \t");
		if (*s == '#')
			s++;
		if (*s == '[') {
			size_t len = strcspn(s + 1, " \t]");

			assert_true(len < sizeof(sec));
			memcpy(sec, s + 1, len);
			sec[len] = '\0';
			continue;
		}
		eq = strchr(s, '=');
		if (*s == ';' || *s == '\n' || !*s)
			continue;
		if (!eq && ini_only)
			continue;
		if (!eq)
			fail_msg("%s:%d: neither a setting, a section nor a note", path, lineno);
		while (eq > s && (eq[-1] == ' ' || eq[-1] == '\t'))
			eq--;
		*eq = '\0';
		row = ig_policy_key_find(sec, s);
		if (!row)
			fail_msg("%s:%d: key '%s' in [%s] is not in the table", path, lineno, s, sec);
		shown[row - k] = 1;
	}
	fclose(f);
}

/* The shipped example policy shows every key of the table and no other;
 * as shipped (the '#' settings off) it parses, but for its interface. */
/* action = starttls: the protocol from the port or the key, rate allowed */
static void test_starttls_ports(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	if (load(GEN "attach = tc\n[port 143]\naction = starttls\n[port 110]\naction = starttls\n"
		 "rate = 5/1m\n[port 587]\naction = starttls\n[port 2143]\naction = starttls\n"
		 "protocol = pop3\n", &pol, &d) != 0) {
		ig_diag_print(&d, stderr);
		fail_msg("starttls policy refused");
	}
	assert_int_equal(pol.n_ports, 4);
	assert_int_equal(pol.ports[0].action, IG_ACT_STARTTLS);
	assert_int_equal(pol.ports[0].tls_proto, IG_TLS_IMAP);
	assert_int_equal(pol.ports[1].tls_proto, IG_TLS_POP3);
	assert_int_equal(pol.ports[1].rate_count, 5);
	assert_int_equal(pol.ports[2].tls_proto, IG_TLS_SUBMISSION);
	assert_int_equal(pol.ports[3].tls_proto, IG_TLS_POP3);
	assert_string_equal(ig_action_name(pol.ports[0].action), "starttls");
	ig_policy_free(&pol);
}

static void test_example_policy(void **state)
{
	int shown[IG_POLICY_KEYS_MAX] = { 0 };
	const struct ig_policy_key *k;
	struct ig_policy pol;
	struct ig_diag d = {};
	size_t n;

	(void)state;
	k = ig_policy_keys(&n);
	keys_shown(IG_EXAMPLE_POLICY, 0, shown);
	for (size_t i = 0; i < n; i++)
		if (!shown[i])
			fail_msg("%s does not show [%s] %s", IG_EXAMPLE_POLICY, k[i].section,
				 k[i].name);

	ig_policy_load(IG_EXAMPLE_POLICY, &pol, &d);
	for (int i = 0; i < d.n; i++)
		if (!strstr(d.msgs[i], "unknown interface 'eth0'"))
			fail_msg("%s", d.msgs[i]);
	ig_diag_free(&d);
	ig_policy_free(&pol);
}

/* The README's policy reference (its ```ini blocks) shows every key of the
 * table, and no key the table lacks: a new row without its documentation
 * fails here, as does documentation of a key that is gone. */
static void test_readme_reference(void **state)
{
	int shown[IG_POLICY_KEYS_MAX] = { 0 };
	const struct ig_policy_key *k;
	size_t n;

	(void)state;
	k = ig_policy_keys(&n);
	keys_shown(IG_README, 1, shown);
	for (size_t i = 0; i < n; i++)
		if (!shown[i])
			fail_msg("%s: no ```ini block shows [%s] %s (%s)", IG_README, k[i].section,
				 k[i].name, k[i].help);
}

/* The key lists of messages (ig_policy_key_names) are the table's rows, in
 * its order, filtered by section and type; too small a buffer says so. */
static void test_key_names(void **state)
{
	const struct ig_policy_section *secs;
	const struct ig_policy_key *k;
	char got[2048], want[2048], tiny[8]; /* every key of every section fits */
	size_t n, nsec;

	(void)state;
	k = ig_policy_keys(&n);
	secs = ig_policy_sections(&nsec);
	for (size_t s = 0; s <= nsec; s++) {
		for (int t = -1; t < IG_KEY_NTYPES; t++) {
			unsigned int types = t < 0 ? IG_KEY_TYPES_ALL : IG_KEY_TYPE_BIT(t);
			const char *sec = s < nsec ? secs[s].name : NULL;
			size_t used = 0;

			want[0] = '\0';
			for (size_t i = 0; i < n; i++)
				if ((!sec || !strcmp(k[i].section, sec)) &&
				    (types & IG_KEY_TYPE_BIT(k[i].type)))
					used += (size_t)snprintf(want + used, sizeof(want) - used,
								 "%s%s", used ? " / " : "", k[i].name);
			assert_int_equal(ig_policy_key_names(sec, types, " / ", got, sizeof(got)),
					 (int)used);
			assert_string_equal(got, want);
		}
	}
	ig_policy_key_names("auth", IG_KEY_TYPE_BIT(IG_KEY_SECRET_FILE), ", ", got, sizeof(got));
	assert_string_equal(got, "api_key_file");
	assert_int_equal(ig_policy_key_names("general", IG_KEY_TYPES_ALL, ", ", tiny, sizeof(tiny)),
			 -ENOSPC);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

/* What warnings and check -j need: the line of each key and list entry,
 * a diagnostic in its parts; a BOM skipped, a directory refused as one. */
static void test_lines_and_parts(void **state)
{
	struct ig_policy pol;
	struct ig_diag d;

	(void)state;
	assert_int_equal(load("\xef\xbb\xbf" GEN "default = deny\n[port 143]\naction = drop\n"
			      "[allow]\ncidr = 198.18.1.0/24\ncidr = 198.18.2.0/24, 198.18.3.0/24\n"
			      "[agent]\npolicy_listen = off\n",
			      &pol, &d),
			 0);
	assert_int_equal(ig_policy_key_line(&pol, "general", "interfaces"), 0); /* a list */
	assert_int_equal(ig_policy_key_line(&pol, "general", "default"), 3);
	assert_int_equal(ig_policy_key_line(&pol, "agent", "policy_listen"), 10);
	assert_int_equal(ig_policy_key_line(&pol, "agent", "metrics_listen"), 0);
	assert_int_equal(ig_policy_key_line(&pol, "port", "action"), 0); /* per port */
	assert_int_equal(pol.allow.n, 3);
	assert_int_equal(pol.allow.lines[0], 7);
	assert_int_equal(pol.allow.lines[1], 8);
	assert_int_equal(pol.allow.lines[2], 8);
	ig_policy_free(&pol);
	assert_null(pol.allow.lines);

	assert_int_not_equal(load(GEN "[port 143]\naction = dorp\n", &pol, &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.entries[0].file, path);
	assert_int_equal(d.entries[0].line, 4);
	assert_non_null(strstr(d.entries[0].text, "action must be"));
	assert_non_null(strstr(d.msgs[0], ":4: action must be"));
	ig_diag_free(&d);
	ig_policy_free(&pol);

	memset(&d, 0, sizeof(d));
	assert_int_equal(ig_policy_load("/tmp", &pol, &d), -EISDIR);
	assert_int_equal(d.entries[0].line, 0);
	assert_string_equal(d.entries[0].text, "is a directory; name the policy file in it");
	ig_diag_free(&d);
	ig_policy_free(&pol);
}

int main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_full_policy),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_audit_interval),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_burst_keys),
		cmocka_unit_test(test_auth_keys),
		cmocka_unit_test(test_auth_block),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_inline_secret_noted),
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_keys_once),
		cmocka_unit_test(test_known_keys_message),
		cmocka_unit_test(test_key_examples),
		cmocka_unit_test(test_starttls_ports),
		cmocka_unit_test(test_example_policy),
		cmocka_unit_test(test_crowdsec_keys),
		cmocka_unit_test(test_crowdsec_rejects),
		cmocka_unit_test(test_readme_reference),
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_lines_and_parts),
	};
	/* the fixed tests, then one per bad file: counted, not written down,
	 * so adding a test cannot overwrite the first reject */
	struct CMUnitTest tests[sizeof(fixed) / sizeof(fixed[0]) + sizeof(rejects) / sizeof(rejects[0])];
	size_t n;

	memset(tests, 0, sizeof(tests)); /* no setup or teardown for the rejects */
	for (n = 0; n < sizeof(fixed) / sizeof(fixed[0]); n++)
		tests[n] = fixed[n];

	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		/* one test per bad file, named after the error it must give */
		tests[n].name = rejects[i].part;
		tests[n].test_func = test_reject;
		tests[n].initial_state = (void *)&rejects[i];
		n++;
	}
	return _cmocka_run_group_tests("policy", tests, n, NULL, NULL);
}
