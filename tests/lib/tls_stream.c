// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_stream: an IMAP-like STARTTLS server and its client, for checking
 * that the STARTTLS guard (bpf/starttls_guard.h) never alters a stream
 * (tests/netns/test_starttls_bytes.sh) and for measuring what it costs
 * after TLS (tests/bench/bench_starttls.sh). Python's TLS is too slow for
 * hundreds of megabytes; this is OpenSSL, as the audit uses.
 *
 *   tls_stream server -l ADDR -p PORT -c CERT -k KEY [-n CONNS] [-t SECONDS]
 *   tls_stream client -a ADDR -p PORT [-n CONNS] [-b UP] [-d DOWN]
 *                     [-C COMMANDS] [-s SEED] [-t SECONDS]
 *   tls_stream client -L -a ADDR -p PORT [-n SESSIONS] [-t SECONDS]
 *
 * One connection: the server greets; the client sends COMMANDS harmless
 * commands (CAPABILITY, NOOP, ID with and without a literal, in upper and
 * lower case), in blocks of 64 that alternate between one command at a
 * time, each written in two parts split at a byte boundary that moves on
 * with every command, and 64 pipelined commands written in odd sizes
 * (1, 2, 3, 5, ... 509 bytes) with TCP_NODELAY; then STARTTLS, the TLS
 * handshake, a 32-byte header (UP, DOWN, the down stream's seed and the
 * connection's number I, big-endian u64), UP bytes of a seeded xorshift
 * stream, to which the server answers the SHA-256 of what it received and
 * DOWN bytes of the stream seeded as the header says. UP and DOWN take a
 * K, M or G suffix (powers of 1024).
 *
 * Both sides print one line per connection, in the same format, of what
 * they sent or received:
 *   conn I pre BYTES SHA256 up BYTES SHA256 down BYTES SHA256
 * so the two outputs are equal exactly when no byte was lost, duplicated,
 * reordered or changed in either direction. The client also prints
 *   rate I UP_MIB_PER_S
 * (UP bytes from the first after the header to the server's digest) and
 * exits 1 when the server's digest or the down stream differ from what it
 * expects, 2 on any other failure. The server serves CONNS connections one
 * after the other (0: until killed) and prints "listening" once ready;
 * a failed connection prints "accept N error WHAT" (N counts the
 * server's connections from 0) and the server goes on.
 * Every socket read and write times out after SECONDS (default 30).
 *
 * With -L the client runs SESSIONS short login sessions one after the
 * other, as a mail client does (the connection rate of
 * tests/bench/bench_starttls.sh): the greeting, CAPABILITY, STARTTLS, the
 * TLS handshake, then inside TLS "LOGIN user secret" and LOGOUT, each
 * awaiting its answer, and close. It prints
 *   sessions SESSIONS SECONDS SESSIONS_PER_S
 * and exits 2 on any failure. The server tells the two kinds apart by the
 * first byte after the handshake: a letter starts a command (the stream
 * header's first byte is UP's top byte, 0 below 2^56 bytes); it answers
 * LOGIN with OK and LOGOUT with BYE and OK, prints nothing for such a
 * session and ends it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536	/* bytes generated and hashed at a time */
#define LINE_MAX_LEN 4096 /* the server's command buffer */
#define BLOCK 64	/* commands per block, sequential or pipelined */

struct opts {
	const char *addr, *port, *cert, *key;
	int conns, timeout, commands, login;
	uint64_t up, down, seed;
};

/* what one side sent or received on one connection */
struct tally {
	uint64_t bytes;
	EVP_MD_CTX *md;
	char hex[2 * 32 + 1];
};

static void tally_init(struct tally *t)
{
	t->bytes = 0;
	t->md = EVP_MD_CTX_new();
	if (!t->md || !EVP_DigestInit_ex(t->md, EVP_sha256(), NULL)) {
		fprintf(stderr, "tls_stream: EVP_DigestInit failed\n");
		exit(2);
	}
}

static void tally_add(struct tally *t, const void *p, size_t n)
{
	EVP_DigestUpdate(t->md, p, n);
	t->bytes += n;
}

/* ends the digest: t->hex is its hex, raw (32 bytes) its bytes if given */
static void tally_end(struct tally *t, unsigned char *raw)
{
	unsigned char d[32];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(t->md, d, &n);
	EVP_MD_CTX_free(t->md);
	t->md = NULL;
	for (i = 0; i < 32; i++)
		snprintf(t->hex + (size_t)2 * i, 3, "%02x", d[i]);
	if (raw)
		memcpy(raw, d, 32);
}

static void print_conn(int i, struct tally *pre, struct tally *up, struct tally *down)
{
	printf("conn %d pre %llu %s up %llu %s down %llu %s\n", i, (unsigned long long)pre->bytes,
	       pre->hex, (unsigned long long)up->bytes, up->hex, (unsigned long long)down->bytes,
	       down->hex);
	fflush(stdout);
}

/* the seeded stream: xorshift64*, 8 bytes a step; n a multiple of 8 */
static void stream_fill(uint64_t *state, unsigned char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 8) {
		uint64_t x = *state;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*state = x;
		x *= 0x2545F4914F6CDD1DULL;
		memcpy(buf + i, &x, 8);
	}
}

static uint64_t stream_seed(uint64_t seed, int conn, int down)
{
	uint64_t s = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)conn << 32) ^ (uint64_t)down;

	return s ? s : 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_timeouts(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int ssl_write_all(SSL *ssl, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		int chunk = n > CHUNK ? CHUNK : (int)n, w = SSL_write(ssl, c, chunk);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int ssl_read_all(SSL *ssl, void *p, size_t n)
{
	char *c = p;

	while (n) {
		int chunk = n > CHUNK ? CHUNK : (int)n, r = SSL_read(ssl, c, chunk);

		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static void put_u64(unsigned char *b, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)v;
}

static uint64_t get_u64(const unsigned char *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* sends n bytes of the stream seeded s through ssl, in writes whose sizes
 * vary (records of many sizes, across the generator's blocks), and
 * tallies them */
static int send_stream(SSL *ssl, uint64_t s, uint64_t n, struct tally *t)
{
	static const size_t sizes[] = { CHUNK, 1, 4000, 16384, 777, 65536, 9 };
	static unsigned char buf[CHUNK];
	size_t pos = CHUNK;
	unsigned k = 0;

	while (n) {
		size_t c = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];

		if (pos == CHUNK) {
			stream_fill(&s, buf, CHUNK);
			pos = 0;
		}
		c = c < CHUNK - pos ? c : CHUNK - pos;
		c = c < n ? c : (size_t)n;
		tally_add(t, buf + pos, c);
		if (ssl_write_all(ssl, buf + pos, c))
			return -1;
		pos += c;
		n -= c;
	}
	return 0;
}

/* receives n bytes through ssl and tallies them; with w set, also
 * tallies into w the stream seeded s, which the sender was to send */
static int recv_stream(SSL *ssl, uint64_t n, struct tally *t, uint64_t s, struct tally *w)
{
	static unsigned char buf[CHUNK], exp[CHUNK];

	while (n) {
		size_t c = n > CHUNK ? CHUNK : (size_t)n;

		if (ssl_read_all(ssl, buf, c))
			return -1;
		tally_add(t, buf, c);
		if (w) {
			stream_fill(&s, exp, CHUNK);
			tally_add(w, exp, c);
		}
		n -= c;
	}
	return 0;
}

static SSL_CTX *tls_ctx(const struct opts *o, int server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx)
		return NULL;
	if (server && (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
		       SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* --- the server --- */

/* a command line's literal announcement at its end, "{N}" or "{N+}" before
 * the CRLF: N, or -1 when there is none */
static long literal_at_end(const char *line, size_t len)
{
	size_t i = len - 2; /* at the CRLF */
	long n = 0, mul = 1;

	if (len < 5 || line[i - 1] != '}')
		return -1;
	i--;
	if (line[i - 1] == '+')
		i--;
	while (i > 0 && isdigit((unsigned char)line[i - 1])) {
		n += (line[i - 1] - '0') * mul;
		mul *= 10;
		if (mul > 100000)
			return -1;
		i--;
	}
	return (i > 0 && line[i - 1] == '{' && mul > 1) ? n : -1;
}

/* answers one whole command; returns 1 for STARTTLS, 0 to go on, -1 to end */
static int answer(int fd, const char *cmd)
{
	char tag[64], verb[32], out[256];

	if (sscanf(cmd, "%63s %31[A-Za-z]", tag, verb) != 2)
		return -1;
	if (!strcasecmp(verb, "STARTTLS")) {
		snprintf(out, sizeof(out), "%s OK Begin TLS\r\n", tag);
		return write_all(fd, out, strlen(out)) ? -1 : 1;
	}
	if (!strcasecmp(verb, "CAPABILITY"))
		snprintf(out, sizeof(out), "* CAPABILITY IMAP4rev1 STARTTLS\r\n%s OK done\r\n", tag);
	else if (!strcasecmp(verb, "NOOP") || !strcasecmp(verb, "ID"))
		snprintf(out, sizeof(out), "%s OK done\r\n", tag);
	else
		return -1; /* the client sends nothing else */
	return write_all(fd, out, strlen(out)) ? -1 : 0;
}

/* the plaintext phase: every byte tallied into pre; 0 once STARTTLS was
 * answered, -1 on anything else. Reads no byte past STARTTLS's line: the
 * client sends its handshake only after the answer. */
static int serve_plain(int fd, struct tally *pre)
{
	static const char greet[] = "* OK [CAPABILITY IMAP4rev1 STARTTLS] tls_stream ready\r\n";
	char cmd[LINE_MAX_LEN], buf[4096];
	size_t len = 0;
	long literal = 0;

	if (write_all(fd, greet, sizeof(greet) - 1))
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf)), i;

		if (n <= 0)
			return -1;
		tally_add(pre, buf, (size_t)n);
		for (i = 0; i < n; i++) {
			int rc;

			if (len == sizeof(cmd) - 1)
				return -1;
			cmd[len++] = buf[i];
			if (literal > 0) {
				literal--;
				continue;
			}
			if (len < 2 || cmd[len - 2] != '\r' || cmd[len - 1] != '\n')
				continue;
			literal = literal_at_end(cmd, len);
			if (literal >= 0)
				continue; /* non-synchronizing only: no "+ go ahead" */
			literal = 0;
			cmd[len] = '\0';
			len = 0;
			rc = answer(fd, cmd);
			if (rc < 0 || (rc == 1 && i != n - 1))
				return -1; /* bytes after STARTTLS: not ours */
			if (rc == 1)
				return 0;
		}
	}
}

/* reads one line through ssl, to its LF, into line (NUL-terminated, cut
 * to size - 1); 0, or -1 on a read failure */
static int ssl_read_line(SSL *ssl, char *line, size_t size)
{
	size_t n = 0;
	char c = 0;

	while (c != '\n') {
		if (SSL_read(ssl, &c, 1) != 1)
			return -1;
		if (n < size - 1)
			line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

/* a login session inside TLS (-L): LOGIN gets OK, LOGOUT BYE and OK and
 * ends it; NULL, or what failed */
static const char *serve_login(SSL *ssl)
{
	char line[256], tag[64], verb[32], out[256];

	for (;;) {
		if (ssl_read_line(ssl, line, sizeof(line)) ||
		    sscanf(line, "%63s %31[A-Za-z]", tag, verb) != 2)
			return "login session";
		if (!strcasecmp(verb, "LOGOUT")) {
			snprintf(out, sizeof(out), "* BYE\r\n%s OK LOGOUT completed\r\n", tag);
			return ssl_write_all(ssl, out, strlen(out)) ? "logout" : NULL;
		}
		snprintf(out, sizeof(out), "%s %s\r\n", tag,
			 strcasecmp(verb, "LOGIN") ? "BAD unknown command" : "OK LOGIN completed");
		if (ssl_write_all(ssl, out, strlen(out)))
			return "login";
	}
}

static const char *serve_one(int fd, SSL_CTX *ctx)
{
	struct tally pre, up, down;
	unsigned char hdr[32] = { 0 }, digest[32];
	const char *err = NULL;
	SSL *ssl = NULL;
	int login = 0;

	tally_init(&pre);
	tally_init(&up);
	tally_init(&down);
	if (serve_plain(fd, &pre))
		err = "plaintext phase";
	else if (!(ssl = SSL_new(ctx)) || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1)
		err = "TLS handshake";
	else if (SSL_peek(ssl, hdr, 1) != 1)
		err = "first byte after the handshake";
	else if ((login = isalpha(hdr[0]) != 0))
		err = serve_login(ssl);
	else if (ssl_read_all(ssl, hdr, sizeof(hdr)))
		err = "header";
	else if (recv_stream(ssl, get_u64(hdr), &up, 0, NULL))
		err = "up stream";
	tally_end(&up, digest);
	if (!err && !login) {
		if (ssl_write_all(ssl, digest, sizeof(digest)))
			err = "digest";
		else if (send_stream(ssl, get_u64(hdr + 16), get_u64(hdr + 8), &down))
			err = "down stream";
		else if (SSL_read(ssl, hdr, 1) > 0)
			err = "bytes after the down stream";
	}
	tally_end(&pre, NULL);
	tally_end(&down, NULL);
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (!err && !login)
		print_conn((int)get_u64(hdr + 24), &pre, &up, &down);
	return err;
}

static int listen_on(const struct opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	int fd, one = 1;

	if (getaddrinfo(o->addr, o->port, &hints, &ai)) {
		fprintf(stderr, "tls_stream: bad address %s port %s\n", o->addr, o->port);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
			perror("tls_stream: bind/listen");
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

static int run_server(const struct opts *o)
{
	SSL_CTX *ctx = tls_ctx(o, 1);
	int lfd = ctx ? listen_on(o) : -1, i;

	if (lfd < 0)
		return 2;
	printf("listening on %s port %s\n", o->addr, o->port);
	fflush(stdout);
	for (i = 0; !o->conns || i < o->conns; i++) {
		int fd = accept(lfd, NULL, NULL);
		const char *err;

		if (fd < 0) {
			perror("tls_stream: accept");
			break;
		}
		set_timeouts(fd, o->timeout);
		err = serve_one(fd, ctx);
		if (err) {
			printf("accept %d error %s\n", i, err);
			fflush(stdout);
		}
		close(fd);
	}
	close(lfd);
	SSL_CTX_free(ctx);
	return 0;
}

/* --- the client --- */

/* command number k of the plaintext phase, tagged "a<k>", into out */
static size_t make_command(char *out, size_t size, int k)
{
	static const char *const forms[] = {
		"a%d CAPABILITY\r\n", "a%d NOOP\r\n", "a%d ID NIL\r\n",
		"a%d ID (\"name\" \"tls_stream\" \"version\" \"1\")\r\n",
		"a%d ID (\"name\" {10+}\r\ntls_stream)\r\n", "a%d noop\r\n", "a%d capability\r\n",
	};
	int n = snprintf(out, size, forms[k % (int)(sizeof(forms) / sizeof(forms[0]))], k);

	return n > 0 ? (size_t)n : 0;
}

/* reads one line, to its LF */
static int skip_line(int fd)
{
	char c = 0;

	while (c != '\n')
		if (read(fd, &c, 1) != 1)
			return -1;
	return 0;
}

/* reads lines until `tagged` tagged ones ("a..." lines) were seen */
static int await_tagged(int fd, int tagged)
{
	while (tagged > 0) {
		char c;

		if (read(fd, &c, 1) != 1)
			return -1;
		if (c == 'a')
			tagged--;
		if (c != '\n' && skip_line(fd))
			return -1;
	}
	return 0;
}

/* the plaintext phase of connection i: the greeting, o->commands
 * commands, STARTTLS; every byte sent tallied into pre */
static int client_plain(int fd, const struct opts *o, int i, struct tally *pre)
{
	static const size_t odd[] = { 1, 2, 3, 5, 7, 11, 13, 61, 127, 509 };
	static char batch[BLOCK * 64];
	char cmd[128];
	int k = 0, split = i * 7;

	if (skip_line(fd))
		return -1; /* the greeting: one untagged line */
	while (k < o->commands) {
		int end = k + BLOCK < o->commands ? k + BLOCK : o->commands, first = k;
		size_t blen = 0, off = 0, c = 0;

		if ((k / BLOCK) % 2 == 0) { /* one at a time, split in two */
			for (; k < end; k++) {
				size_t len = make_command(cmd, sizeof(cmd), k);
				size_t at = 1 + (size_t)split++ % (len - 1);

				tally_add(pre, cmd, len);
				if (write_all(fd, cmd, at) || write_all(fd, cmd + at, len - at) ||
				    await_tagged(fd, 1))
					return -1;
			}
			continue;
		}
		for (; k < end; k++) /* pipelined, in odd sizes */
			blen += make_command(batch + blen, sizeof(batch) - blen, k);
		tally_add(pre, batch, blen);
		while (off < blen) {
			size_t w = odd[c++ % (sizeof(odd) / sizeof(odd[0]))];

			w = w < blen - off ? w : blen - off;
			if (write_all(fd, batch + off, w))
				return -1;
			off += w;
		}
		if (await_tagged(fd, end - first))
			return -1;
	}
	snprintf(cmd, sizeof(cmd), "a%d STARTTLS\r\n", k);
	tally_add(pre, cmd, strlen(cmd));
	return write_all(fd, cmd, strlen(cmd)) || await_tagged(fd, 1) ? -1 : 0;
}

static int connect_to(const struct opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd;

	if (getaddrinfo(o->addr, o->port, &hints, &ai)) {
		fprintf(stderr, "tls_stream: bad address %s port %s\n", o->addr, o->port);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0) {
		set_timeouts(fd, o->timeout);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			perror("tls_stream: connect");
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

/* one connection: 0 as expected, 1 a digest differs, 2 a failure */
static int client_one(SSL_CTX *ctx, const struct opts *o, int i)
{
	struct tally pre, up, down, want;
	unsigned char hdr[32], digest[32], theirs[32];
	uint64_t s = stream_seed(o->seed, i, 0), ds = stream_seed(o->seed, i, 1);
	int fd = connect_to(o), rc = 2;
	SSL *ssl = NULL;
	double t0 = 0, t1 = 0;

	tally_init(&pre);
	tally_init(&up);
	tally_init(&down);
	tally_init(&want);
	put_u64(hdr, o->up);
	put_u64(hdr + 8, o->down);
	put_u64(hdr + 16, ds);
	put_u64(hdr + 24, (uint64_t)i);
	if (fd < 0 || client_plain(fd, o, i, &pre)) {
		fprintf(stderr, "tls_stream: conn %d: plaintext phase failed\n", i);
		goto out;
	}
	if (!(ssl = SSL_new(ctx)) || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1) {
		fprintf(stderr, "tls_stream: conn %d: TLS handshake failed\n", i);
		goto out;
	}
	t0 = now_s();
	if (ssl_write_all(ssl, hdr, sizeof(hdr)) || send_stream(ssl, s, o->up, &up) ||
	    ssl_read_all(ssl, theirs, sizeof(theirs))) {
		fprintf(stderr, "tls_stream: conn %d: up stream failed\n", i);
		goto out;
	}
	t1 = now_s();
	if (recv_stream(ssl, o->down, &down, ds, &want)) {
		fprintf(stderr, "tls_stream: conn %d: down stream failed\n", i);
		goto out;
	}
	rc = 0;
out:
	tally_end(&pre, NULL);
	tally_end(&up, digest);
	tally_end(&down, NULL);
	tally_end(&want, NULL);
	if (!rc) {
		print_conn(i, &pre, &up, &down);
		printf("rate %d %.1f\n", i, t1 > t0 ? (double)o->up / (t1 - t0) / 1048576.0 : 0.0);
		int up_bad = memcmp(digest, theirs, sizeof(digest)) != 0;
		int down_bad = strcmp(down.hex, want.hex) != 0;

		if (up_bad || down_bad) {
			printf("conn %d MISMATCH%s%s\n", i, up_bad ? " up" : "", down_bad ? " down" : "");
			rc = 1;
		}
		fflush(stdout);
	}
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* reads lines through ssl until one starts with TAG and a space */
static int ssl_await_tag(SSL *ssl, const char *tag)
{
	size_t n = strlen(tag);
	char line[256];

	do {
		if (ssl_read_line(ssl, line, sizeof(line)))
			return -1;
	} while (strncmp(line, tag, n) != 0 || line[n] != ' ');
	return 0;
}

/* one login session (-L): the greeting, CAPABILITY, STARTTLS, the TLS
 * handshake, LOGIN and LOGOUT inside TLS, each awaiting its answer, then
 * close; 0, or -1 on any failure */
static int client_session(SSL_CTX *ctx, const struct opts *o)
{
	static const char cap[] = "a1 CAPABILITY\r\n", stls[] = "a2 STARTTLS\r\n";
	static const char login[] = "a3 LOGIN user secret\r\n", logout[] = "a4 LOGOUT\r\n";
	int fd = connect_to(o), rc = -1;
	SSL *ssl = NULL;

	if (fd < 0 || skip_line(fd) || write_all(fd, cap, sizeof(cap) - 1) || await_tagged(fd, 1) ||
	    write_all(fd, stls, sizeof(stls) - 1) || await_tagged(fd, 1))
		goto out;
	if (!(ssl = SSL_new(ctx)) || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
		goto out;
	if (!ssl_write_all(ssl, login, sizeof(login) - 1) && !ssl_await_tag(ssl, "a3") &&
	    !ssl_write_all(ssl, logout, sizeof(logout) - 1) && !ssl_await_tag(ssl, "a4"))
		rc = 0;
out:
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* -L: o->conns login sessions one after the other, and their rate */
static int run_sessions(SSL_CTX *ctx, const struct opts *o)
{
	double t0 = now_s(), t;
	int i;

	for (i = 0; i < o->conns; i++)
		if (client_session(ctx, o)) {
			fprintf(stderr, "tls_stream: session %d failed\n", i);
			return 2;
		}
	t = now_s() - t0;
	printf("sessions %d %.3f %.1f\n", o->conns, t, t > 0 ? o->conns / t : 0.0);
	return 0;
}

static int run_client(const struct opts *o)
{
	SSL_CTX *ctx = tls_ctx(o, 0);
	int i, rc = 0;

	if (!ctx)
		return 2;
	if (o->login) {
		rc = run_sessions(ctx, o);
		SSL_CTX_free(ctx);
		return rc;
	}
	for (i = 0; i < (o->conns ? o->conns : 1) && rc != 2; i++) {
		int r = client_one(ctx, o, i);

		rc = r > rc ? r : rc;
	}
	SSL_CTX_free(ctx);
	return rc;
}

/* "8M" and the like: bytes, K/M/G powers of 1024; -1 on bad input */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	if (*end) {
		const char *units = "KMG", *u = strchr(units, *end);

		if (!u || end[1])
			return -1;
		v <<= 10 * (u - units + 1);
	}
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_stream server -l ADDR -p PORT -c CERT -k KEY [-n CONNS] [-t SECONDS]\n"
			"       tls_stream client -a ADDR -p PORT [-n CONNS] [-b UP] [-d DOWN]\n"
			"                         [-C COMMANDS] [-s SEED] [-t SECONDS]\n"
			"       tls_stream client -L -a ADDR -p PORT [-n SESSIONS] [-t SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .conns = 1, .timeout = 30, .up = 1 << 20 };
	int server, c;

	if (argc < 2)
		usage();
	server = !strcmp(argv[1], "server");
	if (!server && strcmp(argv[1], "client") != 0)
		usage();
	if (server)
		o.conns = 0;
	optind = 2;
	while ((c = getopt(argc, argv, "Ll:a:p:c:k:n:t:b:d:C:s:")) != -1) {
		switch (c) {
		case 'L': o.login = 1; break;
		case 'l': case 'a': o.addr = optarg; break;
		case 'p': o.port = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'n': o.conns = atoi(optarg); break;
		case 't': o.timeout = atoi(optarg); break;
		case 'C': o.commands = atoi(optarg); break;
		case 's': o.seed = strtoull(optarg, NULL, 10); break;
		case 'b': if (parse_size(optarg, &o.up)) usage(); break;
		case 'd': if (parse_size(optarg, &o.down)) usage(); break;
		default: usage();
		}
	}
	if (!o.addr || !o.port || (server && (!o.cert || !o.key)) || o.conns < 0 ||
	    o.timeout <= 0 || o.commands < 0 || (server && o.login) || optind != argc)
		usage();
	return server ? run_server(&o) : run_client(&o);
}
