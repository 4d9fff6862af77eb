// SPDX-License-Identifier: GPL-2.0-only
/*
 * The STARTTLS guard's scanner (bpf/starttls_scan.h) in the kernel: the
 * verifier accepts it run from bpf_loop, one byte per iteration, with the
 * flow's state in a map value (tests/bpf/starttls_scan.bpf.c, a harness,
 * not the hook, which is not chosen yet); and BPF_PROG_TEST_RUN of TCP
 * frames, one chunk each, gives the cases. Every case asserts the
 * frame's verdict (TC_ACT_OK or TC_ACT_SHOT) and the harness's counters
 * (bytes scanned, frames passed, frames dropped).
 */
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <stdint.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "starttls_scan.h"
#include "starttls_scan.skel.h"
#include "tap.h"

enum { C_BYTES, C_PASS, C_DROP, C_UNPARSED, C_NR }; /* the harness's ig_tls_count */
#define PAYLOAD_MAX 1400
#define VERIFIED_BUDGET 250000u /* a quarter of the verifier's limit, as test_verifier */

static struct starttls_scan_bpf *skel;
static int prog_fd, flow_fd, count_fd;
static int family = 4;

static uint64_t counter(uint32_t i)
{
	uint64_t v = 0;

	bpf_map_lookup_elem(count_fd, &i, &v);
	return v;
}

/* A new flow of protocol PROTO, and counters from 0. */
static void flow_reset(int proto)
{
	struct ig_tls_scan s;
	uint64_t zero = 0;
	uint32_t k = 0;

	ig_tls_scan_init(&s, (__u8)proto);
	bpf_map_update_elem(flow_fd, &k, &s, BPF_ANY);
	for (uint32_t i = 0; i < C_NR; i++)
		bpf_map_update_elem(count_fd, &i, &zero, BPF_ANY);
}

static struct ig_tls_scan flow_state(void)
{
	struct ig_tls_scan s = { 0 };
	uint32_t k = 0;

	bpf_map_lookup_elem(flow_fd, &k, &s);
	return s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet, IPv4 or IPv6 (family), TCP to port 143, and the payload. */
static size_t frame(uint8_t *f, const void *payload, size_t len)
{
	size_t l3 = 14, ip = family == 4 ? 20 : 40, tcp = l3 + ip;

	memset(f, 0, tcp + 20);
	put16(f + 12, family == 4 ? 0x0800 : 0x86dd);
	if (family == 4) {
		f[l3] = 0x45;
		put16(f + l3 + 2, (uint16_t)(20 + 20 + len));
		f[l3 + 8] = 64;
		f[l3 + 9] = 6; /* TCP */
		inet_pton(AF_INET, "198.18.0.5", f + l3 + 12);
		inet_pton(AF_INET, "198.18.0.1", f + l3 + 16);
	} else {
		f[l3] = 0x60;
		put16(f + l3 + 4, (uint16_t)(20 + len));
		f[l3 + 6] = 6;
		f[l3 + 7] = 64;
		inet_pton(AF_INET6, "2001:db8::5", f + l3 + 8);
		inet_pton(AF_INET6, "2001:db8::1", f + l3 + 24);
	}
	put16(f + tcp, 40000);
	put16(f + tcp + 2, 143);
	f[tcp + 12] = 5 << 4;
	f[tcp + 13] = 0x18; /* PSH, ACK */
	memcpy(f + tcp + 20, payload, len);
	return tcp + 20 + len;
}

/* One chunk through the program: its return value, or -1. */
static long chunk(const void *payload, size_t len)
{
	uint8_t f[PAYLOAD_MAX + 128];
	size_t n = frame(f, payload, len);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (__u32)n);

	if (len > PAYLOAD_MAX || bpf_prog_test_run_opts(prog_fd, &o))
		return -1;
	return (long)o.retval;
}

static long chunk_str(const char *s)
{
	return chunk(s, strlen(s));
}

static void verb_of(const struct ig_tls_scan *s, char *out)
{
	for (unsigned int i = 0; i < IG_TLS_VERB_MAX; i++)
		out[i] = ig_tls_verb_char(s, i);
	out[IG_TLS_VERB_MAX] = 0;
}

/* One line alone passes: verdict and counters. */
static void passes(int proto, const char *line)
{
	flow_reset(proto);
	tap(chunk_str(line) == TC_ACT_OK && counter(C_PASS) == 1 && counter(C_DROP) == 0 &&
		    counter(C_BYTES) == strlen(line),
	    "proto %d: %.*s passes (pass %llu, drop %llu, bytes %llu)", proto,
	    (int)strcspn(line, "\r\n"), line, (unsigned long long)counter(C_PASS),
	    (unsigned long long)counter(C_DROP), (unsigned long long)counter(C_BYTES));
}

/* One line alone is dropped, naming VERB and USER. */
static void drops(int proto, const char *line, const char *verb, const char *user)
{
	struct ig_tls_scan s;
	char v[IG_TLS_VERB_MAX + 1];
	long rc;

	flow_reset(proto);
	rc = chunk_str(line);
	s = flow_state();
	verb_of(&s, v);
	tap(rc == TC_ACT_SHOT && counter(C_DROP) == 1 && counter(C_PASS) == 0 &&
		    counter(C_BYTES) == strlen(line) && s.phase == IG_TLS_VIOLATED &&
		    !strcmp(v, verb) && s.user_len == strlen(user) &&
		    !memcmp(s.user, user, s.user_len),
	    "proto %d: %.*s dropped (rc %ld, drop %llu), verb %s, user '%.*s'", proto,
	    (int)strcspn(line, "\r\n"), line, rc, (unsigned long long)counter(C_DROP), v,
	    s.user_len, (const char *)s.user);
}

static void run_commands(void)
{
	static const char *const imap_ok[] = { "a CAPABILITY\r\n", "a NOOP\r\n", "a LOGOUT\r\n",
					       "a ID (\"name\" \"x\")\r\n", "a STARTTLS\r\n",
					       "a capability\r\n" };
	static const char *const pop3_ok[] = { "CAPA\r\n", "QUIT\r\n", "NOOP\r\n", "STLS\r\n" };
	static const char *const smtp_ok[] = { "EHLO c.example\r\n", "HELO c\r\n", "NOOP\r\n",
					       "RSET\r\n", "QUIT\r\n", "STARTTLS\r\n" };

	for (size_t i = 0; i < sizeof(imap_ok) / sizeof(*imap_ok); i++)
		passes(IG_TLS_IMAP, imap_ok[i]);
	for (size_t i = 0; i < sizeof(pop3_ok) / sizeof(*pop3_ok); i++)
		passes(IG_TLS_POP3, pop3_ok[i]);
	for (size_t i = 0; i < sizeof(smtp_ok) / sizeof(*smtp_ok); i++)
		passes(IG_TLS_SUBMISSION, smtp_ok[i]);

	drops(IG_TLS_IMAP, "a LOGIN alice secret\r\n", "LOGIN", "alice");
	drops(IG_TLS_IMAP, "a login alice secret\r\n", "LOGIN", "alice");
	drops(IG_TLS_IMAP, "a AUTHENTICATE PLAIN\r\n", "AUTHENTICATE", "");
	drops(IG_TLS_IMAP, "a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n", "AUTHENTICATE", "");
	drops(IG_TLS_IMAP, "a SELECT INBOX\r\n", "SELECT", "");
	drops(IG_TLS_POP3, "USER alice\r\n", "USER", "alice");
	drops(IG_TLS_POP3, "PASS secret\r\n", "PASS", "");
	drops(IG_TLS_POP3, "APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n", "APOP", "alice");
	drops(IG_TLS_POP3, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "AUTH", "");
	drops(IG_TLS_SUBMISSION, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "AUTH", "");
	drops(IG_TLS_SUBMISSION, "MAIL FROM:<a@example.org>\r\n", "MAIL", "");
	drops(IG_TLS_SUBMISSION, "RCPT TO:<b@example.org>\r\n", "RCPT", "");
	drops(IG_TLS_SUBMISSION, "DATA\r\n", "DATA", "");
	drops(IG_TLS_SUBMISSION, "BDAT 10 LAST\r\n", "BDAT", "");
	/* pipelined: the harmless first command does not carry the second */
	drops(IG_TLS_IMAP, "a CAPABILITY\r\nb LOGIN alice secret\r\n", "LOGIN", "alice");
	/* literals: the user name from one, the password's never */
	drops(IG_TLS_IMAP, "a LOGIN {5}\r\nalice {6}\r\nsecret\r\n", "LOGIN", "alice");
	passes(IG_TLS_IMAP, "a ID (\"name\" {15+}\r\nb LOGIN x y\r\n)\r\nc NOOP\r\n");
}

/* "a LOGIN alice secret\r\n" cut at every byte into two chunks */
static void run_split(void)
{
	static const char line[] = "a LOGIN alice secret\r\n";
	size_t n = sizeof(line) - 1, bad = 0;

	for (size_t cut = 1; cut < n; cut++) {
		long rc1, rc2;
		struct ig_tls_scan s;
		/* the violation is the SP after LOGIN, byte 7 */
		long want1 = cut <= 7 ? TC_ACT_OK : TC_ACT_SHOT;

		flow_reset(IG_TLS_IMAP);
		rc1 = chunk(line, cut);
		rc2 = chunk(line + cut, n - cut);
		s = flow_state();
		if (rc1 != want1 || rc2 != TC_ACT_SHOT || counter(C_BYTES) != n ||
		    counter(C_PASS) != (want1 == TC_ACT_OK) ||
		    counter(C_DROP) != 1 + (want1 == TC_ACT_SHOT) || s.user_len != 5 ||
		    memcmp(s.user, "alice", 5) != 0) {
			tap(0, "cut at %zu: rc %ld %ld, pass %llu drop %llu", cut, rc1, rc2,
			    (unsigned long long)counter(C_PASS),
			    (unsigned long long)counter(C_DROP));
			bad++;
		}
	}
	tap(bad == 0, "LOGIN cut at each of %zu places: the chunk with its SP and all after dropped, "
		      "alice named", n - 1);
}

static void run_starttls(void)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc };
	struct ig_tls_scan s;
	long rc1, rc2, rc3;

	/* accepted: TLS, after which nothing is inspected */
	flow_reset(IG_TLS_IMAP);
	rc1 = chunk_str("a STARTTLS\r\n");
	rc2 = chunk(hello, sizeof(hello));
	rc3 = chunk_str("b LOGIN alice secret\r\n");
	s = flow_state();
	tap(rc1 == TC_ACT_OK && rc2 == TC_ACT_OK && rc3 == TC_ACT_OK && s.phase == IG_TLS_TLS &&
		    counter(C_PASS) == 3 && counter(C_BYTES) == 12 + 1,
	    "STARTTLS, handshake: TLS; the chunk after it is not scanned (bytes %llu)",
	    (unsigned long long)counter(C_BYTES));

	/* CVE-2011-0411: STARTTLS and a command in one chunk */
	flow_reset(IG_TLS_IMAP);
	rc1 = chunk_str("a STARTTLS\r\nb LOGIN alice secret\r\n");
	s = flow_state();
	tap(rc1 == TC_ACT_SHOT && s.reason == IG_TLS_R_INJECTION && counter(C_DROP) == 1,
	    "STARTTLS + LOGIN in one chunk: dropped as an injection (reason %u)", s.reason);

	/* refused: the next chunk is a command again */
	flow_reset(IG_TLS_IMAP);
	rc1 = chunk_str("a STARTTLS\r\n");
	rc2 = chunk_str("b NOOP\r\n");
	rc3 = chunk_str("c LOGIN alice secret\r\n");
	s = flow_state();
	tap(rc1 == TC_ACT_OK && rc2 == TC_ACT_OK && rc3 == TC_ACT_SHOT &&
		    s.reason == IG_TLS_R_COMMAND && counter(C_PASS) == 2 && counter(C_DROP) == 1,
	    "a refused STARTTLS: NOOP passes, LOGIN is dropped");
}

/* A 64 KiB line in 500-byte chunks: the chunk with byte 1,025 and all after dropped */
static void run_long_line(void)
{
	char buf[500];
	size_t total = (size_t)64 * 1024, sent = 0, passed = 0, dropped = 0, first_drop = 0;

	flow_reset(IG_TLS_IMAP);
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "a ID (\"", 7); /* NOLINT(bugprone-not-null-terminated-result): bytes */
	for (int i = 0; sent < total && i < 200; i++) {
		size_t n = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
		long rc = chunk(buf, n);

		if (rc == TC_ACT_OK)
			passed++;
		else if (rc == TC_ACT_SHOT && !dropped++)
			first_drop = sent;
		sent += n;
		memset(buf, 'x', 7);
	}
	tap(sent == total && passed == 2 && first_drop == 1000 &&
		    counter(C_DROP) == dropped && counter(C_BYTES) == total &&
		    flow_state().reason == IG_TLS_R_LONG_LINE,
	    "64 KiB line: %zu chunks passed, the first dropped at byte %zu, %zu dropped", passed,
	    first_drop, dropped);
}

static void run_unparsed(void)
{
	uint8_t f[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = sizeof(f));

	flow_reset(IG_TLS_IMAP);
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	tap(bpf_prog_test_run_opts(prog_fd, &o) == 0 && o.retval == TC_ACT_SHOT &&
		    counter(C_UNPARSED) == 1 && counter(C_BYTES) == 0,
	    "a frame that is not TCP over IP is refused and counted");
}

static void run_verifier(void)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (!tap(bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0, "program info read"))
		return;
	printf("# ig_tls_scan_tc xlated %u insns, verified %u insns\n",
	       info.xlated_prog_len / 8, info.verified_insns);
	tap(info.verified_insns > 0 && info.verified_insns <= VERIFIED_BUDGET,
	    "the scanner in bpf_loop: %u verified instructions, within %u", info.verified_insns,
	    VERIFIED_BUDGET);
}

int main(void)
{
	int err;

	libbpf_set_print(NULL);
	skel = starttls_scan_bpf__open_and_load();
	err = skel ? 0 : -errno;
	if (!tap(skel != NULL, "the scanner's harness loads: the verifier accepts it (err %d)", err))
		return tap_done();
	prog_fd = bpf_program__fd(skel->progs.ig_tls_scan_tc);
	flow_fd = bpf_map__fd(skel->maps.ig_tls_flow);
	count_fd = bpf_map__fd(skel->maps.ig_tls_count);

	if (tap_case("verifier"))
		run_verifier();
	if (tap_case("commands"))
		run_commands();
	if (tap_case("commands6")) {
		family = 6;
		run_commands();
		family = 4;
	}
	if (tap_case("split"))
		run_split();
	if (tap_case("starttls"))
		run_starttls();
	if (tap_case("long_line"))
		run_long_line();
	if (tap_case("unparsed"))
		run_unparsed();
	starttls_scan_bpf__destroy(skel);
	return tap_done();
}
