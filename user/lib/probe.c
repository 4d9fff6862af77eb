// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probes of mail listeners: bounded connections (plain or OpenSSL), the
 * IMAP/POP3/SMTP dialogues up to and past STARTTLS, TLS versions one at a
 * time, the certificate, and the STARTTLS injection check. See probe.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "imapguard.h"
#include "log.h"
#include "names.h"
#include "probe.h"

/* One connection: its socket, its TLS session once there is one, and the
 * bytes read but not yet used. */
struct conn {
	int fd;
	int cancel_fd; /* readable: give up now (ig_probe_ctx.cancel_fd); 0: none */
	SSL *ssl;
	uint64_t deadline; /* CLOCK_MONOTONIC ns */
	char buf[IG_PROBE_LINE_MAX];
	size_t len;
	size_t total; /* bytes read so far, at most IG_PROBE_CONN_MAX */
};

static const int tls_versions[IG_TLS_NVERSIONS] = {
	TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION,
};

const char *ig_tls_version_name(unsigned int bit)
{
	return bit == IG_TLS_1_0 ? "TLSv1.0" : bit == IG_TLS_1_1 ? "TLSv1.1" :
	       bit == IG_TLS_1_2 ? "TLSv1.2" : bit == IG_TLS_1_3 ? "TLSv1.3" : "?";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left before the deadline, at least 1; 0 when it passed. */
static int left_ms(uint64_t deadline)
{
	uint64_t now = now_ns();

	if (now >= deadline)
		return 0;
	return (int)((deadline - now + 999999) / 1000000);
}

/* Wait for events on c's socket until the deadline; a readable cancel_fd
 * ends the wait at once (-ECANCELED), so a run can be stopped mid-probe. */
static int wait_fd(const struct conn *c, short events, uint64_t deadline)
{
	struct pollfd p[2] = { { .fd = c->fd, .events = events },
			       { .fd = c->cancel_fd > 0 ? c->cancel_fd : -1, .events = POLLIN } };
	int ms, rc;

	do {
		ms = left_ms(deadline);
		if (!ms)
			return -ETIMEDOUT;
		rc = poll(p, 2, ms);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (p[1].revents)
		return -ECANCELED;
	return rc ? 0 : -ETIMEDOUT;
}

/* Say what failed, once: the first failure is the one that matters. */
static int fail(struct ig_probe *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ig_probe *r, int err, const char *fmt, ...)
{
	char what[128];
	va_list ap;

	if (r->failed[0])
		return err;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->failed, sizeof(r->failed), "%s: %s", what,
		 err == -ETIMEDOUT ? "timed out" :
		 err == -EMSGSIZE ? "answer too long" :
		 err == -EPROTO ? "protocol error" :
		 err == -ECONNRESET ? "connection closed" :
		 err == -ECANCELED ? "cancelled" : strerror(-err));
	return err;
}

static int conn_open(struct conn *c, const struct sockaddr_storage *dst,
		     const struct sockaddr_storage *src, uint64_t deadline, int cancel_fd)
{
	socklen_t alen = dst->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
						     sizeof(struct sockaddr_in6);
	int err = 0;
	socklen_t elen = sizeof(err);

	memset(c, 0, sizeof(*c));
	c->deadline = deadline;
	c->cancel_fd = cancel_fd;
	c->fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (src && bind(c->fd, (const struct sockaddr *)src, alen))
		return -errno;
	if (connect(c->fd, (const struct sockaddr *)dst, alen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	err = wait_fd(c, POLLOUT, deadline);
	if (err)
		return err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen))
		return -errno;
	return -err;
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd > 0)
		close(c->fd);
	c->fd = -1;
}

/* Wait as OpenSSL asks after a call that returned rc. 0: call again. */
static int tls_wait(struct conn *c, int rc, uint64_t deadline)
{
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c, POLLOUT, deadline);
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	default:
		ERR_clear_error();
		return -EPROTO;
	}
}

/* Read more bytes into the buffer, until `deadline`. */
static int conn_fill(struct conn *c, uint64_t deadline)
{
	size_t room = sizeof(c->buf) - c->len;
	int err;

	if (!room)
		return -EMSGSIZE;
	if (c->total >= IG_PROBE_CONN_MAX)
		return -EMSGSIZE;
	for (;;) {
		ssize_t n;

		if (c->ssl) {
			int rc = SSL_read(c->ssl, c->buf + c->len, (int)room);

			if (rc > 0) {
				n = rc;
			} else {
				err = tls_wait(c, rc, deadline);
				if (err)
					return err;
				continue;
			}
		} else {
			n = recv(c->fd, c->buf + c->len, room, 0);
			if (n == 0)
				return -ECONNRESET;
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					return -errno;
				err = wait_fd(c, POLLIN, deadline);
				if (err)
					return err;
				continue;
			}
		}
		c->len += (size_t)n;
		c->total += (size_t)n;
		return 0;
	}
}

/* One line (without its CR LF) into line[IG_PROBE_LINE_MAX]; its length. */
static int conn_line(struct conn *c, char *line)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl) {
			size_t n = (size_t)(nl - c->buf), used = n + 1;

			if (n && c->buf[n - 1] == '\r')
				n--;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return (int)n;
		}
		int err = conn_fill(c, c->deadline);

		if (err)
			return err;
	}
}

static int conn_write(struct conn *c, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t k;
		int err;

		if (c->ssl) {
			int rc = SSL_write(c->ssl, s + off, (int)(n - off));

			if (rc > 0) {
				off += (size_t)rc;
				continue;
			}
			err = tls_wait(c, rc, c->deadline);
		} else {
			k = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
			if (k >= 0) {
				off += (size_t)k;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			err = wait_fd(c, POLLOUT, c->deadline);
		}
		if (err)
			return err;
	}
	return 0;
}

/* The TLS handshake on c with ctx; bytes read in clear before it are
 * dropped (they belong to no TLS record). */
static int conn_tls(struct conn *c, SSL_CTX *ctx, const char *sni)
{
	int rc, err;

	c->len = 0;
	c->ssl = SSL_new(ctx);
	if (!c->ssl)
		return -ENOMEM;
	SSL_set_fd(c->ssl, c->fd);
	if (sni)
		SSL_set_tlsext_host_name(c->ssl, sni);
	while ((rc = SSL_connect(c->ssl)) != 1) {
		err = tls_wait(c, rc, c->deadline);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Read one reply: its lines until the last (ig_mail_reply), the
 * capabilities they advertise ORed into *caps (when caps is not NULL),
 * parsed by `parse`. POP3 multi-line answers (CAPA) end with ".".
 * 0 for a success, -EACCES for a refusal, or the read's error.
 */
static int reply(struct conn *c, enum ig_mail_proto proto, const char *tag, int pop3_multi,
		 unsigned int (*parse)(const char *, size_t), unsigned int *caps)
{
	char line[IG_PROBE_LINE_MAX];
	int n, first = 1;

	for (int i = 0; i < 1000; i++) {
		n = conn_line(c, line);
		if (n < 0)
			return n;
		if (parse && caps)
			*caps |= parse(line, (size_t)n);
		if (proto == IG_PROTO_POP3 && pop3_multi && !first) {
			if (n == 1 && line[0] == '.')
				return 0;
			continue;
		}
		switch (ig_mail_reply(proto, tag, line, (size_t)n)) {
		case IG_REPLY_MORE:
			break;
		case IG_REPLY_OK:
			if (!(proto == IG_PROTO_POP3 && pop3_multi))
				return 0;
			first = 0;
			break;
		case IG_REPLY_FAIL:
			return -EACCES;
		default:
			return -EPROTO;
		}
	}
	return -EMSGSIZE;
}

/* The greeting: a line (IMAP, POP3) or a 220 reply (SMTP), kept in r. */
static int greeting(struct conn *c, enum ig_mail_proto proto, struct ig_probe *r,
		    unsigned int *caps)
{
	char line[IG_PROBE_LINE_MAX];
	int n = conn_line(c, line);

	if (n < 0)
		return n;
	if (!r->greeting[0])
		ig_text_safe(line, (size_t)n, r->greeting, sizeof(r->greeting));
	if (proto == IG_PROTO_IMAP) {
		if (caps)
			*caps |= ig_imap_caps(line, (size_t)n);
		return ig_mail_reply(proto, NULL, line, (size_t)n) == IG_REPLY_OK ? 0 : -EPROTO;
	}
	switch (ig_mail_reply(proto, NULL, line, (size_t)n)) {
	case IG_REPLY_OK:
		return 0;
	case IG_REPLY_MORE: /* SMTP 220- : the rest of the greeting */
		return reply(c, proto, NULL, 0, NULL, NULL);
	default:
		return -EPROTO;
	}
}

/* Ask for the capabilities: IMAP CAPABILITY, POP3 CAPA, SMTP EHLO. */
static int capabilities(struct conn *c, enum ig_mail_proto proto, const char *tag,
			unsigned int *caps)
{
	char cmd[32];
	int err;

	switch (proto) {
	case IG_PROTO_IMAP:
		snprintf(cmd, sizeof(cmd), "%s CAPABILITY\r\n", tag);
		err = conn_write(c, cmd);
		err = err ? err : reply(c, proto, tag, 0, ig_imap_caps, caps);
		break;
	case IG_PROTO_POP3:
		err = conn_write(c, "CAPA\r\n");
		err = err ? err : reply(c, proto, NULL, 1, ig_pop3_capa, caps);
		break;
	default:
		err = conn_write(c, "EHLO imapguard-audit.invalid\r\n");
		err = err ? err : reply(c, proto, NULL, 0, ig_smtp_ehlo, caps);
		break;
	}
	if (!err)
		*caps |= IG_CAP_SEEN;
	return err;
}

/* Ask for TLS (STARTTLS, STLS), with `inject` pipelined in the same
 * write. 0 when the server agreed. */
static int starttls(struct conn *c, enum ig_mail_proto proto, const char *inject)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "%s%s",
		 proto == IG_PROTO_IMAP ? "s1 STARTTLS\r\n" :
		 proto == IG_PROTO_POP3 ? "STLS\r\n" : "STARTTLS\r\n", inject ? inject : "");
	int err = conn_write(c, cmd);

	return err ? err : reply(c, proto, "s1", 0, NULL, NULL);
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* The session's version, cipher and certificate into r. */
static void session_facts(const struct ig_probe_ctx *pc, const struct conn *c,
			  struct ig_probe *r)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	long v = SSL_get_verify_result(c->ssl);

	r->tls = 1;
	snprintf(r->tls_version, sizeof(r->tls_version), "%s", SSL_get_version(c->ssl));
	snprintf(r->cipher, sizeof(r->cipher), "%s", SSL_get_cipher_name(c->ssl));
	r->name_match = -1;
	if (!cert) {
		r->cert_verify = X509_V_ERR_UNSPECIFIED;
		snprintf(r->cert_verify_str, sizeof(r->cert_verify_str), "no certificate");
		return;
	}
	r->cert_not_after = asn1_unix(X509_get0_notAfter(cert));
	r->cert_verify = (int)v;
	snprintf(r->cert_verify_str, sizeof(r->cert_verify_str), "%s",
		 X509_verify_cert_error_string(v));
	if (pc->hostname)
		r->name_match = X509_check_host(cert, pc->hostname, 0, 0, NULL) == 1 ||
				X509_check_ip_asc(cert, pc->hostname, 0) == 1;
	X509_free(cert);
}

/* Connect, and for a STARTTLS port read the greeting and ask for TLS
 * (SMTP says EHLO first): the connection is ready for the handshake. */
static int to_handshake(struct conn *c, const struct sockaddr_storage *dst,
			const struct sockaddr_storage *src, struct ig_probe *r,
			uint64_t deadline, const char *inject, int cancel_fd)
{
	unsigned int caps = 0;
	int err = conn_open(c, dst, src, deadline, cancel_fd);

	if (err || r->implicit_tls)
		return err;
	err = greeting(c, r->proto, r, NULL);
	if (!err && r->proto == IG_PROTO_SMTP)
		err = capabilities(c, r->proto, NULL, &caps);
	return err ? err : starttls(c, r->proto, inject);
}

/* The first connection: greeting, capabilities, TLS, capabilities again. */
static int probe_main(const struct ig_probe_ctx *pc, const struct sockaddr_storage *dst,
		      const struct sockaddr_storage *src, struct ig_probe *r, uint64_t deadline)
{
	struct conn c;
	int err = conn_open(&c, dst, src, deadline, pc->cancel_fd);

	if (err)
		goto out;
	if (r->implicit_tls) {
		err = conn_tls(&c, pc->main_ctx, pc->hostname);
		if (err)
			goto out_tls;
		session_facts(pc, &c, r);
		err = greeting(&c, r->proto, r, &r->caps_tls);
		err = err ? fail(r, err, "greeting") : capabilities(&c, r->proto, "c1", &r->caps_tls);
		if (err)
			fail(r, err, "capabilities");
		goto out;
	}
	err = greeting(&c, r->proto, r, &r->caps);
	if (err) {
		fail(r, err, "greeting");
		goto out;
	}
	err = capabilities(&c, r->proto, "c1", &r->caps);
	if (err) {
		fail(r, err, "capabilities");
		goto out;
	}
	if (!(r->caps & IG_CAP_STARTTLS))
		goto out; /* nothing more to see: no-starttls */
	err = starttls(&c, r->proto, NULL);
	if (err) {
		fail(r, err, "STARTTLS advertised, but the command");
		goto out;
	}
	err = conn_tls(&c, pc->main_ctx, pc->hostname);
	if (err)
		goto out_tls;
	session_facts(pc, &c, r);
	err = capabilities(&c, r->proto, "c2", &r->caps_tls);
	if (err)
		fail(r, err, "capabilities inside TLS");
	goto out;
out_tls:
	fail(r, err, "TLS handshake");
out:
	if (err && !r->failed[0])
		fail(r, err, "connect to %s port %u", r->dst, ntohs(((struct sockaddr_in *)dst)->sin_port));
	conn_close(&c);
	return err;
}

/* Out of time, or told to stop: no answer, unlike a refusal. */
static int gave_up(int err)
{
	return err == -ETIMEDOUT || err == -ECANCELED;
}

/* Each TLS version alone: which ones the server accepts. A refused
 * handshake is an answer; running out of time is not. */
static int probe_versions(const struct ig_probe_ctx *pc, const struct sockaddr_storage *dst,
			  const struct sockaddr_storage *src, struct ig_probe *r,
			  uint64_t deadline)
{
	for (int i = 0; i < IG_TLS_NVERSIONS; i++) {
		struct conn c;
		int err = to_handshake(&c, dst, src, r, deadline, NULL, pc->cancel_fd);

		if (!err)
			err = conn_tls(&c, pc->ver_ctx[i], pc->hostname);
		conn_close(&c);
		if (!err)
			r->versions |= 1u << i;
		else if (gave_up(err))
			return fail(r, err, "%s handshake", ig_tls_version_name(1u << i));
	}
	return 0;
}

/* CVE-2011-0411: a command sent in the same write as STARTTLS, in clear,
 * must not be answered inside TLS. Any application data arriving before
 * we have said anything inside TLS is such an answer. */
static int probe_injection(const struct ig_probe_ctx *pc, const struct sockaddr_storage *dst,
			   const struct sockaddr_storage *src, struct ig_probe *r,
			   uint64_t deadline)
{
	const char *inject = r->proto == IG_PROTO_IMAP ? "s2 NOOP\r\n" :
			     r->proto == IG_PROTO_POP3 ? "NOOP\r\n" : "RSET\r\n";
	uint64_t until = now_ns() + IG_PROBE_INJECT_WAIT_MS * 1000000ull;
	struct conn c;
	int err = to_handshake(&c, dst, src, r, deadline, inject, pc->cancel_fd);

	r->injection = -1;
	if (gave_up(err)) {
		conn_close(&c);
		return fail(r, err, "STARTTLS injection check");
	}
	if (!err)
		err = conn_tls(&c, pc->main_ctx, pc->hostname);
	if (err) { /* refused, or the handshake failed: nothing answered inside TLS */
		r->injection = gave_up(err) ? -1 : 0;
		conn_close(&c);
		return gave_up(err) ? fail(r, err, "STARTTLS injection check") : 0;
	}
	err = conn_fill(&c, until < deadline ? until : deadline);
	r->injection = err == 0;
	conn_close(&c);
	return 0;
}

int ig_probe_run(const struct ig_probe_ctx *pc, const struct sockaddr_storage *dst,
		 const struct sockaddr_storage *src, struct ig_probe *r)
{
	struct ig_probe keep = *r;
	uint64_t deadline = now_ns() + pc->timeout_ns;
	unsigned int port = ntohs(dst->ss_family == AF_INET ?
				  ((const struct sockaddr_in *)dst)->sin_port :
				  ((const struct sockaddr_in6 *)dst)->sin6_port);
	int err;

	memset(r, 0, sizeof(*r));
	memcpy(r->src, keep.src, sizeof(r->src));
	memcpy(r->dst, keep.dst, sizeof(r->dst));
	r->same_addr = keep.same_addr;
	r->injection = -1;
	r->name_match = -1;
	r->proto = ig_mail_port_proto(port, &r->implicit_tls);
	if (r->proto == IG_PROTO_NONE)
		return -ENOTSUP;
	if (pc->until_ns && pc->until_ns < deadline)
		deadline = pc->until_ns; /* the whole run's bound */
	err = probe_main(pc, dst, src, r, deadline);
	if (!err && r->tls)
		err = probe_versions(pc, dst, src, r, deadline);
	if (!err && r->tls && !r->implicit_tls)
		err = probe_injection(pc, dst, src, r, deadline);
	r->done = !err;
	return err;
}

static SSL_CTX *new_ctx(const char *ca_file, int version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *vp;

	if (!ctx)
		return NULL;
	/* the probe's eyes only: see what an obsolete server still offers */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
	SSL_CTX_set_min_proto_version(ctx, version ? version : TLS1_VERSION);
	SSL_CTX_set_max_proto_version(ctx, version ? version : TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* judged after, not refused */
	vp = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_NO_CHECK_TIME);
	if (ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 :
		      SSL_CTX_set_default_verify_paths(ctx) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int ig_probe_ctx_init(struct ig_probe_ctx *pc, const char *ca_file, const char *hostname,
		      uint64_t timeout_ns)
{
	memset(pc, 0, sizeof(*pc));
	pc->hostname = hostname;
	pc->timeout_ns = timeout_ns;
	pc->main_ctx = new_ctx(ca_file, 0);
	for (int i = 0; pc->main_ctx && i < IG_TLS_NVERSIONS; i++) {
		pc->ver_ctx[i] = new_ctx(ca_file, tls_versions[i]);
		if (!pc->ver_ctx[i])
			break;
	}
	if (!pc->main_ctx || !pc->ver_ctx[IG_TLS_NVERSIONS - 1]) {
		unsigned long e = ERR_get_error();

		ig_err("TLS: cannot set up the probe's contexts%s%s: %s", ca_file ? " with CA file " : "",
		       ca_file ? ca_file : "", e ? ERR_reason_error_string(e) : "out of memory");
		ERR_clear_error();
		return e ? -EINVAL : -ENOMEM;
	}
	return 0;
}

void ig_probe_ctx_free(struct ig_probe_ctx *pc)
{
	SSL_CTX_free(pc->main_ctx);
	for (int i = 0; i < IG_TLS_NVERSIONS; i++)
		SSL_CTX_free(pc->ver_ctx[i]);
	memset(pc, 0, sizeof(*pc));
}

/* A local IPv6 address other than ::1 (global or ULA, not tentative),
 * for a probe of ::1. 0, or -ENOENT. */
static int other_v6(struct in6_addr *out)
{
	struct ifaddrs *ifa, *i;
	int rc = -ENOENT;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i && rc; i = i->ifa_next) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)i->ifa_addr;

		if (!a || a->sin6_family != AF_INET6 || IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
		    IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr))
			continue;
		*out = a->sin6_addr;
		rc = 0;
	}
	freeifaddrs(ifa);
	return rc;
}

int ig_probe_endpoints(const struct ig_listener *l, struct sockaddr_storage *dst,
		       struct sockaddr_storage *src, struct ig_probe *r)
{
	struct sockaddr_in *d4 = (struct sockaddr_in *)dst, *s4 = (struct sockaddr_in *)src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)dst, *s6 = (struct sockaddr_in6 *)src;

	memset(dst, 0, sizeof(*dst));
	memset(src, 0, sizeof(*src));
	r->same_addr = 0;
	if (l->family == AF_INET || (l->family == AF_INET6 && l->wildcard && !l->v6only)) {
		/* a dual-stack :: takes IPv4 too: 127.0.0.254 -> 127.0.0.1
		 * needs no second IPv6 address. 127.0.0.254 (IG_PROBE_SRC4) is
		 * the address imapguard's burst counter never counts */
		d4->sin_family = s4->sin_family = AF_INET;
		d4->sin_port = htons(l->port);
		if (l->family == AF_INET && !l->wildcard)
			memcpy(&d4->sin_addr, l->addr, 4);
		else
			d4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_addr.s_addr = htonl(d4->sin_addr.s_addr == htonl(IG_PROBE_SRC4) ?
						    IG_PROBE_SRC4 - 1 : IG_PROBE_SRC4);
		inet_ntop(AF_INET, &d4->sin_addr, r->dst, sizeof(r->dst));
		inet_ntop(AF_INET, &s4->sin_addr, r->src, sizeof(r->src));
		return 0;
	}
	if (l->family != AF_INET6)
		return -EAFNOSUPPORT;
	d6->sin6_family = s6->sin6_family = AF_INET6;
	d6->sin6_port = htons(l->port);
	if (l->wildcard)
		d6->sin6_addr = in6addr_loopback;
	else
		memcpy(&d6->sin6_addr, l->addr, 16);
	if (!IN6_IS_ADDR_LOOPBACK(&d6->sin6_addr))
		s6->sin6_addr = in6addr_loopback;
	else if (other_v6(&s6->sin6_addr))
		r->same_addr = 1, s6->sin6_addr = in6addr_loopback; /* said in the output */
	inet_ntop(AF_INET6, &d6->sin6_addr, r->dst, sizeof(r->dst));
	inet_ntop(AF_INET6, &s6->sin6_addr, r->src, sizeof(r->src));
	return 0;
}
