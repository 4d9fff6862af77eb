/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Real TCP connections on the loopback of a private network namespace,
 * for the tests that drive sockops (test_sockops, test_summary): the
 * kernel completes each handshake, so PASSIVE_ESTABLISHED fires.
 */
#ifndef IG_TEST_LOCONN_H
#define IG_TEST_LOCONN_H

/* The IPv6 server address lo_connect_n uses; the caller adds it to lo. */
#define LO_SERVER6 "2001:db8:7::1"

/* Bring up lo in this (new) namespace; 0 or -1. */
int lo_up(void);

/* A dual-stack listener on `port` that is never accept()ed (the kernel
 * completes handshakes without it); its fd, or -1. */
int lo_listener(int port);

/* n connections from src (bound, so the source is src) to port on
 * 127.0.0.1, or on LO_SERVER6 for an IPv6 src, each closed at once;
 * returns how many were established. */
int lo_connect_n(const char *src, int port, int n);

/* lo_connect_n to dst (same family as src) instead. */
int lo_connect_to(const char *src, const char *dst, int port, int n);

#endif
