/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Ending a blocked source's open sessions. XDP drops its new packets, but an
 * established IMAP session would otherwise linger on the server; SOCK_DESTROY
 * over inet_diag aborts it (the server sends a RST). Shared by the CLI and
 * every events consumer.
 */
#ifndef IG_SESSIONS_H
#define IG_SESSIONS_H

#include <stdint.h>

#include "addr.h"

/* Destroy this namespace's TCP sockets whose peer lies in `p` and whose
 * local port is one of `ports`; *killed counts them. */
int ig_sessions_kill(const struct ig_prefix *p, const uint16_t *ports, int nports,
		     int *killed);

#endif
