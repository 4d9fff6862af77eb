/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The listening TCP sockets, as the kernel holds them: a NETLINK_SOCK_DIAG
 * dump (inet_diag_req_v2, TCP_LISTEN, IPv4 and IPv6) in the calling
 * thread's network namespace, the owning process found by socket inode in
 * /proc/PID/fd, and the network namespaces to look in (/run/netns/NAME as
 * ip-netns(8) names them, and every distinct /proc/PID/ns/net).
 */
#ifndef IG_LISTENERS_H
#define IG_LISTENERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IG_NETNS_NAME_LEN 64 /* a name under /run/netns, NUL included */
#define IG_COMM_LEN 16	     /* as /proc/PID/comm, NUL included */

/* One listening TCP socket. */
struct ig_listener {
	char netns[IG_NETNS_NAME_LEN]; /* "" : the caller's own namespace */
	int family;		       /* AF_INET or AF_INET6 */
	uint8_t addr[16];	       /* network order: 4 bytes (AF_INET) or 16 */
	uint16_t port;		       /* host order */
	uint8_t wildcard;	       /* bound to 0.0.0.0 or :: */
	uint8_t v6only;		       /* AF_INET6 with IPV6_V6ONLY: no IPv4 */
	uint32_t inode;		       /* the socket's inode (socket:[INODE]) */
	pid_t pid;		       /* a process holding it; 0: none found */
	char comm[IG_COMM_LEN];	       /* that process's name; "" with pid 0 */
};

/*
 * The TCP sockets in LISTEN in the calling thread's network namespace whose
 * local port is one of the nports ports (host order; nports 0: every
 * port), IPv4 then IPv6, appended to the array *out of *n entries (grown
 * with realloc; *out NULL and *n 0 to start; the caller frees it). Each
 * new entry's netns is `netns` (cut to IG_NETNS_NAME_LEN - 1 bytes),
 * pid 0. Returns the number appended, or -errno: the netlink socket's
 * error (said through ig_err), -EPROTO for a malformed answer, -ENOMEM;
 * the entries appended before the error stay.
 */
int ig_listeners_dump(const char *netns, const uint16_t *ports, size_t nports,
		      struct ig_listener **out, size_t *n);

/*
 * Fill pid and comm of the n listeners from /proc/PID/fd (the lowest PID
 * holding each inode; a socket whose owner died keeps pid 0). Processes
 * that vanish or cannot be read during the scan are skipped. Returns the
 * number of listeners given an owner, or -errno when /proc cannot be
 * read (said through ig_err).
 */
int ig_listeners_owners(struct ig_listener *l, size_t n);

/*
 * Open the network namespace ip-netns(8) names `name` (/run/netns/NAME):
 * a file descriptor for setns(2) (O_RDONLY|O_CLOEXEC), or -errno:
 * -EINVAL for an empty name or one with '/' or starting with '.',
 * -ENOENT when there is no such namespace, the open's error otherwise.
 */
int ig_netns_open(const char *name);

/*
 * Run fn(arg) in a new thread that first enters the network namespace
 * nsfd (setns(2), CLONE_NEWNET: per thread, so the caller's own namespace
 * does not change) and wait for it. Threads and sockets fn creates belong
 * to that namespace. Returns fn's return value, or -errno when the thread
 * could not start or enter the namespace (said through ig_err).
 */
int ig_netns_run(int nsfd, int (*fn)(void *arg), void *arg);

/* One network namespace to audit. */
struct ig_netns {
	char name[IG_NETNS_NAME_LEN]; /* "NAME" (/run/netns), "pid:PID", or "" (ours) */
	dev_t dev;		      /* of the nsfs inode: the namespace's identity */
	ino_t ino;
};

/*
 * Every network namespace: the caller's own first (name ""), then those
 * under /run/netns by name, then each other namespace some process is in
 * ("pid:PID", the lowest PID), each once (by the nsfs device and inode).
 * *out is allocated (the caller frees it), *n set. Returns 0, or -errno
 * (-ENOMEM; /proc unreadable, said through ig_err).
 */
int ig_netns_all(struct ig_netns **out, size_t *n);

/* Open a namespace of ig_netns_all by name ("", "NAME" or "pid:PID") for
 * setns(2): a file descriptor, or -errno as ig_netns_open. */
int ig_netns_open_any(const char *name);

#endif
