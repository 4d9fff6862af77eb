/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Probes of one mail listener over TCP, with OpenSSL for TLS: what it
 * advertises before and after TLS, which TLS versions it accepts, its
 * certificate, and whether it answers a command pipelined behind STARTTLS
 * inside the TLS session (CVE-2011-0411). Read-only (no login is tried),
 * every read bounded in bytes (IG_PROBE_LINE_MAX a line,
 * IG_PROBE_CONN_MAX a connection) and all of a listener's connections
 * by one deadline. Run from inside the listener's network namespace.
 */
#ifndef IG_PROBE_H
#define IG_PROBE_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "listeners.h"
#include "mailproto.h"

#define IG_PROBE_LINE_MAX 4096	   /* bytes of one protocol line */
#define IG_PROBE_CONN_MAX 65536	   /* bytes read on one connection */
#define IG_PROBE_INJECT_WAIT_MS 800 /* how long an injected answer may take */

/* TLS protocol versions (bits of struct ig_probe.versions). */
#define IG_TLS_1_0 (1u << 0)
#define IG_TLS_1_1 (1u << 1)
#define IG_TLS_1_2 (1u << 2)
#define IG_TLS_1_3 (1u << 3)
#define IG_TLS_NVERSIONS 4

/* What every probe shares: the TLS contexts (ig_probe_setup). */
struct ig_probe_ctx {
	const char *hostname; /* the name the certificate must hold; NULL: not checked */
	uint64_t timeout_ns;  /* all of one listener's connections */
	int cancel_fd;	      /* readable: every wait ends, -ECANCELED; 0: none */
	uint64_t until_ns;    /* CLOCK_MONOTONIC: no probe runs past it; 0: none */
	void *main_ctx;	      /* SSL_CTX *: any version, security level 0 */
	void *ver_ctx[IG_TLS_NVERSIONS]; /* SSL_CTX *: one version each */
};

/* What a probe found. Text fields are in their safe form (names.h). */
struct ig_probe {
	enum ig_mail_proto proto;
	int implicit_tls;		   /* TLS from the first byte (993, 995, 465) */
	char src[INET6_ADDRSTRLEN];	   /* the probe's source address */
	char dst[INET6_ADDRSTRLEN];	   /* the address it connected to */
	int same_addr;			   /* src == the listener's address: no other found */
	int done;			   /* 1: every check ran; 0: see `failed` */
	char failed[160];		   /* what could not be checked, and why */
	char greeting[128];		   /* the server's first line */
	unsigned int caps;		   /* IG_CAP_* before TLS (not implicit TLS) */
	unsigned int caps_tls;		   /* IG_CAP_* inside TLS */
	int tls;			   /* 1: a TLS session was made */
	char tls_version[16];		   /* of that session: "TLSv1.3" */
	char cipher[64];		   /* its cipher suite, OpenSSL's name */
	unsigned int versions;		   /* IG_TLS_* accepted, each tried alone */
	int64_t cert_not_after;		   /* unix seconds; 0: no certificate */
	int cert_verify;		   /* X509_V_OK (0) or an X509_V_ERR_* code */
	char cert_verify_str[96];	   /* its text */
	int name_match;			   /* 1, 0, or -1: not checked */
	int injection;			   /* 1: answered inside TLS; 0: not; -1: not tried */
};

/*
 * Make the TLS contexts: certificates verified against `ca_file` (PEM, a
 * CA bundle) or, when NULL, the system store; validity dates left to the
 * caller (cert_not_after), so an expired certificate still shows whether
 * its chain is sound; OpenSSL's security level 0 and every cipher, for
 * these contexts only, so a server's obsolete TLS versions can be seen.
 * Returns 0, or -EINVAL (an unreadable CA file) or -ENOMEM, said through
 * ig_err; free with ig_probe_ctx_free in either case.
 */
int ig_probe_ctx_init(struct ig_probe_ctx *pc, const char *ca_file, const char *hostname,
		      uint64_t timeout_ns);
void ig_probe_ctx_free(struct ig_probe_ctx *pc);

/*
 * Where to connect to listener l, and from where, in the calling thread's
 * namespace: the listener's own address, or loopback for a wildcard one
 * (IPv4 for a dual-stack ::), and a source address other than it
 * (127.0.0.254, IG_PROBE_SRC4, for IPv4, or 127.0.0.253 for a listener on
 * that very address; ::1, or another local IPv6 address when the
 * destination is ::1) since Dovecot counts a client whose address is its
 * own as secured and shows it what a remote client never sees. These are
 * the shapes imapguard's burst counter never counts (IG_PROBE_SRC4). Sets
 * r->src, r->dst, r->same_addr. Returns 0, or -EAFNOSUPPORT.
 */
int ig_probe_endpoints(const struct ig_listener *l, struct sockaddr_storage *dst,
		       struct sockaddr_storage *src, struct ig_probe *r);

/*
 * Probe the listener at dst (its port decides the protocol:
 * ig_mail_port_proto) from src, every connection within pc->timeout_ns
 * and before pc->until_ns.
 * Fills r (zeroed first but for src, dst, same_addr). Returns 0 when every
 * check ran (r->done 1); -ETIMEDOUT, -ECANCELED (pc->cancel_fd turned
 * readable), -EMSGSIZE, -EPROTO, -ECONNRESET or a
 * connect error when one could not (r->done 0, r->failed says which and
 * why); -ENOTSUP for a port of no known protocol. Says nothing through
 * the print hook. OpenSSL writes with write(2): the calling thread must
 * block or ignore SIGPIPE, or a server closing at the wrong time ends the
 * process.
 */
int ig_probe_run(const struct ig_probe_ctx *pc, const struct sockaddr_storage *dst,
		 const struct sockaddr_storage *src, struct ig_probe *r);

/* Name of a version bit: "TLSv1.0" .. "TLSv1.3". */
const char *ig_tls_version_name(unsigned int bit);

#endif
