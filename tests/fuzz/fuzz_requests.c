// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the agent's HTTP request bodies as they arrive from the
 * network, in chunks of any size (http_body_add, bounded), then parsed as a
 * Dovecot auth-policy request and as a grant. Must never crash, hang, leak
 * or read past the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "requests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_body b = {};
	struct auth_req a;
	struct grant_req g;
	const char *why;
	char gwhy[256];
	size_t off = 1, step;

	if (!size)
		return 0;
	/* the first byte picks the chunk size libmicrohttpd would hand us */
	step = (size_t)data[0] % 97 + 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		if (http_body_add(&b, (const char *)data + off, n))
			break;
		off += n;
	}
	if (!b.err) {
		if (!auth_req_parse(b.p, b.len, &a, &why)) {
			if (a.remote.len != (a.remote.family == 4 ? 32 : 128) ||
			    a.protocol >= AUTH_NR_PROTOCOLS || (a.user && !*a.user))
				abort();
			auth_req_free(&a);
		}
		if (!grant_req_parse(b.p, b.len, &g, gwhy, sizeof(gwhy))) {
			if (!g.user == !g.has_source || g.ttl_ns > GRANT_TTL_MAX)
				abort();
			grant_req_free(&g);
		}
	}
	free(b.p);
	return 0;
}
